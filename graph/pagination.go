package graph

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/axtract/axtract/graph/model"
)

// Cursors are opaque to clients: base64url of a kind and the key of the
// last row of a page, so a page continues after that row whatever was
// inserted meanwhile (keyset pagination).

func encodeCursor(kind, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + key))
}

// decodeCursor returns the key of cursor after, or "" for the first page.
func decodeCursor(kind string, after *string) (string, error) {
	if after == nil || *after == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*after)
	key, ok := strings.CutPrefix(string(raw), kind+":")
	if err != nil || !ok {
		return "", invalid("invalid cursor %q: pass the endCursor of the previous page of the same list", *after)
	}
	return key, nil
}

// decodeIDCursor decodes a cursor whose key is a row id; 0 is the first page.
func decodeIDCursor(kind string, after *string) (int64, error) {
	key, err := decodeCursor(kind, after)
	if err != nil || key == "" {
		return 0, err
	}
	id, err := strconv.ParseInt(key, 10, 64)
	if err != nil {
		return 0, invalid("invalid cursor %q: pass the endCursor of the previous page of the same list", *after)
	}
	return id, nil
}

// pageSize checks first and returns it, or def when it is nil.
func pageSize(first *int, def int) (int, error) {
	if first == nil {
		return def, nil
	}
	if *first < 0 || *first > maxPageSize {
		return 0, newError(CodeValidation, "first must be between 0 and %d, not %d", maxPageSize, *first)
	}
	return *first, nil
}

// page cuts rows, read with LIMIT size+1, to size and builds the page info.
func page[T any](rows []*T, size int, after *string, cursor func(*T) string) ([]*T, *model.PageInfo) {
	info := &model.PageInfo{HasPreviousPage: after != nil && *after != ""}
	if len(rows) > size {
		rows = rows[:size]
		info.HasNextPage = true
	}
	if len(rows) > 0 {
		start, end := cursor(rows[0]), cursor(rows[len(rows)-1])
		info.StartCursor, info.EndCursor = &start, &end
	}
	return rows, info
}
