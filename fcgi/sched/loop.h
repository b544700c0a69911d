/*
 * loop.h — the main loop shared by cube-scheduler and cube-watcher.
 *
 * One process, one thread.  The loop waits in poll(2) (or the watcher's
 * libcurl-aware replacement) on: a self-pipe written by the SIGTERM/SIGINT
 * handler, the leader connection's socket (LISTEN), and one optional extra
 * descriptor (the watcher's inotify).  It runs a pass when the interval
 * (CUBE_SCHED_INTERVAL_MS) has passed, at once when a NOTIFY or the extra
 * descriptor woke it, and again right away when the pass says it is busy.
 * Only the leader runs passes; the others retry the lock every interval.
 * Each pass gets a fresh arena and reads the clock once.  A failed pass is
 * logged and retried after the interval (the database may be restarting:
 * db.c reconnects outside transactions).
 */
#ifndef CUBE_SCHED_LOOP_H
#define CUBE_SCHED_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sched/daemon.h"
#include "core/attr.h"

struct pollfd;

struct loop {
    const char *name; /* "scheduler" / "watcher": application_name, actor, logs */
    int64_t lock_key; /* LEADER_KEY_* */
    const char *const *channels;
    size_t nchannels;
    bool once; /* one pass (if leader) and return */
    struct db *db;
    struct executor *x;
    struct cluster_set *clusters; /* refreshed before every pass */
    struct kv *kv;
    void *ctx;
    enum err (*pass)(void *ctx, struct pass *ps);
    /* Optional: a descriptor to watch; on_extra reads it and says whether to pass now. */
    int extra_fd;
    bool (*on_extra)(void *ctx);
    /* Optional: replaces poll(2); after_wait runs after every wait (webhook transfers). */
    int (*wait)(void *ctx, struct pollfd *fds, unsigned nfds, int timeout_ms);
    void (*after_wait)(void *ctx, struct pass *ps);
};

/* Runs until SIGTERM/SIGINT (or one pass with once).  Returns the exit status. */
int loop_run(struct loop *l);

#endif
