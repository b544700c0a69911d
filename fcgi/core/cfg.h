/*
 * cfg.h — configuration from environment variables, described by one table
 * (cfg.c: cfg_vars[]) that also renders `cube config` and the README list.
 * Loaded once at startup; read-only afterwards.
 */
#ifndef CUBE_CFG_H
#define CUBE_CFG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "core/attr.h"

struct cfg {
    const char *db_url;
    const char *redis;
    const char *socket;
    const char *jwt_secret;
    const char *secret_key;
    const char *log_level;
    const char *pidfile;
    const char *sql_dir;
    const char *admin_password;
    int64_t workers;
    int64_t body_max;
    int64_t jwt_ttl;
    int64_t login_max_fails;
    int64_t login_window;
    int64_t auth_cache_ttl;
    int64_t count_cache_ttl;
    int64_t db_timeout_ms;
    const char *exec_dir;
    const char *shim;
    const char *cgroup;
    int64_t exec_max_procs;
    const char *clock_file;
    int64_t exec_slots;
    int64_t sched_interval_ms;
    int64_t catchup_max;
    int64_t lost_grace_s;
    int64_t pending_timeout_s;
    int64_t retention_days;
    int64_t webhook_timeout_ms;
    bool auto_register;
    bool secure_cookie;
};

extern struct cfg cfg;

/* Parses every variable; on a bad value writes a message to err and returns false. */
bool cfg_load(char *err, size_t errlen) WARN_UNUSED;
/* Prints NAME=value lines (secrets masked) with each variable's help text. */
void cfg_print(FILE *f);

#endif
