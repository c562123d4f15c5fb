-- FlowBuilder scheduler schema (README: How it works; every file here is applied in name order).
-- Idempotent: `make up` applies db/init again whenever a file here changes.

-- Under traffic: wait at most 5 s for a table's lock, then fail (apply it again), rather than queue
-- every scheduler and worker query behind this file's lock (README: Deploying, migrations).
SET lock_timeout = '5s';

CREATE TABLE IF NOT EXISTS workflows (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid NOT NULL,
    name           text NOT NULL,
    status         text NOT NULL DEFAULT 'draft'
                   CHECK (status IN ('draft', 'published', 'archived')),
    cron           text,                        -- '*/5 * * * *', 'cron(0 12 * * ? *)' or 'rate(5 minutes)'
    timezone       text NOT NULL DEFAULT 'UTC', -- IANA name
    next_run_at    timestamptz,                 -- null on a published schedule: the scheduler sets it
    schedule_error text,                        -- why cron/timezone cannot be used; null otherwise
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS workflow_executions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workflow_id     uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL,
    trigger         text NOT NULL CHECK (trigger IN ('scheduled', 'manual', 'webhook')),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'queued', 'running', 'completed', 'failed', 'cancelled')),
    scheduled_for   timestamptz,                -- the occurrence this run is for
    queued_at       timestamptz,                -- when SQS accepted the message
    created_at      timestamptz NOT NULL DEFAULT now(),
    send_attempts   integer NOT NULL DEFAULT 0, -- SQS sends tried for this execution
    last_attempt_at timestamptz,                -- lease: a pending row is re-sent only after REDRIVE_AFTER_SECONDS
    -- The invariant "one execution per occurrence, ever" is the database's to keep.
    CONSTRAINT workflow_executions_occurrence_key UNIQUE (workflow_id, scheduled_for)
);

-- The due query: published, schedulable, oldest next_run_at first.
CREATE INDEX IF NOT EXISTS workflows_due_idx ON workflows (next_run_at)
    WHERE status = 'published' AND cron IS NOT NULL AND schedule_error IS NULL;

-- Published schedules that have no next_run_at yet (new, or cron just changed).
CREATE INDEX IF NOT EXISTS workflows_unscheduled_idx ON workflows (created_at)
    WHERE status = 'published' AND cron IS NOT NULL AND schedule_error IS NULL AND next_run_at IS NULL;

-- Executions SQS has not accepted yet, scheduled or run now by hand (the redrive query).
DROP INDEX IF EXISTS workflow_executions_pending_idx;  -- scheduled only: replaced by this one
CREATE INDEX IF NOT EXISTS workflow_executions_unsent_idx ON workflow_executions (last_attempt_at)
    WHERE status = 'pending' AND trigger IN ('scheduled', 'manual');

CREATE INDEX IF NOT EXISTS workflow_executions_workflow_idx ON workflow_executions (workflow_id, created_at DESC);

-- A changed cron or timezone, or a workflow published (again), deserves a fresh verdict: clear the
-- old error, and let the scheduler compute next_run_at from now unless the writer set one itself
-- (a workflow archived for a year must not run at once for an occurrence a year old).
CREATE OR REPLACE FUNCTION workflows_schedule_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.cron IS DISTINCT FROM OLD.cron OR NEW.timezone IS DISTINCT FROM OLD.timezone
       OR (NEW.status = 'published' AND OLD.status IS DISTINCT FROM 'published') THEN
        NEW.schedule_error := NULL;
        IF NEW.next_run_at IS NOT DISTINCT FROM OLD.next_run_at THEN
            NEW.next_run_at := NULL;
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS workflows_schedule_changed ON workflows;
CREATE TRIGGER workflows_schedule_changed
    BEFORE UPDATE OF cron, timezone, status ON workflows
    FOR EACH ROW EXECUTE FUNCTION workflows_schedule_changed();

-- What db/init was applied to this database (a digest of its files), kept with the data it describes:
-- a new cluster or a new DB_NAME has no row, so `make up` applies db/init there, and seeds it.
CREATE TABLE IF NOT EXISTS db_init_applied (
    digest     text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
