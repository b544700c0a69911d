#!/usr/bin/env bash
# The Slurm executor (fcgi/core/slurm.c) against a real Slurm cluster: deploy/slurm.sh starts
# one with 3 emulated nodes on 127.0.0.1, and build/tests/slurm_cli drives the executor (each
# call a fresh handle, as a restarted scheduler would be).  Scenarios: success with its log,
# exit 3, a timeout (Slurm's time limit: about 70 s, so it runs first and is checked last),
# cancel, submit twice (one job), a rejected submission (bad partition, cpus over the limit),
# an unreachable, a silent and a garbage-answering endpoint, an expired token and a wrong
# key, the 3-node distributed rendezvous, log offsets, remove, a job that vanishes when the
# cluster restarts clean (lost) next to a finished one whose exit record survives, and down
# leaving no process or port.  About 100 s.  Skipped (one pass and a `# skip` line) only when
# the Slurm packages cannot be installed.
#
# The cluster's state directory is $SLURM_TEST_DIR, else "$CUBE_VAR-slurm" (beside the test
# stack's directory: tests/run.sh refuses to wipe a $CUBE_VAR holding anything but a stack).
# Its ports are 27000 + 20 * k (+0 slurmctld, +1 slurmrestd, +2.. nodes), k from
# $CUBE_PORT (18080 → 0, 18180 → 1, ...), so test stacks side by side do not collide.
# shellcheck disable=SC2016 # the single-quoted $VARs are for the jobs' shells
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT" || exit 1
# shellcheck source=tests/deploy/lib.sh
. tests/deploy/lib.sh
unset SLURM_JWT

SUITE=slurm
CLI=${SLURM_CLI:-$ROOT/build/tests/slurm_cli} # SLURM_CLI: e.g. a sanitizer build of it
CUBE_VAR=$(realpath -m -- "${CUBE_VAR:-var/test}")
export SLURM_DIR=${SLURM_TEST_DIR:-$CUBE_VAR-slurm}
k=$(((${CUBE_PORT:-18080} - 18080) / 100))
((k >= 0 && k < 100)) || k=$((${CUBE_PORT:-18080} % 100))
BASE=$((27000 + 20 * k))
export SLURM_NODES=3 SLURMCTLD_PORT=$BASE SLURMRESTD_PORT=$((BASE + 1)) SLURMD_PORT=$((BASE + 2))
DEAD_PORT=$((BASE + 10)) FAKE_PORT=$((BASE + 11))
T=$(mktemp -d)
LOG=$T/cli.log
PIDS=()

now_ms() { date +%s%3N; }

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    if [[ -n ${UP:-} ]]; then
        bash deploy/slurm.sh down >>"$T/slurm.log" 2>&1 || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip() {
    pass "$1"
    echo "# skip $SUITE: $2"
    finish "$SUITE"
    exit 0
}

if [[ ! -x $CLI ]]; then
    fail "build/tests/slurm_cli exists" "run make tools"
    finish "$SUITE"
    exit 1
fi
if ((EUID != 0)); then
    skip "slurm scenarios" "not root: deploy/slurm.sh must run as root (slurmd, and the package install)"
fi

# --- the cluster -------------------------------------------------------------------------------

# Attempts of an earlier run would be adopted: start with an empty shared directory.
rm -rf "$SLURM_DIR/shared"
t0=$(now_ms)
if ! bash deploy/slurm.sh up >"$T/slurm.log" 2>&1; then
    if ! dpkg-query -W -f='${db:Status-Abbrev}\n' slurmctld slurmd slurmrestd slurm-client munge \
        slurm-wlm-jwt-plugin 2>/dev/null | grep -c '^ii' | grep -qx 6; then
        tail -n 5 "$T/slurm.log" | sed 's/^/    /'
        skip "slurm scenarios" "the Slurm packages cannot be installed here (deploy/slurm.sh up)"
    fi
    UP=1
    fail "deploy/slurm.sh up (3 nodes)" "$(tail -n 20 "$T/slurm.log")"
    finish "$SUITE"
    exit 1
fi
UP=1
up_ms=$(($(now_ms) - t0))
pass "deploy/slurm.sh up: 3 nodes, slurmrestd with JWT ($((up_ms))ms)"
# shellcheck disable=SC1091
set -a && . "$SLURM_DIR/slurm.env" && set +a
t0=$(now_ms)
bash deploy/slurm.sh up >"$T/slurm2.log" 2>&1
check "up again leaves the running cluster alone ($(($(now_ms) - t0))ms)" grep -q 'already up' "$T/slurm2.log"

SHARED=$SLURM_SHARED_DIR
conf() { # conf [EXTRA_JSON] [ENDPOINT]
    printf '"conf":{"endpoint":"%s","key_file":"%s","shared_dir":"%s","queue":"%s"%s}' \
        "${2:-$SLURM_REST_URL}" "$SLURM_JWT_KEY_FILE" "$SHARED" "$SLURM_PARTITION" "${1:+,$1}"
}

# cli VERB JSON: runs the client; OUT gets its answer, MS its duration.
cli() {
    local t
    t=$(now_ms)
    OUT=$(printf '%s' "$2" | "$CLI" "$1" 2>>"$LOG")
    MS=$(($(now_ms) - t))
}
val() { sed -n "s/^$1=//p" <<<"$OUT" | head -n 1; }

submit() { cli submit "{$(conf "${3:-}"),\"spec\":{\"name\":\"$1\",$2}}"; }
status() { cli status "{$(conf "${2:-}" "${3:-}"),\"name\":\"$1\"}"; }

# wait_final NAME SECONDS: polls status until the attempt is no longer running.
wait_final() {
    local i
    for ((i = 0; i < $2 * 5; i++)); do
        status "$1"
        [[ $(val err) == ERR_OK && $(val state) != running ]] && return 0
        sleep 0.2
    done
    return 1
}
# wait_reason NAME PATTERN SECONDS
wait_reason() {
    local i
    for ((i = 0; i < $3 * 5; i++)); do
        status "$1"
        # shellcheck disable=SC2053 # a pattern
        [[ $(val reason) == $2 ]] && return 0
        sleep 0.2
    done
    return 1
}
expect() { # expect NAME KEY WANT: on the last answer
    local got
    got=$(val "$2")
    if [[ $got == "$3" ]]; then pass "$1"; else fail "$1" "$2 is '$got', want '$3' ($(val message))"; fi
}
jobs_named() { squeue -h -t all -n "$1" -o %i 2>/dev/null | wc -l; }

cli check "{$(conf)}"
report=$(val report)
if [[ $(val err) == ERR_OK && $report == *'"reachable":true'* && $report == *'"version":"22.05.'* &&
    $report == *'"nodes":3,"nodes_up":3'* && $report == *'"name":"'"$SLURM_PARTITION"'"'* ]]; then
    pass "check: reachable, version 22.05, 3 nodes up, the partition"
else
    fail "check" "$OUT"
fi

# The timeout first: Slurm's smallest limit is a minute, enforced on a 30 s pass.
submit to '"argv":["sleep","600"],"timeout_s":1,"grace_s":1'
expect "submit: a job with a 2 s timeout (a 1 minute Slurm limit)" err ERR_OK
t_timeout=$(now_ms)

# --- outcomes --------------------------------------------------------------------------------

submit ok '"argv":["bash","-c","echo hello from $GREETING; echo to stderr >&2"],"env":["GREETING=cube"]'
expect "submit: a job that succeeds" err ERR_OK
wait_final ok 30
expect "it succeeds" state succeeded
expect "with exit code 0" exit_code 0
cli log "{$(conf),\"name\":\"ok\"}"
# (26 bytes: "hello from cube\n" and "to stderr\n"; $(...) drops the last newline.)
if [[ $OUT == *$'data:\nhello from cube\nto stderr' && $(val len) == 26 && $(val eof) == 1 &&
    $(val next) == 26 ]]; then
    pass "its log has stdout and stderr, next=26, eof"
else
    fail "its log" "$OUT"
fi
cli log "{$(conf),\"name\":\"ok\",\"offset\":6,\"max\":4}"
if [[ $OUT == *$'data:\nfrom' && $(val next) == 10 && $(val eof) == 0 ]]; then
    pass "log from offset 6, 4 bytes: \"from\", next=10, not eof"
else
    fail "log from an offset" "$OUT"
fi

submit e3 '"argv":["sh","-c","echo failing; exit 3"]'
wait_final e3 30
expect "a job exiting with 3 fails" state failed
expect "with exit_code 3" exit_code 3
expect "reason 'exit 3'" reason "exit 3"

# --- cancel ----------------------------------------------------------------------------------

submit cx '"argv":["sleep","300"]'
wait_reason cx running 20
expect "a long job runs" reason running
cli cancel "{$(conf),\"name\":\"cx\"}"
expect "cancel answers at once ($MS ms)" err ERR_OK
wait_final cx 15
expect "the cancelled job fails" state failed
expect "as cancelled" cancelled 1
expect "reason 'cancelled'" reason cancelled

# --- submit twice: one job ---------------------------------------------------------------------

submit twice '"argv":["sleep","3"]'
first_id=$(cat "$SHARED/twice/jobid" 2>/dev/null)
submit twice '"argv":["sleep","3"]'
expect "a second submit of the same name is accepted (adopted)" err ERR_OK
rm -f "$SHARED/twice/jobid" # as if the first submitter died before writing it
submit twice '"argv":["sleep","3"]'
if [[ $(jobs_named twice) == 1 && -n $first_id && $(cat "$SHARED/twice/jobid" 2>/dev/null) == "$first_id" ]]; then
    pass "three submits, one Slurm job ($first_id), found again by name without its jobid file"
else
    fail "submit twice" "$(jobs_named twice) jobs, ids '$first_id' / '$(cat "$SHARED/twice/jobid" 2>/dev/null)'"
fi
wait_final twice 20
submit twice '"argv":["sleep","3"]'
if [[ $(val err) == ERR_OK && $(jobs_named twice) == 1 ]]; then
    pass "a submit after it finished runs nothing new"
else
    fail "submit after the end" "$(jobs_named twice) jobs"
fi

# --- rejected submissions ------------------------------------------------------------------------

submit badpart '"argv":["true"],"queue":"nosuchpartition"'
expect "a bad partition is rejected: ERR_UNPROCESSABLE" err ERR_UNPROCESSABLE
check "with slurm's message ($(val message))" grep -q 'Invalid partition name' <<<"$(val message)"
status badpart
expect "its status: failed" state failed
check "reason 'rejected: ...'" grep -q '^rejected: Invalid partition' <<<"$(val reason)"

submit toobig '"argv":["true"],"cpu":64'
expect "64 cpus per task on 2-cpu nodes is rejected: ERR_UNPROCESSABLE" err ERR_UNPROCESSABLE
check "with slurm's message ($(val message))" grep -q 'not available' <<<"$(val message)"
sleep 0.5
if [[ -z $(squeue -h -t PENDING,RUNNING -n toobig -o %i 2>/dev/null) ]]; then
    pass "the job Slurm created anyway is not left pending"
else
    fail "rejected job left pending" "$(squeue -t all -n toobig)"
fi

submit nogpu '"argv":["true"],"gpus":1,"gpu_type":"a100"'
expect "a gpu on a cluster without gres: ERR_UNPROCESSABLE" err ERR_UNPROCESSABLE

# --- an engine that cannot be used ----------------------------------------------------------------

submit slow '"argv":["sleep","120"]'
wait_reason slow running 20
status slow "" "http://127.0.0.1:$DEAD_PORT"
if [[ $(val err) == ERR_UNAVAILABLE && $MS -lt 1000 && $(val message) == *unreachable* ]]; then
    pass "unreachable endpoint: ERR_UNAVAILABLE in ${MS}ms, no state ($(val message | cut -c1-60)...)"
else
    fail "unreachable endpoint" "$MS ms: $OUT"
fi
cli submit "{$(conf "" "http://127.0.0.1:$DEAD_PORT"),\"spec\":{\"name\":\"unsent\",\"argv\":[\"true\"]}}"
expect "submit to an unreachable endpoint: ERR_UNAVAILABLE" err ERR_UNAVAILABLE

"$CLI" serve silent "$FAKE_PORT" 30 >"$T/serve" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 50; i++)); do grep -q ready "$T/serve" 2>/dev/null && break; sleep 0.1; done
status slow '"timeout_ms":1000' "http://127.0.0.1:$FAKE_PORT"
if [[ $(val err) == ERR_UNAVAILABLE && $MS -lt 2500 && $(val message) == *"within 1000 ms"* ]]; then
    pass "an endpoint that never answers: ERR_UNAVAILABLE after the 1 s limit (${MS}ms)"
else
    fail "silent endpoint" "$MS ms: $OUT"
fi
kill "${PIDS[-1]}" 2>/dev/null
wait "${PIDS[-1]}" 2>/dev/null
"$CLI" serve garbage "$FAKE_PORT" 30 >"$T/serve" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 50; i++)); do grep -q ready "$T/serve" 2>/dev/null && break; sleep 0.1; done
status slow "" "http://127.0.0.1:$FAKE_PORT"
if [[ $(val err) == ERR_UNAVAILABLE && $(val message) == *"not JSON"* ]]; then
    pass "an endpoint answering garbage: ERR_UNAVAILABLE ($(val message | cut -c1-70)...)"
else
    fail "garbage endpoint" "$OUT"
fi
kill "${PIDS[-1]}" 2>/dev/null
wait "${PIDS[-1]}" 2>/dev/null

status slow '"token_lifespan":-60'
if [[ $(val err) == ERR_UNAUTH && $(val message) == *expired* ]]; then
    pass "an expired token: ERR_UNAUTH ($(val message | cut -c1-60)...)"
else
    fail "expired token" "$OUT"
fi
head -c 32 /dev/urandom >"$T/wrong.key"
cli status "{\"conf\":{\"endpoint\":\"$SLURM_REST_URL\",\"key_file\":\"$T/wrong.key\",\"shared_dir\":\"$SHARED\"},\"name\":\"slow\"}"
if [[ $(val err) == ERR_UNAVAILABLE && $(val message) == *token* ]]; then
    pass "a key the cluster does not know: ERR_UNAVAILABLE, saying tokens are suspect"
else
    fail "wrong key" "$OUT"
fi
status slow
expect "through all that the job kept running" reason running
cli cancel "{$(conf),\"name\":\"slow\"}"

# --- distributed: 3 ranks on 3 nodes ----------------------------------------------------------------

submit dist "\"argv\":[\"$CLI\",\"rank\"],\"replicas\":3"
expect "submit: the distributed job (3 replicas)" err ERR_OK
wait_final dist 60
expect "the 3-rank rendezvous succeeds" state succeeded
log=$(cat "$SHARED/dist/log" 2>/dev/null)
nodes=$(grep -o 'node n[0-9]*' <<<"$log" | sort -u | wc -l)
if (($(grep -c ': sum 60 (master 127.0.0.1:' <<<"$log") == 3 && nodes == 3)) &&
    grep -q '^rank 0/3 local 0 ' <<<"$log" && grep -q '^rank 1/3 local 0 ' <<<"$log" &&
    grep -q '^rank 2/3 local 0 ' <<<"$log"; then
    pass "ranks 0, 1, 2 on 3 different nodes met rank 0 at MASTER_ADDR:MASTER_PORT and agree: sum 60"
else
    fail "rendezvous" "$log"
fi
# The other ranks would sleep 5 minutes: ending within one shows srun killed them (with room
# for a slow node on a busy machine: 30 s was once not enough under CI's load).
submit distfail '"argv":["sh","-c","if [ $RANK = 1 ]; then exit 5; fi; sleep 300"],"replicas":3'
wait_final distfail 60
if [[ $(val state) == failed && $(val exit_code) == 5 ]]; then
    pass "a failing rank ends the whole job at once, with its own exit code (5)"
else
    fail "failing rank" "$OUT"
fi

# --- remove ---------------------------------------------------------------------------------------

cli remove "{$(conf),\"name\":\"e3\",\"keep_log\":true}"
status e3
if [[ $(val state) == failed && $(val exit_code) == 3 && -f $SHARED/e3/log && ! -e $SHARED/e3/work ]]; then
    pass "remove keep_log: status and log still answer, work/ is gone"
else
    fail "remove keep_log" "$OUT; $(ls "$SHARED/e3" 2>&1)"
fi
cli remove "{$(conf),\"name\":\"e3\"}"
status e3
expect "remove: the attempt is absent" state absent
submit busy '"argv":["sleep","60"]'
cli remove "{$(conf),\"name\":\"busy\"}"
expect "remove while it runs: ERR_CONFLICT" err ERR_CONFLICT

# --- the timeout ------------------------------------------------------------------------------------

wait_final to 110
to_s=$((($(now_ms) - t_timeout) / 1000))
if [[ $(val state) == failed && $(val timed_out) == 1 ]]; then
    pass "the 2 s task hit its 1 minute Slurm limit: failed, timed_out (after ${to_s}s; $(val reason))"
else
    fail "timeout" "after ${to_s}s: $OUT"
fi

# --- lost: the cluster restarts clean and forgets its jobs -------------------------------------

submit vanish '"argv":["sleep","6001"]'
wait_reason vanish running 20
vanish_id=$(cat "$SHARED/vanish/jobid" 2>/dev/null)
t0=$(now_ms)
bash deploy/slurm.sh down >>"$T/slurm.log" 2>&1
if [[ -z $(pgrep -f '^sleep 6001$' || true) ]]; then
    pass "down killed the running job's processes"
else
    fail "down left job processes" "$(pgrep -af '^sleep 6001$')"
fi
bash deploy/slurm.sh up >>"$T/slurm.log" 2>&1
restart_ms=$(($(now_ms) - t0))
# A new job takes the vanished job's id on the clean cluster: it is not mistaken for it.
submit newcomer '"argv":["sleep","30"]'
status vanish
if [[ $(val state) == lost && $(val reason) == "lost: job vanished"* ]]; then
    pass "after a clean restart (${restart_ms}ms) the running job is lost: $(val reason)"
else
    fail "lost job" "$OUT (old id $vanish_id, new $(cat "$SHARED/newcomer/jobid" 2>/dev/null))"
fi
# And a recorded id that now names another job (ids restart at 1) is not that job.
newcomer_id=$(cat "$SHARED/newcomer/jobid" 2>/dev/null)
echo "$newcomer_id" >"$SHARED/vanish/jobid"
status vanish
if [[ -n $newcomer_id && $(val state) == lost ]]; then
    pass "a recorded job id that now belongs to another job (${newcomer_id}) reads as lost, not as that job"
else
    fail "reused job id" "$OUT"
fi
status ok
if [[ $(val state) == succeeded && $(val exit_code) == 0 ]]; then
    pass "a job that finished before keeps its outcome (exit record) after Slurm forgot it"
else
    fail "exit record after restart" "$OUT"
fi
submit vanish '"argv":["sleep","6001"]'
if [[ $(val err) == ERR_OK && $(jobs_named vanish) == 0 ]]; then
    pass "submitting the lost attempt again does not run it twice"
else
    fail "resubmit of a lost attempt" "$(jobs_named vanish) jobs"
fi

# --- down ---------------------------------------------------------------------------------------------

t0=$(now_ms)
bash deploy/slurm.sh down >>"$T/slurm.log" 2>&1
down_ms=$(($(now_ms) - t0))
UP=""
left=""
for p in "$SLURMCTLD_PORT" "$SLURMRESTD_PORT" "$SLURMD_PORT" $((SLURMD_PORT + 1)) $((SLURMD_PORT + 2)); do
    ss -Hltn "sport = :$p" | grep -q . && left+=" port $p"
done
for p in $(pgrep -f "$SLURM_DIR/" || true); do
    [[ $p == "$$" ]] || left+=" pid $p ($(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null | cut -c1-60))"
done
if [[ -z $left ]]; then
    pass "down (${down_ms}ms): no process and no port left"
else
    fail "down left" "$left"
fi
if grep -qE 'LeakSanitizer|AddressSanitizer|runtime error:' "$LOG"; then
    fail "no sanitizer report from the client" "$(grep -E -A 8 'LeakSanitizer|AddressSanitizer|runtime error:' "$LOG" | head -n 30)"
fi
echo "# timings: up ${up_ms}ms (3 nodes), clean restart ${restart_ms}ms, down ${down_ms}ms, timeout seen after ${to_s}s"
finish "$SUITE"
