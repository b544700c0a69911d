/*
 * sha256.h — SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104).  Used to store
 * API tokens as digests and, later, to sign webhook bodies.  Small enough to
 * own rather than link a crypto library for two functions.
 */
#ifndef CUBE_SHA256_H
#define CUBE_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char block[64];
    size_t fill;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_final(struct sha256 *s, unsigned char out[32]);
/* Digest of data as 64 lowercase hex digits plus NUL. */
void sha256_hex(const void *data, size_t n, char out[65]);
void hmac_sha256(const void *key, size_t keylen, const void *data, size_t n, unsigned char out[32]);

#endif
