BEGIN;

-- The endpoints of the services file (COFFER_TRANSIT_CONFIG), one row per
-- endpoint id: the token issued for it, by accessor, and that token's
-- secret wrapped by the seal with AAD naming the endpoint, so that
-- `coffer relationships` can print it again (vault_tokens keeps only its
-- hash). policies is a JSON array of the token's policies, sorted, so a
-- change of the file's policies is seen without unwrapping anything.
-- accessor is not a foreign key: an expired token is swept from
-- vault_tokens, and the next start issues a new one here. Ids compare
-- bytewise (COLLATE "C"), so that listings sort as Go strings do.
CREATE TABLE transit_endpoints (
    id            text        COLLATE "C" PRIMARY KEY CHECK (id <> ''),
    service       text        NOT NULL CHECK (service <> ''),
    policies      text        NOT NULL,
    accessor      text        NOT NULL CHECK (accessor <> ''),
    wrapped_token bytea       NOT NULL CHECK (length(wrapped_token) > 0),
    updated_at    timestamptz NOT NULL
);

COMMIT;
