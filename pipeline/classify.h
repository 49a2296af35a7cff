/*
 * classify.h - classification of a decoded mention against a compiled
 * rule snapshot.
 *
 * CONTRACT between the classify stage and the rest of the pipeline. The
 * rules snapshot (wc_rules_t) is immutable and refcounted: the main loop
 * loads a new one on SIGHUP and swaps a pointer; workers keep the snapshot
 * for one batch (wc_rules_keep/release) so a swap never frees rules in use.
 *
 * Every string pointer in wc_verdict_t points into the rules snapshot (or
 * static storage) and is valid while the snapshot is kept.
 */
#ifndef WC_CLASSIFY_H
#define WC_CLASSIFY_H

#include "pipeline/common.h"
#include "pipeline/mention.h"
#include "pipeline/normalize.h"

typedef enum wc_class {
    WC_CLASS_HAPPY = 0,
    WC_CLASS_NEUTRAL,
    WC_CLASS_ANGRY,
    WC_CLASS_QUESTION,
    WC_CLASS__COUNT
} wc_class_t;

/* "happy", "neutral", "angry", "question" */
const char *wc_class_name(wc_class_t c);

#define WC_VERDICT_MAX_TOPICS 8
#define WC_VERDICT_MAX_REASONS 16

/* Parse "happy"/"neutral"/"angry"/"question"; -1 if unknown. @locality any */
int wc_class_parse(const char *s, size_t len);

typedef struct wc_rules wc_rules_t;

typedef struct wc_verdict {
    wc_class_t cls;
    float confidence;          /* 0..1 */
    uint8_t priority;          /* 0..100 = clamp(sum of parts) */
    uint8_t prio_urgency;      /* class urgency part */
    uint8_t prio_reach;        /* followers / reshares part */
    uint8_t prio_verified;     /* verified-author part */
    uint8_t prio_aging;        /* SLA aging part (older mentions rise) */
    uint8_t ntopics;
    uint8_t nreasons;
    uint8_t is_vip;            /* author on a VIP/influencer list */
    const char *topics[WC_VERDICT_MAX_TOPICS];   /* topic names, e.g. "delivery" */
    const char *reasons[WC_VERDICT_MAX_REASONS]; /* rule ids that fired, e.g. "angry.lex:nl:waardeloos" */
    const char *lang;          /* "nl", "en", or "und" */
    uint8_t lang_detected;     /* 1 if lang was detected rather than given */
    float score[WC_CLASS__COUNT]; /* raw class scores (neutral includes its bias), see docs/RULES.md */
    const char *reply_hint;    /* per class, from the rules */
    const char *route_topic;   /* output topic from the routing table */
    uint16_t route_id;         /* index of the routing entry (stable within a snapshot) */
    int64_t sla_due_ms;        /* created_at + SLA for the class/channel (0 = none) */
} wc_verdict_t;

/* Load and compile every rule file in dir. NULL on error with errstr
 * "file:line: reason". Returned snapshot has refcount 1. @locality main */
wc_rules_t *wc_rules_load(const char *dir, char *errstr, size_t errstr_size);
/* @locality any */
wc_rules_t *wc_rules_keep(wc_rules_t *r);
/* @locality any; frees on last release */
void wc_rules_release(wc_rules_t *r);
/* Topic names the routing table can produce (allow-list), NULL-terminated,
 * valid while the snapshot is kept. @locality any */
const char *const *wc_rules_output_topics(const wc_rules_t *r);

/* ---- additions (classification module) --------------------------------- */

/* Diagnostics sink: called once per problem with "file:line: message"
 * (errors) or "file:line: warning: message". @locality caller's thread */
typedef void (*wc_rules_diag_fn)(void *opaque, int is_error, const char *msg);

/* Like wc_rules_load, reporting every error and warning through fn (may be
 * NULL); errstr gets the first error plus "(and N more errors)". Loads the
 * *.rules files of dir in name order. @locality main */
wc_rules_t *wc_rules_load_diag(const char *dir, wc_rules_diag_fn fn, void *opaque, char *errstr,
                               size_t errstr_size);

/* One rule file in memory (tests, fuzzing, embedding). data need not be
 * NUL-terminated; name is used in messages. */
typedef struct wc_rules_file {
    const char *name;
    const char *data;
    size_t len;
} wc_rules_file_t;

/* Compile rules from memory; same semantics as wc_rules_load_diag.
 * Nothing is retained from files after return. @locality any */
wc_rules_t *wc_rules_load_mem(const wc_rules_file_t *files, size_t nfiles, wc_rules_diag_fn fn,
                              void *opaque, char *errstr, size_t errstr_size);

typedef struct wc_rules_stats {
    uint32_t files;
    uint32_t entries;              /* lexicon + topic entries (incl. phrases) */
    uint32_t entries_lang[3];      /* by language: any, nl, en */
    uint32_t phrases;              /* entries of 2+ words */
    uint32_t stopwords;            /* language-detection words */
    uint32_t topics;
    uint32_t routes;               /* routing table lines (defaults not counted) */
    uint32_t vip;
} wc_rules_stats_t;

/* Counters of a loaded snapshot (for the reload log line and check-rules). */
void wc_rules_stats(const wc_rules_t *r, wc_rules_stats_t *out);
/* 16 hex digits identifying the rule files' contents (base names + bytes:
 * the same files give the same version in any directory), valid while the
 * snapshot is kept. Logged on reload; lets a case be traced back to the
 * exact rules that produced it. @locality any */
const char *wc_rules_version(const wc_rules_t *r);

/* Per-worker classifier scratch (normaliser buffers, counters). */
typedef struct wc_classifier wc_classifier_t;
wc_classifier_t *wc_classifier_create(void);
void wc_classifier_destroy(wc_classifier_t *c);
/* The normalised text of the last wc_classify() call (for dedup). */
const wc_norm_t *wc_classifier_norm(const wc_classifier_t *c);

/*
 * Normalise and classify one mention. now_ms feeds SLA aging.
 * Returns 0; never fails on valid decoded input. @locality worker
 */
int wc_classify(const wc_rules_t *r, wc_classifier_t *c, const wc_mention_t *m, int64_t now_ms,
                wc_verdict_t *out);

#endif
