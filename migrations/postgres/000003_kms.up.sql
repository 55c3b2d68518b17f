BEGIN;

-- The embedded KMS: key rings, their keys, and the keys' numbered versions.
-- Key material is stored only wrapped by the seal.

CREATE TABLE kms_key_rings (
    id           uuid        PRIMARY KEY,
    project_id   text        NOT NULL,
    region_id    text        NOT NULL,
    display_name text        NOT NULL,
    description  text        NOT NULL,
    state        text        NOT NULL,
    created_at   timestamptz NOT NULL
);

CREATE INDEX kms_key_rings_project_region_idx ON kms_key_rings (project_id, region_id);

-- RESTRICT: a key ring that holds keys cannot be deleted.
CREATE TABLE kms_keys (
    id            uuid        PRIMARY KEY,
    key_ring_id   uuid        NOT NULL REFERENCES kms_key_rings (id) ON DELETE RESTRICT,
    project_id    text        NOT NULL,
    region_id     text        NOT NULL,
    display_name  text        NOT NULL,
    description   text        NOT NULL,
    algorithm     text        NOT NULL,
    protection    text        NOT NULL,
    import_only   boolean     NOT NULL,
    access_scope  text        NOT NULL,
    state         text        NOT NULL,
    created_at    timestamptz NOT NULL,
    deletion_date timestamptz -- NULL unless the key is scheduled for deletion
);

CREATE INDEX kms_keys_key_ring_idx ON kms_keys (key_ring_id, created_at, id);
CREATE INDEX kms_keys_deletion_idx ON kms_keys (deletion_date) WHERE state = 'deleted';

-- wrapped_material is NULL once the material has been erased. key_ring_id
-- repeats the key's ring, which never changes.
CREATE TABLE kms_key_versions (
    key_id           uuid        NOT NULL REFERENCES kms_keys (id) ON DELETE CASCADE,
    key_ring_id      uuid        NOT NULL,
    number           bigint      NOT NULL CHECK (number >= 1),
    state            text        NOT NULL,
    created_at       timestamptz NOT NULL,
    destroy_date     timestamptz, -- NULL unless destruction was requested
    wrapped_material bytea,
    public_key       text        NOT NULL,
    PRIMARY KEY (key_id, number)
);

CREATE INDEX kms_key_versions_erasure_idx ON kms_key_versions (destroy_date)
    WHERE state = 'destroyed' AND wrapped_material IS NOT NULL;

COMMIT;
