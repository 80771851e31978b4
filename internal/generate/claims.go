package generate

import (
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
)

type claimLine struct {
	proc     *procedure
	from     day
	units    int
	charge   int64 // cents
	paid     int64 // cents
	modifier string
	pointer  string
}

type claim struct {
	setting    *setting
	provider   int // provider index
	payer      int // payer index
	secondary  int // payer index, or -1
	service    day
	diagnoses  []diagnosis
	status     string
	lines      []claimLine
	charge     int64 // cents
	paid       int64 // cents
	hasVaccine bool
}

// claimMaker derives the claims of one member at a time. The header pass
// and the line pass derive the same claims, because the lines of a claim
// can only be copied after its header.
type claimMaker struct {
	net *network
	c   claim
}

var settingWeights = func() []weighted[*setting] {
	list := make([]weighted[*setting], len(settings))
	for i := range settings {
		list[i] = weighted[*setting]{&settings[i], settings[i].weight}
	}
	return list
}()

// next derives the next claim of member m, with at most maxLines lines.
func (g *claimMaker) next(rng *rand.Rand, m *member, maxLines int) *claim {
	c := &g.c
	s := pickWeighted(rng, settingWeights)
	c.setting = s
	lineCount := min(between(rng, s.minLines, s.maxLines), maxLines)

	c.service = m.randomDay(rng)
	stay := 1
	if s.days > 0 {
		stay = between(rng, 1, s.days)
		if last := c.service + day(stay-1); last > m.windowEnd {
			c.service = max(m.windowStart, m.windowEnd-day(stay-1))
			stay = int(m.windowEnd-c.service) + 1
		}
	}
	covered := m.spanAt(c.service)
	c.payer, c.secondary = covered.payer, covered.secondary

	switch {
	case s.hospital:
		c.provider = pick(rng, g.net.hospitalStaff)
	case chance(rng, 600):
		c.provider = m.pcp
	default:
		c.provider = pick(rng, g.net.officeStaff)
	}

	g.makeLines(rng, m, lineCount, stay)
	g.makeDiagnoses(rng, m)
	g.price(rng)
	return c
}

func (g *claimMaker) makeLines(rng *rand.Rand, m *member, count, stay int) {
	c := &g.c
	c.lines = c.lines[:0]
	c.hasVaccine = false
	for j := range count {
		var proc *procedure
		switch {
		case j == 0 && c.setting.preventive:
			proc = preventiveVisit(rng, m.age)
		case j == 0 || len(c.setting.extra) == 0:
			group := pick(rng, c.setting.first)
			proc = &group[rng.IntN(len(group))]
		default:
			group := pick(rng, c.setting.extra)
			proc = &group[rng.IntN(len(group))]
		}

		line := claimLine{proc: proc, from: c.service + day(j*stay/count), units: 1}
		if proc.maxUnits > 1 {
			line.units = between(rng, 1, proc.maxUnits)
		}
		line.charge = int64(between(rng, proc.minCents, proc.maxCents)) * int64(line.units)
		if len(proc.modifiers) > 0 && chance(rng, 350) {
			line.modifier = pick(rng, proc.modifiers)
			if line.modifier == "25" && count == 1 {
				// Modifier 25 marks a visit billed beside a procedure.
				line.modifier = ""
			}
		}
		if isVaccine(proc) {
			c.hasVaccine = true
		}
		c.lines = append(c.lines, line)
	}
}

// preventiveVisit returns the preventive medicine code for an established
// patient of age, or a Medicare annual wellness visit for half of those 65
// and over.
func preventiveVisit(rng *rand.Rand, age int) *procedure {
	switch {
	case age < 1:
		return &preventive[0]
	case age < 5:
		return &preventive[1]
	case age < 12:
		return &preventive[2]
	case age < 18:
		return &preventive[3]
	case age < 40:
		return &preventive[4]
	case age < 65:
		return &preventive[5]
	case chance(rng, 500):
		return &wellnessVisits[rng.IntN(len(wellnessVisits))]
	}
	return &preventive[6]
}

func isVaccine(proc *procedure) bool {
	return proc.code == "90686" || proc.code == "90715" || proc.code == "90732"
}

// behavioralFallback are the diagnoses of behavioral visits by members
// without a behavioral condition of their own.
var behavioralFallback = []diagnosis{conditionByCode("F32.9").diagnosis, conditionByCode("F41.1").diagnosis}

func conditionByCode(code string) *chronicCondition {
	for _, c := range chronicConditions {
		if c.code == code {
			return c
		}
	}
	panic("generate: no chronic condition " + code)
}

// makeDiagnoses picks up to four diagnoses: the reason for the visit first,
// then other chronic conditions of the member, and Z23 when a vaccine was
// given. Line pointers refer to them by position.
func (g *claimMaker) makeDiagnoses(rng *rand.Rand, m *member) {
	c := &g.c
	c.diagnoses = c.diagnoses[:0]

	switch {
	case c.setting.preventive && m.age < 18:
		c.diagnoses = append(c.diagnoses, childExam)
	case c.setting.preventive:
		c.diagnoses = append(c.diagnoses, adultExam)
	case c.setting.behavioral:
		c.diagnoses = append(c.diagnoses, behavioralDiagnosis(rng, m))
	case len(m.conditions) > 0 && chance(rng, 550):
		c.diagnoses = append(c.diagnoses, pick(rng, m.conditions).diagnosis)
	default:
		c.diagnoses = append(c.diagnoses, pick(rng, acuteDiagnoses))
	}

	for _, cond := range m.conditions {
		if len(c.diagnoses) < 2 && cond.code != c.diagnoses[0].code && chance(rng, 400) {
			c.diagnoses = append(c.diagnoses, cond.diagnosis)
		}
	}
	for _, line := range c.lines {
		if line.proc.code == "77067" && m.female {
			c.diagnoses = append(c.diagnoses, mammogramVisit)
			break
		}
	}
	vaccinePointer := ""
	if c.hasVaccine {
		c.diagnoses = append(c.diagnoses, immunization)
		vaccinePointer = strconv.Itoa(len(c.diagnoses))
	}

	for i := range c.lines {
		line := &c.lines[i]
		switch {
		case isVaccine(line.proc) || (line.proc.code == "90471" && c.hasVaccine):
			line.pointer = vaccinePointer
		case len(c.diagnoses) > 1 && chance(rng, 300):
			line.pointer = "1,2"
		default:
			line.pointer = "1"
		}
	}
}

func behavioralDiagnosis(rng *rand.Rand, m *member) diagnosis {
	var candidates []diagnosis
	for _, cond := range m.conditions {
		if strings.HasPrefix(cond.code, "F") {
			candidates = append(candidates, cond.diagnosis)
		}
	}
	if len(candidates) == 0 {
		return pick(rng, behavioralFallback)
	}
	return pick(rng, candidates)
}

// price sets the claim's status and what the payer paid for each line: 4%
// of claims are denied and 2.5% pending, which pay nothing, and 5% of the
// lines of paid claims are bundled into another line and pay nothing.
func (g *claimMaker) price(rng *rand.Rand) {
	c := &g.c
	p := &payers[c.payer]
	allowed := int64(between(rng, p.allowedLow, p.allowedHigh))

	switch r := rng.IntN(1000); {
	case r < 40:
		c.status = "denied"
	case r < 65:
		c.status = "pending"
	default:
		c.status = "paid"
	}

	c.charge, c.paid = 0, 0
	for i := range c.lines {
		line := &c.lines[i]
		line.paid = 0
		if c.status == "paid" && !chance(rng, 50) {
			line.paid = line.charge * allowed / 1000
		}
		c.charge += line.charge
		c.paid += line.paid
	}
}

var claimColumns = []string{
	"claim_id", "member_id", "claim_type", "provider_id", "billing_org_id", "primary_payer_id", "secondary_payer_id",
	"service_date", "diagnosis_code_system", "diagnosis_1", "diagnosis_2", "diagnosis_3", "diagnosis_4",
	"status", "total_charge", "total_paid", "loaded_at",
}

func (g *claimMaker) headerRow(row []any, id pgtype.UUID, m *member, loadedAt any) {
	c := &g.c
	claimType := "professional"
	if c.setting.institutional {
		claimType = "institutional"
	}
	provider := &g.net.providers[c.provider]
	var secondary any
	if c.secondary >= 0 {
		secondary = g.net.payerIDs[c.secondary]
	}
	var diagnoses [4]any
	for i := range min(len(c.diagnoses), len(diagnoses)) {
		diagnoses[i] = c.diagnoses[i].code
	}

	copy(row, []any{
		id, m.id, claimType, provider.id, g.net.orgs[provider.org].id, g.net.payerIDs[c.payer], secondary,
		c.service.date(), "ICD-10-CM", diagnoses[0], diagnoses[1], diagnoses[2], diagnoses[3],
		c.status, cents(c.charge), cents(c.paid), loadedAt,
	})
}

var claimLineColumns = []string{
	"claim_id", "line_number", "member_id", "service_from", "service_to", "procedure_code", "procedure_code_system",
	"modifier_1", "diagnosis_pointer", "place_of_service", "units", "charge_amount", "paid_amount",
	"rendering_provider_id", "loaded_at",
}

func (g *claimMaker) lineRow(row []any, id pgtype.UUID, number int, m *member, loadedAt any) {
	c := &g.c
	line := &c.lines[number]
	var modifier any
	if line.modifier != "" {
		modifier = line.modifier
	}

	copy(row, []any{
		id, int32(number + 1), m.id, line.from.date(), line.from.date(), line.proc.code, line.proc.system,
		modifier, line.pointer, c.setting.placeOfService, pgtype.Numeric{Int: big.NewInt(int64(line.units)), Valid: true},
		cents(line.charge), cents(line.paid), g.net.providers[c.provider].id, loadedAt,
	})
}

// cents returns an amount in cents as a numeric with two decimals.
func cents(amount int64) pgtype.Numeric {
	return pgtype.Numeric{Int: big.NewInt(amount), Exp: -2, Valid: true}
}
