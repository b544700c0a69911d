#!/usr/bin/env bash
# Sign-up by first sign-in (CUBE_AUTO_REGISTER=1), through the API and the web app's login page
# (tests/e2e/signup.mjs). The test stack runs with it off, so this restarts cube-api with it on
# (deploy/stack.sh start restarts what runs, with the caller's CUBE_* settings) and, whatever
# happens, with it off again for the suites that follow. The last line is
# `signup: N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

if ! command -v node >/dev/null; then
    echo "# skip: node is not installed (nothing of the web app was built either)"
    echo "signup: 1 passed, 0 failed"
    exit 0
fi

restart() {
    CUBE_AUTO_REGISTER=$1 bash deploy/stack.sh start >/dev/null 2>&1
}
# shellcheck disable=SC2317 # reached through the trap
restore() {
    restart 0 || echo "# could not restart the stack with CUBE_AUTO_REGISTER=0"
    put_back_fails
}

# The refusals below are failed logins from this address, and cube-api counts an address's
# failures (4 × CUBE_LOGIN_MAX_FAILS within CUBE_LOGIN_WINDOW, in Redis) across the suites that
# share it. This suite checks sign-up, not the throttle: the limit is raised for its run, and
# the address's count is put back as it was found, so the suites after it are not throttled by
# the failures it made on purpose.
REDIS_SOCK=$(realpath -m -- "${CUBE_VAR:-var/test}")/run/redis.sock
# The key as fcgi/api/auth_api.c's throttle_key makes it for this address.
IP_KEY="cube:loginfail:ip:$(printf '%s' 127.0.0.1 | sha256sum | cut -c1-32)"
rcli() { redis-cli -s "$REDIS_SOCK" "$@"; }
fails_before=$(rcli GET "$IP_KEY")
# shellcheck disable=SC2317 # reached through restore
put_back_fails() {
    if [[ -n $fails_before ]]; then
        rcli SET "$IP_KEY" "$fails_before" KEEPTTL >/dev/null
    else
        rcli DEL "$IP_KEY" >/dev/null
    fi
}

if ! CUBE_LOGIN_MAX_FAILS=1000 restart 1; then
    echo "FAIL the stack restarts with CUBE_AUTO_REGISTER=1"
    restore
    echo "signup: 0 passed, 1 failed"
    exit 1
fi
trap restore EXIT
out=$(NO_COLOR=1 node tests/e2e/signup.mjs)
grep -v '^signup: ' <<<"$out"
read -r passed failed < <(sed -n 's/^signup: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' <<<"$out")
passed=${passed:-0} failed=${failed:-1}

trap - EXIT
restore
url=${CUBE_TEST_URL:-http://127.0.0.1:${CUBE_PORT:-18080}}
if curl -s --max-time 5 "$url/api/login" | grep -q '"auto_register" *: *false'; then
    echo "ok   the stack is back with sign-up off"
    passed=$((passed + 1))
else
    echo "FAIL the stack is back with sign-up off"
    failed=$((failed + 1))
fi
if [[ $(rcli GET "$IP_KEY") == "$fails_before" ]]; then
    echo "ok   the address's count of failed logins is as it was (${fails_before:-none})"
    passed=$((passed + 1))
else
    echo "FAIL the address's count of failed logins is as it was (${fails_before:-none}, now $(rcli GET "$IP_KEY"))"
    failed=$((failed + 1))
fi
echo "signup: $passed passed, $failed failed"
((failed == 0))
