/*
 * hash.h - fast non-cryptographic 64-bit hashing (wyhash-style mixing).
 *
 * Used for token hashes, SimHash features, dedup keys and deterministic
 * case ids. Output is stable across runs, machines and versions of this
 * file are expected to keep it stable: case ids derive from it, so changing
 * the function changes every case id (treat as a breaking change).
 * Little-endian loads; this daemon targets x86_64/aarch64 Linux.
 */
#ifndef WC_HASH_H
#define WC_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t wc_hash_mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t wc_hash_r8(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t wc_hash_r4(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

#define WC_HASH_P0 0xa0761d6478bd642fULL
#define WC_HASH_P1 0xe7037ed1a0b428dbULL
#define WC_HASH_P2 0x8ebc6af09c88c6e3ULL
#define WC_HASH_P3 0x589965cc75374cc3ULL

/* @locality any */
static inline uint64_t wc_hash64(const void *key, size_t len, uint64_t seed)
{
    const uint8_t *p = (const uint8_t *)key;
    uint64_t a, b;
    seed ^= wc_hash_mix(seed ^ WC_HASH_P0, WC_HASH_P1);
    if (len <= 16) {
        if (len >= 4) {
            a = (wc_hash_r4(p) << 32) | wc_hash_r4(p + ((len >> 3) << 2));
            b = (wc_hash_r4(p + len - 4) << 32) | wc_hash_r4(p + len - 4 - ((len >> 3) << 2));
        } else if (len > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t i = len;
        if (i > 48) {
            uint64_t s1 = seed, s2 = seed;
            do {
                seed = wc_hash_mix(wc_hash_r8(p) ^ WC_HASH_P1, wc_hash_r8(p + 8) ^ seed);
                s1 = wc_hash_mix(wc_hash_r8(p + 16) ^ WC_HASH_P2, wc_hash_r8(p + 24) ^ s1);
                s2 = wc_hash_mix(wc_hash_r8(p + 32) ^ WC_HASH_P3, wc_hash_r8(p + 40) ^ s2);
                p += 48;
                i -= 48;
            } while (i > 48);
            seed ^= s1 ^ s2;
        }
        while (i > 16) {
            seed = wc_hash_mix(wc_hash_r8(p) ^ WC_HASH_P1, wc_hash_r8(p + 8) ^ seed);
            i -= 16;
            p += 16;
        }
        a = wc_hash_r8(p + i - 16);
        b = wc_hash_r8(p + i - 8);
    }
    a ^= WC_HASH_P1;
    b ^= seed;
    __uint128_t r = (__uint128_t)a * b;
    a = (uint64_t)r;
    b = (uint64_t)(r >> 64);
    return wc_hash_mix(a ^ WC_HASH_P0 ^ len, b ^ WC_HASH_P1);
}

/* Finalizer for integers (splitmix64). @locality any */
static inline uint64_t wc_hash_u64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

#endif
