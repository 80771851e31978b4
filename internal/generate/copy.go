package generate

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// chunkRows streams the rows of one table for the members of a chunk. fill
// appends the rows of the chunk's k-th member to the buffer, and CopyFrom
// takes them one at a time, so only one member's rows are held at once.
type chunkRows struct {
	members int
	fill    func(k int, rows *rowBuffer)
	next    int // next member to fill
	buf     rowBuffer
	pos     int // rows of buf already returned
}

// rowBuffer holds the rows of one member. Its row slices are reused, so a
// row is valid only until the next fill.
type rowBuffer struct {
	width int
	rows  [][]any
	n     int
}

// add returns the next row to fill.
func (b *rowBuffer) add() []any {
	if b.n == len(b.rows) {
		b.rows = append(b.rows, make([]any, b.width))
	}
	row := b.rows[b.n]
	b.n++
	return row
}

func (s *chunkRows) Next() bool {
	for s.pos >= s.buf.n {
		if s.next >= s.members {
			return false
		}
		s.buf.n, s.pos = 0, 0
		s.fill(s.next, &s.buf)
		s.next++
	}
	s.pos++
	return true
}

func (s *chunkRows) Values() ([]any, error) { return s.buf.rows[s.pos-1], nil }

func (s *chunkRows) Err() error { return nil }

// copyChunk copies the rows of one table for one chunk of members with a
// single COPY.
func copyChunk(ctx context.Context, tx pgx.Tx, table string, columns []string, members int, fill func(k int, rows *rowBuffer)) (int64, error) {
	src := &chunkRows{members: members, fill: fill, buf: rowBuffer{width: len(columns)}}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"mart", table}, columns, src)
	if err != nil {
		return n, fmt.Errorf("copy into mart.%s: %w", table, err)
	}
	return n, nil
}

// copyRows copies rows held in memory, for the small reference tables.
func copyRows(ctx context.Context, tx pgx.Tx, table string, columns []string, rows [][]any) (int64, error) {
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"mart", table}, columns, pgx.CopyFromRows(rows))
	if err != nil {
		return n, fmt.Errorf("copy into mart.%s: %w", table, err)
	}
	return n, nil
}
