/*
 * log.h - the one logging macro family.
 *
 * Every line carries a level and a context tag ("kafka", "redis", "rules",
 * "worker", ...). Output goes to stderr, either as plain text or as one JSON
 * object per line (log_format = json). The level is checked before any
 * formatting happens, so a disabled debug line costs one load and a branch.
 *
 * Debug lines are additionally filtered by a runtime bitmask of contexts
 * (config key `debug = kafka,rules`).
 *
 * Never log raw mention text or author identifiers: log mention ids,
 * partitions and offsets instead.
 *
 * @locality any thread; each line is written with a single write(2).
 */
#ifndef WC_LOG_H
#define WC_LOG_H

#include <stdint.h>

enum wc_log_level { WC_LOG_ERROR = 0, WC_LOG_WARN = 1, WC_LOG_INFO = 2, WC_LOG_DEBUG = 3 };

enum wc_log_ctx {
    WC_DBG_KAFKA = 1u << 0,
    WC_DBG_REDIS = 1u << 1,
    WC_DBG_RULES = 1u << 2,
    WC_DBG_WORKER = 1u << 3,
    WC_DBG_DEDUP = 1u << 4,
    WC_DBG_WINDOW = 1u << 5,
    WC_DBG_HTTP = 1u << 6,
    WC_DBG_CONFIG = 1u << 7,
    WC_DBG_ALL = 0xffffffffu,
};

extern int wc_log_level;          /* messages above this level are dropped */
extern uint32_t wc_log_debug_mask; /* contexts enabled for debug level */

/* Configure logging. json != 0 selects JSON lines. @locality main, before threads start */
void wc_log_setup(int level, int json, uint32_t debug_mask);
/* Parse "kafka,rules" / "all" into a mask; -1 on unknown name. */
int wc_log_parse_debug(const char *s, uint32_t *mask);
/* Parse "error|warn|info|debug"; -1 on unknown name. */
int wc_log_parse_level(const char *s);

void wc_log_write(int level, const char *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define wc_log(level, ctx, ...)                                                                    \
    do {                                                                                           \
        if ((level) <= wc_log_level)                                                               \
            wc_log_write((level), (ctx), __VA_ARGS__);                                             \
    } while (0)

#define wc_err(ctx, ...) wc_log(WC_LOG_ERROR, ctx, __VA_ARGS__)
#define wc_warn(ctx, ...) wc_log(WC_LOG_WARN, ctx, __VA_ARGS__)
#define wc_info(ctx, ...) wc_log(WC_LOG_INFO, ctx, __VA_ARGS__)
#define wc_dbg(bit, ctx, ...)                                                                      \
    do {                                                                                           \
        if (WC_LOG_DEBUG <= wc_log_level && (wc_log_debug_mask & (bit)))                           \
            wc_log_write(WC_LOG_DEBUG, ctx, __VA_ARGS__);                                          \
    } while (0)

#endif
