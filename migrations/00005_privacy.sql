-- +goose Up
-- The privacy engine: sensitive categories of records and the code lists
-- they come from, consent defaults, purpose-scoped, category and denial
-- consents, the minimum-necessary rules and their exceptions, data use
-- agreements, de-identification reference data, and the accounting of
-- disclosures. The functions that act on these tables are in
-- sql/15_consent_policy.sql, sql/20_consent.sql, sql/40_view.sql and
-- sql/80_privacy.sql.
--
-- Every ALTER TABLE below adds nullable columns or columns with constant
-- defaults, which PostgreSQL 11 and newer add without rewriting the table.
-- The seed rows of the code lists, the purpose rules and the ZIP lists are
-- inserted here once, so that a DBA's later edits survive every migrate.

-- Sensitive categories and the code lists that put records in them.

CREATE TABLE axtract.sensitive_category (
    category    text PRIMARY KEY CHECK (category ~ '^[a-z][a-z0-9_]{0,62}$'),
    description text NOT NULL,
    authority   text NOT NULL DEFAULT ''
);
COMMENT ON TABLE axtract.sensitive_category IS
    'Categories of records that a partner sees only with a consent naming the category, whatever the partner''s consent default.';
COMMENT ON COLUMN axtract.sensitive_category.authority IS 'The rule that makes the category sensitive, for people reading the catalog.';

INSERT INTO axtract.sensitive_category (category, description, authority) VALUES
    ('substance_use', 'Substance use disorders, their treatment and screening results; tobacco use is not included', '42 CFR Part 2'),
    ('hiv', 'HIV infection, AIDS, HIV tests and HIV counseling', 'State HIV confidentiality laws'),
    ('mental_health', 'Mental and behavioral health conditions other than substance use, and screening results', 'State mental health confidentiality laws'),
    ('reproductive_health', 'Pregnancy and its outcomes, contraception, fertility care and sexually transmitted infections', 'State reproductive and sexual health privacy laws');

CREATE TABLE axtract.sensitive_code (
    code_system text NOT NULL CHECK (code_system <> ''),
    code        text NOT NULL,
    match       text NOT NULL DEFAULT 'exact' CHECK (match IN ('exact', 'prefix')),
    category    text NOT NULL REFERENCES axtract.sensitive_category ON UPDATE CASCADE,
    description text NOT NULL DEFAULT '',
    PRIMARY KEY (code_system, code, category),
    CHECK (code = upper(replace(code, '.', '')) AND code <> ''),
    CHECK (match = 'exact' OR length(code) BETWEEN 3 AND 7)
);
COMMENT ON TABLE axtract.sensitive_code IS
    'Codes that put a record in a sensitive category. A record''s codes are compared in upper case without dots, so I25.10 is I2510. After editing this table, run SELECT * FROM axtract.sensitive_categories_recompute().';
COMMENT ON COLUMN axtract.sensitive_code.match IS
    'exact: the code itself; prefix: every code that starts with it, as ICD-10-CM categories do (3 to 7 characters).';

-- ICD-10-CM, as prefixes. F17 (nicotine dependence) is in no category:
-- tobacco use is treated as ordinary health information, so the records of
-- the many members who smoke are not held back. A DBA who wants it in
-- substance_use adds ('ICD-10-CM', 'F17', 'prefix', 'substance_use').
INSERT INTO axtract.sensitive_code (code_system, code, match, category, description)
SELECT 'ICD-10-CM', c, 'prefix', 'substance_use', 'Mental and behavioral disorders due to psychoactive substance use, except nicotine (F17)'
FROM unnest(ARRAY['F10', 'F11', 'F12', 'F13', 'F14', 'F15', 'F16', 'F18', 'F19']) AS c
UNION ALL
SELECT 'ICD-10-CM', c, 'prefix', 'substance_use', d
FROM (VALUES ('O9931', 'Alcohol use complicating pregnancy, childbirth and the puerperium'),
             ('O9932', 'Drug use complicating pregnancy, childbirth and the puerperium'),
             ('Z7141', 'Alcohol abuse counseling and surveillance'),
             ('Z7151', 'Drug abuse counseling and surveillance')) AS v(c, d)
UNION ALL
SELECT 'ICD-10-CM', c, 'prefix', 'hiv', d
FROM (VALUES ('B20', 'Human immunodeficiency virus [HIV] disease'),
             ('Z21', 'Asymptomatic HIV infection status'),
             ('O987', 'HIV disease complicating pregnancy, childbirth and the puerperium'),
             ('R75', 'Inconclusive laboratory evidence of HIV'),
             ('Z717', 'HIV counseling')) AS v(c, d)
UNION ALL
SELECT 'ICD-10-CM', 'F' || lpad(n::text, 2, '0'), 'prefix', 'mental_health', 'Mental, behavioral and neurodevelopmental disorders (F01-F09, F20-F99)'
FROM generate_series(1, 99) AS n
WHERE n NOT BETWEEN 10 AND 19
UNION ALL
SELECT 'ICD-10-CM', c, 'prefix', 'mental_health', d
FROM (VALUES ('R45851', 'Suicidal ideations'),
             ('T1491', 'Suicide attempt')) AS v(c, d)
UNION ALL
SELECT 'ICD-10-CM', 'O' || lpad(n::text, 2, '0'), 'prefix', 'reproductive_health', 'Pregnancy, childbirth and the puerperium (O00-O9A)'
FROM generate_series(0, 99) AS n
UNION ALL
SELECT 'ICD-10-CM', c, 'prefix', 'reproductive_health', d
FROM (VALUES ('O9A', 'Pregnancy, childbirth and the puerperium (O00-O9A)'),
             ('Z30', 'Encounter for contraceptive management'),
             ('Z31', 'Encounter for procreative management'),
             ('Z32', 'Encounter for pregnancy test and childbirth and childcare instruction'),
             ('Z33', 'Pregnant state'),
             ('Z34', 'Encounter for supervision of normal pregnancy'),
             ('Z36', 'Encounter for antenatal screening of mother'),
             ('Z37', 'Outcome of delivery'),
             ('Z39', 'Encounter for maternal postpartum care and examination'),
             ('Z3A', 'Weeks of gestation'),
             ('N46', 'Male infertility'),
             ('N96', 'Recurrent pregnancy loss'),
             ('N97', 'Female infertility'),
             ('N98', 'Complications associated with artificial fertilization')) AS v(c, d)
UNION ALL
SELECT 'ICD-10-CM', 'A' || n, 'prefix', 'reproductive_health', 'Infections with a predominantly sexual mode of transmission (A50-A64)'
FROM generate_series(50, 64) AS n;

-- SNOMED CT, RxNorm and LOINC codes, as exact codes. Most appear in
-- Synthea exports. Screening procedures without a result (for example
-- depression screening) are in no category; questionnaire scores are.
INSERT INTO axtract.sensitive_code (code_system, code, category, description) VALUES
    ('SNOMED-CT', '7200002', 'substance_use', 'Alcoholism'),
    ('SNOMED-CT', '15167005', 'substance_use', 'Alcohol abuse'),
    ('SNOMED-CT', '66590003', 'substance_use', 'Alcohol dependence'),
    ('SNOMED-CT', '26416006', 'substance_use', 'Drug abuse'),
    ('SNOMED-CT', '6525002', 'substance_use', 'Dependent drug abuse'),
    ('SNOMED-CT', '5602001', 'substance_use', 'Opioid abuse'),
    ('SNOMED-CT', '75544000', 'substance_use', 'Opioid dependence'),
    ('SNOMED-CT', '55680006', 'substance_use', 'Drug overdose'),
    ('SNOMED-CT', '361055000', 'substance_use', 'Misuses drugs'),
    ('SNOMED-CT', '10939881000119104', 'substance_use', 'Unhealthy alcohol drinking behavior'),
    ('SNOMED-CT', '56876005', 'substance_use', 'Drug rehabilitation and detoxification'),
    ('LOINC', '82667-7', 'substance_use', 'Total score [DAST-10]'),
    ('LOINC', '75626-2', 'substance_use', 'Total score [AUDIT-C]'),

    ('SNOMED-CT', '86406008', 'hiv', 'Human immunodeficiency virus infection'),
    ('SNOMED-CT', '62479008', 'hiv', 'Acquired immune deficiency syndrome'),
    ('SNOMED-CT', '165816005', 'hiv', 'HIV positive'),
    ('SNOMED-CT', '31676001', 'hiv', 'Human immunodeficiency virus antigen test'),

    ('SNOMED-CT', '35489007', 'mental_health', 'Depressive disorder'),
    ('SNOMED-CT', '370143000', 'mental_health', 'Major depressive disorder'),
    ('SNOMED-CT', '36923009', 'mental_health', 'Major depression, single episode'),
    ('SNOMED-CT', '197480006', 'mental_health', 'Anxiety disorder'),
    ('SNOMED-CT', '47505003', 'mental_health', 'Posttraumatic stress disorder'),
    ('SNOMED-CT', '58214004', 'mental_health', 'Schizophrenia'),
    ('SNOMED-CT', '13746004', 'mental_health', 'Bipolar disorder'),
    ('SNOMED-CT', '192127007', 'mental_health', 'Child attention deficit disorder'),
    ('LOINC', '55758-7', 'mental_health', 'Patient Health Questionnaire 2 item (PHQ-2) total score'),
    ('LOINC', '44261-6', 'mental_health', 'Patient Health Questionnaire 9 item (PHQ-9) total score'),
    ('LOINC', '89204-2', 'mental_health', 'Patient Health Questionnaire-9: Modified for Teens total score'),
    ('LOINC', '70274-6', 'mental_health', 'Generalized anxiety disorder 7 item (GAD-7) total score'),

    ('SNOMED-CT', '72892002', 'reproductive_health', 'Normal pregnancy'),
    ('SNOMED-CT', '19169002', 'reproductive_health', 'Miscarriage in first trimester'),
    ('SNOMED-CT', '398254007', 'reproductive_health', 'Preeclampsia'),
    ('SNOMED-CT', '274804006', 'reproductive_health', 'Evaluation of uterine fundal height'),
    ('SNOMED-CT', '225158009', 'reproductive_health', 'Auscultation of the fetal heart'),
    ('SNOMED-CT', '66348005', 'reproductive_health', 'Childbirth'),
    ('SNOMED-CT', '252160004', 'reproductive_health', 'Standard pregnancy test'),
    ('SNOMED-CT', '169230002', 'reproductive_health', 'Ultrasound scan for fetal viability'),
    ('SNOMED-CT', '31208007', 'reproductive_health', 'Medical induction of labor'),
    ('SNOMED-CT', '443529005', 'reproductive_health', 'Screening for chromosomal aneuploidy in prenatal amniotic fluid'),
    ('SNOMED-CT', '271442007', 'reproductive_health', 'Fetal anatomy study'),
    ('SNOMED-CT', '169673001', 'reproductive_health', 'Antenatal RhD antibody screening'),
    ('SNOMED-CT', '51116004', 'reproductive_health', 'RhD passive immunization'),
    ('SNOMED-CT', '424619006', 'reproductive_health', 'Prenatal visit'),
    ('SNOMED-CT', '424441002', 'reproductive_health', 'Prenatal initial visit'),
    ('SNOMED-CT', '183460006', 'reproductive_health', 'Obstetric emergency hospital admission'),
    ('SNOMED-CT', '169762003', 'reproductive_health', 'Postnatal visit'),
    ('SNOMED-CT', '134435003', 'reproductive_health', 'Routine antenatal care'),
    ('SNOMED-CT', '310861008', 'reproductive_health', 'Chlamydia antigen test'),
    ('SNOMED-CT', '165829005', 'reproductive_health', 'Gonorrhea infection test'),
    ('SNOMED-CT', '269828009', 'reproductive_health', 'Syphilis infection test'),
    ('RxNorm', '757594', 'reproductive_health', 'Jolivette 28 Day Pack'),
    ('RxNorm', '1000126', 'reproductive_health', '1 ML medroxyPROGESTERone acetate 150 MG/ML Injection'),
    ('RxNorm', '1367439', 'reproductive_health', 'NuvaRing 0.12/0.015 MG per 24HR 21 Day Vaginal Ring');

-- Whether the stored categories of mart rows may lag the code list.
CREATE TABLE axtract.privacy_state (
    singleton              boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    categories_stale       boolean NOT NULL DEFAULT true,
    categories_computed_at timestamptz
);
COMMENT ON TABLE axtract.privacy_state IS
    'One row. categories_stale is set when axtract.sensitive_code changes and cleared by axtract.sensitive_categories_recompute(), which axtract migrate runs while it is set.';
INSERT INTO axtract.privacy_state DEFAULT VALUES;

-- The categories of each mart row with clinical codes, NULL for a row with
-- none (most rows). A trigger computes them (sql/80_privacy.sql), and
-- migrate computes them for the stored rows. NULL rather than an empty
-- array, because the planner estimates IS NULL from the column's
-- statistics even inside a row-level security policy, where it cannot use
-- them for an array comparison.
ALTER TABLE mart.claim ADD COLUMN sensitive_categories text[];
ALTER TABLE mart.claim_line ADD COLUMN sensitive_categories text[];
ALTER TABLE mart.claim_transaction ADD COLUMN sensitive_categories text[];
ALTER TABLE mart.encounter ADD COLUMN sensitive_categories text[];
ALTER TABLE mart.condition ADD COLUMN sensitive_categories text[];
ALTER TABLE mart.observation ADD COLUMN sensitive_categories text[];
ALTER TABLE mart.procedure ADD COLUMN sensitive_categories text[];
ALTER TABLE mart.pharmacy_claim ADD COLUMN sensitive_categories text[];
ALTER TABLE mart.careplan ADD COLUMN sensitive_categories text[];
COMMENT ON COLUMN mart.claim.sensitive_categories IS 'Sensitive categories of the claim''s diagnoses, sorted, NULL for none; set by a trigger from axtract.sensitive_code.';
COMMENT ON COLUMN mart.claim_line.sensitive_categories IS 'Sensitive categories of the line''s claim and of its procedure code, sorted; set by a trigger.';
COMMENT ON COLUMN mart.claim_transaction.sensitive_categories IS 'Sensitive categories of the transaction''s claim; set by a trigger.';
COMMENT ON COLUMN mart.encounter.sensitive_categories IS 'Sensitive categories of the encounter''s code and reason; set by a trigger.';
COMMENT ON COLUMN mart.condition.sensitive_categories IS 'Sensitive categories of the condition''s code; set by a trigger.';
COMMENT ON COLUMN mart.observation.sensitive_categories IS 'Sensitive categories of the observation''s code; set by a trigger.';
COMMENT ON COLUMN mart.procedure.sensitive_categories IS 'Sensitive categories of the procedure''s code and reason; set by a trigger.';
COMMENT ON COLUMN mart.pharmacy_claim.sensitive_categories IS 'Sensitive categories of the drug (RxNorm) and of the reason code; set by a trigger.';
COMMENT ON COLUMN mart.careplan.sensitive_categories IS 'Sensitive categories of the care plan''s code and reason; set by a trigger.';

-- Consents: scope by partner or by purpose of use, denials, categories.

ALTER TABLE axtract.consent
    ALTER COLUMN partner_id DROP NOT NULL,
    ADD COLUMN purpose_of_use text CHECK (purpose_of_use IN ('treatment', 'payment', 'operations', 'research', 'public_health')),
    ADD COLUMN kind text NOT NULL DEFAULT 'grant' CHECK (kind IN ('grant', 'deny')),
    ADD COLUMN category text REFERENCES axtract.sensitive_category ON UPDATE CASCADE,
    ADD CONSTRAINT consent_scope_check CHECK ((partner_id IS NULL) <> (purpose_of_use IS NULL));
COMMENT ON TABLE axtract.consent IS
    'Consent decisions of members: a grant or a denial, to one partner or to every partner of a purpose of use, in force from effective_from through effective_to (UTC dates) unless revoked. A row with a category covers only records of that sensitive category.';
COMMENT ON COLUMN axtract.consent.purpose_of_use IS 'Set instead of partner_id for a decision about every partner with this purpose of use.';
COMMENT ON COLUMN axtract.consent.kind IS 'grant or deny. A denial in force outweighs any grant of the same scope and category.';
COMMENT ON COLUMN axtract.consent.category IS 'NULL for the member''s records in general; a sensitive category for the records in it, which also need the general consent.';
CREATE INDEX consent_purpose_member_idx ON axtract.consent (purpose_of_use, member_id) WHERE purpose_of_use IS NOT NULL;
-- Denials are few; the policies read all of a partner's in every query.
CREATE INDEX consent_deny_idx ON axtract.consent (partner_id, member_id) WHERE kind = 'deny';

-- De-identification reference data and partner settings.

CREATE TABLE axtract.zip3_list (
    version   text PRIMARY KEY CHECK (version ~ '^[a-z0-9_.-]{1,30}$'),
    source    text NOT NULL,
    populated boolean NOT NULL,
    note      text NOT NULL DEFAULT ''
);
COMMENT ON TABLE axtract.zip3_list IS
    'Versions of the list of three-digit ZIP codes whose areas hold 20,000 people or fewer; Safe Harbor replaces those with 000. A partner names the version its views use.';
COMMENT ON COLUMN axtract.zip3_list.populated IS 'Whether the version''s rows are complete. A Safe Harbor view cannot use a version that is not.';

CREATE TABLE axtract.zip3_restricted (
    version    text NOT NULL REFERENCES axtract.zip3_list ON DELETE CASCADE ON UPDATE CASCADE,
    zip3       text NOT NULL CHECK (zip3 ~ '^[0-9]{3}$'),
    population integer CHECK (population >= 0),
    PRIMARY KEY (version, zip3)
);
COMMENT ON TABLE axtract.zip3_restricted IS 'Three-digit ZIP codes of a list version that become 000 in de-identified output.';

INSERT INTO axtract.zip3_list (version, source, populated, note) VALUES
    ('2000', 'HHS guidance on de-identification under the HIPAA Privacy Rule: the three-digit ZIP codes with 20,000 or fewer people in the 2000 census', true, ''),
    ('2020', 'Census 2020 ZCTA populations', false,
     'NOTE: HHS publishes no list for the 2020 census. Insert every three-digit ZIP code whose ZCTAs add up to 20,000 people or fewer in the 2020 census, then set populated to true.');
INSERT INTO axtract.zip3_restricted (version, zip3)
SELECT '2000', z
FROM unnest(ARRAY['036', '059', '063', '102', '203', '556', '692', '790', '821', '823', '830', '831', '878', '879', '884', '890', '893']) AS z;

ALTER TABLE axtract.partner
    ADD COLUMN consent_default text NOT NULL DEFAULT 'opt_in' CHECK (consent_default IN ('opt_in', 'opt_out')),
    ADD COLUMN zip3_version text NOT NULL DEFAULT '2000' REFERENCES axtract.zip3_list ON UPDATE CASCADE,
    ADD COLUMN date_shift_max_days integer CHECK (date_shift_max_days BETWEEN 1 AND 3650);
COMMENT ON COLUMN axtract.partner.consent_default IS
    'opt_in: share a member''s records only with a grant in force; opt_out: share unless a denial is in force. Sensitive categories need a category grant either way.';
COMMENT ON COLUMN axtract.partner.zip3_version IS 'Version of axtract.zip3_restricted that the partner''s zip3 transforms use.';
COMMENT ON COLUMN axtract.partner.date_shift_max_days IS
    'Largest offset, in days either way, of the date_shift transform; NULL when the partner''s views may not shift dates.';

CREATE TABLE axtract.member_date_shift (
    partner_id bigint NOT NULL REFERENCES axtract.partner ON DELETE CASCADE,
    member_id  uuid NOT NULL REFERENCES mart.member ON DELETE CASCADE,
    shift_days integer NOT NULL CHECK (shift_days <> 0),
    PRIMARY KEY (partner_id, member_id)
);
COMMENT ON TABLE axtract.member_date_shift IS
    'Per-partner random date offsets of members, drawn once, so every table and every run shifts a member''s dates alike. Partners cannot read it.';

-- Minimum necessary.

CREATE TABLE axtract.purpose_classification (
    purpose_of_use text NOT NULL CHECK (purpose_of_use IN ('treatment', 'payment', 'operations', 'research', 'public_health')),
    classification text NOT NULL CHECK (classification IN ('direct_identifier', 'quasi_identifier', 'sensitive', 'ordinary')),
    PRIMARY KEY (purpose_of_use, classification)
);
COMMENT ON TABLE axtract.purpose_classification IS
    'Which column classifications a view may select for each purpose of use (minimum necessary). A row allows the classification; DBAs may edit the rows.';
INSERT INTO axtract.purpose_classification (purpose_of_use, classification)
SELECT p, c
FROM unnest(ARRAY['treatment', 'payment', 'operations']) AS p,
     unnest(ARRAY['direct_identifier', 'quasi_identifier', 'sensitive', 'ordinary']) AS c
UNION ALL
SELECT p, c
FROM unnest(ARRAY['research', 'public_health']) AS p,
     unnest(ARRAY['quasi_identifier', 'sensitive', 'ordinary']) AS c;

-- Every mart column, classified. sql/30_dataset.sql rewrites the rows on
-- every migrate; dataset_column takes its classification from here.
CREATE TABLE axtract.mart_column (
    table_name       text NOT NULL,
    column_name      text NOT NULL,
    classification   text NOT NULL CHECK (classification IN ('direct_identifier', 'quasi_identifier', 'sensitive', 'ordinary')),
    safe_harbor_kind text CHECK (safe_harbor_kind IN (
        'names', 'geographic', 'dates', 'telephone', 'fax', 'email', 'ssn', 'medical_record_number',
        'health_plan_beneficiary_number', 'account_number', 'certificate_license_number', 'vehicle_identifier',
        'device_identifier', 'url', 'ip_address', 'biometric', 'photo', 'other_unique_identifier')),
    free_text        boolean NOT NULL DEFAULT false,
    description      text NOT NULL DEFAULT '',
    PRIMARY KEY (table_name, column_name),
    CHECK (classification <> 'direct_identifier' OR safe_harbor_kind IS NOT NULL)
);
COMMENT ON TABLE axtract.mart_column IS 'Classification of every mart column for minimum necessary and de-identification.';
COMMENT ON COLUMN axtract.mart_column.safe_harbor_kind IS
    'Which of the 18 identifier kinds of the HIPAA Safe Harbor method (45 CFR 164.514(b)(2)) the column is, if any. Dates and geography below the state are kinds too, though they are quasi-identifiers.';
COMMENT ON COLUMN axtract.mart_column.free_text IS 'Text that may hold anything a person typed, so never shared under Safe Harbor.';

ALTER TABLE axtract.dataset_column
    ADD COLUMN safe_harbor_kind text,
    ADD COLUMN free_text boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN axtract.dataset_column.safe_harbor_kind IS 'Copied from axtract.mart_column.';

ALTER TABLE axtract.dataset ADD COLUMN member_column text;
COMMENT ON COLUMN axtract.dataset.member_column IS 'The member id of a dataset row as alias.column of its FROM clause; the accounting of disclosures reads it.';

CREATE TABLE axtract.column_exception (
    exception_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id   bigint NOT NULL REFERENCES axtract.partner ON DELETE CASCADE,
    dataset      text NOT NULL REFERENCES axtract.dataset ON UPDATE CASCADE,
    column_name  text NOT NULL,
    approved_by  text NOT NULL CHECK (approved_by <> ''),
    reason       text NOT NULL CHECK (reason <> ''),
    approved_at  timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
COMMENT ON TABLE axtract.column_exception IS
    'A privacy officer''s approval for one partner to select one dataset column that its purpose of use does not allow, until expires_at.';
CREATE INDEX column_exception_partner_idx ON axtract.column_exception (partner_id, dataset, column_name);

CREATE TABLE axtract.data_use_agreement (
    dua_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id     bigint NOT NULL REFERENCES axtract.partner ON DELETE CASCADE,
    reference      text NOT NULL CHECK (reference <> ''),
    signed_on      date NOT NULL,
    effective_from date NOT NULL,
    effective_to   date,
    recorded_by    text NOT NULL DEFAULT current_user,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    CHECK (effective_to IS NULL OR effective_to >= effective_from)
);
COMMENT ON TABLE axtract.data_use_agreement IS
    'Data use agreements (45 CFR 164.514(e)(4)) on record. A limited data set view needs one in force on the UTC date.';
CREATE INDEX data_use_agreement_partner_idx ON axtract.data_use_agreement (partner_id);

-- Accounting of disclosures.

CREATE TABLE axtract.member_number (
    member_no integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id uuid NOT NULL UNIQUE
);
COMMENT ON TABLE axtract.member_number IS
    'A dense integer per member, so disclosure records store 4 bytes a member. Rows outlive the member, as the accounting of disclosures must.';

CREATE TABLE axtract.partner_view_version (
    view_id        bigint NOT NULL,
    version        integer NOT NULL,
    spec           jsonb NOT NULL,
    compiled_sql   text NOT NULL,
    purpose_of_use text NOT NULL,
    defined_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (view_id, version)
);
COMMENT ON TABLE axtract.partner_view_version IS
    'Every definition a partner view has had, kept after the view is gone, so a disclosure names the definition it was made under.';
INSERT INTO axtract.partner_view_version (view_id, version, spec, compiled_sql, purpose_of_use, defined_at)
SELECT v.view_id, v.version, v.spec, v.compiled_sql, p.purpose_of_use, v.updated_at
FROM axtract.partner_view v
JOIN axtract.partner p ON p.partner_id = v.partner_id;

CREATE TABLE axtract.disclosure (
    run_id         bigint PRIMARY KEY,
    partner_id     bigint NOT NULL,
    partner_slug   text NOT NULL,
    feed_id        bigint,
    view_id        bigint NOT NULL,
    view_name      text NOT NULL,
    view_version   integer NOT NULL,
    purpose_of_use text NOT NULL,
    disclosed_at   timestamptz NOT NULL,
    members        bigint NOT NULL
);
COMMENT ON TABLE axtract.disclosure IS
    'One delivered run: who received it, under which view definition and purpose, and how many members it disclosed. No foreign keys, so the record outlives runs, feeds, views and partners.';
COMMENT ON COLUMN axtract.disclosure.disclosed_at IS 'Start of the extract transaction, whose snapshot both the file and this record were read from.';
CREATE INDEX disclosure_partner_idx ON axtract.disclosure (partner_id, disclosed_at);
CREATE INDEX disclosure_slug_idx ON axtract.disclosure (partner_slug, disclosed_at);

CREATE TABLE axtract.disclosure_member (
    run_id  bigint NOT NULL REFERENCES axtract.disclosure ON DELETE CASCADE,
    chunk   integer NOT NULL,
    buckets integer[] NOT NULL,
    members integer[] NOT NULL,
    PRIMARY KEY (run_id, chunk)
);
COMMENT ON TABLE axtract.disclosure_member IS
    'The members a run disclosed, as sorted chunks of axtract.member_number values.';
COMMENT ON COLUMN axtract.disclosure_member.buckets IS
    'The distinct member_no / 256 of the chunk''s members, sorted. The GIN index is on buckets rather than members: a run that discloses most members adds one index entry per 256 of them, not one each.';
-- A member's runs: the chunks whose buckets contain the member's bucket,
-- then a search of their members.
CREATE INDEX disclosure_member_buckets_idx ON axtract.disclosure_member USING gin (buckets);

-- Views next to each partner view that select the member id of every row
-- the partner view shows, owned by the partner's view owner so the same
-- policies apply, and granted to no partner.
CREATE SCHEMA axtract_disclosure;
REVOKE ALL ON SCHEMA axtract_disclosure FROM PUBLIC;
COMMENT ON SCHEMA axtract_disclosure IS 'Member-id views of partner views, for the accounting of disclosures. Partner roles have no privilege here.';

-- +goose Down
-- The consent policies read the columns dropped below.
-- +goose StatementBegin
DO $$
DECLARE
    pol record;
BEGIN
    FOR pol IN SELECT policyname, tablename FROM pg_policies WHERE schemaname = 'mart' LOOP
        EXECUTE format('DROP POLICY %I ON mart.%I', pol.policyname, pol.tablename);
    END LOOP;
END
$$;
-- +goose StatementEnd
DROP SCHEMA axtract_disclosure CASCADE;
DROP TABLE axtract.disclosure_member;
DROP TABLE axtract.disclosure;
DROP TABLE axtract.partner_view_version;
DROP TABLE axtract.member_number;
DROP TABLE axtract.data_use_agreement;
DROP TABLE axtract.column_exception;
ALTER TABLE axtract.dataset DROP COLUMN member_column;
ALTER TABLE axtract.dataset_column DROP COLUMN safe_harbor_kind, DROP COLUMN free_text;
DROP TABLE axtract.mart_column;
DROP TABLE axtract.purpose_classification;
DROP TABLE axtract.member_date_shift;
ALTER TABLE axtract.partner DROP COLUMN consent_default, DROP COLUMN zip3_version, DROP COLUMN date_shift_max_days;
DROP TABLE axtract.zip3_restricted;
DROP TABLE axtract.zip3_list;
DROP INDEX axtract.consent_deny_idx;
DROP INDEX axtract.consent_purpose_member_idx;
DELETE FROM axtract.consent WHERE partner_id IS NULL;
ALTER TABLE axtract.consent
    DROP CONSTRAINT consent_scope_check,
    DROP COLUMN purpose_of_use,
    DROP COLUMN kind,
    DROP COLUMN category,
    ALTER COLUMN partner_id SET NOT NULL;
ALTER TABLE mart.claim DROP COLUMN sensitive_categories;
ALTER TABLE mart.claim_line DROP COLUMN sensitive_categories;
ALTER TABLE mart.claim_transaction DROP COLUMN sensitive_categories;
ALTER TABLE mart.encounter DROP COLUMN sensitive_categories;
ALTER TABLE mart.condition DROP COLUMN sensitive_categories;
ALTER TABLE mart.observation DROP COLUMN sensitive_categories;
ALTER TABLE mart.procedure DROP COLUMN sensitive_categories;
ALTER TABLE mart.pharmacy_claim DROP COLUMN sensitive_categories;
ALTER TABLE mart.careplan DROP COLUMN sensitive_categories;
DROP TABLE axtract.privacy_state;
DROP TABLE axtract.sensitive_code;
DROP TABLE axtract.sensitive_category;
