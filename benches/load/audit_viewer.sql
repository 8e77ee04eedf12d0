-- The audit viewer at ten million rows: fills audit_logs of a scratch
-- database (migrated by `telehealth migrate`) with 10,000,000 rows over
-- eleven months, then times the viewer's page queries (as
-- src/server/db/admin.rs::audit_query builds them) with EXPLAIN ANALYZE.
--   createdb telehealth_scale && DATABASE_URL=…/telehealth_scale telehealth migrate
--   psql …/telehealth_scale -f benches/load/audit_viewer.sql
\timing on
SELECT ensure_audit_log_partition(d::date) FROM generate_series('2026-01-01'::date, '2026-12-01'::date, interval '1 month') d;
INSERT INTO users (id, email, password_hash, role)
SELECT gen_random_uuid(), 'scale' || g || '@example.com', 'x', CASE WHEN g % 10 = 0 THEN 'doctor' ELSE 'patient' END
FROM generate_series(1, 1000) g;
CREATE TEMP TABLE u AS SELECT row_number() OVER () AS n, id FROM users;
CREATE TEMP TABLE r AS SELECT g AS n, gen_random_uuid() AS id FROM generate_series(1, 100000) g;
INSERT INTO audit_logs (user_id, action, resource_type, resource_id, details, ip_address, created_at)
SELECT u.id,
       (ARRAY['consultation.viewed','consultation.booked','payment.succeeded','payment.refunded',
              'prescription.issued','session.signed_in','room.entered','notes.saved'])[1 + g % 8],
       (ARRAY['consultation','consultation','payment','payment','prescription','session','consultation',
              'consultation'])[1 + g % 8],
       r.id, '{"k": 1}', '10.0.0.1',
       timestamptz '2026-01-01' + (g::float8 / 10000000) * (timestamptz '2026-12-01' - timestamptz '2026-01-01')
FROM generate_series(1::bigint, 10000000) g
JOIN u ON u.n = 1 + (g * 7919) % 1000
JOIN r ON r.n = 1 + (g * 104729) % 100000;
ANALYZE audit_logs;

SELECT id AS account FROM users WHERE email = 'scale7@example.com' \gset
SELECT resource_id AS resource FROM audit_logs WHERE created_at > '2026-06-01' AND resource_type = 'payment' LIMIT 1 \gset
SELECT created_at AS cursor_at, id AS cursor_id
FROM (SELECT created_at, id FROM audit_logs ORDER BY created_at DESC, id DESC OFFSET 5000000 LIMIT 1) x \gset

\echo '== first page'
EXPLAIN (ANALYZE, BUFFERS) SELECT a.*, u.email FROM audit_logs a LEFT JOIN users u ON u.id = a.user_id
ORDER BY a.created_at DESC, a.id DESC LIMIT 51;
\echo '== the page after row 5,000,000 (keyset)'
EXPLAIN (ANALYZE, BUFFERS) SELECT a.*, u.email FROM audit_logs a LEFT JOIN users u ON u.id = a.user_id
WHERE a.created_at <= :'cursor_at' AND (a.created_at < :'cursor_at' OR a.id < :'cursor_id')
ORDER BY a.created_at DESC, a.id DESC LIMIT 51;
\echo '== one account'
EXPLAIN (ANALYZE, BUFFERS) SELECT a.*, u.email FROM audit_logs a LEFT JOIN users u ON u.id = a.user_id
WHERE a.user_id = :'account' ORDER BY a.created_at DESC, a.id DESC LIMIT 51;
\echo '== one action'
EXPLAIN (ANALYZE, BUFFERS) SELECT a.*, u.email FROM audit_logs a LEFT JOIN users u ON u.id = a.user_id
WHERE a.action = 'payment.refunded' ORDER BY a.created_at DESC, a.id DESC LIMIT 51;
\echo '== one resource''s history'
EXPLAIN (ANALYZE, BUFFERS) SELECT a.*, u.email FROM audit_logs a LEFT JOIN users u ON u.id = a.user_id
WHERE a.resource_type = 'payment' AND a.resource_id = :'resource' ORDER BY a.created_at DESC, a.id DESC LIMIT 51;
