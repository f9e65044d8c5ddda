/* The URL client from C, against a Python websockets echo server and a
 * misbehaving raw server (both on 127.0.0.1, ports given as arguments),
 * plus a port nobody listens on:
 *
 *   client_api ECHO_PORT RAW_PORT CLOSED_PORT
 *
 * Standalone mode with sends from a second thread, host-driven mode with
 * poll(), free inside a callback, the connection-error reasons, and the
 * argument checks. Every wait is bounded. */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "ews.h"

static int echo_port, raw_port, closed_port;

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int established, closed, errors, messages, clean, close_code, error;
    char reason[256];
    char last[256];
    size_t last_len;
    int free_on_message; /* host-driven test: free the client in the callback */
} record;

static void record_init(record *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
}

static void record_destroy(record *r) {
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->changed);
}

static void on_established(void *user, ews_client *client) {
    record *r = user;
    (void)client;
    pthread_mutex_lock(&r->lock);
    r->established++;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

static void on_receive(void *user, ews_client *client, const void *data, size_t len, int is_text, int first,
                       int last) {
    record *r = user;
    CHECK(first && last);
    (void)is_text;
    pthread_mutex_lock(&r->lock);
    r->messages++;
    r->last_len = len < sizeof r->last ? len : sizeof r->last;
    memcpy(r->last, data, r->last_len);
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    if (r->free_on_message) ews_client_free(client); /* released when this returns */
}

static void on_closed(void *user, ews_client *client, int code, const char *reason, int clean) {
    record *r = user;
    (void)client;
    pthread_mutex_lock(&r->lock);
    r->closed++;
    r->close_code = code;
    r->clean = clean;
    snprintf(r->reason, sizeof r->reason, "%s", reason);
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

static void on_error(void *user, ews_client *client, int error, const char *reason) {
    record *r = user;
    (void)client;
    pthread_mutex_lock(&r->lock);
    r->errors++;
    r->error = error;
    snprintf(r->reason, sizeof r->reason, "%s", reason);
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

/* Waits up to 10 s until *field reaches n. */
static void wait_for(record *r, int *field, int n) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&r->lock);
    while (*field < n) {
        if (pthread_cond_timedwait(&r->changed, &r->lock, &until) != 0) {
            pthread_mutex_unlock(&r->lock);
            fprintf(stderr, "timed out waiting (reason so far: %s)\n", r->reason);
            exit(1);
        }
    }
    pthread_mutex_unlock(&r->lock);
}

/* Checks that c is open; otherwise says what ended the connection. */
static void expect_open(ews_client *c, record *r, int line) {
    int state = ews_client_state(c);
    if (state != EWS_CLIENT_OPEN) {
        pthread_mutex_lock(&r->lock);
        fprintf(stderr, "line %d: state %d, not open (closed %d: %d \"%s\" clean %d; errors %d: %d)\n", line, state,
                r->closed, r->close_code, r->reason, r->clean, r->errors, r->error);
        pthread_mutex_unlock(&r->lock);
        exit(1);
    }
}

static void handlers(ews_client_handlers *h, record *r) {
    ews_client_handlers_init(h, sizeof *h);
    h->established = on_established;
    h->receive = on_receive;
    h->closed = on_closed;
    h->connection_error = on_error;
    h->user = r;
}

static ews_client *new_client(const char *path, int port, record *r, const ews_client_options *o) {
    char url[128];
    ews_client *c = NULL;
    ews_client_handlers h;
    handlers(&h, r);
    snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", port, path);
    CHECK_EQ(ews_client_new(url, &h, o, &c), EWS_OK);
    CHECK(c != NULL);
    return c;
}

typedef struct {
    ews_client *client;
    int count;
} sender_args;

static void *sender(void *arg) {
    sender_args *a = arg;
    int i;
    for (i = 0; i < a->count; i++) CHECK_EQ(ews_client_send(a->client, "from a thread", 13, 1), EWS_OK);
    return NULL;
}

static void standalone_echo_and_close(void) {
    record r;
    ews_client *c;
    pthread_t t;
    sender_args args;
    record_init(&r);
    c = new_client("/echo", echo_port, &r, NULL);
    CHECK_EQ(ews_client_state(c), EWS_CLIENT_IDLE);
    CHECK_EQ(ews_client_send(c, "early", 5, 1), EWS_ESTATE);
    CHECK_EQ(ews_client_start(c), EWS_OK);
    CHECK_EQ(ews_client_start(c), EWS_ESTATE);
    CHECK_EQ(ews_client_service(c, 0), EWS_ESTATE); /* a service thread runs it */
    wait_for(&r, &r.established, 1);
    expect_open(c, &r, __LINE__);
    /* Refused at once while the service thread waits on the quiet
     * connection (not once the server speaks, e.g. to say it goes away). */
    CHECK_EQ(ews_client_start(c), EWS_ESTATE);
    CHECK_EQ(ews_client_connect(c), EWS_ESTATE);
    expect_open(c, &r, __LINE__);

    CHECK_EQ(ews_client_send(c, "\x01\x02", 2, 0), EWS_OK);
    wait_for(&r, &r.messages, 1);
    CHECK_EQ(r.last_len, 2);
    args.client = c;
    args.count = 20;
    CHECK_EQ(pthread_create(&t, NULL, sender, &args), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    wait_for(&r, &r.messages, 21);
    CHECK_MEM(r.last, r.last_len, "from a thread");
    CHECK_EQ(ews_client_send(c, "\xff", 1, 1), EWS_EINVAL);
    CHECK_EQ(ews_client_ping(c, "are you there", 13), EWS_OK); /* the pong is absorbed */
    CHECK_EQ(ews_client_ping(c, NULL, 200), EWS_EINVAL);

    CHECK_EQ(ews_client_close(c, 1000, "bye"), EWS_OK);
    CHECK_EQ(ews_client_join(c), EWS_OK);
    CHECK_EQ(r.closed, 1);
    CHECK_EQ(r.clean, 1);
    CHECK_EQ(r.close_code, 1000);
    CHECK_EQ(r.errors, 0);
    CHECK_EQ(ews_client_state(c), EWS_CLIENT_FINISHED);
    CHECK_EQ(ews_client_close(c, 1000, NULL), EWS_OK); /* closing again is harmless */
    ews_client_free(c);
    record_destroy(&r);
}

/* Runs a host-driven client until it finishes (or is freed by a callback). */
static void run_host_driven(ews_client *c, record *r, const char *send_once_open) {
    time_t start = time(NULL);
    int sent = 0, rc;
    while ((rc = ews_client_service(c, 0)) == 1) {
        struct pollfd p;
        int64_t due = ews_client_next_deadline(c), timeout = 100;
        CHECK(time(NULL) - start < 20);
        if (due >= 0 && due - ews_now() < timeout) timeout = due > ews_now() ? due - ews_now() : 0;
        if (send_once_open && !sent && r->established) {
            CHECK_EQ(ews_client_send(c, send_once_open, strlen(send_once_open), 1), EWS_OK);
            sent = 1;
        }
        if (r->messages > 0 && !r->free_on_message && ews_client_state(c) == EWS_CLIENT_OPEN)
            CHECK_EQ(ews_client_close(c, 1000, NULL), EWS_OK);
        p.fd = ews_client_fd(c);
        p.events = POLLIN;
        poll(&p, 1, (int)timeout);
    }
    CHECK_EQ(rc, 0);
}

static void host_driven_echo(void) {
    record r;
    ews_client *c;
    record_init(&r);
    c = new_client("/echo", echo_port, &r, NULL);
    CHECK(ews_client_fd(c) >= 0);
    CHECK_EQ(ews_client_join(c), EWS_ESTATE); /* not started with ews_client_start() */
    CHECK_EQ(ews_client_connect(c), EWS_OK);
    CHECK_EQ(ews_client_connect(c), EWS_ESTATE);
    run_host_driven(c, &r, "host-driven");
    CHECK_EQ(r.messages, 1);
    CHECK_MEM(r.last, r.last_len, "host-driven");
    CHECK_EQ(r.closed, 1);
    CHECK_EQ(r.clean, 1);
    CHECK_EQ(ews_client_state(c), EWS_CLIENT_FINISHED);
    ews_client_free(c);
    record_destroy(&r);
}

static void free_inside_a_callback(void) {
    record r;
    ews_client *c;
    record_init(&r);
    r.free_on_message = 1;
    c = new_client("/echo", echo_port, &r, NULL);
    CHECK_EQ(ews_client_connect(c), EWS_OK);
    /* The receive callback frees the client: service returns 0 and the
     * handle is not used again. */
    run_host_driven(c, &r, "free me");
    CHECK_EQ(r.messages, 1);
    CHECK_EQ(r.closed, 0); /* no callback after the free */
    record_destroy(&r);
}

static void connection_error(const char *path, int port, const char *host, int error, const char *reason) {
    record r;
    ews_client *c = NULL;
    ews_client_options o;
    ews_limits limits;
    ews_client_handlers h;
    char url[128];
    record_init(&r);
    handlers(&h, &r);
    ews_limits_init(&limits, sizeof limits);
    limits.handshake_timeout_ms = 500;
    ews_client_options_init(&o, sizeof o);
    /* A resolver may be slow to say that a .invalid name does not exist. */
    o.connect_timeout_ms = strcmp(host, "name.invalid") == 0 ? 30000 : 3000;
    o.limits = &limits;
    snprintf(url, sizeof url, "ws://%s:%d%s", host, port, path);
    CHECK_EQ(ews_client_new(url, &h, &o, &c), EWS_OK);
    CHECK_EQ(ews_client_start(c), EWS_OK);
    CHECK_EQ(ews_client_join(c), EWS_OK);
    if (r.errors != 1 || r.error != error || strcmp(r.reason, reason) != 0) {
        fprintf(stderr, "%s: got %d errors, %d \"%s\"; expected %d \"%s\"\n", url, r.errors, r.error, r.reason,
                error, reason);
        exit(1);
    }
    CHECK_EQ(r.established, 0);
    CHECK_EQ(r.closed, 0);
    ews_client_free(c);
    record_destroy(&r);
}

static void reasons(void) {
    connection_error("/", closed_port, "127.0.0.1", EWS_ECONNREFUSED, "connection refused");
    connection_error("/", 80, "name.invalid", EWS_ERESOLVE, "name resolution failed");
    connection_error("/200", raw_port, "127.0.0.1", EWS_EHANDSHAKE, "HS: ws upgrade response not 101");
    connection_error("/bad-accept", raw_port, "127.0.0.1", EWS_EHANDSHAKE, "HS: Accept hash wrong");
    connection_error("/no-upgrade", raw_port, "127.0.0.1", EWS_EHANDSHAKE, "HS: UPGRADE missing");
    connection_error("/unoffered-protocol", raw_port, "127.0.0.1", EWS_EHANDSHAKE, "HS: Cannot match protocol");
    connection_error("/endless-headers", raw_port, "127.0.0.1", EWS_EHANDSHAKE, "HS: response headers too large");
    connection_error("/hangup", raw_port, "127.0.0.1", EWS_EHANDSHAKE, "Peer hung up");
    connection_error("/silent", raw_port, "127.0.0.1", EWS_ETIMEDOUT, "handshake timed out");
}

static void reconnection_gives_up(void) {
    record r;
    ews_client *c;
    ews_client_options o;
    record_init(&r);
    ews_client_options_init(&o, sizeof o);
    o.reconnect = 1;
    o.reconnect_min_ms = 10;
    o.reconnect_max_ms = 40;
    o.reconnect_max_attempts = 3;
    c = new_client("/", closed_port, &r, &o);
    CHECK_EQ(ews_client_start(c), EWS_OK);
    CHECK_EQ(ews_client_join(c), EWS_OK);
    CHECK_EQ(r.errors, 4); /* the first attempt and three more */
    CHECK_EQ(r.error, EWS_ECONNREFUSED);
    ews_client_free(c);
    record_destroy(&r);
}

static void arguments(void) {
    ews_client *c = NULL;
    ews_client_options o;
    ews_tls_settings tls;
    const char *protocols[] = {"bad token"};
    char buf[8];
    CHECK_EQ(ews_client_new(NULL, NULL, NULL, &c), EWS_EINVAL);
    CHECK_EQ(ews_client_new("ws://127.0.0.1/", NULL, NULL, NULL), EWS_EINVAL);
    CHECK_EQ(ews_client_new("http://127.0.0.1/", NULL, NULL, &c), EWS_EINVAL);
    CHECK_EQ(ews_client_new("ws://127.0.0.1/#fragment", NULL, NULL, &c), EWS_EINVAL);
    CHECK_EQ(ews_client_new("wss://127.0.0.1/", NULL, NULL, &c), EWS_ENOTSUP);
    ews_client_options_init(&o, sizeof o);
    o.protocols = protocols;
    o.protocol_count = 1;
    CHECK_EQ(ews_client_new("ws://127.0.0.1/", NULL, &o, &c), EWS_EINVAL);
    CHECK(c == NULL);
    /* TLS settings are accepted for ws:// (and kept for wss://). */
    ews_tls_settings_init(&tls, sizeof tls);
    tls.ca_file = "/etc/ssl/certs/ca-certificates.crt";
    ews_client_options_init(&o, sizeof o);
    o.tls = &tls;
    CHECK_EQ(ews_client_new("ws://[::1]:9/", NULL, &o, &c), EWS_OK);
    CHECK_EQ(ews_client_subprotocol(c, buf, sizeof buf), 0);
    CHECK_EQ(ews_client_close(c, 999, NULL), EWS_EINVAL); /* checked even when no frame is sent */
    ews_client_free(c);
    CHECK_EQ(ews_client_start(NULL), EWS_EINVAL);
    CHECK_EQ(ews_client_connect(NULL), EWS_EINVAL);
    CHECK_EQ(ews_client_service(NULL, 0), EWS_EINVAL);
    CHECK_EQ(ews_client_send(NULL, "x", 1, 1), EWS_EINVAL);
    CHECK_EQ(ews_client_close(NULL, 1000, NULL), EWS_EINVAL);
    CHECK_EQ(ews_client_state(NULL), EWS_EINVAL);
    CHECK_EQ(ews_client_fd(NULL), EWS_EINVAL);
    CHECK_EQ(ews_client_next_deadline(NULL), -1);
    ews_client_free(NULL);
}

int main(int argc, char **argv) {
    CHECK_EQ(argc, 4);
    echo_port = atoi(argv[1]);
    raw_port = atoi(argv[2]);
    closed_port = atoi(argv[3]);
    arguments();
    standalone_echo_and_close();
    host_driven_echo();
    free_inside_a_callback();
    reasons();
    reconnection_gives_up();
    printf("client_api: all checks passed\n");
    return 0;
}
