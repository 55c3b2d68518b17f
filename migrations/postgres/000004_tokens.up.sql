BEGIN;

-- Tokens of the Vault listener. The secret a client holds is never stored:
-- hash is its keyed hash (HMAC-SHA256), the lookup key. policies and
-- bound_cidrs are JSON arrays, meta a JSON object of strings.
CREATE TABLE vault_tokens (
    hash           bytea       PRIMARY KEY CHECK (length(hash) > 0),
    accessor       text        NOT NULL UNIQUE,
    policies       text        NOT NULL,
    meta           text        NOT NULL,
    display_name   text        NOT NULL,
    path           text        NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz, -- NULL: never expires (root tokens)
    max_expires_at timestamptz, -- NULL: no cap on renewals
    ttl_ns         bigint      NOT NULL,
    renewable      boolean     NOT NULL,
    bound_cidrs    text        NOT NULL
);

CREATE INDEX vault_tokens_expires_at_idx ON vault_tokens (expires_at) WHERE expires_at IS NOT NULL;

-- Each token's meta again, one row per key, so that the tokens of a user or
-- an instance can be found (and revoked) by index.
CREATE TABLE vault_token_meta (
    accessor text NOT NULL REFERENCES vault_tokens (accessor) ON DELETE CASCADE,
    key      text NOT NULL,
    value    text NOT NULL,
    PRIMARY KEY (accessor, key)
);

CREATE INDEX vault_token_meta_key_value_idx ON vault_token_meta (key, value);

COMMIT;
