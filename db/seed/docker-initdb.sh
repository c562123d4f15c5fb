#!/bin/sh
# The docker stack's initdb hook (docker-compose.yml mounts it in /docker-entrypoint-initdb.d; the postgres
# image sources it on an empty volume only): db/init, the schema, then the local stack's demo rows.
for sql_file in /flow-builder-db/init/*.sql /flow-builder-db/seed/demo.sql; do
    echo "initdb: $sql_file"
    docker_process_sql --single-transaction -f "$sql_file"
done
