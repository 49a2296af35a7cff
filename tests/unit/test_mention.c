/*
 * test_mention.c - unit tests for the mention decoder (pipeline/mention.c).
 *
 * Every input is copied into an exact-size heap buffer before decoding, so
 * under ASan any read past the end of the document is caught.
 */
#include "pipeline/mention.h"

#include "tests/unit/wc_test.h"

#include <inttypes.h>

static wc_arena_t arena;
static wc_decode_limits_t lim;
static char *last_copy; /* input of the last decode: zero-copy strings point here */

static void setup(void)
{
    static int done;
    if (!done) {
        wc_arena_init(&arena, 4096);
        done = 1;
    }
    wc_arena_reset(&arena);
    wc_decode_limits_default(&lim);
    free(last_copy);
    last_copy = NULL;
}

/* Decode (json, len) from an exact-size heap copy that stays alive until
 * the next setup(); *copy (optional) receives it. */
static int decode_n(const char *json, size_t len, wc_mention_t *m, wc_decode_err_t *e, char **copy)
{
    char *b = malloc(len ? len : 1);
    memcpy(b, json, len);
    int rc = wc_mention_decode(m, b, len, &lim, &arena, e);
    free(last_copy);
    last_copy = b;
    if (copy)
        *copy = b;
    return rc;
}

static int decode(const char *json, wc_mention_t *m, wc_decode_err_t *e)
{
    return decode_n(json, strlen(json), m, e, NULL);
}

static bool in_buf(const char *p, size_t len, const char *b, size_t blen)
{
    return p >= b && p + len <= b + blen;
}

/* Required fields as fragments; mk() assembles a document with all of them
 * except `skip`, plus `extra` (a fragment like "\"lang\":\"nl\""). */
static const struct {
    const char *key;
    const char *frag;
} req[] = {
    {"id", "\"id\":\"tw:1786\""},
    {"channel", "\"channel\":\"twitter\""},
    {"brand", "\"brand\":\"acme-telecom\""},
    {"author", "\"author\":{\"id\":\"u123\",\"handle\":\"@jan\",\"followers\":40000,\"verified\":true}"},
    {"text", "\"text\":\"Het nieuwe ladenfront is nog steeds niet geleverd. Dikke #fail!\""},
    {"created_at", "\"created_at\":\"2026-11-22T10:00:00Z\""},
};

static char mkbuf[256 * 1024];

static const char *mk(const char *skip, const char *extra)
{
    size_t n = 0;
    mkbuf[n++] = '{';
    for (size_t i = 0; i < WC_ARRAY_SIZE(req); i++) {
        if (skip && !strcmp(skip, req[i].key))
            continue;
        n += (size_t)snprintf(mkbuf + n, sizeof(mkbuf) - n, "%s%s", n > 1 ? "," : "", req[i].frag);
    }
    if (extra && *extra)
        n += (size_t)snprintf(mkbuf + n, sizeof(mkbuf) - n, "%s%s", n > 1 ? "," : "", extra);
    snprintf(mkbuf + n, sizeof(mkbuf) - n, "}");
    return mkbuf;
}

static void check_err_at(const char *file, int line, const char *json, size_t len,
                         wc_dlq_reason_t reason, const char *field)
{
    wc_mention_t m;
    wc_decode_err_t e;
    setup();
    int rc = decode_n(json, len, &m, &e, NULL);
    if (rc != WC_ERR_PARSE) {
        WC_FAIL_AT(file, line, "expected %s (%s), got rc %d", wc_dlq_reason_name(reason),
                   field ? field : "-", rc);
        return;
    }
    if (e.reason != reason)
        WC_FAIL_AT(file, line, "expected reason %s, got %s (%s, field %s, offset %zu)",
                   wc_dlq_reason_name(reason), wc_dlq_reason_name(e.reason), e.detail,
                   e.field ? e.field : "-", e.offset);
    if ((field == NULL) != (e.field == NULL) || (field && strcmp(field, e.field)))
        WC_FAIL_AT(file, line, "expected field %s, got %s (%s)", field ? field : "-",
                   e.field ? e.field : "-", e.detail);
    if (e.offset > len)
        WC_FAIL_AT(file, line, "offset %zu beyond input length %zu", e.offset, len);
    if (e.detail[0] == '\0')
        WC_FAIL_AT(file, line, "empty detail");
}

#define EXPECT_ERR(json, reason, field)                                                            \
    do {                                                                                           \
        const char *_j = (json);                                                                   \
        check_err_at(__FILE__, __LINE__, _j, strlen(_j), reason, field);                           \
    } while (0)
#define EXPECT_ERR_N(json, len, reason, field)                                                     \
    check_err_at(__FILE__, __LINE__, json, len, reason, field)

#define EXPECT_OK(json)                                                                            \
    do {                                                                                           \
        wc_mention_t _m;                                                                           \
        wc_decode_err_t _e;                                                                        \
        setup();                                                                                   \
        int _rc = decode((json), &_m, &_e);                                                        \
        if (_rc != 0)                                                                              \
            WC_FAIL_AT(__FILE__, __LINE__, "expected OK, got %s (%s, field %s, offset %zu)",       \
                       wc_dlq_reason_name(_e.reason), _e.detail, _e.field ? _e.field : "-",        \
                       _e.offset);                                                                 \
    } while (0)

/* Decode a document that must succeed into *m (arena kept until next setup). */
static int ok_decode(const char *json, wc_mention_t *m)
{
    wc_decode_err_t e;
    setup();
    int rc = decode(json, m, &e);
    if (rc)
        fprintf(stderr, "  decode failed: %s %s field=%s off=%zu\n", wc_dlq_reason_name(e.reason),
                e.detail, e.field ? e.field : "-", e.offset);
    return rc;
}

/* ------------------------------------------------------------------ names */

WC_TEST(names)
{
    WC_CHECK_STR(wc_channel_name(WC_CH_TWITTER), "twitter");
    WC_CHECK_STR(wc_channel_name(WC_CH_FACEBOOK), "facebook");
    WC_CHECK_STR(wc_channel_name(WC_CH_INSTAGRAM), "instagram");
    WC_CHECK_STR(wc_channel_name(WC_CH_FORUM), "forum");
    WC_CHECK_STR(wc_channel_name(WC_CH_REVIEW), "review");
    WC_CHECK_STR(wc_channel_name(WC_CH_NEWS), "news");
    WC_CHECK_STR(wc_channel_name(WC_CH_WHATSAPP), "whatsapp");
    WC_CHECK_STR(wc_channel_name(WC_CH_OTHER), "other");
    WC_CHECK_STR(wc_channel_name(WC_CH__COUNT), "unknown");
    WC_CHECK_STR(wc_channel_name((wc_channel_t)-1), "unknown");

    static const char *const want[] = {"none",          "empty",         "too_large",
                                       "bad_json",      "too_deep",      "invalid_utf8",
                                       "not_object",    "missing_field", "wrong_type",
                                       "invalid_value", "field_too_long", "no_route"};
    WC_CHECK_EQ_INT(WC_ARRAY_SIZE(want), WC_DLQ__COUNT);
    for (int r = 0; r < WC_DLQ__COUNT; r++)
        WC_CHECK_STR(wc_dlq_reason_name((wc_dlq_reason_t)r), want[r]);
    WC_CHECK_STR(wc_dlq_reason_name(WC_DLQ__COUNT), "unknown");
}

WC_TEST(channel_parse)
{
    for (int c = 0; c < WC_CH__COUNT; c++) {
        wc_channel_t out = WC_CH__COUNT;
        const char *n = wc_channel_name((wc_channel_t)c);
        WC_CHECK_EQ_INT(wc_channel_parse(n, strlen(n), &out), 0);
        WC_CHECK_EQ_INT(out, c);
    }
    wc_channel_t out;
    WC_CHECK_EQ_INT(wc_channel_parse("Twitter", 7, &out), WC_ERR_NOTFOUND);
    WC_CHECK_EQ_INT(wc_channel_parse("twitte", 6, &out), WC_ERR_NOTFOUND);
    WC_CHECK_EQ_INT(wc_channel_parse("", 0, &out), WC_ERR_NOTFOUND);
    WC_CHECK_EQ_INT(wc_channel_parse("fxrum", 5, &out), WC_ERR_NOTFOUND);
    WC_CHECK_EQ_INT(wc_channel_parse("whatsapq", 8, &out), WC_ERR_NOTFOUND);
    WC_CHECK_EQ_INT(wc_channel_parse("twitter ", 8, &out), WC_ERR_NOTFOUND);
}

WC_TEST(limits_default)
{
    wc_decode_limits_t l;
    wc_decode_limits_default(&l);
    WC_CHECK_EQ_INT(l.max_bytes, 1024 * 1024);
    WC_CHECK_EQ_INT(l.max_depth, 32);
    WC_CHECK_EQ_INT(l.max_id_len, 256);
    WC_CHECK_EQ_INT(l.max_text_len, 65536);
    WC_CHECK_EQ_INT(l.max_field_len, 2048);
}

/* ------------------------------------------------------------- happy path */

WC_TEST(full_document)
{
    const char *json =
        "{ \"id\": \"tw:1786\",\n"
        "  \"channel\": \"twitter\",\n"
        "  \"brand\": \"acme-telecom\",\n"
        "  \"author\": {\"id\": \"u123\", \"handle\": \"@jan\", \"followers\": 40000, "
        "\"verified\": true},\n"
        "  \"text\": \"Het nieuwe ladenfront is nog steeds niet geleverd. Dikke #fail!\",\n"
        "  \"lang\": \"nl\",\n"
        "  \"created_at\": \"2026-11-22T10:00:00Z\",\n"
        "  \"conversation_id\": \"tw:1780\", \"in_reply_to\": \"tw:1785\", \"url\": "
        "\"https://x.example/1786\",\n"
        "  \"metrics\": {\"reshares\": 12, \"likes\": 40, \"replies\": 3} }\r\n";
    wc_mention_t m;
    wc_decode_err_t e;
    char *b;
    setup();
    size_t len = strlen(json);
    WC_CHECK_EQ_INT(decode_n(json, len, &m, &e, &b), 0);
    WC_CHECK_EQ_INT(e.reason, WC_DLQ_NONE);
    WC_CHECK_STRN(m.id.p, m.id.len, "tw:1786");
    WC_CHECK_EQ_INT(m.channel, WC_CH_TWITTER);
    WC_CHECK_STRN(m.brand.p, m.brand.len, "acme-telecom");
    WC_CHECK_STRN(m.author_id.p, m.author_id.len, "u123");
    WC_CHECK_STRN(m.author_handle.p, m.author_handle.len, "@jan");
    WC_CHECK_EQ_INT(m.author_followers, 40000);
    WC_CHECK(m.author_verified);
    WC_CHECK_STRN(m.text.p, m.text.len,
                  "Het nieuwe ladenfront is nog steeds niet geleverd. Dikke #fail!");
    WC_CHECK_STRN(m.lang.p, m.lang.len, "nl");
    WC_CHECK_EQ_INT(m.created_at_ms, 1795341600000LL);
    WC_CHECK_STRN(m.conversation_id.p, m.conversation_id.len, "tw:1780");
    WC_CHECK_STRN(m.in_reply_to.p, m.in_reply_to.len, "tw:1785");
    WC_CHECK_STRN(m.url.p, m.url.len, "https://x.example/1786");
    WC_CHECK_EQ_INT(m.reshares, 12);
    WC_CHECK_EQ_INT(m.likes, 40);
    WC_CHECK_EQ_INT(m.replies, 3);
    /* no escapes anywhere: everything is zero-copy, the arena is untouched */
    const wc_str_t *all[] = {&m.id,   &m.brand,           &m.text,        &m.author_id, &m.author_handle,
                             &m.lang, &m.conversation_id, &m.in_reply_to, &m.url};
    for (size_t i = 0; i < WC_ARRAY_SIZE(all); i++)
        WC_CHECK(in_buf(all[i]->p, all[i]->len, b, len));
    WC_CHECK(arena.head == NULL || arena.head->used == 0);
}

WC_TEST(minimal_document_optionals_absent)
{
    wc_mention_t m;
    WC_CHECK_EQ_INT(ok_decode("{\"id\":\"1\",\"brand\":\"b\",\"text\":\"t\",\"channel\":\"other\","
                              "\"author\":{\"id\":\"a\"},\"created_at\":0}",
                              &m),
                    0);
    WC_CHECK_EQ_INT(m.channel, WC_CH_OTHER);
    WC_CHECK_EQ_INT(m.created_at_ms, 0);
    WC_CHECK(!WC_STR_PRESENT(m.author_handle));
    WC_CHECK(!WC_STR_PRESENT(m.lang));
    WC_CHECK(!WC_STR_PRESENT(m.conversation_id));
    WC_CHECK(!WC_STR_PRESENT(m.in_reply_to));
    WC_CHECK(!WC_STR_PRESENT(m.url));
    WC_CHECK_EQ_INT(m.author_followers, 0);
    WC_CHECK(!m.author_verified);
    WC_CHECK_EQ_INT(m.reshares + m.likes + m.replies, 0);
}

WC_TEST(optional_null_and_empty_are_absent)
{
    wc_mention_t m;
    const char *json = mk("author", "\"author\":{\"id\":\"a\",\"handle\":null,\"followers\":null,"
                                    "\"verified\":null},\"lang\":null,\"conversation_id\":null,"
                                    "\"in_reply_to\":null,\"url\":null,\"metrics\":null");
    WC_CHECK_EQ_INT(ok_decode(json, &m), 0);
    WC_CHECK(!WC_STR_PRESENT(m.author_handle));
    WC_CHECK(!WC_STR_PRESENT(m.lang));
    WC_CHECK(!WC_STR_PRESENT(m.conversation_id));
    WC_CHECK(!WC_STR_PRESENT(m.in_reply_to));
    WC_CHECK(!WC_STR_PRESENT(m.url));
    WC_CHECK_EQ_INT(m.author_followers, 0);
    WC_CHECK(!m.author_verified);

    json = mk("author", "\"author\":{\"id\":\"a\",\"handle\":\"\"},\"lang\":\"\","
                        "\"conversation_id\":\"\",\"in_reply_to\":\"\",\"url\":\"\","
                        "\"metrics\":{\"likes\":null}");
    WC_CHECK_EQ_INT(ok_decode(json, &m), 0);
    WC_CHECK(!WC_STR_PRESENT(m.author_handle));
    WC_CHECK(!WC_STR_PRESENT(m.lang));
    WC_CHECK(!WC_STR_PRESENT(m.conversation_id));
    WC_CHECK(!WC_STR_PRESENT(m.in_reply_to));
    WC_CHECK(!WC_STR_PRESENT(m.url));
    WC_CHECK_EQ_INT(m.likes, 0);
}

WC_TEST(all_channels)
{
    for (int c = 0; c < WC_CH__COUNT; c++) {
        char extra[64];
        wc_mention_t m;
        snprintf(extra, sizeof(extra), "\"channel\":\"%s\"", wc_channel_name((wc_channel_t)c));
        WC_CHECK_EQ_INT(ok_decode(mk("channel", extra), &m), 0);
        WC_CHECK_EQ_INT(m.channel, c);
    }
}

WC_TEST(whitespace_everywhere)
{
    EXPECT_OK(" \t\r\n{ \t\r\n\"id\" \t\r\n: \t\r\n\"x\" \t\r\n, \"brand\":\"b\",\"text\":\"t\","
              "\"channel\":\"news\",\"author\" : { \"id\" : \"a\" , \"x\" : [ 1 , { } , [ ] ] } ,"
              "\"created_at\":1 \t\r\n} \t\r\n");
}

/* -------------------------------------------------------------- escapes */

WC_TEST(escapes_decoded_into_arena)
{
    wc_mention_t m;
    char *b;
    wc_decode_err_t e;
    const char *json = mk("text", "\"text\":\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"");
    setup();
    size_t len = strlen(json);
    WC_CHECK_EQ_INT(decode_n(json, len, &m, &e, &b), 0);
    WC_CHECK_STRN(m.text.p, m.text.len, "a\"b\\c/d\be\ff\ng\rh\ti");
    WC_CHECK(!in_buf(m.text.p, m.text.len, b, len)); /* arena copy */
    WC_CHECK(in_buf(m.id.p, m.id.len, b, len));      /* others stay zero-copy */
    WC_CHECK(arena.head && arena.head->used > 0);
}

WC_TEST(unicode_escapes)
{
    wc_mention_t m;
    /* 1-, 2-, 3-byte and surrogate-pair (4-byte) results, upper/lower hex */
    WC_CHECK_EQ_INT(ok_decode(mk("text", "\"text\":\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\\uDBFF\\uDFFF\""),
                              &m),
                    0);
    WC_CHECK_STRN(m.text.p, m.text.len, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
    /* \u0000 is valid JSON: a NUL inside the decoded string */
    WC_CHECK_EQ_INT(ok_decode(mk("text", "\"text\":\"a\\u0000b\""), &m), 0);
    WC_CHECK_EQ_INT(m.text.len, 3);
    WC_CHECK(m.text.p && memcmp(m.text.p, "a\0b", 3) == 0);
    /* edge code points around the surrogate block */
    WC_CHECK_EQ_INT(ok_decode(mk("text", "\"text\":\"\\ud7ff\\ue000\\uffff\\u07ff\\u0080\\u007f\""), &m), 0);
    WC_CHECK_STRN(m.text.p, m.text.len, "\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xdf\xbf\xc2\x80\x7f");
}

WC_TEST(escaped_known_key_and_values)
{
    wc_mention_t m;
    /* "\u0069d" is the key "id"; escaped channel and created_at are decoded first */
    const char *json = "{\"\\u0069d\":\"x\",\"br\\u0061nd\":\"b\",\"text\":\"t\","
                       "\"channel\":\"tw\\u0069tter\",\"author\":{\"\\u0069\\u0064\":\"a\"},"
                       "\"created_at\":\"2026-11-22T10:00:00\\u005a\"}";
    WC_CHECK_EQ_INT(ok_decode(json, &m), 0);
    WC_CHECK_STRN(m.id.p, m.id.len, "x");
    WC_CHECK_STRN(m.brand.p, m.brand.len, "b");
    WC_CHECK_STRN(m.author_id.p, m.author_id.len, "a");
    WC_CHECK_EQ_INT(m.channel, WC_CH_TWITTER);
    WC_CHECK_EQ_INT(m.created_at_ms, 1795341600000LL);
    /* escaped duplicate of a known key */
    EXPECT_ERR(mk(NULL, "\"\\u0069d\":\"y\""), WC_DLQ_INVALID_VALUE, "id");
    /* a long escaped key that is not a known key */
    EXPECT_OK(mk(NULL, "\"\\u0069\\u0064\\u0069\\u0064\\u0069\\u0064\\u0069\\u0064\\u0069\\u0064"
                       "\\u0069\\u0064\\u0069\\u0064\\u0069\\u0064\\u0069\\u0064\\u0069\\u0064\":1"));
}

WC_TEST(bad_escapes)
{
    EXPECT_ERR(mk("text", "\"text\":\"a\\x\""), WC_DLQ_BAD_JSON, "text");
    EXPECT_ERR(mk("text", "\"text\":\"a\\U0041\""), WC_DLQ_BAD_JSON, "text");
    EXPECT_ERR(mk("text", "\"text\":\"a\\u00G1\""), WC_DLQ_BAD_JSON, "text");
    EXPECT_ERR(mk("text", "\"text\":\"a\\u00\""), WC_DLQ_BAD_JSON, "text");
    EXPECT_ERR(mk("text", "\"text\":\"a\\'\""), WC_DLQ_BAD_JSON, "text");
    EXPECT_ERR("{\"id\":\"\\u12", WC_DLQ_BAD_JSON, "id"); /* truncated at end of input */
    EXPECT_ERR("{\"id\":\"\\", WC_DLQ_BAD_JSON, "id");
    EXPECT_ERR("{\"i\\q\":1}", WC_DLQ_BAD_JSON, NULL); /* in a key */
    /* high surrogate followed by a malformed \u escape: syntax first */
    EXPECT_ERR(mk("text", "\"text\":\"\\ud83d\\uZZZZ\""), WC_DLQ_BAD_JSON, "text");
}

WC_TEST(lone_surrogates)
{
    EXPECT_ERR(mk("text", "\"text\":\"\\ud83d\""), WC_DLQ_INVALID_UTF8, "text");
    EXPECT_ERR(mk("text", "\"text\":\"\\ud83dx\""), WC_DLQ_INVALID_UTF8, "text");
    EXPECT_ERR(mk("text", "\"text\":\"\\ud83d\\n\""), WC_DLQ_INVALID_UTF8, "text");
    EXPECT_ERR(mk("text", "\"text\":\"\\ud83d\\ud83d\""), WC_DLQ_INVALID_UTF8, "text");
    EXPECT_ERR(mk("text", "\"text\":\"\\ud83d\\u0041\""), WC_DLQ_INVALID_UTF8, "text");
    EXPECT_ERR(mk("text", "\"text\":\"\\ude00\""), WC_DLQ_INVALID_UTF8, "text");
    EXPECT_ERR(mk("text", "\"text\":\"\\ude00\\ud83d\""), WC_DLQ_INVALID_UTF8, "text");
    EXPECT_ERR(mk("text", "\"text\":\"\\uDFFF\""), WC_DLQ_INVALID_UTF8, "text");
    EXPECT_ERR("{\"id\":\"\\ud800", WC_DLQ_INVALID_UTF8, "id"); /* at end of input */
    /* in unknown fields and keys, too */
    EXPECT_ERR(mk(NULL, "\"zz\":[\"\\udc00\"]"), WC_DLQ_INVALID_UTF8, NULL);
    EXPECT_ERR(mk(NULL, "\"\\ud800\":1"), WC_DLQ_INVALID_UTF8, NULL);
}

/* ----------------------------------------------------------------- UTF-8 */

WC_TEST(utf8_valid_raw)
{
    wc_mention_t m;
    /* 2-, 3-, 4-byte sequences and the extremes of each range */
    const char *t = "\"text\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\x80\xdf\xbf"
                    "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\x7f\"";
    WC_CHECK_EQ_INT(ok_decode(mk("text", t), &m), 0);
    WC_CHECK_EQ_INT(m.text.len, strlen(t) - 9);
}

WC_TEST(utf8_invalid)
{
    static const char *const bad[] = {
        "\xc0\x80",         /* overlong NUL */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\x80",     /* overlong 3-byte */
        "\xe0\x9f\xbf",     /* overlong 3-byte (max) */
        "\xf0\x80\x80\x80", /* overlong 4-byte */
        "\xf0\x8f\xbf\xbf", /* overlong 4-byte (max) */
        "\xed\xa0\x80",     /* U+D800 encoded */
        "\xed\xbf\xbf",     /* U+DFFF encoded */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf5\x80\x80\x80", /* lead > F4 */
        "\xf8\x88\x80\x80\x80",
        "\xff",
        "\xfe",
        "\x80",             /* lone continuation */
        "\xbf",
        "\xc3",             /* truncated by the closing quote */
        "\xe2\x82",
        "\xf0\x9f\x98",
        "\xc3\x28",         /* bad continuation */
        "\xe2\x28\xa1",
        "\xf0\x9f\x28\x80",
        "\xf0\x9f\x98\x28",
    };
    for (size_t i = 0; i < WC_ARRAY_SIZE(bad); i++) {
        char frag[64];
        snprintf(frag, sizeof(frag), "\"text\":\"ok %s ok\"", bad[i]);
        EXPECT_ERR(mk("text", frag), WC_DLQ_INVALID_UTF8, "text");
        snprintf(frag, sizeof(frag), "\"x%s\":1", bad[i]); /* in a key */
        EXPECT_ERR(mk(NULL, frag), WC_DLQ_INVALID_UTF8, NULL);
        snprintf(frag, sizeof(frag), "\"u\":{\"v\":[\"%s\"]}", bad[i]); /* nested unknown */
        EXPECT_ERR(mk(NULL, frag), WC_DLQ_INVALID_UTF8, NULL);
    }
    /* truncated at the end of the input */
    EXPECT_ERR("{\"id\":\"\xe2\x82", WC_DLQ_INVALID_UTF8, "id");
    /* non-ASCII outside strings is a syntax error */
    EXPECT_ERR("{\"id\":\"x\"\xc2\xa0}", WC_DLQ_BAD_JSON, NULL);
    EXPECT_ERR("\xef\xbb\xbf{}", WC_DLQ_BAD_JSON, NULL); /* BOM */
}

/* Special bytes at every position around the 16-byte SIMD block boundary;
 * also exercises the scalar tail (string ending near the end of input). */
WC_TEST(string_scan_positions)
{
    static const char *const specials[] = {"\\n", "\\\"", "\xc3\xa9", "\xf0\x9f\x98\x80", "\\u00e9"};
    static const char *const decoded[] = {"\n", "\"", "\xc3\xa9", "\xf0\x9f\x98\x80", "\xc3\xa9"};
    for (size_t s = 0; s < WC_ARRAY_SIZE(specials); s++) {
        for (int pos = 0; pos < 40; pos++) {
            char text[128], want[128], frag[160];
            memset(text, 'a', (size_t)pos);
            memset(want, 'a', (size_t)pos);
            snprintf(text + pos, sizeof(text) - (size_t)pos, "%sbcdefghijklmnopq", specials[s]);
            snprintf(want + pos, sizeof(want) - (size_t)pos, "%sbcdefghijklmnopq", decoded[s]);
            snprintf(frag, sizeof(frag), "\"text\":\"%s\"", text);
            wc_mention_t m;
            /* text last: the closing quote is within the last 16 bytes */
            WC_CHECK_EQ_INT(ok_decode(mk("text", frag), &m), 0);
            WC_CHECK_STRN(m.text.p, m.text.len, want);
            /* a control byte at the same position is rejected at the right offset */
            snprintf(frag, sizeof(frag), "\"text\":\"%.*s\x01zz\"", pos, text);
            const char *json = mk("text", frag);
            wc_decode_err_t e;
            setup();
            WC_CHECK_EQ_INT(decode(json, &m, &e), WC_ERR_PARSE);
            WC_CHECK_EQ_INT(e.reason, WC_DLQ_BAD_JSON);
            WC_CHECK_EQ_INT(e.offset, (size_t)(strchr(json, '\x01') - json));
        }
    }
}

/* --------------------------------------------------------------- syntax */

WC_TEST(control_and_nul)
{
    EXPECT_ERR(mk("text", "\"text\":\"a\x01\""), WC_DLQ_BAD_JSON, "text");
    EXPECT_ERR(mk("text", "\"text\":\"a\x1f\""), WC_DLQ_BAD_JSON, "text");
    EXPECT_ERR(mk("text", "\"text\":\"a\tb\""), WC_DLQ_BAD_JSON, "text");
    EXPECT_ERR(mk("text", "\"text\":\"a\nb\""), WC_DLQ_BAD_JSON, "text");
    EXPECT_OK(mk("text", "\"text\":\"a\x7f\""));
    /* NUL anywhere */
    const char *base = mk(NULL, NULL);
    size_t n = strlen(base);
    char *doc = malloc(n + 2);
    for (size_t i = 0; i <= n; i++) {
        memcpy(doc, base, i);
        doc[i] = '\0';
        memcpy(doc + i + 1, base + i, n - i);
        wc_mention_t m;
        wc_decode_err_t e;
        setup();
        WC_CHECK_EQ_INT(decode_n(doc, n + 1, &m, &e, NULL), WC_ERR_PARSE);
        WC_CHECK_EQ_INT(e.reason, WC_DLQ_BAD_JSON);
        WC_CHECK(e.offset <= i && e.offset + 5 >= i); /* a broken literal is reported at its start */
    }
    free(doc);
}

WC_TEST(nul_field_attribution)
{
    /* a NUL inside a known string names the field */
    const char json[] = "{\"id\":\"a\0b\"}";
    EXPECT_ERR_N(json, sizeof(json) - 1, WC_DLQ_BAD_JSON, "id");
}

WC_TEST(syntax_errors)
{
    static const char *const bad[] = {
        "{",
        "{\"id\"",
        "{\"id\":",
        "{\"id\":\"x\"",
        "{\"id\":\"x\",",
        "{\"id\" \"x\"}",
        "{\"id\":\"x\",}",
        "{,\"id\":\"x\"}",
        "{\"id\":\"x\" \"brand\":\"b\"}",
        "{'id':'x'}",
        "{id:\"x\"}",
        "{\"id\":\"x\",\"z\":[1,]}",
        "{\"id\":\"x\",\"z\":[,1]}",
        "{\"id\":\"x\",\"z\":[1 2]}",
        "{\"id\":\"x\",\"z\":[1}",
        "{\"id\":\"x\",\"z\":{\"a\":1]}",
        "{\"id\":\"x\",\"z\":{\"a\"}}",
        "{\"id\":\"x\",\"z\":{1:2}}",
        "{\"id\":\"x\",\"z\":01}",
        "{\"id\":\"x\",\"z\":-01}",
        "{\"id\":\"x\",\"z\":1.}",
        "{\"id\":\"x\",\"z\":.5}",
        "{\"id\":\"x\",\"z\":-}",
        "{\"id\":\"x\",\"z\":+1}",
        "{\"id\":\"x\",\"z\":1e}",
        "{\"id\":\"x\",\"z\":1e+}",
        "{\"id\":\"x\",\"z\":1.e5}",
        "{\"id\":\"x\",\"z\":0x10}",
        "{\"id\":\"x\",\"z\":NaN}",
        "{\"id\":\"x\",\"z\":Infinity}",
        "{\"id\":\"x\",\"z\":tru}",
        "{\"id\":\"x\",\"z\":True}",
        "{\"id\":\"x\",\"z\":nul}",
        "{\"id\":\"x\",\"z\":fals}",
        "{\"id\":\"x\",\"z\":truex}",
        "{\"id\":\"x\",\"z\":\"abc}",
        "{\"id\":\"x\",\"z\":[\"abc]}",
        "{\"id\":\"x\",\"z\":}",
        "{\"id\":\"x\",\"z\":[}",
        "{\"id\":\"x\",\"z\":[[[]]}",
        "\"unterminated",
        "[1,2",
        "[1,2]]",
        "hello",
        "-",
        "}",
        "{\"id\":\"x\"\x0b}", /* VT is not JSON whitespace */
        "{\"id\":\"x\"\x0c}", /* FF neither */
    };
    for (size_t i = 0; i < WC_ARRAY_SIZE(bad); i++) {
        wc_mention_t m;
        wc_decode_err_t e;
        setup();
        WC_CHECK_EQ_INT(decode(bad[i], &m, &e), WC_ERR_PARSE);
        if (e.reason != WC_DLQ_BAD_JSON)
            fprintf(stderr, "  case %zu: %s (%s)\n", i, wc_dlq_reason_name(e.reason), e.detail);
        WC_CHECK_EQ_INT(e.reason, WC_DLQ_BAD_JSON);
    }
    /* trailing garbage after a complete mention */
    static const char *const tails[] = {"}", "{}", " x", " /* c */", "\n// c", ",", "\"\""};
    for (size_t i = 0; i < WC_ARRAY_SIZE(tails); i++) {
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s%s", mk(NULL, NULL), tails[i]);
        EXPECT_ERR(buf, WC_DLQ_BAD_JSON, NULL);
    }
    /* syntax errors in a known value name the field */
    EXPECT_ERR(mk("author", "\"author\":{\"id\":\"a\",\"followers\":1.}"), WC_DLQ_BAD_JSON,
               "author.followers");
    EXPECT_ERR(mk("author", "\"author\":{\"id\":\"a\" \"x\":1}"), WC_DLQ_BAD_JSON, "author");
}

WC_TEST(valid_json_numbers_and_literals_in_unknown_fields)
{
    EXPECT_OK(mk(NULL, "\"z\":[0,-0,1,-1,1.5,-1.5e10,1E+2,1e-2,0.0e0,123456789012345678901234567890,"
                       "1e400,true,false,null,\"\",{},[],[[]],{\"a\":{\"b\":[{}]}}]"));
}

WC_TEST(error_offsets)
{
    wc_mention_t m;
    wc_decode_err_t e;
    const char *json = "{\"id\":\"x\",  \"brand\": 42}";
    setup();
    WC_CHECK_EQ_INT(decode(json, &m, &e), WC_ERR_PARSE);
    WC_CHECK_EQ_INT(e.reason, WC_DLQ_WRONG_TYPE);
    WC_CHECK_EQ_INT(e.offset, strchr(json, '4') - json);
    WC_CHECK_STR(e.detail, "expected string, got number");
    /* trailing garbage: offset of the first non-whitespace byte after the object */
    json = mk(NULL, NULL);
    char buf[2048];
    snprintf(buf, sizeof(buf), "%s  x", json);
    setup();
    WC_CHECK_EQ_INT(decode(buf, &m, &e), WC_ERR_PARSE);
    WC_CHECK_EQ_INT(e.reason, WC_DLQ_BAD_JSON);
    WC_CHECK_EQ_INT(e.offset, strlen(buf) - 1);
    /* missing field: offset of the closing brace of its object */
    json = "{\"id\":\"x\"}";
    setup();
    WC_CHECK_EQ_INT(decode(json, &m, &e), WC_ERR_PARSE);
    WC_CHECK_EQ_INT(e.reason, WC_DLQ_MISSING_FIELD);
    WC_CHECK_EQ_INT(e.offset, 9);
    /* duplicate: offset of the second key */
    json = "{\"id\":\"x\",\"id\":\"y\"}";
    setup();
    WC_CHECK_EQ_INT(decode(json, &m, &e), WC_ERR_PARSE);
    WC_CHECK_EQ_INT(e.reason, WC_DLQ_INVALID_VALUE);
    WC_CHECK_EQ_INT(e.offset, 10);
    WC_CHECK_STR(e.detail, "duplicate key");
    /* UTF-8: offset of the bad sequence */
    json = "{\"id\":\"ab\xed\xa0\x80\"}";
    setup();
    WC_CHECK_EQ_INT(decode(json, &m, &e), WC_ERR_PARSE);
    WC_CHECK_EQ_INT(e.reason, WC_DLQ_INVALID_UTF8);
    WC_CHECK_EQ_INT(e.offset, 9);
}

WC_TEST(first_error_wins)
{
    /* wrong type of id comes before invalid UTF-8 later in the document */
    EXPECT_ERR("{\"id\":5,\"text\":\"\xff\"}", WC_DLQ_WRONG_TYPE, "id");
    /* invalid UTF-8 before the wrong type */
    EXPECT_ERR("{\"text\":\"\xff\",\"id\":5}", WC_DLQ_INVALID_UTF8, "text");
    /* missing field is found at the closing brace, before trailing garbage */
    EXPECT_ERR("{\"id\":\"x\"} garbage", WC_DLQ_MISSING_FIELD, "brand");
    /* duplicate before a later syntax error */
    EXPECT_ERR("{\"id\":\"x\",\"id\":\"x\",}", WC_DLQ_INVALID_VALUE, "id");
    /* a broken literal where an object is expected is a syntax error, not a type error */
    EXPECT_ERR(mk("author", "\"author\":tru"), WC_DLQ_BAD_JSON, "author");
    EXPECT_ERR(mk("author", "\"author\":x"), WC_DLQ_BAD_JSON, "author");
    EXPECT_ERR(mk("author", "\"author\":1.e"), WC_DLQ_BAD_JSON, "author");
}

/* --------------------------------------------------------- size / empty */

WC_TEST(empty)
{
    wc_mention_t m;
    wc_decode_err_t e;
    setup();
    WC_CHECK_EQ_INT(wc_mention_decode(&m, NULL, 0, &lim, &arena, &e), WC_ERR_PARSE);
    WC_CHECK_EQ_INT(e.reason, WC_DLQ_EMPTY);
    EXPECT_ERR("", WC_DLQ_EMPTY, NULL);
    EXPECT_ERR(" ", WC_DLQ_EMPTY, NULL);
    EXPECT_ERR(" \t\r\n  \n", WC_DLQ_EMPTY, NULL);
    EXPECT_ERR_N(" \0 ", 3, WC_DLQ_BAD_JSON, NULL); /* NUL is not whitespace */
    EXPECT_ERR_N("\0", 1, WC_DLQ_BAD_JSON, NULL);
}

WC_TEST(too_large)
{
    const char *json = mk(NULL, NULL);
    size_t n = strlen(json);
    wc_mention_t m;
    wc_decode_err_t e;
    setup();
    lim.max_bytes = n;
    WC_CHECK_EQ_INT(wc_mention_decode(&m, json, n, &lim, &arena, &e), 0);
    lim.max_bytes = n - 1;
    WC_CHECK_EQ_INT(wc_mention_decode(&m, json, n, &lim, &arena, &e), WC_ERR_PARSE);
    WC_CHECK_EQ_INT(e.reason, WC_DLQ_TOO_LARGE);
    WC_CHECK(e.field == NULL);
    /* checked before anything else: garbage and whitespace too */
    lim.max_bytes = 4;
    WC_CHECK_EQ_INT(wc_mention_decode(&m, "      ", 6, &lim, &arena, &e), WC_ERR_PARSE);
    WC_CHECK_EQ_INT(e.reason, WC_DLQ_TOO_LARGE);
    WC_CHECK_EQ_INT(wc_mention_decode(&m, "\xff\xff\xff\xff\xff", 5, &lim, &arena, &e),
                    WC_ERR_PARSE);
    WC_CHECK_EQ_INT(e.reason, WC_DLQ_TOO_LARGE);
    /* the buffer is not read at all */
    WC_CHECK_EQ_INT(wc_mention_decode(&m, NULL, 5, &lim, &arena, &e), WC_ERR_PARSE);
    WC_CHECK_EQ_INT(e.reason, WC_DLQ_TOO_LARGE);
}

/* ------------------------------------------------------------------ depth */

static char *nested(const char *prefix, int levels, const char *suffix)
{
    size_t pl = strlen(prefix), sl = strlen(suffix);
    char *b = malloc(pl + 2 * (size_t)levels + sl + 1), *o = b;
    memcpy(o, prefix, pl);
    o += pl;
    for (int i = 0; i < levels; i++)
        *o++ = '[';
    for (int i = 0; i < levels; i++)
        *o++ = ']';
    memcpy(o, suffix, sl + 1);
    return b;
}

WC_TEST(depth)
{
    /* top-level object = depth 1, so an unknown field holds max_depth - 1 levels */
    char *frag = nested("\"z\":", 31, "");
    EXPECT_OK(mk(NULL, frag));
    free(frag);
    frag = nested("\"z\":", 32, "");
    EXPECT_ERR(mk(NULL, frag), WC_DLQ_TOO_DEEP, NULL);
    free(frag);
    /* mixed objects/arrays in author (author = depth 2) */
    EXPECT_OK(mk("author", "\"author\":{\"id\":\"a\",\"z\":{\"a\":[{\"b\":[]}]}}"));
    setup();
    lim.max_depth = 5;
    {
        wc_mention_t m;
        wc_decode_err_t e;
        const char *ok = mk("author", "\"author\":{\"id\":\"a\",\"z\":{\"a\":[{}]}}");
        WC_CHECK_EQ_INT(wc_mention_decode(&m, ok, strlen(ok), &lim, &arena, &e), 0);
        const char *deep = mk("author", "\"author\":{\"id\":\"a\",\"z\":{\"a\":[{\"b\":[]}]}}");
        WC_CHECK_EQ_INT(wc_mention_decode(&m, deep, strlen(deep), &lim, &arena, &e), WC_ERR_PARSE);
        WC_CHECK_EQ_INT(e.reason, WC_DLQ_TOO_DEEP);
        WC_CHECK_STR(e.field, "author");
        /* depth 2: author and metrics still fit, depth 1: author does not */
        lim.max_depth = 2;
        ok = mk(NULL, "\"metrics\":{\"likes\":1}");
        WC_CHECK_EQ_INT(wc_mention_decode(&m, ok, strlen(ok), &lim, &arena, &e), 0);
        lim.max_depth = 1;
        WC_CHECK_EQ_INT(wc_mention_decode(&m, ok, strlen(ok), &lim, &arena, &e), WC_ERR_PARSE);
        WC_CHECK_EQ_INT(e.reason, WC_DLQ_TOO_DEEP);
        WC_CHECK_STR(e.field, "author");
        lim.max_depth = 0;
        WC_CHECK_EQ_INT(wc_mention_decode(&m, ok, strlen(ok), &lim, &arena, &e), WC_ERR_PARSE);
        WC_CHECK_EQ_INT(e.reason, WC_DLQ_TOO_DEEP);
        /* huge configured depth is clamped to WC_DECODE_MAX_DEPTH, no crash */
        lim.max_depth = 1 << 30;
        char *d1 = nested("", WC_DECODE_MAX_DEPTH, "");
        WC_CHECK_EQ_INT(wc_mention_decode(&m, d1, strlen(d1), &lim, &arena, &e), WC_ERR_PARSE);
        WC_CHECK_EQ_INT(e.reason, WC_DLQ_NOT_OBJECT);
        free(d1);
        d1 = nested("", WC_DECODE_MAX_DEPTH + 1, "");
        WC_CHECK_EQ_INT(wc_mention_decode(&m, d1, strlen(d1), &lim, &arena, &e), WC_ERR_PARSE);
        WC_CHECK_EQ_INT(e.reason, WC_DLQ_TOO_DEEP);
        free(d1);
        /* 100k unclosed arrays: stops at the limit */
        char *d2 = malloc(100001);
        memset(d2, '[', 100000);
        d2[100000] = 0;
        WC_CHECK_EQ_INT(wc_mention_decode(&m, d2, 100000, &lim, &arena, &e), WC_ERR_PARSE);
        WC_CHECK_EQ_INT(e.reason, WC_DLQ_TOO_DEEP);
        free(d2);
    }
    /* a top-level array deeper than the default limit */
    char *d3 = nested("", 33, "");
    EXPECT_ERR(d3, WC_DLQ_TOO_DEEP, NULL);
    free(d3);
}

/* ----------------------------------------------------------- not object */

WC_TEST(not_object)
{
    EXPECT_ERR("[]", WC_DLQ_NOT_OBJECT, NULL);
    EXPECT_ERR(" [1, {\"a\": 2}] ", WC_DLQ_NOT_OBJECT, NULL);
    EXPECT_ERR("\"str\"", WC_DLQ_NOT_OBJECT, NULL);
    EXPECT_ERR("42", WC_DLQ_NOT_OBJECT, NULL);
    EXPECT_ERR("-1.5e3", WC_DLQ_NOT_OBJECT, NULL);
    EXPECT_ERR("true", WC_DLQ_NOT_OBJECT, NULL);
    EXPECT_ERR("false", WC_DLQ_NOT_OBJECT, NULL);
    EXPECT_ERR("null", WC_DLQ_NOT_OBJECT, NULL);
    /* invalid JSON that is not an object is BAD_JSON / INVALID_UTF8 */
    EXPECT_ERR("[1,2", WC_DLQ_BAD_JSON, NULL);
    EXPECT_ERR("42 43", WC_DLQ_BAD_JSON, NULL);
    EXPECT_ERR("123abc", WC_DLQ_BAD_JSON, NULL);
    EXPECT_ERR("[\"\xff\"]", WC_DLQ_INVALID_UTF8, NULL);
}

/* -------------------------------------------------------- missing field */

WC_TEST(missing_fields)
{
    for (size_t i = 0; i < WC_ARRAY_SIZE(req); i++)
        EXPECT_ERR(mk(req[i].key, NULL), WC_DLQ_MISSING_FIELD, req[i].key);
    EXPECT_ERR(mk("author", "\"author\":{}"), WC_DLQ_MISSING_FIELD, "author.id");
    EXPECT_ERR(mk("author", "\"author\":{\"handle\":\"@x\",\"ID\":\"a\"}"), WC_DLQ_MISSING_FIELD,
               "author.id");
    EXPECT_ERR("{}", WC_DLQ_MISSING_FIELD, "id");
    /* the first missing one in contract order: id, brand, text, channel, author, created_at */
    EXPECT_ERR("{\"id\":\"x\",\"text\":\"t\"}", WC_DLQ_MISSING_FIELD, "brand");
    EXPECT_ERR("{\"id\":\"x\",\"brand\":\"b\",\"text\":\"t\",\"channel\":\"news\",\"author\":{\"id\":\"a\"}}",
               WC_DLQ_MISSING_FIELD, "created_at");
    /* a known name inside another object does not count */
    EXPECT_ERR("{\"id\":\"x\",\"x\":{\"brand\":\"y\"},\"author\":{\"brand\":\"z\",\"id\":\"a\"}}",
               WC_DLQ_MISSING_FIELD, "brand");
}

/* --------------------------------------------------------------- types */

WC_TEST(wrong_types)
{
    static const struct {
        const char *skip, *frag, *field;
    } cases[] = {
        {"id", "\"id\":5", "id"},
        {"id", "\"id\":null", "id"},
        {"id", "\"id\":[\"x\"]", "id"},
        {"id", "\"id\":true", "id"},
        {"brand", "\"brand\":{}", "brand"},
        {"text", "\"text\":[]", "text"},
        {"text", "\"text\":null", "text"},
        {"channel", "\"channel\":1", "channel"},
        {"channel", "\"channel\":null", "channel"},
        {"author", "\"author\":\"jan\"", "author"},
        {"author", "\"author\":[]", "author"},
        {"author", "\"author\":null", "author"},
        {"author", "\"author\":7", "author"},
        {"author", "\"author\":{\"id\":12}", "author.id"},
        {"author", "\"author\":{\"id\":null}", "author.id"},
        {"author", "\"author\":{\"id\":\"a\",\"handle\":1}", "author.handle"},
        {"author", "\"author\":{\"id\":\"a\",\"followers\":\"10\"}", "author.followers"},
        {"author", "\"author\":{\"id\":\"a\",\"followers\":1.0}", "author.followers"},
        {"author", "\"author\":{\"id\":\"a\",\"followers\":1e3}", "author.followers"},
        {"author", "\"author\":{\"id\":\"a\",\"followers\":-1.5}", "author.followers"},
        {"author", "\"author\":{\"id\":\"a\",\"followers\":true}", "author.followers"},
        {"author", "\"author\":{\"id\":\"a\",\"verified\":\"true\"}", "author.verified"},
        {"author", "\"author\":{\"id\":\"a\",\"verified\":1}", "author.verified"},
        {"author", "\"author\":{\"id\":\"a\",\"verified\":{}}", "author.verified"},
        {"created_at", "\"created_at\":true", "created_at"},
        {"created_at", "\"created_at\":null", "created_at"},
        {"created_at", "\"created_at\":{}", "created_at"},
        {"created_at", "\"created_at\":1.5", "created_at"},
        {"created_at", "\"created_at\":1e12", "created_at"},
        {NULL, "\"lang\":5", "lang"},
        {NULL, "\"lang\":[]", "lang"},
        {NULL, "\"conversation_id\":123", "conversation_id"},
        {NULL, "\"in_reply_to\":false", "in_reply_to"},
        {NULL, "\"url\":{}", "url"},
        {NULL, "\"metrics\":[]", "metrics"},
        {NULL, "\"metrics\":5", "metrics"},
        {NULL, "\"metrics\":\"x\"", "metrics"},
        {NULL, "\"metrics\":{\"likes\":\"4\"}", "metrics.likes"},
        {NULL, "\"metrics\":{\"reshares\":1.5}", "metrics.reshares"},
        {NULL, "\"metrics\":{\"replies\":[]}", "metrics.replies"},
    };
    for (size_t i = 0; i < WC_ARRAY_SIZE(cases); i++)
        EXPECT_ERR(mk(cases[i].skip, cases[i].frag), WC_DLQ_WRONG_TYPE, cases[i].field);
}

/* --------------------------------------------------------------- values */

WC_TEST(invalid_values)
{
    static const struct {
        const char *skip, *frag, *field;
    } cases[] = {
        {"id", "\"id\":\"\"", "id"},
        {"brand", "\"brand\":\"\"", "brand"},
        {"text", "\"text\":\"\"", "text"},
        {"author", "\"author\":{\"id\":\"\"}", "author.id"},
        {"channel", "\"channel\":\"Twitter\"", "channel"},
        {"channel", "\"channel\":\"tiktok\"", "channel"},
        {"channel", "\"channel\":\"\"", "channel"},
        {"channel", "\"channel\":\"twitter \"", "channel"},
        {"channel", "\"channel\":\"tw\\u0069tteR\"", "channel"},
        {"author", "\"author\":{\"id\":\"a\",\"followers\":-1}", "author.followers"},
        {NULL, "\"metrics\":{\"likes\":-3}", "metrics.likes"},
        {"created_at", "\"created_at\":-1", "created_at"},
        {"created_at", "\"created_at\":9223372036854775808", "created_at"},
        {"created_at", "\"created_at\":99999999999999999999999", "created_at"},
        {"created_at", "\"created_at\":\"yesterday\"", "created_at"},
        {"created_at", "\"created_at\":\"2026-02-30T10:00:00Z\"", "created_at"},
        {"created_at", "\"created_at\":\"2026-11-22T10:00:00\"", "created_at"},
        {"created_at", "\"created_at\":\"\"", "created_at"},
        {"created_at", "\"created_at\":\"2026-11-22T10:00:00.00000000000000000000000000000000000000000000000000Z\"",
         "created_at"},
        /* duplicates of known fields, at each level */
        {NULL, "\"id\":\"other\"", "id"},
        {NULL, "\"text\":\"again\"", "text"},
        {NULL, "\"author\":{\"id\":\"b\"}", "author"},
        {NULL, "\"created_at\":0", "created_at"},
        {NULL, "\"lang\":\"nl\",\"lang\":\"en\"", "lang"},
        {NULL, "\"lang\":null,\"lang\":\"en\"", "lang"},
        {NULL, "\"metrics\":{},\"metrics\":{}", "metrics"},
        {NULL, "\"metrics\":{\"likes\":1,\"likes\":2}", "metrics.likes"},
        {"author", "\"author\":{\"id\":\"a\",\"id\":\"b\"}", "author.id"},
        {"author", "\"author\":{\"id\":\"a\",\"verified\":true,\"verified\":false}", "author.verified"},
    };
    for (size_t i = 0; i < WC_ARRAY_SIZE(cases); i++)
        EXPECT_ERR(mk(cases[i].skip, cases[i].frag), WC_DLQ_INVALID_VALUE, cases[i].field);
    /* duplicate unknown keys are fine */
    EXPECT_OK(mk(NULL, "\"x\":1,\"x\":2,\"y\":{\"a\":1,\"a\":2}"));
    /* known names inside unknown objects are just unknown keys */
    EXPECT_OK(mk(NULL, "\"x\":{\"id\":1,\"text\":null,\"author\":5}"));
}

WC_TEST(integers)
{
    wc_mention_t m;
    WC_CHECK_EQ_INT(ok_decode(mk("author", "\"author\":{\"id\":\"a\",\"followers\":-0},"
                                           "\"metrics\":{\"likes\":-0,\"reshares\":0,\"replies\":4294967295}"),
                              &m),
                    0);
    WC_CHECK_EQ_INT(m.author_followers, 0);
    WC_CHECK_EQ_INT(m.likes, 0);
    WC_CHECK_EQ_INT(m.replies, UINT32_MAX);
    /* saturation */
    WC_CHECK_EQ_INT(ok_decode(mk("author", "\"author\":{\"id\":\"a\",\"followers\":18446744073709551615},"
                                           "\"metrics\":{\"likes\":4294967296,\"reshares\":"
                                           "123456789012345678901234567890,\"replies\":4294967294}"),
                              &m),
                    0);
    WC_CHECK(m.author_followers == UINT64_MAX);
    WC_CHECK_EQ_INT(m.likes, UINT32_MAX);
    WC_CHECK_EQ_INT(m.reshares, UINT32_MAX);
    WC_CHECK_EQ_INT(m.replies, 4294967294u);
    WC_CHECK_EQ_INT(ok_decode(mk("author", "\"author\":{\"id\":\"a\",\"followers\":99999999999999999999999}"), &m),
                    0);
    WC_CHECK(m.author_followers == UINT64_MAX);
    WC_CHECK_EQ_INT(ok_decode(mk("author", "\"author\":{\"id\":\"a\",\"followers\":18446744073709551616}"), &m), 0);
    WC_CHECK(m.author_followers == UINT64_MAX);
    WC_CHECK_EQ_INT(ok_decode(mk("author", "\"author\":{\"id\":\"a\",\"followers\":18446744073709551614}"), &m), 0);
    WC_CHECK(m.author_followers == UINT64_MAX - 1);
    /* created_at as epoch ms */
    WC_CHECK_EQ_INT(ok_decode(mk("created_at", "\"created_at\":1795341600123"), &m), 0);
    WC_CHECK_EQ_INT(m.created_at_ms, 1795341600123LL);
    WC_CHECK_EQ_INT(ok_decode(mk("created_at", "\"created_at\":9223372036854775807"), &m), 0);
    WC_CHECK(m.created_at_ms == INT64_MAX);
    WC_CHECK_EQ_INT(ok_decode(mk("created_at", "\"created_at\":-0"), &m), 0);
    WC_CHECK_EQ_INT(m.created_at_ms, 0);
    /* verified false */
    WC_CHECK_EQ_INT(ok_decode(mk("author", "\"author\":{\"id\":\"a\",\"verified\":false}"), &m), 0);
    WC_CHECK(!m.author_verified);
}

WC_TEST(created_at_strings)
{
    wc_mention_t m;
    WC_CHECK_EQ_INT(ok_decode(mk("created_at", "\"created_at\":\"2026-11-22T11:00:00.250+01:00\""), &m), 0);
    WC_CHECK_EQ_INT(m.created_at_ms, 1795341600250LL);
    WC_CHECK_EQ_INT(ok_decode(mk("created_at", "\"created_at\":\"2026-11-22 10:00:00z\""), &m), 0);
    WC_CHECK_EQ_INT(m.created_at_ms, 1795341600000LL);
    /* escaped '/' etc. decoded before parsing */
    WC_CHECK_EQ_INT(ok_decode(mk("created_at", "\"created_at\":\"\\u0032026-11-22T10:00:00Z\""), &m), 0);
    WC_CHECK_EQ_INT(m.created_at_ms, 1795341600000LL);
}

/* ----------------------------------------------------------- field limits */

static char *repeat_frag(const char *fmt_pre, char ch, size_t n, const char *post)
{
    size_t pl = strlen(fmt_pre), ql = strlen(post);
    char *b = malloc(pl + n + ql + 1);
    memcpy(b, fmt_pre, pl);
    memset(b + pl, ch, n);
    memcpy(b + pl + n, post, ql + 1);
    return b;
}

WC_TEST(field_too_long)
{
    static const struct {
        const char *skip, *pre, *post, *field;
        int which; /* 0 id, 1 text, 2 field, 3 lang */
    } cases[] = {
        {"id", "\"id\":\"", "\"", "id", 0},
        {"brand", "\"brand\":\"", "\"", "brand", 2},
        {"text", "\"text\":\"", "\"", "text", 1},
        {"author", "\"author\":{\"id\":\"", "\"}", "author.id", 0},
        {"author", "\"author\":{\"id\":\"a\",\"handle\":\"", "\"}", "author.handle", 2},
        {NULL, "\"lang\":\"", "\"", "lang", 3},
        {NULL, "\"conversation_id\":\"", "\"", "conversation_id", 0},
        {NULL, "\"in_reply_to\":\"", "\"", "in_reply_to", 0},
        {NULL, "\"url\":\"", "\"", "url", 2},
    };
    setup();
    const size_t limit_of[] = {lim.max_id_len, lim.max_text_len, lim.max_field_len, WC_MENTION_LANG_MAX};
    for (size_t i = 0; i < WC_ARRAY_SIZE(cases); i++) {
        size_t limit = limit_of[cases[i].which];
        char *frag = repeat_frag(cases[i].pre, 'x', limit, cases[i].post);
        char *doc = strdup(mk(cases[i].skip, frag));
        wc_mention_t m;
        if (ok_decode(doc, &m) != 0)
            WC_FAIL_AT(__FILE__, __LINE__, "%s at its limit rejected", cases[i].field);
        free(frag);
        free(doc);
        frag = repeat_frag(cases[i].pre, 'x', limit + 1, cases[i].post);
        size_t need = strlen(frag) + 1024;
        doc = malloc(need);
        snprintf(doc, need, "%s", mk(cases[i].skip, frag));
        EXPECT_ERR(doc, WC_DLQ_FIELD_TOO_LONG, cases[i].field);
        free(frag);
        free(doc);
    }
}

WC_TEST(field_too_long_counts_decoded_bytes)
{
    setup();
    lim.max_id_len = 4;
    wc_mention_t m;
    wc_decode_err_t e;
    /* raw 12 bytes, decoded 2: fine */
    const char *json = mk("id", "\"id\":\"\\u0041\\u0042\"");
    WC_CHECK_EQ_INT(wc_mention_decode(&m, json, strlen(json), &lim, &arena, &e), 0);
    WC_CHECK_STRN(m.id.p, m.id.len, "AB");
    /* decoded 4 bytes (one emoji from a surrogate pair, raw 12): at the limit */
    json = mk("id", "\"id\":\"\\ud83d\\ude00\"");
    WC_CHECK_EQ_INT(wc_mention_decode(&m, json, strlen(json), &lim, &arena, &e), 0);
    WC_CHECK_EQ_INT(m.id.len, 4);
    /* decoded 5 bytes: too long, and no arena space spent on it */
    wc_arena_reset(&arena);
    size_t used0 = arena.head ? arena.head->used : 0;
    json = mk("id", "\"id\":\"\\ud83d\\ude00\\n\"");
    WC_CHECK_EQ_INT(wc_mention_decode(&m, json, strlen(json), &lim, &arena, &e), WC_ERR_PARSE);
    WC_CHECK_EQ_INT(e.reason, WC_DLQ_FIELD_TOO_LONG);
    WC_CHECK_STR(e.field, "id");
    WC_CHECK_EQ_INT(arena.head ? arena.head->used : 0, used0);
    /* multi-byte raw UTF-8 counts bytes */
    json = mk("id", "\"id\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"");
    WC_CHECK_EQ_INT(wc_mention_decode(&m, json, strlen(json), &lim, &arena, &e), WC_ERR_PARSE);
    WC_CHECK_EQ_INT(e.reason, WC_DLQ_FIELD_TOO_LONG);
}

WC_TEST(detail_never_contains_text)
{
    static const char *const frags[] = {
        "\"text\":\"SECRET\x01\"", "\"text\":\"SECRET\xff\"", "\"text\":\"SECRET\\q\"",
        "\"text\":\"SECRET\\ud800\"", "\"text\":\"SECRET", "\"text\":[\"SECRET\"]",
    };
    for (size_t i = 0; i < WC_ARRAY_SIZE(frags); i++) {
        wc_mention_t m;
        wc_decode_err_t e;
        setup();
        const char *json = mk("text", frags[i]);
        WC_CHECK_EQ_INT(decode(json, &m, &e), WC_ERR_PARSE);
        WC_CHECK(strstr(e.detail, "SECRET") == NULL);
    }
    wc_mention_t m;
    wc_decode_err_t e;
    setup();
    lim.max_text_len = 3;
    const char *json = mk("text", "\"text\":\"SECRET\"");
    WC_CHECK_EQ_INT(decode(json, &m, &e), WC_ERR_PARSE);
    WC_CHECK_EQ_INT(e.reason, WC_DLQ_FIELD_TOO_LONG);
    WC_CHECK(strstr(e.detail, "SECRET") == NULL);
    json = mk("channel", "\"channel\":\"SECRET\"");
    WC_CHECK_EQ_INT(decode(json, &m, &e), WC_ERR_PARSE);
    WC_CHECK(strstr(e.detail, "SECRET") == NULL);
}

/* -------------------------------------------------------- unknown fields */

WC_TEST(unknown_fields_skipped)
{
    wc_mention_t m;
    const char *json =
        "{\"extra\":{\"nested\":[1,2,{\"deep\":[true,false,null,\"s\\u00e9\\n\",-1.5e-3]}],\"id\":"
        "\"not-this\"},\"id\":\"x\",\"IDS\":[],\"brand\":\"b\",\"text\":\"t\",\"channel\":\"forum\","
        "\"author\":{\"id\":\"a\",\"bio\":{\"x\":[\"\xf0\x9f\x98\x80\"]},\"followers\":7},"
        "\"created_at\":5,\"metrics\":{\"views\":[1,2],\"likes\":3,\"quotes\":{\"a\":null}},"
        "\"\":\"\",\"text2\":\"\\\"\"}";
    WC_CHECK_EQ_INT(ok_decode(json, &m), 0);
    WC_CHECK_STRN(m.id.p, m.id.len, "x");
    WC_CHECK_EQ_INT(m.author_followers, 7);
    WC_CHECK_EQ_INT(m.likes, 3);
    WC_CHECK_EQ_INT(m.channel, WC_CH_FORUM);
    /* unknown escaped strings do not use the arena */
    WC_CHECK(arena.head == NULL || arena.head->used == 0);
}

/* ------------------------------------------------------ truncation sweep */

WC_TEST(every_prefix_fails_cleanly)
{
    const char *json = "{\"id\":\"tw:1\",\"channel\":\"news\",\"brand\":\"b\",\"author\":{\"id\":\"a\","
                       "\"followers\":12,\"verified\":false},\"text\":\"h\\u00e9 \xf0\x9f\x98\x80 "
                       "\\ud83d\\ude00 \\\"q\\\"\",\"created_at\":\"2026-11-22T10:00:00.5+01:00\","
                       "\"metrics\":{\"likes\":1},\"x\":[1.5e3,true,null]}";
    size_t n = strlen(json);
    for (size_t i = 0; i < n; i++) {
        wc_mention_t m;
        wc_decode_err_t e;
        setup();
        int rc = decode_n(json, i, &m, &e, NULL);
        WC_CHECK_EQ_INT(rc, WC_ERR_PARSE);
        WC_CHECK(e.offset <= i);
    }
    EXPECT_OK(json);
}

/* ------------------------------------------------------------- RFC 3339 */

WC_TEST(rfc3339_parse)
{
    static const struct {
        const char *s;
        int64_t ms;
    } good[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01T00:00:00.001Z", 1},
        {"1969-12-31T23:59:59.999Z", -1},
        {"2026-11-22T10:00:00Z", 1795341600000LL},
        {"2026-11-22t10:00:00z", 1795341600000LL},
        {"2026-11-22 10:00:00Z", 1795341600000LL},
        {"2026-11-22T11:00:00+01:00", 1795341600000LL},
        {"2026-11-22T04:30:00-05:30", 1795341600000LL},
        {"2026-11-22T10:00:00-00:00", 1795341600000LL},
        {"2026-11-22T10:00:00.5Z", 1795341600500LL},
        {"2026-11-22T10:00:00.05Z", 1795341600050LL},
        {"2026-11-22T10:00:00.123456789Z", 1795341600123LL},
        {"2026-11-22T10:00:00.9999999Z", 1795341600999LL},
        {"2000-02-29T00:00:00Z", 951782400000LL},
        {"2024-02-29T23:59:59Z", 1709251199000LL},
        {"2016-12-31T23:59:60Z", 1483228800000LL}, /* leap second -> next second */
        {"2000-01-01T00:00:00+23:59", 946598460000LL},
        {"0000-01-01T00:00:00Z", -62167219200000LL},
        {"9999-12-31T23:59:59.999Z", 253402300799999LL},
        {"2038-01-19T03:14:08Z", 2147483648000LL},
    };
    for (size_t i = 0; i < WC_ARRAY_SIZE(good); i++) {
        int64_t ms = 42;
        int rc = wc_parse_rfc3339(good[i].s, strlen(good[i].s), &ms);
        if (rc != 0 || ms != good[i].ms)
            WC_FAIL_AT(__FILE__, __LINE__, "%s: rc %d ms %" PRId64 " want %" PRId64, good[i].s, rc,
                       ms, good[i].ms);
    }
    static const char *const bad[] = {
        "",
        "2026-11-22",
        "2026-11-22T10:00:00",    /* no offset */
        "2026-11-22T10:00Z",      /* no seconds */
        "2026-11-22T10:00:00ZZ",
        "2026-11-22T10:00:00Z ",
        " 2026-11-22T10:00:00Z",
        "2026-11-22X10:00:00Z",
        "2026-11-22_10:00:00Z",
        "2026/11/22T10:00:00Z",
        "26-11-22T10:00:00Z",
        "2026-1-22T10:00:00Z",
        "2026-00-22T10:00:00Z",
        "2026-13-22T10:00:00Z",
        "2026-11-00T10:00:00Z",
        "2026-11-31T10:00:00Z",
        "2026-04-31T10:00:00Z",
        "2026-02-29T10:00:00Z",   /* not a leap year */
        "1900-02-29T10:00:00Z",   /* century, not leap */
        "2026-11-22T24:00:00Z",
        "2026-11-22T10:60:00Z",
        "2026-11-22T10:00:61Z",
        "2026-11-22T10:00:00.Z",
        "2026-11-22T10:00:00.",
        "2026-11-22T10:00:00,5Z",
        "2026-11-22T10:00:00+01",
        "2026-11-22T10:00:00+0100",
        "2026-11-22T10:00:00+01:0",
        "2026-11-22T10:00:00+24:00",
        "2026-11-22T10:00:00+01:60",
        "2026-11-22T10:00:00+01:00x",
        "2026-11-22T10:00:00UTC",
        "+2026-11-22T10:00:00Z",
        "2026-11-22T1a:00:00Z",
        "2026-11-22T10:00:00.5",
        "2026-11-22T10:00:00 +01:00",
    };
    for (size_t i = 0; i < WC_ARRAY_SIZE(bad); i++) {
        int64_t ms = 42;
        if (wc_parse_rfc3339(bad[i], strlen(bad[i]), &ms) != WC_ERR_PARSE)
            WC_FAIL_AT(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
        WC_CHECK_EQ_INT(ms, 42); /* untouched on error */
    }
    /* length is honoured: a valid prefix with garbage after len is fine */
    int64_t ms;
    WC_CHECK_EQ_INT(wc_parse_rfc3339("1970-01-01T00:00:01Zgarbage", 20, &ms), 0);
    WC_CHECK_EQ_INT(ms, 1000);
    WC_CHECK_EQ_INT(wc_parse_rfc3339("1970-01-01T00:00:01Z", 19, &ms), WC_ERR_PARSE);
}

WC_TEST(rfc3339_format)
{
    char out[32];
    WC_CHECK_EQ_INT(wc_format_rfc3339(0, out), 24);
    WC_CHECK_STR(out, "1970-01-01T00:00:00.000Z");
    wc_format_rfc3339(-1, out);
    WC_CHECK_STR(out, "1969-12-31T23:59:59.999Z");
    wc_format_rfc3339(1795341600250LL, out);
    WC_CHECK_STR(out, "2026-11-22T10:00:00.250Z");
    wc_format_rfc3339(951782400000LL, out);
    WC_CHECK_STR(out, "2000-02-29T00:00:00.000Z");
    wc_format_rfc3339(253402300799999LL, out);
    WC_CHECK_STR(out, "9999-12-31T23:59:59.999Z");
    wc_format_rfc3339(-62167219200000LL, out);
    WC_CHECK_STR(out, "0000-01-01T00:00:00.000Z");
    /* outside 0000-9999: longer, still NUL-terminated within 32 bytes */
    int n = wc_format_rfc3339(INT64_MAX, out);
    WC_CHECK(n > 24 && n < 32 && out[n] == '\0');
    n = wc_format_rfc3339(INT64_MIN, out);
    WC_CHECK(n > 24 && n < 32 && out[n] == '\0');
    WC_CHECK(out[0] == '-');
    n = wc_format_rfc3339(253402300800000LL, out);
    WC_CHECK_STR(out, "10000-01-01T00:00:00.000Z");

    /* round trip over 0000..9999 with a cheap LCG */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t ms = (int64_t)(x % (253402300800000ULL + 62167219200000ULL)) - 62167219200000LL;
        int64_t back = 0;
        n = wc_format_rfc3339(ms, out);
        if (n != 24 || wc_parse_rfc3339(out, (size_t)n, &back) != 0 || back != ms) {
            WC_FAIL_AT(__FILE__, __LINE__, "round trip %" PRId64 " -> %s -> %" PRId64, ms, out, back);
            break;
        }
    }
}

int main(void)
{
    int rc = wc_test_run_all();
    free(last_copy);
    wc_arena_deinit(&arena);
    return rc;
}
