/*
 * emit.c - case event JSON (contract in emit.h and docs/OUTPUTS.md).
 *
 * Field order is fixed so outputs are byte-identical for identical input
 * (apart from processed_at), which keeps replays diffable.
 */
#include "pipeline/emit.h"
#include "pipeline/hash.h"

#define CASE_SEED_A 0x77656263617265ULL /* "webcare" */
#define CASE_SEED_B 0x63617365696473ULL /* "caseids" */

void wc_case_id(const char *brand, size_t brand_len, const char *id, size_t id_len,
                uint64_t out[2])
{
    uint64_t hb = wc_hash64(brand, brand_len, CASE_SEED_A);
    out[0] = wc_hash64(id, id_len, hb);
    out[1] = wc_hash64(id, id_len, hb ^ CASE_SEED_B) ^ wc_hash_u64(brand_len);
}

void wc_case_id_format(const uint64_t id[2], char out[WC_CASE_ID_LEN + 1])
{
    static const char hexd[] = "0123456789abcdef";
    out[0] = 'c';
    out[1] = '-';
    for (int i = 0; i < 16; i++) {
        out[2 + i] = hexd[(id[0] >> (60 - 4 * i)) & 15];
        out[18 + i] = hexd[(id[1] >> (60 - 4 * i)) & 15];
    }
    out[WC_CASE_ID_LEN] = '\0';
}

static void str_or_null(wc_jsonw_t *w, wc_str_t s)
{
    if (s.p)
        wc_jsonw_str(w, s.p, s.len);
    else
        wc_jsonw_lit(w, "null");
}

static void emit_strs(wc_jsonw_t *w, const char *const *a, int n)
{
    wc_jsonw_char(w, '[');
    for (int i = 0; i < n; i++) {
        if (i)
            wc_jsonw_char(w, ',');
        wc_jsonw_cstr(w, a[i]);
    }
    wc_jsonw_char(w, ']');
}

static void emit_author(wc_jsonw_t *w, const wc_case_ctx_t *c)
{
    const wc_mention_t *m = c->m;
    wc_jsonw_lit(w, "\"author\":{\"id\":");
    if (c->author_id)
        wc_jsonw_str(w, c->author_id, c->author_id_len);
    else
        wc_jsonw_str(w, m->author_id.p, m->author_id.len);
    wc_jsonw_lit(w, ",\"handle\":");
    str_or_null(w, m->author_handle);
    wc_jsonw_lit(w, ",\"followers\":");
    wc_jsonw_u64(w, m->author_followers);
    wc_jsonw_lit(w, ",\"verified\":");
    if (m->author_verified)
        wc_jsonw_lit(w, "true}");
    else
        wc_jsonw_lit(w, "false}");
}

static void emit_common_tail(wc_jsonw_t *w, const wc_case_ctx_t *c)
{
    wc_jsonw_lit(w, ",\"created_at\":");
    wc_jsonw_time(w, c->m->created_at_ms);
    wc_jsonw_lit(w, ",\"processed_at\":");
    wc_jsonw_time(w, c->now_ms);
    wc_jsonw_lit(w, ",\"source\":{\"topic\":");
    wc_jsonw_cstr(w, c->source_topic ? c->source_topic : "");
    wc_jsonw_lit(w, ",\"partition\":");
    wc_jsonw_i64(w, c->partition);
    wc_jsonw_lit(w, ",\"offset\":");
    wc_jsonw_i64(w, c->offset);
    wc_jsonw_lit(w, "}}");
}

void wc_emit_case(wc_jsonw_t *w, const wc_case_ctx_t *c)
{
    const wc_mention_t *m = c->m;
    const wc_verdict_t *v = c->v;
    char cid[WC_CASE_ID_LEN + 1];

    wc_case_id_format(c->d->case_id, cid);
    wc_jsonw_lit(w, "{\"event\":\"created\",\"case_id\":\"");
    wc_jsonw_raw(w, cid, WC_CASE_ID_LEN);
    wc_jsonw_lit(w, "\",\"mention_id\":");
    wc_jsonw_str(w, m->id.p, m->id.len);
    wc_jsonw_lit(w, ",\"brand\":");
    wc_jsonw_str(w, m->brand.p, m->brand.len);
    wc_jsonw_lit(w, ",\"channel\":\"");
    wc_jsonw_raw(w, wc_channel_name(m->channel), strlen(wc_channel_name(m->channel)));
    wc_jsonw_lit(w, "\",\"class\":\"");
    wc_jsonw_raw(w, wc_class_name(v->cls), strlen(wc_class_name(v->cls)));
    wc_jsonw_lit(w, "\",\"confidence\":");
    wc_jsonw_fixed(w, v->confidence, 3);
    wc_jsonw_lit(w, ",\"priority\":");
    wc_jsonw_u64(w, v->priority);
    wc_jsonw_lit(w, ",\"priority_parts\":{\"urgency\":");
    wc_jsonw_u64(w, v->prio_urgency);
    wc_jsonw_lit(w, ",\"reach\":");
    wc_jsonw_u64(w, v->prio_reach);
    wc_jsonw_lit(w, ",\"verified\":");
    wc_jsonw_u64(w, v->prio_verified);
    wc_jsonw_lit(w, ",\"aging\":");
    wc_jsonw_u64(w, v->prio_aging);
    wc_jsonw_lit(w, "},\"reasons\":");
    emit_strs(w, v->reasons, v->nreasons);
    wc_jsonw_lit(w, ",\"topics\":");
    emit_strs(w, v->topics, v->ntopics);
    wc_jsonw_lit(w, ",\"lang\":");
    wc_jsonw_cstr(w, v->lang ? v->lang : "und");
    wc_jsonw_lit(w, ",\"lang_detected\":");
    if (v->lang_detected)
        wc_jsonw_lit(w, "true,");
    else
        wc_jsonw_lit(w, "false,");
    emit_author(w, c);
    wc_jsonw_lit(w, ",\"reach\":");
    wc_jsonw_u64(w, c->d->reach);
    wc_jsonw_lit(w, ",\"duplicates\":");
    wc_jsonw_u64(w, c->d->duplicates);
    wc_jsonw_lit(w, ",\"duplicate_of\":null,\"cluster_id\":");
    if (c->cluster_id)
        wc_jsonw_cstr(w, c->cluster_id);
    else
        wc_jsonw_lit(w, "null");
    wc_jsonw_lit(w, ",\"conversation_id\":");
    str_or_null(w, m->conversation_id);
    wc_jsonw_lit(w, ",\"in_reply_to\":");
    str_or_null(w, m->in_reply_to);
    wc_jsonw_lit(w, ",\"sla_due_at\":");
    if (v->sla_due_ms)
        wc_jsonw_time(w, v->sla_due_ms);
    else
        wc_jsonw_lit(w, "null");
    wc_jsonw_lit(w, ",\"follow_up_at\":null,\"reply_hint\":");
    wc_jsonw_cstr(w, v->reply_hint ? v->reply_hint : "");
    wc_jsonw_lit(w, ",\"route\":");
    wc_jsonw_cstr(w, v->route_topic ? v->route_topic : "");
    wc_jsonw_lit(w, ",\"text\":");
    wc_jsonw_str(w, m->text.p, m->text.len);
    wc_jsonw_lit(w, ",\"url\":");
    str_or_null(w, m->url);
    emit_common_tail(w, c);
}

void wc_emit_duplicate(wc_jsonw_t *w, const wc_case_ctx_t *c)
{
    const wc_mention_t *m = c->m;
    char cid[WC_CASE_ID_LEN + 1];

    wc_case_id_format(c->d->case_id, cid);
    wc_jsonw_lit(w, "{\"event\":\"duplicate\",\"case_id\":\"");
    wc_jsonw_raw(w, cid, WC_CASE_ID_LEN);
    wc_jsonw_lit(w, "\",\"duplicate_of\":\"");
    wc_jsonw_raw(w, cid, WC_CASE_ID_LEN);
    wc_jsonw_lit(w, "\",\"mention_id\":");
    wc_jsonw_str(w, m->id.p, m->id.len);
    wc_jsonw_lit(w, ",\"brand\":");
    wc_jsonw_str(w, m->brand.p, m->brand.len);
    wc_jsonw_lit(w, ",\"channel\":\"");
    wc_jsonw_raw(w, wc_channel_name(m->channel), strlen(wc_channel_name(m->channel)));
    wc_jsonw_lit(w, "\",\"class\":\"");
    wc_jsonw_raw(w, wc_class_name(c->v->cls), strlen(wc_class_name(c->v->cls)));
    wc_jsonw_lit(w, "\",\"hamming\":");
    wc_jsonw_i64(w, c->d->hamming);
    wc_jsonw_lit(w, ",\"duplicates\":");
    wc_jsonw_u64(w, c->d->duplicates);
    wc_jsonw_lit(w, ",\"distinct_authors\":");
    wc_jsonw_u64(w, c->d->distinct_authors);
    wc_jsonw_lit(w, ",\"reach\":");
    wc_jsonw_u64(w, c->d->reach);
    wc_jsonw_char(w, ',');
    emit_author(w, c);
    wc_jsonw_lit(w, ",\"conversation_id\":");
    str_or_null(w, m->conversation_id);
    wc_jsonw_lit(w, ",\"url\":");
    str_or_null(w, m->url);
    emit_common_tail(w, c);
}
