-- The execution lifecycle (DESIGN.md, Contract 8): what the worker records. Idempotent, and an upgrade
-- in place for a database made by an earlier db/init: columns are added, no row is rewritten or lost.

-- Under traffic: wait at most 5 s for a table's lock, then fail (apply it again), rather than queue
-- every scheduler and worker query behind this file's lock (README: Deploying, migrations).
SET lock_timeout = '5s';

ALTER TABLE workflow_executions
    ADD COLUMN IF NOT EXISTS started_at  timestamptz,                -- the worker claimed it (running)
    ADD COLUMN IF NOT EXISTS finished_at timestamptz,                -- completed or failed
    ADD COLUMN IF NOT EXISTS error       text,                       -- why it failed or was cancelled
    ADD COLUMN IF NOT EXISTS attempts    integer NOT NULL DEFAULT 0; -- runs started by a worker

-- What the workflow does; the bundled local runner reads {"simulate": "fail"} from it.
ALTER TABLE workflows
    ADD COLUMN IF NOT EXISTS definition jsonb NOT NULL DEFAULT '{}'::jsonb;
