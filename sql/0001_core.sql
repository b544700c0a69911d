-- 0001_core: users, roles, projects and their members, API tokens, the audit log.
-- Applied by `cube db upgrade` inside one transaction.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    username    text NOT NULL UNIQUE
                CHECK (username ~ '^[a-z][a-z0-9-]*[a-z0-9]$' AND length(username) <= 64),
    nickname    text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    password    text NOT NULL,               -- yescrypt hash, never plain text
    active      boolean NOT NULL DEFAULT true,
    last_login  timestamptz,
    login_count integer NOT NULL DEFAULT 0,
    created_on  timestamptz NOT NULL DEFAULT now(),
    changed_on  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE roles (
    id   bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64)
);
INSERT INTO roles (name) VALUES ('admin'), ('user');

CREATE TABLE user_role (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id bigint NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_role_role ON user_role (role_id);

CREATE TABLE project (
    id            bigserial PRIMARY KEY,
    name          varchar(50) NOT NULL UNIQUE,
    describe      varchar(500) NOT NULL DEFAULT '',
    type          text NOT NULL DEFAULT 'org' CHECK (type IN ('org', 'job-template')),
    expand        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(expand) = 'object'),
    created_on    timestamptz NOT NULL DEFAULT now(),
    changed_on    timestamptz NOT NULL DEFAULT now(),
    created_by_fk bigint REFERENCES users (id) ON DELETE SET NULL,
    changed_by_fk bigint REFERENCES users (id) ON DELETE SET NULL
);
-- Substring filters (ct/sw/ew, case-insensitive) are served by trigram indexes.
CREATE INDEX project_name_trgm ON project USING gin (name gin_trgm_ops);
CREATE INDEX project_describe_trgm ON project USING gin (describe gin_trgm_ops);

CREATE TABLE project_user (
    id            bigserial PRIMARY KEY,
    project_id    bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          text NOT NULL DEFAULT 'dev' CHECK (role IN ('dev', 'ops', 'creator')),
    created_on    timestamptz NOT NULL DEFAULT now(),
    changed_on    timestamptz NOT NULL DEFAULT now(),
    created_by_fk bigint REFERENCES users (id) ON DELETE SET NULL,
    changed_by_fk bigint REFERENCES users (id) ON DELETE SET NULL,
    UNIQUE (project_id, user_id)
);
CREATE INDEX project_user_user ON project_user (user_id, project_id);

CREATE TABLE api_token (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         varchar(100) NOT NULL,
    prefix       text NOT NULL,               -- first characters, to recognise a token
    token_hash   text NOT NULL UNIQUE,        -- sha256 hex of the whole token
    created_on   timestamptz NOT NULL DEFAULT now(),
    last_used_on timestamptz,
    expires_on   timestamptz
);
CREATE INDEX api_token_user ON api_token (user_id);

CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    user_id    bigint,                        -- no FK: the history outlives the user
    username   text NOT NULL DEFAULT '',
    method     text NOT NULL,
    path       text NOT NULL,
    view       text NOT NULL,
    op         text NOT NULL,
    row_id     bigint,
    status     integer NOT NULL,
    request_id text NOT NULL DEFAULT '',
    dttm       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_dttm ON audit_log (dttm);
CREATE INDEX audit_log_view_row ON audit_log (view, row_id);
