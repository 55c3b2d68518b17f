-- Tokens of the Vault listener. The secret a client holds is never stored:
-- hash is its keyed hash (HMAC-SHA256), the lookup key. policies and
-- bound_cidrs are JSON arrays, meta a JSON object of strings. Times and
-- booleans are stored as 000001 describes; ttl_ns is nanoseconds.

CREATE TABLE vault_tokens (
    hash           BLOB    PRIMARY KEY CHECK (length(hash) > 0),
    accessor       TEXT    NOT NULL UNIQUE,
    policies       TEXT    NOT NULL,
    meta           TEXT    NOT NULL,
    display_name   TEXT    NOT NULL,
    path           TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    expires_at     TEXT, -- NULL: never expires (root tokens)
    max_expires_at TEXT, -- NULL: no cap on renewals
    ttl_ns         INTEGER NOT NULL,
    renewable      INTEGER NOT NULL CHECK (renewable IN (0, 1)),
    bound_cidrs    TEXT    NOT NULL
) STRICT;

CREATE INDEX vault_tokens_expires_at_idx ON vault_tokens (expires_at) WHERE expires_at IS NOT NULL;

-- Each token's meta again, one row per key, so that the tokens of a user or
-- an instance can be found (and revoked) by index.
CREATE TABLE vault_token_meta (
    accessor TEXT NOT NULL REFERENCES vault_tokens (accessor) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (accessor, key)
) STRICT;

CREATE INDEX vault_token_meta_key_value_idx ON vault_token_meta (key, value);
