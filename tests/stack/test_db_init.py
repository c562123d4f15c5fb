"""db/init is the schema alone, applied as the README says to any database (RDS included), any number of
times: no demo rows ever reach it. The demo rows are db/seed/demo.sql, which only the local stacks apply."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATABASE = "db_init_as_on_rds"


def apply_in_order(postgres, dbname: str, files: list[Path]) -> None:
    for sql_file in files:
        postgres.psql("-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", str(sql_file), dbname=dbname)


def count(postgres, dbname: str, sql: str) -> int:
    return int(postgres.psql("-tA", "-c", sql, dbname=dbname).stdout)


def test_db_init_applied_to_a_fresh_database_twice_holds_no_workflows(postgres):
    postgres.psql("-c", f'DROP DATABASE IF EXISTS "{DATABASE}"', dbname="postgres")
    postgres.psql("-c", f'CREATE DATABASE "{DATABASE}"', dbname="postgres")
    init = sorted((REPO / "db" / "init").glob("*.sql"))

    apply_in_order(postgres, DATABASE, init)  # as the README's production path does: psql -f each, in order
    assert count(postgres, DATABASE, "SELECT count(*) FROM workflows") == 0
    # A user's own row, then db/init again (the next release's migrations): kept, and nothing added.
    postgres.psql("-c", "INSERT INTO workflows (user_id, name) VALUES (gen_random_uuid(), 'mine')", dbname=DATABASE)
    apply_in_order(postgres, DATABASE, init)
    assert postgres.psql("-tA", "-c", "SELECT name FROM workflows", dbname=DATABASE).stdout.split() == ["mine"]


def test_the_demo_seed_is_a_file_of_its_own_that_db_init_does_not_apply(postgres):
    postgres.psql("-c", f'DROP DATABASE IF EXISTS "{DATABASE}"', dbname="postgres")
    postgres.psql("-c", f'CREATE DATABASE "{DATABASE}"', dbname="postgres")
    apply_in_order(postgres, DATABASE, [*sorted((REPO / "db" / "init").glob("*.sql")), REPO / "db" / "seed" / "demo.sql"])
    assert count(postgres, DATABASE, "SELECT count(*) FROM workflows WHERE status = 'published'") == 6
