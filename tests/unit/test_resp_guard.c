/* test_resp_guard.c - the bound on Redis array replies (pipeline/resp_guard.h):
 * an array header over WC_RESP_MAX_ELEMENTS fails the reader before hiredis
 * allocates its element vector; arrays up to the bound parse as before. */
#include "pipeline/resp_guard.h"
#include "wc_test.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

static redisReader *guarded(void)
{
    redisReader *r = redisReaderCreate();
    WC_CHECK(r != NULL);
    wc_resp_guard(r);
    return r;
}

/* Feeds s; returns the reader's verdict, *out the reply (or NULL). */
static int feed(redisReader *r, const char *s, redisReply **out)
{
    void *rep = NULL;
    WC_CHECK(redisReaderFeed(r, s, strlen(s)) == REDIS_OK);
    int rc = redisReaderGetReply(r, &rep);
    *out = rep;
    return rc;
}

WC_TEST(arrays_within_bound_parse)
{
    redisReader *r = guarded();
    redisReply *rep;
    WC_CHECK(feed(r, "*3\r\n:1\r\n$2\r\nab\r\n*1\r\n:7\r\n", &rep) == REDIS_OK);
    WC_CHECK(rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == 3);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3)
        return;
    WC_CHECK_EQ_INT((int)rep->element[0]->integer, 1);
    WC_CHECK_STR(rep->element[1]->str, "ab");
    WC_CHECK_EQ_INT((int)rep->element[2]->element[0]->integer, 7);
    freeReplyObject(rep);
    /* empty and nil arrays are not arrays to allocate */
    WC_CHECK(feed(r, "*0\r\n", &rep) == REDIS_OK && rep && rep->elements == 0);
    if (rep)
        freeReplyObject(rep);
    WC_CHECK(feed(r, "*-1\r\n", &rep) == REDIS_OK && rep && rep->type == REDIS_REPLY_NIL);
    if (rep)
        freeReplyObject(rep);
    redisReaderFree(r);
}

WC_TEST(array_over_bound_fails_the_reader)
{
    char hdr[64];
    const char *cases[3];
    snprintf(hdr, sizeof(hdr), "*%d\r\n", WC_RESP_MAX_ELEMENTS + 1);
    cases[0] = hdr;
    cases[1] = "*300000000\r\n";
    cases[2] = "*2\r\n:1\r\n*300000000\r\n"; /* nested: the parent is freed */
    for (int i = 0; i < 3; i++) {
        unsigned long before = wc_resp_guard_refused();
        redisReader *r = guarded();
        redisReply *rep;
        WC_CHECK(feed(r, cases[i], &rep) == REDIS_ERR);
        WC_CHECK(rep == NULL);
        WC_CHECK(r->err != 0);
        if (rep)
            freeReplyObject(rep);
        WC_CHECK(wc_resp_guard_refused() == before + 1);
        redisReaderFree(r);
    }
}

int main(void)
{
    return wc_test_run_all();
}
