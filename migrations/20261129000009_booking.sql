-- Booking: holds that expire, one booking per request (idempotency key), and
-- who cancelled and why.

ALTER TABLE consultations
    -- While 'pending_payment': the time is held until then.
    ADD COLUMN hold_expires_at     TIMESTAMPTZ,
    -- The patient's browser sends one key per booking form: a repeated
    -- request (double click, retry) finds the booking it already made.
    ADD COLUMN booking_key         UUID,
    ADD COLUMN cancelled_at        TIMESTAMPTZ,
    ADD COLUMN cancelled_by        UUID,
    -- hold_expired | patient | doctor | admin (the words, not free text).
    ADD COLUMN cancellation_reason VARCHAR(32),
    ADD CONSTRAINT consultations_cancelled_by_fkey FOREIGN KEY (cancelled_by) REFERENCES users (id),
    ADD CONSTRAINT consultations_cancellation_reason_check
        CHECK (cancellation_reason IN ('hold_expired', 'patient', 'doctor', 'admin'));

CREATE UNIQUE INDEX consultations_patient_booking_key ON consultations (patient_id, booking_key)
    WHERE booking_key IS NOT NULL;
CREATE INDEX consultations_hold_expiry_idx ON consultations (hold_expires_at) WHERE status = 'pending_payment';

-- Reminders sent (24 hours and 1 hour before). The primary key makes each
-- reminder go out once even when several server instances run the job: the
-- instance whose INSERT succeeds sends it.
CREATE TABLE consultation_reminders (
    consultation_id UUID        NOT NULL,
    kind            VARCHAR(8)  NOT NULL,
    sent_at         TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT consultation_reminders_pkey PRIMARY KEY (consultation_id, kind),
    CONSTRAINT consultation_reminders_consultation_id_fkey FOREIGN KEY (consultation_id)
        REFERENCES consultations (id) ON DELETE CASCADE,
    CONSTRAINT consultation_reminders_kind_check CHECK (kind IN ('24h', '1h'))
);

-- Gateway webhook events already processed: a replayed event is a no-op.
CREATE TABLE payment_events (
    gateway      VARCHAR(50)  NOT NULL,
    event_id     VARCHAR(255) NOT NULL,
    event_type   VARCHAR(100) NOT NULL,
    received_at  TIMESTAMPTZ  NOT NULL DEFAULT now(),

    CONSTRAINT payment_events_pkey PRIMARY KEY (gateway, event_id)
);
