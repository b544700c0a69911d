/*
 * secretbox.h — credentials encrypted at rest (registry passwords, cluster
 * tokens) under the server key CUBE_SECRET_KEY.
 *
 * ChaCha20 (RFC 8439 §2.3-2.4) encrypts, HMAC-SHA256 authenticates, in
 * encrypt-then-MAC order: the tag covers the version prefix, the nonce and
 * the ciphertext, and is checked before anything is decrypted.  Two subkeys
 * come from the server key, so the cipher and the MAC never share one:
 *
 *     enc = HMAC-SHA256(server key, "cube-secretbox-enc")
 *     mac = HMAC-SHA256(server key, "cube-secretbox-mac")
 *
 * A sealed value is one printable line for a text column:
 *
 *     "cb1:" base64url(nonce[12] || ciphertext || tag[32])      (no padding)
 *
 * with a random nonce from getrandom(2), the ChaCha20 block counter starting
 * at 1 (as in RFC 8439's own encryption example), and
 * tag = HMAC-SHA256(mac, "cb1:" || nonce || ciphertext).  The ciphertext has
 * the plaintext's length: sealing does not hide how long a secret is.
 *
 * The "cb1" prefix names the format; a future key rotation or cipher change
 * gets a new prefix, and secretbox_open refuses what it does not know.
 */
#ifndef CUBE_SECRETBOX_H
#define CUBE_SECRETBOX_H

#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/err.h"
#include "core/attr.h"

/* The server key must have at least this many characters. */
#define SECRETBOX_KEY_MIN 32
/* Longest plaintext accepted: a kubeconfig with embedded certificates fits easily. */
#define SECRETBOX_PLAIN_MAX (1024 * 1024)

/* ChaCha20 (RFC 8439 §2.4): out = in XOR keystream(key, nonce) starting at block `counter`.
 * in and out may be the same buffer.  Exposed for the RFC test vectors. */
void chacha20_xor(const unsigned char key[32], const unsigned char nonce[12], uint32_t counter,
                  const unsigned char *in, unsigned char *out, size_t len);

/* Seals plaintext with the server key; the result lives in the arena.
 * ERR_INTERNAL when the key is missing or shorter than SECRETBOX_KEY_MIN (a configuration
 * error) or the system has no randomness; ERR_TOOBIG above SECRETBOX_PLAIN_MAX. */
enum err secretbox_seal(struct arena *a, const char *key, const char *plain,
                        const char **out) WARN_UNUSED;
/* Opens a sealed value into a NUL-terminated plaintext in the arena.  ERR_UNPROCESSABLE when it
 * was tampered with, truncated, of another format, or sealed with another key; ERR_INTERNAL for
 * a missing or short key, as above.  Tags are compared in constant time. */
enum err secretbox_open(struct arena *a, const char *key, const char *sealed,
                        const char **plain) WARN_UNUSED;

#endif
