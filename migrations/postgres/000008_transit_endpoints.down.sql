BEGIN;

DROP TABLE transit_endpoints;

COMMIT;
