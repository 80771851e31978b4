package generate

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/jackc/pgx/v5/pgtype"
)

type payerKind int

const (
	medicare payerKind = iota
	medicareAdvantage
	medicaid
	commercial
)

// payer is a health plan. Apart from Original Medicare, whose address is the
// CMS headquarters, the plans are invented.
type payer struct {
	kind    payerKind
	name    string
	plan    string
	address string
	city    string
	state   string
	zip     string
	phone   string
	prefix  string // prefix of subscriber ids; Medicare uses the MBI form instead

	// allowedLow and allowedHigh bound the share per mille of a charge the
	// plan pays.
	allowedLow, allowedHigh int
}

var payers = []payer{
	{kind: medicare, name: "Original Medicare", plan: "Medicare Part A and Part B", address: "7500 Security Boulevard", city: "Baltimore", state: "MD", zip: "21244", phone: "1-800-633-4227", allowedLow: 380, allowedHigh: 450},
	{kind: medicareAdvantage, name: "Heartland Medicare Advantage", plan: "Heartland Medicare Advantage HMO", address: "400 Locust Street", city: "Des Moines", state: "IA", zip: "50309", phone: "1-515-555-0140", prefix: "HMA", allowedLow: 420, allowedHigh: 520},
	{kind: medicaid, name: "Prairie State Medicaid Managed Care", plan: "Prairie Medicaid Family Health", address: "100 Capitol Avenue", city: "Springfield", state: "IL", zip: "62701", phone: "1-217-555-0161", prefix: "PMD", allowedLow: 280, allowedHigh: 350},
	{kind: commercial, name: "Lakeshore Health Plan", plan: "Lakeshore PPO 1500", address: "233 Wacker Drive", city: "Chicago", state: "IL", zip: "60606", phone: "1-312-555-0117", prefix: "LKP", allowedLow: 520, allowedHigh: 700},
	{kind: commercial, name: "Lakeshore Health Plan", plan: "Lakeshore HMO Select", address: "233 Wacker Drive", city: "Chicago", state: "IL", zip: "60606", phone: "1-312-555-0117", prefix: "LKH", allowedLow: 500, allowedHigh: 650},
	// The comma in the name exercises quoting in delimited outputs.
	{kind: commercial, name: "Granite Mutual Insurance Company, Inc.", plan: "Granite Choice POS", address: "1 Federal Street", city: "Boston", state: "MA", zip: "02110", phone: "1-617-555-0188", prefix: "GMI", allowedLow: 540, allowedHigh: 720},
}

func payersOfKind(kind payerKind) []int {
	var list []int
	for i, p := range payers {
		if p.kind == kind {
			list = append(list, i)
		}
	}
	return list
}

type orgKind int

const (
	hospital orgKind = iota
	clinic
	pharmacy
	providerGroup
)

type organization struct {
	id      pgtype.UUID
	kind    orgKind
	name    string
	npi     string
	address string
	city    *city
	phone   string
}

type provider struct {
	id        pgtype.UUID
	org       int
	npi       string
	name      string
	gender    string
	specialty string
}

// network holds the payers' ids, the organizations and the providers, which
// every member-level row refers to. Its size grows with Config.Providers and
// Config.Members, not with the number of claims.
type network struct {
	payerIDs      []pgtype.UUID
	orgs          []organization
	providers     []provider
	hospitals     []int // organization indexes by kind
	pharmacies    []int
	groups        []int
	hospitalStaff []int // provider indexes by the kind of their organization
	officeStaff   []int
	staffOf       map[int][]int // provider indexes by organization index
}

var (
	hospitalSpecialties = []string{"Emergency Medicine", "Hospitalist", "General Surgery", "Diagnostic Radiology", "Anesthesiology", "Cardiology"}
	clinicSpecialties   = []string{"Family Medicine", "Pediatrics", "Obstetrics & Gynecology", "Orthopaedic Surgery", "Psychiatry", "Addiction Medicine", "Dermatology"}
	groupSpecialties    = []string{"Family Medicine", "Internal Medicine", "Pediatrics", "Internal Medicine"}
	credentials         = []weighted[string]{{"MD", 600}, {"DO", 120}, {"NP", 180}, {"PA-C", 100}}
	saints              = []string{"St. Mary's", "St. Joseph's", "St. Luke's", "St. Vincent's", "St. Francis", "St. Anne's"}
)

// newNetwork builds the organizations and providers for cfg.
func newNetwork(cfg Config, src *source, ids *ids) *network {
	n := &network{staffOf: map[int][]int{}}
	for i := range payers {
		n.payerIDs = append(n.payerIDs, ids.id("payer", i, 0))
	}

	counts := []struct {
		kind  orgKind
		count int
	}{
		{hospital, max(2, cfg.Providers/50)},
		{clinic, max(3, cfg.Providers/15)},
		{providerGroup, max(2, cfg.Providers/40)},
		{pharmacy, min(200, max(3, cfg.Members/500))},
	}
	npiOffset := mix(uint64(cfg.Seed)) % npiBases
	for _, c := range counts {
		for range c.count {
			index := len(n.orgs)
			rng := src.at(streamOrganization, index)
			n.orgs = append(n.orgs, newOrganization(rng, c.kind, ids.id("organization", index, 0),
				npiFor(cfg.Providers+index, npiOffset)))
			switch c.kind {
			case hospital:
				n.hospitals = append(n.hospitals, index)
			case pharmacy:
				n.pharmacies = append(n.pharmacies, index)
			case providerGroup:
				n.groups = append(n.groups, index)
			}
		}
	}

	// Every organization except the pharmacies gets at least one provider,
	// and hospitals get twice the share of the rest.
	var employers []int
	for i, org := range n.orgs {
		if org.kind != pharmacy {
			employers = append(employers, i)
		}
	}
	weightedEmployers := append(append([]int{}, employers...), n.hospitals...)
	for i := range cfg.Providers {
		rng := src.at(streamProvider, i)
		org := pick(rng, weightedEmployers)
		if i < len(employers) {
			org = employers[i]
		}
		p := newProvider(rng, n.orgs[org].kind, ids.id("provider", i, 0), npiFor(i, npiOffset))
		p.org = org
		n.providers = append(n.providers, p)
		n.staffOf[org] = append(n.staffOf[org], i)
		if n.orgs[org].kind == hospital {
			n.hospitalStaff = append(n.hospitalStaff, i)
		} else {
			n.officeStaff = append(n.officeStaff, i)
		}
	}
	return n
}

func newOrganization(rng *rand.Rand, kind orgKind, id pgtype.UUID, npi string) organization {
	c := &cities[rng.IntN(len(cities))]
	street := pick(rng, streetNames)
	last := pick(rng, lastNames)

	var name string
	switch kind {
	case hospital:
		name = pick(rng, []string{c.name + " General Hospital", pick(rng, saints) + " Medical Center", last + " Memorial Hospital"})
	case clinic:
		name = pick(rng, []string{street + " Street Family Medicine", c.name + " Pediatrics", c.name + " Women's Health", last + " Orthopedics & Sports Medicine", street + " Behavioral Health"})
	case pharmacy:
		name = pick(rng, []string{last + " Pharmacy", c.name + " Community Pharmacy", street + " Street Drug"})
	case providerGroup:
		name = pick(rng, []string{c.name + " Physician Partners", c.stateName + " Accountable Care Group", street + " Primary Care Associates"})
	}
	return organization{
		id:      id,
		kind:    kind,
		name:    name,
		npi:     npi,
		address: strconv.Itoa(between(rng, 1, 2999)) + " " + street + " " + pick(rng, streetSuffixes),
		city:    c,
		phone:   phoneNumber(rng, c),
	}
}

func newProvider(rng *rand.Rand, kind orgKind, id pgtype.UUID, npi string) provider {
	female := rng.IntN(2) == 0
	first := pick(rng, maleNames)
	gender := "M"
	if female {
		first = pick(rng, femaleNames)
		gender = "F"
	}
	specialties := clinicSpecialties
	switch kind {
	case hospital:
		specialties = hospitalSpecialties
	case providerGroup:
		specialties = groupSpecialties
	}
	return provider{
		id:        id,
		npi:       npi,
		name:      first + " " + pick(rng, lastNames) + ", " + pickWeighted(rng, credentials),
		gender:    gender,
		specialty: pick(rng, specialties),
	}
}

// phoneNumber returns a number in the city's area code within the 555-01XX
// range reserved for fiction.
func phoneNumber(rng *rand.Rand, c *city) string {
	return fmt.Sprintf("(%s) 555-01%02d", c.areaCode, rng.IntN(100))
}

func (n *network) payerRows(loadedAt any) [][]any {
	rows := make([][]any, len(payers))
	for i, p := range payers {
		rows[i] = []any{n.payerIDs[i], p.name, p.address, p.city, p.state, p.zip, p.phone, loadedAt}
	}
	return rows
}

func (n *network) organizationRows(loadedAt any) [][]any {
	rows := make([][]any, len(n.orgs))
	for i, o := range n.orgs {
		rows[i] = []any{o.id, o.name, o.npi, o.address, o.city.name, o.city.state, o.city.zip, o.phone, loadedAt}
	}
	return rows
}

func (n *network) providerRows(loadedAt any) [][]any {
	rows := make([][]any, len(n.providers))
	for i, p := range n.providers {
		org := &n.orgs[p.org]
		rows[i] = []any{p.id, org.id, p.npi, p.name, p.gender, p.specialty, org.address, org.city.name, org.city.state, org.city.zip, loadedAt}
	}
	return rows
}

var (
	payerColumns        = []string{"payer_id", "name", "address", "city", "state", "zip", "phone", "loaded_at"}
	organizationColumns = []string{"organization_id", "name", "npi", "address", "city", "state", "zip", "phone", "loaded_at"}
	providerColumns     = []string{"provider_id", "organization_id", "npi", "name", "gender", "specialty", "address", "city", "state", "zip", "loaded_at"}
)
