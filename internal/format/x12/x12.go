// Package x12 writes partner views as ANSI X12 834 benefit enrollment and
// maintenance transactions, implementation guide 005010X220A1.
//
// A file is one interchange (ISA to IEA) with one functional group (GS to
// GE) and one transaction set (ST to SE). Each row of the view is one
// member's coverage: a member loop (INS, REF*0F, NM1*IL, N3, N4, DMG) with
// one health coverage loop (HD, DTP*348, DTP*349). The interchange,
// group and transaction set control numbers all come from the run's
// control number, which the runner takes per partner.
//
// # Values
//
// No value may contain a delimiter, so none is ever written. A value that
// contains one, or a control character, or a character with no X12 form,
// fails the run with an error naming the column and the row number (never
// the value). With the clean option such characters become spaces. Letters
// with diacritics from Latin-1 and Latin Extended-A are folded to ASCII
// ("José" becomes "JOSE"), and letters are uppercased unless keep_case is
// set, since the X12 basic character set has no lowercase letters.
package x12

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/axtract/axtract/internal/format"
)

// version is the implementation guide the file follows: GS08 and ST03.
const version = "005010X220A1"

// maxControlNumber is the largest ISA13, which has nine digits.
const maxControlNumber = 999999999

// Fields a row is read from.
const (
	fMember = iota
	fSubscriberID
	fRelationship
	fFirstName
	fLastName
	fMiddleName
	fSSN
	fAddress
	fCity
	fState
	fZip
	fBirthDate
	fGender
	fPlanName
	fStartDate
	fEndDate
	fGroupNumber
	numFields
)

// fields names each field in the "columns" option and lists the view
// columns it is read from by default, first match wins.
var fields = [numFields]struct {
	name     string
	defaults []string
}{
	fMember:       {"member_id", []string{"member_key", "member_id"}},
	fSubscriberID: {"subscriber_id", []string{"subscriber_id"}},
	fRelationship: {"relationship", []string{"relationship"}},
	fFirstName:    {"first_name", []string{"first_name", "member_first_name"}},
	fLastName:     {"last_name", []string{"last_name", "member_last_name"}},
	fMiddleName:   {"middle_name", []string{"middle_name"}},
	fSSN:          {"ssn", []string{"ssn"}},
	fAddress:      {"address", []string{"address"}},
	fCity:         {"city", []string{"city"}},
	fState:        {"state", []string{"state", "member_state"}},
	fZip:          {"zip", []string{"zip", "member_zip"}},
	fBirthDate:    {"birth_date", []string{"birth_date", "member_birth_date"}},
	fGender:       {"gender", []string{"gender", "member_gender"}},
	fPlanName:     {"plan_name", []string{"plan_name"}},
	fStartDate:    {"start_date", []string{"start_date"}},
	fEndDate:      {"end_date", []string{"end_date"}},
	fGroupNumber:  {"group_number", []string{"group_number"}},
}

func fieldIndex(name string) int {
	for i, f := range fields {
		if f.name == name {
			return i
		}
	}
	return -1
}

func fieldNames() string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// X12 is the 834 format with its options.
type X12 struct {
	opts *Options
}

// New parses the options of an 834 feed.
func New(options json.RawMessage) (format.Format, error) {
	opts, err := parseOptions(options)
	if err != nil {
		return nil, err
	}
	return &X12{opts: opts}, nil
}

// Kind returns "x12-834".
func (x *X12) Kind() string { return "x12-834" }

// Extension returns ".x12".
func (x *X12) Extension() string { return ".x12" }

// writer writes one interchange.
type writer struct {
	opts   *Options
	out    *bufio.Writer
	cols   []format.Column
	idx    [numFields]int
	fields [][]byte
	row    int64
	closed bool

	elem, sub, rep, term byte
	delims               [256]bool

	control  int64
	seg      []byte
	segments int64 // segments from ST on, for SE01
	err      error

	truncated int64
}

// NewWriter checks the view's columns against the fields and writes the
// envelope's header: ISA, GS, ST, BGN, REF*38 and the sponsor and payer.
func (x *X12) NewWriter(w io.Writer, cols []format.Column, info format.Info) (format.Writer, error) {
	o := x.opts
	wr := &writer{opts: o, cols: cols, control: info.ControlNumber,
		elem: o.ElementSeparator[0], sub: o.SubElementSeparator[0], rep: o.RepetitionSeparator[0], term: o.SegmentTerminator[0]}
	for _, c := range []byte{wr.elem, wr.sub, wr.rep, wr.term} {
		wr.delims[c] = true
	}
	if info.ControlNumber < 1 || info.ControlNumber > maxControlNumber {
		return nil, fmt.Errorf("x12-834: control number %d is out of range 1 to %d (ISA13 has nine digits); "+
			"the partner's control numbers are used up, so start a new interchange series with the partner", info.ControlNumber, maxControlNumber)
	}
	if err := wr.mapColumns(); err != nil {
		return nil, err
	}

	now := info.Now
	if now.IsZero() {
		now = time.Now()
	}
	wr.out = bufio.NewWriterSize(w, 64<<10)
	wr.header(now.UTC())
	if wr.err != nil {
		return nil, wr.err
	}
	return wr, nil
}

func (w *writer) mapColumns() error {
	for i, f := range fields {
		names, explicit := f.defaults, false
		if c, ok := w.opts.Columns[f.name]; ok {
			names, explicit = []string{c}, true
		}
		w.idx[i] = -1
	search:
		for _, n := range names {
			for k, c := range w.cols {
				if c.Name == n {
					w.idx[i] = k
					break search
				}
			}
		}
		if w.idx[i] < 0 && explicit {
			return fmt.Errorf("x12-834: the view has no column %s for field %s; its columns are %s", names[0], f.name, w.columnNames())
		}
	}
	for _, f := range []int{fLastName, fStartDate} {
		if w.idx[f] < 0 {
			return fmt.Errorf("x12-834: the view needs a column for field %s (by default %s); its columns are %s",
				fields[f].name, strings.Join(fields[f].defaults, " or "), w.columnNames())
		}
	}
	if w.idx[fMember] < 0 && w.idx[fSubscriberID] < 0 {
		return fmt.Errorf("x12-834: the view needs a member key (member_key or member_id) or a subscriber_id column for REF*0F; "+
			"its columns are %s", w.columnNames())
	}
	return nil
}

func (w *writer) columnNames() string {
	names := make([]string, len(w.cols))
	for i, c := range w.cols {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// Counts reports values cut to the maximum length of their element.
func (w *writer) Counts() map[string]int64 {
	return map[string]int64{"truncated_values": w.truncated}
}
