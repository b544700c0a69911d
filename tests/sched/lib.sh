# shellcheck shell=bash
# Helpers for the scheduler scenario tests (sourced, not run). They work on the running test
# stack that tests/run.sh starts (or any stack: CUBE_VAR, CUBE_PG_PORT, CUBE_BUILD as
# deploy/stack.sh reads them), talk to PostgreSQL with psql, and run cube-scheduler and
# cube-watcher themselves with test settings:
#   CUBE_SCHED_INTERVAL_MS=200, CUBE_LOST_GRACE_S=2, CUBE_WEBHOOK_TIMEOUT_MS=1000 and
#   CUBE_CLOCK_FILE=$T/clock, the documented test switch: `clock_shift 60` moves the
#   daemons' clock a minute ahead instead of waiting.
# sched_finish puts the stack's own daemons back (deploy/stack.sh's way of starting them).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT" || exit 1
# shellcheck source=tests/deploy/lib.sh
. tests/deploy/lib.sh

export CUBE_VAR=${CUBE_VAR:-$ROOT/var/test} CUBE_PORT=${CUBE_PORT:-18080}
export CUBE_PG_PORT=${CUBE_PG_PORT:-15433} CUBE_REDIS_PORT=${CUBE_REDIS_PORT:-16380}
export CUBE_BUILD=${CUBE_BUILD:-build-san}
VAR=$(realpath -m -- "$CUBE_VAR")
BUILD=$(realpath -m -- "$CUBE_BUILD")
RUNDIR=$VAR/run
LOGDIR=$VAR/log
T=$(mktemp -d)
CLOCK=$T/clock
echo 0 >"$CLOCK"
# As root, deploy/stack.sh runs every daemon as the system user cube: so do we, and the tasks
# (run by cube) may read and write the scratch directory.
if ((EUID == 0)); then
    as_user() { runuser -u cube -- "$@"; }
    chmod 1777 "$T"
else
    as_user() { "$@"; }
fi
PREFIX=t$(date +%s%N | tail -c 7)  # unique names per script run

psql_() { psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$RUNDIR" -p "$CUBE_PG_PORT" -U cube cube "$@"; }
q() { psql_ -c "$1"; }

if [[ ! -r $VAR/cube.env || ! -x $BUILD/bin/cube-scheduler ]] || ! q "SELECT 1" >/dev/null 2>&1; then
    fail "the test stack is up" "no $VAR/cube.env, $BUILD/bin/cube-scheduler or database"
    finish "$(basename "$0" .sh | sed 's/^test_//')"
    exit 1
fi

# The environment of the stack's cube binaries (deploy/stack.sh writes it), plus ours.
declare -a DENV=()
load_env() {
    local line key val
    DENV=(PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 "HOME=${HOME:-/}")
    for key in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
        [[ -n ${!key:-} ]] && DENV+=("$key=${!key}")
    done
    while IFS= read -r line; do
        [[ $line =~ ^([A-Z_][A-Z0-9_]*)=\'(.*)\'$ ]] || continue
        key=${BASH_REMATCH[1]}
        val=${BASH_REMATCH[2]//\'\\\'\'/\'}
        DENV+=("$key=$val")
    done <"$VAR/cube.env"
}
load_env
TEST_ENV=(CUBE_SCHED_INTERVAL_MS=200 CUBE_LOST_GRACE_S=2 CUBE_WEBHOOK_TIMEOUT_MS=1000
    "CUBE_CLOCK_FILE=$CLOCK" CUBE_LOG_LEVEL=info)

# cube-scheduler's operator commands (run, cancel, rerun, clear, backfill, suggest).
sched_cmd() { env -i "${DENV[@]}" "${TEST_ENV[@]}" "$BUILD/bin/cube-scheduler" "$@"; }

clock_shift() { echo $(($(cat "$CLOCK") + $1)) >"$CLOCK"; }

alive() {
    local stat
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != [ZX] ]]
}

# daemon_stop NAME [SIGNAL]: the running NAME (pid file in $RUNDIR), TERM by default.
daemon_stop() {
    local name=$1 sig=${2:-TERM} pid i
    pid=$(cat "$RUNDIR/$name.pid" 2>/dev/null || true)
    if alive "$pid" && grep -qaF -- "$name" "/proc/$pid/cmdline" 2>/dev/null; then
        kill "-$sig" "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            alive "$pid" || break
            sleep 0.1
        done
    fi
    rm -f "$RUNDIR/$name.pid"
}

# daemon_start NAME [VAR=value...]: NAME with the stack's environment, the test settings and
# the extra variables, the way deploy/stack.sh starts it (own session, pid file, log).
daemon_start() {
    local name=$1 i
    shift
    daemon_stop "$name"
    # shellcheck disable=SC2016 # expanded by that sh
    as_user setsid -f sh -c 'echo $$ >"$0"; exec "$@"' "$RUNDIR/$name.pid" \
        env -i "${DENV[@]}" "${TEST_ENV[@]}" "$@" "$BUILD/bin/$name" \
        </dev/null >>"$LOGDIR/$name.log" 2>&1
    for ((i = 0; i < 50; i++)); do
        [[ -s $RUNDIR/$name.pid ]] && break
        sleep 0.1
    done
}
daemon_pid() { cat "$RUNDIR/$1.pid" 2>/dev/null; }

daemons_start() {
    daemon_start cube-scheduler "$@"
    daemon_start cube-watcher "$@"
}

# wait_for SECONDS SQL EXPECTED: polls until the query prints EXPECTED; false on timeout.
LAST=""
wait_for() {
    local secs=$1 sql=$2 want=$3 i
    for ((i = 0; i < secs * 10; i++)); do
        LAST=$(q "$sql" 2>&1)
        [[ $LAST == "$want" ]] && return 0
        sleep 0.1
    done
    return 1
}

# expect NAME SECONDS SQL EXPECTED: one test that waits for a state.
expect() {
    if wait_for "$2" "$3" "$4"; then pass "$1"; else fail "$1" "got '$LAST', want '$4'"; fi
}
# same NAME ACTUAL EXPECTED
same() {
    if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}

# The project, template and user the scenarios use.
PROJECT=$(q "SELECT id FROM project WHERE name = 'demo'")
SHELL_TEMPLATE=$(q "SELECT id FROM job_template WHERE name = 'customize'")
ADMIN=$(q "SELECT id FROM users WHERE username = 'admin'")

# mkpipe NAME DAG_JSON [COLUMN=VALUE ...]: a pipeline (paused: false), prints its id.
# last_tick and next_tick are its pipeline_tick row's (sql/0013), set in the same transaction.
mkpipe() {
    local name=$PREFIX-$1 dag=$2 cols="" vals="" ticks="" kv
    shift 2
    for kv in "$@"; do
        case ${kv%%=*} in
        last_tick | next_tick) ticks+="${ticks:+, }$kv" ;;
        *)
            cols+=", ${kv%%=*}"
            vals+=", ${kv#*=}"
            ;;
        esac
    done
    q "INSERT INTO pipeline (project_id, name, dag_json, created_by_fk$cols)
       VALUES ($PROJECT, '$name', '$dag', $ADMIN$vals) RETURNING id${ticks:+;
       UPDATE pipeline_tick SET $ticks WHERE pipeline_id = currval('pipeline_id_seq')}"
}

# mktask PIPELINE NAME COMMAND [COLUMN=VALUE ...]: a shell task, prints its id.
mktask() {
    local pipe=$1 name=$2 cmd=$3 cols="" vals="" kv
    shift 3
    for kv in "$@"; do
        cols+=", ${kv%%=*}"
        vals+=", ${kv#*=}"
    done
    psql_ -v cmd="$cmd" <<EOF
INSERT INTO task (pipeline_id, name, job_template_id, args$cols)
VALUES ($pipe, '$name', $SHELL_TEMPLATE, json_build_object('command', :'cmd')$vals) RETURNING id
EOF
}

# run_of PIPELINE: starts a manual run and prints its id.
run_of() { sched_cmd run "$@" | sed -n 's/^{"run_id":\([0-9]*\)}$/\1/p'; }

ti_of() { q "SELECT id FROM task_instance WHERE run_id = $1 AND task_key = '$2'"; }
state_of_run() { q "SELECT state FROM run WHERE id = $1"; }
state_of_task() { q "SELECT state FROM task_instance WHERE run_id = $1 AND task_key = '$2'"; }

# Pauses every pipeline this script made, so nothing of it keeps ticking afterwards.
cleanup_pipelines() {
    q "UPDATE pipeline SET paused = true WHERE name LIKE '$PREFIX-%'" >/dev/null 2>&1 || true
}

# Sanitizer reports in the daemons' logs since this script started.
LOG_MARK_S=$(wc -c <"$LOGDIR/cube-scheduler.log" 2>/dev/null || echo 0)
LOG_MARK_W=$(wc -c <"$LOGDIR/cube-watcher.log" 2>/dev/null || echo 0)
sanitizer_check() {
    local bad
    bad=$({
        tail -c +$((LOG_MARK_S + 1)) "$LOGDIR/cube-scheduler.log" 2>/dev/null
        tail -c +$((LOG_MARK_W + 1)) "$LOGDIR/cube-watcher.log" 2>/dev/null
    } | grep -E -m 5 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' || true)
    if [[ -z $bad ]]; then pass "no sanitizer report in the daemons' logs"; else
        fail "no sanitizer report in the daemons' logs" "$bad"; fi
}

# Back to the stack's own daemons (clean SIGTERM first, so leak checks run).
sched_finish() {
    cleanup_pipelines
    daemon_stop cube-scheduler
    daemon_stop cube-watcher
    sanitizer_check
    if [[ -x $BUILD/bin/cube-scheduler ]]; then
        # shellcheck disable=SC2016
        as_user setsid -f sh -c 'echo $$ >"$0"; exec "$@"' "$RUNDIR/cube-scheduler.pid" \
            env -i "${DENV[@]}" "$BUILD/bin/cube-scheduler" </dev/null \
            >>"$LOGDIR/cube-scheduler.log" 2>&1
        # shellcheck disable=SC2016
        as_user setsid -f sh -c 'echo $$ >"$0"; exec "$@"' "$RUNDIR/cube-watcher.pid" \
            env -i "${DENV[@]}" "$BUILD/bin/cube-watcher" </dev/null \
            >>"$LOGDIR/cube-watcher.log" 2>&1
    fi
    rm -rf "$T"
    finish "$1"
}

# The daemons' clock as an SQL expression: PostgreSQL's now() plus the clock file's shift.
snow() { echo "(now() + make_interval(secs => $(cat "$CLOCK")))"; }

# Moves the shifted clock forward to second 2 of a minute, so the real seconds a section
# takes do not cross into another minute (and make one more tick due) behind its back.
align_minute() {
    local s
    s=$(q "SELECT floor(extract(epoch FROM $(snow)))::bigint % 60")
    clock_shift $(((62 - s) % 60))
}
