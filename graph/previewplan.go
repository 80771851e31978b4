package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Previews keep their plans. Planning the compiled query takes most of a
// preview's time in the database, because the consent policies of each
// table add a dozen subqueries. So each connection keeps the last few
// preview queries as prepared statements (SQL PREPARE), and a preview of
// the same spec on the same connection executes the plan it has.
//
// A prepared statement keeps the plan, not rows or consents: the consent
// subqueries and today's date are evaluated at every EXECUTE, PostgreSQL
// checks privileges at every EXECUTE, and it plans again when a policy,
// grant or table changes. Its row security is that of the role it was
// prepared as, so the statement name covers the view-owner role as well as
// the query text.

// previewStatementsPerConn bounds the prepared preview statements of one
// connection. Each takes about 1 MB of its backend's memory: the plan and
// the rewritten query of a medical claims preview measured 512 kB each in
// pg_backend_memory_contexts on PostgreSQL 15.
const previewStatementsPerConn = 4

// previewStatementsKey is the key of a connection's *previewStatements in
// pgconn.PgConn.CustomData.
const previewStatementsKey = "axtract.preview_statements"

// previewStatements lists the names of the preview statements prepared on
// one connection, least recently used first. A connection serves one
// caller at a time, so it needs no lock.
type previewStatements struct {
	names []string
}

func statementsOf(conn *pgconn.PgConn) *previewStatements {
	data := conn.CustomData()
	s, ok := data[previewStatementsKey].(*previewStatements)
	if !ok {
		s = &previewStatements{}
		data[previewStatementsKey] = s
	}
	return s
}

// previewStatementName returns the name of the statement that runs query
// as role owner.
func previewStatementName(owner, query string) string {
	sum := sha256.Sum256([]byte(owner + "\x00" + query))
	return "axtract_preview_" + hex.EncodeToString(sum[:12])
}

// has reports whether name is prepared, and marks it as just used.
func (s *previewStatements) has(name string) bool {
	i := slices.Index(s.names, name)
	if i < 0 {
		return false
	}
	s.names = append(slices.Delete(s.names, i, i+1), name)
	return true
}

// evict removes the least recently used name from a full list and returns
// it for the caller to deallocate. It returns "" while there is room.
func (s *previewStatements) evict() string {
	if len(s.names) < previewStatementsPerConn {
		return ""
	}
	oldest := s.names[0]
	s.names = slices.Delete(s.names, 0, 1)
	return oldest
}

func (s *previewStatements) add(name string) {
	if !slices.Contains(s.names, name) {
		s.names = append(s.names, name)
	}
}

// reload replaces the list with the preview statements that the
// connection's backend has.
func (s *previewStatements) reload(ctx context.Context, conn *pgxpool.Conn) error {
	rows, err := conn.Query(ctx, `SELECT name FROM pg_prepared_statements WHERE name LIKE 'axtract\_preview\_%' ORDER BY prepare_time`)
	if err != nil {
		return fmt.Errorf("list prepared preview statements: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list prepared preview statements: %w", err)
	}
	s.names = names
	return nil
}
