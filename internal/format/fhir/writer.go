package fhir

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/axtract/axtract/internal/format"
)

// fieldSpec is one value a resource reads: its name in the "columns"
// option and the view columns it is read from by default, first match
// wins.
type fieldSpec struct {
	name     string
	defaults []string
}

// spec describes how one resource type reads its view.
type spec struct {
	fields []fieldSpec
	// required lists fields the view must have, by index.
	required []int
	// member is the index of the member key field.
	member int
	write  func(w *writer) error
	finish func(w *writer) error
}

func (s *spec) field(name string) int {
	for i, f := range s.fields {
		if f.name == name {
			return i
		}
	}
	return -1
}

func (s *spec) names() string {
	names := make([]string, len(s.fields))
	for i, f := range s.fields {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// specs is filled by the files of the resource types.
var specs = map[string]*spec{}

// memberField is the member key field every resource has.
var memberField = fieldSpec{"member_id", []string{"member_key", "member_id"}}

// writer writes the NDJSON file of one resource type.
type writer struct {
	part     *partFormat
	spec     *spec
	out      *bufio.Writer
	info     format.Info
	cols     []format.Column
	idx      []int
	fields   [][]byte
	row      int64
	l        line
	pid      []byte // the current row's patient id
	patients *patientSet
	closed   bool

	skipped        int64
	lastSkipped    bool
	unknownSystems int64
	// assumedSystems counts codes written in the resource's default
	// system because the row gave none.
	assumedSystems int64
	eob            *eobGroup
	createdAt      string
	resources      int64
}

func newWriter(p *partFormat, w io.Writer, cols []format.Column, info format.Info) (*writer, error) {
	s := specs[p.resource]
	wr := &writer{part: p, spec: s, info: info, cols: cols, idx: make([]int, len(s.fields))}
	for i, f := range s.fields {
		names, explicit := f.defaults, false
		if i == s.member && p.parent.opts.MemberColumn != "" {
			names, explicit = []string{p.parent.opts.MemberColumn}, true
		}
		if c, ok := p.res.Columns[f.name]; ok {
			names, explicit = []string{c}, true
		}
		wr.idx[i] = columnIndex(cols, names)
		if wr.idx[i] < 0 && explicit {
			return nil, fmt.Errorf("fhir %s: view %s has no column %s for field %s; its columns are %s",
				p.resource, p.res.View, names[0], f.name, columnNames(cols))
		}
	}
	for _, f := range s.required {
		if wr.idx[f] < 0 {
			return nil, fmt.Errorf("fhir %s: view %s needs a column for field %s (by default %s); its columns are %s",
				p.resource, p.res.View, s.fields[f].name, strings.Join(s.fields[f].defaults, " or "), columnNames(cols))
		}
	}
	if err := wr.check(); err != nil {
		return nil, err
	}

	if p.resource == "Patient" {
		wr.patients = p.parent.runs.start(info.RunID, p.others)
	} else {
		set, err := p.parent.runs.get(info.RunID, p.resource)
		if err != nil {
			return nil, err
		}
		wr.patients = set
	}
	wr.out = bufio.NewWriterSize(w, 64<<10)
	return wr, nil
}

// check rejects views that lack what a resource needs beyond single
// columns.
func (w *writer) check() error {
	switch w.part.resource {
	case "MedicationDispense":
		if !w.has(mdNDC) && !w.has(mdRxNorm) && !w.has(mdDrugName) {
			return fmt.Errorf("fhir MedicationDispense: view %s needs a column ndc, rxnorm_code or drug_name; its columns are %s",
				w.part.res.View, columnNames(w.cols))
		}
	case "Coverage":
		if !w.has(covPayer) && !w.has(covPayerName) && w.part.parent.opts.PayerName == "" {
			return fmt.Errorf("fhir Coverage: view %s has no payer_id or payer_name column; add one or set the payer_name option",
				w.part.res.View)
		}
	}
	return nil
}

// columnIndex returns the index of the first of names that cols has, or -1.
func columnIndex(cols []format.Column, names []string) int {
	for _, n := range names {
		for i, c := range cols {
			if c.Name == n {
				return i
			}
		}
	}
	return -1
}

func columnNames(cols []format.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// get returns field f of the current row, nil when NULL or not in the view.
func (w *writer) get(f int) []byte {
	if i := w.idx[f]; i >= 0 {
		return w.fields[i]
	}
	return nil
}

func (w *writer) has(f int) bool { return w.idx[f] >= 0 }

// fieldError names the resource, row and column of a bad value, never the
// value, which is member data.
func (w *writer) fieldError(f int, err error) error {
	return fmt.Errorf("fhir %s row %d column %s: %w", w.part.resource, w.row, w.cols[w.idx[f]].Name, err)
}

// WriteRow writes the resource of one row.
func (w *writer) WriteRow(fields [][]byte) error {
	if len(fields) != len(w.cols) {
		return fmt.Errorf("fhir %s row %d: %d fields, expected %d", w.part.resource, w.row+1, len(fields), len(w.cols))
	}
	w.fields = fields
	w.row++
	w.lastSkipped = false

	key := w.get(w.spec.member)
	if key == nil {
		return w.fieldError(w.spec.member, fmt.Errorf("the member key is NULL; every %s needs one", w.part.resource))
	}
	w.pid = appendID(w.pid[:0], key)
	if w.part.resource == "Patient" {
		w.patients.add(w.pid)
	} else if !w.patients.has(w.pid) {
		if w.part.parent.opts.Unresolved == "error" {
			return fmt.Errorf("fhir %s row %d: its patient is not in the Patient file; make the views select the same members, "+
				`or set "unresolved": "skip"`, w.part.resource, w.row)
		}
		w.skipped++
		w.lastSkipped = true
		return nil
	}
	return w.spec.write(w)
}

// RowSkipped reports whether the last row was left out because its
// patient is not in the Patient file (format.Skipper).
func (w *writer) RowSkipped() bool { return w.lastSkipped }

// Close writes what a resource still holds and flushes the file.
func (w *writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.spec.finish != nil {
		if err := w.spec.finish(w); err != nil {
			return err
		}
	}
	if w.part.resource == "Patient" {
		w.part.parent.runs.seal(w.info.RunID, w.patients)
	} else {
		w.part.parent.runs.done(w.info.RunID, w.patients)
	}
	return w.out.Flush()
}

// Counts reports the resources written, which for ExplanationOfBenefit is
// fewer than the rows because a claim's lines make one resource, the rows
// left out because their patient was missing, the codes whose system is
// unknown, and the codes written in the default system because the row
// named none.
func (w *writer) Counts() map[string]int64 {
	return map[string]int64{
		"resources":           w.resources,
		"unresolved_patient":  w.skipped,
		"unknown_code_system": w.unknownSystems,
		"assumed_code_system": w.assumedSystems,
	}
}

// begin starts the current line with resourceType, id and meta.
func (w *writer) begin(id []byte) {
	w.l.reset()
	w.l.b = append(w.l.b, `{"resourceType":"`...)
	w.l.b = append(w.l.b, w.part.resource...)
	w.l.b = append(w.l.b, `","id":"`...)
	w.l.b = append(w.l.b, id...)
	w.l.b = append(w.l.b, '"')
	if w.part.res.Profile != "" {
		w.l.open("meta")
		w.l.openArray("profile")
		w.l.elem([]byte(w.part.res.Profile))
		w.l.closeArray()
		w.l.close()
	}
}

// beginRow starts the resource of the current row with the id from field
// f. When the view has no such column or the value is NULL, the id is made
// of the run id and the row number, which is unique in the run but not
// stable across runs.
func (w *writer) beginRow(f int) {
	var buf [64]byte
	id := buf[:0]
	if v := w.get(f); v != nil {
		id = appendID(id, v)
	} else {
		id = fmt.Appendf(id, "run%d-%d", w.info.RunID, w.row)
	}
	w.begin(id)
}

// emit ends the current line and writes it.
func (w *writer) emit() error {
	w.l.close()
	w.l.b = append(w.l.b, '\n')
	w.resources++
	_, err := w.out.Write(w.l.b)
	return err
}

// reference writes key k as a reference to the row's patient.
func (w *writer) patientReference(k string) {
	w.l.open(k)
	w.l.key("reference")
	w.l.b = append(w.l.b, `"Patient/`...)
	w.l.b = append(w.l.b, w.pid...)
	w.l.b = append(w.l.b, '"')
	w.l.close()
}

// date writes key k with the FHIR date of field f, if it is set.
func (w *writer) date(k string, f int) error {
	v := w.get(f)
	if v == nil {
		return nil
	}
	w.l.key(k)
	w.l.b = append(w.l.b, '"')
	var err error
	w.l.b, err = appendDate(w.l.b, v)
	if err != nil {
		return w.fieldError(f, err)
	}
	w.l.b = append(w.l.b, '"')
	return nil
}

// dateTime writes key k with the FHIR dateTime of field f, if it is set.
func (w *writer) dateTime(k string, f int) error {
	v := w.get(f)
	if v == nil {
		return nil
	}
	w.l.key(k)
	w.l.b = append(w.l.b, '"')
	var err error
	w.l.b, err = appendDateTime(w.l.b, v)
	if err != nil {
		return w.fieldError(f, err)
	}
	w.l.b = append(w.l.b, '"')
	return nil
}

// decimal writes key k with field f as a JSON number, if it is set.
func (w *writer) decimal(k string, f int) error {
	v := w.get(f)
	if v == nil {
		return nil
	}
	if !isNumber(v) {
		return w.fieldError(f, fmt.Errorf("not a finite decimal number"))
	}
	w.l.number(k, v)
	return nil
}

// str writes key k with field f as a string, if it is set and not empty.
func (w *writer) str(k string, f int) {
	if v := w.get(f); len(v) > 0 {
		w.l.str(k, v)
	}
}

// coding writes one Coding as an array element. An empty system is left
// out.
func (w *writer) coding(system string, code, display []byte) {
	w.l.open("")
	if system != "" {
		w.l.lit("system", system)
	}
	w.l.str("code", code)
	if len(display) > 0 {
		w.l.str("display", display)
	}
	w.l.close()
}

// codeSystem returns the URI of the code system that field f names, or
// fallback when the view has no such column or the value is NULL. An
// unknown name is counted and gives "".
func (w *writer) codeSystem(f int, fallback string) string {
	v := w.get(f)
	if v == nil {
		// The view has no system column, or the row none: the code is
		// written in the resource's usual system, which may be wrong for
		// codes of another, so the run reports how often.
		if fallback != "" {
			w.assumedSystems++
		}
		return fallback
	}
	uri, ok := systemURI(v)
	if !ok {
		w.unknownSystems++
	}
	return uri
}

// dataAbsent writes key k as an element with only a data-absent-reason
// extension, for elements FHIR requires that a view does not carry.
func (w *writer) dataAbsent(k, reason string) {
	w.l.open(k)
	w.l.openArray("extension")
	w.l.open("")
	w.l.lit("url", "http://hl7.org/fhir/StructureDefinition/data-absent-reason")
	w.l.lit("valueCode", reason)
	w.l.close()
	w.l.closeArray()
	w.l.close()
}

// logicalReference writes key k as a reference by identifier, for
// organizations and practitioners the export has no file of.
func (w *writer) logicalReference(k, system string, value []byte, display string) {
	w.l.open(k)
	if value != nil {
		w.l.open("identifier")
		w.l.lit("system", system)
		w.l.str("value", value)
		w.l.close()
	}
	if display != "" {
		w.l.text("display", display)
	}
	w.l.close()
}

// candidates returns the view columns that may hold field i: the one the
// options map it to, or else its default names.
func (s *spec) candidates(i int, columns map[string]string) []string {
	if c, ok := columns[s.fields[i].name]; ok {
		return []string{c}
	}
	return slices.Clone(s.fields[i].defaults)
}
