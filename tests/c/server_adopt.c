/* Connections from the host's own HTTP server: a raw upgrade request
 * handed to ews_wss_upgrade_fd(), a bad one refused with its HTTP error,
 * and a socket whose handshake the host completed handed to
 * ews_wss_connect() together with the frame bytes it had already read. */
#include <pthread.h>

#include "testserver.h"
#include "wsclient.h"

typedef struct conn {
    ews_wsscb cb;
    ews_wss *wss;
} conn;

static void on_frame(ews_wsscb *cb, ews_wss *wss, const void *data, size_t len, int is_text) {
    (void)cb;
    CHECK_EQ(ews_wss_write(wss, data, len, is_text), EWS_OK);
}

static void on_close(ews_wsscb *cb, ews_wss *wss, int status) {
    (void)status;
    ews_wss_free(wss);
    free(cb);
}

static conn *new_conn(void) {
    conn *c = calloc(1, sizeof *c);
    CHECK(c != NULL);
    ews_wsscb_init(&c->cb, sizeof c->cb);
    c->cb.frame = on_frame;
    c->cb.close = on_close;
    CHECK_EQ(ews_wss_new(&c->cb, 0, 0, &c->wss), EWS_OK);
    return c;
}

static void no_routes(void *user, ews_request *req) {
    (void)user;
    ews_request_respond(req, 404, NULL, NULL, 0);
}

/* The host's HTTP server: a listening socket of its own. */
static int host_listen(int *port) {
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(fd, 8) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Reads until the end of the request head; returns the bytes read (the
 * head and whatever followed it in the same reads). */
static size_t read_head(int fd, char *buf, size_t size, size_t *head_len) {
    size_t len = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + len, size - 1 - len, 0);
        char *end;
        CHECK(n > 0);
        len += (size_t)n;
        buf[len] = 0;
        end = strstr(buf, "\r\n\r\n");
        if (end) {
            *head_len = (size_t)(end - buf) + 4;
            return len;
        }
        CHECK(len < size - 1);
    }
}

static void send_all(int fd, const void *data, size_t len) {
    CHECK(send(fd, data, len, MSG_NOSIGNAL) == (ssize_t)len);
}

int main(void) {
    ews_server *server;
    int host_port, lfd, fd;
    char buf[4096];
    size_t len, head;
    wsclient cl;
    conn *c;

    CHECK(start_server(&server, NULL, no_routes, NULL) > 0); /* the host listens itself */
    lfd = host_listen(&host_port);

    /* 1. A valid request read by the host, upgraded by ews. */
    memset(&cl, 0, sizeof cl);
    cl.fd = tcp_connect(host_port);
    {
        ews_conn_options opts;
        ews_conn_options_init(&opts, sizeof opts);
        opts.host = "127.0.0.1";
        opts.resource = "/host/chat";
        CHECK_EQ(ews_conn_new(EWS_ROLE_CLIENT, &opts, &cl.conn), EWS_OK);
        CHECK_EQ(wsc_flush(&cl), 0);
    }
    fd = accept(lfd, NULL, NULL);
    len = read_head(fd, buf, sizeof buf, &head);
    c = new_conn();
    CHECK_EQ(ews_wss_upgrade_fd(c->wss, server, fd, buf, len, NULL, 0), EWS_OK);
    {
        ews_event ev;
        CHECK_EQ(wsc_next(&cl, &ev, 5000), 1);
        CHECK_EQ(ev.kind, EWS_EVENT_OPEN);
    }
    CHECK_EQ(wsc_send(&cl, "via upgrade_fd", 14, 1), 0);
    wsc_expect(&cl, "via upgrade_fd", 14, 1);
    CHECK(strcmp(ews_wss_resource(c->wss), "/host/chat") == 0);
    CHECK_EQ(ews_conn_close(cl.conn, 1000, NULL), EWS_OK);
    CHECK_EQ(wsc_flush(&cl), 0);
    CHECK_EQ(wsc_expect_close(&cl), 1000);
    wsc_free(&cl);

    /* 2. Not a WebSocket handshake: answered 400, EWS_EHANDSHAKE. */
    {
        const char *bad = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        int client = tcp_connect(host_port);
        conn *unused = new_conn();
        char answer[512];
        ssize_t n;
        send_all(client, bad, strlen(bad));
        fd = accept(lfd, NULL, NULL);
        len = read_head(fd, buf, sizeof buf, &head);
        CHECK_EQ(ews_wss_upgrade_fd(unused->wss, server, fd, buf, len, NULL, 0), EWS_EHANDSHAKE);
        n = recv(client, answer, sizeof answer - 1, 0);
        CHECK(n > 12);
        answer[n] = 0;
        CHECK(strncmp(answer, "HTTP/1.1 400 ", 13) == 0);
        close(client);
        ews_wss_free(unused->wss);
        free(unused);
    }

    /* 3. The host answers the handshake itself and hands over the socket
     * with the first frame it already read. */
    memset(&cl, 0, sizeof cl);
    cl.fd = tcp_connect(host_port);
    {
        ews_conn_options opts;
        const uint8_t *request;
        size_t request_len, frame_len = 0;
        uint8_t wire[1024], frame[64];
        const uint8_t key[4] = {9, 8, 7, 6};
        char accept_key[EWS_ACCEPT_KEY_SIZE], response[256], client_key[64];
        const char *k;
        int rlen;
        ews_event ev;

        ews_conn_options_init(&opts, sizeof opts);
        opts.host = "127.0.0.1";
        CHECK_EQ(ews_conn_new(EWS_ROLE_CLIENT, &opts, &cl.conn), EWS_OK);
        /* The request and a first frame in one segment. */
        CHECK_EQ(ews_conn_output(cl.conn, &request, &request_len), 1);
        memcpy(wire, request, request_len);
        CHECK_EQ(ews_frame_encode(EWS_OP_TEXT, 1, key, (const uint8_t *)"early", 5, frame, sizeof frame, &frame_len),
                 EWS_OK);
        memcpy(wire + request_len, frame, frame_len);
        send_all(cl.fd, wire, request_len + frame_len);
        ews_conn_consume(cl.conn, request_len);

        fd = accept(lfd, NULL, NULL);
        len = read_head(fd, buf, sizeof buf, &head);
        while (len < head + frame_len) { /* the frame may come in a later read */
            ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
            CHECK(n > 0);
            len += (size_t)n;
        }
        k = strstr(buf, "Sec-WebSocket-Key: ");
        CHECK(k != NULL);
        k += strlen("Sec-WebSocket-Key: ");
        memcpy(client_key, k, 24);
        client_key[24] = 0;
        CHECK_EQ(ews_accept_key(client_key, 1, accept_key, sizeof accept_key), 28);
        rlen = snprintf(response, sizeof response,
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Accept: %s\r\n\r\n",
                        accept_key);
        send_all(fd, response, (size_t)rlen);
        c = new_conn();
        CHECK_EQ(ews_wss_connect(c->wss, server, fd, buf + head, len - head, "/connected"), EWS_OK);

        CHECK_EQ(wsc_next(&cl, &ev, 5000), 1);
        CHECK_EQ(ev.kind, EWS_EVENT_OPEN);
        wsc_expect(&cl, "early", 5, 1);
        CHECK_EQ(wsc_send(&cl, "later", 5, 1), 0);
        wsc_expect(&cl, "later", 5, 1);
        CHECK_EQ(ews_conn_close(cl.conn, 1000, NULL), EWS_OK);
        CHECK_EQ(wsc_flush(&cl), 0);
        CHECK_EQ(wsc_expect_close(&cl), 1000);
        wsc_free(&cl);
    }

    /* 4. A descriptor handed over is ews's even when the call fails on
     * its arguments: it is closed (its peer reads end of file). */
    {
        int pair[2];
        char byte;
        c = new_conn();
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
        CHECK_EQ(ews_wss_connect(NULL, server, pair[0], NULL, 0, NULL), EWS_EINVAL);
        CHECK_EQ(recv(pair[1], &byte, 1, 0), 0);
        close(pair[1]);
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
        CHECK_EQ(ews_wss_upgrade_fd(c->wss, server, pair[0], NULL, 5, NULL, 0), EWS_EINVAL);
        CHECK_EQ(recv(pair[1], &byte, 1, 0), 0);
        close(pair[1]);
        CHECK_EQ(ews_wss_connect(c->wss, server, -1, NULL, 0, NULL), EWS_EINVAL);
        ews_wss_free(c->wss); /* never connected: no close callback */
        free(c);
    }

    close(lfd);
    stop_server(server);
    printf("server_adopt: ok\n");
    return 0;
}
