/*
 * test_sdnotify.c - wc_sd_notify() against a real AF_UNIX datagram socket
 * (path and abstract names), error cases, and $WATCHDOG_USEC/$WATCHDOG_PID
 * parsing.
 */
#include "daemon/sdnotify.h"
#include "pipeline/common.h"
#include "wc_test.h"

#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Bind a datagram socket to name ("/path" or "@abstract"); -1 on error. */
static int listen_dgram(const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    if (n >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, name, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    else
        len++;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, len)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Receive one datagram (waits up to 5 s); returns its length or -1. */
static ssize_t recv_one(int fd, char *buf, size_t size)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 5000) != 1)
        return -1;
    ssize_t n = recv(fd, buf, size - 1, 0);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

WC_TEST(sdnotify_unset_is_noop)
{
    unsetenv("NOTIFY_SOCKET");
    WC_CHECK_EQ_INT(wc_sd_notify("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    WC_CHECK_EQ_INT(wc_sd_notify("READY=1"), 0);
    unsetenv("NOTIFY_SOCKET");
}

WC_TEST(sdnotify_path_socket)
{
    char dir[] = "/tmp/wc_test_sdnotify_XXXXXX", path[128], buf[256];
    WC_CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/notify", dir);
    int fd = listen_dgram(path);
    WC_CHECK(fd >= 0);
    setenv("NOTIFY_SOCKET", path, 1);
    static const char *const states[] = {"READY=1", "RELOADING=1", "READY=1\nSTATUS=reloaded",
                                         "WATCHDOG=1", "STOPPING=1\nSTATUS=draining"};
    for (size_t i = 0; i < WC_ARRAY_SIZE(states); i++) {
        WC_CHECK_EQ_INT(wc_sd_notify(states[i]), 1);
        WC_CHECK(recv_one(fd, buf, sizeof(buf)) == (ssize_t)strlen(states[i]));
        WC_CHECK_STR(buf, states[i]);
    }
    close(fd);
    /* Nobody listens any more: an I/O error, not a crash or a hang. */
    unlink(path);
    WC_CHECK_EQ_INT(wc_sd_notify("WATCHDOG=1"), WC_ERR_IO);
    rmdir(dir);
    unsetenv("NOTIFY_SOCKET");
}

WC_TEST(sdnotify_abstract_socket)
{
    char name[108], buf[256];
    snprintf(name, sizeof(name), "@wc-test-sdnotify-%ld-%d", (long)getpid(), rand());
    int fd = listen_dgram(name);
    WC_CHECK(fd >= 0);
    setenv("NOTIFY_SOCKET", name, 1);
    WC_CHECK_EQ_INT(wc_sd_notify("READY=1"), 1);
    WC_CHECK(recv_one(fd, buf, sizeof(buf)) == 7);
    WC_CHECK_STR(buf, "READY=1");
    /* The abstract name is exactly the bytes after '@': a longer or shorter
     * name is a different socket. */
    char other[120];
    snprintf(other, sizeof(other), "%sx", name);
    setenv("NOTIFY_SOCKET", other, 1);
    WC_CHECK_EQ_INT(wc_sd_notify("READY=1"), WC_ERR_IO);
    close(fd);
    unsetenv("NOTIFY_SOCKET");
}

WC_TEST(sdnotify_bad_env)
{
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    WC_CHECK_EQ_INT(wc_sd_notify("READY=1"), WC_ERR_INVAL);
    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    setenv("NOTIFY_SOCKET", longp, 1);
    WC_CHECK_EQ_INT(wc_sd_notify("READY=1"), WC_ERR_INVAL);
    unsetenv("NOTIFY_SOCKET");
}

WC_TEST(sdnotify_watchdog_usec)
{
    char pid[32];
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    WC_CHECK_EQ_INT(wc_sd_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "20000000", 1);
    WC_CHECK_EQ_INT(wc_sd_watchdog_usec(), 20000000);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    WC_CHECK_EQ_INT(wc_sd_watchdog_usec(), 20000000);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1); /* meant for another process */
    WC_CHECK_EQ_INT(wc_sd_watchdog_usec(), 0);
    setenv("WATCHDOG_PID", "x1", 1);
    WC_CHECK_EQ_INT(wc_sd_watchdog_usec(), 0);
    unsetenv("WATCHDOG_PID");
    static const char *const bad[] = {"0", "", "-5", "12abc", " 12", "99999999999999999999999"};
    for (size_t i = 0; i < WC_ARRAY_SIZE(bad); i++) {
        setenv("WATCHDOG_USEC", bad[i], 1);
        WC_CHECK_EQ_INT(wc_sd_watchdog_usec(), 0);
    }
    unsetenv("WATCHDOG_USEC");
}

int main(void)
{
    return wc_test_run_all();
}
