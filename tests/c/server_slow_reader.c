/* A client that stops reading: the send queue stays bounded, a blocking
 * write gives up after the send timeout, a non-blocking one returns
 * EWS_EAGAIN, and once the client reads again the drain callback runs,
 * every accepted message arrives in order, and writes succeed again. */
#include <pthread.h>

#include "testserver.h"
#include "wsclient.h"

#define MSG 16384
#define HIGH_WATER 65536

typedef struct conn {
    ews_wsscb cb;
    ews_wss *wss;
} conn;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static conn *the_conn;
static int drains;

static void on_frame(ews_wsscb *cb, ews_wss *wss, const void *data, size_t len, int is_text) {
    (void)cb;
    (void)wss;
    (void)data;
    (void)len;
    (void)is_text;
}

static void on_close(ews_wsscb *cb, ews_wss *wss, int status) {
    (void)cb;
    (void)wss;
    (void)status;
}

static void on_drain(ews_wsscb *cb, ews_wss *wss) {
    (void)cb;
    CHECK(ews_wss_queued(wss) <= HIGH_WATER / 2);
    pthread_mutex_lock(&lock);
    drains++;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void serve(void *user, ews_request *req) {
    conn *c = calloc(1, sizeof *c);
    (void)user;
    ews_wsscb_init(&c->cb, sizeof c->cb);
    c->cb.frame = on_frame;
    c->cb.close = on_close;
    c->cb.drain = on_drain;
    CHECK_EQ(ews_wss_new(&c->cb, 0, 0, &c->wss), EWS_OK);
    CHECK_EQ(ews_wss_upgrade(c->wss, req), EWS_OK);
    pthread_mutex_lock(&lock);
    the_conn = c;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void fill(uint8_t *msg, long seq) {
    memset(msg, (int)(seq & 0xff), MSG);
    memcpy(msg, &seq, sizeof seq);
}

int main(void) {
    ews_server_options opts;
    ews_limits limits;
    ews_server *server;
    wsclient cl;
    ews_event ev;
    static uint8_t msg[MSG];
    long accepted = 0, seq, max_queued = 0;
    int port, r;

    ews_limits_init(&limits, sizeof limits);
    limits.send_queue_bytes = HIGH_WATER;
    ews_server_options_init(&opts, sizeof opts);
    opts.send_timeout_ms = 300;
    opts.limits = &limits;
    port = start_server(&server, &opts, serve, NULL);

    CHECK_EQ(wsc_open(&cl, port, "/slow"), 0);
    pthread_mutex_lock(&lock);
    while (!the_conn) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);

    /* The client reads nothing: writes fill the socket, then the queue. */
    for (;;) {
        long q;
        fill(msg, accepted);
        r = ews_wss_write(the_conn->wss, msg, MSG, 0);
        q = (long)ews_wss_queued(the_conn->wss);
        if (q > max_queued) max_queued = q;
        if (r != EWS_OK) break;
        accepted++;
        CHECK(accepted < 10000); /* the queue must push back long before this */
    }
    CHECK_EQ(r, EWS_ETIMEDOUT);
    CHECK(max_queued <= HIGH_WATER + MSG + 64);
    fill(msg, accepted);
    CHECK_EQ(ews_wss_try_write(the_conn->wss, msg, MSG, 0), EWS_EAGAIN);

    /* The client reads again: everything accepted arrives, in order. */
    for (seq = 0; seq < accepted; seq++) {
        long got;
        CHECK_EQ(wsc_next(&cl, &ev, 10000), 1);
        CHECK_EQ(ev.kind, EWS_EVENT_MESSAGE);
        CHECK_EQ(ev.len, MSG);
        memcpy(&got, ev.data, sizeof got);
        CHECK_EQ(got, seq);
        CHECK_EQ(ev.data[MSG - 1], (uint8_t)(seq & 0xff));
    }
    pthread_mutex_lock(&lock);
    while (drains == 0) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    CHECK_EQ(drains, 1);
    fill(msg, accepted);
    CHECK_EQ(ews_wss_try_write(the_conn->wss, msg, MSG, 0), EWS_OK);
    CHECK_EQ(wsc_next(&cl, &ev, 10000), 1);
    CHECK_EQ(ev.len, MSG);

    wsc_free(&cl);
    stop_server(server);
    ews_wss_free(the_conn->wss);
    free(the_conn);
    printf("server_slow_reader: ok (%ld messages accepted, queue peaked at %ld bytes)\n", accepted, max_queued);
    return 0;
}
