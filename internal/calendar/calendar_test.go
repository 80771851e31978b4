package calendar_test

import (
	"context"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/calendar"
	"github.com/axtract/axtract/internal/pgtest"
)

func date(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestFederalHolidaysKnownDates(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()

	// Observed dates as the Office of Personnel Management lists them.
	want := map[int][]string{
		2021: {"2021-01-01", "2021-01-18", "2021-02-15", "2021-05-31", "2021-06-18", "2021-07-05",
			"2021-09-06", "2021-10-11", "2021-11-11", "2021-11-25", "2021-12-24"},
		2022: {"2021-12-31", "2022-01-17", "2022-02-21", "2022-05-30", "2022-06-20", "2022-07-04",
			"2022-09-05", "2022-10-10", "2022-11-11", "2022-11-24", "2022-12-26"},
		2023: {"2023-01-02", "2023-01-16", "2023-02-20", "2023-05-29", "2023-06-19", "2023-07-04",
			"2023-09-04", "2023-10-09", "2023-11-10", "2023-11-23", "2023-12-25"},
		2024: {"2024-01-01", "2024-01-15", "2024-02-19", "2024-05-27", "2024-06-19", "2024-07-04",
			"2024-09-02", "2024-10-14", "2024-11-11", "2024-11-28", "2024-12-25"},
		2025: {"2025-01-01", "2025-01-20", "2025-02-17", "2025-05-26", "2025-06-19", "2025-07-04",
			"2025-09-01", "2025-10-13", "2025-11-11", "2025-11-27", "2025-12-25"},
		2026: {"2026-01-01", "2026-01-19", "2026-02-16", "2026-05-25", "2026-06-19", "2026-07-03",
			"2026-09-07", "2026-10-12", "2026-11-11", "2026-11-26", "2026-12-25"},
		2027: {"2027-01-01", "2027-01-18", "2027-02-15", "2027-05-31", "2027-06-18", "2027-07-05",
			"2027-09-06", "2027-10-11", "2027-11-11", "2027-11-25", "2027-12-24"},
		2028: {"2027-12-31", "2028-01-17", "2028-02-21", "2028-05-29", "2028-06-19", "2028-07-04",
			"2028-09-04", "2028-10-09", "2028-11-10", "2028-11-23", "2028-12-25"},
	}
	for year, days := range want {
		holidays, err := calendar.FederalHolidays(ctx, db.Pool, year)
		if err != nil {
			t.Fatal(err)
		}
		if len(holidays) != len(days) {
			t.Errorf("%d: %d holidays, want %d", year, len(holidays), len(days))
			continue
		}
		for i, h := range holidays {
			if got := h.Observed.Format(time.DateOnly); got != days[i] {
				t.Errorf("%d: %s observed on %s, want %s", year, h.Name, got, days[i])
			}
		}
	}

	// Juneteenth is a federal holiday from 2021 on.
	holidays, err := calendar.FederalHolidays(ctx, db.Pool, 2020)
	if err != nil {
		t.Fatal(err)
	}
	if len(holidays) != 10 {
		t.Errorf("2020: %d holidays, want 10", len(holidays))
	}
}

func TestUSFederalBusinessDays(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	for day, want := range map[string]bool{
		"2021-12-31": false, // Friday, New Year's Day 2022 observed
		"2022-06-20": false, // Monday, Juneteenth observed
		"2023-01-02": false, // Monday, New Year's Day observed
		"2026-07-03": false, // Friday, Independence Day observed
		"2026-07-04": false, // Saturday
		"2026-07-06": true,
		"2026-11-26": false, // Thanksgiving
		"2026-11-27": true,
		"2027-12-24": false, // Friday, Christmas observed
		"2027-12-30": true,
		"2027-12-31": false, // Friday, New Year's Day 2028 observed
		"2026-12-31": true,  // Thursday; New Year's Day 2027 is a Friday
	} {
		got, err := calendar.IsBusinessDay(ctx, db.Pool, calendar.USFederal, date(t, day))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("IsBusinessDay(us_federal, %s) = %t, want %t", day, got, want)
		}
	}
	if _, err := calendar.IsBusinessDay(ctx, db.Pool, "nowhere", date(t, "2026-07-06")); err == nil {
		t.Error("unknown calendar accepted")
	}
}

func TestCustomCalendarExceptions(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()

	// A pharmacy network closed on Fridays and Saturdays, with federal
	// holidays, that works on one observed holiday and closes one extra day.
	err := calendar.Define(ctx, db.Pool, calendar.Calendar{
		Name: "pbm", Description: "PBM operations", Weekend: []time.Weekday{time.Friday, time.Saturday}, FederalHolidays: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := calendar.SetDay(ctx, db.Pool, "pbm", date(t, "2026-11-11"), true, "open on Veterans Day"); err != nil {
		t.Fatal(err)
	}
	if err := calendar.SetDay(ctx, db.Pool, "pbm", date(t, "2026-08-12"), false, "system migration"); err != nil {
		t.Fatal(err)
	}
	for day, want := range map[string]bool{
		"2026-08-07": false, // Friday
		"2026-08-09": true,  // Sunday
		"2026-08-12": false, // closure
		"2026-08-13": true,
		"2026-11-11": true,  // opened holiday
		"2026-11-26": false, // Thanksgiving
	} {
		got, err := calendar.IsBusinessDay(ctx, db.Pool, "pbm", date(t, day))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("IsBusinessDay(pbm, %s) = %t, want %t", day, got, want)
		}
	}

	removed, err := calendar.RemoveDay(ctx, db.Pool, "pbm", date(t, "2026-11-11"))
	if err != nil || !removed {
		t.Fatalf("RemoveDay = %t, %v; want true, nil", removed, err)
	}
	if open, _ := calendar.IsBusinessDay(ctx, db.Pool, "pbm", date(t, "2026-11-11")); open {
		t.Error("2026-11-11 still open after its exception was removed")
	}
	if err := calendar.SetDay(ctx, db.Pool, "nowhere", date(t, "2026-11-11"), true, ""); err == nil {
		t.Error("exception date in an unknown calendar accepted")
	}
}

func TestCalendarChangeMovesNextSlot(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	if err := calendar.Define(ctx, db.Pool, calendar.Calendar{Name: "ops"}); err != nil {
		t.Fatal(err)
	}
	// A feed row needs a partner, view and destination; the trigger on
	// calendar_day only reads the feed's schedule columns.
	for _, sql := range []string{
		"SELECT axtract.partner_create('acme', 'Acme', 'operations', NULL)",
		`SELECT axtract.view_define('acme', 'roster', '{"dataset": "members", "columns": ["member_id"]}')`,
		`SELECT axtract.destination_define('acme', 'drop', 'local', '{"dir": "/nonexistent"}')`,
		`SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop',
			'{"schedule": "daily 06:00", "calendar": "ops", "holiday_rule": "skip"}')`,
		"UPDATE axtract.feed SET schedule_cursor = '2026-08-11T12:00:00Z'",
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	nextSlot := func() time.Time {
		var s time.Time
		if err := db.Pool.QueryRow(ctx, "SELECT next_slot FROM axtract.feed").Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got, want := nextSlot(), time.Date(2026, 8, 12, 6, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("next slot = %s, want %s", got, want)
	}
	if err := calendar.SetDay(ctx, db.Pool, "ops", date(t, "2026-08-12"), false, "closed"); err != nil {
		t.Fatal(err)
	}
	if got, want := nextSlot(), time.Date(2026, 8, 13, 6, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("after closing 2026-08-12, next slot = %s, want %s", got, want)
	}
	if _, err := calendar.RemoveDay(ctx, db.Pool, "ops", date(t, "2026-08-12")); err != nil {
		t.Fatal(err)
	}
	if got, want := nextSlot(), time.Date(2026, 8, 12, 6, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("after reopening 2026-08-12, next slot = %s, want %s", got, want)
	}
}
