package synthea

import (
	"fmt"
	"strings"
)

// InputError reports an export that cannot be imported: a missing file, a
// missing column, or a value that is malformed or refers to nothing. Test for
// it with errors.As. Its message names the file, the line and the column but
// never repeats the value, because the value may be a member's data.
type InputError struct {
	// File is the CSV file name, such as patients.csv.
	File string

	// Line is the 1-based line number of the record, counting the header as
	// line 1, or 0 when the problem concerns the whole file.
	Line int

	// Column is the CSV header of the column at fault, or "" when the
	// problem concerns a whole record or file.
	Column string

	// Problem describes what is wrong and what was expected.
	Problem string
}

func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, " column %s", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	return b.String()
}
