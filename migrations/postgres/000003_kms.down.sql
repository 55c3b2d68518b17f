BEGIN;

DROP TABLE kms_key_versions;
DROP TABLE kms_keys;
DROP TABLE kms_key_rings;

COMMIT;
