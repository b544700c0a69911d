#!/usr/bin/env bash
# cube-api's process management, on the running test stack (tests/run.sh starts it):
# a SIGKILLed worker is replaced, SIGHUP replaces every worker without one failed request,
# SIGTERM lets an in-flight request finish and exits; then deploy/stack.sh start brings
# cube-api back for the suites that follow.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT" || exit 1
# shellcheck source=tests/deploy/lib.sh
. tests/deploy/lib.sh

# The test stack's settings, as tests/run.sh exports them (defaults for a run on its own).
export CUBE_VAR=${CUBE_VAR:-$ROOT/var/test} CUBE_PORT=${CUBE_PORT:-18080}
export CUBE_PG_PORT=${CUBE_PG_PORT:-15433} CUBE_REDIS_PORT=${CUBE_REDIS_PORT:-16380}
export CUBE_BUILD=${CUBE_BUILD:-build-san} CUBE_AUTO_REGISTER=${CUBE_AUTO_REGISTER:-0}
export CUBE_WORKERS=${CUBE_WORKERS:-2}
VAR=$(realpath -m -- "$CUBE_VAR")
URL=${CUBE_TEST_URL:-http://127.0.0.1:$CUBE_PORT}

# Where stack.sh put cube-api's pid file and socket.
env_value() {
    sed -n "s/^$1='\\(.*\\)'\$/\\1/p" "$VAR/cube.env" 2>/dev/null | head -n 1
}
PIDFILE=$(env_value CUBE_PIDFILE)
PIDFILE=${PIDFILE:-$VAR/run/cube-api.pid}
SOCK=$(env_value CUBE_SOCKET)
SOCK=${SOCK:-$VAR/run/cube-api.sock}

TMP=$(mktemp -d)
trap 'touch "$TMP/stop"; wait; rm -rf "$TMP"' EXIT

# Alive and not a zombie (an exited daemon's parent may never reap it).
alive() {
    local stat
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != [ZX] ]]
}
any_alive() {
    local p
    for p in "$@"; do
        alive "$p" && return 0
    done
    return 1
}
none_alive() { ! any_alive "$@"; }
workers() {
    local p out=()
    for p in $(pgrep -P "$1" 2>/dev/null); do
        alive "$p" && out+=("$p")
    done
    echo "${out[@]}"
}
health() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/api/health"; }

# A bounded request loop: at most 1500 requests, until $TMP/stop appears.
load() {
    local i
    for ((i = 0; i < 1500; i++)); do
        [[ -e $TMP/stop ]] && break
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 "$URL/api/health" >>"$1"
    done
}
LOAD_PIDS=()
start_load() {
    rm -f "$TMP/stop" "$TMP"/codes.*
    local n
    for n in 1 2; do
        : >"$TMP/codes.$n"
        load "$TMP/codes.$n" &
        LOAD_PIDS+=($!)
    done
}
stop_load() {
    touch "$TMP/stop"
    wait "${LOAD_PIDS[@]}"
    LOAD_PIDS=()
}

master=$(cat "$PIDFILE" 2>/dev/null || true)
if ! alive "$master" || [[ $(health) != 200 ]]; then
    fail "the test stack is up" "no live cube-api in $PIDFILE or $URL/api/health is not 200"
    finish stack
    exit
fi
read -ra before <<<"$(workers "$master")"
nworkers=${#before[@]}
check "cube-api runs workers ($nworkers)" test "$nworkers" -ge 1

# --- a worker killed with SIGKILL is replaced --------------------------------------------------
victim=${before[0]}
kill -KILL "$victim"
replaced=0
for ((i = 0; i < 100; i++)); do
    read -ra now <<<"$(workers "$master")"
    if ! alive "$victim" && ((${#now[@]} == nworkers)); then
        replaced=1
        break
    fi
    sleep 0.1
done
check "a SIGKILLed worker is replaced" test "$replaced" = 1
bad=0
for ((i = 0; i < 20; i++)); do
    [[ $(health) == 200 ]] || bad=$((bad + 1))
done
check "the API answers after a worker was killed (20 requests)" test "$bad" = 0

# --- SIGHUP: every worker replaced, no failed request --------------------------------------------
read -ra old <<<"$(workers "$master")"
start_load
sleep 0.5
kill -HUP "$master"
renewed=0
for ((i = 0; i < 150; i++)); do
    read -ra now <<<"$(workers "$master")"
    if ! any_alive "${old[@]}" && ((${#now[@]} == nworkers)); then
        renewed=1
        break
    fi
    sleep 0.1
done
sleep 1
stop_load
total=$(cat "$TMP"/codes.* | wc -l)
bad=$(cat "$TMP"/codes.* | grep -vc '^200$' || true)
check "SIGHUP replaces every worker" test "$renewed" = 1
check "the master survives SIGHUP" alive "$master"
if ((total > 0 && bad == 0)); then
    pass "no failed request during the reload ($total requests)"
else
    fail "no failed request during the reload" "$bad of $total failed: $(cat "$TMP"/codes.* | sort | uniq -c | tr '\n' ' ')"
fi

# --- SIGTERM drains ----------------------------------------------------------------------------
# A login whose body arrives in two parts, straight over FastCGI (nginx would buffer the body),
# so a worker is in the middle of the request when the master gets SIGTERM.
body='{"username":"drain-check","password":"not-the-password"}'
(
    {
        printf '%s' "${body:0:20}"
        sleep 2
        printf '%s' "${body:20}"
    } | env -i REQUEST_METHOD=POST CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} \
        SCRIPT_NAME=/api/login DOCUMENT_URI=/api/login REQUEST_URI=/api/login QUERY_STRING= \
        SERVER_PROTOCOL=HTTP/1.1 GATEWAY_INTERFACE=CGI/1.1 REMOTE_ADDR=127.0.0.1 \
        REQUEST_ID=stack-drain-check cgi-fcgi -bind -connect "$SOCK" >"$TMP/drain.out" 2>&1
) &
drain_job=$!
sleep 0.7
read -ra old <<<"$(workers "$master")"
kill -TERM "$master"
exited=0
for ((i = 0; i < 120; i++)); do
    if ! alive "$master"; then
        exited=1
        break
    fi
    sleep 0.1
done
wait "$drain_job"
drain_rc=$?
if ((drain_rc == 0)) && grep -qi '^content-type:' "$TMP/drain.out"; then
    pass "SIGTERM: the in-flight request is answered"
else
    fail "SIGTERM: the in-flight request is answered" \
        "cgi-fcgi exit $drain_rc: $(head -c 300 "$TMP/drain.out" | tr '\r\n' '  ')"
fi
check "SIGTERM: the master exits within 12 s" test "$exited" = 1
check "SIGTERM: no worker outlives the master" none_alive "${old[@]}"
check "nginx answers 502 while cube-api is down" test "$(health)" = 502

# --- and back ----------------------------------------------------------------------------------
if bash deploy/stack.sh start >"$TMP/start.log" 2>&1 && [[ $(health) == 200 ]]; then
    pass "deploy/stack.sh start brings cube-api back"
else
    fail "deploy/stack.sh start brings cube-api back" "$(tail -n 5 "$TMP/start.log" | tr '\n' ' ')"
fi

finish stack
