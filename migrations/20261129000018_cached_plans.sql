-- The functions that every booking, slot list and row-security check calls
-- were written in SQL. PostgreSQL parses and plans a SQL function's body
-- again at every call when it cannot inline it, and it never inlines a
-- SECURITY DEFINER function or a set-returning one called in a select list
-- (as the row-security policies call app_doctor_ids()). Under booking load
-- that re-planning was a quarter of the database's time. PL/pgSQL keeps
-- each statement's plan for the life of the connection, so the same bodies
-- are planned once. Signatures, results, rights and owners are unchanged.

CREATE OR REPLACE FUNCTION app_doctor_ids() RETURNS SETOF uuid
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY SELECT d.id FROM doctors d WHERE d.user_id = app_user_id();
END
$$;

CREATE OR REPLACE FUNCTION doctor_busy_times(doctor_ids uuid[], range_from timestamptz, range_to timestamptz)
RETURNS TABLE (id uuid, doctor_id uuid, scheduled_at timestamptz, scheduled_end_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
    RETURN QUERY
    SELECT c.id, c.doctor_id, c.scheduled_at, c.scheduled_end_at
    FROM consultations c
    WHERE c.doctor_id = ANY (doctor_ids)
      AND c.status IN ('pending_payment', 'scheduled', 'in_progress')
      AND tstzrange(c.scheduled_at, c.scheduled_end_at, '[)') && tstzrange(range_from, range_to, '[)')
      AND (c.status <> 'pending_payment' OR c.hold_expires_at IS NULL OR c.hold_expires_at > now())
    ORDER BY c.doctor_id, c.scheduled_at;
END
$$;

CREATE OR REPLACE FUNCTION expired_hold_in_way(p_doctor uuid, p_patient uuid, range_from timestamptz,
                                               range_to timestamptz)
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM consultations x
        WHERE (x.doctor_id = p_doctor OR x.patient_id = p_patient)
          AND x.status IN ('pending_payment', 'scheduled', 'in_progress')
          AND tstzrange(x.scheduled_at, x.scheduled_end_at, '[)') && tstzrange(range_from, range_to, '[)')
          AND x.status = 'pending_payment' AND x.hold_expires_at < now());
END
$$;

-- Everything booking one time needs, in one call and one cached plan: the
-- acting patient's account (never anyone else's: the patient is the
-- transaction's acting user, not an argument), what this booking key
-- already made, the doctor if listed (the search's rule: approved,
-- available, licence valid, email confirmed, active), the doctor's windows,
-- time off and busy times in [range_from, range_to), and whether an expired
-- hold of either side in that range waits for release. It runs with the
-- owner's rights so that row security is not planned and checked a dozen
-- times over public calendar facts; what it answers is what any patient
-- may know, plus their own account.
CREATE FUNCTION booking_context(p_key uuid, p_doctor uuid, range_from timestamptz, range_to timestamptz)
RETURNS TABLE (
    existing uuid, patient_active boolean, verified boolean, timezone text,
    doctor_id uuid, first_name text, last_name text, fee numeric, currency text, types text[],
    slot_minutes smallint, buffer_minutes smallint, min_notice_minutes integer, horizon smallint,
    w_ids uuid[], w_days smallint[], w_starts time[], w_ends time[], w_zones text[], w_recurring boolean[],
    w_from date[], w_until date[],
    o_ids uuid[], o_starts timestamptz[], o_ends timestamptz[],
    b_ids uuid[], b_starts timestamptz[], b_ends timestamptz[],
    expired_holds boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
DECLARE
    me uuid := app_user_id();
BEGIN
    RETURN QUERY
    SELECT (SELECT c.id FROM consultations c WHERE c.patient_id = me AND c.booking_key = p_key),
           (u.is_active AND u.deleted_at IS NULL), u.is_email_verified, pp.timezone::text,
           d.id, d.first_name, d.last_name, d.consultation_fee::numeric, d.currency, d.consultation_types,
           d.slot_minutes, d.buffer_minutes, d.min_notice_minutes, d.booking_horizon_days,
           w.ids, w.days, w.starts, w.ends, w.zones, w.recurring, w.valid_from, w.valid_until,
           o.ids, o.starts, o.ends,
           b.ids, b.starts, b.ends,
           EXISTS (
               SELECT 1 FROM consultations x
               WHERE (x.doctor_id = p_doctor OR x.patient_id = me)
                 AND x.status = 'pending_payment' AND x.hold_expires_at < now()
                 AND tstzrange(x.scheduled_at, x.scheduled_end_at, '[)') && tstzrange(range_from, range_to, '[)'))
    FROM users u
    JOIN profiles pp ON pp.user_id = u.id
    LEFT JOIN LATERAL (
        SELECT d.id, p.first_name::text AS first_name, p.last_name::text AS last_name, d.consultation_fee,
               d.currency::text AS currency, d.consultation_types, d.slot_minutes, d.buffer_minutes,
               d.min_notice_minutes, d.booking_horizon_days
        FROM doctors d JOIN users du ON du.id = d.user_id JOIN profiles p ON p.user_id = du.id
        WHERE d.id = p_doctor AND d.is_verified AND d.is_available AND d.deleted_at IS NULL
          AND d.license_expires_on >= (now() AT TIME ZONE 'UTC')::date
          AND du.is_active AND du.is_email_verified AND du.deleted_at IS NULL
    ) d ON true
    CROSS JOIN LATERAL (
        SELECT COALESCE(array_agg(a.id ORDER BY a.is_recurring DESC, a.day_of_week, a.valid_from, a.start_time), '{}') AS ids,
               COALESCE(array_agg(a.day_of_week ORDER BY a.is_recurring DESC, a.day_of_week, a.valid_from, a.start_time), '{}') AS days,
               COALESCE(array_agg(a.start_time ORDER BY a.is_recurring DESC, a.day_of_week, a.valid_from, a.start_time), '{}') AS starts,
               COALESCE(array_agg(a.end_time ORDER BY a.is_recurring DESC, a.day_of_week, a.valid_from, a.start_time), '{}') AS ends,
               COALESCE(array_agg(a.timezone::text ORDER BY a.is_recurring DESC, a.day_of_week, a.valid_from, a.start_time), '{}') AS zones,
               COALESCE(array_agg(a.is_recurring ORDER BY a.is_recurring DESC, a.day_of_week, a.valid_from, a.start_time), '{}') AS recurring,
               COALESCE(array_agg(a.valid_from ORDER BY a.is_recurring DESC, a.day_of_week, a.valid_from, a.start_time), '{}') AS valid_from,
               COALESCE(array_agg(a.valid_until ORDER BY a.is_recurring DESC, a.day_of_week, a.valid_from, a.start_time), '{}') AS valid_until
        FROM availability_slots a WHERE a.doctor_id = d.id AND a.deleted_at IS NULL
    ) w
    CROSS JOIN LATERAL (
        SELECT COALESCE(array_agg(t.id ORDER BY t.starts_at), '{}') AS ids,
               COALESCE(array_agg(t.starts_at ORDER BY t.starts_at), '{}') AS starts,
               COALESCE(array_agg(t.ends_at ORDER BY t.starts_at), '{}') AS ends
        FROM doctor_time_off t WHERE t.doctor_id = d.id AND t.ends_at > range_from
    ) o
    CROSS JOIN LATERAL (
        SELECT COALESCE(array_agg(c.id ORDER BY c.scheduled_at), '{}') AS ids,
               COALESCE(array_agg(c.scheduled_at ORDER BY c.scheduled_at), '{}') AS starts,
               COALESCE(array_agg(c.scheduled_end_at ORDER BY c.scheduled_at), '{}') AS ends
        FROM consultations c
        WHERE c.doctor_id = d.id
          AND c.status IN ('pending_payment', 'scheduled', 'in_progress')
          AND tstzrange(c.scheduled_at, c.scheduled_end_at, '[)') && tstzrange(range_from, range_to, '[)')
          AND (c.status <> 'pending_payment' OR c.hold_expires_at IS NULL OR c.hold_expires_at > now())
    ) b
    WHERE u.id = me;
END
$$;
REVOKE EXECUTE ON FUNCTION booking_context(uuid, uuid, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION booking_context(uuid, uuid, timestamptz, timestamptz) TO telehealth_app;

-- The booking's write: the held consultation, its pending payment and the
-- audit row, for the acting patient only (the patient is the transaction's
-- acting user, not an argument, so this can book for nobody else: the same
-- guarantee row security gives, without planning its checks at every call).
-- The exclusion constraints still refuse a time the doctor or the patient
-- already has, and their names reach the caller in the error.
CREATE FUNCTION book_hold(p_doctor uuid, p_starts timestamptz, p_ends timestamptz, p_type text, p_symptoms text,
                          p_hold_expires timestamptz, p_key uuid, p_amount numeric, p_currency text,
                          p_details jsonb, p_ip text, p_user_agent text)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public AS $$
DECLARE
    me uuid := app_user_id();
    booked uuid;
BEGIN
    IF me IS NULL OR app_role() <> 'patient' THEN
        RAISE EXCEPTION 'only a signed-in patient books' USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO consultations (patient_id, doctor_id, scheduled_at, scheduled_end_at, status,
                               consultation_type, symptoms, hold_expires_at, booking_key)
    VALUES (me, p_doctor, p_starts, p_ends, 'pending_payment', p_type::consultation_type, p_symptoms,
            p_hold_expires, p_key)
    RETURNING id INTO booked;
    INSERT INTO payments (consultation_id, patient_id, doctor_id, amount, currency)
    VALUES (booked, me, p_doctor, p_amount, p_currency::currency_code);
    INSERT INTO audit_logs (user_id, action, resource_type, resource_id, details, ip_address, user_agent)
    VALUES (me, 'consultation.booked', 'consultation', booked, p_details, p_ip::inet, p_user_agent);
    RETURN booked;
END
$$;
REVOKE EXECUTE ON FUNCTION book_hold(uuid, timestamptz, timestamptz, text, text, timestamptz, uuid, numeric, text,
                                     jsonb, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION book_hold(uuid, timestamptz, timestamptz, text, text, timestamptz, uuid, numeric, text,
                                    jsonb, text, text) TO telehealth_app;
