-- 0003_runs: runs of pipelines, their task instances and attempts, the audit of state changes,
-- the notification outbox, in-app notifications and webhooks.
-- The state machine and the crash-safety rules these tables carry are in fcgi/sched/README.md.

ALTER TABLE pipeline
    ADD COLUMN paused      boolean NOT NULL DEFAULT false,
    ADD COLUMN last_tick   timestamptz,          -- newest cron tick materialised into a run
    ADD COLUMN next_tick   timestamptz,          -- first tick after last_tick (NULL: compute)
    ADD COLUMN run_timeout integer NOT NULL DEFAULT 0 CHECK (run_timeout >= 0);
CREATE INDEX pipeline_due ON pipeline (next_tick) WHERE schedule_type = 'crontab' AND NOT paused;

CREATE TABLE run (
    id               bigserial PRIMARY KEY,
    pipeline_id      bigint NOT NULL REFERENCES pipeline (id) ON DELETE CASCADE,
    trigger          text NOT NULL CHECK (trigger IN ('cron', 'manual', 'backfill', 'task')),
    cron_tick        timestamptz,                -- NULL for manual runs: NULLs never conflict
    execution_date   timestamptz NOT NULL DEFAULT now(),
    state            text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelling',
                                      'cancelled', 'skipped')),
    cancel_requested boolean NOT NULL DEFAULT false,
    dag_snapshot     jsonb NOT NULL,             -- tasks, upstreams and rendered specs at creation
    parallelism      integer NOT NULL DEFAULT 1,
    alert_status     text NOT NULL DEFAULT '',
    alert_user       text NOT NULL DEFAULT '',
    reason           text NOT NULL DEFAULT '',
    created_by_fk    bigint REFERENCES users (id) ON DELETE SET NULL,
    queued_at        timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    UNIQUE (pipeline_id, cron_tick)
);
CREATE INDEX run_pipeline ON run (pipeline_id, id);
CREATE INDEX run_active ON run (state) WHERE state IN ('queued', 'running', 'cancelling');

CREATE TABLE task_instance (
    id            bigserial PRIMARY KEY,
    run_id        bigint NOT NULL REFERENCES run (id) ON DELETE CASCADE,
    task_key      text NOT NULL,                 -- the task's name in the snapshot
    task_id       bigint,                        -- the task row it came from (may be gone)
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'scheduled', 'submitting', 'running', 'up_for_retry',
                                   'succeeded', 'failed', 'upstream_failed', 'skipped',
                                   'cancelled')),
    try_number    integer NOT NULL DEFAULT 0,
    max_tries     integer NOT NULL DEFAULT 1,
    next_retry_at timestamptz,
    executor      text NOT NULL DEFAULT 'local',
    external_name text,
    heartbeat_at  timestamptz,
    scheduled_at  timestamptz,
    started_at    timestamptz,
    finished_at   timestamptz,
    exit_code     integer,
    reason        text NOT NULL DEFAULT '',
    peak_rss_kb   bigint,
    cpu_seconds   double precision,
    UNIQUE (run_id, task_key)
);
CREATE INDEX task_instance_active ON task_instance (state)
    WHERE state IN ('pending', 'scheduled', 'submitting', 'running', 'up_for_retry');

CREATE TABLE task_attempt (
    task_instance_id bigint NOT NULL REFERENCES task_instance (id) ON DELETE CASCADE,
    try_number       integer NOT NULL,
    external_name    text NOT NULL UNIQUE,
    state            text NOT NULL,
    exit_code        integer,
    reason           text NOT NULL DEFAULT '',
    started_at       timestamptz,
    finished_at      timestamptz,
    peak_rss_kb      bigint,
    cpu_seconds      double precision,
    PRIMARY KEY (task_instance_id, try_number)
);

CREATE TABLE state_change (
    id         bigserial PRIMARY KEY,
    entity     text NOT NULL CHECK (entity IN ('run', 'task_instance')),
    entity_id  bigint NOT NULL,
    from_state text,
    to_state   text NOT NULL,
    reason     text NOT NULL DEFAULT '',
    actor      text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX state_change_entity ON state_change (entity, entity_id);

-- One row per (run, state) at most: alerts go out exactly once per run and state.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    run_id          bigint NOT NULL REFERENCES run (id) ON DELETE CASCADE,
    kind            text NOT NULL DEFAULT 'run_state',
    state           text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (run_id, kind, state)
);
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL;

CREATE TABLE notification (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    outbox_id  bigint REFERENCES outbox (id) ON DELETE SET NULL,
    run_id     bigint,
    title      text NOT NULL,
    body       text NOT NULL DEFAULT '',
    read       boolean NOT NULL DEFAULT false,
    created_on timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, outbox_id)
);
CREATE INDEX notification_user ON notification (user_id, id);

CREATE TABLE webhook (
    id            bigserial PRIMARY KEY,
    project_id    bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    name          varchar(100) NOT NULL DEFAULT '',
    url           varchar(2000) NOT NULL CHECK (url ~ '^https?://'),
    secret        text NOT NULL DEFAULT '',       -- sealed with CUBE_SECRET_KEY
    events        varchar(200) NOT NULL DEFAULT 'succeeded,failed,cancelled',
    active        boolean NOT NULL DEFAULT true,
    created_on    timestamptz NOT NULL DEFAULT now(),
    changed_on    timestamptz NOT NULL DEFAULT now(),
    created_by_fk bigint REFERENCES users (id) ON DELETE SET NULL,
    changed_by_fk bigint REFERENCES users (id) ON DELETE SET NULL
);

CREATE TABLE webhook_delivery (
    id              bigserial PRIMARY KEY,
    webhook_id      bigint NOT NULL REFERENCES webhook (id) ON DELETE CASCADE,
    outbox_id       bigint NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    attempts        integer NOT NULL DEFAULT 0,
    status          integer,                       -- last HTTP status, NULL: no answer
    error           text NOT NULL DEFAULT '',
    delivered       boolean NOT NULL DEFAULT false,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_on      timestamptz NOT NULL DEFAULT now(),
    changed_on      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (webhook_id, outbox_id)
);
CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at) WHERE NOT delivered;
