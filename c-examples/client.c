/*
 * client.c: a WebSocket client for a ws:// URL, run from the program's
 * own poll() loop.
 *
 *   client ws://host:port/path
 *
 * Once connected, every line read from stdin is sent as a text message,
 * and every message received is printed ("< text", or "< [N bytes]" for
 * binary). At the end of stdin the client closes with the closing
 * handshake and exits when it is over: 0 after a clean close, 1 otherwise.
 *
 * The loop polls two descriptors: stdin and ews_client_fd(), which becomes
 * readable whenever the client needs ews_client_service(), with a timeout
 * until ews_client_next_deadline(). A program without a loop of its own
 * calls ews_client_start() instead, and a service thread does the same.
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ews.h"

typedef struct {
    int open;  /* the handshake completed */
    int clean; /* the connection ended with the closing handshake */
} session;

static void on_established(void *user, ews_client *client) {
    char protocol[64];
    ((session *)user)->open = 1;
    if (ews_client_subprotocol(client, protocol, sizeof protocol) > 0)
        printf("connected (subprotocol %s)\n", protocol);
    else
        printf("connected\n");
    fflush(stdout);
}

static void on_receive(void *user, ews_client *client, const void *data, size_t len, int is_text,
                       int first, int last) {
    (void)user;
    (void)client;
    (void)first;
    (void)last;
    if (is_text)
        printf("< %.*s\n", (int)len, (const char *)data);
    else
        printf("< [%lu bytes]\n", (unsigned long)len);
    fflush(stdout);
}

static void on_closed(void *user, ews_client *client, int code, const char *reason, int clean) {
    (void)client;
    ((session *)user)->clean = clean;
    printf("closed: %d \"%s\" (%s)\n", code, reason, clean ? "clean" : "not clean");
    fflush(stdout);
}

static void on_connection_error(void *user, ews_client *client, int error, const char *reason) {
    (void)user;
    (void)client;
    fprintf(stderr, "connection error: %s (%s)\n", reason, ews_strerror(error));
}

/* Sends every complete line in buf[0..*len) and keeps the rest. */
static void send_lines(ews_client *client, char *buf, size_t *len) {
    size_t start = 0, i;
    for (i = 0; i < *len; i++) {
        if (buf[i] != '\n') continue;
        int rc = ews_client_send(client, buf + start, i - start, 1);
        if (rc != EWS_OK) fprintf(stderr, "send: %s\n", ews_strerror(rc));
        start = i + 1;
    }
    memmove(buf, buf + start, *len - start);
    *len -= start;
}

int main(int argc, char **argv) {
    static char line[1 << 16];
    size_t line_len = 0;
    session s = {0, 0};
    ews_client_handlers handlers;
    ews_client *client = NULL;
    int stdin_open = 1, rc;

    if (argc != 2) {
        fprintf(stderr, "usage: client ws://host:port/path\n");
        return 2;
    }
    ews_client_handlers_init(&handlers, sizeof handlers);
    handlers.established = on_established;
    handlers.receive = on_receive;
    handlers.closed = on_closed;
    handlers.connection_error = on_connection_error;
    handlers.user = &s;
    rc = ews_client_new(argv[1], &handlers, NULL, &client);
    if (rc != EWS_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], ews_strerror(rc));
        return 2;
    }
    ews_client_connect(client);
    while (ews_client_service(client, 0) == 1) {
        struct pollfd fds[2];
        int64_t due = ews_client_next_deadline(client), timeout = -1;
        if (due >= 0) timeout = due > ews_now() ? due - ews_now() : 0;
        fds[0].fd = ews_client_fd(client);
        fds[0].events = POLLIN;
        fds[1].fd = STDIN_FILENO;
        fds[1].events = POLLIN;
        /* Lines are read once the connection is open. */
        if (poll(fds, s.open && stdin_open ? 2 : 1, (int)(timeout > 60000 ? 60000 : timeout)) < 0) continue;
        if (s.open && stdin_open && (fds[1].revents & (POLLIN | POLLHUP))) {
            ssize_t n = read(STDIN_FILENO, line + line_len, sizeof line - line_len);
            if (n > 0) {
                line_len += (size_t)n;
                send_lines(client, line, &line_len);
                if (line_len == sizeof line) { /* a very long line: send what we have */
                    ews_client_send(client, line, line_len, 1);
                    line_len = 0;
                }
            } else {
                if (line_len > 0) ews_client_send(client, line, line_len, 1);
                stdin_open = 0;
                ews_client_close(client, 1000, "bye");
            }
        }
    }
    ews_client_free(client);
    return s.clean ? 0 : 1;
}
