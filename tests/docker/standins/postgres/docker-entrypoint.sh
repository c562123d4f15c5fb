#!/bin/bash
# STAND-IN for the official postgres image's docker-entrypoint.sh (docker-library/postgres): the
# same contract in short. An empty PGDATA is initialised with POSTGRES_USER/POSTGRES_PASSWORD, owns
# POSTGRES_DB, and gets /docker-entrypoint-initdb.d applied in name order (*.sql through psql with
# ON_ERROR_STOP, executable *.sh run, others sourced with upstream's docker_process_sql) by a
# socket-only temporary server. An existing PGDATA is started as it is: init scripts run on an empty
# volume only, as upstream.
set -Eeuo pipefail

if [ "${1:-}" != postgres ]; then exec "$@"; fi

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "error: database is uninitialized and POSTGRES_PASSWORD is not set (stand-in entrypoint)" >&2
        exit 1
    fi
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA" >/dev/null
    printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" -w start >/dev/null
    psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --host /var/run/postgresql)
    # Upstream's helper for sourced init scripts (db/seed/docker-initdb.sh uses it): psql on POSTGRES_DB.
    docker_process_sql() { "${psql[@]}" --dbname "$POSTGRES_DB" "$@"; }
    if [ "$POSTGRES_DB" != postgres ]; then
        "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";' >/dev/null
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh) echo "stand-in entrypoint: running $f"
                  # shellcheck source=/dev/null
                  if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
            *.sql) echo "stand-in entrypoint: running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" >/dev/null ;;
            *) [ -e "$f" ] && echo "stand-in entrypoint: ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "stand-in entrypoint: PostgreSQL init process complete; ready for start up."
fi
exec "$@" -c listen_addresses='*' -c unix_socket_directories=/var/run/postgresql
