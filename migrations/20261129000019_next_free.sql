-- The availability index: each listed doctor's next bookable time, worked
-- out ahead by a background job (services::doctors::refresh_next_free) with
-- the slot engine, so that the doctor search orders and pages in SQL instead
-- of running the engine for every candidate on every request.
--
--   next_free_at          the start of the doctor's next bookable time within
--                         the discovery window (two weeks); NULL when there is
--                         none, or it is not known yet.
--   next_free_checked_at  when next_free_at was worked out; NULL marks it
--                         stale: the job works it out again within seconds.
--   account_listed        (below) the account's part of "listed".
--
-- A stale next_free_at still orders the search until the job replaces it, so
-- the order can lag a few seconds; the times a result shows are always live.

ALTER TABLE doctors
    ADD COLUMN next_free_at         TIMESTAMPTZ,
    ADD COLUMN next_free_checked_at TIMESTAMPTZ;

-- Whether the doctor's account may be listed (active, email confirmed, not
-- deleted): the users row's say, copied here by triggers, so that the search
-- counts and pages doctors alone. (Joined to users, counting 10,000 listed
-- doctors took 50 ms.)
ALTER TABLE doctors ADD COLUMN account_listed BOOLEAN NOT NULL DEFAULT false;

-- Runs with the owner's rights: whoever writes the doctor reads the account's flags, nothing more.
CREATE FUNCTION doctors_copy_account_listed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    NEW.account_listed := coalesce((SELECT u.is_active AND u.is_email_verified AND u.deleted_at IS NULL
                                    FROM users u WHERE u.id = NEW.user_id), false);
    RETURN NEW;
END
$$;

CREATE TRIGGER doctors_copy_account_listed
    BEFORE INSERT OR UPDATE OF user_id ON doctors
    FOR EACH ROW EXECUTE FUNCTION doctors_copy_account_listed();

CREATE FUNCTION users_copy_account_listed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    UPDATE doctors SET account_listed = (NEW.is_active AND NEW.is_email_verified AND NEW.deleted_at IS NULL)
    WHERE user_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_copy_account_listed
    AFTER UPDATE OF is_active, is_email_verified, deleted_at ON users
    FOR EACH ROW
    WHEN ((OLD.is_active AND OLD.is_email_verified AND OLD.deleted_at IS NULL)
          IS DISTINCT FROM (NEW.is_active AND NEW.is_email_verified AND NEW.deleted_at IS NULL))
    EXECUTE FUNCTION users_copy_account_listed();

-- The search's default order over listed doctors: soonest first, then the
-- best rated. (Its other conditions, such as the licence's date, are checked
-- row by row; LIMIT stops the scan after a page.)
CREATE INDEX doctors_next_free_idx ON doctors (next_free_at, rating DESC NULLS LAST, id)
    WHERE is_verified AND is_available AND account_listed AND deleted_at IS NULL;

-- Anything that changes which times are free marks the doctor stale, in the
-- same transaction: a consultation booked, held, cancelled, moved, released or
-- deleted (while it lies ahead), a window or time off added, changed or
-- removed. An already stale row is not rewritten, so a busy doctor's bookings
-- cost one index probe each, not one row version each.
CREATE FUNCTION doctor_next_free_stale(p_doctor uuid) RETURNS void
LANGUAGE sql AS $$
    UPDATE doctors SET next_free_checked_at = NULL
    WHERE id = p_doctor AND next_free_checked_at IS NOT NULL
$$;

CREATE FUNCTION consultations_mark_doctor_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' AND NEW.scheduled_end_at > now() THEN
        PERFORM doctor_next_free_stale(NEW.doctor_id);
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.scheduled_end_at > now()
       AND (TG_OP = 'DELETE' OR OLD.doctor_id IS DISTINCT FROM NEW.doctor_id OR NEW.scheduled_end_at <= now()) THEN
        PERFORM doctor_next_free_stale(OLD.doctor_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER consultations_mark_doctor_stale
    AFTER INSERT OR DELETE OR UPDATE OF doctor_id, status, scheduled_at, scheduled_end_at, hold_expires_at
    ON consultations
    FOR EACH ROW EXECUTE FUNCTION consultations_mark_doctor_stale();

-- Windows and time off: the doctor of the row (both, should one move).
CREATE FUNCTION availability_mark_doctor_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM doctor_next_free_stale(NEW.doctor_id);
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.doctor_id IS DISTINCT FROM NEW.doctor_id) THEN
        PERFORM doctor_next_free_stale(OLD.doctor_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER availability_slots_mark_doctor_stale
    AFTER INSERT OR UPDATE OR DELETE ON availability_slots
    FOR EACH ROW EXECUTE FUNCTION availability_mark_doctor_stale();

CREATE TRIGGER doctor_time_off_mark_doctor_stale
    AFTER INSERT OR UPDATE OR DELETE ON doctor_time_off
    FOR EACH ROW EXECUTE FUNCTION availability_mark_doctor_stale();

-- The doctor's own slot rules and listing (length, buffer, notice, horizon;
-- verified, taking bookings, deleted): the row itself turns stale.
CREATE FUNCTION doctors_mark_next_free_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.next_free_checked_at := NULL;
    RETURN NEW;
END
$$;

CREATE TRIGGER doctors_mark_next_free_stale
    BEFORE UPDATE ON doctors
    FOR EACH ROW
    WHEN (OLD.slot_minutes IS DISTINCT FROM NEW.slot_minutes
          OR OLD.buffer_minutes IS DISTINCT FROM NEW.buffer_minutes
          OR OLD.min_notice_minutes IS DISTINCT FROM NEW.min_notice_minutes
          OR OLD.booking_horizon_days IS DISTINCT FROM NEW.booking_horizon_days
          OR OLD.is_verified IS DISTINCT FROM NEW.is_verified
          OR OLD.is_available IS DISTINCT FROM NEW.is_available
          OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
    EXECUTE FUNCTION doctors_mark_next_free_stale();

-- updated_at says when the doctor's profile last changed: the job's
-- bookkeeping, a stale mark or the account's copied flags are not a change
-- of the profile.
DROP TRIGGER doctors_set_updated_at ON doctors;
CREATE TRIGGER doctors_set_updated_at
    BEFORE UPDATE ON doctors
    FOR EACH ROW
    WHEN ((to_jsonb(OLD) - '{next_free_at,next_free_checked_at,account_listed,updated_at}'::text[])
          IS DISTINCT FROM (to_jsonb(NEW) - '{next_free_at,next_free_checked_at,account_listed,updated_at}'::text[]))
    EXECUTE FUNCTION set_updated_at();

-- The flags of the doctors there are (after the trigger above: not a profile change).
UPDATE doctors d SET account_listed = (u.is_active AND u.is_email_verified AND u.deleted_at IS NULL)
FROM users u WHERE u.id = d.user_id;

-- The application's role reads and writes the new columns through its
-- table-wide grant on doctors (the table has no row-level security: doctors
-- are listed publicly), and runs the functions through the default grant.
