-- Demo workflows so a fresh LOCAL stack shows something real. Not part of db/init (the schema, which is
-- applied to production databases too): only the local stacks apply this file, to a new database only
-- (embedded `make up`; docker's initdb hook, db/seed/docker-initdb.sh, on an empty volume), so a demo row
-- the user deleted stays deleted.
INSERT INTO workflows (id, user_id, name, status, cron, timezone, next_run_at) VALUES
    ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000aa',
     'Sync CRM contacts every 5 minutes', 'published', '*/5 * * * *', 'UTC', now()),
    ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-0000000000aa',
     'Daily digest at noon, Paris time (EventBridge cron)', 'published', 'cron(0 12 * * ? *)', 'Europe/Paris', now()),
    ('00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-0000000000aa',
     'Poll the billing API', 'published', 'rate(10 minutes)', 'UTC', now()),
    ('00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-0000000000bb',
     'Weekday stand-up reminder, New York', 'published', '0 9 * * MON-FRI', 'America/New_York', NULL),
    ('00000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-0000000000bb',
     'Month-end report, last Friday (EventBridge cron)', 'published', 'cron(0 18 ? * 6L *)', 'Asia/Tokyo', NULL),
    ('00000000-0000-4000-8000-000000000006', '00000000-0000-4000-8000-0000000000bb',
     'Draft: not scheduled until published', 'draft', '*/1 * * * *', 'UTC', now()),
    ('00000000-0000-4000-8000-000000000007', '00000000-0000-4000-8000-0000000000bb',
     'Broken schedule: flagged by the scheduler', 'published', 'every tuesday', 'UTC', now())
ON CONFLICT (id) DO NOTHING;
