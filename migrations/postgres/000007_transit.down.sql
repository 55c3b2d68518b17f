BEGIN;

DROP TABLE transit_keys;

COMMIT;
