-- Queries of the local stack's commands. Loaded by embedded/sql.py (flow_common.sql).

-- name: latest_executions
-- `make executions`: the newest runs with their timings (workflow_executions_workflow_idx serves one workflow;
-- a scan is fine for a local database).
SELECT w.name, e.trigger, e.status, e.scheduled_for, e.queued_at, e.started_at, e.finished_at, e.attempts, e.error
FROM workflow_executions AS e
JOIN workflows AS w ON w.id = e.workflow_id
ORDER BY e.created_at DESC
LIMIT %(limit)s;

-- name: insert_workflow
-- `make workflow` and the dashboard's New workflow form (embedded/workflows.py checked the input).
INSERT INTO workflows (user_id, name, status, cron, timezone, next_run_at)
VALUES (%(owner)s, %(name)s, %(status)s, %(cron)s, %(timezone)s, %(next_run_at)s)
RETURNING id;

-- name: list_workflows
-- `make workflows`: every workflow, the next to run first (a scan is fine for a local database).
SELECT id, name, status, cron, timezone, next_run_at, user_id, schedule_error
FROM workflows
ORDER BY next_run_at NULLS LAST, name;
