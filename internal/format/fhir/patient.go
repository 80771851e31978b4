package fhir

// Fields of Patient.
const (
	patMember = iota
	patFirstName
	patLastName
	patBirthDate
	patDeathDate
	patGender
	patRace
	patEthnicity
	patAddress
	patCity
	patState
	patZip
	patPhone
	patSSN
)

func init() {
	specs["Patient"] = &spec{
		fields: []fieldSpec{
			patMember:    memberField,
			patFirstName: {"first_name", []string{"first_name", "member_first_name"}},
			patLastName:  {"last_name", []string{"last_name", "member_last_name"}},
			patBirthDate: {"birth_date", []string{"birth_date", "member_birth_date"}},
			patDeathDate: {"death_date", []string{"death_date"}},
			patGender:    {"gender", []string{"gender", "member_gender"}},
			patRace:      {"race", []string{"race"}},
			patEthnicity: {"ethnicity", []string{"ethnicity"}},
			patAddress:   {"address", []string{"address"}},
			patCity:      {"city", []string{"city"}},
			patState:     {"state", []string{"state", "member_state"}},
			patZip:       {"zip", []string{"zip", "member_zip"}},
			patPhone:     {"phone", []string{"phone"}},
			patSSN:       {"ssn", []string{"ssn"}},
		},
		required: []int{patMember},
		member:   patMember,
		write:    writePatient,
	}
}

const (
	urlRace      = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
	urlEthnicity = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
	systemSSN    = "http://hl7.org/fhir/sid/us-ssn"
)

// writePatient writes a Patient with what the view carries. A
// de-identified view's values map as they are: a birth year ("1980")
// is a valid FHIR date, and a three-digit ZIP code is the postal code.
func writePatient(w *writer) error {
	w.begin(w.pid)
	l := &w.l

	race, ethnicity := w.get(patRace), w.get(patEthnicity)
	if len(race) > 0 || len(ethnicity) > 0 {
		l.openArray("extension")
		w.textExtension(urlRace, race)
		w.textExtension(urlEthnicity, ethnicity)
		l.closeArray()
	}

	l.openArray("identifier")
	l.open("")
	l.text("system", w.part.parent.opts.IdentifierSystem)
	l.str("value", w.get(patMember))
	l.close()
	if ssn := w.get(patSSN); len(ssn) > 0 {
		l.open("")
		l.lit("system", systemSSN)
		l.str("value", ssn)
		l.close()
	}
	l.closeArray()

	first, last := w.get(patFirstName), w.get(patLastName)
	if len(first) > 0 || len(last) > 0 {
		l.openArray("name")
		l.open("")
		if len(last) > 0 {
			l.str("family", last)
		}
		if len(first) > 0 {
			l.openArray("given")
			l.elem(first)
			l.closeArray()
		}
		l.close()
		l.closeArray()
	}

	if phone := w.get(patPhone); len(phone) > 0 {
		l.openArray("telecom")
		l.open("")
		l.lit("system", "phone")
		l.str("value", phone)
		l.close()
		l.closeArray()
	}

	if g := w.get(patGender); g != nil {
		l.lit("gender", gender(g))
	}
	if err := w.date("birthDate", patBirthDate); err != nil {
		return err
	}
	if err := w.dateTime("deceasedDateTime", patDeathDate); err != nil {
		return err
	}

	if len(w.get(patAddress)) > 0 || len(w.get(patCity)) > 0 || len(w.get(patState)) > 0 || len(w.get(patZip)) > 0 {
		l.openArray("address")
		l.open("")
		if a := w.get(patAddress); len(a) > 0 {
			l.openArray("line")
			l.elem(a)
			l.closeArray()
		}
		w.str("city", patCity)
		w.str("state", patState)
		w.str("postalCode", patZip)
		l.close()
		l.closeArray()
	}
	return w.emit()
}

// textExtension writes a US Core race or ethnicity extension with only its
// text part, because the mart holds the value as text, not as OMB codes.
func (w *writer) textExtension(url string, v []byte) {
	if len(v) == 0 {
		return
	}
	l := &w.l
	l.open("")
	l.lit("url", url)
	l.openArray("extension")
	l.open("")
	l.lit("url", "text")
	l.str("valueString", v)
	l.close()
	l.closeArray()
	l.close()
}
