-- +goose Up
-- The data mart: members, coverage, providers, encounters, claims and clinical
-- records. Every table that describes a member carries member_id, so one
-- row-level security policy shape covers them all, and loaded_at, so
-- incremental feeds can select what arrived after a watermark.
--
-- Keys are UUIDs because Synthea exports use them; rows that arrive without
-- an id get one derived from their content, which keeps re-imports idempotent.

CREATE SCHEMA mart;
COMMENT ON SCHEMA mart IS 'AxTract data mart. Partners never read it directly, only through views in their own schema.';

CREATE TABLE mart.payer (
    payer_id   uuid PRIMARY KEY,
    name       text NOT NULL,
    address    text,
    city       text,
    state      text,
    zip        text,
    phone      text,
    loaded_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mart.payer IS 'Health plans and other payers.';

CREATE TABLE mart.organization (
    organization_id uuid PRIMARY KEY,
    name            text NOT NULL,
    npi             text CHECK (npi ~ '^[0-9]{10}$'),
    address         text,
    city            text,
    state           text,
    zip             text,
    phone           text,
    loaded_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mart.organization IS 'Provider organizations: hospitals, clinics, pharmacies, provider groups.';

CREATE TABLE mart.provider (
    provider_id     uuid PRIMARY KEY,
    organization_id uuid REFERENCES mart.organization,
    npi             text CHECK (npi ~ '^[0-9]{10}$'),
    name            text NOT NULL,
    gender          text,
    specialty       text,
    address         text,
    city            text,
    state           text,
    zip             text,
    loaded_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mart.provider IS 'Individual practitioners.';
COMMENT ON COLUMN mart.provider.npi IS 'National Provider Identifier; NULL where the source has none (Synthea exports carry none).';
CREATE INDEX provider_organization_idx ON mart.provider (organization_id);

CREATE TABLE mart.member (
    member_id         uuid PRIMARY KEY,
    prefix            text,
    first_name        text,
    last_name         text,
    suffix            text,
    maiden_name       text,
    birth_date        date NOT NULL,
    death_date        date,
    ssn               text,
    drivers_license   text,
    passport          text,
    marital_status    text,
    race              text,
    ethnicity         text,
    gender            text,
    birthplace        text,
    address           text,
    city              text,
    state             text,
    county            text,
    zip               text,
    latitude          double precision,
    longitude         double precision,
    phone             text,
    attributed_org_id uuid REFERENCES mart.organization,
    loaded_at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mart.member IS 'Members (patients) and their demographics.';
COMMENT ON COLUMN mart.member.attributed_org_id IS 'Provider group the member is attributed to for value-based care, if any.';
CREATE INDEX member_attributed_org_idx ON mart.member (attributed_org_id);
CREATE INDEX member_loaded_at_idx ON mart.member (loaded_at);

CREATE TABLE mart.enrollment (
    enrollment_id      uuid PRIMARY KEY,
    member_id          uuid NOT NULL REFERENCES mart.member,
    payer_id           uuid NOT NULL REFERENCES mart.payer,
    secondary_payer_id uuid REFERENCES mart.payer,
    subscriber_id      text,
    plan_name          text,
    relationship       text,
    subscriber_name    text,
    start_date         date NOT NULL,
    end_date           date,
    loaded_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (end_date IS NULL OR end_date >= start_date)
);
COMMENT ON TABLE mart.enrollment IS 'Coverage spans: a member enrolled with a payer between two dates.';
CREATE INDEX enrollment_member_idx ON mart.enrollment (member_id, start_date);
CREATE INDEX enrollment_loaded_at_idx ON mart.enrollment (loaded_at);

CREATE TABLE mart.encounter (
    encounter_id       uuid PRIMARY KEY,
    member_id          uuid NOT NULL REFERENCES mart.member,
    organization_id    uuid REFERENCES mart.organization,
    provider_id        uuid REFERENCES mart.provider,
    payer_id           uuid REFERENCES mart.payer,
    encounter_class    text,
    code               text,
    description        text,
    start_at           timestamptz NOT NULL,
    end_at             timestamptz,
    base_cost          numeric(14,2),
    total_cost         numeric(14,2),
    payer_coverage     numeric(14,2),
    reason_code        text,
    reason_description text,
    loaded_at          timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mart.encounter IS 'Visits and admissions.';
CREATE INDEX encounter_member_idx ON mart.encounter (member_id);
CREATE INDEX encounter_loaded_at_idx ON mart.encounter (loaded_at);

CREATE TABLE mart.claim (
    claim_id              uuid PRIMARY KEY,
    member_id             uuid NOT NULL REFERENCES mart.member,
    claim_type            text NOT NULL CHECK (claim_type IN ('professional', 'institutional')),
    provider_id           uuid REFERENCES mart.provider,
    billing_org_id        uuid REFERENCES mart.organization,
    primary_payer_id      uuid REFERENCES mart.payer,
    secondary_payer_id    uuid REFERENCES mart.payer,
    encounter_id          uuid,
    service_date          date NOT NULL,
    diagnosis_code_system text NOT NULL CHECK (diagnosis_code_system IN ('ICD-10-CM', 'SNOMED-CT')),
    diagnosis_1           text,
    diagnosis_2           text,
    diagnosis_3           text,
    diagnosis_4           text,
    diagnosis_5           text,
    diagnosis_6           text,
    diagnosis_7           text,
    diagnosis_8           text,
    status                text,
    total_charge          numeric(14,2),
    total_paid            numeric(14,2),
    loaded_at             timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mart.claim IS 'Medical claim headers.';
COMMENT ON COLUMN mart.claim.diagnosis_code_system IS 'Code system of diagnosis_1..8: ICD-10-CM for payer claims, SNOMED-CT for Synthea exports.';
CREATE INDEX claim_member_idx ON mart.claim (member_id);
CREATE INDEX claim_loaded_at_idx ON mart.claim (loaded_at);

CREATE TABLE mart.claim_line (
    claim_id              uuid NOT NULL REFERENCES mart.claim,
    line_number           integer NOT NULL CHECK (line_number > 0),
    member_id             uuid NOT NULL REFERENCES mart.member,
    service_from          date NOT NULL,
    service_to            date,
    procedure_code        text,
    procedure_code_system text CHECK (procedure_code_system IN ('CPT', 'HCPCS', 'SNOMED-CT', 'CVX', 'RxNorm')),
    modifier_1            text,
    modifier_2            text,
    diagnosis_pointer     text,
    place_of_service      text,
    units                 numeric(10,2),
    charge_amount         numeric(14,2),
    paid_amount           numeric(14,2),
    rendering_provider_id uuid REFERENCES mart.provider,
    loaded_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (claim_id, line_number)
);
COMMENT ON TABLE mart.claim_line IS 'Medical claim service lines.';
COMMENT ON COLUMN mart.claim_line.procedure_code_system IS 'Code system of procedure_code. Synthea exports bill medications by RxNorm code and vaccines by CVX code.';
COMMENT ON COLUMN mart.claim_line.place_of_service IS 'CMS place-of-service code, or the Synthea organization id of the facility.';
CREATE INDEX claim_line_member_idx ON mart.claim_line (member_id);
CREATE INDEX claim_line_loaded_at_idx ON mart.claim_line (loaded_at);

CREATE TABLE mart.claim_transaction (
    transaction_id  uuid PRIMARY KEY,
    claim_id        uuid NOT NULL REFERENCES mart.claim,
    charge_id       integer,
    member_id       uuid NOT NULL REFERENCES mart.member,
    transaction_type text NOT NULL,
    amount          numeric(14,2),
    method          text,
    from_at         timestamptz,
    to_at           timestamptz,
    procedure_code  text,
    units           numeric(10,2),
    payments        numeric(14,2),
    adjustments     numeric(14,2),
    transfers       numeric(14,2),
    outstanding     numeric(14,2),
    provider_id     uuid REFERENCES mart.provider,
    loaded_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mart.claim_transaction IS 'Claim financial transactions (charges, payments, transfers) as Synthea records them.';
CREATE INDEX claim_transaction_claim_idx ON mart.claim_transaction (claim_id);
CREATE INDEX claim_transaction_member_idx ON mart.claim_transaction (member_id);

CREATE TABLE mart.pharmacy_claim (
    pharmacy_claim_id  uuid PRIMARY KEY,
    member_id          uuid NOT NULL REFERENCES mart.member,
    payer_id           uuid REFERENCES mart.payer,
    encounter_id       uuid,
    prescriber_id      uuid REFERENCES mart.provider,
    pharmacy_org_id    uuid REFERENCES mart.organization,
    fill_date          date NOT NULL,
    end_date           date,
    ndc                text CHECK (ndc ~ '^[0-9]{11}$'),
    rxnorm_code        text,
    drug_name          text,
    quantity           numeric(12,3),
    days_supply        integer,
    dispenses          integer,
    ingredient_cost    numeric(14,2),
    payer_paid         numeric(14,2),
    total_cost         numeric(14,2),
    reason_code        text,
    reason_description text,
    loaded_at          timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mart.pharmacy_claim IS 'Pharmacy claims and medication dispenses.';
COMMENT ON COLUMN mart.pharmacy_claim.ndc IS 'National Drug Code in the 11-digit 5-4-2 form without dashes; NULL where the source has only RxNorm.';
CREATE INDEX pharmacy_claim_member_idx ON mart.pharmacy_claim (member_id);
CREATE INDEX pharmacy_claim_loaded_at_idx ON mart.pharmacy_claim (loaded_at);

CREATE TABLE mart.condition (
    condition_id  uuid PRIMARY KEY,
    member_id     uuid NOT NULL REFERENCES mart.member,
    encounter_id  uuid,
    onset_date    date NOT NULL,
    abatement_date date,
    code_system   text NOT NULL,
    code          text NOT NULL,
    description   text,
    loaded_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mart.condition IS 'Diagnoses and problems.';
CREATE INDEX condition_member_idx ON mart.condition (member_id);

CREATE TABLE mart.observation (
    observation_id uuid PRIMARY KEY,
    member_id      uuid NOT NULL REFERENCES mart.member,
    encounter_id   uuid,
    observed_at    timestamptz NOT NULL,
    category       text,
    code_system    text NOT NULL DEFAULT 'LOINC',
    code           text NOT NULL,
    description    text,
    value          text,
    value_numeric  numeric,
    units          text,
    value_type     text,
    loaded_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mart.observation IS 'Lab results, vital signs and other observations.';
COMMENT ON COLUMN mart.observation.value_numeric IS 'The value as a number when value_type is numeric, else NULL.';
CREATE INDEX observation_member_idx ON mart.observation (member_id);

CREATE TABLE mart.procedure (
    procedure_id       uuid PRIMARY KEY,
    member_id          uuid NOT NULL REFERENCES mart.member,
    encounter_id       uuid,
    start_at           timestamptz NOT NULL,
    end_at             timestamptz,
    code_system        text NOT NULL,
    code               text NOT NULL,
    description        text,
    base_cost          numeric(14,2),
    reason_code        text,
    reason_description text,
    loaded_at          timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mart.procedure IS 'Procedures performed on members.';
CREATE INDEX procedure_member_idx ON mart.procedure (member_id);

CREATE TABLE mart.allergy (
    allergy_id   uuid PRIMARY KEY,
    member_id    uuid NOT NULL REFERENCES mart.member,
    encounter_id uuid,
    start_date   date,
    stop_date    date,
    code_system  text,
    code         text NOT NULL,
    description  text,
    allergy_type text,
    category     text,
    reaction_1   text,
    severity_1   text,
    reaction_2   text,
    severity_2   text,
    loaded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX allergy_member_idx ON mart.allergy (member_id);

CREATE TABLE mart.careplan (
    careplan_id        uuid PRIMARY KEY,
    member_id          uuid NOT NULL REFERENCES mart.member,
    encounter_id       uuid,
    start_date         date,
    stop_date          date,
    code               text NOT NULL,
    description        text,
    reason_code        text,
    reason_description text,
    loaded_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX careplan_member_idx ON mart.careplan (member_id);

CREATE TABLE mart.immunization (
    immunization_id uuid PRIMARY KEY,
    member_id       uuid NOT NULL REFERENCES mart.member,
    encounter_id    uuid,
    administered_at timestamptz NOT NULL,
    code            text NOT NULL,
    description     text,
    base_cost       numeric(14,2),
    loaded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX immunization_member_idx ON mart.immunization (member_id);

CREATE TABLE mart.device (
    device_id    uuid PRIMARY KEY,
    member_id    uuid NOT NULL REFERENCES mart.member,
    encounter_id uuid,
    start_at     timestamptz,
    stop_at      timestamptz,
    code         text NOT NULL,
    description  text,
    udi          text,
    loaded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_member_idx ON mart.device (member_id);

CREATE TABLE mart.imaging_study (
    imaging_study_id     uuid PRIMARY KEY,
    member_id            uuid NOT NULL REFERENCES mart.member,
    encounter_id         uuid,
    studied_at           timestamptz NOT NULL,
    series_uid           text,
    body_site_code       text,
    body_site_description text,
    modality_code        text,
    modality_description text,
    instance_uid         text,
    sop_code             text,
    sop_description      text,
    procedure_code       text,
    loaded_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX imaging_study_member_idx ON mart.imaging_study (member_id);

CREATE TABLE mart.supply (
    supply_id    uuid PRIMARY KEY,
    member_id    uuid NOT NULL REFERENCES mart.member,
    encounter_id uuid,
    supplied_on  date NOT NULL,
    code         text NOT NULL,
    description  text,
    quantity     integer,
    loaded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX supply_member_idx ON mart.supply (member_id);

-- +goose Down
DROP SCHEMA mart CASCADE;
