/* The drain callback: after ews_wss_try_write() returned EWS_EAGAIN and
 * the client read the queue down, the callback runs once with room in the
 * queue (a try_write inside it succeeds), and what it writes goes out at
 * once, without waiting for some other event to wake the loop. */
#include <pthread.h>

#include "testserver.h"
#include "wsclient.h"

static ews_wsscb callbacks;
static ews_wss *the;
static int drains, drain_write = 1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

static void on_frame(ews_wsscb *cb, ews_wss *wss, const void *data, size_t len, int is_text) {
    (void)cb, (void)wss, (void)data, (void)len, (void)is_text;
}

static void on_close(ews_wsscb *cb, ews_wss *wss, int status) {
    (void)cb, (void)wss, (void)status;
}

static void on_drain(ews_wsscb *cb, ews_wss *wss) {
    int r = ews_wss_try_write(wss, "after drain", 11, 1);
    (void)cb;
    pthread_mutex_lock(&lock);
    drains++;
    drain_write = r;
    pthread_mutex_unlock(&lock);
}

static void serve(void *user, ews_request *req) {
    ews_wss *w;
    (void)user;
    CHECK_EQ(ews_wss_new(&callbacks, 0, 0, &w), EWS_OK);
    CHECK_EQ(ews_wss_upgrade(w, req), EWS_OK);
    pthread_mutex_lock(&lock);
    the = w;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

int main(void) {
    static char msg[4096];
    ews_server_options opts;
    ews_limits limits;
    ews_server *server;
    wsclient cl;
    ews_event ev;
    int port, n = 0, i;
    int64_t since;

    ews_wsscb_init(&callbacks, sizeof callbacks);
    callbacks.frame = on_frame;
    callbacks.close = on_close;
    callbacks.drain = on_drain;
    ews_limits_init(&limits, sizeof limits);
    limits.send_queue_bytes = 16384;
    ews_server_options_init(&opts, sizeof opts);
    opts.limits = &limits;
    port = start_server(&server, &opts, serve, NULL);
    CHECK_EQ(wsc_open(&cl, port, "/"), 0);
    pthread_mutex_lock(&lock);
    while (!the) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);

    /* The client reads nothing until the queue refuses. */
    while (ews_wss_try_write(the, msg, sizeof msg, 0) == EWS_OK) {
        n++;
        CHECK(n < 100000);
    }
    CHECK_EQ(ews_wss_try_write(the, msg, sizeof msg, 0), EWS_EAGAIN);
    for (i = 0; i < n; i++) wsc_expect(&cl, msg, sizeof msg, 0);
    since = ews_now();
    CHECK_EQ(wsc_next(&cl, &ev, 3000), 1);
    CHECK_EQ(ev.kind, EWS_EVENT_MESSAGE);
    CHECK_MEM(ev.data, ev.len, "after drain");
    CHECK(ews_now() - since < 1000);
    pthread_mutex_lock(&lock);
    CHECK_EQ(drains, 1);
    CHECK_EQ(drain_write, EWS_OK);
    pthread_mutex_unlock(&lock);
    printf("server_drain: %d messages queued before EWS_EAGAIN\n", n);

    CHECK_EQ(ews_conn_close(cl.conn, 1000, NULL), EWS_OK);
    CHECK_EQ(wsc_flush(&cl), 0);
    CHECK_EQ(wsc_expect_close(&cl), 1000);
    wsc_free(&cl);
    stop_server(server);
    ews_wss_free(the);
    return 0;
}
