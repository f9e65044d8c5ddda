/*
 * custom_transport.c: running ews over a transport of your own.
 *
 * ews_conn knows nothing about sockets: the host moves bytes. This example
 * wraps a file descriptor (here one end of a socketpair; on firmware it
 * would be an lwIP pcb, a UART or a TLS session) in a small transport
 * struct, and drives a connection with one loop: wait for input or the next
 * deadline, feed what arrived, write what ews queued, pass the time.
 *
 * A child process runs an echo server, the parent a client that sends a few
 * messages, checks the echoes, and closes.
 *
 * Build and run:  make -C c-examples && ../target/c-examples/custom_transport
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ews.h"

/* The transport: anything that can read, write and wait. */
typedef struct transport {
    int fd;
} transport;

static long transport_read(transport *t, uint8_t *buf, size_t len) {
    ssize_t n;
    do n = read(t->fd, buf, len);
    while (n < 0 && errno == EINTR);
    return (long)n;
}

static int transport_write_all(transport *t, const uint8_t *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(t->fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Waits until the transport is readable or `timeout_ms` passed (-1: no limit). */
static int transport_wait(transport *t, int timeout_ms) {
    struct pollfd p;
    p.fd = t->fd;
    p.events = POLLIN;
    p.revents = 0;
    return poll(&p, 1, timeout_ms);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the application does with each event. */
typedef void (*on_event_fn)(ews_conn *conn, const ews_event *ev, void *user);

/* Writes everything ews queued. */
static int flush(ews_conn *conn, transport *t) {
    const uint8_t *out;
    size_t len;
    while (ews_conn_output(conn, &out, &len) > 0) {
        if (transport_write_all(t, out, len) < 0) return -1;
        ews_conn_consume(conn, len);
    }
    return 0;
}

/* Runs the connection until it is finished. */
static void run(ews_conn *conn, transport *t, on_event_fn on_event, void *user) {
    uint8_t buf[4096];
    ews_event ev;
    for (;;) {
        int64_t deadline;
        int timeout = -1, ready;
        if (flush(conn, t) < 0 || ews_conn_wants_close(conn)) return;
        deadline = ews_conn_next_deadline(conn);
        if (deadline >= 0) {
            int64_t wait = deadline - now_ms();
            timeout = wait < 0 ? 0 : (int)wait;
        }
        ready = transport_wait(t, timeout);
        if (ews_conn_on_time(conn, now_ms(), &ev) == 1) on_event(conn, &ev, user);
        if (ready > 0) {
            long n = transport_read(t, buf, sizeof buf);
            if (n <= 0) {
                if (ews_conn_on_eof(conn, &ev) == 1) on_event(conn, &ev, user);
                return;
            } else {
                size_t off = 0;
                while (off < (size_t)n) {
                    size_t used = 0;
                    if (ews_conn_feed(conn, buf + off, (size_t)n - off, &used, &ev) != 1) break;
                    off += used;
                    on_event(conn, &ev, user);
                }
            }
        }
        if (ews_conn_state(conn) == EWS_STATE_FAILED) {
            flush(conn, t);
            return;
        }
    }
}

/* ----- the server: echo every message ----- */

static void server_event(ews_conn *conn, const ews_event *ev, void *user) {
    (void)user;
    if (ev->kind == EWS_EVENT_MESSAGE) ews_conn_send(conn, ev->data, ev->len, ev->is_text);
    if (ev->kind == EWS_EVENT_ERROR) fprintf(stderr, "server: %s\n", ev->detail);
}

static int server_main(int fd) {
    transport t;
    ews_conn *conn;
    if (ews_conn_new(EWS_ROLE_SERVER, NULL, &conn) != EWS_OK) return 1;
    t.fd = fd;
    run(conn, &t, server_event, NULL);
    ews_conn_free(conn);
    close(fd);
    return 0;
}

/* ----- the client: send, check the echoes, close ----- */

static const char *const messages[] = {"first", "second", "the third and last"};

typedef struct client_state {
    int echoed;
    int close_code;
    int failed;
} client_state;

static void client_event(ews_conn *conn, const ews_event *ev, void *user) {
    client_state *s = user;
    size_t i;
    switch (ev->kind) {
    case EWS_EVENT_OPEN:
        printf("client: connected\n");
        for (i = 0; i < sizeof messages / sizeof messages[0]; i++)
            ews_conn_send(conn, (const uint8_t *)messages[i], strlen(messages[i]), 1);
        break;
    case EWS_EVENT_MESSAGE:
        printf("client: echo \"%.*s\"\n", (int)ev->len, (const char *)ev->data);
        if (ev->len == strlen(messages[s->echoed]) && memcmp(ev->data, messages[s->echoed], ev->len) == 0)
            s->echoed++;
        if (s->echoed == (int)(sizeof messages / sizeof messages[0]))
            ews_conn_close(conn, EWS_CLOSE_NORMAL, "thanks");
        break;
    case EWS_EVENT_CLOSE:
        printf("client: server answered the close with %d\n", ev->code);
        s->close_code = ev->code;
        break;
    case EWS_EVENT_ERROR:
        fprintf(stderr, "client: %s\n", ev->detail);
        s->failed = 1;
        break;
    default:
        break;
    }
}

int main(void) {
    int fds[2], status = 0;
    pid_t child;
    ews_conn_options opts;
    ews_conn *conn;
    transport t;
    client_state state = {0, 0, 0};

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return 1;
    child = fork();
    if (child < 0) return 1;
    if (child == 0) {
        close(fds[0]);
        _exit(server_main(fds[1]));
    }
    close(fds[1]);

    ews_conn_options_init(&opts, sizeof opts);
    opts.host = "localhost";
    opts.resource = "/echo";
    if (ews_conn_new(EWS_ROLE_CLIENT, &opts, &conn) != EWS_OK) return 1;
    t.fd = fds[0];
    run(conn, &t, client_event, &state);
    ews_conn_free(conn);
    close(fds[0]);
    waitpid(child, &status, 0);

    if (state.failed || state.echoed != 3 || state.close_code != EWS_CLOSE_NORMAL ||
        !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "custom_transport: FAILED\n");
        return 1;
    }
    printf("custom_transport: all echoes received, closed cleanly\n");
    return 0;
}
