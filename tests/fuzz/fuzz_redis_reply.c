/*
 * fuzz_redis_reply.c - libFuzzer harness for Redis reply handling: hiredis'
 * RESP reader and the daemon's asynchronous client (daemon/redis.c) fed by
 * a fake server that answers with the fuzz input.
 *
 * Input layout: byte 0 = flags (bit 0: the client sends AUTH, bits 1-3: how
 * many commands the test issues, 1..8, bits 4-7: write chunk size selector),
 * the rest = the bytes the "server" sends.
 *
 * For every input:
 *  1. One-shot parse of the server bytes with a redisReader: every reply
 *     tree is well formed (known type; strings NUL-terminated at len;
 *     arrays with non-NULL elements; nesting within hiredis' 7 levels).
 *     This counts the complete replies k before the end or a protocol
 *     error.
 *  2. A listening socket on 127.0.0.1 plays the server: wc_redis_create()
 *     connects (the daemon queues AUTH if asked, then PING), the test
 *     issues its commands with wc_redis_command_argv(), the server writes
 *     the bytes in chunks, then closes. Only as many complete replies as
 *     there are outstanding commands are sent: hiredis 0.14 assert()s on an
 *     unsolicited non-error reply (see the report below), which is a
 *     hiredis limitation, not ours to fuzz.
 *  3. Contract checks: every command callback is called exactly once, in
 *     order; callback j gets either NULL (not applied) or a reply equal
 *     (deep compare) to the one-shot parse of reply j; once a NULL was
 *     seen, every later callback gets NULL too; the state callback
 *     alternates up/down; nothing is pending after the connection is gone;
 *     no leaks (ASan) after wc_redis_destroy().
 *
 * Known hiredis 0.14 behaviour (not fuzzed, see step 2): a server that
 * sends a reply nobody asked for, that is not an error, makes
 * redisProcessCallbacks() hit assert(REDIS_SUBSCRIBED || REDIS_MONITORING)
 * and abort the process.
 *
 * Build: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DWC_FUZZ=ON
 *        -DWC_SANITIZE=address && cmake --build build-fuzz --target fuzz_redis_reply
 * Run:   build-fuzz/tests/fuzz_redis_reply <scratch-corpus-dir> tests/fuzz/corpus/redis_reply
 */
#include "daemon/redis.h"
#include "pipeline/log.h"
#include "pipeline/resp_guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_redis_reply: check failed at line %d: %s\n", __LINE__, #cond);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_REPLIES 16
#define MAX_CMDS 8

typedef struct fz {
    redisReply *oneshot[MAX_REPLIES]; /* parsed replies, owned */
    int k;                            /* complete replies in the input */
    int offset;                       /* replies consumed by AUTH/PING before ours */
    int calls[MAX_CMDS];
    int next_cb; /* order check */
    bool saw_null;
    int state_calls, last_state;
} fz_t;

static fz_t fz;

static void check_tree(const redisReply *r, int depth)
{
    CHECK(depth <= 8);
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        CHECK(r->str != NULL && r->str[r->len] == '\0');
        break;
    case REDIS_REPLY_ARRAY:
        CHECK(r->elements == 0 || r->element != NULL);
        for (size_t i = 0; i < r->elements; i++) {
            CHECK(r->element[i] != NULL);
            check_tree(r->element[i], depth + 1);
        }
        break;
    case REDIS_REPLY_INTEGER:
    case REDIS_REPLY_NIL:
        break;
    default:
        CHECK(!"unknown reply type");
    }
}

static bool same_tree(const redisReply *a, const redisReply *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        return a->len == b->len && !memcmp(a->str, b->str, a->len);
    case REDIS_REPLY_ARRAY:
        if (a->elements != b->elements)
            return false;
        for (size_t i = 0; i < a->elements; i++)
            if (!same_tree(a->element[i], b->element[i]))
                return false;
        return true;
    case REDIS_REPLY_INTEGER:
        return a->integer == b->integer;
    default:
        return true;
    }
}

static void cmd_cb(wc_redis_t *r, redisReply *reply, void *priv)
{
    int j = (int)(intptr_t)priv;
    CHECK(j >= 0 && j < MAX_CMDS);
    CHECK(fz.calls[j]++ == 0);
    CHECK(j == fz.next_cb);
    fz.next_cb++;
    if (!reply) {
        fz.saw_null = true;
        return;
    }
    CHECK(!fz.saw_null);
    check_tree(reply, 0);
    int idx = fz.offset + j;
    CHECK(idx < fz.k);
    CHECK(same_tree(reply, fz.oneshot[idx]));
}

static void state_cb(void *opaque, int up)
{
    CHECK(up == 0 || up == 1);
    CHECK(up != fz.last_state);
    fz.last_state = up;
    fz.state_calls++;
}

static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    CHECK(listen(fd, 16) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ev_loop *loop;
    static int lfd, port;
    static char addr[64];
    if (!loop) {
        wc_log_setup(-1, 0, 0); /* level -1: silent (the fuzzer makes plenty of errors) */
        loop = ev_loop_new(EVFLAG_AUTO);
        CHECK(loop != NULL);
        lfd = listener(&port);
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    }
    if (size < 1 || size > 65536)
        return 0;
    const bool auth = data[0] & 1;
    const int ncmds = 1 + ((data[0] >> 1) & 7);
    static const size_t chunks[16] = {1, 2, 3, 5, 7, 16, 64, 512, 4096, 65536,
                                      65536, 65536, 65536, 65536, 65536, 65536};
    const size_t chunk = chunks[data[0] >> 4];
    const char *in = (const char *)data + 1;
    size_t n = size - 1;

    /* 1. one-shot parse */
    memset(&fz, 0, sizeof(fz));
    fz.last_state = 0;
    fz.offset = auth ? 2 : 1;
    const int outstanding = fz.offset + ncmds;
    redisReader *rd = redisReaderCreate();
    CHECK(rd != NULL);
    wc_resp_guard(rd); /* the same bound as the client's reader */
    CHECK(redisReaderFeed(rd, in, n) == REDIS_OK);
    size_t send_len = n;
    for (;;) {
        void *rep = NULL;
        if (redisReaderGetReply(rd, &rep) != REDIS_OK) {
            CHECK(rd->err != 0 && rd->errstr[0]);
            break;
        }
        if (!rep)
            break;
        check_tree(rep, 0);
        if (fz.k == outstanding || fz.k == MAX_REPLIES) {
            /* One reply too many: send only what precedes it. */
            freeReplyObject(rep);
            break;
        }
        fz.oneshot[fz.k++] = rep;
        send_len = n - (rd->len - rd->pos);
    }
    bool cut = fz.k == outstanding || fz.k == MAX_REPLIES;
    if (!cut)
        send_len = n; /* incomplete tail or garbage: send all of it */
    redisReaderFree(rd);

    /* 2. the daemon's client against a fake server */
    char err[256];
    wc_redis_t *r = wc_redis_create(loop, addr, auth ? "pw" : "", 60000, state_cb, NULL, err,
                                    sizeof(err));
    CHECK(r != NULL);
    int sfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    CHECK(sfd >= 0);
    /* Small chunks must go out at once (no Nagle wait for a delayed ACK). */
    CHECK(setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int)) == 0);
    int issued = 0, spins = 0;
    while (issued < ncmds) {
        const char *argv[] = {"GET", "k"};
        int rc = wc_redis_command_argv(r, cmd_cb, (void *)(intptr_t)issued, 2, argv, NULL);
        if (rc == 0) {
            issued++;
            continue;
        }
        CHECK(rc == WC_ERR_UNAVAIL);
        CHECK(++spins < 1000);
        ev_run(loop, EVRUN_ONCE);
    }
    size_t off = 0;
    bool closed = false;
    spins = 0;
    while (fz.next_cb < ncmds) {
        if (off < send_len) {
            size_t want = send_len - off < chunk ? send_len - off : chunk;
            ssize_t w = send(sfd, in + off, want, MSG_NOSIGNAL);
            if (w > 0)
                off += (size_t)w;
            else
                CHECK(errno == EAGAIN || errno == EWOULDBLOCK || errno == EPIPE ||
                      errno == ECONNRESET);
            if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
                off = send_len; /* the client hung up (protocol error) */
        }
        if (off == send_len && !closed) {
            close(sfd);
            closed = true;
        }
        ev_run(loop, EVRUN_ONCE);
        CHECK(++spins < 1000000);
    }
    if (!closed)
        close(sfd);
    for (int j = 0; j < ncmds; j++)
        CHECK(fz.calls[j] == 1);
    wc_redis_destroy(r);
    for (int i = 0; i < fz.k; i++)
        freeReplyObject(fz.oneshot[i]);
    return 0;
}
