/*
 * http.c - minimal HTTP/1.1 endpoint on the main libev loop:
 *   GET /metrics  Prometheus text exposition
 *   GET /livez    200 while the main loop runs
 *   GET /readyz   200 when Kafka and Redis are reachable and input flows,
 *                 503 with the reason otherwise
 *
 * One request per connection (Connection: close), request head capped at
 * 8 KiB, idle connections dropped after 5 s. Connections are few (probes,
 * scrapers), so each gets a small heap object; nothing here is hot.
 */
#include "daemon/app_internal.h"
#include "pipeline/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_MAX_REQ 8192
#define HTTP_MAX_CONNS 64

struct wc_http {
    wc_app_t *app;
    int fd;
    int port;
    ev_io accept_w;
    int nconns;
};

typedef struct http_conn {
    wc_http_t *h;
    int fd;
    ev_io io;
    ev_timer timeout;
    char req[HTTP_MAX_REQ];
    size_t req_len;
    char *resp;
    size_t resp_len, resp_off;
} http_conn_t;

static void conn_close(struct ev_loop *loop, http_conn_t *c)
{
    ev_io_stop(loop, &c->io);
    ev_timer_stop(loop, &c->timeout);
    close(c->fd);
    c->h->nconns--;
    free(c->resp);
    free(c);
}

static void conn_set_response(http_conn_t *c, int status, const char *ctype, const char *body,
                              size_t body_len)
{
    const char *text = status == 200 ? "OK" : status == 404 ? "Not Found"
                     : status == 405 ? "Method Not Allowed" : status == 400 ? "Bad Request"
                                                                            : "Service Unavailable";
    char head[256];
    int hn = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, text, ctype, body_len);
    c->resp = malloc((size_t)hn + body_len);
    if (!c->resp) {
        c->resp_len = 0;
        return;
    }
    memcpy(c->resp, head, (size_t)hn);
    memcpy(c->resp + hn, body, body_len);
    c->resp_len = (size_t)hn + body_len;
    c->resp_off = 0;
}

static void conn_handle(http_conn_t *c)
{
    wc_app_t *app = c->h->app;
    char method[8], path[256];
    if (sscanf(c->req, "%7s %255s", method, path) != 2) {
        conn_set_response(c, 400, "text/plain", "bad request\n", 12);
        return;
    }
    char *q = strchr(path, '?');
    if (q)
        *q = '\0';
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        conn_set_response(c, 405, "text/plain", "method not allowed\n", 19);
        return;
    }
    wc_dbg(WC_DBG_HTTP, "http", "%s %s", method, path);
    if (!strcmp(path, "/metrics")) {
        wc_metrics_gauges_t g;
        size_t len = 0;
        wc_app_gauges(app, &g);
        char *body = wc_metrics_render(app->metrics, &g, &len);
        if (!body) {
            conn_set_response(c, 503, "text/plain", "out of memory\n", 14);
            return;
        }
        conn_set_response(c, 200, "text/plain; version=0.0.4", body, len);
        free(body);
    } else if (!strcmp(path, "/livez")) {
        conn_set_response(c, 200, "text/plain", "ok\n", 3);
    } else if (!strcmp(path, "/readyz")) {
        char why[256], body[300];
        int ok = wc_app_ready(app, why, sizeof(why));
        int n = snprintf(body, sizeof(body), "%s\n", ok ? "ready" : why);
        conn_set_response(c, ok ? 200 : 503, "text/plain", body, (size_t)n);
    } else {
        conn_set_response(c, 404, "text/plain", "not found\n", 10);
    }
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    http_conn_t *c = w->data;
    if (revents & EV_READ) {
        ssize_t n = read(c->fd, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            conn_close(loop, c);
            return;
        }
        c->req_len += (size_t)n;
        c->req[c->req_len] = '\0';
        if (!strstr(c->req, "\r\n\r\n") && !strstr(c->req, "\n\n")) {
            if (c->req_len >= sizeof(c->req) - 1) {
                conn_set_response(c, 400, "text/plain", "request too large\n", 18);
            } else {
                return;
            }
        } else {
            conn_handle(c);
        }
        if (!c->resp) {
            conn_close(loop, c);
            return;
        }
        ev_io_stop(loop, &c->io);
        ev_io_set(&c->io, c->fd, EV_WRITE);
        ev_io_start(loop, &c->io);
        return;
    }
    if (revents & EV_WRITE) {
        ssize_t n = write(c->fd, c->resp + c->resp_off, c->resp_len - c->resp_off);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            conn_close(loop, c);
            return;
        }
        c->resp_off += (size_t)n;
        if (c->resp_off == c->resp_len)
            conn_close(loop, c);
    }
}

static void conn_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    conn_close(loop, w->data);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    wc_http_t *h = w->data;
    for (;;) {
        int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (h->nconns >= HTTP_MAX_CONNS) {
            close(fd);
            continue;
        }
        http_conn_t *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->h = h;
        c->fd = fd;
        h->nconns++;
        ev_io_init(&c->io, conn_io_cb, fd, EV_READ);
        c->io.data = c;
        ev_timer_init(&c->timeout, conn_timeout_cb, 5.0, 0.0);
        c->timeout.data = c;
        ev_io_start(loop, &c->io);
        ev_timer_start(loop, &c->timeout);
    }
}

wc_http_t *wc_http_create(wc_app_t *app, const char *bind_addr, int port, char *errstr,
                          size_t errstr_size)
{
    wc_http_t *h = calloc(1, sizeof(*h));
    struct sockaddr_in sa;
    socklen_t slen = sizeof(sa);
    int one = 1;

    if (!h)
        return NULL;
    h->app = app;
    h->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->fd < 0)
        goto fail;
    setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) {
        wc_errstr_set(errstr, errstr_size, "http.bind: invalid IPv4 address \"%s\"", bind_addr);
        goto fail_quiet;
    }
    if (bind(h->fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(h->fd, 64))
        goto fail;
    if (getsockname(h->fd, (struct sockaddr *)&sa, &slen))
        goto fail;
    h->port = ntohs(sa.sin_port);
    ev_io_init(&h->accept_w, accept_cb, h->fd, EV_READ);
    h->accept_w.data = h;
    ev_io_start(app->loop, &h->accept_w);
    return h;
fail:
    wc_errstr_set(errstr, errstr_size, "http %s:%d: %s", bind_addr, port, strerror(errno));
fail_quiet:
    if (h->fd >= 0)
        close(h->fd);
    free(h);
    return NULL;
}

int wc_http_port(const wc_http_t *h)
{
    return h->port;
}

void wc_http_destroy(wc_http_t *h)
{
    if (!h)
        return;
    ev_io_stop(h->app->loop, &h->accept_w);
    close(h->fd);
    free(h);
}
