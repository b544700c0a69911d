/*
 * house.c — retention.  Runs that finished more than CUBE_RETENTION_DAYS ago
 * are deleted with everything hanging off them (task instances, attempts:
 * ON DELETE CASCADE; outbox and deliveries: the trigger run_deleted of
 * sql/0012; state_change rows explicitly), after
 * their attempt directories (logs included) are removed.  Attempt directories
 * that no attempt row names any more (their pipeline was deleted) are removed
 * too, after cancelling what still runs in them.  Never touches an unfinished
 * run.  Batches of HOUSE_BATCH runs, one transaction each.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "core/log.h"
#include "sched/daemon.h"
#include "sched/state.h"
#include "core/common.h"

enum { HOUSE_BATCH = 500 };

static const char OLD_SQL[] =
    "SELECT id FROM run WHERE state IN ('succeeded', 'failed', 'cancelled', 'skipped') "
    "AND finished_at < $1::timestamptz - make_interval(days => $2::int) ORDER BY id LIMIT $3::int";

static const char NAMES_SQL[] =
    "SELECT a.external_name, a.executor FROM task_attempt a JOIN task_instance ti ON ti.id = "
    "a.task_instance_id WHERE ti.run_id = ANY($1::bigint[])";

static const char DELETE_SQL[] =
    "WITH sc AS (DELETE FROM state_change WHERE (entity = 'run' AND entity_id = ANY($1::bigint[])) "
    "OR (entity = 'task_instance' AND entity_id IN (SELECT id FROM task_instance "
    "WHERE run_id = ANY($1::bigint[])))) "
    "DELETE FROM run WHERE id = ANY($1::bigint[]) AND state IN ('succeeded', 'failed', "
    "'cancelled', 'skipped')";

static const char KNOWN_SQL[] =
    "SELECT n FROM unnest($1::text[]) AS n WHERE NOT EXISTS (SELECT 1 FROM task_attempt a "
    "WHERE a.external_name = n)";

static enum err old_runs(struct pass *ps, void *arg)
{
    size_t *deleted = arg;
    const char *p[3];
    struct pg_result *r, *names;
    int64_t *ids;
    size_t n;
    enum err e;

    *deleted = 0;
    p[0] = state_ts(ps->a, ps->now_us);
    p[1] = arena_printf(ps->a, "%" PRId64, cfg.retention_days);
    p[2] = arena_printf(ps->a, "%d", HOUSE_BATCH);
    if ((e = db_query(ps->db, ps->a, OLD_SQL, 3, p, &r, NULL)))
        return e;
    n = (size_t)db_rows(r);
    if (!n)
        return ERR_OK;
    ids = db_col_i64(ps->a, r, 0, &n);
    p[0] = state_ids(ps->a, ids, n);
    if ((e = db_query(ps->db, ps->a, NAMES_SQL, 1, p, &names, NULL)))
        return e;
    /* Files first: a crash after this leaves rows without files, which the log API reports
     * as gone; the other order would leave files nobody can find. */
    for (int i = 0; i < db_rows(names); i++) {
        const char *why = "";
        enum err re;
        struct engine *g = pass_engine(ps, db_val(names, i, 1), &re, &why);
        if (g && (re = engine_remove(g, db_val(names, i, 0), false)))
            why = err_name(re);
        if (!g || re) /* a remote leftover stays with its engine; the rows go regardless */
            log_warn("housekeeping: cannot remove attempt %s (%s)", db_val(names, i, 0), why);
    }
    if ((e = db_query(ps->db, ps->a, DELETE_SQL, 1, p, NULL, NULL)))
        return e;
    *deleted = n;
    log_info("housekeeping: deleted %zu runs finished more than %" PRId64 " days ago", n,
             cfg.retention_days);
    return ERR_OK;
}

static enum err orphans(struct pass *ps)
{
    const char **names, *p[1];
    struct pg_result *r;
    struct buf b;
    size_t n;
    enum err e;

    if ((e = exec_list(ps->x, ps->a, &names, &n)) || !n)
        return e;
    buf_init(&b, ps->a, SIZE_MAX / 2);
    buf_addc(&b, '{');
    for (size_t i = 0; i < n; i++)
        buf_addf(&b, "%s\"%s\"", i ? "," : "", names[i]); /* names are [a-z0-9-] */
    buf_addc(&b, '}');
    p[0] = buf_str(&b);
    if ((e = db_query(ps->db, ps->a, KNOWN_SQL, 1, p, &r, NULL)))
        return e;
    for (int i = 0; i < db_rows(r); i++) {
        const char *name = db_val(r, i, 0);
        struct exec_status st;
        if (exec_status(ps->x, ps->a, name, &st))
            continue;
        if (st.state == EXEC_RUNNING) {
            log_warn("housekeeping: attempt %s belongs to no run any more; cancelling it", name);
            if (exec_cancel(ps->x, name))
                log_warn("housekeeping: cannot cancel attempt %s", name);
            continue;
        }
        if (exec_remove(ps->x, name, false))
            log_warn("housekeeping: cannot remove attempt %s", name);
        else
            log_info("housekeeping: removed attempt %s of a deleted run", name);
    }
    return ERR_OK;
}

enum err house_pass(struct pass *ps)
{
    size_t deleted;
    enum err e;

    do {
        if ((e = pass_batch(ps, old_runs, &deleted)))
            return e;
    } while (deleted == HOUSE_BATCH);
    return orphans(ps);
}
