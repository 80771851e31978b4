// Package calendar reads and maintains business calendars.
//
// Calendars live in the control schema (axtract.calendar and its exception
// dates in axtract.calendar_day) and their rules are SQL functions, so a DBA
// maintains them in psql and the scheduler gets the same results. A day is
// a business day of a calendar unless it is one of the calendar's weekend
// days, an observed United States federal holiday (when the calendar
// includes them), or closed by an exception date; an exception date can
// also open a day the rules close. The built-in calendar us_federal is
// Monday to Friday without the federal holidays.
package calendar

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/store"
)

// USFederal is the name of the built-in calendar of United States federal
// holidays.
const USFederal = "us_federal"

// Holiday is one federal holiday of a year.
type Holiday struct {
	Name string
	// Date is the holiday itself, Observed the weekday it is observed on:
	// the Friday before a Saturday, the Monday after a Sunday. Both are
	// dates at midnight UTC.
	Date     time.Time
	Observed time.Time
}

// FederalHolidays returns the United States federal holidays of year, in
// date order. The observed date of New Year's Day can be December 31 of the
// year before.
func FederalHolidays(ctx context.Context, db store.DBTX, year int) ([]Holiday, error) {
	rows, err := db.Query(ctx, "SELECT holiday, day, observed FROM axtract.us_federal_holidays($1)", year)
	if err != nil {
		return nil, fmt.Errorf("federal holidays of %d: %w", year, err)
	}
	holidays, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Holiday, error) {
		var h Holiday
		err := row.Scan(&h.Name, &h.Date, &h.Observed)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("federal holidays of %d: %w", year, err)
	}
	return holidays, nil
}

// IsBusinessDay reports whether day (its year, month and day; the clock and
// zone are ignored) is a business day of calendar name.
func IsBusinessDay(ctx context.Context, db store.DBTX, name string, day time.Time) (bool, error) {
	var open *bool
	if err := db.QueryRow(ctx, "SELECT axtract.is_business_day($1, $2::date)", name, day.Format(time.DateOnly)).Scan(&open); err != nil {
		return false, fmt.Errorf("check %s in calendar %s: %w", day.Format(time.DateOnly), name, err)
	}
	if open == nil {
		return false, fmt.Errorf("calendar %s not found; SELECT name FROM axtract.calendar lists the calendars", name)
	}
	return *open, nil
}

// Calendar is the definition of a business calendar.
type Calendar struct {
	// Name is lowercase letters, digits, _ and -, starting with a letter.
	Name        string
	Description string
	// Weekend lists the days that are never business days unless an
	// exception opens them. Nil means Saturday and Sunday.
	Weekend []time.Weekday
	// FederalHolidays closes the observed United States federal holidays.
	FederalHolidays bool
}

// Define creates calendar c or replaces its definition; its exception
// dates stay.
func Define(ctx context.Context, db store.DBTX, c Calendar) error {
	weekend := []int16{0, 6}
	if c.Weekend != nil {
		weekend = make([]int16, len(c.Weekend))
		for i, d := range c.Weekend {
			weekend[i] = int16(d)
		}
	}
	_, err := db.Exec(ctx, "SELECT axtract.calendar_define($1, $2, $3, $4)", c.Name, c.Description, weekend, c.FederalHolidays)
	if err != nil {
		return fmt.Errorf("define calendar %s: %w", c.Name, err)
	}
	return nil
}

// SetDay closes day in calendar name (business false) or opens it (true),
// whatever the calendar's rules decide, with a note giving the reason.
func SetDay(ctx context.Context, db store.DBTX, name string, day time.Time, business bool, note string) error {
	_, err := db.Exec(ctx, "SELECT axtract.calendar_day_set($1, $2::date, $3, $4)", name, day.Format(time.DateOnly), business, note)
	if err != nil {
		return fmt.Errorf("set %s in calendar %s: %w", day.Format(time.DateOnly), name, err)
	}
	return nil
}

// RemoveDay removes the exception date day from calendar name, so the
// calendar's rules decide the day again. It reports whether there was one.
func RemoveDay(ctx context.Context, db store.DBTX, name string, day time.Time) (bool, error) {
	var removed bool
	err := db.QueryRow(ctx, "SELECT axtract.calendar_day_remove($1, $2::date)", name, day.Format(time.DateOnly)).Scan(&removed)
	if err != nil {
		return false, fmt.Errorf("remove %s from calendar %s: %w", day.Format(time.DateOnly), name, err)
	}
	return removed, nil
}
