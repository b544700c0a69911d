-- 0013_pipeline_tick: a pipeline's place in its cron series in a narrow table of its own
-- (fcgi/sched/tick.c; tests/bench/sched_bench.sh, target (d)).
--
-- A scheduler tick moves last_tick/next_tick of every due pipeline.  On the pipeline row each
-- move wrote a new copy of the whole row (name, description, DAG, settings) and a new entry in
-- every index of the table, the name's trigram index included, because next_tick is indexed
-- for the claim: about a fifth of a tick over 10,000 pipelines.  Here a move writes 40 bytes
-- and two b-tree entries.
--
-- The rows are kept by triggers on pipeline, so every writer (the API, imports, tests, psql)
-- gets them without knowing: one per pipeline, `scheduled` mirroring "crontab and not paused",
-- and the series re-anchored (both ticks NULL) when the schedule itself changes.
CREATE TABLE pipeline_tick (
    pipeline_id bigint PRIMARY KEY REFERENCES pipeline (id) ON DELETE CASCADE,
    scheduled   boolean NOT NULL,     -- schedule_type = 'crontab' AND NOT paused
    last_tick   timestamptz,          -- newest cron tick materialised into a run
    next_tick   timestamptz           -- first tick after last_tick (NULL: compute)
);
INSERT INTO pipeline_tick (pipeline_id, scheduled, last_tick, next_tick)
    SELECT id, schedule_type = 'crontab' AND NOT paused, last_tick, next_tick FROM pipeline;

-- The claim walks this in due order and stops after its batch or at the first pipeline that is
-- not due (as pipeline_due_at did, 0007).
CREATE INDEX pipeline_tick_due ON pipeline_tick ((coalesce(next_tick, '-infinity'::timestamptz)),
    pipeline_id) WHERE scheduled;
DROP INDEX pipeline_due_at;
ALTER TABLE pipeline DROP COLUMN last_tick, DROP COLUMN next_tick;

CREATE FUNCTION pipeline_tick_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pipeline_tick (pipeline_id, scheduled)
        SELECT id, schedule_type = 'crontab' AND NOT paused FROM born;
    RETURN NULL;
END
$$;

-- A schedule that changed starts a new series from cronjob_start_time (or the moment the
-- scheduler first sees it) instead of resuming the old one; pausing and resuming keep it.
CREATE FUNCTION pipeline_tick_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE pipeline_tick t
       SET scheduled = n.schedule_type = 'crontab' AND NOT n.paused,
           last_tick = CASE WHEN anchor_moved THEN NULL ELSE t.last_tick END,
           next_tick = CASE WHEN anchor_moved THEN NULL ELSE t.next_tick END
      FROM now_ n JOIN was o ON o.id = n.id,
           LATERAL (SELECT (n.schedule_type, n.cron_time, n.timezone, n.cronjob_start_time)
                    IS DISTINCT FROM (o.schedule_type, o.cron_time, o.timezone,
                                      o.cronjob_start_time) AS anchor_moved) m
     WHERE t.pipeline_id = n.id
       AND (anchor_moved OR t.scheduled IS DISTINCT FROM (n.schedule_type = 'crontab' AND NOT n.paused));
    RETURN NULL;
END
$$;

CREATE TRIGGER pipeline_tick_insert AFTER INSERT ON pipeline REFERENCING NEW TABLE AS born
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline_tick_insert();
CREATE TRIGGER pipeline_tick_update AFTER UPDATE ON pipeline
    REFERENCING OLD TABLE AS was NEW TABLE AS now_
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline_tick_update();
