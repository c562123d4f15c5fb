-- Indexes the local dashboard's views read (dashboard/queries.sql). Idempotent: safe to apply again.

-- Under traffic: wait at most 5 s for a table's lock, then fail (apply it again), rather than queue
-- every scheduler and worker query behind this file's lock (README: Deploying, migrations).
SET lock_timeout = '5s';

-- The latest executions, all workflows (the executions page and the chart's last hour).
CREATE INDEX IF NOT EXISTS workflow_executions_created_idx ON workflow_executions (created_at DESC);

-- The latest executions of one status (the executions page's status filter).
CREATE INDEX IF NOT EXISTS workflow_executions_status_idx ON workflow_executions (status, created_at DESC);

-- The oldest execution still waiting on the queue (the queue page's "oldest message").
CREATE INDEX IF NOT EXISTS workflow_executions_queued_idx ON workflow_executions (queued_at)
    WHERE status = 'queued';

-- Workflows that do not run (draft, paused, archived, no cron, flagged), latest change first.
CREATE INDEX IF NOT EXISTS workflows_idle_idx ON workflows (updated_at DESC)
    WHERE status <> 'published' OR cron IS NULL OR schedule_error IS NOT NULL;
