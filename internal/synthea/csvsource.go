package synthea

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
)

// fileSpec describes one Synthea CSV file and the temporary table it is
// staged in.
type fileSpec struct {
	file  string // CSV file name, such as patients.csv
	stage string // temporary staging table

	// key is the staging column that holds the row's id, named like the key
	// of the mart table. When keyDerived is set, the file has no id column
	// and the key is a name-based UUID of the file name and the row's fields.
	key        string
	keyDerived bool

	// rekeyOrder, when set, lets a key repeat within the file. Sorted by
	// this ORDER BY list, the first row of a repeated key keeps it and each
	// later row gets a key derived from it. Files with derived keys always
	// re-key in line order, so identical records stay separate rows; other
	// files without rekeyOrder reject a repeated key.
	rekeyOrder string

	columns []column

	// check, when set, validates fields that depend on each other. It
	// returns the header of the column at fault and the problem, or "" and
	// "" when the row is valid.
	check func(row stagedRow) (header, problem string)
}

// column maps one CSV header to one staging column.
type column struct {
	header   string // CSV header, matched without regard to case
	name     string // staging column
	kind     kind
	optional bool // the file may lack the column, which then stages NULL
	notNull  bool // every row must have a non-empty value
}

// rowSource streams the records of one CSV file to pgx CopyFrom, parsing and
// validating each field on the way. The staged columns are the line number,
// the derived key (for files without ids) and then spec.columns in order.
type rowSource struct {
	spec   *fileSpec
	file   *os.File
	reader *csv.Reader
	fields []int // CSV field index of each spec column, -1 when absent
	hasher *rowHasher
	raw    []string
	values []any
	line   int
	rows   int64
	err    error
}

func openRowSource(dir string, spec *fileSpec) (*rowSource, error) {
	f, err := os.Open(filepath.Join(dir, spec.file))
	if errors.Is(err, os.ErrNotExist) {
		return nil, &InputError{File: spec.file, Problem: fmt.Sprintf("file not found in %s, expected a Synthea CSV export with claims", dir)}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", spec.file, err)
	}

	reader := csv.NewReader(f)
	reader.ReuseRecord = true
	s := &rowSource{
		spec:   spec,
		file:   f,
		reader: reader,
		raw:    make([]string, len(spec.columns)),
		values: make([]any, len(spec.stagedColumns())),
	}
	if spec.keyDerived {
		s.hasher = newRowHasher()
	}
	if err := s.readHeader(); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func (s *rowSource) readHeader() error {
	header, err := s.reader.Read()
	if err == io.EOF {
		return &InputError{File: s.spec.file, Problem: "empty file, expected a header line"}
	}
	if err != nil {
		return s.csvError(err)
	}

	positions := make(map[string]int, len(header))
	for i, name := range header {
		if i == 0 {
			name = strings.TrimPrefix(name, "\uFEFF")
		}
		name = strings.ToUpper(strings.TrimSpace(name))
		if _, dup := positions[name]; dup {
			return &InputError{File: s.spec.file, Line: 1, Column: name, Problem: "duplicate column in the header"}
		}
		positions[name] = i
	}

	s.fields = make([]int, len(s.spec.columns))
	for i, col := range s.spec.columns {
		pos, ok := positions[strings.ToUpper(col.header)]
		if !ok && !col.optional {
			return &InputError{File: s.spec.file, Line: 1, Column: col.header, Problem: "missing column in the header"}
		}
		if !ok {
			pos = -1
		}
		s.fields[i] = pos
	}
	return nil
}

// Next reads and validates the next record. It returns false at the end of
// the file or on the first invalid record, whose error Err returns.
func (s *rowSource) Next() bool {
	if s.err != nil {
		return false
	}
	record, err := s.reader.Read()
	if err == io.EOF {
		return false
	}
	if err != nil {
		s.err = s.csvError(err)
		return false
	}
	s.line, _ = s.reader.FieldPos(0)
	s.rows++

	for i, pos := range s.fields {
		s.raw[i] = ""
		if pos >= 0 {
			s.raw[i] = record[pos]
		}
	}

	s.values[0] = int64(s.line)
	offset := 1
	if s.spec.keyDerived {
		s.values[1] = pgtype.UUID{Bytes: s.hasher.id(s.spec.file, s.raw), Valid: true}
		offset = 2
	}
	for i, col := range s.spec.columns {
		value, err := s.parseField(col, s.raw[i])
		if err != nil {
			s.err = &InputError{File: s.spec.file, Line: s.line, Column: col.header, Problem: err.Error()}
			return false
		}
		s.values[offset+i] = value
	}

	if s.spec.check != nil {
		if header, problem := s.spec.check(stagedRow{s}); problem != "" {
			s.err = &InputError{File: s.spec.file, Line: s.line, Column: header, Problem: problem}
			return false
		}
	}
	return true
}

func (s *rowSource) parseField(col column, field string) (any, error) {
	if field == "" {
		if col.notNull {
			return nil, errors.New("missing value")
		}
		return nil, nil
	}
	return col.kind.parse(field)
}

// Values returns the staged values of the current record. The slice is
// reused by the next call to Next.
func (s *rowSource) Values() ([]any, error) { return s.values, nil }

func (s *rowSource) Err() error { return s.err }

func (s *rowSource) Close() error { return s.file.Close() }

// csvError turns an encoding/csv error into an InputError. The csv package
// puts no field contents in its messages.
func (s *rowSource) csvError(err error) error {
	var parseErr *csv.ParseError
	if !errors.As(err, &parseErr) {
		return fmt.Errorf("read %s: %w", s.spec.file, err)
	}
	problem := "malformed CSV: " + parseErr.Err.Error()
	if errors.Is(parseErr.Err, csv.ErrFieldCount) {
		problem = "wrong number of fields, expected as many as the header has"
	}
	return &InputError{File: s.spec.file, Line: parseErr.StartLine, Problem: problem}
}

// stagedRow gives a check function access to the current record of a
// rowSource by staging column name.
type stagedRow struct{ source *rowSource }

// value returns the parsed value of a staging column, nil for NULL.
func (r stagedRow) value(name string) any {
	offset := 1
	if r.source.spec.keyDerived {
		offset = 2
	}
	for i, col := range r.source.spec.columns {
		if col.name == name {
			return r.source.values[offset+i]
		}
	}
	panic("synthea: no staging column " + name + " in " + r.source.spec.file)
}

// stagedColumns returns the staging table's columns in COPY order: the line
// number, the derived key when there is one, then the mapped columns.
func (f *fileSpec) stagedColumns() []string {
	names := []string{"line"}
	if f.keyDerived {
		names = append(names, f.key)
	}
	for _, col := range f.columns {
		names = append(names, col.name)
	}
	return names
}

// createStageSQL returns the statement that creates the staging table.
func (f *fileSpec) createStageSQL() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TEMPORARY TABLE %s (\n    line bigint NOT NULL", f.stage)
	if f.keyDerived {
		fmt.Fprintf(&b, ",\n    %s uuid NOT NULL", f.key)
	}
	for _, col := range f.columns {
		fmt.Fprintf(&b, ",\n    %s %s", col.name, col.kind.sqlType)
	}
	b.WriteString("\n) ON COMMIT DROP")
	return b.String()
}
