/*
 * fuzz_config.c - libFuzzer harness for the config file parser
 * (wc_config_parse_buf(), the same line parser as wc_config_load_file()).
 *
 * For every input:
 *  1. Parse into a fresh default config. On failure: rc is one of the
 *     documented errors and errstr says "fuzz:LINE: ..." (the origin is
 *     always named). On success: wc_config_validate() returns 0 or a
 *     negative code with a message, and wc_config_workers() is in 1..64.
 *  2. Secrets are never printed: set redis.password, dedup.redis.password,
 *     privacy.hmac.key and kafka.global.sasl.password to a sentinel (skipped when the input
 *     itself contains the sentinel) and check the --print-config dump does
 *     not contain it.
 *  3. The dump is a config file: parsing it into a new config and dumping
 *     again gives the same text (print-config output can be fed back).
 *  4. wc_config_diff_nonreloadable() of the config against the re-parsed
 *     one names at most the masked secrets, and its output stays
 *     NUL-terminated within a too-small buffer.
 *
 * Inputs containing "plugin" are skipped: librdkafka's
 * plugin.library.paths dlopen()s at conf_set time, which a fuzzer must not
 * do with arbitrary paths (the daemon's config is trusted input).
 *
 * Build: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DWC_FUZZ=ON
 *        -DWC_SANITIZE=address && cmake --build build-fuzz --target fuzz_config
 * Run:   build-fuzz/tests/fuzz_config <scratch-corpus-dir> tests/fuzz/corpus/config
 */
#include "daemon/config.h"
#include "pipeline/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_config: check failed at line %d: %s\n", __LINE__, #cond);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define SENTINEL "Zq7-sentinel-secret-9xW"

static char *dump(const wc_config_t *c, size_t *len)
{
    char *buf = NULL;
    FILE *fp = open_memstream(&buf, len);
    CHECK(fp != NULL);
    wc_config_dump(c, fp);
    CHECK(fclose(fp) == 0);
    return buf;
}

static bool known_err(int rc)
{
    return rc == WC_ERR_PARSE || rc == WC_ERR_RANGE || rc == WC_ERR_INVAL || rc == WC_ERR_NOMEM ||
           rc == WC_ERR_IO;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        wc_log_setup(WC_LOG_ERROR, 0, 0);
        init = true;
    }
    if (size > 16384 || memmem(data, size, "plugin", 6))
        return 0;

    char err[1024] = "";
    wc_config_t *c = wc_config_new();
    CHECK(c != NULL);
    int rc = wc_config_parse_buf(c, (const char *)data, size, "fuzz", err, sizeof(err));
    if (rc) {
        CHECK(known_err(rc));
        CHECK(memchr(err, '\0', sizeof(err)) != NULL);
        if (rc != WC_ERR_NOMEM)
            CHECK(!strncmp(err, "fuzz:", 5));
        wc_config_destroy(c);
        return 0;
    }
    CHECK(c->path == NULL);
    err[0] = '\0';
    rc = wc_config_validate(c, err, sizeof(err));
    CHECK(rc == 0 || (rc < 0 && err[0]));
    int w = wc_config_workers(c);
    CHECK(w >= 1 && w <= 64);

    /* 3 + 4: the dump parses back to the same configuration. */
    size_t len1 = 0, len2 = 0;
    char *d1 = dump(c, &len1);
    wc_config_t *c2 = wc_config_new();
    CHECK(c2 != NULL);
    rc = wc_config_parse_buf(c2, d1, len1, "dump", err, sizeof(err));
    if (rc)
        fprintf(stderr, "fuzz_config: the dump does not parse: %s\n--- dump:\n%s", err, d1);
    CHECK(rc == 0);
    char *d2 = dump(c2, &len2);
    if (len1 != len2 || memcmp(d1, d2, len1))
        fprintf(stderr, "fuzz_config: dump differs after a round trip\n--- first:\n%s--- second:\n%s",
                d1, d2);
    CHECK(len1 == len2 && !memcmp(d1, d2, len1));
    char diff[64], big[1024];
    memset(diff, 'x', sizeof(diff));
    CHECK(wc_config_diff_nonreloadable(c, c, diff, sizeof(diff)) == 0);
    CHECK(diff[0] == '\0');
    /* Only the masked secrets may differ ("********" parsed back). */
    const int nd = wc_config_diff_nonreloadable(c, c2, big, sizeof(big));
    CHECK(nd >= 0 && nd <= 3);
    for (char *save = NULL, *k = strtok_r(big, ",", &save); k; k = strtok_r(NULL, ",", &save))
        CHECK(!strcmp(k, "redis.password") || !strcmp(k, "dedup.redis.password") ||
              !strcmp(k, "privacy.hmac.key"));
    memset(diff, 'x', sizeof(diff));
    wc_config_set(c2, "workers", "63", "t", err, sizeof(err));
    wc_config_set(c2, "instance.id", "a-long-instance-name-to-overflow-the-small-buffer", "t", err,
                  sizeof(err));
    wc_config_set(c2, "kafka.brokers", "another-long-broker-list:9092", "t", err, sizeof(err));
    wc_config_diff_nonreloadable(c, c2, diff, sizeof(diff));
    CHECK(memchr(diff, '\0', sizeof(diff)) != NULL);
    free(d1);
    free(d2);
    wc_config_destroy(c2);

    /* 2: secrets are masked. */
    if (!memmem(data, size, SENTINEL, strlen(SENTINEL))) {
        CHECK(wc_config_set(c, "redis.password", SENTINEL, "t", err, sizeof(err)) == 0);
        CHECK(wc_config_set(c, "dedup.redis.password", SENTINEL, "t", err, sizeof(err)) == 0);
        CHECK(wc_config_set(c, "privacy.hmac.key", SENTINEL, "t", err, sizeof(err)) == 0);
        rc = wc_config_set(c, "kafka.global.sasl.password", SENTINEL, "t", err, sizeof(err));
        CHECK(rc == 0 || rc == WC_ERR_RANGE); /* the 64 passthrough slots may be full */
        char *d3 = dump(c, &len1);
        CHECK(strstr(d3, SENTINEL) == NULL);
        free(d3);
    }
    wc_config_destroy(c);
    return 0;
}
