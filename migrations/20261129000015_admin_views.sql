-- The audit viewer pages through the trail newest first, optionally for one
-- account or one action: each filter gets an index ending in created_at, so a
-- page is a short backward walk of one index per monthly partition however
-- large the trail grows. They replace the single-column indexes of migration 5
-- (same names, the filter column still first).
DROP INDEX audit_logs_user_id_idx;
CREATE INDEX audit_logs_user_id_idx ON audit_logs (user_id, created_at);
DROP INDEX audit_logs_action_idx;
CREATE INDEX audit_logs_action_idx ON audit_logs (action, created_at);

-- The administrators' payment list is by creation time.
CREATE INDEX payments_created_at_idx ON payments (created_at);
-- The dashboard's revenue is by payment time.
CREATE INDEX payments_paid_at_idx ON payments (paid_at) WHERE paid_at IS NOT NULL;
-- New accounts per day.
CREATE INDEX users_created_at_idx ON users (created_at);
