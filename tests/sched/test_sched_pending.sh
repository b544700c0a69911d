#!/usr/bin/env bash
# Pending timeout: a task that waits longer than CUBE_PENDING_TIMEOUT_S for an execution slot
# fails (and so does its run), instead of waiting forever behind a slot that never frees.
set -uo pipefail
# shellcheck source=tests/sched/lib.sh
. "$(dirname "$0")/lib.sh"

daemons_start CUBE_EXEC_SLOTS=1 CUBE_PENDING_TIMEOUT_S=2

P=$(mkpipe pending '{}')
mktask "$P" first 'sleep 8' >/dev/null
mktask "$P" second 'sleep 8' >/dev/null
R=$(run_of "$P")
check "a run of two independent tasks starts" test -n "$R"
expect "with one slot, one task runs and the other waits" 20 \
    "SELECT string_agg(state, ' ' ORDER BY state) FROM task_instance WHERE run_id = $R" \
    "running scheduled"
expect "the waiting task fails once it has waited 2 s" 20 \
    "SELECT count(*) FROM task_instance WHERE run_id = $R AND state = 'failed' AND reason = 'pending timeout: no slot within 2 s'" \
    1
same "the task that had the slot is still running" \
    "$(q "SELECT count(*) FROM task_instance WHERE run_id = $R AND state = 'running'")" 1
expect "the run fails when the running task ends" 30 "SELECT state FROM run WHERE id = $R" failed

sched_finish sched_pending
