/*
 * leader.h — leadership and wake-ups for a daemon, on one dedicated PostgreSQL
 * connection (raw libpq: db.c's connection is for queries and may reconnect
 * behind our back, which would silently drop a lock or a LISTEN).
 *
 * Leadership is a session advisory lock, pg_try_advisory_lock(key): held while
 * the session lives, released by the server when the process dies or the
 * connection breaks, so a SIGKILLed leader is replaced within the TCP
 * keepalive time (a local socket: at once).  A process that loses the
 * connection steps down immediately.  The same connection LISTENs on the
 * daemon's channels; a NOTIFY only shortens the wait before the next pass —
 * correctness never depends on it (notifications are not queued for absent
 * listeners).
 */
#ifndef CUBE_SCHED_LEADER_H
#define CUBE_SCHED_LEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/attr.h"

/* Advisory lock keys: "cube" in ASCII and a role number. */
#define LEADER_KEY_SCHEDULER INT64_C(0x6375626501)
#define LEADER_KEY_WATCHER INT64_C(0x6375626502)
/* Held by the scheduler (session lock) while a tick creates runs; the watcher's outbox
 * delivery takes it shared and skips its pass when it cannot (notify.c). */
#define LOCK_KEY_TICK INT64_C(0x6375626503)

struct leader;

/* Connects lazily; channels (copied) are LISTENed on every (re)connection. */
struct leader *leader_open(const char *conninfo, const char *app_name, int64_t key,
                           const char *const *channels, size_t nchannels);
void leader_close(struct leader *l);
/* True while this process holds the lock.  When it does not, (re)connects and tries to take
 * it, at most once per retry_ms; never blocks longer than the connect timeout. */
bool leader_check(struct leader *l, int64_t retry_ms);
/* The connection's socket for poll(POLLIN), or -1 while disconnected. */
int leader_fd(const struct leader *l);
/* After poll reported the socket readable: reads input and drops the notifications.  Returns
 * how many arrived; on a broken connection steps down (leader_check is then false). */
int leader_drain(struct leader *l);

#endif
