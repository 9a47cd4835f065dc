CREATE TABLE items (
    id TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    counter BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 1,
    payload BLOB
);
