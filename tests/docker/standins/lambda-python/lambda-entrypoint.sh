#!/bin/sh
# STAND-IN of the official base's /lambda-entrypoint.sh: the handler is the one argument; with no
# AWS_LAMBDA_RUNTIME_API (run outside Lambda) the runtime runs behind the interface emulator.
if [ $# -ne 1 ]; then
    echo "entrypoint requires the handler name to be the first argument" 1>&2
    exit 142
fi
export _HANDLER="$1"
if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
    exec /usr/local/bin/aws-lambda-rie /var/runtime/bootstrap "$_HANDLER"
else
    exec /var/runtime/bootstrap "$_HANDLER"
fi
