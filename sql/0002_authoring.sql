-- 0002_authoring: registries, images, job templates with argument schemas, pipelines, tasks,
-- and the built-in job templates.

CREATE TABLE repository (
    id            bigserial PRIMARY KEY,
    name          varchar(100) NOT NULL UNIQUE,
    server        varchar(200) NOT NULL,
    "user"        varchar(100) NOT NULL DEFAULT '',
    password      text NOT NULL DEFAULT '',      -- sealed with CUBE_SECRET_KEY (core/secretbox)
    hubsecret     varchar(100) NOT NULL DEFAULT '',
    created_on    timestamptz NOT NULL DEFAULT now(),
    changed_on    timestamptz NOT NULL DEFAULT now(),
    created_by_fk bigint REFERENCES users (id) ON DELETE SET NULL,
    changed_by_fk bigint REFERENCES users (id) ON DELETE SET NULL
);

CREATE TABLE images (
    id            bigserial PRIMARY KEY,
    project_id    bigint REFERENCES project (id) ON DELETE SET NULL,  -- a job-template category
    name          varchar(500) NOT NULL UNIQUE,
    describe      varchar(1000) NOT NULL DEFAULT '',
    repository_id bigint REFERENCES repository (id) ON DELETE SET NULL,
    entrypoint    varchar(1000) NOT NULL DEFAULT '',
    dockerfile    text NOT NULL DEFAULT '',
    gitpath       varchar(500) NOT NULL DEFAULT '',
    created_on    timestamptz NOT NULL DEFAULT now(),
    changed_on    timestamptz NOT NULL DEFAULT now(),
    created_by_fk bigint REFERENCES users (id) ON DELETE SET NULL,
    changed_by_fk bigint REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX images_name_trgm ON images USING gin (name gin_trgm_ops);

CREATE TABLE job_template (
    id            bigserial PRIMARY KEY,
    project_id    bigint REFERENCES project (id) ON DELETE SET NULL,  -- category
    name          varchar(100) NOT NULL UNIQUE,
    version       text NOT NULL DEFAULT 'Release' CHECK (version IN ('Release', 'Alpha')),
    images_id     bigint REFERENCES images (id) ON DELETE RESTRICT,   -- NULL: runs on the host
    describe      varchar(1000) NOT NULL DEFAULT '',
    workdir       varchar(500) NOT NULL DEFAULT '',
    entrypoint    varchar(1000) NOT NULL DEFAULT '',
    args          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(args) = 'object'),
    env           text NOT NULL DEFAULT '',
    volume_mount  varchar(2000) NOT NULL DEFAULT '',
    privileged    boolean NOT NULL DEFAULT false,
    accounts      varchar(100) NOT NULL DEFAULT '',
    host_aliases  text NOT NULL DEFAULT '',
    demo          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(demo) = 'object'),
    expand        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(expand) = 'object'),
    created_on    timestamptz NOT NULL DEFAULT now(),
    changed_on    timestamptz NOT NULL DEFAULT now(),
    created_by_fk bigint REFERENCES users (id) ON DELETE SET NULL,
    changed_by_fk bigint REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX job_template_name_trgm ON job_template USING gin (name gin_trgm_ops);

CREATE TABLE pipeline (
    id                 bigserial PRIMARY KEY,
    project_id         bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    name               varchar(54) NOT NULL CHECK (name ~ '^[a-z][a-z0-9-]*[a-z0-9]$'),
    describe           varchar(500) NOT NULL DEFAULT '',
    dag_json           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(dag_json) = 'object'),
    expand             jsonb NOT NULL DEFAULT '[]',
    global_env         text NOT NULL DEFAULT '',
    schedule_type      text NOT NULL DEFAULT 'once' CHECK (schedule_type IN ('once', 'crontab')),
    cron_time          varchar(100) NOT NULL DEFAULT '',
    cronjob_start_time timestamptz,
    timezone           varchar(64) NOT NULL DEFAULT 'UTC',
    depends_on_past    boolean NOT NULL DEFAULT false,
    max_active_runs    integer NOT NULL DEFAULT 3 CHECK (max_active_runs BETWEEN 1 AND 1000),
    expired_limit      integer NOT NULL DEFAULT 0 CHECK (expired_limit BETWEEN 0 AND 100000),
    parallelism        integer NOT NULL DEFAULT 1 CHECK (parallelism BETWEEN 1 AND 1000),
    alert_status       varchar(200) NOT NULL DEFAULT 'queued,running,succeeded,failed,cancelled',
    alert_user         varchar(500) NOT NULL DEFAULT '',
    parameter          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(parameter) = 'object'),
    created_on         timestamptz NOT NULL DEFAULT now(),
    changed_on         timestamptz NOT NULL DEFAULT now(),
    created_by_fk      bigint REFERENCES users (id) ON DELETE SET NULL,
    changed_by_fk      bigint REFERENCES users (id) ON DELETE SET NULL,
    UNIQUE (project_id, name)
);
CREATE INDEX pipeline_name_trgm ON pipeline USING gin (name gin_trgm_ops);

CREATE TABLE task (
    id              bigserial PRIMARY KEY,
    pipeline_id     bigint NOT NULL REFERENCES pipeline (id) ON DELETE CASCADE,
    name            varchar(54) NOT NULL CHECK (name ~ '^[a-z][a-z0-9-]*[a-z0-9]$'),
    label           varchar(200) NOT NULL DEFAULT '',
    job_template_id bigint NOT NULL REFERENCES job_template (id) ON DELETE RESTRICT,
    args            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(args) = 'object'),
    command         text NOT NULL DEFAULT '',
    working_dir     varchar(500) NOT NULL DEFAULT '',
    volume_mount    varchar(2000) NOT NULL DEFAULT '',
    node_selector   varchar(500) NOT NULL DEFAULT '',
    resource_cpu    varchar(50) NOT NULL DEFAULT '1',
    resource_memory varchar(50) NOT NULL DEFAULT '2G',
    resource_gpu    varchar(50) NOT NULL DEFAULT '0',
    timeout         integer NOT NULL DEFAULT 0 CHECK (timeout >= 0),
    retry           integer NOT NULL DEFAULT 0 CHECK (retry BETWEEN 0 AND 100),
    skip            boolean NOT NULL DEFAULT false,
    expand          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(expand) = 'object'),
    created_on      timestamptz NOT NULL DEFAULT now(),
    changed_on      timestamptz NOT NULL DEFAULT now(),
    created_by_fk   bigint REFERENCES users (id) ON DELETE SET NULL,
    changed_by_fk   bigint REFERENCES users (id) ON DELETE SET NULL,
    UNIQUE (pipeline_id, name)
);
CREATE INDEX task_template ON task (job_template_id);

-- Built-in job templates, in a template category of their own.  Each one runs as it stands
-- with the local executor; an empty image means "on the host".
INSERT INTO project (name, describe, type, expand)
VALUES ('base-commands', 'Basic commands: shell, Python, control flow, distributed jobs',
        'job-template', '{"index": 1}');

INSERT INTO job_template (project_id, name, describe, args, demo, expand)
SELECT p.id, t.name, t.describe, t.args::jsonb, t.demo::jsonb, t.expand::jsonb
FROM project p, (VALUES
  ('customize', 'Run a shell command (bash -c) in any image, or on the host',
   '{"Shell": {"command": {"type": "text", "label": "Command", "require": 1, "describe": "run with bash -c"},
               "images": {"type": "str", "label": "Image", "require": 0, "default": "", "describe": "container image; empty runs on the host"},
               "workdir": {"type": "str", "label": "Working directory", "require": 0, "default": ""}}}',
   '{"command": "echo hello from {{pipeline_name}} at {{execution_date}}"}',
   '{"index": 1, "help_url": ""}'),
  ('python', 'Run Python code (python3 -c)',
   '{"Python": {"code": {"type": "text", "label": "Code", "require": 1, "describe": "Python 3 source"}}}',
   '{"code": "print(\"hello\")"}',
   '{"index": 2, "help_url": ""}'),
  ('shell-script', 'Run a bash script body with errexit, nounset and pipefail',
   '{"Script": {"script": {"type": "text", "label": "Script", "require": 1, "describe": "the body of a bash script"}}}',
   '{"script": "set -x\nuname -a"}',
   '{"index": 3, "help_url": ""}'),
  ('logical', 'A no-op node: joins branches of a pipeline',
   '{}',
   '{}',
   '{"index": 4, "help_url": ""}'),
  ('distributed', 'N workers of one command with MASTER_ADDR, MASTER_PORT, WORLD_SIZE and RANK set (PyTorch/Horovod style)',
   '{"Distributed": {"command": {"type": "text", "label": "Command", "require": 1, "describe": "run by every worker with bash -c"},
                     "num_workers": {"type": "int", "label": "Workers", "require": 0, "default": 2, "range": "1,64"},
                     "master_port": {"type": "int", "label": "Rendezvous port", "require": 0, "default": 29500, "range": "1024,65535"}}}',
   '{"command": "echo rank $RANK of $WORLD_SIZE, master $MASTER_ADDR:$MASTER_PORT", "num_workers": 2}',
   '{"index": 5, "help_url": ""}')
) AS t(name, describe, args, demo, expand)
WHERE p.name = 'base-commands';
