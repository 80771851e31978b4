// Package demo sets up a complete AxTract installation on a scratch
// database and delivers three partner feeds end to end: generated or Synthea
// data, partners with consents and views, OpenPGP keys, an OpenSSH server on
// loopback and a local folder, and River workers that run each feed once.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/axtract/axtract/internal/extract"
	"github.com/axtract/axtract/internal/partner"
	"github.com/axtract/axtract/internal/sshd"
	"github.com/axtract/axtract/worker"
)

// Loader fills the mart of a fresh database.
type Loader func(ctx context.Context, pool *pgxpool.Pool) (string, error)

// Config tunes Run.
type Config struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// OutDir receives keys, the local destination folder and the SFTP
	// server's folder. It is emptied first.
	OutDir string
	// Load fills the mart and returns a line describing what it loaded.
	Load Loader
	Out  io.Writer
}

// Delivery is one file the demo delivered.
type Delivery struct {
	Feed, Partner, Destination, Path, SHA256, SecretKey, Decompress string
	Rows, Bytes                                                     int64
}

type feedPlan struct {
	slug, name, purpose string
	view                string
	spec                map[string]any
	consentSQL          string
	destination         string
	compression         string
	decompress          string
}

// Run loads the mart, sets up the partners and delivers each feed once
// through River workers, then prints what it delivered.
func Run(ctx context.Context, cfg Config) ([]Delivery, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	dirs, err := prepareDirs(cfg.OutDir)
	if err != nil {
		return nil, err
	}

	loaded, err := cfg.Load(ctx, cfg.Pool)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(out, loaded)
	if err := attributeMembers(ctx, cfg.Pool); err != nil {
		return nil, err
	}

	server, err := sshd.Start(ctx, sshd.Options{Dir: dirs.sftp})
	if err != nil {
		return nil, fmt.Errorf("start the demo SFTP server: %w", err)
	}
	defer server.Stop()
	fmt.Fprintf(out, "started OpenSSH sshd on %s serving %s\n", server.Addr, server.Root)

	plans, err := planFeeds(ctx, cfg.Pool)
	if err != nil {
		return nil, err
	}
	keys := map[string]*partnerKey{}
	for _, p := range plans {
		key, err := setUpPartner(ctx, cfg.Pool, p, dirs, server)
		if err != nil {
			return nil, err
		}
		keys[p.slug] = key
	}

	results, err := deliverAll(ctx, cfg.Pool, logger, plans)
	if err != nil {
		return nil, err
	}
	var deliveries []Delivery
	for i, p := range plans {
		res := results[i]
		dir := dirs.local
		if p.destination == "sftp" {
			dir = server.Root
		}
		deliveries = append(deliveries, Delivery{
			Feed: res.Feed, Partner: p.slug, Destination: p.destination, Path: filepath.Join(dir, res.FileName),
			SHA256: res.SHA256, Rows: res.Rows, Bytes: res.Bytes, SecretKey: keys[p.slug].SecretFile, Decompress: p.decompress,
		})
	}
	printSummary(out, deliveries, dirs.gnupg)
	return deliveries, nil
}

type demoDirs struct{ root, keys, local, sftp, gnupg string }

func prepareDirs(root string) (*demoDirs, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	d := &demoDirs{root: abs, keys: filepath.Join(abs, "keys"), local: filepath.Join(abs, "local"),
		sftp: filepath.Join(abs, "sftp"), gnupg: filepath.Join(abs, "gnupg")}
	for _, sub := range []string{d.keys, d.local, d.sftp} {
		if err := os.RemoveAll(sub); err != nil {
			return nil, fmt.Errorf("empty %s: %w", sub, err)
		}
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", sub, err)
		}
	}
	if err := os.RemoveAll(d.gnupg); err != nil {
		return nil, err
	}
	return d, nil
}

// attributeMembers attributes each member without an attribution to the
// organization of most of their encounters, as a provider-group roster
// would. Generated data comes attributed already; Synthea data does not.
func attributeMembers(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, `
		UPDATE mart.member m SET attributed_org_id = top.organization_id
		FROM (
			SELECT DISTINCT ON (member_id) member_id, organization_id
			FROM mart.encounter
			WHERE organization_id IS NOT NULL
			GROUP BY member_id, organization_id
			ORDER BY member_id, count(*) DESC, organization_id
		) top
		WHERE top.member_id = m.member_id
		  AND m.attributed_org_id IS NULL
		  AND NOT EXISTS (SELECT FROM mart.member WHERE attributed_org_id IS NOT NULL)`)
	if err != nil {
		return fmt.Errorf("attribute members: %w", err)
	}
	return nil
}

func planFeeds(ctx context.Context, pool *pgxpool.Pool) ([]feedPlan, error) {
	var group string
	err := pool.QueryRow(ctx, `SELECT attributed_org_id::text FROM mart.member WHERE attributed_org_id IS NOT NULL
		GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`).Scan(&group)
	if err == pgx.ErrNoRows {
		return nil, fmt.Errorf("no member is attributed to a provider group; the provider group feed needs at least one")
	}
	if err != nil {
		return nil, fmt.Errorf("find the provider group: %w", err)
	}
	return []feedPlan{
		{
			slug: "pbm", name: "Acme Pharmacy Benefits", purpose: "payment", view: "pharmacy_claims",
			spec: map[string]any{"dataset": "pharmacy_claims", "columns": []any{
				"pharmacy_claim_id", "member_id", "member_first_name", "member_last_name", "member_birth_date",
				"fill_date", "ndc", "rxnorm_code", "drug_name", "quantity", "days_supply", "payer_paid"}},
			// Nine in ten members consent; every tenth one's consent ended last month.
			consentSQL:  `SELECT member_id FROM mart.member ORDER BY member_id`,
			destination: "sftp", compression: "zstd", decompress: "zstd -dc",
		},
		{
			slug: "research", name: "University Outcomes Research", purpose: "research", view: "claims_deidentified",
			// The Safe Harbor profile also blanks the birth year of members
			// aged 90 or older and maps restricted three-digit ZIP areas to 000.
			spec: map[string]any{"dataset": "medical_claims", "profile": "safe_harbor", "columns": []any{
				map[string]any{"column": "member_id", "as": "member_key", "transform": "pseudonym"},
				map[string]any{"column": "service_from", "as": "service_year", "transform": "year"},
				map[string]any{"column": "member_birth_date", "as": "birth_year", "transform": "year"},
				map[string]any{"column": "member_zip", "as": "zip3", "transform": "zip3"},
				"member_gender", "claim_type", "procedure_code_system", "procedure_code",
				"diagnosis_code_system", "diagnosis_1", "charge_amount", "paid_amount"}},
			consentSQL:  `SELECT member_id FROM mart.member WHERE get_byte(uuid_send(member_id), 15) % 5 <> 0`,
			destination: "local", compression: "gzip", decompress: "gzip -dc",
		},
		{
			slug: "provgroup", name: "Riverside Provider Group", purpose: "treatment", view: "attributed_claims",
			spec: map[string]any{"dataset": "medical_claims",
				"columns": []any{"claim_id", "line_number", "member_id", "service_from", "service_to",
					"procedure_code", "diagnosis_1", "diagnosis_2", "place_of_service", "charge_amount", "paid_amount"},
				"filters": []any{map[string]any{"column": "attributed_org_id", "op": "=", "value": group}}},
			consentSQL:  `SELECT member_id FROM mart.member WHERE attributed_org_id = '` + group + `'::uuid`,
			destination: "sftp", compression: "zstd", decompress: "zstd -dc",
		},
	}, nil
}

func setUpPartner(ctx context.Context, pool *pgxpool.Pool, p feedPlan, dirs *demoDirs, server *sshd.Server) (*partnerKey, error) {
	if _, err := partner.Create(ctx, pool, partner.CreateParams{Slug: p.slug, Name: p.name, Purpose: p.purpose}); err != nil {
		return nil, err
	}
	spec, _ := json.Marshal(p.spec)
	if _, err := partner.DefineView(ctx, pool, p.slug, p.view, spec); err != nil {
		return nil, err
	}
	key, err := newPartnerKey(dirs.keys, p.slug, p.name)
	if err != nil {
		return nil, err
	}
	if err := addKey(ctx, pool, p.slug, key.PublicArmored); err != nil {
		return nil, err
	}

	today := time.Now().UTC()
	yearAgo := today.AddDate(-1, 0, 0).Format(time.DateOnly)
	if _, err := pool.Exec(ctx, "SELECT axtract.consent_grant_all($1, $2, $3::date, NULL, 'demo')", p.slug, p.consentSQL, yearAgo); err != nil {
		return nil, fmt.Errorf("grant consents to %s: %w", p.slug, err)
	}
	// Every tenth consent ended last month, so the files show that ended
	// consents are honoured.
	_, err = pool.Exec(ctx, `UPDATE axtract.consent SET effective_to = $2::date
		WHERE partner_id = (SELECT partner_id FROM axtract.partner WHERE slug = $1) AND consent_id % 10 = 0`,
		p.slug, today.AddDate(0, -1, 0).Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("end some consents of %s: %w", p.slug, err)
	}

	var kind string
	var config map[string]any
	if p.destination == "sftp" {
		kind = "sftp"
		config = map[string]any{"host": server.Host, "port": server.Port, "user": server.User, "dir": server.Root,
			"host_key": server.HostKey, "private_key_file": server.ClientKeyFile}
	} else {
		kind = "local"
		config = map[string]any{"dir": dirs.local}
	}
	rawConfig, _ := json.Marshal(config)
	if _, err := pool.Exec(ctx, "SELECT axtract.destination_define($1, $2, $3, $4::jsonb)", p.slug, p.destination, kind, string(rawConfig)); err != nil {
		return nil, fmt.Errorf("define destination of %s: %w", p.slug, err)
	}
	opts, _ := json.Marshal(map[string]any{"compression": p.compression, "file_name": "{feed}_{slot}.csv",
		"schedule": "0 6 * * 1-5", "time_zone": "America/Chicago"})
	if _, err := pool.Exec(ctx, "SELECT axtract.feed_define($1, $2, $3, $4, $5::jsonb)", p.slug+"-"+p.view, p.slug, p.view, p.destination, string(opts)); err != nil {
		return nil, fmt.Errorf("define feed of %s: %w", p.slug, err)
	}
	return key, nil
}

// deliverAll enqueues one manual run per feed and waits for River workers
// to deliver them.
func deliverAll(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, plans []feedPlan) ([]*extract.Result, error) {
	delivered := make(chan *extract.Result, len(plans))
	client, err := worker.NewClient(worker.Config{
		Pool: pool, Logger: logger, Workers: len(plans), TickInterval: time.Hour, RetryBase: time.Second,
		Runner:      &extract.Runner{Pool: pool, Logger: logger},
		OnDelivered: func(r *extract.Result) { delivered <- r },
	})
	if err != nil {
		return nil, err
	}
	if err := client.Start(ctx); err != nil {
		return nil, fmt.Errorf("start workers: %w", err)
	}
	defer client.Stop(context.WithoutCancel(ctx))

	runIDs := make([]int64, len(plans))
	for i, p := range plans {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return nil, err
		}
		runID, attempts, err := worker.CreateManualRunTx(ctx, tx, p.slug+"-"+p.view, time.Now())
		if err == nil {
			err = worker.EnqueueRunTx(ctx, client, tx, runID, attempts)
		}
		if err == nil {
			err = tx.Commit(ctx)
		}
		tx.Rollback(ctx)
		if err != nil {
			return nil, fmt.Errorf("enqueue feed of %s: %w", p.slug, err)
		}
		runIDs[i] = runID
	}

	byRun := map[int64]*extract.Result{}
	timeout := time.After(10 * time.Minute)
	for len(byRun) < len(plans) {
		select {
		case r := <-delivered:
			byRun[r.RunID] = r
		case <-time.After(2 * time.Second):
			if err := failedRun(ctx, pool, runIDs); err != nil {
				return nil, err
			}
		case <-timeout:
			return nil, fmt.Errorf("feeds not delivered within 10 minutes; see axtract feed runs")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	results := make([]*extract.Result, len(plans))
	for i, id := range runIDs {
		results[i] = byRun[id]
	}
	return results, nil
}

func failedRun(ctx context.Context, pool *pgxpool.Pool, runIDs []int64) error {
	var id int64
	var msg string
	err := pool.QueryRow(ctx, `SELECT run_id, coalesce(error, '') FROM axtract.run
		WHERE run_id = ANY ($1) AND status IN ('failed', 'retrying') LIMIT 1`, runIDs).Scan(&id, &msg)
	if err == pgx.ErrNoRows {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("run %d failed: %s", id, msg)
}

func addKey(ctx context.Context, pool *pgxpool.Pool, slug, armored string) error {
	recipient, err := parseRecipient(armored)
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, "SELECT axtract.partner_key_add($1, $2, $3)", slug, recipient, armored)
	if err != nil {
		return fmt.Errorf("add key of %s: %w", slug, err)
	}
	return nil
}

func printSummary(out io.Writer, deliveries []Delivery, gnupg string) {
	fmt.Fprintln(out, "\nDelivered:")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FEED\tTO\tROWS\tBYTES\tFILE")
	for _, d := range deliveries {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", d.Feed, d.Destination, d.Rows, d.Bytes, d.Path)
	}
	tw.Flush()
	fmt.Fprintf(out, "\nEach file is encrypted to its partner's key. To read one with GnuPG:\n")
	fmt.Fprintf(out, "  mkdir -m 700 -p %s\n", gnupg)
	for _, d := range deliveries {
		fmt.Fprintf(out, "  gpg --homedir %s --batch --import %s\n", gnupg, d.SecretKey)
	}
	for _, d := range deliveries {
		fmt.Fprintf(out, "  gpg --homedir %s --batch --decrypt %s | %s | head\n", gnupg, d.Path, d.Decompress)
	}
}
