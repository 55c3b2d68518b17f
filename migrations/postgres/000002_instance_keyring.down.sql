BEGIN;

ALTER TABLE instances
    DROP COLUMN wrapped_fallback_key,
    DROP COLUMN wrapped_keyring;

COMMIT;
