-- Every query the scheduler runs. Loaded by sql.py; parameters are always bound, never formatted in.
-- Ids come back as text (id::text): they go into JSON messages and back as %s::uuid parameters, so a
-- UUID object per id would be CPU spent for nothing on a busy tick.
-- A batch is claimed, planned and advanced in ONE transaction, so a failure commits nothing partial.

-- name: claim_due
-- Uses workflows_due_idx; SKIP LOCKED lets overlapping invocations share the work without waiting.
-- A next_run_at before 1970 (plan.EARLIEST_RUN) comes back as text only, to be flagged: a BC date would
-- fail the fetch itself, and sort first on every tick.
SELECT id::text, user_id::text, cron, timezone,
       CASE WHEN next_run_at >= '1970-01-01 00:00:00+00' THEN next_run_at END AS usable_next_run_at,
       now() AS now,
       CASE WHEN next_run_at < '1970-01-01 00:00:00+00' THEN next_run_at::text END AS unusable_next_run_at,
       overlap_policy, jitter_seconds, starts_at, ends_at, catchup_window_seconds,
       -- The overlap check, in the same round trip (index-only probes on workflow_executions_active_idx
       -- and workflow_executions_buffered_idx); only a policy other than allow needs it.
       overlap_policy <> 'allow' AND EXISTS (SELECT 1 FROM workflow_executions AS e WHERE e.workflow_id = w.id
                                              AND e.status IN ('pending', 'queued', 'running')) AS active,
       overlap_policy <> 'allow' AND EXISTS (SELECT 1 FROM workflow_executions AS e WHERE e.workflow_id = w.id
                                              AND e.status = 'buffered') AS buffered
FROM workflows AS w
WHERE status = 'published' AND cron IS NOT NULL AND schedule_error IS NULL
  AND next_run_at <= now()
ORDER BY next_run_at
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- name: claim_unscheduled
-- Published schedules with no next_run_at yet (uses workflows_unscheduled_idx).
SELECT id::text, user_id::text, cron, timezone, next_run_at, now() AS now, NULL AS unusable_next_run_at,
       overlap_policy, jitter_seconds, starts_at, ends_at, catchup_window_seconds, false AS active, false AS buffered
FROM workflows
WHERE status = 'published' AND cron IS NOT NULL AND schedule_error IS NULL
  AND next_run_at IS NULL
ORDER BY created_at
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- name: insert_executions
-- The unique occurrence key makes a second execution for the same occurrence impossible.
-- Skipped and buffered rows are recorded, not sent (no send attempt); only pending ones come back to send.
INSERT INTO workflow_executions (workflow_id, user_id, trigger, scheduled_for, status, coalesced, error,
                                 send_attempts, last_attempt_at)
VALUES %s
ON CONFLICT ON CONSTRAINT workflow_executions_occurrence_key DO NOTHING
RETURNING id::text, workflow_id::text, user_id::text, scheduled_for, trigger, status;

-- name: insert_executions_row
(%s::uuid, %s::uuid, 'scheduled', %s::timestamptz, %s::text, %s::integer, %s::text, %s::integer, now())

-- name: release_buffered
-- A buffered execution is sent once its workflow has no active one: it becomes pending with a send lease.
-- The workflow row is locked (SKIP LOCKED) as the claim locks it, so a release and a claim of one
-- workflow never decide at the same time.
UPDATE workflow_executions AS e
SET status = 'pending', error = NULL, send_attempts = e.send_attempts + 1, last_attempt_at = now()
FROM (
    SELECT b.id
    FROM workflow_executions AS b
    JOIN workflows AS w ON w.id = b.workflow_id
    WHERE b.status = 'buffered' AND w.status = 'published'
      AND NOT EXISTS (SELECT 1 FROM workflow_executions AS a
                      WHERE a.workflow_id = b.workflow_id AND a.status IN ('pending', 'queued', 'running'))
    ORDER BY b.scheduled_for
    LIMIT %(limit)s
    FOR UPDATE OF w, b SKIP LOCKED
) AS ready
WHERE e.id = ready.id
RETURNING e.id::text, e.workflow_id::text, e.user_id::text, e.scheduled_for, e.trigger;

-- name: cancel_buffered_unpublished
-- A buffered execution of a workflow no longer published is not sent, as a stale pending one is not.
UPDATE workflow_executions AS e
SET status = 'cancelled', error = 'not sent: the workflow is ' || w.status || ', no longer published'
FROM workflows AS w
WHERE e.status = 'buffered' AND w.id = e.workflow_id AND w.status <> 'published'
RETURNING e.id::text, e.workflow_id::text, e.error;

-- name: advance
UPDATE workflows AS w
SET next_run_at = v.next_run_at, updated_at = now()
FROM (VALUES %s) AS v (id, next_run_at)
WHERE w.id = v.id;

-- name: advance_row
(%s::uuid, %s::timestamptz)

-- name: flag
-- A schedule that cannot be used is set aside with its reason and skipped from then on.
UPDATE workflows AS w
SET schedule_error = v.reason, updated_at = now()
FROM (VALUES %s) AS v (id, reason)
WHERE w.id = v.id;

-- name: flag_row
(%s::uuid, %s::text)

-- name: cancel_unpublished
-- A stale pending scheduled execution whose workflow was archived or unpublished since is not sent.
UPDATE workflow_executions AS e
SET status = 'cancelled', error = 'not sent: the workflow is ' || w.status || ', no longer published'
FROM workflows AS w, (
    SELECT id
    FROM workflow_executions
    WHERE status = 'pending' AND trigger = 'scheduled'
      AND last_attempt_at <= now() - make_interval(secs => %(redrive_after)s)
    FOR UPDATE SKIP LOCKED
) AS stale
WHERE e.id = stale.id AND w.id = e.workflow_id AND w.status <> 'published'
RETURNING e.id::text, e.workflow_id::text, e.error;

-- name: lease_stale
-- Pending executions (scheduled, or run now by hand) whose last send attempt is older than the redrive
-- delay; the lease (last_attempt_at) keeps an overlapping invocation from re-sending them at the same time.
UPDATE workflow_executions AS e
SET send_attempts = e.send_attempts + 1, last_attempt_at = now()
FROM (
    SELECT id
    FROM workflow_executions
    WHERE status = 'pending' AND trigger IN ('scheduled', 'manual')
      AND last_attempt_at <= now() - make_interval(secs => %(redrive_after)s)
    ORDER BY last_attempt_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) AS stale
WHERE e.id = stale.id
-- A run-now execution may have no occurrence: its message then carries when it was asked for.
RETURNING e.id::text, e.workflow_id::text, e.user_id::text, coalesce(e.scheduled_for, e.created_at), e.trigger;

-- name: mark_queued
-- Only a pending row moves: a worker may already have taken the execution further.
UPDATE workflow_executions AS e
SET status = 'queued', queued_at = v.queued_at
FROM (VALUES %s) AS v (id, queued_at)
WHERE e.id = v.id AND e.status = 'pending';

-- name: mark_queued_row
(%s::uuid, %s::timestamptz)

-- name: insert_manual
-- Run now (manual.py): a pending execution for the database's now(), which keeps the occurrence key
-- unique; send_attempts and last_attempt_at make it a lease like a scheduled send's. No row: no such workflow.
INSERT INTO workflow_executions (workflow_id, user_id, trigger, scheduled_for, send_attempts, last_attempt_at)
SELECT id, user_id, 'manual', now(), 1, now()
FROM workflows
WHERE id = %(workflow_id)s
RETURNING id::text, workflow_id::text, user_id::text, scheduled_for, trigger;

-- name: count_due
-- The due backlog still unclaimed, counted up to %(cap)s only (all a fan-out decision needs), on workflows_due_idx.
SELECT count(*)
FROM (
    SELECT 1
    FROM workflows
    WHERE status = 'published' AND cron IS NOT NULL AND schedule_error IS NULL
      AND next_run_at <= now()
    LIMIT %(cap)s
) AS due;

-- name: simulate_workflows
-- What `simulate` replays (read only, in a READ ONLY transaction): the schedulable workflows, with
-- whether each has an active or a buffered execution now (the claim's columns, without the lock).
SELECT id::text, user_id::text, cron, timezone, next_run_at, now() AS now, NULL AS unusable_next_run_at,
       overlap_policy, jitter_seconds, starts_at, ends_at, catchup_window_seconds,
       EXISTS (SELECT 1 FROM workflow_executions AS e WHERE e.workflow_id = w.id
               AND e.status IN ('pending', 'queued', 'running')) AS active,
       EXISTS (SELECT 1 FROM workflow_executions AS e WHERE e.workflow_id = w.id AND e.status = 'buffered') AS buffered
FROM workflows AS w
WHERE status = 'published' AND cron IS NOT NULL AND schedule_error IS NULL
  AND (next_run_at IS NULL OR next_run_at >= '1970-01-01 00:00:00+00')
  AND (%(workflow_id)s::uuid IS NULL OR id = %(workflow_id)s::uuid)
ORDER BY next_run_at NULLS LAST, id;
