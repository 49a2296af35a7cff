/*
 * cli_rules.c - `webcared classify` (dry run) and `webcared check-rules`.
 *
 * What: the two commands a webcare lead uses to try rule edits before a
 * SIGHUP: check-rules compiles a rules directory and lists every problem
 * with file:line; classify runs decode + classify on JSON lines and prints
 * the case documents the daemon would publish (same wc_emit_case()), with
 * no Kafka, no Redis and no dedup (every mention is a new case).
 *
 * Threads: single-threaded, main thread only. Memory: one arena reset per
 * line, one JSON writer, one classifier; the rules snapshot is released at
 * exit. Mention text is printed only on stdout as part of the case (the
 * user's own input); diagnostics on stderr never contain it.
 */
#include "daemon/cli_rules.h"
#include "pipeline/arena.h"
#include "pipeline/classify.h"
#include "pipeline/dedup.h"
#include "pipeline/emit.h"
#include "pipeline/jsonw.h"
#include "pipeline/mention.h"
#include "wc_version.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_diag(void *opaque, int is_error, const char *msg)
{
    int *counts = opaque;
    counts[is_error ? 0 : 1]++;
    fprintf(stderr, "%s\n", msg);
}

/* ---- check-rules ---------------------------------------------------------- */

int wc_cli_check_rules(int argc, char **argv)
{
    const char *dir = WC_RULES_DIR_DEFAULT;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: webcared check-rules [--quiet] [DIR]   (default DIR: %s)\n",
                   WC_RULES_DIR_DEFAULT);
            return 0;
        } else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "webcared check-rules: unknown option '%s'\n", argv[i]);
            return 2;
        } else {
            dir = argv[i];
        }
    }
    int counts[2] = {0, 0}; /* errors, warnings */
    char errstr[1024];
    wc_rules_t *r = wc_rules_load_diag(dir, print_diag, counts, errstr, sizeof(errstr));
    if (!r) {
        fprintf(stderr, "%s: %d error%s, %d warning%s: rules NOT valid\n", dir, counts[0],
                counts[0] == 1 ? "" : "s", counts[1], counts[1] == 1 ? "" : "s");
        return 1;
    }
    if (!quiet) {
        wc_rules_stats_t st;
        wc_rules_stats(r, &st);
        printf("%s: ok (version %s, %d warning%s)\n", dir, wc_rules_version(r), counts[1],
               counts[1] == 1 ? "" : "s");
        printf("  files %u, entries %u (any %u, nl %u, en %u), phrases %u, stopwords %u\n",
               st.files, st.entries, st.entries_lang[0], st.entries_lang[1], st.entries_lang[2],
               st.phrases, st.stopwords);
        printf("  topics %u, routes %u, vip %u\n", st.topics, st.routes, st.vip);
        printf("  output topics (must exist in Kafka):");
        for (const char *const *t = wc_rules_output_topics(r); *t; t++)
            printf(" %s", *t);
        printf("\n");
    }
    wc_rules_release(r);
    return 0;
}

/* ---- classify ------------------------------------------------------------- */

typedef struct cls_run {
    wc_rules_t *rules;
    wc_classifier_t *cls;
    wc_arena_t arena;
    wc_jsonw_t w;
    wc_decode_limits_t lim;
    int64_t now_ms; /* 0 = wall clock per line */
    int explain;
    unsigned long lines, rejected;
} cls_run_t;

static void emit_rejected(cls_run_t *c, unsigned long line, const wc_decode_err_t *e)
{
    wc_jsonw_lit(&c->w, "{\"event\":\"rejected\",\"line\":");
    wc_jsonw_u64(&c->w, line);
    wc_jsonw_lit(&c->w, ",\"reason\":");
    wc_jsonw_cstr(&c->w, wc_dlq_reason_name(e->reason));
    wc_jsonw_lit(&c->w, ",\"field\":");
    if (e->field)
        wc_jsonw_cstr(&c->w, e->field);
    else
        wc_jsonw_lit(&c->w, "null");
    wc_jsonw_lit(&c->w, ",\"offset\":");
    wc_jsonw_u64(&c->w, e->offset);
    wc_jsonw_lit(&c->w, ",\"detail\":");
    wc_jsonw_cstr(&c->w, e->detail);
    wc_jsonw_char(&c->w, '}');
}

static void classify_line(cls_run_t *c, const char *src, unsigned long line, const char *buf,
                          size_t len)
{
    wc_mention_t m;
    wc_decode_err_t e;
    memset(&e, 0, sizeof(e));
    wc_arena_reset(&c->arena);
    wc_jsonw_reset(&c->w);
    int rc = len ? wc_mention_decode(&m, buf, len, &c->lim, &c->arena, &e) : WC_ERR_PARSE;
    if (rc) {
        if (!len) {
            e.reason = WC_DLQ_EMPTY;
            snprintf(e.detail, sizeof(e.detail), "empty line");
        } else if (e.reason == WC_DLQ_NONE) {
            e.reason = WC_DLQ_TOO_LARGE;
            snprintf(e.detail, sizeof(e.detail), "out of memory: %s", wc_strerror(rc));
        }
        fprintf(stderr, "%s:%lu: rejected: %s%s%s: %s\n", src, line, wc_dlq_reason_name(e.reason),
                e.field ? " " : "", e.field ? e.field : "", e.detail);
        c->rejected++;
        emit_rejected(c, line, &e);
    } else {
        int64_t now = c->now_ms ? c->now_ms : wc_now_ms();
        wc_verdict_t v;
        wc_classify(c->rules, c->cls, &m, now, &v);
        wc_dedup_result_t d;
        memset(&d, 0, sizeof(d));
        d.kind = d.first_kind = WC_DEDUP_NEW;
        wc_case_id(m.brand.p, m.brand.len, m.id.p, m.id.len, d.case_id);
        d.orig_id_hash = d.case_id[0];
        d.distinct_authors = 1;
        d.reach = m.author_followers + m.reshares;
        d.route_id = v.route_id;
        wc_case_ctx_t cc = {.m = &m,
                            .v = &v,
                            .d = &d,
                            .source_topic = src,
                            .partition = 0,
                            .offset = (int64_t)line,
                            .now_ms = now};
        wc_emit_case(&c->w, &cc);
        if (c->explain && c->w.len && c->w.buf[c->w.len - 1] == '}') {
            c->w.len--; /* reopen the top-level object */
            wc_jsonw_lit(&c->w, ",\"explain\":{\"scores\":{");
            for (int k = 0; k < WC_CLASS__COUNT; k++) {
                if (k)
                    wc_jsonw_char(&c->w, ',');
                wc_jsonw_char(&c->w, '"');
                wc_jsonw_raw(&c->w, wc_class_name((wc_class_t)k),
                             strlen(wc_class_name((wc_class_t)k)));
                wc_jsonw_lit(&c->w, "\":");
                wc_jsonw_fixed(&c->w, v.score[k], 3);
            }
            wc_jsonw_lit(&c->w, "},\"route_id\":");
            wc_jsonw_u64(&c->w, v.route_id);
            wc_jsonw_lit(&c->w, ",\"is_vip\":");
            if (v.is_vip)
                wc_jsonw_lit(&c->w, "true");
            else
                wc_jsonw_lit(&c->w, "false");
            wc_jsonw_lit(&c->w, ",\"rules_version\":");
            wc_jsonw_cstr(&c->w, wc_rules_version(c->rules));
            wc_jsonw_lit(&c->w, "}}");
        }
    }
    wc_jsonw_char(&c->w, '\n');
    if (wc_jsonw_failed(&c->w)) {
        fprintf(stderr, "%s:%lu: out of memory writing the case\n", src, line);
        c->rejected++;
        return;
    }
    fwrite(c->w.buf, 1, c->w.len, stdout);
}

static int classify_stream(cls_run_t *c, FILE *fp, const char *src)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long line = 0;
    while ((n = getline(&buf, &cap, fp)) >= 0) {
        size_t len = (size_t)n;
        line++;
        c->lines++;
        if (len && buf[len - 1] == '\n')
            len--;
        if (len && buf[len - 1] == '\r')
            len--;
        classify_line(c, src, line, buf, len);
    }
    int err = ferror(fp);
    free(buf);
    if (err) {
        fprintf(stderr, "webcared classify: %s: read error\n", src);
        return -1;
    }
    return 0;
}

static void classify_usage(FILE *fp)
{
    fprintf(fp,
            "usage: webcared classify [--rules DIR] [--now TIME] [--explain] [FILE...]\n"
            "  Reads one mention JSON per line (stdin when no FILE) and prints one case JSON\n"
            "  per line (rejected lines: {\"event\":\"rejected\",...}). No Kafka, no Redis.\n"
            "  --rules DIR   rules directory (default %s)\n"
            "  --now TIME    clock for SLA aging: RFC 3339 or epoch ms (default: wall clock)\n"
            "  --explain     add \"explain\": raw class scores, route id, rules version\n",
            WC_RULES_DIR_DEFAULT);
}

int wc_cli_classify(int argc, char **argv)
{
    static const struct option opts[] = {{"rules", required_argument, NULL, 'r'},
                                         {"now", required_argument, NULL, 'n'},
                                         {"explain", no_argument, NULL, 'x'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = WC_RULES_DIR_DEFAULT;
    cls_run_t c;
    memset(&c, 0, sizeof(c));
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "r:n:xh", opts, NULL)) != -1) {
        switch (opt) {
        case 'r': dir = optarg; break;
        case 'n': {
            char *end;
            errno = 0;
            long long ms = strtoll(optarg, &end, 10);
            if (*optarg && !*end && !errno && ms > 0) {
                c.now_ms = ms;
            } else if (wc_parse_rfc3339(optarg, strlen(optarg), &c.now_ms) || c.now_ms <= 0) {
                fprintf(stderr, "webcared classify: --now: expected RFC 3339 or epoch ms\n");
                return 2;
            }
            break;
        }
        case 'x': c.explain = 1; break;
        case 'h': classify_usage(stdout); return 0;
        default: classify_usage(stderr); return 2;
        }
    }
    char errstr[1024];
    int counts[2] = {0, 0};
    c.rules = wc_rules_load_diag(dir, print_diag, counts, errstr, sizeof(errstr));
    if (!c.rules) {
        fprintf(stderr, "webcared classify: rules not loaded (%d error%s)\n", counts[0],
                counts[0] == 1 ? "" : "s");
        return 2;
    }
    int rc = 2;
    c.cls = wc_classifier_create();
    wc_arena_init(&c.arena, 64 * 1024);
    wc_jsonw_init(&c.w, 4096);
    wc_decode_limits_default(&c.lim);
    if (!c.cls) {
        fprintf(stderr, "webcared classify: out of memory\n");
        goto out;
    }
    rc = 0;
    if (optind == argc) {
        if (classify_stream(&c, stdin, "stdin"))
            rc = 2;
    }
    for (int i = optind; i < argc && rc == 0; i++) {
        FILE *fp = fopen(argv[i], "r");
        if (!fp) {
            fprintf(stderr, "webcared classify: %s: %s\n", argv[i], strerror(errno));
            rc = 2;
            break;
        }
        if (classify_stream(&c, fp, argv[i]))
            rc = 2;
        fclose(fp);
    }
    if (fflush(stdout)) {
        fprintf(stderr, "webcared classify: write error: %s\n", strerror(errno));
        rc = 2;
    }
    if (rc == 0 && c.rejected) {
        fprintf(stderr, "webcared classify: %lu of %lu lines rejected\n", c.rejected, c.lines);
        rc = 1;
    }
out:
    wc_jsonw_deinit(&c.w);
    wc_arena_deinit(&c.arena);
    wc_classifier_destroy(c.cls);
    wc_rules_release(c.rules);
    return rc;
}
