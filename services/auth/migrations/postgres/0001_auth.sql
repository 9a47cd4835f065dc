-- Accounts: one normalised identifier (email or E.164 phone) each.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    verified BIGINT NOT NULL DEFAULT 0,
    roles TEXT NOT NULL DEFAULT 'user',
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- Verification and reset codes, stored as SHA-256(salt || code).
CREATE TABLE verification_codes (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    salt BYTEA NOT NULL,
    code_hash BYTEA NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    consumed_at_ms BIGINT
);
CREATE INDEX verification_codes_by_account ON verification_codes (account_id, purpose, created_at_ms);

-- One row per login: the refresh-token family.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    device_name TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    last_used_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT,
    revoked_reason TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id, created_at_ms);

-- Refresh tokens by SHA-256; a used one presented again revokes its session.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms BIGINT
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

-- TOTP secrets; enabled = 0 while an enrolment awaits confirmation.
CREATE TABLE totp (
    user_id TEXT PRIMARY KEY,
    secret BYTEA NOT NULL,
    enabled BIGINT NOT NULL DEFAULT 0,
    last_step BIGINT NOT NULL DEFAULT -1,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    used_at_ms BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- Ed25519 signing keys (32-byte seeds, not yet encrypted at rest).
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    private_key BYTEA NOT NULL,
    public_key BYTEA NOT NULL,
    created_at_ms BIGINT NOT NULL,
    activates_at_ms BIGINT NOT NULL,
    retires_at_ms BIGINT
);
