# shellcheck shell=bash
# Helpers for the shell tests in tests/deploy (sourced, not run).
# A test calls `check NAME COMMAND...` or `pass NAME` / `fail NAME DETAIL` and ends with
# `finish SUITE`, which prints `SUITE: N passed, N failed` as its last line (what tests/run.sh
# reads) and sets the exit status.

T_PASS=0
T_FAIL=0

pass() {
    T_PASS=$((T_PASS + 1))
    echo "ok   $1"
}

fail() {
    T_FAIL=$((T_FAIL + 1))
    echo "FAIL $1${2:+: $2}"
}

check() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}

finish() {
    echo "$1: $T_PASS passed, $T_FAIL failed"
    ((T_FAIL == 0))
}
