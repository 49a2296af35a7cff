/*
 * test_dedup_util.h - key construction and text generators shared by the
 * dedup unit test, its stress test and bench/bench_dedup.c. Header-only
 * (static functions), not a test itself.
 */
#ifndef WC_TEST_DEDUP_UTIL_H
#define WC_TEST_DEDUP_UTIL_H

#include "pipeline/dedup.h"
#include "pipeline/hash.h"
#include "pipeline/normalize.h"

#include <stdio.h>
#include <string.h>

static inline wc_str_t tdu_str(const char *s)
{
    return (wc_str_t){.p = s, .len = (uint32_t)strlen(s)};
}

/* Key of a mention (brand, id, author, text) exactly as the worker builds it. */
static inline void tdu_key(wc_dedup_key_t *k, wc_norm_t *n, int min_tokens, const char *brand,
                           const char *id, const char *author, const char *text,
                           uint64_t followers, int32_t partition, int64_t offset)
{
    wc_mention_t m;
    memset(&m, 0, sizeof(m));
    m.brand = tdu_str(brand);
    m.id = tdu_str(id);
    m.author_id = tdu_str(author);
    m.text = tdu_str(text);
    m.author_followers = followers;
    wc_normalize(n, text, strlen(text));
    wc_dedup_key_init(k, &m, n, min_tokens);
    k->partition = partition;
    k->offset = offset;
}

static inline uint64_t tdu_rng(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* A pseudo-word from a 4096-word vocabulary (consonant-vowel syllables). */
static inline int tdu_word(char *out, uint32_t w)
{
    static const char cons[] = "bdfgklmnprstvwz";
    static const char vow[] = "aeiou";
    int n = 0;
    w = (uint32_t)wc_hash_u64(w) & 4095;
    for (int s = 0; s < 3; s++) {
        out[n++] = cons[(w >> (s * 4)) % 15];
        out[n++] = vow[(w >> (s * 4 + 2)) % 5];
    }
    out[n++] = cons[w % 13];
    return n;
}

/* Unrelated text number i: 14 random words. */
static inline void tdu_random_text(char *out, size_t cap, uint64_t i)
{
    uint64_t s = wc_hash_u64(i + 0x1234567ULL) | 1;
    size_t n = 0;
    for (int wi = 0; wi < 14 && n + 16 < cap; wi++) {
        if (wi)
            out[n++] = ' ';
        n += (size_t)tdu_word(out + n, (uint32_t)tdu_rng(&s));
    }
    out[n] = '\0';
}

/* Campaign template (copy-paste complaint, 30 words). */
static const char tdu_campaign_base[] =
    "Mijn internetverbinding ligt al drie dagen plat en de klantenservice van Acme neemt de "
    "telefoon niet op, ik betaal elke maand netjes voor een abonnement dat gewoon niet werkt";

/* Near-copy i of base as campaign participants post it: retweets
 * ("RT @x: ..."), quotes with an added handle or hashtag sign, changed
 * capitals and punctuation, emoji, per-author tracking links, extra
 * whitespace. The words (the content SimHash looks at) stay; edits that
 * change words are measured by bench_dedup_eval, not asserted here. */
static inline void tdu_campaign_copy(char *out, size_t cap, const char *base, uint64_t i)
{
    uint64_t s = wc_hash_u64(i * 7919 + 17) | 1;
    size_t n = 0;
    uint64_t r = tdu_rng(&s);
    if (i == 0) {
        snprintf(out, cap, "%s", base);
        return;
    }
    if (r % 4 == 0)
        n += (size_t)snprintf(out + n, cap - n, "RT @user%llu: ", (unsigned long long)(i % 97));
    else if (r % 4 == 1)
        n += (size_t)snprintf(out + n, cap - n, "@acme ");
    bool upper_word = (r >> 8) & 1, hashtag = (r >> 9) & 1;
    int word = 0;
    for (const char *p = base; *p && n + 8 < cap; p++) {
        char c = *p;
        if (c == ' ') {
            word++;
            out[n++] = ' ';
            if (((r >> 16) + (uint64_t)word) % 11 == 0)
                out[n++] = ' ';
            if (hashtag && word == 5)
                out[n++] = '#';
            continue;
        }
        if (upper_word && word % 3 == 1 && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == ',' && ((r >> 12) & 1))
            continue;
        out[n++] = c;
    }
    out[n] = '\0';
    switch ((r >> 20) % 5) {
    case 0:
        n += (size_t)snprintf(out + n, cap - n, "!!!");
        break;
    case 1:
        n += (size_t)snprintf(out + n, cap - n, " \xf0\x9f\x98\xa1");
        break;
    case 2:
        n += (size_t)snprintf(out + n, cap - n, " https://t.example/%llx", (unsigned long long)r);
        break;
    case 3:
        n += (size_t)snprintf(out + n, cap - n, " @acme_care ?");
        break;
    default:
        break;
    }
}

/* The benchmarks' synthetic dedup stream (bench_dedup, bench_dedup_insn):
 * n keys of stream number `stream` starting at mention index base; per
 * mention 20% exact redeliveries of a recent mention, 10% near-copies (2 of
 * 64 SimHash bits flipped), 70% first sightings, 16 brands. all_new: every
 * mention a first sighting. */
static inline void tdu_stream_keys(wc_dedup_key_t *k, size_t n, uint64_t stream, uint64_t base,
                                   bool all_new)
{
    uint64_t s = wc_hash_u64(stream * 0x9e37 + base + 1) | 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t id = (stream << 40) | (base + i);
        uint64_t x = tdu_rng(&s);
        unsigned kind = all_new ? 99u : (unsigned)(x % 100);
        wc_dedup_key_t *q = &k[i];
        memset(q, 0, sizeof(*q));
        q->brand_hash = 1 + (x >> 60); /* 16 brands */
        q->author_hash = x >> 8;
        q->reach = x & 1023;
        q->partition = (int32_t)(x >> 32 & 15);
        q->offset = (int64_t)(base + i);
        q->simhash_valid = 1;
        if (kind < 20 && i > 64) {
            /* exact redelivery of a recent mention of this stream */
            *q = k[i - 1 - (x >> 20) % 64];
            q->offset += 1000000000;
            continue;
        }
        q->id_hash = wc_hash_u64(id ^ 0x1d);
        q->case_id[0] = q->id_hash;
        q->case_id[1] = id;
        if (kind < 30 && i > 64) {
            const wc_dedup_key_t *o = &k[i - 1 - (x >> 24) % 64];
            q->brand_hash = o->brand_hash;
            q->simhash = o->simhash ^ (1ULL << (x >> 40 & 63)) ^ (1ULL << (x >> 46 & 63));
        } else {
            q->simhash = wc_hash_u64(id ^ 0x51);
        }
        q->text_hash = wc_hash_u64(q->simhash ^ 0x7e);
    }
}

#endif
