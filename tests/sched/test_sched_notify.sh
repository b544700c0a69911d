#!/usr/bin/env bash
# Notifications on the test stack: alert_status decides which run states alert, once per run
# and state; in-app rows for the pipeline's creator and alert_user; Redis PUBLISH on
# cube:events; webhooks with the HMAC-SHA256 signature checked by openssl against a local
# receiver (tests/sched/hook_receiver.c, built here with cc), a receiver answering 500
# (retried with backoff on the shifted clock, then delivered) and one slower than the time
# limit (timed out, while the watcher keeps recording other runs); and no delivery while a
# scheduler tick holds the tick lock.
set -uo pipefail
# shellcheck source=tests/sched/lib.sh
. "$(dirname "$0")/lib.sh"

# The receiver: libcube.a for `seal`, the non-sanitizer build when there is one.
LIB=$ROOT/build/libcube.a
SAN=()
if [[ ! -f $LIB ]]; then
    LIB=$BUILD/libcube.a
    [[ $BUILD == *san* ]] && SAN=(-fsanitize=address,undefined)
fi
HOOKDIR=$T/hook
mkdir -p "$HOOKDIR"
chmod 777 "$HOOKDIR"
# shellcheck disable=SC2046 # pkg-config's flags are words
if ! cc -std=c17 -D_GNU_SOURCE -O1 "${SAN[@]}" -Ifcgi tests/sched/hook_receiver.c "$LIB" \
    $(pkg-config --libs json-c) -o "$T/hook_receiver" 2>"$T/cc.log"; then
    fail "the webhook receiver builds" "$(head -c 400 "$T/cc.log")"
    sched_finish sched_notify
    exit 1
fi
echo 200 >"$HOOKDIR/mode"
"$T/hook_receiver" serve "$HOOKDIR" &
RECEIVER=$!
for ((i = 0; i < 50; i++)); do [[ -s $HOOKDIR/port ]] && break; sleep 0.1; done
PORT=$(cat "$HOOKDIR/port")
stop_receiver() { kill "$RECEIVER" 2>/dev/null; wait "$RECEIVER" 2>/dev/null; }

daemons_start
# A project of its own, so no other suite's runs reach this webhook.
PROJECT=$(q "INSERT INTO project (name) VALUES ('$PREFIX-hooks') RETURNING id")
ALICE=$PREFIX-alice
q "INSERT INTO users (username, password) VALUES ('$ALICE', 'x')" >/dev/null
SECRET=hook-secret-$PREFIX
KEY=$(sed -n "s/^CUBE_SECRET_KEY='\(.*\)'$/\1/p" "$VAR/cube.env")
SEALED=$("$T/hook_receiver" seal "$KEY" "$SECRET")
HOOK=$(q "INSERT INTO webhook (project_id, name, url, secret, events) VALUES ($PROJECT, 'test', 'http://127.0.0.1:$PORT/hook', '$SEALED', 'succeeded, failed') RETURNING id")
REDIS_OUT=$T/redis.out
timeout 60 redis-cli -s "$RUNDIR/redis.sock" SUBSCRIBE cube:events >"$REDIS_OUT" 2>&1 &
SUBSCRIBER=$!
sleep 0.3

# --- a run that succeeds: in-app, Redis, a signed webhook ---------------------------------------
P=$(mkpipe hooked '{}' "alert_status='failed, Succeeded'" "alert_user='$ALICE'")
mktask "$P" ok 'echo fine' >/dev/null
R=$(run_of "$P")
expect "the run succeeds" 20 "SELECT state FROM run WHERE id = $R" succeeded
same "alert_status 'failed, Succeeded' (cube-studio's name): only succeeded alerts" \
    "$(q "SELECT string_agg(state, ',') FROM outbox WHERE run_id = $R")" succeeded
expect "an in-app notification for the creator and for alert_user" 10 \
    "SELECT string_agg(u.username, ',' ORDER BY u.username) FROM notification n JOIN users u ON u.id = n.user_id WHERE n.run_id = $R" \
    "admin,$ALICE"
same "its title names pipeline, run and state" \
    "$(q "SELECT DISTINCT title FROM notification WHERE run_id = $R")" "$PREFIX-hooked: run $R succeeded"
expect "the webhook is delivered (HTTP 200, one attempt)" 10 \
    "SELECT delivered || ':' || status || ':' || attempts FROM webhook_delivery WHERE webhook_id = $HOOK AND outbox_id = (SELECT id FROM outbox WHERE run_id = $R)" \
    "true:200:1"
D=$(q "SELECT d.id FROM webhook_delivery d JOIN outbox o ON o.id = d.outbox_id WHERE o.run_id = $R")
N=$(grep -l "X-Cube-Delivery: $D" "$HOOKDIR"/*.head 2>/dev/null | head -n 1)
N=${N%.head}
check "the receiver got the request with X-Cube-Delivery" test -n "$N"
check "X-Cube-Event names the state" grep -q "X-Cube-Event: run.succeeded" "$N.head"
check "the body is the run event" grep -q "\"run_id\": *$R" "$N.body"
# The transition writes its moment (state, from, reason, time); the watcher adds the run's and
# its pipeline's fields at the first delivery (sql/0012).
for field in "\"from\": *\"running\"" "\"event\": *\"run.succeeded\"" "\"trigger\": *\"manual\"" \
    "\"pipeline\": *\"$PREFIX-hooked\"" "\"pipeline_id\": *$P\b" "\"project_id\": *$PROJECT\b" \
    "\"cron_tick\": *null" "\"execution_date\": *\"20" "\"at\": *\"20"; do
    check "the body has $field" grep -q "$field" "$N.body"
done
same "the body is the stored payload, byte for byte" "$(cat "$N.body")" \
    "$(q "SELECT payload::text FROM outbox WHERE run_id = $R")"
sig=$(sed -n 's/^X-Cube-Signature: sha256=\([0-9a-f]*\).*/\1/p' "$N.head")
want=$(openssl dgst -sha256 -hmac "$SECRET" <"$N.body" 2>/dev/null | sed 's/^.*= *//')
if [[ -n $want && $sig == "$want" ]]; then pass "X-Cube-Signature is HMAC-SHA256 of the body with the secret (openssl)"; else
    fail "X-Cube-Signature is HMAC-SHA256 of the body with the secret (openssl)" "got '$sig', openssl '$want'"; fi
wrong=$(openssl dgst -sha256 -hmac "not-$SECRET" <"$N.body" 2>/dev/null | sed 's/^.*= *//')
check "(and not with another key)" test "$sig" != "$wrong"
check "Redis subscribers got the event on cube:events" grep -q "\"event\": *\"run.succeeded\", *\"state\": *\"succeeded\", *\"reason\": *\"\", *\"run_id\": *$R\b" "$REDIS_OUT"

# --- a receiver that answers 500: retried with backoff, then delivered ---------------------------
echo 500 >"$HOOKDIR/mode"
P=$(mkpipe failing '{}')
mktask "$P" bad 'exit 1' >/dev/null
R=$(run_of "$P")
expect "the run fails" 20 "SELECT state FROM run WHERE id = $R" failed
OUTBOX=$(q "SELECT id FROM outbox WHERE run_id = $R AND state = 'failed'")
dq="SELECT attempts || ':' || delivered || ':' || coalesce(status, 0) || ':' || error || ':' || round(extract(epoch FROM next_attempt_at - changed_on)) FROM webhook_delivery WHERE webhook_id = $HOOK AND outbox_id = $OUTBOX"
expect "a 500 is recorded and retried in 10 s" 10 "$dq" "1:false:500:HTTP 500:10"
clock_shift 11
expect "the second attempt fails too; the next waits 20 s" 10 "$dq" "2:false:500:HTTP 500:20"
echo 200 >"$HOOKDIR/mode"
sleep 0.5
same "nothing is sent before its time" "$(q "SELECT attempts FROM webhook_delivery WHERE outbox_id = $OUTBOX")" 2
clock_shift 21
expect "once the endpoint recovers, the third attempt delivers" 10 \
    "SELECT attempts || ':' || delivered || ':' || status FROM webhook_delivery WHERE outbox_id = $OUTBOX" "3:true:200"
D=$(q "SELECT id FROM webhook_delivery WHERE outbox_id = $OUTBOX")
same "each of the three attempts sent the same bytes" \
    "$(grep -l "X-Cube-Delivery: $D\b" "$HOOKDIR"/*.head | sed 's/head$/body/' | xargs md5sum | cut -d' ' -f1 | sort | uniq -c | sed 's/^ *//')" \
    "3 $(md5sum <"$(grep -l "X-Cube-Delivery: $D\b" "$HOOKDIR"/*.head | head -n 1 | sed 's/head$/body/')" | cut -d' ' -f1)"

# --- a receiver slower than the time limit: it times out, the watcher goes on --------------------
echo sleep >"$HOOKDIR/mode"
P=$(mkpipe slowhook '{}')
mktask "$P" ok 'true' >/dev/null
R1=$(run_of "$P")
expect "a run succeeds" 20 "SELECT state FROM run WHERE id = $R1" succeeded
t0=$(date +%s%N)
R2=$(run_of "$P")
expect "another run is recorded while the slow webhook is in flight" 20 "SELECT state FROM run WHERE id = $R2" succeeded
ms=$((($(date +%s%N) - t0) / 1000000))
if ((ms < 2500)); then pass "that took ${ms} ms (< 2500: the watcher never waited for the hook)"; else
    fail "the second run is not held up by the slow hook" "${ms} ms"; fi
expect "the slow delivery failed with a timeout" 10 \
    "SELECT attempts || ':' || delivered || ':' || (error ILIKE '%timed out%' OR error ILIKE '%timeout%') FROM webhook_delivery WHERE outbox_id = (SELECT id FROM outbox WHERE run_id = $R1 AND state = 'succeeded')" \
    "1:false:true"

q "UPDATE webhook SET active = false WHERE id = $HOOK" >/dev/null

# --- while a tick creates runs the watcher leaves the outbox alone (sched/leader.h LOCK_KEY_TICK) --
# A session holds the tick lock as the scheduler does during a tick; an alert written meanwhile
# waits, and is delivered once the lock is released (at the latest by the next watcher pass).
P=$(mkpipe ticklock '{}' "alert_status='succeeded'")
mktask "$P" ok 'true' >/dev/null
psql_ -c "SELECT pg_advisory_lock($((0x6375626503))); SELECT pg_sleep(4)" >/dev/null &
LOCKER=$!
sleep 0.5
R=$(run_of "$P")
expect "a run succeeds while the tick lock is held" 3 "SELECT state FROM run WHERE id = $R" succeeded
sleep 1
same "its alert is not delivered while the lock is held" \
    "$(q "SELECT (sent_at IS NULL)::text || ':' || (SELECT count(*) FROM notification WHERE outbox_id = o.id) FROM outbox o WHERE run_id = $R")" "true:0"
wait "$LOCKER"
expect "once the lock is released it is" 5 \
    "SELECT (sent_at IS NOT NULL)::text || ':' || (SELECT count(*) FROM notification WHERE outbox_id = o.id) FROM outbox o WHERE run_id = $R" "true:1"

# --- deletes take a run's alerts along (statement triggers of sql/0012, not foreign keys) ---------
same "(run $R has an alert and a notification)" \
    "$(q "SELECT count(*) FROM outbox o JOIN notification n ON n.outbox_id = o.id WHERE o.run_id = $R")" 1
q "DELETE FROM run WHERE id = $R" >/dev/null
same "deleting a run deletes its alerts; their notifications stay, detached" \
    "$(q "SELECT (SELECT count(*) FROM outbox WHERE run_id = $R) || ':' || (SELECT count(*) FROM notification WHERE run_id = $R AND outbox_id IS NULL)")" \
    "0:1"
HOOKED=$(q "SELECT id FROM pipeline WHERE name = '$PREFIX-hooked'")
same "(pipeline $HOOKED has runs, alerts and task instances)" \
    "$(q "SELECT count(DISTINCT r.id) > 0 AND count(o.id) > 0 AND bool_and(EXISTS (SELECT 1 FROM task_instance t WHERE t.run_id = r.id)) FROM run r LEFT JOIN outbox o ON o.run_id = r.id WHERE r.pipeline_id = $HOOKED")" t
HOOKED_RUNS=$(q "SELECT string_agg(id::text, ',') FROM run WHERE pipeline_id = $HOOKED")
q "DELETE FROM pipeline WHERE id = $HOOKED" >/dev/null
same "deleting a pipeline deletes its runs, their alerts and their task instances" \
    "$(q "SELECT (SELECT count(*) FROM run WHERE id IN ($HOOKED_RUNS)) || ':' || (SELECT count(*) FROM outbox WHERE run_id IN ($HOOKED_RUNS)) || ':' || (SELECT count(*) FROM task_instance WHERE run_id IN ($HOOKED_RUNS))")" \
    "0:0:0"

stop_receiver
kill "$SUBSCRIBER" 2>/dev/null
wait "$SUBSCRIBER" 2>/dev/null
sched_finish sched_notify
