/* A client and a server ews_conn talking through memory, with the bytes
 * handed over in chunks of 1, 2, 7 and 4096 bytes: the handshake, text,
 * binary, a fragmented message with a ping inside, a pong, and the closing
 * handshake must look the same whatever the chunk size. */
#include "check.h"
#include "ews.h"

#define MAX_EVENTS 32

typedef struct {
    int kind;
    int is_text;
    int code;
    int error;
    size_t len;
    char data[128];
} logged;

typedef struct {
    logged ev[MAX_EVENTS];
    int n;
} event_log;

static void log_event(event_log *log, const ews_event *ev) {
    logged *l;
    CHECK(log->n < MAX_EVENTS);
    l = &log->ev[log->n++];
    memset(l, 0, sizeof *l);
    l->kind = ev->kind;
    l->is_text = ev->is_text;
    l->code = ev->code;
    l->error = ev->error;
    l->len = ev->len;
    CHECK(ev->len < sizeof l->data);
    if (ev->len > 0) memcpy(l->data, ev->data, ev->len);
}

/* Moves everything `from` wants to write into `to`, `chunk` bytes per feed. */
static void pump(ews_conn *from, ews_conn *to, event_log *log, size_t chunk) {
    const uint8_t *out;
    size_t len, off = 0;
    uint8_t *wire;
    if (ews_conn_output(from, &out, &len) == 0) return;
    wire = malloc(len);
    CHECK(wire != NULL);
    memcpy(wire, out, len);
    CHECK_EQ(ews_conn_consume(from, len), EWS_OK);
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk, used = 0;
        ews_event ev;
        int r = ews_conn_feed(to, wire + off, n, &used, &ev);
        CHECK(r == 0 || r == 1);
        CHECK(used <= n);
        off += used;
        if (r == 1) {
            log_event(log, &ev);
        } else {
            CHECK_EQ(ev.kind, EWS_EVENT_NONE);
            CHECK(used == n);
        }
    }
    free(wire);
}

static void scenario(size_t chunk) {
    const char *protocols[] = {"superchat", "chat"};
    const char *resources[] = {"/chat"};
    ews_conn_options copts, sopts;
    ews_conn *client = NULL, *server = NULL;
    event_log at_server, at_client;
    const uint8_t binary[] = {0, 1, 2, 255};

    memset(&at_server, 0, sizeof at_server);
    memset(&at_client, 0, sizeof at_client);

    ews_conn_options_init(&copts, sizeof copts);
    copts.host = "localhost:9000";
    copts.resource = "/chat";
    copts.protocols = protocols + 1;
    copts.protocol_count = 1;
    copts.control_events = 1;
    CHECK_EQ(ews_conn_new(EWS_ROLE_CLIENT, &copts, &client), EWS_OK);

    ews_conn_options_init(&sopts, sizeof sopts);
    sopts.resources = resources;
    sopts.resource_count = 1;
    sopts.protocols = protocols;
    sopts.protocol_count = 2;
    CHECK_EQ(ews_conn_new(EWS_ROLE_SERVER, &sopts, &server), EWS_OK);

    /* Opening handshake. */
    pump(client, server, &at_server, chunk);
    pump(server, client, &at_client, chunk);
    CHECK_EQ(at_server.n, 1);
    CHECK_EQ(at_server.ev[0].kind, EWS_EVENT_OPEN);
    CHECK_EQ(at_client.n, 1);
    CHECK_EQ(at_client.ev[0].kind, EWS_EVENT_OPEN);
    CHECK(strcmp(ews_conn_subprotocol(client), "chat") == 0);
    CHECK(strcmp(ews_conn_subprotocol(server), "chat") == 0);
    CHECK(strcmp(ews_conn_resource(server), "/chat") == 0);
    CHECK_EQ(ews_conn_state(client), EWS_STATE_OPEN);

    /* Messages from the client. */
    CHECK_EQ(ews_conn_send(client, (const uint8_t *)"hello", 5, 1), EWS_OK);
    CHECK_EQ(ews_conn_send(client, binary, sizeof binary, 0), EWS_OK);
    CHECK_EQ(ews_conn_send_frame(client, EWS_OP_TEXT, 0, (const uint8_t *)"frag", 4), EWS_OK);
    CHECK_EQ(ews_conn_ping(client, (const uint8_t *)"p1", 2), EWS_OK);
    CHECK_EQ(ews_conn_send(client, (const uint8_t *)"no", 2, 1), EWS_ESTATE);
    CHECK_EQ(ews_conn_send_frame(client, EWS_OP_CONTINUATION, 1, (const uint8_t *)"mented \xc3\xa9", 9), EWS_OK);
    pump(client, server, &at_server, chunk);
    CHECK_EQ(at_server.n, 4);
    CHECK_EQ(at_server.ev[1].kind, EWS_EVENT_MESSAGE);
    CHECK_EQ(at_server.ev[1].is_text, 1);
    CHECK_MEM(at_server.ev[1].data, at_server.ev[1].len, "hello");
    CHECK_EQ(at_server.ev[2].kind, EWS_EVENT_MESSAGE);
    CHECK_EQ(at_server.ev[2].is_text, 0);
    CHECK(at_server.ev[2].len == 4 && memcmp(at_server.ev[2].data, binary, 4) == 0);
    CHECK_EQ(at_server.ev[3].kind, EWS_EVENT_MESSAGE);
    CHECK_MEM(at_server.ev[3].data, at_server.ev[3].len, "fragmented \xc3\xa9");

    /* The server answered the ping by itself; the client sees the pong. */
    CHECK_EQ(ews_conn_send(server, (const uint8_t *)"reply", 5, 1), EWS_OK);
    pump(server, client, &at_client, chunk);
    CHECK_EQ(at_client.n, 3);
    CHECK_EQ(at_client.ev[1].kind, EWS_EVENT_PONG);
    CHECK_MEM(at_client.ev[1].data, at_client.ev[1].len, "p1");
    CHECK_EQ(at_client.ev[2].kind, EWS_EVENT_MESSAGE);
    CHECK_MEM(at_client.ev[2].data, at_client.ev[2].len, "reply");

    /* Closing handshake started by the client. */
    CHECK_EQ(ews_conn_close(client, 4000, "bye"), EWS_OK);
    CHECK_EQ(ews_conn_state(client), EWS_STATE_CLOSING);
    pump(client, server, &at_server, chunk);
    CHECK_EQ(at_server.n, 5);
    CHECK_EQ(at_server.ev[4].kind, EWS_EVENT_CLOSE);
    CHECK_EQ(at_server.ev[4].code, 4000);
    CHECK_MEM(at_server.ev[4].data, at_server.ev[4].len, "bye");
    CHECK_EQ(ews_conn_wants_close(server), 1);
    pump(server, client, &at_client, chunk);
    CHECK_EQ(at_client.n, 4);
    CHECK_EQ(at_client.ev[3].kind, EWS_EVENT_CLOSE);
    CHECK_EQ(at_client.ev[3].code, 4000);
    CHECK_EQ(ews_conn_state(client), EWS_STATE_CLOSED);
    CHECK_EQ(ews_conn_state(server), EWS_STATE_CLOSED);
    CHECK_EQ(ews_conn_send(client, (const uint8_t *)"late", 4, 1), EWS_ESTATE);

    ews_conn_free(client);
    ews_conn_free(server);
}

/* A server fails a client that sends invalid UTF-8: the client sees close
 * code 1007 and the server an error event. */
static void invalid_utf8_fails_with_1007(void) {
    ews_conn_options opts;
    ews_conn *client = NULL, *server = NULL;
    event_log at_server, at_client;
    uint8_t frame[16];
    size_t n = 0;
    const uint8_t key[4] = {1, 2, 3, 4};
    const uint8_t bad[] = {'a', 0xff, 'b'};
    memset(&at_server, 0, sizeof at_server);
    memset(&at_client, 0, sizeof at_client);

    ews_conn_options_init(&opts, sizeof opts);
    opts.no_http = 1;
    CHECK_EQ(ews_conn_new(EWS_ROLE_CLIENT, &opts, &client), EWS_OK);
    CHECK_EQ(ews_conn_new(EWS_ROLE_SERVER, &opts, &server), EWS_OK);
    CHECK_EQ(ews_conn_send(client, bad, sizeof bad, 1), EWS_EINVAL);

    /* Build the frame by hand, as a broken peer would. */
    CHECK_EQ(ews_frame_encode(EWS_OP_TEXT, 1, key, bad, sizeof bad, frame, sizeof frame, &n), EWS_OK);
    {
        size_t used = 0;
        ews_event ev;
        CHECK_EQ(ews_conn_feed(server, frame, n, &used, &ev), 1);
        log_event(&at_server, &ev);
    }
    CHECK_EQ(at_server.ev[0].kind, EWS_EVENT_ERROR);
    CHECK_EQ(at_server.ev[0].error, EWS_EUTF8);
    CHECK_EQ(at_server.ev[0].code, 1007);
    CHECK_EQ(ews_conn_error(server), EWS_EUTF8);
    CHECK(ews_conn_error_detail(server) != NULL);
    pump(server, client, &at_client, 3);
    CHECK_EQ(at_client.n, 1);
    CHECK_EQ(at_client.ev[0].kind, EWS_EVENT_CLOSE);
    CHECK_EQ(at_client.ev[0].code, 1007);
    ews_conn_free(client);
    ews_conn_free(server);
}

int main(void) {
    const size_t chunks[] = {1, 2, 7, 4096};
    size_t i;
    for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) scenario(chunks[i]);
    invalid_utf8_fails_with_1007();
    printf("conn_loopback: ok\n");
    return 0;
}
