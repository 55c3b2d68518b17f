-- The endpoints of the services file (COFFER_TRANSIT_CONFIG), one row per
-- endpoint id: the token issued for it, by accessor, and that token's
-- secret wrapped by the seal with AAD naming the endpoint, so that
-- `coffer relationships` can print it again (vault_tokens keeps only its
-- hash). policies is a JSON array of the token's policies, sorted, so a
-- change of the file's policies is seen without unwrapping anything.
-- accessor is not a foreign key: an expired token is swept from
-- vault_tokens, and the next start issues a new one here. Times are
-- stored as 000001 describes. TEXT compares bytewise (BINARY), as Go
-- strings do.

CREATE TABLE transit_endpoints (
    id            TEXT PRIMARY KEY CHECK (id <> ''),
    service       TEXT NOT NULL CHECK (service <> ''),
    policies      TEXT NOT NULL,
    accessor      TEXT NOT NULL CHECK (accessor <> ''),
    wrapped_token BLOB NOT NULL CHECK (length(wrapped_token) > 0),
    updated_at    TEXT NOT NULL
) STRICT, WITHOUT ROWID;
