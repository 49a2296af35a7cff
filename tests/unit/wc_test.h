/*
 * wc_test.h - minimal unit-test harness (no dependency).
 *
 *   WC_TEST(name) { WC_CHECK(x == 1); WC_CHECK_EQ_INT(a, b); WC_CHECK_STR(s, "x"); }
 *   int main(void) { return wc_test_run_all(); }
 *
 * Tests register themselves through a constructor; a failed check reports
 * file:line and the test continues; the exit code is the failure count
 * (capped), so ctest sees a failure.
 */
#ifndef WC_TEST_H
#define WC_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*wc_test_fn)(void);
struct wc_test_entry {
    const char *name;
    wc_test_fn fn;
};

#define WC_TEST_MAX 512
static struct wc_test_entry wc_tests[WC_TEST_MAX];
static int wc_ntests;
static int wc_test_failures;
static const char *wc_test_current;

#define WC_TEST(name)                                                                              \
    static void wc_test_##name(void);                                                              \
    __attribute__((constructor)) static void wc_test_reg_##name(void)                              \
    {                                                                                              \
        if (wc_ntests < WC_TEST_MAX)                                                               \
            wc_tests[wc_ntests++] = (struct wc_test_entry){#name, wc_test_##name};                 \
    }                                                                                              \
    static void wc_test_##name(void)

#define WC_FAIL_AT(file, line, ...)                                                                \
    do {                                                                                           \
        fprintf(stderr, "FAIL %s (%s:%d): ", wc_test_current, file, line);                         \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        wc_test_failures++;                                                                        \
    } while (0)

#define WC_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            WC_FAIL_AT(__FILE__, __LINE__, "%s", #cond);                                           \
    } while (0)

#define WC_CHECK_EQ_INT(a, b)                                                                      \
    do {                                                                                           \
        long long _a = (long long)(a), _b = (long long)(b);                                        \
        if (_a != _b)                                                                              \
            WC_FAIL_AT(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, _a, _b);              \
    } while (0)

#define WC_CHECK_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *_a = (a), *_b = (b);                                                           \
        if (!_a || !_b || strcmp(_a, _b))                                                          \
            WC_FAIL_AT(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,                   \
                       _a ? _a : "(null)", _b ? _b : "(null)");                                    \
    } while (0)

/* Compare a non-terminated (p, len) string with a C string. */
#define WC_CHECK_STRN(p, len, b)                                                                   \
    do {                                                                                           \
        const char *_p = (p), *_b = (b);                                                           \
        size_t _l = (size_t)(len);                                                                 \
        if (!_p || strlen(_b) != _l || memcmp(_p, _b, _l))                                         \
            WC_FAIL_AT(__FILE__, __LINE__, "%s == \"%s\": got \"%.*s\"", #p, _b, (int)_l,          \
                       _p ? _p : "(null)");                                                        \
    } while (0)

static inline int wc_test_run_all(void)
{
    for (int i = 0; i < wc_ntests; i++) {
        int before = wc_test_failures;
        wc_test_current = wc_tests[i].name;
        wc_tests[i].fn();
        fprintf(stderr, "%s %s\n", wc_test_failures == before ? "ok  " : "FAIL", wc_tests[i].name);
    }
    fprintf(stderr, "%d tests, %d failed checks\n", wc_ntests, wc_test_failures);
    return wc_test_failures > 100 ? 100 : wc_test_failures;
}

#endif
