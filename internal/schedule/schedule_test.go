package schedule_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/internal/pgtest"
	"github.com/axtract/axtract/internal/schedule"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkSlots compares slots with want, RFC 3339 instants.
func checkSlots(t *testing.T, slots []time.Time, want ...string) {
	t.Helper()
	if len(slots) != len(want) {
		t.Fatalf("got %d slots %v, want %d %v", len(slots), slots, len(want), want)
	}
	for i, w := range want {
		if wt := mustTime(t, w); !slots[i].Equal(wt) {
			t.Errorf("slot %d = %s, want %s", i, slots[i].UTC().Format(time.RFC3339), wt.UTC().Format(time.RFC3339))
		}
	}
}

func TestDailyAcrossDST(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	for _, c := range []struct {
		name, tz, schedule, after string
		want                      []string
	}{
		// 02:30 does not exist on 2026-03-08 in New York: the run is at the
		// jump, 03:00 EDT.
		{"new york spring", "America/New_York", "daily 02:30", "2026-03-07T00:00:00Z",
			[]string{"2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
		// 01:30 happens twice on 2026-11-01: the run is at the first, EDT.
		{"new york fall", "America/New_York", "daily 01:30", "2026-10-31T00:00:00Z",
			[]string{"2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"chicago spring", "America/Chicago", "daily 02:00", "2026-03-07T00:00:00Z",
			[]string{"2026-03-07T02:00:00-06:00", "2026-03-08T03:00:00-05:00", "2026-03-09T02:00:00-05:00"}},
		{"chicago fall", "America/Chicago", "daily 01:00", "2026-10-31T00:00:00Z",
			[]string{"2026-10-31T01:00:00-05:00", "2026-11-01T01:00:00-05:00", "2026-11-02T01:00:00-06:00"}},
		// London jumps from 01:00 GMT to 02:00 BST on 2026-03-29 and back
		// from 02:00 BST to 01:00 GMT on 2026-10-25.
		{"london spring", "Europe/London", "daily 01:30", "2026-03-27T12:00:00Z",
			[]string{"2026-03-28T01:30:00Z", "2026-03-29T02:00:00+01:00", "2026-03-30T01:30:00+01:00"}},
		{"london fall", "Europe/London", "daily 01:30", "2026-10-23T12:00:00Z",
			[]string{"2026-10-24T01:30:00+01:00", "2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00Z"}},
		// Sydney jumps from 02:00 AEST to 03:00 AEDT on 2026-10-04 and back
		// from 03:00 AEDT to 02:00 AEST on 2026-04-05.
		{"sydney spring", "Australia/Sydney", "daily 02:30", "2026-10-02T00:00:00Z",
			[]string{"2026-10-03T02:30:00+10:00", "2026-10-04T03:00:00+11:00", "2026-10-05T02:30:00+11:00"}},
		{"sydney fall", "Australia/Sydney", "daily 02:30", "2026-04-03T00:00:00Z",
			[]string{"2026-04-04T02:30:00+11:00", "2026-04-05T02:30:00+11:00", "2026-04-06T02:30:00+10:00"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			slots, err := schedule.Preview(ctx, db.Pool, c.schedule, schedule.Options{TimeZone: c.tz}, mustTime(t, c.after), 3)
			if err != nil {
				t.Fatal(err)
			}
			checkSlots(t, slots, c.want...)
			loc, err := time.LoadLocation(c.tz)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, s := range slots {
				day := s.In(loc).Format(time.DateOnly)
				if seen[day] {
					t.Errorf("two slots on local day %s", day)
				}
				seen[day] = true
			}
		})
	}
}

func TestHourlyAcrossDST(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()

	// Fall back: 01:00 New York happens twice and runs once, so the hourly
	// schedule has a two-hour gap between 05:00Z and 07:00Z.
	slots, err := schedule.Preview(ctx, db.Pool, "0 * * * *", schedule.Options{TimeZone: "America/New_York"},
		mustTime(t, "2026-11-01T03:30:00Z"), 4)
	if err != nil {
		t.Fatal(err)
	}
	checkSlots(t, slots, "2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z")

	// Spring forward: 02:00 and 02:30 do not exist and both map to the
	// jump at 03:00 EDT, which is one slot.
	slots, err = schedule.Preview(ctx, db.Pool, "*/30 2 * * *", schedule.Options{TimeZone: "America/New_York"},
		mustTime(t, "2026-03-07T12:00:00Z"), 3)
	if err != nil {
		t.Fatal(err)
	}
	checkSlots(t, slots, "2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T06:30:00Z")
}

func TestMonthEndInFebruary(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	for _, c := range []struct {
		name, schedule, after string
		want                  []string
	}{
		{"day 31 common year", "monthly 31 06:00", "2027-01-15T00:00:00Z",
			[]string{"2027-01-31T06:00:00Z", "2027-02-28T06:00:00Z", "2027-03-31T06:00:00Z"}},
		{"day 31 leap year", "monthly 31 06:00", "2028-01-15T00:00:00Z",
			[]string{"2028-01-31T06:00:00Z", "2028-02-29T06:00:00Z", "2028-03-31T06:00:00Z"}},
		{"day 30 leap year", "monthly 30 06:00", "2028-02-01T00:00:00Z",
			[]string{"2028-02-29T06:00:00Z", "2028-03-30T06:00:00Z"}},
		{"last day common year", "monthly last 06:00", "2027-02-01T00:00:00Z",
			[]string{"2027-02-28T06:00:00Z", "2027-03-31T06:00:00Z"}},
		{"last day leap year", "monthly last 06:00", "2028-02-01T00:00:00Z",
			[]string{"2028-02-29T06:00:00Z", "2028-03-31T06:00:00Z"}},
		{"cron february 29", "0 6 29 2 *", "2026-01-01T00:00:00Z",
			[]string{"2028-02-29T06:00:00Z", "2032-02-29T06:00:00Z"}},
		// Cron skips a month that lacks the day, unlike the monthly preset.
		{"cron day 31", "0 6 31 * *", "2027-01-15T00:00:00Z",
			[]string{"2027-01-31T06:00:00Z", "2027-03-31T06:00:00Z"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			slots, err := schedule.Preview(ctx, db.Pool, c.schedule, schedule.Options{}, mustTime(t, c.after), len(c.want))
			if err != nil {
				t.Fatal(err)
			}
			checkSlots(t, slots, c.want...)
		})
	}

	slots, err := schedule.Preview(ctx, db.Pool, "0 6 30 2 *", schedule.Options{}, mustTime(t, "2026-01-01T00:00:00Z"), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(slots) != 0 {
		t.Errorf("0 6 30 2 * has slots %v, want none", slots)
	}
}

func TestLastBusinessDay(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	for _, sql := range []string{
		"SELECT axtract.calendar_define('ops', 'Operations', '{0,6}', true)",
		"SELECT axtract.calendar_day_set('ops', DATE '2026-04-30', false, 'month-end closure')",
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	for _, c := range []struct {
		name, calendar, after string
		want                  []string
	}{
		// 2027-12-31 is a Friday and the observed New Year's Day of 2028, so
		// the last business day of December 2027 is Thursday the 30th.
		{"federal holiday at month end", "us_federal", "2027-11-15T00:00:00Z",
			[]string{"2027-11-30T06:00:00-05:00", "2027-12-30T06:00:00-05:00", "2028-01-31T06:00:00-05:00"}},
		{"weekdays only", "", "2027-11-15T00:00:00Z",
			[]string{"2027-11-30T06:00:00-05:00", "2027-12-31T06:00:00-05:00", "2028-01-31T06:00:00-05:00"}},
		// 2026-05-31 is a Sunday, so May ends on Friday the 29th.
		{"custom closure and weekend", "ops", "2026-04-15T00:00:00Z",
			[]string{"2026-04-29T06:00:00-04:00", "2026-05-29T06:00:00-04:00"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := schedule.Options{TimeZone: "America/New_York", Calendar: c.calendar}
			slots, err := schedule.Preview(ctx, db.Pool, "monthly last-business-day 06:00", opts, mustTime(t, c.after), len(c.want))
			if err != nil {
				t.Fatal(err)
			}
			checkSlots(t, slots, c.want...)
		})
	}
}

func TestHolidayRules(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	// Friday 2026-07-03 is the observed Independence Day.
	for _, c := range []struct {
		rule string
		want []string
	}{
		{"none", []string{"2026-07-03T06:00:00-04:00", "2026-07-10T06:00:00-04:00"}},
		{"skip", []string{"2026-07-10T06:00:00-04:00", "2026-07-17T06:00:00-04:00"}},
		{"next", []string{"2026-07-06T06:00:00-04:00", "2026-07-10T06:00:00-04:00"}},
		{"previous", []string{"2026-07-02T06:00:00-04:00", "2026-07-10T06:00:00-04:00"}},
	} {
		t.Run(c.rule, func(t *testing.T) {
			opts := schedule.Options{TimeZone: "America/New_York", Calendar: "us_federal", HolidayRule: c.rule}
			slots, err := schedule.Preview(ctx, db.Pool, "weekly fri 06:00", opts, mustTime(t, "2026-06-27T00:00:00Z"), 2)
			if err != nil {
				t.Fatal(err)
			}
			checkSlots(t, slots, c.want...)
		})
	}

	// A slot moved back onto a day that has its own slot is one slot.
	opts := schedule.Options{TimeZone: "America/New_York", Calendar: "us_federal", HolidayRule: "previous"}
	slots, err := schedule.Preview(ctx, db.Pool, "weekly mon-fri 06:00", opts, mustTime(t, "2026-07-01T12:00:00Z"), 3)
	if err != nil {
		t.Fatal(err)
	}
	checkSlots(t, slots, "2026-07-02T06:00:00-04:00", "2026-07-06T06:00:00-04:00", "2026-07-07T06:00:00-04:00")

	// The next rule reaches slots moved from days before the start.
	opts.HolidayRule = "next"
	slots, err = schedule.Preview(ctx, db.Pool, "daily 06:00", opts, mustTime(t, "2026-07-05T12:00:00Z"), 2)
	if err != nil {
		t.Fatal(err)
	}
	checkSlots(t, slots, "2026-07-06T06:00:00-04:00", "2026-07-07T06:00:00-04:00")
}

func TestCronFields(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	for _, c := range []struct {
		name, schedule, after string
		want                  []string
	}{
		// Both day fields restricted: a day matches on either.
		{"day of month or weekday", "0 6 10 * mon", "2026-06-01T00:00:00Z",
			[]string{"2026-06-01T06:00:00Z", "2026-06-08T06:00:00Z", "2026-06-10T06:00:00Z", "2026-06-15T06:00:00Z"}},
		// A day-of-month field starting with * combines with AND.
		{"stepped day and weekday", "0 6 */10 * mon", "2026-05-31T00:00:00Z",
			[]string{"2026-06-01T06:00:00Z", "2026-08-31T06:00:00Z"}},
		{"names and lists", "15 9,17 * jan,jul sat,sun", "2026-06-30T00:00:00Z",
			[]string{"2026-07-04T09:15:00Z", "2026-07-04T17:15:00Z", "2026-07-05T09:15:00Z"}},
		{"sunday as 7", "0 0 * * 7", "2026-06-01T00:00:00Z", []string{"2026-06-07T00:00:00Z"}},
		{"descriptor", "@weekly", "2026-06-01T00:00:00Z", []string{"2026-06-07T00:00:00Z"}},
		{"range with step", "0 8-17/3 * * *", "2026-06-01T00:00:00Z",
			[]string{"2026-06-01T08:00:00Z", "2026-06-01T11:00:00Z", "2026-06-01T14:00:00Z", "2026-06-01T17:00:00Z"}},
		{"daily preset with two times", "daily 18:30,06:00", "2026-06-01T00:00:00Z",
			[]string{"2026-06-01T06:00:00Z", "2026-06-01T18:30:00Z", "2026-06-02T06:00:00Z"}},
		{"weekly preset", "weekly mon,wed 07:45", "2026-06-01T00:00:00Z",
			[]string{"2026-06-01T07:45:00Z", "2026-06-03T07:45:00Z", "2026-06-08T07:45:00Z"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			slots, err := schedule.Preview(ctx, db.Pool, c.schedule, schedule.Options{}, mustTime(t, c.after), len(c.want))
			if err != nil {
				t.Fatal(err)
			}
			checkSlots(t, slots, c.want...)
		})
	}
}

func TestValidateRejectsBadInput(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	for _, c := range []struct {
		schedule string
		opts     schedule.Options
		code     string
	}{
		{"0 6 * *", schedule.Options{}, "22023"},
		{"61 6 * * *", schedule.Options{}, "22023"},
		{"0 24 * * *", schedule.Options{}, "22023"},
		{"0 6 0 * *", schedule.Options{}, "22023"},
		{"0 6 * 13 *", schedule.Options{}, "22023"},
		{"0 6 * * mon-xyz", schedule.Options{}, "22023"},
		{"0 6-2 * * *", schedule.Options{}, "22023"},
		{"*/0 6 * * *", schedule.Options{}, "22023"},
		{"@every 1h", schedule.Options{}, "22023"},
		{"daily 25:00", schedule.Options{}, "22023"},
		{"weekly 06:00", schedule.Options{}, "22023"},
		{"monthly 32 06:00", schedule.Options{}, "22023"},
		{"0 6 * * *", schedule.Options{TimeZone: "Mars/Olympus"}, "22023"},
		{"0 6 * * *", schedule.Options{HolidayRule: "next"}, "22023"},
		{"0 6 * * *", schedule.Options{Calendar: "us_federal", HolidayRule: "sometimes"}, "22023"},
		{"0 6 * * *", schedule.Options{Calendar: "nowhere"}, "P0002"},
	} {
		err := schedule.Validate(ctx, db.Pool, c.schedule, c.opts)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			t.Errorf("Validate(%q, %+v) = %v, want a PostgreSQL error", c.schedule, c.opts, err)
			continue
		}
		if pgErr.Code != c.code {
			t.Errorf("Validate(%q, %+v): SQLSTATE %s (%s), want %s", c.schedule, c.opts, pgErr.Code, pgErr.Message, c.code)
		}
	}
	if err := schedule.Validate(ctx, db.Pool, "0 6 * * 1-5", schedule.Options{TimeZone: "America/Chicago"}); err != nil {
		t.Errorf("valid schedule rejected: %v", err)
	}
}
