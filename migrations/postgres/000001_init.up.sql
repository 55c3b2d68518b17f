BEGIN;

CREATE TABLE instances (
    id                        uuid        PRIMARY KEY,
    project_id                text        NOT NULL,
    region_id                 text        NOT NULL,
    name                      text        NOT NULL,
    state                     text        NOT NULL,
    secret_count              bigint      NOT NULL DEFAULT 0,
    -- The kmsKey: all six columns are NULL when the instance has none.
    kms_region_id             text,
    kms_project_id            text,
    kms_service_account_email text,
    kms_key_ring_id           text,
    kms_key_id                text,
    kms_key_version           bigint,
    creation_start_date       timestamptz NOT NULL,
    creation_finished_date    timestamptz NOT NULL,
    update_start_date         timestamptz,
    update_finished_date      timestamptz,
    CONSTRAINT instances_kms_key_all_or_none CHECK (
        num_nulls(kms_region_id, kms_project_id, kms_service_account_email,
                  kms_key_ring_id, kms_key_id, kms_key_version) IN (0, 6)
    )
);

CREATE INDEX instances_project_region_idx ON instances (project_id, region_id);

CREATE TABLE instance_users (
    id            uuid        PRIMARY KEY,
    instance_id   uuid        NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    username      text        NOT NULL UNIQUE,
    password_hash bytea       NOT NULL,
    write         boolean     NOT NULL,
    description   text        NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE INDEX instance_users_instance_id_idx ON instance_users (instance_id);

-- seq keeps an instance's ACLs in insertion order.
CREATE TABLE instance_acls (
    id          uuid   PRIMARY KEY,
    instance_id uuid   NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    seq         bigint NOT NULL,
    cidr        text   NOT NULL
);

CREATE INDEX instance_acls_instance_id_idx ON instance_acls (instance_id, seq);

CREATE TABLE service_accounts (
    id         uuid        PRIMARY KEY,
    email      text        NOT NULL UNIQUE,
    project_id text        NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE role_bindings (
    project_id text        NOT NULL,
    subject    text        NOT NULL,
    role       text        NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (project_id, subject, role)
);

CREATE INDEX role_bindings_subject_idx ON role_bindings (subject);

CREATE TABLE signing_keys (
    kid         text        PRIMARY KEY,
    algorithm   text        NOT NULL,
    public_key  bytea       NOT NULL,
    wrapped_key bytea       NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE seal_check (
    id      integer PRIMARY KEY CHECK (id = 1),
    wrapped bytea   NOT NULL
);

COMMIT;
