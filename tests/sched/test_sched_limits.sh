#!/usr/bin/env bash
# Limits through the real scheduler and watcher, in the cgroups deploy/stack.sh delegates to
# user cube (CUBE_CGROUP, one group per stack): a task that allocates 256 MiB under a 64 MiB
# memory limit is OOM-killed and fails with the reason "out of memory" (with 1 GiB it
# succeeds); with CUBE_EXEC_MAX_PROCS=5 a task that forks 8 children gets 4 and fails (without
# the limit it gets all 8).  Expectations from the kernel's rules: memory.limit_in_bytes (and
# memsw) caps the cgroup, pids.max counts every process in it, the shell included.
#
# Skipped (reported, counted neither passed nor failed) where it cannot mean anything: no
# cgroup v1 memory or pids hierarchy, not run as root (then deploy/stack.sh delegates
# nothing), or this shell outside the cgroup the stack delegated from.
set -uo pipefail
# shellcheck source=tests/sched/lib.sh
. "$(dirname "$0")/lib.sh"

skip() {
    echo "SKIP sched_limits: $1"
    rm -rf "$T"
    finish sched_limits
    exit 0
}

for c in memory pids; do
    [[ $(stat -f -c %T "/sys/fs/cgroup/$c" 2>/dev/null) == cgroupfs ]] ||
        skip "no cgroup v1 $c hierarchy on this host (the local executor uses v1 controllers)"
done
((EUID == 0)) || skip "not root: deploy/stack.sh gives user cube a cgroup only when run as root"

GROUP=""
for kv in "${DENV[@]}"; do [[ $kv == CUBE_CGROUP=* ]] && GROUP=${kv#CUBE_CGROUP=}; done
if [[ -z $GROUP ]]; then
    fail "deploy/stack.sh, run as root, delegated a cgroup (CUBE_CGROUP in cube.env)" \
        "none in $VAR/cube.env"
    rm -rf "$T"
    finish sched_limits
    exit 1
fi
pass "deploy/stack.sh delegated the group $GROUP (CUBE_CGROUP in cube.env)"
# The daemons started below inherit this shell's cgroups: the group must be under them.
own() { sed -n "s/^[0-9]*:\([^:]*,\)\{0,1\}$1\(,[^:]*\)\{0,1\}:\(.*\)$/\3/p" /proc/$$/cgroup; }
for c in memory cpu pids; do
    o=$(own "$c")
    d=/sys/fs/cgroup/$c${o%/}/$GROUP
    [[ -d $d ]] || skip "this shell is not in the cgroup the stack delegated from ($d is missing)"
    same "the $c group belongs to user cube" "$(stat -c %U "$d")" cube
done

daemons_start CUBE_EXEC_MAX_PROCS=5
# attempt_of RUN: the attempt name of the run's only task
attempt_of() { q "SELECT external_name FROM task_instance WHERE run_id = $1"; }

# --- memory ---------------------------------------------------------------------------------
# tail keeps its whole input when there is no newline: 256 MiB of zeros.
HOG='head -c 268435456 /dev/zero | tail > /dev/null'
P=$(mkpipe oom '{}')
mktask "$P" hog "$HOG" resource_memory="'64M'" >/dev/null
R=$(run_of "$P")
expect "256 MiB under a 64 MiB limit: the attempt fails" 60 \
    "SELECT state FROM task_instance WHERE run_id = $R" failed
same "with the reason out of memory (every limit enforced: no note)" \
    "$(q "SELECT reason FROM task_instance WHERE run_id = $R")" "out of memory"
same "the attempt row says the same" \
    "$(q "SELECT a.state || ': ' || a.reason FROM task_attempt a JOIN task_instance ti ON ti.id = a.task_instance_id WHERE ti.run_id = $R")" \
    "failed: out of memory"
same "its peak, measured by the cgroup, stayed within the limit" \
    "$(q "SELECT peak_rss_kb > 0 AND peak_rss_kb <= 65536 FROM task_instance WHERE run_id = $R")" t
expect "the run fails" 20 "SELECT state FROM run WHERE id = $R" failed
A=$(attempt_of "$R")
same "its memory, cpu and pids cgroups were made in the delegated group" \
    "$(grep -c "/$GROUP/$A\.[0-9a-f]\{8\}$" "$VAR/attempts/$A/cgroups")" 3
left=0
while IFS= read -r d; do [[ -d $d ]] && left=$((left + 1)); done <"$VAR/attempts/$A/cgroups"
same "and removed when the attempt ended" "$left" 0
check "the log tells the user" grep -q "cube-shim: out of memory (limit 67108864 bytes)" \
    "$VAR/attempts/$A/log"

P=$(mkpipe oom-ctl '{}')
mktask "$P" hog "$HOG" resource_memory="'1G'" >/dev/null
R=$(run_of "$P")
expect "control: the same task under 1 GiB succeeds" 60 \
    "SELECT state FROM task_instance WHERE run_id = $R" succeeded
same "and used more than 64 MiB" \
    "$(q "SELECT peak_rss_kb > 65536 FROM task_instance WHERE run_id = $R")" t

# --- process count --------------------------------------------------------------------------
# sh (dash) gives up at the first failed fork; bash would retry for 15 s first.
FORKS="exec sh -c 'n=0; while [ \$n -lt 8 ]; do sleep 20 & n=\$((n+1)); echo \$n; done'"
P=$(mkpipe pids '{}')
mktask "$P" forks "$FORKS" >/dev/null
R=$(run_of "$P")
expect "pids.max 5: the task that forks 8 children fails" 30 \
    "SELECT state FROM task_instance WHERE run_id = $R" failed
A=$(attempt_of "$R")
log=$(grep -v '^cube-shim: ' "$VAR/attempts/$A/log")
same "the shell plus 4 children fill the 5 processes: 1 to 4 started, no 5th" \
    "$(grep -x '[0-9]' <<<"$log" | tr '\n' ' ')" "1 2 3 4 "
same "its reason is the shell's exit, no note that a limit was not enforced" \
    "$(q "SELECT reason FROM task_instance WHERE run_id = $R")" "exit 2"

daemons_start
P=$(mkpipe pids-ctl '{}')
mktask "$P" forks "$FORKS" >/dev/null
R=$(run_of "$P")
expect "control: without CUBE_EXEC_MAX_PROCS all 8 forks succeed" 30 \
    "SELECT state FROM task_instance WHERE run_id = $R" succeeded
A=$(attempt_of "$R")
same "1 to 8" "$(grep -x '[0-9]' "$VAR/attempts/$A/log" | tr '\n' ' ')" "1 2 3 4 5 6 7 8 "

sched_finish sched_limits
