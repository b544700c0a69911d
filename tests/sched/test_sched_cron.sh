#!/usr/bin/env bash
# Cron on the test stack, with the clock shifted instead of waited for: ticks become runs
# exactly once across a SIGKILLed scheduler and with two schedulers running (leadership,
# takeover), the catch-up cap, expired_limit (older ticks skipped and recorded; queued runs
# superseded), depends_on_past, max_active_runs, task instances made at admission, and backfill.
set -uo pipefail
# shellcheck source=tests/sched/lib.sh
. "$(dirname "$0")/lib.sh"

daemons_start
minute() {
    align_minute
    q "SELECT date_trunc('minute', $(snow))"
}
runs_of() { q "SELECT count(*) FROM run WHERE pipeline_id = $1 AND trigger = 'cron' AND state <> 'skipped'"; }

# --- a tick becomes one run: restart, two schedulers, takeover ---------------------------------
P=$(mkpipe cron "{}" schedule_type="'crontab'" cron_time="'* * * * *'" paused=true)
mktask "$P" tt 'true' >/dev/null
T0=$(minute)
q "UPDATE pipeline_tick SET last_tick = '$T0'::timestamptz - interval '2 minutes' WHERE pipeline_id = $P;
   UPDATE pipeline SET paused = false WHERE id = $P" >/dev/null
expect "the two due minute ticks become two runs" 15 \
    "SELECT count(*) || ':' || count(DISTINCT cron_tick) FROM run WHERE pipeline_id = $P" "2:2"
same "the ticks are the due minutes" \
    "$(q "SELECT string_agg(to_char(cron_tick - '$T0'::timestamptz, 'MI'), ',' ORDER BY cron_tick) FROM run WHERE pipeline_id = $P")" \
    "-01,00"
same "last_tick and next_tick advanced in the same transaction" \
    "$(q "SELECT last_tick = '$T0' AND next_tick = '$T0'::timestamptz + interval '1 minute' FROM pipeline_tick WHERE pipeline_id = $P")" t
daemon_stop cube-scheduler KILL
mark=$(wc -c <"$LOGDIR/cube-scheduler.log")
daemon_start cube-scheduler
for ((i = 0; i < 100; i++)); do
    tail -c +$((mark + 1)) "$LOGDIR/cube-scheduler.log" | grep -q '"msg":"scheduler: leading"' && break
    sleep 0.1
done
# A second scheduler beside the one that leads: it stands by.
as_user setsid -f sh -c 'echo $$ >"$0"; exec "$@"' "$T/second.pid" env -i "${DENV[@]}" "${TEST_ENV[@]}" \
    "$BUILD/bin/cube-scheduler" </dev/null >"$T/second.log" 2>&1
sleep 1
clock_shift 60
expect "after a restart and with two schedulers, the next tick is one more run" 15 \
    "SELECT count(*) || ':' || count(DISTINCT cron_tick) FROM run WHERE pipeline_id = $P" "3:3"
check "the second scheduler stands by" grep -q "standing by" "$T/second.log"
check "the second scheduler made no run" bash -c "! grep -q 'tick:' '$T/second.log'"
daemon_stop cube-scheduler KILL
sleep 1.5
clock_shift 60
expect "the second takes over when the leader is SIGKILLed: one run per tick" 15 \
    "SELECT count(*) || ':' || count(DISTINCT cron_tick) FROM run WHERE pipeline_id = $P" "4:4"
check "the second scheduler took the lock" grep -q "took the leader lock" "$T/second.log"
q "UPDATE pipeline SET paused = true WHERE id = $P" >/dev/null
expect "every run of the ticks succeeds" 20 \
    "SELECT count(*) FILTER (WHERE state = 'succeeded') FROM run WHERE pipeline_id = $P" 4
kill -TERM "$(cat "$T/second.pid")"
for ((i = 0; i < 50; i++)); do alive "$(cat "$T/second.pid")" || break; sleep 0.1; done

# --- catch-up cap and expired_limit ------------------------------------------------------------
daemon_start cube-scheduler CUBE_CATCHUP_MAX=5
T0=$(minute)
P=$(mkpipe catchup "{}" schedule_type="'crontab'" cron_time="'* * * * *'" max_active_runs=5 \
    paused=true "last_tick='$T0'::timestamptz - interval '60 minutes'")
mktask "$P" tt 'true' >/dev/null
q "UPDATE pipeline SET paused = false WHERE id = $P" >/dev/null
expect "after an hour down, only the newest CUBE_CATCHUP_MAX (5) ticks run" 15 "SELECT count(*) FROM run WHERE pipeline_id = $P AND state <> 'skipped'" 5
same "they are the newest five minutes" \
    "$(q "SELECT min(cron_tick) = '$T0'::timestamptz - interval '4 minutes' AND max(cron_tick) = '$T0' FROM run WHERE pipeline_id = $P AND state <> 'skipped'")" t
same "one skipped run records the 55 older ticks" \
    "$(q "SELECT count(*) || ' ' || min(reason) FROM run WHERE pipeline_id = $P AND state = 'skipped'")" \
    "1 catch-up limit 5: 55 older due ticks skipped, from $(q "SELECT to_char(('$T0'::timestamptz - interval '59 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") to $(q "SELECT to_char(('$T0'::timestamptz - interval '5 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")"
q "UPDATE pipeline SET paused = true WHERE id = $P" >/dev/null

T5=$(q "SELECT to_timestamp(floor(extract(epoch FROM $(snow)) / 300) * 300)")
P=$(mkpipe expired "{}" schedule_type="'crontab'" cron_time="'*/5 * * * *'" expired_limit=1 \
    paused=true "last_tick='$T5'::timestamptz - interval '30 minutes'")
mktask "$P" tt 'true' >/dev/null
q "UPDATE pipeline SET paused = false WHERE id = $P" >/dev/null
expect "expired_limit 1: of six due ticks only the newest runs" 15 \
    "SELECT count(*) || ':' || (max(cron_tick) FILTER (WHERE state <> 'skipped') = '$T5') FROM run WHERE pipeline_id = $P" "2:true"
same "and the five older are recorded as skipped" \
    "$(q "SELECT substr(reason, 1, 47) FROM run WHERE pipeline_id = $P AND state = 'skipped'")" \
    "expired_limit 1: 5 older due ticks skipped, fro"
clock_shift 900
expect "fifteen minutes later (shifted clock): one run for the newest, two skipped" 15 \
    "SELECT count(*) FILTER (WHERE state <> 'skipped') || ':' || count(*) FILTER (WHERE state = 'skipped') FROM run WHERE pipeline_id = $P" "2:2"
same "the skipped record names 2 ticks" \
    "$(q "SELECT substr(reason, 1, 42) FROM run WHERE pipeline_id = $P AND state = 'skipped' ORDER BY id DESC LIMIT 1")" \
    "expired_limit 1: 2 older due ticks skipped"
q "UPDATE pipeline SET paused = true WHERE id = $P" >/dev/null

# Queued runs superseded: one runs long under max_active_runs 1, the next two ticks queue.
T0=$(minute)
P=$(mkpipe supersede "{}" schedule_type="'crontab'" cron_time="'* * * * *'" expired_limit=1 \
    max_active_runs=1 paused=true "last_tick='$T0'::timestamptz - interval '1 minute'")
mktask "$P" tt 'sleep 30' >/dev/null
q "UPDATE pipeline SET paused = false WHERE id = $P" >/dev/null
expect "the first tick runs" 15 "SELECT string_agg(state, ',') FROM run WHERE pipeline_id = $P" running
clock_shift 60
expect "the next tick queues behind max_active_runs 1" 15 \
    "SELECT string_agg(state, ',' ORDER BY cron_tick) FROM run WHERE pipeline_id = $P" "running,queued"
clock_shift 60
expect "a newer tick supersedes the queued one (expired_limit 1)" 15 \
    "SELECT string_agg(state, ',' ORDER BY cron_tick) FROM run WHERE pipeline_id = $P" "running,skipped,queued"
same "with the reason" \
    "$(q "SELECT reason FROM run WHERE pipeline_id = $P AND state = 'skipped'")" \
    "superseded: only the newest 1 ticks run (expired_limit)"
q "UPDATE pipeline SET paused = true WHERE id = $P" >/dev/null
for r in $(q "SELECT id FROM run WHERE pipeline_id = $P AND state IN ('running', 'queued')"); do
    sched_cmd cancel "$r" >/dev/null
done
expect "cancelled" 15 "SELECT count(*) FROM run WHERE pipeline_id = $P AND state IN ('running', 'queued', 'cancelling')" 0

# --- depends_on_past ----------------------------------------------------------------------------
T0=$(minute)
P=$(mkpipe dop "{}" schedule_type="'crontab'" cron_time="'* * * * *'" depends_on_past=true \
    paused=true "last_tick='$T0'::timestamptz - interval '2 minutes'")
mktask "$P" tt "test -e $T/dop-ok" >/dev/null
q "UPDATE pipeline SET paused = false WHERE id = $P" >/dev/null
expect "depends_on_past: the first tick runs and fails, the next waits" 20 \
    "SELECT string_agg(state, ',' ORDER BY cron_tick) FROM run WHERE pipeline_id = $P" "failed,queued"
expect "the waiting run says what it waits for" 10 \
    "SELECT reason LIKE 'depends_on_past: waiting for the run of % (failed) to succeed' FROM run WHERE pipeline_id = $P AND state = 'queued'" t
q "UPDATE pipeline SET paused = true WHERE id = $P" >/dev/null
touch "$T/dop-ok"
sched_cmd rerun "$(q "SELECT id FROM run WHERE pipeline_id = $P AND state = 'failed'")" >/dev/null
expect "once the previous tick succeeds (re-run), the next one runs" 20 \
    "SELECT string_agg(state, ',' ORDER BY cron_tick) FROM run WHERE pipeline_id = $P" "succeeded,succeeded"
same "and it started after the previous one finished" \
    "$(q "SELECT (array_agg(started_at ORDER BY cron_tick))[2] >= (array_agg(finished_at ORDER BY cron_tick))[1] FROM run WHERE pipeline_id = $P")" t

# --- max_active_runs ------------------------------------------------------------------------------
P=$(mkpipe mar "{}" max_active_runs=1)
mktask "$P" tt 'sleep 0.4' >/dev/null
for i in 1 2 3; do run_of "$P" >/dev/null; done
expect "three manual runs under max_active_runs 1 all succeed" 20 \
    "SELECT count(*) FILTER (WHERE state = 'succeeded') FROM run WHERE pipeline_id = $P" 3
same "one after the other: no two overlap" \
    "$(q "SELECT count(*) FROM run a JOIN run b ON a.pipeline_id = b.pipeline_id AND a.id < b.id AND a.started_at < b.finished_at AND b.started_at < a.finished_at WHERE a.pipeline_id = $P")" 0

# --- task instances are made at admission ------------------------------------------------------
P=$(mkpipe lazy '{"tb":{"upstream":["ta"]}}' max_active_runs=1)
mktask "$P" ta 'sleep 2' >/dev/null
mktask "$P" tb 'true' >/dev/null
R1=$(run_of "$P")
R2=$(run_of "$P")
R3=$(run_of "$P")
tis() { q "SELECT state || ':' || (SELECT count(*) FROM task_instance WHERE run_id = $1) FROM run WHERE id = $1"; }
expect "the admitted run has its two task instances" 10 \
    "SELECT state || ':' || (SELECT count(*) FROM task_instance WHERE run_id = $R1) FROM run WHERE id = $R1" \
    "running:2"
same "a run queued behind max_active_runs 1 has none yet" "$(tis "$R2")" "queued:0"
sched_cmd cancel "$R3" >/dev/null
same "cancelled while queued, a run never gets any" "$(tis "$R3")" "cancelled:0"
same "and it can be re-run" "$(sched_cmd rerun "$R3")" '{}'
expect "all three runs succeed, one after the other" 30 \
    "SELECT string_agg(state, ',' ORDER BY id) FROM run WHERE pipeline_id = $P" \
    "succeeded,succeeded,succeeded"
same "the re-run ran both tasks of its snapshot, once each" \
    "$(q "SELECT string_agg(task_key || ':' || state || ':' || try_number, ' ' ORDER BY task_key) FROM task_instance WHERE run_id = $R3")" \
    "ta:succeeded:1 tb:succeeded:1"
same "every run has its two task instances, no more" \
    "$(q "SELECT string_agg(n::text, ',' ORDER BY run_id) FROM (SELECT ti.run_id, count(*) n FROM task_instance ti JOIN run r ON r.id = ti.run_id WHERE r.pipeline_id = $P GROUP BY ti.run_id) s")" \
    "2,2,2"

# --- a pipeline's place in its series follows the pipeline (sql/0013's triggers) -------------------
# A series in the far future: never due, so the scheduler leaves the row alone while it is looked at.
P=$(mkpipe series "{}" schedule_type="'crontab'" cron_time="'0 3 * * *'" paused=true \
    "last_tick='2098-12-31 03:00Z'" "next_tick='2099-01-01 03:00Z'")
series() { q "SELECT scheduled || ' ' || coalesce(to_char(last_tick AT TIME ZONE 'UTC', 'MM-DD'), '-') || ' ' || coalesce(to_char(next_tick AT TIME ZONE 'UTC', 'MM-DD'), '-') FROM pipeline_tick WHERE pipeline_id = $P"; }
same "a paused crontab pipeline has its row, not scheduled" "$(series)" "false 12-31 01-01"
q "UPDATE pipeline SET paused = false WHERE id = $P" >/dev/null
same "resumed: scheduled, the series goes on" "$(series)" "true 12-31 01-01"
q "UPDATE pipeline SET cron_time = '0 3 * * *', timezone = 'UTC', describe = 'saved again' WHERE id = $P" >/dev/null
same "saved with the same schedule: the series goes on" "$(series)" "true 12-31 01-01"
q "UPDATE pipeline SET paused = true, cron_time = '0 4 * * *' WHERE id = $P" >/dev/null
same "another cron_time starts a new series" "$(series)" "false - -"
q "UPDATE pipeline_tick SET last_tick = '2098-12-31 03:00Z' WHERE pipeline_id = $P;
   UPDATE pipeline SET cronjob_start_time = '2026-01-01Z' WHERE id = $P" >/dev/null
same "so does another cronjob_start_time" "$(series)" "false - -"
q "UPDATE pipeline SET schedule_type = 'once', paused = false WHERE id = $P" >/dev/null
same "a pipeline run by hand is never scheduled" "$(series)" "false - -"
q "DELETE FROM pipeline WHERE id = $P" >/dev/null
same "deleted with its pipeline" "$(q "SELECT count(*) FROM pipeline_tick WHERE pipeline_id = $P")" 0

# --- backfill ---------------------------------------------------------------------------------------
P=$(mkpipe backfill "{}" cron_time="'0 * * * *'")
mktask "$P" tt 'true' >/dev/null
H=$(q "SELECT extract(epoch FROM date_trunc('hour', now()))::bigint")
out=$(sched_cmd backfill "$P" $((H - 4 * 3600)) "$H")
same "backfill makes a run per hourly tick in [from, to]" "$out" '{"created":5,"existing":0}'
same "again: nothing new" "$(sched_cmd backfill "$P" $((H - 4 * 3600)) "$H")" '{"created":0,"existing":5}'
expect "backfill runs succeed" 30 \
    "SELECT count(*) FILTER (WHERE state = 'succeeded' AND trigger = 'backfill') FROM run WHERE pipeline_id = $P" 5
out=$(sched_cmd backfill "$P" "$H" $((H - 1)))
same "a reversed range is refused" "$(sed -n 's/.*"error":"\([a-z]*\)".*/\1/p' <<<"$out")" unprocessable

sched_finish sched_cron
