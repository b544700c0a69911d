/*
 * sched.c — the entry points of sched.h: run creation, cancel, rerun, clear,
 * the clock, attempt names and resource suggestions.  The transitions
 * themselves are state.c's single statements.
 */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "core/cron.h"
#include "core/js.h"
#include "core/log.h"
#include "core/snapshot.h"
#include "sched/daemon.h"
#include "sched/policy.h"
#include "sched/sched.h"
#include "sched/state.h"
#include "core/common.h"

/* ---- clock ------------------------------------------------------------------------------ */

int64_t sched_clock_offset_s(void)
{
    char text[64];
    ssize_t n;
    int fd;
    int64_t v = 0;
    char *s, *end;

    if (!cfg.clock_file || !*cfg.clock_file)
        return 0;
    fd = open(cfg.clock_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    for (s = text; isspace((unsigned char)*s); s++)
        ;
    for (end = s + strlen(s); end > s && isspace((unsigned char)end[-1]); end--)
        ;
    *end = '\0';
    /* About a century either way: enough for any test, far from overflowing microseconds. */
    if (!parse_i64(s, -3155760000LL, 3155760000LL, &v))
        return 0;
    return v;
}

enum err sched_now(struct db *db, struct arena *a, int64_t *now_us)
{
    struct pg_result *r;
    enum err e;

    *now_us = 0;
    if ((e = db_query(db, a, "SELECT (extract(epoch FROM now()) * 1000000)::bigint", 0, NULL, &r,
                      NULL)))
        return e;
    *now_us = db_i64(r, 0, 0) + sched_clock_offset_s() * 1000000;
    return ERR_OK;
}

const char *sched_attempt_name(struct arena *a, int64_t run_id, int64_t ti_id, int try_number)
{
    /* Must match the name state.c's SQL gives a new try. */
    return arena_printf(a, "cube-r%" PRId64 "-t%" PRId64 "-a%d", run_id, ti_id, try_number);
}

/* ---- alert states ----------------------------------------------------------------------- */

const char *sched_alert_states(struct arena *a, const char *alert_status)
{
    static const struct {
        const char *name, *state;
    } names[] = {
        {"queued", "queued"},        {"pending", "queued"},        {"created", "queued"},
        {"waiting", "queued"},       {"running", "running"},       {"succeeded", "succeeded"},
        {"failed", "failed"},        {"cancelling", "cancelling"}, {"cancelled", "cancelled"},
        {"terminated", "cancelled"}, {"skipped", "skipped"},
    };
    struct buf b;
    const char *p = alert_status ? alert_status : "";

    buf_init(&b, a, 4096);
    while (*p) {
        char word[32];
        size_t n = 0;
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        while (*p && *p != ',' && !isspace((unsigned char)*p)) {
            if (n < sizeof(word) - 1)
                word[n++] = (char)tolower((unsigned char)*p);
            p++;
        }
        word[n] = '\0';
        for (size_t i = 0; n && i < ARRAY_LEN(names); i++) {
            const char *have = buf_str(&b);
            size_t sl = strlen(names[i].state);
            bool dup = false;
            if (strcmp(word, names[i].name))
                continue;
            for (const char *q = have; *q;) {
                if (!strncmp(q, names[i].state, sl) && (q[sl] == ',' || !q[sl]))
                    dup = true;
                q = strchr(q, ',');
                q = q ? q + 1 : "";
            }
            if (!dup)
                buf_addf(&b, "%s%s", b.len ? "," : "", names[i].state);
            break;
        }
    }
    return buf_err(&b) ? "" : buf_str(&b);
}

/* "a, b;c" -> "a,b,c": alert_user as the watcher matches it against usernames. */
static const char *user_list(struct arena *a, const char *text)
{
    struct buf b;
    const char *p = text ? text : "";

    buf_init(&b, a, 4096);
    while (*p) {
        const char *w;
        while (*p == ',' || *p == ';' || isspace((unsigned char)*p))
            p++;
        w = p;
        while (*p && *p != ',' && *p != ';' && !isspace((unsigned char)*p))
            p++;
        if (p > w)
            buf_addf(&b, "%s%.*s", b.len ? "," : "", (int)(p - w), w);
    }
    return buf_err(&b) ? "" : buf_str(&b);
}

/* ---- run creation ----------------------------------------------------------------------- */

/* FOR KEY SHARE: the pipeline cannot be deleted before the run is in (run.pipeline_id has no
 * foreign key, sql/0012; a tick's runs are covered by its claim of the pipeline_tick rows, FOR
 * UPDATE, which a pipeline's delete cascades to and waits for). */
static const char PIPE_SQL[] =
    "SELECT parallelism, alert_status, alert_user, nextval('run_id_seq') FROM pipeline "
    "WHERE id = $1::bigint FOR KEY SHARE";

/* Any number of runs in one statement, one array per column: $1 ids, $2 pipelines, $3 triggers,
 * $4 cron ticks, $5 execution dates, $6 snapshots, $7 parallelism, $8 alert states, $9 alert
 * users, $10 created by; $11 the actor and $12 the reason of them all; $13 now; $14 whether
 * to wake the watcher (NOTIFY cube_watch) for the alerts written here.  A run is queued as its
 * row, its state change and its alert; its task instances are made when it is admitted
 * (admit.c).
 *
 * Every part after the run insert reads only `u`: a prepared statement soon runs with a
 * generic plan, which guesses 10 rows per array, and a join of u with the arrays would then be
 * a nested loop over both, quadratic in the batch.  The outbox insert needs no ON CONFLICT:
 * its runs were inserted by this very statement.  Each NOTIFY is sent once per statement, not
 * once per run. */
#define CREATE_ALERT STATE_OUTBOX_INSERT("u", "'queued'", "NULL", "$12::text", "$13::timestamptz")
static const char CREATE_SQL[] =
    "WITH u AS (INSERT INTO run (id, pipeline_id, trigger, cron_tick, execution_date, state, "
    "dag_snapshot, parallelism, alert_status, alert_user, created_by_fk, queued_at) "
    "SELECT v.id, v.pipeline_id, v.trigger, v.cron_tick, v.execution_date, 'queued', "
    "v.snapshot::jsonb, v.parallelism, v.alert_status, v.alert_user, v.created_by, "
    "$13::timestamptz FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[], "
    "$5::timestamptz[], $6::text[], $7::int[], $8::text[], $9::text[], $10::bigint[]) "
    "AS v(id, pipeline_id, trigger, cron_tick, execution_date, snapshot, parallelism, "
    "alert_status, alert_user, created_by) "
    "ON CONFLICT (pipeline_id, cron_tick) DO NOTHING "
    "RETURNING id, alert_status), "
    "sc AS (INSERT INTO state_change (entity, entity_id, from_state, to_state, reason, actor, at) "
    "SELECT 'run', u.id, NULL, 'queued', $12::text, $11::text, $13::timestamptz FROM u), "
    "ob AS (" CREATE_ALERT " RETURNING id) "
    "SELECT u.id, (SELECT pg_notify('cube_sched', '') FROM u LIMIT 1), "
    "(SELECT pg_notify('cube_watch', '') FROM ob WHERE $14::boolean LIMIT 1) FROM u";

/* "YYYY-MM-DD HH:MM:SS" in UTC, with "+00" when zone is set (a timestamptz parameter). */
static const char *iso_utc(struct arena *a, int64_t s, bool zone)
{
    time_t t = (time_t)s;
    struct tm tm;
    char out[40];
    gmtime_r(&t, &tm);
    strftime(out, sizeof(out), "%Y-%m-%d %H:%M:%S", &tm);
    return zone ? arena_printf(a, "%s+00", out) : arena_strdup(a, out);
}

/* Keeps only task `only` in the snapshot, with no upstream: the run executes it alone. */
static enum err only_task(struct arena *a, const char **snap_text, const char *only,
                          const char **err)
{
    const char *msg;
    json_object *snap = js_parse(a, *snap_text, strlen(*snap_text), &msg);
    json_object *tasks = js_get(snap, "tasks"), *t = js_get(tasks, only), *nt, *order;

    if (!snap)
        return ERR_INTERNAL;
    if (!t) {
        *err = arena_printf(a, "the pipeline has no task named '%s'", only);
        return ERR_UNPROCESSABLE;
    }
    t = json_object_get(t);
    json_object_object_add(t, "upstream", json_object_new_array());
    nt = json_object_new_object();
    json_object_object_add(nt, only, t);
    json_object_object_add(snap, "tasks", nt);
    order = json_object_new_array();
    json_object_array_add(order, json_object_new_string(only));
    json_object_object_add(snap, "order", order);
    *snap_text = arena_strdup(a, js_str(snap));
    return ERR_OK;
}

void run_rows_init(struct run_rows *rows, struct arena *a)
{
    memset(rows, 0, sizeof(*rows));
    rows->arena = a;
}

enum err sched_run_prepare(struct db *db, struct arena *a, const struct run_request *rq,
                           int64_t now_us, const struct run_pipe *pipe, struct run_rows *rows,
                           const char **err)
{
    const char *p[1];
    struct run_pipe got;
    struct snapshot_src src;
    struct pg_result *r;
    enum err e;

    *err = NULL;
    if (!pipe) {
        p[0] = arena_printf(a, "%" PRId64, rq->pipeline_id);
        if ((e = db_query(db, a, PIPE_SQL, 1, p, &r, NULL)))
            return e;
        if (!db_rows(r))
            return ERR_NOT_FOUND;
        got.parallelism = db_val(r, 0, 0);
        got.alert_status = db_val(r, 0, 1);
        got.alert_user = db_val(r, 0, 2);
        got.run_id = db_i64(r, 0, 3);
        pipe = &got;
    }
    if ((e = snapshot_load(db, a, &rq->pipeline_id, 1, &src)))
        return e;
    return sched_run_prepare_from(a, rq, now_us, pipe, &src, rows, err);
}

enum err sched_run_prepare_from(struct arena *a, const struct run_request *rq, int64_t now_us,
                                const struct run_pipe *pipe, const struct snapshot_src *src,
                                struct run_rows *rows, const char **err)
{
    struct arena *ra = rows->arena; /* the row outlives a: the tick renders in a scratch arena */
    const char **row;
    struct render_ctx rc;
    const char *snap = NULL;
    int64_t exec_s;
    enum err e;

    *err = NULL;
    exec_s = rq->execution_date ? rq->execution_date : now_us / 1000000;
    memset(&rc, 0, sizeof(rc));
    rc.runner = rq->runner;
    rc.execution_date = iso_utc(a, exec_s, false);
    rc.run_id = arena_printf(a, "%" PRId64, pipe->run_id);
    if ((e = snapshot_render(a, src, &rc, &snap, err)))
        return e;
    if (rq->only_task && (e = only_task(a, &snap, rq->only_task, err)))
        return e;

    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 16;
        const char **nv = arena_alloc(ra, cap * RUN_ROW_COLS * sizeof(*nv));
        int64_t *ni = arena_alloc(ra, cap * sizeof(*ni));
        if (rows->n) {
            memcpy(nv, rows->v, rows->n * RUN_ROW_COLS * sizeof(*nv));
            memcpy(ni, rows->ids, rows->n * sizeof(*ni));
        }
        rows->v = nv;
        rows->ids = ni;
        rows->cap = cap;
    }
    rows->ids[rows->n] = pipe->run_id;
    row = rows->v + rows->n++ * RUN_ROW_COLS;
    row[0] = arena_strdup(ra, rc.run_id);
    row[1] = arena_printf(ra, "%" PRId64, rq->pipeline_id);
    row[2] = rq->trigger ? rq->trigger : "manual";
    row[3] = rq->cron_tick ? iso_utc(ra, rq->cron_tick, true) : NULL;
    row[4] = iso_utc(ra, exec_s, true);
    row[5] = arena_strdup(ra, snap);
    row[6] = pipe->parallelism;
    row[7] = sched_alert_states(ra, pipe->alert_status);
    row[8] = user_list(ra, pipe->alert_user);
    row[9] = rq->user_id ? arena_printf(ra, "%" PRId64, rq->user_id) : NULL;
    row[10] = rq->user_id ? (rq->runner ? rq->runner : "api") : "scheduler";
    row[11] = rq->only_task ? arena_printf(ra, "task %s alone", rq->only_task) : "";
    return ERR_OK;
}

/* Column c of rows [from, to) as a PostgreSQL array literal, sized exactly beforehand: the
 * snapshot column of a tick's batch is a megabyte of JSON, whose doubling growth would leave
 * as much again behind in the arena. */
static const char *array_literal(struct arena *a, const struct run_rows *rows, size_t from,
                                 size_t to, size_t c)
{
    size_t len = 3; /* "{", "}", NUL */
    char *out, *w;

    for (size_t i = from; i < to; i++) {
        const char *v = rows->v[i * RUN_ROW_COLS + c];
        len += 1; /* a comma */
        if (!v) {
            len += 4;
            continue;
        }
        len += 2 + strlen(v);
        for (const char *q = v; (q = strpbrk(q, "\"\\")); q++)
            len++;
    }
    w = out = arena_alloc(a, len);
    *w++ = '{';
    for (size_t i = from; i < to; i++) {
        const char *v = rows->v[i * RUN_ROW_COLS + c];
        if (i > from)
            *w++ = ',';
        if (!v) {
            memcpy(w, "NULL", 4);
            w += 4;
            continue;
        }
        *w++ = '"';
        for (; *v; v++) {
            if (*v == '"' || *v == '\\')
                *w++ = '\\';
            *w++ = *v;
        }
        *w++ = '"';
    }
    *w++ = '}';
    *w = '\0';
    ASSERT((size_t)(w - out) < len);
    return out;
}

/* One statement per run of rows with the same actor and reason (columns 10 and 11): a tick's
 * batch is one, a run from the API is one.  With `send`, the last statement is only sent. */
static enum err insert_rows(struct db *db, struct arena *a, struct run_rows *rows, int64_t now_us,
                            struct pg_result **created, bool send)
{
    const char *p[RUN_ROW_COLS + 2];
    struct pg_result *r = NULL;
    enum err e;

    if (created)
        *created = NULL;
    for (size_t from = 0, to; from < rows->n; from = to) {
        const char *const *first = rows->v + from * RUN_ROW_COLS;
        for (to = from + 1; to < rows->n; to++) {
            const char *const *row = rows->v + to * RUN_ROW_COLS;
            if (strcmp(row[10], first[10]) || strcmp(row[11], first[11]))
                break;
        }
        for (size_t c = 0; c < 10; c++)
            p[c] = array_literal(a, rows, from, to, c);
        p[10] = first[10];
        p[11] = first[11];
        p[12] = state_ts(a, now_us);
        p[13] = rows->quiet ? "false" : "true";
        e = send && to == rows->n ? db_send(db, CREATE_SQL, 14, p)
                                  : db_query(db, a, CREATE_SQL, 14, p, &r, NULL);
        if (e)
            return e;
    }
    if (created)
        *created = r;
    rows->n = 0;
    return ERR_OK;
}

enum err sched_run_insert(struct db *db, struct arena *a, struct run_rows *rows, int64_t now_us,
                          struct pg_result **created)
{
    return insert_rows(db, a, rows, now_us, created, false);
}

enum err sched_run_send(struct db *db, struct arena *a, struct run_rows *rows, int64_t now_us)
{
    return insert_rows(db, a, rows, now_us, NULL, true);
}

enum err sched_run_create_at(struct db *db, struct arena *a, const struct run_request *rq,
                             int64_t now_us, const struct run_pipe *pipe, int64_t *run_id,
                             const char **err)
{
    struct run_rows rows;
    struct pg_result *r;
    enum err e;

    *run_id = 0;
    run_rows_init(&rows, a);
    /* One transaction, so PIPE_SQL's lock on the pipeline lasts until the run is in. */
    if ((e = db_begin(db)))
        return e;
    if ((e = sched_run_prepare(db, a, rq, now_us, pipe, &rows, err)) ||
        (e = sched_run_insert(db, a, &rows, now_us, &r))) {
        db_rollback(db);
        return e;
    }
    if (db_rows(r))
        *run_id = db_i64(r, 0, 0);
    return db_commit(db);
}

enum err sched_run_create(struct db *db, struct arena *a, const struct run_request *rq,
                          int64_t *run_id, const char **err)
{
    int64_t now_us;
    enum err e;

    *run_id = 0;
    *err = NULL;
    if ((e = sched_now(db, a, &now_us)))
        return e;
    return sched_run_create_at(db, a, rq, now_us, NULL, run_id, err);
}

enum err sched_backfill(struct db *db, struct arena *a, int64_t pipeline_id, int64_t from,
                        int64_t to, int64_t user_id, const char *runner, size_t *created,
                        size_t *existing, const char **err)
{
    const char *p[] = {arena_printf(a, "%" PRId64, pipeline_id)};
    struct pg_result *r;
    struct cron_expr c;
    char cerr[160];
    int64_t now_us, *ticks;
    size_t n;
    enum err e;

    *created = *existing = 0;
    *err = NULL;
    if (from > to) {
        *err = "the range ends before it starts";
        return ERR_UNPROCESSABLE;
    }
    if ((e = db_query(db, a, "SELECT cron_time, timezone FROM pipeline WHERE id = $1::bigint", 1, p,
                      &r, NULL)))
        return e;
    if (!db_rows(r))
        return ERR_NOT_FOUND;
    if (!cron_parse(db_val(r, 0, 0), &c, cerr, sizeof(cerr))) {
        *err = arena_printf(a, "cron_time: %s", cerr);
        return ERR_UNPROCESSABLE;
    }
    if (!cron_tz_valid(db_val(r, 0, 1))) {
        *err = "timezone: unknown time zone";
        return ERR_UNPROCESSABLE;
    }
    ticks = arena_alloc(a, (SCHED_BACKFILL_MAX + 1) * sizeof(*ticks));
    n = from > 0 ? cron_next_n(&c, db_val(r, 0, 1), from - 1, ticks, SCHED_BACKFILL_MAX + 1) : 0;
    while (n > 0 && ticks[n - 1] > to)
        n--;
    if (n > SCHED_BACKFILL_MAX) {
        *err = arena_printf(a, "more than %d ticks in the range", SCHED_BACKFILL_MAX);
        return ERR_UNPROCESSABLE;
    }
    if (!n) {
        *err = "no cron tick in the range";
        return ERR_UNPROCESSABLE;
    }
    if ((e = sched_now(db, a, &now_us)) || (e = db_begin(db)))
        return e;
    for (size_t i = 0; i < n; i++) {
        struct run_request rq = {pipeline_id, "backfill", ticks[i], ticks[i],
                                 user_id,     runner,     NULL};
        int64_t id;
        if ((e = sched_run_create_at(db, a, &rq, now_us, NULL, &id, err)))
            goto out;
        if (id)
            (*created)++;
        else
            (*existing)++;
    }
    return db_commit(db);
out:
    db_rollback(db);
    *created = *existing = 0;
    return e;
}

/* ---- cancel, rerun, clear --------------------------------------------------------------- */

static const char *const TASK_WAITING[] = {"pending", "scheduled", "up_for_retry"};
static const char *const TASK_TERMINAL[] = {"succeeded", "failed", "upstream_failed", "skipped",
                                            "cancelled"};

struct run_tasks {
    int64_t *ids;
    const char **keys, **states;
    size_t n;
};

static enum err load_tasks(struct db *db, struct arena *a, int64_t run_id, struct run_tasks *t)
{
    const char *p[] = {arena_printf(a, "%" PRId64, run_id)};
    struct pg_result *r;
    enum err e;

    if ((e = db_query(db, a,
                      "SELECT id, task_key, state FROM task_instance WHERE run_id = $1::bigint "
                      "ORDER BY id",
                      1, p, &r, NULL)))
        return e;
    t->n = (size_t)db_rows(r);
    t->ids = arena_alloc(a, (t->n + 1) * sizeof(*t->ids));
    t->keys = arena_alloc(a, (t->n + 1) * sizeof(*t->keys));
    t->states = arena_alloc(a, (t->n + 1) * sizeof(*t->states));
    for (size_t i = 0; i < t->n; i++) {
        t->ids[i] = db_i64(r, (int)i, 0);
        t->keys[i] = db_val(r, (int)i, 1);
        t->states[i] = db_val(r, (int)i, 2);
    }
    return ERR_OK;
}

/* Marks, in snapshot order (topological), every task that is a seed or downstream of one.
 * `seed` and the result are json objects used as sets of task names. */
static json_object *downstream(struct arena *a, json_object *snap, json_object *seed)
{
    json_object *order = js_get(snap, "order"), *tasks = js_get(snap, "tasks");
    json_object *set = js_own(a, json_object_new_object());
    size_t n = order ? json_object_array_length(order) : 0;

    for (size_t i = 0; i < n; i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(order, i));
        json_object *up = js_get(js_get(tasks, name), "upstream");
        bool in = js_get(seed, name) != NULL;
        for (size_t k = 0; !in && up && k < json_object_array_length(up); k++)
            in = js_get(set, json_object_get_string(json_object_array_get_idx(up, k))) != NULL;
        if (in)
            json_object_object_add(set, name, json_object_new_boolean(1));
    }
    return set;
}

static bool in_list(const char *s, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, v[i]))
            return true;
    return false;
}

enum err sched_run_cancel(struct db *db, struct arena *a, int64_t run_id, const char *actor,
                          const char **err)
{
    const char *p[] = {arena_printf(a, "%" PRId64, run_id)}, *state, *reason;
    struct pg_result *r;
    struct run_tasks t;
    int64_t now_us;
    bool changed;
    enum err e;

    *err = NULL;
    if ((e = sched_now(db, a, &now_us)) || (e = db_begin(db)))
        return e;
    if ((e = db_query(db, a, "SELECT state FROM run WHERE id = $1::bigint FOR UPDATE", 1, p, &r,
                      NULL)))
        goto out;
    if (!db_rows(r)) {
        e = ERR_NOT_FOUND;
        goto out;
    }
    state = db_val(r, 0, 0);
    reason = arena_printf(a, "cancelled by %s", actor);
    if (!strcmp(state, "queued")) {
        /* Nothing has started: the run and its pending tasks end here and now. */
        static const char *const from[] = {"queued"};
        if ((e = state_run_cas(db, a, now_us, run_id, from, 1, "cancelled", reason, actor,
                               &changed)) ||
            (e = load_tasks(db, a, run_id, &t)))
            goto out;
        if ((e = state_tasks_cas(db, a, now_us, t.ids, t.n, TASK_WAITING, ARRAY_LEN(TASK_WAITING),
                                 "cancelled", NULL, reason, actor, NULL, NULL, NULL)))
            goto out;
    } else if (!strcmp(state, "running")) {
        /* The watcher kills the attempts and finishes the run. */
        static const char *const from[] = {"running"};
        if ((e = state_run_cas(db, a, now_us, run_id, from, 1, "cancelling", reason, actor,
                               &changed)) ||
            (e = state_notify(db, a, "cube_watch")))
            goto out;
    } else if (strcmp(state, "cancelling")) {
        *err = arena_printf(a, "the run has already finished (%s)", state);
        e = ERR_CONFLICT;
        goto out;
    }
    e = db_commit(db);
    return e;
out:
    db_rollback(db);
    return e;
}

/* Sends the tasks of `set` (names) that are in one of `from` back to pending with a fresh
 * retry budget; *n counts them. */
static enum err reset_tasks(struct db *db, struct arena *a, int64_t now_us, struct run_tasks *t,
                            json_object *set, const char *reason, const char *actor, size_t *n)
{
    struct state_task_set s = STATE_TASK_SET_INIT;
    int64_t *ids = arena_alloc(a, (t->n + 1) * sizeof(*ids));
    size_t k = 0;

    for (size_t i = 0; i < t->n; i++)
        if (js_get(set, t->keys[i]) &&
            in_list(t->states[i], TASK_TERMINAL, ARRAY_LEN(TASK_TERMINAL)))
            ids[k++] = t->ids[i];
    s.refresh_tries = true;
    return state_tasks_cas(db, a, now_us, ids, k, TASK_TERMINAL, ARRAY_LEN(TASK_TERMINAL),
                           "pending", NULL, reason, actor, &s, n, NULL);
}

static json_object *parse_snapshot(struct arena *a, struct pg_result *r, int col)
{
    const char *msg;
    return js_parse(a, db_val(r, 0, col), db_len(r, 0, col), &msg);
}

enum err sched_run_rerun(struct db *db, struct arena *a, int64_t run_id, const char *actor,
                         const char **err)
{
    static const char *const from[] = {"failed", "cancelled"};
    const char *p[] = {arena_printf(a, "%" PRId64, run_id)}, *state, *reason;
    json_object *snap, *seed;
    struct pg_result *r;
    struct run_tasks t;
    int64_t now_us;
    size_t n = 0;
    bool changed;
    enum err e;

    *err = NULL;
    if ((e = sched_now(db, a, &now_us)) || (e = db_begin(db)))
        return e;
    if ((e = db_query(db, a, "SELECT state, dag_snapshot FROM run WHERE id = $1::bigint FOR UPDATE",
                      1, p, &r, NULL)))
        goto out;
    if (!db_rows(r)) {
        e = ERR_NOT_FOUND;
        goto out;
    }
    state = db_val(r, 0, 0);
    if (!in_list(state, from, ARRAY_LEN(from))) {
        *err =
            !strcmp(state, "succeeded")
                ? "the run succeeded: nothing to re-run"
                : arena_printf(a, "only a failed or cancelled run can be re-run (it is %s)", state);
        e = ERR_CONFLICT;
        goto out;
    }
    if (!(snap = parse_snapshot(a, r, 1))) {
        e = ERR_INTERNAL;
        goto out;
    }
    if ((e = load_tasks(db, a, run_id, &t)))
        goto out;
    seed = js_own(a, json_object_new_object());
    for (size_t i = 0; i < t.n; i++)
        if (!strcmp(t.states[i], "failed") || !strcmp(t.states[i], "upstream_failed") ||
            !strcmp(t.states[i], "cancelled"))
            json_object_object_add(seed, t.keys[i], json_object_new_boolean(1));
    reason = arena_printf(a, "re-run by %s", actor);
    if ((e = reset_tasks(db, a, now_us, &t, downstream(a, snap, seed), reason, actor, &n)))
        goto out;
    /* Cancelled before it was admitted, the run has no task instances yet: all of its tasks
     * run, from the snapshot, when it is admitted again. */
    if (!t.n && js_get(snap, "tasks"))
        n = (size_t)json_object_object_length(js_get(snap, "tasks"));
    if (!n) {
        *err = "no failed, upstream_failed or cancelled task to re-run";
        e = ERR_CONFLICT;
        goto out;
    }
    if ((e = state_run_cas(db, a, now_us, run_id, from, ARRAY_LEN(from), "queued", reason, actor,
                           &changed)) ||
        (e = state_notify(db, a, "cube_sched")))
        goto out;
    return db_commit(db);
out:
    db_rollback(db);
    return e;
}

enum err sched_task_clear(struct db *db, struct arena *a, int64_t ti_id, const char *actor,
                          const char **err)
{
    static const char *const run_done[] = {"succeeded", "failed", "cancelled"};
    const char *p[] = {arena_printf(a, "%" PRId64, ti_id)}, *run_state, *reason, *key;
    json_object *snap, *seed, *set;
    struct pg_result *r;
    struct run_tasks t;
    int64_t now_us, run_id;
    size_t n = 0;
    bool changed;
    enum err e;

    *err = NULL;
    if ((e = sched_now(db, a, &now_us)) || (e = db_begin(db)))
        return e;
    if ((e = db_query(
             db, a,
             "SELECT ti.run_id, ti.task_key, r.state, r.dag_snapshot FROM task_instance ti "
             "JOIN run r ON r.id = ti.run_id WHERE ti.id = $1::bigint FOR UPDATE OF r",
             1, p, &r, NULL)))
        goto out;
    if (!db_rows(r)) {
        e = ERR_NOT_FOUND;
        goto out;
    }
    run_id = db_i64(r, 0, 0);
    key = db_val(r, 0, 1);
    run_state = db_val(r, 0, 2);
    if (!strcmp(run_state, "cancelling") || !strcmp(run_state, "skipped")) {
        *err = arena_printf(a, "the run is %s", run_state);
        e = ERR_CONFLICT;
        goto out;
    }
    if (!(snap = parse_snapshot(a, r, 3))) {
        e = ERR_INTERNAL;
        goto out;
    }
    if ((e = load_tasks(db, a, run_id, &t)))
        goto out;
    seed = js_own(a, json_object_new_object());
    json_object_object_add(seed, key, json_object_new_boolean(1));
    set = downstream(a, snap, seed);
    for (size_t i = 0; i < t.n; i++) {
        bool active = !in_list(t.states[i], TASK_TERMINAL, ARRAY_LEN(TASK_TERMINAL)) &&
                      strcmp(t.states[i], "pending");
        if (js_get(set, t.keys[i]) && active) {
            *err = !strcmp(t.keys[i], key)
                       ? arena_printf(a, "the task is still %s", t.states[i])
                       : arena_printf(a, "downstream task %s is still %s", t.keys[i], t.states[i]);
            e = ERR_CONFLICT;
            goto out;
        }
        if (!strcmp(t.keys[i], key) && !strcmp(t.states[i], "pending")) {
            *err = "the task has not run yet";
            e = ERR_CONFLICT;
            goto out;
        }
    }
    reason = arena_printf(a, "cleared by %s", actor);
    if ((e = reset_tasks(db, a, now_us, &t, set, reason, actor, &n)))
        goto out;
    if (in_list(run_state, run_done, ARRAY_LEN(run_done)) &&
        (e = state_run_cas(db, a, now_us, run_id, run_done, ARRAY_LEN(run_done), "queued",
                           arena_printf(a, "task %s %s", key, reason), actor, &changed)))
        goto out;
    if ((e = state_notify(db, a, "cube_sched")))
        goto out;
    return db_commit(db);
out:
    db_rollback(db);
    return e;
}

/* ---- resource suggestion ---------------------------------------------------------------- */

static const char SUGGEST_SQL[] =
    "SELECT count(*), max(peak_rss_kb), max(cpu_seconds / greatest(extract(epoch FROM "
    "finished_at - started_at), 0.001)) FROM (SELECT a.peak_rss_kb, a.cpu_seconds, "
    "a.started_at, a.finished_at FROM task_attempt a JOIN task_instance ti ON ti.id = "
    "a.task_instance_id WHERE ti.task_id = $1::bigint AND a.state = 'succeeded' "
    "AND a.peak_rss_kb IS NOT NULL AND a.started_at IS NOT NULL "
    "AND a.finished_at > now() - make_interval(days => $2::int) "
    "ORDER BY a.finished_at DESC LIMIT $3::int) s";

enum err sched_task_suggestion(struct db *db, struct arena *a, int64_t task_id,
                               struct sched_suggestion *out)
{
    const char *p[] = {arena_printf(a, "%" PRId64, task_id),
                       arena_printf(a, "%d", SCHED_SUGGEST_DAYS),
                       arena_printf(a, "%d", SCHED_SUGGEST_SAMPLES)};
    struct policy_suggestion s;
    struct pg_result *r;
    const char *cores;
    enum err e;

    memset(out, 0, sizeof(*out));
    if ((e = db_query(db, a, SUGGEST_SQL, 3, p, &r, NULL)))
        return e;
    out->samples = (int)db_i64(r, 0, 0);
    if (!out->samples)
        return ERR_OK;
    out->peak_rss_kb = db_i64(r, 0, 1);
    cores = db_val(r, 0, 2);
    out->cpu_cores = cores ? strtod(cores, NULL) : 0;
    policy_suggest(out->peak_rss_kb, (int64_t)(out->cpu_cores * 1000 + 0.5), &s);
    out->cpu = s.cpu;
    out->mem_gb = s.mem_gb;
    return ERR_OK;
}

/* The public transitions: the state.c statements with a fresh clock. */
enum err sched_run_transition(struct db *db, struct arena *a, int64_t run_id,
                              const char *const *from, size_t nfrom, const char *to,
                              const char *reason, const char *actor, bool *changed)
{
    int64_t now_us;
    enum err e;

    *changed = false;
    if ((e = sched_now(db, a, &now_us)))
        return e;
    return state_run_cas(db, a, now_us, run_id, from, nfrom, to, reason, actor, changed);
}

enum err sched_task_transition(struct db *db, struct arena *a, int64_t ti_id,
                               const char *const *from, size_t nfrom, const char *to,
                               int try_number, const char *reason, const char *actor, bool *changed)
{
    int64_t now_us;
    size_t n = 0;
    enum err e;

    *changed = false;
    if ((e = sched_now(db, a, &now_us)))
        return e;
    e = state_tasks_cas(db, a, now_us, &ti_id, 1, from, nfrom, to,
                        try_number >= 0 ? &try_number : NULL, reason, actor, NULL, &n, NULL);
    *changed = n > 0;
    return e;
}
