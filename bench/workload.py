"""Seed and reset the tables: bulk SQL, so seeding a million rows takes seconds, not the benchmark's time."""

from __future__ import annotations

SEED = """
INSERT INTO workflows (user_id, name, status, cron, timezone, next_run_at)
SELECT gen_random_uuid(), 'bench-' || g, 'published', %(cron)s, 'UTC', now() + %(offset)s::interval + g * %(spread)s::interval
FROM generate_series(1, %(count)s) AS g
"""


def reset(conn) -> None:
    with conn.cursor() as cur:
        cur.execute("TRUNCATE workflows, workflow_executions")
    conn.commit()


def seed(conn, count: int, *, due: bool = True, cron: str = "0 0 1 1 *") -> None:
    """`count` published workflows, all due at the same instant a minute ago (a burst), or due from
    tomorrow on, a millisecond apart (distinct times, as real schedules have: the index is not
    flattered by B-tree deduplication); then ANALYZE for honest plans.

    A yearly cron: a five-minute one would come due again during a long run, and rightly run twice.
    """
    with conn.cursor() as cur:
        offset, spread = ("-1 minute", "0") if due else ("1 day", "1 millisecond")
        cur.execute(SEED, {"cron": cron, "count": count, "offset": offset, "spread": spread})
        cur.execute("ANALYZE workflows")
    conn.commit()


def set_policies(conn) -> None:
    """Every Contract 10 policy on every workflow, each at a value that still lets the burst run (the
    overlap check finds nothing active, the window covers the minute of lateness, the jitter keeps it due)."""
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE workflows SET overlap_policy = 'skip', jitter_seconds = 30, catchup_window_seconds = 3600,"
            " starts_at = '2000-01-01 00:00:00+00', ends_at = '2999-01-01 00:00:00+00'"
        )
        cur.execute("ANALYZE workflows")
    conn.commit()


def count_executions(conn) -> tuple[int, int]:
    """(executions, queued executions)"""
    with conn.cursor() as cur:
        cur.execute("SELECT count(*), count(*) FILTER (WHERE status = 'queued') FROM workflow_executions")
        return cur.fetchone()
