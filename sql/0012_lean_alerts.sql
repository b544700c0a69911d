-- 0012_lean_alerts: less to write per run transition, for a scheduler tick over thousands of
-- due cron pipelines (fcgi/sched/README.md, "Cost"; tests/bench/sched_bench.sh, target (d)).
-- Nothing here changes what the API shows, what an alert says, or what a delete removes.

-- 1. An alert records what only the moment of the transition knows (its state, the state
-- before, the reason, the time); the rest of its payload (pipeline, project, trigger, ticks)
-- is read when the watcher first delivers it and is stored then, so a webhook's retries send
-- the same bytes (fcgi/sched/notify.c).  Building it in every transition joined the pipeline
-- table and cost a sixth of a tick's insert.  Rows written before this migration keep their
-- payload.
ALTER TABLE outbox ADD COLUMN from_state text,
    ADD COLUMN reason text NOT NULL DEFAULT '',
    ALTER COLUMN payload DROP NOT NULL;
UPDATE outbox SET reason = coalesce(payload->>'reason', '');

-- 2. Two foreign keys that every writer satisfies by construction, checked once per row (a
-- fifth of a tick's insert): an outbox row is inserted only by the statement that inserts or
-- updates its run, and a run only while its pipeline is locked (the tick's claim is FOR
-- UPDATE; a run from the API reads its pipeline FOR KEY SHARE, fcgi/sched/sched.c).  The
-- deletes they cascaded are made by statement triggers, once per statement.
ALTER TABLE outbox DROP CONSTRAINT outbox_run_id_fkey;
ALTER TABLE run DROP CONSTRAINT run_pipeline_id_fkey;

-- delete_children(table, column): deletes the rows of `table` whose `column` names a deleted
-- row's id; the two names come from the trigger definitions below, never from a client.
CREATE FUNCTION delete_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DELETE FROM %I WHERE %I IN (SELECT id FROM gone)', TG_ARGV[0], TG_ARGV[1]);
    RETURN NULL;
END
$$;
CREATE TRIGGER run_deleted AFTER DELETE ON run REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION delete_children('outbox', 'run_id');
CREATE TRIGGER pipeline_deleted AFTER DELETE ON pipeline REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION delete_children('run', 'pipeline_id');
