-- Queries of the local stack's commands. Loaded by flow_scheduler.sql.named_queries.

-- name: latest_executions
-- `make executions`: the newest runs with their timings (workflow_executions_workflow_idx serves one workflow;
-- a scan is fine for a local database).
SELECT w.name, e.trigger, e.status, e.scheduled_for, e.queued_at, e.started_at, e.finished_at, e.attempts, e.error
FROM workflow_executions AS e
JOIN workflows AS w ON w.id = e.workflow_id
ORDER BY e.created_at DESC
LIMIT %(limit)s;
