package generate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/jackc/pgx/v5"
)

// chunkMembers is the number of members whose rows are derived and copied
// together: each table gets one COPY per chunk, which bounds the foreign key
// checks PostgreSQL queues until the statement ends, and only the chunk's
// members are held in memory.
const chunkMembers = 1000

// weights sums the members' weights for claim lines, fills and labs.
type weights struct {
	claims, rx, labs uint64
}

func (w *weights) add(m *member) {
	w.claims += m.claimWeight
	w.rx += m.rxWeight
	w.labs += m.labWeight
}

// generator holds what every worker shares for one Config: the network,
// the as-of date and the sums of the members' weights.
type generator struct {
	cfg      Config
	ids      *ids
	net      *network
	asOf     day
	loadedAt any
	totals   weights
	prefix   []weights // prefix[c] sums the weights of the members before chunk c
}

func newGenerator(cfg Config) *generator {
	ids := &ids{seed: cfg.Seed}
	g := &generator{cfg: cfg, ids: ids, asOf: dayOf(cfg.LoadedAt), loadedAt: cfg.LoadedAt}
	g.net = newNetwork(cfg, newSource(cfg.Seed), ids)

	deriver := memberDeriver{src: newSource(cfg.Seed), ids: ids, net: g.net, asOf: g.asOf}
	var m member
	for i := range cfg.Members {
		if i%chunkMembers == 0 {
			g.prefix = append(g.prefix, g.totals)
		}
		deriver.derive(i, &m)
		g.totals.add(&m)
	}
	return g
}

// ranges splits the chunks into at most n contiguous runs [first, last).
func (g *generator) ranges(n int) [][2]int {
	chunks := len(g.prefix)
	n = max(1, min(n, chunks))
	runs := make([][2]int, 0, n)
	for i := range n {
		runs = append(runs, [2]int{i * chunks / n, (i + 1) * chunks / n})
	}
	return runs
}

// copyReference copies the payers, organizations and providers.
func (g *generator) copyReference(ctx context.Context, tx pgx.Tx, counts *tableCounts) error {
	for _, t := range []struct {
		table   string
		columns []string
		rows    [][]any
	}{
		{"payer", payerColumns, g.net.payerRows(g.loadedAt)},
		{"organization", organizationColumns, g.net.organizationRows(g.loadedAt)},
		{"provider", providerColumns, g.net.providerRows(g.loadedAt)},
	} {
		n, err := copyRows(ctx, tx, t.table, t.columns, t.rows)
		if err != nil {
			return err
		}
		counts.add(t.table, n)
	}
	return nil
}

// tableCounts counts rows per table in the order tables are filled.
type tableCounts struct {
	tables []TableCount
}

func (c *tableCounts) add(table string, n int64) {
	for i := range c.tables {
		if c.tables[i].Table == table {
			c.tables[i].Rows += n
			return
		}
	}
	c.tables = append(c.tables, TableCount{Table: table, Rows: n})
}

// worker derives and copies the rows of a run of chunks. Workers share
// nothing mutable, so several can copy concurrently on their own
// connections.
type worker struct {
	g       *generator
	ids     *ids
	deriver memberDeriver
	maker   claimMaker

	claimSource, pharmacySource, labSource, conditionSource, enrollmentSource *source
	claimShare, pharmacyShare, labShare                                       *quota

	// The current chunk: its members, their details and their shares.
	members                       []member
	details                       []details
	claimLines, fills, labResults []int
}

func (g *generator) newWorker(firstChunk int) *worker {
	ids := &ids{seed: g.cfg.Seed}
	start, first := g.prefix[firstChunk], firstChunk*chunkMembers
	return &worker{
		g:                g,
		ids:              ids,
		deriver:          memberDeriver{src: newSource(g.cfg.Seed), ids: ids, net: g.net, asOf: g.asOf},
		maker:            claimMaker{net: g.net},
		claimSource:      newSource(g.cfg.Seed),
		pharmacySource:   newSource(g.cfg.Seed),
		labSource:        newSource(g.cfg.Seed),
		conditionSource:  newSource(g.cfg.Seed),
		enrollmentSource: newSource(g.cfg.Seed),
		claimShare:       newQuota(g.cfg.ClaimLines, g.totals.claims, g.cfg.Members).startAt(first, start.claims),
		pharmacyShare:    newQuota(g.cfg.PharmacyClaims, g.totals.rx, g.cfg.Members).startAt(first, start.rx),
		labShare:         newQuota(g.cfg.Labs, g.totals.labs, g.cfg.Members).startAt(first, start.labs),
	}
}

// run copies every member-level table for the chunks [first, last) within
// tx. The chunks must follow the chunk the worker was created for.
func (w *worker) run(ctx context.Context, tx pgx.Tx, first, last int, counts *tableCounts) error {
	tables := w.tables()
	for c := first; c < last; c++ {
		lo := c * chunkMembers
		w.load(lo, min(w.g.cfg.Members, lo+chunkMembers))
		for _, t := range tables {
			n, err := copyChunk(ctx, tx, t.table, t.columns, len(w.members), t.fill)
			if err != nil {
				return err
			}
			counts.add(t.table, n)
		}
	}
	return nil
}

// load derives the members [lo, hi) and their shares.
func (w *worker) load(lo, hi int) {
	n := hi - lo
	w.members = resize(w.members, n)
	w.details = resize(w.details, n)
	w.claimLines = resize(w.claimLines, n)
	w.fills = resize(w.fills, n)
	w.labResults = resize(w.labResults, n)
	for k := range n {
		m := &w.members[k]
		w.deriver.derive(lo+k, m)
		w.deriver.details(m, &w.details[k])
		w.claimLines[k] = w.claimShare.next(m.claimWeight)
		w.fills[k] = w.pharmacyShare.next(m.rxWeight)
		w.labResults[k] = w.labShare.next(m.labWeight)
	}
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

type chunkTable struct {
	table   string
	columns []string
	fill    func(k int, rows *rowBuffer)
}

// tables lists the member-level tables in an order that puts every
// referenced table before the tables that refer to it.
func (w *worker) tables() []chunkTable {
	return []chunkTable{
		{"member", memberColumns, w.memberRows},
		{"enrollment", enrollmentColumns, w.enrollmentRows},
		{"condition", conditionColumns, w.conditionRows},
		{"claim", claimColumns, func(k int, rows *rowBuffer) { w.claimRows(k, rows, false) }},
		{"claim_line", claimLineColumns, func(k int, rows *rowBuffer) { w.claimRows(k, rows, true) }},
		{"pharmacy_claim", pharmacyClaimColumns, w.pharmacyRows},
		{"observation", observationColumns, w.labRows},
	}
}

var memberColumns = []string{
	"member_id", "prefix", "first_name", "last_name", "suffix", "maiden_name", "birth_date", "death_date", "ssn",
	"marital_status", "race", "ethnicity", "gender", "birthplace", "address", "city", "state", "county", "zip",
	"latitude", "longitude", "phone", "attributed_org_id", "loaded_at",
}

func (w *worker) memberRows(k int, rows *rowBuffer) {
	m, d := &w.members[k], &w.details[k]
	gender := "M"
	if m.female {
		gender = "F"
	}
	var death, attributed any
	if m.death != 0 {
		death = m.death.date()
	}
	if m.group >= 0 {
		attributed = w.g.net.orgs[m.group].id
	}

	copy(rows.add(), []any{
		m.id, nullIfEmpty(d.prefix), d.first, d.last, nullIfEmpty(d.suffix), nullIfEmpty(d.maiden),
		m.birth.date(), death, d.ssn, nullIfEmpty(d.marital), d.race, d.ethnicity, gender, d.birthplace,
		d.address, m.city.name, m.city.state, m.city.county, m.city.zip, d.latitude, d.longitude, d.phone,
		attributed, w.g.loadedAt,
	})
}

var enrollmentColumns = []string{
	"enrollment_id", "member_id", "payer_id", "secondary_payer_id", "subscriber_id", "plan_name", "relationship",
	"subscriber_name", "start_date", "end_date", "loaded_at",
}

// enrollmentRows writes a member's coverage spans. Minors on commercial
// plans are covered as a parent's child, and some married women as a
// spouse; Medicare and Medicaid members are their own subscribers.
func (w *worker) enrollmentRows(k int, rows *rowBuffer) {
	m, d := &w.members[k], &w.details[k]
	rng := w.enrollmentSource.at(streamEnrollment, m.index)
	for n, s := range m.spans {
		p := &payers[s.payer]
		relationship, subscriber := "self", d.first+" "+d.last
		switch {
		case p.kind != commercial:
		case m.age < 18:
			relationship, subscriber = "child", d.subscriberFirst+" "+d.last
		case d.marital == "M" && m.female && chance(rng, 300):
			relationship, subscriber = "spouse", d.subscriberFirst+" "+d.last
		}

		var secondary, end any
		if s.secondary >= 0 {
			secondary = w.g.net.payerIDs[s.secondary]
		}
		if !s.open {
			end = s.end.date()
		}

		copy(rows.add(), []any{
			w.ids.id("enrollment", m.index, n), m.id, w.g.net.payerIDs[s.payer], secondary, subscriberID(rng, p),
			p.plan, relationship, subscriber, s.start.date(), end, w.g.loadedAt,
		})
	}
}

// mbiLetters are the letters a Medicare Beneficiary Identifier may contain:
// A to Z without S, L, O, I, B and Z.
const mbiLetters = "ACDEFGHJKMNPQRTUVWXY"

// subscriberID returns a member's id card number: an MBI-shaped
// identifier for Original Medicare, else the plan prefix and nine digits.
func subscriberID(rng *rand.Rand, p *payer) string {
	if p.kind != medicare {
		return fmt.Sprintf("%s%09d", p.prefix, rng.IntN(1_000_000_000))
	}
	// Positions: 1 digit 1-9, 2 letter, 3 letter or digit, 4 digit, 5
	// letter, 6 letter or digit, 7 digit, 8 and 9 letters, 10 and 11 digits.
	const digits = "0123456789"
	const alnum = mbiLetters + digits
	var b strings.Builder
	b.WriteByte(byte('1' + rng.IntN(9)))
	for _, class := range []string{mbiLetters, alnum, digits, mbiLetters, alnum, digits, mbiLetters, mbiLetters, digits, digits} {
		b.WriteByte(class[rng.IntN(len(class))])
	}
	return b.String()
}

func (w *worker) conditionRows(k int, rows *rowBuffer) {
	m := &w.members[k]
	rng := w.conditionSource.at(streamConditions, m.index)
	for n, c := range m.conditions {
		fillCondition(rng, rows.add(), m, c, w.ids.id("condition", m.index, n), w.g.loadedAt)
	}
}

// claimRows writes a member's claim headers, or with lines set their lines.
// Both passes derive the same claims from the member's claim stream.
func (w *worker) claimRows(k int, rows *rowBuffer, lines bool) {
	m := &w.members[k]
	rng := w.claimSource.at(streamClaims, m.index)
	remaining := w.claimLines[k]
	for n := 0; remaining > 0; n++ {
		c := w.maker.next(rng, m, remaining)
		remaining -= len(c.lines)
		id := w.ids.id("claim", m.index, n)
		if !lines {
			w.maker.headerRow(rows.add(), id, m, w.g.loadedAt)
			continue
		}
		for line := range c.lines {
			w.maker.lineRow(rows.add(), id, line, m, w.g.loadedAt)
		}
	}
}

func (w *worker) pharmacyRows(k int, rows *rowBuffer) {
	m := &w.members[k]
	rng := w.pharmacySource.at(streamPharmacy, m.index)
	for n := range w.fills[k] {
		fillPharmacyClaim(rng, rows.add(), w.g.net, m, w.ids.id("pharmacy_claim", m.index, n), w.g.loadedAt)
	}
}

func (w *worker) labRows(k int, rows *rowBuffer) {
	m := &w.members[k]
	rng := w.labSource.at(streamLabs, m.index)
	for n := range w.labResults[k] {
		fillLab(rng, rows.add(), m, w.ids.id("observation", m.index, n), w.g.loadedAt)
	}
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
