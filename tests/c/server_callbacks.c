/* The server's callbacks: a host may write, close or free its connection
 * inside any callback; exactly one close callback runs per connection and
 * nothing after it. */

#include <pthread.h>

#include "testserver.h"
#include "wsclient.h"

typedef struct conn {
    ews_wsscb cb;
    ews_wss *wss;
    int closes;
    int frames_after_close;
    int write_in_close;
    int valid_in_close;
    int status;
} conn;

/* Filled on the loop thread, read after the server stopped (joined);
 * the count of closes is also watched while it runs, under the lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int closed_connections, freed_in_frame, freed_in_ping;
static conn *finished[64];
static int nfinished;

static void on_frame(ews_wsscb *cb, ews_wss *wss, const void *data, size_t len, int is_text) {
    conn *c = (conn *)cb;
    const char *path = ews_wss_resource(wss);
    if (c->closes) c->frames_after_close++;
    if (strcmp(path, "/free-in-frame") == 0) {
        freed_in_frame++;
        ews_wss_free(wss);
        free(c);
        return;
    }
    if (strcmp(path, "/write-close-in-frame") == 0) {
        CHECK_EQ(ews_wss_write(wss, "bye", 3, 1), EWS_OK);
        CHECK_EQ(ews_wss_close(wss, 4000, "done"), EWS_OK);
        CHECK_EQ(ews_wss_write(wss, "late", 4, 1), EWS_ECLOSED);
        CHECK_EQ(ews_wss_close(wss, 4001, NULL), EWS_ECLOSED);
        return;
    }
    CHECK_EQ(ews_wss_write(wss, data, len, is_text), EWS_OK);
}

static void on_ping(ews_wsscb *cb, ews_wss *wss, const void *data, size_t len) {
    conn *c = (conn *)cb;
    (void)data;
    (void)len;
    if (strcmp(ews_wss_resource(wss), "/free-in-ping") == 0) {
        freed_in_ping++;
        ews_wss_free(wss);
        free(c);
    }
}

static void on_close(ews_wsscb *cb, ews_wss *wss, int status) {
    conn *c = (conn *)cb;
    c->closes++;
    c->status = status;
    c->valid_in_close = ews_wss_is_valid(wss);
    c->write_in_close = ews_wss_write(wss, "x", 1, 1);
    pthread_mutex_lock(&lock);
    closed_connections++;
    pthread_mutex_unlock(&lock);
    ews_wss_free(wss); /* freeing inside the close callback */
    CHECK(nfinished < 64);
    finished[nfinished++] = c;
}

static void serve(void *user, ews_request *req) {
    conn *c = calloc(1, sizeof *c);
    (void)user;
    CHECK(c != NULL);
    ews_wsscb_init(&c->cb, sizeof c->cb);
    c->cb.frame = on_frame;
    c->cb.close = on_close;
    c->cb.ping = on_ping;
    CHECK_EQ(ews_wss_new(&c->cb, 0, 0, &c->wss), EWS_OK);
    if (ews_wss_upgrade(c->wss, req) != EWS_OK) {
        ews_wss_free(c->wss);
        free(c);
    }
}

int main(void) {
    ews_server *server;
    wsclient cl;
    ews_event ev;
    int port = start_server(&server, NULL, serve, NULL), i;

    /* Echo, then a clean close by the client: one close callback, 1000. */
    CHECK_EQ(wsc_open(&cl, port, "/echo"), 0);
    CHECK_EQ(wsc_send(&cl, "hi", 2, 1), 0);
    wsc_expect(&cl, "hi", 2, 1);
    CHECK_EQ(ews_conn_close(cl.conn, 1000, NULL), EWS_OK);
    CHECK_EQ(wsc_flush(&cl), 0);
    CHECK_EQ(wsc_expect_close(&cl), 1000);
    CHECK_EQ(wsc_next(&cl, &ev, 5000), -1); /* the server closes the TCP connection */
    wsc_free(&cl);

    /* Freed inside the frame callback: the server closes with 1001 and runs
     * no close callback. */
    CHECK_EQ(wsc_open(&cl, port, "/free-in-frame"), 0);
    CHECK_EQ(wsc_send(&cl, "a", 1, 1), 0);
    CHECK_EQ(wsc_send(&cl, "b", 1, 1), 0);
    CHECK_EQ(wsc_expect_close(&cl), 1001);
    wsc_free(&cl);

    /* Freed inside the ping callback. */
    CHECK_EQ(wsc_open(&cl, port, "/free-in-ping"), 0);
    CHECK_EQ(ews_conn_ping(cl.conn, (const uint8_t *)"p", 1), EWS_OK);
    CHECK_EQ(wsc_flush(&cl), 0);
    CHECK_EQ(wsc_expect_close(&cl), 1001);
    wsc_free(&cl);

    /* Write and close inside the frame callback: the message, then the
     * close frame, and nothing written after the close. */
    CHECK_EQ(wsc_open(&cl, port, "/write-close-in-frame"), 0);
    CHECK_EQ(wsc_send(&cl, "go", 2, 1), 0);
    wsc_expect(&cl, "bye", 3, 1);
    CHECK_EQ(wsc_expect_close(&cl), 4000);
    wsc_free(&cl);

    /* The client drops the TCP connection: the close callback gets a
     * negative status. */
    CHECK_EQ(wsc_open(&cl, port, "/echo"), 0);
    CHECK_EQ(wsc_send(&cl, "x", 1, 0), 0);
    wsc_expect(&cl, "x", 1, 0);
    wsc_free(&cl);

    /* Give the loop a moment to see the dropped connection, then stop. */
    for (i = 0; i < 500; i++) {
        int n;
        pthread_mutex_lock(&lock);
        n = closed_connections;
        pthread_mutex_unlock(&lock);
        if (n == 3) break;
        sleep_ms(10);
    }
    stop_server(server);

    CHECK_EQ(freed_in_frame, 1);
    CHECK_EQ(freed_in_ping, 1);
    CHECK_EQ(closed_connections, 3);
    CHECK_EQ(nfinished, 3);
    for (i = 0; i < nfinished; i++) {
        conn *c = finished[i];
        CHECK_EQ(c->closes, 1);
        CHECK_EQ(c->frames_after_close, 0);
        CHECK_EQ(c->valid_in_close, 0);
        CHECK_EQ(c->write_in_close, EWS_ECLOSED);
    }
    CHECK_EQ(finished[0]->status, 1000);
    CHECK_EQ(finished[1]->status, 4000); /* the client echoed the server's code */
    CHECK_EQ(finished[2]->status, EWS_EDROPPED);
    for (i = 0; i < nfinished; i++) free(finished[i]);
    printf("server_callbacks: ok\n");
    return 0;
}
