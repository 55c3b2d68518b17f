BEGIN;

-- The Vault listener's mount table: secrets engines enabled through
-- sys/mounts (kind 'secret') and auth methods enabled through sys/auth
-- (kind 'auth'). options is a JSON object of strings (or null). A KV
-- mount's envelope keyring is stored only wrapped, as an instance's is;
-- other mounts leave both key columns empty. Paths compare bytewise
-- (COLLATE "C"), so that listings sort as Go strings do.
CREATE TABLE vault_mounts (
    kind                 text        COLLATE "C" NOT NULL CHECK (kind IN ('secret', 'auth')),
    path                 text        COLLATE "C" NOT NULL CHECK (path <> ''),
    type                 text        NOT NULL,
    description          text        NOT NULL,
    accessor             text        NOT NULL UNIQUE CHECK (accessor <> ''),
    uuid                 text        NOT NULL,
    options              text        NOT NULL,
    default_lease_ttl_ns bigint      NOT NULL CHECK (default_lease_ttl_ns >= 0),
    max_lease_ttl_ns     bigint      NOT NULL CHECK (max_lease_ttl_ns >= 0),
    created_at           timestamptz NOT NULL,
    wrapped_keyring      bytea       NOT NULL DEFAULT ''::bytea,
    wrapped_fallback_key bytea       NOT NULL DEFAULT ''::bytea,
    PRIMARY KEY (kind, path)
);

-- Users of userpass auth mounts. mount is the path of an auth mount;
-- deleting the mount deletes its users in the same transaction (the store
-- does it). password_hash is a self-describing argon2id string; policies
-- and bound_cidrs are JSON arrays (or null).
CREATE TABLE vault_userpass_users (
    mount         text        COLLATE "C" NOT NULL,
    username      text        COLLATE "C" NOT NULL,
    password_hash bytea       NOT NULL,
    policies      text        NOT NULL,
    ttl_ns        bigint      NOT NULL CHECK (ttl_ns >= 0),
    max_ttl_ns    bigint      NOT NULL CHECK (max_ttl_ns >= 0),
    bound_cidrs   text        NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (mount, username)
);

COMMIT;
