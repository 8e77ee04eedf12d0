-- The sealed audit trail (src/server/services/audit_seal.rs) and its
-- retention (detach-and-archive of old monthly partitions).
--
-- Sealing: every closed UTC day, oldest first from the day of the oldest
-- audit row, gets one row in audit_seals, also days without audit rows
-- (row_count 0), so the seals are contiguous and the chain itself proves no
-- day was skipped. A day is closed an hour after its end. For each day:
--
--   row     = the canonical byte encoding of one audit row (see the Rust
--             module: every column, length-prefixed, NULLs flagged);
--   entry   = created_at (µs since 1970, i64 big-endian) || id (16 bytes)
--             || sha256(row)                                   -- 56 bytes
--   rows_hash  = h_n, where h_0 = 32 zero bytes and
--                h_k = sha256(h_(k-1) || entry_k), entries in (created_at, id) order
--   seal_hash  = sha256(previous_hash || period_start µs || period_end µs
--                       || row_count || rows_hash)        -- integers i64 big-endian
--   previous_hash = the previous day's seal_hash (32 zero bytes for the first)
--
-- The entries themselves are kept in audit_seal_digests (blocks of up to
-- 10,000), so that verification can name exactly which row was altered,
-- deleted or inserted. Both tables are append-only, like audit_logs.
--
-- Retention: audit rows are never deleted by the application. Monthly
-- partitions older than the retention (at least 72 months) and fully sealed
-- leave the live table: archive_audit_partitions() detaches them and
-- attaches them, under the same name, to audit_archive.audit_logs, where
-- they stay readable (and verifiable) but not writable.


-- 1. The application role may not delete audit rows through a partition.
--
-- Partitions are created after migration 11 and so got that migration's
-- default privileges (UPDATE and DELETE for telehealth_app). The append-only
-- trigger lets a DELETE through when telehealth.audit_maintenance is 'on',
-- and any role may set that flag: the application role could thus delete
-- rows through a partition. Partitions keep INSERT and SELECT only.
CREATE FUNCTION audit_logs_lock_down_partitions() RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT i.inhrelid::regclass FROM pg_inherits i WHERE i.inhparent = 'public.audit_logs'::regclass LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %s FROM telehealth_app', part);
    END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION audit_logs_lock_down_partitions() FROM PUBLIC, telehealth_app;
SELECT audit_logs_lock_down_partitions();

-- Partitions made from now on are locked down as they are made (the wrapper
-- of migration 12, unchanged otherwise).
CREATE OR REPLACE FUNCTION ensure_audit_log_partition(month DATE) RETURNS BOOLEAN
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    created BOOLEAN;
BEGIN
    PERFORM set_config('telehealth.audit_maintenance', 'on', true);
    created := ensure_audit_log_partition_moving_rows(month);
    PERFORM set_config('telehealth.audit_maintenance', 'off', true);
    IF created THEN
        PERFORM audit_logs_lock_down_partitions();
    END IF;
    RETURN created;
END
$$;


-- 2. Seals.

-- Refuses the statement; the constraint name to report is the argument.
CREATE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege', CONSTRAINT = TG_ARGV[0];
END
$$;

CREATE TABLE audit_seals (
    -- One closed UTC day: [period_start, period_end).
    period_start  TIMESTAMPTZ PRIMARY KEY,
    period_end    TIMESTAMPTZ NOT NULL,
    row_count     BIGINT      NOT NULL,
    rows_hash     BYTEA       NOT NULL,
    previous_hash BYTEA       NOT NULL,
    seal_hash     BYTEA       NOT NULL,
    sealed_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT audit_seals_period_check CHECK (period_end > period_start),
    CONSTRAINT audit_seals_row_count_check CHECK (row_count >= 0),
    CONSTRAINT audit_seals_hashes_check CHECK (
        octet_length(rows_hash) = 32 AND octet_length(previous_hash) = 32 AND octet_length(seal_hash) = 32)
);

CREATE TABLE audit_seal_digests (
    period_start TIMESTAMPTZ NOT NULL REFERENCES audit_seals (period_start),
    -- 0, 1, 2, ... in entry order.
    block        INT         NOT NULL,
    -- Up to 10,000 entries of 56 bytes (see above).
    entries      BYTEA       NOT NULL,
    PRIMARY KEY (period_start, block),
    CONSTRAINT audit_seal_digests_block_check CHECK (block >= 0),
    CONSTRAINT audit_seal_digests_entries_check CHECK (
        octet_length(entries) > 0 AND octet_length(entries) % 56 = 0)
);
-- Hashes do not compress.
ALTER TABLE audit_seal_digests ALTER COLUMN entries SET STORAGE EXTERNAL;

CREATE TRIGGER audit_seals_append_only
    BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change('audit_seals_append_only');
CREATE TRIGGER audit_seals_no_truncate
    BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change('audit_seals_append_only');
CREATE TRIGGER audit_seal_digests_append_only
    BEFORE UPDATE OR DELETE ON audit_seal_digests
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change('audit_seal_digests_append_only');
CREATE TRIGGER audit_seal_digests_no_truncate
    BEFORE TRUNCATE ON audit_seal_digests
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change('audit_seal_digests_append_only');

-- The application seals (as itself) and reads seals; nothing more.
REVOKE ALL ON audit_seals, audit_seal_digests FROM telehealth_app;
GRANT SELECT, INSERT ON audit_seals, audit_seal_digests TO telehealth_app;


-- 3. The archive: old partitions, read-only for everyone.
CREATE SCHEMA audit_archive;
GRANT USAGE ON SCHEMA audit_archive TO telehealth_app;

-- Same columns and CHECKs as audit_logs (attaching a partition needs them).
CREATE TABLE audit_archive.audit_logs (
    LIKE public.audit_logs INCLUDING CONSTRAINTS,
    CONSTRAINT audit_logs_pkey PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX audit_logs_created_at_idx ON audit_archive.audit_logs (created_at);

CREATE TRIGGER audit_archive_append_only
    BEFORE UPDATE OR DELETE ON audit_archive.audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change('audit_archive_append_only');
CREATE TRIGGER audit_archive_no_truncate
    BEFORE TRUNCATE ON audit_archive.audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change('audit_archive_append_only');

REVOKE ALL ON audit_archive.audit_logs FROM telehealth_app;
GRANT SELECT ON audit_archive.audit_logs TO telehealth_app;


-- Moves every monthly partition audit_logs_yYYYYmMM that ends on or before
-- `before` (a first of a month, at least 72 months back) from audit_logs to
-- audit_archive.audit_logs, keeping its name; answers the names moved, oldest
-- first. Rows of such months found in audit_logs_default are first moved
-- into a partition of their own. Every row of a partition must lie in a
-- sealed day and the seals must reach the partition's end, or nothing is
-- moved (an exception names the partition). Runs as the owner: the
-- application role may not alter tables.
CREATE FUNCTION archive_audit_partitions(before DATE) RETURNS SETOF TEXT
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
-- Detaching briefly locks audit_logs exclusively: rather fail (and retry at
-- the next run) than queue every audited request behind a long wait.
SET lock_timeout = '3s'
AS $$
DECLARE
    latest_allowed DATE := (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '72 months')::date;
    month          DATE;
    part           TEXT;
    lo             TEXT;
    hi             TEXT;
    sealed_from    TIMESTAMPTZ;
    sealed_to      TIMESTAMPTZ;
    first_row      TIMESTAMPTZ;
    parts          TEXT[] := '{}';
    los            TEXT[] := '{}';
    his            TEXT[] := '{}';
BEGIN
    IF before IS NULL THEN
        RAISE EXCEPTION 'archive_audit_partitions: before must not be NULL';
    END IF;
    IF before > latest_allowed THEN
        RAISE EXCEPTION 'archive_audit_partitions: audit rows stay live for at least 72 months; % is after %',
                        before, latest_allowed
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- Nothing to do (the usual hourly case): no lock taken.
    IF NOT EXISTS (SELECT 1 FROM audit_logs_default WHERE created_at < (before::timestamp AT TIME ZONE 'UTC'))
       AND NOT EXISTS (
           SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'public.audit_logs'::regclass
             AND c.relname ~ '^audit_logs_y[0-9]{4}m[0-9]{2}$'
             AND to_date(substr(c.relname, 12), '"y"YYYY"m"MM') < before) THEN
        RETURN;
    END IF;

    -- Serializes with partition creation and with another archiving run.
    LOCK TABLE ONLY audit_logs IN SHARE UPDATE EXCLUSIVE MODE;

    -- Rows of old months in the default partition (the partition job was
    -- not running then) move into partitions of their month first; a month
    -- already archived keeps them where they are (verification names them).
    FOR month IN
        SELECT DISTINCT date_trunc('month', d.created_at AT TIME ZONE 'UTC')::date
        FROM audit_logs_default d
        WHERE d.created_at < (before::timestamp AT TIME ZONE 'UTC')
        ORDER BY 1
    LOOP
        IF to_regclass(format('audit_archive.%I', 'audit_logs_' || to_char(month, '"y"YYYY"m"MM'))) IS NULL THEN
            PERFORM ensure_audit_log_partition(month);
        END IF;
    END LOOP;

    SELECT min(s.period_start), max(s.period_end) INTO sealed_from, sealed_to FROM audit_seals s;

    -- First every check, and every scan: a CHECK constraint of the bounds,
    -- validated while audited writes go on (VALIDATE blocks none), lets
    -- ATTACH below skip its own scan.
    FOR part, month IN
        SELECT c.relname::text, to_date(substr(c.relname, 12), '"y"YYYY"m"MM')
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'public.audit_logs'::regclass
          AND c.relname ~ '^audit_logs_y[0-9]{4}m[0-9]{2}$'
        ORDER BY 2
    LOOP
        -- Only partitions that end on or before `before`.
        CONTINUE WHEN (month + interval '1 month')::date > before;
        lo := to_char(month, 'YYYY-MM-DD') || ' 00:00:00+00';
        hi := to_char((month + interval '1 month')::date, 'YYYY-MM-DD') || ' 00:00:00+00';
        EXECUTE format('SELECT min(created_at) FROM public.%I', part) INTO first_row;
        IF sealed_to IS NULL OR sealed_to < hi::timestamptz
           OR (first_row IS NOT NULL AND first_row < sealed_from) THEN
            RAISE EXCEPTION 'archive_audit_partitions: % is not fully sealed yet (run telehealth audit seal first)', part
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        IF to_regclass(format('audit_archive.%I', part)) IS NOT NULL THEN
            RAISE EXCEPTION 'archive_audit_partitions: audit_archive.% already exists', part
                USING ERRCODE = 'duplicate_table';
        END IF;
        EXECUTE format('ALTER TABLE public.%I ADD CONSTRAINT %I CHECK (created_at >= %L AND created_at < %L) NOT VALID',
                       part, part || '_bounds', lo, hi);
        EXECUTE format('ALTER TABLE public.%I VALIDATE CONSTRAINT %I', part, part || '_bounds');
        parts := parts || part;
        los := los || lo;
        his := his || hi;
    END LOOP;

    -- Then the moves: catalog changes only, while DETACH holds audit_logs
    -- exclusively (until commit).
    FOR i IN 1..coalesce(array_length(parts, 1), 0) LOOP
        EXECUTE format('ALTER TABLE public.audit_logs DETACH PARTITION public.%I', parts[i]);
        EXECUTE format('ALTER TABLE public.%I SET SCHEMA audit_archive', parts[i]);
        EXECUTE format('ALTER TABLE audit_archive.audit_logs ATTACH PARTITION audit_archive.%I FOR VALUES FROM (%L) TO (%L)',
                       parts[i], los[i], his[i]);
        -- Row triggers come from the archive's parent; TRUNCATE ones do not.
        EXECUTE format('CREATE TRIGGER audit_archive_no_truncate BEFORE TRUNCATE ON audit_archive.%I
                        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change(%L)',
                       parts[i], 'audit_archive_append_only');
        EXECUTE format('REVOKE ALL ON audit_archive.%I FROM telehealth_app', parts[i]);
        EXECUTE format('GRANT SELECT ON audit_archive.%I TO telehealth_app', parts[i]);
        RETURN NEXT parts[i];
    END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION archive_audit_partitions(DATE) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION archive_audit_partitions(DATE) TO telehealth_app;
-- The trigger functions are nobody's to call.
REVOKE EXECUTE ON FUNCTION audit_refuse_change() FROM PUBLIC, telehealth_app;
