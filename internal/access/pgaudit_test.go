package access_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/axtract/axtract/internal/access"
	"github.com/axtract/axtract/internal/database"
	"github.com/axtract/axtract/internal/migrate"
	"github.com/axtract/axtract/internal/partner"
)

// TestPgauditLogsPartnerStatements starts a private cluster, which preloads
// pgaudit when the server has its library, and checks that a partner
// login's role carries pgaudit.log and that its statements reach the
// server log.
func TestPgauditLogsPartnerStatements(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	binDir, err := database.FindServerBinaries()
	if err != nil {
		t.Skipf("no PostgreSQL server binaries: %v", err)
	}
	out, err := exec.Command(filepath.Join(binDir, "pg_config"), "--pkglibdir").Output()
	if err != nil {
		t.Skipf("pg_config --pkglibdir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(out)), "pgaudit.so")); err != nil {
		t.Skip("pgaudit is not installed for this server; scripts/setup.sh installs it")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	// The server runs as the postgres user when the tests run as root, and
	// must be able to reach its data directory.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dataDir := filepath.Join(dir, "pgdata")
	cluster, err := database.StartPrivateCluster(ctx, dataDir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cluster.Stop(); err != nil {
			t.Errorf("stop private cluster: %v", err)
		}
	})

	admin, err := pgx.Connect(ctx, cluster.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE audited"); err != nil {
		t.Fatal(err)
	}
	dsn, err := database.WithDatabase(cluster.AdminURL, "audited")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := database.OpenPool(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := migrate.Up(ctx, pool, migrate.Config{}); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.Create(ctx, pool, partner.CreateParams{Slug: "acme", Name: "Acme", Purpose: "operations"}); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.DefineView(ctx, pool, "acme", "roster", []byte(`{"dataset": "members", "columns": ["member_id"]}`)); err != nil {
		t.Fatal(err)
	}
	cred, err := access.CreateLogin(ctx, pool, access.NewLoginParams("acme", "analyst"))
	if err != nil {
		t.Fatal(err)
	}

	var config []string
	err = pool.QueryRow(ctx, "SELECT setconfig FROM pg_db_role_setting WHERE setrole = $1::regrole AND setdatabase = 0", cred.Role).Scan(&config)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(config, "pgaudit.log=read, write, function, role, ddl, misc") {
		t.Errorf("role settings = %v, want pgaudit.log set", config)
	}
	var extension bool
	if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'pgaudit')").Scan(&extension); err != nil {
		t.Fatal(err)
	}
	if !extension {
		t.Error("extension pgaudit was not created")
	}
	findings, err := access.Check(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if n := access.CountDrift(findings); n != 0 {
		t.Errorf("access check found %d drift findings: %v", n, findings)
	}

	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Password = cred.Role, cred.Password
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT count(*) FROM roster"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a pgaudit line in the server log", func() bool {
		log, _ := os.ReadFile(filepath.Join(dataDir, "server.log"))
		return strings.Contains(string(log), "AUDIT: SESSION,") && strings.Contains(string(log), "partner_acme.roster")
	})
}
