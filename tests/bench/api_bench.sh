#!/usr/bin/env bash
# tests/bench/api_bench.sh — the API benchmark behind `make bench`.
#
# Not a test: it prints figures. It starts a private stack under var/bench
# (fresh every run), seeds 100,000 projects, and runs wrk at 16 and 64
# connections against a static file, a trivial FastCGI responder (the
# ceiling), show by id, a filtered list page and create. Every figure is
# printed as a ratio to the trivial-FastCGI ceiling at the same connection
# count, with PASS/FAIL against the issue's targets. See tests/bench/README.md.
#
#   bash tests/bench/api_bench.sh                 # what `make bench` runs
#   BENCH_DURATION=3s bash tests/bench/api_bench.sh   # a quick smoke run
#   bash tests/bench/api_bench.sh --parse FILE... # parse saved wrk output
#   bash tests/bench/api_bench.sh --report FILE   # print the table of a results file
#
# Variables: BENCH_DURATION (15s), BENCH_ROWS (100000), BENCH_THREADS (2),
# BENCH_CONNECTIONS ("16 64"), BENCH_WARMUP (2s, unmeasured, before each
# scenario; 0 skips it), BENCH_STRICT (1: exit 1 when a target is missed),
# BENCH_PORT, BENCH_PG_PORT, BENCH_REDIS_PORT (28080, 25433, 26380),
# BENCH_VAR (var/bench: the stack's directory, wiped first), BENCH_BUILD
# (build: where bin/cube-api and tests/fcgi_trivial are), BENCH_ONLY (the
# scenarios to run, any of "static trivial show list create"; the ceiling
# needs trivial), CUBE_WORKERS (passed on to cube-api and to the trivial
# responder alike).
set -euo pipefail

CALLER_PWD=$PWD
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
HERE=tests/bench

DURATION=${BENCH_DURATION:-15s}
ROWS=${BENCH_ROWS:-100000}
THREADS=${BENCH_THREADS:-2}
read -r -a CONNS <<<"${BENCH_CONNECTIONS:-16 64}"
STRICT=${BENCH_STRICT:-0}
WARMUP=${BENCH_WARMUP:-2s}
BUILD=${BENCH_BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
read -r -a ONLY <<<"${BENCH_ONLY:-static trivial show list create}"

# The list filter: a 4-letter value found in about 1% of the seeded names.
NEEDLE=quix

# Targets (issue 2, on the 2-core machine).
T_SHOW=0.40     # show by id, share of the trivial-FastCGI ceiling
T_LIST=0.15     # filtered list page
T_CREATE=0.15   # create
T_P99_MS=25     # p99 at 16 connections
T_RSS_MIB=16    # each cube-api worker, after the run

# cube-studio (Flask-AppBuilder on gunicorn) on the same kind of machine.
REFERENCE="cube-studio for scale (Flask-AppBuilder on gunicorn, same kind of 2-core machine):
  show ~150-180 req/s, create 100-240 req/s, list ~25 req/s (one-letter ct filter)."

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
    printf 'bench: error: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------- parsing

# Converts a wrk duration (850.00us, 1.23ms, 2.00s, 1.50m) to milliseconds.
# parse_wrk FILE -> "rps p50_ms p99_ms errors non2xx socket_errors requests";
# "nan" for a figure the output lacks (wrk failed to run).
parse_wrk() {
    awk '
    function ms(v) {
        if (v ~ /us$/) return v / 1000
        if (v ~ /ms$/) return v + 0
        if (v ~ /m$/)  return v * 60000
        if (v ~ /h$/)  return v * 3600000
        if (v ~ /s$/)  return v * 1000
        return v + 0
    }
    BEGIN { rps = "nan"; p50 = "nan"; p99 = "nan"; reqs = "nan"; non2xx = 0; sock = 0 }
    /^Requests\/sec:/                   { rps = $2 }
    $1 == "50%" && NF == 2              { p50 = sprintf("%.3f", ms($2)) }
    $1 == "99%" && NF == 2              { p99 = sprintf("%.3f", ms($2)) }
    /requests in .*read/                { reqs = $1 }
    /Non-2xx or 3xx responses:/         { non2xx = $NF + 0 }
    /Socket errors:/ {
        gsub(",", "")
        sock = $4 + $6 + $8 + $10     # connect, read, write, timeout
    }
    END { print rps, p50, p99, non2xx + sock, non2xx, sock, reqs }
    ' "$1"
}

# report RESULTS -> the table. RESULTS has one line per run:
# "scenario conns rps p50_ms p99_ms errors". Scenarios: static, trivial, show,
# list, create. Exit status 1 when an API row misses a target.
report() {
    awk -v t_show="$T_SHOW" -v t_list="$T_LIST" -v t_create="$T_CREATE" \
        -v t_p99="$T_P99_MS" '
    BEGIN {
        label["static"] = "static file (nginx)"
        label["trivial"] = "trivial FastCGI"
        label["trivial2"] = "trivial FastCGI, again"
        label["show"] = "show by id"
        label["list"] = "list, ct filter"
        label["create"] = "create"
        minratio["show"] = t_show; minratio["list"] = t_list; minratio["create"] = t_create
    }
    # The ceiling is the mean of the trivial runs at that connection count
    # (one before the API scenarios, one after).
    { n++; sc[n] = $1; cn[n] = $2; rps[n] = $3; p50[n] = $4; p99[n] = $5; err[n] = $6
      if ($1 ~ /^trivial/ && $3 != "nan") { csum[$2] += $3; cnum[$2]++; ceil[$2] = csum[$2] / cnum[$2] } }
    function num(v, fmt) { return v == "nan" ? "-" : sprintf(fmt, v) }
    END {
        printf "%-22s %5s %10s %7s %8s %8s %7s  %-30s %s\n", "scenario", "conns", "req/s",
               "ratio", "p50 ms", "p99 ms", "errors", "target", "verdict"
        norder = split("static trivial trivial2 show list create", order, " ")
        for (o = 1; o <= norder; o++) for (i = 1; i <= n; i++) {
            if (sc[i] != order[o]) continue
            s = sc[i]; c = cn[i]
            ratio = (c in ceil && rps[i] != "nan") ? rps[i] / ceil[c] : "nan"
            target = ""; why = ""
            if (s in minratio) {
                target = sprintf(">= %.2f", minratio[s])
                if (ratio == "nan" || ratio < minratio[s]) why = why " ratio"
                if (c == 16) {
                    target = target sprintf(", p99 < %d ms", t_p99)
                    if (p99[i] == "nan" || p99[i] >= t_p99) why = why " p99"
                }
                if (c == 64) {
                    target = target ", 0 errors"
                    if (err[i] != 0) why = why " errors"
                }
                if (rps[i] == "nan") why = " no-result"
                verdict = why == "" ? "PASS" : "FAIL (" substr(why, 2) ")"
                if (why == "") pass++; else fail++
            } else {
                target = s ~ /^trivial/ ? "the ceiling" : "reference"
                verdict = err[i] != 0 ? "errors!" : "-"
                if (s ~ /^trivial/ && ratio != "nan") {
                    d = ratio > 1 ? ratio - 1 : 1 - ratio
                    if (d > drift) drift = d
                }
            }
            printf "%-22s %5s %10s %7s %8s %8s %7s  %-30s %s\n", label[s] ? label[s] : s, c,
                   num(rps[i], "%.0f"), num(ratio, "%.2f"), num(p50[i], "%.2f"),
                   num(p99[i], "%.2f"), err[i], target, verdict
        }
        if (drift > 0.10)
            printf "\nnote: the ceiling moved by %.0f%% between its two measurements: the machine was busy,\n" \
                   "so every ratio is uncertain by about as much.\n", 200 * drift
        printf "\nthroughput and latency targets met: %d of %d\n", pass, pass + fail
        exit fail > 0
    }' "$1"
}

# profile_report PROFILE -> CPU time per request of each process group, in µs.
profile_report() {
    awk -v hz="$(getconf CLK_TCK 2>/dev/null || echo 100)" '
    BEGIN {
        label["static"] = "static file (nginx)"; label["trivial"] = "trivial FastCGI"
        label["trivial2"] = "trivial FastCGI, again"; label["show"] = "show by id"
        label["list"] = "list, ct filter"; label["create"] = "create"
        print "CPU time per request (us), from each process'"'"'s schedstat during the measured run:"
        printf "%-22s %5s %7s %7s %9s %10s %7s %7s\n", "scenario", "conns", "wrk", "nginx",
               "FastCGI", "PostgreSQL", "Redis", "total"
    }
    $3 ~ /^[0-9]+$/ && $3 > 0 {
        n = $3
        w = $4 / hz * 1e6 / n
        ng = $5 / 1000 / n
        fc = ($6 + $7) / 1000 / n      # cube-api or the trivial responder: whichever ran
        pg = $8 / 1000 / n; rd = $9 / 1000 / n
        printf "%-22s %5s %7.0f %7.0f %9.0f %10.0f %7.0f %7.0f\n", label[$1] ? label[$1] : $1,
               $2, w, ng, fc, pg, rd, w + ng + fc + pg + rd
    }' "$1"
}

case "${1:-}" in
--parse)
    shift
    for f in "$@"; do
        [[ $f == /* ]] || f=$CALLER_PWD/$f
        printf '%s: %s\n' "${f##*/}" "$(parse_wrk "$f")"
    done
    exit 0
    ;;
--report)
    f=${2:?--report needs a results file}
    [[ $f == /* ]] || f=$CALLER_PWD/$f
    rc=0
    report "$f" || rc=$?
    if [[ -s ${f%/*}/profile.txt ]]; then
        echo
        profile_report "${f%/*}/profile.txt"
    fi
    exit $rc
    ;;
"") ;;
*) die "unknown argument $1 (see the header of $0)" ;;
esac

# ---------------------------------------------------------------- setup

[[ $DURATION =~ ^[0-9]+[smh]?$ ]] || die "BENCH_DURATION=$DURATION is not a wrk duration (15s, 3s, 1m)"
[[ $WARMUP =~ ^[0-9]+[smh]?$ ]] || die "BENCH_WARMUP=$WARMUP is not a wrk duration (2s, 0)"
[[ $ROWS =~ ^[0-9]+$ && $ROWS -ge 100 ]] || die "BENCH_ROWS=$ROWS must be a number >= 100"
for c in "${CONNS[@]}"; do
    [[ $c =~ ^[0-9]+$ && $c -ge $THREADS ]] || die "BENCH_CONNECTIONS: $c is not a count >= $THREADS"
done
for tool in wrk curl psql awk; do
    command -v "$tool" >/dev/null || die "$tool is not installed (make deps installs it)"
done
for bin in "$BUILD/bin/cube-api" "$BUILD/tests/fcgi_trivial"; do
    [[ -x $bin ]] || die "$bin is missing: run make build tools first"
done
for sc in "${ONLY[@]}"; do
    [[ $sc =~ ^(static|trivial|show|list|create)$ ]] || die "BENCH_ONLY: unknown scenario $sc"
done

export CUBE_VAR=${BENCH_VAR:-var/bench} CUBE_PORT=${BENCH_PORT:-28080}
export CUBE_PG_PORT=${BENCH_PG_PORT:-25433} CUBE_REDIS_PORT=${BENCH_REDIS_PORT:-26380}
export CUBE_BUILD=$BUILD CUBE_ADMIN_PASSWORD=bench-pw
VAR=$ROOT/$CUBE_VAR
RUN=$VAR/run
OUT=$VAR/wrk
BASE=http://127.0.0.1:$CUBE_PORT
TRIVIAL_SOCK=$RUN/fcgi-trivial.sock
TRIVIAL_PID=$RUN/fcgi-trivial.pid

# As root every daemon runs as `cube`; so do psql and the trivial responder.
as_cube() {
    if [[ $EUID -eq 0 ]] && id cube >/dev/null 2>&1; then
        runuser -u cube -- "$@"
    else
        "$@"
    fi
}

sql() {
    as_cube psql -X -q -At -v ON_ERROR_STOP=1 \
        "host=$RUN port=$CUBE_PG_PORT dbname=cube user=cube" "$@"
}

stack_started=0
trivial_bg=
wrk_pid=
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -s $TRIVIAL_PID ]]; then
        kill -TERM "$(cat "$TRIVIAL_PID")" 2>/dev/null || true
    fi
    if [[ -n $wrk_pid ]]; then
        kill -TERM "$wrk_pid" 2>/dev/null || true
        wait "$wrk_pid" 2>/dev/null || true
    fi
    if [[ -n $trivial_bg ]]; then
        kill -TERM "$trivial_bg" 2>/dev/null || true
        wait "$trivial_bg" 2>/dev/null || true
    fi
    if [[ $stack_started == 1 ]]; then
        say "stopping the stack"
        bash deploy/stack.sh stop >&2 || true
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# HTTP helper: http METHOD PATH [JSON] -> sets CODE and BODY. Sends the token
# once TOKEN is set.
TOKEN=
http() {
    local args=(-sS -o "$VAR/http.body" -w '%{http_code}' -X "$1")
    [[ -n $TOKEN ]] && args+=(-H "Authorization: Bearer $TOKEN")
    [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    CODE=$(curl "${args[@]}" "$BASE$2") || CODE=000
    BODY=$(cat "$VAR/http.body" 2>/dev/null || true)
}
json_str() { grep -oE "\"$1\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" <<<"$BODY" | head -n1 | sed -E 's/.*:[[:space:]]*"//; s/"$//' || true; }
json_int() { grep -oE "\"$1\"[[:space:]]*:[[:space:]]*[0-9]+" <<<"$BODY" | head -n1 | grep -oE '[0-9]+$' || true; }
status_ok() { [[ $CODE == 200 ]] && grep -qE '"status"[[:space:]]*:[[:space:]]*0([^0-9]|$)' <<<"$BODY"; }
expect_ok() { # what
    status_ok || die "$1: HTTP $CODE, expected 200 with \"status\":0: ${BODY:0:300}"
}

urlencode() {
    local LC_ALL=C s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
        [a-zA-Z0-9.~_-]) out+=$c ;;
        *) printf -v c '%%%02X' "'$c" && out+=$c ;;
        esac
    done
    printf '%s' "$out"
}

# Pids of the children of $1, from /proc (no procps needed).
children_of() {
    local f line fields
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        read -r -a fields <<<"${line##*) }" # state ppid ...
        if [[ ${fields[1]:-} == "$1" ]]; then
            f=${f#/proc/}
            printf '%s\n' "${f%/stat}"
        fi
    done
    return 0
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# ---------------------------------------------------------------- the stack

say "fresh stack under $CUBE_VAR (port $CUBE_PORT, postgres $CUBE_PG_PORT, redis $CUBE_REDIS_PORT)"
bash deploy/stack.sh stop >/dev/null 2>&1 || true
rm -rf "$VAR"
for port in "$CUBE_PORT" "$CUBE_PG_PORT" "$CUBE_REDIS_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "127.0.0.1:$port is already in use (BENCH_PORT, BENCH_PG_PORT, BENCH_REDIS_PORT move the stack)"
    fi
done
stack_started=1
bash deploy/stack.sh start >&2 || die "deploy/stack.sh start failed (logs in $CUBE_VAR/log/)"
mkdir -p "$OUT"
[[ -d $RUN ]] || die "$CUBE_VAR/run does not exist after stack start"

say "trivial FastCGI responder on $CUBE_VAR/run/fcgi-trivial.sock"
mkdir -p "$VAR/log"
as_cube "$BUILD/tests/fcgi_trivial" "$TRIVIAL_SOCK" "${CUBE_WORKERS:-}" "$TRIVIAL_PID" \
    2>>"$VAR/log/fcgi-trivial.log" &
trivial_bg=$!
for _ in $(seq 50); do
    [[ -S $TRIVIAL_SOCK && -s $TRIVIAL_PID ]] && break
    sleep 0.1
done
[[ -S $TRIVIAL_SOCK && -s $TRIVIAL_PID ]] ||
    die "fcgi_trivial did not start: $(tail -n 3 "$VAR/log/fcgi-trivial.log" 2>/dev/null)"
# Root without a cube user: nginx's workers run as someone else.
if [[ $EUID -eq 0 ]] && ! id cube >/dev/null 2>&1; then chmod 0666 "$TRIVIAL_SOCK"; fi

# ---------------------------------------------------------------- data

http GET /bench/static.txt
[[ $CODE == 200 ]] || die "static file: HTTP $CODE (nginx must serve tests/bench/static.txt at /bench/static.txt)"
http GET /bench/trivial
expect_ok "trivial FastCGI (/bench/trivial)"

http POST /api/login '{"username":"admin","password":"bench-pw"}'
expect_ok "login"
TOKEN=$(json_str token)
[[ -n $TOKEN ]] || die "login: no result.token in ${BODY:0:300}"
export CUBE_BENCH_TOKEN=$TOKEN

# One project through the API: proves create works and tells which user id
# the seeded rows belong to, without this script knowing the users table.
http POST /api/project_modelview/ '{"name":"bench-probe","describe":"bench"}'
expect_ok "create (probe)"
admin_id=$(sql -c "SELECT created_by_fk FROM project WHERE name = 'bench-probe'")
[[ $admin_id =~ ^[0-9]+$ ]] || die "cannot read the probe project's created_by_fk: '$admin_id'"

# 100 words; only "quixote" contains the needle, so ~1% of names match it.
WORDS="alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike
november oscar papa romeo sierra tango uniform victor whiskey xray yankee zulu amber
basalt cedar dune ember fjord glacier harbor iris jasper kelp lagoon meadow nebula orchid
pebble quartz raven saffron tundra umber valley willow yarrow zephyr anchor beacon canyon
drift estuary falcon granite heron island jungle kestrel lantern marble nectar onyx
prairie quill reef summit thistle upland vortex walnut yonder zinc acorn birch comet
dahlia eagle fern grove hazel ivy juniper lotus maple nutmeg olive poplar ridge spruce
timber violet wren yew atlas basil cobalt quixote"
read -r -d '' -a words <<<"$WORDS" || true
words_sql=$(printf "'%s'," "${words[@]}")
[[ ${#words[@]} == 100 ]] || die "the word list has ${#words[@]} words, not 100"
[[ $(grep -o "$NEEDLE" <<<"$WORDS" | wc -l) == 1 ]] || die "the needle must occur in exactly one word"

extra_cols=$(sql -c "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns
                    WHERE table_name = 'project' AND column_name IN ('created_on', 'changed_on')")
extra_vals=$(sed -E 's/[a-z_]+/now()/g' <<<"$extra_cols")

say "seeding $ROWS projects"
seed_start=$(date +%s.%N)
sql -v rows="$ROWS" -v admin="$admin_id" <<SQL
SELECT setseed(0.42);
INSERT INTO project (name, describe, type, expand, created_by_fk, changed_by_fk${extra_cols:+, $extra_cols})
SELECT 'proj-' || g || '-' || (ARRAY[${words_sql%,}])[1 + floor(random() * 100)::int],
       'seeded by the benchmark', 'org', '{}', :admin, :admin${extra_vals:+, $extra_vals}
FROM generate_series(1, :rows) AS g;
SQL
sql -c "VACUUM ANALYZE project"
seed_s=$(awk -v a="$seed_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
read -r lo hi matching < <(sql -F ' ' -c "SELECT min(id), max(id), count(*) FILTER (WHERE name ILIKE '%$NEEDLE%')
                                      FROM project WHERE name LIKE 'proj-%'")
say "seeded in ${seed_s}s: ids $lo..$hi, $matching names contain '$NEEDLE'"

# ---------------------------------------------------------------- checks

FORM='{"filters":[{"col":"name","opr":"ct","value":"'$NEEDLE'"}],"page":0,"page_size":20,"order_column":"id","order_direction":"desc"}'
LIST_PATH="/api/project_modelview/?form_data=$(urlencode "$FORM")"
SHOW_ID=$(((lo + hi) / 2))

http GET "/api/project_modelview/$SHOW_ID"
expect_ok "show /api/project_modelview/$SHOW_ID"
http GET "$LIST_PATH"
expect_ok "list"
list_count=$(json_int count)
[[ $list_count == "$matching" ]] ||
    say "warning: the list says count=$list_count, the database has $matching matching rows"
say "checks passed: static file, trivial FastCGI, create, show, list (count $list_count)"

# ---------------------------------------------------------------- runs

load_now() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?"; }
load_before=$(load_now)
RESULTS=$OUT/results.txt
: >"$RESULTS"
# wrk in the background + wait: wrk catches SIGINT itself and exits 0, so as a
# foreground command a Ctrl-C would only cut the current run short; `wait`
# lets the INT trap stop the whole benchmark.
bench_wrk() {
    wrk -t"$THREADS" "$@" &
    wrk_pid=$!
    local rc=0
    wait "$wrk_pid" || rc=$?
    wrk_pid=
    return "$rc"
}
# tagged TAG ARGS...: ARGS with @TAG@ replaced by TAG, into the array `args`
# (create.lua's names must differ between wrk invocations).
tagged() {
    local tag=$1
    shift
    args=("${@//@TAG@/$tag}")
}
# ---- CPU time per process
# What each process of the stack ran during a measured run, from the scheduler's own account
# (/proc/<pid>/task/<tid>/schedstat, first field: ns on a CPU): it moves much less with what
# else the machine runs than req/s does.  Each group is a daemon and every process under it
# (PostgreSQL: the postmaster, its backends, walwriter...).  A process that exits during the run
# takes its time with it (an autovacuum worker, say): a small undercount.  wrk's own time is
# this shell's reaped-children time (clock ticks).  No forks here: the sampling itself stays
# out of the figures.
PROF_GROUPS=(nginx api trivial postgres redis)
declare -A prof_root prof_ns prof_kids
prof_roots() { # -> prof_root[group]=pid, from the pid files
    local g f line
    for g in "${PROF_GROUPS[@]}"; do
        case $g in
        api) f=$RUN/cube-api.pid ;;
        trivial) f=$TRIVIAL_PID ;;
        postgres) f=$VAR/pg/postmaster.pid ;;
        *) f=$RUN/$g.pid ;;
        esac
        line=
        { read -r line <"$f"; } 2>/dev/null || true
        prof_root[$g]=$line
    done
}
# prof_sample -> prof_ns[group] (ns), prof_ticks (this shell's reaped children: wrk)
prof_sample() {
    local f line fields pid g t v queue
    prof_kids=()
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        read -r -a fields <<<"${line##*) }" # state ppid ...
        pid=${f#/proc/}
        prof_kids[${fields[1]}]+=" ${pid%/stat}"
    done
    for g in "${PROF_GROUPS[@]}"; do
        prof_ns[$g]=0
        [[ ${prof_root[$g]:-} =~ ^[0-9]+$ ]] || continue
        queue=("${prof_root[$g]}")
        while ((${#queue[@]})); do
            pid=${queue[0]}
            queue=("${queue[@]:1}")
            for t in /proc/"$pid"/task/*/schedstat; do
                { read -r v _ <"$t"; } 2>/dev/null || continue
                prof_ns[$g]=$((prof_ns[$g] + v))
            done
            # shellcheck disable=SC2206 # a list of pids
            queue+=(${prof_kids[$pid]:-})
        done
    done
    read -r line </proc/$$/stat
    read -r -a fields <<<"${line##*) }"
    prof_ticks=$((fields[13] + fields[14])) # cutime + cstime
}

run() { # scenario conns [wrk args...] url [-- script args]
    local s=$1 c=$2 args g
    local -A before
    shift 2
    tagged "c${c}t$(date +%s)" "$@"
    say "wrk $s, $c connections, $DURATION"
    prof_sample
    for g in "${PROF_GROUPS[@]}"; do before[$g]=${prof_ns[$g]}; done
    local ticks0=$prof_ticks
    bench_wrk -c"$c" -d"$DURATION" --latency "${args[@]}" >"$OUT/$s-$c.txt" 2>&1 ||
        say "warning: wrk exited $? for $s at $c connections (see $CUBE_VAR/wrk/$s-$c.txt)"
    prof_sample
    local rps p50 p99 errors reqs line
    read -r rps p50 p99 errors _ _ reqs < <(parse_wrk "$OUT/$s-$c.txt")
    printf '%s %s %s %s %s %s\n' "$s" "$c" "$rps" "$p50" "$p99" "$errors" >>"$RESULTS"
    # scenario conns requests wrk_ticks nginx_ns api_ns trivial_ns postgres_ns redis_ns
    line="$s $c $reqs $((prof_ticks - ticks0))"
    for g in "${PROF_GROUPS[@]}"; do line+=" $((prof_ns[$g] - before[$g]))"; done
    printf '%s\n' "$line" >>"$PROFILE"
}
# scenario [wrk args...]: an unmeasured warm-up, then one run per connection count.
scenario() {
    local s=$1 c args
    shift
    if [[ ! $WARMUP =~ ^0+[smh]?$ ]]; then
        tagged "wt$(date +%s)" "$@"
        say "wrk $s, warm-up, $WARMUP"
        bench_wrk -c"${CONNS[0]}" -d"$WARMUP" "${args[@]}" >"$OUT/$s-warmup.txt" 2>&1 || true
    fi
    for c in "${CONNS[@]}"; do run "$s" "$c" "$@"; done
}

wanted() { [[ " ${ONLY[*]} " == *" $1 "* ]]; }
PROFILE=$OUT/profile.txt
: >"$PROFILE"
prof_roots
wanted static && scenario static "$BASE/bench/static.txt"
wanted trivial && scenario trivial "$BASE/bench/trivial"
wanted show && scenario show -s "$HERE/show.lua" "$BASE" -- "$lo" "$hi"
wanted list && scenario list -s "$HERE/auth.lua" "$BASE$LIST_PATH"
wanted create && scenario create -s "$HERE/create.lua" "$BASE" -- @TAG@
if wanted trivial; then
    for c in "${CONNS[@]}"; do run trivial2 "$c" "$BASE/bench/trivial"; done
fi

# ---------------------------------------------------------------- memory

rss_lines=()
rss_max=0
rss_fail=0
api_pid=$(cat "$RUN/cube-api.pid" 2>/dev/null || true)
workers=()
if [[ $api_pid =~ ^[0-9]+$ ]] && [[ -d /proc/$api_pid ]]; then
    mapfile -t workers < <(children_of "$api_pid")
fi
for w in "${workers[@]}"; do
    rss=$(status_kb "$w" VmRSS)
    hwm=$(status_kb "$w" VmHWM)
    [[ -n $rss ]] || continue
    ((rss > rss_max)) && rss_max=$rss
    ((rss >= T_RSS_MIB * 1024)) && rss_fail=1
    rss_lines+=("$(printf '  worker %-8s VmRSS %6.1f MiB   peak (VmHWM) %6.1f MiB' "$w" \
        "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$(awk -v k="${hwm:-0}" 'BEGIN { print k / 1024 }')")")
done
trivial_workers=$(children_of "$(cat "$TRIVIAL_PID")" | wc -l)

# ---------------------------------------------------------------- report

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo
echo "Cube API benchmark — $(nproc) cores${cpu:+ ($cpu)}, wrk -t$THREADS -d$DURATION --latency"
echo "$ROWS seeded projects; list = 20 per page, name ct '$NEEDLE' ($matching matches), order id desc"
echo "cube-api workers: ${#workers[@]}, trivial FastCGI workers: $trivial_workers"
[[ ${#workers[@]} == "$trivial_workers" ]] ||
    echo "warning: worker counts differ, so the ceiling is not like for like"
echo "ratio = req/s / trivial-FastCGI req/s at the same connections (the mean of a run before the"
echo "API scenarios and one after); errors = non-2xx + socket errors; load average before: $load_before, after: $(load_now)"
echo
targets_rc=0
report "$RESULTS" || targets_rc=1
echo
profile_report "$PROFILE"
echo
echo "cube-api worker memory after the run (target: each VmRSS < $T_RSS_MIB MiB):"
if ((${#rss_lines[@]} == 0)); then
    echo "  no workers found (pid file $CUBE_VAR/run/cube-api.pid: '${api_pid}')  FAIL"
    rss_fail=1
else
    printf '%s\n' "${rss_lines[@]}"
    printf '  max VmRSS %.1f MiB  %s\n' "$(awk -v k="$rss_max" 'BEGIN { print k / 1024 }')" \
        "$( ((rss_fail)) && echo FAIL || echo PASS)"
fi
echo
echo "$REFERENCE"
echo
echo "raw wrk output: $CUBE_VAR/wrk/; logs: $CUBE_VAR/log/"

if [[ $STRICT == 1 ]] && ((targets_rc || rss_fail)); then
    exit 1
fi
exit 0
