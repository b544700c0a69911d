#!/usr/bin/env bash
# The test orchestrator behind `make test` (and `make check`): every suite, one summary.
#
#   tests/run.sh              unit tests of build/ and build-san/, then a fresh test stack
#                             (sanitizer cube-api) for the API suite and tests/*/test_*.sh,
#                             then a scan of cube-api's log for sanitizer reports
#   tests/run.sh --unit-only  only the unit tests
#   tests/run.sh --san        unit tests of build-san/ only (with --unit-only: `make check`)
#   tests/run.sh --only NAME  no unit tests; the test stack and one suite: api or the NAME of a
#                             tests/*/test_NAME.sh (e.g. --only stack)
#
# Each suite prints `NAME: N passed, N failed`; the last line is `total: N passed, N failed`
# and the exit status is non-zero when anything failed. Logs go to tests/out/.
# The test stack's ports can be moved (e.g. to run beside someone else's) with
# CUBE_TEST_PORT, CUBE_TEST_PG_PORT, CUBE_TEST_REDIS_PORT and CUBE_TEST_VAR.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT" || exit 1
OUT=$ROOT/tests/out
mkdir -p "$OUT"

unit_only=0
san_only=0
only=""
while (($# > 0)); do
    case $1 in
    --unit-only) unit_only=1 ;;
    --san) san_only=1 ;;
    --only)
        only=${2:-}
        shift
        ;;
    *)
        echo "usage: $0 [--unit-only] [--san] [--only NAME]" >&2
        exit 2
        ;;
    esac
    shift
done
wanted() { [[ -z $only || $only == "$1" ]]; }

SAN_ENV=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)
total_pass=0
total_fail=0

# suite NAME PASSED FAILED [quiet]: count, and print the suite line unless the suite did.
suite() {
    [[ -n ${4:-} ]] || echo "$1: $2 passed, $3 failed"
    total_pass=$((total_pass + $2))
    total_fail=$((total_fail + $3))
}

# --- unit tests (cmocka, TAP output) ---------------------------------------------------------

run_units() {
    local label=$1 dir=$2
    shift 2
    local pass=0 fail=0 bin name log rc ok nok
    for bin in "$dir"/tests/test_*; do
        [[ -f $bin && -x $bin ]] || continue
        name=$(basename "$bin")
        log=$OUT/$label-$name.log
        # In a subshell, so bash's own "Aborted" notice lands in the log too.
        (env "$@" CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$bin"; exit $?) >"$log" 2>&1
        rc=$?
        ok=$(grep -c '^ok ' "$log" || true)
        nok=$(grep '^not ok ' "$log" | grep -vc '# SKIP' || true)
        # A crash, a sanitizer abort or a timeout without a failed TAP line is one failure.
        ((rc != 0 && nok == 0)) && nok=1
        pass=$((pass + ok))
        fail=$((fail + nok))
        if ((nok > 0)); then
            echo "FAIL $dir/tests/$name (exit $rc), log $(realpath --relative-to="$ROOT" "$log"):"
            { grep -E '^(not ok |# )' "$log" || tail -n 30 "$log"; } | head -n 60 | sed 's/^/    /'
        fi
    done
    suite "$label" "$pass" "$fail"
}

if [[ -z $only ]]; then
    ((san_only)) || run_units unit build
    run_units unit-san build-san "${SAN_ENV[@]}"
fi

if ((unit_only)); then
    echo "total: $total_pass passed, $total_fail failed"
    ((total_fail == 0))
    exit
fi

# --- the test stack --------------------------------------------------------------------------

# The stack runs the sanitizer build of cube-api; tests that restart it get the same options.
export "${SAN_ENV[@]}"
CUBE_VAR=$(realpath -m -- "${CUBE_TEST_VAR:-var/test}")
export CUBE_VAR
export CUBE_PORT=${CUBE_TEST_PORT:-18080}
export CUBE_PG_PORT=${CUBE_TEST_PG_PORT:-15433}
export CUBE_REDIS_PORT=${CUBE_TEST_REDIS_PORT:-16380}
export CUBE_BUILD=$ROOT/build-san
export CUBE_ADMIN_PASSWORD=admin-test-pw
export CUBE_AUTO_REGISTER=0
export CUBE_WORKERS=2
# What the suites read (deploy/stack.sh does not pass CUBE_TEST_* on to cube-api).
export CUBE_TEST_URL=http://127.0.0.1:$CUBE_PORT
export CUBE_TEST_ADMIN_PASSWORD=$CUBE_ADMIN_PASSWORD

stack_up=0
stop_stack() {
    ((stack_up)) || return 0
    stack_up=0
    echo "stopping the test stack"
    bash deploy/stack.sh stop >>"$OUT/stack.log" 2>&1
}
trap stop_stack EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

: >"$OUT/stack.log"
bash deploy/stack.sh stop >>"$OUT/stack.log" 2>&1
# Wipe it for a clean run, but only if it is a stack directory (never the checkout).
if [[ -e $CUBE_VAR ]]; then
    if [[ $ROOT/ == "$CUBE_VAR"/* || -n $(find "$CUBE_VAR" -mindepth 1 -maxdepth 1 \
        ! -name pg ! -name attempts ! -name redis ! -name run ! -name log ! -name nginx ! -name '*.env' \
        -print -quit) ]]; then
        echo "refusing to wipe $CUBE_VAR: not a stack directory" >&2
        exit 1
    fi
    rm -rf "$CUBE_VAR"
fi
echo "starting the test stack (CUBE_VAR=${CUBE_TEST_VAR:-var/test}, $CUBE_TEST_URL)"
stack_up=1
if bash deploy/stack.sh start >>"$OUT/stack.log" 2>&1; then
    suite stack-start 1 0
else
    echo "FAIL deploy/stack.sh start; log tests/out/stack.log:"
    tail -n 40 "$OUT/stack.log" | sed 's/^/    /'
    suite stack-start 0 1
fi

# A suite's last line `NAME: N passed, N failed` gives its counts; a non-zero exit with no
# failure counted is one more failure. Without the line, the exit status is one pass or fail.
run_suite() {
    local name=$1 log=$OUT/$1.log rc last p f quiet=""
    shift
    timeout 300 "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    last=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)
    if [[ $last =~ ^[A-Za-z0-9_.-]+:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        p=${BASH_REMATCH[1]}
        f=${BASH_REMATCH[2]}
        quiet=1
        if ((rc != 0 && f == 0)); then
            f=1
            quiet=""
        fi
    elif ((rc == 0)); then
        p=1 f=0
    else
        p=0 f=1
    fi
    ((rc == 0)) || echo "$name exited with status $rc"
    suite "$name" "$p" "$f" "$quiet"
}

if ! wanted api; then
    :
elif [[ -x build/tests/api_runner ]]; then
    run_suite api build/tests/api_runner tests/api/cases
else
    echo "FAIL build/tests/api_runner is missing (make tools)"
    suite api 0 1
fi

for t in tests/*/test_*.sh; do
    [[ -f $t ]] || continue
    name=$(basename "$t" .sh)
    name=${name#test_}
    wanted "$name" && run_suite "$name" bash "$t"
done

# --- sanitizer reports -----------------------------------------------------------------------
# Leak reports appear when processes exit, so stop the stack (cube-api drains) before looking.
# A worker that died of a signal other than the SIGKILL some tests send is a crash too (an
# assertion, a double free), even when the sanitizers said nothing and the answer was sent.

if ((stack_up)); then
    stop_stack
    api_log=$CUBE_VAR/log/cube-api.log
    crash='ERROR: LeakSanitizer|runtime error:|AddressSanitizer|Assertion .* failed|worker [0-9]+ died \(status ([0-8]|1[0-9]|[2-9][0-9])\)'
    if grep -qE "$crash" "$api_log" 2>/dev/null; then
        echo "FAIL sanitizer reports or crashed workers in $(realpath --relative-to="$ROOT" "$api_log"):"
        grep -E -A 12 "$crash" "$api_log" |
            head -n 80 | sed 's/^/    /'
        suite sanitizers 0 1
    else
        suite sanitizers 1 0
    fi
fi

echo "total: $total_pass passed, $total_fail failed"
((total_fail == 0))
