-- Every query the worker runs. Loaded by flow_common.sql; parameters are always bound.

-- name: claim
-- The idempotency key is the execution id: of all deliveries of one message, one claim succeeds.
-- A `running` row whose run started more than running_timeout ago belonged to a worker that died
-- (SQS delivered its message again after the visibility timeout): it is claimed again while attempts
-- remain. queued_at is kept if the scheduler set it, else taken from the message (the worker may be
-- faster than the scheduler's mark_queued).
UPDATE workflow_executions AS e
SET status = 'running', started_at = now(), finished_at = NULL, error = NULL, attempts = e.attempts + 1,
    queued_at = COALESCE(e.queued_at, %(queued_at)s)
FROM workflows AS w
WHERE e.id = %(execution_id)s AND w.id = e.workflow_id
  AND (e.status IN ('pending', 'queued')
       OR (e.status = 'running' AND e.started_at <= now() - make_interval(secs => %(running_timeout)s)
           AND e.attempts < %(max_attempts)s))
RETURNING e.id, e.workflow_id, e.user_id, e.trigger, e.attempts, w.definition;

-- name: finish
-- Only the run holding the latest claim finishes: a run presumed dead and claimed again must not
-- overwrite the newer one.
UPDATE workflow_executions
SET status = %(status)s, finished_at = now(), error = %(error)s
WHERE id = %(execution_id)s AND status = 'running' AND attempts = %(attempt)s
RETURNING finished_at;

-- name: abandon
-- A run that stopped mid-way on its last allowed attempt is failed with the reason, not retried.
UPDATE workflow_executions
SET status = 'failed', finished_at = now(), error = %(error)s
WHERE id = %(execution_id)s AND status = 'running'
  AND started_at <= now() - make_interval(secs => %(running_timeout)s)
  AND attempts >= %(max_attempts)s
RETURNING attempts;

-- name: state
SELECT status, attempts, started_at FROM workflow_executions WHERE id = %(execution_id)s;
