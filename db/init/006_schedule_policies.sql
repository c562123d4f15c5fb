-- Schedule policies (DESIGN.md, Contract 10; docs/schedule-policies.md). Idempotent, and an upgrade in
-- place: every column has a default that keeps today's behaviour, so existing rows and writers that know
-- none of them are unaffected.

-- Under traffic: wait at most 5 s for a table's lock, then fail (apply it again), rather than queue
-- every scheduler and worker query behind this file's lock (README: Deploying, migrations).
SET lock_timeout = '5s';

ALTER TABLE workflows
    ADD COLUMN IF NOT EXISTS overlap_policy         text NOT NULL DEFAULT 'allow',
    ADD COLUMN IF NOT EXISTS jitter_seconds         integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS starts_at              timestamptz,
    ADD COLUMN IF NOT EXISTS ends_at                timestamptz,
    ADD COLUMN IF NOT EXISTS catchup_window_seconds integer;

-- How many occurrences an execution stands for (more than 1 when missed ones collapsed into it).
ALTER TABLE workflow_executions ADD COLUMN IF NOT EXISTS coalesced integer NOT NULL DEFAULT 1;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'workflows_overlap_policy_check') THEN
        ALTER TABLE workflows ADD CONSTRAINT workflows_overlap_policy_check
            CHECK (overlap_policy IN ('allow', 'skip', 'buffer_one'));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'workflows_jitter_seconds_check') THEN
        ALTER TABLE workflows ADD CONSTRAINT workflows_jitter_seconds_check
            CHECK (jitter_seconds BETWEEN 0 AND 3600);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'workflows_catchup_window_seconds_check') THEN
        ALTER TABLE workflows ADD CONSTRAINT workflows_catchup_window_seconds_check
            CHECK (catchup_window_seconds BETWEEN 1 AND 31536000);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'workflows_ends_after_starts') THEN
        ALTER TABLE workflows ADD CONSTRAINT workflows_ends_after_starts
            CHECK (starts_at IS NULL OR ends_at IS NULL OR ends_at > starts_at);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'workflows_policy_times_range') THEN
        -- What Python can hold (as workflows_next_run_at_range): 'infinity' would fail the claim's fetch.
        ALTER TABLE workflows ADD CONSTRAINT workflows_policy_times_range
            CHECK ((starts_at IS NULL OR (starts_at >= '1970-01-01 00:00:00+00' AND starts_at < '10000-01-01 00:00:00+00'))
               AND (ends_at IS NULL OR (ends_at >= '1970-01-01 00:00:00+00' AND ends_at < '10000-01-01 00:00:00+00')));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'workflow_executions_coalesced_check') THEN
        ALTER TABLE workflow_executions ADD CONSTRAINT workflow_executions_coalesced_check
            CHECK (coalesced BETWEEN 1 AND 10000);  -- exact up to 10,000, capped there
    END IF;
END;
$$;

-- The status CHECK gains skipped and buffered (re-created under its own name: 001 left it unnamed).
ALTER TABLE workflow_executions DROP CONSTRAINT IF EXISTS workflow_executions_status_check;
ALTER TABLE workflow_executions ADD CONSTRAINT workflow_executions_status_check
    CHECK (status IN ('pending', 'queued', 'running', 'completed', 'failed', 'cancelled', 'skipped', 'buffered'));

-- The claim's overlap check: does this workflow have an active or a buffered execution? (index-only probes)
CREATE INDEX IF NOT EXISTS workflow_executions_active_idx ON workflow_executions (workflow_id)
    WHERE status IN ('pending', 'queued', 'running');
CREATE INDEX IF NOT EXISTS workflow_executions_buffered_idx ON workflow_executions (workflow_id, scheduled_for)
    WHERE status = 'buffered';
