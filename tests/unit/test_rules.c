/*
 * test_rules.c - the rule-file parser and compiler (pipeline/rules.c).
 *
 *  - the shipped rules/ directory loads, with sane counters;
 *  - every kind of mistake is reported as "file:line: message" (table);
 *  - all errors are reported, not just the first; errstr counts the rest;
 *  - reload: a valid directory loads; an invalid edit fails and leaves the
 *    snapshot in use untouched and usable; a fixed edit loads a new version;
 *  - refcounting keep/release;
 *  - fuzz-style: thousands of deterministic mutations of the shipped files
 *    (byte flips, truncation, line shuffles, junk) never crash, and a
 *    failure always names a file and line.
 */
#include "daemon/cli_rules.h"
#include "pipeline/classify.h"
#include "wc_test.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static char rules_dir[4096];

/* ---- helpers ---- */

typedef struct diags {
    int errors, warnings;
    char first[600];
} diags_t;

static void on_diag(void *opaque, int is_error, const char *msg)
{
    diags_t *d = opaque;
    if (is_error && d->errors++ == 0)
        snprintf(d->first, sizeof(d->first), "%s", msg);
    if (!is_error)
        d->warnings++;
}

static wc_rules_t *load_str(const char *text, char *err, size_t errsz, diags_t *d)
{
    wc_rules_file_t f = {"t.rules", text, strlen(text)};
    return wc_rules_load_mem(&f, 1, on_diag, d, err, errsz);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    b[*len] = 0;
    fclose(f);
    return b;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    WC_CHECK(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    char p[4200];
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') {
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(dir);
}

/* ---- tests ---- */

WC_TEST(shipped_rules_load)
{
    char err[512];
    diags_t d = {0};
    wc_rules_t *r = wc_rules_load_diag(rules_dir, on_diag, &d, err, sizeof(err));
    if (!r) {
        WC_FAIL_AT(__FILE__, __LINE__, "shipped rules: %s", err);
        return;
    }
    WC_CHECK_EQ_INT(d.errors, 0);
    wc_rules_stats_t st;
    wc_rules_stats(r, &st);
    WC_CHECK(st.files >= 5);
    WC_CHECK(st.entries > 1000);
    WC_CHECK(st.entries_lang[1] > 200 && st.entries_lang[2] > 200);
    WC_CHECK(st.phrases > 50);
    WC_CHECK(st.stopwords > 50);
    WC_CHECK(st.topics >= 8);
    WC_CHECK_EQ_INT(strlen(wc_rules_version(r)), 16);
    int n = 0;
    for (const char *const *t = wc_rules_output_topics(r); *t; t++)
        n++;
    WC_CHECK(n >= 4);
    /* same contents, same version */
    wc_rules_t *r2 = wc_rules_load(rules_dir, err, sizeof(err));
    WC_CHECK(r2 && !strcmp(wc_rules_version(r), wc_rules_version(r2)));
    wc_rules_release(r2);
    wc_rules_release(r);
}

WC_TEST(minimal_and_defaults)
{
    char err[512];
    diags_t d = {0};
    /* an empty (comment-only) file is valid: built-in defaults apply */
    wc_rules_t *r = load_str("# nothing\n\n", err, sizeof(err), &d);
    WC_CHECK(r != NULL);
    if (r) {
        const char *const *t = wc_rules_output_topics(r);
        WC_CHECK_STR(t[0], "cases.praise");
        wc_rules_release(r);
    }
    /* comments, CRLF, BOM, "#tag" entries vs "# comment" */
    r = load_str("\xEF\xBB\xBFlanguage = nl\r\n[angry] # comment\r\n#fail = 2 # why\r\n"
                 "waardeloos   =   2.5\r\n## double\r\n",
                 err, sizeof(err), &d);
    WC_CHECK(r != NULL);
    if (r) {
        wc_rules_stats_t st;
        wc_rules_stats(r, &st);
        WC_CHECK_EQ_INT(st.entries, 2);
        WC_CHECK_EQ_INT(st.entries_lang[1], 2);
        wc_rules_release(r);
    }
    WC_CHECK_EQ_INT(d.errors, 0);
    /* no files at all */
    r = wc_rules_load_mem(NULL, 0, NULL, NULL, err, sizeof(err));
    WC_CHECK(r == NULL);
    WC_CHECK(strstr(err, "no rule files") != NULL);
}

typedef struct bad {
    const char *text;
    const char *where; /* expected "t.rules:N:" */
    const char *what;  /* substring of the message */
} bad_t;

WC_TEST(errors_have_file_and_line)
{
    static const bad_t bad[] = {
        {"[angry]\nslecht = abc\n", "t.rules:2:", "not a number"},
        {"[angry]\nslecht = 11\n", "t.rules:2:", "out of range"},
        {"[angry]\nslecht = 1 loud\n", "t.rules:2:", "unknown option"},
        {"[angry]\nslecht =\n", "t.rules:2:", "missing weight"},
        {"\n[angri]\n", "t.rules:2:", "unknown section"},
        {"[angry\n", "t.rules:1:", "must end with ']'"},
        {"[]\n", "t.rules:1:", "empty section header"},
        {"[angry fr]\n", "t.rules:1:", "unknown language"},
        {"[angry]\n@jan = 1\n", "t.rules:2:", "@handles and URLs"},
        {"[angry]\na b c d e\n", "t.rules:2:", "max 4"},
        {"[angry]\n- -\n", "t.rules:2:", "contains no word"},
        {"[angry]\nslecht\n\nslecht = 2\n", "t.rules:4:", "duplicate entry"},
        {"[negators]\nniet = 2\n", "t.rules:2:", "take no weight"},
        {"[stopwords]\nde\n", "t.rules:1:", "needs a language"},
        {"[stopwords nl]\nde kat\n", "t.rules:2:", "single words"},
        {"[topic Bad-Name]\n", "t.rules:1:", "NAME must be"},
        {"[topic x urgency=500]\n", "t.rules:1:", "unknown topic option"},
        {"[routes]\nclass=angry\n", "t.rules:2:", "must end with '-> output.topic'"},
        {"[routes]\nclass=furious -> x\n", "t.rules:2:", "unknown class"},
        {"[routes]\ncolour=red -> x\n", "t.rules:2:", "unknown route condition"},
        {"[routes]\nclass=angry -> bad topic!\n", "t.rules:2:", "invalid output topic"},
        {"[routes]\n-> x\n", "t.rules:2:", "without conditions"},
        {"[routes]\nclass=angry class=happy -> x\n", "t.rules:2:", "given twice"},
        {"[routes]\n\ntopic=nosuch -> x\n", "t.rules:3:", "unknown topic 'nosuch'"},
        {"[routes]\nmin_priority=1.5 -> x\n", "t.rules:2:", "integer 0..100"},
        {"[default_routes]\nangry = a b\n", "t.rules:2:", "invalid output topic"},
        {"[default_routes]\nangry = a\nangry = b\n", "t.rules:3:", "already set"},
        {"[reply_hints]\nangry.fr = x\n", "t.rules:2:", "nl or en"},
        {"[reply_hints]\nmad = x\n", "t.rules:2:", "unknown class"},
        {"[sla]\nangry = 2 hours\n", "t.rules:2:", "duration"},
        {"[sla]\nangry = 31d\n", "t.rules:2:", "duration"},
        {"[sla]\nangry.fax = 1h\n", "t.rules:2:", "unknown channel"},
        {"[scoring]\ntemperature = 0\n", "t.rules:2:", "out of range"},
        {"[scoring]\nwarmth = 1\n", "t.rules:2:", "unknown key 'warmth'"},
        {"[priority]\nurgency.angry = 1\nurgency.angry = 2\n", "t.rules:3:", "already set"},
        {"[vip]\njan\n", "t.rules:2:", "'@handle' or 'id:AUTHOR_ID'"},
        {"[vip]\n@ja n\n", "t.rules:2:", "invalid character"},
        {"[vip]\n@jan = 500\n", "t.rules:2:", "0..100"},
        {"[vip]\n@jan\n@JAN\n", "t.rules:3:", "duplicate VIP"},
        {"langauge = nl\n", "t.rules:1:", "unknown key"},
        {"language = fr\n", "t.rules:1:", "unknown language"},
        {"[angry]\nbad\xff\n", "t.rules:2:", "invalid UTF-8"},
        {"[angry]\n?!? x\n", "t.rules:2:", "on their own"},
        {"[vip]\n@a = 1\n[scoring]\nneutral_bias\n", "t.rules:4:", "key = value"},
    };
    for (size_t i = 0; i < WC_ARRAY_SIZE(bad); i++) {
        char err[512];
        diags_t d = {0};
        wc_rules_t *r = load_str(bad[i].text, err, sizeof(err), &d);
        if (r) {
            WC_FAIL_AT(__FILE__, __LINE__, "case %zu accepted: %s", i, bad[i].text);
            wc_rules_release(r);
            continue;
        }
        if (strncmp(err, bad[i].where, strlen(bad[i].where)) || !strstr(err, bad[i].what))
            WC_FAIL_AT(__FILE__, __LINE__, "case %zu: got \"%s\", want \"%s ...%s...\"", i, err,
                       bad[i].where, bad[i].what);
        WC_CHECK(d.errors >= 1);
        WC_CHECK(!strcmp(d.first, err) || strstr(err, "more error"));
    }
}

WC_TEST(all_errors_reported)
{
    char err[512];
    diags_t d = {0};
    wc_rules_t *r = load_str("[angry]\nx = bad\ny = 99\n[nope]\n[happy]\nz = -1\n", err,
                             sizeof(err), &d);
    WC_CHECK(r == NULL);
    WC_CHECK_EQ_INT(d.errors, 4);
    WC_CHECK(strncmp(err, "t.rules:2:", 10) == 0);
    WC_CHECK(strstr(err, "(and 3 more errors)") != NULL);
    /* an error in one file is reported with that file's name */
    wc_rules_file_t f[2] = {{"a.rules", "[angry]\nslecht\n", 15},
                            {"b.rules", "[happy]\n\ngoed = x\n", 18}};
    r = wc_rules_load_mem(f, 2, NULL, NULL, err, sizeof(err));
    WC_CHECK(r == NULL);
    WC_CHECK(strncmp(err, "b.rules:3:", 10) == 0);
    /* duplicate across files names both places */
    wc_rules_file_t g[2] = {{"a.rules", "[angry]\nslecht\n", 15},
                            {"b.rules", "[angry]\nslecht\n", 15}};
    r = wc_rules_load_mem(g, 2, NULL, NULL, err, sizeof(err));
    WC_CHECK(r == NULL);
    WC_CHECK(strstr(err, "b.rules:2:") && strstr(err, "first at a.rules:2"));
    /* same word in different sections / languages is fine */
    static const char same[] = "[angry nl]\nslecht\n[angry en]\nslecht\n[topic x]\nslecht\n";
    wc_rules_file_t h[1] = {{"a.rules", same, sizeof(same) - 1}};
    r = wc_rules_load_mem(h, 1, NULL, NULL, err, sizeof(err));
    WC_CHECK(r != NULL);
    wc_rules_release(r);
}

WC_TEST(directory_errors)
{
    char err[512];
    wc_rules_t *r = wc_rules_load("/nonexistent/rules-dir", err, sizeof(err));
    WC_CHECK(r == NULL);
    WC_CHECK(strstr(err, "cannot open rules directory") != NULL);
    char tmpl[] = "/tmp/wc_rules_empty_XXXXXX";
    char *dir = mkdtemp(tmpl);
    WC_CHECK(dir != NULL);
    if (!dir)
        return;
    write_file(dir, "README.txt", "not a rules file");
    r = wc_rules_load(dir, err, sizeof(err));
    WC_CHECK(r == NULL);
    WC_CHECK(strstr(err, "no *.rules files") != NULL);
    rm_dir(dir);
}

static wc_class_t classify_text(const wc_rules_t *r, const char *text)
{
    static wc_classifier_t *c;
    if (!c)
        c = wc_classifier_create();
    wc_mention_t m;
    memset(&m, 0, sizeof(m));
    m.id = (wc_str_t){"x", 1};
    m.brand = (wc_str_t){"b", 1};
    m.author_id = (wc_str_t){"u", 1};
    m.text = (wc_str_t){text, (uint32_t)strlen(text)};
    wc_verdict_t v;
    wc_classify(r, c, &m, 0, &v);
    return v.cls;
}

WC_TEST(reload_valid_then_invalid_keeps_old)
{
    char tmpl[] = "/tmp/wc_rules_reload_XXXXXX";
    char *dir = mkdtemp(tmpl);
    WC_CHECK(dir != NULL);
    if (!dir)
        return;
    char err[512];
    write_file(dir, "a.rules", "[angry]\nkapot = 2\n");
    write_file(dir, "b.rules", "[happy]\ntop = 2\n");
    wc_rules_t *cur = wc_rules_load(dir, err, sizeof(err));
    WC_CHECK(cur != NULL);
    if (!cur)
        goto out;
    char v1[32];
    snprintf(v1, sizeof(v1), "%s", wc_rules_version(cur));
    WC_CHECK_EQ_INT(classify_text(cur, "kapot"), WC_CLASS_ANGRY);

    /* a worker holds the snapshot while the main loop reloads */
    wc_rules_t *held = wc_rules_keep(cur);

    /* invalid edit: the reload fails with file:line, the old rules stay */
    write_file(dir, "b.rules", "[happy]\ntop = 2\nsuper = lots\n");
    wc_rules_t *next = wc_rules_load(dir, err, sizeof(err));
    WC_CHECK(next == NULL);
    WC_CHECK(strstr(err, "b.rules:3:") != NULL);
    WC_CHECK(strstr(err, "not a number") != NULL);
    WC_CHECK_EQ_INT(classify_text(cur, "top"), WC_CLASS_HAPPY);
    WC_CHECK_STR(wc_rules_version(cur), v1);

    /* valid edit: new snapshot, new version, new behaviour; swap */
    write_file(dir, "b.rules", "[happy]\ntop = 2\nsuper = 1.5\n");
    next = wc_rules_load(dir, err, sizeof(err));
    WC_CHECK(next != NULL);
    if (next) {
        WC_CHECK(strcmp(wc_rules_version(next), v1) != 0);
        WC_CHECK_EQ_INT(classify_text(next, "super"), WC_CLASS_HAPPY);
        WC_CHECK_EQ_INT(classify_text(cur, "super"), WC_CLASS_NEUTRAL);
        wc_rules_release(cur); /* main loop drops its reference */
        cur = next;
    }
    /* the worker's snapshot is still valid until it releases it */
    WC_CHECK_EQ_INT(classify_text(held, "kapot"), WC_CLASS_ANGRY);
    WC_CHECK_STR(wc_rules_version(held), v1);
    wc_rules_release(held);

    /* a file that is unreadable/not regular is an error, not a skip */
    char sub[4200];
    snprintf(sub, sizeof(sub), "%s/c.rules", dir);
    WC_CHECK_EQ_INT(mkdir(sub, 0700), 0);
    next = wc_rules_load(dir, err, sizeof(err));
    WC_CHECK(next == NULL);
    WC_CHECK(strstr(err, "c.rules") != NULL);
    rmdir(sub);
    wc_rules_release(cur);
out:
    rm_dir(dir);
}

WC_TEST(cli_check_rules)
{
    char *ok_argv[] = {"check-rules", "--quiet", rules_dir, NULL};
    WC_CHECK_EQ_INT(wc_cli_check_rules(3, ok_argv), 0);
    char tmpl[] = "/tmp/wc_rules_cli_XXXXXX";
    char *dir = mkdtemp(tmpl);
    WC_CHECK(dir != NULL);
    if (!dir)
        return;
    write_file(dir, "x.rules", "[angry]\nslecht = heel\n");
    char *bad_argv[] = {"check-rules", dir, NULL};
    /* the diagnostics go to stderr: "DIR/x.rules:2: weight 'heel' is not a number" */
    WC_CHECK_EQ_INT(wc_cli_check_rules(2, bad_argv), 1);
    char *opt_argv[] = {"check-rules", "--bogus", NULL};
    WC_CHECK_EQ_INT(wc_cli_check_rules(2, opt_argv), 2);
    rm_dir(dir);
}

/* ---- fuzz-style: mutations of the shipped files ---- */

static uint64_t rng_state = 0x853c49e6748fea9bULL;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((rng_state >> 33) % n);
}

static void check_failure_names_line(const char *err, const char *name)
{
    /* "name:LINE: ..." */
    size_t nl = strlen(name);
    if (strncmp(err, name, nl) || err[nl] != ':' || err[nl + 1] < '1' || err[nl + 1] > '9')
        WC_FAIL_AT(__FILE__, __LINE__, "error without file:line: \"%s\"", err);
}

WC_TEST(mutated_files_never_crash)
{
    static const char *const files[] = {"common.rules", "lexicon_en.rules", "lexicon_nl.rules",
                                        "routing.rules", "settings.rules", "topics.rules",
                                        "vip.rules"};
    static const char *const junk[] = {"[", "]", "=", " = 999", "->", "#", "\n", "\r", "\xff",
                                       "\xc3", "[topic", "[routes]\n", "[vip]\n", "@", "id:",
                                       " start", "\t", "😡", "?", "language = ", ",", "\0"};
    int accepted = 0, rejected = 0;
    for (size_t fi = 0; fi < WC_ARRAY_SIZE(files); fi++) {
        char path[4200];
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", rules_dir, files[fi]);
        char *orig = slurp(path, &len);
        WC_CHECK(orig != NULL);
        if (!orig)
            continue;
        char *buf = malloc(len + 4096);
        for (int it = 0; it < 300; it++) {
            size_t n = len;
            memcpy(buf, orig, len);
            int muts = 1 + (int)rnd(8);
            for (int k = 0; k < muts; k++) {
                size_t at = n ? rnd((uint32_t)n) : 0;
                switch (rnd(5)) {
                case 0: /* flip a byte */
                    if (n)
                        buf[at] = (char)rnd(256);
                    break;
                case 1: /* truncate */
                    n = at;
                    break;
                case 2: { /* insert junk */
                    const char *j = junk[rnd(WC_ARRAY_SIZE(junk))];
                    size_t jl = *j ? strlen(j) : 1;
                    if (n + jl < len + 4000) {
                        memmove(buf + at + jl, buf + at, n - at);
                        memcpy(buf + at, j, jl);
                        n += jl;
                    }
                    break;
                }
                case 3: { /* delete a span */
                    size_t dl = rnd(64);
                    if (at + dl > n)
                        dl = n - at;
                    memmove(buf + at, buf + at + dl, n - at - dl);
                    n -= dl;
                    break;
                }
                default: { /* duplicate a span (duplicate entries) */
                    size_t dl = rnd(200);
                    if (at + dl > n)
                        dl = n - at;
                    if (n + dl < len + 4000) {
                        memmove(buf + at + dl, buf + at, n - at);
                        n += dl;
                    }
                    break;
                }
                }
            }
            wc_rules_file_t f = {files[fi], buf, n};
            char err[512];
            diags_t d = {0};
            wc_rules_t *r = wc_rules_load_mem(&f, 1, on_diag, &d, err, sizeof(err));
            if (r) {
                accepted++;
                WC_CHECK_EQ_INT(d.errors, 0);
                /* a loaded snapshot classifies */
                classify_text(r, "niet goed, waardeloos 😡 hoe kan ik?");
                wc_rules_release(r);
            } else {
                rejected++;
                WC_CHECK(d.errors >= 1);
                check_failure_names_line(err, files[fi]);
            }
        }
        free(buf);
        free(orig);
    }
    fprintf(stderr, "mutations: %d accepted, %d rejected\n", accepted, rejected);
    WC_CHECK(accepted > 0 && rejected > 0);
}

int main(void)
{
    const char *src = getenv("WC_SOURCE_DIR");
    snprintf(rules_dir, sizeof(rules_dir), "%s/rules", src ? src : ".");
    return wc_test_run_all();
}
