-- The consultation room and the clinical record: lifecycle guard, notes with
-- versions and a lock after completion, addenda, chat messages, prescription
-- versions and follow-up reminders, reviews with an exactly kept rating.

-- Lifecycle. The rules live in src/domain/lifecycle.rs; the database refuses
-- any other change of status as well, so no code path can skip a step:
--   pending_payment -> scheduled | cancelled
--   scheduled       -> in_progress | cancelled | no_show
--   in_progress     -> completed
-- completed, cancelled and no_show are final. Once completed, the notes and
-- the diagnosis are locked (corrections are addenda).
CREATE FUNCTION consultations_guard_lifecycle() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
           (OLD.status = 'pending_payment' AND NEW.status IN ('scheduled', 'cancelled'))
        OR (OLD.status = 'scheduled' AND NEW.status IN ('in_progress', 'cancelled', 'no_show'))
        OR (OLD.status = 'in_progress' AND NEW.status = 'completed'))
    THEN
        RAISE EXCEPTION 'a consultation cannot go from % to %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'consultations_lifecycle';
    END IF;
    IF OLD.status = 'completed'
       AND (NEW.notes IS DISTINCT FROM OLD.notes OR NEW.diagnosis IS DISTINCT FROM OLD.diagnosis
            OR NEW.started_at IS DISTINCT FROM OLD.started_at OR NEW.ended_at IS DISTINCT FROM OLD.ended_at
            OR NEW.duration_minutes IS DISTINCT FROM OLD.duration_minutes)
    THEN
        RAISE EXCEPTION 'the record of a completed consultation is locked; add an addendum'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'consultations_record_locked';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER consultations_guard_lifecycle
    BEFORE UPDATE ON consultations
    FOR EACH ROW EXECUTE FUNCTION consultations_guard_lifecycle();

ALTER TABLE consultations
    -- Bumped by every save of notes or diagnosis: a save names the version it
    -- started from, so two tabs cannot silently overwrite each other.
    ADD COLUMN notes_version    INT         NOT NULL DEFAULT 0,
    ADD COLUMN notes_updated_at TIMESTAMPTZ,
    ADD CONSTRAINT consultations_started_check
        CHECK (status NOT IN ('in_progress', 'completed') OR started_at IS NOT NULL),
    ADD CONSTRAINT consultations_completed_check
        CHECK (status <> 'completed' OR (ended_at IS NOT NULL AND duration_minutes IS NOT NULL)),
    -- No consultation is longer than 4 hours (slots are at most 60 minutes):
    -- a search for what overlaps a range can then bound its index scan from
    -- below as well as from above.
    ADD CONSTRAINT consultations_length_check CHECK (scheduled_end_at - scheduled_at <= interval '4 hours'),
    ADD CONSTRAINT consultations_notes_length CHECK (length(notes) <= 100000),
    ADD CONSTRAINT consultations_diagnosis_length CHECK (length(diagnosis) <= 4000);

-- Replaced by consultations_hold_expiry_idx (migration 9), which the
-- release of expired holds uses.
DROP INDEX consultations_pending_payment_idx;

-- For the no-show job: scheduled consultations whose time has passed.
CREATE INDEX consultations_scheduled_end_idx ON consultations (scheduled_end_at) WHERE status = 'scheduled';

-- Corrections to a completed record: who, when, what. Never edited.
CREATE TABLE consultation_addenda (
    id              UUID        NOT NULL DEFAULT gen_random_uuid(),
    consultation_id UUID        NOT NULL,
    author_id       UUID        NOT NULL,
    body            TEXT        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT consultation_addenda_pkey PRIMARY KEY (id),
    CONSTRAINT consultation_addenda_consultation_id_fkey FOREIGN KEY (consultation_id)
        REFERENCES consultations (id) ON DELETE RESTRICT,
    CONSTRAINT consultation_addenda_author_id_fkey FOREIGN KEY (author_id)
        REFERENCES users (id) ON DELETE RESTRICT,
    CONSTRAINT consultation_addenda_body_check CHECK (length(btrim(body)) BETWEEN 1 AND 10000)
);
CREATE INDEX consultation_addenda_consultation_idx ON consultation_addenda (consultation_id, created_at);

-- Chat in the room. `client_id` is chosen by the sender's browser, so a
-- message resent after a reconnect is stored once.
CREATE TABLE chat_messages (
    id              UUID        NOT NULL DEFAULT gen_random_uuid(),
    consultation_id UUID        NOT NULL,
    sender_id       UUID        NOT NULL,
    client_id       UUID        NOT NULL,
    body            TEXT        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),

    CONSTRAINT chat_messages_pkey PRIMARY KEY (id),
    CONSTRAINT chat_messages_consultation_id_fkey FOREIGN KEY (consultation_id)
        REFERENCES consultations (id) ON DELETE RESTRICT,
    CONSTRAINT chat_messages_sender_id_fkey FOREIGN KEY (sender_id)
        REFERENCES users (id) ON DELETE RESTRICT,
    CONSTRAINT chat_messages_client_key UNIQUE (consultation_id, sender_id, client_id),
    CONSTRAINT chat_messages_body_check CHECK (length(btrim(body)) BETWEEN 1 AND 2000)
);
CREATE INDEX chat_messages_consultation_idx ON chat_messages (consultation_id, created_at);

-- Prescriptions: a correction is a new row that supersedes the old one
-- (which becomes inactive); history is kept.
ALTER TABLE prescriptions
    ADD COLUMN version               INT         NOT NULL DEFAULT 1,
    ADD COLUMN supersedes_id         UUID,
    ADD COLUMN follow_up_reminded_at TIMESTAMPTZ,
    ADD CONSTRAINT prescriptions_supersedes_id_fkey FOREIGN KEY (supersedes_id)
        REFERENCES prescriptions (id) ON DELETE RESTRICT,
    ADD CONSTRAINT prescriptions_version_check CHECK (version >= 1);
-- A prescription is corrected at most once (a correction of a correction
-- supersedes the latest).
CREATE UNIQUE INDEX prescriptions_supersedes_id_key ON prescriptions (supersedes_id) WHERE supersedes_id IS NOT NULL;
CREATE INDEX prescriptions_follow_up_idx ON prescriptions (follow_up_date)
    WHERE is_active AND follow_up_reminded_at IS NULL AND follow_up_date IS NOT NULL;

-- Reviews: one per completed consultation, by its patient.
CREATE TABLE reviews (
    id              UUID        NOT NULL DEFAULT gen_random_uuid(),
    consultation_id UUID        NOT NULL,
    patient_id      UUID        NOT NULL,
    doctor_id       UUID        NOT NULL,
    rating          SMALLINT    NOT NULL,
    comment         TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT reviews_pkey PRIMARY KEY (id),
    CONSTRAINT reviews_consultation_id_key UNIQUE (consultation_id),
    CONSTRAINT reviews_consultation_parties_fkey FOREIGN KEY (consultation_id, patient_id, doctor_id)
        REFERENCES consultations (id, patient_id, doctor_id) ON DELETE RESTRICT,
    CONSTRAINT reviews_rating_check CHECK (rating BETWEEN 1 AND 5),
    CONSTRAINT reviews_comment_check CHECK (length(comment) <= 2000)
);
CREATE INDEX reviews_doctor_idx ON reviews (doctor_id, created_at DESC);

-- The rating is kept exactly: the sum and count of the ratings, and the
-- rating itself is their quotient rounded to 2 places (set in the same
-- transaction as the review).
ALTER TABLE doctors
    ADD COLUMN review_count INT NOT NULL DEFAULT 0,
    ADD COLUMN rating_total INT NOT NULL DEFAULT 0,
    ADD CONSTRAINT doctors_review_count_check CHECK (review_count >= 0 AND rating_total BETWEEN review_count AND 5 * review_count);

-- Room events too big for a NOTIFY payload wait here for the instances to
-- read them (see src/server/room_hub.rs); kept for minutes, never needed
-- after a crash, so unlogged.
CREATE UNLOGGED TABLE room_relay (
    id         BIGSERIAL   NOT NULL,
    payload    TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT room_relay_pkey PRIMARY KEY (id)
);
