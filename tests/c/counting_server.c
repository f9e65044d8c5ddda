/*
 * counting_server.c: an echo server on /echo (exact path; every other path
 * is 404) that counts every callback it receives, for the handshake tests.
 *
 *   counting_server HANDSHAKE_TIMEOUT_MS
 *
 * Listens on a free port of 127.0.0.1 and prints
 * "counting_server: listening on port N". On SIGTERM or SIGINT it stops and
 * prints one line with the counts:
 * "callbacks: service=S upgraded=U refused=R frame=F ping=P close=C".
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ews.h"

typedef struct connection {
    ews_wsscb cb; /* first, so that an ews_wsscb * is a connection * */
    ews_wss *wss;
} connection;

static ews_server *server;
static unsigned long services, upgraded, refused, frames, pings, closes;

static void on_frame(ews_wsscb *cb, ews_wss *wss, const void *data, size_t len, int is_text) {
    (void)cb;
    frames++;
    ews_wss_write(wss, data, len, is_text);
}

static void on_ping(ews_wsscb *cb, ews_wss *wss, const void *data, size_t len) {
    (void)cb;
    (void)wss;
    (void)data;
    (void)len;
    pings++;
}

static void on_close(ews_wsscb *cb, ews_wss *wss, int status) {
    (void)status;
    closes++;
    ews_wss_free(wss);
    free((connection *)cb);
}

static void serve(void *user, ews_request *req) {
    connection *c = calloc(1, sizeof *c);
    (void)user;
    services++;
    if (!c) {
        ews_request_respond(req, 503, "text/plain", "out of memory\n", 14);
        return;
    }
    ews_wsscb_init(&c->cb, sizeof c->cb);
    c->cb.frame = on_frame;
    c->cb.close = on_close;
    c->cb.ping = on_ping;
    if (ews_wss_new(&c->cb, 0, 0, &c->wss) != EWS_OK || ews_wss_upgrade(c->wss, req) != EWS_OK) {
        refused++;
        ews_wss_free(c->wss);
        free(c);
        return;
    }
    upgraded++;
}

static void on_signal(int sig) {
    (void)sig;
    ews_server_stop(server);
}

int main(int argc, char **argv) {
    ews_server_options opts;
    ews_limits limits;
    struct sigaction sa;
    int port, rc;

    if (argc != 2) {
        fprintf(stderr, "usage: counting_server HANDSHAKE_TIMEOUT_MS\n");
        return 2;
    }
    ews_limits_init(&limits, sizeof limits);
    limits.handshake_timeout_ms = (uint32_t)strtoul(argv[1], NULL, 10);
    ews_server_options_init(&opts, sizeof opts);
    opts.limits = &limits;
    if ((rc = ews_server_new(&opts, &server)) != EWS_OK) {
        fprintf(stderr, "counting_server: %s\n", ews_strerror(rc));
        return 1;
    }
    if ((port = ews_server_listen(server, "127.0.0.1:0")) <= 0 ||
        ews_server_route(server, "/echo", 0, serve, NULL) != EWS_OK) {
        fprintf(stderr, "counting_server: cannot listen or route\n");
        ews_server_free(server);
        return 1;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    printf("counting_server: listening on port %d\n", port);
    fflush(stdout);
    rc = ews_server_run(server);
    ews_server_free(server);
    printf("callbacks: service=%lu upgraded=%lu refused=%lu frame=%lu ping=%lu close=%lu\n", services, upgraded,
           refused, frames, pings, closes);
    return rc == EWS_OK ? 0 : 1;
}
