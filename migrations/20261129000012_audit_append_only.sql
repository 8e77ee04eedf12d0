-- The audit trail is append-only: besides the application role's missing
-- UPDATE and DELETE privileges (migration 11), a trigger refuses both for
-- everyone. Only the partition maintenance below (moving rows out of the
-- default partition into their month) may delete, and it says so with a
-- transaction-local flag that it clears again.

CREATE FUNCTION audit_logs_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('telehealth.audit_maintenance', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit rows are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'audit_logs_append_only';
END
$$;

CREATE TRIGGER audit_logs_append_only
    BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();

-- The partition function of migration 5 moves rows with DELETE: it now runs
-- inside a wrapper that raises the maintenance flag for exactly that call.
ALTER FUNCTION ensure_audit_log_partition(DATE) RENAME TO ensure_audit_log_partition_moving_rows;

CREATE FUNCTION ensure_audit_log_partition(month DATE) RETURNS BOOLEAN
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    created BOOLEAN;
BEGIN
    PERFORM set_config('telehealth.audit_maintenance', 'on', true);
    created := ensure_audit_log_partition_moving_rows(month);
    PERFORM set_config('telehealth.audit_maintenance', 'off', true);
    RETURN created;
END
$$;

-- The monthly job (src/server/services/audit.rs) creates partitions ahead as
-- the owner: the application role may not create tables.
CREATE FUNCTION create_audit_partitions_ahead(months_ahead INT) RETURNS INT
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
    SELECT ensure_audit_log_partitions(months_ahead)
$$;
REVOKE EXECUTE ON FUNCTION create_audit_partitions_ahead(INT) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION create_audit_partitions_ahead(INT) TO telehealth_app;
REVOKE EXECUTE ON FUNCTION ensure_audit_log_partition_moving_rows(DATE) FROM PUBLIC, telehealth_app;
