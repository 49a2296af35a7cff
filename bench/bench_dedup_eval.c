/*
 * bench_dedup_eval.c - near-duplicate quality on real texts (issue 4):
 * the false-merge rate over distinct real texts and the recall on lightly
 * edited copies of them, for every max_hamming 0..8.
 *
 * Input: the TSV files of ../shared/eval (column "text"; evaluation data,
 * read at run time, never copied into the product). Texts are normalised
 * exactly like the daemon does (wc_normalize + wc_dedup_key_init).
 *
 * False merges: every text whose normalised token sequence is distinct
 * (exact duplicates removed first) is fed into a fresh table as its own
 * mention, all of one file under ONE brand (the worst case: a brand's whole
 * traffic in one window). A text reported NEAR (folded into another text's
 * case) counts as a merge. This is an upper bound of the false-merge rate:
 * real data contains genuine near-copies (retweets with edits, templates);
 * --show prints the merged pairs for inspection.
 *
 * Recall: for every text with >= 8 content words, copies with one kind of
 * edit are checked against a table holding the originals:
 *   format  RT prefix, @handle added, capitals, punctuation, emoji, URL
 *   insert  one word inserted       delete  one word deleted
 *   replace one word replaced       append  two words appended
 * A hit is a NEAR result with the original's case id.
 *
 *   bench_dedup_eval [--dir DIR] [--min-tokens N] [--show] [--show-k K]
 * --show prints the texts merged at k = 3, --show-k K at k = K.
 * DIR defaults to $WC_EVAL_DIR, else ../shared/eval next to the source tree.
 */
#include "pipeline/dedup.h"
#include "pipeline/normalize.h"
#include "tests/unit/test_dedup_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000000LL
#define MAXTEXT 4096

typedef struct text {
    char *s;
    char *file;
} text_t;

static text_t *texts;
static size_t ntexts, captexts;

static void add_text(const char *s, size_t len, char *file)
{
    if (ntexts == captexts) {
        captexts = captexts ? captexts * 2 : 1024;
        texts = realloc(texts, captexts * sizeof(*texts));
        if (!texts)
            exit(1);
    }
    texts[ntexts].s = strndup(s, len);
    texts[ntexts].file = file;
    ntexts++;
}

static int load_tsv(const char *path, char *name)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int col = -1, row = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *p = line;
        for (int c = 0; p; c++) {
            char *tab = strchr(p, '\t');
            size_t fl = tab ? (size_t)(tab - p) : strlen(p);
            if (row == 0 && fl == 4 && !strncmp(p, "text", 4))
                col = c;
            else if (row > 0 && c == col && fl > 0)
                add_text(p, WC_MIN(fl, MAXTEXT - 1), name);
            p = tab ? tab + 1 : NULL;
        }
        if (row == 0 && col < 0)
            break;
        row++;
    }
    free(line);
    fclose(f);
    return col < 0 ? -1 : 0;
}

static const char *const ins_words[] = {"really", "echt", "again", "weer", "today", "vandaag",
                                        "now", "nu", "totally", "helemaal"};

/* Copy of t with edit kind e (0 format, 1 insert, 2 delete, 3 replace,
 * 4 append). Returns false if the text is unsuitable. */
static bool edit_copy(char *out, size_t cap, const char *t, int e, uint64_t seed)
{
    char words[128][64];
    int nw = 0;
    const char *p = t;
    while (*p && nw < 128) {
        while (*p == ' ')
            p++;
        const char *q = p;
        while (*q && *q != ' ')
            q++;
        if (q > p) {
            snprintf(words[nw++], sizeof(words[0]), "%.*s", (int)WC_MIN(q - p, 63), p);
        }
        p = q;
    }
    if (nw < 8)
        return false;
    uint64_t s = wc_hash_u64(seed) | 1;
    int at = 1 + (int)(tdu_rng(&s) % (uint64_t)(nw - 2));
    const char *w = ins_words[tdu_rng(&s) % WC_ARRAY_SIZE(ins_words)];
    size_t n = 0;
    if (e == 0)
        n += (size_t)snprintf(out + n, cap - n, "RT @someone: @brand_care ");
    for (int i = 0; i < nw && n + 80 < cap; i++) {
        if (e == 1 && i == at)
            n += (size_t)snprintf(out + n, cap - n, "%s ", w);
        if ((e == 2 || e == 3) && i == at) {
            if (e == 3)
                n += (size_t)snprintf(out + n, cap - n, "%s ", w);
            continue;
        }
        if (e == 0 && i % 4 == 1) {
            for (const char *c = words[i]; *c; c++)
                out[n++] = (*c >= 'a' && *c <= 'z') ? (char)(*c - 32) : *c;
            out[n++] = ' ';
            continue;
        }
        n += (size_t)snprintf(out + n, cap - n, "%s ", words[i]);
    }
    if (e == 0)
        n += (size_t)snprintf(out + n, cap - n, "!! \xf0\x9f\x98\xa1 https://t.example/x1");
    if (e == 4)
        n += (size_t)snprintf(out + n, cap - n, "%s %s", w, "please");
    out[n] = '\0';
    return true;
}

static char *default_dir(void)
{
    const char *env = getenv("WC_EVAL_DIR");
    if (env)
        return strdup(env);
    /* the source tree is next to shared/: <root>/main/bench/this.c */
    const char *src = __FILE__;
    const char *b = strstr(src, "/bench/bench_dedup_eval.c");
    char buf[4096];
    if (b && src[0] == '/')
        snprintf(buf, sizeof(buf), "%.*s/../shared/eval", (int)(b - src), src);
    else
        snprintf(buf, sizeof(buf), "../shared/eval");
    return strdup(buf);
}

int main(int argc, char **argv)
{
    char *dir = NULL;
    int min_tokens = 4;
    bool show = false;
    int show_k = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = strdup(argv[++i]);
        else if (!strcmp(argv[i], "--min-tokens") && i + 1 < argc)
            min_tokens = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--show"))
            show = true;
        else if (!strcmp(argv[i], "--show-k") && i + 1 < argc) {
            show = true;
            show_k = atoi(argv[++i]);
        }
        else {
            fprintf(stderr, "usage: %s [--dir DIR] [--min-tokens N] [--show] [--show-k K]\n", argv[0]);
            return 2;
        }
    }
    if (!dir)
        dir = default_dir();
    DIR *dh = opendir(dir);
    if (!dh) {
        fprintf(stderr, "cannot open %s (set --dir or WC_EVAL_DIR)\n", dir);
        return 1;
    }
    struct dirent *de;
    int nfiles = 0;
    while ((de = readdir(dh))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".tsv"))
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (load_tsv(path, strdup(de->d_name)) == 0)
            nfiles++;
    }
    closedir(dh);

    /* distinct by normalised token sequence (per file = per brand) */
    wc_norm_t n;
    wc_norm_init(&n);
    wc_dedup_key_t *keys = calloc(ntexts, sizeof(*keys));
    bool *keep = calloc(ntexts, sizeof(*keep));
    size_t ndistinct = 0, nsim = 0;
    for (size_t i = 0; i < ntexts; i++) {
        char id[32];
        snprintf(id, sizeof(id), "e%zu", i);
        tdu_key(&keys[i], &n, min_tokens, texts[i].file, id, id, texts[i].s, 1, 0, (int64_t)i);
        keep[i] = true;
        for (size_t j = 0; j < i && keep[i]; j++)
            if (keep[j] && keys[j].brand_hash == keys[i].brand_hash &&
                keys[j].text_hash == keys[i].text_hash)
                keep[i] = false;
        ndistinct += keep[i];
        nsim += keep[i] && keys[i].simhash_valid;
    }
    printf("eval texts: %zu from %d files (%s); %zu distinct after normalisation, %zu with a SimHash "
           "(>= %d content words); one brand per file\n",
           ntexts, nfiles, dir, ndistinct, nsim, min_tokens);
    printf("%-3s %-22s %-8s %-8s %-8s %-8s %-8s\n", "k", "false merges (rate)", "format",
           "insert", "delete", "replace", "append");
    static const char *const ename[] = {"format", "insert", "delete", "replace", "append"};
    for (int k = 0; k <= WC_DEDUP_HAMMING_MAX; k++) {
        wc_dedup_config_t c;
        char err[256];
        wc_dedup_config_default(&c);
        c.capacity = 1u << 16;
        c.max_hamming = k;
        c.min_tokens = min_tokens;
        wc_dedup_t *d = wc_dedup_create(&c, err, sizeof(err));
        if (!d) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        size_t merged = 0;
        uint64_t *orig_case = calloc(ntexts, sizeof(*orig_case));
        for (size_t i = 0; i < ntexts; i++) {
            if (!keep[i])
                continue;
            wc_dedup_result_t r;
            wc_dedup_check(d, &keys[i], T0, &r);
            orig_case[i] = keys[i].case_id[0];
            if (r.kind == WC_DEDUP_NEAR) {
                merged++;
                if (show && k == show_k) {
                    for (size_t j = 0; j < i; j++)
                        if (keep[j] && keys[j].case_id[0] == r.case_id[0])
                            printf("  merged (d=%d): [%s]\n      into [%s]\n", r.hamming,
                                   texts[i].s, texts[j].s);
                }
            }
        }
        size_t hits[5] = {0}, tried[5] = {0};
        char buf[MAXTEXT + 512];
        for (int e = 0; e < 5; e++) {
            for (size_t i = 0; i < ntexts; i++) {
                if (!keep[i] || !keys[i].simhash_valid)
                    continue;
                if (!edit_copy(buf, sizeof(buf), texts[i].s, e, i * 5 + (size_t)e))
                    continue;
                char id[40];
                snprintf(id, sizeof(id), "v%d-%zu", e, i);
                wc_dedup_key_t vk;
                wc_dedup_result_t r;
                tdu_key(&vk, &n, min_tokens, texts[i].file, id, id, buf, 1, 1, (int64_t)i);
                wc_dedup_check(d, &vk, T0, &r);
                tried[e]++;
                hits[e] += r.kind == WC_DEDUP_NEAR && r.case_id[0] == orig_case[i];
            }
        }
        char fm[32];
        snprintf(fm, sizeof(fm), "%zu (%.3f%%)", merged, 100.0 * (double)merged / (double)ndistinct);
        printf("%-3d %-22s", k, fm);
        for (int e = 0; e < 5; e++)
            printf(" %6.1f%% ", tried[e] ? 100.0 * (double)hits[e] / (double)tried[e] : 0.0);
        printf("\n");
        (void)ename;
        free(orig_case);
        wc_dedup_destroy(d);
    }
    printf("recall = share of edited copies (texts with >= 8 words) folded into their original's "
           "case\n");
    wc_norm_deinit(&n);
    free(keys);
    free(keep);
    for (size_t i = 0; i < ntexts; i++)
        free(texts[i].s);
    free(texts);
    free(dir);
    return 0;
}
