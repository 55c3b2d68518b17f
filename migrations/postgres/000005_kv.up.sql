BEGIN;

-- The KV v2 engine: per-mount config, per-path metadata, and the versions
-- of each path. Values are stored only sealed (ciphertext bound by AAD to
-- mount, path and version); custom_metadata is a JSON object of strings.
-- Mounts and paths compare bytewise (COLLATE "C"), so that a LIKE 'prefix%'
-- listing can use the primary key and sorts as Go strings do.

CREATE TABLE kv_mount_config (
    mount                   text    COLLATE "C" PRIMARY KEY,
    max_versions            integer NOT NULL CHECK (max_versions >= 0),
    cas_required            boolean NOT NULL,
    delete_version_after_ns bigint  NOT NULL CHECK (delete_version_after_ns >= 0)
);

CREATE TABLE kv_metadata (
    mount                   text        COLLATE "C" NOT NULL,
    path                    text        COLLATE "C" NOT NULL,
    current_version         bigint      NOT NULL CHECK (current_version >= 0),
    oldest_version          bigint      NOT NULL CHECK (oldest_version >= 0),
    max_versions            integer     NOT NULL CHECK (max_versions >= 0),
    cas_required            boolean     NOT NULL,
    delete_version_after_ns bigint      NOT NULL CHECK (delete_version_after_ns >= 0),
    custom_metadata         text        NOT NULL,
    created_time            timestamptz NOT NULL,
    updated_time            timestamptz NOT NULL,
    PRIMARY KEY (mount, path)
);

-- ciphertext is NULL exactly when the version is destroyed; pruned versions
-- are deleted.
CREATE TABLE kv_versions (
    mount         text        COLLATE "C" NOT NULL,
    path          text        COLLATE "C" NOT NULL,
    version       bigint      NOT NULL CHECK (version >= 1),
    ciphertext    bytea,
    created_time  timestamptz NOT NULL,
    deletion_time timestamptz, -- NULL unless deleted or scheduled for deletion
    destroyed     boolean     NOT NULL,
    PRIMARY KEY (mount, path, version),
    FOREIGN KEY (mount, path) REFERENCES kv_metadata (mount, path) ON DELETE CASCADE,
    CONSTRAINT kv_versions_destroyed_erased CHECK (destroyed = (ciphertext IS NULL))
);

COMMIT;
