// Package schedule previews the slots of feed schedules.
//
// The slot computation itself is SQL (axtract.schedule_parse,
// axtract.schedule_next and the functions beside them in
// sql/70_schedule.sql), so the scheduler's tick, the axtract command and a
// DBA in psql share one implementation. This package calls it. A schedule is a five-field cron
// expression or a preset (daily, weekly, monthly on a day, on the last day
// or on the last business day) in an IANA time zone, optionally bound to a
// business calendar with a holiday rule. Slots are local wall-clock times:
// a time that happens twice when the clock falls back runs once, at its
// first occurrence, and a time the clock skips when it springs forward runs
// at the instant of the jump.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/internal/store"
)

// Options are the settings of a schedule besides its expression.
type Options struct {
	// TimeZone is the IANA zone the schedule's times are in. Default: UTC.
	TimeZone string
	// Calendar is the business calendar that HolidayRule and the
	// last-business-day preset consult, such as us_federal. Empty for none:
	// last-business-day then counts Monday to Friday.
	Calendar string
	// HolidayRule decides what a slot on a day that is not a business day
	// does: none (default), skip, next or previous.
	HolidayRule string
}

// Preview returns the first n slots of schedule after after.
func Preview(ctx context.Context, db store.DBTX, schedule string, opts Options, after time.Time, n int) ([]time.Time, error) {
	tz := opts.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	rule := opts.HolidayRule
	if rule == "" {
		rule = "none"
	}
	var calendar *string
	if opts.Calendar != "" {
		calendar = &opts.Calendar
	}
	rows, err := db.Query(ctx, "SELECT s FROM axtract.schedule_preview($1, $2, $3, $4, $5, $6) AS s",
		schedule, tz, calendar, rule, after, n)
	if err != nil {
		return nil, fmt.Errorf("preview schedule %q: %w", schedule, Explain(err))
	}
	slots, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return nil, fmt.Errorf("preview schedule %q: %w", schedule, Explain(err))
	}
	return slots, nil
}

// Validate returns an error that describes what is wrong with schedule and
// its options, or nil.
func Validate(ctx context.Context, db store.DBTX, schedule string, opts Options) error {
	_, err := Preview(ctx, db, schedule, opts, time.Now(), 1)
	return err
}

// FeedNext returns the next n slots of feed name after now, and the feed's
// time zone.
func FeedNext(ctx context.Context, db store.DBTX, name string, n int) ([]time.Time, *time.Location, error) {
	rows, err := db.Query(ctx, "SELECT slot, time_zone FROM axtract.feed_next_runs($1, $2)", name, n)
	if err != nil {
		return nil, nil, fmt.Errorf("next runs of feed %s: %w", name, Explain(err))
	}
	defer rows.Close()
	var slots []time.Time
	tz := "UTC"
	for rows.Next() {
		var slot time.Time
		if err := rows.Scan(&slot, &tz); err != nil {
			return nil, nil, fmt.Errorf("next runs of feed %s: %w", name, err)
		}
		slots = append(slots, slot)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("next runs of feed %s: %w", name, Explain(err))
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	return slots, loc, nil
}

// hintError adds the HINT of a PostgreSQL error to its message.
type hintError struct {
	pgErr *pgconn.PgError
}

func (e *hintError) Error() string { return e.pgErr.Message + ". " + e.pgErr.Hint }
func (e *hintError) Unwrap() error { return e.pgErr }

// Explain returns err with the HINT of a PostgreSQL error appended to the
// message, since the SQL functions put the fix there. Other errors are
// returned as they are; errors.As still finds the *pgconn.PgError.
func Explain(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Hint != "" {
		return &hintError{pgErr: pgErr}
	}
	return err
}
