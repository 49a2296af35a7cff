/*
 * test_config.c - the config table: parsing, errors with file:line, ranges,
 * librdkafka passthrough validation, secrets masked, and the generated
 * reference doc in docs/CONFIGURATION.md being up to date.
 */
#include "daemon/config.h"
#include "wc_test.h"

#include <stdlib.h>
#include <unistd.h>

static const char *write_tmp(const char *content)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/wc_test_config_XXXXXX");
    int fd = mkstemp(path);
    FILE *fp = fdopen(fd, "w");
    fputs(content, fp);
    fclose(fp);
    return path;
}

static int load(wc_config_t *c, const char *content, char *err, size_t errsz)
{
    const char *p = write_tmp(content);
    int rc = wc_config_load_file(c, p, err, errsz);
    unlink(p);
    return rc;
}

WC_TEST(config_defaults_and_values)
{
    wc_config_t *c = wc_config_new();
    char err[512] = "";
    WC_CHECK_STR(c->topic_input, "mentions");
    WC_CHECK_EQ_INT(c->input_max_bytes, 1048576);
    WC_CHECK_EQ_INT(load(c,
                         "# comment\n\nworkers = 3\n  topic.input = \"in #1 \"\n"
                         "kafka.exactly.once = yes\nkafka.consumer.fetch.wait.max.ms = 50\n",
                         err, sizeof(err)),
                    0);
    WC_CHECK_EQ_INT(c->workers, 3);
    WC_CHECK_STR(c->topic_input, "in #1 ");
    WC_CHECK(c->exactly_once);
    WC_CHECK_EQ_INT(c->n_kafka_consumer, 1);
    WC_CHECK_STR(c->kafka_consumer[0].key, "fetch.wait.max.ms");
    WC_CHECK_EQ_INT(wc_config_validate(c, err, sizeof(err)), 0);
    wc_config_destroy(c);
}

WC_TEST(config_errors_have_file_and_line)
{
    char err[512];
    struct {
        const char *content;
        const char *needle;
    } cases[] = {
        {"workers = 1\nno_such.key = 1\n", ":2: unknown key \"no_such.key\""},
        {"workers = 65\n", ":1: workers: 65 out of range [0, 64]"},
        {"workers = two\n", ":1: workers: expected an integer"},
        {"log.level = loud\n", ":1: log.level: invalid value \"loud\""},
        {"dedup.remote = maybe\n", ":1: dedup.remote: expected true or false"},
        {"\n\njust words\n", ":3: expected \"key = value\""},
        {"topic.input = \"open\n", ":1: unterminated quoted value"},
        {"kafka.consumer.no.such.prop = 1\n", ":1: kafka.consumer.no.such.prop"},
        {"kafka.consumer.enable.auto.commit = true\n", "managed by webcared"},
        {"kafka.global.fetch.wait.max.ms = abc\n", ":1: kafka.global.fetch.wait.max.ms"},
        {"bad key! = 1\n", ":1: invalid character in key"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wc_config_t *c = wc_config_new();
        err[0] = '\0';
        int rc = load(c, cases[i].content, err, sizeof(err));
        WC_CHECK(rc != 0);
        if (!strstr(err, cases[i].needle))
            WC_FAIL_AT(__FILE__, __LINE__, "case %zu: \"%s\" lacks \"%s\"", i, err,
                       cases[i].needle);
        wc_config_destroy(c);
    }
}

WC_TEST(config_missing_file)
{
    wc_config_t *c = wc_config_new();
    char err[512];
    WC_CHECK_EQ_INT(wc_config_load_file(c, "/nonexistent/webcared.conf", err, sizeof(err)), WC_ERR_IO);
    WC_CHECK(strstr(err, "/nonexistent/webcared.conf: cannot open") != NULL);
    wc_config_destroy(c);
}

WC_TEST(config_validate_cross_keys)
{
    wc_config_t *c = wc_config_new();
    char err[512];
    WC_CHECK_EQ_INT(wc_config_set(c, "topic.dlq", "mentions", "test", err, sizeof(err)), 0);
    WC_CHECK(wc_config_validate(c, err, sizeof(err)) != 0);
    WC_CHECK(strstr(err, "topic.dlq") != NULL);
    WC_CHECK_EQ_INT(wc_config_set(c, "topic.dlq", "mentions.dlq", "test", err, sizeof(err)), 0);
    WC_CHECK_EQ_INT(wc_config_set(c, "redis.addr", "nohostport", "test", err, sizeof(err)), 0);
    WC_CHECK(wc_config_validate(c, err, sizeof(err)) != 0);
    wc_config_destroy(c);
}

/* 64 dedup entries per worker at least (pipeline/dedup.c, chunk_drop_age):
 * a 1,024-entry table takes 16 workers, not 17; 1,025 rounds up to 2,048. */
WC_TEST(config_dedup_capacity_per_worker)
{
    wc_config_t *c = wc_config_new();
    char err[512];
    WC_CHECK_EQ_INT(wc_config_set(c, "dedup.capacity", "1024", "test", err, sizeof(err)), 0);
    WC_CHECK_EQ_INT(wc_config_set(c, "workers", "16", "test", err, sizeof(err)), 0);
    WC_CHECK_EQ_INT(wc_config_validate(c, err, sizeof(err)), 0);
    WC_CHECK_EQ_INT(wc_config_set(c, "workers", "17", "test", err, sizeof(err)), 0);
    WC_CHECK(wc_config_validate(c, err, sizeof(err)) != 0);
    WC_CHECK(strstr(err, "dedup.capacity 1024") != NULL);
    WC_CHECK(strstr(err, "17 workers") != NULL);
    WC_CHECK_EQ_INT(wc_config_set(c, "dedup.capacity", "1025", "test", err, sizeof(err)), 0);
    WC_CHECK_EQ_INT(wc_config_validate(c, err, sizeof(err)), 0);
    wc_config_destroy(c);
}

WC_TEST(config_secrets_masked)
{
    wc_config_t *c = wc_config_new();
    char err[512], *buf = NULL;
    size_t len = 0;
    WC_CHECK_EQ_INT(load(c, "redis.password = hunter2\nprivacy.hmac.key = k3y\n"
                            "kafka.global.sasl.password = pw-secret\n",
                         err, sizeof(err)),
                    0);
    FILE *fp = open_memstream(&buf, &len);
    wc_config_dump(c, fp);
    fclose(fp);
    WC_CHECK(strstr(buf, "hunter2") == NULL);
    WC_CHECK(strstr(buf, "k3y") == NULL);
    WC_CHECK(strstr(buf, "pw-secret") == NULL);
    WC_CHECK(strstr(buf, "redis.password = ********") != NULL);
    free(buf);
    wc_config_destroy(c);
}

WC_TEST(config_reload_diff)
{
    wc_config_t *a = wc_config_new(), *b = wc_config_new();
    char err[512], diff[256];
    wc_config_set(b, "log.level", "debug", "t", err, sizeof(err));
    WC_CHECK_EQ_INT(wc_config_diff_nonreloadable(a, b, diff, sizeof(diff)), 0);
    wc_config_set(b, "workers", "7", "t", err, sizeof(err));
    wc_config_set(b, "topic.input", "x", "t", err, sizeof(err));
    WC_CHECK_EQ_INT(wc_config_diff_nonreloadable(a, b, diff, sizeof(diff)), 2);
    WC_CHECK_STR(diff, "workers,topic.input");
    wc_config_destroy(a);
    wc_config_destroy(b);
}

WC_TEST(config_exactly_once_keys)
{
    wc_config_t *c = wc_config_new();
    char err[512] = "";
    /* Defaults: off, at-least-once behaviour unchanged. */
    WC_CHECK(!c->exactly_once);
    WC_CHECK_STR(c->transactional_id, "");
    WC_CHECK_EQ_INT(c->transaction_ms, 1000);
    WC_CHECK_EQ_INT(c->transaction_max_messages, 5000);
    WC_CHECK_EQ_INT(c->transaction_call_timeout_ms, 2000);
    WC_CHECK(!c->transaction_mirror_offsets);
    WC_CHECK_EQ_INT(load(c,
                         "kafka.exactly.once = on\nkafka.transactional.id = wc-eu-1\n"
                         "kafka.transaction.ms = 250\nkafka.transaction.max.messages = 100\n"
                         "kafka.transaction.call.timeout.ms = 500\n"
                         "kafka.transaction.mirror.offsets = true\n",
                         err, sizeof(err)),
                    0);
    WC_CHECK(c->exactly_once);
    WC_CHECK_STR(c->transactional_id, "wc-eu-1");
    WC_CHECK_EQ_INT(c->transaction_ms, 250);
    WC_CHECK_EQ_INT(c->transaction_max_messages, 100);
    WC_CHECK_EQ_INT(c->transaction_call_timeout_ms, 500);
    WC_CHECK(c->transaction_mirror_offsets);
    WC_CHECK_EQ_INT(wc_config_validate(c, err, sizeof(err)), 0);
    wc_config_destroy(c);

    c = wc_config_new();
    WC_CHECK(load(c, "kafka.transaction.ms = 5\n", err, sizeof(err)) != 0);
    WC_CHECK(strstr(err, ":1: kafka.transaction.ms: 5 out of range [10, 60000]") != NULL);
    /* The transactional.id is the daemon's (kafka.transactional.id), never a passthrough. */
    WC_CHECK(load(c, "kafka.producer.transactional.id = x\n", err, sizeof(err)) != 0);
    WC_CHECK(strstr(err, "managed by webcared") != NULL);
    wc_config_destroy(c);
}

WC_TEST(config_doc_up_to_date)
{
    const char *src = getenv("WC_SOURCE_DIR");
    char path[1024], *gen = NULL, *cur = NULL;
    size_t glen = 0;
    if (!src)
        src = ".";
    snprintf(path, sizeof(path), "%s/docs/CONFIGURATION.md", src);
    FILE *fp = open_memstream(&gen, &glen);
    wc_config_dump_doc(fp);
    fclose(fp);
    fp = fopen(path, "r");
    WC_CHECK(fp != NULL);
    if (!fp) {
        free(gen);
        return;
    }
    cur = calloc(1, glen + 2);
    size_t n = fread(cur, 1, glen + 1, fp);
    fclose(fp);
    if (n != glen || memcmp(cur, gen, glen))
        WC_FAIL_AT(__FILE__, __LINE__,
                   "%s is stale: regenerate with `webcared --dump-config-doc > docs/CONFIGURATION.md`",
                   path);
    free(cur);
    free(gen);
}

int main(void)
{
    return wc_test_run_all();
}
