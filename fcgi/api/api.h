/*
 * api.h — the entry point of the REST API: one call per request, whatever
 * carried it (FastCGI in cube-api, a struct filled by hand in tests).
 */
#ifndef CUBE_API_H
#define CUBE_API_H

#include "api/ctx.h"
#include "core/attr.h"

/* Routes, authenticates, authorises and dispatches; the response is in cx->resp. */
void api_handle(struct ctx *cx);

/* Metrics route names: index i in [0, api_route_count()). */
int api_route_count(void);
const char *api_route_name(int i);

/* auth_api.c */
enum err auth_request(struct ctx *cx) WARN_UNUSED;
enum err auth_login(struct ctx *cx);
enum err auth_login_config(struct ctx *cx);
enum err auth_logout(struct ctx *cx);
enum err auth_login_page(struct ctx *cx);
enum err auth_login_form(struct ctx *cx);
enum err auth_logout_page(struct ctx *cx);
/* The failed-login throttle, for other password checks of an account (userinfo's present
 * password): whether the account or the caller's address is blocked, and one more failure. */
bool auth_throttled(struct ctx *cx, const char *username);
void auth_note_failure(struct ctx *cx, const char *username);
/* A new session token for cx->user, issued now (after a password change ended the others);
 * a browser session (cookie) gets it as its cookie too.  NULL if it could not be made. */
const char *auth_renew_session(struct ctx *cx);

/* metrics.c: counters shared by all workers (anonymous shared memory made before fork). */
void metrics_init(void);
void metrics_observe(int route, int status, int64_t micros);
void metrics_worker_restart(void);
/* Bumped by every write to auth data in this cube-api; read before trusting an auth cache. */
uint64_t metrics_auth_gen(void);
void metrics_auth_gen_bump(void);
enum err metrics_render(struct ctx *cx);

#endif
