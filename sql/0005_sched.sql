-- 0005_sched: what the scheduler and watcher read on every pass, kept out of the run's
-- snapshot, and indexes for their queries (fcgi/sched/README.md).

-- A task instance's scheduling facts, copied from the run's snapshot when the run is created:
-- readiness and timeouts then never parse the snapshot (hundreds of kB for a large pipeline)
-- once per task and pass.
-- spec is the task's entry of the snapshot, what dispatch hands the executor.
ALTER TABLE task_instance
    ADD COLUMN spec      jsonb   NOT NULL DEFAULT '{}',
    ADD COLUMN upstream  text[]  NOT NULL DEFAULT '{}',
    ADD COLUMN skip      boolean NOT NULL DEFAULT false,
    ADD COLUMN retries   integer NOT NULL DEFAULT 0 CHECK (retries >= 0),
    ADD COLUMN timeout_s integer NOT NULL DEFAULT 0 CHECK (timeout_s >= 0);

-- Resource suggestions read a task's recent attempts (sched_task_suggestion).
CREATE INDEX task_instance_task ON task_instance (task_id);
-- Retention (housekeeping) looks for runs finished long ago.
CREATE INDEX run_finished ON run (finished_at) WHERE finished_at IS NOT NULL;
-- depends_on_past and expired_limit look at a pipeline's runs by tick.
CREATE INDEX run_pipeline_tick ON run (pipeline_id, cron_tick) WHERE cron_tick IS NOT NULL;
-- The delivery log of a webhook.
CREATE INDEX webhook_delivery_webhook ON webhook_delivery (webhook_id, id);
