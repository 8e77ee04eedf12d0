-- Row-level security for the rest of the clinical text: addenda (corrections
-- to a completed record) and the room's parked relay payloads (chat, notes
-- notices and signalling too big for a NOTIFY). Same pattern as migration 11:
-- the policies follow the transaction's actor (`app_user_id()`, `app_role()`),
-- the system sees every row, and nobody else but the consultation's patient
-- and doctor. Parties are found in `consultation_keys` (migration 16), so an
-- archived consultation's addenda stay visible to its people.

-- Addenda: read by the consultation's patient and doctor (and the system);
-- written only by its doctor, in their own name. Admins see none (like
-- prescriptions and chat: the record is the two parties').
ALTER TABLE consultation_addenda ENABLE ROW LEVEL SECURITY;
CREATE POLICY consultation_addenda_parties ON consultation_addenda
    USING (app_role() = 'system' OR EXISTS (
        SELECT 1 FROM consultation_keys k
        WHERE k.id = consultation_addenda.consultation_id
          AND (k.patient_id = app_user_id() OR k.doctor_id IN (SELECT app_doctor_ids()))))
    WITH CHECK (app_role() = 'system' OR (author_id = app_user_id() AND EXISTS (
        SELECT 1 FROM consultation_keys k
        WHERE k.id = consultation_addenda.consultation_id
          AND k.doctor_id IN (SELECT app_doctor_ids()))));

-- The relay: a parked payload names its room inside itself (the envelope's
-- `room`, see src/server/room_hub.rs); the column is computed from it, so a
-- row cannot claim another room than the one it carries. Parties park
-- payloads for their own room only (a use case's transaction); the server's
-- listener reads them, and the sweep deletes them, as the system.
ALTER TABLE room_relay
    ADD COLUMN consultation_id UUID GENERATED ALWAYS AS ((payload::jsonb ->> 'room')::uuid) STORED;
ALTER TABLE room_relay ENABLE ROW LEVEL SECURITY;
CREATE POLICY room_relay_parties ON room_relay
    USING (app_role() = 'system' OR EXISTS (
        SELECT 1 FROM consultation_keys k
        WHERE k.id = room_relay.consultation_id
          AND (k.patient_id = app_user_id() OR k.doctor_id IN (SELECT app_doctor_ids()))))
    WITH CHECK (app_role() = 'system' OR EXISTS (
        SELECT 1 FROM consultation_keys k
        WHERE k.id = room_relay.consultation_id
          AND (k.patient_id = app_user_id() OR k.doctor_id IN (SELECT app_doctor_ids()))));
