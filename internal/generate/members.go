package generate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// day is a calendar date as days since 1970-01-01.
type day int

func dayOf(t time.Time) day {
	return day(t.UTC().Truncate(24*time.Hour).Unix() / 86400)
}

func (d day) time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

func (d day) date() pgtype.Date { return pgtype.Date{Time: d.time(), Valid: true} }

// span is one coverage period of a member.
type span struct {
	start     day
	end       day // last covered day; the as-of date for open spans
	open      bool
	payer     int // index into payers
	secondary int // index into payers, or -1
}

// member holds what every row about a member depends on. It is derived from
// the seed and the member's index alone, so each table's pass derives it
// again instead of keeping all members in memory.
type member struct {
	index      int
	id         pgtype.UUID
	female     bool
	age        int // whole years at the as-of date
	birth      day
	death      day // 0 when alive
	city       *city
	group      int // attributed provider group (organization index), or -1
	pcp        int // provider index of the usual doctor
	pharmacy   int // organization index of the usual pharmacy
	conditions []*chronicCondition
	spans      []span

	// Claims, fills and labs fall between windowStart and windowEnd, within
	// the last three years, while the member is covered and alive.
	windowStart, windowEnd day

	claimWeight, rxWeight, labWeight uint64
}

// ageBands are the age ranges of members with their relative weights. About
// 2% of members are 90 or older, an age that HIPAA Safe Harbor
// de-identification must aggregate.
var ageBands = []weighted[[2]int]{
	{[2]int{0, 17}, 220},
	{[2]int{18, 44}, 350},
	{[2]int{45, 64}, 250},
	{[2]int{65, 89}, 160},
	{[2]int{90, 104}, 20},
}

// memberDeriver derives members into values the caller reuses.
type memberDeriver struct {
	src  *source
	ids  *ids
	net  *network
	asOf day
}

// derive overwrites m with member i, reusing its slices.
func (d *memberDeriver) derive(i int, m *member) {
	rng := d.src.at(streamMember, i)
	m.index = i
	m.id = d.ids.id("member", i, 0)
	m.female = chance(rng, 510)

	band := pickWeighted(rng, ageBands)
	m.age = between(rng, band[0], band[1])
	m.birth = dayOf(d.asOf.time().AddDate(-m.age, 0, -between(rng, 1, 364)))
	m.city = &cities[rng.IntN(len(cities))]

	m.conditions = m.conditions[:0]
	for _, c := range chronicConditions {
		if chance(rng, c.prevalence[ageBandIndex(m.age)]) {
			m.conditions = append(m.conditions, c)
		}
	}

	m.group = -1
	if chance(rng, 450) {
		m.group = pick(rng, d.net.groups)
	}
	m.pcp = pick(rng, d.net.officeStaff)
	if m.group >= 0 {
		m.pcp = pick(rng, d.net.staffOf[m.group])
	}
	m.pharmacy = pick(rng, d.net.pharmacies)

	d.deriveCoverage(rng, m)
	d.deriveWeights(rng, m)
}

func ageBandIndex(age int) int {
	switch {
	case age < 18:
		return 0
	case age < 45:
		return 1
	case age < 65:
		return 2
	}
	return 3
}

// deriveCoverage builds one to three back-to-back coverage spans that start
// one to six years before the as-of date (or at birth). About 15% of members
// have left their plan within the last 300 days, and a few older members
// have died within the last year, which ends their coverage.
func (d *memberDeriver) deriveCoverage(rng *rand.Rand, m *member) {
	start := max(m.birth, d.asOf-day(between(rng, 365, 6*365)))
	count := between(rng, 1, 3)
	if d.asOf-start < 90 {
		count = 1
	}
	var cutBuffer [3]day
	cuts := cutBuffer[:0]
	for range count - 1 {
		cuts = append(cuts, start+1+day(rng.IntN(int(d.asOf-start-1))))
	}
	slices.Sort(cuts)
	cuts = append(cuts, d.asOf+1)

	m.spans = m.spans[:0]
	from := start
	for _, cut := range cuts {
		if cut <= from {
			continue
		}
		m.spans = append(m.spans, span{start: from, end: cut - 1})
		from = cut
	}
	last := &m.spans[len(m.spans)-1]
	last.end, last.open = d.asOf, true
	if chance(rng, 150) {
		if end := d.asOf - day(between(rng, 1, 300)); end > last.start {
			last.end, last.open = end, false
		}
	}

	m.death = 0
	if m.age >= 60 && chance(rng, 25) {
		if death := d.asOf - day(between(rng, 1, 365)); death > start+30 {
			m.death = death
			for len(m.spans) > 1 && m.spans[len(m.spans)-1].start >= death {
				m.spans = m.spans[:len(m.spans)-1]
			}
			last = &m.spans[len(m.spans)-1]
			last.end, last.open = min(last.end, death), false
		}
	}

	for i := range m.spans {
		m.spans[i].payer, m.spans[i].secondary = d.pickPayer(rng, int(m.spans[i].start-m.birth)/365)
	}
	m.windowStart = max(start, d.asOf-3*365)
	m.windowEnd = m.spans[len(m.spans)-1].end
}

var allFirstNames = append(append([]string{}, femaleNames...), maleNames...)

var (
	medicaidPayers   = payersOfKind(medicaid)
	commercialPayers = payersOfKind(commercial)
	medicarePayers   = append(payersOfKind(medicare), payersOfKind(medicareAdvantage)...)
)

// pickPayer returns the primary payer for a span that starts at age, and the
// secondary payer (Medicaid for dual-eligible members) or -1.
func (d *memberDeriver) pickPayer(rng *rand.Rand, age int) (int, int) {
	switch {
	case age >= 65:
		primary := pick(rng, medicarePayers)
		if chance(rng, 100) {
			return primary, pick(rng, medicaidPayers)
		}
		return primary, -1
	case age < 19 && chance(rng, 450), age >= 19 && chance(rng, 150):
		return pick(rng, medicaidPayers), -1
	}
	return pick(rng, commercialPayers), -1
}

// deriveWeights sets the member's shares of claims, fills and labs. About
// 15% of members without chronic conditions use no care at all.
func (d *memberDeriver) deriveWeights(rng *rand.Rand, m *member) {
	withDrugs, withLabs := 0, 0
	for _, c := range m.conditions {
		if len(c.drugs) > 0 {
			withDrugs++
		}
		if len(c.labs) > 0 {
			withLabs++
		}
	}
	ageFactor := uint64(1)
	if m.age < 5 || m.age >= 65 {
		ageFactor = 2
	}
	m.claimWeight = 0
	if len(m.conditions) > 0 || !chance(rng, 150) {
		m.claimWeight = (1 + 2*uint64(len(m.conditions))) * ageFactor * uint64(between(rng, 1, 4))
	}
	m.rxWeight = 3*uint64(withDrugs) + uint64(rng.IntN(2))
	m.labWeight = 2*uint64(withLabs) + uint64(rng.IntN(3))
}

// spanAt returns the coverage span that contains d, or the last one.
func (m *member) spanAt(d day) *span {
	for i := range m.spans {
		if d <= m.spans[i].end {
			return &m.spans[i]
		}
	}
	return &m.spans[len(m.spans)-1]
}

// randomDay returns a day in the member's activity window.
func (m *member) randomDay(rng *rand.Rand) day {
	return m.windowStart + day(rng.IntN(int(m.windowEnd-m.windowStart)+1))
}

// details are a member's names, contact data and demographics, drawn from
// their own stream because only the member and enrollment rows need them.
type details struct {
	first, last, prefix, suffix, maiden string
	marital                             string
	race, ethnicity                     string
	ssn, address, phone, birthplace     string
	latitude, longitude                 float64
	subscriberFirst                     string // first name of the parent or spouse who subscribes for the member
}

// details derives the details of member m into out.
func (d *memberDeriver) details(m *member, out *details) {
	rng := d.src.at(streamMemberDetails, m.index)
	*out = details{}
	names := maleNames
	if m.female {
		names = femaleNames
	}
	out.first = pick(rng, names)
	out.last = pick(rng, lastNames)
	out.race = pickWeighted(rng, races)
	out.ethnicity = pickWeighted(rng, ethnicities)
	out.subscriberFirst = pick(rng, allFirstNames)

	if m.age >= 18 {
		out.marital = pickWeighted(rng, []weighted[string]{{"M", 500}, {"S", 300}, {"D", 130}, {"W", 70}})
		switch {
		case !m.female:
			out.prefix = "Mr."
		case out.marital == "M":
			out.prefix = "Mrs."
		default:
			out.prefix = "Ms."
		}
		if !m.female && chance(rng, 30) {
			out.suffix = pick(rng, []string{"Jr.", "Sr.", "II", "III"})
		}
		if m.female && out.marital == "M" && chance(rng, 600) {
			out.maiden = pick(rng, lastNames)
		}
	}

	// Area numbers 900-999 are never issued, so these cannot be real SSNs.
	out.ssn = fmt.Sprintf("9%02d-%02d-%04d", rng.IntN(100), between(rng, 1, 99), between(rng, 1, 9999))
	out.address = strconv.Itoa(between(rng, 1, 9999)) + " " + pick(rng, streetNames) + " " + pick(rng, streetSuffixes)
	if chance(rng, 250) {
		// The comma exercises quoting in delimited outputs.
		out.address += pick(rng, []string{", Apt ", ", Unit ", ", Apt #"}) + strconv.Itoa(between(rng, 1, 40)) + pick(rng, []string{"", "A", "B"})
	}
	out.phone = phoneNumber(rng, m.city)
	birthplace := &cities[rng.IntN(len(cities))]
	out.birthplace = birthplace.name + ", " + birthplace.stateName
	out.latitude = float64(m.city.latitude+between(rng, -20000, 20000)) / 1e6
	out.longitude = float64(m.city.longitude+between(rng, -20000, 20000)) / 1e6
}
