-- Times are TEXT in RFC 3339 UTC with exactly nine fractional digits
-- ("2006-01-02T15:04:05.000000000Z"), so they sort as text and round-trip
-- exactly. IDs are canonical lower-case UUID text. Booleans are 0 or 1.
-- No BEGIN/COMMIT: golang-migrate wraps each file in a transaction.

CREATE TABLE instances (
    id                        TEXT    PRIMARY KEY,
    project_id                TEXT    NOT NULL,
    region_id                 TEXT    NOT NULL,
    name                      TEXT    NOT NULL,
    state                     TEXT    NOT NULL,
    secret_count              INTEGER NOT NULL DEFAULT 0,
    -- The kmsKey: all six columns are NULL when the instance has none.
    kms_region_id             TEXT,
    kms_project_id            TEXT,
    kms_service_account_email TEXT,
    kms_key_ring_id           TEXT,
    kms_key_id                TEXT,
    kms_key_version           INTEGER,
    creation_start_date       TEXT    NOT NULL,
    creation_finished_date    TEXT    NOT NULL,
    update_start_date         TEXT,
    update_finished_date      TEXT,
    CONSTRAINT instances_kms_key_all_or_none CHECK (
        (kms_region_id IS NULL) + (kms_project_id IS NULL) +
        (kms_service_account_email IS NULL) + (kms_key_ring_id IS NULL) +
        (kms_key_id IS NULL) + (kms_key_version IS NULL) IN (0, 6)
    )
) STRICT;

CREATE INDEX instances_project_region_idx ON instances (project_id, region_id);

CREATE TABLE instance_users (
    id            TEXT    PRIMARY KEY,
    instance_id   TEXT    NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    username      TEXT    NOT NULL UNIQUE,
    password_hash BLOB    NOT NULL,
    write         INTEGER NOT NULL CHECK (write IN (0, 1)),
    description   TEXT    NOT NULL,
    created_at    TEXT    NOT NULL
) STRICT;

CREATE INDEX instance_users_instance_id_idx ON instance_users (instance_id);

-- seq keeps an instance's ACLs in insertion order.
CREATE TABLE instance_acls (
    id          TEXT    PRIMARY KEY,
    instance_id TEXT    NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    cidr        TEXT    NOT NULL
) STRICT;

CREATE INDEX instance_acls_instance_id_idx ON instance_acls (instance_id, seq);

CREATE TABLE service_accounts (
    id         TEXT PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE,
    project_id TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE role_bindings (
    project_id TEXT NOT NULL,
    subject    TEXT NOT NULL,
    role       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (project_id, subject, role)
) STRICT;

CREATE INDEX role_bindings_subject_idx ON role_bindings (subject);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    public_key  BLOB NOT NULL,
    wrapped_key BLOB NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE seal_check (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    wrapped BLOB    NOT NULL
) STRICT;
