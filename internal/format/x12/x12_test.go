package x12_test

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/format"
	"github.com/axtract/axtract/internal/format/x12"
)

// interchange is an 834 split into segments and elements by a tokenizer
// that follows only the ISA rules: the element separator is the fourth
// character, the sub-element separator the 105th and the segment
// terminator the 106th.
type interchange struct {
	isa      string
	elem     byte
	sub      byte
	term     byte
	segments [][]string
}

func parse(t *testing.T, data []byte) *interchange {
	t.Helper()
	if len(data) < 106 || string(data[:3]) != "ISA" {
		t.Fatalf("interchange does not start with a 106-character ISA: %q", data)
	}
	ix := &interchange{isa: string(data[:106]), elem: data[3], sub: data[104], term: data[105]}
	for _, raw := range strings.Split(string(data), string(ix.term)) {
		raw = strings.TrimPrefix(raw, "\n")
		if raw == "" {
			continue
		}
		ix.segments = append(ix.segments, strings.Split(raw, string(ix.elem)))
	}
	return ix
}

// find returns the segments with the given id.
func (ix *interchange) find(id string) [][]string {
	var out [][]string
	for _, s := range ix.segments {
		if s[0] == id {
			out = append(out, s)
		}
	}
	return out
}

func (ix *interchange) one(t *testing.T, id string) []string {
	t.Helper()
	s := ix.find(id)
	if len(s) != 1 {
		t.Fatalf("%d %s segments, want 1", len(s), id)
	}
	return s[0]
}

var enrollmentColumns = []format.Column{
	{Name: "member_id", Type: "uuid"},
	{Name: "subscriber_id", Type: "text"},
	{Name: "relationship", Type: "text"},
	{Name: "plan_name", Type: "text"},
	{Name: "start_date", Type: "date"},
	{Name: "end_date", Type: "date"},
	{Name: "first_name", Type: "text"},
	{Name: "last_name", Type: "text"},
	{Name: "birth_date", Type: "date"},
	{Name: "gender", Type: "text"},
	{Name: "address", Type: "text"},
	{Name: "city", Type: "text"},
	{Name: "state", Type: "text"},
	{Name: "zip", Type: "text"},
}

const baseOptions = `{"sender_id": "AXTRACT", "receiver_id": "ACMEPBM",
	"sponsor": {"name": "Example Employer", "id": "123456789"},
	"payer": {"name": "Example Health Plan", "id": "987654321"}}`

// row makes a row of enrollmentColumns; "NULL" stands for SQL NULL.
func row(values ...string) [][]byte {
	out := make([][]byte, len(values))
	for i, v := range values {
		if v != "NULL" {
			out[i] = []byte(v)
		}
	}
	return out
}

var threeMembers = [][][]byte{
	row("00000000-0000-4000-8000-000000000001", "S1001", "self", "Gold PPO", "2026-01-01", "NULL",
		"Ann", "Lee", "1970-01-02", "F", "1 Main St", "Springfield", "IL", "62701"),
	row("00000000-0000-4000-8000-000000000002", "S1001", "spouse", "Gold PPO", "2026-01-01", "2026-12-31",
		"Bob", "Lee", "1971-03-04", "M", "1 Main St", "Springfield", "IL", "62701"),
	row("00000000-0000-4000-8000-000000000003", "S1001", "child", "Gold PPO", "2026-02-01", "NULL",
		"Cy", "Lee", "2010-05-06", "NULL", "NULL", "NULL", "NULL", "NULL"),
}

func newFormat(t *testing.T, options string) format.Format {
	t.Helper()
	f, err := x12.New(json.RawMessage(options))
	if err != nil {
		t.Fatalf("x12.New(%s): %v", options, err)
	}
	return f
}

var testInfo = format.Info{RunID: 7, Feed: "acme-834", Partner: "acme", ControlNumber: 42,
	Now: time.Date(2026, 12, 4, 17, 30, 0, 0, time.UTC)}

func write(t *testing.T, f format.Format, rows [][][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := f.NewWriter(&buf, enrollmentColumns, testInfo)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	for i, r := range rows {
		if err := w.WriteRow(r); err != nil {
			t.Fatalf("WriteRow %d: %v", i+1, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

func TestInterchangeThreeMembers(t *testing.T) {
	t.Parallel()
	f := newFormat(t, baseOptions)
	if f.Kind() != "x12-834" || f.Extension() != ".x12" {
		t.Errorf("Kind, Extension = %q, %q", f.Kind(), f.Extension())
	}
	data := write(t, f, threeMembers)
	ix := parse(t, data)

	if got := len(ix.isa); got != 106 {
		t.Errorf("ISA is %d characters, want 106", got)
	}
	isa := strings.Split(ix.isa[:105], string(ix.elem))
	if len(isa) != 17 {
		t.Fatalf("ISA has %d elements, want 16", len(isa)-1)
	}
	for i, width := range []int{0, 2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1} {
		if i > 0 && len(isa[i]) != width {
			t.Errorf("ISA%02d = %q, %d characters, want %d", i, isa[i], len(isa[i]), width)
		}
	}
	if isa[6] != "AXTRACT        " || isa[8] != "ACMEPBM        " {
		t.Errorf("ISA06, ISA08 = %q, %q", isa[6], isa[8])
	}
	if isa[13] != "000000042" {
		t.Errorf("ISA13 = %q, want 000000042", isa[13])
	}
	if isa[15] != "T" || isa[11] != "^" || isa[12] != "00501" || isa[16] != ":" {
		t.Errorf("ISA15, ISA11, ISA12, ISA16 = %q, %q, %q, %q", isa[15], isa[11], isa[12], isa[16])
	}

	iea := ix.one(t, "IEA")
	gs := ix.one(t, "GS")
	ge := ix.one(t, "GE")
	st := ix.one(t, "ST")
	se := ix.one(t, "SE")
	if iea[2] != isa[13] {
		t.Errorf("IEA02 = %q, ISA13 = %q", iea[2], isa[13])
	}
	if gs[6] != ge[2] {
		t.Errorf("GS06 = %q, GE02 = %q", gs[6], ge[2])
	}
	if st[2] != se[2] {
		t.Errorf("ST02 = %q, SE02 = %q", st[2], se[2])
	}
	if gs[1] != "BE" || gs[8] != "005010X220A1" || st[1] != "834" || st[3] != "005010X220A1" {
		t.Errorf("GS = %v, ST = %v", gs, st)
	}
	if ge[1] != strconv.Itoa(len(ix.find("ST"))) {
		t.Errorf("GE01 = %q, but %d ST segments", ge[1], len(ix.find("ST")))
	}
	if iea[1] != strconv.Itoa(len(ix.find("GS"))) {
		t.Errorf("IEA01 = %q, but %d GS segments", iea[1], len(ix.find("GS")))
	}

	// SE01 counts ST through SE.
	first, last := -1, -1
	for i, s := range ix.segments {
		switch s[0] {
		case "ST":
			first = i
		case "SE":
			last = i
		}
	}
	if se[1] != strconv.Itoa(last-first+1) {
		t.Errorf("SE01 = %q, but %d segments from ST to SE", se[1], last-first+1)
	}

	ins := ix.find("INS")
	if len(ins) != 3 {
		t.Fatalf("%d INS segments, want 3", len(ins))
	}
	wantINS := [][]string{
		{"INS", "Y", "18", "030", "", "A"},
		{"INS", "N", "01", "030", "", "A"},
		{"INS", "N", "19", "030", "", "A"},
	}
	for i, want := range wantINS {
		if strings.Join(ins[i], "*") != strings.Join(want, "*") {
			t.Errorf("INS %d = %v, want %v", i+1, ins[i], want)
		}
	}
	nm1 := ix.find("NM1")
	if got := strings.Join(nm1[0], "*"); got != "NM1*IL*1*LEE*ANN****ZZ*00000000-0000-4000-8000-000000000001" {
		t.Errorf("NM1 of member 1 = %s", got)
	}
	if got := len(ix.find("DTP")); got != 4 {
		t.Errorf("%d DTP segments, want 4 (three 348, one 349)", got)
	}
	if got := strings.Join(ix.find("DMG")[1], "*"); got != "DMG*D8*19710304*M" {
		t.Errorf("DMG of member 2 = %s", got)
	}
	if got := strings.Join(ix.find("DMG")[2], "*"); got != "DMG*D8*20100506*U" {
		t.Errorf("DMG of member 3 = %s", got)
	}
	if got := len(ix.find("N3")); got != 2 {
		t.Errorf("%d N3 segments, want 2 (member 3 has no address)", got)
	}
	n1 := ix.find("N1")
	if len(n1) != 2 || strings.Join(n1[0], "*") != "N1*P5*EXAMPLE EMPLOYER*FI*123456789" ||
		strings.Join(n1[1], "*") != "N1*IN*EXAMPLE HEALTH PLAN*FI*987654321" {
		t.Errorf("N1 segments = %v", n1)
	}
	if got := strings.Join(ix.one(t, "BGN"), "*"); got != "BGN*00*42*20261204*1730*UT***4" {
		t.Errorf("BGN = %s", got)
	}
	if got := strings.Join(ix.find("HD")[0], "*"); got != "HD*030**HLT*GOLD PPO" {
		t.Errorf("HD = %s", got)
	}
}

func TestDelimiterInValueRejected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, value, what string
	}{
		{"segment terminator", "O~Brien", "segment terminator"},
		{"element separator", "O*Brien", "element separator"},
		{"sub-element separator", "O:Brien", "sub-element separator"},
		{"repetition separator", "O^Brien", "repetition separator"},
		{"line break", "O\nBrien", "control character"},
		{"outside character set", "O李Brien", "outside the X12 extended character set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rows := [][][]byte{threeMembers[0], cloneRow(threeMembers[1])}
			rows[1][7] = []byte(tc.value)
			w, err := newFormat(t, baseOptions).NewWriter(&bytes.Buffer{}, enrollmentColumns, testInfo)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteRow(rows[0]); err != nil {
				t.Fatal(err)
			}
			err = w.WriteRow(rows[1])
			if err == nil {
				t.Fatalf("WriteRow accepted a last name with a %s", tc.name)
			}
			msg := err.Error()
			for _, want := range []string{"row 2", "column last_name", tc.what} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name %q", msg, want)
				}
			}
			if strings.Contains(msg, "Brien") {
				t.Errorf("error %q contains the value", msg)
			}
			if err := w.Close(); err == nil {
				t.Error("Close after a failed row returned no error")
			}
		})
	}
}

func cloneRow(r [][]byte) [][]byte {
	out := make([][]byte, len(r))
	for i, v := range r {
		if v != nil {
			out[i] = bytes.Clone(v)
		}
	}
	return out
}

func TestCleanReplacesDelimiters(t *testing.T) {
	t.Parallel()
	options := strings.Replace(baseOptions, "{", `{"clean": true, `, 1)
	r := cloneRow(threeMembers[0])
	r[7] = []byte("O~Brien*Smith:Jr^\tLi李")
	ix := parse(t, write(t, newFormat(t, options), [][][]byte{r}))
	if got := ix.one(t, "NM1")[3]; got != "O BRIEN SMITH JR  LI" {
		t.Errorf("NM103 = %q, want %q", got, "O BRIEN SMITH JR  LI")
	}
	if got := len(ix.find("INS")); got != 1 {
		t.Errorf("%d INS segments, want 1", got)
	}
}

func TestNonASCIIFolded(t *testing.T) {
	t.Parallel()
	r := cloneRow(threeMembers[0])
	r[6] = []byte("José")
	r[7] = []byte("Müller-Ærø")
	ix := parse(t, write(t, newFormat(t, baseOptions), [][][]byte{r}))
	nm1 := ix.one(t, "NM1")
	if nm1[3] != "MULLER-AERO" || nm1[4] != "JOSE" {
		t.Errorf("NM103, NM104 = %q, %q, want MULLER-AERO, JOSE", nm1[3], nm1[4])
	}

	keep := strings.Replace(baseOptions, "{", `{"keep_case": true, `, 1)
	ix = parse(t, write(t, newFormat(t, keep), [][][]byte{r}))
	if got := ix.one(t, "NM1")[3]; got != "Muller-AEro" {
		t.Errorf("NM103 with keep_case = %q, want Muller-AEro", got)
	}
}

func TestCustomDelimitersAndNewline(t *testing.T) {
	t.Parallel()
	options := strings.Replace(baseOptions, "{", `{"element_separator": "|", "sub_element_separator": ">", `+
		`"repetition_separator": "!", "segment_terminator": "'", "newline": true, "usage": "P", `, 1)
	data := write(t, newFormat(t, options), threeMembers)
	ix := parse(t, data)
	if ix.elem != '|' || ix.sub != '>' || ix.term != '\'' {
		t.Errorf("delimiters = %q %q %q", ix.elem, ix.sub, ix.term)
	}
	if data[106] != '\n' {
		t.Errorf("character after ISA = %q, want a line feed", data[106])
	}
	if got := ix.isa[82]; got != '!' {
		t.Errorf("ISA11 = %q, want !", got)
	}
	if got := strings.Split(ix.isa, "|")[15]; got != "P" {
		t.Errorf("ISA15 = %q, want P", got)
	}
	if n := bytes.Count(data, []byte("'\n")); n != len(ix.segments) {
		t.Errorf("%d terminators followed by a line feed, want %d", n, len(ix.segments))
	}
}

func TestControlNumberRange(t *testing.T) {
	t.Parallel()
	f := newFormat(t, baseOptions)
	for _, n := range []int64{0, -1, 1_000_000_000} {
		info := testInfo
		info.ControlNumber = n
		if _, err := f.NewWriter(&bytes.Buffer{}, enrollmentColumns, info); err == nil {
			t.Errorf("NewWriter accepted control number %d", n)
		}
	}
	info := testInfo
	info.ControlNumber = 999_999_999
	var buf bytes.Buffer
	w, err := f.NewWriter(&buf, enrollmentColumns, info)
	if err != nil {
		t.Fatalf("NewWriter with control number 999999999: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ix := parse(t, buf.Bytes())
	if got := ix.one(t, "IEA")[2]; got != "999999999" {
		t.Errorf("IEA02 = %q", got)
	}
	if got := ix.one(t, "ST")[2]; got != "999999999" {
		t.Errorf("ST02 = %q", got)
	}
}

func TestOptionsRejected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, options, want string
	}{
		{"missing sender", `{"receiver_id": "B", "sponsor": {"name": "S", "id": "12"}, "payer": {"name": "P", "id": "34"}}`, "sender_id is missing"},
		{"same delimiters", strings.Replace(baseOptions, "{", `{"segment_terminator": "*", `, 1), "delimiters must differ"},
		{"letter delimiter", strings.Replace(baseOptions, "{", `{"element_separator": "A", `, 1), "element_separator"},
		{"usage", strings.Replace(baseOptions, "{", `{"usage": "X", `, 1), "usage"},
		{"delimiter in sponsor", strings.Replace(baseOptions, "Example Employer", "Example*Employer", 1), "sponsor.name"},
		{"long sender", strings.Replace(baseOptions, "AXTRACT", "AXTRACT-SENDER-ID", 1), "sender_id"},
		{"unknown option", strings.Replace(baseOptions, "{", `{"sender": "x", `, 1), "unknown field"},
		{"unknown column field", strings.Replace(baseOptions, "{", `{"columns": {"surname": "x"}, `, 1), "surname"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := x12.New(json.RawMessage(tc.options))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestYearOnlyDateRejected(t *testing.T) {
	t.Parallel()
	cols := append([]format.Column(nil), enrollmentColumns...)
	cols[8] = format.Column{Name: "birth_date", Type: "integer"}
	w, err := newFormat(t, baseOptions).NewWriter(&bytes.Buffer{}, cols, testInfo)
	if err != nil {
		t.Fatal(err)
	}
	r := cloneRow(threeMembers[0])
	r[8] = []byte("1970")
	err = w.WriteRow(r)
	if err == nil || !strings.Contains(err.Error(), "column birth_date") {
		t.Errorf("WriteRow with a birth year = %v, want an error naming birth_date", err)
	}
}

func TestColumnMapping(t *testing.T) {
	t.Parallel()
	cols := []format.Column{{Name: "key"}, {Name: "surname"}, {Name: "begins"}}
	options := strings.Replace(baseOptions, "{", `{"columns": {"member_id": "key", "last_name": "surname", "start_date": "begins"}, `, 1)
	var buf bytes.Buffer
	w, err := newFormat(t, options).NewWriter(&buf, cols, testInfo)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRow(row("K1", "Doe", "2026-03-01")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ix := parse(t, buf.Bytes())
	if got := strings.Join(ix.one(t, "REF"), "*"); got != "REF*0F*K1" {
		t.Errorf("REF = %s", got)
	}
	if got := strings.Join(ix.one(t, "DTP"), "*"); got != "DTP*348*D8*20260301" {
		t.Errorf("DTP = %s", got)
	}

	if _, err := newFormat(t, baseOptions).NewWriter(&buf, cols, testInfo); err == nil ||
		!strings.Contains(err.Error(), "last_name") {
		t.Errorf("NewWriter without a last name column = %v, want an error naming last_name", err)
	}
}

func TestLongValueTruncatedAndCounted(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := newFormat(t, baseOptions).NewWriter(&buf, enrollmentColumns, testInfo)
	if err != nil {
		t.Fatal(err)
	}
	r := cloneRow(threeMembers[0])
	r[12] = []byte("Illinois")
	if err := w.WriteRow(r); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := parse(t, buf.Bytes()).one(t, "N4")[2]; got != "IL" {
		t.Errorf("N402 = %q, want IL", got)
	}
	if got := w.(format.Counter).Counts()["truncated_values"]; got != 1 {
		t.Errorf("truncated_values = %d, want 1", got)
	}
}
