-- Extensions, shared vocabularies and the updated_at trigger function.
--
-- gen_random_uuid() is built into PostgreSQL 13+, so pgcrypto is not needed.
-- btree_gist lets a GiST exclusion constraint combine `uuid WITH =` with
-- `tstzrange WITH &&` (see consultations_no_doctor_overlap). It is a trusted
-- extension, so a database owner without superuser can install it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- ---------------------------------------------------------------------------
-- Status vocabularies, written down once. The Rust enums (domain/) map to
-- these by type name; each value is the snake_case name of a variant.
--
-- DOMAINs over VARCHAR rather than ENUM types: adding a value later is a plain
-- `ALTER DOMAIN ... DROP/ADD CONSTRAINT` inside a transaction, and the values
-- stay ordinary text for reports and psql. Note that PostgreSQL describes a
-- domain-typed result column by its base type (character varying), not by
-- the domain name.
-- ---------------------------------------------------------------------------
CREATE DOMAIN user_role AS VARCHAR(16)
    CONSTRAINT user_role_check
    CHECK (VALUE IN ('patient', 'doctor', 'admin'));

CREATE DOMAIN consultation_status AS VARCHAR(32)
    CONSTRAINT consultation_status_check
    CHECK (VALUE IN ('pending_payment', 'scheduled', 'in_progress',
                     'completed', 'cancelled', 'no_show'));

CREATE DOMAIN consultation_type AS VARCHAR(16)
    CONSTRAINT consultation_type_check
    CHECK (VALUE IN ('video', 'audio', 'chat'));

CREATE DOMAIN payment_status AS VARCHAR(32)
    CONSTRAINT payment_status_check
    CHECK (VALUE IN ('pending', 'requires_action', 'succeeded', 'failed',
                     'refunded', 'partially_refunded'));

-- ISO 4217 alphabetic code ('USD', 'EUR', 'INR'). CHAR(3) pads a short value
-- with blanks, and the regex (applied to the trimmed text) then rejects it.
CREATE DOMAIN currency_code AS CHAR(3)
    CONSTRAINT currency_code_check
    CHECK (VALUE ~ '^[A-Z]{3}$');

-- ---------------------------------------------------------------------------
-- One trigger function, attached BEFORE UPDATE to every table that has an
-- updated_at column. now() is the start time of the transaction.
-- ---------------------------------------------------------------------------
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
