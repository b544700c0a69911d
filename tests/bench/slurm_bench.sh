#!/usr/bin/env bash
# tests/bench/slurm_bench.sh — the Slurm benchmark of issue 6.  Not a test: it prints figures,
# each marked against the issue's target, on a private local Slurm cluster (deploy/slurm.sh):
#   (a) submit-to-running latency, one job at a time, the three paths interleaved in the same
#       run: `sbatch` alone, slurmrestd alone (POST /job/submit, the request Cube makes), and
#       Cube (POST /api/pipeline_modelview/<id>/run of a one-task pipeline whose project runs
#       on the cluster); each from just before the submit to the job's first action (its script
#       writes `date +%s.%N`), split with slurmctld's log into submit, the wait for slurmctld's
#       scheduling pass, and launch.  Target: Cube adds <= 100 ms at p50 (p50 Cube - p50
#       sbatch), judged without that wait (see tests/bench/README.md); end to end also shown.
#   (b) 500 tasks through Cube (one run, a fan-out): every task instance succeeded with exactly
#       one attempt, Slurm ran exactly one job per attempt (squeue -t all), and each task's
#       marker file was written exactly once; the time it took and tasks/s, with 500 jobs
#       through `sbatch` alone (one at a time, as a script would) for scale.
#   (c) the daemons' memory (VmRSS and peak VmHWM; figures only), and the load average before
#       and after (the machine is shared).
#
#   bash tests/bench/slurm_bench.sh        # as root: Slurm's daemons must run as root
#
# It starts a private stack (deploy/stack.sh, release build from `make build`) under
# var/slurmbench (BENCH_VAR; wiped first) on ports 48780/45833/46780 (BENCH_PORT,
# BENCH_PG_PORT, BENCH_REDIS_PORT) with CUBE_EXEC_SLOTS=64, and a clean Slurm cluster of
# BENCH_SLURM_NODES (4) nodes under <BENCH_VAR>-slurm: slurmctld on BENCH_SLURM_PORT (29780),
# slurmrestd on +1, the nodes on +2.. (the tests use 27000-28999; below 32768, no outgoing
# connection of Slurm's many takes one of them first).  Both are stopped when it exits.
# Variables: BENCH_N (30 samples of each path), BENCH_TASKS (500), BENCH_PARALLELISM (the
# fan-out's, 32), BENCH_ONLY (a and/or b), BENCH_STRICT (1: exit 1 when a target is missed).
# The exit status is 0 when the benchmark ran, whatever the figures; a failed step exits 1.
# About 6 minutes.
set -euo pipefail
unset SLURM_JWT # it would switch the Slurm commands to auth/jwt (shared/docs/engines.md)
export LC_ALL=C # ${#body} counts bytes, for Content-Length
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD

CUBE_VAR=$(realpath -m -- "${BENCH_VAR:-var/slurmbench}")
export CUBE_VAR
export CUBE_PORT=${BENCH_PORT:-48780} CUBE_PG_PORT=${BENCH_PG_PORT:-45833}
export CUBE_REDIS_PORT=${BENCH_REDIS_PORT:-46780}
export CUBE_BUILD=$ROOT/build CUBE_ADMIN_PASSWORD=bench-pw CUBE_EXEC_SLOTS=64 CUBE_LOG_LEVEL=info
SPORT=${BENCH_SLURM_PORT:-29780}
export SLURM_DIR=$CUBE_VAR-slurm SLURM_NODES=${BENCH_SLURM_NODES:-4}
export SLURMCTLD_PORT=$SPORT SLURMRESTD_PORT=$((SPORT + 1)) SLURMD_PORT=$((SPORT + 2))
N=${BENCH_N:-30}
TASKS=${BENCH_TASKS:-500}
PAR=${BENCH_PARALLELISM:-32}
ONLY=${BENCH_ONLY:-ab}
STRICT=${BENCH_STRICT:-0}
T_ADD_MS=100 # issue 6: Cube adds <= 100 ms at p50
want() { [[ $ONLY == *[$1]* ]]; }
missed=0

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
    printf 'bench: error: %s\n' "$*" >&2
    exit 1
}

if ((EUID != 0)); then
    # Like the engine tests: Slurm cannot run here, which is not a failure of the benchmark.
    echo "Cube Slurm benchmark: skipped, it must run as root (slurmd runs the jobs as their users)"
    ((STRICT == 0)) && exit 0
    exit 1
fi
for v in N TASKS PAR SLURM_NODES SPORT; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 ]] || die "$v=${!v} is not a count >= 1"
done
((SPORT + 2 + SLURM_NODES <= 65535)) || die "BENCH_SLURM_PORT=$SPORT is too high"
for b in cube cube-api cube-scheduler cube-watcher cube-shim; do
    [[ -x build/bin/$b ]] || die "build/bin/$b is missing: run make build"
done
for tool in curl psql awk; do
    command -v "$tool" >/dev/null || die "$tool is not installed (make deps installs it)"
done

stack_started=0 slurm_started=0
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if ((stack_started)); then
        say "stopping the stack"
        bash deploy/stack.sh stop >/dev/null 2>&1 || true
    fi
    if ((slurm_started)); then
        say "stopping the Slurm cluster"
        bash deploy/slurm.sh down >/dev/null 2>&1 || true
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A 5 ms nap without forking sleep(1): a read with a timeout on a pipe nobody writes to.
exec {NAP_FD}<> <(:)
nap() { read -rt 0.005 -u "$NAP_FD" _ || true; }
# A pause of 0-1 s at random before each latency sample: slurmctld allocates a new job at its
# next scheduling pass, and a submit at a fixed time after the previous job's end would meet
# the same phase of it every time (the paths differ in what ends their previous sample).
jitter() { read -rt "0.$(printf '%03d' $((RANDOM % 1000)))" -u "$NAP_FD" _ || true; }

# ---------------------------------------------------------------- the stack and the cluster

for port in "$CUBE_PORT" "$CUBE_PG_PORT" "$CUBE_REDIS_PORT" "$SLURMCTLD_PORT" "$SLURMRESTD_PORT" \
    $(seq "$SLURMD_PORT" $((SLURMD_PORT + SLURM_NODES - 1))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "127.0.0.1:$port is already in use (BENCH_PORT, BENCH_PG_PORT, BENCH_REDIS_PORT, BENCH_SLURM_PORT move them)"
    fi
done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
stack_started=1
bash deploy/stack.sh stop >/dev/null 2>&1 || true
if [[ -e $CUBE_VAR ]]; then
    # Only ever a stack directory.
    [[ -e $CUBE_VAR/pg/PG_VERSION || -z $(ls -A "$CUBE_VAR") ]] || die "refusing to wipe $CUBE_VAR"
    rm -rf "$CUBE_VAR"
fi
say "starting the stack under ${CUBE_VAR#"$ROOT"/} (port $CUBE_PORT, postgres $CUBE_PG_PORT, redis $CUBE_REDIS_PORT)"
bash deploy/stack.sh start >/dev/null || die "deploy/stack.sh start failed (logs in $CUBE_VAR/log/)"

# A clean cluster: attempt names restart with every fresh stack (cube-r1-t1-a1 ...), and a job
# of the same name and output path would be adopted as the same attempt.
slurm_started=1
bash deploy/slurm.sh down >/dev/null 2>&1 || true
rm -rf "$SLURM_DIR/shared"
say "starting a $SLURM_NODES-node Slurm cluster under ${SLURM_DIR#"$ROOT"/} (slurmctld $SLURMCTLD_PORT, slurmrestd $SLURMRESTD_PORT)"
bash deploy/slurm.sh up >"$CUBE_VAR/log/slurm-up.log" 2>&1 ||
    die "deploy/slurm.sh up failed: $(tail -n 5 "$CUBE_VAR/log/slurm-up.log")"
# shellcheck disable=SC1091
set -a && . "$SLURM_DIR/slurm.env" && set +a
CTLD_LOG=$SLURM_DIR/log/slurmctld.log # kept across clusters: read from here on
CTLD_MARK=$(stat -c %s "$CTLD_LOG")
MARK=$SLURM_SHARED_DIR/bench # the jobs' markers; the nodes share this host's file system
mkdir -p "$MARK/sbatch" "$MARK/rest" "$MARK/lat" "$MARK/fan" "$MARK/sbfan" "$CUBE_VAR/jobs"
chmod 1777 "$MARK" "$MARK"/*

psql_() { psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$CUBE_VAR/run" -p "$CUBE_PG_PORT" -U cube cube "$@"; }
q() { psql_ -c "$1"; }
URL=http://127.0.0.1:$CUBE_PORT
J='Content-Type: application/json'
TOKEN=$(curl -sS -X POST "$URL/api/login" -H "$J" -d '{"username":"admin","password":"bench-pw"}' |
    sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[[ -n $TOKEN ]] || die "login failed"
api() { # api METHOD PATH [BODY]: the body on stdout
    curl -sS -X "$1" -H "Authorization: Bearer $TOKEN" -H "$J" ${3:+--data-binary "$3"} "$URL$2"
}
id_of() { sed -n 's/^{"status":0,"message":"[^"]*","result":{"id" *: *\([0-9]*\).*/\1/p'; }

# The cluster through the API (its JWT key sealed), and a project on it; the warm-up below
# proves that Cube reaches it.
KEY=$(base64 -w0 <"$SLURM_JWT_KEY_FILE")
out=$(api POST /api/cluster_modelview/ "{\"name\":\"bench-hpc\",\"engine\":\"slurm\",
    \"endpoint\":\"$SLURM_REST_URL\",\"user\":\"root\",\"jwt_key\":\"$KEY\",
    \"queue\":\"$SLURM_PARTITION\",\"shared_dir\":\"$SLURM_SHARED_DIR\"}")
CID=$(id_of <<<"$out")
[[ -n $CID ]] || die "cannot register the cluster: ${out:0:300}"
ADMIN=$(q "SELECT id FROM users WHERE username = 'admin'")
TEMPLATE=$(q "SELECT id FROM job_template WHERE name = 'customize'")
HPC=$(q "INSERT INTO project (name, type, expand, created_by_fk)
         VALUES ('bench-hpc', 'org', '{\"cluster\": \"bench-hpc\"}', $ADMIN) RETURNING id")

# mkpipe NAME PARALLELISM: a pipeline of the project on Slurm; mktasks PIPE N COMMAND: N
# independent shell tasks n1..nN with the template's default resources (1 cpu, 2G).
mkpipe() {
    q "INSERT INTO pipeline (project_id, name, created_by_fk, parallelism)
       VALUES ($HPC, '$1', $ADMIN, $2) RETURNING id"
}
mktasks() {
    psql_ -v cmd="$3" <<EOF >/dev/null
INSERT INTO task (pipeline_id, name, job_template_id, args)
SELECT $1, 'n' || i, $TEMPLATE, json_build_object('command', :'cmd') FROM generate_series(1, $2) i
EOF
}
# wait_run RUN SECONDS: prints the run's final state (or the last one seen).
wait_run() {
    local i s=""
    for ((i = 0; i < $2 * 10; i++)); do
        s=$(q "SELECT state FROM run WHERE id = $1")
        [[ $s == succeeded || $s == failed || $s == cancelled ]] && break
        sleep 0.1
    done
    echo "$s"
}
# wait_file PATH SECONDS: until PATH is non-empty (builtins: no load while a job starts).
wait_file() {
    local i
    for ((i = 0; i < $2 * 200; i++)); do
        [[ -s $1 ]] && return 0
        nap
    done
    return 1
}
# wait_job ID SECONDS: until Slurm says the job is over.
wait_job() {
    local i s
    for ((i = 0; i < $2 * 20; i++)); do
        s=$(squeue -h -t all -j "$1" -o %T 2>/dev/null || true)
        [[ $s == COMPLETED || $s == FAILED || $s == CANCELLED* || $s == TIMEOUT ]] && return 0
        sleep 0.05
    done
    return 1
}
# http_raw PORT HEAD [BODY]: one HTTP/1.0 exchange over bash's /dev/tcp (HEAD: the request
# line and headers, one a line), the answer into RESP and the clock just before the connection
# opened into T0.  No client process to start (curl's start is tens of ms on a busy machine),
# so the time is that of the request.
http_raw() {
    local fd body=${3:-} req
    req="${2//$'\n'/$'\r\n'}"$'\r\n'"Content-Length: ${#body}"$'\r\n\r\n'"$body"
    T0=$EPOCHREALTIME
    exec {fd}<>"/dev/tcp/127.0.0.1/$1"
    printf '%s' "$req" >&"$fd"
    RESP=""
    IFS= read -r -d '' -u "$fd" RESP || true
    exec {fd}<&-
}
run_api() { # PIPE: starts a run through the API; its id into RUN_ID, the clock into T0
    http_raw "$CUBE_PORT" "POST /api/pipeline_modelview/$1/run HTTP/1.0
Host: 127.0.0.1
Authorization: Bearer $TOKEN"
    RUN_ID=$(id_of <<<"${RESP#*$'\r\n\r\n'}")
    [[ -n $RUN_ID ]] || die "POST /api/pipeline_modelview/$1/run: ${RESP:0:300}"
}
pct() { sort -n | awk -v p="$1" '{v[NR]=$1} END {if (!NR) {print "nan"; exit} i=int(NR*p/100+0.999); if (i<1) i=1; printf "%.1f\n", v[i]}'; }
mark() { # NAME VALUE OK(0/1) TARGET
    local verdict=PASS
    if [[ $3 != 1 ]]; then
        verdict=FAIL
        missed=1
    fi
    printf '  %-58s %16s   %s (target %s)\n' "$1" "$2" "$verdict" "$4"
}
info() { printf '  %-58s %16s\n' "$1" "$2"; }

# ---------------------------------------------------------------- (a) latency

# Three ways to the same job: sbatch, which talks to slurmctld itself; slurmrestd alone (the
# request Cube makes, without Cube); and Cube.  Same partition, 1 cpu and 2 GiB (the task
# template's defaults).  Each job's first action writes "<date +%s.%N> <job id>"; each sample
# waits for its job to end, so every job starts on an idle cluster.
SB_SCRIPT=$CUBE_VAR/sbatch-job.sh
# shellcheck disable=SC2016 # for the job's shell
printf '#!/bin/bash\ndate +"%%s.%%N $SLURM_JOB_ID" >"$1"\n' >"$SB_SCRIPT"
RAW=$CUBE_VAR/lat-raw.txt # kind t0 start jobid [queued ready], epoch seconds
sbatch_once() { # TAG
    local t0 id
    t0=$EPOCHREALTIME
    id=$(sbatch --parsable -J "bench-sb-$1" -p "$SLURM_PARTITION" -n 1 -c 1 --mem=2048 --no-requeue \
        -D "$CUBE_VAR/jobs" -o "$CUBE_VAR/jobs/sb-$1.out" "$SB_SCRIPT" "$MARK/sbatch/$1") ||
        die "sbatch failed"
    wait_file "$MARK/sbatch/$1" 60 || die "sbatch job $id ($1) did not start within 60 s"
    wait_job "$id" 60 || die "sbatch job $id ($1) did not end within 60 s"
    echo "sbatch $t0 $(<"$MARK/sbatch/$1")" >>"$RAW"
}
rest_once() { # TAG
    local body id
    body="{\"script\":\"#!/bin/bash\\ndate +\\\"%s.%N \$SLURM_JOB_ID\\\" >$MARK/rest/$1\\n\",
\"job\":{\"name\":\"bench-rest-$1\",\"partition\":\"$SLURM_PARTITION\",
\"current_working_directory\":\"$CUBE_VAR/jobs\",\"standard_output\":\"$CUBE_VAR/jobs/rest-$1.out\",
\"environment\":{\"PATH\":\"/usr/bin:/bin\"},\"no_requeue\":true,\"tasks\":1,\"cpus_per_task\":1,
\"memory_per_node\":2048}}"
    http_raw "$SLURMRESTD_PORT" "POST ${SLURM_API#http://127.0.0.1:"$SLURMRESTD_PORT"}/job/submit HTTP/1.0
Host: 127.0.0.1
X-SLURM-USER-NAME: $SLURM_REST_USER
X-SLURM-USER-TOKEN: $SLURM_REST_TOKEN
Content-Type: application/json" "$body"
    id=$(sed -n 's/.*"job_id" *: *\([0-9]*\).*/\1/p' <<<"$RESP")
    [[ -n $id ]] || die "POST /job/submit to slurmrestd: ${RESP:0:300}"
    wait_file "$MARK/rest/$1" 60 || die "job $id ($1, through slurmrestd) did not start within 60 s"
    wait_job "$id" 60 || die "job $id ($1) did not end within 60 s"
    echo "rest $T0 $(<"$MARK/rest/$1")" >>"$RAW"
}
cube_once() { # PIPE
    local t0 r
    run_api "$1"
    t0=$T0 r=$RUN_ID
    wait_file "$MARK/lat/$r" 60 ||
        die "run $r: its job did not start within 60 s ($(q "SELECT state || ' ' || reason FROM task_instance WHERE run_id = $r"))"
    [[ $(wait_run "$r" 60) == succeeded ]] || die "run $r did not succeed"
    echo "cube $t0 $(<"$MARK/lat/$r") $(q "SELECT extract(epoch FROM r.queued_at), extract(epoch FROM ti.scheduled_at)
        FROM run r JOIN task_instance ti ON ti.run_id = r.id WHERE r.id = $r" | tr '|' ' ')" >>"$RAW"
}

if want a; then
    LAT=$(mkpipe bench-latency 1)
    mktasks "$LAT" 1 "date +\"%s.%N \$SLURM_JOB_ID\" >\"$MARK/lat/\$KFJ_RUN_ID\""
    say "warming up: one job through each path"
    : >"$RAW"
    sbatch_once warm
    rest_once warm
    cube_once "$LAT"
    : >"$RAW"
    say "latency: $N samples of each path, interleaved, one job at a time"
    for ((i = 1; i <= N; i++)); do
        jitter
        sbatch_once "s$i"
        jitter
        rest_once "r$i"
        jitter
        cube_once "$LAT"
    done
    # Per sample, in ms: total, submit (-> slurmctld logs the job), wait (-> slurmctld
    # allocates it, at its next scheduling pass), launch (-> the first action), total - wait;
    # for Cube also request -> run queued, -> task ready, -> slurmctld has the job.
    tail -c +$((CTLD_MARK + 1)) "$CTLD_LOG" | awk -v raw="$RAW" '
        function t(s, g) { # [2026-11-30T06:29:58.268] -> epoch seconds (local time, as Slurm logs)
            gsub(/\[|\]/, "", s)
            gsub(/[-:T]/, " ", s)
            split(s, g, " ")
            return mktime(g[1] " " g[2] " " g[3] " " g[4] " " g[5] " " int(g[6])) + (g[6] - int(g[6]))
        }
        match($0, /JobId=[0-9]+/) { id = substr($0, RSTART + 6, RLENGTH - 6) }
        /_slurm_rpc_submit_batch_job: JobId=/ { acc[id] = t($1) }
        /sched: Allocate JobId=|backfill: _start_job: Started JobId=/ { if (!(id in alloc)) alloc[id] = t($1) }
        END {
            while ((getline line < raw) > 0) {
                n = split(line, f, " "); k = f[1]; t0 = f[2]; st = f[3]; id = f[4]
                if (!(id in acc) || !(id in alloc)) { print "missing slurmctld times for job " id > "/dev/stderr"; continue }
                w = alloc[id] - acc[id]
                printf "%s %.1f %.1f %.1f %.1f %.1f", k, (st - t0) * 1000, (acc[id] - t0) * 1000, w * 1000,
                       (st - alloc[id]) * 1000, (st - t0 - w) * 1000
                if (k == "cube")
                    printf " %.1f %.1f %.1f", (f[5] - t0) * 1000, (f[6] - f[5]) * 1000, (acc[id] - f[6]) * 1000
                printf "\n"
            }
        }' >"$CUBE_VAR/lat.txt"
fi

# ---------------------------------------------------------------- (b) 500 tasks

if want b; then
    FAN=$(mkpipe bench-fan "$PAR")
    mktasks "$FAN" "$TASKS" "echo \"\$SLURM_JOB_ID \$SLURMD_NODENAME\" >>\"$MARK/fan/\$KFJ_TASK_NAME\""
    say "$TASKS tasks in one run through Cube, parallelism $PAR"
    run_api "$FAN"
    t0=$T0 FR=$RUN_ID
    fan_state=$(wait_run "$FR" 1800)
    fan_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
    # PostgreSQL: every task instance succeeded on its first and only attempt, on the cluster.
    read -r ti_n ti_ok ti_one att_n att_ok att_names < <(q "
        SELECT count(*), count(*) FILTER (WHERE ti.state = 'succeeded'),
               count(*) FILTER (WHERE ti.try_number = 1),
               (SELECT count(*) FROM task_attempt a JOIN task_instance t ON t.id = a.task_instance_id WHERE t.run_id = $FR),
               (SELECT count(*) FROM task_attempt a JOIN task_instance t ON t.id = a.task_instance_id
                 WHERE t.run_id = $FR AND a.state = 'succeeded' AND a.executor = 'cluster:$CID'),
               (SELECT count(DISTINCT a.external_name) FROM task_attempt a JOIN task_instance t ON t.id = a.task_instance_id WHERE t.run_id = $FR)
        FROM task_instance ti WHERE ti.run_id = $FR" | tr '|' ' ')
    max_running=$(q "SELECT coalesce(max(n), 0) FROM (SELECT (SELECT count(*) FROM task_instance o WHERE o.run_id = $FR
                    AND o.started_at <= t.started_at AND o.finished_at > t.started_at) AS n
                    FROM task_instance t WHERE t.run_id = $FR) s")
    # Slurm: the jobs named after this run's attempts (cube-r<run>-t<ti>-a<try>), with state.
    squeue -h -t all -o '%j %T' 2>/dev/null | awk -v p="cube-r$FR-" 'index($1, p) == 1' >"$CUBE_VAR/fan-jobs.txt" || true
    sl_jobs=$(wc -l <"$CUBE_VAR/fan-jobs.txt")
    sl_names=$(awk '{print $1}' "$CUBE_VAR/fan-jobs.txt" | sort -u | wc -l)
    sl_done=$(awk '$2 == "COMPLETED"' "$CUBE_VAR/fan-jobs.txt" | wc -l)
    sl_known=$(q "SELECT a.external_name FROM task_attempt a JOIN task_instance t ON t.id = a.task_instance_id
                  WHERE t.run_id = $FR" | sort | comm -12 - <(awk '{print $1}' "$CUBE_VAR/fan-jobs.txt" | sort -u) | wc -l)
    # The markers: one file per task, one line per execution.
    mk_files=$(find "$MARK/fan" -type f | wc -l)
    mk_lines=$(find "$MARK/fan" -type f -exec cat {} + | wc -l)
    mk_twice=$(find "$MARK/fan" -type f -exec awk '{n[FILENAME]++} END {for (f in n) if (n[f] > 1) k++; print k + 0}' {} +)

    # For scale: the same number of jobs through sbatch alone, submitted one at a time.
    say "$TASKS jobs through sbatch alone, one at a time"
    t0=$EPOCHREALTIME
    for ((i = 1; i <= TASKS; i++)); do
        sbatch --parsable -J "bench-sbfan-$i" -p "$SLURM_PARTITION" -n 1 -c 1 --mem=2048 --no-requeue \
            -D "$CUBE_VAR/jobs" -o /dev/null "$SB_SCRIPT" "$MARK/sbfan/$i" >/dev/null || die "sbatch failed"
    done
    sb_submit_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
    for ((i = 0; i < 18000; i++)); do
        [[ $(squeue -h -t pending,configuring,running,completing -o %j 2>/dev/null |
            grep -c '^bench-sbfan-' || true) == 0 ]] && break
        sleep 0.1
    done
    sb_fan_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
    sb_fan_done=$(find "$MARK/sbfan" -type f | wc -l)
fi

# ---------------------------------------------------------------- report

mem() { # NAME PIDFILE: "VmRSS / VmHWM" in MiB
    local pid
    pid=$(cat "$2" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/status ]] || return 0
    awk -v n="$1" '/^VmRSS/ {r = $2} /^VmHWM/ {h = $2}
        END {printf "  %-58s %16s\n", n, sprintf("%.1f / %.1f MiB", r / 1024, h / 1024)}' "/proc/$pid/status"
}
# col KIND COLUMN P: the P-th percentile of a column of lat.txt for one path.
col() { awk -v k="$1" -v c="$2" '$1 == k {print $c}' "$CUBE_VAR/lat.txt" | pct "$3"; }
row() { # LABEL COLUMN: p50 / p99 of each path
    printf '  %-36s %17s %17s %17s\n' "$1" "$(col sbatch "$2" 50) / $(col sbatch "$2" 99)" \
        "$(col rest "$2" 50) / $(col rest "$2" 99)" "$(col cube "$2" 50) / $(col cube "$2" 99)"
}
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a != "nan" && a + 0 <= b + 0)}' && echo 1 || echo 0; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a - b}'; }

echo
echo "Cube Slurm benchmark ($(nproc) cores; Slurm $(sinfo -V 2>/dev/null | awk '{print $2}'), $SLURM_NODES nodes of $(sinfo -h -N -o %c 2>/dev/null | head -n 1) cpus on this host, slurmrestd with JWT)"
echo "load average before: $load_before"
if want a; then
    echo "(a) submit -> the job's first action, ms, p50 / p99 of $N samples of each path (interleaved, one job at a time):"
    printf '  %-36s %17s %17s %17s\n' "" "sbatch" "slurmrestd alone" "Cube"
    row "end to end" 2
    row "  submit -> slurmctld has the job" 3
    row "  waiting for a scheduling pass" 4
    row "  allocated -> first action" 5
    row "end to end, without the wait" 6
    echo "  Cube's submit: request -> run queued $(col cube 7 50), -> task ready $(col cube 8 50), -> slurmctld has the job $(col cube 9 50) ms (p50)"
    added=$(sub "$(col cube 6 50)" "$(col sbatch 6 50)")
    mark "Cube adds: p50 Cube - p50 sbatch, without the wait" "$added ms" "$(le "$added" "$T_ADD_MS")" "<= $T_ADD_MS ms"
    info "Cube adds end to end (the wait is noise: 0-1 s, both paths)" "$(sub "$(col cube 2 50)" "$(col sbatch 2 50)") ms"
    info "Cube adds over slurmrestd alone, without the wait" "$(sub "$(col cube 6 50)" "$(col rest 6 50)") ms"
fi
if want b; then
    echo "(b) $TASKS tasks in one run (a fan-out, parallelism $PAR), through Cube on Slurm:"
    info "run state" "$fan_state"
    info "POST .../run -> the run finished (polled every 0.1 s)" "$fan_s s"
    info "tasks/s" "$(awk -v n="$TASKS" -v s="$fan_s" 'BEGIN {printf "%.1f", (s > 0 ? n / s : 0)}')"
    info "most tasks running at once (Cube's view)" "$max_running"
    mark "task instances succeeded, on try 1 (PostgreSQL)" "$ti_ok / $ti_one of $ti_n" \
        "$([[ $ti_n == "$TASKS" && $ti_ok == "$TASKS" && $ti_one == "$TASKS" ]] && echo 1 || echo 0)" "$TASKS / $TASKS of $TASKS"
    mark "attempts: rows, succeeded on the cluster, distinct names" "$att_n, $att_ok, $att_names" \
        "$([[ $att_n == "$TASKS" && $att_ok == "$TASKS" && $att_names == "$TASKS" ]] && echo 1 || echo 0)" "$TASKS each"
    mark "Slurm jobs of the run: jobs, names, COMPLETED" "$sl_jobs, $sl_names, $sl_done" \
        "$([[ $sl_jobs == "$TASKS" && $sl_names == "$TASKS" && $sl_done == "$TASKS" && $sl_known == "$TASKS" ]] && echo 1 || echo 0)" "$TASKS each"
    mark "markers: files, lines, files not written exactly once" "$mk_files, $mk_lines, $mk_twice" \
        "$([[ $mk_files == "$TASKS" && $mk_lines == "$TASKS" && $mk_twice == 0 ]] && echo 1 || echo 0)" "$TASKS, $TASKS, 0"
    info "for scale, $TASKS jobs through sbatch alone: submitted in" "$sb_submit_s s"
    info "  all finished ($sb_fan_done started) after, jobs/s" "$sb_fan_s s, $(awk -v n="$TASKS" -v s="$sb_fan_s" 'BEGIN {printf "%.1f", (s > 0 ? n / s : 0)}')"
fi
echo "(c) memory after the runs, VmRSS / peak VmHWM:"
mem cube-scheduler "$CUBE_VAR/run/cube-scheduler.pid"
mem cube-watcher "$CUBE_VAR/run/cube-watcher.pid"
mem slurmctld "$SLURM_DIR/run/slurmctld.pid"
mem slurmrestd "$SLURM_DIR/run/slurmrestd.pid"
for f in "$SLURM_DIR"/run/slurmd-*.pid; do mem "$(basename "$f" .pid)" "$f"; done
info "jobs slurmctld remembers (MinJobAge 3600 s)" "$(squeue -h -t all -o %i 2>/dev/null | wc -l)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "samples: ${CUBE_VAR#"$ROOT"/}/lat.txt (path, then ms: end to end, submit, wait, launch, without the wait; Cube: request -> queued, -> ready, -> slurmctld); logs: ${CUBE_VAR#"$ROOT"/}/log/"
((STRICT == 0 || missed == 0))
