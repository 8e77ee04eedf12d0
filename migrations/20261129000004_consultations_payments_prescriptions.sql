-- Consultations, their payment (1:1) and their prescriptions (1:N).
--
-- Health and money records are never removed by a cascade: every reference
-- to users/doctors/consultations here is ON DELETE RESTRICT (people are
-- soft-deleted instead). Only slot_id is SET NULL: a doctor may delete an
-- availability window without losing the bookings made from it.

CREATE TABLE consultations (
    id                UUID                NOT NULL DEFAULT gen_random_uuid(),
    patient_id        UUID                NOT NULL,
    doctor_id         UUID                NOT NULL,
    slot_id           UUID,
    scheduled_at      TIMESTAMPTZ         NOT NULL,
    -- Stored rather than computed from a duration: the exclusion constraints
    -- below need an IMMUTABLE expression, and `timestamptz + interval` is
    -- only STABLE (its result depends on the session's TimeZone).
    scheduled_end_at  TIMESTAMPTZ         NOT NULL,
    status            consultation_status NOT NULL DEFAULT 'pending_payment',
    consultation_type consultation_type   NOT NULL,
    symptoms          TEXT,
    diagnosis         TEXT,
    notes             TEXT,
    -- Actual length, set on completion (the booked length is the range above).
    duration_minutes  INT,
    started_at        TIMESTAMPTZ,
    ended_at          TIMESTAMPTZ,
    created_at        TIMESTAMPTZ         NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ         NOT NULL DEFAULT now(),

    CONSTRAINT consultations_pkey PRIMARY KEY (id),
    CONSTRAINT consultations_patient_id_fkey FOREIGN KEY (patient_id)
        REFERENCES users (id) ON DELETE RESTRICT,
    CONSTRAINT consultations_doctor_id_fkey FOREIGN KEY (doctor_id)
        REFERENCES doctors (id) ON DELETE RESTRICT,
    CONSTRAINT consultations_slot_id_fkey FOREIGN KEY (slot_id)
        REFERENCES availability_slots (id) ON DELETE SET NULL,
    -- Target of the composite foreign keys from payments and prescriptions,
    -- which thereby cannot name a patient or doctor other than the
    -- consultation's own.
    CONSTRAINT consultations_id_patient_doctor_key UNIQUE (id, patient_id, doctor_id),
    CONSTRAINT consultations_end_after_start CHECK (scheduled_end_at > scheduled_at),
    CONSTRAINT consultations_duration_minutes_check CHECK (duration_minutes >= 0),
    CONSTRAINT consultations_ended_after_started CHECK (ended_at >= started_at),

    -- Double booking is impossible by construction. Ranges are half-open,
    -- so [10:00,10:30) and [10:30,11:00) do not overlap. Only active
    -- consultations hold time: an unpaid hold that expires must be set to
    -- 'cancelled', which frees the time for someone else.
    CONSTRAINT consultations_no_doctor_overlap EXCLUDE USING gist (
        doctor_id WITH =,
        tstzrange(scheduled_at, scheduled_end_at, '[)') WITH &&
    ) WHERE (status IN ('pending_payment', 'scheduled', 'in_progress')),
    CONSTRAINT consultations_no_patient_overlap EXCLUDE USING gist (
        patient_id WITH =,
        tstzrange(scheduled_at, scheduled_end_at, '[)') WITH &&
    ) WHERE (status IN ('pending_payment', 'scheduled', 'in_progress'))
);

CREATE INDEX consultations_scheduled_at_idx ON consultations (scheduled_at);
CREATE INDEX consultations_status_idx ON consultations (status);
-- The composites also serve plain patient_id / doctor_id look-ups and the
-- foreign-key checks (leading column), so no separate single-column indexes.
CREATE INDEX consultations_patient_id_scheduled_at_idx ON consultations (patient_id, scheduled_at);
CREATE INDEX consultations_doctor_id_scheduled_at_idx ON consultations (doctor_id, scheduled_at);
CREATE INDEX consultations_slot_id_idx ON consultations (slot_id) WHERE slot_id IS NOT NULL;
-- For the job that expires unpaid holds.
CREATE INDEX consultations_pending_payment_idx ON consultations (created_at)
    WHERE status = 'pending_payment';

CREATE TRIGGER consultations_set_updated_at
    BEFORE UPDATE ON consultations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();


CREATE TABLE payments (
    id              UUID           NOT NULL DEFAULT gen_random_uuid(),
    consultation_id UUID           NOT NULL,
    patient_id      UUID           NOT NULL,
    doctor_id       UUID           NOT NULL,
    amount          NUMERIC(12,2)  NOT NULL,
    currency        currency_code  NOT NULL,
    status          payment_status NOT NULL DEFAULT 'pending',
    -- Sum refunded so far (supports 'partially_refunded'); same currency.
    refunded_amount NUMERIC(12,2)  NOT NULL DEFAULT 0,
    payment_method  VARCHAR(50),
    transaction_id  VARCHAR(255),
    payment_gateway VARCHAR(50),
    paid_at         TIMESTAMPTZ,
    created_at      TIMESTAMPTZ    NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ    NOT NULL DEFAULT now(),

    CONSTRAINT payments_pkey PRIMARY KEY (id),
    CONSTRAINT payments_consultation_id_key UNIQUE (consultation_id),
    CONSTRAINT payments_consultation_id_fkey FOREIGN KEY (consultation_id)
        REFERENCES consultations (id) ON DELETE RESTRICT,
    CONSTRAINT payments_consultation_parties_fkey
        FOREIGN KEY (consultation_id, patient_id, doctor_id)
        REFERENCES consultations (id, patient_id, doctor_id) ON DELETE RESTRICT,
    CONSTRAINT payments_patient_id_fkey FOREIGN KEY (patient_id)
        REFERENCES users (id) ON DELETE RESTRICT,
    CONSTRAINT payments_doctor_id_fkey FOREIGN KEY (doctor_id)
        REFERENCES doctors (id) ON DELETE RESTRICT,
    CONSTRAINT payments_amount_check CHECK (amount >= 0),
    CONSTRAINT payments_refunded_amount_check CHECK (refunded_amount BETWEEN 0 AND amount),
    -- A gateway's transaction id is only meaningful together with the gateway
    -- (and the unique index below would not see a NULL gateway).
    CONSTRAINT payments_transaction_gateway_check
        CHECK (transaction_id IS NULL OR payment_gateway IS NOT NULL),
    CONSTRAINT payments_paid_at_check
        CHECK (status NOT IN ('succeeded', 'refunded', 'partially_refunded')
               OR paid_at IS NOT NULL)
);

-- A gateway's webhook may arrive twice; its transaction maps to one payment.
CREATE UNIQUE INDEX payments_gateway_transaction_id_key
    ON payments (payment_gateway, transaction_id)
    WHERE transaction_id IS NOT NULL;
CREATE INDEX payments_patient_id_idx ON payments (patient_id);
CREATE INDEX payments_doctor_id_idx ON payments (doctor_id);
CREATE INDEX payments_status_idx ON payments (status);

CREATE TRIGGER payments_set_updated_at
    BEFORE UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();


CREATE TABLE prescriptions (
    id              UUID        NOT NULL DEFAULT gen_random_uuid(),
    consultation_id UUID        NOT NULL,
    doctor_id       UUID        NOT NULL,
    patient_id      UUID        NOT NULL,
    -- Array of domain::Medication objects (name, dose, frequency, ...).
    medications     JSONB       NOT NULL DEFAULT '[]',
    instructions    TEXT,
    follow_up_date  DATE,
    -- Several per consultation are kept as history; false = superseded.
    is_active       BOOLEAN     NOT NULL DEFAULT true,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT prescriptions_pkey PRIMARY KEY (id),
    CONSTRAINT prescriptions_consultation_id_fkey FOREIGN KEY (consultation_id)
        REFERENCES consultations (id) ON DELETE RESTRICT,
    CONSTRAINT prescriptions_consultation_parties_fkey
        FOREIGN KEY (consultation_id, patient_id, doctor_id)
        REFERENCES consultations (id, patient_id, doctor_id) ON DELETE RESTRICT,
    CONSTRAINT prescriptions_doctor_id_fkey FOREIGN KEY (doctor_id)
        REFERENCES doctors (id) ON DELETE RESTRICT,
    CONSTRAINT prescriptions_patient_id_fkey FOREIGN KEY (patient_id)
        REFERENCES users (id) ON DELETE RESTRICT,
    CONSTRAINT prescriptions_medications_check CHECK (jsonb_typeof(medications) = 'array')
);

CREATE INDEX prescriptions_consultation_id_idx ON prescriptions (consultation_id);
CREATE INDEX prescriptions_doctor_id_idx ON prescriptions (doctor_id);
CREATE INDEX prescriptions_patient_id_idx ON prescriptions (patient_id);

CREATE TRIGGER prescriptions_set_updated_at
    BEFORE UPDATE ON prescriptions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
