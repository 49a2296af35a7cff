/*
 * log.c - stderr logger, plain or JSON lines.
 *
 * Each call formats into a stack buffer and emits it with one write(2) so
 * lines from different threads never interleave. Lines longer than the
 * buffer are truncated (and marked with "...").
 */
#include "pipeline/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int wc_log_level = WC_LOG_INFO;
uint32_t wc_log_debug_mask = 0;
static int log_json = 0;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void wc_log_setup(int level, int json, uint32_t debug_mask)
{
    wc_log_level = level;
    log_json = json;
    wc_log_debug_mask = debug_mask;
}

int wc_log_parse_level(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (!strcasecmp(s, level_names[i]))
            return i;
    return -1;
}

int wc_log_parse_debug(const char *s, uint32_t *mask)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } ctxs[] = {{"kafka", WC_DBG_KAFKA},   {"redis", WC_DBG_REDIS},   {"rules", WC_DBG_RULES},
                {"worker", WC_DBG_WORKER}, {"dedup", WC_DBG_DEDUP},   {"window", WC_DBG_WINDOW},
                {"http", WC_DBG_HTTP},     {"config", WC_DBG_CONFIG}, {"all", WC_DBG_ALL}};
    uint32_t m = 0;
    const char *p = s;
    while (*p) {
        size_t n = strcspn(p, ", ");
        if (n) {
            size_t i;
            for (i = 0; i < sizeof(ctxs) / sizeof(ctxs[0]); i++)
                if (strlen(ctxs[i].name) == n && !strncasecmp(p, ctxs[i].name, n))
                    break;
            if (i == sizeof(ctxs) / sizeof(ctxs[0]))
                return -1;
            m |= ctxs[i].bit;
        }
        p += n;
        while (*p == ',' || *p == ' ')
            p++;
    }
    *mask = m;
    return 0;
}

/* Append s to buf as JSON string content (no quotes). */
static size_t json_escape(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return o;
}

void wc_log_write(int level, const char *ctx, const char *fmt, ...)
{
    char msg[2048], line[4600];
    struct timespec ts;
    struct tm tm;
    char tsbuf[96];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(msg))
        memcpy(msg + sizeof(msg) - 4, "...", 4);

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(tsbuf, sizeof(tsbuf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    if (level < 0 || level > 3)
        level = WC_LOG_ERROR;
    if (log_json) {
        char esc[4200];
        json_escape(esc, sizeof(esc), msg);
        n = snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"ctx\":\"%s\",\"msg\":\"%s\"}\n",
                     tsbuf, level_names[level], ctx, esc);
    } else {
        n = snprintf(line, sizeof(line), "%s %-5s [%s] %s\n", tsbuf, level_names[level], ctx, msg);
    }
    if (n >= (int)sizeof(line)) {
        n = sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
