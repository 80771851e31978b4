package extract

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/format"
)

// The accounting of disclosures needs the members whose rows a run wrote.
// Reading them again from the view's member-id view repeats the whole
// query, consent policies and joins included, which cost about as much as
// the extract. When the view itself has a column that names each row's
// member, its id or the partner's pseudonym of it
// (axtract.view_member_key), the extract collects that column's distinct
// values from the rows it writes and records the disclosures from them
// (privacy.RecordDisclosureKeys). A run falls back to the member-id view
// when the view has no such column, when a row's key is NULL (a member
// loaded after the pseudonyms were assigned) or not a UUID, and when the
// keys outgrow maxMemberKeys.

// maxMemberKeys bounds the distinct member keys one part collects, so the
// extract's memory stays flat. A map of 500,000 keys measured 38 bytes a
// key with Go 1.26, so this many take about 9 MiB. Their list for the
// database takes 4 MiB more.
const maxMemberKeys = 250_000

// memberKey is a view's column that names each row's member.
type memberKey struct {
	column string
	// kind is member_id for the member id, pseudonym for the partner's
	// pseudonym of it.
	kind string
}

// readMemberKeys returns the member key of each view of the partner slug
// that has one, read in tx before it becomes the partner's role.
func readMemberKeys(ctx context.Context, tx pgx.Tx, slug string, views []string) (map[string]memberKey, error) {
	keys := map[string]memberKey{}
	for _, view := range views {
		var k memberKey
		err := tx.QueryRow(ctx, "SELECT column_name, kind FROM axtract.view_member_key($1, $2)", slug, view).Scan(&k.column, &k.kind)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("look up the member key of view %s: %w", view, err)
		}
		keys[view] = k
	}
	return keys, nil
}

// keyCollector passes rows on to a format.Writer and collects the distinct
// values of one column, the view's member key, of the rows the writer kept
// (format.Skipper). It gives up, and keeps no keys, at the first row whose
// key is NULL or not a UUID, or once it holds more than limit.
type keyCollector struct {
	next format.Writer
	// skipper is next when it may leave rows out, else nil.
	skipper format.Skipper
	index   int
	kind    string
	limit   int
	keys    map[[16]byte]struct{}
	failed  bool
}

func newKeyCollector(next format.Writer, index int, kind string, limit int) *keyCollector {
	skipper, _ := next.(format.Skipper)
	return &keyCollector{next: next, skipper: skipper, index: index, kind: kind, limit: limit, keys: map[[16]byte]struct{}{}}
}

func (c *keyCollector) WriteRow(fields [][]byte) error {
	if err := c.next.WriteRow(fields); err != nil {
		return err
	}
	// A row the writer left out discloses nothing.
	if c.failed || (c.skipper != nil && c.skipper.RowSkipped()) {
		return nil
	}
	id, ok := parseUUID(fields[c.index])
	if ok {
		c.keys[id] = struct{}{}
	}
	if !ok || len(c.keys) > c.limit {
		c.failed, c.keys = true, nil
	}
	return nil
}

func (c *keyCollector) Close() error { return c.next.Close() }

// Counts passes on the counts of the writer it wraps.
func (c *keyCollector) Counts() map[string]int64 {
	if counter, ok := c.next.(format.Counter); ok {
		return counter.Counts()
	}
	return nil
}

// complete reports whether the collector has the key of every row.
func (c *keyCollector) complete() bool { return c != nil && !c.failed }

// list returns the collected keys.
func (c *keyCollector) list() [][16]byte {
	out := make([][16]byte, 0, len(c.keys))
	for k := range c.keys {
		out = append(out, k)
	}
	return out
}

// parseUUID parses PostgreSQL's text form of a uuid,
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in lower case. NULL and anything
// else are not one.
func parseUUID(text []byte) ([16]byte, bool) {
	var id [16]byte
	if len(text) != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-' {
		return id, false
	}
	var digits [32]byte
	n := 0
	for i, b := range text {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		digits[n] = b
		n++
	}
	if _, err := hex.Decode(id[:], digits[:]); err != nil {
		return id, false
	}
	return id, true
}
