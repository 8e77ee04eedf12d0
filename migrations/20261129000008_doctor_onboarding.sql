-- Doctors: the professional profile a doctor completes after signing up,
-- the verification of their licence by an administrator, their booking
-- rules, and time off. Plus typo-tolerant name search (pg_trgm).

-- pg_trgm is a trusted extension (a database owner may install it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE doctors
    ADD COLUMN license_expires_on   DATE,
    -- BCP 47 language tags the doctor consults in ('en', 'pt-BR').
    ADD COLUMN languages            TEXT[]      NOT NULL DEFAULT '{}',
    ADD COLUMN consultation_types   TEXT[]      NOT NULL DEFAULT '{video,audio,chat}',
    ADD COLUMN slot_minutes         SMALLINT    NOT NULL DEFAULT 30,
    ADD COLUMN buffer_minutes       SMALLINT    NOT NULL DEFAULT 0,
    ADD COLUMN min_notice_minutes   INT         NOT NULL DEFAULT 120,
    ADD COLUMN booking_horizon_days SMALLINT    NOT NULL DEFAULT 60,
    -- pending: waiting for an administrator; approved; rejected (with a reason).
    ADD COLUMN verification_status  VARCHAR(16) NOT NULL DEFAULT 'pending',
    ADD COLUMN submitted_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN reviewed_at          TIMESTAMPTZ,
    ADD COLUMN reviewed_by          UUID,
    ADD COLUMN rejection_reason     TEXT;

-- Doctors already verified before this migration are approved (before the
-- constraints below, which hold them to it).
UPDATE doctors SET verification_status = 'approved', reviewed_at = now() WHERE is_verified;

ALTER TABLE doctors
    ADD CONSTRAINT doctors_reviewed_by_fkey FOREIGN KEY (reviewed_by) REFERENCES users (id) ON DELETE SET NULL,
    ADD CONSTRAINT doctors_consultation_types_check
        CHECK (consultation_types <@ ARRAY['video', 'audio', 'chat']::text[] AND cardinality(consultation_types) > 0),
    ADD CONSTRAINT doctors_slot_minutes_check CHECK (slot_minutes IN (15, 20, 30, 45, 60)),
    ADD CONSTRAINT doctors_buffer_minutes_check CHECK (buffer_minutes BETWEEN 0 AND 120),
    ADD CONSTRAINT doctors_min_notice_minutes_check CHECK (min_notice_minutes BETWEEN 0 AND 20160),
    ADD CONSTRAINT doctors_booking_horizon_days_check CHECK (booking_horizon_days BETWEEN 1 AND 365),
    ADD CONSTRAINT doctors_verification_status_check
        CHECK (verification_status IN ('pending', 'approved', 'rejected')),
    -- is_verified (from the seed schema) is the approved state, never out of step.
    ADD CONSTRAINT doctors_is_verified_matches_status CHECK (is_verified = (verification_status = 'approved')),
    ADD CONSTRAINT doctors_rejection_has_reason
        CHECK (verification_status <> 'rejected' OR btrim(coalesce(rejection_reason, '')) <> '');

-- The verification queue, oldest submission first.
CREATE INDEX doctors_pending_idx ON doctors (submitted_at) WHERE verification_status = 'pending';

-- Name search tolerates typos: trigram word similarity on "first last".
CREATE INDEX profiles_full_name_trgm_idx ON profiles
    USING gin ((first_name || ' ' || last_name) gin_trgm_ops);

-- Time off: instants, so "whole days" are stored as the doctor's local
-- midnights (the slot engine computes them, 23 or 25 hours on DST days).
CREATE TABLE doctor_time_off (
    id         UUID        NOT NULL DEFAULT gen_random_uuid(),
    doctor_id  UUID        NOT NULL,
    starts_at  TIMESTAMPTZ NOT NULL,
    ends_at    TIMESTAMPTZ NOT NULL,
    -- Shown to the doctor only (e.g. "Conference").
    note       VARCHAR(200),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT doctor_time_off_pkey PRIMARY KEY (id),
    CONSTRAINT doctor_time_off_doctor_id_fkey FOREIGN KEY (doctor_id) REFERENCES doctors (id) ON DELETE CASCADE,
    CONSTRAINT doctor_time_off_ends_after_start CHECK (ends_at > starts_at)
);
CREATE INDEX doctor_time_off_doctor_id_idx ON doctor_time_off (doctor_id, ends_at);
CREATE TRIGGER doctor_time_off_set_updated_at BEFORE UPDATE ON doctor_time_off
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
