-- TOTP: the last time step accepted for each user, so that a code can be
-- used once only (RFC 6238 §5.2), even by two requests racing each other.
ALTER TABLE users ADD COLUMN mfa_last_step BIGINT;

COMMENT ON COLUMN users.mfa_secret IS
    'TOTP secret, AES-256-GCM encrypted (v1:base64(nonce||ciphertext)), bound to the user id; pending until mfa_enabled';

-- Wrong second-factor codes are counted per account too (the key is the user id).
ALTER TABLE auth_throttle DROP CONSTRAINT auth_throttle_scope_check;
ALTER TABLE auth_throttle ADD CONSTRAINT auth_throttle_scope_check CHECK (scope IN ('account', 'ip', 'mfa'));
