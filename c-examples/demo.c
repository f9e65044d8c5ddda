/*
 * demo.c: a WebSocket client and server talking through memory.
 *
 * Both ends are sans-IO ews_conn objects: bytes go in with ews_conn_feed(),
 * events come out one at a time, and the bytes to send are taken with
 * ews_conn_output() / ews_conn_consume(). Here the "network" is a memcpy,
 * so the whole conversation is visible: the opening handshake, a text and
 * a binary message, a fragmented message with a ping in the middle, and
 * the closing handshake.
 *
 * Build and run:  make -C c-examples run
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ews.h"

static void die(const char *what, int code) {
    fprintf(stderr, "demo: %s: %s\n", what, ews_strerror(code));
    exit(1);
}

static void print_event(const char *who, const ews_conn *conn, const ews_event *ev) {
    switch (ev->kind) {
    case EWS_EVENT_OPEN:
        printf("  %s: open (subprotocol %s)\n", who,
               ews_conn_subprotocol(conn) ? ews_conn_subprotocol(conn) : "none");
        break;
    case EWS_EVENT_MESSAGE:
        if (ev->is_text) {
            printf("  %s: text message, %zu bytes: \"%.*s\"\n", who, ev->len, (int)ev->len,
                   (const char *)ev->data);
        } else {
            size_t i;
            printf("  %s: binary message, %zu bytes:", who, ev->len);
            for (i = 0; i < ev->len; i++) printf(" %02x", ev->data[i]);
            printf("\n");
        }
        break;
    case EWS_EVENT_PING:
        printf("  %s: ping \"%.*s\" (pong sent automatically)\n", who, (int)ev->len,
               (const char *)ev->data);
        break;
    case EWS_EVENT_PONG:
        printf("  %s: pong \"%.*s\"\n", who, (int)ev->len, (const char *)ev->data);
        break;
    case EWS_EVENT_CLOSE:
        printf("  %s: close frame, code %d, reason \"%s\"\n", who, ev->code,
               (const char *)ev->data);
        break;
    case EWS_EVENT_ERROR:
        printf("  %s: failed: %s (%s)\n", who, ews_strerror(ev->error), ev->detail);
        break;
    default:
        printf("  %s: event %d\n", who, ev->kind);
    }
}

/* Hands everything `from` wants to send to `to`, as a transport would. */
static void transfer(const char *from_name, ews_conn *from, const char *to_name, ews_conn *to) {
    const uint8_t *out;
    size_t len, off = 0;
    uint8_t *wire;

    if (ews_conn_output(from, &out, &len) == 0) return;
    printf("%s -> %s: %zu bytes\n", from_name, to_name, len);
    /* ews unmasks payloads in place, so the receiver gets its own copy,
     * like a receive buffer filled by recv(). */
    wire = malloc(len);
    if (!wire) die("malloc", EWS_ENOMEM);
    memcpy(wire, out, len);
    ews_conn_consume(from, len);

    while (off < len) {
        size_t used = 0;
        ews_event ev;
        int r = ews_conn_feed(to, wire + off, len - off, &used, &ev);
        if (r < 0) die("feed", r);
        off += used;
        if (r == 0) break;
        print_event(to_name, to, &ev);
    }
    free(wire);
}

int main(void) {
    const char *offered[] = {"chat"};
    ews_conn_options copts, sopts;
    ews_conn *client, *server;
    const uint8_t binary[] = {0xde, 0xad, 0xbe, 0xef};
    int rc;

    printf("ews %s: a client and a server in memory\n\n", ews_version());

    ews_conn_options_init(&copts, sizeof copts);
    copts.host = "example.com";
    copts.resource = "/chat";
    copts.protocols = offered;
    copts.protocol_count = 1;
    copts.control_events = 1; /* show pongs */
    if ((rc = ews_conn_new(EWS_ROLE_CLIENT, &copts, &client)) != EWS_OK) die("client", rc);

    ews_conn_options_init(&sopts, sizeof sopts);
    sopts.protocols = offered;
    sopts.protocol_count = 1;
    sopts.control_events = 1; /* show pings */
    if ((rc = ews_conn_new(EWS_ROLE_SERVER, &sopts, &server)) != EWS_OK) die("server", rc);

    printf("1. opening handshake\n");
    transfer("client", client, "server", server);
    transfer("server", server, "client", client);

    printf("\n2. a text and a binary message\n");
    ews_conn_send(client, (const uint8_t *)"Hello, server!", 14, 1);
    ews_conn_send(client, binary, sizeof binary, 0);
    transfer("client", client, "server", server);
    ews_conn_send(server, (const uint8_t *)"Hello, client!", 14, 1);
    transfer("server", server, "client", client);

    printf("\n3. a message in three fragments, with a ping between them\n");
    ews_conn_send_frame(client, EWS_OP_TEXT, 0, (const uint8_t *)"frag", 4);
    ews_conn_send_frame(client, EWS_OP_CONTINUATION, 0, (const uint8_t *)"men", 3);
    ews_conn_ping(client, (const uint8_t *)"are you there?", 14);
    ews_conn_send_frame(client, EWS_OP_CONTINUATION, 1, (const uint8_t *)"ted", 3);
    transfer("client", client, "server", server);
    transfer("server", server, "client", client);

    printf("\n4. closing handshake\n");
    ews_conn_close(client, EWS_CLOSE_NORMAL, "done");
    transfer("client", client, "server", server);
    transfer("server", server, "client", client);
    printf("\nserver state %s, client state %s\n",
           ews_conn_state(server) == EWS_STATE_CLOSED ? "closed" : "not closed",
           ews_conn_state(client) == EWS_STATE_CLOSED ? "closed" : "not closed");

    ews_conn_free(client);
    ews_conn_free(server);
    return 0;
}
