-- Profiles: one row per known user (created by the owner's first write or
-- when the account's identifier is verified).
CREATE TABLE profiles (
    user_id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL DEFAULT '',
    about TEXT NOT NULL DEFAULT '',
    avatar TEXT,
    locale TEXT,
    time_zone TEXT,
    version BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- Privacy settings; absent rows mean the defaults.
CREATE TABLE privacy (
    user_id TEXT PRIMARY KEY,
    last_seen TEXT NOT NULL,
    avatar TEXT NOT NULL,
    about TEXT NOT NULL,
    discovery TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- The owner's contacts: whom "contacts" visibility admits.
CREATE TABLE contacts (
    owner_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (owner_id, contact_id)
);

-- Who blocked whom.
CREATE TABLE blocks (
    blocker_id TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);

-- Discovery directory: HMAC-SHA256(discovery key, identifier) as hex, never
-- the identifier itself; key_id names the key that made the hash.
CREATE TABLE directory (
    identifier_hash TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    verified_at_ms BIGINT NOT NULL
);
CREATE INDEX directory_by_user ON directory (user_id);
