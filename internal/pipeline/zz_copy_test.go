package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func procCPU(pid uint32) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	f := strings.Fields(string(b)[strings.LastIndex(string(b), ")")+2:])
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100
}

func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func TestProbeCopy(t *testing.T) {
	dsn := os.Getenv("PROBE_DSN")
	if dsn == "" {
		t.Skip()
	}
	g := newGPGHome(t)
	primary, _ := eccKey(g, "Copy <copy@example.com>")
	recipient := parseRecipient(t, g.exportPublic(primary), time.Now())
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	pid := conn.PID()
	sql := "COPY (SELECT * FROM claim_line) TO STDOUT WITH (FORMAT csv, HEADER)"
	type res struct{ wall, pg, gocpu []float64 }
	results := map[string]*res{}
	var order []string
	run := func(name string, cfg *Config) {
		if results[name] == nil {
			results[name] = &res{}
			order = append(order, name)
		}
		pg0, go0 := procCPU(pid), selfCPU()
		start := time.Now()
		var w io.Writer = io.Discard
		var p *Pipeline
		if cfg != nil {
			p, err = New(io.Discard, *cfg)
			if err != nil {
				t.Fatal(err)
			}
			w = p
		}
		if _, err := conn.CopyTo(ctx, w, sql); err != nil {
			t.Fatal(err)
		}
		if p != nil {
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
		}
		r := results[name]
		r.wall = append(r.wall, time.Since(start).Seconds())
		r.pg = append(r.pg, procCPU(pid)-pg0)
		r.gocpu = append(r.gocpu, selfCPU()-go0)
	}
	for round := 0; round < 5; round++ {
		for _, c := range compressions {
			run("bare", nil)
			run(c, &Config{Compression: c})
			run(c+"+pgp", &Config{Compression: c, Recipient: recipient})
		}
	}
	med := func(v []float64) float64 { s := append([]float64{}, v...); sort.Float64s(s); return s[len(s)/2] }
	mn := func(v []float64) float64 { s := append([]float64{}, v...); sort.Float64s(s); return s[0] }
	for _, name := range order {
		r := results[name]
		t.Logf("%-10s wall min %.2fs median %.2fs  pg cpu %.2fs  go cpu %.2fs", name, mn(r.wall), med(r.wall), med(r.pg), med(r.gocpu))
	}
}
