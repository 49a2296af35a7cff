/*
 * mention.c - the hot-path mention decoder (contract in mention.h).
 *
 * What: one forward pass over the input bytes that is at the same time an
 * RFC 8259 validator and a schema-aware extractor. There is no token array
 * and no DOM: the scanner walks the top-level object, looks each key up in a
 * tiny per-object switch (top level, "author", "metrics"), parses known
 * values straight into wc_mention_t and skips (while fully validating)
 * everything else with an iterative skipper that keeps the open containers
 * in a bit stack.
 *
 * Strings: skip_plain() advances over the bytes that need no attention
 * (0x20..0x7f except '"' and '\\') 16 at a time with SSE2 (baseline on
 * x86-64), or 8 at a time with a portable SWAR test elsewhere; the scalar
 * loop only sees quotes, escapes, control characters and non-ASCII lead
 * bytes. UTF-8 is validated per multi-byte sequence (overlongs, UTF-8
 * encoded surrogates and > U+10FFFF rejected), escapes including \uXXXX
 * surrogate pairs are validated during the scan. A string value of a known
 * field without escapes is returned zero-copy (pointer into the input);
 * with escapes it is unescaped in a second, validation-free pass into the
 * caller's arena (decoded length <= raw length, so one allocation).
 *
 * Errors: the first error in document order wins; the scanner stops there
 * (cheap on hostile input). Helpers return the advanced input pointer or
 * NULL after fail() filled the wc_decode_err_t; fail() is cold and out of
 * line so the hot path stays small. Exception: a top-level value that is
 * not an object is validated completely before NOT_OBJECT is reported, so
 * "not_object" always means "valid JSON of the wrong shape".
 *
 * Memory: no allocation except arena space for escaped strings of known
 * fields, bounded by the field limits (about max_text_len + max_field_len*3
 * + max_id_len*4 + 16 per call). Nesting uses a fixed on-stack bit stack,
 * so max_depth is clamped to WC_DECODE_MAX_DEPTH.
 *
 * Threads: none; no global mutable state. @locality any
 */
#include "pipeline/mention.h"

#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#if defined(__SSE2__) && !defined(WC_MENTION_SCALAR)
#include <emmintrin.h>
#define WC_MENTION_SSE2 1
#endif

/* For the few small helpers on the per-byte / per-token path. */
#define WC_HOT static inline __attribute__((always_inline))

typedef struct dec {
    const uint8_t *base;
    const uint8_t *end;
    const wc_decode_limits_t *lim;
    wc_arena_t *arena;
    wc_decode_err_t *err;
    int max_depth;
    int rc; /* WC_ERR_PARSE or WC_ERR_NOMEM once failed */
} dec_t;

typedef struct raw_str {
    const uint8_t *p; /* first byte after the opening quote */
    size_t len;       /* raw length (escapes not decoded) */
    bool esc;         /* contains at least one backslash escape */
} raw_str_t;

typedef struct num {
    uint64_t v;    /* magnitude of the integer part (saturated) */
    bool neg;      /* leading '-' */
    bool integer;  /* no fraction, no exponent */
    bool overflow; /* integer part > UINT64_MAX */
} num_t;

/* ---------------------------------------------------------------- names -- */

static const char *const channel_names[WC_CH__COUNT] = {
    [WC_CH_TWITTER] = "twitter", [WC_CH_FACEBOOK] = "facebook", [WC_CH_INSTAGRAM] = "instagram",
    [WC_CH_FORUM] = "forum",     [WC_CH_REVIEW] = "review",     [WC_CH_NEWS] = "news",
    [WC_CH_WHATSAPP] = "whatsapp", [WC_CH_OTHER] = "other",
};

const char *wc_channel_name(wc_channel_t ch)
{
    return (unsigned)ch < WC_CH__COUNT ? channel_names[ch] : "unknown";
}

int wc_channel_parse(const char *s, size_t len, wc_channel_t *out)
{
    /* Dispatch on length, then constant-length compares (no libc call). */
#define CH_IS(lit) (memcmp(s, lit, sizeof(lit) - 1) == 0)
    wc_channel_t c;
    switch (len) {
    case 4: c = CH_IS("news") ? WC_CH_NEWS : WC_CH__COUNT; break;
    case 5: c = CH_IS("forum") ? WC_CH_FORUM : CH_IS("other") ? WC_CH_OTHER : WC_CH__COUNT; break;
    case 6: c = CH_IS("review") ? WC_CH_REVIEW : WC_CH__COUNT; break;
    case 7: c = CH_IS("twitter") ? WC_CH_TWITTER : WC_CH__COUNT; break;
    case 8:
        c = CH_IS("facebook") ? WC_CH_FACEBOOK : CH_IS("whatsapp") ? WC_CH_WHATSAPP : WC_CH__COUNT;
        break;
    case 9: c = CH_IS("instagram") ? WC_CH_INSTAGRAM : WC_CH__COUNT; break;
    default: c = WC_CH__COUNT; break;
    }
#undef CH_IS
    if (c == WC_CH__COUNT)
        return WC_ERR_NOTFOUND;
    *out = c;
    return 0;
}

const char *wc_dlq_reason_name(wc_dlq_reason_t r)
{
    static const char *const n[WC_DLQ__COUNT] = {
        [WC_DLQ_NONE] = "none",
        [WC_DLQ_EMPTY] = "empty",
        [WC_DLQ_TOO_LARGE] = "too_large",
        [WC_DLQ_BAD_JSON] = "bad_json",
        [WC_DLQ_TOO_DEEP] = "too_deep",
        [WC_DLQ_INVALID_UTF8] = "invalid_utf8",
        [WC_DLQ_NOT_OBJECT] = "not_object",
        [WC_DLQ_MISSING_FIELD] = "missing_field",
        [WC_DLQ_WRONG_TYPE] = "wrong_type",
        [WC_DLQ_INVALID_VALUE] = "invalid_value",
        [WC_DLQ_FIELD_TOO_LONG] = "field_too_long",
        [WC_DLQ_NO_ROUTE] = "no_route",
    };
    return (unsigned)r < WC_DLQ__COUNT ? n[r] : "unknown";
}

void wc_decode_limits_default(wc_decode_limits_t *l)
{
    l->max_bytes = 1024 * 1024;
    l->max_depth = 32;
    l->max_id_len = 256;
    l->max_text_len = 65536;
    l->max_field_len = 2048;
}

/* --------------------------------------------------------------- errors -- */

static void set_err(wc_decode_err_t *err, wc_dlq_reason_t r, const char *field, size_t offset,
                    const char *fmt, va_list ap)
{
    err->reason = r;
    err->field = field;
    err->offset = offset;
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
}

/* The fail helpers are cold, out of line and void; the macros of the same
 * name evaluate to NULL so callers can `return fail(...)` and the compiler
 * sees that a NULL return always follows an error. */
__attribute__((cold, noinline, format(printf, 5, 6))) static void
fail_(dec_t *d, wc_dlq_reason_t r, const char *field, const uint8_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_err(d->err, r, field, (size_t)(at - d->base), fmt, ap);
    va_end(ap);
    d->rc = WC_ERR_PARSE;
}
#define fail(...) (fail_(__VA_ARGS__), (const uint8_t *)NULL)

/* For errors without a position in a buffer (TOO_LARGE, EMPTY). */
__attribute__((cold, noinline, format(printf, 4, 5))) static int
fail_at(wc_decode_err_t *err, wc_dlq_reason_t r, size_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_err(err, r, NULL, offset, fmt, ap);
    va_end(ap);
    return WC_ERR_PARSE;
}

__attribute__((cold, noinline)) static void fail_nomem_(dec_t *d, const char *field,
                                                         const uint8_t *at)
{
    fail_(d, WC_DLQ_NONE, field, at, "out of memory (arena)");
    d->rc = WC_ERR_NOMEM;
}
#define fail_nomem(...) (fail_nomem_(__VA_ARGS__), (const uint8_t *)NULL)

/* "expected X, got Y" for structural errors. Y is a single byte outside any
 * string (never mention text) or "end of input". */
__attribute__((cold, noinline)) static void fail_expected_(dec_t *d, const char *field,
                                                            const uint8_t *at, const char *what)
{
    if (at >= d->end)
        fail_(d, WC_DLQ_BAD_JSON, field, at, "expected %s, got end of input", what);
    else if (*at == 0)
        fail_(d, WC_DLQ_BAD_JSON, field, at, "expected %s, got NUL byte", what);
    else if (*at > 0x20 && *at < 0x7f)
        fail_(d, WC_DLQ_BAD_JSON, field, at, "expected %s, got '%c'", what, *at);
    else
        fail_(d, WC_DLQ_BAD_JSON, field, at, "expected %s, got byte 0x%02x", what, *at);
}
#define fail_expected(...) (fail_expected_(__VA_ARGS__), (const uint8_t *)NULL)

static const char *json_type_name(uint8_t c)
{
    switch (c) {
    case '"': return "string";
    case '{': return "object";
    case '[': return "array";
    case 't':
    case 'f': return "boolean";
    case 'n': return "null";
    default: return "number";
    }
}

__attribute__((cold, noinline)) static void fail_type_(dec_t *d, const char *field,
                                                        const uint8_t *at, const char *expected)
{
    fail_(d, WC_DLQ_WRONG_TYPE, field, at, "expected %s, got %s", expected, json_type_name(*at));
}
#define fail_type(...) (fail_type_(__VA_ARGS__), (const uint8_t *)NULL)

static const uint8_t *scan_literal(dec_t *d, const uint8_t *p, const char *lit, size_t len,
                                   const char *field);
static const uint8_t *scan_number(dec_t *d, const uint8_t *p, num_t *n, const char *field);

/* The value at `at` has the wrong type for `field`. Literals and numbers are
 * validated first (a broken token is a syntax error, and it comes first);
 * strings and containers are recognised by their first byte; anything else
 * is not a JSON value at all. */
__attribute__((cold, noinline)) static void wrong_type_(dec_t *d, const uint8_t *at,
                                                         const char *field, const char *expected)
{
    num_t n;
    switch (*at) {
    case '"':
    case '{':
    case '[': break;
    case 't': if (!scan_literal(d, at, "true", 4, field)) return; break;
    case 'f': if (!scan_literal(d, at, "false", 5, field)) return; break;
    case 'n': if (!scan_literal(d, at, "null", 4, field)) return; break;
    default:
        if (*at != '-' && (unsigned)(*at - '0') >= 10) {
            fail_expected_(d, field, at, "a JSON value");
            return;
        }
        if (!scan_number(d, at, &n, field))
            return;
        break;
    }
    fail_type_(d, field, at, expected);
}
#define wrong_type(...) (wrong_type_(__VA_ARGS__), (const uint8_t *)NULL)

/* ------------------------------------------------------------- scanning -- */

/* Byte classes. */
static const uint8_t ws_tab[256] = {[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1};

WC_HOT const uint8_t *skip_ws(const uint8_t *p, const uint8_t *end)
{
    while (p < end && *p <= ' ' && ws_tab[*p])
        p++;
    return p;
}

/* A "plain" string byte needs no attention: 0x20..0x7f except '"' and '\\'. */
static inline bool is_plain(uint8_t c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

#if defined(WC_MENTION_SSE2)
/* Bit i set if byte i of v is '"', '\\', < 0x20 or >= 0x80. The signed
 * compare catches both control characters and non-ASCII (negative). */
WC_HOT unsigned special_mask(__m128i v)
{
    const __m128i m = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
        _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
    return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* Advance p over plain string bytes; returns the first non-plain byte or
 * end. `base` is the start of the input (for the overlapping tail load). */
WC_HOT const uint8_t *skip_plain(const uint8_t *p, const uint8_t *end, const uint8_t *base)
{
#if defined(WC_MENTION_SSE2)
    while (end - p >= 16) {
        unsigned mask = special_mask(_mm_loadu_si128((const __m128i *)(const void *)p));
        if (mask)
            return p + __builtin_ctz(mask);
        p += 16;
    }
    /* Tail: one load of the last 16 input bytes, dropping those before p. */
    if (end - base >= 16 && p < end) {
        const unsigned skip = (unsigned)(16 - (end - p));
        unsigned mask = special_mask(_mm_loadu_si128((const __m128i *)(const void *)(end - 16)));
        mask >>= skip;
        return mask ? p + __builtin_ctz(mask) : end;
    }
#else
    (void)base;
    /* SWAR: test 8 bytes at a time; locate the byte with the scalar loop. */
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
        uint64_t t = ((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x) | x;
        if (t & high)
            break;
        p += 8;
    }
#endif
    while (p < end && is_plain(*p))
        p++;
    return p;
}

/* Hex digit values; 0xff = not a hex digit. */
static const uint8_t hex_tab[256] = {
    ['0'] = 0,  ['1'] = 1,  ['2'] = 2,  ['3'] = 3,  ['4'] = 4,  ['5'] = 5,  ['6'] = 6,  ['7'] = 7,
    ['8'] = 8,  ['9'] = 9,  ['a'] = 10, ['b'] = 11, ['c'] = 12, ['d'] = 13, ['e'] = 14, ['f'] = 15,
    ['A'] = 10, ['B'] = 11, ['C'] = 12, ['D'] = 13, ['E'] = 14, ['F'] = 15,
};
static const uint8_t hex_ok[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
};

/* Four hex digits at p (caller checked bounds); -1 if any is not hex. */
static inline int hex4(const uint8_t *p)
{
    if (!(hex_ok[p[0]] & hex_ok[p[1]] & hex_ok[p[2]] & hex_ok[p[3]]))
        return -1;
    return hex_tab[p[0]] << 12 | hex_tab[p[1]] << 8 | hex_tab[p[2]] << 4 | hex_tab[p[3]];
}

/* Validate one escape at p ('\\'); returns the byte after it. */
static const uint8_t *scan_escape(dec_t *d, const uint8_t *p, const char *field)
{
    const uint8_t *end = d->end;
    if (end - p < 2)
        return fail(d, WC_DLQ_BAD_JSON, field, p, "unterminated string");
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't': return p + 2;
    case 'u': break;
    default: return fail(d, WC_DLQ_BAD_JSON, field, p, "invalid escape sequence");
    }
    int cp = end - p >= 6 ? hex4(p + 2) : -1;
    if (cp < 0)
        return fail(d, WC_DLQ_BAD_JSON, field, p, "invalid \\u escape");
    if (cp < 0xd800 || cp > 0xdfff)
        return p + 6;
    if (cp >= 0xdc00)
        return fail(d, WC_DLQ_INVALID_UTF8, field, p, "lone low surrogate \\u escape");
    /* High surrogate: a \u low surrogate must follow. */
    if (end - p >= 8 && p[6] == '\\' && p[7] == 'u') {
        int lo = end - p >= 12 ? hex4(p + 8) : -1;
        if (lo < 0)
            return fail(d, WC_DLQ_BAD_JSON, field, p + 6, "invalid \\u escape");
        if (lo >= 0xdc00 && lo <= 0xdfff)
            return p + 12;
    }
    return fail(d, WC_DLQ_INVALID_UTF8, field, p, "lone high surrogate \\u escape");
}

/* Validate one UTF-8 sequence whose lead byte *p >= 0x80. */
static const uint8_t *scan_utf8(dec_t *d, const uint8_t *p, const char *field)
{
    const uint8_t c = p[0];
    const size_t avail = (size_t)(d->end - p);
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* U+D800..U+DFFF */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* > U+10FFFF */
    } else if (c < 0xc0) {
        return fail(d, WC_DLQ_INVALID_UTF8, field, p, "unexpected UTF-8 continuation byte");
    } else if (c < 0xc2) {
        return fail(d, WC_DLQ_INVALID_UTF8, field, p, "overlong UTF-8 sequence");
    } else {
        return fail(d, WC_DLQ_INVALID_UTF8, field, p, "invalid UTF-8 lead byte");
    }
    if (avail < 2 || (p[1] & 0xc0) != 0x80 || (n > 2 && (avail < 3 || (p[2] & 0xc0) != 0x80)) ||
        (n > 3 && (avail < 4 || (p[3] & 0xc0) != 0x80)))
        return fail(d, WC_DLQ_INVALID_UTF8, field, p, "truncated UTF-8 sequence");
    if (p[1] < lo || p[1] > hi) {
        const char *why = c == 0xed   ? "UTF-8 encoded surrogate"
                          : c == 0xf4 ? "UTF-8 code point above U+10FFFF"
                                      : "overlong UTF-8 sequence";
        return fail(d, WC_DLQ_INVALID_UTF8, field, p, "%s", why);
    }
    return p + n;
}

/* Scan a string; p points just after the opening quote. Returns the byte
 * after the closing quote. */
WC_HOT const uint8_t *scan_string(dec_t *d, const uint8_t *p, raw_str_t *s,
                                         const char *field)
{
    const uint8_t *start = p, *end = d->end;
    bool esc = false;
    for (;;) {
        p = skip_plain(p, end, d->base);
        if (WC_UNLIKELY(p >= end))
            return fail(d, WC_DLQ_BAD_JSON, field, start - 1, "unterminated string");
        const uint8_t c = *p;
        if (WC_LIKELY(c == '"'))
            break;
        if (c == '\\') {
            esc = true;
            p = scan_escape(d, p, field);
        } else if (c >= 0x80) {
            p = scan_utf8(d, p, field);
        } else {
            return fail(d, WC_DLQ_BAD_JSON, field, p,
                        c ? "control character 0x%02x in string" : "NUL byte in string", c);
        }
        if (WC_UNLIKELY(!p))
            return NULL;
    }
    s->p = start;
    s->len = (size_t)(p - start);
    s->esc = esc;
    return p + 1;
}

/* Append the UTF-8 encoding of cp (<= U+10FFFF, not a surrogate). */
static inline char *put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xc0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | cp >> 12);
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | cp >> 18);
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* Decode the escape at p ('\\', validated) to o; returns the input byte
 * after it, *po advanced. */
static inline const uint8_t *unescape_one(const uint8_t *p, char **po)
{
    char *o = *po;
    switch (p[1]) {
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'n': *o++ = '\n'; break;
    case 'r': *o++ = '\r'; break;
    case 't': *o++ = '\t'; break;
    case 'u': {
        uint32_t cp = (uint32_t)hex4(p + 2);
        if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t lo = (uint32_t)hex4(p + 8);
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
        }
        *po = put_utf8(o, cp);
        return p + 6;
    }
    default: *o++ = (char)p[1]; break; /* '"', '\\', '/' */
    }
    *po = o;
    return p + 2;
}

/* Unescape an already validated raw string into out (room for s->len
 * bytes: the decoded form is never longer). Returns the decoded length.
 * The SSE2 loop copies 16 bytes at a time and then backs up to the first
 * backslash; that store stays inside out[0, s->len) because the output
 * offset never exceeds the input offset. */
static size_t unescape(const raw_str_t *s, char *out)
{
    const uint8_t *p = s->p, *end = s->p + s->len;
    char *o = out;
#if defined(WC_MENTION_SSE2)
    const __m128i bslash = _mm_set1_epi8('\\');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        _mm_storeu_si128((__m128i *)(void *)o, v);
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, bslash));
        if (!mask) {
            p += 16;
            o += 16;
            continue;
        }
        unsigned k = (unsigned)__builtin_ctz(mask);
        o += k;
        p = unescape_one(p + k, &o);
    }
    while (p < end) {
        if (*p != '\\')
            *o++ = (char)*p++;
        else
            p = unescape_one(p, &o);
    }
#else
    while (p < end) {
        const uint8_t *bs = memchr(p, '\\', (size_t)(end - p));
        if (!bs) {
            memcpy(o, p, (size_t)(end - p));
            o += end - p;
            break;
        }
        memcpy(o, p, (size_t)(bs - p));
        o += bs - p;
        p = unescape_one(bs, &o);
    }
#endif
    return (size_t)(o - out);
}

/* Number grammar of RFC 8259; p points at '-' or a digit (else BAD_JSON).
 * The byte after the number is checked by the caller's structure. */
static inline const uint8_t *scan_number(dec_t *d, const uint8_t *p, num_t *n, const char *field)
{
    const uint8_t *end = d->end, *start = p;
    uint64_t v = 0;
    n->neg = false;
    n->integer = true;
    n->overflow = false;
    if (*p == '-') {
        n->neg = true;
        p++;
    }
    if (p < end && *p == '0') {
        p++;
    } else if (p < end && (unsigned)(*p - '1') < 9) {
        /* 19 digits cannot overflow uint64; only longer runs take the
         * checked loop. */
        const uint8_t *lim = end - p > 19 ? p + 19 : end;
        do {
            v = v * 10 + (unsigned)(*p - '0');
            p++;
        } while (p < lim && (unsigned)(*p - '0') < 10);
        while (WC_UNLIKELY(p < end && (unsigned)(*p - '0') < 10)) {
            unsigned dg = (unsigned)(*p - '0');
            if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, dg, &v)) {
                n->overflow = true;
                v = UINT64_MAX;
            }
            p++;
        }
    } else {
        return fail(d, WC_DLQ_BAD_JSON, field, start, "invalid number");
    }
    if (p < end && *p == '.') {
        p++;
        n->integer = false;
        if (p >= end || (unsigned)(*p - '0') >= 10)
            return fail(d, WC_DLQ_BAD_JSON, field, start, "invalid number: digit expected after '.'");
        while (p < end && (unsigned)(*p - '0') < 10)
            p++;
    }
    if (p < end && (*p | 0x20) == 'e') {
        p++;
        n->integer = false;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || (unsigned)(*p - '0') >= 10)
            return fail(d, WC_DLQ_BAD_JSON, field, start, "invalid number: digit expected in exponent");
        while (p < end && (unsigned)(*p - '0') < 10)
            p++;
    }
    n->v = v;
    return p;
}

static inline const uint8_t *scan_literal(dec_t *d, const uint8_t *p, const char *lit, size_t len,
                                          const char *field)
{
    if ((size_t)(d->end - p) < len || memcmp(p, lit, len) != 0)
        return fail(d, WC_DLQ_BAD_JSON, field, p, "invalid literal (expected %s)", lit);
    return p + len;
}

/* Validate and skip any JSON value at p (first byte of the value, p < end).
 * depth = nesting depth of the container holding the value. Iterative: the
 * open containers live in a bit stack (1 = object, 0 = array). */
static const uint8_t *skip_value(dec_t *d, const uint8_t *p, int depth, const char *field)
{
    uint64_t stack[WC_DECODE_MAX_DEPTH / 64];
    const uint8_t *end = d->end;
    int lvl = 0; /* containers opened by this call */
    raw_str_t s;
    num_t n;

value:
    switch (*p) {
    case '"': p = scan_string(d, p + 1, &s, field); break;
    case '{':
    case '[': {
        const bool obj = *p == '{';
        if (depth + lvl + 1 > d->max_depth)
            return fail(d, WC_DLQ_TOO_DEEP, field, p, "nesting deeper than %d", d->max_depth);
        if ((lvl & 63) == 0)
            stack[lvl >> 6] = 0; /* first use of this word */
        if (obj)
            stack[lvl >> 6] |= 1ULL << (lvl & 63);
        else
            stack[lvl >> 6] &= ~(1ULL << (lvl & 63));
        lvl++;
        p = skip_ws(p + 1, end);
        if (p < end && *p == (obj ? '}' : ']')) {
            lvl--;
            p++;
            goto after;
        }
        if (p >= end)
            return fail_expected(d, field, p, obj ? "object key or '}'" : "value or ']'");
        if (obj)
            goto key;
        goto value;
    }
    case 't': p = scan_literal(d, p, "true", 4, field); break;
    case 'f': p = scan_literal(d, p, "false", 5, field); break;
    case 'n': p = scan_literal(d, p, "null", 4, field); break;
    default:
        if (*p == '-' || (unsigned)(*p - '0') < 10)
            p = scan_number(d, p, &n, field);
        else
            return fail_expected(d, field, p, "a JSON value");
        break;
    }
    if (WC_UNLIKELY(!p))
        return NULL;
after:
    if (lvl == 0)
        return p;
    p = skip_ws(p, end);
    {
        const bool obj = (stack[(lvl - 1) >> 6] >> ((lvl - 1) & 63)) & 1;
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            if (p >= end)
                return fail_expected(d, field, p, obj ? "object key" : "a JSON value");
            if (obj)
                goto key;
            goto value;
        }
        if (p < end && *p == (obj ? '}' : ']')) {
            lvl--;
            p++;
            goto after;
        }
        return fail_expected(d, field, p, obj ? "',' or '}'" : "',' or ']'");
    }
key:
    if (*p != '"')
        return fail_expected(d, field, p, "object key");
    p = scan_string(d, p + 1, &s, field);
    if (!p)
        return NULL;
    p = skip_ws(p, end);
    if (p >= end || *p != ':')
        return fail_expected(d, field, p, "':'");
    p = skip_ws(p + 1, end);
    if (p >= end)
        return fail_expected(d, field, p, "a JSON value");
    goto value;
}

/* --------------------------------------------------------------- schema -- */

enum fid {
    F_UNKNOWN = -1,
    F_ID = 0,
    F_BRAND,
    F_TEXT,
    F_CHANNEL,
    F_AUTHOR,
    F_CREATED_AT,
    F_LANG,
    F_CONVERSATION_ID,
    F_IN_REPLY_TO,
    F_URL,
    F_METRICS,
    F_A_ID,
    F_A_HANDLE,
    F_A_FOLLOWERS,
    F_A_VERIFIED,
    F_M_RESHARES,
    F_M_LIKES,
    F_M_REPLIES,
    F__COUNT
};

static const char *const fname[F__COUNT] = {
    [F_ID] = "id",
    [F_BRAND] = "brand",
    [F_TEXT] = "text",
    [F_CHANNEL] = "channel",
    [F_AUTHOR] = "author",
    [F_CREATED_AT] = "created_at",
    [F_LANG] = "lang",
    [F_CONVERSATION_ID] = "conversation_id",
    [F_IN_REPLY_TO] = "in_reply_to",
    [F_URL] = "url",
    [F_METRICS] = "metrics",
    [F_A_ID] = "author.id",
    [F_A_HANDLE] = "author.handle",
    [F_A_FOLLOWERS] = "author.followers",
    [F_A_VERIFIED] = "author.verified",
    [F_M_RESHARES] = "metrics.reshares",
    [F_M_LIKES] = "metrics.likes",
    [F_M_REPLIES] = "metrics.replies",
};

enum obj_kind { OBJ_TOP, OBJ_AUTHOR, OBJ_METRICS };

#define BIT(f) (1u << (f))
static const uint32_t required_mask[3] = {
    [OBJ_TOP] = BIT(F_ID) | BIT(F_BRAND) | BIT(F_TEXT) | BIT(F_CHANNEL) | BIT(F_AUTHOR) |
                BIT(F_CREATED_AT),
    [OBJ_AUTHOR] = BIT(F_A_ID),
    [OBJ_METRICS] = 0,
};
static const char *const obj_name[3] = {[OBJ_TOP] = NULL, [OBJ_AUTHOR] = "author",
                                        [OBJ_METRICS] = "metrics"};

#define KEY_IS(k, lit) (memcmp((k), (lit), sizeof(lit) - 1) == 0)

/* Key lookup on the decoded key bytes. */
static inline int lookup_key(enum obj_kind kind, const uint8_t *k, size_t n)
{
    if (kind == OBJ_TOP) {
        switch (n) {
        case 2: return KEY_IS(k, "id") ? F_ID : F_UNKNOWN;
        case 3: return KEY_IS(k, "url") ? F_URL : F_UNKNOWN;
        case 4: return KEY_IS(k, "text") ? F_TEXT : KEY_IS(k, "lang") ? F_LANG : F_UNKNOWN;
        case 5: return KEY_IS(k, "brand") ? F_BRAND : F_UNKNOWN;
        case 6: return KEY_IS(k, "author") ? F_AUTHOR : F_UNKNOWN;
        case 7:
            return KEY_IS(k, "channel") ? F_CHANNEL : KEY_IS(k, "metrics") ? F_METRICS : F_UNKNOWN;
        case 10: return KEY_IS(k, "created_at") ? F_CREATED_AT : F_UNKNOWN;
        case 11: return KEY_IS(k, "in_reply_to") ? F_IN_REPLY_TO : F_UNKNOWN;
        case 15: return KEY_IS(k, "conversation_id") ? F_CONVERSATION_ID : F_UNKNOWN;
        default: return F_UNKNOWN;
        }
    }
    if (kind == OBJ_AUTHOR) {
        switch (n) {
        case 2: return KEY_IS(k, "id") ? F_A_ID : F_UNKNOWN;
        case 6: return KEY_IS(k, "handle") ? F_A_HANDLE : F_UNKNOWN;
        case 8: return KEY_IS(k, "verified") ? F_A_VERIFIED : F_UNKNOWN;
        case 9: return KEY_IS(k, "followers") ? F_A_FOLLOWERS : F_UNKNOWN;
        default: return F_UNKNOWN;
        }
    }
    switch (n) {
    case 5: return KEY_IS(k, "likes") ? F_M_LIKES : F_UNKNOWN;
    case 7: return KEY_IS(k, "replies") ? F_M_REPLIES : F_UNKNOWN;
    case 8: return KEY_IS(k, "reshares") ? F_M_RESHARES : F_UNKNOWN;
    default: return F_UNKNOWN;
    }
}

/* Longest known key is 15 bytes; an escaped key whose raw form is longer
 * than 6 * 16 bytes decodes to more than 15 bytes. */
#define KEY_ESC_MAX 96

static int lookup_key_raw(enum obj_kind kind, const raw_str_t *k)
{
    if (WC_LIKELY(!k->esc))
        return lookup_key(kind, k->p, k->len);
    if (k->len > KEY_ESC_MAX)
        return F_UNKNOWN;
    char buf[KEY_ESC_MAX];
    size_t n = unescape(k, buf);
    return lookup_key(kind, (const uint8_t *)buf, n);
}

/* Decoded length of an already validated raw string. */
static size_t unescaped_len(const raw_str_t *s)
{
    const uint8_t *q = s->p, *e = s->p + s->len;
    size_t n = 0;
    while (q < e) {
        if (*q != '\\') {
            n++;
            q++;
        } else if (q[1] != 'u') {
            n++;
            q += 2;
        } else {
            int cp = hex4(q + 2);
            q += 6;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                n += 4;
                q += 6;
            } else {
                n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
            }
        }
    }
    return n;
}

/* String value of a known field. Required: non-empty, null is WRONG_TYPE.
 * Optional: null or "" = absent. at = first byte of the value. */
WC_HOT const uint8_t *parse_str(dec_t *d, const uint8_t *at, int f, uint32_t max, bool required,
                                wc_str_t *dst)
{
    const char *field = fname[f];
    raw_str_t s;
    const uint8_t *p;
    if (WC_UNLIKELY(*at != '"')) {
        if (*at == 'n' && !required) {
            dst->p = NULL;
            return scan_literal(d, at, "null", 4, field);
        }
        return wrong_type(d, at, field, "string");
    }
    p = scan_string(d, at + 1, &s, field);
    if (WC_UNLIKELY(!p))
        return NULL;
    size_t len = s.len;
    const char *out = (const char *)s.p;
    if (WC_UNLIKELY(s.esc)) {
        /* Decoded length <= raw length: one allocation of the raw length.
         * An over-long raw string is measured first so that a string that
         * will be rejected costs no arena space. */
        len = len > max ? unescaped_len(&s) : len;
        if (len <= max) {
            char *buf = wc_arena_alloc(d->arena, s.len);
            if (WC_UNLIKELY(!buf))
                return fail_nomem(d, field, at);
            len = unescape(&s, buf);
            out = buf;
        }
    }
    if (WC_UNLIKELY(len == 0)) {
        if (required)
            return fail(d, WC_DLQ_INVALID_VALUE, field, at, "empty string");
        dst->p = NULL;
        dst->len = 0;
        return p;
    }
    if (WC_UNLIKELY(len > max))
        return fail(d, WC_DLQ_FIELD_TOO_LONG, field, at, "%zu bytes, limit %u", len, max);
    dst->p = out;
    dst->len = (uint32_t)len;
    return p;
}

/* Non-negative integer of an optional field, saturated at sat. */
static inline const uint8_t *parse_uint(dec_t *d, const uint8_t *at, int f, uint64_t sat,
                                        uint64_t *dst)
{
    const char *field = fname[f];
    num_t n;
    const uint8_t *p;
    if (*at == 'n') {
        *dst = 0;
        return scan_literal(d, at, "null", 4, field);
    }
    if (WC_UNLIKELY(*at != '-' && (unsigned)(*at - '0') >= 10))
        return wrong_type(d, at, field, "non-negative integer");
    p = scan_number(d, at, &n, field);
    if (WC_UNLIKELY(!p))
        return NULL;
    if (WC_UNLIKELY(!n.integer))
        return fail(d, WC_DLQ_WRONG_TYPE, field, at, "expected non-negative integer, got float");
    if (WC_UNLIKELY(n.neg && n.v != 0))
        return fail(d, WC_DLQ_INVALID_VALUE, field, at, "negative count");
    *dst = n.v > sat ? sat : n.v;
    return p;
}

static inline const uint8_t *parse_bool(dec_t *d, const uint8_t *at, int f, bool *dst)
{
    const char *field = fname[f];
    switch (*at) {
    case 't': *dst = true; return scan_literal(d, at, "true", 4, field);
    case 'f': *dst = false; return scan_literal(d, at, "false", 5, field);
    case 'n': *dst = false; return scan_literal(d, at, "null", 4, field);
    default: return wrong_type(d, at, field, "boolean");
    }
}

/* Longest created_at string accepted (decoded). "2026-11-22T10:00:00.123456789+01:00" is 35. */
#define CREATED_AT_MAX 64

static const uint8_t *parse_created_at(dec_t *d, const uint8_t *at, int64_t *dst)
{
    const char *field = fname[F_CREATED_AT];
    const uint8_t *p;
    if (*at == '"') {
        raw_str_t s;
        p = scan_string(d, at + 1, &s, field);
        if (!p)
            return NULL;
        const char *ts = (const char *)s.p;
        size_t len = s.len;
        char buf[CREATED_AT_MAX * 6];
        if (s.esc) {
            if (len > sizeof(buf))
                return fail(d, WC_DLQ_INVALID_VALUE, field, at, "timestamp too long");
            len = unescape(&s, buf);
            ts = buf;
        }
        if (len > CREATED_AT_MAX)
            return fail(d, WC_DLQ_INVALID_VALUE, field, at, "timestamp too long");
        if (wc_parse_rfc3339(ts, len, dst) != 0)
            return fail(d, WC_DLQ_INVALID_VALUE, field, at, "not an RFC 3339 timestamp");
        return p;
    }
    if (*at == '-' || (unsigned)(*at - '0') < 10) {
        num_t n;
        p = scan_number(d, at, &n, field);
        if (!p)
            return NULL;
        if (!n.integer)
            return fail(d, WC_DLQ_WRONG_TYPE, field, at,
                        "expected RFC 3339 string or integer epoch ms, got float");
        if (n.neg && n.v != 0)
            return fail(d, WC_DLQ_INVALID_VALUE, field, at, "negative epoch ms");
        if (n.v > (uint64_t)INT64_MAX)
            return fail(d, WC_DLQ_INVALID_VALUE, field, at, "epoch ms out of range");
        *dst = (int64_t)n.v;
        return p;
    }
    return wrong_type(d, at, field, "RFC 3339 string or integer epoch ms");
}

static const uint8_t *parse_channel(dec_t *d, const uint8_t *at, wc_channel_t *dst)
{
    const char *field = fname[F_CHANNEL];
    raw_str_t s;
    if (*at != '"')
        return wrong_type(d, at, field, "string");
    const uint8_t *p = scan_string(d, at + 1, &s, field);
    if (!p)
        return NULL;
    const char *v = (const char *)s.p;
    size_t len = s.len;
    char buf[KEY_ESC_MAX];
    if (s.esc) {
        if (len > sizeof(buf))
            return fail(d, WC_DLQ_INVALID_VALUE, field, at, "unknown channel");
        len = unescape(&s, buf);
        v = buf;
    }
    if (wc_channel_parse(v, len, dst) != 0)
        return fail(d, WC_DLQ_INVALID_VALUE, field, at,
                    "unknown channel (twitter|facebook|instagram|forum|review|news|whatsapp|other)");
    return p;
}

static const uint8_t *parse_object(dec_t *d, const uint8_t *p, enum obj_kind kind, int depth,
                                   wc_mention_t *m);

/* The string fields: destination, limit, required. One table so that
 * parse_field has a single (inlined) parse_str for all of them. */
enum { LIM_NONE = 0, LIM_ID, LIM_FIELD, LIM_TEXT, LIM_LANG };
typedef struct str_field {
    uint16_t off; /* offsetof(wc_mention_t, <wc_str_t field>) */
    uint8_t lim;  /* LIM_*; LIM_NONE: not a string field */
    uint8_t required;
} str_field_t;
static const str_field_t str_fields[F__COUNT] = {
    [F_ID] = {offsetof(wc_mention_t, id), LIM_ID, 1},
    [F_BRAND] = {offsetof(wc_mention_t, brand), LIM_FIELD, 1},
    [F_TEXT] = {offsetof(wc_mention_t, text), LIM_TEXT, 1},
    [F_LANG] = {offsetof(wc_mention_t, lang), LIM_LANG, 0},
    [F_CONVERSATION_ID] = {offsetof(wc_mention_t, conversation_id), LIM_ID, 0},
    [F_IN_REPLY_TO] = {offsetof(wc_mention_t, in_reply_to), LIM_ID, 0},
    [F_URL] = {offsetof(wc_mention_t, url), LIM_FIELD, 0},
    [F_A_ID] = {offsetof(wc_mention_t, author_id), LIM_ID, 1},
    [F_A_HANDLE] = {offsetof(wc_mention_t, author_handle), LIM_FIELD, 0},
};

/* Parse the value of known field f at `at` (first byte, at < end). */
static inline const uint8_t *parse_field(dec_t *d, const uint8_t *at, int f, int depth,
                                         wc_mention_t *m)
{
    const wc_decode_limits_t *l = d->lim;
    uint64_t u = 0;
    const uint8_t *p;
    const str_field_t sf = str_fields[f];
    if (sf.lim != LIM_NONE) {
        const uint32_t max = sf.lim == LIM_ID      ? l->max_id_len
                             : sf.lim == LIM_FIELD ? l->max_field_len
                             : sf.lim == LIM_TEXT  ? l->max_text_len
                                                   : WC_MENTION_LANG_MAX;
        return parse_str(d, at, f, max, sf.required, (wc_str_t *)(void *)((char *)m + sf.off));
    }
    switch ((enum fid)f) {
    case F_CHANNEL: return parse_channel(d, at, &m->channel);
    case F_CREATED_AT: return parse_created_at(d, at, &m->created_at_ms);
    case F_AUTHOR:
        if (*at != '{')
            return wrong_type(d, at, fname[f], "object");
        return parse_object(d, at, OBJ_AUTHOR, depth + 1, m);
    case F_METRICS:
        if (*at == '{')
            return parse_object(d, at, OBJ_METRICS, depth + 1, m);
        if (*at == 'n')
            return scan_literal(d, at, "null", 4, fname[f]);
        return wrong_type(d, at, fname[f], "object");
    case F_A_FOLLOWERS: return parse_uint(d, at, f, UINT64_MAX, &m->author_followers);
    case F_A_VERIFIED: return parse_bool(d, at, f, &m->author_verified);
    case F_M_RESHARES:
        p = parse_uint(d, at, f, UINT32_MAX, &u);
        m->reshares = (uint32_t)u;
        return p;
    case F_M_LIKES:
        p = parse_uint(d, at, f, UINT32_MAX, &u);
        m->likes = (uint32_t)u;
        return p;
    case F_M_REPLIES:
        p = parse_uint(d, at, f, UINT32_MAX, &u);
        m->replies = (uint32_t)u;
        return p;
    default: break;
    }
    assert(!"unreachable");
    return NULL;
}

/* Parse one of the schema objects; p points at '{'. Returns the byte after
 * the closing '}'. */
static const uint8_t *parse_object(dec_t *d, const uint8_t *p, enum obj_kind kind, int depth,
                                   wc_mention_t *m)
{
    const uint8_t *end = d->end;
    const char *ctx = obj_name[kind];
    uint32_t seen = 0;
    raw_str_t k;

    if (WC_UNLIKELY(depth > d->max_depth))
        return fail(d, WC_DLQ_TOO_DEEP, ctx, p, "nesting deeper than %d", d->max_depth);
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}')
        goto close;
    for (;;) {
        if (WC_UNLIKELY(p >= end || *p != '"'))
            return fail_expected(d, ctx, p, seen ? "object key" : "object key or '}'");
        const uint8_t *kp = p;
        p = scan_string(d, p + 1, &k, ctx);
        if (WC_UNLIKELY(!p))
            return NULL;
        const int f = lookup_key_raw(kind, &k);
        if (WC_LIKELY(p < end && *p == ':'))
            p++;
        else {
            p = skip_ws(p, end);
            if (p >= end || *p != ':')
                return fail_expected(d, ctx, p, "':'");
            p++;
        }
        if (WC_UNLIKELY(p >= end || ws_tab[*p])) {
            p = skip_ws(p, end);
            if (WC_UNLIKELY(p >= end))
                return fail_expected(d, ctx, p, "a JSON value");
        }
        if (f >= 0) {
            if (WC_UNLIKELY(seen & BIT(f)))
                return fail(d, WC_DLQ_INVALID_VALUE, fname[f], kp, "duplicate key");
            seen |= BIT(f);
            p = parse_field(d, p, f, depth, m);
        } else {
            p = skip_value(d, p, depth, ctx);
        }
        if (WC_UNLIKELY(!p))
            return NULL;
        /* compact JSON first: ',' right after the value, '"' right after it */
        if (WC_LIKELY(p < end && *p == ',')) {
            p++;
            if (WC_UNLIKELY(p >= end || *p != '"'))
                p = skip_ws(p, end);
            continue;
        }
        p = skip_ws(p, end);
        if (WC_LIKELY(p < end && *p == ',')) {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (WC_LIKELY(p < end && *p == '}'))
            break;
        return fail_expected(d, ctx, p, "',' or '}'");
    }
close:
    if (WC_UNLIKELY((seen & required_mask[kind]) != required_mask[kind])) {
        uint32_t missing = required_mask[kind] & ~seen;
        return fail(d, WC_DLQ_MISSING_FIELD, fname[__builtin_ctz(missing)], p,
                    "required field missing");
    }
    return p + 1;
}

int wc_mention_decode(wc_mention_t *m, const char *buf, size_t len,
                      const wc_decode_limits_t *limits, wc_arena_t *arena, wc_decode_err_t *err)
{
    dec_t d;
    const uint8_t *p;

    memset(m, 0, sizeof(*m));
    err->reason = WC_DLQ_NONE;
    err->field = NULL;
    err->offset = 0;
    err->detail[0] = '\0';

    if (WC_UNLIKELY(len > limits->max_bytes || len > UINT32_MAX))
        return fail_at(err, WC_DLQ_TOO_LARGE, WC_MIN(limits->max_bytes, len), "%zu bytes, limit %zu",
                       len, limits->max_bytes);
    if (WC_UNLIKELY(!buf || len == 0))
        return fail_at(err, WC_DLQ_EMPTY, 0, "empty payload");
    d = (dec_t){
        .base = (const uint8_t *)buf,
        .end = (const uint8_t *)buf + len,
        .lim = limits,
        .arena = arena,
        .err = err,
        .max_depth = WC_MIN(limits->max_depth, WC_DECODE_MAX_DEPTH),
        .rc = 0,
    };
    /* A payload is usually cold (just fetched from the broker): request all
     * of its cache lines now (the first 4 KiB), so that the misses overlap
     * instead of stalling the scanner one line at a time. */
    {
        const uint8_t *q = (const uint8_t *)((uintptr_t)d.base & ~(uintptr_t)63);
        const uint8_t *qe = len > 4096 ? d.base + 4096 : d.end;
        for (; q < qe; q += 64)
            __builtin_prefetch(q);
    }
    p = skip_ws(d.base, d.end);
    if (WC_UNLIKELY(p == d.end))
        return fail_at(err, WC_DLQ_EMPTY, len, "whitespace-only payload");
    if (WC_UNLIKELY(*p != '{')) {
        /* Validate the whole value: NOT_OBJECT only for valid JSON. */
        const uint8_t *v = p;
        p = skip_value(&d, p, 0, NULL);
        if (!p)
            return d.rc;
        p = skip_ws(p, d.end);
        if (p != d.end) {
            fail_expected_(&d, NULL, p, "end of input");
            return d.rc;
        }
        fail_(&d, WC_DLQ_NOT_OBJECT, NULL, v, "top-level value is %s, not an object",
              json_type_name(*v));
        return d.rc;
    }
    p = parse_object(&d, p, OBJ_TOP, 1, m);
    if (WC_UNLIKELY(!p))
        return d.rc;
    p = skip_ws(p, d.end);
    if (WC_UNLIKELY(p != d.end)) {
        fail_expected_(&d, NULL, p, "end of input");
        return d.rc;
    }
    return 0;
}

/* ------------------------------------------------------------- RFC 3339 -- */

/* Two digits at s; *bad gets a non-zero bit if either is not a digit. */
static inline int dig2(const uint8_t *s, unsigned *bad)
{
    unsigned a = (unsigned)s[0] - '0', b = (unsigned)s[1] - '0';
    *bad |= (a > 9) | (b > 9);
    return (int)(a * 10 + b);
}

/* SWAR over 8 timestamp bytes: bit 7 of a lane in `lanes` is set in the
 * result if that byte is not an ASCII digit. (A lane whose t + 0x76 carries
 * into the next lane is itself flagged, so a carry never hides an error.) */
static inline uint64_t swar_nondigit(uint64_t w, uint64_t lanes)
{
    const uint64_t t = (w ^ 0x3030303030303030ULL) & lanes; /* digit values */
    return ((t + (0x7676767676767676ULL & lanes)) | t) & (0x8080808080808080ULL & lanes);
}

/* Lane k of the result = 10 * digit k + digit k+1 (two-digit numbers that
 * start at lane k), for digit bytes that passed swar_nondigit(). */
static inline uint64_t swar_pairs(uint64_t w, uint64_t lanes)
{
    const uint64_t t = (w ^ 0x3030303030303030ULL) & lanes;
    return t * 10 + (t >> 8);
}

/* Days since 1970-01-01 of a proleptic Gregorian date, year 0..9999.
 * Shifted by 400 years so that all divisions are unsigned by constants. */
static int64_t days_from_civil(int y, int m, int d, bool leap)
{
    static const uint16_t before[13] = {0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    const uint32_t y1 = (uint32_t)y + 399; /* (year + 400) - 1 */
    const uint32_t days = y1 * 365 + y1 / 4 - y1 / 100 + y1 / 400 + before[m] +
                          (uint32_t)(m > 2 && leap) + (uint32_t)d - 1;
    return (int64_t)days - 146097 - 719162; /* 400 years, 0001-01-01 -> 1970-01-01 */
}

int wc_parse_rfc3339(const char *str, size_t len, int64_t *out_ms)
{
    /* YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm) */
    static const uint8_t mdays[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const uint8_t *s = (const uint8_t *)str;
    if (len < 20)
        return WC_ERR_PARSE;
    /* bytes 0..19 as three little-endian words, checked and converted a
     * word at a time: w0 = "YYYY-MM-", w1 = "DDTHH:mm", w2 = ":SS" + byte 19 */
    uint64_t w0, w1;
    uint32_t w2;
    memcpy(&w0, s, 8);
    memcpy(&w1, s + 8, 8);
    memcpy(&w2, s + 16, 4);
    const uint64_t D0 = 0x00ffff00ffffffffULL, D1 = 0xffff00ffff00ffffULL, D2 = 0xffff00ULL;
    uint64_t bad = swar_nondigit(w0, D0) | swar_nondigit(w1, D1) | swar_nondigit(w2, D2);
    bad |= (w0 & 0xff0000ff00000000ULL) ^ 0x2d00002d00000000ULL; /* '-' at 4 and 7 */
    bad |= ((w1 >> 40) & 0xff) ^ ':'; /* ':' at 13 */
    bad |= (w2 & 0xff) ^ ':';         /* ':' at 16 */
    const uint8_t sep = (uint8_t)(w1 >> 16);
    bad |= (sep != 'T') & (sep != 't') & (sep != ' ');
    const uint64_t p0 = swar_pairs(w0, D0), p1 = swar_pairs(w1, D1), p2 = swar_pairs(w2, D2);
    const int yh = (int)(p0 & 0xff), yl = (int)((p0 >> 16) & 0xff), mon = (int)((p0 >> 40) & 0xff);
    const int day = (int)(p1 & 0xff), hh = (int)((p1 >> 24) & 0xff), mm = (int)((p1 >> 48) & 0xff);
    const int ss = (int)((p2 >> 8) & 0xff);
    bad |= (mon < 1) | (mon > 12) | (day < 1) | (hh > 23) | (mm > 59) | (ss > 60);
    if (bad)
        return WC_ERR_PARSE;
    const int year = yh * 100 + yl;
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > mdays[mon] && !(mon == 2 && day == 29 && leap))
        return WC_ERR_PARSE;
    size_t i = 19;
    int64_t ms = 0;
    if (s[i] == '.') {
        const size_t start = ++i;
        while (i < len && (unsigned)(s[i] - '0') < 10)
            i++;
        const size_t nd = i - start;
        if (nd == 0)
            return WC_ERR_PARSE;
        /* milliseconds from the first three digits, truncated */
        ms = (s[start] - '0') * 100;
        if (nd > 1)
            ms += (s[start + 1] - '0') * 10;
        if (nd > 2)
            ms += s[start + 2] - '0';
    }
    if (i >= len)
        return WC_ERR_PARSE;
    int off_min = 0;
    if ((s[i] | 0x20) == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        if (len - i < 6)
            return WC_ERR_PARSE;
        unsigned obad = 0;
        const int oh = dig2(s + i + 1, &obad), om = dig2(s + i + 4, &obad);
        if (obad || s[i + 3] != ':' || oh > 23 || om > 59)
            return WC_ERR_PARSE;
        off_min = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
        i += 6;
    } else {
        return WC_ERR_PARSE;
    }
    if (i != len)
        return WC_ERR_PARSE;
    /* A leap second (:60) is accepted and lands on the next second, as Unix time does. */
    const int64_t secs = days_from_civil(year, mon, day, leap) * 86400 + hh * 3600 + mm * 60 + ss -
                         (int64_t)off_min * 60;
    *out_ms = secs * 1000 + ms;
    return 0;
}

int wc_format_rfc3339(int64_t ms, char out[32])
{
    int64_t days = ms / 86400000, rem = ms % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    /* civil_from_days (H. Hinnant) */
    const int64_t z = days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    const int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    const int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    const int64_t y = yoe + era * 400 + (m <= 2);
    const int hh = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60), ss = (int)(rem / 1000 % 60);
    const int frac = (int)(rem % 1000);

    if (WC_UNLIKELY(y < 0 || y > 9999))
        return snprintf(out, 32, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m, d, hh,
                        mi, ss, frac);
    char *o = out;
#define PUT2(v) (o[0] = (char)('0' + (v) / 10), o[1] = (char)('0' + (v) % 10), o += 2)
    PUT2((int)(y / 100));
    PUT2((int)(y % 100));
    *o++ = '-';
    PUT2(m);
    *o++ = '-';
    PUT2(d);
    *o++ = 'T';
    PUT2(hh);
    *o++ = ':';
    PUT2(mi);
    *o++ = ':';
    PUT2(ss);
    *o++ = '.';
    *o++ = (char)('0' + frac / 100);
    PUT2(frac % 100);
    *o++ = 'Z';
    *o = '\0';
#undef PUT2
    return (int)(o - out);
}
