#!/bin/sh
# Ready hook: declare the stack's AWS resources with ../../provision.py (LocalStack, MiniStack, or the host).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
provision="$here/../../provision.py"

# The first interpreter that can import boto3: an explicit choice, LocalStack's own venv,
# the project's venv (on the host), then the image's python3 (MiniStack).
for candidate in "${PROVISION_PYTHON:-}" /opt/code/localstack/.venv/bin/python "$here/../../../.venv/bin/python" python3; do
    if [ -n "$candidate" ] && "$candidate" -c 'import boto3' >/dev/null 2>&1; then
        exec "$candidate" "$provision"
    fi
done
echo "10-provision.sh: no python3 with boto3 found; set PROVISION_PYTHON to one (e.g. .venv/bin/python)" >&2
exit 1
