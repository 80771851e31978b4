package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/pgtest"
)

// buildBinary builds cmd/axtract once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "axtract")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/axtract/axtract/cmd/axtract")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build axtract: %v\n%s", err, out)
	}
	return bin
}

func TestTwoServeProcessesDeliverSlotOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bin := buildBinary(t)
	db := pgtest.New(t)
	outDir := t.TempDir()

	if _, err := db.Pool.Exec(ctx, `INSERT INTO mart.member (member_id, first_name, birth_date)
		SELECT gen_random_uuid(), 'M' || i, DATE '1980-01-01' + i FROM generate_series(1, 50) i`); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.Create(ctx, db.Pool, partner.CreateParams{Slug: "acme", Name: "Acme", Purpose: "operations"}); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.DefineView(ctx, db.Pool, "acme", "roster", []byte(`{"dataset": "members", "columns": ["member_id", "first_name"]}`)); err != nil {
		t.Fatal(err)
	}
	config, _ := json.Marshal(map[string]string{"dir": outDir})
	for _, sql := range []string{
		"SELECT axtract.consent_grant_all('acme', 'SELECT member_id FROM mart.member', DATE '2020-01-01')",
		"SELECT axtract.destination_define('acme', 'drop', 'local', '" + string(config) + "')",
		`SELECT axtract.feed_define('acme-roster', 'acme', 'roster', 'drop', '{"schedule": "* * * * *", "encrypt": false, "compression": "gzip"}')`,
		// Created two minutes ago, so the slot of the last minute is due at once.
		"UPDATE axtract.feed SET created_at = now() - interval '2 minutes'",
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	logDir := t.TempDir()
	var procs []*exec.Cmd
	var addrs []string
	t.Cleanup(func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
		}
	})
	for i := range 2 {
		cmd := exec.Command(bin, "serve", "--database-url", db.DSN, "--tick", "1s", "--http-addr", "127.0.0.1:0", "--log-format", "json")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		logPath := filepath.Join(logDir, fmt.Sprintf("serve-%d.log", i))
		logFile, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				logged, _ := os.ReadFile(logPath)
				t.Logf("log of serve %d:\n%s", i, logged)
			}
		})
		cmd.Stderr = logFile
		if err := cmd.Start(); err != nil {
			t.Fatalf("start serve %d: %v", i, err)
		}
		procs = append(procs, cmd)
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			t.Fatalf("serve %d printed no address: %v", i, err)
		}
		addrs = append(addrs, strings.TrimSpace(line[strings.LastIndex(line, " ")+1:]))
	}
	for _, addr := range addrs {
		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			resp, err := http.Get(addr + path)
			if err != nil {
				t.Fatalf("GET %s%s: %v", addr, path, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s%s = %d, want 200", addr, path, resp.StatusCode)
			}
			if path == "/metrics" && !strings.Contains(string(body), "axtract_rows_delivered_total") {
				t.Errorf("GET %s/metrics lacks axtract_rows_delivered_total", addr)
			}
		}
	}

	deadline := time.Now().Add(90 * time.Second)
	var delivered int
	for time.Now().Before(deadline) {
		db.Pool.QueryRow(ctx, "SELECT count(*) FROM axtract.run WHERE status = 'succeeded'").Scan(&delivered)
		if delivered > 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if delivered == 0 {
		t.Fatal("no run delivered within 90 seconds")
	}
	// Give both schedulers more ticks in which a duplicate could appear.
	time.Sleep(4 * time.Second)

	var slots, runs, jobs int
	err := db.Pool.QueryRow(ctx, `SELECT count(DISTINCT slot), count(*),
		(SELECT count(*) FROM river.river_job WHERE kind = 'axtract.extract')
		FROM axtract.run`).Scan(&slots, &runs, &jobs)
	if err != nil {
		t.Fatal(err)
	}
	if runs != slots || jobs != runs {
		t.Errorf("runs = %d, distinct slots = %d, extract jobs = %d; want one run and one job per slot", runs, slots, jobs)
	}
	files, _ := filepath.Glob(filepath.Join(outDir, "acme-roster_*"))
	if len(files) != slots {
		t.Errorf("delivered files = %v, want one per slot (%d)", files, slots)
	}
}
