-- The Vault listener's mount table: secrets engines enabled through
-- sys/mounts (kind 'secret') and auth methods enabled through sys/auth
-- (kind 'auth'). options is a JSON object of strings (or null). A KV
-- mount's envelope keyring is stored only wrapped, as an instance's is;
-- other mounts leave both key columns empty. Times and durations
-- (nanoseconds) are stored as 000001 describes. TEXT compares bytewise
-- (BINARY), as Go strings do.

CREATE TABLE vault_mounts (
    kind                 TEXT    NOT NULL CHECK (kind IN ('secret', 'auth')),
    path                 TEXT    NOT NULL CHECK (path <> ''),
    type                 TEXT    NOT NULL,
    description          TEXT    NOT NULL,
    accessor             TEXT    NOT NULL UNIQUE CHECK (accessor <> ''),
    uuid                 TEXT    NOT NULL,
    options              TEXT    NOT NULL,
    default_lease_ttl_ns INTEGER NOT NULL CHECK (default_lease_ttl_ns >= 0),
    max_lease_ttl_ns     INTEGER NOT NULL CHECK (max_lease_ttl_ns >= 0),
    created_at           TEXT    NOT NULL,
    wrapped_keyring      BLOB    NOT NULL DEFAULT x'',
    wrapped_fallback_key BLOB    NOT NULL DEFAULT x'',
    PRIMARY KEY (kind, path)
) STRICT, WITHOUT ROWID;

-- Users of userpass auth mounts. mount is the path of an auth mount;
-- deleting the mount deletes its users in the same transaction (the store
-- does it). password_hash is a self-describing argon2id string; policies
-- and bound_cidrs are JSON arrays (or null).
CREATE TABLE vault_userpass_users (
    mount         TEXT    NOT NULL,
    username      TEXT    NOT NULL,
    password_hash BLOB    NOT NULL,
    policies      TEXT    NOT NULL,
    ttl_ns        INTEGER NOT NULL CHECK (ttl_ns >= 0),
    max_ttl_ns    INTEGER NOT NULL CHECK (max_ttl_ns >= 0),
    bound_cidrs   TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    PRIMARY KEY (mount, username)
) STRICT, WITHOUT ROWID;
