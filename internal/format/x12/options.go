package x12

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Options are the format options of an 834 feed. Field comments give the
// X12 element each one fills.
type Options struct {
	// SenderQualifier and SenderID identify AxTract's side (ISA05, ISA06);
	// ReceiverQualifier and ReceiverID the partner's (ISA07, ISA08).
	// Qualifiers default to ZZ (mutually defined); ids are required, at
	// most 15 characters.
	SenderQualifier   string `json:"sender_qualifier,omitempty"`
	SenderID          string `json:"sender_id"`
	ReceiverQualifier string `json:"receiver_qualifier,omitempty"`
	ReceiverID        string `json:"receiver_id"`
	// ApplicationSender and ApplicationReceiver are GS02 and GS03.
	// Default: the sender and receiver ids.
	ApplicationSender   string `json:"application_sender,omitempty"`
	ApplicationReceiver string `json:"application_receiver,omitempty"`
	// Usage is ISA15: T (test, the default) or P (production).
	Usage string `json:"usage,omitempty"`
	// AcknowledgmentRequested sets ISA14 to 1 (a TA1 is requested).
	AcknowledgmentRequested bool `json:"acknowledgment_requested,omitempty"`

	// Delimiters. Defaults: element *, sub-element :, repetition ^,
	// segment terminator ~. Newline adds a line feed after each
	// terminator, which many translators accept and people can read.
	ElementSeparator    string `json:"element_separator,omitempty"`
	SubElementSeparator string `json:"sub_element_separator,omitempty"`
	RepetitionSeparator string `json:"repetition_separator,omitempty"`
	SegmentTerminator   string `json:"segment_terminator,omitempty"`
	Newline             bool   `json:"newline,omitempty"`

	// Sponsor is the plan sponsor (loop 1000A, N1*P5) and Payer the
	// insurer (loop 1000B, N1*IN). Both are required.
	Sponsor Party `json:"sponsor"`
	Payer   Party `json:"payer"`

	// Purpose is BGN01: 00 (original, the default) or 15 (re-submission).
	Purpose string `json:"purpose,omitempty"`
	// Action is BGN08: 4 (verify, the default, for a full file) or 2
	// (change, for a file of changes).
	Action string `json:"action,omitempty"`
	// MaintenanceType is INS03 and HD01: 030 (audit or compare, the
	// default), 021 (addition), 001 (change), 024 (cancellation or
	// termination) or 025 (reinstatement).
	MaintenanceType string `json:"maintenance_type,omitempty"`
	// MaintenanceReason is INS04, such as XN (notification only). Default:
	// empty.
	MaintenanceReason string `json:"maintenance_reason,omitempty"`
	// BenefitStatus is INS05: A (active, the default), C (COBRA), S
	// (surviving insured) or T (tax equity and fiscal responsibility act).
	BenefitStatus string `json:"benefit_status,omitempty"`
	// InsuranceLine is HD03, such as HLT (health, the default), DEN, VIS
	// or PDG (prescription drug).
	InsuranceLine string `json:"insurance_line,omitempty"`
	// PolicyNumber, when set, is written as REF*38 (master policy number).
	PolicyNumber string `json:"policy_number,omitempty"`

	// Clean replaces characters that X12 cannot carry (delimiters, control
	// characters, characters outside the extended character set) by a
	// space. Without it such a value fails the run.
	Clean bool `json:"clean,omitempty"`
	// KeepCase keeps lowercase letters. By default values are uppercased,
	// since the basic character set has no lowercase letters.
	KeepCase bool `json:"keep_case,omitempty"`

	// Columns maps a field name (see docs/x12.md) to the view column that
	// holds it, overriding the default column names.
	Columns map[string]string `json:"columns,omitempty"`
}

// Party is a sponsor or a payer: its name (N102), id qualifier (N103,
// default FI, the federal taxpayer id) and id (N104).
type Party struct {
	Name        string `json:"name"`
	IDQualifier string `json:"id_qualifier,omitempty"`
	ID          string `json:"id"`
}

func parseOptions(raw json.RawMessage) (*Options, error) {
	var o Options
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return nil, fmt.Errorf("x12-834 options: %w", err)
		}
	}
	defaults := []struct {
		field *string
		value string
	}{
		{&o.SenderQualifier, "ZZ"}, {&o.ReceiverQualifier, "ZZ"},
		{&o.ApplicationSender, o.SenderID}, {&o.ApplicationReceiver, o.ReceiverID},
		{&o.Usage, "T"},
		{&o.ElementSeparator, "*"}, {&o.SubElementSeparator, ":"}, {&o.RepetitionSeparator, "^"}, {&o.SegmentTerminator, "~"},
		{&o.Sponsor.IDQualifier, "FI"}, {&o.Payer.IDQualifier, "FI"},
		{&o.Purpose, "00"}, {&o.Action, "4"}, {&o.MaintenanceType, "030"}, {&o.BenefitStatus, "A"}, {&o.InsuranceLine, "HLT"},
	}
	for _, d := range defaults {
		if *d.field == "" {
			*d.field = d.value
		}
	}
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("x12-834 options: %w", err)
	}
	return &o, nil
}

func (o *Options) validate() error {
	seps := []struct{ name, value string }{
		{"element_separator", o.ElementSeparator}, {"sub_element_separator", o.SubElementSeparator},
		{"repetition_separator", o.RepetitionSeparator}, {"segment_terminator", o.SegmentTerminator},
	}
	for i, s := range seps {
		if len(s.value) != 1 || s.value[0] < 0x21 || s.value[0] > 0x7e || isAlnum(s.value[0]) {
			return fmt.Errorf("%s is %q; use one printable ASCII character that is not a letter, a digit or a space", s.name, s.value)
		}
		for _, t := range seps[:i] {
			if t.value == s.value {
				return fmt.Errorf("%s and %s are both %q; delimiters must differ", t.name, s.name, s.value)
			}
		}
	}

	for _, id := range []struct {
		name, value string
		min, max    int
	}{
		{"sender_qualifier", o.SenderQualifier, 2, 2}, {"sender_id", o.SenderID, 1, 15},
		{"receiver_qualifier", o.ReceiverQualifier, 2, 2}, {"receiver_id", o.ReceiverID, 1, 15},
		{"application_sender", o.ApplicationSender, 2, 15}, {"application_receiver", o.ApplicationReceiver, 2, 15},
		{"sponsor.name", o.Sponsor.Name, 1, 60}, {"sponsor.id_qualifier", o.Sponsor.IDQualifier, 1, 2},
		{"sponsor.id", o.Sponsor.ID, 2, 80},
		{"payer.name", o.Payer.Name, 1, 60}, {"payer.id_qualifier", o.Payer.IDQualifier, 1, 2}, {"payer.id", o.Payer.ID, 2, 80},
		{"policy_number", o.PolicyNumber, 0, 50},
	} {
		if len(id.value) < id.min || len(id.value) > id.max {
			if id.value == "" {
				return fmt.Errorf("%s is missing", id.name)
			}
			return fmt.Errorf("%s %q has %d characters; it takes %d to %d", id.name, id.value, len(id.value), id.min, id.max)
		}
		if i := strings.IndexFunc(id.value, func(r rune) bool { return r < 0x20 || r > 0x7e || o.isDelimiter(r) }); i >= 0 {
			return fmt.Errorf("%s %q contains %q, a delimiter or a character outside printable ASCII; change one of them", id.name, id.value, id.value[i])
		}
	}

	for _, c := range []struct {
		name, value string
		allowed     []string
	}{
		{"usage", o.Usage, []string{"T", "P"}},
		{"purpose", o.Purpose, []string{"00", "15", "22"}},
		{"action", o.Action, []string{"2", "4", "RX"}},
		{"maintenance_type", o.MaintenanceType, []string{"001", "021", "024", "025", "030"}},
		{"benefit_status", o.BenefitStatus, []string{"A", "C", "S", "T"}},
	} {
		if !slices.Contains(c.allowed, c.value) {
			return fmt.Errorf("%s is %q; use one of %s", c.name, c.value, strings.Join(c.allowed, ", "))
		}
	}
	if o.MaintenanceReason != "" && (len(o.MaintenanceReason) > 3 || !isAlnumString(o.MaintenanceReason)) {
		return fmt.Errorf("maintenance_reason is %q; use an INS04 code such as XN", o.MaintenanceReason)
	}
	if len(o.InsuranceLine) != 3 || !isAlnumString(o.InsuranceLine) {
		return fmt.Errorf("insurance_line is %q; use an HD03 code such as HLT, DEN, VIS or PDG", o.InsuranceLine)
	}
	for field := range o.Columns {
		if fieldIndex(field) < 0 {
			return fmt.Errorf("unknown field %q in columns; fields are %s", field, fieldNames())
		}
	}
	return nil
}

func (o *Options) isDelimiter(r rune) bool {
	return r < 0x80 && strings.ContainsRune(o.ElementSeparator+o.SubElementSeparator+o.RepetitionSeparator+o.SegmentTerminator, r)
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func isAlnumString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}
