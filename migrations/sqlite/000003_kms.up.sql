-- The embedded KMS: key rings, their keys, and the keys' numbered versions.
-- Key material is stored only wrapped by the seal. Times, IDs and booleans
-- are stored as 000001 describes.

CREATE TABLE kms_key_rings (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL,
    region_id    TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description  TEXT NOT NULL,
    state        TEXT NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;

CREATE INDEX kms_key_rings_project_region_idx ON kms_key_rings (project_id, region_id);

-- RESTRICT: a key ring that holds keys cannot be deleted.
CREATE TABLE kms_keys (
    id            TEXT    PRIMARY KEY,
    key_ring_id   TEXT    NOT NULL REFERENCES kms_key_rings (id) ON DELETE RESTRICT,
    project_id    TEXT    NOT NULL,
    region_id     TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    algorithm     TEXT    NOT NULL,
    protection    TEXT    NOT NULL,
    import_only   INTEGER NOT NULL CHECK (import_only IN (0, 1)),
    access_scope  TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    deletion_date TEXT -- NULL unless the key is scheduled for deletion
) STRICT;

CREATE INDEX kms_keys_key_ring_idx ON kms_keys (key_ring_id, created_at, id);
CREATE INDEX kms_keys_deletion_idx ON kms_keys (deletion_date) WHERE state = 'deleted';

-- wrapped_material is NULL once the material has been erased. key_ring_id
-- repeats the key's ring, which never changes.
CREATE TABLE kms_key_versions (
    key_id           TEXT    NOT NULL REFERENCES kms_keys (id) ON DELETE CASCADE,
    key_ring_id      TEXT    NOT NULL,
    number           INTEGER NOT NULL CHECK (number >= 1),
    state            TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    destroy_date     TEXT, -- NULL unless destruction was requested
    wrapped_material BLOB,
    public_key       TEXT    NOT NULL,
    PRIMARY KEY (key_id, number)
) STRICT;

CREATE INDEX kms_key_versions_erasure_idx ON kms_key_versions (destroy_date)
    WHERE state = 'destroyed' AND wrapped_material IS NOT NULL;
