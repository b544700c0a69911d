#!/usr/bin/env bash
# Many requests at once through one stack.  A cube-api worker answers several requests at a
# time, switching between them while they wait for PostgreSQL (its lanes), so each answer must
# still be the answer to its own request: the created row carries the name that request sent,
# its X-Request-Id comes back, its audit row names it, a show returns the id it asked for, a
# list counts what its filter matches, and a write that must fail fails alone.
#
#   CUBE_TEST_URL=http://127.0.0.1:18080 CUBE_TEST_ADMIN_PASSWORD=... bash tests/api/test_concurrency.sh
#
# Run by tests/run.sh against the test stack; prints `concurrency: N passed, N failed` last.
set -uo pipefail

URL=${CUBE_TEST_URL:-http://127.0.0.1:18080}
PW=${CUBE_TEST_ADMIN_PASSWORD:-admin-test-pw}
N=${CONCURRENCY_N:-48} # requests per burst: several per lane of every worker
TAG=cc$$x$RANDOM
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
J='Content-Type: application/json'
pass=0 fail=0

check() { # what command...
    local what=$1
    shift
    if "$@"; then
        echo "ok - $what"
        pass=$((pass + 1))
    else
        echo "not ok - $what"
        fail=$((fail + 1))
    fi
}

TOKEN=$(curl -s -X POST "$URL/api/login" -H "$J" -d "{\"username\":\"admin\",\"password\":\"$PW\"}" |
    sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
check "admin logs in" test -n "$TOKEN"
AUTH="Authorization: Bearer $TOKEN"

# req NAME METHOD PATH [BODY]: in the background; status in $T/NAME.code, headers in
# $T/NAME.hdr, body in $T/NAME.body.  X-Request-Id is NAME with the run's tag.
req() {
    local name=$1 method=$2 path=$3 body=${4:-}
    curl -s -o "$T/$name.body" -D "$T/$name.hdr" -w '%{http_code}' -X "$method" -H "$AUTH" \
        -H "X-Request-Id: $TAG-$name" ${body:+-H "$J" -d "$body"} "$URL$path" >"$T/$name.code" &
}
field() { # FILE KEY: the first scalar value of KEY in FILE
    grep -o "\"$2\" *: *\"\{0,1\}[^\",}]*" "$1" | head -n 1 | sed 's/.*: *"\{0,1\}//'
}
all_codes() { # CODE PREFIX: every $T/PREFIX*.code holds CODE
    local f bad=0
    for f in "$T/$2"*.code; do
        [[ $(cat "$f") == "$1" ]] || { echo "    $(basename "$f" .code): HTTP $(cat "$f")"; bad=1; }
    done
    ((bad == 0))
}

# --- creates, all at once ---------------------------------------------------------------------
for ((i = 0; i < N; i++)); do
    req "c$i" POST /api/project_modelview/ "{\"name\":\"$TAG-$i\",\"describe\":\"burst $i\"}"
done
wait
check "$N concurrent creates all answer 200" all_codes 200 c
own_rows() {
    local i bad=0
    for ((i = 0; i < N; i++)); do
        [[ $(field "$T/c$i.body" name) == "$TAG-$i" && $(field "$T/c$i.body" describe) == "burst $i" ]] ||
            { echo "    c$i: $(head -c 200 "$T/c$i.body")"; bad=1; }
    done
    ((bad == 0))
}
check "each create returns the row it sent" own_rows
own_ids() {
    local i bad=0
    for ((i = 0; i < N; i++)); do
        grep -qi "^x-request-id: $TAG-c$i"$'\r'"\?$" "$T/c$i.hdr" || { echo "    c$i: wrong X-Request-Id"; bad=1; }
    done
    ((bad == 0))
}
check "each response carries its own X-Request-Id" own_ids
distinct_ids() {
    local i
    for ((i = 0; i < N; i++)); do field "$T/c$i.body" id; done | sort -u >"$T/ids"
    [[ $(grep -c '^[0-9][0-9]*$' "$T/ids") == "$N" ]]
}
check "the $N new rows have $N distinct ids" distinct_ids

# --- shows and lists mixed with a failing write -----------------------------------------------
for ((i = 0; i < N; i++)); do
    req "s$i" GET "/api/project_modelview/$(field "$T/c$i.body" id)"
    ((i % 4 == 0)) && req "l$i" GET "/api/project_modelview/?form_data=%7B%22filters%22%3A%5B%7B%22col%22%3A%22name%22%2C%22opr%22%3A%22ct%22%2C%22value%22%3A%22$TAG-%22%7D%5D%2C%22page_size%22%3A5%7D"
    ((i % 8 == 0)) && req "d$i" POST /api/project_modelview/ "{\"name\":\"$TAG-$i\"}"
done
wait
check "concurrent shows all answer 200" all_codes 200 s
shows_match() {
    local i bad=0
    for ((i = 0; i < N; i++)); do
        [[ $(field "$T/s$i.body" id) == "$(field "$T/c$i.body" id)" && $(field "$T/s$i.body" name) == "$TAG-$i" ]] ||
            { echo "    s$i: $(head -c 200 "$T/s$i.body")"; bad=1; }
    done
    ((bad == 0))
}
check "each show returns the row it asked for" shows_match
check "concurrent lists all answer 200" all_codes 200 l
lists_count() {
    local f bad=0
    for f in "$T"/l*.body; do
        [[ $(field "$f" count) == "$N" ]] || { echo "    $(basename "$f"): $(head -c 200 "$f")"; bad=1; }
    done
    ((bad == 0))
}
check "each list counts the $N rows its filter matches" lists_count
check "duplicate names in the same burst fail alone with 409" all_codes 409 d

# --- the audit log: one row per create, naming its request ------------------------------------
audit_rows() {
    local i bad=0 id
    for ((i = 0; i < N; i += 7)); do
        id=$(field "$T/c$i.body" id)
        curl -s -H "$AUTH" -G "$URL/api/log_modelview/" --data-urlencode \
            "form_data={\"filters\":[{\"col\":\"request_id\",\"opr\":\"eq\",\"value\":\"$TAG-c$i\"}]}" >"$T/a$i.body"
        [[ $(field "$T/a$i.body" count) == 1 && $(field "$T/a$i.body" row_id) == "$id" ]] ||
            { echo "    c$i (id $id): $(head -c 300 "$T/a$i.body")"; bad=1; }
    done
    ((bad == 0))
}
check "each create has exactly one audit row, with its request id and row id" audit_rows

# --- clean up ---------------------------------------------------------------------------------
for ((i = 0; i < N; i++)); do
    req "x$i" DELETE "/api/project_modelview/$(field "$T/c$i.body" id)"
done
wait
check "concurrent deletes all answer 200" all_codes 200 x

echo "concurrency: $pass passed, $fail failed"
((fail == 0))
