#!/usr/bin/env bash
# Running pipelines through the REST API, as a user does: author a pipeline with the API,
# run it, follow its tasks and their live logs, stop, re-run, clear, run one task alone,
# backfill cron ticks, read notifications, manage webhooks — and the refusals (4xx).
set -uo pipefail
# shellcheck source=tests/sched/lib.sh
. "$(dirname "$0")/lib.sh"

daemons_start
URL=http://127.0.0.1:$CUBE_PORT
ADMIN_PW=${CUBE_TEST_ADMIN_PASSWORD:-admin-test-pw}
J='Content-Type: application/json'

login() {
    curl -s -X POST "$URL/api/login" -H "$J" -d "{\"username\":\"$1\",\"password\":\"$2\"}" |
        sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
TOKEN=$(login admin "$ADMIN_PW")
check "admin logs in" test -n "$TOKEN"

# api METHOD PATH [BODY]: prints "STATUS BODY"
api() {
    local tok=${TOK:-$TOKEN}
    curl -s -o "$T/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $tok" -H "$J" \
        ${3:+-d "$3"} "$URL$2" >"$T/code"
    echo "$(cat "$T/code") $(cat "$T/body")"
}
# field KEY: the first "KEY": value of the last body (scalar values only)
field() { grep -o "\"$1\" *: *\"\{0,1\}[^\",}]*" "$T/body" | head -1 | sed 's/.*: *"\{0,1\}//'; }
status() { cat "$T/code"; }

# api_wait SECONDS PATH PATTERN: polls a GET until the body matches PATTERN (grep -E).
api_wait() {
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        api GET "$2" >/dev/null
        grep -qE "$3" "$T/body" && return 0
        sleep 0.1
    done
    return 1
}

# --- author a pipeline through the API --------------------------------------------------------
api POST /api/pipeline_modelview/ "{\"project\":$PROJECT,\"name\":\"$PREFIX-api\"}" >/dev/null
P=$(field id)
same "a pipeline is created through the API" "$(status)" 200
api POST /api/task_modelview/ "{\"pipeline\":$P,\"name\":\"first\",\"job_template\":$SHELL_TEMPLATE,\"args\":{\"command\":\"for i in 1 2 3; do echo line-\$i; sleep 0.2; done\"}}" >/dev/null
same "a shell task is added" "$(status)" 200
PY=$(q "SELECT id FROM job_template WHERE name = 'python'")
api POST /api/task_modelview/ "{\"pipeline\":$P,\"name\":\"second\",\"job_template\":$PY,\"args\":{\"code\":\"import os; print('py', os.environ['KFJ_TASK_NAME'])\"}}" >/dev/null
same "a python task is added" "$(status)" 200
api PUT "/api/pipeline_modelview/$P" '{"dag_json":{"second":{"upstream":["first"]}}}' >/dev/null
same "the two tasks are chained" "$(status)" 200

# --- run it, follow it ------------------------------------------------------------------------
api POST "/api/pipeline_modelview/$P/run" >/dev/null
same "POST <id>/run starts a run" "$(status)" 200
R=$(field id)
check "the run has an id" test -n "$R"
check "the run starts queued with its tasks pending" grep -q '"pending" *: *2' "$T/body"
# Its task instances are made when the scheduler admits it, a moment later.
expect "the scheduler admits it" 10 \
    "SELECT count(*) FROM task_instance WHERE run_id = $R AND task_key = 'first'" 1
TI=$(q "SELECT id FROM task_instance WHERE run_id = $R AND task_key = 'first'")
# Tail the first task's log by offsets while it runs, as the browser does.
log="" off=0
for ((i = 0; i < 100; i++)); do
    api GET "/api/task_instance/$TI/log?offset=$off" >/dev/null
    chunk=$(sed -n 's/.*"data":"\([^"]*\)".*/\1/p' "$T/body")
    log+=$chunk
    off=$(field next)
    grep -q '"eof":true' "$T/body" && [[ -n $log ]] && break
    sleep 0.1
done
check "the live log tail returns every line in order" \
    grep -q 'line-1\\nline-2\\nline-3\\n' <<<"$log"
check "the run succeeds" api_wait 30 "/api/workflow_modelview/$R" '"state" *: *"succeeded"'
api GET "/api/task_instance/?form_data=%7B%22filters%22%3A%5B%7B%22col%22%3A%22run%22%2C%22opr%22%3A%22rel_o_m%22%2C%22value%22%3A$R%7D%5D%7D" >/dev/null
check "the run's tasks are listed with state, try, exit code and resources" \
    grep -qE '"task_key" *: *"second".*"state" *: *"succeeded".*"try_number" *: *1.*"exit_code" *: *0' "$T/body"
check "peak memory and CPU time are reported" grep -qE '"peak_rss_kb" *: *[1-9]' "$T/body"
TI2=$(q "SELECT id FROM task_instance WHERE run_id = $R AND task_key = 'second'")
api GET "/api/task_instance/$TI2/log/download" >/dev/null
check "the whole log downloads" grep -q "py second" "$T/body"
api GET "/api/task_modelview/$(q "SELECT id FROM task WHERE pipeline_id = $P AND name = 'first'")/suggestion" >/dev/null
check "a resource suggestion follows the run" grep -qE '"samples" *: *[1-9]' "$T/body"

# --- stop, re-run, clear ----------------------------------------------------------------------
api PUT "/api/task_modelview/$(q "SELECT id FROM task WHERE pipeline_id = $P AND name = 'first'")" \
    '{"args":{"command":"sleep 30"}}' >/dev/null
api POST "/api/pipeline_modelview/$P/run" >/dev/null
R2=$(field id)
check "a second run starts" api_wait 20 "/api/workflow_modelview/$R2" '"running" *: *1'
api POST "/api/workflow_modelview/$R2/stop" >/dev/null
same "stop answers 200" "$(status)" 200
check "the stopped run ends cancelled" api_wait 30 "/api/workflow_modelview/$R2" '"state" *: *"cancelled"'
api POST "/api/workflow_modelview/$R2/stop" >/dev/null
same "stopping a finished run is a conflict" "$(status)" 409
api PUT "/api/task_modelview/$(q "SELECT id FROM task WHERE pipeline_id = $P AND name = 'first'")" \
    '{"args":{"command":"echo again"}}' >/dev/null
api POST "/api/workflow_modelview/$R2/rerun" >/dev/null
same "re-running a cancelled run answers 200" "$(status)" 200
check "the re-run succeeds" api_wait 30 "/api/workflow_modelview/$R2" '"state" *: *"succeeded"'
same "the re-run keeps the snapshot it was created with (sleep 30 was cancelled, not edited)" \
    "$(q "SELECT dag_snapshot->'tasks'->'first'->'argv'->>2 FROM run WHERE id = $R2")" "sleep 30"
api POST "/api/workflow_modelview/$R/rerun" >/dev/null
same "re-running a succeeded run is a conflict" "$(status)" 409
TI=$(q "SELECT id FROM task_instance WHERE run_id = $R AND task_key = 'first'")
api POST "/api/task_instance/$TI/clear" >/dev/null
same "clearing a finished task answers 200" "$(status)" 200
check "the cleared task and its downstream run again" \
    api_wait 30 "/api/workflow_modelview/$R" '"state" *: *"succeeded".*"succeeded" *: *2'
same "a cleared task gets a new try number" \
    "$(q "SELECT string_agg(task_key || ':' || try_number, ' ' ORDER BY task_key) FROM task_instance WHERE run_id = $R")" \
    "first:2 second:2"

# --- one task alone; backfill -------------------------------------------------------------------
api POST "/api/task_modelview/$(q "SELECT id FROM task WHERE pipeline_id = $P AND name = 'second'")/run" >/dev/null
same "a task runs alone" "$(status)" 200
R3=$(field id)
expect "a task-alone run holds just that task" 10 \
    "SELECT string_agg(task_key, ' ') FROM task_instance WHERE run_id = $R3" "second"
api PUT "/api/pipeline_modelview/$P" '{"schedule_type":"crontab","cron_time":"0 3 * * *","timezone":"UTC"}' >/dev/null
q "UPDATE pipeline SET paused = true WHERE id = $P" >/dev/null
api POST "/api/pipeline_modelview/$P/backfill" '{"start":"2026-01-01T00:00:00Z","end":"2026-01-03T23:59:59Z"}' >/dev/null
same "a backfill over three days answers 200" "$(status)" 200
check "the backfill creates one run per tick" grep -q '"created":3' "$T/body"
api POST "/api/pipeline_modelview/$P/backfill" '{"start":"2026-01-01T00:00:00Z","end":"2026-01-03T23:59:59Z"}' >/dev/null
check "the same backfill again creates nothing" grep -q '"created":0,"existing":3' "$T/body"
same "the backfilled runs are cron ticks in run history" \
    "$(q "SELECT count(*) FROM run WHERE pipeline_id = $P AND trigger = 'backfill' AND cron_tick IS NOT NULL")" 3
api GET "/api/runhistory_modelview/?form_data=%7B%22filters%22%3A%5B%7B%22col%22%3A%22pipeline%22%2C%22opr%22%3A%22rel_o_m%22%2C%22value%22%3A$P%7D%5D%7D" >/dev/null
check "runhistory lists only the tick runs" grep -q '"count":3' "$T/body"
api POST "/api/pipeline_modelview/$P/backfill" '{"start":"yesterday-ish","end":"2026-01-03"}' >/dev/null
same "a malformed backfill range is a 400" "$(status)" 400

# --- refusals ---------------------------------------------------------------------------------
api POST /api/pipeline_modelview/ "{\"project\":$PROJECT,\"name\":\"$PREFIX-empty\"}" >/dev/null
E=$(field id)
api POST "/api/pipeline_modelview/$E/run" >/dev/null
same "running a pipeline with no tasks is a 422" "$(status)" 422
api POST "/api/pipeline_modelview/999999999/run" >/dev/null
same "running an unknown pipeline is a 404" "$(status)" 404
U=$PREFIX-bob
api POST /api/users/ "{\"username\":\"$U\",\"password\":\"bob-password-1\",\"roles\":[2]}" >/dev/null
BOB=$(login "$U" bob-password-1)
TOK=$BOB api POST "/api/pipeline_modelview/$P/run" >/dev/null
same "another user cannot run (or see) the pipeline" "$(status)" 404
TOK=$BOB api GET "/api/workflow_modelview/$R" >/dev/null
same "another user cannot see the run" "$(status)" 404
TOK=$BOB api GET "/api/task_instance/$TI/log" >/dev/null
same "another user cannot read the log" "$(status)" 404

# --- notifications and webhooks ---------------------------------------------------------------
check "the creator is notified" api_wait 20 /api/notification_modelview/unread '"unread":[1-9]'
api GET "/api/notification_modelview/?form_data=%7B%22page_size%22%3A1%7D" >/dev/null
N=$(field id)
api POST /api/notification_modelview/multi_action/read "{\"ids\":[$N]}" >/dev/null
same "notifications are marked read" "$(status)" 200
same "the mark is stored" "$(q "SELECT read FROM notification WHERE id = $N")" t
api POST /api/webhook_modelview/ "{\"project\":$PROJECT,\"url\":\"http://127.0.0.1:9/hook\",\"secret\":\"hook-secret-$PREFIX\",\"events\":\"failed\"}" >/dev/null
same "a webhook is created" "$(status)" 200
W=$(field id)
check "the webhook secret is not returned" bash -c "! grep -q 'hook-secret' '$T/body'"
same "the secret is stored sealed" "$(q "SELECT left(secret, 4) FROM webhook WHERE id = $W")" "cb1:"
api POST /api/webhook_modelview/ "{\"project\":$PROJECT,\"url\":\"ftp://x\",\"events\":\"failed\"}" >/dev/null
same "a webhook URL must be http(s)" "$(status)" 422
api POST /api/webhook_modelview/ "{\"project\":$PROJECT,\"url\":\"http://x/\",\"events\":\"exploded\"}" >/dev/null
same "webhook events must be run states" "$(status)" 422
api GET "/api/webhook_modelview/$W/deliveries" >/dev/null
same "the delivery log is readable" "$(status)" 200

sched_finish run_api
