#!/bin/sh
# Ready hook: deploy infra/template.yaml (or infra/terraform/ with IAC=terraform) to this emulator with ../../../infra/deploy.py
# (LocalStack, MiniStack, or the host). Local only: dummy credentials, the emulator's endpoint.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# IAC=terraform deploys infra/terraform/ instead (infra/terraform_deploy.py, Terraform on PATH).
deploy="$here/../../../infra/deploy.py"
[ "${IAC:-sam}" = terraform ] && deploy="$here/../../../infra/terraform_deploy.py"
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://localhost:4566}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"

# The first interpreter that has boto3 (found, not imported: a third of a second less per deploy): an explicit
# choice, LocalStack's own venv, the project's venv (on the host), then the image's python3 (MiniStack).
for candidate in "${DEPLOY_PYTHON:-}" /opt/code/localstack/.venv/bin/python "$here/../../../.venv/bin/python" python3; do
    if [ -n "$candidate" ] && "$candidate" -c 'import importlib.util as u, sys; sys.exit(not u.find_spec("boto3"))' >/dev/null 2>&1; then
        exec "$candidate" "$deploy"
    fi
done
echo "10-deploy.sh: no python3 with boto3 found; set DEPLOY_PYTHON to one (e.g. .venv/bin/python)" >&2
exit 1
