package x12

import (
	"fmt"
	"strconv"
	"time"
)

// start begins a segment with its id.
func (w *writer) start(id string) {
	w.seg = append(w.seg[:0], id...)
}

// raw appends an element whose value the writer made itself, such as a
// code, a date or a control number.
func (w *writer) raw(v string) {
	w.seg = append(w.seg, w.elem)
	w.seg = append(w.seg, v...)
}

// text appends an element from an option, cleaned like a value; options
// were checked for delimiters when the format was made.
func (w *writer) text(v string, max int) {
	w.seg = append(w.seg, w.elem)
	start := len(w.seg)
	w.seg, _, _ = w.appendValue(w.seg, []byte(v))
	w.cut(start, max)
}

// value appends field f of the current row, or an empty element when it
// is NULL or not in the view. The error names the column and the row,
// never the value.
func (w *writer) value(f, max int) error {
	w.seg = append(w.seg, w.elem)
	v := w.get(f)
	if v == nil {
		return nil
	}
	start := len(w.seg)
	var bad badChar
	var c byte
	w.seg, bad, c = w.appendValue(w.seg, v)
	switch bad {
	case charDelimiter:
		return w.fieldError(f, fmt.Sprintf("the value contains the %s %q", w.delimiterName(c), c))
	case charControl:
		return w.fieldError(f, "the value contains a control character such as a line break or a tab")
	case charOutside:
		return w.fieldError(f, "the value contains a character outside the X12 extended character set")
	}
	w.cut(start, max)
	return nil
}

func (w *writer) fieldError(f int, problem string) error {
	return fmt.Errorf("x12-834 row %d column %s: %s; fix the data or set the clean option to replace such characters with spaces",
		w.row, w.cols[w.idx[f]].Name, problem)
}

func (w *writer) delimiterName(c byte) string {
	switch c {
	case w.elem:
		return "element separator"
	case w.sub:
		return "sub-element separator"
	case w.rep:
		return "repetition separator"
	}
	return "segment terminator"
}

// cut shortens the value that starts at start to max characters.
func (w *writer) cut(start, max int) {
	if len(w.seg)-start > max {
		w.seg = w.seg[:start+max]
		for len(w.seg) > start && w.seg[len(w.seg)-1] == ' ' {
			w.seg = w.seg[:len(w.seg)-1]
		}
		w.truncated++
	}
}

// end drops trailing empty elements, which X12 does not allow, adds the
// terminator and writes the segment.
func (w *writer) end() {
	for len(w.seg) > 0 && w.seg[len(w.seg)-1] == w.elem {
		w.seg = w.seg[:len(w.seg)-1]
	}
	w.seg = append(w.seg, w.term)
	if w.opts.Newline {
		w.seg = append(w.seg, '\n')
	}
	w.segments++
	if _, err := w.out.Write(w.seg); err != nil && w.err == nil {
		w.err = err
	}
}

// get returns field f of the current row, nil when NULL or not in the view.
func (w *writer) get(f int) []byte {
	if i := w.idx[f]; i >= 0 {
		return w.fields[i]
	}
	return nil
}

// pad returns v padded with spaces to n characters, for the fixed-width
// ISA elements.
func pad(v string, n int) string {
	for len(v) < n {
		v += " "
	}
	return v
}

func (w *writer) header(now time.Time) {
	o := w.opts
	control := strconv.FormatInt(w.control, 10)

	// ISA is fixed width: every element has its exact length, so the
	// segment is 106 characters with its terminator, and a reader finds
	// the delimiters at fixed offsets.
	w.start("ISA")
	for _, v := range []string{
		"00", pad("", 10), "00", pad("", 10),
		pad(o.SenderQualifier, 2), pad(o.SenderID, 15), pad(o.ReceiverQualifier, 2), pad(o.ReceiverID, 15),
		now.Format("060102"), now.Format("1504"), string(w.rep), "00501", fmt.Sprintf("%09d", w.control),
		map[bool]string{false: "0", true: "1"}[o.AcknowledgmentRequested], o.Usage, string(w.sub),
	} {
		w.raw(v)
	}
	w.end()

	w.start("GS")
	for _, v := range []string{"BE", o.ApplicationSender, o.ApplicationReceiver, now.Format("20060102"), now.Format("1504"),
		control, "X", version} {
		w.raw(v)
	}
	w.end()

	w.segments = 0
	w.start("ST")
	w.raw("834")
	w.raw(w.transactionControl())
	w.raw(version)
	w.end()

	w.start("BGN")
	for _, v := range []string{o.Purpose, control, now.Format("20060102"), now.Format("1504"), "UT", "", "", o.Action} {
		w.raw(v)
	}
	w.end()

	if o.PolicyNumber != "" {
		w.start("REF")
		w.raw("38")
		w.text(o.PolicyNumber, 50)
		w.end()
	}

	for _, p := range []struct {
		code  string
		party Party
	}{{"P5", o.Sponsor}, {"IN", o.Payer}} {
		w.start("N1")
		w.raw(p.code)
		w.text(p.party.Name, 60)
		w.raw(p.party.IDQualifier)
		w.text(p.party.ID, 80)
		w.end()
	}
}

// transactionControl returns ST02 and SE02: the control number with at
// least four digits, as the element requires.
func (w *writer) transactionControl() string {
	return fmt.Sprintf("%04d", w.control)
}

// WriteRow writes the member loop and the coverage loop of one row.
func (w *writer) WriteRow(fields [][]byte) error {
	if w.err != nil {
		return w.err
	}
	if len(fields) != len(w.cols) {
		return fmt.Errorf("x12-834 row %d: %d fields, expected %d", w.row+1, len(fields), len(w.cols))
	}
	w.fields = fields
	w.row++
	// A row that fails leaves part of its loop in the file, so the error
	// sticks and Close reports it too.
	if err := w.member(); err != nil && w.err == nil {
		w.err = err
	}
	return w.err
}

func (w *writer) member() error {
	o := w.opts
	relationship := relationshipCode(w.get(fRelationship))
	subscriber := "N"
	if relationship == "18" {
		subscriber = "Y"
	}
	w.start("INS")
	for _, v := range []string{subscriber, relationship, o.MaintenanceType, o.MaintenanceReason, o.BenefitStatus} {
		w.raw(v)
	}
	w.end()

	w.start("REF")
	w.raw("0F")
	id := fSubscriberID
	if len(w.get(fSubscriberID)) == 0 {
		id = fMember
	}
	if len(w.get(id)) == 0 {
		return fmt.Errorf("x12-834 row %d: both subscriber id and member key are empty; REF*0F needs one", w.row)
	}
	if err := w.value(id, 50); err != nil {
		return err
	}
	w.end()

	if len(w.get(fGroupNumber)) > 0 {
		w.start("REF")
		w.raw("1L")
		if err := w.value(fGroupNumber, 50); err != nil {
			return err
		}
		w.end()
	}

	if err := w.name(); err != nil {
		return err
	}
	if err := w.address(); err != nil {
		return err
	}
	if err := w.demographics(); err != nil {
		return err
	}
	return w.coverage()
}

// name writes NM1*IL with the member's identifier: the SSN (qualifier 34)
// when the view has one, else the member key (ZZ, mutually defined).
func (w *writer) name() error {
	if len(w.get(fLastName)) == 0 {
		return fmt.Errorf("x12-834 row %d column %s: the last name is empty; NM103 requires it",
			w.row, w.cols[w.idx[fLastName]].Name)
	}
	w.start("NM1")
	w.raw("IL")
	w.raw("1")
	for _, f := range []struct{ field, max int }{{fLastName, 60}, {fFirstName, 35}, {fMiddleName, 25}} {
		if err := w.value(f.field, f.max); err != nil {
			return err
		}
	}
	w.raw("") // NM106, prefix
	w.raw("") // NM107, suffix
	switch {
	case len(w.get(fSSN)) > 0:
		ssn := make([]byte, 0, 9)
		for _, c := range w.get(fSSN) {
			if c >= '0' && c <= '9' {
				ssn = append(ssn, c)
			}
		}
		if len(ssn) != 9 {
			return fmt.Errorf("x12-834 row %d column %s: not a nine-digit SSN", w.row, w.cols[w.idx[fSSN]].Name)
		}
		w.raw("34")
		w.raw(string(ssn))
	case len(w.get(fMember)) > 0:
		w.raw("ZZ")
		if err := w.value(fMember, 80); err != nil {
			return err
		}
	}
	w.end()
	return nil
}

func (w *writer) address() error {
	if len(w.get(fAddress)) > 0 {
		w.start("N3")
		if err := w.value(fAddress, 55); err != nil {
			return err
		}
		w.end()
	}
	if len(w.get(fCity)) > 0 {
		w.start("N4")
		for _, f := range []struct{ field, max int }{{fCity, 30}, {fState, 2}, {fZip, 15}} {
			if err := w.value(f.field, f.max); err != nil {
				return err
			}
		}
		w.end()
	}
	return nil
}

// demographics writes DMG when the view has the birth date, which DMG02
// requires; the gender is M, F or U (unknown).
func (w *writer) demographics() error {
	if w.get(fBirthDate) == nil {
		return nil
	}
	date, err := w.date(fBirthDate)
	if err != nil {
		return err
	}
	g := "U"
	switch v := w.get(fGender); {
	case len(v) > 0 && (v[0] == 'M' || v[0] == 'm'):
		g = "M"
	case len(v) > 0 && (v[0] == 'F' || v[0] == 'f'):
		g = "F"
	}
	w.start("DMG")
	w.raw("D8")
	w.raw(date)
	w.raw(g)
	w.end()
	return nil
}

// coverage writes the health coverage loop: HD and its dates.
func (w *writer) coverage() error {
	w.start("HD")
	w.raw(w.opts.MaintenanceType)
	w.raw("")
	w.raw(w.opts.InsuranceLine)
	if err := w.value(fPlanName, 50); err != nil {
		return err
	}
	w.end()

	if w.get(fStartDate) == nil {
		return fmt.Errorf("x12-834 row %d column %s: the coverage start date is NULL; DTP*348 requires it",
			w.row, w.cols[w.idx[fStartDate]].Name)
	}
	for _, d := range []struct {
		qualifier string
		field     int
	}{{"348", fStartDate}, {"349", fEndDate}} {
		if w.get(d.field) == nil {
			continue
		}
		date, err := w.date(d.field)
		if err != nil {
			return err
		}
		w.start("DTP")
		w.raw(d.qualifier)
		w.raw("D8")
		w.raw(date)
		w.end()
	}
	return nil
}

// date returns field f as CCYYMMDD. A year or a month from a
// de-identifying transform has no D8 form.
func (w *writer) date(f int) (string, error) {
	v := w.get(f)
	ok := len(v) >= 10 && (len(v) == 10 || v[10] == ' ')
	for i := 0; ok && i < 10; i++ {
		if i == 4 || i == 7 {
			ok = v[i] == '-'
		} else {
			ok = v[i] >= '0' && v[i] <= '9'
		}
	}
	if !ok {
		return "", fmt.Errorf("x12-834 row %d column %s: not a full date (YYYY-MM-DD); an 834 needs CCYYMMDD, "+
			"so select the column without a year or month transform", w.row, w.cols[w.idx[f]].Name)
	}
	return string(v[0:4]) + string(v[5:7]) + string(v[8:10]), nil
}

// relationshipCode maps the mart's relationship to INS02: 18 (self), 01
// (spouse), 19 (child) or G8 (other relationship). A two-character value
// is taken as a code already. No relationship column means self.
func relationshipCode(v []byte) string {
	s := string(v)
	switch {
	case v == nil, equalFold(s, "self"), equalFold(s, "subscriber"):
		return "18"
	case equalFold(s, "spouse"):
		return "01"
	case equalFold(s, "child"):
		return "19"
	case len(v) == 2 && isAlnum(v[0]) && isAlnum(v[1]):
		return s
	}
	return "G8"
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Close writes SE, GE and IEA and flushes. SE01 counts the segments from
// ST through SE.
func (w *writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	control := strconv.FormatInt(w.control, 10)
	w.start("SE")
	w.raw(strconv.FormatInt(w.segments+1, 10))
	w.raw(w.transactionControl())
	w.end()

	w.start("GE")
	w.raw("1")
	w.raw(control)
	w.end()

	w.start("IEA")
	w.raw("1")
	w.raw(fmt.Sprintf("%09d", w.control))
	w.end()
	if w.err != nil {
		return w.err
	}
	return w.out.Flush()
}
