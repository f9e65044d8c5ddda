/* A thousand connections open at once on one server: every one echoes,
 * every one closes cleanly, and every close callback runs once. */
#include <pthread.h>
#include <sys/resource.h>

#include "testserver.h"
#include "wsclient.h"

#define CONNECTIONS 1000

typedef struct conn {
    ews_wsscb cb;
    ews_wss *wss;
} conn;

static int opened, closed_clean, closed_other;

static void on_frame(ews_wsscb *cb, ews_wss *wss, const void *data, size_t len, int is_text) {
    (void)cb;
    CHECK_EQ(ews_wss_write(wss, data, len, is_text), EWS_OK);
}

static void on_close(ews_wsscb *cb, ews_wss *wss, int status) {
    if (status == 1000)
        closed_clean++;
    else
        closed_other++;
    ews_wss_free(wss);
    free(cb);
}

static void serve(void *user, ews_request *req) {
    conn *c = calloc(1, sizeof *c);
    (void)user;
    ews_wsscb_init(&c->cb, sizeof c->cb);
    c->cb.frame = on_frame;
    c->cb.close = on_close;
    CHECK_EQ(ews_wss_new(&c->cb, 0, 0, &c->wss), EWS_OK);
    CHECK_EQ(ews_wss_upgrade(c->wss, req), EWS_OK);
    opened++;
}

int main(void) {
    struct rlimit lim;
    ews_server *server;
    wsclient *clients = calloc(CONNECTIONS, sizeof *clients);
    int port, i;

    /* Both ends live in this process: two descriptors per connection. */
    CHECK(getrlimit(RLIMIT_NOFILE, &lim) == 0);
    if (lim.rlim_cur < 2 * CONNECTIONS + 64) {
        CHECK(lim.rlim_max >= 2 * CONNECTIONS + 64);
        lim.rlim_cur = 2 * CONNECTIONS + 64;
        CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0);
    }
    CHECK(clients != NULL);
    port = start_server(&server, NULL, serve, NULL);

    for (i = 0; i < CONNECTIONS; i++) CHECK_EQ(wsc_open(&clients[i], port, "/many"), 0);
    for (i = 0; i < CONNECTIONS; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "connection %d", i);
        CHECK_EQ(wsc_send(&clients[i], msg, (size_t)n, 1), 0);
    }
    for (i = 0; i < CONNECTIONS; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "connection %d", i);
        wsc_expect(&clients[i], msg, (size_t)n, 1);
    }
    for (i = 0; i < CONNECTIONS; i++) {
        CHECK_EQ(ews_conn_close(clients[i].conn, 1000, NULL), EWS_OK);
        CHECK_EQ(wsc_flush(&clients[i]), 0);
    }
    for (i = 0; i < CONNECTIONS; i++) {
        CHECK_EQ(wsc_expect_close(&clients[i]), 1000);
        wsc_free(&clients[i]);
    }
    /* Each close callback ran before its close frame was answered. */
    stop_server(server);
    CHECK_EQ(opened, CONNECTIONS);
    CHECK_EQ(closed_clean, CONNECTIONS);
    CHECK_EQ(closed_other, 0);
    free(clients);
    printf("server_many: ok (%d connections)\n", CONNECTIONS);
    return 0;
}
