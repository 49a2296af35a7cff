/*
 * test_classify.c - the classify stage, one test per rule feature.
 *
 * Two rule sets: a tiny inline one (wc_rules_load_mem) where every weight
 * is known, so the expected scores are exact; and the shipped rules/
 * directory (WC_SOURCE_DIR), for end-to-end nl and en examples written for
 * these tests (not taken from any evaluation set).
 */
#include "daemon/cli_rules.h"
#include "pipeline/classify.h"
#include "wc_test.h"

#include <fcntl.h>
#include <math.h>
#include <unistd.h>

static const char *const MINI =
    "language = any\n"
    "[angry]\n"
    "slecht = 1\nbad = 1\n😡 = 2\n#fail = 2\nnog steeds niet = 1.5\nwaardeloos = 2\n"
    "[happy]\n"
    "goed = 1\ngreat = 1\ntevreden = 1\n😍 = 2\n"
    "[question]\n"
    "hoe = 1 start\nhow = 1 start\nkan ik = 1 start\n? = 1\n"
    "[negators nl]\nniet\n"
    "[negators en]\nnot\n"
    "[intensifiers]\nheel = 2\nvery = 2\n"
    "[contrast]\nmaar\nbut\n"
    "[stopwords nl]\nde\nhet\neen\nmijn\n"
    "[stopwords en]\nthe\nmy\nis\n"
    "[topic delivery urgency=10]\npakket = 1\nlevering = 1\ndelivery = 1\n"
    "[topic outage]\nstoring = 1\n"
    "[vip]\n@bigmouth = 7\nid:u-vip\n"
    "[routes]\nclass=question topic=outage -> cases.complaints\n"
    "class=angry channel=review -> cases.reviews\n"
    "[reply_hints]\nangry = EMPATHISE\nangry.nl = BEGRIP\nquestion = ANSWER\n"
    "[sla]\nangry = 1h\nquestion = 2h\nhappy = none\n"
    "[scoring]\nexclamation_boost = 0\ncaps_boost = 0\n";

static wc_rules_t *mini, *real;
static wc_classifier_t *C;

static wc_mention_t mk(const char *text, const char *lang)
{
    wc_mention_t m;
    memset(&m, 0, sizeof(m));
    m.id = (wc_str_t){"tw:1", 4};
    m.brand = (wc_str_t){"acme", 4};
    m.text = (wc_str_t){text, (uint32_t)strlen(text)};
    m.channel = WC_CH_TWITTER;
    m.author_id = (wc_str_t){"u1", 2};
    m.created_at_ms = 1700000000000LL;
    if (lang)
        m.lang = (wc_str_t){lang, (uint32_t)strlen(lang)};
    return m;
}

static wc_verdict_t run(const wc_rules_t *r, const char *text, const char *lang)
{
    wc_verdict_t v;
    wc_mention_t m = mk(text, lang);
    WC_CHECK_EQ_INT(wc_classify(r, C, &m, m.created_at_ms, &v), 0);
    return v;
}

static int has_reason(const wc_verdict_t *v, const char *id)
{
    for (int i = 0; i < v->nreasons; i++)
        if (!strcmp(v->reasons[i], id))
            return 1;
    return 0;
}

static int has_topic(const wc_verdict_t *v, const char *t)
{
    for (int i = 0; i < v->ntopics; i++)
        if (!strcmp(v->topics[i], t))
            return 1;
    return 0;
}

#define NEAR(a, b) (fabsf((float)(a) - (float)(b)) < 1e-4f)

WC_TEST(class_names)
{
    WC_CHECK_STR(wc_class_name(WC_CLASS_ANGRY), "angry");
    WC_CHECK_EQ_INT(wc_class_parse("question", 8), WC_CLASS_QUESTION);
    WC_CHECK_EQ_INT(wc_class_parse("angr", 4), -1);
}

WC_TEST(lexicon_and_neutral_default)
{
    wc_verdict_t v = run(mini, "het is slecht", NULL);
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_ANGRY);
    WC_CHECK(NEAR(v.score[WC_CLASS_ANGRY], 1.0f));
    WC_CHECK(has_reason(&v, "angry:any:slecht"));
    v = run(mini, "gewoon een mededeling", NULL);
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_NEUTRAL); /* neutral_bias wins ties and empties */
    WC_CHECK_EQ_INT(v.nreasons, 0);
    v = run(mini, "", NULL);
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_NEUTRAL);
    WC_CHECK(v.confidence > 0 && v.confidence <= 1);
}

WC_TEST(negation_nl_en)
{
    wc_verdict_t v = run(mini, "de service is niet goed", NULL);
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_ANGRY);
    WC_CHECK(NEAR(v.score[WC_CLASS_HAPPY], 0));
    WC_CHECK(has_reason(&v, "neg:nl:niet"));
    v = run(mini, "the service is not great", NULL);
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_ANGRY);
    WC_CHECK(has_reason(&v, "neg:en:not"));
    /* "not bad" is faint praise: half the weight to happy (negation_flip_angry) */
    v = run(mini, "the service is not bad", NULL);
    WC_CHECK(NEAR(v.score[WC_CLASS_HAPPY], 0.5f));
    WC_CHECK(NEAR(v.score[WC_CLASS_ANGRY], 0));
    /* a Dutch negator does not apply to an English text */
    v = run(mini, "niet the great", "en");
    WC_CHECK(NEAR(v.score[WC_CLASS_HAPPY], 1.0f));
    /* negation ends at a clause boundary and after negation_window tokens */
    v = run(mini, "niet. goed", "nl");
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_HAPPY);
    v = run(mini, "niet een twee drie vier goed", "nl");
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_HAPPY);
    /* a phrase wins over its words: "nog steeds niet" is one angry rule,
     * "niet" inside it is not a negator */
    v = run(mini, "nog steeds niet goed", "nl");
    WC_CHECK(has_reason(&v, "angry:any:nog steeds niet"));
    WC_CHECK(!has_reason(&v, "neg:nl:niet"));
}

/* Longest phrase wins; a prefix of a longer phrase that is no phrase itself
 * never matches (rules.c stores such prefixes so that matching can stop at
 * the first word sequence no phrase starts with). */
WC_TEST(phrases_longest_match)
{
    static const char *const P = "language = any\n"
                                 "[angry]\n"
                                 "aa bb = 1\naa bb cc dd = 4\nxx yy zz = 3\nzz = 0.25\n"
                                 "pp qq rr = 5\npp qq rr ss = 6\n"
                                 "[happy]\n"
                                 "bb = 0.5\ncc = 0.5\nyy = 0.5\n";
    char err[512];
    wc_rules_file_t f = {"phr.rules", P, strlen(P)};
    wc_rules_t *r = wc_rules_load_mem(&f, 1, NULL, NULL, err, sizeof(err));
    WC_CHECK(r != NULL);
    if (!r)
        return;
    wc_verdict_t v = run(r, "aa bb cc dd", NULL);
    WC_CHECK(NEAR(v.score[WC_CLASS_ANGRY], 4));
    WC_CHECK(NEAR(v.score[WC_CLASS_HAPPY], 0));
    WC_CHECK(has_reason(&v, "angry:any:aa bb cc dd"));
    v = run(r, "aa bb cc ee", NULL); /* "aa bb cc" is only a prefix: "aa bb" + "cc" */
    WC_CHECK(NEAR(v.score[WC_CLASS_ANGRY], 1));
    WC_CHECK(NEAR(v.score[WC_CLASS_HAPPY], 0.5f));
    WC_CHECK(has_reason(&v, "angry:any:aa bb"));
    v = run(r, "aa bb cc", NULL);
    WC_CHECK(NEAR(v.score[WC_CLASS_ANGRY], 1));
    WC_CHECK(NEAR(v.score[WC_CLASS_HAPPY], 0.5f));
    v = run(r, "xx yy zz", NULL); /* no 2-word phrase "xx yy": the 3-word one still matches */
    WC_CHECK(NEAR(v.score[WC_CLASS_ANGRY], 3));
    WC_CHECK(NEAR(v.score[WC_CLASS_HAPPY], 0));
    v = run(r, "xx yy qq zz", NULL);
    WC_CHECK(NEAR(v.score[WC_CLASS_ANGRY], 0.25f));
    WC_CHECK(NEAR(v.score[WC_CLASS_HAPPY], 0.5f));
    v = run(r, "xx yy. zz", NULL); /* a clause break ends a phrase */
    WC_CHECK(NEAR(v.score[WC_CLASS_ANGRY], 0.25f));
    WC_CHECK(NEAR(v.score[WC_CLASS_HAPPY], 0.5f));
    v = run(r, "pp qq rr ss", NULL);
    WC_CHECK(NEAR(v.score[WC_CLASS_ANGRY], 6));
    v = run(r, "pp qq rr", NULL); /* a phrase that a longer one continues */
    WC_CHECK(NEAR(v.score[WC_CLASS_ANGRY], 5));
    v = run(r, "pp qq rr tt aa bb cc dd", NULL);
    WC_CHECK(NEAR(v.score[WC_CLASS_ANGRY], 9));
    wc_rules_release(r);
}

WC_TEST(intensifier_and_contrast)
{
    wc_verdict_t v = run(mini, "heel slecht", NULL);
    WC_CHECK(NEAR(v.score[WC_CLASS_ANGRY], 2.0f));
    WC_CHECK(has_reason(&v, "int:any:heel"));
    v = run(mini, "very bad", NULL);
    WC_CHECK(NEAR(v.score[WC_CLASS_ANGRY], 2.0f));
    /* contrast: before x0.5, after x1.5 */
    v = run(mini, "goed maar slecht", NULL);
    WC_CHECK(NEAR(v.score[WC_CLASS_HAPPY], 0.5f));
    WC_CHECK(NEAR(v.score[WC_CLASS_ANGRY], 1.5f));
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_ANGRY);
    v = run(mini, "bad but great", NULL);
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_HAPPY);
}

WC_TEST(emoji_and_hashtags)
{
    wc_verdict_t v = run(mini, "modem kapot 😡", NULL);
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_ANGRY);
    WC_CHECK(has_reason(&v, "angry:any:😡"));
    v = run(mini, "nieuwe telefoon 😍", NULL);
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_HAPPY);
    /* "#fail" entry matches the hashtag only; plain word entries also match
     * as hashtags */
    v = run(mini, "dikke #fail", NULL);
    WC_CHECK(has_reason(&v, "angry:any:#fail"));
    v = run(mini, "we fail", NULL);
    WC_CHECK_EQ_INT(v.nreasons, 0);
    v = run(mini, "#waardeloos", NULL);
    WC_CHECK(has_reason(&v, "angry:any:waardeloos"));
}

WC_TEST(question_vs_complaint)
{
    wc_verdict_t v = run(mini, "Hoe kan ik mijn pakket volgen?", NULL);
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_QUESTION);
    WC_CHECK(has_reason(&v, "question:any:hoe"));
    WC_CHECK(has_reason(&v, "question:any:?"));
    /* "start" cue in mid-clause counts only question_mid_factor (0.3) */
    v = run(mini, "ik weet hoe", NULL);
    WC_CHECK(NEAR(v.score[WC_CLASS_QUESTION], 0.3f));
    v = run(mini, "How do I reset my modem?", NULL);
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_QUESTION);
    /* a question inside a complaint is damped: the complaint wins */
    v = run(mini, "Waardeloos 😡 hoe kan dit?", NULL);
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_ANGRY);
    WC_CHECK(has_reason(&v, "signal:question_in_complaint"));
}

WC_TEST(language_detection)
{
    wc_verdict_t v = run(mini, "de levering van het pakket", NULL);
    WC_CHECK_STR(v.lang, "nl");
    WC_CHECK(v.lang_detected);
    v = run(mini, "the delivery of my package is late", NULL);
    WC_CHECK_STR(v.lang, "en");
    v = run(mini, "storing", NULL);
    WC_CHECK_STR(v.lang, "und");
    v = run(mini, "whatever", "nl-NL");
    WC_CHECK_STR(v.lang, "nl");
    WC_CHECK(!v.lang_detected);
    v = run(mini, "whatever", "de");
    WC_CHECK_STR(v.lang, "und");
}

WC_TEST(topics_priority_route_hint)
{
    wc_verdict_t v = run(mini, "de levering van het pakket is slecht", NULL);
    WC_CHECK(has_topic(&v, "delivery"));
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_ANGRY);
    WC_CHECK_EQ_INT(v.prio_urgency, 45 + 10); /* urgency.angry + topic urgency */
    WC_CHECK_STR(v.lang, "nl");
    WC_CHECK_STR(v.reply_hint, "BEGRIP");     /* angry.nl */
    WC_CHECK_STR(v.route_topic, "cases.complaints");
    v = run(mini, "the delivery is bad", NULL);
    WC_CHECK_STR(v.reply_hint, "EMPATHISE");
    /* routing table: first match wins */
    v = run(mini, "hoe lang duurt de storing?", NULL);
    WC_CHECK_EQ_INT(v.cls, WC_CLASS_QUESTION);
    WC_CHECK_STR(v.route_topic, "cases.complaints");
    WC_CHECK_EQ_INT(v.route_id, 0);
    WC_CHECK_STR(v.reply_hint, "ANSWER");
    v = run(mini, "hoe lang duurt de levering?", NULL);
    WC_CHECK_STR(v.route_topic, "cases.questions");
    /* built-in hint when the rules give none */
    v = run(mini, "goed", NULL);
    WC_CHECK(v.reply_hint && strstr(v.reply_hint, "Thank"));
    const char *const *outs = wc_rules_output_topics(mini);
    int n = 0, reviews = 0;
    for (; outs[n]; n++)
        reviews += !strcmp(outs[n], "cases.reviews");
    WC_CHECK_EQ_INT(n, 5);
    WC_CHECK_EQ_INT(reviews, 1);
}

WC_TEST(priority_parts)
{
    wc_verdict_t v;
    wc_mention_t m = mk("slecht", NULL);
    wc_classify(mini, C, &m, m.created_at_ms, &v);
    WC_CHECK_EQ_INT(v.prio_reach, 0);
    WC_CHECK_EQ_INT(v.prio_verified, 0);
    WC_CHECK_EQ_INT(v.prio_aging, 0);
    WC_CHECK_EQ_INT(v.sla_due_ms, m.created_at_ms + 3600 * 1000);
    WC_CHECK_EQ_INT(v.priority, 45);
    /* reach is log-scaled and capped: a celebrity cannot take the scale */
    m.author_followers = 40000;
    wc_classify(mini, C, &m, m.created_at_ms, &v);
    int reach_40k = v.prio_reach;
    WC_CHECK(reach_40k > 10 && reach_40k <= 15);
    m.author_followers = 100000000;
    wc_classify(mini, C, &m, m.created_at_ms, &v);
    WC_CHECK_EQ_INT(v.prio_reach, 15);
    /* verified and VIP, capped */
    m.author_followers = 0;
    m.author_verified = true;
    wc_classify(mini, C, &m, m.created_at_ms, &v);
    WC_CHECK_EQ_INT(v.prio_verified, 5);
    m.author_handle = (wc_str_t){"@BigMouth", 9};
    wc_classify(mini, C, &m, m.created_at_ms, &v);
    WC_CHECK(v.is_vip);
    WC_CHECK(has_reason(&v, "vip:@bigmouth"));
    WC_CHECK_EQ_INT(v.prio_verified, 10); /* 5 + 7 capped at verified_max */
    m.author_handle = (wc_str_t){NULL, 0};
    m.author_verified = false;
    m.author_id = (wc_str_t){"u-vip", 5};
    wc_classify(mini, C, &m, m.created_at_ms, &v);
    WC_CHECK(v.is_vip);
    WC_CHECK_EQ_INT(v.prio_verified, 5); /* priority.vip default */
    /* SLA aging: an ordinary customer waiting 30 min of a 1 h SLA rises by
     * half of aging_max; at/after the deadline by aging_max */
    m = mk("slecht", NULL);
    wc_classify(mini, C, &m, m.created_at_ms + 1800 * 1000, &v);
    WC_CHECK_EQ_INT(v.prio_aging, 15);
    wc_classify(mini, C, &m, m.created_at_ms + 10 * 3600 * 1000LL, &v);
    WC_CHECK_EQ_INT(v.prio_aging, 30);
    WC_CHECK_EQ_INT(v.priority, 75);
    /* an aged ordinary complaint outranks a fresh one from a big account */
    wc_mention_t big = mk("slecht", NULL);
    big.author_followers = 1000000;
    big.author_verified = true;
    wc_verdict_t vb;
    wc_classify(mini, C, &big, big.created_at_ms, &vb);
    WC_CHECK(v.priority > vb.priority);
    /* happy has SLA none: no due time, no aging */
    m = mk("goed", NULL);
    wc_classify(mini, C, &m, m.created_at_ms + 10 * 3600 * 1000LL, &v);
    WC_CHECK_EQ_INT(v.sla_due_ms, 0);
    WC_CHECK_EQ_INT(v.prio_aging, 0);
    /* review channel route */
    m = mk("slecht", NULL);
    m.channel = WC_CH_REVIEW;
    wc_classify(mini, C, &m, m.created_at_ms, &v);
    WC_CHECK_STR(v.route_topic, "cases.reviews");
}

WC_TEST(reasons_are_bounded)
{
    char text[4096] = "";
    for (int i = 0; i < 40; i++)
        strcat(text, "slecht goed 😡 😍 pakket storing hoe? heel niet maar ");
    wc_verdict_t v = run(mini, text, NULL);
    WC_CHECK(v.nreasons <= WC_VERDICT_MAX_REASONS);
    WC_CHECK(v.ntopics <= WC_VERDICT_MAX_TOPICS);
    WC_CHECK(v.priority <= 100);
}

/* ---- the shipped rules: end-to-end nl and en ---- */

typedef struct ex {
    const char *text;
    wc_class_t cls;
    const char *lang; /* expected detected language */
} ex_t;

WC_TEST(shipped_rules_examples)
{
    if (!real) {
        WC_FAIL_AT(__FILE__, __LINE__, "shipped rules not loaded");
        return;
    }
    static const ex_t ex[] = {
        {"Mijn bestelling is nog steeds niet geleverd, echt waardeloos dit 😡", WC_CLASS_ANGRY, "nl"},
        {"Ik ben helemaal niet tevreden over jullie klantenservice", WC_CLASS_ANGRY, "nl"},
        {"Hoe kan ik mijn factuur downloaden?", WC_CLASS_QUESTION, "nl"},
        {"Wanneer is de storing in Utrecht opgelost?", WC_CLASS_QUESTION, "nl"},
        {"Super snel geholpen, bedankt! 👍", WC_CLASS_HAPPY, "nl"},
        {"Ik heb vandaag mijn nieuwe telefoon opgehaald in de winkel.", WC_CLASS_NEUTRAL, "nl"},
        {"My order still hasn't arrived, this is ridiculous #fail", WC_CLASS_ANGRY, "en"},
        {"Not great, the app keeps crashing", WC_CLASS_ANGRY, "en"},
        {"How can I change the address on my account?", WC_CLASS_QUESTION, "en"},
        {"Thanks for the quick help, you guys are awesome!", WC_CLASS_HAPPY, "en"},
        {"I picked up the new phone at the store today.", WC_CLASS_NEUTRAL, "en"},
    };
    for (size_t i = 0; i < WC_ARRAY_SIZE(ex); i++) {
        wc_verdict_t v = run(real, ex[i].text, NULL);
        if (v.cls != ex[i].cls || strcmp(v.lang, ex[i].lang))
            WC_FAIL_AT(__FILE__, __LINE__, "\"%s\": got %s/%s, want %s/%s", ex[i].text,
                       wc_class_name(v.cls), v.lang, wc_class_name(ex[i].cls), ex[i].lang);
        WC_CHECK(v.reply_hint && v.reply_hint[0]);
        WC_CHECK(v.route_topic && v.route_topic[0]);
    }
    wc_verdict_t v = run(real, "Internet ligt eruit, storing sinds vanochtend", NULL);
    WC_CHECK(has_topic(&v, "outage"));
    v = run(real, "Waar blijft mijn pakket?", NULL);
    WC_CHECK(has_topic(&v, "delivery"));
    v = run(real, "Why was I charged twice on my bill?", NULL);
    WC_CHECK(has_topic(&v, "billing"));
}

/* ---- `webcared classify`: lines in, one case (or rejection) per line out ---- */

static char *run_cli_classify(const char *input, int *rc)
{
    char in_path[] = "/tmp/wc_cls_in_XXXXXX", out_path[] = "/tmp/wc_cls_out_XXXXXX";
    int fin = mkstemp(in_path), fout = mkstemp(out_path);
    WC_CHECK(fin >= 0 && fout >= 0);
    WC_CHECK(write(fin, input, strlen(input)) == (ssize_t)strlen(input));
    close(fin);
    const char *src = getenv("WC_SOURCE_DIR");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/rules", src ? src : ".");
    char *argv[] = {"classify", "--rules", dir, "--now", "2023-11-14T22:43:20Z", "--explain",
                    in_path, NULL};
    fflush(stdout);
    int saved = dup(1);
    dup2(fout, 1);
    *rc = wc_cli_classify(7, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    off_t n = lseek(fout, 0, SEEK_END);
    char *buf = calloc(1, (size_t)n + 1);
    WC_CHECK(pread(fout, buf, (size_t)n, 0) == (ssize_t)n);
    close(fout);
    unlink(in_path);
    unlink(out_path);
    return buf;
}

WC_TEST(cli_classify_dry_run)
{
    int rc;
    char *out = run_cli_classify(
        "{\"id\":\"a\",\"channel\":\"twitter\",\"brand\":\"acme\",\"author\":{\"id\":\"u\"},"
        "\"text\":\"Hoe kan ik mijn factuur downloaden?\",\"created_at\":1700000000000}\n"
        "{not json\n"
        "\n"
        "{\"id\":\"b\",\"channel\":\"review\",\"brand\":\"acme\",\"author\":{\"id\":\"u\"},"
        "\"text\":\"Not great, the app keeps crashing #fail\",\"created_at\":\"2023-11-14T22:13:20Z\"}\n",
        &rc);
    WC_CHECK_EQ_INT(rc, 1); /* some lines rejected */
    char *lines[8] = {0};
    int n = 0;
    for (char *save = NULL, *l = strtok_r(out, "\n", &save); l && n < 8; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    WC_CHECK_EQ_INT(n, 4); /* one output line per input line */
    if (n == 4) {
        WC_CHECK(strstr(lines[0], "\"event\":\"created\"") && strstr(lines[0], "\"class\":\"question\""));
        WC_CHECK(strstr(lines[0], "\"topics\":[\"billing\"]"));
        WC_CHECK(strstr(lines[0], "\"reasons\":[") && strstr(lines[0], "\"reply_hint\":"));
        WC_CHECK(strstr(lines[0], "\"explain\":{\"scores\":{"));
        WC_CHECK(strstr(lines[1], "\"event\":\"rejected\",\"line\":2,\"reason\":\"bad_json\""));
        WC_CHECK(strstr(lines[2], "\"line\":3,\"reason\":\"empty\""));
        WC_CHECK(strstr(lines[3], "\"class\":\"angry\"") && strstr(lines[3], "\"lang\":\"en\""));
        /* 30 min of a 24h review SLA: aging part 1 (of 30) */
        WC_CHECK(strstr(lines[3], "\"aging\":1}"));
    }
    free(out);
    out = run_cli_classify("", &rc);
    WC_CHECK_EQ_INT(rc, 0);
    WC_CHECK_EQ_INT(strlen(out), 0);
    free(out);
}

int main(void)
{
    char err[512];
    wc_rules_file_t f = {"mini.rules", MINI, strlen(MINI)};
    mini = wc_rules_load_mem(&f, 1, NULL, NULL, err, sizeof(err));
    if (!mini) {
        fprintf(stderr, "mini rules: %s\n", err);
        return 1;
    }
    const char *src = getenv("WC_SOURCE_DIR");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/rules", src ? src : ".");
    real = wc_rules_load(dir, err, sizeof(err));
    if (!real)
        fprintf(stderr, "shipped rules (%s): %s\n", dir, err);
    C = wc_classifier_create();
    int rc = wc_test_run_all();
    wc_classifier_destroy(C);
    wc_rules_release(mini);
    if (real)
        wc_rules_release(real);
    return rc;
}
