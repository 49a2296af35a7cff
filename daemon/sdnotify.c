/*
 * sdnotify.c - sd_notify(3) without libsystemd: one sendto() on an AF_UNIX
 * datagram socket named by $NOTIFY_SOCKET.
 *
 * Why not libsystemd: one more runtime dependency (and one that does not
 * exist in minimal containers) for ~60 lines of a stable, documented
 * protocol. What we implement: path sockets ("/run/systemd/notify") and
 * abstract ones ("@name": sun_path starts with NUL, the address length
 * counts exactly the name bytes). Not implemented: vsock (systemd >= 253
 * "vsock:CID:PORT", used for VMs), passing file descriptors, and
 * unsetting the environment after the first call (the daemon calls us
 * several times over its life and starts no children).
 *
 * Threads: no state at all; each call uses its own socket. getenv() is
 * safe because nothing in the daemon calls setenv() after startup.
 */
#include "daemon/sdnotify.h"
#include "pipeline/common.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int wc_sd_notify(const char *state)
{
    const char *e = getenv("NOTIFY_SOCKET");
    if (!e || !*e)
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(e);
    if ((e[0] != '/' && e[0] != '@') || n >= sizeof(sa.sun_path))
        return WC_ERR_INVAL;
    memcpy(sa.sun_path, e, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (e[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract: exactly n bytes, no terminator */
    else
        len++; /* path: include the NUL */

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return WC_ERR_IO;
    ssize_t sent;
    do
        sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    while (sent < 0 && errno == EINTR);
    close(fd);
    return sent == (ssize_t)strlen(state) ? 1 : WC_ERR_IO;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

uint64_t wc_sd_watchdog_usec(void)
{
    uint64_t usec, pid;
    if (!parse_u64(getenv("WATCHDOG_USEC"), &usec) || usec == 0)
        return 0;
    const char *p = getenv("WATCHDOG_PID");
    if (p && *p && (!parse_u64(p, &pid) || pid != (uint64_t)getpid()))
        return 0;
    return usec;
}
