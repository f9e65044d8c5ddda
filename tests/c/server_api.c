/* The server's C API as ews.h documents it: streaming a message with
 * ews_wss_write_frame() (a ping between its frames, whole-message writes
 * refused meanwhile); what a route's service callback learns about the
 * request and the connection (peer, header fields, query, user pointer);
 * the subprotocol chosen from the route's list; logging through
 * ews_set_log(); listening on IPv6; freeing a connection inside its drain
 * callback and inside the service callback that upgraded it; and a close
 * frame queued while the send queue is over its high-water mark. */
#include <pthread.h>

#include "testserver.h"
#include "wsclient.h"

/* The send queue limit of the /slow and /drain-free routes, and the size
 * of the messages written to them. */
#define HIGH_WATER 16384
#define MSG 4096

enum kind { K_INFO, K_FRAMES, K_CHAT, K_SERVICE_FREE, K_DRAIN_FREE, K_SLOW, K_ECHO, K_COUNT };

typedef struct conn {
    ews_wsscb cb; /* first: callbacks cast their ews_wsscb back to the conn */
    ews_wss *wss;
    int kind;
    int freed; /* the handle was freed: no callback may follow */
    int late;  /* callbacks that ran after it all the same */
    int frames, closes, drains, status;
    /* Asked in the service callback right after upgrading. */
    char service_peer[64], service_resource[64], service_sub[32];
    struct conn *next;
} conn;

/* What the service and frame callbacks of an /info connection saw. */
typedef struct seen {
    char method[8], path[32], target[64], query[64], header[64], host[64];
    int has_query, header_found, host_found, absent_found, null_name, websocket;
    char request_peer[64];
    int request_peer_len, request_peer_short;
    void *user_before, *user_after;
    /* In the frame callback. */
    char wss_peer[64], resource[64];
    int wss_peer_len, wss_peer_short;
    void *user_in_frame;
    char subprotocol[32];
    int has_subprotocol;
} seen;

/* Everything below is shared between the loop thread and main, under lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static conn *conns;          /* every connection, freed at the end */
static conn *latest[K_COUNT]; /* the newest connection of each kind */
static int upgraded[K_COUNT];
static seen info;
static int kinds[K_COUNT] = {K_INFO, K_FRAMES, K_CHAT, K_SERVICE_FREE, K_DRAIN_FREE, K_SLOW, K_ECHO};

/* Waits (at most 10 s) until *counter reaches at least `want`. */
static void wait_for(const int *counter, int want) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&lock);
    while (*counter < want) CHECK(pthread_cond_timedwait(&changed, &lock, &until) == 0);
    pthread_mutex_unlock(&lock);
}

static int locked_read(const int *value) {
    int v;
    pthread_mutex_lock(&lock);
    v = *value;
    pthread_mutex_unlock(&lock);
    return v;
}

static void copy_text(char *dst, size_t size, const char *src, size_t len) {
    CHECK(len < size);
    memcpy(dst, src, len);
    dst[len] = 0;
}

static void on_frame(ews_wsscb *cb, ews_wss *wss, const void *data, size_t len, int is_text) {
    conn *c = (conn *)cb;
    pthread_mutex_lock(&lock);
    if (c->freed) c->late++;
    c->frames++;
    if (c->kind == K_INFO) {
        const char *res = ews_wss_resource(wss);
        char tiny[4];
        info.wss_peer_len = ews_wss_peer(wss, info.wss_peer, sizeof info.wss_peer);
        info.wss_peer_short = ews_wss_peer(wss, tiny, sizeof tiny);
        info.user_in_frame = ews_wss_user(wss);
        CHECK(res != NULL);
        copy_text(info.resource, sizeof info.resource, res, strlen(res));
    }
    if (c->kind == K_CHAT) {
        const char *p = ews_wss_subprotocol(wss);
        info.has_subprotocol = p != NULL;
        if (p) copy_text(info.subprotocol, sizeof info.subprotocol, p, strlen(p));
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    if (c->kind == K_INFO || c->kind == K_CHAT || c->kind == K_ECHO) {
        CHECK_EQ(ews_wss_write(wss, data, len, is_text), EWS_OK);
    }
}

static void on_close(ews_wsscb *cb, ews_wss *wss, int status) {
    conn *c = (conn *)cb;
    (void)wss;
    pthread_mutex_lock(&lock);
    if (c->freed) c->late++;
    c->closes++;
    c->status = status;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_ping(ews_wsscb *cb, ews_wss *wss, const void *data, size_t len) {
    conn *c = (conn *)cb;
    (void)wss;
    (void)data;
    (void)len;
    pthread_mutex_lock(&lock);
    if (c->freed) c->late++;
    pthread_mutex_unlock(&lock);
}

static void on_drain(ews_wsscb *cb, ews_wss *wss) {
    conn *c = (conn *)cb;
    pthread_mutex_lock(&lock);
    if (c->freed) c->late++;
    c->drains++;
    if (c->kind == K_DRAIN_FREE && !c->freed) {
        c->freed = 1;
        ews_wss_free(wss); /* freeing inside the drain callback */
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* What the service callback of /info records about its request. */
static void inspect(ews_request *req, conn *c) {
    const char *v, *q = ews_request_query(req);
    size_t len;
    char tiny[4];
    copy_text(info.method, sizeof info.method, ews_request_method(req), strlen(ews_request_method(req)));
    copy_text(info.path, sizeof info.path, ews_request_path(req), strlen(ews_request_path(req)));
    copy_text(info.target, sizeof info.target, ews_request_target(req), strlen(ews_request_target(req)));
    info.has_query = q != NULL;
    if (q) copy_text(info.query, sizeof info.query, q, strlen(q));
    info.header_found = ews_request_header(req, "x-EWS-test", &v, &len);
    if (info.header_found == 1) copy_text(info.header, sizeof info.header, v, len);
    info.host_found = ews_request_header(req, "HOST", &v, &len);
    if (info.host_found == 1) copy_text(info.host, sizeof info.host, v, len);
    info.absent_found = ews_request_header(req, "X-Not-Sent", &v, &len);
    info.null_name = ews_request_header(req, NULL, &v, &len);
    info.websocket = ews_request_is_websocket(req);
    info.request_peer_len = ews_request_peer(req, info.request_peer, sizeof info.request_peer);
    info.request_peer_short = ews_request_peer(req, tiny, sizeof tiny);
    info.user_before = ews_wss_user(c->wss);
    ews_wss_set_user(c->wss, c);
    info.user_after = ews_wss_user(c->wss);
}

static void serve(void *user, ews_request *req) {
    int kind = *(const int *)user, r;
    conn *c = calloc(1, sizeof *c);
    CHECK(c != NULL);
    c->kind = kind;
    ews_wsscb_init(&c->cb, sizeof c->cb);
    c->cb.frame = on_frame;
    c->cb.close = on_close;
    c->cb.ping = on_ping;
    c->cb.drain = on_drain;
    CHECK_EQ(ews_wss_new(&c->cb, 0, 0, &c->wss), EWS_OK);
    pthread_mutex_lock(&lock);
    if (kind == K_INFO) inspect(req, c);
    r = ews_wss_upgrade(c->wss, req);
    CHECK_EQ(r, EWS_OK);
    /* Known from the upgrade on, in this callback already. */
    CHECK(ews_wss_peer(c->wss, c->service_peer, sizeof c->service_peer) > 0);
    CHECK(ews_wss_resource(c->wss) != NULL);
    CHECK(strlen(ews_wss_resource(c->wss)) < sizeof c->service_resource);
    strcpy(c->service_resource, ews_wss_resource(c->wss));
    if (ews_wss_subprotocol(c->wss) != NULL) {
        CHECK(strlen(ews_wss_subprotocol(c->wss)) < sizeof c->service_sub);
        strcpy(c->service_sub, ews_wss_subprotocol(c->wss));
    }
    c->next = conns;
    conns = c;
    latest[kind] = c;
    upgraded[kind]++;
    if (kind == K_SERVICE_FREE) {
        c->freed = 1;
        ews_wss_free(c->wss); /* freeing inside the service callback, after upgrading */
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* ----- the client side ----- */

/* A TCP connection to `addr` (an IPv4 or IPv6 loopback address) with a
 * small receive buffer when `rcvbuf` > 0, or -1. */
static int connect_to(const struct sockaddr *addr, socklen_t addr_len, int rcvbuf) {
    int fd = socket(addr->sa_family, SOCK_STREAM, 0), one = 1;
    if (fd < 0) return -1;
    if (rcvbuf > 0) CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) == 0);
    if (connect(fd, addr, addr_len) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int connect4(int port, int rcvbuf) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect_to((struct sockaddr *)&a, sizeof a, rcvbuf);
}

static int connect6(int port) {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons((uint16_t)port);
    a.sin6_addr = in6addr_loopback;
    return connect_to((struct sockaddr *)&a, sizeof a, 0);
}

/* "127.0.0.1:port" or "[::1]:port": the socket's own address, as the
 * server sees its peer. */
static void local_name(int fd, char *buf, size_t size) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char ip[INET6_ADDRSTRLEN];
    CHECK(getsockname(fd, (struct sockaddr *)&ss, &len) == 0);
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        CHECK(inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip) != NULL);
        snprintf(buf, size, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        CHECK(inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip) != NULL);
        snprintf(buf, size, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    }
}

/* Completes the opening handshake on `fd` with `opts`; when `head` is not
 * NULL, first reads the server's response head raw and copies it there
 * (NUL-terminated). Returns 0 or -1. */
static int open_with(wsclient *c, int fd, const ews_conn_options *opts, char *head, size_t head_size) {
    ews_event ev;
    memset(c, 0, sizeof *c);
    c->fd = fd;
    if (fd < 0) return -1;
    CHECK_EQ(ews_conn_new(EWS_ROLE_CLIENT, opts, &c->conn), EWS_OK);
    if (wsc_flush(c) != 0) return -1;
    while (head) {
        struct pollfd p;
        ssize_t n;
        size_t i;
        p.fd = fd;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, 5000) <= 0) return -1;
        n = recv(fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (n <= 0) return -1;
        c->len += (size_t)n;
        for (i = 0; i + 4 <= c->len; i++) {
            if (memcmp(c->buf + i, "\r\n\r\n", 4) == 0) {
                copy_text(head, head_size, (const char *)c->buf, i + 4);
                head = NULL;
                break;
            }
        }
    }
    if (wsc_next(c, &ev, 5000) != 1 || ev.kind != EWS_EVENT_OPEN) return -1;
    return 0;
}

/* 64 MiB messages and frames for the test clients; set in main(). */
static ews_limits client_limits;

static void client_options(ews_conn_options *opts, const char *host, const char *path) {
    ews_conn_options_init(opts, sizeof *opts);
    opts->host = host;
    opts->resource = path;
    opts->limits = &client_limits;
}

static int open_path(wsclient *c, int port, const char *path) {
    ews_conn_options opts;
    client_options(&opts, "127.0.0.1", path);
    return open_with(c, connect4(port, 0), &opts, NULL, 0);
}

/* The client closes with 1000, gets the echo, and the server then closes
 * the TCP connection. */
static void close_cleanly(wsclient *c) {
    ews_event ev;
    CHECK_EQ(ews_conn_close(c->conn, 1000, NULL), EWS_OK);
    CHECK_EQ(wsc_flush(c), 0);
    CHECK_EQ(wsc_expect_close(c), 1000);
    CHECK_EQ(wsc_next(c, &ev, 5000), -1);
    wsc_free(c);
}

static void expect_event(wsclient *c, int kind, const char *data, size_t len, int text) {
    ews_event ev;
    CHECK_EQ(wsc_next(c, &ev, 10000), 1);
    CHECK_EQ(ev.kind, kind);
    if (kind == EWS_EVENT_MESSAGE) CHECK_EQ(ev.is_text, text);
    CHECK_EQ(ev.len, len);
    CHECK(len == 0 || memcmp(ev.data, data, len) == 0);
}

static void fill(uint8_t *msg, long seq) {
    memset(msg, (int)(seq & 0xff), MSG);
    memcpy(msg, &seq, sizeof seq);
}

/* Reads `count` messages written by fill() in order. */
static void expect_sequence(wsclient *c, long count) {
    ews_event ev;
    long seq, got;
    for (seq = 0; seq < count; seq++) {
        CHECK_EQ(wsc_next(c, &ev, 10000), 1);
        CHECK_EQ(ev.kind, EWS_EVENT_MESSAGE);
        CHECK_EQ(ev.is_text, 0);
        CHECK_EQ(ev.len, MSG);
        memcpy(&got, ev.data, sizeof got);
        CHECK_EQ(got, seq);
        CHECK_EQ(ev.data[MSG - 1], (uint8_t)(seq & 0xff));
    }
}

static conn *newest(int kind, int count) {
    conn *c;
    wait_for(&upgraded[kind], count);
    pthread_mutex_lock(&lock);
    c = latest[kind];
    pthread_mutex_unlock(&lock);
    return c;
}

/* ----- logging ----- */

typedef struct logbook {
    pthread_mutex_t lock;
    int lines;
    int max_level, min_level;
    char first[160];
} logbook;

static void on_log(void *user, int level, const char *message) {
    logbook *b = user;
    pthread_mutex_lock(&b->lock);
    if (b->lines == 0) copy_text(b->first, sizeof b->first, message, strlen(message) < 159 ? strlen(message) : 159);
    b->lines++;
    if (level > b->max_level) b->max_level = level;
    if (level < b->min_level) b->min_level = level;
    pthread_mutex_unlock(&b->lock);
}

static int log_lines(logbook *b) {
    int n;
    pthread_mutex_lock(&b->lock);
    n = b->lines;
    pthread_mutex_unlock(&b->lock);
    return n;
}

/* A server on its own that starts, takes one connection (an echo and a
 * close by the client, or a frame that breaks the protocol) and stops. */
static void one_connection(int break_protocol) {
    ews_server *server;
    wsclient cl;
    conn *c;
    int port = start_server(&server, NULL, serve, &kinds[K_ECHO]), count = locked_read(&upgraded[K_ECHO]);
    CHECK_EQ(open_path(&cl, port, "/log"), 0);
    c = newest(K_ECHO, count + 1);
    if (break_protocol) {
        ews_event ev;
        /* An unmasked frame from a client: the server fails the connection. */
        CHECK(send(cl.fd, "\x81\x02hi", 4, MSG_NOSIGNAL) == 4);
        CHECK_EQ(wsc_next(&cl, &ev, 5000), 1);
        CHECK_EQ(ev.kind, EWS_EVENT_CLOSE);
        CHECK_EQ(ev.code, EWS_CLOSE_PROTOCOL_ERROR);
        wsc_free(&cl);
    } else {
        CHECK_EQ(wsc_send(&cl, "log me", 6, 1), 0);
        wsc_expect(&cl, "log me", 6, 1);
        close_cleanly(&cl);
    }
    /* Until the server saw the connection end, then the server stops:
     * its loop has logged all it will. */
    wait_for(&c->closes, 1);
    CHECK_EQ(locked_read(&c->status), break_protocol ? EWS_EPROTO : 1000);
    stop_server(server);
}

static void test_logging(void) {
    logbook book;
    int before;
    memset(&book, 0, sizeof book);
    CHECK(pthread_mutex_init(&book.lock, NULL) == 0);
    book.min_level = 100;

    CHECK_EQ(ews_set_log(EWS_LOG_INFO, on_log, &book), 0);
    one_connection(0);
    before = log_lines(&book);
    CHECK(before >= 1);
    CHECK(book.min_level >= EWS_LOG_ERROR);
    CHECK(book.max_level <= EWS_LOG_INFO);
    printf("server_api: %d log lines at EWS_LOG_INFO, the first \"%s\"\n", before, book.first);

    /* At EWS_LOG_WARN a connection that breaks the protocol is logged, and
     * nothing below warnings is. */
    book.lines = 0;
    book.max_level = 0;
    book.min_level = 100;
    CHECK_EQ(ews_set_log(EWS_LOG_WARN, on_log, &book), 0);
    one_connection(0);
    one_connection(1);
    CHECK(log_lines(&book) >= 1);
    CHECK(book.min_level >= EWS_LOG_ERROR);
    CHECK(book.max_level <= EWS_LOG_WARN);

    /* Off (EWS_LOG_NONE, or a NULL callback at any level): nothing more
     * arrives, whatever happens. */
    before = log_lines(&book);
    CHECK_EQ(ews_set_log(EWS_LOG_NONE, on_log, &book), 0);
    one_connection(1);
    CHECK_EQ(ews_set_log(EWS_LOG_DEBUG, NULL, &book), 0);
    one_connection(1);
    CHECK_EQ(ews_set_log(EWS_LOG_NONE, NULL, NULL), 0);
    one_connection(0);
    one_connection(1);
    CHECK_EQ(log_lines(&book), before);
    pthread_mutex_destroy(&book.lock);
}

/* ----- the tests on the main server ----- */

/* A message streamed in frames with a ping between them. */
static void test_write_frame(int port) {
    ews_conn_options opts;
    wsclient cl;
    conn *c;
    ews_wss *w;
    uint8_t big[126];
    client_options(&opts, "127.0.0.1", "/frames");
    opts.control_events = 1;
    CHECK_EQ(open_with(&cl, connect4(port, 0), &opts, NULL, 0), 0);
    c = newest(K_FRAMES, 1);
    w = c->wss;

    /* "héllo" with the é split between the first frame and the last. */
    CHECK_EQ(ews_wss_write_frame(w, EWS_OP_TEXT, 0, "h\xc3", 2), EWS_OK);
    CHECK_EQ(ews_wss_write_frame(w, EWS_OP_PING, 1, "mid", 3), EWS_OK);
    CHECK_EQ(ews_wss_write(w, "whole", 5, 1), EWS_ESTATE);
    CHECK_EQ(ews_wss_try_write(w, "whole", 5, 0), EWS_ESTATE);
    CHECK_EQ(ews_wss_write_frame(w, EWS_OP_BINARY, 1, "new", 3), EWS_ESTATE);
    CHECK_EQ(ews_wss_write_frame(w, EWS_OP_CLOSE, 1, "", 0), EWS_EINVAL);
    CHECK_EQ(ews_wss_write_frame(w, 3, 1, "x", 1), EWS_EINVAL); /* a reserved opcode */
    memset(big, 'p', sizeof big);
    CHECK_EQ(ews_wss_write_frame(w, EWS_OP_PING, 1, big, sizeof big), EWS_EINVAL);
    CHECK_EQ(ews_wss_write_frame(w, EWS_OP_CONTINUATION, 1, "\xa9llo", 4), EWS_OK);
    /* Whole messages work again, and a binary message in three frames. */
    CHECK_EQ(ews_wss_write(w, "whole", 5, 1), EWS_OK);
    CHECK_EQ(ews_wss_write_frame(w, EWS_OP_BINARY, 0, "ab", 2), EWS_OK);
    CHECK_EQ(ews_wss_write_frame(w, EWS_OP_CONTINUATION, 0, "cd", 2), EWS_OK);
    CHECK_EQ(ews_wss_write_frame(w, EWS_OP_PONG, 1, "", 0), EWS_OK);
    CHECK_EQ(ews_wss_write_frame(w, EWS_OP_CONTINUATION, 1, "ef", 2), EWS_OK);
    CHECK_EQ(ews_wss_write_frame(w, EWS_OP_CLOSE, 1, "", 0), EWS_EINVAL);

    /* The ping arrives first (between the frames), then one message. */
    expect_event(&cl, EWS_EVENT_PING, "mid", 3, 0);
    expect_event(&cl, EWS_EVENT_MESSAGE, "h\xc3\xa9llo", 6, 1);
    expect_event(&cl, EWS_EVENT_MESSAGE, "whole", 5, 1);
    expect_event(&cl, EWS_EVENT_PONG, "", 0, 0);
    expect_event(&cl, EWS_EVENT_MESSAGE, "abcdef", 6, 0);
    close_cleanly(&cl);
    wait_for(&c->closes, 1);
    CHECK_EQ(locked_read(&c->status), 1000);
}

/* What the service and frame callbacks learn about an /info connection,
 * over IPv4 or IPv6. */
static void test_request_and_peer(int port, int v6, int count) {
    ews_conn_options opts;
    ews_header extra = {"X-Ews-Test", "hello there"};
    wsclient cl;
    conn *c;
    char mine[64], peer[64];
    const char *host = v6 ? "[::1]" : "127.0.0.1";
    client_options(&opts, host, "/info?room=42&x=y");
    opts.headers = &extra;
    opts.header_count = 1;
    CHECK_EQ(open_with(&cl, v6 ? connect6(port) : connect4(port, 0), &opts, NULL, 0), 0);
    local_name(cl.fd, mine, sizeof mine);
    c = newest(K_INFO, count);
    CHECK_EQ(wsc_send(&cl, "who am i", 8, 1), 0);
    wsc_expect(&cl, "who am i", 8, 1);

    pthread_mutex_lock(&lock);
    CHECK(strcmp(info.method, "GET") == 0);
    CHECK(strcmp(info.path, "/info") == 0);
    CHECK(strcmp(info.target, "/info?room=42&x=y") == 0);
    CHECK_EQ(info.has_query, 1);
    CHECK(strcmp(info.query, "room=42&x=y") == 0);
    CHECK_EQ(info.header_found, 1);
    CHECK(strcmp(info.header, "hello there") == 0);
    CHECK_EQ(info.host_found, 1);
    CHECK(strcmp(info.host, host) == 0);
    CHECK_EQ(info.absent_found, 0);
    CHECK_EQ(info.null_name, EWS_EINVAL);
    CHECK_EQ(info.websocket, 1);
    CHECK_EQ(info.request_peer_len, (int)strlen(mine));
    CHECK(strcmp(info.request_peer, mine) == 0);
    CHECK_EQ(info.request_peer_short, EWS_ENOSPC);
    CHECK(info.user_before == NULL);
    CHECK(info.user_after == c);
    CHECK_EQ(info.wss_peer_len, (int)strlen(mine));
    CHECK(strcmp(info.wss_peer, mine) == 0);
    CHECK_EQ(info.wss_peer_short, EWS_ENOSPC);
    CHECK(info.user_in_frame == c);
    CHECK(strcmp(info.resource, "/info?room=42&x=y") == 0);
    CHECK(strcmp(c->service_peer, mine) == 0);
    CHECK(strcmp(c->service_resource, "/info?room=42&x=y") == 0);
    pthread_mutex_unlock(&lock);

    /* The same from this thread. */
    CHECK_EQ(ews_wss_peer(c->wss, peer, sizeof peer), (int)strlen(mine));
    CHECK(strcmp(peer, mine) == 0);
    CHECK(ews_wss_user(c->wss) == c);
    ews_wss_set_user(c->wss, NULL);
    CHECK(ews_wss_user(c->wss) == NULL);
    CHECK(ews_wss_subprotocol(c->wss) == NULL); /* the route has none */
    close_cleanly(&cl);
}

/* A path without a query: ews_request_query() gives NULL. */
static void test_no_query(int port, int count) {
    wsclient cl;
    CHECK_EQ(open_path(&cl, port, "/info"), 0);
    newest(K_INFO, count);
    CHECK_EQ(wsc_send(&cl, "q", 1, 1), 0);
    wsc_expect(&cl, "q", 1, 1);
    pthread_mutex_lock(&lock);
    CHECK_EQ(info.has_query, 0);
    CHECK(strcmp(info.path, "/info") == 0);
    CHECK(strcmp(info.target, "/info") == 0);
    CHECK(strcmp(info.resource, "/info") == 0);
    pthread_mutex_unlock(&lock);
    close_cleanly(&cl);
}

/* Returns the value of header field `name` in a response head, or NULL
 * (`name` given with its colon, e.g. "sec-websocket-protocol:"). */
static const char *field(const char *head, const char *name, char *value, size_t size) {
    const char *line = strstr(head, "\r\n");
    size_t n = strlen(name);
    while (line && line[2] != '\r') {
        const char *start = line + 2, *end = strstr(start, "\r\n");
        size_t i;
        int same = 1;
        for (i = 0; i < n && same; i++) {
            char a = start[i], b = name[i];
            if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
            same = start[i] != 0 && a == b;
        }
        if (same) {
            const char *v = start + n;
            while (*v == ' ') v++;
            copy_text(value, size, v, (size_t)(end - v));
            return value;
        }
        line = end;
    }
    return NULL;
}

/* The client offers two subprotocols, the route supports one of them. */
static void test_subprotocol(int port, const char *offer1, const char *offer2, const char *expected, int count) {
    ews_conn_options opts;
    const char *offered[2];
    wsclient cl;
    conn *c;
    char head[1024], value[64];
    const char *in_101;
    offered[0] = offer1;
    offered[1] = offer2;
    client_options(&opts, "127.0.0.1", "/chat");
    opts.protocols = offered;
    opts.protocol_count = 2;
    CHECK_EQ(open_with(&cl, connect4(port, 0), &opts, head, sizeof head), 0);
    CHECK(strncmp(head, "HTTP/1.1 101 ", 13) == 0);
    in_101 = field(head, "sec-websocket-protocol:", value, sizeof value);
    c = newest(K_CHAT, count);
    CHECK_EQ(wsc_send(&cl, "hi", 2, 1), 0);
    wsc_expect(&cl, "hi", 2, 1);
    if (expected) {
        CHECK(in_101 != NULL);
        CHECK(strcmp(in_101, expected) == 0);
        CHECK(ews_conn_subprotocol(cl.conn) != NULL);
        CHECK(strcmp(ews_conn_subprotocol(cl.conn), expected) == 0);
        CHECK(ews_wss_subprotocol(c->wss) != NULL);
        CHECK(strcmp(ews_wss_subprotocol(c->wss), expected) == 0);
        CHECK(strcmp(c->service_sub, expected) == 0);
        CHECK(strcmp(c->service_resource, "/chat") == 0);
        pthread_mutex_lock(&lock);
        CHECK_EQ(info.has_subprotocol, 1);
        CHECK(strcmp(info.subprotocol, expected) == 0);
        pthread_mutex_unlock(&lock);
    } else {
        CHECK(in_101 == NULL);
        CHECK(ews_conn_subprotocol(cl.conn) == NULL);
        CHECK(ews_wss_subprotocol(c->wss) == NULL);
        CHECK_EQ(c->service_sub[0], 0);
        pthread_mutex_lock(&lock);
        CHECK_EQ(info.has_subprotocol, 0);
        pthread_mutex_unlock(&lock);
    }
    close_cleanly(&cl);
}

/* Freed inside the service callback right after the upgrade: the client
 * gets the 101 and then a close with 1001; no callback runs. */
static void test_free_in_service(int port) {
    wsclient cl;
    conn *c;
    CHECK_EQ(open_path(&cl, port, "/service-free"), 0);
    c = newest(K_SERVICE_FREE, 1);
    CHECK_EQ(wsc_send(&cl, "ignored", 7, 1), 0);
    CHECK_EQ(wsc_expect_close(&cl), 1001); /* answered by the client */
    {
        /* The server reads the answer although the handle is gone, and
         * closes TCP at once, not after the 5 s close timeout. */
        ews_event ev;
        int64_t since = ews_now();
        CHECK_EQ(wsc_next(&cl, &ev, 10000), -1);
        CHECK(ews_now() - since < 2000);
    }
    wsc_free(&cl);
    pthread_mutex_lock(&lock);
    CHECK_EQ(c->freed, 1);
    CHECK_EQ(c->frames, 0);
    CHECK_EQ(c->closes, 0);
    pthread_mutex_unlock(&lock);
}

/* Writes numbered messages (blocking writes) to a client that reads
 * nothing until one fails; returns how many were accepted, and the failure
 * in *result. */
static long fill_queue(conn *c, int *result) {
    static uint8_t msg[MSG];
    long accepted = 0;
    for (;;) {
        fill(msg, accepted);
        *result = ews_wss_write(c->wss, msg, MSG, 0);
        if (*result != EWS_OK) return accepted;
        accepted++;
        CHECK(accepted < 20000);
    }
}

/* Freed inside the drain callback: everything accepted before arrives,
 * then a close with 1001; no callback follows. */
static void test_free_in_drain(int port) {
    wsclient cl;
    ews_conn_options opts;
    static uint8_t msg[MSG];
    long accepted = 0;
    conn *c;
    int r;
    client_options(&opts, "127.0.0.1", "/drain-free");
    CHECK_EQ(open_with(&cl, connect4(port, 8192), &opts, NULL, 0), 0);
    c = newest(K_DRAIN_FREE, 1);
    /* The client reads nothing: writes fill the socket and the queue until
     * one times out, and a write that may not wait is refused. The drain
     * callback may free the handle from then on: it is not used again. */
    accepted = fill_queue(c, &r);
    CHECK_EQ(r, EWS_ETIMEDOUT);
    CHECK_EQ(locked_read(&c->drains), 0);
    CHECK_EQ(ews_wss_try_write(c->wss, msg, MSG, 0), EWS_EAGAIN);
    /* The client reads again: the queue drains, the callback frees. */
    expect_sequence(&cl, accepted);
    CHECK_EQ(wsc_expect_close(&cl), 1001); /* answered by the client */
    wsc_free(&cl);
    wait_for(&c->drains, 1);
    pthread_mutex_lock(&lock);
    CHECK_EQ(c->freed, 1);
    CHECK_EQ(c->drains, 1);
    CHECK_EQ(c->closes, 0);
    pthread_mutex_unlock(&lock);
    printf("server_api: freed in the drain callback after %ld messages\n", accepted);
}

/* A client that stops reading: the queue goes over its high-water mark,
 * yet a ping and a close from this thread are queued at once, after the
 * data, and arrive once the client reads again. */
static void test_close_over_high_water(int port) {
    wsclient cl;
    ews_conn_options opts;
    ews_event ev;
    static uint8_t msg[MSG];
    long accepted = 0;
    size_t queued;
    conn *c;
    int r;
    client_options(&opts, "127.0.0.1", "/slow");
    opts.control_events = 1;
    CHECK_EQ(open_with(&cl, connect4(port, 8192), &opts, NULL, 0), 0);
    c = newest(K_SLOW, 1);
    accepted = fill_queue(c, &r);
    CHECK_EQ(r, EWS_ETIMEDOUT); /* stayed full for the send timeout */
    queued = ews_wss_queued(c->wss);
    CHECK(queued >= HIGH_WATER);
    CHECK_EQ(ews_wss_try_write(c->wss, msg, MSG, 0), EWS_EAGAIN);
    CHECK_EQ(ews_wss_write_frame(c->wss, EWS_OP_PING, 1, "still", 5), EWS_OK);
    CHECK_EQ(ews_wss_close(c->wss, 4002, "over"), EWS_OK);
    CHECK_EQ(ews_wss_write(c->wss, msg, MSG, 0), EWS_ECLOSED);
    CHECK_EQ(ews_wss_close(c->wss, 1000, NULL), EWS_ECLOSED);

    expect_sequence(&cl, accepted);
    expect_event(&cl, EWS_EVENT_PING, "still", 5, 0);
    CHECK_EQ(wsc_next(&cl, &ev, 10000), 1);
    CHECK_EQ(ev.kind, EWS_EVENT_CLOSE);
    CHECK_EQ(ev.code, 4002);
    CHECK_EQ(ev.len, 4);
    CHECK(memcmp(ev.data, "over", 4) == 0);
    CHECK_EQ(wsc_flush(&cl), 0); /* the client's answer */
    CHECK_EQ(wsc_next(&cl, &ev, 5000), -1);
    wsc_free(&cl);
    wait_for(&c->closes, 1);
    CHECK_EQ(locked_read(&c->status), 4002);
    printf("server_api: close queued behind %ld messages (%lu bytes)\n", accepted, (unsigned long)queued);
}

/* Whether this machine has an IPv6 loopback. */
static int have_ipv6_loopback(void) {
    struct sockaddr_in6 a;
    int fd = socket(AF_INET6, SOCK_STREAM, 0), ok;
    if (fd < 0) return 0;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void add_route(ews_server *server, const char *path, int kind, const ews_limits *limits,
                      const char *const *protocols, size_t count) {
    ews_route route;
    ews_route_init(&route, sizeof route);
    route.path = path;
    route.service = serve;
    route.user = &kinds[kind];
    route.limits = limits;
    route.protocols = protocols;
    route.protocol_count = count;
    CHECK_EQ(ews_server_add_route(server, &route), EWS_OK);
}

int main(void) {
    static const char *const chat[] = {"chat"};
    ews_server_options opts;
    ews_limits small;
    ews_server *server;
    int port, port6 = 0, v6 = have_ipv6_loopback();
    conn *c;

    ews_limits_init(&client_limits, sizeof client_limits);
    client_limits.max_message = 64u << 20;
    client_limits.max_frame = 64u << 20;
    test_logging();

    ews_server_options_init(&opts, sizeof opts);
    opts.send_timeout_ms = 300;
    CHECK_EQ(ews_server_new(&opts, &server), EWS_OK);
    port = ews_server_listen(server, "127.0.0.1:0");
    CHECK(port > 0);
    if (v6) {
        port6 = ews_server_listen(server, "[::1]:0");
        CHECK(port6 > 0);
    }
    ews_limits_init(&small, sizeof small);
    small.send_queue_bytes = HIGH_WATER;
    add_route(server, "/info", K_INFO, NULL, NULL, 0);
    add_route(server, "/frames", K_FRAMES, NULL, NULL, 0);
    add_route(server, "/chat", K_CHAT, NULL, chat, 1);
    add_route(server, "/service-free", K_SERVICE_FREE, NULL, NULL, 0);
    add_route(server, "/drain-free", K_DRAIN_FREE, &small, NULL, 0);
    add_route(server, "/slow", K_SLOW, &small, NULL, 0);
    CHECK_EQ(ews_server_start(server), EWS_OK);

    test_write_frame(port);
    test_request_and_peer(port, 0, 1);
    test_no_query(port, 2);
    if (v6) {
        test_request_and_peer(port6, 1, 3);
    } else {
        printf("server_api: no IPv6 loopback on this machine, IPv6 not tested\n");
    }
    test_subprotocol(port, "v2.chat", "chat", "chat", 1);
    test_subprotocol(port, "v2.chat", "v3.chat", NULL, 2);
    test_free_in_service(port);
    test_free_in_drain(port);
    test_close_over_high_water(port);

    stop_server(server);
    /* No callback ran for a connection after it was freed. */
    while (conns) {
        c = conns;
        conns = c->next;
        CHECK_EQ(c->late, 0);
        if (!c->freed) ews_wss_free(c->wss);
        free(c);
    }
    printf("server_api: ok\n");
    return 0;
}
