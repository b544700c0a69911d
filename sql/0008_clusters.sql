-- Execution clusters: where a project's tasks run when they outgrow this machine.
-- A project picks one by name in its expand ({"cluster": "<name>"}); without one, or with a
-- cluster of engine 'local', tasks run on the embedded executor.
CREATE TABLE cluster (
    id                bigserial PRIMARY KEY,
    name              varchar(63) NOT NULL UNIQUE
                      CONSTRAINT cluster_name_check CHECK (name ~ '^[a-z0-9][a-z0-9-]*$'),
    engine            text NOT NULL DEFAULT 'local'
                      CONSTRAINT cluster_engine_check CHECK (engine IN ('local', 'slurm', 'kubernetes')),
    describe          varchar(500) NOT NULL DEFAULT '',
    endpoint          varchar(500) NOT NULL DEFAULT '',
    "user"            varchar(100) NOT NULL DEFAULT '',
    token             text NOT NULL DEFAULT '',   -- sealed with CUBE_SECRET_KEY (core/secretbox)
    jwt_key           text NOT NULL DEFAULT '',   -- sealed; Slurm's auth/jwt key, base64
    ca_pem            text NOT NULL DEFAULT '',
    queue             varchar(100) NOT NULL DEFAULT '',
    shared_dir        varchar(500) NOT NULL DEFAULT '',
    default_resources jsonb NOT NULL DEFAULT '{}'::jsonb,
    labels            jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_on        timestamptz NOT NULL DEFAULT now(),
    changed_on        timestamptz NOT NULL DEFAULT now(),
    created_by_fk     bigint REFERENCES users (id) ON DELETE SET NULL,
    changed_by_fk     bigint REFERENCES users (id) ON DELETE SET NULL
);

INSERT INTO cluster (name, engine, describe)
VALUES ('local', 'local', 'This machine: the embedded executor');
