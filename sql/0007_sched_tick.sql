-- 0007_sched_tick: indexes for a scheduler tick over thousands of due cron pipelines
-- (fcgi/sched/tick.c; tests/bench/sched_bench.sh, target (d)).

-- The claim of a batch of due pipelines walks this index in its order and stops after the
-- batch, or at the first pipeline that is not due: the bound is an index condition, with
-- "next_tick IS NULL" (re-plan at the next pass) ordered first as -infinity.  pipeline_due
-- could not bound the scan (IS NULL OR <=) nor give the order, so every claim read and
-- sorted every crontab pipeline.
CREATE INDEX pipeline_due_at ON pipeline ((coalesce(next_tick, '-infinity'::timestamptz)), id)
    WHERE schedule_type = 'crontab' AND NOT paused;
DROP INDEX pipeline_due;

-- UNIQUE (pipeline_id, cron_tick) indexes the same columns already; the partial copy only
-- made every run insert pay for a second index.
DROP INDEX run_pipeline_tick;
