package model

import (
	"io"
	"strconv"
	"strings"
	"sync"
)

// The enums of the schema hold the values the control schema stores
// (lower case, such as "privacy_officer"), and read and write them as the
// upper-case names GraphQL uses. The schema's validation has checked every
// name before UnmarshalGQL receives it.

// Role is a portal role; see Role in the schema.
type Role string

// PurposeOfUse is a partner's purpose of use (axtract.partner.purpose_of_use).
type PurposeOfUse string

// ConsentDefault is opt_in or opt_out.
type ConsentDefault string

// ConsentKind is grant or deny.
type ConsentKind string

// DestinationKind is sftp, local or portal.
type DestinationKind string

// Classification is a column classification of axtract.dataset_column.
type Classification string

// RunStatus is a value of axtract.run.status.
type RunStatus string

// RunTrigger is a value of axtract.run.trigger.
type RunTrigger string

// RunFileKind is a value of axtract.run_file.kind.
type RunFileKind string

// FeedState is the dashboard's summary of a feed.
type FeedState string

// QualityOutcome is a value of axtract.run_quality.outcome.
type QualityOutcome string

// RequestKind is the kind of a change request.
type RequestKind string

// RequestStatus is the state of a change request.
type RequestStatus string

// Run statuses.
const (
	RunStatusQueued    RunStatus = "queued"
	RunStatusRunning   RunStatus = "running"
	RunStatusRetrying  RunStatus = "retrying"
	RunStatusSucceeded RunStatus = "succeeded"
	RunStatusFailed    RunStatus = "failed"
	RunStatusHeld      RunStatus = "held"
	RunStatusDiscarded RunStatus = "discarded"
)

// AllRunStatuses lists every run status in the schema's order.
var AllRunStatuses = []RunStatus{RunStatusQueued, RunStatusRunning, RunStatusRetrying, RunStatusSucceeded, RunStatusFailed,
	RunStatusHeld, RunStatusDiscarded}

// Feed states, most urgent first.
const (
	FeedStateLate     FeedState = "late"
	FeedStateFailed   FeedState = "failed"
	FeedStateHeld     FeedState = "held"
	FeedStateRetrying FeedState = "retrying"
	FeedStatePaused   FeedState = "paused"
	FeedStateOK       FeedState = "ok"
)

func marshalEnum(w io.Writer, v string) {
	_, _ = io.WriteString(w, strconv.Quote(strings.ToUpper(v)))
}

func unmarshalEnum(v any, name string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", inputErrorf("%s must be a string, not %T", name, v)
	}
	return strings.ToLower(s), nil
}

func (e Role) MarshalGQL(w io.Writer)            { marshalEnum(w, string(e)) }
func (e PurposeOfUse) MarshalGQL(w io.Writer)    { marshalEnum(w, string(e)) }
func (e ConsentDefault) MarshalGQL(w io.Writer)  { marshalEnum(w, string(e)) }
func (e ConsentKind) MarshalGQL(w io.Writer)     { marshalEnum(w, string(e)) }
func (e DestinationKind) MarshalGQL(w io.Writer) { marshalEnum(w, string(e)) }
func (e Classification) MarshalGQL(w io.Writer)  { marshalEnum(w, string(e)) }
func (e RunStatus) MarshalGQL(w io.Writer)       { marshalEnum(w, string(e)) }
func (e RunTrigger) MarshalGQL(w io.Writer)      { marshalEnum(w, string(e)) }
func (e RunFileKind) MarshalGQL(w io.Writer)     { marshalEnum(w, string(e)) }
func (e FeedState) MarshalGQL(w io.Writer)       { marshalEnum(w, string(e)) }
func (e QualityOutcome) MarshalGQL(w io.Writer)  { marshalEnum(w, string(e)) }
func (e RequestKind) MarshalGQL(w io.Writer)     { marshalEnum(w, string(e)) }
func (e RequestStatus) MarshalGQL(w io.Writer)   { marshalEnum(w, string(e)) }

func (e *Role) UnmarshalGQL(v any) error           { return setEnum((*string)(e), v, "Role") }
func (e *PurposeOfUse) UnmarshalGQL(v any) error   { return setEnum((*string)(e), v, "PurposeOfUse") }
func (e *ConsentDefault) UnmarshalGQL(v any) error { return setEnum((*string)(e), v, "ConsentDefault") }
func (e *ConsentKind) UnmarshalGQL(v any) error    { return setEnum((*string)(e), v, "ConsentKind") }
func (e *DestinationKind) UnmarshalGQL(v any) error {
	return setEnum((*string)(e), v, "DestinationKind")
}
func (e *Classification) UnmarshalGQL(v any) error { return setEnum((*string)(e), v, "Classification") }
func (e *RunStatus) UnmarshalGQL(v any) error      { return setEnum((*string)(e), v, "RunStatus") }
func (e *RunTrigger) UnmarshalGQL(v any) error     { return setEnum((*string)(e), v, "RunTrigger") }
func (e *RunFileKind) UnmarshalGQL(v any) error    { return setEnum((*string)(e), v, "RunFileKind") }
func (e *FeedState) UnmarshalGQL(v any) error      { return setEnum((*string)(e), v, "FeedState") }
func (e *QualityOutcome) UnmarshalGQL(v any) error {
	return setEnum((*string)(e), v, "QualityOutcome")
}
func (e *RequestKind) UnmarshalGQL(v any) error   { return setEnum((*string)(e), v, "RequestKind") }
func (e *RequestStatus) UnmarshalGQL(v any) error { return setEnum((*string)(e), v, "RequestStatus") }

// setEnum stores the stored form of GraphQL enum value v in dst. The
// @hasRole directive's arguments are read on every field resolved, so the
// lower-case forms are kept rather than computed each time.
func setEnum(dst *string, v any, name string) error {
	if s, ok := v.(string); ok {
		loweredMu.RLock()
		low, found := lowered[s]
		loweredMu.RUnlock()
		if found {
			*dst = low
			return nil
		}
	}
	s, err := unmarshalEnum(v, name)
	if err != nil {
		return err
	}
	loweredMu.Lock()
	if len(lowered) < maxLowered {
		lowered[v.(string)] = s
	}
	loweredMu.Unlock()
	*dst = s
	return nil
}

// maxLowered bounds the cache of lower-case enum values; the schema has
// fewer than a hundred, and validation rejects any other value.
const maxLowered = 256

var (
	loweredMu sync.RWMutex
	lowered   = map[string]string{}
)
