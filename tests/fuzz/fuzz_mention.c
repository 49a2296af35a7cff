/*
 * fuzz_mention.c - libFuzzer harness for wc_mention_decode().
 *
 * For every input:
 *  1. Decode with the default limits. On success check the invariants:
 *     every present string is non-empty, lies inside the input or inside
 *     the arena, is within its limit and is valid UTF-8 (checked by an
 *     independent code-point decoder); the channel is in range. On failure:
 *     rc is WC_ERR_PARSE, the reason is a real one, the offset is inside the
 *     input, the detail is set.
 *  2. Differential against jansson (json_loadb, duplicates allowed). Flags:
 *     JSON_DECODE_ANY (RFC 8259 allows a scalar at top level; without it
 *     jansson calls "42" a syntax error) and JSON_ALLOW_NUL ("\u0000" is
 *     valid JSON). jansson rejections that are not about syntax are
 *     excused: nesting > 2048 (stack_overflow), integers beyond int64 or
 *     reals beyond double (numeric_overflow), "\u0000" inside a key
 *     (null_byte_in_key), out of memory. jansson also swallows a raw NUL
 *     byte right after a number or literal ("{\"a\":1\0}" and "null\0"
 *     load fine), while we reject raw NUL anywhere, so "we reject with
 *     BAD_JSON pointing at a raw NUL byte" is excused too.
 *       - we accept          => jansson accepts, and every field we
 *                               extracted equals jansson's value;
 *       - we say EMPTY, BAD_JSON or INVALID_UTF8 => jansson rejects;
 *       - we say NOT_OBJECT  => jansson accepts a non-object;
 *       - jansson rejects for syntax => we reject.
 *  3. Decode again with tight limits (small depth and lengths): success
 *     there implies success with the defaults and the same fields.
 *  4. wc_parse_rfc3339() on the raw input against an independent oracle
 *     (a strict character-class check, then timegm() + gmtime_r() for the
 *     calendar): same acceptance, same epoch ms.
 *
 * Build: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DWC_FUZZ=ON
 *        -DWC_SANITIZE=address && cmake --build build-fuzz --target fuzz_mention
 * Run:   build-fuzz/tests/fuzz_mention -dict=tests/fuzz/mention.dict
 *        <scratch-corpus-dir> tests/fuzz/corpus/mention
 */
#include "pipeline/mention.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_mention: check failed at line %d: %s\n", __LINE__, #cond);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Independent UTF-8 check: decode each code point, reject overlongs,
 * surrogates and > U+10FFFF. */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        uint32_t cp, min;
        size_t k;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

static bool in_arena(const wc_arena_t *a, const char *p, size_t len)
{
    for (const wc_arena_chunk_t *c = a->head; c; c = c->next)
        if (p >= c->data && p + len <= c->data + c->used)
            return true;
    return false;
}

static void check_str(const wc_str_t *s, uint32_t limit, const uint8_t *data, size_t size,
                      const wc_arena_t *a)
{
    if (!s->p) {
        CHECK(s->len == 0);
        return;
    }
    CHECK(s->len > 0 && s->len <= limit);
    const char *in = (const char *)data;
    CHECK((s->p >= in && s->p + s->len <= in + size) || in_arena(a, s->p, s->len));
    CHECK(utf8_ok((const unsigned char *)s->p, s->len));
}

static void check_ok(const wc_mention_t *m, const wc_decode_limits_t *l, const uint8_t *data,
                     size_t size, const wc_arena_t *a)
{
    CHECK(m->id.p && m->brand.p && m->text.p && m->author_id.p);
    check_str(&m->id, l->max_id_len, data, size, a);
    check_str(&m->brand, l->max_field_len, data, size, a);
    check_str(&m->text, l->max_text_len, data, size, a);
    check_str(&m->author_id, l->max_id_len, data, size, a);
    check_str(&m->author_handle, l->max_field_len, data, size, a);
    check_str(&m->lang, WC_MENTION_LANG_MAX, data, size, a);
    check_str(&m->conversation_id, l->max_id_len, data, size, a);
    check_str(&m->in_reply_to, l->max_id_len, data, size, a);
    check_str(&m->url, l->max_field_len, data, size, a);
    CHECK((unsigned)m->channel < WC_CH__COUNT);
}

static void check_err(int rc, const wc_decode_err_t *e, size_t size)
{
    CHECK(rc == WC_ERR_PARSE);
    CHECK(e->reason > WC_DLQ_NONE && e->reason < WC_DLQ_NO_ROUTE);
    CHECK(e->offset <= size);
    CHECK(e->detail[0] != '\0' && memchr(e->detail, '\0', sizeof(e->detail)) != NULL);
}

/* Compare one of our strings with the jansson value of the same field. */
static void same_str(const wc_str_t *s, json_t *obj, const char *key)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
        CHECK(s->p == NULL);
        return;
    }
    CHECK(json_is_string(v));
    CHECK(s->p && s->len == json_string_length(v) && memcmp(s->p, json_string_value(v), s->len) == 0);
}

static void same_uint(uint64_t ours, json_t *obj, const char *key, uint64_t sat)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v || json_is_null(v)) {
        CHECK(ours == 0);
        return;
    }
    CHECK(json_is_integer(v) && json_integer_value(v) >= 0);
    uint64_t want = (uint64_t)json_integer_value(v);
    CHECK(ours == (want > sat ? sat : want));
}

static void compare_with_jansson(const wc_mention_t *m, json_t *root)
{
    CHECK(json_is_object(root));
    same_str(&m->id, root, "id");
    same_str(&m->brand, root, "brand");
    same_str(&m->text, root, "text");
    same_str(&m->lang, root, "lang");
    same_str(&m->conversation_id, root, "conversation_id");
    same_str(&m->in_reply_to, root, "in_reply_to");
    same_str(&m->url, root, "url");
    json_t *ch = json_object_get(root, "channel");
    CHECK(json_is_string(ch) && strcmp(json_string_value(ch), wc_channel_name(m->channel)) == 0);
    json_t *author = json_object_get(root, "author");
    CHECK(json_is_object(author));
    same_str(&m->author_id, author, "id");
    same_str(&m->author_handle, author, "handle");
    same_uint(m->author_followers, author, "followers", UINT64_MAX);
    CHECK(m->author_verified == json_is_true(json_object_get(author, "verified")));
    json_t *metrics = json_object_get(root, "metrics");
    if (json_is_null(metrics))
        metrics = NULL;
    same_uint(m->reshares, metrics, "reshares", UINT32_MAX);
    same_uint(m->likes, metrics, "likes", UINT32_MAX);
    same_uint(m->replies, metrics, "replies", UINT32_MAX);
    json_t *ts = json_object_get(root, "created_at");
    if (json_is_integer(ts))
        CHECK(m->created_at_ms == json_integer_value(ts));
    else
        CHECK(json_is_string(ts));
}

static bool same_mention(const wc_mention_t *a, const wc_mention_t *b)
{
#define S(f) (a->f.len == b->f.len && (!a->f.len || memcmp(a->f.p, b->f.p, a->f.len) == 0) &&     \
              (a->f.p == NULL) == (b->f.p == NULL))
    return S(id) && S(brand) && S(text) && S(author_id) && S(author_handle) && S(lang) &&
           S(conversation_id) && S(in_reply_to) && S(url) && a->channel == b->channel &&
           a->author_followers == b->author_followers && a->author_verified == b->author_verified &&
           a->created_at_ms == b->created_at_ms && a->reshares == b->reshares &&
           a->likes == b->likes && a->replies == b->replies;
#undef S
}

static int dd(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Oracle for RFC 3339 (written differently on purpose): returns true and
 * *ms if s[0..n) is valid. The calendar check is "timegm() of the fields,
 * back through gmtime_r(), gives the same fields". */
static bool rfc3339_oracle(const char *s, size_t n, int64_t *ms)
{
    if (n < 20 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' ||
        !all_digits(s + 8, 2) || !strchr("Tt ", s[10]) || s[10] == '\0' ||
        !all_digits(s + 11, 2) || s[13] != ':' || !all_digits(s + 14, 2) || s[16] != ':' ||
        !all_digits(s + 17, 2))
        return false;
    size_t i = 19;
    int frac = 0;
    if (s[i] == '.') {
        size_t nd = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++)
            if (nd < 3)
                frac = frac * 10 + (s[i] - '0');
        if (nd == 0)
            return false;
        for (size_t k = nd; k < 3; k++)
            frac *= 10;
    }
    if (i >= n)
        return false;
    long off = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        if (n != i + 1)
            return false;
    } else if (s[i] == '+' || s[i] == '-') {
        if (n != i + 6 || !all_digits(s + i + 1, 2) || s[i + 3] != ':' || !all_digits(s + i + 4, 2))
            return false;
        int oh = dd(s + i + 1), om = dd(s + i + 4);
        if (oh > 23 || om > 59)
            return false;
        off = (s[i] == '-' ? -1 : 1) * (oh * 60L + om);
    } else {
        return false;
    }
    struct tm tm = {0};
    tm.tm_year = dd(s) * 100 + dd(s + 2) - 1900;
    tm.tm_mon = dd(s + 5) - 1;
    tm.tm_mday = dd(s + 8);
    tm.tm_hour = dd(s + 11);
    tm.tm_min = dd(s + 14);
    int sec = dd(s + 17);
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        sec > 60)
        return false;
    struct tm want = tm, back;
    time_t t = timegm(&tm);
    if (!gmtime_r(&t, &back) || back.tm_year != want.tm_year || back.tm_mon != want.tm_mon ||
        back.tm_mday != want.tm_mday)
        return false; /* e.g. 2023-02-29 rolled over to March */
    *ms = ((int64_t)t + sec - off * 60) * 1000 + frac;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wc_arena_t arena, arena2;
    static bool init;
    if (!init) {
        wc_arena_init(&arena, 4096);
        wc_arena_init(&arena2, 4096);
        init = true;
    }
    wc_arena_reset(&arena);
    wc_arena_reset(&arena2);

    wc_decode_limits_t lim;
    wc_decode_limits_default(&lim);
    wc_mention_t m;
    wc_decode_err_t e;
    const int rc = wc_mention_decode(&m, (const char *)data, size, &lim, &arena, &e);
    if (rc == 0) {
        CHECK(e.reason == WC_DLQ_NONE);
        check_ok(&m, &lim, data, size, &arena);
    } else {
        check_err(rc, &e, size);
    }

    /* 2. differential against jansson */
    json_error_t je;
    json_t *root = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    bool excused = false;
    if (!root) {
        const enum json_error_code c = json_error_code(&je);
        excused = c == json_error_stack_overflow || c == json_error_numeric_overflow ||
                  c == json_error_null_byte_in_key || c == json_error_out_of_memory;
    }
    if (rc == 0) {
        if (!excused) {
            if (!root)
                fprintf(stderr, "jansson rejects what we accept: %s (code %d)\n", je.text,
                        (int)json_error_code(&je));
            CHECK(root != NULL);
            compare_with_jansson(&m, root);
        }
    } else if (e.reason == WC_DLQ_EMPTY || e.reason == WC_DLQ_BAD_JSON ||
               e.reason == WC_DLQ_INVALID_UTF8) {
        const bool raw_nul = e.reason == WC_DLQ_BAD_JSON && e.offset < size && data[e.offset] == 0;
        if (root && !raw_nul)
            fprintf(stderr, "we reject as %s (%s at %zu), jansson accepts\n",
                    wc_dlq_reason_name(e.reason), e.detail, e.offset);
        CHECK(root == NULL || raw_nul);
    } else if (e.reason == WC_DLQ_NOT_OBJECT) {
        CHECK(excused || (root != NULL && !json_is_object(root)));
    }
    if (!root && !excused)
        CHECK(rc != 0);
    json_decref(root);

    /* 3. tight limits: success implies success with the defaults */
    wc_decode_limits_t tight = {.max_bytes = 512,
                                .max_depth = 3,
                                .max_id_len = 8,
                                .max_text_len = 32,
                                .max_field_len = 16};
    wc_mention_t m2;
    wc_decode_err_t e2;
    const int rc2 = wc_mention_decode(&m2, (const char *)data, size, &tight, &arena2, &e2);
    if (rc2 == 0) {
        check_ok(&m2, &tight, data, size, &arena2);
        CHECK(rc == 0 && same_mention(&m, &m2));
    } else {
        check_err(rc2, &e2, size);
        if (size > tight.max_bytes)
            CHECK(e2.reason == WC_DLQ_TOO_LARGE);
    }

    /* 4. RFC 3339 parser against the oracle, on the raw input */
    int64_t ms1 = 0, ms2 = 0;
    const bool ok1 = wc_parse_rfc3339((const char *)data, size, &ms1) == 0;
    const bool ok2 = rfc3339_oracle((const char *)data, size, &ms2);
    if (ok1 != ok2 || (ok1 && ms1 != ms2))
        fprintf(stderr, "rfc3339: ours %d %lld, oracle %d %lld\n", ok1, (long long)ms1, ok2,
                (long long)ms2);
    CHECK(ok1 == ok2 && (!ok1 || ms1 == ms2));
    return 0;
}
