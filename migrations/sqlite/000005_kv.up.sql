-- The KV v2 engine: per-mount config, per-path metadata, and the versions
-- of each path. Values are stored only sealed (ciphertext bound by AAD to
-- mount, path and version); custom_metadata is a JSON object of strings.
-- Times, booleans and durations (nanoseconds) are stored as 000001
-- describes. TEXT compares bytewise (BINARY), as Go strings do.

CREATE TABLE kv_mount_config (
    mount                   TEXT    PRIMARY KEY,
    max_versions            INTEGER NOT NULL CHECK (max_versions >= 0),
    cas_required            INTEGER NOT NULL CHECK (cas_required IN (0, 1)),
    delete_version_after_ns INTEGER NOT NULL CHECK (delete_version_after_ns >= 0)
) STRICT, WITHOUT ROWID;

CREATE TABLE kv_metadata (
    mount                   TEXT    NOT NULL,
    path                    TEXT    NOT NULL,
    current_version         INTEGER NOT NULL CHECK (current_version >= 0),
    oldest_version          INTEGER NOT NULL CHECK (oldest_version >= 0),
    max_versions            INTEGER NOT NULL CHECK (max_versions >= 0),
    cas_required            INTEGER NOT NULL CHECK (cas_required IN (0, 1)),
    delete_version_after_ns INTEGER NOT NULL CHECK (delete_version_after_ns >= 0),
    custom_metadata         TEXT    NOT NULL,
    created_time            TEXT    NOT NULL,
    updated_time            TEXT    NOT NULL,
    PRIMARY KEY (mount, path)
) STRICT, WITHOUT ROWID;

-- ciphertext is NULL exactly when the version is destroyed; pruned versions
-- are deleted.
CREATE TABLE kv_versions (
    mount         TEXT    NOT NULL,
    path          TEXT    NOT NULL,
    version       INTEGER NOT NULL CHECK (version >= 1),
    ciphertext    BLOB,
    created_time  TEXT    NOT NULL,
    deletion_time TEXT, -- NULL unless deleted or scheduled for deletion
    destroyed     INTEGER NOT NULL CHECK (destroyed IN (0, 1)),
    PRIMARY KEY (mount, path, version),
    FOREIGN KEY (mount, path) REFERENCES kv_metadata (mount, path) ON DELETE CASCADE,
    CHECK (destroyed = (ciphertext IS NULL))
) STRICT, WITHOUT ROWID;
