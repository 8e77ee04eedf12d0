-- Audit trail, partitioned by month of created_at (UTC months).
--
-- Partitions are named audit_logs_yYYYYmMM (e.g. audit_logs_y2026m11) and
-- created ahead of time by ensure_audit_log_partitions(), which the
-- partitions job calls periodically. audit_logs_default catches any row whose
-- month has no partition yet, so an audit insert (made in the same
-- transaction as the action it records) never fails for want of one.

CREATE TABLE audit_logs (
    id            UUID         NOT NULL DEFAULT gen_random_uuid(),
    -- NULL for anonymous events (e.g. a failed sign-in for an unknown email).
    user_id       UUID,
    action        VARCHAR(100) NOT NULL,
    resource_type VARCHAR(50)  NOT NULL,
    resource_id   UUID,
    details       JSONB        NOT NULL DEFAULT '{}',
    ip_address    INET,
    user_agent    TEXT,
    created_at    TIMESTAMPTZ  NOT NULL DEFAULT now(),

    -- A partitioned table's primary key must include the partition key, so
    -- the key is (id, created_at); id alone is still unique in practice.
    CONSTRAINT audit_logs_pkey PRIMARY KEY (id, created_at),
    -- No cascade and no SET NULL: audit rows are append-only, so a user with
    -- audit history can only be soft-deleted.
    CONSTRAINT audit_logs_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE RESTRICT,
    CONSTRAINT audit_logs_details_check CHECK (jsonb_typeof(details) = 'object')
) PARTITION BY RANGE (created_at);

-- Indexes on the parent are created on every partition, present and future.
CREATE INDEX audit_logs_created_at_idx ON audit_logs (created_at);
CREATE INDEX audit_logs_user_id_idx ON audit_logs (user_id);
CREATE INDEX audit_logs_resource_idx ON audit_logs (resource_type, resource_id);
CREATE INDEX audit_logs_action_idx ON audit_logs (action);

CREATE TABLE audit_logs_default PARTITION OF audit_logs DEFAULT;


-- Creates the partition for the (UTC) month containing `month`.
-- Returns true if it created it, false if it already existed.
--
-- If audit_logs_default already holds rows of that month, a plain
-- `CREATE TABLE ... PARTITION OF` would fail, so instead the table is created
-- standalone, the rows are moved into it, and it is then attached. Bounds are
-- written as explicit UTC literals so the session's TimeZone cannot shift
-- them.
CREATE FUNCTION ensure_audit_log_partition(month DATE) RETURNS BOOLEAN
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    -- Plain timestamp (not timestamptz) arithmetic: independent of TimeZone.
    first_day DATE := date_trunc('month', month::timestamp)::date;
    next_day  DATE := (first_day + interval '1 month')::date;
    part      TEXT := 'audit_logs_' || to_char(first_day, '"y"YYYY"m"MM');
    lo        TEXT := to_char(first_day, 'YYYY-MM-DD') || ' 00:00:00+00';
    hi        TEXT := to_char(next_day, 'YYYY-MM-DD') || ' 00:00:00+00';
    moved     BIGINT;
BEGIN
    IF month IS NULL THEN
        RAISE EXCEPTION 'ensure_audit_log_partition: month must not be NULL';
    END IF;

    -- Serializes concurrent callers (this mode conflicts with itself but not
    -- with INSERTs). Locking a table, unlike taking an advisory lock, also
    -- refreshes this session's view of the catalog, so a partition committed
    -- by the caller we waited for is seen by to_regclass() below.
    LOCK TABLE ONLY audit_logs IN SHARE UPDATE EXCLUSIVE MODE;

    IF to_regclass(part) IS NOT NULL THEN
        RETURN false;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM audit_logs_default
                   WHERE created_at >= lo::timestamptz AND created_at < hi::timestamptz) THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF audit_logs FOR VALUES FROM (%L) TO (%L)',
                       part, lo, hi);
        RETURN true;
    END IF;

    -- Same columns, defaults and CHECKs as the parent (ATTACH requires them).
    EXECUTE format('CREATE TABLE %I (LIKE audit_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   part);
    -- Lets ATTACH skip its validation scan of the new partition.
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (created_at >= %L AND created_at < %L)',
                   part, part || '_bounds', lo, hi);
    EXECUTE format('WITH moved AS (DELETE FROM audit_logs_default
                                   WHERE created_at >= $1 AND created_at < $2
                                   RETURNING *)
                    INSERT INTO %I SELECT * FROM moved', part)
        USING lo::timestamptz, hi::timestamptz;
    GET DIAGNOSTICS moved = ROW_COUNT;
    EXECUTE format('ALTER TABLE audit_logs ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   part, lo, hi);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', part, part || '_bounds');

    RAISE NOTICE 'created partition % and moved % row(s) into it from audit_logs_default',
                 part, moved;
    RETURN true;
END;
$$;


-- Ensures partitions exist from the current (UTC) month through
-- `months_ahead` months ahead. Returns how many it created; 0 when all exist.
CREATE FUNCTION ensure_audit_log_partitions(months_ahead INT DEFAULT 3) RETURNS INT
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    this_month DATE := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    created    INT  := 0;
BEGIN
    IF months_ahead IS NULL OR months_ahead < 0 THEN
        RAISE EXCEPTION 'ensure_audit_log_partitions: months_ahead must be >= 0, got %',
                        months_ahead;
    END IF;

    FOR i IN 0..months_ahead LOOP
        IF ensure_audit_log_partition((this_month + make_interval(months => i))::date) THEN
            created := created + 1;
        END IF;
    END LOOP;

    RETURN created;
END;
$$;

SELECT ensure_audit_log_partitions(3);
