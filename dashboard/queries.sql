-- Every query the dashboard runs. Loaded by sql.py; parameters are always bound, never formatted in.
-- Each view is one query an index answers (db/init/001_schema.sql, 005_dashboard.sql); lists fetch one
-- row more than a page to know whether there is a next one, instead of counting.

-- name: next_runs
-- Schedules that run, soonest first: the scheduler's own partial index (workflows_due_idx) in order.
-- A published schedule with no next_run_at yet (new, or just edited) sorts last: the next tick sets it.
SELECT id, user_id, name, status, cron, timezone, next_run_at, schedule_error, now() AS now,
       overlap_policy, jitter_seconds, starts_at, ends_at, catchup_window_seconds
FROM workflows
WHERE status = 'published' AND cron IS NOT NULL AND schedule_error IS NULL
ORDER BY next_run_at, id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: not_running
-- Everything else (drafts, paused, archived, no cron, flagged), latest change first (workflows_idle_idx).
SELECT id, user_id, name, status, cron, timezone, next_run_at, schedule_error, now() AS now
FROM workflows
WHERE status <> 'published' OR cron IS NULL OR schedule_error IS NOT NULL
ORDER BY updated_at DESC, id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: workflow
SELECT id, user_id, name, status, cron, timezone, next_run_at, schedule_error, now() AS now,
       overlap_policy, jitter_seconds, starts_at, ends_at, catchup_window_seconds
FROM workflows
WHERE id = %(id)s;

-- name: executions
-- The latest executions, optionally of one workflow and/or one status (workflow_executions_workflow_idx,
-- workflow_executions_created_idx or workflow_executions_status_idx, whichever the filter makes best).
SELECT e.id, e.workflow_id, w.name AS workflow, e.trigger, e.status, e.scheduled_for, e.queued_at,
       e.started_at, e.finished_at, e.error, e.attempts, e.created_at, e.coalesced,
       e.queued_at - e.scheduled_for AS lag_queued, e.started_at - e.scheduled_for AS lag_started
FROM workflow_executions AS e
JOIN workflows AS w ON w.id = e.workflow_id
WHERE (%(workflow_id)s::uuid IS NULL OR e.workflow_id = %(workflow_id)s::uuid)
  AND (%(status)s::text IS NULL OR e.status = %(status)s::text)
ORDER BY e.created_at DESC, e.id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: per_minute
-- The chart: executions created per minute over the last hour and their mean lag from due to queued
-- and to started (workflow_executions_created_idx: only the last hour is read).
SELECT date_trunc('minute', created_at) AS minute, count(*) AS runs,
       avg(extract(epoch FROM queued_at - scheduled_for)) AS lag_queued_s,
       avg(extract(epoch FROM started_at - scheduled_for)) AS lag_started_s
FROM workflow_executions
WHERE created_at > now() - interval '1 hour'
GROUP BY 1
ORDER BY 1;

-- name: lag_by_workflow
-- Per workflow, the lag from due to queued of its scheduled executions created in the last hour, p50 and
-- p99 (workflow_executions_created_idx: only the last hour is read); the worst p99 first.
SELECT e.workflow_id, w.name AS workflow, count(*) AS runs,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.queued_at - e.scheduled_for)) AS p50_s,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM e.queued_at - e.scheduled_for)) AS p99_s
FROM workflow_executions AS e
JOIN workflows AS w ON w.id = e.workflow_id
WHERE e.created_at > now() - interval '1 hour' AND e.trigger = 'scheduled' AND e.queued_at IS NOT NULL
  AND (%(workflow_id)s::uuid IS NULL OR e.workflow_id = %(workflow_id)s::uuid)
GROUP BY e.workflow_id, w.name
ORDER BY p99_s DESC, e.workflow_id
LIMIT %(limit)s;

-- name: oldest_queued
-- The queue's oldest message, as the database knows it: the oldest execution still `queued`
-- (SQS reports its age only as a CloudWatch metric). workflow_executions_queued_idx.
SELECT min(queued_at) AS oldest, now() AS now
FROM workflow_executions
WHERE status = 'queued';

-- name: set_status
-- Publish or pause (back to draft). Publishing starts afresh (DESIGN.md, contract 4): the schema's trigger
-- (db/init/001_schema.sql, workflows_schedule_changed) clears next_run_at and the next tick computes it.
UPDATE workflows
SET status = %(status)s, updated_at = now()
WHERE id = %(id)s
RETURNING id, name, status;

-- name: set_policies
-- Contract 10's policies (dashboard/policies.py checked them; the database's CHECKs are the backstop).
UPDATE workflows
SET overlap_policy = %(overlap_policy)s, jitter_seconds = %(jitter_seconds)s, starts_at = %(starts_at)s,
    ends_at = %(ends_at)s, catchup_window_seconds = %(catchup_window_seconds)s, updated_at = now()
WHERE id = %(id)s
RETURNING id, name;

-- name: set_schedule
-- A new cron and timezone; the workflows_schedule_changed trigger clears schedule_error.
UPDATE workflows
SET cron = %(cron)s, timezone = %(timezone)s, next_run_at = %(next_run_at)s, updated_at = now()
WHERE id = %(id)s
RETURNING id, name;

-- name: ping
SELECT 1 AS ok;
