package quality

import (
	"fmt"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/axtract/axtract/internal/format"
)

// Checker is a format.Writer that measures the rows it passes on to another
// Writer: the row count, the NULLs of every column and, for unique columns,
// the distinct values and the duplicates. Counting NULLs allocates nothing
// per row. A unique column costs one hash per non-NULL value, appended to a
// list of 8-byte hashes in which Result counts the duplicates once. The list
// holds up to Rules.UniqueMaxValues hashes and counting partitions a copy of
// it, so a unique column takes about 16 bytes per value: 16 MB for the
// default million values.
//
// A Checker is not safe for concurrent use, as a Decoder calls it from one
// goroutine.
type Checker struct {
	w      format.Writer
	rules  *Rules
	cols   []format.Column
	rows   int64
	nulls  []int64
	unique []uniqueColumn
	// measured is false for a Checker made by CheckRows, which saw no
	// column values.
	measured bool
	seed     maphash.Seed
}

type uniqueColumn struct {
	index  int
	limit  int64
	hashes hashList
	// overflow is set when the column had more than limit non-NULL values.
	// Tracking stops there: the hashes so far are counted and freed.
	overflow bool
}

// NewChecker returns a Checker that measures rows of columns cols for rules
// and writes them to w. It returns an error naming the rule and the column
// when a rule names a column the view does not have.
func NewChecker(w format.Writer, cols []format.Column, rules *Rules) (*Checker, error) {
	if rules == nil {
		rules = &Rules{}
	}
	c := &Checker{
		w:        w,
		rules:    rules,
		cols:     cols,
		nulls:    make([]int64, len(cols)),
		measured: true,
		seed:     maphash.MakeSeed(),
	}
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = col.Name
	}
	check := func(rule, column string) error {
		if !slices.Contains(names, column) {
			return fmt.Errorf("%w: %s names column %s, which the view does not have (columns: %s); set the rules again with axtract.feed_quality_set",
				ErrInvalidRules, rule, column, strings.Join(names, ", "))
		}
		return nil
	}
	for _, column := range sortedKeys(rules.MaxNullPct) {
		if err := check("max_null_pct", column); err != nil {
			return nil, err
		}
	}
	for _, column := range rules.RequiredColumns {
		if err := check("required_columns", column); err != nil {
			return nil, err
		}
	}
	for _, column := range rules.UniqueColumns {
		if err := check("unique_columns", column); err != nil {
			return nil, err
		}
		c.unique = append(c.unique, uniqueColumn{index: slices.Index(names, column), limit: rules.uniqueMaxValues()})
	}
	return c, nil
}

// CheckRows returns a Checker for a run whose rows did not pass through a
// Checker, such as a csv feed that takes COPY's own CSV output, from the row
// count of the COPY. It returns an error when a rule needs column values.
func CheckRows(rules *Rules, rows int64) (*Checker, error) {
	if rules != nil && rules.NeedsColumns() {
		return nil, fmt.Errorf("quality rules max_null_pct, required_columns and unique_columns need the rows to pass through a Checker")
	}
	if rules == nil {
		rules = &Rules{}
	}
	return &Checker{rules: rules, rows: rows}, nil
}

// WriteRow measures one row and writes it to the wrapped Writer.
func (c *Checker) WriteRow(fields [][]byte) error {
	if len(fields) != len(c.nulls) {
		return fmt.Errorf("quality check: row has %d fields, expected %d", len(fields), len(c.nulls))
	}
	nulls := c.nulls[:len(fields)]
	for i, f := range fields {
		if f == nil {
			nulls[i]++
		}
	}
	for k := range c.unique {
		u := &c.unique[k]
		if f := fields[u.index]; f != nil && !u.overflow {
			c.track(u, f)
		}
	}
	if err := c.w.WriteRow(fields); err != nil {
		return err
	}
	c.rows++
	return nil
}

// RowSkipped passes on format.Skipper of the wrapped Writer, so callers
// behind the Checker learn which rows the file left out.
func (c *Checker) RowSkipped() bool {
	s, ok := c.w.(format.Skipper)
	return ok && s.RowSkipped()
}

// track adds one value of a unique column to its set.
func (c *Checker) track(u *uniqueColumn, value []byte) {
	if int64(len(u.hashes.values)) >= u.limit {
		u.overflow = true
		u.hashes.release()
		return
	}
	if len(u.hashes.values) == cap(u.hashes.values) {
		u.hashes.grow(u.limit)
	}
	u.hashes.values = append(u.hashes.values, maphash.Bytes(c.seed, value))
}

// Close closes the wrapped Writer.
func (c *Checker) Close() error {
	return c.w.Close()
}

// Counts returns the counts of the wrapped Writer, when it keeps any, so a
// Checker can stand in for it where a format.Counter is expected.
func (c *Checker) Counts() map[string]int64 {
	if counter, ok := c.w.(format.Counter); ok {
		return counter.Counts()
	}
	return nil
}

// Rows returns the number of rows written so far.
func (c *Checker) Rows() int64 { return c.rows }
