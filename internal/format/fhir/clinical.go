package fhir

// Fields of Condition.
const (
	condID = iota
	condMember
	condOnset
	condAbatement
	condCodeSystem
	condCode
	condDescription
)

// Fields of Observation.
const (
	obsID = iota
	obsMember
	obsObservedAt
	obsCategory
	obsCodeSystem
	obsCode
	obsDescription
	obsValue
	obsValueNumeric
	obsUnits
)

// Fields of MedicationDispense.
const (
	mdID = iota
	mdMember
	mdFillDate
	mdNDC
	mdRxNorm
	mdDrugName
	mdQuantity
	mdDaysSupply
)

func init() {
	specs["Condition"] = &spec{
		fields: []fieldSpec{
			condID:          {"condition_id", []string{"condition_id"}},
			condMember:      memberField,
			condOnset:       {"onset_date", []string{"onset_date"}},
			condAbatement:   {"abatement_date", []string{"abatement_date"}},
			condCodeSystem:  {"code_system", []string{"code_system"}},
			condCode:        {"code", []string{"code"}},
			condDescription: {"description", []string{"description"}},
		},
		required: []int{condMember, condCode},
		member:   condMember,
		write:    writeCondition,
	}
	specs["Observation"] = &spec{
		fields: []fieldSpec{
			obsID:           {"observation_id", []string{"observation_id"}},
			obsMember:       memberField,
			obsObservedAt:   {"observed_at", []string{"observed_at"}},
			obsCategory:     {"category", []string{"category"}},
			obsCodeSystem:   {"code_system", []string{"code_system"}},
			obsCode:         {"code", []string{"code"}},
			obsDescription:  {"description", []string{"description"}},
			obsValue:        {"value", []string{"value"}},
			obsValueNumeric: {"value_numeric", []string{"value_numeric"}},
			obsUnits:        {"units", []string{"units"}},
		},
		required: []int{obsMember, obsCode},
		member:   obsMember,
		write:    writeObservation,
	}
	specs["MedicationDispense"] = &spec{
		fields: []fieldSpec{
			mdID:         {"pharmacy_claim_id", []string{"pharmacy_claim_id", "dispense_id"}},
			mdMember:     memberField,
			mdFillDate:   {"fill_date", []string{"fill_date"}},
			mdNDC:        {"ndc", []string{"ndc"}},
			mdRxNorm:     {"rxnorm_code", []string{"rxnorm_code"}},
			mdDrugName:   {"drug_name", []string{"drug_name"}},
			mdQuantity:   {"quantity", []string{"quantity"}},
			mdDaysSupply: {"days_supply", []string{"days_supply"}},
		},
		required: []int{mdMember},
		member:   mdMember,
		write:    writeMedicationDispense,
	}
}

const (
	systemConditionClinical   = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	systemObservationCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
)

// writeCondition writes a diagnosis. Codes are ICD-10-CM unless the view's
// code_system column names another system. A condition with an abatement
// date is resolved, else active.
func writeCondition(w *writer) error {
	w.beginRow(condID)
	l := &w.l
	l.open("clinicalStatus")
	l.openArray("coding")
	status := "active"
	if w.get(condAbatement) != nil {
		status = "resolved"
	}
	w.coding(systemConditionClinical, []byte(status), nil)
	l.closeArray()
	l.close()

	w.codeableConcept("code", condCodeSystem, systemICD10CM, condCode, condDescription)
	w.patientReference("subject")
	if err := w.dateTime("onsetDateTime", condOnset); err != nil {
		return err
	}
	if err := w.dateTime("abatementDateTime", condAbatement); err != nil {
		return err
	}
	return w.emit()
}

// codeableConcept writes key k with the code of field code, in the system
// that field system names (or fallback), and the text of field text.
// An element with neither is left out, because FHIR allows no empty
// objects; it returns whether it wrote one.
func (w *writer) codeableConcept(k string, system int, fallback string, code, text int) bool {
	if len(w.get(code)) == 0 && len(w.get(text)) == 0 {
		return false
	}
	l := &w.l
	l.open(k)
	if c := w.get(code); len(c) > 0 {
		l.openArray("coding")
		w.coding(w.codeSystem(system, fallback), c, nil)
		l.closeArray()
	}
	w.str("text", text)
	l.close()
	return true
}

// observationCategories are the codes of FHIR's observation-category code
// system; other category values are kept as text.
var observationCategories = map[string]bool{
	"social-history": true, "vital-signs": true, "imaging": true, "laboratory": true, "procedure": true,
	"survey": true, "exam": true, "therapy": true, "activity": true,
}

// writeObservation writes a result with LOINC codes unless the view's
// code_system column names another system. The value is a Quantity when
// value_numeric is set, else a string.
func writeObservation(w *writer) error {
	w.beginRow(obsID)
	l := &w.l
	l.lit("status", "final")
	if cat := w.get(obsCategory); len(cat) > 0 {
		l.openArray("category")
		l.open("")
		if observationCategories[string(cat)] {
			l.openArray("coding")
			w.coding(systemObservationCategory, cat, nil)
			l.closeArray()
		} else {
			l.str("text", cat)
		}
		l.close()
		l.closeArray()
	}
	if !w.codeableConcept("code", obsCodeSystem, systemLOINC, obsCode, obsDescription) {
		w.dataAbsent("code", "unknown")
	}
	w.patientReference("subject")
	if err := w.dateTime("effectiveDateTime", obsObservedAt); err != nil {
		return err
	}

	switch {
	case w.get(obsValueNumeric) != nil:
		l.open("valueQuantity")
		if err := w.decimal("value", obsValueNumeric); err != nil {
			return err
		}
		// The unit is kept as text: the mart does not say whether it is
		// a UCUM code.
		w.str("unit", obsUnits)
		l.close()
	case len(w.get(obsValue)) > 0:
		l.str("valueString", w.get(obsValue))
	}
	return w.emit()
}

// writeMedicationDispense writes a pharmacy claim as the dispense it
// records, coded by RxNorm and NDC where the view has them.
func writeMedicationDispense(w *writer) error {
	w.beginRow(mdID)
	l := &w.l
	l.lit("status", "completed")

	ndc, rx, name := w.get(mdNDC), w.get(mdRxNorm), w.get(mdDrugName)
	if len(ndc) > 0 || len(rx) > 0 || len(name) > 0 {
		l.open("medicationCodeableConcept")
		if len(ndc) > 0 || len(rx) > 0 {
			l.openArray("coding")
			if len(rx) > 0 {
				w.coding(systemRxNorm, rx, nil)
			}
			if len(ndc) > 0 {
				w.coding(systemNDC, ndc, nil)
			}
			l.closeArray()
		}
		if len(name) > 0 {
			l.str("text", name)
		}
		l.close()
	} else {
		w.dataAbsent("medicationCodeableConcept", "unknown")
	}
	w.patientReference("subject")

	if w.get(mdQuantity) != nil {
		l.open("quantity")
		if err := w.decimal("value", mdQuantity); err != nil {
			return err
		}
		l.close()
	}
	if w.get(mdDaysSupply) != nil {
		l.open("daysSupply")
		if err := w.decimal("value", mdDaysSupply); err != nil {
			return err
		}
		l.lit("unit", "days")
		l.lit("system", systemUCUM)
		l.lit("code", "d")
		l.close()
	}
	if err := w.dateTime("whenHandedOver", mdFillDate); err != nil {
		return err
	}
	return w.emit()
}
