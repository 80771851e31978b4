-- +goose Up
-- Scheduling and automated workflows: business calendars, schedule presets
-- with holiday rules, event subscriptions, incremental (watermark) feeds,
-- retry and deadline settings, concurrency limits and a notification outbox.
-- The functions that act on these tables live in sql/70_schedule.sql.
--
-- Every ALTER TABLE below adds nullable columns or columns with constant
-- defaults, which PostgreSQL 11 and newer add without rewriting the table.

CREATE TABLE axtract.calendar (
    name             text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
    description      text NOT NULL DEFAULT '',
    weekend          smallint[] NOT NULL DEFAULT '{0,6}' CHECK (weekend <@ '{0,1,2,3,4,5,6}'::smallint[]),
    federal_holidays boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE axtract.calendar IS
    'Business calendars. A day is a business day unless it is a weekend day, a United States federal holiday (observed date, when federal_holidays is set) or a closure in calendar_day; a calendar_day row can also open a day.';
COMMENT ON COLUMN axtract.calendar.weekend IS 'Days of the week that are not business days; 0 is Sunday, 6 is Saturday.';
COMMENT ON COLUMN axtract.calendar.federal_holidays IS 'Whether the observed dates of the United States federal holidays, computed by rule for any year, are closed.';

CREATE TABLE axtract.calendar_day (
    calendar     text NOT NULL REFERENCES axtract.calendar ON DELETE CASCADE ON UPDATE CASCADE,
    day          date NOT NULL,
    business_day boolean NOT NULL,
    note         text NOT NULL DEFAULT '',
    PRIMARY KEY (calendar, day)
);
COMMENT ON TABLE axtract.calendar_day IS
    'Exception dates of a calendar: a closure (business_day false) or a day that is open although a weekend or holiday rule closes it (business_day true).';

-- The parsed form of a feed's schedule, kept on the feed so the scheduler
-- does not parse cron text on every tick.
CREATE TYPE axtract.schedule_spec AS (
    times     smallint[],
    days      smallint[],
    months    smallint[],
    weekdays  smallint[],
    days_or   boolean,
    month_day text
);
COMMENT ON TYPE axtract.schedule_spec IS
    'A parsed schedule: local times of day in minutes after midnight (ascending), allowed days of the month, months and weekdays (0 is Sunday), whether a day matches on day of month OR weekday (cron, when both fields are restricted), and for monthly presets the day rule (1 to 31, last, last_business).';

ALTER TABLE axtract.feed
    ADD COLUMN schedule_spec    axtract.schedule_spec,
    ADD COLUMN next_slot        timestamptz,
    ADD COLUMN calendar         text REFERENCES axtract.calendar ON UPDATE CASCADE,
    ADD COLUMN holiday_rule     text NOT NULL DEFAULT 'none' CHECK (holiday_rule IN ('none', 'skip', 'next', 'previous')),
    ADD COLUMN catch_up         text NOT NULL DEFAULT 'latest' CHECK (catch_up IN ('latest', 'all')),
    ADD COLUMN retry_base       interval CHECK (retry_base > interval '0'),
    ADD COLUMN deadline         time,
    ADD COLUMN contacts         text[] NOT NULL DEFAULT '{}',
    ADD COLUMN watermark_column text,
    ADD COLUMN watermark        text,
    ADD COLUMN empty_window     text NOT NULL DEFAULT 'file' CHECK (empty_window IN ('file', 'skip')),
    ADD COLUMN paused_at        timestamptz,
    ADD CHECK (holiday_rule = 'none' OR calendar IS NOT NULL);
COMMENT ON COLUMN axtract.feed.schedule_spec IS 'schedule parsed by axtract.schedule_parse; maintained by a trigger.';
COMMENT ON COLUMN axtract.feed.next_slot IS 'First slot after schedule_cursor (or created_at); the scheduler looks only at feeds whose next_slot has passed. Maintained by a trigger and the scheduler.';
COMMENT ON COLUMN axtract.feed.calendar IS 'Business calendar that holiday_rule and the last-business-day preset consult.';
COMMENT ON COLUMN axtract.feed.holiday_rule IS 'What a slot on a day that is not a business day does: none (runs), skip, next (moves to the next business day) or previous (moves to the previous one), at the same local time.';
COMMENT ON COLUMN axtract.feed.catch_up IS 'Slots missed while no scheduler ran: latest enqueues only the newest, all enqueues each one, a bounded number per tick.';
COMMENT ON COLUMN axtract.feed.retry_base IS 'Wait before the second attempt of a failed run; doubles with each attempt. NULL uses the worker default (axtract serve --retry-base).';
COMMENT ON COLUMN axtract.feed.deadline IS 'Local time (in time_zone) by which a scheduled run must be delivered: the first such time at or after the slot. A run still undelivered then raises a run.late event.';
COMMENT ON COLUMN axtract.feed.contacts IS 'Email addresses notified of failed and late runs; when empty, the partner''s contact_email.';
COMMENT ON COLUMN axtract.feed.watermark_column IS 'Column of the view that makes the feed incremental: each run delivers the rows with a value after the last delivered watermark. NULL delivers the whole view every run.';
COMMENT ON COLUMN axtract.feed.watermark IS 'Highest watermark_column value delivered so far, as text of the column''s type; NULL before the first delivery.';
COMMENT ON COLUMN axtract.feed.empty_window IS 'What an incremental run with no new rows delivers: file (a file with the header only) or skip (nothing).';
-- The scheduler reads every feed each tick (a sequential scan: a row is a
-- few hundred bytes) and rewrites next_slot of the due ones. Without an
-- index on next_slot, and with free space on each page, those updates can
-- be heap-only.
ALTER TABLE axtract.feed SET (fillfactor = 70);

CREATE TABLE axtract.feed_event (
    feed_id      bigint NOT NULL REFERENCES axtract.feed ON DELETE CASCADE,
    event        text NOT NULL CHECK (event ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    signalled_at timestamptz,
    PRIMARY KEY (feed_id, event)
);
COMMENT ON TABLE axtract.feed_event IS
    'Events a feed waits for. When every event of a feed has been signalled since the feed''s last event run, axtract.signal enqueues a run.';
COMMENT ON COLUMN axtract.feed_event.signalled_at IS 'Last signal of the event since the feed''s last event run; NULL when none.';
CREATE INDEX feed_event_event_idx ON axtract.feed_event (event);

ALTER TABLE axtract.partner
    ADD COLUMN max_concurrent_runs integer CHECK (max_concurrent_runs >= 1);
COMMENT ON COLUMN axtract.partner.max_concurrent_runs IS 'Most runs of this partner''s feeds that extract at once; NULL for no limit.';

ALTER TABLE axtract.destination
    ADD COLUMN max_concurrent_runs integer CHECK (max_concurrent_runs >= 1);
COMMENT ON COLUMN axtract.destination.max_concurrent_runs IS 'Most runs that deliver to this destination at once; NULL for no limit.';

ALTER TABLE axtract.run
    DROP CONSTRAINT run_trigger_check,
    ADD CONSTRAINT run_trigger_check CHECK (trigger IN ('schedule', 'manual', 'event', 'backfill')),
    ADD COLUMN job_id bigint,
    ADD COLUMN watermark_window jsonb,
    ADD COLUMN deadline_at timestamptz,
    ADD COLUMN late_at timestamptz;
COMMENT ON COLUMN axtract.run.job_id IS 'River job (river.river_job.id) of the run''s latest enqueue.';
COMMENT ON COLUMN axtract.run.watermark_window IS
    'Window of an incremental run, fixed at its first attempt: {"column", "from", "to"}; rows with from < column <= to. from is null on the first delivery; to equals from when there was nothing new. Retries and re-runs read the same window.';
COMMENT ON COLUMN axtract.run.deadline_at IS 'When a scheduled run must be delivered by (from feed.deadline); NULL for none.';
COMMENT ON COLUMN axtract.run.late_at IS 'When the scheduler recorded that the run missed deadline_at.';
-- Runs that may still be late; succeeded runs leave the index.
CREATE INDEX run_deadline_idx ON axtract.run (deadline_at) WHERE deadline_at IS NOT NULL AND late_at IS NULL AND status <> 'succeeded';

CREATE TABLE axtract.notification (
    notification_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('run_failed', 'run_late')),
    feed_id         bigint REFERENCES axtract.feed ON DELETE CASCADE,
    run_id          bigint REFERENCES axtract.run ON DELETE CASCADE,
    recipients      text[] NOT NULL,
    subject         text NOT NULL,
    detail          jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
COMMENT ON TABLE axtract.notification IS
    'Outbox of notifications to send to feed contacts. Rows are written in the transaction that records the failure or delay; a sender sets sent_at. detail never holds member data or secrets.';
CREATE INDEX notification_unsent_idx ON axtract.notification (notification_id) WHERE sent_at IS NULL;

-- +goose Down
DROP TABLE axtract.notification;
ALTER TABLE axtract.run
    DROP COLUMN late_at,
    DROP COLUMN deadline_at,
    DROP COLUMN watermark_window,
    DROP COLUMN job_id,
    DROP CONSTRAINT run_trigger_check,
    ADD CONSTRAINT run_trigger_check CHECK (trigger IN ('schedule', 'manual'));
ALTER TABLE axtract.destination DROP COLUMN max_concurrent_runs;
ALTER TABLE axtract.partner DROP COLUMN max_concurrent_runs;
DROP TABLE axtract.feed_event;
ALTER TABLE axtract.feed RESET (fillfactor);
ALTER TABLE axtract.feed
    DROP COLUMN paused_at,
    DROP COLUMN empty_window,
    DROP COLUMN watermark,
    DROP COLUMN watermark_column,
    DROP COLUMN contacts,
    DROP COLUMN deadline,
    DROP COLUMN retry_base,
    DROP COLUMN catch_up,
    DROP COLUMN holiday_rule,
    DROP COLUMN calendar,
    DROP COLUMN next_slot,
    DROP COLUMN schedule_spec;
DROP TYPE axtract.schedule_spec;
DROP TABLE axtract.calendar_day;
DROP TABLE axtract.calendar;
