ALTER TABLE instances DROP COLUMN wrapped_fallback_key;
ALTER TABLE instances DROP COLUMN wrapped_keyring;
