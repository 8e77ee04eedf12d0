-- Identity: sessions (rotating refresh tokens), one-time email links, MFA
-- recovery codes, sign-in throttling and the development mailbox.
--
-- Every secret stored here is a SHA-256 digest of a random token: a copy of
-- the database is not a set of working links, codes or sessions.

-- One row per refresh token ever issued. A *family* is one sign-in on one
-- device: refreshing issues a new row in the same family and marks the old
-- one rotated. Presenting a rotated token again means it was stolen (or
-- replayed), so the whole family is revoked.
CREATE TABLE sessions (
    id             UUID        NOT NULL DEFAULT gen_random_uuid(),
    user_id        UUID        NOT NULL,
    family_id      UUID        NOT NULL,
    token_hash     BYTEA       NOT NULL,
    -- Set when this token was exchanged for the next one of its family.
    rotated_at     TIMESTAMPTZ,
    revoked_at     TIMESTAMPTZ,
    revoked_reason VARCHAR(50),
    -- The family's absolute end, carried over on rotation.
    expires_at     TIMESTAMPTZ NOT NULL,
    -- Last request seen from this family: automatic logoff after idle time.
    last_seen_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    ip_address     INET,
    user_agent     TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT sessions_token_hash_check CHECK (octet_length(token_hash) = 32)
);
CREATE INDEX sessions_user_id_active_idx ON sessions (user_id) WHERE revoked_at IS NULL AND rotated_at IS NULL;
CREATE INDEX sessions_family_id_idx ON sessions (family_id);
CREATE TRIGGER sessions_set_updated_at BEFORE UPDATE ON sessions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();


-- Single-use, expiring links sent by email (verify an address, reset a password).
CREATE TABLE email_tokens (
    id         UUID        NOT NULL DEFAULT gen_random_uuid(),
    user_id    UUID        NOT NULL,
    purpose    VARCHAR(20) NOT NULL,
    token_hash BYTEA       NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT email_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT email_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT email_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT email_tokens_purpose_check CHECK (purpose IN ('verify_email', 'reset_password'))
);
CREATE INDEX email_tokens_user_id_purpose_idx ON email_tokens (user_id, purpose, created_at DESC);
CREATE TRIGGER email_tokens_set_updated_at BEFORE UPDATE ON email_tokens
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();


-- Ten one-time recovery codes per MFA enrolment, stored as digests.
CREATE TABLE mfa_recovery_codes (
    id         UUID        NOT NULL DEFAULT gen_random_uuid(),
    user_id    UUID        NOT NULL,
    code_hash  BYTEA       NOT NULL,
    used_at    TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT mfa_recovery_codes_pkey PRIMARY KEY (id),
    CONSTRAINT mfa_recovery_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT mfa_recovery_codes_code_hash_key UNIQUE (user_id, code_hash)
);
CREATE TRIGGER mfa_recovery_codes_set_updated_at BEFORE UPDATE ON mfa_recovery_codes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();


-- Failed sign-in counters, per account (lower-cased email, known or not, so
-- an unknown address behaves exactly like a known one) and per IP address.
CREATE TABLE auth_throttle (
    scope           VARCHAR(10)  NOT NULL,
    key             VARCHAR(254) NOT NULL,
    failures        INT          NOT NULL DEFAULT 0,
    locked_until    TIMESTAMPTZ,
    last_failure_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ  NOT NULL DEFAULT now(),

    CONSTRAINT auth_throttle_pkey PRIMARY KEY (scope, key),
    CONSTRAINT auth_throttle_scope_check CHECK (scope IN ('account', 'ip')),
    CONSTRAINT auth_throttle_failures_check CHECK (failures >= 0)
);
CREATE TRIGGER auth_throttle_set_updated_at BEFORE UPDATE ON auth_throttle
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();


-- Messages of the development mail transport, shown on the dev-only mailbox
-- page. Production sends by SMTP and stores nothing here.
CREATE TABLE dev_mailbox (
    id           UUID         NOT NULL DEFAULT gen_random_uuid(),
    to_address   VARCHAR(254) NOT NULL,
    subject      VARCHAR(255) NOT NULL,
    body_text    TEXT         NOT NULL,
    created_at   TIMESTAMPTZ  NOT NULL DEFAULT now(),

    CONSTRAINT dev_mailbox_pkey PRIMARY KEY (id)
);
CREATE INDEX dev_mailbox_to_address_idx ON dev_mailbox (lower(to_address), created_at DESC);
