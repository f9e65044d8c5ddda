/* Eight threads write to one connection while another thread closes it:
 * every write that succeeded arrives, in order per thread, before the
 * close frame; every later write fails with EWS_ECLOSED; nothing crashes. */
#include <pthread.h>

#include "testserver.h"
#include "wsclient.h"

#define WRITERS 8
#define CLOSE_AFTER 1500

typedef struct conn {
    ews_wsscb cb;
    ews_wss *wss;
} conn;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static conn *the_conn;
static int close_status, closes;
static long written_total;

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
    pthread_mutex_lock(&lock);
    closes++;
    close_status = status;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void serve(void *user, ews_request *req) {
    conn *c = calloc(1, sizeof *c);
    (void)user;
    ews_wsscb_init(&c->cb, sizeof c->cb);
    c->cb.frame = on_frame;
    c->cb.close = on_close;
    CHECK_EQ(ews_wss_new(&c->cb, 0, 0, &c->wss), EWS_OK);
    CHECK_EQ(ews_wss_upgrade(c->wss, req), EWS_OK);
    pthread_mutex_lock(&lock);
    the_conn = c;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

typedef struct writer {
    pthread_t thread;
    int id;
    long ok;
    int last_error;
} writer;

static void *write_loop(void *arg) {
    writer *w = arg;
    char msg[64];
    for (;;) {
        int n = snprintf(msg, sizeof msg, "%d:%ld", w->id, w->ok);
        int r = ews_wss_write(the_conn->wss, msg, (size_t)n, 1);
        if (r != EWS_OK) {
            w->last_error = r;
            return NULL;
        }
        w->ok++;
        pthread_mutex_lock(&lock);
        written_total++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
    }
}

static void *closer(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    while (written_total < CLOSE_AFTER) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    CHECK_EQ(ews_wss_close(the_conn->wss, 1000, "enough"), EWS_OK);
    return NULL;
}

int main(void) {
    ews_server *server;
    wsclient cl;
    ews_event ev;
    writer writers[WRITERS];
    long next[WRITERS], received = 0, total_ok = 0;
    pthread_t closing;
    int port = start_server(&server, NULL, serve, NULL), i, close_code = 0;

    CHECK_EQ(wsc_open(&cl, port, "/threads"), 0);
    pthread_mutex_lock(&lock);
    while (!the_conn) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);

    for (i = 0; i < WRITERS; i++) {
        writers[i].id = i;
        writers[i].ok = 0;
        writers[i].last_error = 0;
        next[i] = 0;
        CHECK(pthread_create(&writers[i].thread, NULL, write_loop, &writers[i]) == 0);
    }
    CHECK(pthread_create(&closing, NULL, closer, NULL) == 0);

    /* Read until the close frame: messages per writer arrive in order. */
    for (;;) {
        int r = wsc_next(&cl, &ev, 10000);
        CHECK_EQ(r, 1);
        if (ev.kind == EWS_EVENT_CLOSE) {
            close_code = ev.code;
            break;
        }
        CHECK_EQ(ev.kind, EWS_EVENT_MESSAGE);
        {
            char text[64];
            int id;
            long seq;
            CHECK(ev.len < sizeof text);
            memcpy(text, ev.data, ev.len);
            text[ev.len] = 0;
            CHECK(sscanf(text, "%d:%ld", &id, &seq) == 2);
            CHECK(id >= 0 && id < WRITERS);
            CHECK_EQ(seq, next[id]);
            next[id]++;
            received++;
        }
    }
    CHECK_EQ(close_code, 1000);
    CHECK_EQ(wsc_next(&cl, &ev, 5000), -1); /* the server then closes TCP */

    for (i = 0; i < WRITERS; i++) {
        pthread_join(writers[i].thread, NULL);
        CHECK_EQ(writers[i].last_error, EWS_ECLOSED);
        CHECK_EQ(writers[i].ok, next[i]); /* every accepted message arrived */
        total_ok += writers[i].ok;
    }
    pthread_join(closing, NULL);
    CHECK_EQ(total_ok, received);
    CHECK(received >= CLOSE_AFTER);

    pthread_mutex_lock(&lock);
    while (closes == 0) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    CHECK_EQ(closes, 1);
    CHECK_EQ(close_status, 1000);
    CHECK_EQ(ews_wss_is_valid(the_conn->wss), 0);
    CHECK_EQ(ews_wss_write(the_conn->wss, "x", 1, 1), EWS_ECLOSED);

    wsc_free(&cl);
    stop_server(server);
    ews_wss_free(the_conn->wss);
    free(the_conn);
    printf("server_threads: ok (%ld messages from %d threads)\n", received, WRITERS);
    return 0;
}
