/*
 * normalize.c - one-pass text folding and tokenisation for classify + dedup.
 *
 * What: wc_normalize() walks the UTF-8 text once, writes a folded copy into
 * n->folded and emits tokens (offset/length into the folded copy, 64-bit hash
 * of the folded bytes, kind, flags). Folding = Unicode case folding +
 * compatibility decomposition + removal of combining marks ("Één" -> "een",
 * "ĳs" -> "ijs", "Straße" -> "strasse"), curly apostrophes become "'".
 *
 * Token rules (see normalize.h for the kinds):
 *   WORD     letters/digits (any script) with inner apostrophes ("don't",
 *            "auto's"); hyphens and other punctuation split words.
 *   NUMBER   ASCII digits only.
 *   HASHTAG  '#' + word chars and '_'; the token excludes the '#'.
 *   HANDLE   '@' + [A-Za-z0-9_]; the token excludes the '@'.
 *   URL      http://, https://, www. up to white space, minus trailing
 *            punctuation; copied verbatim (not folded).
 *   EMOJI    one pictographic codepoint (category So, >= U+2000); skin tone
 *            modifiers, variation selectors, keycaps and ZWJ continuations
 *            are dropped so "👍🏽" and "👍" fold alike; a regional-indicator
 *            pair (flag) is one token.
 *   PUNCT    a run of '?' and '!' (kept verbatim, e.g. "?!?").
 *   EMOJI    also ASCII emoticons, canonicalised: ":-)))" -> ":)", ":D" ->
 *            ":d", ";-(" -> ";(", ":'(" and "<3" (not after a digit, not
 *            followed by a letter/digit, so "10:30" and ":Dit" stay text).
 * A "RT @handle:" prefix sets is_retweet and is skipped.
 * WC_TOKF_BREAK marks tokens that start a clause: first token, or preceded by
 * newline, a '?'/'!' run, or '.', ',', ';', ':' followed by space/end (so
 * "1.5" and "t.co" do not break), or other Unicode sentence punctuation (Po).
 *
 * Speed: the hot path is ASCII: one 256-entry class table lookup and one
 * store per byte, the token hash computed once at token end (wc_hash64 on
 * the folded bytes, as the dedup contract requires). Non-ASCII code points
 * below U+0250 (all of Latin-1 and Latin Extended-A/B: every Dutch accent)
 * come from a table built once (pthread_once) from utf8proc; only rarer
 * scripts call utf8proc per character.
 *
 * Threads: no shared mutable state after the one-time table init; a wc_norm_t
 * is the caller's scratch. Input is expected to be valid UTF-8 (the decoder
 * checks it); invalid bytes are treated as separators, never read past len.
 */
#include "pipeline/normalize.h"
#include "pipeline/hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---- character classes ------------------------------------------------ */

enum {
    C_SEP = 0, /* separator, not part of any token */
    C_LOW,     /* a-z */
    C_UP,      /* A-Z */
    C_DIG,     /* 0-9 */
    C_APOS,    /* ' (inside words only) */
    C_HASH,    /* # */
    C_AT,      /* @ */
    C_QX,      /* ? ! */
    C_DOT,     /* . , ; : (clause break when followed by space/end) */
    C_NL,      /* \n \r: clause break */
    C_UND,     /* _ (inside hashtags/handles) */
    C_HI,      /* >= 0x80: decode */
};

/* non-ASCII classes */
enum {
    N_SEP = 0,
    N_WORD,  /* letter, mark, digit: folded into the word */
    N_APOS,  /* U+2019 and friends: apostrophe inside words */
    N_EMOJI, /* pictographic symbol: own token */
    N_SKIP,  /* modifiers, selectors, ZWJ: dropped */
    N_BRK,   /* sentence punctuation */
};

static uint8_t ascii_class[256];
static uint8_t ascii_lower[256];
static uint8_t word_cont[256]; /* byte after an ASCII run that may continue the word */

#define LAT_MAX 0x250
typedef struct lat_info {
    uint8_t cls;
    uint8_t flen;
    char f[6];
} lat_info_t;
static lat_info_t lat_tab[LAT_MAX];
/* classes of the symbol/emoji blocks (utf8proc_category per emoji was a
 * third of the cost of an emoji-rich text) */
#define SYM1_LO 0x2000
#define SYM1_HI 0x2C00
#define SYM2_LO 0x1F000
#define SYM2_HI 0x1FB00
static uint8_t sym1_tab[SYM1_HI - SYM1_LO];
static uint8_t sym2_tab[SYM2_HI - SYM2_LO];
static pthread_once_t tab_once = PTHREAD_ONCE_INIT;

static const utf8proc_option_t FOLD_OPTS =
    UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK;

/* Fold one code point into out (>= 96 bytes). Returns bytes written. */
static size_t fold_cp_slow(int32_t cp, char *out)
{
    utf8proc_int32_t buf[20];
    int last = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(cp, buf, 20, FOLD_OPTS, &last);
    if (n < 0 || n > 20) {
        return (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)out);
    }
    size_t o = 0;
    for (utf8proc_ssize_t k = 0; k < n; k++) {
        if (buf[k] == 0x2019 || buf[k] == 0x2018)
            out[o++] = '\'';
        else
            o += (size_t)utf8proc_encode_char(buf[k], (utf8proc_uint8_t *)out + o);
    }
    return o;
}

static int nclass_slow(int32_t cp)
{
    if (cp == 0x2019 || cp == 0x2018 || cp == 0x02BC || cp == 0x00B4)
        return N_APOS;
    if (cp == 0xFE0E || cp == 0xFE0F || cp == 0x200D || cp == 0x20E3 ||
        (cp >= 0x1F3FB && cp <= 0x1F3FF) || (cp >= 0xE0020 && cp <= 0xE007F))
        return N_SKIP;
    if (cp == 0x2028 || cp == 0x2029 || cp == 0x85)
        return N_BRK;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return N_WORD;
    case UTF8PROC_CATEGORY_SO:
        return cp >= 0x2000 ? N_EMOJI : N_SEP;
    case UTF8PROC_CATEGORY_PO:
        return N_BRK;
    default:
        return N_SEP;
    }
}

static void tables_init(void)
{
    for (int c = 0; c < 256; c++) {
        uint8_t k = C_SEP;
        if (c >= 'a' && c <= 'z')
            k = C_LOW;
        else if (c >= 'A' && c <= 'Z')
            k = C_UP;
        else if (c >= '0' && c <= '9')
            k = C_DIG;
        else if (c == '\'' || c == '`')
            k = C_APOS;
        else if (c == '#')
            k = C_HASH;
        else if (c == '@')
            k = C_AT;
        else if (c == '?' || c == '!')
            k = C_QX;
        else if (c == '.' || c == ',' || c == ';' || c == ':')
            k = C_DOT;
        else if (c == '\n' || c == '\r')
            k = C_NL;
        else if (c == '_')
            k = C_UND;
        else if (c >= 0x80)
            k = C_HI;
        ascii_class[c] = k;
        ascii_lower[c] = (uint8_t)((c >= 'A' && c <= 'Z') ? c + 32 : c);
        word_cont[c] = (uint8_t)(c == '\'' || c == '`' || c >= 0x80);
    }
    for (int32_t cp = SYM1_LO; cp < SYM1_HI; cp++)
        sym1_tab[cp - SYM1_LO] = (uint8_t)nclass_slow(cp);
    for (int32_t cp = SYM2_LO; cp < SYM2_HI; cp++)
        sym2_tab[cp - SYM2_LO] = (uint8_t)nclass_slow(cp);
    for (int32_t cp = 0x80; cp < LAT_MAX; cp++) {
        lat_info_t *e = &lat_tab[cp];
        e->cls = (uint8_t)nclass_slow(cp);
        if (e->cls == N_WORD) {
            char tmp[96];
            size_t n = fold_cp_slow(cp, tmp);
            if (n <= sizeof(e->f)) {
                memcpy(e->f, tmp, n);
                e->flen = (uint8_t)n;
            } else {
                e->flen = 0xff; /* does not fit: use the slow path */
            }
        }
    }
}

/* Decode one code point at s[i..len). Returns its length (>= 1); *cp = -1
 * for an invalid sequence (treated as a separator byte). */
static inline size_t utf8_dec(const uint8_t *s, size_t i, size_t len, int32_t *cp)
{
    uint8_t c = s[i];
    size_t n;
    int32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07;
    } else {
        *cp = -1;
        return 1;
    }
    if (i + n > len) {
        *cp = -1;
        return 1;
    }
    for (size_t k = 1; k < n; k++) {
        uint8_t d = s[i + k];
        if ((d & 0xC0) != 0x80) {
            *cp = -1;
            return 1;
        }
        v = (v << 6) | (d & 0x3F);
    }
    if ((n == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) || (n == 4 && (v < 0x10000 || v > 0x10FFFF))) {
        *cp = -1;
        return 1;
    }
    *cp = v;
    return n;
}

static inline int nclass(int32_t cp)
{
    if (cp < 0)
        return N_SEP;
    if (cp < LAT_MAX)
        return lat_tab[cp].cls;
    if (cp >= SYM2_LO && cp < SYM2_HI)
        return sym2_tab[cp - SYM2_LO];
    if (cp >= SYM1_LO && cp < SYM1_HI)
        return sym1_tab[cp - SYM1_LO];
    return nclass_slow(cp);
}

/* ---- the scanner -------------------------------------------------------- */

typedef struct scan {
    const uint8_t *s;
    size_t len;
    wc_norm_t *n;
    char *out; /* == n->folded */
    size_t o;  /* bytes written */
    int brk;   /* next token starts a clause */
} scan_t;

/*
 * Invariant: folded_cap > o + (len - i), i.e. the ASCII paths (which never
 * write more bytes than they consume) need no check. Paths that may expand
 * (folding, e.g. U+0149 -> 3 bytes) call out_reserve(x, i, need) first with
 * i = the input position before the character.
 */
static int out_reserve(scan_t *x, size_t i, size_t need)
{
    size_t want = x->o + need + (x->len - i) + 8; /* 8: hash_tok reads up to 7 bytes past a token */
    if (want <= x->n->folded_cap)
        return 0;
    size_t cap = (size_t)x->n->folded_cap * 2;
    if (cap < want)
        cap = want;
    if (cap > UINT32_MAX)
        return WC_ERR_NOMEM;
    char *p = realloc(x->n->folded, cap);
    if (!p)
        return WC_ERR_NOMEM;
    x->n->folded = p;
    x->n->folded_cap = (uint32_t)cap;
    x->out = p;
    return 0;
}

/*
 * wc_hash64(p, len, WC_NORM_HASH_SEED), bit-exact (checked by
 * test_normalize), without the length-dependent branches that mispredict on
 * a stream of words of 2..12 letters. For len 4..15 wc_hash64 reads
 *   len 8..15: a = r4(p) << 32 | r4(p + 4), b = r4(p + len - 4) << 32 | r4(p + len - 8)
 *   len 4..7:  a = r4(p) << 32 | r4(p),     b = r4(p + len - 4) << 32 | r4(p + len - 4)
 * which is two 8-byte loads and a few selects; len 1..3 mixes three bytes.
 * Reads p[0..len + 7): the folded buffer always has >= 8 bytes of slack
 * after the text (bytes past the token only reach masked-out lanes).
 */
static inline uint64_t hash_tok(const char *key, size_t len)
{
    if (WC_UNLIKELY(len >= 16))
        return wc_hash64(key, len, WC_NORM_HASH_SEED);
    const uint8_t *p = (const uint8_t *)key;
    uint64_t seed = WC_NORM_HASH_SEED;
    seed ^= wc_hash_mix(seed ^ WC_HASH_P0, WC_HASH_P1);
    const uint64_t big = len >= 8;
    const uint64_t a8 = wc_hash_r8(p);
    const uint64_t b8 = wc_hash_r8(p + (big ? len - 8 : (len < 4 ? 0 : len - 4)));
    uint64_t a_small = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
    uint64_t a_big = (a8 << 32) | (uint32_t)(a8 >> (big << 5));
    uint64_t b_big = big ? b8 : (b8 << 32) | (uint32_t)b8;
    uint64_t m = -(uint64_t)(len >= 4);
    uint64_t a = (a_big & m) | (a_small & ~m);
    uint64_t b = b_big & m;
    a ^= WC_HASH_P1;
    b ^= seed;
    __uint128_t r = (__uint128_t)a * b;
    a = (uint64_t)r;
    b = (uint64_t)(r >> 64);
    return wc_hash_mix(a ^ WC_HASH_P0 ^ len, b ^ WC_HASH_P1);
}

static inline void tok_emit(scan_t *x, size_t off, size_t end, int kind, int flags)
{
    wc_norm_t *n = x->n;
    if (end == off)
        return;
    /* tok_cap >= number of source bytes: every token consumes at least one */
    wc_token_t *t = &n->tok[n->ntok++];
    t->off = (uint32_t)off;
    t->len = (uint32_t)(end - off);
    t->hash = hash_tok(x->out + off, end - off);
    t->kind = (uint8_t)kind;
    t->flags = (uint8_t)(flags | (x->brk ? WC_TOKF_BREAK : 0));
    x->brk = 0;
}

/* Append the folded form of non-ASCII word code point cp found at s[i]. */
static inline int out_fold(scan_t *x, size_t i, int32_t cp)
{
    if (cp < LAT_MAX && lat_tab[cp].flen != 0xff) {
        const lat_info_t *e = &lat_tab[cp];
        if (out_reserve(x, i, e->flen))
            return WC_ERR_NOMEM;
        memcpy(x->out + x->o, e->f, e->flen);
        x->o += e->flen;
        return 0;
    }
    if (out_reserve(x, i, 96))
        return WC_ERR_NOMEM;
    x->o += fold_cp_slow(cp, x->out + x->o);
    return 0;
}

/* Is s[i] the start of a word character (ASCII alnum or non-ASCII word)? */
static inline int word_start_at(const scan_t *x, size_t i)
{
    if (i >= x->len)
        return 0;
    uint8_t k = ascii_class[x->s[i]];
    if (k == C_LOW || k == C_UP || k == C_DIG)
        return 1;
    if (k != C_HI)
        return 0;
    int32_t cp;
    utf8_dec(x->s, i, x->len, &cp);
    return nclass(cp) == N_WORD;
}

/*
 * Scan a word starting at i (a word char). tag: accept '_' (hashtags).
 * Returns the index after the word or (size_t)-1 on OOM. *caps set when
 * the ASCII letters were all upper case (>= 3 letters, no lower case).
 */
static size_t scan_word(scan_t *x, size_t i, int tag, int *digits_only, int *caps)
{
    const uint8_t *s = x->s;
    size_t len = x->len;
    int nupper = 0, nlower = 0, nondigit = 0;
    while (i < len) {
        uint8_t c = s[i];
        uint8_t k = ascii_class[c];
        if (WC_LIKELY(k == C_LOW)) {
            x->out[x->o++] = (char)c;
            nlower++;
            nondigit = 1;
            i++;
        } else if (k == C_DIG) {
            x->out[x->o++] = (char)c;
            i++;
        } else if (k == C_UP) {
            x->out[x->o++] = (char)(c + 32);
            nupper++;
            nondigit = 1;
            i++;
        } else if (k == C_UND && tag) {
            x->out[x->o++] = '_';
            nondigit = 1;
            i++;
        } else if (k == C_APOS) {
            /* inner apostrophe: word chars on both sides */
            if (!word_start_at(x, i + 1))
                break;
            x->out[x->o++] = '\'';
            nondigit = 1;
            i++;
        } else if (k == C_HI) {
            int32_t cp;
            size_t l = utf8_dec(s, i, len, &cp);
            int nc = nclass(cp);
            if (nc == N_WORD) {
                if (out_fold(x, i, cp))
                    return (size_t)-1;
                nondigit = 1;
                nlower++; /* caps detection is ASCII-only: accented words never count */
                i += l;
            } else if (nc == N_APOS && word_start_at(x, i + l)) {
                x->out[x->o++] = '\''; /* 3 source bytes -> 1 output byte */
                nondigit = 1;
                i += l;
            } else {
                break;
            }
        } else {
            break;
        }
    }
    *digits_only = !nondigit;
    *caps = nupper >= 3 && nlower == 0;
    return i;
}

/* s[0..n) == lit (lower case) ignoring the case of ASCII letters, i.e.
 * strncasecmp() in the C locale, inline (URL prefixes are checked per word
 * starting with "ht"/"ww"). */
static inline int ascii_ieq(const uint8_t *s, const char *lit, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (ascii_lower[s[k]] != (uint8_t)lit[k])
            return 0;
    return 1;
}

/* punctuation dropped from the end of a URL: . , ; : ! ? ) ] ' */
static inline int url_trail(uint8_t c)
{
    switch (c) {
    case '.': case ',': case ';': case ':': case '!': case '?': case ')': case ']': case '\'':
        return 1;
    default:
        return 0;
    }
}

/* URL at s[i]? returns its length in bytes (0 if not a URL). */
static size_t url_len(const scan_t *x, size_t i)
{
    const uint8_t *s = x->s + i;
    size_t rem = x->len - i;
    size_t pre = 0;
    if (rem < 5 || ((s[1] | 0x20) != 't' && (s[1] | 0x20) != 'w'))
        return 0;
    if (rem >= 8 && ascii_ieq(s, "https://", 8))
        pre = 8;
    else if (rem >= 7 && ascii_ieq(s, "http://", 7))
        pre = 7;
    else if (rem >= 5 && ascii_ieq(s, "www.", 4) && ascii_class[s[4]] != C_SEP &&
             ascii_class[s[4]] != C_DOT)
        pre = 4;
    if (!pre)
        return 0;
    size_t e = pre;
    while (e < rem && s[e] > ' ' && s[e] != '"' && s[e] != '<' && s[e] != '>')
        e++;
    while (e > pre && url_trail(s[e - 1])) /* s[e - 1] > ' ' */
        e--;
    return e;
}

/* A WORD or NUMBER token at s[i]; returns the next index or (size_t)-1. */
static size_t word_token(scan_t *x, size_t i)
{
    size_t off = x->o;
    int digits, caps;
    i = scan_word(x, i, 0, &digits, &caps);
    if (i == (size_t)-1)
        return i;
    if (caps && x->n->ncaps < UINT16_MAX)
        x->n->ncaps++;
    tok_emit(x, off, x->o, digits ? WC_TOK_NUMBER : WC_TOK_WORD, caps ? WC_TOKF_CAPS : 0);
    return i;
}

void wc_norm_init(wc_norm_t *n)
{
    memset(n, 0, sizeof(*n));
}

void wc_norm_deinit(wc_norm_t *n)
{
    free(n->folded);
    free(n->tok);
    memset(n, 0, sizeof(*n));
}

/* ASCII emoticon at s[i] (s[i] is one of : ; = <)? Writes its canonical
 * form (never longer than the source) at out and returns the source length,
 * or 0. */
static size_t emoticon(const scan_t *x, size_t i, char *out, size_t *olen)
{
    const uint8_t *s = x->s;
    size_t len = x->len;
    if (i > 0 && ascii_class[s[i - 1]] == C_DIG)
        return 0;
    if (s[i] == '<') {
        if (i + 1 < len && s[i + 1] == '3' && (i + 2 >= len || ascii_class[s[i + 2]] != C_DIG)) {
            memcpy(out, "<3", 2);
            *olen = 2;
            return 2;
        }
        return 0;
    }
    size_t j = i + 1;
    int tear = 0;
    if (j < len && (s[j] == '-' || s[j] == '^'))
        j++;
    else if (j < len && s[j] == '\'')
        tear = 1, j++;
    if (j >= len)
        return 0;
    uint8_t m = s[j];
    if (!m || !strchr(")(DdPpOo/|*][", m) || (s[i] == '=' && !strchr(")(DP", m)))
        return 0;
    size_t e = j + 1;
    if (m == ')' || m == '(')
        while (e < len && s[e] == m)
            e++;
    if (e < len) {
        uint8_t k = ascii_class[s[e]];
        if (k == C_LOW || k == C_UP || k == C_DIG || (m == '/' && s[e] == '/'))
            return 0;
    }
    size_t o = 0;
    out[o++] = (char)s[i];
    if (tear)
        out[o++] = '\'';
    out[o++] = (char)ascii_lower[m];
    *olen = o;
    return e - i;
}

/* "RT @handle:" prefix: returns bytes to skip, 0 if absent. */
static size_t rt_prefix(const uint8_t *s, size_t len)
{
    if (len < 6 || (s[0] | 0x20) != 'r' || (s[1] | 0x20) != 't' || s[2] != ' ' || s[3] != '@')
        return 0;
    size_t i = 4;
    while (i < len && (ascii_class[s[i]] == C_LOW || ascii_class[s[i]] == C_UP ||
                       ascii_class[s[i]] == C_DIG || s[i] == '_'))
        i++;
    if (i == 4 || i >= len || s[i] != ':')
        return 0;
    i++;
    while (i < len && s[i] == ' ')
        i++;
    return i;
}

/* Consume one construct at s[i] (word, URL, hashtag, handle, emoji, punct run,
 * separator); returns the next index or (size_t)-1 on OOM. */
static size_t step(scan_t *x, size_t i)
{
    const uint8_t *s = x->s;
    size_t len = x->len;
    uint8_t c = s[i];
    switch (ascii_class[c]) {
    case C_LOW:
    case C_UP:
    case C_DIG: {
        if ((c | 0x20) == 'h' || (c | 0x20) == 'w') {
            size_t ul = url_len(x, i);
            if (ul) {
                size_t off = x->o;
                memcpy(x->out + x->o, s + i, ul);
                x->o += ul;
                i += ul;
                tok_emit(x, off, x->o, WC_TOK_URL, 0);
                break;
            }
        }
        i = word_token(x, i);
        if (i == (size_t)-1)
            return (size_t)-1;
        break;
    }
    case C_HASH:
    case C_AT: {
        int at = c == '@';
        size_t j = i + 1;
        if (at) {
            size_t e = j;
            while (e < len && (ascii_class[s[e]] == C_LOW || ascii_class[s[e]] == C_UP ||
                               ascii_class[s[e]] == C_DIG || s[e] == '_'))
                e++;
            if (e == j)
                goto sep;
            x->out[x->o++] = '@';
            size_t off = x->o;
            for (; j < e; j++)
                x->out[x->o++] = (char)ascii_lower[s[j]];
            i = e;
            tok_emit(x, off, x->o, WC_TOK_HANDLE, 0);
            break;
        }
        if (!(word_start_at(x, j) || (j < len && s[j] == '_')))
            goto sep;
        x->out[x->o++] = '#';
        size_t off = x->o;
        int digits, caps;
        i = scan_word(x, j, 1, &digits, &caps);
        if (i == (size_t)-1)
            return (size_t)-1;
        tok_emit(x, off, x->o, WC_TOK_HASHTAG, 0);
        break;
    }
    case C_QX: {
        size_t off = x->o;
        while (i < len && ascii_class[s[i]] == C_QX)
            x->out[x->o++] = (char)s[i++];
        tok_emit(x, off, x->o, WC_TOK_PUNCT, 0);
        x->brk = 1;
        break;
    }
    case C_DOT:
        if (c == ':' || c == ';') {
            size_t ol, el = emoticon(x, i, x->out + x->o, &ol);
            if (el) {
                size_t off = x->o;
                x->o += ol;
                i += el;
                tok_emit(x, off, x->o, WC_TOK_EMOJI, 0);
                x->brk = 1;
                break;
            }
        }
        x->out[x->o++] = (char)c;
        i++;
        if (i >= len || s[i] <= ' ' || ascii_class[s[i]] == C_QX || ascii_class[s[i]] == C_DOT)
            x->brk = 1;
        break;
    case C_NL:
        x->out[x->o++] = (char)c;
        i++;
        x->brk = 1;
        break;
    case C_HI: {
        int32_t cp;
        size_t l = utf8_dec(s, i, len, &cp);
        int nc = nclass(cp);
        if (nc == N_WORD) {
            i = word_token(x, i);
            if (i == (size_t)-1)
                return (size_t)-1;
            break;
        }
        if (nc == N_EMOJI) {
            size_t off = x->o;
            if (out_reserve(x, i, 8))
                return (size_t)-1;
            memcpy(x->out + x->o, s + i, l);
            x->o += l;
            i += l;
            if (cp >= 0x1F1E6 && cp <= 0x1F1FF && i < len) { /* flag: RI pair */
                int32_t cp2;
                size_t l2 = utf8_dec(s, i, len, &cp2);
                if (cp2 >= 0x1F1E6 && cp2 <= 0x1F1FF) {
                    memcpy(x->out + x->o, s + i, l2);
                    x->o += l2;
                    i += l2;
                }
            }
            /* drop modifiers, selectors and ZWJ continuations */
            while (i < len) {
                int32_t c2;
                size_t l2 = utf8_dec(s, i, len, &c2);
                if (c2 == 0x200D) {
                    i += l2;
                    if (i < len) {
                        int32_t c3;
                        size_t l3 = utf8_dec(s, i, len, &c3);
                        int k3 = nclass(c3);
                        if (k3 == N_EMOJI || k3 == N_SKIP)
                            i += l3;
                    }
                } else if (nclass(c2) == N_SKIP) {
                    i += l2;
                } else {
                    break;
                }
            }
            tok_emit(x, off, x->o, WC_TOK_EMOJI, 0);
            break;
        }
        if (nc == N_SKIP) { /* stray modifier: drop */
            i += l;
            break;
        }
        memcpy(x->out + x->o, s + i, l); /* same length: no reserve needed */
        x->o += l;
        i += l;
        if (nc == N_BRK)
            x->brk = 1;
        break;
    }
    default:
        if (c == '=' || c == '<') {
            size_t ol, el = emoticon(x, i, x->out + x->o, &ol);
            if (el) {
                size_t off = x->o;
                x->o += ol;
                i += el;
                tok_emit(x, off, x->o, WC_TOK_EMOJI, 0);
                x->brk = 1;
                break;
            }
        }
    sep:
        x->out[x->o++] = (char)c;
        i++;
        break;
    }
    return i;
}

/* Scalar reference path: any length, any input. */
static int norm_slow(scan_t *x)
{
    size_t i = 0;
    while (i < x->len) {
        i = step(x, i);
        if (i == (size_t)-1)
            return WC_ERR_NOMEM;
    }
    x->out[x->o] = '\0';
    x->n->folded_len = (uint32_t)x->o;
    return 0;
}

/* ---- fast path ----------------------------------------------------------- *
 * Texts up to FAST_MAX bytes: pass 1 lower-cases ASCII into the folded
 * buffer (16 bytes at a time with SSE2) and builds bitmaps of word bytes
 * (ASCII alnum), capitals, digits and "stop" bytes (non-ASCII, controls,
 * # @ ? ! . , : ; < =). Pass 2 jumps from one interesting byte to the next
 * with count-trailing-zeros: a plain ASCII word, an ASCII @handle or #tag,
 * a '?'/'!' run, '.' or ',' and a URL are handled there (words without
 * per-byte branches; CAPS/NUMBER bitmaps only for words starting with A-Z
 * or 0-9); everything else (words with an apostrophe or a non-ASCII letter,
 * emoji, emoticons, newlines) goes through step(), the scalar reference
 * code; test_normalize checks both paths agree on random input.
 * step() writes at x->o <= i into the same buffer, so the folded text may
 * shift left; an expansion (o > i, e.g. "½" -> "1⁄2") aborts to norm_slow.
 */
#define FAST_MAX 4096
#define FAST_BLK (FAST_MAX / 64 + 1)

typedef struct masks {
    uint64_t w[FAST_BLK + 1]; /* ASCII alnum */
    uint64_t u[FAST_BLK + 1]; /* A-Z */
    uint64_t d[FAST_BLK + 1]; /* 0-9 */
    uint64_t ws[FAST_BLK + 1]; /* w | stop */
} masks_t;

#if defined(__SSE2__)
#include <emmintrin.h>
#define HAVE_TAIL_MASKS 1
/* The masks of 16 bytes (bit i = byte i) and their lower-cased copy at out. */
static inline void vec_masks(const uint8_t *in, uint8_t *out, unsigned *W, unsigned *U,
                             unsigned *D, unsigned *X)
{
    __m128i v = _mm_loadu_si128((const __m128i *)in);
    __m128i up = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)),
                               _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
    __m128i lo = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)),
                               _mm_cmplt_epi8(v, _mm_set1_epi8('z' + 1)));
    __m128i dg = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                               _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    __m128i v2 = _mm_or_si128(v, _mm_set1_epi8(2));
    __m128i st = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)); /* controls and >= 0x80 */
    st = _mm_or_si128(st, _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x39)),
                                        _mm_cmplt_epi8(v, _mm_set1_epi8(0x3E)))); /* :;<= */
    st = _mm_or_si128(st, _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x3E)),
                                        _mm_cmplt_epi8(v, _mm_set1_epi8(0x41)))); /* ?@ */
    st = _mm_or_si128(st, _mm_cmpeq_epi8(v2, _mm_set1_epi8('.')));                /* , . */
    st = _mm_or_si128(st, _mm_cmpeq_epi8(v2, _mm_set1_epi8('#')));                /* ! # */
    _mm_storeu_si128((__m128i *)out, _mm_add_epi8(v, _mm_and_si128(up, _mm_set1_epi8(0x20))));
    *W = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(up, lo), dg));
    *U = (unsigned)_mm_movemask_epi8(up);
    *D = (unsigned)_mm_movemask_epi8(dg);
    *X = (unsigned)_mm_movemask_epi8(st);
}

static inline void block_masks(const uint8_t *in, uint8_t *out, uint64_t *W, uint64_t *U,
                               uint64_t *D, uint64_t *X)
{
    uint64_t w = 0, u = 0, d = 0, x = 0;
    for (int k = 0; k < 4; k++) {
        unsigned cw, cu, cd, cx;
        vec_masks(in + 16 * k, out + 16 * k, &cw, &cu, &cd, &cx);
        w |= (uint64_t)cw << (16 * k);
        u |= (uint64_t)cu << (16 * k);
        d |= (uint64_t)cd << (16 * k);
        x |= (uint64_t)cx << (16 * k);
    }
    *W = w, *U = u, *D = d, *X = x;
}

/*
 * The last block, r < 64 bytes at in, without copying it to a zeroed buffer
 * (that copy cost a failed store-to-load forwarding per 16-byte load): whole
 * 16-byte chunks are read in place; the rest is the 16 bytes that end at
 * in + r (in[r - 16] must be readable: a text of >= 16 bytes), whose masks
 * are shifted down and whose lower-cased copy rewrites identical bytes.
 * Mask bits >= r are 0.
 */
static inline void tail_masks(const uint8_t *in, size_t r, uint8_t *out, uint64_t *W,
                              uint64_t *U, uint64_t *D, uint64_t *X)
{
    uint64_t w = 0, u = 0, d = 0, x = 0;
    for (size_t c = 0; c < r; c += 16) {
        unsigned cw, cu, cd, cx;
        if (c + 16 <= r) {
            vec_masks(in + c, out + c, &cw, &cu, &cd, &cx);
        } else {
            const unsigned sh = (unsigned)(c + 16 - r); /* 1..15 */
            vec_masks(in + r - 16, out + r - 16, &cw, &cu, &cd, &cx);
            cw >>= sh, cu >>= sh, cd >>= sh, cx >>= sh;
        }
        w |= (uint64_t)cw << c;
        u |= (uint64_t)cu << c;
        d |= (uint64_t)cd << c;
        x |= (uint64_t)cx << c;
    }
    *W = w, *U = u, *D = d, *X = x;
}
#else
static inline void block_masks(const uint8_t *in, uint8_t *out, uint64_t *W, uint64_t *U,
                               uint64_t *D, uint64_t *X)
{
    uint64_t w = 0, u = 0, d = 0, x = 0;
    for (int k = 0; k < 64; k++) {
        uint8_t c = in[k];
        uint64_t bit = 1ULL << k;
        int isu = c >= 'A' && c <= 'Z', isl = c >= 'a' && c <= 'z', isd = c >= '0' && c <= '9';
        out[k] = (uint8_t)(c + (isu ? 32 : 0));
        w |= (isu || isl || isd) ? bit : 0;
        u |= isu ? bit : 0;
        d |= isd ? bit : 0;
        x |= (c < 0x20 || c >= 0x80 || (c >= 0x3A && c <= 0x3D) || c == '?' || c == '@' ||
              c == ',' || c == '.' || c == '!' || c == '#')
                 ? bit
                 : 0;
    }
    *W = w, *U = u, *D = d, *X = x;
}
#endif

/* the 64 mask bits starting at position i (M has a zero block after the end) */
static inline uint64_t bits_at(const uint64_t *M, size_t i)
{
    size_t b = i >> 6, sh = i & 63;
    return sh ? (M[b] >> sh) | (M[b + 1] << (64 - sh)) : M[b];
}

#define FAST_ABORT 1

/* first position >= i (i inside a run) whose bit in M is clear */
static inline size_t run_end(const uint64_t *M, size_t i)
{
    size_t b = i >> 6;
    uint64_t we = ~M[b] & (~0ULL << (i & 63));
    while (!we)
        we = ~M[++b];
    return (b << 6) + (size_t)__builtin_ctzll(we);
}

_Static_assert(WC_TOKF_BREAK == 1, "fast_tok takes brk as the BREAK flag");
static inline void fast_tok(wc_token_t *tok, uint32_t *ntok, const uint8_t *f, size_t off,
                            size_t len, int kind, int flags)
{
    wc_token_t *t = &tok[(*ntok)++];
    t->off = (uint32_t)off;
    t->len = (uint32_t)len;
    t->hash = hash_tok((const char *)f + off, len);
    t->kind = (uint8_t)kind;
    t->flags = (uint8_t)flags; /* the caller's brk (0/1) is WC_TOKF_BREAK */
}

static int norm_fast(scan_t *x)
{
    masks_t M;
    const uint8_t *s = x->s;
    const size_t len = x->len;
    uint8_t *f = (uint8_t *)x->out;
    wc_norm_t *n = x->n;
    const size_t nblk = (len >> 6) + 1; /* always one block holding bit `len` */
    for (size_t b = 0; b < nblk; b++) {
        uint64_t X;
        if ((b + 1) * 64 <= len) {
            block_masks(s + b * 64, f + b * 64, &M.w[b], &M.u[b], &M.d[b], &X);
        } else {
            size_t r = len - b * 64;
#if defined(HAVE_TAIL_MASKS)
            if (len >= 16) {
                tail_masks(s + b * 64, r, f + b * 64, &M.w[b], &M.u[b], &M.d[b], &X);
            } else
#endif
            {
                uint8_t tmp[64];
                memset(tmp, 0, sizeof(tmp));
                memcpy(tmp, s + b * 64, r);
                block_masks(tmp, f + b * 64, &M.w[b], &M.u[b], &M.d[b], &X);
            }
            uint64_t valid = (1ULL << r) - 1; /* r < 64 */
            M.w[b] &= valid, M.u[b] &= valid, M.d[b] &= valid;
            X = (X & valid) | (1ULL << r); /* sentinel: the end is an event */
        }
        M.ws[b] = M.w[b] | X;
    }
    M.w[nblk] = M.u[nblk] = M.d[nblk] = M.ws[nblk] = 0;

    size_t i = 0, o = 0;
    uint32_t ntok = 0;
    int brk = 1;
    wc_token_t *tok = n->tok;
    for (;;) {
        /* next word byte or stop byte (the sentinel guarantees one) */
        size_t b = i >> 6;
        uint64_t w = M.ws[b] & (~0ULL << (i & 63));
        while (!w)
            w = M.ws[++b];
        size_t p = (b << 6) + (size_t)__builtin_ctzll(w);
        if (WC_UNLIKELY(o != i))
            memmove(f + o, f + i, p - i); /* separators, unchanged by folding */
        o += p - i;
        i = p;
        if (i >= len)
            break;
        uint8_t c = s[i];
        if ((M.w[b] >> (i & 63)) & 1) {
            /* end of the ASCII alnum run */
            size_t e = run_end(M.w, i);
            size_t l = e - i;
            uint8_t c0 = f[i];
            if (WC_UNLIKELY(((c0 == 'h' && f[i + 1] == 't') || (c0 == 'w' && f[i + 1] == 'w')))) {
                size_t ul = url_len(x, i);
                if (ul) { /* verbatim from the source (f is lower-cased) */
                    memcpy(f + o, s + i, ul);
                    fast_tok(tok, &ntok, f, o, ul, WC_TOK_URL, brk);
                    brk = 0;
                    o += ul;
                    i += ul;
                    continue;
                }
            }
            if (WC_LIKELY(!word_cont[s[e < len ? e : i]] && l <= 64)) {
                if (WC_UNLIKELY(o != i))
                    memmove(f + o, f + i, l);
                int kind = WC_TOK_WORD, flags = 0;
                if (WC_UNLIKELY(c < 'a')) { /* starts with A-Z or 0-9: CAPS or NUMBER? */
                    uint64_t lm = l == 64 ? ~0ULL : (1ULL << l) - 1;
                    uint64_t u = bits_at(M.u, i) & lm;
                    uint64_t u2 = u & (u - 1); /* u without its lowest bit */
                    if (u) {
                        uint64_t d = bits_at(M.d, i) & lm;
                        if ((u2 & (u2 - 1)) != 0 /* >= 3 capitals */ && (u | d) == lm &&
                            n->ncaps < UINT16_MAX) {
                            flags = WC_TOKF_CAPS;
                            n->ncaps++;
                        }
                    } else if ((bits_at(M.d, i) & lm) == lm) {
                        kind = WC_TOK_NUMBER;
                    }
                }
                fast_tok(tok, &ntok, f, o, l, kind, flags | brk);
                brk = 0;
                o += l;
                i = e;
                continue;
            }
        } else if (c == '@' || c == '#') {
            /* "@handle" of ASCII letters, digits and '_' / "#tag" of ASCII
             * letters and digits (an '_', apostrophe or non-ASCII letter in a
             * tag goes to step()) */
            size_t j = i + 1;
            if (j < len && ((M.w[j >> 6] >> (j & 63)) & 1)) {
                size_t e = run_end(M.w, j);
                if (c == '@') /* handles take '_' too: "@acme_care" */
                    while (e < len && s[e] == '_') {
                        e++;
                        if (e < len && ((M.w[e >> 6] >> (e & 63)) & 1))
                            e = run_end(M.w, e);
                    }
                if (e - j <= 64 && (e >= len || (s[e] != '_' && (c == '@' || !word_cont[s[e]])))) {
                    if (WC_UNLIKELY(o != i))
                        memmove(f + o, f + i, e - i);
                    fast_tok(tok, &ntok, f, o + 1, e - j, c == '@' ? WC_TOK_HANDLE : WC_TOK_HASHTAG,
                             brk);
                    brk = 0;
                    o += e - i;
                    i = e;
                    continue;
                }
            }
        } else if (c == '?' || c == '!') {
            size_t e = i + 1;
            while (e < len && (s[e] == '?' || s[e] == '!'))
                e++;
            if (WC_UNLIKELY(o != i))
                memmove(f + o, f + i, e - i);
            fast_tok(tok, &ntok, f, o, e - i, WC_TOK_PUNCT, brk);
            brk = 1;
            o += e - i;
            i = e;
            continue;
        } else if (c == '.' || c == ',') {
            f[o++] = (char)c;
            i++;
            if (i >= len || s[i] <= ' ' || ascii_class[s[i]] == C_QX || ascii_class[s[i]] == C_DOT)
                brk = 1;
            continue;
        } else if (c == 0xF0 && i + 4 <= len) {
            /* a 4-byte emoji followed by ASCII or the end ("😡 "): nothing
             * to drop after it, so it is one EMOJI token as step() makes it
             * (regional indicators pair up: step()) */
            const uint32_t cp = ((uint32_t)(s[i + 1] & 0x3F) << 12) |
                                ((uint32_t)(s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
            if ((s[i + 1] & 0xC0) == 0x80 && (s[i + 2] & 0xC0) == 0x80 &&
                (s[i + 3] & 0xC0) == 0x80 && cp >= SYM2_LO && cp < SYM2_HI &&
                !(cp >= 0x1F1E6 && cp <= 0x1F1FF) && sym2_tab[cp - SYM2_LO] == N_EMOJI &&
                (i + 4 == len || s[i + 4] < 0x80)) {
                memcpy(f + o, s + i, 4);
                fast_tok(tok, &ntok, f, o, 4, WC_TOK_EMOJI, brk);
                brk = 0;
                o += 4;
                i += 4;
                continue;
            }
        }
        /* everything else: the scalar reference code */
        x->o = o;
        x->brk = brk;
        n->ntok = ntok;
        i = step(x, i);
        if (i == (size_t)-1)
            return WC_ERR_NOMEM;
        if (x->o > i || x->out != (char *)f)
            return FAST_ABORT;
        o = x->o;
        brk = x->brk;
        ntok = n->ntok;
    }
    n->ntok = ntok;
    x->o = o;
    f[o] = '\0';
    n->folded_len = (uint32_t)o;
    return 0;
}

static int tab_ready; /* fast check before pthread_once (acquire/release) */

static void tables_ensure(void)
{
    if (WC_LIKELY(__atomic_load_n(&tab_ready, __ATOMIC_ACQUIRE)))
        return;
    pthread_once(&tab_once, tables_init);
    __atomic_store_n(&tab_ready, 1, __ATOMIC_RELEASE);
}

int wc_normalize(wc_norm_t *n, const char *text, size_t len)
{
    tables_ensure();
    if (len >= UINT32_MAX / 4)
        return WC_ERR_RANGE;
    const uint8_t *s = (const uint8_t *)text;
    size_t skip = rt_prefix(s, len);
    n->is_retweet = skip > 0;
    s += skip;
    len -= skip;
    if (n->folded_cap < len + 128) {
        size_t cap = len + 256;
        char *f = realloc(n->folded, cap);
        if (!f)
            return WC_ERR_NOMEM;
        n->folded = f;
        n->folded_cap = (uint32_t)cap;
    }
    if (n->tok_cap < len + 1) {
        size_t cap = len + 16;
        wc_token_t *t = realloc(n->tok, cap * sizeof(*t));
        if (!t)
            return WC_ERR_NOMEM;
        n->tok = t;
        n->tok_cap = (uint32_t)cap;
    }
    scan_t x = {.s = s, .len = len, .n = n, .out = n->folded, .brk = 1};
    n->ntok = 0;
    n->ncaps = 0;
    if (len <= FAST_MAX) {
        int rc = norm_fast(&x);
        if (rc != FAST_ABORT)
            return rc;
        x = (scan_t){.s = s, .len = len, .n = n, .out = n->folded, .brk = 1};
        n->ntok = 0;
        n->ncaps = 0;
    }
    return norm_slow(&x);
}

/* Test hook: force the scalar path (see tests/unit/test_normalize.c). */
int wc_normalize_scalar(wc_norm_t *n, const char *text, size_t len);
int wc_normalize_scalar(wc_norm_t *n, const char *text, size_t len)
{
    pthread_once(&tab_once, tables_init);
    const uint8_t *s = (const uint8_t *)text;
    size_t skip = rt_prefix(s, len);
    n->is_retweet = skip > 0;
    s += skip;
    len -= skip;
    if (n->folded_cap < len + 128) {
        char *f = realloc(n->folded, len + 256);
        if (!f)
            return WC_ERR_NOMEM;
        n->folded = f;
        n->folded_cap = (uint32_t)(len + 256);
    }
    if (n->tok_cap < len + 1) {
        wc_token_t *t = realloc(n->tok, (len + 16) * sizeof(*t));
        if (!t)
            return WC_ERR_NOMEM;
        n->tok = t;
        n->tok_cap = (uint32_t)(len + 16);
    }
    scan_t x = {.s = s, .len = len, .n = n, .out = n->folded, .brk = 1};
    n->ntok = 0;
    n->ncaps = 0;
    return norm_slow(&x);
}
