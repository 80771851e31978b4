package synthea

import "github.com/jackc/pgx/v5/pgtype"

// The files of a Synthea CSV export, in the order they are staged. Each
// staging column is named like the mart column it feeds. Every mapped column
// must be present in the header unless it is marked optional. Columns the
// mart does not store are ignored.

var patientsFile = fileSpec{
	file:  "patients.csv",
	stage: "synthea_patients",
	key:   "member_id",
	columns: []column{
		{header: "Id", name: "member_id", kind: uuidKind, notNull: true},
		{header: "BIRTHDATE", name: "birth_date", kind: dateKind, notNull: true},
		{header: "DEATHDATE", name: "death_date", kind: dateKind},
		{header: "SSN", name: "ssn", kind: textKind},
		{header: "DRIVERS", name: "drivers_license", kind: textKind},
		{header: "PASSPORT", name: "passport", kind: textKind},
		{header: "PREFIX", name: "prefix", kind: textKind},
		{header: "FIRST", name: "first_name", kind: textKind},
		{header: "LAST", name: "last_name", kind: textKind},
		{header: "SUFFIX", name: "suffix", kind: textKind},
		{header: "MAIDEN", name: "maiden_name", kind: textKind},
		{header: "MARITAL", name: "marital_status", kind: textKind},
		{header: "RACE", name: "race", kind: textKind},
		{header: "ETHNICITY", name: "ethnicity", kind: textKind},
		{header: "GENDER", name: "gender", kind: textKind},
		{header: "BIRTHPLACE", name: "birthplace", kind: textKind},
		{header: "ADDRESS", name: "address", kind: textKind},
		{header: "CITY", name: "city", kind: textKind},
		{header: "STATE", name: "state", kind: stateKind},
		{header: "COUNTY", name: "county", kind: textKind},
		{header: "ZIP", name: "zip", kind: textKind},
		{header: "LAT", name: "latitude", kind: floatKind},
		{header: "LON", name: "longitude", kind: floatKind},
	},
}

var payersFile = fileSpec{
	file:  "payers.csv",
	stage: "synthea_payers",
	key:   "payer_id",
	columns: []column{
		{header: "Id", name: "payer_id", kind: uuidKind, notNull: true},
		{header: "NAME", name: "name", kind: textKind, notNull: true},
		{header: "ADDRESS", name: "address", kind: textKind},
		{header: "CITY", name: "city", kind: textKind},
		{header: "STATE_HEADQUARTERED", name: "state", kind: stateKind},
		{header: "ZIP", name: "zip", kind: textKind},
		{header: "PHONE", name: "phone", kind: textKind},
	},
}

var payerTransitionsFile = fileSpec{
	file:       "payer_transitions.csv",
	stage:      "synthea_payer_transitions",
	key:        "enrollment_id",
	keyDerived: true,
	columns: []column{
		{header: "PATIENT", name: "member_id", kind: uuidKind, notNull: true},
		{header: "MEMBERID", name: "subscriber_id", kind: textKind},
		{header: "START_YEAR", name: "start_date", kind: dayKind, notNull: true},
		{header: "END_YEAR", name: "end_date", kind: dayKind},
		{header: "PAYER", name: "payer_id", kind: uuidKind, notNull: true},
		{header: "SECONDARY_PAYER", name: "secondary_payer_id", kind: uuidKind},
		{header: "OWNERSHIP", name: "relationship", kind: textKind},
		{header: "OWNERNAME", name: "subscriber_name", kind: textKind},
	},
	check: func(row stagedRow) (string, string) {
		start, _ := row.value("start_date").(pgtype.Date)
		end, ok := row.value("end_date").(pgtype.Date)
		if ok && end.Time.Before(start.Time) {
			return "END_YEAR", "before START_YEAR"
		}
		return "", ""
	},
}

var organizationsFile = fileSpec{
	file:  "organizations.csv",
	stage: "synthea_organizations",
	key:   "organization_id",
	columns: []column{
		{header: "Id", name: "organization_id", kind: uuidKind, notNull: true},
		{header: "NAME", name: "name", kind: textKind, notNull: true},
		{header: "ADDRESS", name: "address", kind: textKind},
		{header: "CITY", name: "city", kind: textKind},
		{header: "STATE", name: "state", kind: stateKind},
		{header: "ZIP", name: "zip", kind: textKind},
		{header: "PHONE", name: "phone", kind: textKind},
	},
}

var providersFile = fileSpec{
	file:  "providers.csv",
	stage: "synthea_providers",
	key:   "provider_id",
	columns: []column{
		{header: "Id", name: "provider_id", kind: uuidKind, notNull: true},
		{header: "ORGANIZATION", name: "organization_id", kind: uuidKind},
		{header: "NAME", name: "name", kind: textKind, notNull: true},
		{header: "GENDER", name: "gender", kind: textKind},
		{header: "SPECIALITY", name: "specialty", kind: textKind},
		{header: "ADDRESS", name: "address", kind: textKind},
		{header: "CITY", name: "city", kind: textKind},
		{header: "STATE", name: "state", kind: stateKind},
		{header: "ZIP", name: "zip", kind: textKind},
	},
}

var encountersFile = fileSpec{
	file:  "encounters.csv",
	stage: "synthea_encounters",
	key:   "encounter_id",
	columns: []column{
		{header: "Id", name: "encounter_id", kind: uuidKind, notNull: true},
		{header: "START", name: "start_at", kind: timestampKind, notNull: true},
		{header: "STOP", name: "end_at", kind: timestampKind},
		{header: "PATIENT", name: "member_id", kind: uuidKind, notNull: true},
		{header: "ORGANIZATION", name: "organization_id", kind: uuidKind},
		{header: "PROVIDER", name: "provider_id", kind: uuidKind},
		{header: "PAYER", name: "payer_id", kind: uuidKind},
		{header: "ENCOUNTERCLASS", name: "encounter_class", kind: textKind},
		{header: "CODE", name: "code", kind: textKind},
		{header: "DESCRIPTION", name: "description", kind: textKind},
		{header: "BASE_ENCOUNTER_COST", name: "base_cost", kind: numericKind(14, 2)},
		{header: "TOTAL_CLAIM_COST", name: "total_cost", kind: numericKind(14, 2)},
		{header: "PAYER_COVERAGE", name: "payer_coverage", kind: numericKind(14, 2)},
		{header: "REASONCODE", name: "reason_code", kind: textKind},
		{header: "REASONDESCRIPTION", name: "reason_description", kind: textKind},
	},
}

var claimsFile = fileSpec{
	file:  "claims.csv",
	stage: "synthea_claims",
	key:   "claim_id",
	columns: []column{
		{header: "Id", name: "claim_id", kind: uuidKind, notNull: true},
		{header: "PATIENTID", name: "member_id", kind: uuidKind, notNull: true},
		{header: "PROVIDERID", name: "provider_id", kind: uuidKind},
		{header: "PRIMARYPATIENTINSURANCEID", name: "primary_payer_id", kind: payerRefKind},
		{header: "SECONDARYPATIENTINSURANCEID", name: "secondary_payer_id", kind: payerRefKind},
		{header: "DIAGNOSIS1", name: "diagnosis_1", kind: textKind},
		{header: "DIAGNOSIS2", name: "diagnosis_2", kind: textKind},
		{header: "DIAGNOSIS3", name: "diagnosis_3", kind: textKind},
		{header: "DIAGNOSIS4", name: "diagnosis_4", kind: textKind},
		{header: "DIAGNOSIS5", name: "diagnosis_5", kind: textKind},
		{header: "DIAGNOSIS6", name: "diagnosis_6", kind: textKind},
		{header: "DIAGNOSIS7", name: "diagnosis_7", kind: textKind},
		{header: "DIAGNOSIS8", name: "diagnosis_8", kind: textKind},
		{header: "APPOINTMENTID", name: "encounter_id", kind: uuidKind},
		{header: "SERVICEDATE", name: "service_date", kind: dayKind, notNull: true},
		{header: "STATUS1", name: "status", kind: textKind},
		{header: "HEALTHCARECLAIMTYPEID1", name: "claim_type", kind: claimTypeKind, notNull: true},
	},
}

var claimsTransactionsFile = fileSpec{
	file:  "claims_transactions.csv",
	stage: "synthea_claims_transactions",
	key:   "transaction_id",
	columns: []column{
		{header: "ID", name: "transaction_id", kind: uuidKind, notNull: true},
		{header: "CLAIMID", name: "claim_id", kind: uuidKind, notNull: true},
		{header: "CHARGEID", name: "charge_id", kind: integerKind},
		{header: "PATIENTID", name: "member_id", kind: uuidKind, notNull: true},
		{header: "TYPE", name: "transaction_type", kind: textKind, notNull: true},
		{header: "AMOUNT", name: "amount", kind: numericKind(14, 2)},
		{header: "METHOD", name: "method", kind: textKind},
		{header: "FROMDATE", name: "from_at", kind: timestampKind},
		{header: "TODATE", name: "to_at", kind: timestampKind},
		{header: "PLACEOFSERVICE", name: "place_of_service", kind: textKind},
		{header: "PROCEDURECODE", name: "procedure_code", kind: textKind},
		{header: "MODIFIER1", name: "modifier_1", kind: textKind},
		{header: "MODIFIER2", name: "modifier_2", kind: textKind},
		{header: "DIAGNOSISREF1", name: "diagnosis_ref_1", kind: textKind},
		{header: "DIAGNOSISREF2", name: "diagnosis_ref_2", kind: textKind},
		{header: "DIAGNOSISREF3", name: "diagnosis_ref_3", kind: textKind},
		{header: "DIAGNOSISREF4", name: "diagnosis_ref_4", kind: textKind},
		{header: "UNITS", name: "units", kind: numericKind(10, 2)},
		{header: "PAYMENTS", name: "payments", kind: numericKind(14, 2)},
		{header: "ADJUSTMENTS", name: "adjustments", kind: numericKind(14, 2)},
		{header: "TRANSFERS", name: "transfers", kind: numericKind(14, 2)},
		{header: "OUTSTANDING", name: "outstanding", kind: numericKind(14, 2)},
		{header: "APPOINTMENTID", name: "encounter_id", kind: uuidKind},
		{header: "PROVIDERID", name: "provider_id", kind: uuidKind},
	},
	check: func(row stagedRow) (string, string) {
		// A charge becomes a claim line, whose service_from is required.
		if row.value("transaction_type") == "CHARGE" && row.value("from_at") == nil {
			return "FROMDATE", "missing value, which a CHARGE transaction needs"
		}
		return "", ""
	},
}

var conditionsFile = fileSpec{
	file:       "conditions.csv",
	stage:      "synthea_conditions",
	key:        "condition_id",
	keyDerived: true,
	columns: []column{
		{header: "START", name: "onset_date", kind: dateKind, notNull: true},
		{header: "STOP", name: "abatement_date", kind: dateKind},
		{header: "PATIENT", name: "member_id", kind: uuidKind, notNull: true},
		{header: "ENCOUNTER", name: "encounter_id", kind: uuidKind},
		{header: "SYSTEM", name: "code_system", kind: textKind, optional: true},
		{header: "CODE", name: "code", kind: textKind, notNull: true},
		{header: "DESCRIPTION", name: "description", kind: textKind},
	},
}

var medicationsFile = fileSpec{
	file:       "medications.csv",
	stage:      "synthea_medications",
	key:        "pharmacy_claim_id",
	keyDerived: true,
	columns: []column{
		{header: "START", name: "fill_date", kind: dayKind, notNull: true},
		{header: "STOP", name: "end_date", kind: dayKind},
		{header: "PATIENT", name: "member_id", kind: uuidKind, notNull: true},
		{header: "PAYER", name: "payer_id", kind: uuidKind},
		{header: "ENCOUNTER", name: "encounter_id", kind: uuidKind},
		{header: "CODE", name: "rxnorm_code", kind: textKind, notNull: true},
		{header: "DESCRIPTION", name: "drug_name", kind: textKind},
		{header: "BASE_COST", name: "ingredient_cost", kind: numericKind(14, 2)},
		{header: "PAYER_COVERAGE", name: "payer_paid", kind: numericKind(14, 2)},
		{header: "DISPENSES", name: "dispenses", kind: integerKind},
		{header: "TOTALCOST", name: "total_cost", kind: numericKind(14, 2)},
		{header: "REASONCODE", name: "reason_code", kind: textKind},
		{header: "REASONDESCRIPTION", name: "reason_description", kind: textKind},
	},
}

var observationsFile = fileSpec{
	file:       "observations.csv",
	stage:      "synthea_observations",
	key:        "observation_id",
	keyDerived: true,
	columns: []column{
		{header: "DATE", name: "observed_at", kind: timestampKind, notNull: true},
		{header: "PATIENT", name: "member_id", kind: uuidKind, notNull: true},
		{header: "ENCOUNTER", name: "encounter_id", kind: uuidKind},
		{header: "CATEGORY", name: "category", kind: textKind},
		{header: "CODE", name: "code", kind: textKind, notNull: true},
		{header: "DESCRIPTION", name: "description", kind: textKind},
		{header: "VALUE", name: "value", kind: textKind},
		{header: "VALUE", name: "value_numeric", kind: numberOrNullKind},
		{header: "UNITS", name: "units", kind: textKind},
		{header: "TYPE", name: "value_type", kind: textKind},
	},
	check: func(row stagedRow) (string, string) {
		if row.value("value_type") == "numeric" && row.value("value") != nil && row.value("value_numeric") == nil {
			return "VALUE", "not a decimal number, which TYPE numeric requires"
		}
		return "", ""
	},
}

// numberOrNullKind stages a decimal number, or NULL for any other text.
// Observation values are numbers or free text, and TYPE states which.
var numberOrNullKind = kind{"numeric", func(field string) (any, error) {
	value, err := parseDecimal(field, 0)
	if err != nil {
		return nil, nil
	}
	return value, nil
}}

var proceduresFile = fileSpec{
	file:       "procedures.csv",
	stage:      "synthea_procedures",
	key:        "procedure_id",
	keyDerived: true,
	columns: []column{
		{header: "START", name: "start_at", kind: timestampKind, notNull: true},
		{header: "STOP", name: "end_at", kind: timestampKind},
		{header: "PATIENT", name: "member_id", kind: uuidKind, notNull: true},
		{header: "ENCOUNTER", name: "encounter_id", kind: uuidKind},
		{header: "SYSTEM", name: "code_system", kind: textKind, optional: true},
		{header: "CODE", name: "code", kind: textKind, notNull: true},
		{header: "DESCRIPTION", name: "description", kind: textKind},
		{header: "BASE_COST", name: "base_cost", kind: numericKind(14, 2)},
		{header: "REASONCODE", name: "reason_code", kind: textKind},
		{header: "REASONDESCRIPTION", name: "reason_description", kind: textKind},
	},
}

var allergiesFile = fileSpec{
	file:       "allergies.csv",
	stage:      "synthea_allergies",
	key:        "allergy_id",
	keyDerived: true,
	columns: []column{
		{header: "START", name: "start_date", kind: dateKind},
		{header: "STOP", name: "stop_date", kind: dateKind},
		{header: "PATIENT", name: "member_id", kind: uuidKind, notNull: true},
		{header: "ENCOUNTER", name: "encounter_id", kind: uuidKind},
		{header: "CODE", name: "code", kind: textKind, notNull: true},
		{header: "SYSTEM", name: "code_system", kind: textKind},
		{header: "DESCRIPTION", name: "description", kind: textKind},
		{header: "TYPE", name: "allergy_type", kind: textKind},
		{header: "CATEGORY", name: "category", kind: textKind},
		{header: "REACTION1", name: "reaction_1", kind: textKind},
		{header: "SEVERITY1", name: "severity_1", kind: textKind},
		{header: "REACTION2", name: "reaction_2", kind: textKind},
		{header: "SEVERITY2", name: "severity_2", kind: textKind},
	},
}

var careplansFile = fileSpec{
	file:  "careplans.csv",
	stage: "synthea_careplans",
	key:   "careplan_id",
	columns: []column{
		{header: "Id", name: "careplan_id", kind: uuidKind, notNull: true},
		{header: "START", name: "start_date", kind: dateKind},
		{header: "STOP", name: "stop_date", kind: dateKind},
		{header: "PATIENT", name: "member_id", kind: uuidKind, notNull: true},
		{header: "ENCOUNTER", name: "encounter_id", kind: uuidKind},
		{header: "CODE", name: "code", kind: textKind, notNull: true},
		{header: "DESCRIPTION", name: "description", kind: textKind},
		{header: "REASONCODE", name: "reason_code", kind: textKind},
		{header: "REASONDESCRIPTION", name: "reason_description", kind: textKind},
	},
}

var immunizationsFile = fileSpec{
	file:       "immunizations.csv",
	stage:      "synthea_immunizations",
	key:        "immunization_id",
	keyDerived: true,
	columns: []column{
		{header: "DATE", name: "administered_at", kind: timestampKind, notNull: true},
		{header: "PATIENT", name: "member_id", kind: uuidKind, notNull: true},
		{header: "ENCOUNTER", name: "encounter_id", kind: uuidKind},
		{header: "CODE", name: "code", kind: textKind, notNull: true},
		{header: "DESCRIPTION", name: "description", kind: textKind},
		{header: "BASE_COST", name: "base_cost", kind: numericKind(14, 2)},
	},
}

var devicesFile = fileSpec{
	file:       "devices.csv",
	stage:      "synthea_devices",
	key:        "device_id",
	keyDerived: true,
	columns: []column{
		{header: "START", name: "start_at", kind: timestampKind},
		{header: "STOP", name: "stop_at", kind: timestampKind},
		{header: "PATIENT", name: "member_id", kind: uuidKind, notNull: true},
		{header: "ENCOUNTER", name: "encounter_id", kind: uuidKind},
		{header: "CODE", name: "code", kind: textKind, notNull: true},
		{header: "DESCRIPTION", name: "description", kind: textKind},
		{header: "UDI", name: "udi", kind: textKind},
	},
}

// imagingStudiesFile has an Id column, but Synthea repeats a study's Id on
// the row of each instance, so repeated ids are re-keyed rather than
// rejected (see resolveDuplicateKeys).
var imagingStudiesFile = fileSpec{
	file:       "imaging_studies.csv",
	stage:      "synthea_imaging_studies",
	key:        "imaging_study_id",
	rekeyOrder: "series_uid, instance_uid, line",
	columns: []column{
		{header: "Id", name: "imaging_study_id", kind: uuidKind, notNull: true},
		{header: "DATE", name: "studied_at", kind: timestampKind, notNull: true},
		{header: "PATIENT", name: "member_id", kind: uuidKind, notNull: true},
		{header: "ENCOUNTER", name: "encounter_id", kind: uuidKind},
		{header: "SERIES_UID", name: "series_uid", kind: textKind},
		{header: "BODYSITE_CODE", name: "body_site_code", kind: textKind},
		{header: "BODYSITE_DESCRIPTION", name: "body_site_description", kind: textKind},
		{header: "MODALITY_CODE", name: "modality_code", kind: textKind},
		{header: "MODALITY_DESCRIPTION", name: "modality_description", kind: textKind},
		{header: "INSTANCE_UID", name: "instance_uid", kind: textKind},
		{header: "SOP_CODE", name: "sop_code", kind: textKind},
		{header: "SOP_DESCRIPTION", name: "sop_description", kind: textKind},
		{header: "PROCEDURE_CODE", name: "procedure_code", kind: textKind},
	},
}

var suppliesFile = fileSpec{
	file:       "supplies.csv",
	stage:      "synthea_supplies",
	key:        "supply_id",
	keyDerived: true,
	columns: []column{
		{header: "DATE", name: "supplied_on", kind: dayKind, notNull: true},
		{header: "PATIENT", name: "member_id", kind: uuidKind, notNull: true},
		{header: "ENCOUNTER", name: "encounter_id", kind: uuidKind},
		{header: "CODE", name: "code", kind: textKind, notNull: true},
		{header: "DESCRIPTION", name: "description", kind: textKind},
		{header: "QUANTITY", name: "quantity", kind: integerKind},
	},
}

// exportFiles lists every file an export must contain, in staging order.
var exportFiles = []*fileSpec{
	&patientsFile,
	&payersFile,
	&payerTransitionsFile,
	&organizationsFile,
	&providersFile,
	&encountersFile,
	&claimsFile,
	&claimsTransactionsFile,
	&conditionsFile,
	&medicationsFile,
	&observationsFile,
	&proceduresFile,
	&allergiesFile,
	&careplansFile,
	&immunizationsFile,
	&devicesFile,
	&imagingStudiesFile,
	&suppliesFile,
}
