#!/usr/bin/env bash
# The Kubernetes executor against what can be checked without an API server (none can run
# on these machines: ../shared/docs/engines.md §2):
#   - the bodies it POSTs and DELETEs, validated against the upstream schemas (npm package
#     kubernetes-models for batch/v1, the Kubeflow training operator's CRD for PyTorchJob)
#     plus unknown-field checks, and validate.mjs's own negative controls;
#   - its HTTP paths against a fixture API server (tests/engines/k8s_fake.c) answering with
#     recorded API objects (tests/engines/k8s/fixtures/): submit, 409 → adopt, every status
#     fixture → state and reason, 401/403/500/garbage/hang/close/unreachable → errors and
#     never a state, cancel → DELETE with propagationPolicy Background, logs from an offset,
#     check, remove; TLS with the cluster's CA through openssl s_server;
#   - the fixtures themselves, and deploy/kubernetes/, against the same schemas.
# Needs node and npm (npm ci into tests/engines/k8s/node_modules when it is missing or stale).
# Prints `k8s: N passed, N failed` last.  Run alone: bash tests/engines/test_k8s.sh
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT" || exit 1
K=tests/engines/k8s
FX=$K/fixtures
T=$(mktemp -d "${TMPDIR:-/tmp}/cube-k8s-test.XXXXXX")
PASS=0
FAIL=0
FAKE_PID=""
SSL_PID=""

cleanup() {
    [[ -n $FAKE_PID ]] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
    [[ -n $SSL_PID ]] && kill "$SSL_PID" 2>/dev/null && wait "$SSL_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

pass() {
    PASS=$((PASS + 1))
    echo "ok   $1"
}
fail() {
    FAIL=$((FAIL + 1))
    echo "FAIL $1${2:+: $2}"
}
finish() {
    echo "k8s: $PASS passed, $FAIL failed"
    ((FAIL == 0))
    exit
}
# same NAME GOT WANT
same() {
    if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
# has NAME TEXT SUBSTRING
has() {
    if [[ $2 == *"$3"* ]]; then pass "$1"; else fail "$1" "'$2' lacks '$3'"; fi
}

# --- tools and the npm package ---------------------------------------------------------------

# CUBE_K8S_SAN=1: the tools of the sanitizer build (build-san/), which then abort on any error.
B=build
SANMAKE=()
if [[ ${CUBE_K8S_SAN:-0} == 1 ]]; then
    B=build-san
    SANMAKE=(SAN=1)
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
if ! make -s --no-print-directory "${SANMAKE[@]}" "$B/tests/k8s_fake" "$B/tests/k8s_cli" >"$T/make.log" 2>&1; then
    fail "build k8s_fake and k8s_cli" "$(tail -n 5 "$T/make.log")"
    finish
fi
FAKE=$ROOT/$B/tests/k8s_fake
CLI=$ROOT/$B/tests/k8s_cli

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    fail "node and npm are needed (deploy/setup.sh installs them)"
    finish
fi
stamp=$K/node_modules/.cube-lock
if [[ ! -f $stamp ]] || ! cmp -s "$K/package-lock.json" "$stamp"; then
    if (cd "$K" && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1; then
        cp "$K/package-lock.json" "$stamp"
    else
        fail "npm ci in $K" "$(tail -n 5 "$T/npm.log")"
        finish
    fi
fi
VALIDATE=(node "$K/validate.mjs")

# --- offline schema checks ------------------------------------------------------------------

# What the builders produce for every field, every mount kind and the distributed template;
# collected, and validated with the recorded request bodies at the end (one node run).
COLLECT=$T/collect
mkdir -p "$COLLECT"
for spec in "$K"/specs/*.json; do
    n=$(basename "$spec" .json)
    if K8S_NAMESPACE=cube-jobs "$CLI" manifest <"$spec" >"$T/manifest-$n.json" 2>>"$T/cli.err"; then
        cp "$T/manifest-$n.json" "$COLLECT/manifest of specs-$n.json"
    else
        fail "manifest of specs/$n.json" "$(cat "$T/manifest-$n.json")"
    fi
done

# deploy/kubernetes (validated at the end): the kustomization names every manifest.
mapfile -t deploy < <(ls deploy/kubernetes/*.yaml 2>/dev/null | grep -v '/kustomization.yaml$')
missing=""
for f in "${deploy[@]}"; do
    grep -qE "^  - $(basename "$f")\$" deploy/kubernetes/kustomization.yaml || missing+=" $(basename "$f")"
done
same "deploy/kubernetes/kustomization.yaml lists every manifest" "${missing:-none missing}" "none missing"
# The nginx ConfigMap holds the one template rendered for the cluster (no drift from nginx/).
want=$(bash nginx/render.sh LISTEN=8080 ROOT=/usr/share/cube VAR=/var/lib/cube-web UPSTREAM=cube-api:9000)
got=$(cd "$K" && node --input-type=module -e '
import YAML from "yaml"; import { readFileSync } from "node:fs";
for (const d of YAML.parseAllDocuments(readFileSync(process.argv[1], "utf8"))) {
  const o = d.toJS(); if (o && o.kind === "ConfigMap" && o.metadata.name === "cube-nginx") process.stdout.write(o.data["cube.conf"]);
}' "$ROOT/deploy/kubernetes/nginx.yaml" 2>&1)
if [[ $got == "$want" ]]; then
    pass "the cube-nginx ConfigMap is nginx/nginx.conf.in rendered for cube-api:9000"
else
    fail "the cube-nginx ConfigMap matches nginx/render.sh" "$(diff <(echo "$want") <(echo "$got") | head -n 10)"
fi

# --- the fake API server -------------------------------------------------------------------

ROUTES=$T/routes
REC=$T/rec
mkdir -p "$REC"
: >"$ROUTES"
"$FAKE" "$ROUTES" "$ROOT/$FX" "$REC" "$T/port" 2>"$T/fake.log" &
FAKE_PID=$!
for _ in $(seq 50); do
    [[ -s $T/port ]] && break
    sleep 0.1
done
if [[ ! -s $T/port ]]; then
    fail "k8s_fake starts" "$(cat "$T/fake.log")"
    finish
fi
PORT=$(cat "$T/port")
# 5 s per verb: generous on a loaded machine; the hang and budget cases set 1 s themselves.
export K8S_ENDPOINT=http://127.0.0.1:$PORT K8S_NAMESPACE=cube-jobs K8S_TOKEN=test-token K8S_TIMEOUT_MS=5000
J=/apis/batch/v1/namespaces/cube-jobs/jobs
P=/apis/kubeflow.org/v1/namespaces/cube-jobs/pytorchjobs
PODS=/api/v1/namespaces/cube-jobs/pods

# routes LINE...: the fake's whole route table; the request record starts afresh.
routes() {
    printf '%s\n' "$@" >"$ROUTES"
    rm -f "$REC"/*
}
# requests: the recorded "METHOD TARGET" lines.
requests() { awk '{print $2, $3}' "$REC/requests.log" 2>/dev/null; }
# body N: the file holding the body of the Nth recorded request.
body() { echo "$REC/$(awk -v n="$1" 'NR == n {print $1}' "$REC/requests.log" 2>/dev/null).body"; }
# collect NAME FILE: validated with the others at the end.
collect() {
    if [[ -f $2 ]]; then cp "$2" "$COLLECT/$1.json"; else fail "$1" "no such body: $2"; fi
}
cli() { "$CLI" "$@" 2>>"$T/cli.err"; }
# field KEY < cli output
field() { sed -n "s/^$1=//p" | head -n 1; }
pods_of() { echo "$PODS?labelSelector=cube%2Fattempt%3D$1"; }

# submit: one POST, strict field validation, the bearer token, a valid body equal to the manifest.
routes "POST $J?fieldValidation=Strict 201 @echo"
out=$(cli submit <"$K/specs/job-every-field.json")
same "submit: created" "$(field err <<<"$out")" ok
same "submit: exactly one request, a POST with fieldValidation=Strict" "$(requests)" "POST $J?fieldValidation=Strict"
same "submit: bearer token sent" "$(awk '{print $4, $5}' "$REC/requests.log")" "Bearer test-token"
collect "submit: the recorded POST body" "$(body 1)"
same "submit: the body is what the builder makes, byte for byte" \
    "$(cmp -s "$(body 1)" <(tr -d '\n' <"$T/manifest-job-every-field.json") && echo same)" same

routes "POST $P?fieldValidation=Strict 201 @echo"
out=$(cli submit <"$K/specs/pytorchjob.json")
same "submit distributed: a PyTorchJob is created" "$(field err <<<"$out")" ok
same "submit distributed: POSTed to pytorchjobs" "$(requests)" "POST $P?fieldValidation=Strict"
collect "submit distributed: the recorded POST body" "$(body 1)"

# 409 → GET → adopt; no second POST.
routes "POST $J?fieldValidation=Strict 409 status-409-alreadyexists.json" \
    "GET $J/cube-r7-t17-a1 200 job-running.json"
out=$(sed 's/cube-r7-t11-a1/cube-r7-t17-a1/' "$K/specs/job-minimal.json" | cli submit)
same "409 AlreadyExists: adopted" "$(field err <<<"$out")" ok
same "409: one POST, then one GET of the name, no second POST" "$(requests | tr '\n' '|')" \
    "POST $J?fieldValidation=Strict|GET $J/cube-r7-t17-a1|"
# A namesake that is not Cube's attempt is a conflict, not an adoption.
routes "POST $J?fieldValidation=Strict 409 status-409-alreadyexists.json" \
    "GET $J/cube-r7-t99-a1 200 job-succeeded.json"
out=$(sed 's/cube-r7-t11-a1/cube-r7-t99-a1/' "$K/specs/job-minimal.json" | cli submit)
same "409 with someone else's Job: conflict" "$(field err <<<"$out")" conflict
# Rejections keep the server's message; they are errors, nothing is adopted.
submit_rejected() { # CODE FIXTURE WANT_ERR MESSAGE_PART
    routes "POST $J?fieldValidation=Strict $1 $2"
    local out
    out=$(cli submit <"$K/specs/job-minimal.json")
    same "submit answered $1: $3" "$(field err <<<"$out"):$(requests | wc -l)" "$3:1"
    has "submit answered $1: the server's message is kept" "$(field message <<<"$out")" "$4"
}
submit_rejected 403 status-403-quota.json forbidden "exceeded quota: compute"
submit_rejected 403 status-403.json forbidden "cannot create resource \"jobs\""
submit_rejected 422 status-422-invalid.json "bad request" "containers[0].image: Required value"
submit_rejected 401 status-401.json unauthorized Unauthorized
submit_rejected 500 status-500.json "service unavailable" "etcdserver: request timed out"
submit_rejected 201 garbage.txt "service unavailable" "not a JSON object"
routes "POST $P?fieldValidation=Strict 404 notfound-page.txt"
out=$(cli submit <"$K/specs/pytorchjob.json")
same "no PyTorchJob CRD: bad request (not retryable)" "$(field err <<<"$out")" "bad request"
has "no PyTorchJob CRD: says the training operator is missing" "$(field message <<<"$out")" "training operator"
routes "POST $J?fieldValidation=Strict 201 @echo"
out=$(sed 's/"python:3.12-slim"/""/' "$K/specs/job-minimal.json" | cli submit)
same "no image: refused before any request" "$(field err <<<"$out"):$(requests | wc -l)" "bad request:0"
out=$(sed 's/"cube-jobs"/"other-ns"/' "$K/specs/job-every-field.json" | cli submit)
same "a per-task namespace: refused" "$(field err <<<"$out"):$(requests | wc -l)" "bad request:0"

# Status: every fixture pair → state and reason.
status_case() { # NAME JOB_FIXTURE PODS_FIXTURE [date=...] -- expectations
    local name=$1 job=$2 pods=$3 date=${4:-}
    routes "GET $J/$name 200 $job" "GET $(pods_of "$name") 200 $pods $date"
    cli status "$name"
}
T0=1741082400 # 2025-03-04T10:00:00Z, when the fixtures' pods were created
check_status() { # LABEL OUT STATE REASON_PREFIX [extra key=value...]
    local label=$1 out=$2 state=$3 reason=$4
    shift 4
    local got="$(field err <<<"$out") $(field state <<<"$out")"
    same "status $label: state" "$got" "ok $state"
    has "status $label: reason" "$(field reason <<<"$out")" "$reason"
    for kv in "$@"; do
        same "status $label: ${kv%%=*}" "$(field "${kv%%=*}" <<<"$out")" "${kv#*=}"
    done
}
check_status succeeded "$(status_case cube-r7-t11-a1 job-succeeded.json pods-succeeded.json)" succeeded "exit 0" \
    exit_code=0 started_at=$T0 finished_at=$((T0 + 67))
check_status "failed exit 3" "$(status_case cube-r7-t12-a1 job-failed-exit3.json pods-failed-exit3.json)" failed "exit 3" \
    exit_code=3 oom_killed=0 timed_out=0
check_status OOMKilled "$(status_case cube-r7-t13-a1 job-oomkilled.json pods-oomkilled.json)" failed "out of memory" \
    oom_killed=1 exit_code=137
check_status DeadlineExceeded "$(status_case cube-r7-t14-a2 job-deadline.json pods-deadline.json)" failed "timeout after 70 s" \
    timed_out=1
check_status "deadline, pod still terminating" \
    "$(status_case cube-r7-t14-a2 job-deadline-terminating.json pods-deadline-terminating.json)" running "pending: pod terminating"
check_status Unschedulable "$(status_case cube-r7-t15-a1 job-pending-unschedulable.json pods-unschedulable.json)" running \
    "pending: unschedulable: 0/3 nodes are available"
check_status "ImagePullBackOff at 60 s" \
    "$(status_case cube-r7-t16-a1 job-pending-imagepull.json pods-imagepullbackoff.json date=$((T0 + 60)))" running \
    'pending: image pull: Back-off pulling image "registry.example.com/ml/trainer:v9"'
check_status "ImagePullBackOff at 301 s (server clock)" \
    "$(status_case cube-r7-t16-a1 job-pending-imagepull.json pods-imagepullbackoff.json date=$((T0 + 301)))" lost \
    "failed to start: image pull: Back-off pulling image"
check_status InvalidImageName "$(status_case cube-r7-t18-a1 job-pending-invalidimage.json pods-invalidimagename.json date=$((T0 + 5)))" lost \
    "failed to start: InvalidImageName"
check_status running "$(status_case cube-r7-t17-a1 job-running.json pods-running.json)" running running
check_status evicted "$(status_case cube-r7-t19-a1 job-evicted.json pods-evicted.json)" failed "lost: pod evicted: The node was low on resource: memory"
ptj_case() { # NAME PTJ_FIXTURE PODS_FIXTURE
    routes "GET $J/$1 404 status-404-job.json" "GET $P/$1 200 $2" "GET $(pods_of "$1") 200 $3"
    cli status "$1"
}
check_status "PyTorchJob running" "$(ptj_case cube-r8-t21-a1 pytorchjob-running.json pods-pytorchjob-running.json)" running running
same "PyTorchJob: Job 404 first, then the PyTorchJob, then its pods" "$(requests | tr '\n' '|')" \
    "GET $J/cube-r8-t21-a1|GET $P/cube-r8-t21-a1|GET $(pods_of cube-r8-t21-a1)|"
check_status "PyTorchJob failed" "$(ptj_case cube-r8-t22-a1 pytorchjob-failed.json pods-pytorchjob-failed.json)" failed "exit 2 (rank 2 of 3)"
check_status "PyTorchJob failed, master still running" \
    "$(ptj_case cube-r8-t22-a1 pytorchjob-failed.json pods-pytorchjob-failed-master-running.json)" running "finishing: 1 pod(s) still running"
check_status "PyTorchJob deadline" "$(ptj_case cube-r8-t23-a1 pytorchjob-deadline.json pods-deadline.json)" failed "timeout after 120 s" timed_out=1
check_status "PyTorchJob succeeded" "$(ptj_case cube-r8-t24-a1 pytorchjob-succeeded.json pods-pytorchjob-succeeded.json)" succeeded "exit 0"
routes "GET $J/cube-r9-t1-a1 404 status-404-job.json" "GET $P/cube-r9-t1-a1 404 notfound-page.txt"
check_status "Job 404 (NotFound Status) and no PyTorchJob CRD" "$(cli status cube-r9-t1-a1)" absent "lost: job vanished"
routes "GET $J/cube-r9-t1-a1 404 status-404-job.json" "GET $P/cube-r9-t1-a1 404 status-404-pytorchjob.json"
check_status "Job and PyTorchJob both NotFound" "$(cli status cube-r9-t1-a1)" absent "lost: job vanished"

# Status errors: never a state.
status_error() { # LABEL WANT_ERR MESSAGE_PART ROUTE...
    local label=$1 want=$2 msg=$3
    shift 3
    routes "$@"
    local out
    out=$(K8S_TIMEOUT_MS=1000 cli status cube-r7-t17-a1)
    same "status $label: error $want, no state" "$(field err <<<"$out"):$(field state <<<"$out")" "$want:"
    has "status $label: says why" "$(field message <<<"$out")" "$msg"
}
status_error "401" unauthorized "Unauthorized" "GET $J/cube-r7-t17-a1 401 status-401.json"
status_error "403" forbidden "cannot create resource" "GET $J/cube-r7-t17-a1 403 status-403.json"
status_error "500" "service unavailable" "etcdserver: request timed out" "GET $J/cube-r7-t17-a1 500 status-500.json"
status_error "garbage 200" "service unavailable" "not a JSON object" "GET $J/cube-r7-t17-a1 200 garbage.txt"
status_error "wrong kind" "service unavailable" "expected a Job" "GET $J/cube-r7-t17-a1 200 pods-running.json"
status_error "404 not from Kubernetes" "service unavailable" "without a Kubernetes Status" "GET $J/cube-r7-t17-a1 404 notfound-page.txt"
status_error "hang" "service unavailable" "timed out" "GET $J/cube-r7-t17-a1 200 @hang"
status_error "connection closed" "service unavailable" "GET" "GET $J/cube-r7-t17-a1 200 @close"
status_error "pod list fails" "service unavailable" "HTTP 502" "GET $J/cube-r7-t17-a1 200 job-running.json" \
    "GET $(pods_of cube-r7-t17-a1) 502 garbage.txt"
status_error "unrouted answer" "service unavailable" "no route" "GET /nothing 200 version.json"
# One budget for the whole verb: with 1000 ms in all and answers taking 600 ms each, the second
# request gets the 400 ms left and times out, the third (the pods) is never sent.  (Each with a
# full second of its own, all three would have been answered.)
routes "GET $J/cube-r8-t21-a1 404 status-404-job.json delay=600" \
    "GET $P/cube-r8-t21-a1 200 pytorchjob-running.json delay=600" \
    "GET $(pods_of cube-r8-t21-a1) 200 pods-pytorchjob-running.json"
out=$(K8S_TIMEOUT_MS=1000 cli status cube-r8-t21-a1)
same "status: one time budget for all its requests" "$(field err <<<"$out"):$(requests | grep -c pods)" "service unavailable:0"
has "status: the second request had only the rest of the budget" "$(field message <<<"$out")" "pytorchjobs/cube-r8-t21-a1: "
out=$(K8S_ENDPOINT=http://127.0.0.1:1 cli status cube-r7-t17-a1)
same "status unreachable: error, no state" "$(field err <<<"$out"):$(field state <<<"$out")" "service unavailable:"
has "status unreachable: says why" "$(field message <<<"$out")" "onnect"

# Cancel: DELETE with propagationPolicy Background (as DeleteOptions), idempotent.
routes "DELETE $J/cube-r7-t17-a1 200 status-200-deleted.json"
out=$(cli cancel cube-r7-t17-a1)
same "cancel: ok" "$(field err <<<"$out")" ok
same "cancel: one DELETE of the Job" "$(requests)" "DELETE $J/cube-r7-t17-a1"
has "cancel: propagationPolicy Background" "$(cat "$(body 1)" 2>/dev/null)" '"propagationPolicy":"Background"'
collect "cancel: the recorded DELETE body" "$(body 1)"
routes "DELETE $J/cube-r8-t21-a1 404 status-404-job.json" "DELETE $P/cube-r8-t21-a1 200 status-200-deleted.json"
same "cancel a PyTorchJob: Job 404, then the PyTorchJob" "$(cli cancel cube-r8-t21-a1 | field err):$(requests | tr '\n' '|')" \
    "ok:DELETE $J/cube-r8-t21-a1|DELETE $P/cube-r8-t21-a1|"
routes "DELETE $J/cube-r9-t1-a1 404 status-404-job.json" "DELETE $P/cube-r9-t1-a1 404 notfound-page.txt"
same "cancel of an absent attempt: ok" "$(cli cancel cube-r9-t1-a1 | field err)" ok
routes "DELETE $J/cube-r7-t17-a1 403 status-403.json"
same "cancel refused (403): forbidden" "$(cli cancel cube-r7-t17-a1 | field err)" forbidden
routes "DELETE $J/cube-r7-t17-a1 200 @hang"
same "cancel with a hung server: unavailable" "$(K8S_TIMEOUT_MS=1000 cli cancel cube-r7-t17-a1 | field err)" "service unavailable"

# Remove: only what has finished; keep_log keeps the Job (the log is in its pod).
routes "GET $J/cube-r7-t17-a1 200 job-running.json" "GET $(pods_of cube-r7-t17-a1) 200 pods-running.json" \
    "DELETE $J/cube-r7-t17-a1 200 status-200-deleted.json"
same "remove a running attempt: conflict, no DELETE" "$(cli remove cube-r7-t17-a1 | field err):$(requests | grep -c DELETE)" "conflict:0"
routes "GET $J/cube-r7-t11-a1 200 job-succeeded.json" "GET $(pods_of cube-r7-t11-a1) 200 pods-succeeded.json" \
    "DELETE $J/cube-r7-t11-a1 200 status-200-deleted.json"
same "remove a finished attempt: DELETE" "$(cli remove cube-r7-t11-a1 | field err):$(requests | grep -c DELETE)" "ok:1"
routes "GET $J/cube-r7-t11-a1 200 job-succeeded.json"
same "remove keep: nothing sent" "$(cli remove cube-r7-t11-a1 keep | field err):$(requests | wc -l)" "ok:0"

# Logs: offset and limit; eof once the pod has finished.
LOG=$FX/log-running.txt
size=$(stat -c %s "$LOG")
routes "GET $(pods_of cube-r7-t17-a1) 200 pods-running.json" \
    "GET $PODS/cube-r7-t17-a1-k3j9x/log?container=main&limitBytes=* 200 log-running.txt"
out=$(cli log cube-r7-t17-a1 0 100 "$T/log1")
same "log from 0, 100 bytes: len, next, eof" "$(field len <<<"$out") $(field next <<<"$out") $(field eof <<<"$out")" "100 100 0"
same "log from 0: the first 100 bytes" "$(cmp -s "$T/log1" <(head -c 100 "$LOG") && echo same)" same
same "log: limitBytes is offset + max" "$(requests | tail -n 1)" "GET $PODS/cube-r7-t17-a1-k3j9x/log?container=main&limitBytes=100"
out=$(cli log cube-r7-t17-a1 100 100000 "$T/log2")
same "log from 100: the rest, no eof while running" "$(field len <<<"$out") $(field next <<<"$out") $(field eof <<<"$out")" \
    "$((size - 100)) $size 0"
same "log from 100: the bytes after the first 100" "$(cmp -s "$T/log2" <(tail -c +101 "$LOG") && echo same)" same
routes "GET $(pods_of cube-r7-t11-a1) 200 pods-succeeded.json" \
    "GET $PODS/cube-r7-t11-a1-x7k2p/log?container=main&limitBytes=* 200 log-running.txt"
out=$(cli log cube-r7-t11-a1 $((size - 10)) 100000 "$T/log3")
same "log of a finished pod: the tail and eof" "$(field len <<<"$out") $(field eof <<<"$out")" "10 1"
routes "GET $(pods_of cube-r8-t21-a1) 200 pods-pytorchjob-running.json" \
    "GET $PODS/cube-r8-t21-a1-master-0/log?container=pytorch&limitBytes=* 200 log-running.txt"
same "log of a PyTorchJob: the master's" "$(cli log cube-r8-t21-a1 0 10 | field err):$(requests | tail -n 1 | cut -d'&' -f1)" \
    "ok:GET $PODS/cube-r8-t21-a1-master-0/log?container=pytorch"
routes "GET $(pods_of cube-r7-t15-a1) 200 pods-running.json" \
    "GET $PODS/cube-r7-t17-a1-k3j9x/log?container=main&limitBytes=* 400 status-400-waiting.json"
out=$(cli log cube-r7-t15-a1 0 100)
same "log of a container not started: empty, no error" "$(field err <<<"$out") $(field len <<<"$out") $(field eof <<<"$out")" "ok 0 0"
routes "GET $(pods_of cube-r9-t1-a1) 200 pods-deadline.json" "GET $J/cube-r9-t1-a1 404 status-404-job.json" \
    "GET $P/cube-r9-t1-a1 404 notfound-page.txt"
same "log of an absent attempt: not found" "$(cli log cube-r9-t1-a1 0 100 | field err)" "not found"
routes "GET $(pods_of cube-r7-t14-a2) 200 pods-deadline.json" "GET $J/cube-r7-t14-a2 200 job-deadline.json"
out=$(cli log cube-r7-t14-a2 0 100)
same "log of a finished attempt whose pod is gone: empty, eof" "$(field err <<<"$out") $(field len <<<"$out") $(field eof <<<"$out")" "ok 0 1"
same "log past the readable window: too big" "$(cli log cube-r7-t17-a1 $((16 << 20)) 10 | field err)" "request body too large"

# Check: version, capacity, access.
routes "GET /version 200 version.json" "GET /api/v1/nodes 200 nodes.json" \
    "GET $J?limit=1 200 jobs-empty.json" "GET $P?limit=1 200 pytorchjobs-empty.json"
out=$(cli check)
same "check: ok" "$(field err <<<"$out")" ok
report=$(field report <<<"$out")
# By hand from nodes.json: 3 nodes, node-c not Ready; allocatable cpu 7910m + 7910m + 3920m;
# memory (32612884 + 32612884 + 16264788) Ki; nvidia.com/gpu 2 on node-b.
same "check: the report" "$(node -e 'const r=JSON.parse(process.argv[1]);
  console.log([r.ok,r.version,r.platform,r.nodes.count,r.nodes.ready,r.nodes.cpu.toFixed(2),r.nodes.memory_bytes,r.nodes.gpus,r.namespace_access,r.pytorchjob].join(" "))' "$report")" \
    "true v1.31.4 linux/amd64 3 2 19.74 $(((32612884 * 2 + 16264788) * 1024)) 2 ok available"
routes "GET /version 200 version.json" "GET /api/v1/nodes 403 status-403-nodes.json" \
    "GET $J?limit=1 403 status-403.json" "GET $P?limit=1 404 notfound-page.txt"
out=$(cli check)
report=$(field report <<<"$out")
same "check without node or namespace rights: reported, not an error" "$(field err <<<"$out") $(node -e 'const r=JSON.parse(process.argv[1]); console.log(r.ok, "error" in r.nodes, r.namespace_access.includes("forbidden"), r.pytorchjob.startsWith("not installed"))' "$report")" \
    "ok false true true true"
routes "GET /version 401 status-401.json"
same "check with a rejected token: unauthorized" "$(cli check | field err)" unauthorized

# TLS: the cluster's CA (CURLOPT_CAINFO_BLOB) is what makes the server trusted.
if command -v openssl >/dev/null; then
    mkdir -p "$T/tls/www"
    cp "$FX/version.json" "$T/tls/www/version"
    ok_tls=1
    for who in server other; do
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=cube-test-$who" \
            -addext subjectAltName=IP:127.0.0.1 -days 1 -keyout "$T/tls/$who.key" -out "$T/tls/$who.crt" \
            >/dev/null 2>&1 || ok_tls=0
    done
    if ((ok_tls)); then
        (cd "$T/tls/www" && exec openssl s_server -WWW -accept 127.0.0.1:0 -cert ../server.crt -key ../server.key) \
            >"$T/tls/out" 2>&1 &
        SSL_PID=$!
        for _ in $(seq 50); do
            grep -q '^ACCEPT' "$T/tls/out" 2>/dev/null && break
            sleep 0.1
        done
        sport=$(sed -n 's/^ACCEPT .*:\([0-9]*\)$/\1/p' "$T/tls/out" | head -n 1)
        out=$(K8S_ENDPOINT=https://127.0.0.1:$sport K8S_CA_FILE=$T/tls/server.crt cli check)
        same "TLS with the cluster's CA: /version read" "$(field err <<<"$out")" ok
        has "TLS with the cluster's CA: the version reported" "$(field report <<<"$out")" '"version":"v1.31.4"'
        out=$(K8S_ENDPOINT=https://127.0.0.1:$sport K8S_CA_FILE=$T/tls/other.crt cli check)
        same "TLS with another CA: refused" "$(field err <<<"$out")" "service unavailable"
        has "TLS with another CA: a certificate error" "$(field message <<<"$out")" "certificate"
    else
        fail "openssl could not make test certificates"
    fi
else
    fail "openssl is needed for the TLS checks"
fi

# --- everything against the schemas, in one node run ---------------------------------------
# The fixtures are API objects of the shapes the server sends (all but /version's); bad/ are
# the negative controls; deploy/kubernetes; the manifests and request bodies collected above.
mapfile -t objs < <(ls "$FX"/*.json | grep -v '/version.json$')
out=$("${VALIDATE[@]}" "$K"/bad/*.json "${objs[@]}" "${deploy[@]}" "$COLLECT"/*.json 2>&1)
verdict() { grep -F " $1 " <<<"$out"; }

# validate.mjs must be able to fail, for the reason each bad manifest was made for.
while read -r file want; do
    line=$(verdict "$K/bad/$file")
    if [[ $line == FAIL* && $line == *"$want"* ]]; then
        pass "validate.mjs rejects bad/$file ($want)"
    else
        fail "validate.mjs rejects bad/$file" "${line:-no verdict}"
    fi
done <<'EOF2'
job-typo-field.json unknown field spec.backofLimit
job-typo-nested.json unknown field spec.template.spec.containers[0].volumeMount
job-restartpolicy-number.json restartPolicy must be string
job-bad-quantity.json memory must match format "quantity"
job-no-containers.json must have required property containers
job-volume-wrong-type.json medium must be string
pytorchjob-typo-runpolicy.json unknown field spec.runPolicy.backofLimit
pytorchjob-replicas-string.json replicas must be integer
pytorchjob-bad-enum-in-template.json imagePullPolicy must be equal to one of the allowed values
pytorchjob-typo-in-template.json unknown field spec.pytorchReplicaSpecs.Master.template.spec.containers[0].port
pytorchjob-typo-metadata.json unknown field metadata.label
EOF2

bad=""
for f in "${objs[@]}"; do
    [[ $(verdict "$f") == ok* ]] || bad+=$'\n'"$(verdict "$f")"
done
same "the ${#objs[@]} fixture objects are valid (schemas, no unknown fields)" "${bad:-none invalid}" "none invalid"

bad=""
n=0
for f in "${deploy[@]}"; do
    while IFS= read -r line; do
        n=$((n + 1))
        [[ $line == ok* ]] || bad+=$'\n'"$line"
    done < <(verdict "$f")
done
if ((n == 0)); then
    fail "deploy/kubernetes has manifests"
else
    same "deploy/kubernetes: $n objects in ${#deploy[@]} files are valid" "${bad:-none invalid}" "none invalid"
fi

for f in "$COLLECT"/*.json; do
    name=$(basename "$f" .json)
    line=$(verdict "$f")
    if [[ $line == ok* ]]; then
        pass "$name is valid ($(awk '{print $NF}' <<<"$line"))"
    else
        fail "$name is valid" "${line:-no verdict}"
    fi
done

if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/cli.err" "$T/fake.log" 2>/dev/null; then
    fail "no sanitizer reports from k8s_cli or k8s_fake" "$(grep -hE -A 5 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/cli.err" "$T/fake.log" | head -n 20)"
fi

finish
