-- Doctors' availability windows, in the doctor's own IANA timezone. The slot
-- engine in domain/ expands them to instants (correct across DST changes);
-- the database stores only local wall-clock times.
--
-- Two kinds of row:
--   * recurring (is_recurring = true): every `day_of_week` between valid_from
--     and valid_until (either bound may be NULL = open-ended);
--   * one-off (is_recurring = false): a single date, valid_from. day_of_week
--     still holds that date's weekday (checked below) so that "what is open
--     on a Tuesday" is one query over both kinds; valid_until is NULL or
--     equal to valid_from.
--
-- day_of_week follows PostgreSQL's EXTRACT(DOW ...) and chrono's
-- Weekday::num_days_from_sunday(): 0 = Sunday ... 6 = Saturday.
-- end_time > start_time, so a window cannot cross local midnight: store a
-- 22:00-02:00 shift as two rows.

CREATE TABLE availability_slots (
    id           UUID        NOT NULL DEFAULT gen_random_uuid(),
    doctor_id    UUID        NOT NULL,
    day_of_week  SMALLINT    NOT NULL,
    start_time   TIME        NOT NULL,
    end_time     TIME        NOT NULL,
    timezone     VARCHAR(64) NOT NULL,
    is_recurring BOOLEAN     NOT NULL DEFAULT true,
    valid_from   DATE,
    valid_until  DATE,
    deleted_at   TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT availability_slots_pkey PRIMARY KEY (id),
    CONSTRAINT availability_slots_doctor_id_fkey FOREIGN KEY (doctor_id)
        REFERENCES doctors (id) ON DELETE CASCADE,
    CONSTRAINT availability_slots_day_of_week_check CHECK (day_of_week BETWEEN 0 AND 6),
    CONSTRAINT availability_slots_end_after_start CHECK (end_time > start_time),
    CONSTRAINT availability_slots_valid_range_check CHECK (valid_until >= valid_from),
    CONSTRAINT availability_slots_one_off_check CHECK (
        is_recurring
        OR (    valid_from IS NOT NULL
            AND day_of_week = EXTRACT(DOW FROM valid_from)
            AND (valid_until IS NULL OR valid_until = valid_from))
    )
);

CREATE INDEX availability_slots_doctor_id_idx ON availability_slots (doctor_id);

CREATE TRIGGER availability_slots_set_updated_at
    BEFORE UPDATE ON availability_slots
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
