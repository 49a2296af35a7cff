/*
 * hmac.h - SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104), used to
 * pseudonymise author ids in alerts (privacy.hmac.key). Small and
 * dependency-free; not constant-time with respect to message length
 * (the key is the secret, the messages are author ids).
 */
#ifndef WC_HMAC_H
#define WC_HMAC_H

#include <stddef.h>
#include <stdint.h>

#define WC_SHA256_LEN 32

/* @locality any */
void wc_sha256(const void *data, size_t len, uint8_t out[WC_SHA256_LEN]);
/* @locality any */
void wc_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                    uint8_t out[WC_SHA256_LEN]);
/* Pseudonym "p-" + first 16 bytes of the HMAC in hex (34 chars + NUL). */
#define WC_PSEUDONYM_LEN 34
void wc_pseudonym(const void *key, size_t keylen, const void *id, size_t idlen,
                  char out[WC_PSEUDONYM_LEN + 1]);

#endif
