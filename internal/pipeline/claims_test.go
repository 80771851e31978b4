package pipeline

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
)

const claimHeader = "claim_id,claim_line,member_pseudonym,plan_code,service_date,paid_date,procedure_code," +
	"modifier,diagnosis_code,ndc,units,billed_amount,allowed_amount,paid_amount,provider_npi," +
	"place_of_service,claim_status\n"

// claimGenerator produces CSV rows shaped like medical claim lines, as a
// COPY of a claims view would: members, providers and codes repeat from
// fixed pools, pseudonyms are random hex, amounts vary. The text compresses
// about 4:1 with gzip, like real extracts and unlike random or constant
// bytes.
type claimGenerator struct {
	rng       *rand.Rand
	members   []string
	npis      []string
	codes     []string
	diagnoses []string
	claim     int
	line      int
	lines     int
	member    string
	npi       string
	month     int
	day       int
}

var (
	claimPlans     = []string{"HMO-GOLD", "PPO-SILVER", "EPO-BRONZE", "MEDICAID-A"}
	claimModifiers = []string{"", "", "", "25", "59", "26", "TC"}
	claimPlaces    = []string{"11", "11", "11", "22", "23", "21", "81", "02"}
	claimStatuses  = []string{"PAID", "PAID", "PAID", "PAID", "DENIED", "ADJUSTED"}
)

func newClaimGenerator(seed uint64) *claimGenerator {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &claimGenerator{rng: rng, claim: 70000000}
	for range 20000 {
		g.members = append(g.members, fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64()))
	}
	for range 2000 {
		g.npis = append(g.npis, strconv.Itoa(1000000000+rng.IntN(999999999)))
	}
	for range 300 {
		g.codes = append(g.codes, fmt.Sprintf("%05d", 10000+rng.IntN(89999)))
	}
	for range 600 {
		g.diagnoses = append(g.diagnoses, fmt.Sprintf("%c%02d.%d", 'A'+rng.IntN(26), rng.IntN(100), rng.IntN(10)))
	}
	return g
}

// appendRow appends one CSV row, ending in a newline, to dst.
func (g *claimGenerator) appendRow(dst []byte) []byte {
	r := g.rng
	if g.line == g.lines {
		g.claim++
		g.line = 0
		g.lines = 1 + r.IntN(6)
		g.member = g.members[r.IntN(len(g.members))]
		g.npi = g.npis[r.IntN(len(g.npis))]
		g.month, g.day = 1+r.IntN(12), 1+r.IntN(28)
	}
	g.line++

	billed := 20 + r.IntN(900)
	allowed := billed * (50 + r.IntN(40)) / 100
	paid := allowed * (70 + r.IntN(31)) / 100

	dst = append(dst, "CLM00"...)
	dst = strconv.AppendInt(dst, int64(g.claim), 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(g.line), 10)
	dst = append(dst, ',')
	dst = append(dst, g.member...)
	dst = append(dst, ',')
	dst = append(dst, claimPlans[g.claim%len(claimPlans)]...)
	dst = appendDate(append(dst, ','), g.month, g.day)
	dst = appendDate(append(dst, ','), g.month, min(g.day+7+r.IntN(20), 28))
	dst = append(dst, ',')
	dst = append(dst, g.codes[r.IntN(len(g.codes))]...)
	dst = append(dst, ',')
	dst = append(dst, claimModifiers[r.IntN(len(claimModifiers))]...)
	dst = append(dst, ',')
	dst = append(dst, g.diagnoses[r.IntN(len(g.diagnoses))]...)
	dst = append(dst, ',')
	if r.IntN(10) == 0 {
		dst = append(dst, "00"...)
		dst = strconv.AppendInt(dst, int64(100000000+r.IntN(900000000)), 10)
	}
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(1+r.IntN(3)), 10)
	dst = appendAmount(append(dst, ','), billed, r.IntN(100))
	dst = appendAmount(append(dst, ','), allowed, 0)
	dst = appendAmount(append(dst, ','), paid, 0)
	dst = append(dst, ',')
	dst = append(dst, g.npi...)
	dst = append(dst, ',')
	dst = append(dst, claimPlaces[r.IntN(len(claimPlaces))]...)
	dst = append(dst, ',')
	dst = append(dst, claimStatuses[r.IntN(len(claimStatuses))]...)
	return append(dst, '\n')
}

func appendDate(dst []byte, month, day int) []byte {
	dst = append(dst, "2024-"...)
	dst = append(dst, byte('0'+month/10), byte('0'+month%10), '-')
	return append(dst, byte('0'+day/10), byte('0'+day%10))
}

func appendAmount(dst []byte, units, cents int) []byte {
	dst = strconv.AppendInt(dst, int64(units), 10)
	return append(dst, '.', byte('0'+cents/10), byte('0'+cents%10))
}

// claimCSV returns at least size bytes of claim rows after the header.
func claimCSV(seed uint64, size int) []byte {
	g := newClaimGenerator(seed)
	data := make([]byte, 0, size+512)
	data = append(data, claimHeader...)
	for len(data) < size {
		data = g.appendRow(data)
	}
	return data
}

// writeRows writes data to w one CSV row per call, as pgconn's CopyTo
// writes one CopyData message per row.
func writeRows(t testing.TB, w io.Writer, data []byte) {
	t.Helper()
	for len(data) > 0 {
		end := bytes.IndexByte(data, '\n') + 1
		if end == 0 {
			end = len(data)
		}
		if _, err := w.Write(data[:end]); err != nil {
			t.Fatalf("write row: %v", err)
		}
		data = data[end:]
	}
}

// streamClaims writes generated rows, one per call, until at least size
// bytes are written, without keeping them, and returns the bytes written.
func streamClaims(w io.Writer, seed uint64, size int64) (int64, error) {
	g := newClaimGenerator(seed)
	row := []byte(claimHeader)
	var written int64
	for written < size {
		n, err := w.Write(row)
		written += int64(n)
		if err != nil {
			return written, err
		}
		row = g.appendRow(row[:0])
	}
	return written, nil
}
