#!/usr/bin/env bash
# tests/bench/frontend_bench.sh — the web app's budget (issue 5) on a private stack: starts one
# with deploy/stack.sh under var/bench-fe (BENCH_VAR; wiped first) on ports 58080/55433/56380
# (BENCH_PORT, BENCH_PG_PORT, BENCH_REDIS_PORT) with the release build, runs
# tests/bench/frontend_bench.mjs against it (main chunk gzip size, first load of the pipeline
# list, drag fps in a 200-task pipeline) and stops the stack when it exits.
#
#   bash tests/bench/frontend_bench.sh
#
# The app is built first (make frontend: only when a source changed; BENCH_NO_BUILD=1 skips it).
# BENCH_ONLY, BENCH_RUNS, BENCH_DRAG_MS and BENCH_STRICT are the .mjs script's (see its header).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD

CUBE_VAR=$(realpath -m -- "${BENCH_VAR:-var/bench-fe}")
export CUBE_VAR
export CUBE_PORT=${BENCH_PORT:-58080} CUBE_PG_PORT=${BENCH_PG_PORT:-55433}
export CUBE_REDIS_PORT=${BENCH_REDIS_PORT:-56380}
export CUBE_BUILD=$ROOT/build CUBE_ADMIN_PASSWORD=bench-pw CUBE_WORKERS=2

say() { printf 'bench: %s\n' "$*" >&2; }
for b in cube cube-api; do
    [[ -x build/bin/$b ]] || {
        say "build/bin/$b is missing: run make build"
        exit 1
    }
done
command -v node >/dev/null || {
    say "node is not installed"
    exit 1
}
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
    make --no-print-directory frontend >&2
fi

started=0
# shellcheck disable=SC2317 # reached through the trap
stop() {
    ((started)) || return 0
    say "stopping the stack"
    bash deploy/stack.sh stop >/dev/null 2>&1 || true
}
trap stop EXIT
trap 'exit 130' INT TERM

bash deploy/stack.sh stop >/dev/null 2>&1 || true
if [[ -e $CUBE_VAR ]]; then
    # Only ever a stack directory.
    [[ -e $CUBE_VAR/pg/PG_VERSION || -z $(ls -A "$CUBE_VAR") ]] || {
        say "refusing to wipe $CUBE_VAR"
        exit 1
    }
    rm -rf "$CUBE_VAR"
fi
for port in "$CUBE_PORT" "$CUBE_PG_PORT" "$CUBE_REDIS_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        say "127.0.0.1:$port is already in use (BENCH_PORT, BENCH_PG_PORT, BENCH_REDIS_PORT move the stack)"
        exit 1
    fi
done
say "starting the stack under ${CUBE_VAR#"$ROOT"/} (port $CUBE_PORT)"
started=1
bash deploy/stack.sh start >/dev/null

CUBE_TEST_URL=http://127.0.0.1:$CUBE_PORT CUBE_TEST_ADMIN_PASSWORD=$CUBE_ADMIN_PASSWORD \
    node tests/bench/frontend_bench.mjs
