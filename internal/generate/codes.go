package generate

// Code lists for generated claims and clinical rows. ICD-10-CM codes and
// descriptions follow the CMS code set of fiscal year 2024; RxNorm, LOINC,
// CPT and HCPCS codes are real codes, but CPT codes carry no descriptions
// here because the AMA holds the copyright on them. NDCs are illustrative:
// they have the 11-digit 5-4-2 form but are not checked against the FDA NDC
// Directory.

// diagnosis is an ICD-10-CM code, stored with its dot as in I25.10.
type diagnosis struct {
	code        string
	description string
}

// acuteDiagnoses are the reasons for visits that are not chronic.
var acuteDiagnoses = []diagnosis{
	{"J06.9", "Acute upper respiratory infection, unspecified"},
	{"J02.9", "Acute pharyngitis, unspecified"},
	{"J01.90", "Acute sinusitis, unspecified"},
	{"J20.9", "Acute bronchitis, unspecified"},
	{"H66.90", "Otitis media, unspecified, unspecified ear"},
	{"N39.0", "Urinary tract infection, site not specified"},
	{"R05.9", "Cough, unspecified"},
	{"R10.9", "Unspecified abdominal pain"},
	{"R51.9", "Headache, unspecified"},
	{"R07.9", "Chest pain, unspecified"},
	{"M54.50", "Low back pain, unspecified"},
	{"S93.401A", "Sprain of unspecified ligament of right ankle, initial encounter"},
	{"K52.9", "Noninfective gastroenteritis and colitis, unspecified"},
	{"L03.116", "Cellulitis of left lower limb"},
	{"B34.9", "Viral infection, unspecified"},
	{"U07.1", "COVID-19"},
}

// Preventive diagnoses for wellness visits, screening and immunization.
var (
	adultExam      = diagnosis{"Z00.00", "Encounter for general adult medical examination without abnormal findings"}
	childExam      = diagnosis{"Z00.129", "Encounter for routine child health examination without abnormal findings"}
	immunization   = diagnosis{"Z23", "Encounter for immunization"}
	mammogramVisit = diagnosis{"Z12.31", "Encounter for screening mammogram for malignant neoplasm of breast"}
)

// chronicCondition is a long-term diagnosis with its prevalence and the
// drugs and labs that follow from it.
type chronicCondition struct {
	diagnosis

	// prevalence is the share per mille of members with the condition by
	// age band: under 18, 18 to 44, 45 to 64, 65 and over.
	prevalence [4]int

	drugs []*drug
	labs  []*lab // labs whose results the condition moves out of range
}

var chronicConditions = []*chronicCondition{
	{diagnosis: diagnosis{"I10", "Essential (primary) hypertension"}, prevalence: [4]int{2, 80, 300, 550},
		drugs: []*drug{&lisinopril, &hydrochlorothiazide, &amlodipine}, labs: []*lab{&potassium, &creatinine}},
	{diagnosis: diagnosis{"E78.5", "Hyperlipidemia, unspecified"}, prevalence: [4]int{1, 60, 250, 400},
		drugs: []*drug{&simvastatin, &atorvastatin}, labs: []*lab{&totalCholesterol, &ldl, &triglycerides}},
	{diagnosis: diagnosis{"E11.9", "Type 2 diabetes mellitus without complications"}, prevalence: [4]int{2, 30, 100, 150},
		drugs: []*drug{&metformin, &penNeedle}, labs: []*lab{&glucose, &hemoglobinA1c}},
	{diagnosis: diagnosis{"E11.65", "Type 2 diabetes mellitus with hyperglycemia"}, prevalence: [4]int{0, 5, 25, 50},
		drugs: []*drug{&metformin, &penNeedle}, labs: []*lab{&glucose, &hemoglobinA1c}},
	{diagnosis: diagnosis{"J45.909", "Unspecified asthma, uncomplicated"}, prevalence: [4]int{80, 80, 70, 60},
		drugs: []*drug{&albuterol, &fluticasone}},
	{diagnosis: diagnosis{"J44.9", "Chronic obstructive pulmonary disease, unspecified"}, prevalence: [4]int{0, 5, 50, 100},
		drugs: []*drug{&albuterol, &fluticasone}},
	{diagnosis: diagnosis{"I25.10", "Atherosclerotic heart disease of native coronary artery without angina pectoris"},
		prevalence: [4]int{0, 5, 60, 150}, drugs: []*drug{&clopidogrel, &nitroglycerin, &atorvastatin}, labs: []*lab{&ldl}},
	{diagnosis: diagnosis{"N18.30", "Chronic kidney disease, stage 3 unspecified"}, prevalence: [4]int{0, 5, 40, 120},
		labs: []*lab{&creatinine, &egfr, &ureaNitrogen}},
	{diagnosis: diagnosis{"E03.9", "Hypothyroidism, unspecified"}, prevalence: [4]int{5, 30, 60, 90}},
	{diagnosis: diagnosis{"F32.9", "Major depressive disorder, single episode, unspecified"}, prevalence: [4]int{30, 80, 70, 50}},
	{diagnosis: diagnosis{"F41.1", "Generalized anxiety disorder"}, prevalence: [4]int{30, 70, 60, 40}},
	{diagnosis: diagnosis{"G47.33", "Obstructive sleep apnea (adult) (pediatric)"}, prevalence: [4]int{5, 30, 80, 90}},

	// Substance use disorders (F10-F19) and HIV (B20), whose records
	// 42 CFR Part 2 and state law protect beyond HIPAA.
	{diagnosis: diagnosis{"F10.20", "Alcohol dependence, uncomplicated"}, prevalence: [4]int{1, 25, 25, 10}},
	{diagnosis: diagnosis{"F10.10", "Alcohol abuse, uncomplicated"}, prevalence: [4]int{2, 15, 10, 5}},
	{diagnosis: diagnosis{"F11.20", "Opioid dependence, uncomplicated"}, prevalence: [4]int{1, 15, 10, 3}},
	{diagnosis: diagnosis{"F12.20", "Cannabis dependence, uncomplicated"}, prevalence: [4]int{5, 20, 8, 2}},
	{diagnosis: diagnosis{"F14.20", "Cocaine dependence, uncomplicated"}, prevalence: [4]int{0, 6, 4, 1}},
	{diagnosis: diagnosis{"F17.210", "Nicotine dependence, cigarettes, uncomplicated"}, prevalence: [4]int{5, 100, 120, 80}},
	{diagnosis: diagnosis{"B20", "Human immunodeficiency virus [HIV] disease"}, prevalence: [4]int{1, 10, 8, 4},
		labs: []*lab{&leukocytes}},
}

// drug is a dispensable product. Quantity is perDay units a day, or
// perFill units a fill for packages such as inhalers.
type drug struct {
	name      string
	rxnorm    string // "" for supplies without an RxNorm concept
	ndc       string // 11 digits, 5-4-2, no dashes
	chronic   bool   // filled for 30 or 90 days rather than a short course
	perDay    int
	perFill   int
	unitCents int // ingredient cost per unit
}

var (
	lisinopril          = drug{name: "lisinopril 10 MG Oral Tablet", rxnorm: "314076", ndc: "68180051301", chronic: true, perDay: 1, unitCents: 9}
	hydrochlorothiazide = drug{name: "Hydrochlorothiazide 25 MG Oral Tablet", rxnorm: "310798", ndc: "16729018301", chronic: true, perDay: 1, unitCents: 6}
	amlodipine          = drug{name: "Amlodipine 5 MG Oral Tablet", rxnorm: "197361", ndc: "69097012702", chronic: true, perDay: 1, unitCents: 8}
	simvastatin         = drug{name: "Simvastatin 20 MG Oral Tablet", rxnorm: "312961", ndc: "16714068303", chronic: true, perDay: 1, unitCents: 7}
	atorvastatin        = drug{name: "Atorvastatin 80 MG Oral Tablet", rxnorm: "259255", ndc: "60505267109", chronic: true, perDay: 1, unitCents: 21}
	metformin           = drug{name: "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", rxnorm: "860975", ndc: "68462015701", chronic: true, perDay: 2, unitCents: 10}
	albuterol           = drug{name: "NDA020503 200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", rxnorm: "2123111", ndc: "00173068220", chronic: true, perFill: 1, unitCents: 3150}
	fluticasone         = drug{name: "120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler", rxnorm: "895994", ndc: "00173071820", chronic: true, perFill: 1, unitCents: 18900}
	clopidogrel         = drug{name: "Clopidogrel 75 MG Oral Tablet", rxnorm: "309362", ndc: "16729021816", chronic: true, perDay: 1, unitCents: 12}
	nitroglycerin       = drug{name: "Nitroglycerin 0.4 MG/ACTUAT Mucosal Spray", rxnorm: "705129", ndc: "42291062712", chronic: true, perFill: 1, unitCents: 24500}

	// The inch mark in the name is part of the product's labeled size.
	penNeedle = drug{name: `Insulin Pen Needle 32G x 5/32"`, ndc: "08290320109", chronic: true, perFill: 100, unitCents: 28}
)

// acuteDrugs are short courses prescribed for acute diagnoses.
var acuteDrugs = []*drug{
	{name: "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet", rxnorm: "562251", ndc: "65862050220", perDay: 2, unitCents: 45},
	{name: "Acetaminophen 325 MG Oral Tablet", rxnorm: "313782", ndc: "00904198661", perDay: 4, unitCents: 2},
	{name: "Naproxen sodium 220 MG Oral Tablet", rxnorm: "849574", ndc: "00113048962", perDay: 2, unitCents: 4},
	{name: "Ibuprofen 100 MG Oral Tablet", rxnorm: "198405", ndc: "00904585160", perDay: 3, unitCents: 3},
	{name: "Loratadine 5 MG Chewable Tablet", rxnorm: "665078", ndc: "45802065078", perDay: 1, unitCents: 24},
	{name: "Fexofenadine hydrochloride 30 MG Oral Tablet", rxnorm: "997488", ndc: "41167412003", perDay: 2, unitCents: 31},
	{name: "Acetaminophen 325 MG / HYDROcodone Bitartrate 7.5 MG Oral Tablet", rxnorm: "857005", ndc: "00406036701", perDay: 4, unitCents: 38},
}

// lab is a numeric laboratory test coded in LOINC. Values are integers in
// units of 10^-scale: low 700 with scale 1 is 70.0.
type lab struct {
	code        string
	description string
	units       string
	scale       int
	low, high   int // normal range
	// affectedLow and affectedHigh are the range for a member whose
	// condition moves the test.
	affectedLow, affectedHigh int
}

var (
	glucose          = lab{code: "2339-0", description: "Glucose", units: "mg/dL", low: 70, high: 125, affectedLow: 110, affectedHigh: 260}
	hemoglobinA1c    = lab{code: "4548-4", description: "Hemoglobin A1c", units: "%", scale: 1, low: 48, high: 59, affectedLow: 65, affectedHigh: 105}
	totalCholesterol = lab{code: "2093-3", description: "Total cholesterol", units: "mg/dL", low: 140, high: 199, affectedLow: 200, affectedHigh: 290}
	ldl              = lab{code: "18262-6", description: "LDL cholesterol", units: "mg/dL", low: 60, high: 129, affectedLow: 130, affectedHigh: 210}
	hdl              = lab{code: "2085-9", description: "HDL cholesterol", units: "mg/dL", low: 40, high: 90, affectedLow: 25, affectedHigh: 45}
	triglycerides    = lab{code: "2571-8", description: "Triglycerides", units: "mg/dL", low: 50, high: 149, affectedLow: 150, affectedHigh: 400}
	creatinine       = lab{code: "38483-4", description: "Creatinine", units: "mg/dL", scale: 2, low: 60, high: 120, affectedLow: 130, affectedHigh: 290}
	ureaNitrogen     = lab{code: "6299-2", description: "Urea nitrogen", units: "mg/dL", low: 7, high: 20, affectedLow: 21, affectedHigh: 45}
	sodium           = lab{code: "2947-0", description: "Sodium", units: "mmol/L", low: 135, high: 145, affectedLow: 130, affectedHigh: 135}
	potassium        = lab{code: "6298-4", description: "Potassium", units: "mmol/L", scale: 1, low: 35, high: 50, affectedLow: 30, affectedHigh: 58}
	egfr             = lab{code: "33914-3", description: "eGFR per 1.73 m2", units: "mL/min", low: 60, high: 120, affectedLow: 30, affectedHigh: 59}
	hemoglobin       = lab{code: "718-7", description: "Hemoglobin", units: "g/dL", scale: 1, low: 120, high: 170, affectedLow: 95, affectedHigh: 119}
	leukocytes       = lab{code: "6690-2", description: "White blood cell count", units: "10*3/uL", scale: 1, low: 40, high: 105, affectedLow: 20, affectedHigh: 39}
	platelets        = lab{code: "777-3", description: "Platelet count", units: "10*3/uL", low: 150, high: 400, affectedLow: 100, affectedHigh: 149}
	alt              = lab{code: "1742-6", description: "Alanine aminotransferase (ALT)", units: "U/L", low: 7, high: 45, affectedLow: 46, affectedHigh: 120}
)

// routineLabs are drawn for any member, as in a metabolic panel or a CBC.
var routineLabs = []*lab{&glucose, &creatinine, &ureaNitrogen, &sodium, &potassium, &hemoglobin, &leukocytes, &platelets, &alt, &hdl, &totalCholesterol}

// procedure is a CPT or HCPCS Level II code billed on a claim line, with
// its charge range in cents.
type procedure struct {
	code      string
	system    string // "CPT" or "HCPCS"
	minCents  int
	maxCents  int
	maxUnits  int      // units are 1 to maxUnits; 0 means 1
	modifiers []string // modifiers one of which a line may carry
}

func cpt(code string, minDollars, maxDollars int, modifiers ...string) procedure {
	return procedure{code: code, system: "CPT", minCents: minDollars * 100, maxCents: maxDollars * 100, modifiers: modifiers}
}

func hcpcs(code string, minDollars, maxDollars, maxUnits int) procedure {
	return procedure{code: code, system: "HCPCS", minCents: minDollars * 100, maxCents: maxDollars * 100, maxUnits: maxUnits}
}

var (
	officeVisits    = []procedure{cpt("99202", 110, 160), cpt("99203", 160, 240), cpt("99204", 240, 360), cpt("99212", 70, 110, "25"), cpt("99213", 110, 180, "25"), cpt("99214", 160, 260, "25"), cpt("99215", 230, 350, "25")}
	preventive      = []procedure{cpt("99391", 150, 210), cpt("99392", 160, 220), cpt("99393", 160, 220), cpt("99394", 170, 240), cpt("99395", 180, 260), cpt("99396", 190, 280), cpt("99397", 200, 300)}
	wellnessVisits  = []procedure{hcpcs("G0438", 170, 240, 0), hcpcs("G0439", 120, 180, 0)}
	emergencyVisits = []procedure{cpt("99283", 250, 500), cpt("99284", 450, 900), cpt("99285", 800, 1600)}
	inpatientVisits = []procedure{cpt("99222", 200, 320), cpt("99223", 280, 420), cpt("99232", 100, 180), cpt("99233", 150, 240), cpt("99238", 120, 190), cpt("99239", 160, 250)}
	labTests        = []procedure{cpt("80053", 30, 120), cpt("80061", 25, 110), cpt("83036", 20, 80), cpt("85025", 15, 60), cpt("80048", 20, 90), cpt("84443", 30, 110), cpt("81003", 8, 30), cpt("36415", 5, 25)}
	imagingStudies  = []procedure{cpt("71046", 90, 300, "26", "TC"), cpt("73610", 90, 260, "RT", "LT"), cpt("72100", 110, 320, "26"), cpt("76700", 250, 700, "26"), cpt("77067", 180, 420), cpt("70450", 600, 1800, "26"), cpt("74177", 1200, 3500, "26")}
	minorProcedures = []procedure{cpt("93000", 40, 120), cpt("20610", 150, 400, "RT", "LT"), cpt("12001", 180, 450), cpt("69210", 60, 160)}
	majorProcedures = []procedure{cpt("45378", 1200, 3200), cpt("29881", 4500, 9000, "RT", "LT"), cpt("27447", 18000, 42000, "RT", "LT"), cpt("47562", 9000, 21000)}
	vaccines        = []procedure{cpt("90686", 25, 45), cpt("90715", 45, 75), cpt("90732", 110, 160), cpt("90471", 20, 40)}
	injections      = []procedure{hcpcs("J1100", 5, 20, 4), hcpcs("J3301", 8, 30, 4), hcpcs("J1885", 5, 25, 2), hcpcs("J0696", 10, 40, 2), hcpcs("J2405", 4, 18, 4)}
	behavioral      = []procedure{cpt("90834", 110, 180), cpt("90837", 150, 240), hcpcs("H0001", 120, 250, 0), hcpcs("H0004", 25, 45, 4), hcpcs("H0020", 15, 30, 1)}
	ambulanceTrips  = []procedure{hcpcs("A0427", 700, 1400, 0), hcpcs("A0429", 500, 1000, 0)}
	equipment       = []procedure{hcpcs("E0601", 90, 220, 0), hcpcs("A4253", 30, 70, 2)}
)

// setting is the place of a claim's services: its CMS place-of-service code,
// whether a facility bills it, and which procedures its lines carry. The
// first line is drawn from first and later lines from extra, or from first
// again when extra is empty.
//
// Place-of-service codes used: 10 telehealth in the patient's home, 11
// office, 12 home, 20 urgent care facility, 21 inpatient hospital, 22
// on-campus outpatient hospital, 23 emergency room, 41 land ambulance, 81
// independent laboratory.
type setting struct {
	placeOfService string
	institutional  bool
	weight         int // relative frequency among settings
	minLines       int
	maxLines       int
	days           int // maximum length of stay in days, over which the lines spread
	first          [][]procedure
	extra          [][]procedure
	hospital       bool // rendered by hospital providers
	preventive     bool // the first line is the preventive visit for the member's age
	behavioral     bool // the primary diagnosis is a behavioral health condition
}

var settings = []setting{
	{placeOfService: "11", weight: 560, minLines: 1, maxLines: 4, first: [][]procedure{officeVisits}, extra: [][]procedure{labTests, vaccines, injections, minorProcedures}},
	{placeOfService: "11", weight: 80, minLines: 1, maxLines: 3, preventive: true, extra: [][]procedure{labTests, vaccines}},
	{placeOfService: "11", weight: 30, minLines: 1, maxLines: 2, first: [][]procedure{behavioral}, behavioral: true},
	{placeOfService: "10", weight: 20, minLines: 1, maxLines: 1, first: [][]procedure{officeVisits}},
	{placeOfService: "10", weight: 20, minLines: 1, maxLines: 1, first: [][]procedure{behavioral}, behavioral: true},
	{placeOfService: "20", weight: 50, minLines: 1, maxLines: 3, first: [][]procedure{officeVisits}, extra: [][]procedure{labTests, imagingStudies, injections}},
	{placeOfService: "23", weight: 70, minLines: 1, maxLines: 3, first: [][]procedure{emergencyVisits}, extra: [][]procedure{imagingStudies, minorProcedures}, hospital: true},
	{placeOfService: "21", weight: 30, minLines: 2, maxLines: 6, days: 6, first: [][]procedure{inpatientVisits}, hospital: true},
	{placeOfService: "81", weight: 40, minLines: 1, maxLines: 5, first: [][]procedure{labTests}},
	{placeOfService: "41", weight: 10, minLines: 1, maxLines: 1, first: [][]procedure{ambulanceTrips}},
	{placeOfService: "12", weight: 10, minLines: 1, maxLines: 2, first: [][]procedure{equipment}},
	{placeOfService: "22", institutional: true, weight: 50, minLines: 2, maxLines: 6, first: [][]procedure{labTests, imagingStudies, minorProcedures}, extra: [][]procedure{labTests, injections, imagingStudies}, hospital: true},
	{placeOfService: "23", institutional: true, weight: 50, minLines: 2, maxLines: 8, first: [][]procedure{emergencyVisits}, extra: [][]procedure{labTests, imagingStudies, injections, minorProcedures}, hospital: true},
	{placeOfService: "21", institutional: true, weight: 20, minLines: 3, maxLines: 10, days: 8, first: [][]procedure{majorProcedures, inpatientVisits}, extra: [][]procedure{labTests, imagingStudies, injections}, hospital: true},
	{placeOfService: "22", institutional: true, weight: 10, minLines: 1, maxLines: 3, first: [][]procedure{majorProcedures}, extra: [][]procedure{labTests}, hospital: true},
}
