package generate

import (
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

var pharmacyClaimColumns = []string{
	"pharmacy_claim_id", "member_id", "payer_id", "prescriber_id", "pharmacy_org_id", "fill_date", "end_date",
	"ndc", "rxnorm_code", "drug_name", "quantity", "days_supply", "dispenses", "ingredient_cost", "payer_paid",
	"total_cost", "reason_code", "reason_description", "loaded_at",
}

// fillPharmacyClaim writes one fill for member m into row. Members with a
// chronic condition that has drugs mostly fill those for 30 or 90 days; the
// rest are short courses of acute drugs. The member pays a copay of $5 to
// $15 and the payer the rest.
func fillPharmacyClaim(rng *rand.Rand, row []any, net *network, m *member, id pgtype.UUID, loadedAt any) {
	var treated []*chronicCondition
	for _, c := range m.conditions {
		if len(c.drugs) > 0 {
			treated = append(treated, c)
		}
	}

	var d *drug
	var reason *diagnosis
	if len(treated) > 0 && chance(rng, 800) {
		cond := pick(rng, treated)
		d, reason = pick(rng, cond.drugs), &cond.diagnosis
	} else {
		d, reason = pick(rng, acuteDrugs), &acuteDiagnoses[rng.IntN(len(acuteDiagnoses))]
	}

	days := between(rng, 5, 10)
	if d.chronic {
		days = 30
		if chance(rng, 300) {
			days = 90
		}
	}
	quantity := d.perFill
	if quantity == 0 {
		quantity = d.perDay * days
	}
	fill := m.randomDay(rng)

	prescriber := m.pcp
	if !chance(rng, 700) {
		prescriber = pick(rng, net.officeStaff)
	}
	pharmacy := m.pharmacy
	if !chance(rng, 800) {
		pharmacy = pick(rng, net.pharmacies)
	}

	ingredient := int64(quantity * d.unitCents)
	total := ingredient + int64(between(rng, 150, 250))
	copay := int64(between(rng, 1, 3) * 500)

	var rxnorm any
	if d.rxnorm != "" {
		rxnorm = d.rxnorm
	}

	copy(row, []any{
		id, m.id, net.payerIDs[m.spanAt(fill).payer], net.providers[prescriber].id, net.orgs[pharmacy].id,
		fill.date(), (fill + day(days-1)).date(), d.ndc, rxnorm, d.name,
		pgtype.Numeric{Int: big.NewInt(int64(quantity)), Valid: true}, int32(days), int32(1),
		cents(ingredient), cents(max(0, total-copay)), cents(total), reason.code, reason.description, loadedAt,
	})
}

var observationColumns = []string{
	"observation_id", "member_id", "observed_at", "category", "code_system", "code", "description", "value",
	"value_numeric", "units", "value_type", "loaded_at",
}

// fillLab writes one lab result for member m into row. A test that one of
// the member's conditions moves falls in the affected range.
func fillLab(rng *rand.Rand, row []any, m *member, id pgtype.UUID, loadedAt any) {
	var affected []*lab
	for _, c := range m.conditions {
		affected = append(affected, c.labs...)
	}
	var l *lab
	if len(affected) > 0 && chance(rng, 600) {
		l = pick(rng, affected)
	} else {
		l = pick(rng, routineLabs)
	}

	low, high := l.low, l.high
	for _, a := range affected {
		if a == l {
			low, high = l.affectedLow, l.affectedHigh
			break
		}
	}
	value := between(rng, low, high)
	observed := m.randomDay(rng).time().Add(time.Duration(between(rng, 7*3600, 17*3600)) * time.Second)

	copy(row, []any{
		id, m.id, observed, "laboratory", "LOINC", l.code, l.description, formatScaled(value, l.scale),
		pgtype.Numeric{Int: big.NewInt(int64(value)), Exp: -int32(l.scale), Valid: true}, l.units, "numeric", loadedAt,
	})
}

// formatScaled formats value * 10^-scale with scale decimals.
func formatScaled(value, scale int) string {
	if scale == 0 {
		return strconv.Itoa(value)
	}
	digits := strconv.Itoa(value)
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	return digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
}

var conditionColumns = []string{
	"condition_id", "member_id", "onset_date", "code_system", "code", "description", "loaded_at",
}

// fillCondition writes chronic condition c of member m into row, with an
// onset up to four years before the member's coverage began.
func fillCondition(rng *rand.Rand, row []any, m *member, c *chronicCondition, id pgtype.UUID, loadedAt any) {
	onset := max(m.birth, m.spans[0].start-day(rng.IntN(4*365)))
	copy(row, []any{id, m.id, onset.date(), "ICD-10-CM", c.code, c.description, loadedAt})
}
