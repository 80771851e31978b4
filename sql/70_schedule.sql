-- Schedules, business calendars, event triggers, the scheduler's tick and
-- the SQL side of run control (retry, re-run, backfill, pause, resume).
--
-- Slot computation lives here, in one implementation that the scheduler,
-- the axtract command and DBAs share: the Go scheduler calls
-- axtract.schedule_tick, and axtract feed next calls axtract.feed_next_runs.
-- docs/scheduling.md explains the rules; the short version:
--
-- * A schedule names local wall-clock times in the feed's time zone.
-- * A local time that happens twice (the clock falls back) maps to its first
--   occurrence, so it runs once.
-- * A local time that does not exist (the clock springs forward) maps to the
--   instant of the jump, so the run happens right after it.
-- * Two local times that map to the same instant are one slot.

-- ---------------------------------------------------------------------------
-- Calendars

-- The date of the n-th given weekday (0 is Sunday) of a month.
CREATE OR REPLACE FUNCTION axtract.nth_weekday(p_year integer, p_month integer, p_weekday integer, p_n integer) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT make_date(p_year, p_month, 1)
         + ((p_weekday - extract(dow FROM make_date(p_year, p_month, 1))::integer + 7) % 7)
         + 7 * (p_n - 1)
$$;

-- The date of the last given weekday (0 is Sunday) of a month.
CREATE OR REPLACE FUNCTION axtract.last_weekday(p_year integer, p_month integer, p_weekday integer) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT d - ((extract(dow FROM d)::integer - p_weekday + 7) % 7)
    FROM (SELECT (make_date(p_year, p_month, 1) + interval '1 month' - interval '1 day')::date AS d) AS last_day
$$;

-- The United States federal holidays of a year (5 U.S.C. 6103) with their
-- observed dates: a holiday on a Saturday is observed on the Friday before,
-- one on a Sunday on the Monday after. New Year's Day of the next year can
-- be observed on December 31 of this one; that date is listed under the
-- next year. Juneteenth is listed from 2021 and Martin Luther King Jr. Day
-- from 1986, the first years they were observed.
-- NOTE: years before 1971 get today's Monday rules, not the fixed dates of
-- the time (Washington's Birthday on February 22, and so on).
CREATE OR REPLACE FUNCTION axtract.us_federal_holidays(p_year integer)
RETURNS TABLE (holiday text, day date, observed date)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT h.holiday,
           h.day,
           CASE extract(dow FROM h.day) WHEN 6 THEN h.day - 1 WHEN 0 THEN h.day + 1 ELSE h.day END
    FROM (VALUES
        ('New Year''s Day', make_date(p_year, 1, 1)),
        ('Birthday of Martin Luther King, Jr.', CASE WHEN p_year >= 1986 THEN axtract.nth_weekday(p_year, 1, 1, 3) END),
        ('Washington''s Birthday', axtract.nth_weekday(p_year, 2, 1, 3)),
        ('Memorial Day', axtract.last_weekday(p_year, 5, 1)),
        ('Juneteenth National Independence Day', CASE WHEN p_year >= 2021 THEN make_date(p_year, 6, 19) END),
        ('Independence Day', make_date(p_year, 7, 4)),
        ('Labor Day', axtract.nth_weekday(p_year, 9, 1, 1)),
        ('Columbus Day', axtract.nth_weekday(p_year, 10, 1, 2)),
        ('Veterans Day', make_date(p_year, 11, 11)),
        ('Thanksgiving Day', axtract.nth_weekday(p_year, 11, 4, 4)),
        ('Christmas Day', make_date(p_year, 12, 25))
    ) AS h (holiday, day)
    WHERE h.day IS NOT NULL
    ORDER BY h.day
$$;

-- Whether federal employees have the day off for a federal holiday.
CREATE OR REPLACE FUNCTION axtract.is_us_federal_holiday(p_day date) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT EXISTS (
        SELECT FROM axtract.us_federal_holidays(extract(year FROM p_day)::integer) h
        WHERE h.observed = p_day
    ) OR (
        extract(month FROM p_day) = 12 AND extract(day FROM p_day) = 31
        AND extract(dow FROM p_day) = 5
    )
$$;

-- Whether p_day is a business day of calendar p_calendar. A NULL calendar
-- means Monday to Friday. Returns NULL for an unknown calendar.
CREATE OR REPLACE FUNCTION axtract.is_business_day(p_calendar text, p_day date) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN p_calendar IS NULL THEN extract(isodow FROM p_day) < 6
        ELSE (
            SELECT coalesce(
                (SELECT d.business_day FROM axtract.calendar_day d WHERE d.calendar = c.name AND d.day = p_day),
                NOT (extract(dow FROM p_day)::smallint = ANY (c.weekend))
                    AND NOT (c.federal_holidays AND axtract.is_us_federal_holiday(p_day)))
            FROM axtract.calendar c
            WHERE c.name = p_calendar)
    END
$$;

-- The first business day on or after p_day (p_step 1), or on or before it
-- (p_step -1). Raises when the calendar has none within a year.
CREATE OR REPLACE FUNCTION axtract.business_day_near(p_calendar text, p_day date, p_step integer) RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    d date := p_day;
    open boolean;
BEGIN
    FOR i IN 1..366 LOOP
        open := axtract.is_business_day(p_calendar, d);
        IF open IS NULL THEN
            RAISE EXCEPTION 'calendar % not found', p_calendar
                USING ERRCODE = 'no_data_found', HINT = 'SELECT name FROM axtract.calendar lists the calendars.';
        END IF;
        IF open THEN
            RETURN d;
        END IF;
        d := d + p_step;
    END LOOP;
    RAISE EXCEPTION 'calendar % has no business day within a year of %', p_calendar, p_day
        USING ERRCODE = 'invalid_parameter_value', HINT = 'Check the calendar''s weekend and calendar_day rows.';
END
$$;

-- The days from p_from through p_to with their business-day status and, for
-- a closed day, why: the exception's note, the federal holiday or weekend.
CREATE OR REPLACE FUNCTION axtract.calendar_days(p_calendar text, p_from date, p_to date)
RETURNS TABLE (day date, business_day boolean, reason text)
LANGUAGE sql STABLE
AS $$
    SELECT d.day,
           axtract.is_business_day(p_calendar, d.day),
           CASE WHEN NOT axtract.is_business_day(p_calendar, d.day) THEN coalesce(
               (SELECT nullif(x.note, '') FROM axtract.calendar_day x WHERE x.calendar = p_calendar AND x.day = d.day),
               (SELECT h.holiday
                FROM axtract.calendar c,
                     LATERAL (SELECT * FROM axtract.us_federal_holidays(extract(year FROM d.day)::integer)
                              UNION ALL
                              SELECT * FROM axtract.us_federal_holidays(extract(year FROM d.day)::integer + 1)) AS h
                WHERE c.name = p_calendar AND c.federal_holidays AND h.observed = d.day
                LIMIT 1),
               'weekend') END
    FROM generate_series(p_from::timestamp, p_to::timestamp, interval '1 day') AS g (t),
         LATERAL (SELECT g.t::date AS day) AS d
$$;

-- Create or update a calendar.
CREATE OR REPLACE FUNCTION axtract.calendar_define(
    p_name text,
    p_description text DEFAULT '',
    p_weekend smallint[] DEFAULT '{0,6}',
    p_federal_holidays boolean DEFAULT false
) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO axtract.calendar (name, description, weekend, federal_holidays)
    VALUES (p_name, p_description, p_weekend, p_federal_holidays)
    ON CONFLICT (name) DO UPDATE SET
        description = EXCLUDED.description,
        weekend = EXCLUDED.weekend,
        federal_holidays = EXCLUDED.federal_holidays;
    INSERT INTO axtract.audit_event (action, detail)
    VALUES ('calendar.define', jsonb_build_object('calendar', p_name, 'weekend', p_weekend, 'federal_holidays', p_federal_holidays));
END
$$;

-- Close (p_business_day false) or open (true) one day of a calendar.
CREATE OR REPLACE FUNCTION axtract.calendar_day_set(p_calendar text, p_day date, p_business_day boolean, p_note text DEFAULT '') RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM axtract.calendar WHERE name = p_calendar) THEN
        RAISE EXCEPTION 'calendar % not found', p_calendar
            USING ERRCODE = 'no_data_found', HINT = 'Create it with axtract.calendar_define.';
    END IF;
    INSERT INTO axtract.calendar_day (calendar, day, business_day, note)
    VALUES (p_calendar, p_day, p_business_day, coalesce(p_note, ''))
    ON CONFLICT (calendar, day) DO UPDATE SET business_day = EXCLUDED.business_day, note = EXCLUDED.note;
    INSERT INTO axtract.audit_event (action, detail)
    VALUES ('calendar.day_set', jsonb_build_object('calendar', p_calendar, 'day', p_day, 'business_day', p_business_day, 'note', p_note));
END
$$;

-- Remove an exception date; the calendar's rules decide the day again.
CREATE OR REPLACE FUNCTION axtract.calendar_day_remove(p_calendar text, p_day date) RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM axtract.calendar_day WHERE calendar = p_calendar AND day = p_day;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO axtract.audit_event (action, detail)
    VALUES ('calendar.day_remove', jsonb_build_object('calendar', p_calendar, 'day', p_day));
    RETURN true;
END
$$;

INSERT INTO axtract.calendar (name, description, federal_holidays)
VALUES ('us_federal', 'Monday to Friday, closed on the observed dates of the United States federal holidays.', true)
ON CONFLICT (name) DO NOTHING;

-- ---------------------------------------------------------------------------
-- Parsing

-- One number or name of a cron field; NULL when it is neither.
CREATE OR REPLACE FUNCTION axtract.cron_value(p_token text, p_names text[], p_name_base integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN p_token ~ '^[0-9]{1,4}$' THEN p_token::integer
        ELSE array_position(p_names, p_token) - 1 + p_name_base
    END
$$;

-- The values of one cron field, ascending, and whether it starts with * or ?
-- (which decides how day of month and day of week combine).
CREATE OR REPLACE FUNCTION axtract.cron_field(
    p_schedule text,
    p_field text,
    p_label text,
    p_lo integer,
    p_hi integer,
    p_names text[] DEFAULT NULL,
    p_name_base integer DEFAULT 0,
    OUT vals smallint[],
    OUT star boolean
)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    part  text;
    m     text[];
    a     integer;
    b     integer;
    step  integer;
    acc   integer[] := '{}';
    hint  text := format('The %s field takes %s to %s%s, *, a-b, lists a,b and steps */n or a-b/n.',
                         p_label, p_lo, p_hi, CASE WHEN p_names IS NULL THEN '' ELSE ' or names such as ' || p_names[1] END);
BEGIN
    star := false;
    FOREACH part IN ARRAY string_to_array(p_field, ',') LOOP
        m := regexp_match(part, '^(\*|\?|[a-z0-9]+)(?:-([a-z0-9]+))?(?:/([0-9]{1,4}))?$');
        IF m IS NULL THEN
            RAISE EXCEPTION 'schedule %: % field % is invalid', quote_literal(p_schedule), p_label, quote_literal(p_field)
                USING ERRCODE = 'invalid_parameter_value', HINT = hint;
        END IF;
        step := coalesce(m[3]::integer, 1);
        IF m[1] IN ('*', '?') THEN
            IF m[2] IS NOT NULL THEN
                RAISE EXCEPTION 'schedule %: % field % is invalid', quote_literal(p_schedule), p_label, quote_literal(p_field)
                    USING ERRCODE = 'invalid_parameter_value', HINT = hint;
            END IF;
            a := p_lo;
            b := p_hi;
            star := true;
        ELSE
            a := axtract.cron_value(m[1], p_names, p_name_base);
            b := CASE WHEN m[2] IS NOT NULL THEN axtract.cron_value(m[2], p_names, p_name_base)
                      WHEN m[3] IS NOT NULL THEN p_hi
                      ELSE a END;
        END IF;
        IF a IS NULL OR b IS NULL OR a < p_lo OR b > p_hi OR a > b OR step < 1 THEN
            RAISE EXCEPTION 'schedule %: % field % is out of range', quote_literal(p_schedule), p_label, quote_literal(part)
                USING ERRCODE = 'invalid_parameter_value', HINT = hint;
        END IF;
        acc := acc || ARRAY(SELECT generate_series(a, b, step));
    END LOOP;
    vals := ARRAY(SELECT DISTINCT v::smallint FROM unnest(acc) AS v ORDER BY 1);
END
$$;

-- Local times of day, as minutes after midnight, from a list such as
-- 06:00,18:30.
CREATE OR REPLACE FUNCTION axtract.schedule_times(p_schedule text, p_times text) RETURNS smallint[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    part text;
    m    text[];
    acc  integer[] := '{}';
BEGIN
    FOREACH part IN ARRAY string_to_array(p_times, ',') LOOP
        m := regexp_match(part, '^([0-9]{1,2}):([0-9]{2})$');
        IF m IS NULL OR m[1]::integer > 23 OR m[2]::integer > 59 THEN
            RAISE EXCEPTION 'schedule %: time % is invalid', quote_literal(p_schedule), quote_literal(part)
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Write local times as HH:MM, 00:00 to 23:59, separated by commas.';
        END IF;
        acc := acc || (m[1]::integer * 60 + m[2]::integer);
    END LOOP;
    RETURN ARRAY(SELECT DISTINCT v::smallint FROM unnest(acc) AS v ORDER BY 1);
END
$$;

-- Parses a schedule: a five-field cron expression (minute hour day-of-month
-- month day-of-week, with names such as mon or jan), a descriptor (@hourly,
-- @daily, @weekly, @monthly, @yearly), or a preset:
--   daily HH:MM[,HH:MM...]
--   weekly DAYS HH:MM[,...]        (DAYS as in cron: mon-fri, mon,wed,fri)
--   monthly N HH:MM[,...]          (N 1 to 31; a shorter month uses its last day)
--   monthly last HH:MM[,...]
--   monthly last-business-day HH:MM[,...]
-- As in cron, when both day of month and day of week are restricted (neither
-- starts with *), a day matches if either does.
CREATE OR REPLACE FUNCTION axtract.schedule_parse(p_schedule text) RETURNS axtract.schedule_spec
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    months_names   CONSTANT text[] := '{jan,feb,mar,apr,may,jun,jul,aug,sep,oct,nov,dec}';
    weekday_names  CONSTANT text[] := '{sun,mon,tue,wed,thu,fri,sat}';
    all_days       CONSTANT smallint[] := ARRAY(SELECT generate_series(1, 31)::smallint);
    all_months     CONSTANT smallint[] := ARRAY(SELECT generate_series(1, 12)::smallint);
    all_weekdays   CONSTANT smallint[] := ARRAY(SELECT generate_series(0, 6)::smallint);
    hint           CONSTANT text := 'Use five cron fields (minute hour day-of-month month day-of-week, e.g. 0 6 * * 1-5), '
                                 || 'or a preset: daily 06:00, weekly mon,wed 06:00, monthly 15 06:00, monthly last 06:00, '
                                 || 'monthly last-business-day 06:00.';
    s     text := lower(btrim(regexp_replace(coalesce(p_schedule, ''), '\s+', ' ', 'g')));
    w     text[];
    minute_f record;
    hour_f   record;
    day_f    record;
    month_f  record;
    dow_f    record;
    spec  axtract.schedule_spec;
BEGIN
    IF s LIKE '@%' THEN
        s := CASE s
            WHEN '@yearly' THEN '0 0 1 1 *'
            WHEN '@annually' THEN '0 0 1 1 *'
            WHEN '@monthly' THEN '0 0 1 * *'
            WHEN '@weekly' THEN '0 0 * * 0'
            WHEN '@daily' THEN '0 0 * * *'
            WHEN '@midnight' THEN '0 0 * * *'
            WHEN '@hourly' THEN '0 * * * *'
        END;
        IF s IS NULL THEN
            RAISE EXCEPTION 'schedule % is not a known descriptor', quote_literal(p_schedule)
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Descriptors: @hourly, @daily, @weekly, @monthly, @yearly. ' || hint;
        END IF;
    END IF;
    w := string_to_array(s, ' ');

    IF w[1] = 'daily' AND cardinality(w) = 2 THEN
        spec := (axtract.schedule_times(p_schedule, w[2]), all_days, all_months, all_weekdays, false, NULL);
    ELSIF w[1] = 'weekly' AND cardinality(w) = 3 THEN
        dow_f := axtract.cron_field(p_schedule, w[2], 'day of week', 0, 7, weekday_names, 0);
        spec := (axtract.schedule_times(p_schedule, w[3]), all_days, all_months,
                 ARRAY(SELECT DISTINCT (v % 7)::smallint FROM unnest(dow_f.vals) AS v ORDER BY 1), false, NULL);
    ELSIF w[1] = 'monthly' AND cardinality(w) = 3 THEN
        IF w[2] ~ '^[0-9]{1,2}$' AND w[2]::integer BETWEEN 1 AND 31 THEN
            spec := (NULL, all_days, all_months, all_weekdays, false, w[2]::integer::text);
        ELSIF w[2] = 'last' THEN
            spec := (NULL, all_days, all_months, all_weekdays, false, 'last');
        ELSIF w[2] = 'last-business-day' THEN
            spec := (NULL, all_days, all_months, all_weekdays, false, 'last_business');
        ELSE
            RAISE EXCEPTION 'schedule %: monthly day % is invalid', quote_literal(p_schedule), quote_literal(w[2])
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Use a day 1 to 31, last or last-business-day.';
        END IF;
        spec.times := axtract.schedule_times(p_schedule, w[3]);
    ELSIF cardinality(w) = 5 AND w[1] NOT IN ('daily', 'weekly', 'monthly') THEN
        minute_f := axtract.cron_field(p_schedule, w[1], 'minute', 0, 59);
        hour_f := axtract.cron_field(p_schedule, w[2], 'hour', 0, 23);
        day_f := axtract.cron_field(p_schedule, w[3], 'day of month', 1, 31);
        month_f := axtract.cron_field(p_schedule, w[4], 'month', 1, 12, months_names, 1);
        dow_f := axtract.cron_field(p_schedule, w[5], 'day of week', 0, 7, weekday_names, 0);
        spec := (
            ARRAY(SELECT (h * 60 + m)::smallint FROM unnest(hour_f.vals) AS h, unnest(minute_f.vals) AS m ORDER BY 1),
            day_f.vals,
            month_f.vals,
            ARRAY(SELECT DISTINCT (v % 7)::smallint FROM unnest(dow_f.vals) AS v ORDER BY 1),
            NOT day_f.star AND NOT dow_f.star,
            NULL);
    ELSE
        RAISE EXCEPTION 'schedule % is invalid', quote_literal(p_schedule)
            USING ERRCODE = 'invalid_parameter_value', HINT = hint;
    END IF;
    RETURN spec;
END
$$;

-- ---------------------------------------------------------------------------
-- Slot computation

-- The instant of local wall-clock time p_local in time zone p_tz. A local
-- time that happens twice maps to its first occurrence; one that does not
-- exist maps to the instant the clock jumps over it.
CREATE OR REPLACE FUNCTION axtract.local_instant(p_local timestamp, p_tz text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    t      timestamptz := p_local AT TIME ZONE p_tz;
    back   timestamp := t AT TIME ZONE p_tz;
    earlier_offset interval;
    early  timestamptz;
    lo     timestamptz;
    hi     timestamptz;
    mid    timestamptz;
BEGIN
    IF back = p_local THEN
        -- PostgreSQL picks the later of two occurrences. The earlier one, if
        -- any, has the offset in force a few hours before.
        earlier_offset := ((t - interval '6 hours') AT TIME ZONE p_tz) - ((t - interval '6 hours') AT TIME ZONE 'UTC');
        early := (p_local - earlier_offset) AT TIME ZONE 'UTC';
        IF early < t AND (early AT TIME ZONE p_tz) = p_local THEN
            RETURN early;
        END IF;
        RETURN t;
    END IF;

    -- p_local falls in a gap. PostgreSQL reads it with the offset from before
    -- the jump, which gives an instant after the jump. The jump itself is the
    -- first instant whose local time is later than p_local, found by binary
    -- search to the second between the two readings of p_local.
    hi := t;
    lo := t - (back - p_local);
    WHILE hi - lo > interval '1 second' LOOP
        mid := date_trunc('second', lo + (hi - lo) / 2);
        IF mid <= lo THEN
            mid := lo + interval '1 second';
        END IF;
        IF (mid AT TIME ZONE p_tz) > p_local THEN
            hi := mid;
        ELSE
            lo := mid;
        END IF;
    END LOOP;
    RETURN hi;
END
$$;

-- Whether nominal date p_day matches the date rule of a schedule, before any
-- holiday rule.
CREATE OR REPLACE FUNCTION axtract.schedule_date_matches(p_spec axtract.schedule_spec, p_calendar text, p_day date) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    dom       integer := date_part('day', p_day)::integer;
    last_day  date;
    day_match boolean;
    dow_match boolean;
BEGIN
    IF p_spec.month_day IS NULL THEN
        IF NOT (date_part('month', p_day)::smallint = ANY (p_spec.months)) THEN
            RETURN false;
        END IF;
        day_match := dom::smallint = ANY (p_spec.days);
        dow_match := (((p_day - DATE '2000-01-02') % 7 + 7) % 7)::smallint = ANY (p_spec.weekdays);
        IF p_spec.days_or THEN
            RETURN day_match OR dow_match;
        END IF;
        RETURN day_match AND dow_match;
    END IF;

    last_day := (date_trunc('month', p_day) + interval '1 month' - interval '1 day')::date;
    IF p_spec.month_day = 'last' THEN
        RETURN p_day = last_day;
    ELSIF p_spec.month_day = 'last_business' THEN
        RETURN p_day = axtract.business_day_near(p_calendar, last_day, -1);
    END IF;
    RETURN dom = least(p_spec.month_day::integer, date_part('day', last_day)::integer);
END
$$;

-- The slots (ascending, without repeats) that nominal date p_day of a
-- schedule produces after the holiday rule. A date that does not match or
-- is skipped produces none. Otherwise the slots are the schedule's local
-- times on the date, or on the business day the rule moves it to.
CREATE OR REPLACE FUNCTION axtract.schedule_day(
    p_spec axtract.schedule_spec,
    p_tz text,
    p_calendar text,
    p_rule text,
    p_day date
) RETURNS timestamptz[]
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    d        date := p_day;
    midnight timestamptz;
    m        smallint;
    slots    timestamptz[] := '{}';
    s        timestamptz;
BEGIN
    IF NOT axtract.schedule_date_matches(p_spec, p_calendar, p_day) THEN
        RETURN slots;
    END IF;
    IF p_rule <> 'none' AND NOT axtract.is_business_day(p_calendar, p_day) THEN
        IF p_rule = 'skip' THEN
            RETURN slots;
        END IF;
        d := axtract.business_day_near(p_calendar, p_day, CASE p_rule WHEN 'next' THEN 1 ELSE -1 END);
    END IF;

    -- On a day of exactly 24 hours whose midnight exists, every local time
    -- is midnight plus its minutes. Other days go time by time; the times
    -- ascend and local_instant never maps a later time to an earlier
    -- instant, so repeats are adjacent.
    midnight := d::timestamp AT TIME ZONE p_tz;
    IF (midnight AT TIME ZONE p_tz) = d::timestamp
       AND ((d + 1)::timestamp AT TIME ZONE p_tz) - midnight = interval '24 hours' THEN
        FOREACH m IN ARRAY p_spec.times LOOP
            slots := slots || (midnight + m * interval '1 minute');
        END LOOP;
        RETURN slots;
    END IF;
    FOREACH m IN ARRAY p_spec.times LOOP
        s := axtract.local_instant(d + m * interval '1 minute', p_tz);
        IF cardinality(slots) = 0 OR slots[cardinality(slots)] <> s THEN
            slots := slots || s;
        END IF;
    END LOOP;
    RETURN slots;
END
$$;

-- The first slot strictly after p_after; NULL when none falls within nine
-- years.
CREATE OR REPLACE FUNCTION axtract.schedule_next(
    p_spec axtract.schedule_spec,
    p_tz text,
    p_calendar text,
    p_rule text,
    p_after timestamptz
) RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    d         date := (p_after AT TIME ZONE p_tz)::date - 1;
    last_d    date := d + 366 * 9;
    s         timestamptz;
    m         smallint;
    midnight  timestamptz;
    day_match boolean;
    dow_match boolean;
BEGIN
    IF p_spec IS NULL THEN
        RETURN NULL;
    END IF;
    -- Under the next rule, closed days just before p_after move onto it or
    -- later, so start at the first of them.
    IF p_rule = 'next' THEN
        FOR i IN 1..366 LOOP
            EXIT WHEN axtract.is_business_day(p_calendar, d - 1);
            d := d - 1;
        END LOOP;
    END IF;
    WHILE d < last_d LOOP
        IF p_spec.month_day IS NULL AND NOT (date_part('month', d)::smallint = ANY (p_spec.months)) THEN
            d := (date_trunc('month', d) + interval '1 month')::date;
            CONTINUE;
        END IF;
        -- Fast path, the same as schedule_day for a cron or weekly date
        -- rule without holiday rule on a day of 24 hours.
        IF p_rule = 'none' AND p_spec.month_day IS NULL THEN
            day_match := date_part('day', d)::smallint = ANY (p_spec.days);
            dow_match := (((d - DATE '2000-01-02') % 7 + 7) % 7)::smallint = ANY (p_spec.weekdays);
            IF (p_spec.days_or AND NOT (day_match OR dow_match)) OR (NOT p_spec.days_or AND NOT (day_match AND dow_match)) THEN
                d := d + 1;
                CONTINUE;
            END IF;
            midnight := d::timestamp AT TIME ZONE p_tz;
            IF (midnight AT TIME ZONE p_tz) = d::timestamp
               AND ((d + 1)::timestamp AT TIME ZONE p_tz) - midnight = interval '24 hours' THEN
                IF midnight + interval '1 day' > p_after THEN
                    FOREACH m IN ARRAY p_spec.times LOOP
                        s := midnight + m * interval '1 minute';
                        IF s > p_after THEN
                            RETURN s;
                        END IF;
                    END LOOP;
                END IF;
                d := d + 1;
                CONTINUE;
            END IF;
        END IF;
        FOREACH s IN ARRAY axtract.schedule_day(p_spec, p_tz, p_calendar, p_rule, d) LOOP
            IF s > p_after THEN
                RETURN s;
            END IF;
        END LOOP;
        d := d + 1;
    END LOOP;
    RETURN NULL;
END
$$;

-- The last slot at or before p_at; NULL when none falls within nine years.
CREATE OR REPLACE FUNCTION axtract.schedule_prev(
    p_spec axtract.schedule_spec,
    p_tz text,
    p_calendar text,
    p_rule text,
    p_at timestamptz
) RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    d      date := (p_at AT TIME ZONE p_tz)::date + 1;
    last_d date := d - 366 * 9;
    slots  timestamptz[];
BEGIN
    IF p_spec IS NULL THEN
        RETURN NULL;
    END IF;
    -- Under the previous rule, closed days just after p_at move onto it or
    -- earlier, so start at the last of them.
    IF p_rule = 'previous' THEN
        FOR i IN 1..366 LOOP
            EXIT WHEN axtract.is_business_day(p_calendar, d + 1);
            d := d + 1;
        END LOOP;
    END IF;
    WHILE d > last_d LOOP
        IF p_spec.month_day IS NULL AND NOT (date_part('month', d)::smallint = ANY (p_spec.months)) THEN
            d := date_trunc('month', d)::date - 1;
            CONTINUE;
        END IF;
        slots := axtract.schedule_day(p_spec, p_tz, p_calendar, p_rule, d);
        FOR i IN REVERSE cardinality(slots)..1 LOOP
            IF slots[i] <= p_at THEN
                RETURN slots[i];
            END IF;
        END LOOP;
        d := d - 1;
    END LOOP;
    RETURN NULL;
END
$$;

-- The slots of a schedule in (p_after, p_until], at most p_max of them.
CREATE OR REPLACE FUNCTION axtract.schedule_slots(
    p_spec axtract.schedule_spec,
    p_tz text,
    p_calendar text,
    p_rule text,
    p_after timestamptz,
    p_until timestamptz,
    p_max integer
) RETURNS SETOF timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    s timestamptz := p_after;
BEGIN
    FOR i IN 1..p_max LOOP
        s := axtract.schedule_next(p_spec, p_tz, p_calendar, p_rule, s);
        EXIT WHEN s IS NULL OR s > p_until;
        RETURN NEXT s;
    END LOOP;
END
$$;

-- The next p_count slots after p_after of a schedule that is not (yet) a
-- feed's, for previews and tests: schedule text, IANA time zone, calendar
-- and holiday rule as feed_define takes them.
CREATE OR REPLACE FUNCTION axtract.schedule_preview(
    p_schedule text,
    p_time_zone text DEFAULT 'UTC',
    p_calendar text DEFAULT NULL,
    p_holiday_rule text DEFAULT 'none',
    p_after timestamptz DEFAULT now(),
    p_count integer DEFAULT 10
) RETURNS SETOF timestamptz
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    PERFORM axtract.schedule_check_options(p_time_zone, p_calendar, p_holiday_rule);
    RETURN QUERY
    SELECT axtract.schedule_slots(axtract.schedule_parse(p_schedule), p_time_zone, p_calendar, p_holiday_rule,
                                  p_after, 'infinity', p_count);
END
$$;

-- Raises on an unknown time zone or calendar, or a holiday rule that is
-- invalid or lacks a calendar.
CREATE OR REPLACE FUNCTION axtract.schedule_check_options(p_time_zone text, p_calendar text, p_holiday_rule text) RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_timezone_names WHERE name = p_time_zone) THEN
        RAISE EXCEPTION 'unknown time zone %', quote_literal(p_time_zone)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use an IANA name such as America/Chicago.';
    END IF;
    IF p_calendar IS NOT NULL AND NOT EXISTS (SELECT FROM axtract.calendar WHERE name = p_calendar) THEN
        RAISE EXCEPTION 'calendar % not found', p_calendar
            USING ERRCODE = 'no_data_found', HINT = 'SELECT name FROM axtract.calendar lists the calendars; us_federal is built in.';
    END IF;
    IF p_holiday_rule IS NULL OR p_holiday_rule NOT IN ('none', 'skip', 'next', 'previous') THEN
        RAISE EXCEPTION 'holiday rule % is invalid', quote_literal(p_holiday_rule)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use none, skip, next or previous.';
    END IF;
    IF p_holiday_rule <> 'none' AND p_calendar IS NULL THEN
        RAISE EXCEPTION 'holiday rule % needs a calendar', p_holiday_rule
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Set the calendar option, e.g. us_federal.';
    END IF;
END
$$;

-- The next p_count slots of feed p_name after now, in UTC and in the feed's
-- local time.
CREATE OR REPLACE FUNCTION axtract.feed_next_runs(p_name text, p_count integer DEFAULT 10)
RETURNS TABLE (slot timestamptz, local_time timestamp, time_zone text)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    f axtract.feed;
BEGIN
    SELECT * INTO f FROM axtract.feed WHERE name = p_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'feed % not found', p_name USING ERRCODE = 'no_data_found';
    END IF;
    RETURN QUERY
    SELECT s, s AT TIME ZONE f.time_zone, f.time_zone
    FROM axtract.schedule_slots(f.schedule_spec, f.time_zone, f.calendar, f.holiday_rule, now(), 'infinity', p_count) AS s;
END
$$;

-- The deadline of a slot: the first instant at or after it whose local time
-- is p_deadline.
CREATE OR REPLACE FUNCTION axtract.deadline_at(p_slot timestamptz, p_deadline time, p_tz text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    d        date := (p_slot AT TIME ZONE p_tz)::date;
    deadline timestamptz;
BEGIN
    deadline := axtract.local_instant(d + p_deadline, p_tz);
    IF deadline < p_slot THEN
        deadline := axtract.local_instant(d + 1 + p_deadline, p_tz);
    END IF;
    RETURN deadline;
END
$$;

-- Keeps a feed's parsed schedule and next_slot in step with its schedule,
-- time zone, calendar, holiday rule, cursor and creation time, however the
-- row is changed. A statement that sets next_slot itself (the scheduler)
-- keeps its value.
CREATE OR REPLACE FUNCTION axtract.feed_schedule_maintain() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.schedule IS DISTINCT FROM OLD.schedule
       OR (NEW.schedule IS NOT NULL AND NEW.schedule_spec IS NULL) THEN
        NEW.schedule_spec := CASE WHEN NEW.schedule IS NULL THEN NULL ELSE axtract.schedule_parse(NEW.schedule) END;
    END IF;
    IF NEW.schedule IS NULL THEN
        NEW.next_slot := NULL;
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT'
       OR NEW.next_slot IS NULL
       OR (NEW.next_slot IS NOT DISTINCT FROM OLD.next_slot
           AND (NEW.schedule IS DISTINCT FROM OLD.schedule
                OR NEW.time_zone IS DISTINCT FROM OLD.time_zone
                OR NEW.calendar IS DISTINCT FROM OLD.calendar
                OR NEW.holiday_rule IS DISTINCT FROM OLD.holiday_rule
                OR NEW.schedule_cursor IS DISTINCT FROM OLD.schedule_cursor
                OR NEW.created_at IS DISTINCT FROM OLD.created_at)) THEN
        NEW.next_slot := axtract.schedule_next(NEW.schedule_spec, NEW.time_zone, NEW.calendar, NEW.holiday_rule,
                                               coalesce(NEW.schedule_cursor, NEW.created_at));
        IF NEW.next_slot IS NULL THEN
            RAISE EXCEPTION 'schedule % of feed % has no slot in the next nine years', quote_literal(NEW.schedule), NEW.name
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Check the day-of-month and month fields, e.g. 0 6 30 2 * never matches.';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

-- The update trigger fires only when a column it reads changed, so the
-- scheduler's own updates of cursor and next_slot cost no function call.
DROP TRIGGER IF EXISTS feed_schedule_maintain ON axtract.feed;
CREATE OR REPLACE TRIGGER feed_schedule_insert
    BEFORE INSERT ON axtract.feed
    FOR EACH ROW EXECUTE FUNCTION axtract.feed_schedule_maintain();
CREATE OR REPLACE TRIGGER feed_schedule_update
    BEFORE UPDATE ON axtract.feed
    FOR EACH ROW
    WHEN (NEW.next_slot IS NULL
          OR NEW.schedule IS DISTINCT FROM OLD.schedule
          OR NEW.time_zone IS DISTINCT FROM OLD.time_zone
          OR NEW.calendar IS DISTINCT FROM OLD.calendar
          OR NEW.holiday_rule IS DISTINCT FROM OLD.holiday_rule
          OR NEW.created_at IS DISTINCT FROM OLD.created_at
          OR (NEW.schedule_cursor IS DISTINCT FROM OLD.schedule_cursor AND NEW.next_slot IS NOT DISTINCT FROM OLD.next_slot))
    EXECUTE FUNCTION axtract.feed_schedule_maintain();

-- Feeds defined before schedules were parsed in SQL get their parsed form and
-- next slot here; the trigger fills both in.
UPDATE axtract.feed SET next_slot = NULL WHERE schedule IS NOT NULL AND (schedule_spec IS NULL OR next_slot IS NULL);

-- A calendar change moves the next slot of every feed that uses it.
CREATE OR REPLACE FUNCTION axtract.calendar_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE axtract.feed f
    SET next_slot = axtract.schedule_next(f.schedule_spec, f.time_zone, f.calendar, f.holiday_rule,
                                          coalesce(f.schedule_cursor, f.created_at))
    WHERE f.schedule IS NOT NULL
      AND f.calendar IN (SELECT calendar FROM changed_days);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION axtract.calendar_changed_calendar() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE axtract.feed f
    SET next_slot = axtract.schedule_next(f.schedule_spec, f.time_zone, f.calendar, f.holiday_rule,
                                          coalesce(f.schedule_cursor, f.created_at))
    WHERE f.schedule IS NOT NULL
      AND f.calendar IN (SELECT name FROM changed_calendars);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER calendar_day_insert AFTER INSERT ON axtract.calendar_day
    REFERENCING NEW TABLE AS changed_days FOR EACH STATEMENT EXECUTE FUNCTION axtract.calendar_changed();
CREATE OR REPLACE TRIGGER calendar_day_update AFTER UPDATE ON axtract.calendar_day
    REFERENCING NEW TABLE AS changed_days FOR EACH STATEMENT EXECUTE FUNCTION axtract.calendar_changed();
CREATE OR REPLACE TRIGGER calendar_day_delete AFTER DELETE ON axtract.calendar_day
    REFERENCING OLD TABLE AS changed_days FOR EACH STATEMENT EXECUTE FUNCTION axtract.calendar_changed();
CREATE OR REPLACE TRIGGER calendar_update AFTER UPDATE ON axtract.calendar
    REFERENCING NEW TABLE AS changed_calendars FOR EACH STATEMENT EXECUTE FUNCTION axtract.calendar_changed_calendar();

-- ---------------------------------------------------------------------------
-- Enqueueing River jobs from SQL

-- Inserts the River extract job of each run, with the same row River's own
-- client writes for worker.ExtractArgs (River v0.51.2): kind axtract.extract,
-- args {"run_id": N}, queue default, priority 1, state available, and the
-- unique key sha256('&kind=axtract.extract&args={"run_id":N}') with River's
-- default unique states (available, completed, pending, retryable, running,
-- scheduled). A run whose job is still in one of those states gets no second
-- job. Job ids come from the caller, drawn from river.river_job_id_seq, so a
-- new run can carry its job id from the start. A caller sets a run's job_id
-- to the id only when the job was inserted. Wakes River's producers with the
-- notification River's client sends. Returns the number of jobs inserted.
CREATE OR REPLACE FUNCTION axtract.river_jobs_insert(p_job_ids bigint[], p_run_ids bigint[], p_max_attempts integer[]) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    n integer;
BEGIN
    IF coalesce(cardinality(p_run_ids), 0) = 0 THEN
        RETURN 0;
    END IF;
    INSERT INTO river.river_job (id, args, kind, max_attempts, priority, queue, state, tags, metadata, unique_key, unique_states)
    SELECT u.job_id,
           jsonb_build_object('run_id', u.run_id),
           'axtract.extract',
           u.max_attempts,
           1,
           'default',
           'available',
           '{}',
           '{}',
           sha256(convert_to('&kind=axtract.extract&args={"run_id":' || u.run_id || '}', 'UTF8')),
           B'11110101'
    FROM unnest(p_job_ids, p_run_ids, p_max_attempts) AS u (job_id, run_id, max_attempts)
    ON CONFLICT (unique_key)
        WHERE unique_key IS NOT NULL
          AND unique_states IS NOT NULL
          AND river.river_job_state_in_bitmask(unique_states, state)
        DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('river.river_insert', '{"queue": "default"}');
    END IF;
    RETURN n;
END
$$;

-- Creates a run of each feed at each slot (arrays of equal length) with the
-- given trigger and a new River job, unless the feed already has a run at
-- that slot. Returns the ids of the runs created.
CREATE OR REPLACE FUNCTION axtract.runs_create(p_feed_ids bigint[], p_slots timestamptz[], p_trigger text) RETURNS bigint[]
LANGUAGE plpgsql
AS $$
DECLARE
    run_ids  bigint[];
    job_ids  bigint[];
    attempts integer[];
BEGIN
    WITH created AS (
        INSERT INTO axtract.run (feed_id, slot, trigger, deadline_at, job_id)
        SELECT u.feed_id,
               u.slot,
               p_trigger,
               CASE WHEN p_trigger = 'schedule' THEN axtract.deadline_at(u.slot, f.deadline, f.time_zone) END,
               nextval('river.river_job_id_seq')
        FROM unnest(p_feed_ids, p_slots) AS u (feed_id, slot)
        JOIN axtract.feed f ON f.feed_id = u.feed_id
        ON CONFLICT (feed_id, slot) DO NOTHING
        RETURNING run_id, job_id, feed_id
    )
    SELECT array_agg(c.run_id ORDER BY c.run_id),
           array_agg(c.job_id ORDER BY c.run_id),
           array_agg(f.max_attempts ORDER BY c.run_id)
    INTO run_ids, job_ids, attempts
    FROM created c
    JOIN axtract.feed f ON f.feed_id = c.feed_id;
    PERFORM axtract.river_jobs_insert(job_ids, run_ids, attempts);
    RETURN coalesce(run_ids, '{}');
END
$$;

-- Enqueues a new River job for existing run p_run_id. Returns the job id, or
-- NULL when the run still has a job in one of River's unique states.
CREATE OR REPLACE FUNCTION axtract.run_enqueue(p_run_id bigint, p_max_attempts integer) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    job bigint := nextval('river.river_job_id_seq');
BEGIN
    IF axtract.river_jobs_insert(ARRAY[job], ARRAY[p_run_id], ARRAY[p_max_attempts]) = 0 THEN
        RETURN NULL;
    END IF;
    UPDATE axtract.run SET job_id = job WHERE run_id = p_run_id;
    RETURN job;
END
$$;

-- ---------------------------------------------------------------------------
-- Failures, notifications and the tick

-- Recipients of a feed's notifications: its contacts, else its partner's
-- contact email.
CREATE OR REPLACE FUNCTION axtract.feed_recipients(p_feed_id bigint) RETURNS text[]
LANGUAGE sql STABLE
AS $$
    SELECT CASE WHEN cardinality(f.contacts) > 0 THEN f.contacts
                WHEN p.contact_email IS NOT NULL THEN ARRAY[p.contact_email]
                ELSE '{}' END
    FROM axtract.feed f
    JOIN axtract.partner p ON p.partner_id = f.partner_id
    WHERE f.feed_id = p_feed_id
$$;

-- Records a failed attempt of a run: retrying when another attempt follows,
-- failed when not. A final failure appends a run.failed audit event and a
-- notification for the feed's contacts.
CREATE OR REPLACE FUNCTION axtract.run_fail(p_run_id bigint, p_error text, p_final boolean) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    r record;
BEGIN
    UPDATE axtract.run
    SET status = CASE WHEN p_final THEN 'failed' ELSE 'retrying' END,
        error = p_error,
        finished_at = CASE WHEN p_final THEN now() END
    WHERE run_id = p_run_id
      AND status NOT IN ('succeeded', 'discarded')
    RETURNING run_id, feed_id, slot, attempts INTO r;
    IF NOT FOUND OR NOT p_final THEN
        RETURN;
    END IF;
    INSERT INTO axtract.audit_event (action, partner_id, feed_id, run_id, detail)
    SELECT 'run.failed', f.partner_id, f.feed_id, r.run_id,
           jsonb_build_object('feed', f.name, 'slot', r.slot, 'attempts', r.attempts, 'error', p_error)
    FROM axtract.feed f WHERE f.feed_id = r.feed_id;
    INSERT INTO axtract.notification (kind, feed_id, run_id, recipients, subject, detail)
    SELECT 'run_failed', f.feed_id, r.run_id, axtract.feed_recipients(f.feed_id),
           format('Feed %s: run %s failed', f.name, r.run_id),
           jsonb_build_object('feed', f.name, 'slot', r.slot, 'attempts', r.attempts, 'error', p_error,
                              'retry', format('axtract feed retry %s', r.run_id))
    FROM axtract.feed f WHERE f.feed_id = r.feed_id;
END
$$;

-- The due slots of one feed at p_now, given its next slot. Catch-up policy
-- latest returns only the newest slot at or before p_now, and skipped_from
-- is then the first slot left out, if any. Policy all returns each slot in
-- order, at most p_max. next_slot is the slot after the last one returned.
CREATE OR REPLACE FUNCTION axtract.schedule_due(
    p_spec axtract.schedule_spec,
    p_tz text,
    p_calendar text,
    p_rule text,
    p_catch_up text,
    p_next_slot timestamptz,
    p_now timestamptz,
    p_max integer,
    OUT slots timestamptz[],
    OUT next_slot timestamptz,
    OUT skipped_from timestamptz
)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    s timestamptz := p_next_slot;
BEGIN
    slots := ARRAY[s];
    next_slot := axtract.schedule_next(p_spec, p_tz, p_calendar, p_rule, s);
    IF p_catch_up = 'latest' THEN
        IF next_slot IS NOT NULL AND next_slot <= p_now THEN
            skipped_from := s;
            s := axtract.schedule_prev(p_spec, p_tz, p_calendar, p_rule, p_now);
            slots := ARRAY[s];
            next_slot := axtract.schedule_next(p_spec, p_tz, p_calendar, p_rule, s);
        END IF;
        RETURN;
    END IF;
    WHILE next_slot IS NOT NULL AND next_slot <= p_now AND cardinality(slots) < p_max LOOP
        slots := slots || next_slot;
        next_slot := axtract.schedule_next(p_spec, p_tz, p_calendar, p_rule, next_slot);
    END LOOP;
END
$$;

-- One pass of the scheduler at p_now:
-- 1. For every scheduled, unpaused feed whose next slot has passed, enqueue
--    the due slots by its catch-up policy: latest enqueues only the newest
--    (and records the skipped range), all enqueues each slot in order, at
--    most p_max_per_feed per pass. Runs, jobs and cursors commit together;
--    UNIQUE (feed_id, slot) makes a second pass's insert a no-op, and
--    SKIP LOCKED lets two passes share the feeds instead of waiting.
-- 2. Record run.late for runs past their deadline.
-- 3. Fail runs whose River job ended without the run finishing (a worker
--    killed on the last attempt).
-- 4. Fail the attempt of runs left running by a process that was killed:
--    the run goes back to retrying when River still has its job, which
--    River rescues, and fails when nothing would run it again.
-- Returns the runs enqueued, the feeds whose missed slots were collapsed,
-- the runs found late and the runs failed in steps 3 and 4.
CREATE OR REPLACE FUNCTION axtract.schedule_tick(
    p_now timestamptz DEFAULT now(),
    p_max_per_feed integer DEFAULT 10,
    p_max_feeds integer DEFAULT 100000
) RETURNS TABLE (enqueued integer, skipped integer, late integer, failed integer)
LANGUAGE plpgsql
AS $$
DECLARE
    lost record;
BEGIN
    enqueued := 0;
    late := 0;
    failed := 0;

    -- One statement: the due feeds and their slots, the cursor moves, the
    -- audit of collapsed slots, the runs and their River jobs. The common
    -- case, one due slot, needs one schedule_next per feed; schedule_due
    -- runs only for feeds that missed more than one slot.
    WITH due AS MATERIALIZED (
        SELECT f.feed_id,
               f.partner_id,
               f.name,
               f.max_attempts,
               f.deadline,
               f.time_zone,
               CASE WHEN x.following IS NULL OR x.following > p_now THEN ARRAY[f.next_slot] ELSE d.slots END AS slots,
               CASE WHEN x.following IS NULL OR x.following > p_now THEN x.following ELSE d.next_slot END AS next_slot,
               d.skipped_from
        FROM (
            SELECT *
            FROM axtract.feed
            WHERE schedule IS NOT NULL
              AND NOT paused
              AND next_slot <= p_now
            ORDER BY next_slot
            LIMIT p_max_feeds
            FOR UPDATE SKIP LOCKED
        ) AS f
        -- OFFSET 0 keeps the planner from inlining the subqueries: the first
        -- would then compute schedule_next again in the join filter, and the
        -- second would call schedule_due for every feed.
        CROSS JOIN LATERAL (
            SELECT axtract.schedule_next(f.schedule_spec, f.time_zone, f.calendar, f.holiday_rule, f.next_slot) AS following
            OFFSET 0
        ) AS x
        LEFT JOIN LATERAL (
            SELECT *
            FROM axtract.schedule_due(f.schedule_spec, f.time_zone, f.calendar, f.holiday_rule, f.catch_up,
                                      f.next_slot, p_now, p_max_per_feed)
            WHERE x.following <= p_now
            OFFSET 0
        ) AS d ON true
    ), moved AS (
        UPDATE axtract.feed f
        SET schedule_cursor = due.slots[cardinality(due.slots)],
            next_slot = coalesce(due.next_slot, 'infinity')
        FROM due
        WHERE f.feed_id = due.feed_id
    ), collapsed AS (
        INSERT INTO axtract.audit_event (action, partner_id, feed_id, detail)
        SELECT 'schedule.skipped', due.partner_id, due.feed_id,
               jsonb_build_object('feed', due.name, 'first', due.skipped_from, 'before', due.slots[1], 'catch_up', 'latest')
        FROM due
        WHERE due.skipped_from IS NOT NULL
        RETURNING 1
    ), created AS (
        INSERT INTO axtract.run (feed_id, slot, trigger, deadline_at, job_id)
        SELECT due.feed_id,
               u.slot,
               'schedule',
               CASE WHEN due.deadline IS NOT NULL THEN axtract.deadline_at(u.slot, due.deadline, due.time_zone) END,
               nextval('river.river_job_id_seq')
        FROM due, unnest(due.slots) AS u (slot)
        ON CONFLICT (feed_id, slot) DO NOTHING
        RETURNING run_id, job_id, feed_id
    )
    SELECT axtract.river_jobs_insert(array_agg(c.job_id), array_agg(c.run_id), array_agg(due.max_attempts)),
           (SELECT count(*) FROM collapsed)
    INTO enqueued, skipped
    FROM created c
    JOIN due ON due.feed_id = c.feed_id;

    WITH overdue AS (
        UPDATE axtract.run r
        SET late_at = p_now
        WHERE r.deadline_at <= p_now
          AND r.late_at IS NULL
          AND r.status NOT IN ('succeeded', 'discarded')
        RETURNING r.run_id, r.feed_id, r.slot, r.deadline_at, r.status
    ), audited AS (
        INSERT INTO axtract.audit_event (action, partner_id, feed_id, run_id, detail)
        SELECT 'run.late', fd.partner_id, o.feed_id, o.run_id,
               jsonb_build_object('feed', fd.name, 'slot', o.slot, 'deadline', o.deadline_at, 'status', o.status)
        FROM overdue o JOIN axtract.feed fd ON fd.feed_id = o.feed_id
    )
    INSERT INTO axtract.notification (kind, feed_id, run_id, recipients, subject, detail)
    SELECT 'run_late', o.feed_id, o.run_id, axtract.feed_recipients(o.feed_id),
           format('Feed %s: run %s missed its %s deadline', fd.name, o.run_id,
                  to_char(o.deadline_at AT TIME ZONE fd.time_zone, 'YYYY-MM-DD HH24:MI') || ' ' || fd.time_zone),
           jsonb_build_object('feed', fd.name, 'slot', o.slot, 'deadline', o.deadline_at, 'status', o.status)
    FROM overdue o JOIN axtract.feed fd ON fd.feed_id = o.feed_id;
    GET DIAGNOSTICS late = ROW_COUNT;

    FOR lost IN
        SELECT r.run_id, coalesce(j.state::text, 'deleted') AS job_state
        FROM axtract.run r
        LEFT JOIN river.river_job j ON j.id = r.job_id
        WHERE r.status IN ('queued', 'running', 'retrying')
          AND r.job_id IS NOT NULL
          AND (j.id IS NULL OR j.state IN ('cancelled', 'discarded'))
        FOR UPDATE OF r SKIP LOCKED
    LOOP
        PERFORM axtract.run_fail(lost.run_id, format('River job ended (%s) before the run finished', lost.job_state), true);
        failed := failed + 1;
    END LOOP;

    -- The process that runs an attempt holds the run's own lease slot, a
    -- session-level advisory lock, from before the run is marked running
    -- until after it is marked done (axtract.run_lease), and PostgreSQL
    -- releases the lock when that process's session ends. So a running run
    -- whose slot is free has no process left. The slot stays taken here
    -- until this transaction ends, so no worker starts the run meanwhile.
    FOR lost IN
        SELECT r.run_id, r.attempts, j.id AS job_id
        FROM axtract.run r
        LEFT JOIN river.river_job j ON j.id = r.job_id AND j.state NOT IN ('cancelled', 'discarded', 'completed')
        WHERE r.status = 'running'
        ORDER BY r.run_id
        FOR UPDATE OF r SKIP LOCKED
    LOOP
        CONTINUE WHEN NOT pg_try_advisory_xact_lock(axtract.run_lease_key('run', lost.run_id, 0));
        PERFORM axtract.run_fail(lost.run_id,
            format('attempt %s stopped: the process running it ended before the run finished', lost.attempts),
            lost.job_id IS NULL);
        failed := failed + 1;
    END LOOP;

    RETURN NEXT;
END
$$;

-- ---------------------------------------------------------------------------
-- Events

-- Signals event p_event, such as claims_loaded. Every unpaused feed
-- subscribed to it whose other events have also been signalled since its
-- last event run gets a run, enqueued in the caller's transaction: a
-- transaction that rolls back enqueues nothing. Returns the number of runs
-- enqueued.
CREATE OR REPLACE FUNCTION axtract.signal(p_event text) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    ready   bigint[];
    run_ids bigint[] := '{}';
BEGIN
    IF p_event IS NULL OR p_event !~ '^[a-z][a-z0-9_.-]{0,62}$' THEN
        RAISE EXCEPTION 'event name % is invalid', quote_literal(p_event)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use lowercase letters, digits, _, . and -, starting with a letter.';
    END IF;
    -- Lock the subscribers in one order first. Under READ COMMITTED the next
    -- statements then see what a concurrent signal of another of their
    -- events committed, so of two such signals the later one enqueues.
    PERFORM 1
    FROM axtract.feed f
    WHERE f.feed_id IN (SELECT e.feed_id FROM axtract.feed_event e WHERE e.event = p_event)
      AND NOT f.paused
    ORDER BY f.feed_id
    FOR UPDATE OF f;

    UPDATE axtract.feed_event e
    SET signalled_at = now()
    FROM axtract.feed f
    WHERE e.event = p_event
      AND f.feed_id = e.feed_id
      AND NOT f.paused;

    SELECT array_agg(f.feed_id ORDER BY f.feed_id) INTO ready
    FROM axtract.feed f
    WHERE f.feed_id IN (SELECT e.feed_id FROM axtract.feed_event e WHERE e.event = p_event)
      AND NOT f.paused
      AND NOT EXISTS (SELECT FROM axtract.feed_event e WHERE e.feed_id = f.feed_id AND e.signalled_at IS NULL);

    IF ready IS NOT NULL THEN
        UPDATE axtract.feed_event SET signalled_at = NULL WHERE feed_id = ANY (ready);
        run_ids := axtract.runs_create(ready, array_fill(now(), ARRAY[cardinality(ready)]), 'event');
    END IF;

    INSERT INTO axtract.audit_event (action, detail)
    VALUES ('event.signal', jsonb_build_object('event', p_event, 'runs', to_jsonb(run_ids)));
    RETURN cardinality(run_ids);
END
$$;

-- ---------------------------------------------------------------------------
-- Run control

-- Enqueues failed run p_run_id again with a fresh set of attempts. An
-- incremental run keeps its window. Returns the River job id.
CREATE OR REPLACE FUNCTION axtract.run_retry(p_run_id bigint) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    r   record;
    job bigint;
BEGIN
    SELECT run.run_id, run.status, run.feed_id, f.partner_id, f.name, f.max_attempts
    INTO r
    FROM axtract.run
    JOIN axtract.feed f ON f.feed_id = run.feed_id
    WHERE run.run_id = p_run_id
    FOR UPDATE OF run;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % not found', p_run_id USING ERRCODE = 'no_data_found';
    END IF;
    IF r.status <> 'failed' THEN
        RAISE EXCEPTION 'run % of feed % is %, not failed', p_run_id, r.name, r.status
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Only failed runs can be retried; axtract.run_rerun delivers a finished run again as a new run.';
    END IF;
    UPDATE axtract.run SET status = 'queued', error = NULL, finished_at = NULL WHERE run_id = p_run_id;
    job := axtract.run_enqueue(p_run_id, r.max_attempts);
    IF job IS NULL THEN
        RAISE EXCEPTION 'run % still has an unfinished River job', p_run_id
            USING ERRCODE = 'object_in_use', HINT = 'Wait for it to end and try again.';
    END IF;
    INSERT INTO axtract.audit_event (action, partner_id, feed_id, run_id, detail)
    VALUES ('run.retry', r.partner_id, r.feed_id, p_run_id, jsonb_build_object('feed', r.name, 'job_id', job));
    RETURN job;
END
$$;

-- Creates and enqueues a new manual run that delivers the same rows as run
-- p_run_id: an incremental run's window is copied, so the new run reads that
-- window again and leaves the feed's watermark where it is. Returns the new
-- run's id.
CREATE OR REPLACE FUNCTION axtract.run_rerun(p_run_id bigint) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    r      record;
    new_id bigint;
BEGIN
    SELECT run.feed_id, run.watermark_window, run.status, f.partner_id, f.name, f.max_attempts, f.watermark_column
    INTO r
    FROM axtract.run
    JOIN axtract.feed f ON f.feed_id = run.feed_id
    WHERE run.run_id = p_run_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % not found', p_run_id USING ERRCODE = 'no_data_found';
    END IF;
    IF r.watermark_column IS NOT NULL AND r.watermark_window IS NULL THEN
        RAISE EXCEPTION 'run % of incremental feed % has not read its window yet', p_run_id, r.name
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Re-run it after its first attempt, or retry it if it failed.';
    END IF;
    INSERT INTO axtract.run (feed_id, slot, trigger, watermark_window)
    VALUES (r.feed_id, clock_timestamp(), 'manual', r.watermark_window)
    RETURNING run_id INTO new_id;
    PERFORM axtract.run_enqueue(new_id, r.max_attempts);
    INSERT INTO axtract.audit_event (action, partner_id, feed_id, run_id, detail)
    VALUES ('run.rerun', r.partner_id, r.feed_id, new_id, jsonb_build_object('feed', r.name, 'of_run', p_run_id));
    RETURN new_id;
END
$$;

-- Enqueues every slot of feed p_name on the local dates p_from through p_to
-- that is already due and has no run yet, at most 10000. The feed's cursor
-- does not move. Returns the number of runs created.
CREATE OR REPLACE FUNCTION axtract.feed_backfill(p_name text, p_from date, p_to date) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    f        axtract.feed;
    lo       timestamptz;
    hi       timestamptz;
    slots    timestamptz[];
    run_ids  bigint[];
BEGIN
    SELECT * INTO f FROM axtract.feed WHERE name = p_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'feed % not found', p_name USING ERRCODE = 'no_data_found';
    END IF;
    IF f.schedule IS NULL THEN
        RAISE EXCEPTION 'feed % has no schedule, so it has no slots to backfill', p_name
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use axtract feed run for an on-demand run.';
    END IF;
    IF f.watermark_column IS NOT NULL THEN
        RAISE EXCEPTION 'feed % is incremental: its runs deliver watermark windows, not slots', p_name
            USING ERRCODE = 'invalid_parameter_value', HINT = 'To deliver old rows again, re-run the runs that delivered them (axtract.run_rerun).';
    END IF;
    IF p_from IS NULL OR p_to IS NULL OR p_from > p_to THEN
        RAISE EXCEPTION 'backfill range % to % is invalid', p_from, p_to
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give a from date on or before the to date.';
    END IF;
    lo := axtract.local_instant(p_from::timestamp, f.time_zone);
    hi := least(axtract.local_instant((p_to + 1)::timestamp, f.time_zone) - interval '1 microsecond', now());
    slots := ARRAY(SELECT axtract.schedule_slots(f.schedule_spec, f.time_zone, f.calendar, f.holiday_rule,
                                                 lo - interval '1 microsecond', hi, 10001));
    IF cardinality(slots) > 10000 THEN
        RAISE EXCEPTION 'backfill of feed % from % to % has more than 10000 slots', p_name, p_from, p_to
            USING ERRCODE = 'program_limit_exceeded', HINT = 'Backfill a shorter range at a time.';
    END IF;
    run_ids := axtract.runs_create(array_fill(f.feed_id, ARRAY[cardinality(slots)]), slots, 'backfill');
    INSERT INTO axtract.audit_event (action, partner_id, feed_id, detail)
    VALUES ('feed.backfill', f.partner_id, f.feed_id,
            jsonb_build_object('feed', p_name, 'from', p_from, 'to', p_to, 'slots', cardinality(slots),
                               'runs', cardinality(run_ids)));
    RETURN cardinality(run_ids);
END
$$;

-- Pauses feed p_name: the scheduler and events create no runs for it, and
-- its queued runs wait until it is resumed. Returns false if it was already
-- paused.
CREATE OR REPLACE FUNCTION axtract.feed_pause(p_name text) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    f axtract.feed;
BEGIN
    SELECT * INTO f FROM axtract.feed WHERE name = p_name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'feed % not found', p_name USING ERRCODE = 'no_data_found';
    END IF;
    IF f.paused THEN
        RETURN false;
    END IF;
    UPDATE axtract.feed SET paused = true, paused_at = now() WHERE feed_id = f.feed_id;
    INSERT INTO axtract.audit_event (action, partner_id, feed_id, detail)
    VALUES ('feed.pause', f.partner_id, f.feed_id, jsonb_build_object('feed', p_name));
    RETURN true;
END
$$;

-- Resumes feed p_name. Slots that passed while it was paused are handled by
-- its catch-up policy, unless p_skip_missed moves its cursor to now so that
-- only later slots run. Returns false if it was not paused.
CREATE OR REPLACE FUNCTION axtract.feed_resume(p_name text, p_skip_missed boolean DEFAULT false) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    f axtract.feed;
BEGIN
    SELECT * INTO f FROM axtract.feed WHERE name = p_name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'feed % not found', p_name USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT f.paused THEN
        RETURN false;
    END IF;
    UPDATE axtract.feed
    SET paused = false,
        paused_at = NULL,
        schedule_cursor = CASE WHEN p_skip_missed THEN greatest(schedule_cursor, now()) ELSE schedule_cursor END
    WHERE feed_id = f.feed_id;
    INSERT INTO axtract.audit_event (action, partner_id, feed_id, detail)
    VALUES ('feed.resume', f.partner_id, f.feed_id, jsonb_build_object('feed', p_name, 'skip_missed', p_skip_missed));
    RETURN true;
END
$$;

-- ---------------------------------------------------------------------------
-- Run admission

-- The advisory-lock key of one concurrency slot.
CREATE OR REPLACE FUNCTION axtract.run_lease_key(p_scope text, p_id bigint, p_slot integer) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ('x' || left(md5('axtract.run_lease:' || p_scope || ':' || p_id || ':' || p_slot), 16))::bit(64)::bigint
$$;

-- Takes, on this session, the run's own slot, one concurrency slot of the
-- run's partner and destination (when they have max_concurrent_runs) and,
-- for an incremental feed, the feed's only slot. Session-level advisory locks are released when the
-- session ends, so a killed worker frees its slots at once.
-- Returns the keys taken, for pg_advisory_unlock, and no wait reason. Or it
-- returns no keys and the reason the run must wait: the feed is paused
-- (paused is then true), a limit is reached, or an earlier run of the
-- incremental feed has not finished. A run that has succeeded takes nothing and need not
-- wait, so its duplicate job can finish at once.
CREATE OR REPLACE FUNCTION axtract.run_lease(p_run_id bigint, OUT keys bigint[], OUT wait_reason text, OUT paused boolean)
LANGUAGE plpgsql
AS $$
DECLARE
    r     record;
    key   bigint;
    got   boolean;
    scope record;
BEGIN
    keys := '{}';
    paused := false;
    SELECT run.run_id, run.feed_id, run.status, f.name, f.paused AS feed_paused, f.watermark_column,
           p.partner_id, p.slug, p.max_concurrent_runs AS partner_limit,
           d.destination_id, d.name AS destination, d.max_concurrent_runs AS destination_limit
    INTO r
    FROM axtract.run
    JOIN axtract.feed f ON f.feed_id = run.feed_id
    JOIN axtract.partner p ON p.partner_id = f.partner_id
    JOIN axtract.destination d ON d.destination_id = f.destination_id
    WHERE run.run_id = p_run_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % not found', p_run_id USING ERRCODE = 'no_data_found';
    END IF;
    IF r.status = 'succeeded' THEN
        RETURN;
    END IF;
    IF r.feed_paused THEN
        wait_reason := format('feed %s is paused', r.name);
        paused := true;
        RETURN;
    END IF;
    IF r.watermark_column IS NOT NULL AND EXISTS (
        SELECT FROM axtract.run e
        WHERE e.feed_id = r.feed_id AND e.run_id < p_run_id
          AND e.status IN ('queued', 'running', 'retrying') AND e.watermark_window IS NOT NULL) THEN
        wait_reason := format('an earlier run of incremental feed %s has not finished', r.name);
        RETURN;
    END IF;

    -- River can hand a job to a second worker while the first still runs it,
    -- when it rescues the job after RescueStuckJobsAfter. The run's own slot
    -- keeps the second worker waiting until the first has finished.
    FOR scope IN
        SELECT * FROM (VALUES
            ('run', r.run_id, 1, format('run %s', r.run_id)),
            ('partner', r.partner_id, r.partner_limit, format('partner %s', r.slug)),
            ('destination', r.destination_id, r.destination_limit, format('destination %s', r.destination)),
            ('feed', r.feed_id, CASE WHEN r.watermark_column IS NOT NULL THEN 1 END, format('incremental feed %s', r.name))
        ) AS s (name, id, max_runs, label)
        WHERE s.max_runs IS NOT NULL
    LOOP
        got := false;
        FOR i IN 0..scope.max_runs - 1 LOOP
            key := axtract.run_lease_key(scope.name, scope.id, i);
            IF pg_try_advisory_lock(key) THEN
                keys := keys || key;
                got := true;
                EXIT;
            END IF;
        END LOOP;
        IF NOT got THEN
            PERFORM pg_advisory_unlock(k) FROM unnest(keys) AS k;
            keys := '{}';
            wait_reason := CASE scope.name
                WHEN 'run' THEN format('%s is being delivered by another worker', scope.label)
                ELSE format('%s has %s runs extracting, its limit', scope.label, scope.max_runs) END;
            RETURN;
        END IF;
    END LOOP;
END
$$;

-- Functions of the control schema are for the AxTract service and DBAs.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA axtract FROM PUBLIC;
