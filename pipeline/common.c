/*
 * common.c - wc_strerror() and errstr helper.
 */
#include "pipeline/common.h"

#include <stdarg.h>
#include <stdio.h>

const char *wc_strerror(int err)
{
    switch (err) {
    case WC_OK: return "success";
    case WC_ERR_INVAL: return "invalid argument";
    case WC_ERR_NOMEM: return "out of memory";
    case WC_ERR_IO: return "i/o error";
    case WC_ERR_PARSE: return "parse error";
    case WC_ERR_FULL: return "queue or table full";
    case WC_ERR_EMPTY: return "empty";
    case WC_ERR_NOTFOUND: return "not found";
    case WC_ERR_TIMEOUT: return "timed out";
    case WC_ERR_UNAVAIL: return "dependency unavailable";
    case WC_ERR_RANGE: return "value out of range";
    case WC_ERR_STATE: return "invalid state";
    default: return "unknown error";
    }
}

void wc_errstr_set(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    va_list ap;
    if (!errstr || !errstr_size)
        return;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}
