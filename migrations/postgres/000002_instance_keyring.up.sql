BEGIN;

-- An instance's data keyring, wrapped under its kmsKey (or under its own
-- fallback key when it has none), and that fallback key, wrapped by the
-- seal. Empty for instances created before this migration.
ALTER TABLE instances
    ADD COLUMN wrapped_keyring      bytea NOT NULL DEFAULT ''::bytea,
    ADD COLUMN wrapped_fallback_key bytea NOT NULL DEFAULT ''::bytea;

COMMIT;
