/* The attach API from C: both ends of a socketpair (and of a pipe pair) in
 * one thread, interleaved by deadlines of 0 (do what is possible without
 * blocking) and short finite ones, so every step is deterministic: the
 * handshake continued after EWS_ETIMEDOUT, typed and mixed messages, a
 * message larger than the buffer, a fragmented send, the closing handshake
 * with the peer's status, detach returning the descriptor, NULLs. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "ews.h"

static int64_t in_ms(int64_t ms) { return ews_now() + ms; }

static void pair(int fds[2]) { CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }

/* A client (type `flags`) and a server on a socketpair, handshake done. */
static void connect_pair(int fds[2], int flags, ews_sock **client, ews_sock **server) {
    char resource[64], host[64];
    pair(fds);
    /* Deadline 0: the request is written, the answer cannot be there yet. */
    CHECK_EQ(ews_attach_client(fds[0], flags, "/chat?x=1", "example.com", 0, client), EWS_ETIMEDOUT);
    CHECK(*client != NULL);
    CHECK_EQ(ews_attach_server(fds[1], flags, resource, sizeof resource, host, sizeof host, in_ms(2000), server),
             EWS_OK);
    CHECK(strcmp(resource, "/chat?x=1") == 0);
    CHECK(strcmp(host, "example.com") == 0);
    CHECK(strcmp(ews_sock_resource(*server), "/chat?x=1") == 0);
    CHECK(strcmp(ews_sock_host(*server), "example.com") == 0);
    CHECK_EQ(ews_sock_handshake(*client, in_ms(2000)), EWS_OK);
    CHECK(ews_sock_resource(*client) == NULL);
}

static void typed_and_mixed_messages(void) {
    int fds[2], flags = -1;
    ews_sock *c, *s;
    char buf[64];
    connect_pair(fds, EWS_WS_TEXT, &c, &s);

    CHECK_EQ(ews_msend(c, "hello", 5, -1), EWS_OK);
    CHECK_EQ(ews_mrecv(s, buf, sizeof buf, in_ms(2000)), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);

    /* Binary on a text socket: typed receive refuses it and keeps it. */
    CHECK_EQ(ews_send(c, EWS_WS_BINARY, "\x01\x02\x03", 3, -1), EWS_OK);
    CHECK_EQ(ews_mrecv(s, buf, sizeof buf, in_ms(2000)), EWS_EPROTO);
    CHECK_EQ(ews_recv(s, &flags, buf, sizeof buf, 0), 3);
    CHECK_EQ(flags, EWS_WS_BINARY);

    /* Nothing there: deadline 0 and a short one both time out. */
    CHECK_EQ(ews_recv(s, &flags, buf, sizeof buf, 0), EWS_ETIMEDOUT);
    CHECK_EQ(ews_recv(s, &flags, buf, sizeof buf, in_ms(30)), EWS_ETIMEDOUT);

    /* A fragmented message arrives whole. */
    CHECK_EQ(ews_send(c, EWS_WS_TEXT | EWS_WS_MORE, "frag", 4, -1), EWS_OK);
    CHECK_EQ(ews_send(c, EWS_WS_MORE, "ment", 4, -1), EWS_OK);
    CHECK_EQ(ews_send(c, 0, "ed", 2, -1), EWS_OK);
    CHECK_EQ(ews_recv(s, &flags, buf, sizeof buf, in_ms(2000)), 10);
    CHECK_EQ(flags, EWS_WS_TEXT);
    CHECK(memcmp(buf, "fragmented", 10) == 0);

    /* Text must be UTF-8. */
    CHECK_EQ(ews_msend(c, "\xff", 1, -1), EWS_EINVAL);
    CHECK_EQ(ews_send(c, 64, "x", 1, -1), EWS_EINVAL);

    ews_sock_free(c);
    ews_sock_free(s);
    close(fds[0]);
    close(fds[1]);
}

static void large_message_in_pieces(void) {
    int fds[2], flags = 0;
    ews_sock *c, *s;
    static unsigned char big[100000];
    unsigned char small[1000];
    size_t i, got = 0;
    ptrdiff_t n;
    connect_pair(fds, EWS_WS_BINARY, &c, &s);
    for (i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 7);
    CHECK_EQ(ews_msend(c, big, sizeof big, in_ms(2000)), EWS_OK);

    CHECK_EQ(ews_mrecv(s, small, sizeof small, in_ms(2000)), EWS_ENOSPC);
    CHECK_EQ(ews_peek(s, &flags, 0), (ptrdiff_t)sizeof big);
    CHECK_EQ(flags, EWS_WS_BINARY);
    do {
        n = ews_recv_part(s, &flags, small, sizeof small, 0);
        CHECK(n > 0);
        CHECK(memcmp(small, big + got, (size_t)n) == 0);
        got += (size_t)n;
    } while (flags & EWS_WS_MORE);
    CHECK_EQ(got, sizeof big);

    ews_sock_free(c);
    ews_sock_free(s);
    close(fds[0]);
    close(fds[1]);
}

static void closing_handshake_and_detach(void) {
    int fds[2], fd;
    ews_sock *c, *s;
    char buf[16], reason[EWS_MAX_CLOSE_REASON + 1], tiny[3];
    connect_pair(fds, EWS_WS_TEXT, &c, &s);

    CHECK_EQ(ews_status(s, NULL, 0), EWS_ESTATE);
    /* Deadline 0: the close frame goes out, the answer is not there yet. */
    CHECK_EQ(ews_detach(c, 4000, "going", 0), EWS_ETIMEDOUT);
    CHECK_EQ(ews_mrecv(s, buf, sizeof buf, in_ms(2000)), EWS_ECLOSED);
    CHECK_EQ(ews_status(s, reason, sizeof reason), 4000);
    CHECK(strcmp(reason, "going") == 0);
    CHECK_EQ(ews_status(s, tiny, sizeof tiny), EWS_ENOSPC);
    CHECK_EQ(ews_msend(s, "late", 4, 0), EWS_ECLOSED);
    fd = ews_detach(s, 0, NULL, in_ms(2000));
    CHECK_EQ(fd, fds[1]);
    /* The client continues its detach: status and reason are not resent. */
    fd = ews_detach(c, 1000, NULL, in_ms(2000));
    CHECK_EQ(fd, fds[0]);

    /* The descriptors are plain blocking sockets again. */
    CHECK_EQ(fcntl(fds[0], F_GETFL) & O_NONBLOCK, 0);
    CHECK_EQ(write(fds[0], "raw", 3), 3);
    CHECK_EQ(read(fds[1], buf, sizeof buf), 3);
    close(fds[0]);
    close(fds[1]);
}

/* ews_sock_close(): the closing handshake without giving the descriptor
 * back, so the side that closed first can read the peer's answer. */
static void close_then_status_then_detach(void) {
    int fds[2];
    ews_sock *c, *s;
    char buf[16], reason[EWS_MAX_CLOSE_REASON + 1];
    connect_pair(fds, EWS_WS_TEXT, &c, &s);

    CHECK_EQ(ews_sock_close(c, 4001, "bye", 0), EWS_ETIMEDOUT);
    CHECK_EQ(ews_status(c, NULL, 0), EWS_ESTATE);
    CHECK_EQ(ews_mrecv(s, buf, sizeof buf, in_ms(2000)), EWS_ECLOSED);
    CHECK_EQ(ews_sock_close(s, 0, NULL, in_ms(2000)), EWS_OK);
    CHECK_EQ(ews_status(s, reason, sizeof reason), 4001);
    CHECK(strcmp(reason, "bye") == 0);
    CHECK_EQ(ews_sock_close(c, 0, NULL, in_ms(2000)), EWS_OK);
    /* The server answered with the code it received (RFC 6455 5.5.1). */
    CHECK_EQ(ews_status(c, reason, sizeof reason), 4001);
    /* Closing again changes nothing; detaching returns the descriptors. */
    CHECK_EQ(ews_sock_close(c, 1000, NULL, 0), EWS_OK);
    CHECK_EQ(ews_detach(c, 0, NULL, 0), fds[0]);
    CHECK_EQ(ews_detach(s, 0, NULL, 0), fds[1]);
    close(fds[0]);
    close(fds[1]);
}

static void peer_gone(void) {
    int fds[2];
    ews_sock *c, *s;
    char buf[16];
    connect_pair(fds, EWS_WS_TEXT, &c, &s);
    ews_sock_free(s);
    close(fds[1]);
    CHECK_EQ(ews_mrecv(c, buf, sizeof buf, in_ms(2000)), EWS_EDROPPED);
    CHECK(strcmp(ews_sock_error_detail(c), "connection dropped without a close frame") == 0);
    CHECK_EQ(ews_detach(c, 1000, NULL, in_ms(2000)), EWS_EDROPPED); /* frees c */
    close(fds[0]);
}

static void pipe_pair(void) {
    int up[2], down[2], fd;
    ews_sock *c, *s;
    ews_attach_options o;
    char buf[16];
    CHECK_EQ(pipe(up), 0);
    CHECK_EQ(pipe(down), 0);
    ews_attach_options_init(&o, sizeof o);
    o.write_fd = up[1];
    CHECK_EQ(ews_attach_client_ex(down[0], EWS_WS_TEXT | EWS_WS_NOHTTP, NULL, NULL, &o, 0, &c), EWS_OK);
    o.write_fd = down[1];
    CHECK_EQ(ews_attach_server_ex(up[0], EWS_WS_TEXT | EWS_WS_NOHTTP, buf, sizeof buf, NULL, 0, &o, 0, &s), EWS_OK);
    CHECK_EQ(buf[0], '\0');
    CHECK_EQ(ews_msend(c, "piped", 5, in_ms(2000)), EWS_OK);
    CHECK_EQ(ews_mrecv(s, buf, sizeof buf, in_ms(2000)), 5);
    CHECK_EQ(ews_detach(c, 1000, NULL, 0), EWS_ETIMEDOUT);
    CHECK_EQ(ews_mrecv(s, buf, sizeof buf, in_ms(2000)), EWS_ECLOSED);
    CHECK_EQ(ews_detach(s, 0, NULL, in_ms(2000)), up[0]);
    fd = ews_detach(c, 0, NULL, in_ms(2000));
    CHECK_EQ(fd, down[0]);
    close(up[0]);
    close(up[1]);
    close(down[0]);
    close(down[1]);
}

static void null_and_bad_arguments(void) {
    int fds[2], flags;
    ews_sock *c = NULL;
    char buf[4];
    pair(fds);
    CHECK_EQ(ews_attach_client(fds[0], 0, "/", "h", 0, NULL), EWS_EINVAL);
    CHECK_EQ(ews_attach_client(fds[0], 0, "/", NULL, 0, &c), EWS_EINVAL);
    CHECK_EQ(ews_attach_client(fds[0], 0x100, "/", "h", 0, &c), EWS_EINVAL);
    CHECK_EQ(ews_attach_client(-1, 0, "/", "h", 0, &c), EWS_EINVAL);
    CHECK_EQ(ews_attach_client(fds[0], 0, "no-slash", "h", 0, &c), EWS_EINVAL);
    CHECK_EQ(ews_attach_server(fds[1], 0, NULL, 5, NULL, 0, 0, &c), EWS_EINVAL);
    CHECK(c == NULL);
    CHECK_EQ(ews_msend(NULL, "x", 1, 0), EWS_EINVAL);
    CHECK_EQ(ews_mrecv(NULL, buf, sizeof buf, 0), EWS_EINVAL);
    CHECK_EQ(ews_recv(NULL, &flags, buf, sizeof buf, 0), EWS_EINVAL);
    CHECK_EQ(ews_peek(NULL, &flags, 0), EWS_EINVAL);
    CHECK_EQ(ews_detach(NULL, 1000, NULL, 0), EWS_EINVAL);
    CHECK_EQ(ews_sock_close(NULL, 1000, NULL, 0), EWS_EINVAL);
    CHECK_EQ(ews_status(NULL, NULL, 0), EWS_EINVAL);
    CHECK_EQ(ews_sock_fd(NULL), EWS_EINVAL);
    CHECK(ews_sock_resource(NULL) == NULL);
    CHECK(ews_sock_subprotocol(NULL) == NULL);
    ews_sock_free(NULL);
    CHECK(ews_now() > 0);
    close(fds[0]);
    close(fds[1]);
}

int main(void) {
    typed_and_mixed_messages();
    large_message_in_pieces();
    closing_handshake_and_detach();
    close_then_status_then_detach();
    peer_gone();
    pipe_pair();
    null_and_bad_arguments();
    printf("attach: all checks passed\n");
    return 0;
}
