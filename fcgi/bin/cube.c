/*
 * cube.c — the command line: schema migrations, seed data, users, config.
 *
 *   cube db upgrade     apply pending sql/NNNN_name.sql files, each in a transaction
 *   cube db status      list migrations: applied, pending, or edited after applying
 *   cube seed           admin user, public and demo projects (idempotent)
 *   cube user add NAME [--admin]   password from CUBE_USER_PASSWORD
 *   cube config         effective configuration (secrets masked)
 *   cube version
 */
#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/auth.h"
#include "core/cfg.h"
#include "core/db.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/common.h"

/* Serialises concurrent `cube db upgrade` runs (several containers starting at once). */
#define MIGRATION_LOCK "727001"

struct migration {
    char name[256];
    char checksum[65];
    char *sql;
};

static struct db *connect_db(void)
{
    char err[512];
    struct db *db = db_open(cfg.db_url, "cube", 0, err, sizeof(err));
    if (!db)
        die("%s", err);
    return db;
}

static int name_filter(const struct dirent *d)
{
    regex_t rx;
    int ok;
    if (regcomp(&rx, "^[0-9]{4}_[a-z0-9_]+\\.sql$", REG_EXTENDED | REG_NOSUB))
        return 0;
    ok = regexec(&rx, d->d_name, 0, NULL, 0) == 0;
    regfree(&rx);
    return ok;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        die("cannot open %s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
        die("cannot read %s", path);
    buf = xmalloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        die("cannot read %s", path);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static size_t load_migrations(struct migration **out)
{
    struct dirent **ents;
    int n = scandir(cfg.sql_dir, &ents, name_filter, alphasort);
    struct migration *m;

    if (n < 0)
        die("cannot read the migrations directory %s: %s", cfg.sql_dir, strerror(errno));
    m = xcalloc((size_t)n + 1, sizeof(*m));
    for (int i = 0; i < n; i++) {
        char path[4096];
        size_t len = strlen(ents[i]->d_name) - 4; /* without .sql */
        snprintf(path, sizeof(path), "%s/%s", cfg.sql_dir, ents[i]->d_name);
        snprintf(m[i].name, sizeof(m[i].name), "%.*s", (int)len, ents[i]->d_name);
        m[i].sql = read_file(path);
        sha256_hex(m[i].sql, strlen(m[i].sql), m[i].checksum);
        free(ents[i]);
    }
    free(ents);
    *out = m;
    return (size_t)n;
}

static void free_migrations(struct migration *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(m[i].sql);
    free(m);
}

static void exec_or_die(struct db *db, const char *sql)
{
    char err[1024];
    if (db_script(db, sql, err, sizeof(err)))
        die("%s", err);
}

/* The recorded checksum of a migration, NULL when not applied. */
static const char *applied_checksum(struct db *db, struct arena *a, const char *name)
{
    struct pg_result *r;
    const char *p[] = {name};
    if (db_query(db, a, "SELECT \"checksum\" FROM \"schema_migrations\" WHERE \"name\" = $1", 1, p,
                 &r, NULL))
        die("cannot read schema_migrations");
    return db_rows(r) ? db_val(r, 0, 0) : NULL;
}

static int db_upgrade(void)
{
    struct db *db = connect_db();
    struct arena a = ARENA_INIT;
    struct migration *m;
    size_t n = load_migrations(&m), done = 0;
    char err[2048];

    exec_or_die(db,
                "CREATE TABLE IF NOT EXISTS \"schema_migrations\" (\"name\" text PRIMARY KEY, "
                "\"checksum\" text NOT NULL, \"applied_on\" timestamptz NOT NULL DEFAULT now())");
    exec_or_die(db, "SELECT pg_advisory_lock(" MIGRATION_LOCK ")");
    for (size_t i = 0; i < n; i++) {
        const char *sum = applied_checksum(db, &a, m[i].name);
        const char *p[] = {m[i].name, m[i].checksum};
        struct pg_result *r;
        if (sum) {
            if (strcmp(sum, m[i].checksum))
                die("migration %s was edited after it was applied (recorded checksum %.12s, file "
                    "%.12s): add a new migration instead",
                    m[i].name, sum, m[i].checksum);
            continue;
        }
        exec_or_die(db, "BEGIN");
        if (db_script(db, m[i].sql, err, sizeof(err))) {
            exec_or_die(db, "ROLLBACK");
            die("migration %s failed, nothing of it was applied:\n%s", m[i].name, err);
        }
        if (db_query(db, &a,
                     "INSERT INTO \"schema_migrations\" (\"name\", \"checksum\") VALUES ($1, $2)",
                     2, p, &r, NULL)) {
            exec_or_die(db, "ROLLBACK");
            die("cannot record migration %s", m[i].name);
        }
        exec_or_die(db, "COMMIT");
        printf("applied %s\n", m[i].name);
        done++;
    }
    exec_or_die(db, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")");
    if (!done)
        printf("database schema is up to date (%zu migrations)\n", n);
    free_migrations(m, n);
    arena_free(&a);
    db_close(db);
    return 0;
}

static int db_status(void)
{
    struct db *db = connect_db();
    struct arena a = ARENA_INIT;
    struct migration *m;
    size_t n = load_migrations(&m);
    int pending = 0;

    exec_or_die(db,
                "CREATE TABLE IF NOT EXISTS \"schema_migrations\" (\"name\" text PRIMARY KEY, "
                "\"checksum\" text NOT NULL, \"applied_on\" timestamptz NOT NULL DEFAULT now())");
    for (size_t i = 0; i < n; i++) {
        const char *sum = applied_checksum(db, &a, m[i].name);
        const char *state = !sum ? "pending" : strcmp(sum, m[i].checksum) ? "EDITED" : "applied";
        pending += !sum;
        printf("%-8s %s\n", state, m[i].name);
    }
    free_migrations(m, n);
    arena_free(&a);
    db_close(db);
    return pending ? 2 : 0;
}

/* Creates a user with a password (and the admin role) unless the name is taken. */
static bool create_user(struct db *db, struct arena *a, const char *name, const char *password,
                        bool admin)
{
    char hash[256];
    const char *p[3] = {name, hash, admin ? "admin" : "user"};
    struct pg_result *r;
    struct db_error e;

    if (auth_hash_password(password, hash, sizeof(hash)))
        die("password hashing failed");
    if (db_query(
            db, a,
            "WITH u AS (INSERT INTO \"users\" (\"username\", \"password\", \"nickname\") VALUES "
            "($1, $2, $1) ON CONFLICT (\"username\") DO NOTHING RETURNING \"id\"), "
            "r AS (INSERT INTO \"user_role\" (\"user_id\", \"role_id\") SELECT u.\"id\", ro.\"id\" "
            "FROM u, \"roles\" ro WHERE ro.\"name\" = $3) SELECT \"id\" FROM u",
            3, p, &r, &e))
        die("cannot create user %s: %s", name, e.message ? e.message : "database error");
    return db_rows(r) > 0;
}

static int seed(void)
{
    struct db *db = connect_db();
    struct arena a = ARENA_INIT;
    struct pg_result *r;
    char generated[33];
    const char *pw = cfg.admin_password;

    if (!pw || !*pw) {
        auth_random_hex(generated, 12);
        pw = generated;
    }
    if (create_user(db, &a, "admin", pw, true)) {
        printf("created user admin");
        if (pw == generated)
            printf(" with the generated password %s", generated);
        printf("\n");
    }
    if (db_query(db, &a,
                 "WITH p AS (INSERT INTO \"project\" (\"name\", \"describe\", \"type\", "
                 "\"created_by_fk\", \"changed_by_fk\") SELECT v.n, v.d, 'org', u.\"id\", u.\"id\" "
                 "FROM (VALUES ('public', 'Everyone''s project: new users join it'), ('demo', "
                 "'A project to try Cube in')) v(n, d), \"users\" u WHERE u.\"username\" = 'admin' "
                 "ON CONFLICT (\"name\") DO NOTHING RETURNING \"id\", \"created_by_fk\") "
                 "INSERT INTO \"project_user\" (\"project_id\", \"user_id\", \"role\", "
                 "\"created_by_fk\", \"changed_by_fk\") SELECT p.\"id\", p.\"created_by_fk\", "
                 "'creator', p.\"created_by_fk\", p.\"created_by_fk\" FROM p RETURNING 1",
                 0, NULL, &r, NULL))
        die("cannot seed projects");
    if (db_rows(r))
        printf("created projects public and demo\n");
    printf("seed complete\n");
    arena_free(&a);
    db_close(db);
    return 0;
}

static int user_add(int argc, char **argv)
{
    const char *pw = getenv("CUBE_USER_PASSWORD");
    bool admin = argc > 4 && !strcmp(argv[4], "--admin");
    struct db *db;
    struct arena a = ARENA_INIT;

    if (argc < 4)
        die("usage: cube user add NAME [--admin]  (password in CUBE_USER_PASSWORD)");
    if (!pw || strlen(pw) < 8)
        die("set CUBE_USER_PASSWORD to a password of at least 8 characters");
    db = connect_db();
    if (!create_user(db, &a, argv[3], pw, admin))
        die("user %s already exists", argv[3]);
    printf("created user %s%s\n", argv[3], admin ? " (admin)" : "");
    arena_free(&a);
    db_close(db);
    return 0;
}

static int usage(void)
{
    fputs(
        "usage: cube db upgrade | db status | seed | user add NAME [--admin] | config | version\n",
        stderr);
    return 2;
}

int main(int argc, char **argv)
{
    char err[512];

    log_component = "cube";
    if (!cfg_load(err, sizeof(err)))
        die("%s", err);
    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "version")) {
        printf("cube %s (schema %s)\n", CUBE_VERSION, CUBE_SCHEMA_LATEST);
        return 0;
    }
    if (!strcmp(argv[1], "config")) {
        cfg_print(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "db") && argc > 2 && !strcmp(argv[2], "upgrade"))
        return db_upgrade();
    if (!strcmp(argv[1], "db") && argc > 2 && !strcmp(argv[2], "status"))
        return db_status();
    if (!strcmp(argv[1], "seed"))
        return seed();
    if (!strcmp(argv[1], "user") && argc > 2 && !strcmp(argv[2], "add"))
        return user_add(argc, argv);
    return usage();
}
