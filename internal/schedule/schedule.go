// Package schedule computes the slots of feed schedules: five-field cron
// expressions evaluated in an IANA time zone.
package schedule

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// MaxCatchUp bounds how many missed slots one call of Due walks through, so a
// feed that was down for years cannot stall a tick.
const MaxCatchUp = 10000

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule is a parsed cron expression bound to a time zone.
type Schedule struct {
	spec string
	loc  *time.Location
	cron cron.Schedule
}

// Parse parses a five-field cron expression (minute hour day-of-month month
// day-of-week, or a descriptor such as @daily) in time zone tz.
func Parse(spec, tz string) (*Schedule, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w; use an IANA name such as America/Chicago", tz, err)
	}
	c, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w; use five fields: minute hour day-of-month month day-of-week", spec, err)
	}
	return &Schedule{spec: spec, loc: loc, cron: c}, nil
}

// Next returns the first slot strictly after t.
func (s *Schedule) Next(t time.Time) time.Time {
	return s.cron.Next(t.In(s.loc)).UTC()
}

// Upcoming returns the next n slots after t.
func (s *Schedule) Upcoming(t time.Time, n int) []time.Time {
	slots := make([]time.Time, 0, n)
	for range n {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		slots = append(slots, t)
	}
	return slots
}

// Latest returns the newest slot in (after, now], and how many slots fell
// in that range, up to MaxCatchUp. ok is false when none did.
func (s *Schedule) Latest(after, now time.Time) (slot time.Time, missed int, ok bool) {
	for t := s.Next(after); !t.IsZero() && !t.After(now); t = s.Next(t) {
		slot, ok = t, true
		missed++
		if missed >= MaxCatchUp {
			// Jump close to now rather than walking every slot of a long outage.
			after = now.Add(-24 * time.Hour)
			for t2 := s.Next(after); !t2.IsZero() && !t2.After(now); t2 = s.Next(t2) {
				slot = t2
			}
			break
		}
	}
	return slot, missed, ok
}
