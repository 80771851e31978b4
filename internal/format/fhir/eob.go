package fhir

import (
	"bytes"
	"strconv"
	"time"
)

// Fields of ExplanationOfBenefit.
const (
	eobClaim = iota
	eobLine
	eobMember
	eobClaimType
	eobServiceFrom
	eobServiceTo
	eobProcedure
	eobProcedureSystem
	eobModifier1
	eobModifier2
	eobPlaceOfService
	eobUnits
	eobCharge
	eobPaid
	eobDiagnosisSystem
	eobDiagnosis1 // through eobDiagnosis1+7
)

const (
	eobBillingProvider = eobDiagnosis1 + 8 + iota
	eobPayer
	eobPayerName
)

func init() {
	fields := []fieldSpec{
		eobClaim:           {"claim_id", []string{"claim_id"}},
		eobLine:            {"line_number", []string{"line_number"}},
		eobMember:          memberField,
		eobClaimType:       {"claim_type", []string{"claim_type"}},
		eobServiceFrom:     {"service_from", []string{"service_from", "service_date"}},
		eobServiceTo:       {"service_to", []string{"service_to"}},
		eobProcedure:       {"procedure_code", []string{"procedure_code"}},
		eobProcedureSystem: {"procedure_code_system", []string{"procedure_code_system"}},
		eobModifier1:       {"modifier_1", []string{"modifier_1"}},
		eobModifier2:       {"modifier_2", []string{"modifier_2"}},
		eobPlaceOfService:  {"place_of_service", []string{"place_of_service"}},
		eobUnits:           {"units", []string{"units"}},
		eobCharge:          {"charge_amount", []string{"charge_amount"}},
		eobPaid:            {"paid_amount", []string{"paid_amount"}},
		eobDiagnosisSystem: {"diagnosis_code_system", []string{"diagnosis_code_system"}},
	}
	for i := range 8 {
		name := "diagnosis_" + strconv.Itoa(i+1)
		fields = append(fields, fieldSpec{name, []string{name}})
	}
	fields = append(fields,
		fieldSpec{"billing_provider_id", []string{"billing_provider_id", "provider_id"}},
		fieldSpec{"payer_id", []string{"payer_id"}},
		fieldSpec{"payer_name", []string{"payer_name"}},
	)
	specs["ExplanationOfBenefit"] = &spec{
		fields:   fields,
		required: []int{eobMember},
		member:   eobMember,
		write:    writeEOBLine,
		finish:   func(w *writer) error { return w.flushEOB() },
	}
}

const (
	systemClaimType      = "http://terminology.hl7.org/CodeSystem/claim-type"
	systemAdjudication   = "http://terminology.hl7.org/CodeSystem/adjudication"
	systemPlaceOfService = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
	systemProvider       = "urn:axtract:provider"
	systemClaim          = "urn:axtract:claim"
)

// eobGroup is the claim being written: consecutive rows with the same
// claim id and member become one ExplanationOfBenefit with one item per
// row. The resource's line is written as the rows arrive: the header from
// the claim's first row, then the items, then the billable period and the
// totals, which need every line (FHIR JSON gives the order of properties
// no meaning).
type eobGroup struct {
	open         bool
	claim        []byte
	pid          []byte
	count        int
	start        []byte // billablePeriod, as FHIR dates
	end          []byte
	charge, paid amount
}

// writeEOBLine adds the current row to its claim, writing the previous
// claim when this row starts another.
//
// The part requests rows sorted by claim (format.Part.OrderBy),
// so the lines of a claim arrive together. Rows written without that sort,
// as a caller of the writer alone may do, fold only where lines are
// adjacent: lines of a claim that arrive apart become two resources with
// the same id.
func writeEOBLine(w *writer) error {
	if w.eob == nil {
		w.eob = &eobGroup{}
	}
	g := w.eob
	claim := w.get(eobClaim)
	same := g.open && claim != nil && bytes.Equal(claim, g.claim) && bytes.Equal(w.pid, g.pid)
	if !same {
		if err := w.flushEOB(); err != nil {
			return err
		}
		if err := w.startEOB(g, claim); err != nil {
			return err
		}
	}
	return w.addItem(g)
}

// addItem writes the current row as an item of g.
func (w *writer) addItem(g *eobGroup) error {
	g.count++
	if err := w.item(g); err != nil {
		return err
	}

	if from := w.get(eobServiceFrom); from != nil {
		d, err := appendDate(nil, from)
		if err != nil {
			return w.fieldError(eobServiceFrom, err)
		}
		if len(g.start) == 0 || bytes.Compare(d, g.start) < 0 {
			g.start = append(g.start[:0], d...)
		}
		to := d
		if v := w.get(eobServiceTo); v != nil {
			if to, err = appendDate(nil, v); err != nil {
				return w.fieldError(eobServiceTo, err)
			}
		}
		if bytes.Compare(to, g.end) > 0 {
			g.end = append(g.end[:0], to...)
		}
	}
	if v := w.get(eobCharge); v != nil {
		if err := g.charge.add(v); err != nil {
			return w.fieldError(eobCharge, err)
		}
	}
	if v := w.get(eobPaid); v != nil {
		if err := g.paid.add(v); err != nil {
			return w.fieldError(eobPaid, err)
		}
	}
	return nil
}

func (w *writer) item(g *eobGroup) error {
	l := &w.l
	l.open("")
	l.key("sequence")
	if n := w.get(eobLine); digits(n) && n[0] != '0' && len(n) < 10 {
		l.b = append(l.b, n...)
	} else {
		l.b = strconv.AppendInt(l.b, int64(g.count), 10)
	}

	if code := w.get(eobProcedure); len(code) > 0 {
		l.open("productOrService")
		l.openArray("coding")
		w.coding(w.codeSystem(eobProcedureSystem, ""), code, nil)
		l.closeArray()
		l.close()
	} else {
		w.dataAbsent("productOrService", "unknown")
	}
	m1, m2 := w.get(eobModifier1), w.get(eobModifier2)
	if len(m1) > 0 || len(m2) > 0 {
		l.openArray("modifier")
		for _, m := range [][]byte{m1, m2} {
			if len(m) > 0 {
				l.open("")
				l.openArray("coding")
				w.coding("", m, nil)
				l.closeArray()
				l.close()
			}
		}
		l.closeArray()
	}

	if w.get(eobServiceTo) != nil && w.get(eobServiceFrom) != nil {
		l.open("servicedPeriod")
		if err := w.dateTime("start", eobServiceFrom); err != nil {
			return err
		}
		if err := w.dateTime("end", eobServiceTo); err != nil {
			return err
		}
		l.close()
	} else if err := w.date("servicedDate", eobServiceFrom); err != nil {
		return err
	}

	if pos := w.get(eobPlaceOfService); len(pos) > 0 {
		l.open("locationCodeableConcept")
		if len(pos) == 2 && digits(pos) {
			l.openArray("coding")
			w.coding(systemPlaceOfService, pos, nil)
			l.closeArray()
		} else {
			l.str("text", pos)
		}
		l.close()
	}
	if w.get(eobUnits) != nil {
		l.open("quantity")
		if err := w.decimal("value", eobUnits); err != nil {
			return err
		}
		l.close()
	}
	if w.get(eobCharge) != nil {
		if err := w.money("net", eobCharge); err != nil {
			return err
		}
	}
	if w.get(eobCharge) != nil || w.get(eobPaid) != nil {
		l.openArray("adjudication")
		if err := w.adjudication("submitted", eobCharge); err != nil {
			return err
		}
		if err := w.adjudication("benefit", eobPaid); err != nil {
			return err
		}
		l.closeArray()
	}
	l.close()
	return nil
}

func (w *writer) money(k string, f int) error {
	w.l.open(k)
	if err := w.decimal("value", f); err != nil {
		return err
	}
	w.l.lit("currency", "USD")
	w.l.close()
	return nil
}

func (w *writer) adjudication(category string, f int) error {
	if w.get(f) == nil {
		return nil
	}
	l := &w.l
	l.open("")
	w.category(category)
	if err := w.money("amount", f); err != nil {
		return err
	}
	l.close()
	return nil
}

func (w *writer) category(code string) {
	l := &w.l
	l.open("category")
	l.openArray("coding")
	w.coding(systemAdjudication, []byte(code), nil)
	l.closeArray()
	l.close()
}

// startEOB begins the resource of a claim with the header from its first
// row, up to the opening of its items.
func (w *writer) startEOB(g *eobGroup, claim []byte) error {
	g.open = true
	g.claim = append(g.claim[:0], claim...)
	g.pid = append(g.pid[:0], w.pid...)
	g.count = 0
	g.start, g.end = g.start[:0], g.end[:0]
	g.charge, g.paid = amount{}, amount{}

	w.beginRow(eobClaim)
	l := &w.l
	if len(claim) > 0 {
		l.openArray("identifier")
		l.open("")
		l.lit("system", systemClaim)
		l.str("value", claim)
		l.close()
		l.closeArray()
	}
	l.lit("status", "active")
	l.open("type")
	if t := w.get(eobClaimType); len(t) > 0 {
		for _, code := range []string{"professional", "institutional", "pharmacy", "oral", "vision"} {
			if equalFold(t, code) {
				l.openArray("coding")
				w.coding(systemClaimType, []byte(code), nil)
				l.closeArray()
				break
			}
		}
		l.str("text", t)
	} else {
		l.lit("text", "claim")
	}
	l.close()
	l.lit("use", "claim")
	w.patientReference("patient")
	l.lit("created", w.created())
	w.payer("insurer", eobPayer, eobPayerName)
	if p := w.get(eobBillingProvider); p != nil {
		w.logicalReference("provider", systemProvider, p, "")
	} else {
		w.dataAbsent("provider", "unknown")
	}
	l.lit("outcome", "complete")

	w.diagnoses()
	l.openArray("insurance")
	l.open("")
	l.boolean("focal", true)
	w.dataAbsent("coverage", "unknown")
	l.close()
	l.closeArray()
	l.openArray("item")
	return nil
}

// flushEOB ends the claim in progress, if any, with its billable period
// and totals, and writes it.
func (w *writer) flushEOB() error {
	g := w.eob
	if g == nil || !g.open {
		return nil
	}
	g.open = false
	l := &w.l
	l.closeArray()
	if len(g.start) > 0 {
		l.open("billablePeriod")
		l.str("start", g.start)
		l.str("end", g.end)
		l.close()
	}
	if g.charge.set || g.paid.set {
		l.openArray("total")
		for _, t := range []struct {
			code string
			sum  *amount
		}{{"submitted", &g.charge}, {"benefit", &g.paid}} {
			if !t.sum.set {
				continue
			}
			l.open("")
			w.category(t.code)
			l.open("amount")
			l.key("value")
			l.b = t.sum.appendDecimal(l.b)
			l.lit("currency", "USD")
			l.close()
			l.close()
		}
		l.closeArray()
	}
	return w.emit()
}

// diagnoses writes the claim's diagnosis codes in their order.
func (w *writer) diagnoses() {
	var system string
	l := &w.l
	n := 0
	for i := range 8 {
		code := w.get(eobDiagnosis1 + i)
		if len(code) == 0 {
			continue
		}
		if n == 0 {
			// Looked up at the first code, so a claim without diagnoses
			// does not count as one whose system was assumed.
			system = w.codeSystem(eobDiagnosisSystem, systemICD10CM)
			l.openArray("diagnosis")
		}
		n++
		l.open("")
		l.key("sequence")
		l.b = strconv.AppendInt(l.b, int64(n), 10)
		l.open("diagnosisCodeableConcept")
		l.openArray("coding")
		w.coding(system, code, nil)
		l.closeArray()
		l.close()
		l.close()
	}
	if n > 0 {
		l.closeArray()
	}
}

// created returns ExplanationOfBenefit.created: when the extract started,
// because the mart keeps no creation time of a claim.
func (w *writer) created() string {
	if w.createdAt == "" {
		now := w.info.Now
		if now.IsZero() {
			now = time.Now()
		}
		w.createdAt = now.UTC().Format("2006-01-02T15:04:05Z07:00")
	}
	return w.createdAt
}
