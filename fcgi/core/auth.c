/* auth.c — password hashing, JWTs, randomness. */
#include <crypt.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/auth.h"
#include "core/common.h"

#define JWT_ISSUER "cube"

void auth_random_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[64];
    size_t done = 0;

    ASSERT(nbytes <= sizeof(raw));
    while (done < nbytes) {
        ssize_t n = getrandom(raw + done, nbytes - done, 0);
        ASSERT(n > 0);
        done += (size_t)n;
    }
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * nbytes] = '\0';
}

enum err auth_hash_password(const char *pw, char *out, size_t outlen)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd = xcalloc(1, sizeof(*cd));
    enum err ret = ERR_INTERNAL;
    const char *h;

    /* NULL random source: libxcrypt reads the OS's. Cost 0 = the library's default. */
    if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)))
        goto out;
    h = crypt_r(pw, salt, cd);
    if (!h || h[0] == '*' || strlen(h) + 1 > outlen)
        goto out;
    memcpy(out, h, strlen(h) + 1);
    ret = ERR_OK;
out:
    free(cd);
    return ret;
}

bool auth_check_password(const char *pw, const char *hash)
{
    struct crypt_data *cd;
    const char *h;
    size_t n;
    unsigned char diff = 0;
    bool ok = false;

    if (!hash || hash[0] != '$')
        return false;
    cd = xcalloc(1, sizeof(*cd));
    h = crypt_r(pw, hash, cd);
    if (!h || h[0] == '*')
        goto out;
    n = strlen(hash);
    if (strlen(h) != n)
        goto out;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(h[i] ^ hash[i]);
    ok = diff == 0;
out:
    free(cd);
    return ok;
}

char *auth_jwt_issue(struct arena *a, const char *secret, int64_t uid, const char *username,
                     int64_t now_ms, int64_t ttl)
{
    int64_t now = now_ms / 1000;
    jwt_t *jwt = NULL;
    char *tok = NULL, *ret = NULL;

    if (jwt_new(&jwt))
        goto out;
    if (jwt_add_grant(jwt, "iss", JWT_ISSUER) || jwt_add_grant(jwt, "sub", username) ||
        jwt_add_grant_int(jwt, "uid", (long)uid) || jwt_add_grant_int(jwt, "iat", (long)now) ||
        jwt_add_grant_int(jwt, "iat_ms", (long)now_ms) ||
        jwt_add_grant_int(jwt, "exp", (long)(now + ttl)))
        goto out;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret, (int)strlen(secret)))
        goto out;
    tok = jwt_encode_str(jwt);
    if (tok)
        ret = arena_strdup(a, tok);
out:
    free(tok);
    jwt_free(jwt);
    ASSERT(ret);
    return ret;
}

enum err auth_jwt_verify(struct arena *a, const char *secret, const char *token, int64_t now,
                         int64_t *uid, const char **username)
{
    int64_t exp, iat;
    return auth_jwt_verify_exp(a, secret, token, now, uid, username, &exp, &iat);
}

enum err auth_jwt_verify_exp(struct arena *a, const char *secret, const char *token, int64_t now,
                             int64_t *uid, const char **username, int64_t *expires, int64_t *issued)
{
    jwt_t *jwt = NULL;
    enum err ret = ERR_UNAUTH;
    const char *iss, *sub;
    long exp, id;

    /* Three dot-separated parts, nothing else: rejects "alg: none" tokens with no signature. */
    if (!token || strlen(token) > 4096)
        return ERR_UNAUTH;
    if (jwt_decode(&jwt, token, (const unsigned char *)secret, (int)strlen(secret)) || !jwt)
        goto out;
    /* libjwt verifies with whatever algorithm the header names; we accept exactly one. */
    if (jwt_get_alg(jwt) != JWT_ALG_HS256)
        goto out;
    iss = jwt_get_grant(jwt, "iss");
    sub = jwt_get_grant(jwt, "sub");
    exp = jwt_get_grant_int(jwt, "exp");
    id = jwt_get_grant_int(jwt, "uid");
    if (!iss || strcmp(iss, JWT_ISSUER) || !sub || !*sub || exp <= 0 || id <= 0)
        goto out;
    if ((int64_t)exp <= now)
        goto out;
    *uid = id;
    *expires = exp;
    *issued = jwt_get_grant_int(jwt, "iat_ms");
    if (*issued <= 0)
        *issued = (int64_t)jwt_get_grant_int(jwt, "iat") * 1000;
    if (*issued < 0)
        *issued = 0;
    *username = arena_strdup(a, sub);
    ret = ERR_OK;
out:
    jwt_free(jwt);
    return ret;
}
