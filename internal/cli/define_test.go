package cli_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
)

func TestDefineRejectsSettingsThatFailLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: "acme", Name: "Acme", Purpose: "operations"}); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.DefineView(ctx, db.Pool, "acme", "roster", []byte(`{"dataset": "members", "columns": ["member_id"]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `SELECT axtract.destination_define('acme', 'drop', 'local', '{"dir": "/tmp"}')`); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, sql string }{
		{"relative local dir", `SELECT axtract.destination_define('acme', 'rel', 'local', '{"dir": "relative/dir"}')`},
		{"unknown kind", `SELECT axtract.destination_define('acme', 's3', 's3', '{}')`},
		{"bad destination name", `SELECT axtract.destination_define('acme', 'Bad Name', 'local', '{"dir": "/tmp"}')`},
		{"bad feed name", `SELECT axtract.feed_define('Bad Name', 'acme', 'roster', 'drop', '{}')`},
		{"unknown compression", `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"compression": "lz4"}')`},
		{"folder in file name", `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"file_name": "{partner}/{feed}.csv"}')`},
		{"parent in file name", `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"file_name": "../../etc/x.csv"}')`},
		{"hidden file name", `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"file_name": ".x.csv"}')`},
	}
	for _, c := range cases {
		_, err := db.Pool.Exec(ctx, c.sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "22023" {
			t.Errorf("%s: err = %v, want SQLSTATE 22023 invalid_parameter_value", c.name, err)
		}
	}
	if _, err := db.Pool.Exec(ctx, `SELECT axtract.feed_define('f', 'acme', 'roster', 'drop', '{"file_name": "{feed}_{slot}.csv", "encrypt": false}')`); err != nil {
		t.Errorf("valid feed rejected: %v", err)
	}
}
