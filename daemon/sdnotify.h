/*
 * sdnotify.h - systemd's service notification protocol without libsystemd.
 *
 * systemd (Type=notify) passes $NOTIFY_SOCKET, an AF_UNIX datagram socket
 * (a path, or an abstract name written with a leading '@'); the service
 * sends newline-separated KEY=VALUE assignments to it:
 *   READY=1      startup finished (systemd considers the unit started)
 *   RELOADING=1  a reload began (send READY=1 when it is done)
 *   STOPPING=1   shutdown began
 *   WATCHDOG=1   keep-alive, at least every WATCHDOG_USEC/2
 *   STATUS=...   free text shown by `systemctl status`
 * Outside systemd (no $NOTIFY_SOCKET) every call is a cheap no-op.
 *
 * @locality any thread: no shared state; each call opens, sends on and
 * closes its own socket (notifications are rare: startup, reload,
 * shutdown and a watchdog ping every few seconds).
 */
#ifndef WC_SDNOTIFY_H
#define WC_SDNOTIFY_H

#include <stdint.h>

/* Send one notification (state is e.g. "READY=1" or
 * "STOPPING=1\nSTATUS=draining"). Returns 1 if sent, 0 if $NOTIFY_SOCKET is
 * not set, WC_ERR_INVAL for a malformed $NOTIFY_SOCKET (relative or too
 * long path) and WC_ERR_IO if the datagram could not be sent (e.g. nobody
 * listens). Never fatal: callers may ignore the result. */
int wc_sd_notify(const char *state);

/* The watchdog interval systemd expects keep-alives within, in
 * microseconds, or 0 if the watchdog is off: $WATCHDOG_USEC when it is a
 * positive integer and $WATCHDOG_PID is unset or equals getpid().
 * Send WATCHDOG=1 every wc_sd_watchdog_usec() / 2. */
uint64_t wc_sd_watchdog_usec(void);

#endif
