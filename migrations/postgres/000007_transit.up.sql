BEGIN;

-- The keys of transit mounts. sealed is the whole key (every version's
-- material included) wrapped by the seal with AAD naming mount and name;
-- nothing else of a key is stored in the clear. revision counts the
-- writes of a row and makes updates optimistic: a writer changes the row
-- only when it still holds the revision it read. mount is the path of a
-- secret mount of type transit; disabling the mount must delete its
-- keys too (transit.Service.DeleteMount). Names compare bytewise
-- (COLLATE "C"), so that listings sort as Go strings do.
CREATE TABLE transit_keys (
    mount      text        COLLATE "C" NOT NULL CHECK (mount <> ''),
    name       text        COLLATE "C" NOT NULL CHECK (name <> ''),
    revision   bigint      NOT NULL CHECK (revision >= 1),
    sealed     bytea       NOT NULL CHECK (length(sealed) > 0),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (mount, name)
);

COMMIT;
