/*
 * rules_internal.h - the compiled rule snapshot, shared by the rule
 * compiler (rules.c) and the matcher (classify.c). Not a public API.
 *
 * A snapshot is built once per load, never modified afterwards, and shared
 * read-only by every worker; all memory lives in one arena freed on the last
 * release. See docs/RULES.md for the file format.
 */
#ifndef WC_RULES_INTERNAL_H
#define WC_RULES_INTERNAL_H

#include "pipeline/arena.h"
#include "pipeline/classify.h"
#include "pipeline/hash.h"

#define RL_MAX_PHRASE 4      /* words per phrase entry */
#define RL_MAX_TOPICS 63     /* bit 63 of a route topic mask means "no topic" */
#define RL_TOPIC_NONE_BIT 63
#define RL_MAX_ROUTES 4000   /* route ids are uint16 and defaults follow the table */
#define RL_MAX_LINE 4096     /* bytes per rule file line */
#define RL_MAX_FILE (16u << 20)

/* languages a rule can be restricted to */
enum { RL_LANG_ANY = 0, RL_LANG_NL = 1, RL_LANG_EN = 2, RL_LANG__COUNT };

/* action types */
enum {
    RL_ACT_CLASS = 0, /* adds weight to a class score */
    RL_ACT_TOPIC,     /* adds weight to a topic score */
    RL_ACT_NEG,       /* negator: flips polarity of the next polar hit(s) */
    RL_ACT_INT,       /* intensifier / downtoner: multiplies the next class hit */
    RL_ACT_BUT,       /* contrast: damps what came before, boosts what follows */
};

#define RL_OPT_START 0x01 /* class entry counts fully only at clause start */

/* slot flags */
#define RL_F_NL 0x01    /* evidence for Dutch (stopword or nl-only entry) */
#define RL_F_EN 0x02    /* evidence for English */
#define RL_F_PHEAD 0x04 /* some phrase starts with this token */

/* salts so "#fail" (hashtag entry) and "fail" (word entry) are different keys */
#define RL_SALT_TAG 0x7a6f3b1de9c54201ULL
#define RL_SALT_VIP_HANDLE 0x3c1f8a77d2e4b905ULL
#define RL_SALT_VIP_ID 0x91d2c5e3a7b40c6fULL

/* One open-addressing slot: unigram, phrase or VIP table. key 0 = empty. */
typedef struct rl_slot {
    uint64_t key;
    uint32_t act;   /* first action index */
    uint16_t nact;  /* number of actions (0: phrase head only) */
    uint8_t flags;  /* RL_F_* */
    uint8_t span;   /* unigram: longest phrase starting here; phrase: its length */
} rl_slot_t;

typedef struct rl_action {
    const char *id; /* stable rule id, e.g. "angry:nl:waardeloos" */
    float w;        /* weight (class/topic), multiplier (intensifier) */
    uint8_t type;   /* RL_ACT_* */
    uint8_t cls;    /* wc_class_t for RL_ACT_CLASS */
    uint8_t lang;   /* RL_LANG_* */
    uint8_t opts;   /* RL_OPT_* */
    uint16_t topic; /* topic index for RL_ACT_TOPIC */
} rl_action_t;

typedef struct rl_route {
    uint64_t topic_mask; /* 0 = any; bit RL_TOPIC_NONE_BIT = "no topic" */
    uint64_t *brands;    /* brand hashes (wc_hash64 of the brand, seed 0), NULL = any */
    uint32_t nbrands;
    uint16_t chan_mask;  /* bit per wc_channel_t, 0 = any */
    uint8_t cls_mask;    /* bit per wc_class_t, 0 = any */
    uint8_t lang_mask;   /* bit 0 und, 1 nl, 2 en; 0 = any */
    uint8_t min_prio;
    const char *out;     /* output topic */
} rl_route_t;

typedef struct rl_vip {
    uint64_t key;   /* 0 = empty */
    float bonus;
    const char *id; /* "vip:@jan" / "vip:id:u123" */
} rl_vip_t;

/* Tunables: one declarative table in rules.c (defaults, ranges, docs). */
typedef struct rl_settings {
    /* [scoring] */
    float neutral_bias;
    float temperature;
    float negation_window;
    float negation_flip;
    float negation_flip_angry;
    float intensifier_window;
    float contrast_before;
    float contrast_after;
    float exclamation_boost;
    float caps_boost;
    float question_mid_factor;
    float complaint_threshold;
    float question_in_complaint;
    float topic_min_score;
    /* [language] */
    float lang_min_hits;
    float lang_ratio;
    /* [priority] */
    float urgency[WC_CLASS__COUNT];
    float urgency_max;
    float reach_per_decade;
    float reach_reshare_weight;
    float reach_max;
    float verified_points;
    float vip_points;
    float verified_max;
    float aging_max;
} rl_settings_t;

struct wc_rules {
    int refcnt;
    wc_arena_t arena;

    rl_slot_t *uni; /* unigram table */
    uint32_t uni_mask;
    rl_slot_t *phr; /* phrase table */
    uint32_t phr_mask;
    rl_action_t *act;
    uint32_t nact;
    uint64_t key_q, key_qx, key_x, key_xx; /* canonical PUNCT keys "?", "?!", "!", "!!" */

    rl_vip_t *vip;
    uint32_t vip_mask; /* 0 when there is no VIP list */
    uint64_t vip_handle_lens; /* bit (length & 63) of every VIP handle / author id: */
    uint64_t vip_id_lens;     /* a cheap pre-filter before hashing the author */

    uint32_t ntopics;
    const char *topic_name[RL_MAX_TOPICS];
    float topic_urgency[RL_MAX_TOPICS];

    rl_route_t *routes;
    uint32_t nroutes;
    int routes_need_brand;
    const char *default_route[WC_CLASS__COUNT];
    const char **output_topics; /* NULL-terminated */

    const char *reply_hint[WC_CLASS__COUNT][RL_LANG__COUNT]; /* [cls][any|nl|en] */
    int64_t sla_ms[WC_CLASS__COUNT][WC_CH__COUNT];

    rl_settings_t set;
    wc_rules_stats_t stats;
    char version[20];
};

/* Probe an open-addressing table. Keys are 64-bit hashes; 0 means empty, so
 * a (practically impossible) zero key is mapped to 1 on insert and lookup. */
static inline uint64_t rl_key(uint64_t k)
{
    return k ? k : 1;
}

static inline const rl_slot_t *rl_probe(const rl_slot_t *tab, uint32_t mask, uint64_t key)
{
    uint32_t i = (uint32_t)(key ^ (key >> 32)) & mask;
    for (;;) {
        const rl_slot_t *s = &tab[i];
        if (s->key == key)
            return s;
        if (s->key == 0)
            return NULL;
        i = (i + 1) & mask;
    }
}

/* Phrase key of n token keys. */
static inline uint64_t rl_phrase_step(uint64_t h, uint64_t k)
{
    return wc_hash_mix(h ^ WC_HASH_P2, k ^ WC_HASH_P3);
}

#endif
