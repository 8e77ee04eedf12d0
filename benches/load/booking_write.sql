-- pgbench script for benches/load/booking.py: the booking's write statement
-- alone (the consultation, its payment and its audit row in one statement,
-- as src/server/db/consultations.rs::insert_booking sends it), for a random
-- listed doctor and load patient, at a random second of 2031-2040 lasting
-- one second (so the exclusion constraints are checked but never collide).
\set s random(1, 300000000)
\set d random(0, 31)
\set p random(0, 255)
SELECT id AS doctor FROM doctors WHERE is_verified AND is_available ORDER BY id OFFSET :d LIMIT 1 \gset
SELECT id AS patient FROM users WHERE email LIKE 'load.%' ORDER BY id OFFSET :p LIMIT 1 \gset
WITH c AS (
    INSERT INTO consultations (patient_id, doctor_id, scheduled_at, scheduled_end_at, status,
                               consultation_type, symptoms, hold_expires_at, booking_key)
    VALUES (:patient::uuid, :doctor::uuid, timestamptz '2031-01-01' + :s * interval '1 second',
            timestamptz '2031-01-01' + (:s + 1) * interval '1 second', 'pending_payment', 'video',
            'Load test.', now() + interval '10 minutes', gen_random_uuid())
    RETURNING id, patient_id, doctor_id),
p AS (
    INSERT INTO payments (consultation_id, patient_id, doctor_id, amount, currency)
    SELECT id, patient_id, doctor_id, 60, 'GBP' FROM c RETURNING id),
a AS (
    INSERT INTO audit_logs (user_id, action, resource_type, resource_id, details, ip_address, user_agent)
    SELECT c.patient_id, 'consultation.booked', 'consultation', c.id, '{"load": true}', '127.0.0.1', 'pgbench'
    FROM c RETURNING id)
SELECT c.id FROM c, p, a;
