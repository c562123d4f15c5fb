-- The stored data `python -m bench.dashboard_pages` serves the pages from. Loaded by dashboard_pages.py.

-- name: seed_workflows
-- Nine in ten published across five crons and four timezones, next runs spread over the next day; the rest
-- drafts, archived, and flagged schedules.
INSERT INTO workflows (user_id, name, status, cron, timezone, next_run_at, schedule_error, updated_at)
SELECT gen_random_uuid(), 'measure-' || g,
       CASE WHEN mod(g, 10) = 0 THEN 'draft' WHEN mod(g, 25) = 1 THEN 'archived' ELSE 'published' END,
       (ARRAY['*/5 * * * *', 'cron(0 12 * * ? *)', 'rate(10 minutes)', '0 9 * * MON-FRI', 'cron(0 18 ? * 6L *)'])[mod(g, 5) + 1],
       (ARRAY['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Tokyo'])[mod(g, 4) + 1],
       now() + mod(g, 1440) * interval '1 minute',
       CASE WHEN mod(g, 50) = 7 THEN 'a flagged schedule' END,
       now() - mod(g, 10000) * interval '1 minute'
FROM generate_series(1, %(count)s) AS g;

-- name: seed_executions
-- Spread over the last week (about 1,000 in the last hour, as a busy minute-by-minute stack has),
-- every status, the lag of a real run.
INSERT INTO workflow_executions (workflow_id, user_id, trigger, status, scheduled_for, queued_at,
                                 started_at, finished_at, error, attempts, created_at)
SELECT w.id, w.user_id, CASE WHEN mod(g, 20) = 0 THEN 'manual' ELSE 'scheduled' END,
       (ARRAY['completed', 'completed', 'completed', 'failed', 'queued', 'running', 'pending'])[mod(g, 7) + 1],
       t.at, t.at + interval '80 milliseconds', t.at + interval '1.5 seconds', t.at + interval '4 seconds',
       CASE WHEN mod(g, 7) = 3 THEN 'simulated failure' END, 1, t.at
FROM generate_series(1, %(count)s) AS g
JOIN LATERAL (SELECT now() - (g * 6) * interval '1 second' - interval '1 millisecond' AS at) AS t ON true
JOIN workflows AS w ON w.name = 'measure-' || (mod(g, %(workflows)s) + 1);

-- name: analyze
ANALYZE workflows, workflow_executions;

-- name: any_workflow
-- One of the stored ones (not a demo workflow), for its own pages.
SELECT id FROM workflows WHERE status = 'published' AND starts_with(name, 'measure-') ORDER BY name LIMIT 1;
