package fhir

// Fields of Coverage.
const (
	covID = iota
	covMember
	covSubscriberID
	covPayer
	covPayerName
	covPlanName
	covRelationship
	covStartDate
	covEndDate
)

func init() {
	specs["Coverage"] = &spec{
		fields: []fieldSpec{
			covID:           {"coverage_id", []string{"coverage_id", "enrollment_id"}},
			covMember:       memberField,
			covSubscriberID: {"subscriber_id", []string{"subscriber_id"}},
			covPayer:        {"payer_id", []string{"payer_id"}},
			covPayerName:    {"payer_name", []string{"payer_name"}},
			covPlanName:     {"plan_name", []string{"plan_name"}},
			covRelationship: {"relationship", []string{"relationship"}},
			covStartDate:    {"start_date", []string{"start_date"}},
			covEndDate:      {"end_date", []string{"end_date"}},
		},
		required: []int{covMember},
		member:   covMember,
		write:    writeCoverage,
	}
}

const (
	systemPayer         = "urn:axtract:payer"
	systemRelationship  = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
	systemCoverageClass = "http://terminology.hl7.org/CodeSystem/coverage-class"
)

// relationshipCode maps the mart's relationship values, as words or as
// the X12 individual relationship codes, to the subscriber-relationship
// code system.
func relationshipCode(v []byte) string {
	switch {
	case equalFold(v, "self"), equalFold(v, "18"):
		return "self"
	case equalFold(v, "spouse"), equalFold(v, "01"):
		return "spouse"
	case equalFold(v, "child"), equalFold(v, "19"):
		return "child"
	case equalFold(v, "common"), equalFold(v, "53"):
		return "common"
	case equalFold(v, "injured"):
		return "injured"
	case equalFold(v, "other"), equalFold(v, "G8"):
		return "other"
	}
	return ""
}

// writeCoverage writes one coverage span. The mart has no coverage status,
// so every span is "active", which FHIR defines as a record in force, not
// as a period that has not ended.
func writeCoverage(w *writer) error {
	w.beginRow(covID)
	l := &w.l
	l.lit("status", "active")

	if sub := w.get(covSubscriberID); len(sub) > 0 {
		l.str("subscriberId", sub)
	}
	w.patientReference("beneficiary")
	if rel := w.get(covRelationship); len(rel) > 0 {
		l.open("relationship")
		if code := relationshipCode(rel); code != "" {
			l.openArray("coding")
			w.coding(systemRelationship, []byte(code), nil)
			l.closeArray()
		}
		l.str("text", rel)
		l.close()
	}

	if w.get(covStartDate) != nil || w.get(covEndDate) != nil {
		l.open("period")
		if err := w.dateTime("start", covStartDate); err != nil {
			return err
		}
		if err := w.dateTime("end", covEndDate); err != nil {
			return err
		}
		l.close()
	}

	l.openArray("payor")
	w.payer("", covPayer, covPayerName)
	l.closeArray()

	if plan := w.get(covPlanName); len(plan) > 0 {
		l.openArray("class")
		l.open("")
		l.open("type")
		l.openArray("coding")
		w.coding(systemCoverageClass, []byte("plan"), nil)
		l.closeArray()
		l.close()
		l.str("value", plan)
		l.str("name", plan)
		l.close()
		l.closeArray()
	}
	return w.emit()
}

// payer writes key k as a reference to the payer: by payer id when the
// view has one, with its name from the view or the payer_name option.
func (w *writer) payer(k string, idField, nameField int) {
	id := w.get(idField)
	name := string(w.get(nameField))
	if name == "" {
		name = w.part.parent.opts.PayerName
	}
	if id == nil && name == "" {
		w.dataAbsent(k, "unknown")
		return
	}
	w.logicalReference(k, systemPayer, id, name)
}
