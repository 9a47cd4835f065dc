-- Flag definitions. A deleted flag keeps its row as a tombstone so versions
-- stay monotonic if the key is created again.
CREATE TABLE flags (
    flag_key TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    version BIGINT NOT NULL,
    deleted BIGINT NOT NULL DEFAULT 0,
    updated_at_ms BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

-- Append-only record of who changed what.
CREATE TABLE flag_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    flag_key TEXT NOT NULL,
    version BIGINT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    spec TEXT
);
CREATE INDEX flag_audit_by_key ON flag_audit (flag_key, id);
