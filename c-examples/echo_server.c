/*
 * echo_server.c: a WebSocket echo server on ews's built-in server.
 *
 *   echo_server [port]          (default 9001; every path is served)
 *
 * Every message comes back as it was received: text stays text, binary
 * stays binary, up to 64 MiB. It is the conformance target of the test
 * suite, so it is strict: anything RFC 6455 forbids fails the connection
 * with the right close code. Ctrl-C (SIGINT) or SIGTERM stops it cleanly.
 *
 * An echo needs no state per connection, so every connection shares one
 * callback struct and the server holds nothing else per connection. (A
 * host that keeps per-connection state embeds the struct in its own
 * object and casts the first argument back: see chat_server.c.)
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ews.h"

static ews_server *server;

static void on_frame(ews_wsscb *cb, ews_wss *wss, const void *data, size_t len, int is_text) {
    (void)cb;
    ews_wss_write(wss, data, len, is_text);
}

static void on_close(ews_wsscb *cb, ews_wss *wss, int status) {
    (void)cb;
    (void)status;
    ews_wss_free(wss); /* allowed inside the callback: torn down after it */
}

static ews_wsscb callbacks; /* set up in main() */

static void serve(void *user, ews_request *req) {
    ews_wss *wss = NULL;
    (void)user;
    if (ews_wss_new(&callbacks, 0, 0, &wss) != EWS_OK || ews_wss_upgrade(wss, req) != EWS_OK) {
        /* Not a valid WebSocket handshake: ews has answered with the HTTP error. */
        ews_wss_free(wss);
    }
}

static void on_signal(int sig) {
    (void)sig;
    ews_server_stop(server); /* async-signal-safe */
}

int main(int argc, char **argv) {
    const char *port = argc > 1 ? argv[1] : "9001";
    char addr[64];
    ews_server_options opts;
    ews_limits limits;
    struct sigaction sa;
    int rc;

    ews_wsscb_init(&callbacks, sizeof callbacks);
    callbacks.frame = on_frame;
    callbacks.close = on_close;

    ews_limits_init(&limits, sizeof limits);
    limits.max_message = 64u << 20;
    limits.max_frame = 64u << 20;
    ews_server_options_init(&opts, sizeof opts);
    opts.limits = &limits;
    if ((rc = ews_server_new(&opts, &server)) != EWS_OK) {
        fprintf(stderr, "echo_server: %s\n", ews_strerror(rc));
        return 1;
    }
    snprintf(addr, sizeof addr, "[::]:%s", port);
    if ((rc = ews_server_listen(server, addr)) < 0) {
        snprintf(addr, sizeof addr, "0.0.0.0:%s", port);
        rc = ews_server_listen(server, addr);
    }
    if (rc < 0) {
        fprintf(stderr, "echo_server: cannot listen on port %s: %s\n", port, ews_strerror(rc));
        ews_server_free(server);
        return 1;
    }
    ews_server_route(server, "/", 1, serve, NULL);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    printf("echo_server: listening on port %d\n", rc);
    fflush(stdout);
    rc = ews_server_run(server);
    ews_server_free(server);
    printf("echo_server: stopped\n");
    return rc == EWS_OK ? 0 : 1;
}
