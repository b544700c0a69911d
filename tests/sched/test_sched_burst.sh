#!/usr/bin/env bash
# A burst of work after a quiet start: the scheduler's passes keep up.  Its scans over the
# active rows (pending task instances and their upstreams, running runs) were prepared once,
# with plans made for the table sizes of their first execution; when ten thousand runs arrived
# at once (a big tick, a backfill), a plan made for a few dozen rows walked every pending task
# instance once per pending task instance, each pass ran into the statement timeout, and
# nothing was dispatched until autovacuum's ANALYZE, up to a minute later.  Those scans are now
# planned at every execution (db_query_fresh).
set -uo pipefail
# shellcheck source=tests/sched/lib.sh
. "$(dirname "$0")/lib.sh"

N=10000
daemons_start
# A first run while the tables are small: the scheduler's statements have all run once.
SMALL=$(mkpipe burst-small '{}')
mktask "$SMALL" only 'echo small' >/dev/null
R0=$(run_of "$SMALL")
expect "a run before the burst succeeds" 30 "SELECT state FROM run WHERE id = $R0" succeeded

# The burst: N running runs, each with a task waiting for a retry far in the future and a
# pending task downstream of it, so every pass looks at N pending task instances and their
# upstreams and dispatches none of them.
BURST=$(mkpipe burst-big '{}')
mark=$(wc -c <"$LOGDIR/cube-scheduler.log")
q "WITH r AS (INSERT INTO run (pipeline_id, trigger, state, dag_snapshot, queued_at, started_at)
     SELECT $BURST, 'manual', 'running', '{}', now(), now() FROM generate_series(1, $N)
     RETURNING id)
   INSERT INTO task_instance (run_id, task_key, state, upstream, next_retry_at)
   SELECT r.id, k, CASE k WHEN 'a' THEN 'up_for_retry' ELSE 'pending' END,
          CASE k WHEN 'b' THEN ARRAY['a'] ELSE '{}' END,
          CASE k WHEN 'a' THEN now() + interval '1 day' END
   FROM r, unnest(ARRAY['a', 'b']) k" >/dev/null
same "the burst is in" "$(q "SELECT count(*) FROM task_instance ti JOIN run r ON r.id = ti.run_id
    WHERE r.pipeline_id = $BURST")" $((2 * N))

R1=$(run_of "$SMALL")
start=$(date +%s%N)
expect "a run started after the burst succeeds within 5 s" 5 \
    "SELECT state FROM run WHERE id = $R1" succeeded
echo "# run after the burst: $((($(date +%s%N) - start) / 1000000)) ms" >&2
timeouts=$(tail -c +$((mark + 1)) "$LOGDIR/cube-scheduler.log" | grep -c 'statement timeout')
same "no scheduler statement ran into the timeout" "$timeouts" 0
same "the burst's runs were left as they were" \
    "$(q "SELECT count(*) FROM task_instance ti JOIN run r ON r.id = ti.run_id
          WHERE r.pipeline_id = $BURST AND ti.state IN ('up_for_retry', 'pending')")" $((2 * N))

# Gone again, so the scenarios after this one scan the tables they had.
q "DELETE FROM run WHERE pipeline_id = $BURST" >/dev/null
sched_finish sched_burst
