/*
 * test_cfg.c — configuration from the environment: defaults, parse errors,
 * ranges, masking, and deploy/.env.example in step with the table.
 *
 * Every test starts from an environment without any variable the table knows
 * (their names come from cfg_print), so a developer's own CUBE_* settings do
 * not leak in.  Run from the repository root (make test / tests/run.sh do).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "core/common.h"

enum { MAX_NAMES = 64 };

struct names {
    char v[MAX_NAMES][64];
    size_t n;
};

/* The output of cfg_print as one string (caller frees). */
static char *printed(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    cfg_print(f);
    assert_int_equal(fclose(f), 0);
    return text;
}

/* NAME of every NAME=value line cfg_print writes. */
static void known_names(struct names *out)
{
    char *text = printed(), *save = NULL;

    out->n = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t k = strcspn(line, "=");
        if (line[0] == '#' || !line[k])
            continue;
        assert_true(k < sizeof(out->v[0]));
        assert_true(out->n < MAX_NAMES);
        memcpy(out->v[out->n], line, k);
        out->v[out->n][k] = '\0';
        out->n++;
    }
    free(text);
}

static int clean_env(void **state)
{
    struct names names;
    (void)state;
    known_names(&names);
    for (size_t i = 0; i < names.n; i++)
        unsetenv(names.v[i]);
    return 0;
}

static bool load(char *err, size_t errlen)
{
    err[0] = '\0';
    return cfg_load(err, errlen);
}

static void names_come_from_the_table(void **state)
{
    struct names names;
    (void)state;
    known_names(&names);
    assert_true(names.n >= 10);
    for (size_t i = 0; i < names.n; i++)
        assert_memory_equal(names.v[i], "CUBE_", 5);
}

static void defaults(void **state)
{
    char err[256];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    (void)state;

    assert_true(load(err, sizeof(err)));
    assert_string_equal(cfg.db_url, "dbname=cube");
    assert_string_equal(cfg.redis, "127.0.0.1:6379");
    assert_string_equal(cfg.socket, "127.0.0.1:9000");
    assert_string_equal(cfg.log_level, "info");
    assert_string_equal(cfg.sql_dir, "sql");
    assert_null(cfg.jwt_secret);
    assert_null(cfg.secret_key);
    assert_null(cfg.pidfile);
    assert_null(cfg.admin_password);
    assert_int_equal(cfg.workers, cores > 0 ? 2 * cores : 2);
    assert_int_equal(cfg.body_max, 1048576);
    assert_int_equal(cfg.jwt_ttl, 86400);
    assert_int_equal(cfg.login_max_fails, 5);
    assert_int_equal(cfg.login_window, 300);
    assert_int_equal(cfg.auth_cache_ttl, 5);
    assert_int_equal(cfg.count_cache_ttl, 30);
    assert_int_equal(cfg.db_timeout_ms, 10000);
    assert_false(cfg.auto_register);
    assert_false(cfg.secure_cookie);
}

static void values_from_env(void **state)
{
    char err[256];
    (void)state;

    setenv("CUBE_WORKERS", "7", 1);
    setenv("CUBE_REDIS", "unix:/run/redis.sock", 1);
    setenv("CUBE_JWT_SECRET", "s3cret", 1);
    setenv("CUBE_DB_TIMEOUT_MS", "0", 1); /* the bottom of its range */
    assert_true(load(err, sizeof(err)));
    assert_int_equal(cfg.workers, 7);
    assert_string_equal(cfg.redis, "unix:/run/redis.sock");
    assert_string_equal(cfg.jwt_secret, "s3cret");
    assert_int_equal(cfg.db_timeout_ms, 0);

    /* Empty numbers and booleans mean "default"; an explicitly unset string is NULL again. */
    setenv("CUBE_WORKERS", "", 1);
    setenv("CUBE_JWT_TTL", "", 1);
    unsetenv("CUBE_JWT_SECRET");
    assert_true(load(err, sizeof(err)));
    assert_true(cfg.workers >= 2);
    assert_int_equal(cfg.jwt_ttl, 86400);
    assert_null(cfg.jwt_secret);
}

static void int_not_a_number(void **state)
{
    char err[256];
    (void)state;

    setenv("CUBE_WORKERS", "abc", 1);
    assert_false(load(err, sizeof(err)));
    assert_non_null(strstr(err, "CUBE_WORKERS"));
    assert_non_null(strstr(err, "abc"));

    setenv("CUBE_WORKERS", "4x", 1);
    assert_false(load(err, sizeof(err)));
    assert_non_null(strstr(err, "CUBE_WORKERS"));
    setenv("CUBE_WORKERS", "4.0", 1);
    assert_false(load(err, sizeof(err)));
    setenv("CUBE_WORKERS", "0x10", 1);
    assert_false(load(err, sizeof(err)));
}

static void int_out_of_range(void **state)
{
    char err[256];
    (void)state;

    setenv("CUBE_WORKERS", "0", 1);
    assert_false(load(err, sizeof(err)));
    assert_non_null(strstr(err, "CUBE_WORKERS"));
    setenv("CUBE_WORKERS", "257", 1);
    assert_false(load(err, sizeof(err)));
    setenv("CUBE_WORKERS", "-1", 1);
    assert_false(load(err, sizeof(err)));
    setenv("CUBE_WORKERS", "99999999999999999999", 1);
    assert_false(load(err, sizeof(err)));
    setenv("CUBE_WORKERS", "256", 1);
    assert_true(load(err, sizeof(err)));
    assert_int_equal(cfg.workers, 256);
    setenv("CUBE_WORKERS", "1", 1);
    assert_true(load(err, sizeof(err)));
    assert_int_equal(cfg.workers, 1);

    setenv("CUBE_BODY_MAX", "1023", 1);
    assert_false(load(err, sizeof(err)));
    assert_non_null(strstr(err, "CUBE_BODY_MAX"));
    setenv("CUBE_BODY_MAX", "1024", 1);
    assert_true(load(err, sizeof(err)));
    assert_int_equal(cfg.body_max, 1024);

    setenv("CUBE_JWT_TTL", "59", 1);
    assert_false(load(err, sizeof(err)));
    assert_non_null(strstr(err, "CUBE_JWT_TTL"));
}

static void booleans(void **state)
{
    char err[256];
    static const char *const yes[] = {"1", "true", "yes"}, *const no[] = {"0", "false", "no", ""};
    (void)state;

    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        setenv("CUBE_AUTO_REGISTER", yes[i], 1);
        cfg.auto_register = false;
        assert_true(load(err, sizeof(err)));
        assert_true(cfg.auto_register);
    }
    for (size_t i = 0; i < ARRAY_LEN(no); i++) {
        setenv("CUBE_AUTO_REGISTER", no[i], 1);
        cfg.auto_register = true;
        assert_true(load(err, sizeof(err)));
        assert_false(cfg.auto_register);
    }
    setenv("CUBE_AUTO_REGISTER", "maybe", 1);
    assert_false(load(err, sizeof(err)));
    assert_non_null(strstr(err, "CUBE_AUTO_REGISTER"));
    unsetenv("CUBE_AUTO_REGISTER");

    setenv("CUBE_SECURE_COOKIE", "1", 1);
    assert_true(load(err, sizeof(err)));
    assert_true(cfg.secure_cookie);
    assert_false(cfg.auto_register);
}

/* A small error buffer is truncated, not overrun. */
static void error_message_bounded(void **state)
{
    char err[16];
    (void)state;

    memset(err, 'x', sizeof(err));
    setenv("CUBE_WORKERS", "abc", 1);
    assert_false(cfg_load(err, 12));
    assert_int_equal(strlen(err), 11);
    assert_int_equal(err[12], 'x');
}

static void print_masks_secrets(void **state)
{
    char err[256], *text;
    (void)state;

    setenv("CUBE_JWT_SECRET", "very-secret-value", 1);
    setenv("CUBE_DB_URL", "postgresql://cube:hunter2@db/cube", 1);
    setenv("CUBE_LOG_LEVEL", "debug", 1);
    assert_true(load(err, sizeof(err)));
    text = printed();
    assert_null(strstr(text, "very-secret-value"));
    assert_null(strstr(text, "hunter2"));
    assert_non_null(strstr(text, "\nCUBE_JWT_SECRET=********\n"));
    assert_non_null(strstr(text, "\nCUBE_LOG_LEVEL=debug\n"));
    /* An unset secret prints empty, a default prints as is, workers as the computed number. */
    assert_non_null(strstr(text, "\nCUBE_ADMIN_PASSWORD=\n"));
    assert_non_null(strstr(text, "\nCUBE_REDIS=127.0.0.1:6379\n"));
    assert_null(strstr(text, "@cores2"));
    free(text);
}

/* Names that deploy/.env.example sets or documents (commented-out assignments count). */
static bool example_has(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)); p += n) {
        const char *bol = p;
        while (bol > text && bol[-1] != '\n')
            bol--;
        /* Start of the line, optionally after "#" and blanks, and followed by "=". */
        while (bol < p && (*bol == '#' || *bol == ' ' || *bol == '\t'))
            bol++;
        if (bol == p && p[n] == '=')
            return true;
    }
    return false;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;

    if (!f)
        return NULL;
    text = xmalloc(1 << 20);
    len = fread(text, 1, (1 << 20) - 1, f);
    text[len] = '\0';
    fclose(f);
    return text;
}

static void env_example_documents_every_variable(void **state)
{
    struct names names;
    char *text = read_file("deploy/.env.example");
    struct arena a = ARENA_INIT;
    struct buf missing;
    (void)state;

    if (!text) {
        /* No such file in this checkout (or not run from the repository root).  Not skip():
         * cmocka 1.1 prints a skip as "not ok ... # SKIP", which tests/run.sh counts as failed. */
        print_message("deploy/.env.example not found; check not done\n");
        return;
    }
    buf_init(&missing, &a, 4096);
    known_names(&names);
    for (size_t i = 0; i < names.n; i++)
        if (!example_has(text, names.v[i]))
            buf_addf(&missing, " %s", names.v[i]);
    free(text);
    if (missing.len) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", buf_str(&missing));
        arena_free(&a);
        fail_msg("deploy/.env.example lacks:%s", msg);
    }
    arena_free(&a);
}

static void env_example_has_no_unknown_variable(void **state)
{
    struct names names;
    char *text = read_file("deploy/.env.example"), *save = NULL;
    struct arena a = ARENA_INIT;
    struct buf unknown;
    (void)state;

    if (!text) {
        print_message("deploy/.env.example not found; check not done\n");
        return;
    }
    buf_init(&unknown, &a, 4096);
    known_names(&names);
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t k;
        bool known = false;
        line += strspn(line, "# \t");
        if (strncmp(line, "CUBE_", 5))
            continue;
        k = strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        if (line[k] != '=')
            continue;
        for (size_t i = 0; i < names.n && !known; i++)
            known = strlen(names.v[i]) == k && !memcmp(names.v[i], line, k);
        if (!known) {
            buf_addc(&unknown, ' ');
            buf_add(&unknown, line, k);
        }
    }
    free(text);
    if (unknown.len) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", buf_str(&unknown));
        arena_free(&a);
        fail_msg("deploy/.env.example sets variables cube does not know:%s", msg);
    }
    arena_free(&a);
}

#define T(f) cmocka_unit_test_setup(f, clean_env)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(names_come_from_the_table),
        T(defaults),
        T(values_from_env),
        T(int_not_a_number),
        T(int_out_of_range),
        T(booleans),
        T(error_message_bounded),
        T(print_masks_secrets),
        T(env_example_documents_every_variable),
        T(env_example_has_no_unknown_variable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
