/*
 * attach_client.c: a WebSocket client on a plain socket, libdill style:
 * the program connects TCP itself, puts WebSocket on the socket with
 * ews_attach_client(), and bounds every call with a deadline.
 *
 *   attach_client port [message ...]
 *
 * Connects to 127.0.0.1:port (attach_server's default is 9002), sends each
 * message as text, waits up to 5 seconds for each echo and prints it, then
 * closes with the closing handshake and gets the plain socket back.
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

static int tcp_connect(int port) {
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv) {
    char buf[4096], host[64];
    ews_sock *ws = NULL;
    int fd, rc, i, status = 0;
    ptrdiff_t n;

    if (argc < 2) {
        fprintf(stderr, "usage: attach_client port [message ...]\n");
        return 2;
    }
    fd = tcp_connect(atoi(argv[1]));
    if (fd < 0) {
        perror("connect");
        return 1;
    }
    snprintf(host, sizeof host, "127.0.0.1:%d", atoi(argv[1]));
    /* A text socket: ews_msend() sends text, ews_mrecv() expects text. */
    rc = ews_attach_client(fd, EWS_WS_TEXT, "/echo", host, ews_now() + 5000, &ws);
    if (rc != EWS_OK) {
        fprintf(stderr, "handshake: %s\n", ews_strerror(rc));
        if (rc == EWS_ETIMEDOUT) ews_sock_free(ws);
        close(fd);
        return 1;
    }
    for (i = 2; i < argc && status == 0; i++) {
        rc = ews_msend(ws, argv[i], strlen(argv[i]), ews_now() + 5000);
        if (rc != EWS_OK) {
            fprintf(stderr, "send: %s\n", ews_strerror(rc));
            status = 1;
            break;
        }
        n = ews_mrecv(ws, buf, sizeof buf - 1, ews_now() + 5000);
        if (n < 0) {
            fprintf(stderr, "receive: %s\n", ews_strerror((int)n));
            status = 1;
            break;
        }
        buf[n] = '\0';
        printf("echo: %s\n", buf);
    }
    /* The closing handshake; the socket comes back for reuse or closing. */
    rc = ews_detach(ws, 1000, "bye", ews_now() + 5000);
    if (rc < 0) {
        fprintf(stderr, "detach: %s\n", ews_strerror(rc));
        if (rc == EWS_ETIMEDOUT) ews_sock_free(ws);
        status = 1;
    } else {
        printf("closed cleanly\n");
    }
    close(fd);
    return status;
}
