/*
 * classify.c - the classify stage: normalised tokens x compiled rules ->
 * class, confidence, topics, priority parts, route, reasons.
 *
 * Pass 1 walks the tokens once. Each WORD/NUMBER/EMOJI token costs one probe
 * of the unigram table with the hash the normaliser already computed (a
 * hashtag tries its "#tag" key first, then the plain word; a '?'/'!' run is
 * looked up by its canonical form "?", "?!", "!" or "!!"). A slot that heads
 * a phrase starts a walk over the following tokens: one phrase probe per
 * word, stopping at the first word sequence that no phrase starts with (the
 * phrase table also holds the prefixes of longer phrases, see rules.c), so
 * a head word that starts no phrase here costs one probe; the longest
 * phrase found wins and covers its tokens so "niet goed" does not also fire
 * "goed". Hits are recorded with their token position and clause number;
 * function-word slots carry nl/en evidence bits for language detection.
 *
 * Pass 2 (over the few hits, after the language is known) applies the
 * actions whose language matches: class weights with negation (a negator
 * moves the polarity of polar hits in the next negation_window tokens of the
 * same clause to the opposite class, times negation_flip for happy->angry
 * and negation_flip_angry for angry->happy: "not bad" is faint praise,
 * "not happy" is a complaint), intensifiers
 * (multiply the next class hit in their window), contrast words ("maar",
 * "but": damp what came before, boost what follows), clause-start cues
 * (question words), topic weights. Then '!' and CAPS boost the leading polar
 * class, questions inside a complaint are damped, and the class is the
 * argmax (ties: angry > question > happy > neutral; neutral starts at
 * neutral_bias). Confidence = softmax(score / temperature) of the winner,
 * i.e. a function of the score margins only.
 *
 * Priority = urgency (class + topic urgency for angry/question, capped) +
 * reach (log-scaled followers + reshares, capped) + verified/VIP + aging
 * (grows linearly to aging_max at the SLA deadline), clamped to 100.
 *
 * Threads: the rules are read-only; a wc_classifier_t is per worker.
 */
#include "pipeline/classify.h"
#include "pipeline/hash.h"
#include "pipeline/rules_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HITS 256

typedef struct hit {
    uint32_t act;
    uint32_t pos;
    uint32_t clause;
    uint16_t nact;
    uint8_t span;
    uint8_t cstart; /* first word of its clause */
} hit_t;

struct wc_classifier {
    wc_norm_t norm;
    hit_t hits[MAX_HITS];
    float topic_score[RL_MAX_TOPICS];
};

static const char *const lang_out[RL_LANG__COUNT] = {"und", "nl", "en"};

wc_classifier_t *wc_classifier_create(void)
{
    wc_classifier_t *c = calloc(1, sizeof(*c));
    if (c)
        wc_norm_init(&c->norm);
    return c;
}

void wc_classifier_destroy(wc_classifier_t *c)
{
    if (!c)
        return;
    wc_norm_deinit(&c->norm);
    free(c);
}

const wc_norm_t *wc_classifier_norm(const wc_classifier_t *c)
{
    return &c->norm;
}

/* *seen: a 64-bit filter of the ids already added (most ids are new, so
 * the duplicate scan is skipped) */
static inline void add_reason(wc_verdict_t *v, uint64_t *seen, const char *id)
{
    uint64_t bit = 1ULL << (((uint64_t)(uintptr_t)id * 0x9e3779b97f4a7c15ULL) >> 58);
    if (*seen & bit) {
        for (unsigned k = 0; k < v->nreasons; k++)
            if (v->reasons[k] == id)
                return;
    }
    if (v->nreasons < WC_VERDICT_MAX_REASONS) {
        v->reasons[v->nreasons++] = id;
        *seen |= bit;
    }
}

/* canonical key of a '?'/'!' run; counts '!' */
static inline uint64_t punct_key(const wc_rules_t *r, const char *p, uint32_t n, int *nexcl)
{
    int q = 0, x = 0;
    for (uint32_t i = 0; i < n; i++) {
        q |= p[i] == '?';
        x += p[i] == '!';
    }
    *nexcl += x;
    if (q)
        return x ? r->key_qx : r->key_q;
    return x >= 2 ? r->key_xx : r->key_x;
}

static inline uint8_t clamp_u8(float v, float max)
{
    if (!(v > 0))
        return 0;
    if (v > max)
        v = max;
    return (uint8_t)(v + 0.5f);
}

/* exp(x) for x <= 0, relative error < 2e-7 (enough for a confidence with
 * 3 decimals); libm expf cost more than the whole token loop. */
__attribute__((unused)) /* the SSE2 build uses exp_neg4() */
static inline float exp_neg(float x)
{
    if (!(x > -80.0f))
        return 0.0f;
    float t = x * 1.44269504f; /* log2(e) */
    float fl = (float)(int)t;
    if (fl > t)
        fl -= 1.0f;
    float f = t - fl; /* [0, 1) */
    /* 2^f, minimax-style polynomial on [0, 1) */
    float p = 1.0f + f * (0.693147182f + f * (0.240226507f + f * (0.0555041087f +
              f * (0.00961812911f + f * (0.00133335581f + f * 0.000154035304f)))));
    union {
        float f;
        uint32_t u;
    } u = {p};
    u.u += (uint32_t)(int32_t)fl << 23; /* exponent += fl (modular add, fl >= -116) */
    return u.f;
}

#if defined(__SSE2__)
#include <emmintrin.h>
/* exp_neg() of four lanes at once, bit-identical to it lane by lane (the
 * same IEEE single operations in the same order; truncation is cvttps like
 * the scalar (int) cast). */
static inline __m128 exp_neg4(__m128 x)
{
    const __m128 valid = _mm_cmpgt_ps(x, _mm_set1_ps(-80.0f)); /* false for NaN too */
    const __m128 t = _mm_mul_ps(x, _mm_set1_ps(1.44269504f));
    __m128 fl = _mm_cvtepi32_ps(_mm_cvttps_epi32(t));
    fl = _mm_sub_ps(fl, _mm_and_ps(_mm_cmpgt_ps(fl, t), _mm_set1_ps(1.0f)));
    const __m128 f = _mm_sub_ps(t, fl);
    __m128 p = _mm_add_ps(_mm_set1_ps(0.00133335581f), _mm_mul_ps(f, _mm_set1_ps(0.000154035304f)));
    p = _mm_add_ps(_mm_set1_ps(0.00961812911f), _mm_mul_ps(f, p));
    p = _mm_add_ps(_mm_set1_ps(0.0555041087f), _mm_mul_ps(f, p));
    p = _mm_add_ps(_mm_set1_ps(0.240226507f), _mm_mul_ps(f, p));
    p = _mm_add_ps(_mm_set1_ps(0.693147182f), _mm_mul_ps(f, p));
    p = _mm_add_ps(_mm_set1_ps(1.0f), _mm_mul_ps(f, p));
    const __m128i e = _mm_slli_epi32(_mm_cvttps_epi32(fl), 23);
    const __m128 r = _mm_castsi128_ps(_mm_add_epi32(_mm_castps_si128(p), e));
    return _mm_and_ps(r, valid);
}
#endif

/* log10(x) for x >= 1, absolute error < 1e-5 (the reach part is rounded
 * to whole points). */
static inline float log10_ge1(double x)
{
    union {
        double d;
        uint64_t u;
    } u = {x};
    int e = (int)((u.u >> 52) & 0x7ff) - 1023;
    u.u = (u.u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL; /* mantissa in [1, 2) */
    float m = (float)u.d;
    /* log2(m) = 2 atanh((m-1)/(m+1)) / ln 2, series to z^7 */
    float z = (m - 1.0f) / (m + 1.0f), z2 = z * z;
    float l2 = 2.88539008f * z * (1.0f + z2 * (0.333333333f + z2 * (0.2f + z2 * 0.142857143f)));
    return ((float)e + l2) * 0.301029996f;
}

static int lang_of(const wc_mention_t *m)
{
    if (!WC_STR_PRESENT(m->lang) || m->lang.len < 2)
        return -1; /* detect */
    char a = (char)(m->lang.p[0] | 0x20), b = (char)(m->lang.p[1] | 0x20);
    int sep = m->lang.len == 2 || m->lang.p[2] == '-' || m->lang.p[2] == '_';
    if (sep && a == 'n' && b == 'l')
        return RL_LANG_NL;
    if (sep && a == 'e' && b == 'n')
        return RL_LANG_EN;
    return RL_LANG_ANY; /* another language: "und" for the rules */
}

/* tokens a phrase may continue with (same clause is checked separately) */
#define PHRASE_KINDS \
    ((1u << WC_TOK_WORD) | (1u << WC_TOK_NUMBER) | (1u << WC_TOK_HASHTAG) | (1u << WC_TOK_EMOJI))

/*
 * Longest phrase starting at token i (its head slot says phrases of up to
 * span words start here). The phrase table also holds every proper prefix
 * (2+ words) of every longer phrase, flagged RL_F_PHEAD ("a longer phrase
 * continues this one"; span 0 unless the prefix is a phrase itself, see
 * rules.c), so the walk stops at the first word sequence that no phrase
 * starts with: usually after one probe. Returns the slot and *len, or NULL.
 */
static const rl_slot_t *match_phrase(const wc_rules_t *r, const wc_token_t *tok, uint32_t ntok,
                                     uint32_t i, uint32_t span, uint32_t *len)
{
    const rl_slot_t *best = NULL;
    uint64_t h = rl_key(tok[i].hash);
    for (uint32_t l = 2; l <= span && i + l - 1 < ntok; l++) {
        const wc_token_t *u = &tok[i + l - 1];
        if ((u->flags & WC_TOKF_BREAK) || !((PHRASE_KINDS >> (u->kind & 31)) & 1))
            break;
        h = rl_phrase_step(h, rl_key(u->hash));
        const rl_slot_t *ps = rl_probe(r->phr, r->phr_mask, rl_key(h));
        if (!ps)
            break;
        if (ps->span == l) {
            best = ps;
            *len = l;
        }
        if (!(ps->flags & RL_F_PHEAD))
            break;
    }
    return best;
}

int wc_classify(const wc_rules_t *r, wc_classifier_t *c, const wc_mention_t *m, int64_t now_ms,
                wc_verdict_t *out)
{
    const rl_settings_t *S = &r->set;
    wc_verdict_t *v = out;
    memset(v, 0, offsetof(wc_verdict_t, topics));
    v->nreasons = 0;
    v->ntopics = 0;
    uint64_t rseen = 0;

    int rc = wc_normalize(&c->norm, m->text.p ? m->text.p : "", m->text.len);
    if (rc)
        c->norm.ntok = 0; /* out of memory: classify as if empty, never fail */
    const wc_norm_t *n = &c->norm;
    const wc_token_t *tok = n->tok;
    const uint32_t ntok = n->ntok;

    /* ---- pass 1: probe every token ---- */
    uint32_t nh = 0, clause = 0, words_in_clause = 0, covered = 0;
    int votes_nl = 0, votes_en = 0, nexcl = 0;
    for (uint32_t i = 0; i < ntok; i++) {
        const wc_token_t *t = &tok[i];
        const rl_slot_t *s;
        if (t->flags & WC_TOKF_BREAK) {
            clause++;
            words_in_clause = 0;
        }
        switch (t->kind) {
        case WC_TOK_WORD:
        case WC_TOK_NUMBER:
        case WC_TOK_EMOJI:
            s = rl_probe(r->uni, r->uni_mask, rl_key(t->hash));
            break;
        case WC_TOK_HASHTAG:
            s = rl_probe(r->uni, r->uni_mask, rl_key(t->hash ^ RL_SALT_TAG));
            if (!s)
                s = rl_probe(r->uni, r->uni_mask, rl_key(t->hash));
            break;
        case WC_TOK_PUNCT:
            s = rl_probe(r->uni, r->uni_mask, punct_key(r, n->folded + t->off, t->len, &nexcl));
            break;
        default:
            continue; /* handles, URLs */
        }
        uint8_t cstart = words_in_clause == 0;
        if (t->kind <= WC_TOK_HASHTAG)
            words_in_clause++;
        if (!s)
            continue;
        votes_nl += (s->flags & RL_F_NL) != 0;
        votes_en += (s->flags & RL_F_EN) != 0;
        if (i < covered || nh >= MAX_HITS)
            continue;
        if (WC_UNLIKELY(s->flags & RL_F_PHEAD)) {
            uint32_t l;
            const rl_slot_t *ps = match_phrase(r, tok, ntok, i, s->span, &l);
            if (ps) {
                c->hits[nh++] = (hit_t){ps->act, i, clause, ps->nact, (uint8_t)l, cstart};
                covered = i + l;
                continue;
            }
        }
        if (s->nact)
            c->hits[nh++] = (hit_t){s->act, i, clause, s->nact, 1, cstart};
    }

    /* ---- language ---- */
    int lang = lang_of(m);
    v->lang_detected = 0;
    if (lang < 0) {
        v->lang_detected = 1;
        int hi = votes_nl > votes_en ? votes_nl : votes_en;
        int lo = votes_nl > votes_en ? votes_en : votes_nl;
        if (hi > lo && hi >= S->lang_min_hits && hi >= S->lang_ratio * lo)
            lang = votes_nl > votes_en ? RL_LANG_NL : RL_LANG_EN;
        else
            lang = RL_LANG_ANY;
    }
    v->lang = lang_out[lang];

    /* ---- pass 2: apply actions ---- */
    float sc[WC_CLASS__COUNT] = {0, 0, 0, 0};
    float after = 1.0f;
    uint32_t neg_end = 0, neg_clause = UINT32_MAX, int_end = 0, int_clause = UINT32_MAX;
    float int_mult = 1.0f;
    const char *neg_id = NULL, *int_id = NULL;
    uint64_t topic_seen = 0;
    for (uint32_t k = 0; k < nh; k++) {
        const hit_t *h = &c->hits[k];
        for (uint32_t a = 0; a < h->nact; a++) {
            const rl_action_t *A = &r->act[h->act + a];
            if (A->lang != RL_LANG_ANY && lang != RL_LANG_ANY && A->lang != lang)
                continue;
            switch (A->type) {
            case RL_ACT_CLASS: {
                float w = A->w * after;
                int cls = A->cls;
                if ((A->opts & RL_OPT_START) && !h->cstart)
                    w *= S->question_mid_factor;
                if (h->clause == int_clause && h->pos <= int_end) {
                    w *= int_mult;
                    add_reason(v, &rseen, int_id);
                    int_clause = UINT32_MAX; /* one word */
                }
                if (h->clause == neg_clause && h->pos <= neg_end &&
                    (cls == WC_CLASS_HAPPY || cls == WC_CLASS_ANGRY)) {
                    w *= cls == WC_CLASS_HAPPY ? S->negation_flip : S->negation_flip_angry;
                    cls = cls == WC_CLASS_HAPPY ? WC_CLASS_ANGRY : WC_CLASS_HAPPY;
                    add_reason(v, &rseen, neg_id);
                }
                sc[cls] += w;
                add_reason(v, &rseen, A->id);
                break;
            }
            case RL_ACT_TOPIC:
                if (!(topic_seen & (1ULL << A->topic))) {
                    topic_seen |= 1ULL << A->topic;
                    c->topic_score[A->topic] = 0;
                }
                c->topic_score[A->topic] += A->w;
                add_reason(v, &rseen, A->id);
                break;
            case RL_ACT_NEG:
                neg_clause = h->clause;
                neg_end = h->pos + h->span - 1 + (uint32_t)S->negation_window;
                neg_id = A->id;
                break;
            case RL_ACT_INT:
                int_clause = h->clause;
                int_end = h->pos + h->span - 1 + (uint32_t)S->intensifier_window;
                int_mult = A->w;
                int_id = A->id;
                break;
            case RL_ACT_BUT:
                for (int q = 0; q < WC_CLASS__COUNT; q++)
                    sc[q] *= S->contrast_before;
                after = S->contrast_after;
                add_reason(v, &rseen, A->id);
                break;
            }
        }
    }

    /* ---- signals, decision ---- */
    int lead = sc[WC_CLASS_ANGRY] >= sc[WC_CLASS_HAPPY] ? WC_CLASS_ANGRY : WC_CLASS_HAPPY;
    if (sc[lead] > 0) {
        if (nexcl && S->exclamation_boost > 0) {
            sc[lead] *= 1.0f + S->exclamation_boost * (float)(nexcl > 3 ? 3 : nexcl);
            add_reason(v, &rseen, "signal:exclamation");
        }
        if (n->ncaps && S->caps_boost > 0) {
            sc[lead] *= 1.0f + S->caps_boost * (float)(n->ncaps > 3 ? 3 : n->ncaps);
            add_reason(v, &rseen, "signal:caps");
        }
    }
    if (sc[WC_CLASS_ANGRY] >= S->complaint_threshold && sc[WC_CLASS_QUESTION] > 0 &&
        S->question_in_complaint < 1.0f) {
        sc[WC_CLASS_QUESTION] *= S->question_in_complaint;
        add_reason(v, &rseen, "signal:question_in_complaint");
    }
    sc[WC_CLASS_NEUTRAL] += S->neutral_bias;

    static const int order[WC_CLASS__COUNT] = {WC_CLASS_ANGRY, WC_CLASS_QUESTION, WC_CLASS_HAPPY,
                                               WC_CLASS_NEUTRAL};
    int best = order[0];
    for (int q = 1; q < WC_CLASS__COUNT; q++)
        if (sc[order[q]] > sc[best])
            best = order[q];
    float z = 0;
#if defined(__SSE2__)
    _Static_assert(WC_CLASS__COUNT == 4, "one SSE vector of class scores");
    float ex[WC_CLASS__COUNT];
    const __m128 vsc = _mm_loadu_ps(sc);
    _mm_storeu_ps(v->score, vsc);
    _mm_storeu_ps(ex, exp_neg4(_mm_div_ps(_mm_sub_ps(vsc, _mm_set1_ps(sc[best])),
                                          _mm_set1_ps(S->temperature))));
    for (int q = 0; q < WC_CLASS__COUNT; q++) /* summed in the scalar order */
        z += q == best ? 1.0f : ex[q];
#else
    for (int q = 0; q < WC_CLASS__COUNT; q++) {
        v->score[q] = sc[q];
        z += q == best ? 1.0f : exp_neg((sc[q] - sc[best]) / S->temperature);
    }
#endif
    v->cls = (wc_class_t)best;
    v->confidence = 1.0f / z;

    /* ---- topics: score >= topic_min_score, best first ---- */
    float topic_max_urg = 0;
    uint64_t topic_bits = 0;
    while (topic_seen && v->ntopics < WC_VERDICT_MAX_TOPICS) {
        int bt = -1;
        for (uint64_t rest = topic_seen; rest; rest &= rest - 1) {
            int t = __builtin_ctzll(rest);
            if (bt < 0 || c->topic_score[t] > c->topic_score[bt])
                bt = t;
        }
        topic_seen &= ~(1ULL << bt);
        if (c->topic_score[bt] < S->topic_min_score || c->topic_score[bt] <= 0)
            continue;
        v->topics[v->ntopics++] = r->topic_name[bt];
        topic_bits |= 1ULL << bt;
        if (r->topic_urgency[bt] > topic_max_urg)
            topic_max_urg = r->topic_urgency[bt];
    }

    /* ---- VIP ---- */
    float vip_bonus = 0;
    if (r->vip_mask) {
        const rl_vip_t *hitv = NULL;
        if (WC_STR_PRESENT(m->author_handle)) {
            const char *p = m->author_handle.p;
            uint32_t l = m->author_handle.len;
            if (l && p[0] == '@') {
                p++;
                l--;
            }
            char buf[128];
            if (l && l <= 100 && ((r->vip_handle_lens >> (l & 63)) & 1)) {
                for (uint32_t i = 0; i < l; i++)
                    buf[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i]);
                uint64_t key = rl_key(wc_hash64(buf, l, RL_SALT_VIP_HANDLE));
                for (uint32_t i = (uint32_t)(key ^ (key >> 32)) & r->vip_mask; r->vip[i].key;
                     i = (i + 1) & r->vip_mask)
                    if (r->vip[i].key == key) {
                        hitv = &r->vip[i];
                        break;
                    }
            }
        }
        if (!hitv && WC_STR_PRESENT(m->author_id) &&
            ((r->vip_id_lens >> (m->author_id.len & 63)) & 1)) {
            uint64_t key = rl_key(wc_hash64(m->author_id.p, m->author_id.len, RL_SALT_VIP_ID));
            for (uint32_t i = (uint32_t)(key ^ (key >> 32)) & r->vip_mask; r->vip[i].key;
                 i = (i + 1) & r->vip_mask)
                if (r->vip[i].key == key) {
                    hitv = &r->vip[i];
                    break;
                }
        }
        if (hitv) {
            v->is_vip = 1;
            vip_bonus = hitv->bonus >= 0 ? hitv->bonus : S->vip_points;
            add_reason(v, &rseen, hitv->id);
        }
    }

    /* ---- priority ---- */
    float urg = S->urgency[best];
    if (best == WC_CLASS_ANGRY || best == WC_CLASS_QUESTION)
        urg += topic_max_urg;
    v->prio_urgency = clamp_u8(urg, S->urgency_max);
    double reach_n = (double)m->author_followers + (double)S->reach_reshare_weight * m->reshares;
    v->prio_reach = reach_n >= 1 ? clamp_u8(S->reach_per_decade * log10_ge1(1.0 + reach_n),
                                            S->reach_max)
                                 : 0;
    v->prio_verified =
        clamp_u8((m->author_verified ? S->verified_points : 0) + vip_bonus, S->verified_max);
    wc_channel_t ch = (unsigned)m->channel < WC_CH__COUNT ? m->channel : WC_CH_OTHER;
    int64_t sla = r->sla_ms[best][ch];
    v->sla_due_ms = sla > 0 ? m->created_at_ms + sla : 0;
    if (sla > 0 && now_ms > m->created_at_ms) {
        double frac = (double)(now_ms - m->created_at_ms) / (double)sla;
        v->prio_aging = clamp_u8((float)(S->aging_max * (frac > 1 ? 1 : frac)), S->aging_max);
    }
    unsigned prio = (unsigned)v->prio_urgency + v->prio_reach + v->prio_verified + v->prio_aging;
    v->priority = (uint8_t)(prio > 100 ? 100 : prio);

    /* ---- reply hint, route ---- */
    v->reply_hint = (lang != RL_LANG_ANY && r->reply_hint[best][lang]) ? r->reply_hint[best][lang]
                                                                       : r->reply_hint[best][0];
    if (!topic_bits)
        topic_bits = 1ULL << RL_TOPIC_NONE_BIT;
    uint64_t brand_hash = r->routes_need_brand && WC_STR_PRESENT(m->brand)
                              ? wc_hash64(m->brand.p, m->brand.len, 0)
                              : 0;
    v->route_topic = r->default_route[best];
    v->route_id = (uint16_t)(r->nroutes + (uint32_t)best);
    for (uint32_t i = 0; i < r->nroutes; i++) {
        const rl_route_t *rt = &r->routes[i];
        if ((rt->cls_mask && !(rt->cls_mask & (1u << best))) ||
            (rt->chan_mask && !(rt->chan_mask & (1u << ch))) ||
            (rt->lang_mask && !(rt->lang_mask & (1u << lang))) ||
            (rt->topic_mask && !(rt->topic_mask & topic_bits)) || v->priority < rt->min_prio)
            continue;
        if (rt->nbrands) {
            uint32_t b;
            for (b = 0; b < rt->nbrands; b++)
                if (rt->brands[b] == brand_hash)
                    break;
            if (b == rt->nbrands)
                continue;
        }
        v->route_topic = rt->out;
        v->route_id = (uint16_t)i;
        break;
    }
    return 0;
}
