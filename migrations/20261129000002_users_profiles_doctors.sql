-- Identity: users, their personal profile, and the doctor record of a doctor.
--
-- Rows are soft-deleted (deleted_at) so that consultations, payments,
-- prescriptions and audit logs keep pointing at a real row.

CREATE TABLE users (
    id                UUID         NOT NULL DEFAULT gen_random_uuid(),
    -- 254 = the longest address SMTP can carry. Stored as typed; uniqueness
    -- is case-insensitive via users_email_key below.
    email             VARCHAR(254) NOT NULL,
    password_hash     VARCHAR(255) NOT NULL,
    role              user_role    NOT NULL,
    is_active         BOOLEAN      NOT NULL DEFAULT true,
    is_email_verified BOOLEAN      NOT NULL DEFAULT false,
    mfa_enabled       BOOLEAN      NOT NULL DEFAULT false,
    -- TOTP secret, encrypted by the application (ciphertext, never plain).
    mfa_secret        VARCHAR,
    last_login        TIMESTAMPTZ,
    deleted_at        TIMESTAMPTZ,
    created_at        TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ  NOT NULL DEFAULT now(),

    CONSTRAINT users_pkey PRIMARY KEY (id),
    -- A backstop only; the real rules live in domain::Email::parse.
    CONSTRAINT users_email_check CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT users_mfa_secret_check CHECK (NOT mfa_enabled OR mfa_secret IS NOT NULL)
);

-- Unique, case-insensitive, and the index for sign-in look-ups. Queries must
-- say `WHERE lower(email) = lower($1)` to use it. A unique *index* (not a
-- constraint) because it is on an expression; a violation still reports the
-- name users_email_key. Soft-deleted users keep their address reserved.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_role_idx ON users (role);

CREATE TRIGGER users_set_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();


CREATE TABLE profiles (
    id                 UUID         NOT NULL DEFAULT gen_random_uuid(),
    user_id            UUID         NOT NULL,
    first_name         VARCHAR(100) NOT NULL,
    last_name          VARCHAR(100) NOT NULL,
    phone              VARCHAR(20),
    date_of_birth      DATE,
    gender             VARCHAR(30),
    address            TEXT,
    city               VARCHAR(100),
    state              VARCHAR(100),
    -- ISO 3166-1 alpha-2, upper case ('US', 'IN').
    country            VARCHAR(2),
    pincode            VARCHAR(20),
    -- IANA name (chrono-tz); everything is shown in the viewer's timezone.
    timezone           VARCHAR(64)  NOT NULL DEFAULT 'UTC',
    -- BCP 47 language tag; 35 characters is the longest tag to support.
    preferred_language VARCHAR(35)  NOT NULL DEFAULT 'en',
    deleted_at         TIMESTAMPTZ,
    created_at         TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ  NOT NULL DEFAULT now(),

    CONSTRAINT profiles_pkey PRIMARY KEY (id),
    CONSTRAINT profiles_user_id_key UNIQUE (user_id),
    CONSTRAINT profiles_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT profiles_country_check CHECK (country ~ '^[A-Z]{2}$')
);

CREATE TRIGGER profiles_set_updated_at
    BEFORE UPDATE ON profiles
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();


CREATE TABLE doctors (
    id                  UUID          NOT NULL DEFAULT gen_random_uuid(),
    user_id             UUID          NOT NULL,
    license_number      VARCHAR(64)   NOT NULL,
    specialization      VARCHAR(100)  NOT NULL,
    experience_years    INT,
    qualification       TEXT,
    bio                 TEXT,
    consultation_fee    NUMERIC(12,2) NOT NULL,
    currency            currency_code NOT NULL DEFAULT 'USD',
    -- NULL until the first rating arrives ("no rating yet" is not 0 stars).
    rating              NUMERIC(3,2),
    total_consultations INT           NOT NULL DEFAULT 0,
    is_verified         BOOLEAN       NOT NULL DEFAULT false,
    is_available        BOOLEAN       NOT NULL DEFAULT true,
    deleted_at          TIMESTAMPTZ,
    created_at          TIMESTAMPTZ   NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ   NOT NULL DEFAULT now(),

    CONSTRAINT doctors_pkey PRIMARY KEY (id),
    CONSTRAINT doctors_user_id_key UNIQUE (user_id),
    -- CASCADE only matters for a hard delete of a user with no history; once
    -- a consultation references the doctor, RESTRICT there stops it.
    CONSTRAINT doctors_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT doctors_license_number_key UNIQUE (license_number),
    CONSTRAINT doctors_license_number_check CHECK (btrim(license_number) <> ''),
    CONSTRAINT doctors_experience_years_check CHECK (experience_years BETWEEN 0 AND 80),
    CONSTRAINT doctors_consultation_fee_check CHECK (consultation_fee >= 0),
    CONSTRAINT doctors_rating_check CHECK (rating BETWEEN 0 AND 5),
    CONSTRAINT doctors_total_consultations_check CHECK (total_consultations >= 0)
);

CREATE INDEX doctors_specialization_idx ON doctors (specialization);
CREATE INDEX doctors_is_available_idx ON doctors (is_available);

CREATE TRIGGER doctors_set_updated_at
    BEFORE UPDATE ON doctors
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
