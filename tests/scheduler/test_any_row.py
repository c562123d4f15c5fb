"""The principle, as a property over real PostgreSQL and SQS: whatever a workflow row holds, the tick completes,
every healthy workflow runs exactly once, and the row is either refused by the database or given a verdict."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import psycopg2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler_support import add_workflows, executions, invoke

# Text PostgreSQL can store (no NUL, no lone surrogates), from any script.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=300)
CRON = st.one_of(
    TEXT,
    st.sampled_from(["*/5 * * * *", "cron(0 12 * * ? *)", "cron(0 0 1 1 ? 2035)", "cron(0 0 31 2 ? *)", "61 * * * *",
                     "R * * * *", "0 0 * * 5#3", "rate(0 minutes)", "*/5 " * 70]),
    st.builds(lambda n, unit: f"rate({n} {unit})", st.integers(0, 10**12), st.sampled_from(["minute", "hours", "days"])),
)
ZONE = st.one_of(TEXT, st.sampled_from(["UTC", "Europe/Paris", "US", "America", "America/Argentina", "zone.tab", "x" * 300]))
# Due (past), new (null) or values no clock can use; a future next_run_at is simply not due yet.
WHEN = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(2026, 1, 1), timezones=st.just(timezone.utc)),
    st.sampled_from(["-infinity", "infinity", "0044-03-15 00:00:00+00 BC", "4713-01-01 00:00:00+00 BC", "0001-01-01 00:00:00+00"]),
)
# Contract 10's columns, in range and out of it (the database refuses those, which counts as refused).
SECONDS = st.one_of(st.none(), st.integers(-10, 10), st.integers(3590, 3610), st.integers(31535990, 31536010),
                    st.integers(-(2**31), 2**31 - 1))
ROW = st.fixed_dictionaries({
    "cron": st.one_of(CRON, st.sampled_from(["at(2027-01-01T09:00:00)", "at(2020-01-01T09:00:00)", "at(2027-13-01T09:00:00)",
                                             "at(9999-12-31T23:59:59)", "at()"])),
    "timezone": ZONE, "next_run_at": WHEN,
    "overlap_policy": st.one_of(st.sampled_from(["allow", "skip", "buffer_one"]), TEXT),
    "jitter_seconds": st.one_of(st.integers(0, 3600), SECONDS.filter(lambda v: v is not None)),
    "starts_at": WHEN, "ends_at": WHEN,
    "catchup_window_seconds": SECONDS,
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(odd_rows=st.lists(ROW, min_size=1, max_size=4))
def test_any_row_is_refused_or_judged_and_never_stops_the_others(db, sqs, queue, scheduler_env, odd_rows):
    with db.cursor() as cur:
        cur.execute("TRUNCATE workflows, workflow_executions")
    stored, refused = [], 0
    for row in odd_rows:
        try:
            with db.cursor() as cur:
                cur.execute(
                    "INSERT INTO workflows (user_id, name, status, cron, timezone, next_run_at, overlap_policy,"
                    " jitter_seconds, starts_at, ends_at, catchup_window_seconds)"
                    " VALUES (%s, 'odd', 'published', %s, %s, %s::timestamptz, %s, %s, %s::timestamptz, %s::timestamptz, %s)"
                    " RETURNING id",
                    (uuid.uuid4(), row["cron"], row["timezone"], row["next_run_at"], row["overlap_policy"],
                     row["jitter_seconds"], row["starts_at"], row["ends_at"], row["catchup_window_seconds"]),
                )
                stored.append(cur.fetchone()[0])
        except psycopg2.DataError:  # CHECK constraints, and dates PostgreSQL itself cannot hold
            refused += 1
        except psycopg2.IntegrityError:
            refused += 1
    healthy = add_workflows(db, 3)

    summary = invoke()

    ran = [row["workflow_id"] for row in executions(db)]
    assert sorted(workflow for workflow in ran if workflow in healthy) == sorted(healthy)
    with db.cursor() as cur:
        cur.execute("SELECT id, schedule_error, next_run_at FROM workflows WHERE id = ANY(%s)", (stored,))
        verdicts = cur.fetchall()
    now = datetime.now(timezone.utc) - timedelta(seconds=5)
    for workflow, error, next_run_at in verdicts:
        # Flagged with a readable reason, or scheduled for a real time after now.
        assert (error is not None and error.strip()) or (next_run_at is not None and next_run_at > now), (
            workflow, error, next_run_at, odd_rows,
        )
    assert summary["invalid"] + summary["ended"] == sum(1 for _, error, _ in verdicts if error)
    assert len(stored) + refused == len(odd_rows)
