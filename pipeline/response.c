/*
 * response.c - decoder of the `responses` topic (contract in response.h).
 */
#include "pipeline/response.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int fail(wc_decode_err_t *err, wc_dlq_reason_t reason, const char *field, size_t off,
                const char *detail)
{
    err->reason = reason;
    err->field = field;
    err->offset = off;
    snprintf(err->detail, sizeof(err->detail), "%.*s", (int)sizeof(err->detail) - 1, detail);
    return WC_ERR_PARSE;
}

static int get_str(json_t *root, const char *key, bool required, char *out, size_t cap,
                   wc_decode_err_t *err)
{
    json_t *v = json_object_get(root, key);
    out[0] = '\0';
    if (!v || json_is_null(v)) {
        if (required)
            return fail(err, WC_DLQ_MISSING_FIELD, key, 0, "required field missing");
        return 0;
    }
    if (!json_is_string(v))
        return fail(err, WC_DLQ_WRONG_TYPE, key, 0, "expected a string");
    size_t n = json_string_length(v);
    if (n >= cap)
        return fail(err, WC_DLQ_FIELD_TOO_LONG, key, 0, "string too long");
    if (required && n == 0)
        return fail(err, WC_DLQ_INVALID_VALUE, key, 0, "must not be empty");
    if (memchr(json_string_value(v), '\0', n))
        return fail(err, WC_DLQ_INVALID_VALUE, key, 0, "NUL character in string");
    memcpy(out, json_string_value(v), n + 1);
    return 0;
}

int wc_response_decode(wc_response_t *r, const char *buf, size_t len, size_t max_bytes,
                       wc_decode_err_t *err)
{
    json_error_t jerr;
    json_t *root = NULL;
    int rc;

    memset(r, 0, sizeof(*r));
    memset(err, 0, sizeof(*err));
    if (!buf || !len)
        return fail(err, WC_DLQ_EMPTY, NULL, 0, "empty or null payload");
    if (len > max_bytes)
        return fail(err, WC_DLQ_TOO_LARGE, NULL, max_bytes, "payload larger than input.max.bytes");
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        wc_dlq_reason_t reason = WC_DLQ_BAD_JSON;
        if (json_error_code(&jerr) == json_error_invalid_utf8 || strstr(jerr.text, "UTF-8") ||
            strstr(jerr.text, "decode byte") || strstr(jerr.text, "surrogate"))
            reason = WC_DLQ_INVALID_UTF8;
        else if (strstr(jerr.text, "depth"))
            reason = WC_DLQ_TOO_DEEP;
        return fail(err, reason, NULL, (size_t)(jerr.position > 0 ? jerr.position : 0), jerr.text);
    }
    if (!json_is_object(root)) {
        rc = fail(err, WC_DLQ_NOT_OBJECT, NULL, 0, "top-level value is not an object");
        goto done;
    }
    if ((rc = get_str(root, "id", true, r->id, sizeof(r->id), err)) ||
        (rc = get_str(root, "brand", true, r->brand, sizeof(r->brand), err)) ||
        (rc = get_str(root, "mention_id", false, r->mention_id, sizeof(r->mention_id), err)) ||
        (rc = get_str(root, "case_id", false, r->case_id, sizeof(r->case_id), err)) ||
        (rc = get_str(root, "agent", false, r->agent, sizeof(r->agent), err)))
        goto done;
    if (!r->mention_id[0] && !r->case_id[0]) {
        rc = fail(err, WC_DLQ_MISSING_FIELD, "mention_id", 0, "mention_id or case_id required");
        goto done;
    }
    if (r->case_id[0] && (strlen(r->case_id) != WC_CASE_ID_LEN || strncmp(r->case_id, "c-", 2))) {
        rc = fail(err, WC_DLQ_INVALID_VALUE, "case_id", 0, "not a webcared case id");
        goto done;
    }
    if (!r->case_id[0]) {
        uint64_t cid[2];
        wc_case_id(r->brand, strlen(r->brand), r->mention_id, strlen(r->mention_id), cid);
        wc_case_id_format(cid, r->case_id);
    }
    json_t *ts = json_object_get(root, "created_at");
    if (!ts || json_is_null(ts)) {
        rc = fail(err, WC_DLQ_MISSING_FIELD, "created_at", 0, "required field missing");
        goto done;
    }
    if (json_is_integer(ts)) {
        if (json_integer_value(ts) < 0) {
            rc = fail(err, WC_DLQ_INVALID_VALUE, "created_at", 0, "negative timestamp");
            goto done;
        }
        r->created_at_ms = json_integer_value(ts);
    } else if (json_is_string(ts)) {
        if (wc_parse_rfc3339(json_string_value(ts), json_string_length(ts), &r->created_at_ms)) {
            rc = fail(err, WC_DLQ_INVALID_VALUE, "created_at", 0, "not an RFC 3339 timestamp");
            goto done;
        }
    } else {
        rc = fail(err, WC_DLQ_WRONG_TYPE, "created_at", 0, "expected a string or an integer");
        goto done;
    }
    json_t *res = json_object_get(root, "resolved");
    if (res && !json_is_null(res)) {
        if (!json_is_boolean(res)) {
            rc = fail(err, WC_DLQ_WRONG_TYPE, "resolved", 0, "expected a boolean");
            goto done;
        }
        r->resolved = json_is_true(res);
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}
