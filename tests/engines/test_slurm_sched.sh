#!/usr/bin/env bash
# Pipelines on a Slurm cluster through the whole platform: a cluster registered through the
# API (sealed JWT key), a project whose expand names it, and the real cube-scheduler and
# cube-watcher dispatching, watching, retrying, timing out and cancelling jobs on a 3-node
# Slurm (deploy/slurm.sh) — with the same pipelines as on this machine.  Also: the task's log
# read back through the API, a scheduler and watcher killed with SIGKILL mid-run that adopt
# the running job instead of submitting it twice, a job cancelled behind Cube's back, and an
# unreachable cluster that fails its own project's tasks with a clear reason while a project
# on this machine keeps running.  Skipped (one pass and a `# skip` line) when Slurm cannot
# run here (not root, or the packages cannot be installed).
set -uo pipefail
# shellcheck source=tests/sched/lib.sh
. "$(dirname "$0")/../sched/lib.sh"
unset SLURM_JWT
SUITE=slurm_sched

if ((EUID != 0)); then
    pass "slurm pipelines"
    echo "# skip $SUITE: not root: deploy/slurm.sh must run as root"
    finish "$SUITE"
    exit 0
fi

# The same cluster directory and ports as test_slurm.sh (which ran before and stopped it).
export SLURM_DIR=${SLURM_TEST_DIR:-$VAR-slurm}
k=$(((${CUBE_PORT:-18080} - 18080) / 100))
((k >= 0 && k < 100)) || k=$((${CUBE_PORT:-18080} % 100))
BASE=$((27000 + 20 * k))
export SLURM_NODES=3 SLURMCTLD_PORT=$BASE SLURMRESTD_PORT=$((BASE + 1)) SLURMD_PORT=$((BASE + 2))
DEAD_PORT=$((BASE + 10))
# A clean cluster: attempt names restart with every fresh test stack (cube-r1-t1-a1 ...), and
# a job of the same name and output path is adopted as the same attempt, by design.
bash deploy/slurm.sh down >/dev/null 2>&1
rm -rf "$SLURM_DIR/shared"
trap 'bash deploy/slurm.sh down >/dev/null 2>&1' EXIT
if ! bash deploy/slurm.sh up >"$T/slurm.log" 2>&1; then
    if ! dpkg-query -W -f='${db:Status-Abbrev}\n' slurmctld slurmd slurmrestd munge \
        slurm-wlm-jwt-plugin 2>/dev/null | grep -c '^ii' | grep -qx 5; then
        pass "slurm pipelines"
        echo "# skip $SUITE: the Slurm packages cannot be installed here"
        finish "$SUITE"
        exit 0
    fi
    fail "deploy/slurm.sh up" "$(tail -n 20 "$T/slurm.log")"
    sched_finish "$SUITE"
    exit 1
fi
slurm_down() { bash deploy/slurm.sh down >>"$T/slurm.log" 2>&1 || true; }
# shellcheck disable=SC1091
set -a && . "$SLURM_DIR/slurm.env" && set +a
jobs_named() { squeue -h -t all -n "$1" -o %i 2>/dev/null | wc -l; }
# wait_job_state NAME STATE SECONDS: polls Slurm until the job of that name is in STATE.
wait_job_state() {
    local i
    for ((i = 0; i < $3 * 5; i++)); do
        [[ $(squeue -h -t all -n "$1" -o %T 2>/dev/null | head -n 1) == "$2" ]] && return 0
        sleep 0.2
    done
    return 1
}

daemons_start
URL=http://127.0.0.1:$CUBE_PORT
J='Content-Type: application/json'
TOKEN=$(curl -s -X POST "$URL/api/login" -H "$J" \
    -d "{\"username\":\"admin\",\"password\":\"${CUBE_TEST_ADMIN_PASSWORD:-admin-test-pw}\"}" |
    sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
api() { # api METHOD PATH [BODY]: the body on stdout
    curl -s -X "$1" -H "Authorization: Bearer $TOKEN" -H "$J" ${3:+-d "$3"} "$URL$2"
}
id_of() { sed -n 's/^{"status":0,"message":"[^"]*","result":{"id" *: *\([0-9]*\).*/\1/p'; }

# --- the cluster, registered through the API, and a project on it -----------------------------
KEY=$(base64 -w0 <"$SLURM_JWT_KEY_FILE")
out=$(api POST /api/cluster_modelview/ "{\"name\":\"$PREFIX-hpc\",\"engine\":\"slurm\",
    \"endpoint\":\"$SLURM_REST_URL\",\"user\":\"root\",\"jwt_key\":\"$KEY\",
    \"queue\":\"$SLURM_PARTITION\",\"shared_dir\":\"$SLURM_SHARED_DIR\"}")
CID=$(id_of <<<"$out")
check "a Slurm cluster is registered through the API" test -n "$CID"
same "its JWT key is stored sealed, not as given" \
    "$(q "SELECT jwt_key LIKE 'cb1:%' AND jwt_key NOT LIKE '%$KEY%' FROM cluster WHERE id = ${CID:-0}")" t
check "GET check reaches slurmrestd and reports its version" \
    grep -q '"reachable":true.*"version":"22\.05' <<<"$(api GET "/api/cluster_modelview/${CID:-0}/check")"

HPC=$(q "INSERT INTO project (name, type, expand, created_by_fk)
         VALUES ('$PREFIX-hpc', 'org', '{\"cluster\": \"$PREFIX-hpc\"}', $ADMIN) RETURNING id")
LOCAL_PROJECT=$PROJECT
PROJECT=$HPC # mkpipe puts pipelines in $PROJECT

# --- a chain runs on Slurm; its log comes back through the API ---------------------------------
P=$(mkpipe chain '{"tb":{"upstream":["ta"]}}')
mktask "$P" ta 'echo marker-$KFJ_RUN_ID on $SLURMD_NODENAME job $SLURM_JOB_ID' >/dev/null
mktask "$P" tb 'test -n "$SLURM_JOB_ID" && echo second' >/dev/null
R=$(run_of "$P")
expect "a two-task chain succeeds on the Slurm cluster" 60 "SELECT state FROM run WHERE id = $R" succeeded
TA=$(ti_of "$R" ta)
same "each attempt records the cluster it ran on" \
    "$(q "SELECT string_agg(DISTINCT a.executor, ',') FROM task_attempt a JOIN task_instance ti ON ti.id = a.task_instance_id WHERE ti.run_id = $R")" \
    "cluster:$CID"
NAME=$(q "SELECT external_name FROM task_attempt WHERE task_instance_id = $TA")
same "Slurm has exactly one job of the attempt's name" "$(jobs_named "$NAME")" 1
log=$(api GET "/api/task_instance/$TA/log?offset=0")
if grep -q "marker-$R on n[0-9] job [0-9]" <<<"$log"; then
    pass "the task's output is read back through the log API"
else
    fail "the task's output is read back through the log API" "$log"
fi
log=$(api GET "/api/task_instance/$TA/log/download")
if grep -q "marker-$R" <<<"$log"; then pass "the whole log downloads"; else
    fail "the whole log downloads" "$log"; fi

# --- retries, then failure with the exit code --------------------------------------------------
P=$(mkpipe retry '{}')
mktask "$P" flaky 'echo trying; exit 3' retry=1 >/dev/null
R=$(run_of "$P")
expect "a task exiting 3 on Slurm is retried, then fails" 90 \
    "SELECT state || ':' || try_number || ':' || exit_code FROM task_instance WHERE run_id = $R" \
    "failed:2:3"
same "the reason names the exit code" \
    "$(q "SELECT split_part(reason, ';', 1) FROM task_instance WHERE run_id = $R")" "exit 3"
same "two tries, two jobs" "$(q "SELECT count(*) FROM task_attempt a JOIN task_instance ti ON ti.id = a.task_instance_id WHERE ti.run_id = $R")" 2

# --- the watcher's timeout cancels the job ------------------------------------------------------
P=$(mkpipe timeout '{}')
mktask "$P" slow 'sleep 120' timeout=3 >/dev/null
R=$(run_of "$P")
expect "a task past its timeout fails with the timeout as its reason" 60 \
    "SELECT state || ':' || reason FROM task_instance WHERE run_id = $R" "failed:timeout after 3 s"
NAME=$(q "SELECT a.external_name FROM task_attempt a JOIN task_instance ti ON ti.id = a.task_instance_id WHERE ti.run_id = $R")
check "and its Slurm job was cancelled" wait_job_state "$NAME" CANCELLED 20

# --- SIGKILL both daemons mid-run: the job is adopted, not submitted again ---------------------
P=$(mkpipe adopt '{}')
mktask "$P" long 'sleep 5; echo finished-after-restart' >/dev/null
R=$(run_of "$P")
expect "the task runs on Slurm" 60 "SELECT state FROM task_instance WHERE run_id = $R" running
daemon_stop cube-scheduler KILL
daemon_stop cube-watcher KILL
sleep 1
daemons_start
expect "after SIGKILL and restart the run still succeeds" 60 "SELECT state FROM run WHERE id = $R" succeeded
NAME=$(q "SELECT a.external_name FROM task_attempt a JOIN task_instance ti ON ti.id = a.task_instance_id WHERE ti.run_id = $R")
same "with one try and one Slurm job" \
    "$(q "SELECT try_number FROM task_instance WHERE run_id = $R"):$(jobs_named "$NAME")" "1:1"

# --- a job cancelled behind Cube's back ----------------------------------------------------------
P=$(mkpipe outside '{}')
mktask "$P" victim 'sleep 120' retry=2 >/dev/null
R=$(run_of "$P")
expect "the task runs on Slurm" 60 "SELECT state FROM task_instance WHERE run_id = $R" running
NAME=$(q "SELECT a.external_name FROM task_attempt a JOIN task_instance ti ON ti.id = a.task_instance_id WHERE ti.run_id = $R")
scancel -n "$NAME" 2>/dev/null
expect "a job cancelled outside Cube fails its task without a retry" 60 \
    "SELECT state || ':' || try_number FROM task_instance WHERE run_id = $R" "failed:1"
check "the reason says it was cancelled" \
    grep -qi cancel <<<"$(q "SELECT reason FROM task_instance WHERE run_id = $R")"

# --- stopping a run cancels its jobs -------------------------------------------------------------
P=$(mkpipe stop '{}')
mktask "$P" sleeper 'sleep 120' >/dev/null
R=$(run_of "$P")
expect "the task runs on Slurm" 60 "SELECT state FROM task_instance WHERE run_id = $R" running
sched_cmd cancel "$R" >/dev/null
expect "a stopped run ends cancelled" 60 "SELECT state FROM run WHERE id = $R" cancelled
NAME=$(q "SELECT a.external_name FROM task_attempt a JOIN task_instance ti ON ti.id = a.task_instance_id WHERE ti.run_id = $R")
check "its Slurm job is cancelled" wait_job_state "$NAME" CANCELLED 20

# --- an unreachable cluster fails its project's tasks; this machine keeps running ---------------
out=$(api POST /api/cluster_modelview/ "{\"name\":\"$PREFIX-dead\",\"engine\":\"slurm\",
    \"endpoint\":\"http://127.0.0.1:$DEAD_PORT\",\"user\":\"root\",\"jwt_key\":\"$KEY\",
    \"queue\":\"$SLURM_PARTITION\",\"shared_dir\":\"$SLURM_SHARED_DIR\"}")
DEAD=$(q "INSERT INTO project (name, type, expand, created_by_fk)
          VALUES ('$PREFIX-dead', 'org', '{\"cluster\": \"$PREFIX-dead\"}', $ADMIN) RETURNING id")
PROJECT=$DEAD
PD=$(mkpipe dead '{}')
mktask "$PD" nowhere 'echo never' >/dev/null
PROJECT=$LOCAL_PROJECT
PL=$(mkpipe here '{}')
mktask "$PL" here 'echo on-this-machine' >/dev/null
RD=$(run_of "$PD")
RL=$(run_of "$PL")
expect "a task of the unreachable cluster fails" 60 "SELECT state FROM task_instance WHERE run_id = $RD" failed
check "with a reason naming the submit failure" \
    grep -q '^submit failed' <<<"$(q "SELECT reason FROM task_instance WHERE run_id = $RD")"
expect "meanwhile a pipeline on this machine succeeds" 60 "SELECT state FROM run WHERE id = $RL" succeeded
same "and ran on the local engine" \
    "$(q "SELECT a.executor FROM task_attempt a JOIN task_instance ti ON ti.id = a.task_instance_id WHERE ti.run_id = $RL")" local

slurm_down
sched_finish "$SUITE"
