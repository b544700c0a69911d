/*
 * metrics.c — counters shared by every worker: the Prometheus metrics and the
 * auth-cache generation.  The master maps one anonymous shared region before
 * forking; workers add with atomic increments, so a scrape sees the whole pool
 * whichever worker answers it, and a write that changes auth data in one
 * worker invalidates the auth caches of all of them at once.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "api/api.h"
#include "core/db.h"
#include "core/common.h"

enum { MAX_ROUTES = 512, N_BUCKETS = 12 };

static const int status_codes[] = {200, 302, 400, 401, 403, 404, 405, 409,
                                   413, 422, 429, 500, 503, 504, 0};
enum { N_STATUS = ARRAY_LEN(status_codes) };

/* Upper bounds in microseconds; the last bucket is +Inf. */
static const int64_t bucket_us[N_BUCKETS] = {500,   1000,   2500,   5000,   10000,   25000,
                                             50000, 100000, 250000, 500000, 1000000, 5000000};

struct shared {
    uint64_t req[MAX_ROUTES][N_STATUS];
    uint64_t hist[N_BUCKETS + 1];
    uint64_t sum_us, count;
    uint64_t worker_restarts;
    uint64_t db_errors;
    uint64_t auth_gen;
};

static struct shared *shm;
static uint64_t db_errors_seen;

void metrics_init(void)
{
    /* cppcheck-suppress invalidFunctionArg ; fd -1 is how MAP_ANONYMOUS is asked for */
    void *p = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED)
        die("cannot map metrics memory");
    shm = p;
}

static void add(uint64_t *c, uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static uint64_t load(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

void metrics_observe(int route, int status, int64_t micros)
{
    int s = N_STATUS - 1, b = N_BUCKETS;

    if (!shm)
        return;
    if (route < 0 || route >= MAX_ROUTES)
        route = MAX_ROUTES - 1;
    for (int i = 0; i < N_STATUS - 1; i++)
        if (status_codes[i] == status)
            s = i;
    for (int i = 0; i < N_BUCKETS; i++)
        if (micros <= bucket_us[i]) {
            b = i;
            break;
        }
    add(&shm->req[route][s], 1);
    add(&shm->hist[b], 1);
    add(&shm->sum_us, (uint64_t)(micros > 0 ? micros : 0));
    add(&shm->count, 1);
    if (db_error_count != db_errors_seen) {
        add(&shm->db_errors, db_error_count - db_errors_seen);
        db_errors_seen = db_error_count;
    }
}

uint64_t metrics_auth_gen(void)
{
    return shm ? load(&shm->auth_gen) : 0;
}

void metrics_auth_gen_bump(void)
{
    if (shm)
        add(&shm->auth_gen, 1);
}

void metrics_worker_restart(void)
{
    if (shm)
        add(&shm->worker_restarts, 1);
}

enum err metrics_render(struct ctx *cx)
{
    struct buf b;
    uint64_t cum = 0;
    int nroutes = api_route_count();

    if (!shm) {
        resp_text(cx, 200, "text/plain; version=0.0.4", "", 0);
        return ERR_OK;
    }
    buf_init(&b, cx->arena, 4 << 20);
    buf_adds(&b, "# HELP cube_http_requests_total API requests by route and status.\n"
                 "# TYPE cube_http_requests_total counter\n");
    for (int r = 0; r < nroutes && r < MAX_ROUTES; r++) {
        for (int s = 0; s < N_STATUS; s++) {
            uint64_t n = load(&shm->req[r][s]);
            char code[16];
            if (!n)
                continue;
            snprintf(code, sizeof(code), "%d", status_codes[s]);
            buf_addf(&b, "cube_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                     api_route_name(r), status_codes[s] ? code : "other", (unsigned long long)n);
        }
    }
    buf_adds(&b, "# HELP cube_http_request_duration_seconds Time spent in cube-api per request.\n"
                 "# TYPE cube_http_request_duration_seconds histogram\n");
    for (int i = 0; i <= N_BUCKETS; i++) {
        cum += load(&shm->hist[i]);
        if (i < N_BUCKETS)
            buf_addf(&b, "cube_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                     (double)bucket_us[i] / 1e6, (unsigned long long)cum);
        else
            buf_addf(&b, "cube_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                     (unsigned long long)cum);
    }
    buf_addf(&b, "cube_http_request_duration_seconds_sum %.6f\n", (double)load(&shm->sum_us) / 1e6);
    buf_addf(&b, "cube_http_request_duration_seconds_count %llu\n",
             (unsigned long long)load(&shm->count));
    buf_addf(&b,
             "# HELP cube_worker_restarts_total Workers replaced after dying.\n"
             "# TYPE cube_worker_restarts_total counter\ncube_worker_restarts_total %llu\n",
             (unsigned long long)load(&shm->worker_restarts));
    buf_addf(&b,
             "# HELP cube_db_errors_total Failed database calls (not client errors).\n"
             "# TYPE cube_db_errors_total counter\ncube_db_errors_total %llu\n",
             (unsigned long long)load(&shm->db_errors));
    if (buf_err(&b))
        return resp_error(cx, ERR_INTERNAL, "metrics too large");
    resp_text(cx, 200, "text/plain; version=0.0.4; charset=utf-8", buf_str(&b), b.len);
    return ERR_OK;
}
