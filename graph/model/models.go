package model

import (
	"encoding/json"
	"time"
)

// The types below carry the ids their nested fields load from, so those
// fields are resolvers (see graph/*.resolvers.go) that apply the caller's
// partner scope on every path.

// Account is the signed-in account.
type Account struct {
	Login     string
	Role      Role
	PartnerID int64
}

// Partner is a row of axtract.partner.
type Partner struct {
	PartnerID         int64
	ID                string
	Slug              string
	Name              string
	PurposeOfUse      PurposeOfUse
	ContactEmail      *string
	ConsentDefault    ConsentDefault
	Zip3Version       string
	DateShiftMaxDays  *int
	MaxConcurrentRuns *int
	CreatedAt         time.Time
}

// Dataset is a row of axtract.dataset.
type Dataset struct {
	Name        string
	Description string
}

// DatasetColumn is a row of axtract.dataset_column.
type DatasetColumn struct {
	Dataset        string
	Name           string
	Ordinal        int
	DataType       string
	Classification Classification
	SafeHarborKind *string
	FreeText       bool
	Description    string
}

// View is a row of axtract.partner_view.
type View struct {
	ViewID      int64
	PartnerID   int64
	ID          string
	Name        string
	Dataset     string
	Spec        json.RawMessage
	CompiledSQL string
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Destination is a row of axtract.destination.
type Destination struct {
	DestinationID     int64
	ID                string
	Name              string
	Kind              DestinationKind
	Config            json.RawMessage
	MaxConcurrentRuns *int
	CreatedAt         time.Time
}

// Feed is a row of axtract.feed.
type Feed struct {
	FeedID          int64
	PartnerID       int64
	ViewID          int64
	DestinationID   int64
	CalendarName    *string
	ID              string
	Name            string
	Format          string
	FormatOptions   json.RawMessage
	Compression     string
	Encrypt         bool
	Sign            bool
	Manifest        bool
	TriggerSuffix   *string
	FileName        string
	Schedule        *string
	TimeZone        string
	HolidayRule     string
	CatchUp         string
	Deadline        *string
	MaxAttempts     int
	Events          []string
	WatermarkColumn *string
	Paused          bool
	PausedAt        *time.Time
	CreatedAt       time.Time
}

// Calendar is a row of axtract.calendar.
type Calendar struct {
	Name            string
	Description     string
	Weekend         []int
	FederalHolidays bool
}

// Run is a row of axtract.run.
type Run struct {
	RunID       int64
	FeedID      int64
	PartnerID   int64
	ID          string
	Slot        time.Time
	Trigger     RunTrigger
	Status      RunStatus
	Attempts    int
	ViewVersion *int
	Rows        *int64
	Bytes       *int64
	Sha256      *string
	Error       *string
	StartedAt   *time.Time
	FinishedAt  *time.Time
	CreatedAt   time.Time
	DeadlineAt  *time.Time
	LateAt      *time.Time
	// Feed is set by the query that reads the run, in one query for a page
	// of runs, so the feed field needs no resolver call per run.
	Feed *Feed
	// Now is when the run was read, so that the duration of a running run
	// and lateness agree within one response.
	Now time.Time
}

// DurationMs returns the milliseconds from start to finish, or to Now for
// a run still going; nil before the run starts.
func (r *Run) DurationMs() *int64 {
	if r.StartedAt == nil {
		return nil
	}
	end := r.Now
	if r.FinishedAt != nil {
		end = *r.FinishedAt
	}
	ms := end.Sub(*r.StartedAt).Milliseconds()
	return &ms
}

// Late reports whether the run missed its deadline: the scheduler recorded
// it, or the deadline passed while the run was not yet delivered.
func (r *Run) Late() bool {
	if r.LateAt != nil {
		return true
	}
	if r.DeadlineAt == nil || r.Status == RunStatusSucceeded || r.Status == RunStatusDiscarded {
		return false
	}
	return r.Now.After(*r.DeadlineAt)
}

// RunFile is a row of axtract.run_file.
type RunFile struct {
	FileID          int64
	RunID           int64
	PartnerID       int64
	DestinationKind string
	ID              string
	Name            string
	Kind            RunFileKind
	Part            *string
	Rows            *int64
	Bytes           int64
	Sha256          string
	CreatedAt       time.Time
}

// Dashboard is the operations dashboard; its fields are resolvers.
type Dashboard struct{}

// Request is a row of axtract.request.
type Request struct {
	RequestID     int64
	PartnerID     int64
	PreviousID    *int64
	FeedID        *int64
	ID            string
	Kind          RequestKind
	Status        RequestStatus
	ViewName      string
	Version       int
	Spec          json.RawMessage
	Feed          json.RawMessage
	Template      *string
	CreatedBy     string
	CreatedAt     time.Time
	UpdatedBy     string
	UpdatedAt     time.Time
	SubmittedBy   *string
	SubmittedAt   *time.Time
	ReviewedBy    *string
	ReviewedAt    *time.Time
	ReviewComment *string
	ViewVersion   *int
}
