-- Limits on what a workflow row may hold, so that no row can cost every tick (README: Schedules).
-- Idempotent, and an upgrade in place: rows written before these limits are set aside with a reason
-- (schedule_error) first, which is also why a row that carries a schedule_error may exceed them.

-- Under traffic: wait at most 5 s for a table's lock, then fail (apply it again), rather than queue
-- every scheduler and worker query behind this file's lock (README: Deploying, migrations).
SET lock_timeout = '5s';

UPDATE workflows SET schedule_error = 'cron is longer than 256 characters: shorten it'
WHERE schedule_error IS NULL AND char_length(cron) > 256;

UPDATE workflows SET schedule_error = 'timezone is longer than 64 characters: use an IANA name such as ''Europe/Paris'''
WHERE schedule_error IS NULL AND char_length(timezone) > 64;

UPDATE workflows
SET schedule_error = 'next_run_at ' || next_run_at::text || ' is out of range: set a time from 1970 on, or null'
WHERE schedule_error IS NULL
  AND (next_run_at < '1970-01-01 00:00:00+00' OR next_run_at >= '10000-01-01 00:00:00+00');

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'workflows_cron_length') THEN
        ALTER TABLE workflows ADD CONSTRAINT workflows_cron_length
            CHECK (schedule_error IS NOT NULL OR char_length(cron) <= 256);  -- EventBridge's own limit
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'workflows_timezone_length') THEN
        ALTER TABLE workflows ADD CONSTRAINT workflows_timezone_length
            CHECK (schedule_error IS NOT NULL OR char_length(timezone) <= 64);  -- the longest IANA name has 32
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'workflows_next_run_at_range') THEN
        -- What Python can hold: the scheduler flags anything earlier it still meets (plan.EARLIEST_RUN).
        ALTER TABLE workflows ADD CONSTRAINT workflows_next_run_at_range
            CHECK (schedule_error IS NOT NULL OR next_run_at IS NULL
                   OR (next_run_at >= '1970-01-01 00:00:00+00' AND next_run_at < '10000-01-01 00:00:00+00'));
    END IF;
END;
$$;

-- A pending execution inserted without a send attempt (a run-now path, say) is still found by the redrive.
ALTER TABLE workflow_executions ALTER COLUMN last_attempt_at SET DEFAULT now();
