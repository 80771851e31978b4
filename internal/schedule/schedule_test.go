package schedule

import (
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNextHonoursTimeZone(t *testing.T) {
	s, err := Parse("0 6 * * 1-5", "America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	// Friday 2026-12-04 12:00 UTC is 06:00 Central; the next weekday 06:00
	// Central is Monday 2026-12-07, 12:00 UTC.
	got := s.Next(mustTime(t, "2026-12-04T12:00:00Z"))
	want := mustTime(t, "2026-12-07T12:00:00Z")
	if !got.Equal(want) {
		t.Errorf("Next = %s, want %s", got, want)
	}
}

func TestLatestPicksNewestMissedSlot(t *testing.T) {
	s, err := Parse("0 * * * *", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	slot, missed, ok := s.Latest(mustTime(t, "2026-12-04T00:00:00Z"), mustTime(t, "2026-12-04T05:30:00Z"))
	if !ok {
		t.Fatal("no slot due")
	}
	if want := mustTime(t, "2026-12-04T05:00:00Z"); !slot.Equal(want) {
		t.Errorf("slot = %s, want %s", slot, want)
	}
	if missed != 5 {
		t.Errorf("missed = %d, want 5", missed)
	}
	if _, _, ok := s.Latest(mustTime(t, "2026-12-04T05:00:00Z"), mustTime(t, "2026-12-04T05:30:00Z")); ok {
		t.Error("a slot is due although the cursor is at the newest one")
	}
}

func TestParseRejectsBadInput(t *testing.T) {
	if _, err := Parse("0 6 * *", "UTC"); err == nil {
		t.Error("four-field expression accepted")
	}
	if _, err := Parse("0 6 * * *", "Mars/Olympus"); err == nil {
		t.Error("unknown time zone accepted")
	}
}
