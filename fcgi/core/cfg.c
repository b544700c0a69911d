/*
 * cfg.c — the configuration table.  Adding a setting means adding one row
 * here, one line in deploy/.env.example and one in the README; a test checks
 * the three agree.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/common.h"

struct cfg cfg;

enum cfg_type { CFG_STR, CFG_INT, CFG_BOOL };
enum { CFG_SECRET = 1 };

struct cfg_var {
    const char *name;
    enum cfg_type type;
    void *ptr;
    const char *def; /* NULL: unset; "@cores2": 2 x online CPUs */
    int64_t min, max;
    unsigned flags;
    const char *help;
};

static const struct cfg_var cfg_vars[] = {
    {"CUBE_DB_URL", CFG_STR, &cfg.db_url, "dbname=cube", 0, 0, CFG_SECRET,
     "libpq connection string of the Cube database"},
    {"CUBE_REDIS", CFG_STR, &cfg.redis, "127.0.0.1:6379", 0, 0, 0,
     "Redis address: host:port or unix:/path/to/socket"},
    {"CUBE_SOCKET", CFG_STR, &cfg.socket, "127.0.0.1:9000", 0, 0, 0,
     "cube-api FastCGI listen address: a unix socket path or host:port"},
    {"CUBE_WORKERS", CFG_INT, &cfg.workers, "@cores2", 1, 256, 0,
     "cube-api worker processes (default 2 x CPU cores)"},
    {"CUBE_BODY_MAX", CFG_INT, &cfg.body_max, "1048576", 1024, 1 << 30, 0,
     "largest accepted request body in bytes; larger bodies get 413"},
    {"CUBE_JWT_SECRET", CFG_STR, &cfg.jwt_secret, NULL, 0, 0, CFG_SECRET,
     "HS256 signing key for session tokens (at least 32 characters; required by cube-api)"},
    {"CUBE_SECRET_KEY", CFG_STR, &cfg.secret_key, NULL, 0, 0, CFG_SECRET,
     "key that encrypts stored credentials (registry passwords, cluster tokens)"},
    {"CUBE_JWT_TTL", CFG_INT, &cfg.jwt_ttl, "86400", 60, 31536000, 0,
     "session token lifetime in seconds"},
    {"CUBE_AUTO_REGISTER", CFG_BOOL, &cfg.auto_register, "0", 0, 1, 0,
     "1: an unknown username is registered at its first login (cube-studio's behaviour)"},
    {"CUBE_LOGIN_MAX_FAILS", CFG_INT, &cfg.login_max_fails, "5", 1, 1000000, 0,
     "failed logins per username or client address within the window before 429"},
    {"CUBE_LOGIN_WINDOW", CFG_INT, &cfg.login_window, "300", 1, 86400, 0,
     "login throttle window in seconds"},
    {"CUBE_AUTH_CACHE_TTL", CFG_INT, &cfg.auth_cache_ttl, "5", 0, 3600, 0,
     "seconds a worker may reuse a looked-up user or API token (writes to them empty it)"},
    {"CUBE_COUNT_CACHE_TTL", CFG_INT, &cfg.count_cache_ttl, "30", 0, 86400, 0,
     "seconds a worker may reuse a list count taken under the same database snapshot"},
    {"CUBE_DB_TIMEOUT_MS", CFG_INT, &cfg.db_timeout_ms, "10000", 0, 3600000, 0,
     "statement_timeout of API queries in milliseconds"},
    {"CUBE_SECURE_COOKIE", CFG_BOOL, &cfg.secure_cookie, "0", 0, 1, 0,
     "1: session cookies carry the Secure attribute (behind HTTPS)"},
    {"CUBE_LOG_LEVEL", CFG_STR, &cfg.log_level, "info", 0, 0, 0, "error, warn, info or debug"},
    {"CUBE_PIDFILE", CFG_STR, &cfg.pidfile, NULL, 0, 0, 0,
     "file where cube-api writes its master pid"},
    {"CUBE_SQL_DIR", CFG_STR, &cfg.sql_dir, "sql", 0, 0, 0,
     "directory of the NNNN_name.sql migrations (cube db upgrade)"},
    {"CUBE_EXEC_DIR", CFG_STR, &cfg.exec_dir, "attempts", 0, 0, 0,
     "directory of the local executor's attempt directories (logs live there)"},
    {"CUBE_SHIM", CFG_STR, &cfg.shim, NULL, 0, 0, 0,
     "path of cube-shim (default: next to the running binary)"},
    {"CUBE_EXEC_SLOTS", CFG_INT, &cfg.exec_slots, "8", 1, 10000, 0,
     "task attempts the local executor runs at once"},
    {"CUBE_CGROUP", CFG_STR, &cfg.cgroup, "cube", 0, 0, 0,
     "cgroup v1 group, under the executor's own cgroup of memory, cpu and pids, that holds a "
     "cgroup per attempt (another user than root needs it made and handed over: "
     "deploy/stack.sh does that)"},
    {"CUBE_EXEC_MAX_PROCS", CFG_INT, &cfg.exec_max_procs, "0", 0, 4194304, 0,
     "most processes one task attempt may have at once (cgroup pids.max; 0: no limit)"},
    {"CUBE_SCHED_INTERVAL_MS", CFG_INT, &cfg.sched_interval_ms, "1000", 10, 600000, 0,
     "longest pause between two scheduler or watcher passes (NOTIFY wakes them sooner)"},
    {"CUBE_CATCHUP_MAX", CFG_INT, &cfg.catchup_max, "100", 1, 100000, 0,
     "most cron ticks one pipeline may catch up after downtime"},
    {"CUBE_LOST_GRACE_S", CFG_INT, &cfg.lost_grace_s, "30", 0, 86400, 0,
     "seconds an attempt must be missing before it is declared lost"},
    {"CUBE_PENDING_TIMEOUT_S", CFG_INT, &cfg.pending_timeout_s, "0", 0, 31536000, 0,
     "a task waiting this many seconds for an execution slot fails (0: it waits forever)"},
    {"CUBE_RETENTION_DAYS", CFG_INT, &cfg.retention_days, "30", 1, 36500, 0,
     "finished runs and their logs are removed after this many days"},
    {"CUBE_WEBHOOK_TIMEOUT_MS", CFG_INT, &cfg.webhook_timeout_ms, "5000", 100, 120000, 0,
     "time limit of one webhook delivery"},
    {"CUBE_CLOCK_FILE", CFG_STR, &cfg.clock_file, NULL, 0, 0, 0,
     "tests only: a file holding seconds to add to the clock of the scheduler, watcher and API"},
    {"CUBE_ADMIN_PASSWORD", CFG_STR, &cfg.admin_password, NULL, 0, 0, CFG_SECRET,
     "password given to the admin user by cube seed"},
};

static bool set_one(const struct cfg_var *v, const char *val, char *err, size_t errlen)
{
    int64_t n;

    switch (v->type) {
    case CFG_STR:
        *(const char **)v->ptr = val;
        return true;
    case CFG_BOOL:
        if (!strcmp(val, "1") || !strcmp(val, "true") || !strcmp(val, "yes")) {
            *(bool *)v->ptr = true;
            return true;
        }
        if (!strcmp(val, "0") || !strcmp(val, "false") || !strcmp(val, "no") || !*val) {
            *(bool *)v->ptr = false;
            return true;
        }
        snprintf(err, errlen, "%s: expected 0 or 1, got '%s'", v->name, val);
        return false;
    case CFG_INT:
        if (!strcmp(val, "@cores2")) {
            long cores = sysconf(_SC_NPROCESSORS_ONLN);
            *(int64_t *)v->ptr = cores > 0 ? 2 * cores : 2;
            return true;
        }
        if (!parse_i64(val, v->min, v->max, &n)) {
            snprintf(err, errlen, "%s: expected an integer in [%lld, %lld], got '%s'", v->name,
                     (long long)v->min, (long long)v->max, val);
            return false;
        }
        *(int64_t *)v->ptr = n;
        return true;
    }
    return false;
}

bool cfg_load(char *err, size_t errlen)
{
    for (size_t i = 0; i < ARRAY_LEN(cfg_vars); i++) {
        const struct cfg_var *v = &cfg_vars[i];
        const char *val = getenv(v->name);
        if (!val || (!*val && v->type != CFG_STR))
            val = v->def;
        if (!val) {
            *(const char **)v->ptr = NULL;
            continue;
        }
        if (!set_one(v, val, err, errlen))
            return false;
    }
    return true;
}

void cfg_print(FILE *f)
{
    for (size_t i = 0; i < ARRAY_LEN(cfg_vars); i++) {
        const struct cfg_var *v = &cfg_vars[i];
        const char *val = getenv(v->name);
        bool set = val && *val;
        fprintf(f, "# %s\n", v->help);
        if (!set)
            val = v->def ? v->def : "";
        if (!strcmp(val, "@cores2"))
            fprintf(f, "%s=%lld\n", v->name, (long long)cfg.workers);
        else if ((v->flags & CFG_SECRET) && set)
            fprintf(f, "%s=********\n", v->name);
        else
            fprintf(f, "%s=%s\n", v->name, val);
    }
}
