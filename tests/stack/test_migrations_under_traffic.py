"""db/init applied while the scheduler and the worker write: a file that cannot get its table's lock gives up
after lock_timeout and names itself, instead of holding every writer behind it indefinitely."""

import threading

import psycopg2

from embedded.postgres import PostgresError

from test_db_init import REPO, apply_in_order

DATABASE = "migrations_under_traffic"


def test_a_migration_that_cannot_get_its_lock_gives_up_and_says_so(postgres):
    postgres.psql("-c", f'DROP DATABASE IF EXISTS "{DATABASE}"', dbname="postgres")
    postgres.psql("-c", f'CREATE DATABASE "{DATABASE}"', dbname="postgres")
    init = sorted((REPO / "db" / "init").glob("*.sql"))
    apply_in_order(postgres, DATABASE, init)
    postgres.psql("-c", "DROP INDEX workflow_executions_created_idx", dbname=DATABASE)  # 005 has work to do
    writer = psycopg2.connect(**(postgres.conninfo | {"dbname": DATABASE}))
    outcome = []

    def migrate():
        try:
            postgres.psql("--single-transaction", "-f", str(REPO / "db" / "init" / "005_dashboard.sql"), dbname=DATABASE)
            outcome.append("applied")
        except PostgresError as err:
            outcome.append(str(err))

    try:
        with writer.cursor() as cur:  # a worker's claim, its transaction still open
            cur.execute("LOCK TABLE workflow_executions IN ROW EXCLUSIVE MODE")
        migration = threading.Thread(target=migrate)
        migration.start()
        migration.join(timeout=60)  # bounded: without lock_timeout it waits for as long as the writer
        assert outcome and "canceling statement due to lock timeout" in outcome[0], outcome
    finally:
        writer.rollback()
        writer.close()
        migration.join(timeout=60)
    # Traffic gone, the same file applies.
    apply_in_order(postgres, DATABASE, init)
