/*
 * test_response.c - the responses topic decoder.
 */
#include "pipeline/response.h"
#include "wc_test.h"

static int dec(const char *s, wc_response_t *r, wc_decode_err_t *e)
{
    return wc_response_decode(r, s, strlen(s), 1 << 20, e);
}

WC_TEST(response_valid_with_mention_id)
{
    wc_response_t r;
    wc_decode_err_t e;
    WC_CHECK_EQ_INT(dec("{\"id\":\"r1\",\"brand\":\"acme\",\"mention_id\":\"tw:1\",\"agent\":\"anna\","
                        "\"created_at\":\"2026-11-22T10:05:00Z\",\"resolved\":true}",
                        &r, &e),
                    0);
    WC_CHECK_STR(r.id, "r1");
    WC_CHECK(r.resolved);
    WC_CHECK_EQ_INT(r.created_at_ms, 1795341900000LL);
    /* Derived case id equals the one the pipeline gives the mention. */
    uint64_t cid[2];
    char want[WC_CASE_ID_LEN + 1];
    wc_case_id("acme", 4, "tw:1", 4, cid);
    wc_case_id_format(cid, want);
    WC_CHECK_STR(r.case_id, want);
}

WC_TEST(response_errors)
{
    wc_response_t r;
    wc_decode_err_t e;
    struct {
        const char *doc;
        wc_dlq_reason_t reason;
    } cases[] = {
        {"", WC_DLQ_EMPTY},
        {"{\"id\":", WC_DLQ_BAD_JSON},
        {"[1]", WC_DLQ_NOT_OBJECT},
        {"{\"brand\":\"a\",\"mention_id\":\"m\",\"created_at\":1}", WC_DLQ_MISSING_FIELD},
        {"{\"id\":\"r\",\"brand\":\"a\",\"created_at\":1}", WC_DLQ_MISSING_FIELD},
        {"{\"id\":\"r\",\"brand\":\"a\",\"mention_id\":\"m\"}", WC_DLQ_MISSING_FIELD},
        {"{\"id\":\"r\",\"brand\":\"a\",\"mention_id\":\"m\",\"created_at\":\"yesterday\"}", WC_DLQ_INVALID_VALUE},
        {"{\"id\":\"r\",\"brand\":\"a\",\"mention_id\":\"m\",\"created_at\":1,\"resolved\":\"yes\"}", WC_DLQ_WRONG_TYPE},
        {"{\"id\":\"r\",\"brand\":\"a\",\"case_id\":\"x\",\"created_at\":1}", WC_DLQ_INVALID_VALUE},
        {"{\"id\":7,\"brand\":\"a\",\"mention_id\":\"m\",\"created_at\":1}", WC_DLQ_WRONG_TYPE},
        {"{\"id\":\"\xff\",\"brand\":\"a\",\"mention_id\":\"m\",\"created_at\":1}", WC_DLQ_INVALID_UTF8},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = dec(cases[i].doc, &r, &e);
        if (rc == 0 || e.reason != cases[i].reason)
            WC_FAIL_AT(__FILE__, __LINE__, "case %zu: rc %d reason %s, want %s", i, rc,
                       wc_dlq_reason_name(e.reason), wc_dlq_reason_name(cases[i].reason));
    }
}

int main(void)
{
    return wc_test_run_all();
}
