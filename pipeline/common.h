/*
 * common.h - error convention, small helpers shared by every module.
 *
 * One error convention (STYLE 4): functions return int, 0 = OK, negative
 * WC_ERR_* codes on failure; wc_strerror() names them. Constructors and
 * parsers additionally take (char *errstr, size_t errstr_size) and write a
 * human-readable reason there.
 */
#ifndef WC_COMMON_H
#define WC_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <time.h>

#define WC_LIKELY(x) __builtin_expect(!!(x), 1)
#define WC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define WC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define WC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define WC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define WC_CACHELINE 64

enum wc_err {
    WC_OK = 0,
    WC_ERR_INVAL = -1,    /* invalid argument / input (fatal for that input) */
    WC_ERR_NOMEM = -2,    /* allocation failed (fatal) */
    WC_ERR_IO = -3,       /* file or socket error (retriable) */
    WC_ERR_PARSE = -4,    /* syntax error in a file or payload (fatal for that input) */
    WC_ERR_FULL = -5,     /* bounded queue/table full (retriable: back off) */
    WC_ERR_EMPTY = -6,    /* nothing to take (retriable) */
    WC_ERR_NOTFOUND = -7, /* lookup miss */
    WC_ERR_TIMEOUT = -8,  /* deadline passed (retriable) */
    WC_ERR_UNAVAIL = -9,  /* dependency (Kafka/Redis) unavailable (retriable) */
    WC_ERR_RANGE = -10,   /* value out of range (fatal for that input) */
    WC_ERR_STATE = -11,   /* operation not valid in the current state (bug or misuse) */
};

/* @locality any. Returns a static string. */
const char *wc_strerror(int err);

/* Wall clock and monotonic clock in milliseconds / nanoseconds. @locality any */
static inline int64_t wc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t wc_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* snprintf into errstr if non-NULL. @locality any */
void wc_errstr_set(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
