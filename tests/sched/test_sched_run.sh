#!/usr/bin/env bash
# Runs end to end on the test stack: a DAG in order, retries with backoff then failure and
# upstream_failed, the skip flag, timeouts, cancel, parallelism, one task alone, rerun and
# clear, resource accounting and the suggestion, and the refusals (4xx-style exit codes).
set -uo pipefail
# shellcheck source=tests/sched/lib.sh
. "$(dirname "$0")/lib.sh"

daemons_start

# --- a 3-task chain succeeds, in order ---------------------------------------------------------
P=$(mkpipe chain '{"tb":{"upstream":["ta"]},"tc":{"upstream":["tb"]}}')
mktask "$P" ta 'echo hello-from-a; sleep 0.3' >/dev/null
mktask "$P" tb 'echo B; test "$KFJ_TASK_NAME" = tb' >/dev/null
TC=$(mktask "$P" tc 'echo C run=$KFJ_RUN_ID; head -c 3000000 /dev/zero | tail -c 1 >/dev/null')
R=$(run_of "$P")
check "a manual run is created" test -n "$R"
expect "the chain succeeds" 30 "SELECT state FROM run WHERE id = $R" succeeded
same "every task succeeded, one try each" \
    "$(q "SELECT string_agg(task_key || ':' || state || ':' || try_number, ' ' ORDER BY task_key) FROM task_instance WHERE run_id = $R")" \
    "ta:succeeded:1 tb:succeeded:1 tc:succeeded:1"
same "each task started after its upstream finished" \
    "$(q "SELECT bool_and(d.started_at >= u.finished_at) FROM task_instance u JOIN task_instance d ON d.run_id = u.run_id AND ((u.task_key, d.task_key) IN (('ta','tb'),('tb','tc'))) WHERE u.run_id = $R")" t
same "the run's recorded span holds its tasks'" \
    "$(q "SELECT r.started_at <= min(ti.started_at) AND r.finished_at >= max(ti.finished_at) FROM run r JOIN task_instance ti ON ti.run_id = r.id WHERE r.id = $R GROUP BY r.id")" t
TI=$(ti_of "$R" tc)
same "attempt names are cube-r<run>-t<ti>-a<try>" \
    "$(q "SELECT external_name FROM task_attempt WHERE task_instance_id = $TI")" "cube-r$R-t$TI-a1"
check "the attempt's log holds the task's output" \
    grep -q "C run=$R" "$VAR/attempts/cube-r$R-t$TI-a1/log"
same "exit code, peak memory and CPU time are recorded on instance and attempt" \
    "$(q "SELECT ti.exit_code = 0 AND ti.peak_rss_kb > 0 AND ti.cpu_seconds IS NOT NULL AND a.peak_rss_kb = ti.peak_rss_kb AND a.exit_code = 0 FROM task_instance ti JOIN task_attempt a ON a.task_instance_id = ti.id WHERE ti.id = $TI")" t
same "the run's transitions are audited" \
    "$(q "SELECT string_agg(coalesce(from_state, '-') || '>' || to_state, ' ' ORDER BY id) FROM state_change WHERE entity = 'run' AND entity_id = $R")" \
    "->queued queued>running running>succeeded"
same "a task's transitions are audited" \
    "$(q "SELECT string_agg(coalesce(from_state, '-') || '>' || to_state, ' ' ORDER BY id) FROM state_change WHERE entity = 'task_instance' AND entity_id = $TI")" \
    "pending>scheduled scheduled>submitting submitting>running running>succeeded"

# Right-sizing: ceil(peak x 1.4) + 2 over the samples, worked out here from the recorded peak.
peak=$(q "SELECT peak_rss_kb FROM task_attempt WHERE task_instance_id = $TI")
want_mem=$(((peak * 14 + 10485760 - 1) / 10485760 + 2))
out=$(sched_cmd suggest "$TC")
same "the resource suggestion follows peak x 1.4 + 2 (memory in GiB)" \
    "$(sed -n 's/.*"samples":\([0-9]*\).*"memory_gb":\([0-9]*\).*/\1 \2/p' <<<"$out")" "1 $want_mem"

# --- retries with backoff, then failure; downstream upstream_failed; the skip flag -------------
P=$(mkpipe retry '{"down":{"upstream":["flaky"]},"after":{"upstream":["skipme"]}}')
mktask "$P" flaky 'echo trying; exit 3' retry=2 >/dev/null
mktask "$P" down 'echo never' >/dev/null
mktask "$P" skipme 'echo never' skip=true >/dev/null
mktask "$P" after 'echo after-skip' >/dev/null
R=$(run_of "$P")
expect "a task that exits 3 waits for its retry" 20 \
    "SELECT state || ':' || try_number || ':' || exit_code FROM task_instance WHERE run_id = $R AND task_key = 'flaky'" \
    "up_for_retry:1:3"
same "the first retry waits 5 s (5 x 2^0)" \
    "$(q "SELECT round(extract(epoch FROM next_retry_at - finished_at)) FROM task_instance WHERE run_id = $R AND task_key = 'flaky'")" 5
same "the reason names the exit code" "$(q "SELECT split_part(reason, ';', 1) FROM task_instance WHERE run_id = $R AND task_key = 'flaky'")" "exit 3"
expect "a skipped task's downstream still runs" 20 \
    "SELECT string_agg(task_key || ':' || state, ' ' ORDER BY task_key) FROM task_instance WHERE run_id = $R AND task_key IN ('skipme', 'after')" \
    "after:succeeded skipme:skipped"
clock_shift 6
expect "after 5 s the second try runs and fails" 20 \
    "SELECT state || ':' || try_number FROM task_instance WHERE run_id = $R AND task_key = 'flaky'" \
    "up_for_retry:2"
same "the second retry waits 10 s (5 x 2^1)" \
    "$(q "SELECT round(extract(epoch FROM next_retry_at - finished_at)) FROM task_instance WHERE run_id = $R AND task_key = 'flaky'")" 10
clock_shift 11
expect "the third and last try fails for good" 20 \
    "SELECT state || ':' || try_number FROM task_instance WHERE run_id = $R AND task_key = 'flaky'" "failed:3"
expect "its downstream is upstream_failed" 10 \
    "SELECT state || ':' || reason FROM task_instance WHERE run_id = $R AND task_key = 'down'" \
    "upstream_failed:upstream failed: flaky"
expect "the run fails, naming the task" 10 "SELECT state || ':' || reason FROM run WHERE id = $R" "failed:failed: flaky"
same "three attempts, each with its exit code" \
    "$(q "SELECT string_agg(a.try_number || ':' || a.state || ':' || a.exit_code, ' ' ORDER BY a.try_number) FROM task_attempt a JOIN task_instance ti ON ti.id = a.task_instance_id WHERE ti.run_id = $R AND ti.task_key = 'flaky'")" \
    "1:failed:3 2:failed:3 3:failed:3"
# Each retry started no earlier than its delay after the failure (audit times, shifted clock).
same "no retry started before its time (5 s, then 10 s after the failure)" \
    "$(q "SELECT string_agg((s.at >= f.at + make_interval(secs => d.delay))::text, ',' ORDER BY d.n) FROM (VALUES (1, 5), (2, 10)) AS d(n, delay), LATERAL (SELECT at FROM state_change WHERE entity = 'task_instance' AND entity_id = (SELECT id FROM task_instance WHERE run_id = $R AND task_key = 'flaky') AND to_state = 'up_for_retry' ORDER BY id OFFSET d.n - 1 LIMIT 1) f, LATERAL (SELECT at FROM state_change WHERE entity = 'task_instance' AND entity_id = (SELECT id FROM task_instance WHERE run_id = $R AND task_key = 'flaky') AND from_state = 'up_for_retry' ORDER BY id OFFSET d.n - 1 LIMIT 1) s")" \
    "true,true"
RFAIL=$R

# --- rerun: failed tasks and their downstream, new try numbers -------------------------------
out=$(sched_cmd rerun "$RFAIL")
same "rerun of a failed run is accepted" "$out" "{}"
same "rerun sends the failed task and its downstream back to pending, not the others" \
    "$(q "SELECT string_agg(ti.task_key, ' ' ORDER BY ti.task_key) FROM state_change s JOIN task_instance ti ON ti.id = s.entity_id WHERE s.entity = 'task_instance' AND ti.run_id = $RFAIL AND s.to_state = 'pending'")" \
    "down flaky"
expect "the re-run's first try fails and waits 5 s again (a new budget)" 30 \
    "SELECT state || ':' || try_number || ':' || round(extract(epoch FROM next_retry_at - finished_at)) FROM task_instance WHERE run_id = $RFAIL AND task_key = 'flaky'" \
    "up_for_retry:4:5"
clock_shift 6
expect "(second fresh try)" 20 \
    "SELECT state || ':' || try_number FROM task_instance WHERE run_id = $RFAIL AND task_key = 'flaky'" "up_for_retry:5"
clock_shift 11
expect "the re-run ends failed with try numbers 4-6" 20 \
    "SELECT r.state || ':' || ti.try_number FROM run r JOIN task_instance ti ON ti.run_id = r.id WHERE r.id = $RFAIL AND ti.task_key = 'flaky'" "failed:6"
same "a failure alerts once per run and state, even after a re-run" \
    "$(q "SELECT count(*) FROM outbox WHERE run_id = $RFAIL AND state = 'failed'")" 1

# --- a rerun that succeeds, and clear --------------------------------------------------------
P=$(mkpipe fix '{"second":{"upstream":["first"]}}')
mktask "$P" first "test -e $T/fixed || { echo not yet; exit 1; }" >/dev/null
mktask "$P" second 'echo second' >/dev/null
R=$(run_of "$P")
expect "a run whose task fails" 20 "SELECT state FROM run WHERE id = $R" failed
touch "$T/fixed"
sched_cmd rerun "$R" >/dev/null
expect "re-run after the fix succeeds" 20 "SELECT state FROM run WHERE id = $R" succeeded
same "the fixed task ran as try 2, its downstream as try 1" \
    "$(q "SELECT string_agg(task_key || ':' || try_number, ' ' ORDER BY task_key) FROM task_instance WHERE run_id = $R")" \
    "first:2 second:1"
out=$(sched_cmd rerun "$R")
same "rerun of a succeeded run is refused" "$(sed -n 's/.*"error":"\([a-z]*\)".*/\1/p' <<<"$out")" conflict
sched_cmd clear "$(ti_of "$R" first)" >/dev/null
expect "clearing a task re-runs it and its downstream" 20 \
    "SELECT r.state || ' ' || string_agg(ti.task_key || ':' || ti.try_number, ' ' ORDER BY ti.task_key) FROM run r JOIN task_instance ti ON ti.run_id = r.id WHERE r.id = $R GROUP BY r.state" \
    "succeeded first:3 second:2"

# --- one task alone ------------------------------------------------------------------------------
R=$(run_of "$P" second)
expect "a task can run alone" 20 \
    "SELECT r.state || ' ' || string_agg(ti.task_key, ',') FROM run r JOIN task_instance ti ON ti.run_id = r.id WHERE r.id = $R GROUP BY r.state" \
    "succeeded second"
same "its trigger is task" "$(q "SELECT trigger FROM run WHERE id = $R")" task

# --- timeout: the watcher stops the attempt on the database clock ------------------------------
P=$(mkpipe timeout '{}')
mktask "$P" slow "echo \$\$ > $T/slow.pid; exec sleep 60" timeout=3 >/dev/null
R=$(run_of "$P")
expect "the slow task runs" 20 "SELECT state FROM task_instance WHERE run_id = $R" running
for ((i = 0; i < 50; i++)); do [[ -s $T/slow.pid ]] && break; sleep 0.1; done
slowpid=$(cat "$T/slow.pid" 2>/dev/null)
clock_shift 5
expect "past its timeout the task fails with reason timeout" 20 \
    "SELECT state || ':' || reason FROM task_instance WHERE run_id = $R" "failed:timeout after 3 s"
check "the timed-out process is gone" bash -c "! kill -0 $slowpid 2>/dev/null"
expect "and the run fails" 10 "SELECT state FROM run WHERE id = $R" failed

# --- killed by a signal; a whole-run timeout ---------------------------------------------------------
P=$(mkpipe signal '{}')
mktask "$P" killed 'kill -KILL $$' >/dev/null
R=$(run_of "$P")
expect "a task killed by a signal fails with that reason and 128 + signal" 20 \
    "SELECT state || ':' || split_part(reason, ';', 1) || ':' || exit_code FROM task_instance WHERE run_id = $R" \
    "failed:killed by signal 9:137"
P=$(mkpipe runtimeout '{}' run_timeout=4)
mktask "$P" forever "exec sleep 60" >/dev/null
R=$(run_of "$P")
expect "(a run that will outlive its run_timeout)" 20 "SELECT state FROM task_instance WHERE run_id = $R" running
clock_shift 6
expect "past run_timeout the run fails with reason run_timeout" 20 \
    "SELECT state || ':' || reason FROM run WHERE id = $R" "failed:run_timeout: longer than 4 s"
same "and its task was cancelled" "$(state_of_task "$R" forever)" cancelled

# --- cancel ---------------------------------------------------------------------------------------
P=$(mkpipe cancel '{"later":{"upstream":["long"]}}')
mktask "$P" long "echo \$\$ > $T/long.pid; exec sleep 60" >/dev/null
mktask "$P" later 'echo never' >/dev/null
R=$(run_of "$P")
expect "the long task runs" 20 "SELECT state FROM task_instance WHERE run_id = $R AND task_key = 'long'" running
for ((i = 0; i < 50; i++)); do [[ -s $T/long.pid ]] && break; sleep 0.1; done
longpid=$(cat "$T/long.pid" 2>/dev/null)
same "cancel is accepted" "$(sched_cmd cancel "$R")" "{}"
expect "the run ends cancelled, every task cancelled" 20 \
    "SELECT r.state || ' ' || string_agg(ti.state, ',' ORDER BY ti.task_key) FROM run r JOIN task_instance ti ON ti.run_id = r.id WHERE r.id = $R GROUP BY r.state" \
    "cancelled cancelled,cancelled"
check "the cancelled process is gone" bash -c "! kill -0 $longpid 2>/dev/null"
out=$(sched_cmd cancel "$R")
same "cancel of a finished run is a conflict" "$(sed -n 's/.*"error":"\([a-z]*\)".*/\1/p' <<<"$out")" conflict

# --- parallelism ----------------------------------------------------------------------------------
# Each task counts the tasks alive beside it, under a lock, and notes the count it saw.
cat >"$T/par.sh" <<EOF
flock $T/par.lock sh -c 'n=\$((\$(cat $T/par.n 2>/dev/null || echo 0) + 1)); echo \$n >$T/par.n; echo \$n >>$T/par.seen'
sleep 0.7
flock $T/par.lock sh -c 'echo \$((\$(cat $T/par.n) - 1)) >$T/par.n'
EOF
P=$(mkpipe par '{}' parallelism=2)
for n in p1 p2 p3 p4 p5; do mktask "$P" "$n" "sh $T/par.sh" >/dev/null; done
R=$(run_of "$P")
expect "five independent tasks finish" 30 "SELECT state FROM run WHERE id = $R" succeeded
same "never more than parallelism (2) processes at once, and 2 at some point" \
    "$(sort -n "$T/par.seen" | tail -1) $(wc -l <"$T/par.seen")" "2 5"
# The same from each task's recorded start and end, which the run's history shows.
same "the recorded history agrees" \
    "$(q "SELECT max(n) FROM (SELECT (SELECT count(*) FROM task_instance o WHERE o.run_id = $R AND o.started_at <= t.started_at AND o.finished_at > t.started_at) AS n FROM task_instance t WHERE t.run_id = $R) s")" 2

# --- retention: old runs and their attempt directories; directories of deleted runs -------------
P=$(mkpipe retention '{}')
mktask "$P" tt 'echo keep-or-not' >/dev/null
ROLD=$(run_of "$P")
RNEW=$(run_of "$P")
expect "two runs finish" 20 "SELECT count(*) FROM run WHERE id IN ($ROLD, $RNEW) AND state = 'succeeded'" 2
DOLD=$VAR/attempts/$(q "SELECT external_name FROM task_instance WHERE run_id = $ROLD")
DNEW=$VAR/attempts/$(q "SELECT external_name FROM task_instance WHERE run_id = $RNEW")
PGONE=$(mkpipe gone '{}')
mktask "$PGONE" tt 'true' >/dev/null
RGONE=$(run_of "$PGONE")
expect "(a run of a pipeline about to be deleted)" 20 "SELECT state FROM run WHERE id = $RGONE" succeeded
DGONE=$VAR/attempts/$(q "SELECT external_name FROM task_instance WHERE run_id = $RGONE")
q "DELETE FROM pipeline WHERE id = $PGONE" >/dev/null
q "UPDATE run SET finished_at = finished_at - interval '31 days' WHERE id = $ROLD" >/dev/null
daemon_start cube-scheduler # housekeeping runs in a fresh scheduler's first pass
expect "a run finished more than CUBE_RETENTION_DAYS (30) ago is deleted" 10 \
    "SELECT count(*) FROM run WHERE id = $ROLD" 0
for ((i = 0; i < 50; i++)); do [[ -e $DOLD || -e $DGONE ]] || break; sleep 0.1; done
check "with its attempt directory" test ! -e "$DOLD"
same "and its audit rows" "$(q "SELECT count(*) FROM state_change WHERE entity = 'run' AND entity_id = $ROLD")" 0
check "the directory of a deleted pipeline's run is removed" test ! -e "$DGONE"
same "a recent run stays, with its directory" \
    "$(q "SELECT count(*) FROM run WHERE id = $RNEW"):$(test -d "$DNEW" && echo dir)" "1:dir"

# --- refusals --------------------------------------------------------------------------------------
P=$(mkpipe cycle '{"ca":{"upstream":["cb"]},"cb":{"upstream":["ca"]}}')
mktask "$P" ca 'true' >/dev/null
mktask "$P" cb 'true' >/dev/null
out=$(sched_cmd run "$P")
same "a pipeline with a cycle cannot run (unprocessable, named)" \
    "$(sed -n 's/.*"error":"\([a-z]*\)".*cycle.*/\1/p' <<<"$out")" unprocessable
out=$(sched_cmd run 999999999)
same "no such pipeline" "$(sed -n 's/.*"error":"\([a-z ]*\)".*/\1/p' <<<"$out")" "not found"

sched_finish sched_run
