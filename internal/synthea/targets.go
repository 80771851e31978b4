package synthea

// target describes how one mart table is filled from staging tables.
type target struct {
	table string    // mart table
	file  *fileSpec // file whose rows the table counts and whose references are checked

	key     []string // conflict target: the table's primary key
	columns []string // inserted columns; every column outside key is also updated

	// exprs are the SELECT expressions for columns, in the same order. When
	// nil, each column is read from the staging column of the same name.
	exprs []string

	// from is the FROM clause without the keyword, and may carry joins and a
	// WHERE clause. When empty it is the file's staging table.
	from string

	// readSQL counts the source rows the table is built from. When empty the
	// count is the number of records in the file.
	readSQL string

	refs []reference
}

// reference is a staged column that must name a row of a mart table. It is
// checked after the referenced table is merged, so that the error can name
// the line, which a foreign key violation cannot.
type reference struct {
	header string // CSV header of the referring column
	column string // staging column
	table  string // referenced mart table
	key    string // primary key of the referenced table
	source string // file the referenced rows come from
}

func memberRef(header string) reference {
	return reference{header: header, column: "member_id", table: "member", key: "member_id", source: "patients.csv"}
}

func payerRef(header, column string) reference {
	return reference{header: header, column: column, table: "payer", key: "payer_id", source: "payers.csv"}
}

func organizationRef(header string) reference {
	return reference{header: header, column: "organization_id", table: "organization", key: "organization_id", source: "organizations.csv"}
}

func providerRef(header string) reference {
	return reference{header: header, column: "provider_id", table: "provider", key: "provider_id", source: "providers.csv"}
}

// claimLineSource is the FROM clause of mart.claim_line: one line per CHARGE
// transaction, paid by the PAYMENT transactions of the same claim, procedure
// code and service date. A charge whose code a vaccine or a medication of the
// same encounter carries is coded in CVX or RxNorm, and any other in SNOMED CT.
//
// NOTE: two charges of one claim with the same code on the same date would
// each be credited with the payments of both. Synthea bills each code once
// per encounter, and the sample export has no such pair.
const claimLineSource = `synthea_claims_transactions AS t
    LEFT JOIN (
        SELECT claim_id, procedure_code, (from_at AT TIME ZONE 'UTC')::date AS from_date, sum(payments) AS amount
        FROM synthea_claims_transactions
        WHERE transaction_type = 'PAYMENT'
        GROUP BY claim_id, procedure_code, from_date
    ) AS paid
        ON paid.claim_id = t.claim_id
        AND paid.procedure_code = t.procedure_code
        AND paid.from_date = (t.from_at AT TIME ZONE 'UTC')::date
    LEFT JOIN (SELECT DISTINCT encounter_id, code FROM synthea_immunizations) AS vaccine
        ON vaccine.encounter_id = t.encounter_id AND vaccine.code = t.procedure_code
    LEFT JOIN (SELECT DISTINCT encounter_id, rxnorm_code FROM synthea_medications) AS drug
        ON drug.encounter_id = t.encounter_id AND drug.rxnorm_code = t.procedure_code
    WHERE t.transaction_type = 'CHARGE'`

// claimSource is the FROM clause of mart.claim. The billing organization is
// the organization of the claim's encounter, and the totals add up the
// claim's CHARGE and PAYMENT transactions.
const claimSource = `synthea_claims AS c
    LEFT JOIN mart.encounter AS e ON e.encounter_id = c.encounter_id
    LEFT JOIN (
        SELECT
            claim_id,
            sum(amount) FILTER (WHERE transaction_type = 'CHARGE') AS charged,
            sum(payments) FILTER (WHERE transaction_type = 'PAYMENT') AS paid
        FROM synthea_claims_transactions
        GROUP BY claim_id
    ) AS totals ON totals.claim_id = c.claim_id`

// targets lists the mart tables in the order they are merged, which puts
// every referenced table before the tables that refer to it.
var targets = []target{
	{
		table: "payer", file: &payersFile, key: []string{"payer_id"},
		columns: []string{"payer_id", "name", "address", "city", "state", "zip", "phone"},
	},
	{
		table: "organization", file: &organizationsFile, key: []string{"organization_id"},
		columns: []string{"organization_id", "name", "address", "city", "state", "zip", "phone"},
	},
	{
		table: "provider", file: &providersFile, key: []string{"provider_id"},
		columns: []string{"provider_id", "organization_id", "name", "gender", "specialty", "address", "city", "state", "zip"},
		refs:    []reference{organizationRef("ORGANIZATION")},
	},
	{
		table: "member", file: &patientsFile, key: []string{"member_id"},
		columns: []string{
			"member_id", "prefix", "first_name", "last_name", "suffix", "maiden_name", "birth_date", "death_date",
			"ssn", "drivers_license", "passport", "marital_status", "race", "ethnicity", "gender", "birthplace",
			"address", "city", "state", "county", "zip", "latitude", "longitude",
		},
	},
	{
		table: "enrollment", file: &payerTransitionsFile, key: []string{"enrollment_id"},
		columns: []string{
			"enrollment_id", "member_id", "payer_id", "secondary_payer_id", "subscriber_id", "relationship",
			"subscriber_name", "start_date", "end_date",
		},
		refs: []reference{memberRef("PATIENT"), payerRef("PAYER", "payer_id"), payerRef("SECONDARY_PAYER", "secondary_payer_id")},
	},
	{
		table: "encounter", file: &encountersFile, key: []string{"encounter_id"},
		columns: []string{
			"encounter_id", "member_id", "organization_id", "provider_id", "payer_id", "encounter_class", "code",
			"description", "start_at", "end_at", "base_cost", "total_cost", "payer_coverage", "reason_code",
			"reason_description",
		},
		refs: []reference{memberRef("PATIENT"), organizationRef("ORGANIZATION"), providerRef("PROVIDER"), payerRef("PAYER", "payer_id")},
	},
	{
		table: "claim", file: &claimsFile, key: []string{"claim_id"},
		columns: []string{
			"claim_id", "member_id", "claim_type", "provider_id", "billing_org_id", "primary_payer_id",
			"secondary_payer_id", "encounter_id", "service_date", "diagnosis_code_system",
			"diagnosis_1", "diagnosis_2", "diagnosis_3", "diagnosis_4",
			"diagnosis_5", "diagnosis_6", "diagnosis_7", "diagnosis_8",
			"status", "total_charge", "total_paid",
		},
		exprs: []string{
			"c.claim_id", "c.member_id", "c.claim_type", "c.provider_id", "e.organization_id", "c.primary_payer_id",
			"c.secondary_payer_id", "c.encounter_id", "c.service_date", "'SNOMED-CT'",
			"c.diagnosis_1", "c.diagnosis_2", "c.diagnosis_3", "c.diagnosis_4",
			"c.diagnosis_5", "c.diagnosis_6", "c.diagnosis_7", "c.diagnosis_8",
			"c.status", "coalesce(totals.charged, 0)", "coalesce(totals.paid, 0)",
		},
		from: claimSource,
		refs: []reference{
			memberRef("PATIENTID"),
			providerRef("PROVIDERID"),
			payerRef("PRIMARYPATIENTINSURANCEID", "primary_payer_id"),
			payerRef("SECONDARYPATIENTINSURANCEID", "secondary_payer_id"),
		},
	},
	{
		table: "claim_transaction", file: &claimsTransactionsFile, key: []string{"transaction_id"},
		columns: []string{
			"transaction_id", "claim_id", "charge_id", "member_id", "transaction_type", "amount", "method",
			"from_at", "to_at", "procedure_code", "units", "payments", "adjustments", "transfers", "outstanding",
			"provider_id",
		},
		refs: []reference{
			{header: "CLAIMID", column: "claim_id", table: "claim", key: "claim_id", source: "claims.csv"},
			memberRef("PATIENTID"),
			providerRef("PROVIDERID"),
		},
	},
	{
		table: "claim_line", file: &claimsTransactionsFile, key: []string{"claim_id", "line_number"},
		columns: []string{
			"claim_id", "line_number", "member_id", "service_from", "service_to", "procedure_code",
			"procedure_code_system", "modifier_1", "modifier_2", "diagnosis_pointer", "place_of_service", "units",
			"charge_amount", "paid_amount", "rendering_provider_id",
		},
		exprs: []string{
			"t.claim_id",
			"row_number() OVER (PARTITION BY t.claim_id ORDER BY t.charge_id, t.transaction_id)",
			"t.member_id",
			"(t.from_at AT TIME ZONE 'UTC')::date",
			"(t.to_at AT TIME ZONE 'UTC')::date",
			"t.procedure_code",
			`CASE
                WHEN t.procedure_code IS NULL THEN NULL
                WHEN vaccine.code IS NOT NULL THEN 'CVX'
                WHEN drug.rxnorm_code IS NOT NULL THEN 'RxNorm'
                ELSE 'SNOMED-CT'
            END`,
			"t.modifier_1",
			"t.modifier_2",
			"nullif(concat_ws(',', t.diagnosis_ref_1, t.diagnosis_ref_2, t.diagnosis_ref_3, t.diagnosis_ref_4), '')",
			"t.place_of_service",
			"t.units",
			"t.amount",
			"coalesce(paid.amount, 0)",
			"t.provider_id",
		},
		from:    claimLineSource,
		readSQL: "SELECT count(*) FROM synthea_claims_transactions WHERE transaction_type = 'CHARGE'",
	},
	{
		table: "pharmacy_claim", file: &medicationsFile, key: []string{"pharmacy_claim_id"},
		columns: []string{
			"pharmacy_claim_id", "member_id", "payer_id", "encounter_id", "prescriber_id", "fill_date", "end_date",
			"rxnorm_code", "drug_name", "dispenses", "ingredient_cost", "payer_paid", "total_cost", "reason_code",
			"reason_description",
		},
		// Synthea names no prescriber, so the prescriber is the provider of
		// the encounter that ordered the medication.
		exprs: []string{
			"m.pharmacy_claim_id", "m.member_id", "m.payer_id", "m.encounter_id", "e.provider_id", "m.fill_date",
			"m.end_date", "m.rxnorm_code", "m.drug_name", "m.dispenses", "m.ingredient_cost", "m.payer_paid",
			"m.total_cost", "m.reason_code", "m.reason_description",
		},
		from: "synthea_medications AS m LEFT JOIN mart.encounter AS e ON e.encounter_id = m.encounter_id",
		refs: []reference{memberRef("PATIENT"), payerRef("PAYER", "payer_id")},
	},
	{
		table: "condition", file: &conditionsFile, key: []string{"condition_id"},
		columns: []string{"condition_id", "member_id", "encounter_id", "onset_date", "abatement_date", "code_system", "code", "description"},
		exprs: []string{
			"condition_id", "member_id", "encounter_id", "onset_date", "abatement_date",
			"coalesce(code_system, 'SNOMED-CT')", "code", "description",
		},
		refs: []reference{memberRef("PATIENT")},
	},
	{
		table: "observation", file: &observationsFile, key: []string{"observation_id"},
		columns: []string{
			"observation_id", "member_id", "encounter_id", "observed_at", "category", "code_system", "code",
			"description", "value", "value_numeric", "units", "value_type",
		},
		exprs: []string{
			"observation_id", "member_id", "encounter_id", "observed_at", "category", "'LOINC'", "code",
			"description", "value", "CASE WHEN value_type = 'numeric' THEN value_numeric END", "units", "value_type",
		},
		refs: []reference{memberRef("PATIENT")},
	},
	{
		table: "procedure", file: &proceduresFile, key: []string{"procedure_id"},
		columns: []string{
			"procedure_id", "member_id", "encounter_id", "start_at", "end_at", "code_system", "code", "description",
			"base_cost", "reason_code", "reason_description",
		},
		exprs: []string{
			"procedure_id", "member_id", "encounter_id", "start_at", "end_at", "coalesce(code_system, 'SNOMED-CT')",
			"code", "description", "base_cost", "reason_code", "reason_description",
		},
		refs: []reference{memberRef("PATIENT")},
	},
	{
		table: "allergy", file: &allergiesFile, key: []string{"allergy_id"},
		columns: []string{
			"allergy_id", "member_id", "encounter_id", "start_date", "stop_date", "code_system", "code",
			"description", "allergy_type", "category", "reaction_1", "severity_1", "reaction_2", "severity_2",
		},
		refs: []reference{memberRef("PATIENT")},
	},
	{
		table: "careplan", file: &careplansFile, key: []string{"careplan_id"},
		columns: []string{
			"careplan_id", "member_id", "encounter_id", "start_date", "stop_date", "code", "description",
			"reason_code", "reason_description",
		},
		refs: []reference{memberRef("PATIENT")},
	},
	{
		table: "immunization", file: &immunizationsFile, key: []string{"immunization_id"},
		columns: []string{"immunization_id", "member_id", "encounter_id", "administered_at", "code", "description", "base_cost"},
		refs:    []reference{memberRef("PATIENT")},
	},
	{
		table: "device", file: &devicesFile, key: []string{"device_id"},
		columns: []string{"device_id", "member_id", "encounter_id", "start_at", "stop_at", "code", "description", "udi"},
		refs:    []reference{memberRef("PATIENT")},
	},
	{
		table: "imaging_study", file: &imagingStudiesFile, key: []string{"imaging_study_id"},
		columns: []string{
			"imaging_study_id", "member_id", "encounter_id", "studied_at", "series_uid", "body_site_code",
			"body_site_description", "modality_code", "modality_description", "instance_uid", "sop_code",
			"sop_description", "procedure_code",
		},
		refs: []reference{memberRef("PATIENT")},
	},
	{
		table: "supply", file: &suppliesFile, key: []string{"supply_id"},
		columns: []string{"supply_id", "member_id", "encounter_id", "supplied_on", "code", "description", "quantity"},
		refs:    []reference{memberRef("PATIENT")},
	},
}
