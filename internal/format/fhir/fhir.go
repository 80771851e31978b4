// Package fhir writes partner views as FHIR R4 resources in the NDJSON
// files of a Bulk Data export: one file per resource type, one resource per
// line.
//
// # Options
//
// A feed's format options name the partner view of each resource type:
//
//	{"resources": {"Patient": "members_view",
//	               "Condition": {"view": "conditions_view", "columns": {"code": "dx_code"}}}}
//
// A resource given as an object may rename the columns it reads
// ("columns", from field name to view column) and set meta.profile
// ("profile"). Every resource other than Patient refers to a patient, so
// Patient is required whenever another resource is present.
//
// # References
//
// Every resource refers to its patient as Patient/<id>, where <id> comes
// from the member key column of its own row: by default member_key, else
// member_id (option "member_column" names another). The same key gives the
// same id in every file: the key itself when it is a valid FHIR id, and
// otherwise "sha256-" and 32 hexadecimal digits of its SHA-256. So the
// views of one feed must carry the same kind of member key (all pseudonyms
// or all member ids).
//
// The Patient part is written first and keeps an 8-byte hash of every
// patient id until the run's other parts are closed. A row of another
// resource whose patient is not in the Patient file is left out and
// counted (option "unresolved": "skip", the default) or fails the run
// ("error").
package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/axtract/axtract/internal/format"
)

// Resource types the package writes, in the order of Parts.
var resourceTypes = []string{"Patient", "Coverage", "ExplanationOfBenefit", "Condition", "Observation", "MedicationDispense"}

// Options are the format options of a FHIR feed.
type Options struct {
	// Resources maps a resource type to the view that feeds it.
	Resources map[string]Resource `json:"resources"`
	// MemberColumn is the column that holds the member key in every view.
	// Default: member_key if the view has it, else member_id.
	MemberColumn string `json:"member_column,omitempty"`
	// IdentifierSystem is the system of Patient.identifier, the URI that
	// names the member keys. Default: urn:axtract:member.
	IdentifierSystem string `json:"identifier_system,omitempty"`
	// PayerName is the name of the payer, used in Coverage.payor and
	// ExplanationOfBenefit.insurer when a view has no payer column.
	PayerName string `json:"payer_name,omitempty"`
	// Unresolved is the rule for a row whose patient is not in the
	// Patient file: "skip" (default) leaves it out and counts it, "error"
	// fails the run.
	Unresolved string `json:"unresolved,omitempty"`
}

// Resource is the view of one resource type and how to read it.
type Resource struct {
	View string `json:"view"`
	// Columns maps a field name (see docs/fhir.md) to the view column that
	// holds it, overriding the default column names.
	Columns map[string]string `json:"columns,omitempty"`
	// Profile, when set, is written as meta.profile.
	Profile string `json:"profile,omitempty"`
}

// UnmarshalJSON reads either a view name or an object.
func (r *Resource) UnmarshalJSON(data []byte) error {
	var view string
	if err := json.Unmarshal(data, &view); err == nil {
		*r = Resource{View: view}
		return nil
	}
	type plain Resource
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("a resource is a view name or an object with view, columns and profile: %w", err)
	}
	*r = Resource(p)
	return nil
}

// Fhir is the FHIR Bulk Data format: one part per resource type.
type Fhir struct {
	opts  Options
	parts []format.Part
	runs  *runs
}

// New parses the options of a FHIR feed.
func New(options json.RawMessage) (format.Format, error) {
	var opts Options
	if len(bytes.TrimSpace(options)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(options))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&opts); err != nil {
			return nil, fmt.Errorf("fhir options: %w", err)
		}
	}
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("fhir options: %w", err)
	}
	if opts.IdentifierSystem == "" {
		opts.IdentifierSystem = "urn:axtract:member"
	}
	if opts.Unresolved == "" {
		opts.Unresolved = "skip"
	}

	f := &Fhir{opts: opts, runs: newRuns()}
	others := len(opts.Resources) - 1
	for _, name := range resourceTypes {
		res, ok := opts.Resources[name]
		if !ok {
			continue
		}
		part := &partFormat{parent: f, resource: name, res: res, others: others}
		p := format.Part{Name: name, View: res.View, Format: part}
		if name == "ExplanationOfBenefit" {
			// The lines of a claim must arrive together to fold into one
			// resource.
			p.OrderBy = specs[name].candidates(eobClaim, res.Columns)
		}
		f.parts = append(f.parts, p)
	}
	return f, nil
}

func (o *Options) validate() error {
	if len(o.Resources) == 0 {
		return fmt.Errorf(`"resources" is missing: name the view of each resource type, such as {"resources": {"Patient": "members"}}`)
	}
	for name, res := range o.Resources {
		spec, ok := specs[name]
		if !ok {
			return fmt.Errorf("unknown resource type %q; use %s", name, strings.Join(resourceTypes, ", "))
		}
		if res.View == "" {
			return fmt.Errorf("resource %s: the view name is missing", name)
		}
		for field := range res.Columns {
			if spec.field(field) < 0 {
				return fmt.Errorf("resource %s: unknown field %q in columns; fields are %s", name, field, spec.names())
			}
		}
	}
	if _, ok := o.Resources["Patient"]; !ok {
		return fmt.Errorf("resource Patient is missing: every other resource refers to a patient, so name the view of Patient too")
	}
	switch o.Unresolved {
	case "", "skip", "error":
	default:
		return fmt.Errorf(`unresolved is %q; use "skip" or "error"`, o.Unresolved)
	}
	return nil
}

// Kind returns "fhir".
func (f *Fhir) Kind() string { return "fhir" }

// Extension returns ".ndjson".
func (f *Fhir) Extension() string { return ".ndjson" }

// Parts returns one part per resource type, Patient first, which is the
// order the parts must be written in.
func (f *Fhir) Parts() []format.Part { return slices.Clone(f.parts) }

// NewWriter fails: a FHIR feed writes one file per part.
func (f *Fhir) NewWriter(io.Writer, []format.Column, format.Info) (format.Writer, error) {
	return nil, fmt.Errorf("fhir writes one file per resource type: write each of Parts() instead")
}

// partFormat writes the file of one resource type.
type partFormat struct {
	parent   *Fhir
	resource string
	res      Resource
	// others is the number of parts besides Patient.
	others int
}

func (p *partFormat) Kind() string      { return "fhir" }
func (p *partFormat) Extension() string { return ".ndjson" }

func (p *partFormat) NewWriter(w io.Writer, cols []format.Column, info format.Info) (format.Writer, error) {
	return newWriter(p, w, cols, info)
}
