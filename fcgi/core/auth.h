/*
 * auth.h — credentials: password hashes (yescrypt through libxcrypt), session
 * tokens (HS256 JWTs through libjwt, algorithm fixed, expiry enforced) and
 * random secrets.  No database access here: api/auth_api.c looks users up.
 */
#ifndef CUBE_AUTH_H
#define CUBE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/err.h"
#include "core/attr.h"

/* Writes a yescrypt hash of pw into out (at least 128 bytes). */
enum err auth_hash_password(const char *pw, char *out, size_t outlen) WARN_UNUSED;
/* Constant-time comparison against a stored hash; false for a malformed hash. */
bool auth_check_password(const char *pw, const char *hash) WARN_UNUSED;

/* A signed token for (uid, username), valid for ttl seconds from now_ms (milliseconds since
 * the epoch, kept in an "iat_ms" claim beside the standard seconds of "iat"). */
char *auth_jwt_issue(struct arena *a, const char *secret, int64_t uid, const char *username,
                     int64_t now_ms, int64_t ttl);
/* Verifies signature, algorithm (HS256 only), iss and exp; fills uid and username. */
enum err auth_jwt_verify(struct arena *a, const char *secret, const char *token, int64_t now,
                         int64_t *uid, const char **username) WARN_UNUSED;

/* The same, also returning the token's expiry (seconds since the epoch) and issue time
 * (milliseconds: "iat_ms", else "iat" × 1000, else 0). */
enum err auth_jwt_verify_exp(struct arena *a, const char *secret, const char *token, int64_t now,
                             int64_t *uid, const char **username, int64_t *exp,
                             int64_t *iat) WARN_UNUSED;

/* nbytes random bytes from getrandom(2) as 2*nbytes hex digits. */
void auth_random_hex(char *out, size_t nbytes);

#endif
