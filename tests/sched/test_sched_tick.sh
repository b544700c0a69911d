#!/usr/bin/env bash
# One tick over a batch of cron pipelines, some of which cannot run: the scheduler loads the
# whole batch with one query and renders every run before one insert, so a pipeline whose
# snapshot fails (a cycle, no tasks, a task that does not render, a malformed global_env) must
# not hold up the others.  Each broken pipeline gets a `failed` run for the tick with the reason,
# the good ones get their runs, all in the same pass, and every schedule moves on.
set -uo pipefail
# shellcheck source=tests/sched/lib.sh
. "$(dirname "$0")/lib.sh"

daemons_start
align_minute
T0=$(q "SELECT date_trunc('minute', $(snow))")
cron() { # NAME DAG [COLUMN=VALUE ...]: a paused every-minute pipeline, one tick due at T0
    local name=$1 dag=$2
    shift 2
    mkpipe "$name" "$dag" schedule_type="'crontab'" cron_time="'* * * * *'" paused=true \
        "last_tick='$T0'::timestamptz - interval '1 minute'" "$@"
}

GOOD1=$(cron good-one '{}')
mktask "$GOOD1" only 'echo "one run=$KFJ_RUN_ID date=$KFJ_EXECUTION_DATE pipeline=$KFJ_PIPELINE_ID task=$KFJ_TASK_NAME by=$KFJ_RUNNER"' >/dev/null
CYCLE=$(cron cycle '{"up": {"upstream": ["down"]}, "down": {"upstream": ["up"]}}')
mktask "$CYCLE" up 'true' >/dev/null
mktask "$CYCLE" down 'true' >/dev/null
EMPTY=$(cron empty '{}')
RENDER=$(cron render '{}')
# The customize template requires a command: an empty one does not render.
mktask "$RENDER" first 'true' >/dev/null
mktask "$RENDER" second '' >/dev/null
GENV=$(cron genv '{}' "global_env='no equals sign here'")
mktask "$GENV" only 'true' >/dev/null
GOOD2=$(cron good-two '{"down": {"upstream": ["up"]}}')
mktask "$GOOD2" up 'echo up' >/dev/null
mktask "$GOOD2" down 'echo down' >/dev/null
ALL="$GOOD1, $CYCLE, $EMPTY, $RENDER, $GENV, $GOOD2"
BROKEN="$CYCLE, $EMPTY, $RENDER, $GENV"

# One statement unpauses them all: the next pass claims them together.
q "UPDATE pipeline SET paused = false WHERE id IN ($ALL)" >/dev/null
expect "every pipeline of the batch gets exactly one run for the tick" 20 \
    "SELECT count(*) || ':' || count(DISTINCT pipeline_id) || ':' || bool_and(cron_tick = '$T0') FROM run WHERE pipeline_id IN ($ALL)" \
    "6:6:true"
# Paused again, so a slow check below never meets another tick.
q "UPDATE pipeline SET paused = true WHERE id IN ($ALL)" >/dev/null
same "the four that cannot run have a failed run each" \
    "$(q "SELECT string_agg(state, ',') FROM run WHERE pipeline_id IN ($BROKEN)")" \
    "failed,failed,failed,failed"
same "naming a cycle" \
    "$(q "SELECT reason FROM run WHERE pipeline_id = $CYCLE")" "cannot run: dag_json: cycle down -> up -> down"
same "naming a pipeline without tasks" \
    "$(q "SELECT reason FROM run WHERE pipeline_id = $EMPTY")" "cannot run: the pipeline has no tasks"
same "naming the task that does not render" \
    "$(q "SELECT reason LIKE 'cannot run: task second: %' FROM run WHERE pipeline_id = $RENDER")" t
same "naming the malformed global_env" \
    "$(q "SELECT reason LIKE 'cannot run: task only: %global_env%' FROM run WHERE pipeline_id = $GENV")" t
same "a failed record has no tasks and is finished" \
    "$(q "SELECT count(*) FILTER (WHERE finished_at IS NOT NULL AND dag_snapshot = '{}') || ':' || (SELECT count(*) FROM task_instance ti JOIN run r ON r.id = ti.run_id WHERE r.pipeline_id IN ($BROKEN)) FROM run WHERE pipeline_id IN ($BROKEN)")" \
    "4:0"
expect "the two good ones run to success beside them" 30 \
    "SELECT string_agg(state, ',') FROM run WHERE pipeline_id IN ($GOOD1, $GOOD2)" "succeeded,succeeded"
same "all six runs were made by one pass (one clock)" \
    "$(q "SELECT count(DISTINCT sc.at) FROM run r JOIN state_change sc ON sc.entity = 'run' AND sc.entity_id = r.id AND sc.from_state IS NULL WHERE r.pipeline_id IN ($ALL)")" 1
same "each run's creation is audited once" \
    "$(q "SELECT count(*) FROM run r JOIN state_change sc ON sc.entity = 'run' AND sc.entity_id = r.id AND sc.from_state IS NULL WHERE r.pipeline_id IN ($ALL)")" 6
same "and alerted (queued for the good, failed for the broken)" \
    "$(q "SELECT string_agg(o.state, ',' ORDER BY o.state) FROM outbox o JOIN run r ON r.id = o.run_id WHERE r.pipeline_id IN ($ALL) AND o.state IN ('queued', 'failed')")" \
    "failed,failed,failed,failed,queued,queued"
same "every schedule moved on in the same transaction" \
    "$(q "SELECT count(*) FROM pipeline_tick WHERE pipeline_id IN ($ALL) AND last_tick = '$T0' AND next_tick = '$T0'::timestamptz + interval '1 minute'")" 6
same "the good runs' snapshots were rendered for their own pipeline, without the KFJ_ block" \
    "$(q "SELECT string_agg(((dag_snapshot->'pipeline'->>'id')::bigint = pipeline_id AND NOT EXISTS (SELECT FROM jsonb_each(dag_snapshot->'tasks') t, jsonb_array_elements_text(t.value->'env') e WHERE e LIKE 'KFJ\\_%'))::text, ',') FROM run WHERE pipeline_id IN ($GOOD1, $GOOD2)")" \
    "true,true"
# The block is made when the attempt starts, from the snapshot and the run: its own run and tick.
R1=$(q "SELECT id FROM run WHERE pipeline_id = $GOOD1")
TI1=$(ti_of "$R1" only)
check "the task saw its run, tick, pipeline, name and runner in KFJ_ variables" \
    grep -qx "one run=$R1 date=$(q "SELECT to_char('$T0'::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')") pipeline=$GOOD1 task=only by=$(q "SELECT u.username FROM pipeline p JOIN users u ON u.id = p.created_by_fk WHERE p.id = $GOOD1")" \
    "$VAR/attempts/cube-r$R1-t$TI1-a1/log"

# The next tick: the broken ones fail again, the good ones run again; nobody is stuck.
align_minute
T1=$(q "SELECT date_trunc('minute', $(snow))")
q "UPDATE pipeline_tick SET last_tick = '$T1'::timestamptz - interval '1 minute' WHERE pipeline_id IN ($ALL);
   UPDATE pipeline SET paused = false WHERE id IN ($ALL)" >/dev/null
expect "the next tick: each pipeline has its second run" 20 \
    "SELECT count(*) FROM run WHERE pipeline_id IN ($ALL) AND cron_tick = '$T1'" 6
q "UPDATE pipeline SET paused = true WHERE id IN ($ALL)" >/dev/null
same "the broken ones fail again, by their own reason" \
    "$(q "SELECT count(*) FROM run WHERE pipeline_id IN ($BROKEN) AND state = 'failed' AND reason LIKE 'cannot run: %'")" 8
expect "the good ones succeed again" 30 \
    "SELECT count(*) FROM run WHERE pipeline_id IN ($GOOD1, $GOOD2) AND state = 'succeeded'" 4

sched_finish sched_tick
