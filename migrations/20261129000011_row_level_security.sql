-- Row-level security: the database itself keeps health and money records to
-- their people. Every request's transaction names its actor
-- (`app.user_id`, `app.role`: patient | doctor | admin | system, empty for
-- anonymous; see src/server/db/mod.rs). The application works as the role
-- `telehealth_app`, which owns nothing and cannot bypass row security;
-- migrations run as the owner. A query that forgets its WHERE clause then
-- still sees only the actor's rows.

-- Roles belong to the whole cluster: the first database to migrate creates
-- it; others (also several migrating at the same moment) find it there.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'telehealth_app') THEN
        CREATE ROLE telehealth_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- The role running migrations (the owner) may switch to it: the application
-- signs in as the owner's login and works as telehealth_app. (Superusers
-- need no grant.)
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT telehealth_app TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO telehealth_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO telehealth_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO telehealth_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO telehealth_app;
-- Tables of later migrations get the same (they are created by the owner).
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO telehealth_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO telehealth_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO telehealth_app;
-- The audit trail is append-only for the application.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_logs FROM telehealth_app;
-- Migrations' own bookkeeping is the owner's.
DO $$
BEGIN
    IF to_regclass('_sqlx_migrations') IS NOT NULL THEN
        REVOKE ALL ON _sqlx_migrations FROM telehealth_app;
    END IF;
END
$$;

-- The acting user and role of the current transaction.
CREATE FUNCTION app_user_id() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::uuid $$;

CREATE FUNCTION app_role() RETURNS text
LANGUAGE sql STABLE AS $$ SELECT COALESCE(NULLIF(current_setting('app.role', true), ''), 'anonymous') $$;

-- The doctor rows of the acting user (none unless a doctor).
CREATE FUNCTION app_doctor_ids() RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$ SELECT d.id FROM doctors d WHERE d.user_id = app_user_id() $$;

ALTER TABLE consultations ENABLE ROW LEVEL SECURITY;
CREATE POLICY consultations_parties ON consultations
    USING (app_role() IN ('system', 'admin') OR patient_id = app_user_id() OR doctor_id IN (SELECT app_doctor_ids()))
    WITH CHECK (app_role() IN ('system', 'admin') OR patient_id = app_user_id() OR doctor_id IN (SELECT app_doctor_ids()));

ALTER TABLE payments ENABLE ROW LEVEL SECURITY;
CREATE POLICY payments_parties ON payments
    USING (app_role() IN ('system', 'admin') OR patient_id = app_user_id() OR doctor_id IN (SELECT app_doctor_ids()))
    WITH CHECK (app_role() IN ('system', 'admin') OR patient_id = app_user_id() OR doctor_id IN (SELECT app_doctor_ids()));

-- Prescriptions are the two parties' (and the system's, for reminders); not admins'.
ALTER TABLE prescriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY prescriptions_parties ON prescriptions
    USING (app_role() = 'system' OR patient_id = app_user_id() OR doctor_id IN (SELECT app_doctor_ids()))
    WITH CHECK (app_role() = 'system' OR doctor_id IN (SELECT app_doctor_ids()));

-- The room's chat is the two parties' only.
ALTER TABLE chat_messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY chat_messages_parties ON chat_messages
    USING (app_role() = 'system' OR EXISTS (
        SELECT 1 FROM consultations c
        WHERE c.id = chat_messages.consultation_id
          AND (c.patient_id = app_user_id() OR c.doctor_id IN (SELECT app_doctor_ids()))))
    WITH CHECK (sender_id = app_user_id() AND EXISTS (
        SELECT 1 FROM consultations c
        WHERE c.id = chat_messages.consultation_id
          AND (c.patient_id = app_user_id() OR c.doctor_id IN (SELECT app_doctor_ids()))));

-- Profiles: one's own; doctors' (they are listed publicly); a doctor sees
-- the patients they have consultations with (through consultations' own
-- policy); admins and the system see all.
ALTER TABLE profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY profiles_visible ON profiles FOR SELECT
    USING (app_role() IN ('system', 'admin') OR user_id = app_user_id()
           OR EXISTS (SELECT 1 FROM doctors d WHERE d.user_id = profiles.user_id)
           OR EXISTS (SELECT 1 FROM consultations c WHERE c.patient_id = profiles.user_id));
CREATE POLICY profiles_insert ON profiles FOR INSERT
    WITH CHECK (app_role() IN ('system', 'admin') OR user_id = app_user_id());
CREATE POLICY profiles_update ON profiles FOR UPDATE
    USING (app_role() IN ('system', 'admin') OR user_id = app_user_id())
    WITH CHECK (app_role() IN ('system', 'admin') OR user_id = app_user_id());

-- What anyone may know of a doctor's calendar: when they are busy, nothing
-- about with whom. (Runs as the owner: it sees every consultation.)
CREATE FUNCTION doctor_busy_times(doctor_ids uuid[], range_from timestamptz, range_to timestamptz)
RETURNS TABLE (id uuid, doctor_id uuid, scheduled_at timestamptz, scheduled_end_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT c.id, c.doctor_id, c.scheduled_at, c.scheduled_end_at
    FROM consultations c
    WHERE c.doctor_id = ANY (doctor_ids)
      AND c.status IN ('pending_payment', 'scheduled', 'in_progress')
      AND tstzrange(c.scheduled_at, c.scheduled_end_at, '[)') && tstzrange(range_from, range_to, '[)')
      AND (c.status <> 'pending_payment' OR c.hold_expires_at IS NULL OR c.hold_expires_at > now())
    ORDER BY c.doctor_id, c.scheduled_at
$$;

-- Whether an expired, unreleased hold of this doctor or this patient lies in
-- the range (it would stand in the way of the exclusion constraints).
CREATE FUNCTION expired_hold_in_way(p_doctor uuid, p_patient uuid, range_from timestamptz, range_to timestamptz)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT EXISTS (
        SELECT 1 FROM consultations x
        WHERE (x.doctor_id = p_doctor OR x.patient_id = p_patient)
          AND x.status IN ('pending_payment', 'scheduled', 'in_progress')
          AND tstzrange(x.scheduled_at, x.scheduled_end_at, '[)') && tstzrange(range_from, range_to, '[)')
          AND x.status = 'pending_payment' AND x.hold_expires_at < now())
$$;

-- Releases expired holds (of a doctor or a patient, or all when both are
-- NULL): the consultation is cancelled and its pending payment failed. A
-- patient's booking may release another patient's expired hold, which it
-- could not see: hence the owner's rights, for exactly this.
CREATE FUNCTION release_expired_holds(p_doctor uuid, p_patient uuid)
RETURNS TABLE (id uuid, patient_id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
    WITH released AS (
        UPDATE consultations c
        SET status = 'cancelled', cancellation_reason = 'hold_expired', cancelled_at = now(), hold_expires_at = NULL
        WHERE c.status = 'pending_payment' AND c.hold_expires_at < now()
          AND ((p_doctor IS NULL AND p_patient IS NULL) OR c.doctor_id = p_doctor OR c.patient_id = p_patient)
        RETURNING c.id, c.patient_id
    ), failed AS (
        UPDATE payments p SET status = 'failed'
        FROM released r WHERE p.consultation_id = r.id AND p.status = 'pending'
        RETURNING p.id
    )
    SELECT r.id, r.patient_id FROM released r
$$;

REVOKE EXECUTE ON FUNCTION doctor_busy_times(uuid[], timestamptz, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION expired_hold_in_way(uuid, uuid, timestamptz, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION release_expired_holds(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION doctor_busy_times(uuid[], timestamptz, timestamptz) TO telehealth_app;
GRANT EXECUTE ON FUNCTION expired_hold_in_way(uuid, uuid, timestamptz, timestamptz) TO telehealth_app;
GRANT EXECUTE ON FUNCTION release_expired_holds(uuid, uuid) TO telehealth_app;
