-- Archival: consultations in a final status (completed, cancelled, no-show)
-- older than `[archive] after_months` move, with every version of their
-- prescriptions, to the `archive` schema; they stay readable by their people
-- (and consultations by admins) through the views `all_consultations` and
-- `all_prescriptions`, and are read-only there.
--
-- Not partitions: PostgreSQL 15 has no exclusion constraints on partitioned
-- tables, and double booking is refused by two on consultations.
--
-- What stays live (payments, reviews, chat messages, addenda) must keep
-- pointing at a consultation wherever it lives: every foreign key that
-- targeted consultations now targets `consultation_keys`, a registry of ids
-- and parties only (no health data), filled for every consultation.

-- The registry -----------------------------------------------------------------

CREATE TABLE consultation_keys (
    id         UUID NOT NULL,
    patient_id UUID NOT NULL,
    doctor_id  UUID NOT NULL,

    CONSTRAINT consultation_keys_pkey PRIMARY KEY (id),
    -- Target of the composite foreign keys (a payment, prescription or review
    -- cannot name other parties than its consultation's).
    CONSTRAINT consultation_keys_id_patient_doctor_key UNIQUE (id, patient_id, doctor_id),
    CONSTRAINT consultation_keys_patient_id_fkey FOREIGN KEY (patient_id)
        REFERENCES users (id) ON DELETE RESTRICT,
    CONSTRAINT consultation_keys_doctor_id_fkey FOREIGN KEY (doctor_id)
        REFERENCES doctors (id) ON DELETE RESTRICT
);
CREATE INDEX consultation_keys_patient_id_idx ON consultation_keys (patient_id);
CREATE INDEX consultation_keys_doctor_id_idx ON consultation_keys (doctor_id);

INSERT INTO consultation_keys (id, patient_id, doctor_id) SELECT id, patient_id, doctor_id FROM consultations;

-- Every new consultation is registered in the same statement (as the owner:
-- the application may read the registry, never write it).
CREATE FUNCTION consultations_register_key() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO consultation_keys (id, patient_id, doctor_id) VALUES (NEW.id, NEW.patient_id, NEW.doctor_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER consultations_register_key
    AFTER INSERT ON consultations
    FOR EACH ROW EXECUTE FUNCTION consultations_register_key();

-- The registry is copied once: a consultation keeps its id and its parties
-- (before, the composite foreign keys refused such a change once a payment
-- existed; now nothing else would).
CREATE FUNCTION consultations_keep_parties() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.patient_id IS DISTINCT FROM OLD.patient_id
       OR NEW.doctor_id IS DISTINCT FROM OLD.doctor_id THEN
        RAISE EXCEPTION 'a consultation keeps its id, its patient and its doctor'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'consultations_parties_fixed';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultations_keep_parties
    BEFORE UPDATE OF id, patient_id, doctor_id ON consultations
    FOR EACH ROW EXECUTE FUNCTION consultations_keep_parties();

-- Who may read a key: the same people as the consultation.
ALTER TABLE consultation_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY consultation_keys_parties ON consultation_keys FOR SELECT
    USING (app_role() IN ('system', 'admin') OR patient_id = app_user_id() OR doctor_id IN (SELECT app_doctor_ids()));
REVOKE ALL ON consultation_keys FROM telehealth_app;
GRANT SELECT ON consultation_keys TO telehealth_app;

-- Foreign keys: same names, now to the registry (error mapping by
-- constraint name keeps working). consultation_reminders keeps its
-- ON DELETE CASCADE to consultations: reminders are bookkeeping of upcoming
-- visits, and go with the live row.
ALTER TABLE payments
    DROP CONSTRAINT payments_consultation_id_fkey,
    DROP CONSTRAINT payments_consultation_parties_fkey,
    ADD CONSTRAINT payments_consultation_id_fkey FOREIGN KEY (consultation_id)
        REFERENCES consultation_keys (id) ON DELETE RESTRICT,
    ADD CONSTRAINT payments_consultation_parties_fkey FOREIGN KEY (consultation_id, patient_id, doctor_id)
        REFERENCES consultation_keys (id, patient_id, doctor_id) ON DELETE RESTRICT;
ALTER TABLE prescriptions
    DROP CONSTRAINT prescriptions_consultation_id_fkey,
    DROP CONSTRAINT prescriptions_consultation_parties_fkey,
    ADD CONSTRAINT prescriptions_consultation_id_fkey FOREIGN KEY (consultation_id)
        REFERENCES consultation_keys (id) ON DELETE RESTRICT,
    ADD CONSTRAINT prescriptions_consultation_parties_fkey FOREIGN KEY (consultation_id, patient_id, doctor_id)
        REFERENCES consultation_keys (id, patient_id, doctor_id) ON DELETE RESTRICT;
ALTER TABLE reviews
    DROP CONSTRAINT reviews_consultation_parties_fkey,
    ADD CONSTRAINT reviews_consultation_parties_fkey FOREIGN KEY (consultation_id, patient_id, doctor_id)
        REFERENCES consultation_keys (id, patient_id, doctor_id) ON DELETE RESTRICT;
ALTER TABLE consultation_addenda
    DROP CONSTRAINT consultation_addenda_consultation_id_fkey,
    ADD CONSTRAINT consultation_addenda_consultation_id_fkey FOREIGN KEY (consultation_id)
        REFERENCES consultation_keys (id) ON DELETE RESTRICT;
ALTER TABLE chat_messages
    DROP CONSTRAINT chat_messages_consultation_id_fkey,
    ADD CONSTRAINT chat_messages_consultation_id_fkey FOREIGN KEY (consultation_id)
        REFERENCES consultation_keys (id) ON DELETE RESTRICT;
-- consultations_id_patient_doctor_key stays (harmless, and a future key may use it).

-- Policies that found a consultation's parties through consultations now
-- use the registry, so an archived consultation's chat and patient profile
-- stay visible to its people. Writing a chat message still needs the live
-- consultation.
DROP POLICY chat_messages_parties ON chat_messages;
CREATE POLICY chat_messages_parties ON chat_messages
    USING (app_role() = 'system' OR EXISTS (
        SELECT 1 FROM consultation_keys k
        WHERE k.id = chat_messages.consultation_id
          AND (k.patient_id = app_user_id() OR k.doctor_id IN (SELECT app_doctor_ids()))))
    WITH CHECK (sender_id = app_user_id() AND EXISTS (
        SELECT 1 FROM consultations c
        WHERE c.id = chat_messages.consultation_id
          AND (c.patient_id = app_user_id() OR c.doctor_id IN (SELECT app_doctor_ids()))));

DROP POLICY profiles_visible ON profiles;
CREATE POLICY profiles_visible ON profiles FOR SELECT
    USING (app_role() IN ('system', 'admin') OR user_id = app_user_id()
           OR EXISTS (SELECT 1 FROM doctors d WHERE d.user_id = profiles.user_id)
           OR EXISTS (SELECT 1 FROM consultation_keys k WHERE k.patient_id = profiles.user_id));

-- The archive ---------------------------------------------------------------------

CREATE SCHEMA archive;
GRANT USAGE ON SCHEMA archive TO telehealth_app;

-- Same columns in the same order (and the same CHECKs and domains) as the
-- live tables, plus when the row moved. A migration that adds a column to
-- consultations or prescriptions adds it here too and recreates the views
-- below (tests/api/archive.rs compares the columns).
CREATE TABLE archive.consultations (
    LIKE public.consultations INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    archived_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT consultations_pkey PRIMARY KEY (id),
    CONSTRAINT consultations_id_patient_doctor_key UNIQUE (id, patient_id, doctor_id),
    CONSTRAINT consultations_parties_fkey FOREIGN KEY (id, patient_id, doctor_id)
        REFERENCES public.consultation_keys (id, patient_id, doctor_id) ON DELETE RESTRICT,
    CONSTRAINT consultations_cancelled_by_fkey FOREIGN KEY (cancelled_by) REFERENCES public.users (id),
    CONSTRAINT consultations_slot_id_fkey FOREIGN KEY (slot_id)
        REFERENCES public.availability_slots (id) ON DELETE SET NULL,
    -- Only finished visits are archived (so no exclusion constraints are needed).
    CONSTRAINT consultations_final_check CHECK (status IN ('completed', 'cancelled', 'no_show'))
);
CREATE INDEX consultations_patient_id_scheduled_at_idx ON archive.consultations (patient_id, scheduled_at);
CREATE INDEX consultations_doctor_id_scheduled_at_idx ON archive.consultations (doctor_id, scheduled_at);
CREATE INDEX consultations_scheduled_at_idx ON archive.consultations (scheduled_at);

CREATE TABLE archive.prescriptions (
    LIKE public.prescriptions INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    archived_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT prescriptions_pkey PRIMARY KEY (id),
    CONSTRAINT prescriptions_consultation_id_fkey FOREIGN KEY (consultation_id)
        REFERENCES archive.consultations (id) ON DELETE RESTRICT,
    CONSTRAINT prescriptions_consultation_parties_fkey FOREIGN KEY (consultation_id, patient_id, doctor_id)
        REFERENCES public.consultation_keys (id, patient_id, doctor_id) ON DELETE RESTRICT,
    -- Every version of a consultation's prescriptions moves together, so the
    -- chain of corrections stays whole inside the archive.
    CONSTRAINT prescriptions_supersedes_id_fkey FOREIGN KEY (supersedes_id)
        REFERENCES archive.prescriptions (id) ON DELETE RESTRICT
);
CREATE INDEX prescriptions_consultation_id_idx ON archive.prescriptions (consultation_id);
CREATE INDEX prescriptions_patient_id_idx ON archive.prescriptions (patient_id);
CREATE INDEX prescriptions_doctor_id_idx ON archive.prescriptions (doctor_id);
CREATE UNIQUE INDEX prescriptions_supersedes_id_key ON archive.prescriptions (supersedes_id)
    WHERE supersedes_id IS NOT NULL;

-- The same people read them as the live rows (admins: consultations yes,
-- prescriptions no). The application may only read.
ALTER TABLE archive.consultations ENABLE ROW LEVEL SECURITY;
CREATE POLICY consultations_parties ON archive.consultations FOR SELECT
    USING (app_role() IN ('system', 'admin') OR patient_id = app_user_id() OR doctor_id IN (SELECT app_doctor_ids()));
ALTER TABLE archive.prescriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY prescriptions_parties ON archive.prescriptions FOR SELECT
    USING (app_role() = 'system' OR patient_id = app_user_id() OR doctor_id IN (SELECT app_doctor_ids()));
GRANT SELECT ON archive.consultations, archive.prescriptions TO telehealth_app;

-- Live and archived together, as the caller may see them (security_invoker:
-- the row-level security of the caller applies to both sides).
CREATE VIEW all_consultations WITH (security_invoker = true) AS
    SELECT c.*, NULL::timestamptz AS archived_at, false AS archived FROM public.consultations c
    UNION ALL
    SELECT a.*, true AS archived FROM archive.consultations a;

CREATE VIEW all_prescriptions WITH (security_invoker = true) AS
    SELECT p.*, NULL::timestamptz AS archived_at, false AS archived FROM public.prescriptions p
    UNION ALL
    SELECT a.*, true AS archived FROM archive.prescriptions a;

REVOKE ALL ON all_consultations, all_prescriptions FROM telehealth_app;
GRANT SELECT ON all_consultations, all_prescriptions TO telehealth_app;

-- An archived record is read-only: nothing new is attached to it (the
-- application answers 409 before; this is the database's own refusal).
CREATE FUNCTION consultation_must_be_live() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.consultations c WHERE c.id = NEW.consultation_id) THEN
        RAISE EXCEPTION 'this consultation is archived and read-only'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'consultation_archived';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER prescriptions_consultation_live BEFORE INSERT ON prescriptions
    FOR EACH ROW EXECUTE FUNCTION consultation_must_be_live();
CREATE TRIGGER consultation_addenda_consultation_live BEFORE INSERT ON consultation_addenda
    FOR EACH ROW EXECUTE FUNCTION consultation_must_be_live();
CREATE TRIGGER chat_messages_consultation_live BEFORE INSERT ON chat_messages
    FOR EACH ROW EXECUTE FUNCTION consultation_must_be_live();
CREATE TRIGGER reviews_consultation_live BEFORE INSERT ON reviews
    FOR EACH ROW EXECUTE FUNCTION consultation_must_be_live();

-- The move --------------------------------------------------------------------------

-- Moves up to 1000 finished consultations scheduled before `before` (the
-- oldest first), with every version of their prescriptions, in one
-- statement; answers how many of each moved (call again until 0). Rows a
-- use case holds locked are left for the next run; several server
-- instances may run it at once. The lifecycle trigger guards updates only,
-- so it does not stand in the way of the DELETE. Runs as the owner: the
-- application can read the archive but not write it.
CREATE FUNCTION archive_old_records(before timestamptz)
RETURNS TABLE (consultations int, prescriptions int)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
    ids uuid[];
    moved_consultations int;
    moved_prescriptions int;
BEGIN
    IF before IS NULL OR before > now() - interval '1 month' THEN
        RAISE EXCEPTION 'only records older than a month are archived'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Locked first, in a statement of its own: a prescription issued on one
    -- of them just before cannot be left behind (the move below sees it).
    SELECT coalesce(array_agg(s.id), '{}') INTO ids FROM (
        SELECT c.id FROM public.consultations c
        WHERE c.status IN ('completed', 'cancelled', 'no_show') AND c.scheduled_at < before
        ORDER BY c.scheduled_at, c.id
        LIMIT 1000
        FOR UPDATE SKIP LOCKED
    ) s;
    WITH moved_c AS (
        DELETE FROM public.consultations c WHERE c.id = ANY (ids) RETURNING c.*
    ), moved_p AS (
        DELETE FROM public.prescriptions p WHERE p.consultation_id = ANY (ids) RETURNING p.*
    ), into_c AS (
        INSERT INTO archive.consultations SELECT m.*, now() FROM moved_c m RETURNING 1
    ), into_p AS (
        INSERT INTO archive.prescriptions SELECT m.*, now() FROM moved_p m RETURNING 1
    )
    SELECT (SELECT count(*) FROM into_c), (SELECT count(*) FROM into_p)
    INTO moved_consultations, moved_prescriptions;
    consultations := moved_consultations;
    prescriptions := moved_prescriptions;
    RETURN NEXT;
END
$$;

REVOKE EXECUTE ON FUNCTION archive_old_records(timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION consultations_register_key() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION consultation_must_be_live() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION archive_old_records(timestamptz) TO telehealth_app;
