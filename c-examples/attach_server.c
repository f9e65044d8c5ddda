/*
 * attach_server.c: a WebSocket echo server on plain sockets, libdill style:
 * the program accepts TCP connections itself and puts WebSocket on each
 * one with ews_attach_server(), with a deadline on every call.
 *
 *   attach_server [port [count]]
 *
 * Listens on 127.0.0.1:port (default 9002; 0 picks a free port) and prints
 * "listening on port N". Serves one client at a time: echoes every message
 * with its type until the client closes, then detaches and closes the
 * socket. With `count`, exits after that many clients. A client that goes
 * quiet for 30 seconds is dropped; a handshake must complete in 5 seconds.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ews.h"

static int listen_on(int port) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    printf("listening on port %d\n", ntohs(a.sin_port));
    fflush(stdout);
    return fd;
}

/* Echoes messages until the client closes or fails; returns the socket's
 * descriptor state: 0 after a clean close, -1 otherwise. */
static int serve(int fd) {
    char resource[256], host[256], reason[EWS_MAX_CLOSE_REASON + 1];
    static char buf[1 << 20];
    ews_sock *ws = NULL;
    int rc, flags;
    ptrdiff_t n;

    rc = ews_attach_server(fd, EWS_WS_BINARY, resource, sizeof resource, host, sizeof host,
                           ews_now() + 5000, &ws);
    if (rc == EWS_ETIMEDOUT) {
        fprintf(stderr, "handshake timed out\n");
        ews_sock_free(ws); /* on a timeout the socket is handed out: give up on it */
        return -1;
    }
    if (rc != EWS_OK) {
        fprintf(stderr, "handshake failed: %s\n", ews_strerror(rc));
        return -1;
    }
    printf("client connected: resource %s, host %s\n", resource, host);
    for (;;) {
        /* ews_recv takes text and binary alike; ews_mrecv would insist on
         * the socket's type. */
        n = ews_recv(ws, &flags, buf, sizeof buf, ews_now() + 30000);
        if (n < 0) break;
        rc = ews_send(ws, flags, buf, (size_t)n, ews_now() + 5000);
        if (rc != EWS_OK) break;
        printf("echoed %s message of %ld bytes\n", flags & EWS_WS_TEXT ? "a text" : "a binary", (long)n);
    }
    if (n == EWS_ECLOSED) {
        printf("client closed: %d \"%s\"\n", ews_status(ws, reason, sizeof reason), reason);
    } else {
        fprintf(stderr, "connection ended: %s (%s)\n", ews_strerror((int)n),
                ews_sock_error_detail(ws) ? ews_sock_error_detail(ws) : "-");
    }
    /* Answers the client's close frame (or sends ours) and hands the
     * descriptor back; ETIMEDOUT would leave the socket to try again. */
    rc = ews_detach(ws, 1000, NULL, ews_now() + 2000);
    if (rc == EWS_ETIMEDOUT) ews_sock_free(ws);
    fflush(stdout);
    return rc >= 0 ? 0 : -1;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 9002;
    long count = argc > 2 ? atol(argv[2]) : -1, served = 0;
    int lfd = listen_on(port);
    if (lfd < 0) {
        perror("listen");
        return 1;
    }
    while (count < 0 || served < count) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) continue;
        serve(fd);
        close(fd); /* ews never closes the descriptor: it is ours */
        served++;
    }
    close(lfd);
    return 0;
}
