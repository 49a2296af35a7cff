/*
 * test_normalize.c - text folding and tokenisation (pipeline/normalize.c).
 *
 * Checks the dedup contract (every token hash == wc_hash64 of its folded
 * bytes), Unicode folding, token kinds (URL, handle, hashtag, emoji,
 * emoticon, punctuation, number), flags (clause breaks, CAPS), the RT
 * prefix, and that the SIMD fast path and the scalar reference path agree
 * on hand-written and pseudo-random inputs.
 */
#include "pipeline/hash.h"
#include "pipeline/normalize.h"
#include "wc_test.h"

/* test hook in normalize.c */
int wc_normalize_scalar(wc_norm_t *n, const char *text, size_t len);

static wc_norm_t N;

static void norm(const char *s)
{
    WC_CHECK_EQ_INT(wc_normalize(&N, s, strlen(s)), 0);
}

/* token i as a C string (static buffer) */
static const char *tok(uint32_t i)
{
    static char buf[512];
    if (i >= N.ntok)
        return "(none)";
    snprintf(buf, sizeof(buf), "%.*s", (int)N.tok[i].len, N.folded + N.tok[i].off);
    return buf;
}

static void check_hashes(const wc_norm_t *n)
{
    for (uint32_t i = 0; i < n->ntok; i++) {
        const wc_token_t *t = &n->tok[i];
        WC_CHECK(t->off + t->len <= n->folded_len);
        WC_CHECK(t->hash == wc_hash64(n->folded + t->off, t->len, WC_NORM_HASH_SEED));
    }
    WC_CHECK(n->folded[n->folded_len] == '\0');
}

WC_TEST(ascii_words_lowercased)
{
    norm("Hello WORLD, dit is Een Test");
    WC_CHECK_EQ_INT(N.ntok, 6);
    WC_CHECK_STR(tok(0), "hello");
    WC_CHECK_STR(tok(1), "world");
    WC_CHECK_STR(tok(3), "is");
    WC_CHECK_STR(tok(4), "een");
    WC_CHECK(N.tok[1].flags & WC_TOKF_CAPS);
    WC_CHECK(!(N.tok[0].flags & WC_TOKF_CAPS));
    WC_CHECK_EQ_INT(N.ncaps, 1);
    WC_CHECK(N.tok[0].flags & WC_TOKF_BREAK);
    WC_CHECK(N.tok[2].flags & WC_TOKF_BREAK); /* after ", " */
    WC_CHECK(!(N.tok[3].flags & WC_TOKF_BREAK));
    check_hashes(&N);
}

WC_TEST(unicode_folding)
{
    norm("Één ĳs Straße CAFÉ naïef");
    WC_CHECK_EQ_INT(N.ntok, 5);
    WC_CHECK_STR(tok(0), "een");
    WC_CHECK_STR(tok(1), "ijs");
    WC_CHECK_STR(tok(2), "strasse");
    WC_CHECK_STR(tok(3), "cafe");
    WC_CHECK_STR(tok(4), "naief");
    check_hashes(&N);
    /* same hash as the plain spelling: lexicon entries match either */
    uint64_t h = N.tok[0].hash;
    norm("een");
    WC_CHECK(N.tok[0].hash == h);
    /* Greek and Cyrillic words are words too */
    norm("ΚΑΛΗΜΕΡΑ привет");
    WC_CHECK_EQ_INT(N.ntok, 2);
    WC_CHECK_EQ_INT(N.tok[0].kind, WC_TOK_WORD);
    check_hashes(&N);
}

WC_TEST(apostrophes)
{
    norm("don't auto’s 'quoted' rock'n'roll");
    WC_CHECK_STR(tok(0), "don't");
    WC_CHECK_STR(tok(1), "auto's"); /* curly apostrophe folds to ' */
    WC_CHECK_STR(tok(2), "quoted");
    WC_CHECK_STR(tok(3), "rock'n'roll");
    WC_CHECK_EQ_INT(N.ntok, 4);
    check_hashes(&N);
}

WC_TEST(urls_handles_tags)
{
    norm("@AcmeCare zie https://Acme.nl/Storing?x=1. en www.acme.com #Fail #storing_nu #1 # @");
    WC_CHECK_EQ_INT(N.tok[0].kind, WC_TOK_HANDLE);
    WC_CHECK_STR(tok(0), "acmecare");
    WC_CHECK_STR(tok(1), "zie");
    WC_CHECK_EQ_INT(N.tok[2].kind, WC_TOK_URL);
    WC_CHECK_STR(tok(2), "https://Acme.nl/Storing?x=1"); /* verbatim, trailing '.' dropped */
    WC_CHECK_STR(tok(3), "en");
    WC_CHECK_EQ_INT(N.tok[4].kind, WC_TOK_URL);
    WC_CHECK_STR(tok(4), "www.acme.com");
    WC_CHECK_EQ_INT(N.tok[5].kind, WC_TOK_HASHTAG);
    WC_CHECK_STR(tok(5), "fail");
    WC_CHECK_EQ_INT(N.tok[6].kind, WC_TOK_HASHTAG);
    WC_CHECK_STR(tok(6), "storing_nu");
    WC_CHECK_EQ_INT(N.tok[7].kind, WC_TOK_HASHTAG);
    WC_CHECK_STR(tok(7), "1");
    WC_CHECK_EQ_INT(N.ntok, 8); /* lone '#' and '@' are separators */
    check_hashes(&N);
    /* hashtag hash == word hash (the kind tells them apart) */
    uint64_t h = N.tok[5].hash;
    norm("fail");
    WC_CHECK(N.tok[0].hash == h);
}

WC_TEST(numbers_and_punct)
{
    norm("Al 3 dagen?!? 10:30 1.5 t.co!!");
    WC_CHECK_STR(tok(0), "al");
    WC_CHECK_EQ_INT(N.tok[1].kind, WC_TOK_NUMBER);
    WC_CHECK_STR(tok(2), "dagen");
    WC_CHECK_EQ_INT(N.tok[3].kind, WC_TOK_PUNCT);
    WC_CHECK_STR(tok(3), "?!?");
    WC_CHECK_EQ_INT(N.tok[4].kind, WC_TOK_NUMBER); /* 10 */
    WC_CHECK(N.tok[4].flags & WC_TOKF_BREAK);      /* after ?!? */
    WC_CHECK_STR(tok(5), "30");
    WC_CHECK(!(N.tok[5].flags & WC_TOKF_BREAK)); /* "10:30" does not break */
    WC_CHECK(!(N.tok[7].flags & WC_TOKF_BREAK)); /* "1.5" */
    WC_CHECK_STR(tok(8), "t");
    WC_CHECK_STR(tok(9), "co");
    WC_CHECK(!(N.tok[9].flags & WC_TOKF_BREAK));
    WC_CHECK_STR(tok(10), "!!");
    check_hashes(&N);
}

WC_TEST(emoji_and_emoticons)
{
    norm("top 👍🏽 en 👍 ❤️ 🇳🇱 👨‍👩‍👧 :-))) :D ;-( :'( <3 10:30 :Dit");
    WC_CHECK_STR(tok(0), "top");
    WC_CHECK_EQ_INT(N.tok[1].kind, WC_TOK_EMOJI);
    WC_CHECK_EQ_INT(N.tok[3].kind, WC_TOK_EMOJI);
    WC_CHECK(N.tok[1].hash == N.tok[3].hash); /* skin tone dropped */
    WC_CHECK_STR(tok(4), "❤");                /* variation selector dropped */
    WC_CHECK_STR(tok(5), "🇳🇱");               /* flag = one token */
    WC_CHECK_STR(tok(6), "👨");                /* ZWJ sequence = first emoji */
    WC_CHECK_STR(tok(7), ":)");
    WC_CHECK_STR(tok(8), ":d");
    WC_CHECK_STR(tok(9), ";(");
    WC_CHECK_STR(tok(10), ":'(");
    WC_CHECK_STR(tok(11), "<3");
    WC_CHECK_EQ_INT(N.tok[12].kind, WC_TOK_NUMBER); /* 10:30 is not an emoticon */
    WC_CHECK_EQ_INT(N.tok[13].kind, WC_TOK_NUMBER);
    WC_CHECK_STR(tok(14), "dit"); /* ":Dit" is not ":D" */
    WC_CHECK_EQ_INT(N.ntok, 15);
    check_hashes(&N);
}

WC_TEST(retweet_prefix)
{
    norm("RT @jan: Storing in Utrecht");
    WC_CHECK(N.is_retweet);
    WC_CHECK_EQ_INT(N.ntok, 3);
    WC_CHECK_STR(tok(0), "storing");
    norm("RT me: no");
    WC_CHECK(!N.is_retweet);
    norm("Storing");
    WC_CHECK(!N.is_retweet);
}

WC_TEST(empty_and_separators)
{
    norm("");
    WC_CHECK_EQ_INT(N.ntok, 0);
    WC_CHECK_EQ_INT(N.folded_len, 0);
    norm("  ... ,,, --- ");
    WC_CHECK_EQ_INT(N.ntok, 0);
}

WC_TEST(invalid_utf8_is_separator)
{
    const char s[] = "ab\xff\xfe" "cd\xc3" "ef\xe2\x82";
    WC_CHECK_EQ_INT(wc_normalize(&N, s, sizeof(s) - 1), 0);
    WC_CHECK(N.ntok >= 2);
    WC_CHECK_STR(tok(0), "ab");
    check_hashes(&N);
}

static void same_result(const char *s, size_t len)
{
    static wc_norm_t a, b;
    WC_CHECK_EQ_INT(wc_normalize(&a, s, len), 0);
    WC_CHECK_EQ_INT(wc_normalize_scalar(&b, s, len), 0);
    WC_CHECK_EQ_INT(a.ntok, b.ntok);
    WC_CHECK_EQ_INT(a.folded_len, b.folded_len);
    WC_CHECK_EQ_INT(a.ncaps, b.ncaps);
    WC_CHECK_EQ_INT(a.is_retweet, b.is_retweet);
    int bad = a.folded_len != b.folded_len || memcmp(a.folded, b.folded, a.folded_len);
    for (uint32_t i = 0; i < a.ntok && i < b.ntok && !bad; i++)
        bad = a.tok[i].off != b.tok[i].off || a.tok[i].len != b.tok[i].len ||
              a.tok[i].hash != b.tok[i].hash || a.tok[i].kind != b.tok[i].kind ||
              a.tok[i].flags != b.tok[i].flags;
    if (bad)
        WC_FAIL_AT(__FILE__, __LINE__, "fast and scalar paths differ on \"%.*s\"", (int)len, s);
    check_hashes(&a);
    wc_norm_deinit(&a);
    wc_norm_deinit(&b);
}

WC_TEST(fast_equals_scalar_samples)
{
    static const char *const samples[] = {
        "@AcmeCare Het nieuwe modem is nog steeds NIET geleverd!! Dikke #fail 😡 https://t.co/x",
        "How do I change my password?? The reset link doesn't work :( www.acme.com/help",
        "RT @jan: Storing in Utrecht sinds 10:30, wanneer is het opgelost? #storing",
        "Één ĳs, café's en naïeve ‘quotes’ — “dubbel” ½ ﬁ Straße",
        "A" /* single char */,
        "WAAROM WERKT DIT NIET",
        "x'y ' 'z a''b",
        "http://a.b www. wwwx https:// hTTps://X.y/Z",
        "<3 <33 :-))) :(( =) =D ;P :o) :'(",
        "64bytes-aligned-text-that-crosses-the-block-boundary-of-the-mask-xyz-abc-def",
    };
    for (size_t i = 0; i < WC_ARRAY_SIZE(samples); i++)
        same_result(samples[i], strlen(samples[i]));
}

/* handles with '_' and lone 4-byte emoji stay on the fast path; token
 * hashes for every length (hash_tok has separate cases for 1..3, 4..7,
 * 8..15 and >= 16 bytes) */
WC_TEST(handles_underscores_and_token_lengths)
{
    norm("@acme_care @A_b_C @x__ @ab_ @_x @Acme_NL_ hi @acme_telecom's");
    WC_CHECK_STR(tok(0), "acme_care");
    WC_CHECK_EQ_INT(N.tok[0].kind, WC_TOK_HANDLE);
    WC_CHECK_STR(tok(1), "a_b_c");
    WC_CHECK_STR(tok(2), "x__");
    WC_CHECK_STR(tok(3), "ab_");
    WC_CHECK_STR(tok(4), "_x");
    WC_CHECK_STR(tok(5), "acme_nl_");
    WC_CHECK_STR(tok(7), "acme_telecom");
    WC_CHECK_EQ_INT(N.tok[7].kind, WC_TOK_HANDLE);
    check_hashes(&N);
    static const char *const texts[] = {
        "@acme_care @A_b_C @x__ @ab_ @_x @Acme_NL_ hi @acme_telecom's @a_é @b_😡 #a_b @c_#d",
        "@abcdefghijklmnopqrstuvwxyz_abcdefghijklmnopqrstuvwxyz_abcdefghijklmnopqrstuvwxyz end",
    };
    for (size_t i = 0; i < WC_ARRAY_SIZE(texts); i++)
        same_result(texts[i], strlen(texts[i]));
    /* 4-byte emoji: followed by ASCII or the end (fast path), or by a
     * modifier, ZWJ, another emoji or a mark (step()), flags, truncated */
    static const char *const emoji[] = {
        "😡", "😡 x", "x😡", "😡!", "😡😡", "#😡", "@a😡", "👍🏽 ok", "🇳🇱 hup", "🇳", "😡\xe2\x80\x8d🚀",
        "😡\xcc\x81", "a \xf0\x9f\x98", "\xf0\x9f\x98\xa1\xa1", "\xf0\x28\x98\xa1 x", "🀄 🃏 🬀 𝄞",
    };
    for (size_t i = 0; i < WC_ARRAY_SIZE(emoji); i++)
        same_result(emoji[i], strlen(emoji[i]));
    norm("Top 😍 x");
    WC_CHECK_EQ_INT(N.ntok, 3);
    WC_CHECK_STR(tok(1), "😍");
    WC_CHECK_EQ_INT(N.tok[1].kind, WC_TOK_EMOJI);
    char buf[200];
    for (size_t l = 1; l <= 40; l++) {
        size_t o = 0;
        for (size_t k = 0; k < l; k++)
            buf[o++] = (char)('a' + k % 26);
        buf[o++] = ' ';
        for (size_t k = 0; k < l; k++)
            buf[o++] = (char)('A' + (k * 7) % 26);
        buf[o] = 0;
        same_result(buf, o); /* the last token ends the text */
        norm(buf);
        WC_CHECK_EQ_INT(N.ntok, 2);
        check_hashes(&N);
    }
}

WC_TEST(fast_equals_scalar_random)
{
    /* pseudo-random texts from a mix of ASCII, Dutch accents, emoji,
     * punctuation and URL fragments; deterministic */
    static const char *const atoms[] = {"a", "Z", "9", " ", "  ", ".", ",", ":", ";", "?", "!",
                                        "#", "@", "_", "'", "`", "-", "\n", "é", "Ë", "ß", "ĳ",
                                        "½", "’", "😡", "👍🏽", "❤️", "🇳🇱", "‍", "http://x.y",
                                        "www.a", ":)", ":-(", "<3", "=D", "RT @a: ", "word",
                                        "WORD", "Ab'c", "\xe2\x80\xa8", "\x01", "\x7f"};
    uint64_t rng = 0x1234567;
    char buf[6000];
    for (int it = 0; it < 3000; it++) {
        size_t len = 0;
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t target = (rng >> 33) % (it % 10 == 0 ? 5000 : 300);
        while (len < target) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *a = atoms[(rng >> 33) % WC_ARRAY_SIZE(atoms)];
            size_t l = strlen(a);
            if (len + l >= sizeof(buf))
                break;
            memcpy(buf + len, a, l);
            len += l;
        }
        same_result(buf, len);
    }
}

WC_TEST(long_text_slow_path)
{
    size_t n = 20000;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = (i % 7 == 6) ? ' ' : (char)('a' + i % 26);
    s[n] = 0;
    WC_CHECK_EQ_INT(wc_normalize(&N, s, n), 0);
    WC_CHECK(N.ntok > 2000);
    check_hashes(&N);
    free(s);
}

int main(void)
{
    wc_norm_init(&N);
    int rc = wc_test_run_all();
    wc_norm_deinit(&N);
    return rc;
}
