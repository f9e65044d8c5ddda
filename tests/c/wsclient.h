/* A small blocking WebSocket client for the C tests: a TCP socket driven
 * by a sans-IO ews_conn, every wait bounded by a timeout. */
#ifndef EWS_TEST_WSCLIENT_H
#define EWS_TEST_WSCLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ews.h"

typedef struct wsclient {
    int fd;
    ews_conn *conn;
    uint8_t buf[1 << 14];
    size_t len; /* bytes in buf */
    size_t off; /* bytes of buf already fed */
} wsclient;

static inline void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* A TCP connection to 127.0.0.1:port, or -1. */
static inline int tcp_connect(int port) {
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Writes everything the connection queued. */
static inline int wsc_flush(wsclient *c) {
    const uint8_t *out;
    size_t len;
    while (ews_conn_output(c->conn, &out, &len) > 0) {
        ssize_t n = send(c->fd, out, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        ews_conn_consume(c->conn, (size_t)n);
    }
    return 0;
}

/* The next event, waiting up to timeout_ms: 1 with *ev, 0 on timeout, -1
 * when the connection ended (EOF: *ev holds the EOF event, if any). */
static inline int wsc_next(wsclient *c, ews_event *ev, int timeout_ms) {
    for (;;) {
        struct pollfd p;
        ssize_t n;
        while (c->off < c->len) {
            size_t used = 0;
            int r = ews_conn_feed(c->conn, c->buf + c->off, c->len - c->off, &used, ev);
            CHECK(r >= 0);
            c->off += used;
            if (r == 1) {
                wsc_flush(c);
                return 1;
            }
            if (used == 0) break;
        }
        wsc_flush(c);
        if (c->off == c->len) c->off = c->len = 0;
        p.fd = c->fd;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, timeout_ms) <= 0) return 0;
        n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            memset(ev, 0, sizeof *ev);
            ews_conn_on_eof(c->conn, ev);
            return -1;
        }
        c->len += (size_t)n;
    }
}

/* Connects and completes the opening handshake for `path`: 0 or -1. */
static inline int wsc_open(wsclient *c, int port, const char *path) {
    ews_conn_options opts;
    ews_limits limits;
    ews_event ev;
    memset(c, 0, sizeof *c);
    c->fd = tcp_connect(port);
    if (c->fd < 0) return -1;
    ews_limits_init(&limits, sizeof limits);
    limits.max_message = 64u << 20;
    limits.max_frame = 64u << 20;
    ews_conn_options_init(&opts, sizeof opts);
    opts.host = "127.0.0.1";
    opts.resource = path;
    opts.limits = &limits;
    CHECK_EQ(ews_conn_new(EWS_ROLE_CLIENT, &opts, &c->conn), EWS_OK);
    if (wsc_flush(c) != 0) return -1;
    if (wsc_next(c, &ev, 5000) != 1 || ev.kind != EWS_EVENT_OPEN) return -1;
    return 0;
}

static inline int wsc_send(wsclient *c, const void *data, size_t len, int text) {
    int r = ews_conn_send(c->conn, (const uint8_t *)data, len, text);
    if (r != EWS_OK) return r;
    return wsc_flush(c);
}

/* Waits for the next message and checks it equals (data, len). */
static inline void wsc_expect(wsclient *c, const void *data, size_t len, int text) {
    ews_event ev;
    CHECK_EQ(wsc_next(c, &ev, 5000), 1);
    CHECK_EQ(ev.kind, EWS_EVENT_MESSAGE);
    CHECK_EQ(ev.is_text, text);
    CHECK_EQ(ev.len, len);
    CHECK(len == 0 || memcmp(ev.data, data, len) == 0);
}

/* Waits for the peer's close frame and returns its code (or -1). */
static inline int wsc_expect_close(wsclient *c) {
    ews_event ev;
    for (;;) {
        int r = wsc_next(c, &ev, 5000);
        if (r != 1) return -1;
        if (ev.kind == EWS_EVENT_CLOSE) return ev.code;
        if (ev.kind == EWS_EVENT_ERROR) return -1;
    }
}

static inline void wsc_free(wsclient *c) {
    if (c->fd >= 0) close(c->fd);
    ews_conn_free(c->conn);
    c->fd = -1;
    c->conn = NULL;
}

#endif
