/* The events of the sans-IO connection as a C host sees them: end of file,
 * timers, streaming, deferred accept, handshakes refused and failed, and
 * protocol failures with the close code each one sends. Every check
 * follows the contract written in ews.h. */
#include "check.h"
#include "ews.h"

/* An arbitrary start on the host's clock, far from 0. */
#define T0 1000000

#define MAX_EVENTS 16

/* An owned copy of an event. */
typedef struct {
    int kind;
    int is_text;
    int first;
    int last;
    int code;
    int error;
    int status;
    const char *detail;
    size_t len;
    uint8_t data[256];
} logged;

typedef struct {
    logged ev[MAX_EVENTS];
    int n;
    size_t consumed;
} event_log;

static void copy_event(logged *l, const ews_event *ev) {
    memset(l, 0, sizeof *l);
    l->kind = ev->kind;
    l->is_text = ev->is_text;
    l->first = ev->first;
    l->last = ev->last;
    l->code = ev->code;
    l->error = ev->error;
    l->status = ev->status;
    l->detail = ev->detail;
    l->len = ev->len;
    CHECK(ev->len < sizeof l->data);
    if (ev->len > 0) memcpy(l->data, ev->data, ev->len);
}

/* Feeds a copy of `len` bytes (feeding unmasks in place) until they are
 * used up or the connection takes no more, logging every event. */
static void feed(ews_conn *conn, const void *bytes, size_t len, event_log *log) {
    uint8_t *buf = malloc(len > 0 ? len : 1);
    size_t off = 0;
    int rounds = 0;
    CHECK(buf != NULL);
    memset(log, 0, sizeof *log);
    if (len > 0) memcpy(buf, bytes, len);
    while (off < len) {
        size_t used = 0;
        ews_event ev;
        int r = ews_conn_feed(conn, buf + off, len - off, &used, &ev);
        CHECK(r == 0 || r == 1);
        CHECK(used <= len - off);
        CHECK(++rounds <= MAX_EVENTS);
        off += used;
        if (r == 0) {
            CHECK_EQ(ev.kind, EWS_EVENT_NONE);
            break;
        }
        CHECK(log->n < MAX_EVENTS);
        copy_event(&log->ev[log->n++], &ev);
    }
    log->consumed = off;
    free(buf);
}

/* Takes everything the connection has to write into `out` (NUL-terminated
 * for the HTTP checks) and returns its length. */
static size_t take_output(ews_conn *conn, uint8_t *out, size_t cap) {
    const uint8_t *data = NULL;
    size_t len = 99, rest = 99;
    int r = ews_conn_output(conn, &data, &len);
    CHECK(r == 0 || r == 1);
    CHECK_EQ(r, len > 0);
    CHECK(len < cap);
    if (len > 0) memcpy(out, data, len);
    out[len] = 0;
    CHECK_EQ(ews_conn_consume(conn, len), EWS_OK);
    CHECK_EQ(ews_conn_output(conn, &data, &rest), 0);
    CHECK_EQ(rest, 0);
    return len;
}

static size_t output_len(ews_conn *conn) {
    const uint8_t *data = NULL;
    size_t len = 99;
    CHECK(ews_conn_output(conn, &data, &len) >= 0);
    return len;
}

/* Takes the output and returns its length, discarding the bytes. */
static size_t drain(ews_conn *conn) {
    uint8_t out[4096];
    return take_output(conn, out, sizeof out);
}

/* A frame as decoded from a connection's output, payload unmasked. */
typedef struct {
    int opcode;
    int fin;
    int masked;
    size_t len;
    uint8_t payload[256];
} wire_frame;

/* Decodes the frame at the start of `bytes` and returns its size. */
static size_t decode_frame(const uint8_t *bytes, size_t len, wire_frame *f) {
    ews_frame_header h;
    size_t header_size = 0;
    memset(f, 0, sizeof *f);
    CHECK_EQ(ews_frame_header_decode(bytes, len, &h, &header_size), 1);
    CHECK(h.payload_len < sizeof f->payload);
    CHECK(header_size + h.payload_len <= len);
    f->opcode = h.opcode;
    f->fin = h.fin;
    f->masked = h.masked;
    f->len = (size_t)h.payload_len;
    if (f->len > 0) memcpy(f->payload, bytes + header_size, f->len);
    if (h.masked) CHECK_EQ(ews_mask(f->payload, f->len, h.mask_key, 0), EWS_OK);
    return header_size + f->len;
}

/* Takes the output, which must be exactly one frame, and decodes it. */
static void only_frame(ews_conn *conn, int role, wire_frame *f) {
    uint8_t out[512];
    size_t len = take_output(conn, out, sizeof out);
    CHECK(len > 0);
    CHECK_EQ(decode_frame(out, len, f), len);
    CHECK_EQ(f->fin, 1);
    CHECK_EQ(f->masked, role == EWS_ROLE_CLIENT);
}

/* Takes the output, which must be exactly one close frame, and returns its code. */
static int only_close_code(ews_conn *conn, int role) {
    wire_frame f;
    int code = 0;
    const char *reason = NULL;
    size_t reason_len = 0;
    only_frame(conn, role, &f);
    CHECK_EQ(f.opcode, EWS_OP_CLOSE);
    CHECK_EQ(ews_close_decode(f.payload, f.len, &code, &reason, &reason_len), EWS_OK);
    return code;
}

/* A frame as the peer of a connection in `role` sends it: masked towards
 * a server, unmasked towards a client. Any opcode may be encoded. */
static size_t peer_frame(int role, int opcode, int fin, const void *payload, size_t len, uint8_t *out, size_t cap) {
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t n = 0;
    CHECK_EQ(ews_frame_encode(opcode, fin, role == EWS_ROLE_SERVER ? key : NULL, (const uint8_t *)payload, len, out,
                              cap, &n),
             EWS_OK);
    return n;
}

static ews_conn *open_conn(int role, const ews_conn_options *base) {
    ews_conn_options opts;
    ews_conn *conn = NULL;
    if (base != NULL) {
        opts = *base;
    } else {
        ews_conn_options_init(&opts, sizeof opts);
    }
    opts.no_http = 1;
    CHECK_EQ(ews_conn_new(role, &opts, &conn), EWS_OK);
    CHECK_EQ(ews_conn_state(conn), EWS_STATE_OPEN);
    return conn;
}

/* Moves all output of `from` into `to` and logs the events. */
static void pump(ews_conn *from, ews_conn *to, event_log *log) {
    uint8_t wire[4096];
    size_t len = take_output(from, wire, sizeof wire);
    feed(to, wire, len, log);
    CHECK_EQ(log->consumed, len);
}

/* Checks an error event and that the connection agrees with it. */
static void check_failed(ews_conn *conn, const logged *ev, int error, int code, int status) {
    CHECK_EQ(ev->kind, EWS_EVENT_ERROR);
    CHECK_EQ(ev->error, error);
    CHECK_EQ(ev->code, code);
    CHECK_EQ(ev->status, status);
    CHECK(ev->detail != NULL);
    CHECK_EQ(ews_conn_state(conn), EWS_STATE_FAILED);
    CHECK_EQ(ews_conn_error(conn), error);
    CHECK(ews_conn_error_detail(conn) != NULL);
    CHECK(strcmp(ews_conn_error_detail(conn), ev->detail) == 0);
    CHECK_EQ(ews_conn_wants_close(conn), 1);
    CHECK_EQ(ews_conn_next_deadline(conn), -1);
}

static void check_failed_event(ews_conn *conn, const ews_event *ev, int error, int code, int status) {
    logged l;
    copy_event(&l, ev);
    check_failed(conn, &l, error, code, status);
}

/* ----- end of file ----- */

static void eof_on_an_open_connection_is_a_drop(void) {
    int roles[] = {EWS_ROLE_CLIENT, EWS_ROLE_SERVER};
    size_t i;
    for (i = 0; i < 2; i++) {
        ews_conn *conn = open_conn(roles[i], NULL);
        ews_event ev;
        uint8_t frame[16];
        event_log log;
        CHECK_EQ(ews_conn_error(conn), 0);
        CHECK(ews_conn_error_detail(conn) == NULL);
        CHECK_EQ(ews_conn_on_eof(conn, &ev), 1);
        check_failed_event(conn, &ev, EWS_EDROPPED, 1006, 0);
        CHECK(strcmp(ev.detail, "connection dropped without a close frame") == 0);
        CHECK_EQ(output_len(conn), 0); /* no close frame after a drop */
        /* Once failed, nothing more is reported and later bytes are ignored. */
        CHECK_EQ(ews_conn_on_eof(conn, &ev), 0);
        CHECK_EQ(ev.kind, EWS_EVENT_NONE);
        feed(conn, frame, peer_frame(roles[i], EWS_OP_TEXT, 1, "late", 4, frame, sizeof frame), &log);
        CHECK_EQ(log.n, 0);
        CHECK_EQ(log.consumed, 6 + (roles[i] == EWS_ROLE_SERVER ? 4 : 0));
        ews_conn_free(conn);
    }
}

static void eof_while_closing_is_a_drop(void) {
    ews_conn *conn = open_conn(EWS_ROLE_SERVER, NULL);
    ews_event ev;
    CHECK_EQ(ews_conn_close(conn, 1000, "bye"), EWS_OK);
    CHECK_EQ(only_close_code(conn, EWS_ROLE_SERVER), 1000);
    CHECK_EQ(ews_conn_state(conn), EWS_STATE_CLOSING);
    CHECK_EQ(ews_conn_on_eof(conn, &ev), 1);
    check_failed_event(conn, &ev, EWS_EDROPPED, 1006, 0);
    ews_conn_free(conn);
}

static void eof_after_the_closing_handshake_is_no_event(void) {
    ews_conn *client = open_conn(EWS_ROLE_CLIENT, NULL);
    ews_conn *server = open_conn(EWS_ROLE_SERVER, NULL);
    event_log log;
    ews_event ev;
    CHECK_EQ(ews_conn_close(client, 1000, NULL), EWS_OK);
    pump(client, server, &log);
    CHECK_EQ(log.n, 1);
    CHECK_EQ(log.ev[0].kind, EWS_EVENT_CLOSE);
    CHECK_EQ(log.ev[0].code, 1000);
    pump(server, client, &log);
    CHECK_EQ(log.n, 1);
    CHECK_EQ(log.ev[0].kind, EWS_EVENT_CLOSE);
    CHECK_EQ(ews_conn_state(client), EWS_STATE_CLOSED);
    CHECK_EQ(ews_conn_state(server), EWS_STATE_CLOSED);
    /* The server closes the transport first; the client waits for it. */
    CHECK_EQ(ews_conn_wants_close(server), 1);
    CHECK_EQ(ews_conn_wants_close(client), 0);

    CHECK_EQ(ews_conn_on_eof(client, &ev), 0);
    CHECK_EQ(ev.kind, EWS_EVENT_NONE);
    CHECK_EQ(ews_conn_on_eof(server, &ev), 0);
    CHECK_EQ(ev.kind, EWS_EVENT_NONE);
    CHECK_EQ(ews_conn_state(client), EWS_STATE_CLOSED);
    CHECK_EQ(ews_conn_state(server), EWS_STATE_CLOSED);
    CHECK_EQ(ews_conn_error(client), 0);
    CHECK_EQ(ews_conn_error(server), 0);
    CHECK_EQ(ews_conn_wants_close(client), 1);
    CHECK_EQ(ews_conn_next_deadline(client), -1);
    ews_conn_free(client);
    ews_conn_free(server);
}

static void eof_during_the_client_handshake_is_a_handshake_failure(void) {
    ews_conn_options opts;
    ews_conn *conn = NULL;
    ews_event ev;
    ews_conn_options_init(&opts, sizeof opts);
    opts.host = "example.com";
    CHECK_EQ(ews_conn_new(EWS_ROLE_CLIENT, &opts, &conn), EWS_OK);
    CHECK(drain(conn) > 0);
    CHECK_EQ(ews_conn_on_eof(conn, &ev), 1);
    check_failed_event(conn, &ev, EWS_EHANDSHAKE, 1006, 0);
    CHECK(strcmp(ev.detail, "Peer hung up") == 0);
    ews_conn_free(conn);

    /* A server whose client hangs up mid-request: a drop. */
    CHECK_EQ(ews_conn_new(EWS_ROLE_SERVER, NULL, &conn), EWS_OK);
    CHECK_EQ(ews_conn_on_eof(conn, &ev), 1);
    check_failed_event(conn, &ev, EWS_EDROPPED, 1006, 0);
    ews_conn_free(conn);
}

/* ----- timers ----- */

static void client_handshake_times_out(void) {
    ews_conn_options opts;
    ews_limits limits;
    ews_conn *conn = NULL;
    ews_event ev;
    ews_limits_init(&limits, sizeof limits);
    limits.handshake_timeout_ms = 300;
    ews_conn_options_init(&opts, sizeof opts);
    opts.host = "example.com";
    opts.limits = &limits;
    CHECK_EQ(ews_conn_new(EWS_ROLE_CLIENT, &opts, &conn), EWS_OK);
    CHECK(drain(conn) > 0);
    CHECK_EQ(ews_conn_next_deadline(conn), 0); /* a timer waits to be started */
    CHECK_EQ(ews_conn_on_time(conn, T0, &ev), 0);
    CHECK_EQ(ev.kind, EWS_EVENT_NONE);
    CHECK_EQ(ews_conn_next_deadline(conn), T0 + 300);
    CHECK_EQ(ews_conn_on_time(conn, T0 + 299, &ev), 0);
    CHECK_EQ(ews_conn_state(conn), EWS_STATE_CONNECTING);
    CHECK_EQ(ews_conn_on_time(conn, T0 + 300, &ev), 1);
    check_failed_event(conn, &ev, EWS_ETIMEDOUT, 1006, 0);
    CHECK(strcmp(ev.detail, "handshake timed out") == 0);
    CHECK_EQ(output_len(conn), 0);
    CHECK_EQ(ews_conn_on_time(conn, T0 + 1000, &ev), 0);
    ews_conn_free(conn);
}

static void close_times_out_without_the_peers_close_frame(void) {
    ews_conn_options opts;
    ews_limits limits;
    ews_conn *conn;
    ews_event ev;
    ews_limits_init(&limits, sizeof limits);
    limits.close_timeout_ms = 200;
    ews_conn_options_init(&opts, sizeof opts);
    opts.limits = &limits;
    conn = open_conn(EWS_ROLE_SERVER, &opts);
    CHECK_EQ(ews_conn_next_deadline(conn), -1); /* no keepalive: no timer */
    CHECK_EQ(ews_conn_close(conn, 1001, "going"), EWS_OK);
    CHECK_EQ(only_close_code(conn, EWS_ROLE_SERVER), 1001);
    CHECK_EQ(ews_conn_next_deadline(conn), 0);
    CHECK_EQ(ews_conn_on_time(conn, T0, &ev), 0);
    CHECK_EQ(ews_conn_next_deadline(conn), T0 + 200);
    CHECK_EQ(ews_conn_on_time(conn, T0 + 199, &ev), 0);
    CHECK_EQ(ews_conn_state(conn), EWS_STATE_CLOSING);
    CHECK_EQ(ews_conn_on_time(conn, T0 + 200, &ev), 1);
    check_failed_event(conn, &ev, EWS_ETIMEDOUT, 1006, 0);
    CHECK(strcmp(ev.detail, "close handshake timed out") == 0);
    CHECK_EQ(output_len(conn), 0); /* no second close frame */
    ews_conn_free(conn);
}

/* After the closing handshake a client gives the server the close timeout
 * to drop the transport first, then wants to close it itself. */
static void closed_client_wants_close_after_the_close_timeout(void) {
    ews_conn_options opts;
    ews_limits limits;
    ews_conn *conn;
    uint8_t frame[16];
    uint8_t payload[2] = {0x03, 0xe8};
    event_log log;
    ews_event ev;
    ews_limits_init(&limits, sizeof limits);
    limits.close_timeout_ms = 200;
    ews_conn_options_init(&opts, sizeof opts);
    opts.limits = &limits;
    conn = open_conn(EWS_ROLE_CLIENT, &opts);
    feed(conn, frame, peer_frame(EWS_ROLE_CLIENT, EWS_OP_CLOSE, 1, payload, 2, frame, sizeof frame), &log);
    CHECK_EQ(log.n, 1);
    CHECK_EQ(log.ev[0].kind, EWS_EVENT_CLOSE);
    CHECK_EQ(log.ev[0].code, 1000);
    CHECK_EQ(only_close_code(conn, EWS_ROLE_CLIENT), 1000);
    CHECK_EQ(ews_conn_state(conn), EWS_STATE_CLOSED);
    CHECK_EQ(ews_conn_wants_close(conn), 0);
    CHECK_EQ(ews_conn_next_deadline(conn), 0);
    CHECK_EQ(ews_conn_on_time(conn, T0, &ev), 0);
    CHECK_EQ(ews_conn_on_time(conn, T0 + 199, &ev), 0);
    CHECK_EQ(ews_conn_wants_close(conn), 0);
    CHECK_EQ(ews_conn_on_time(conn, T0 + 200, &ev), 0);
    CHECK_EQ(ev.kind, EWS_EVENT_NONE);
    CHECK_EQ(ews_conn_wants_close(conn), 1);
    CHECK_EQ(ews_conn_state(conn), EWS_STATE_CLOSED);
    CHECK_EQ(ews_conn_error(conn), 0);
    ews_conn_free(conn);
}

static void keepalive_pings_and_times_out_without_a_pong(void) {
    ews_conn_options opts;
    ews_conn *conn;
    wire_frame ping;
    uint8_t frame[16];
    event_log log;
    ews_event ev;
    ews_conn_options_init(&opts, sizeof opts);
    opts.keepalive_interval_ms = 1000;
    opts.keepalive_timeout_ms = 300;
    conn = open_conn(EWS_ROLE_CLIENT, &opts);
    CHECK_EQ(ews_conn_next_deadline(conn), 0);
    CHECK_EQ(ews_conn_on_time(conn, T0, &ev), 0);
    CHECK_EQ(ews_conn_next_deadline(conn), T0 + 1000);
    CHECK_EQ(ews_conn_on_time(conn, T0 + 999, &ev), 0);
    CHECK_EQ(output_len(conn), 0);

    /* The interval passed in silence: a (masked) ping is queued. */
    CHECK_EQ(ews_conn_on_time(conn, T0 + 1000, &ev), 0);
    CHECK_EQ(ev.kind, EWS_EVENT_NONE);
    only_frame(conn, EWS_ROLE_CLIENT, &ping);
    CHECK_EQ(ping.opcode, EWS_OP_PING);
    CHECK_EQ(ping.len, 0);
    CHECK_EQ(ews_conn_next_deadline(conn), T0 + 1300);

    /* A pong in time keeps the connection; the next ping follows an
     * interval after it was seen. */
    feed(conn, frame, peer_frame(EWS_ROLE_CLIENT, EWS_OP_PONG, 1, NULL, 0, frame, sizeof frame), &log);
    CHECK_EQ(log.n, 0); /* control events are off */
    CHECK_EQ(ews_conn_on_time(conn, T0 + 1100, &ev), 0);
    CHECK_EQ(ews_conn_on_time(conn, T0 + 1300, &ev), 0);
    CHECK_EQ(ews_conn_state(conn), EWS_STATE_OPEN);
    CHECK_EQ(ews_conn_next_deadline(conn), T0 + 2100);
    CHECK_EQ(ews_conn_on_time(conn, T0 + 2100, &ev), 0);
    only_frame(conn, EWS_ROLE_CLIENT, &ping);
    CHECK_EQ(ping.opcode, EWS_OP_PING);

    /* No pong this time. */
    CHECK_EQ(ews_conn_next_deadline(conn), T0 + 2400);
    CHECK_EQ(ews_conn_on_time(conn, T0 + 2399, &ev), 0);
    CHECK_EQ(ews_conn_on_time(conn, T0 + 2400, &ev), 1);
    check_failed_event(conn, &ev, EWS_ETIMEDOUT, 1006, 0);
    CHECK(strcmp(ev.detail, "keepalive pong timed out") == 0);
    CHECK_EQ(output_len(conn), 0);
    ews_conn_free(conn);
}

/* ----- streaming ----- */

static void check_fragment(const logged *l, int is_text, int first, int last, const void *data, size_t len) {
    CHECK_EQ(l->kind, EWS_EVENT_FRAGMENT);
    CHECK_EQ(l->is_text, is_text);
    CHECK_EQ(l->first, first);
    CHECK_EQ(l->last, last);
    CHECK_EQ(l->len, len);
    CHECK(len == 0 || memcmp(l->data, data, len) == 0);
}

static void streaming_delivers_fragments_with_their_flags(void) {
    ews_conn_options opts;
    ews_conn *conn;
    uint8_t wire[256];
    size_t n = 0, cut;
    event_log log;
    const uint8_t bin[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    ews_conn_options_init(&opts, sizeof opts);
    opts.streaming = 1;
    opts.control_events = 1;
    conn = open_conn(EWS_ROLE_SERVER, &opts);

    /* A text message in three frames with a ping between them, then a
     * binary message in one frame, all fed at once. */
    n += peer_frame(EWS_ROLE_SERVER, EWS_OP_TEXT, 0, "Hel", 3, wire + n, sizeof wire - n);
    n += peer_frame(EWS_ROLE_SERVER, EWS_OP_PING, 1, "p", 1, wire + n, sizeof wire - n);
    n += peer_frame(EWS_ROLE_SERVER, EWS_OP_CONTINUATION, 0, "lo, ", 4, wire + n, sizeof wire - n);
    n += peer_frame(EWS_ROLE_SERVER, EWS_OP_CONTINUATION, 1, "w\xc3\xb6rld", 6, wire + n, sizeof wire - n);
    n += peer_frame(EWS_ROLE_SERVER, EWS_OP_BINARY, 1, bin, sizeof bin, wire + n, sizeof wire - n);
    feed(conn, wire, n, &log);
    CHECK_EQ(log.consumed, n);
    CHECK_EQ(log.n, 5);
    check_fragment(&log.ev[0], 1, 1, 0, "Hel", 3);
    CHECK_EQ(log.ev[1].kind, EWS_EVENT_PING);
    CHECK_MEM(log.ev[1].data, log.ev[1].len, "p");
    check_fragment(&log.ev[2], 1, 0, 0, "lo, ", 4);
    check_fragment(&log.ev[3], 1, 0, 1, "w\xc3\xb6rld", 6);
    check_fragment(&log.ev[4], 0, 1, 1, bin, sizeof bin);
    drain(conn); /* the pong */

    /* One frame in two reads: the pieces come as they arrive. */
    n = peer_frame(EWS_ROLE_SERVER, EWS_OP_BINARY, 1, bin, sizeof bin, wire, sizeof wire);
    cut = n - 6;
    feed(conn, wire, cut, &log);
    CHECK_EQ(log.n, 1);
    check_fragment(&log.ev[0], 0, 1, 0, bin, 4);
    feed(conn, wire + cut, n - cut, &log);
    CHECK_EQ(log.n, 1);
    check_fragment(&log.ev[0], 0, 0, 1, bin + 4, 6);

    /* A text piece may end inside a code point. */
    n = peer_frame(EWS_ROLE_SERVER, EWS_OP_TEXT, 1, "\xc3\xb6", 2, wire, sizeof wire);
    feed(conn, wire, n - 1, &log);
    CHECK_EQ(log.n, 1);
    check_fragment(&log.ev[0], 1, 1, 0, "\xc3", 1);
    feed(conn, wire + n - 1, 1, &log);
    CHECK_EQ(log.n, 1);
    check_fragment(&log.ev[0], 1, 0, 1, "\xb6", 1);
    CHECK_EQ(ews_conn_state(conn), EWS_STATE_OPEN);
    CHECK_EQ(output_len(conn), 0);
    ews_conn_free(conn);
}

/* ----- deferred accept ----- */

static ews_conn *deferring_server(void) {
    ews_conn_options opts;
    ews_conn *server = NULL;
    const char *protocols[] = {"chat"};
    ews_conn_options_init(&opts, sizeof opts);
    opts.defer_accept = 1;
    opts.protocols = protocols;
    opts.protocol_count = 1;
    CHECK_EQ(ews_conn_new(EWS_ROLE_SERVER, &opts, &server), EWS_OK);
    return server;
}

static ews_conn *offering_client(void) {
    ews_conn_options opts;
    ews_conn *client = NULL;
    const char *protocols[] = {"chat", "superchat"};
    const ews_header headers[] = {{"X-Token", "abc 123"}};
    ews_conn_options_init(&opts, sizeof opts);
    opts.host = "example.com:8080";
    opts.resource = "/room?id=7";
    opts.protocols = protocols;
    opts.protocol_count = 2;
    opts.headers = headers;
    opts.header_count = 1;
    CHECK_EQ(ews_conn_new(EWS_ROLE_CLIENT, &opts, &client), EWS_OK);
    return client;
}

static void deferred_request_is_accepted_with_a_subprotocol(void) {
    ews_conn *server = deferring_server();
    ews_conn *client = offering_client();
    uint8_t wire[2048], out[2048];
    size_t n, request_len;
    const uint8_t *value = NULL;
    size_t value_len = 0;
    const ews_header extra[] = {{"X-Served-By", "ews"}};
    event_log log;

    CHECK(ews_conn_resource(server) == NULL);
    CHECK_EQ(ews_conn_request_header(server, "host", &value, &value_len), EWS_ESTATE);

    /* The request and a frame the client sent right behind it. */
    request_len = take_output(client, wire, sizeof wire - 64);
    n = request_len + peer_frame(EWS_ROLE_SERVER, EWS_OP_TEXT, 1, "early", 5, wire + request_len,
                                 sizeof wire - request_len);
    feed(server, wire, n, &log);
    CHECK_EQ(log.n, 1);
    CHECK_EQ(log.ev[0].kind, EWS_EVENT_REQUEST);
    CHECK_EQ(log.consumed, request_len); /* a waiting server takes no bytes */
    CHECK_EQ(ews_conn_state(server), EWS_STATE_REQUESTED);
    CHECK_EQ(output_len(server), 0);
    CHECK(strcmp(ews_conn_resource(server), "/room?id=7") == 0);
    CHECK_EQ(ews_conn_request_header(server, "x-token", &value, &value_len), 1);
    CHECK(value_len == 7 && memcmp(value, "abc 123", 7) == 0);
    CHECK_EQ(ews_conn_request_header(server, "HOST", &value, &value_len), 1);
    CHECK(value_len == 16 && memcmp(value, "example.com:8080", 16) == 0);
    CHECK_EQ(ews_conn_request_header(server, "Sec-WebSocket-Protocol", &value, &value_len), 1);
    CHECK(value_len == 15 && memcmp(value, "chat, superchat", 15) == 0);
    CHECK_EQ(ews_conn_request_header(server, "cookie", &value, &value_len), 0);
    CHECK(ews_conn_subprotocol(server) == NULL);

    /* Only a protocol the client offered may be chosen. */
    CHECK_EQ(ews_conn_accept(server, "json", NULL, 0), EWS_EINVAL);
    CHECK_EQ(ews_conn_state(server), EWS_STATE_REQUESTED);
    CHECK_EQ(ews_conn_accept(server, "superchat", extra, 1), EWS_OK);
    CHECK_EQ(ews_conn_state(server), EWS_STATE_OPEN);
    CHECK(strcmp(ews_conn_subprotocol(server), "superchat") == 0);
    CHECK(take_output(server, out, sizeof out) > 0);
    CHECK(strncmp((const char *)out, "HTTP/1.1 101 ", 13) == 0);
    CHECK(strstr((const char *)out, "\r\nSec-WebSocket-Protocol: superchat\r\n") != NULL);
    CHECK(strstr((const char *)out, "\r\nX-Served-By: ews\r\n") != NULL);
    CHECK_EQ(ews_conn_accept(server, NULL, NULL, 0), EWS_ESTATE);
    CHECK_EQ(ews_conn_reject(server, 403), EWS_ESTATE);

    /* The bytes that followed the request, fed afterwards. */
    feed(server, wire + request_len, n - request_len, &log);
    CHECK_EQ(log.n, 1);
    CHECK_EQ(log.ev[0].kind, EWS_EVENT_MESSAGE);
    CHECK_MEM(log.ev[0].data, log.ev[0].len, "early");

    /* The client takes the answer. */
    feed(client, out, strlen((const char *)out), &log);
    CHECK_EQ(log.n, 1);
    CHECK_EQ(log.ev[0].kind, EWS_EVENT_OPEN);
    CHECK(strcmp(ews_conn_subprotocol(client), "superchat") == 0);
    ews_conn_free(server);
    ews_conn_free(client);
}

static void deferred_request_is_rejected_with_403(void) {
    ews_conn *server = deferring_server();
    ews_conn *client = offering_client();
    uint8_t out[2048];
    event_log log;
    pump(client, server, &log);
    CHECK_EQ(log.n, 1);
    CHECK_EQ(log.ev[0].kind, EWS_EVENT_REQUEST);
    CHECK_EQ(ews_conn_reject(server, 200), EWS_EINVAL);
    CHECK_EQ(ews_conn_reject(server, 600), EWS_EINVAL);
    CHECK_EQ(ews_conn_state(server), EWS_STATE_REQUESTED);
    CHECK_EQ(ews_conn_reject(server, 403), EWS_OK);
    CHECK(take_output(server, out, sizeof out) > 0);
    CHECK(strncmp((const char *)out, "HTTP/1.1 403 ", 13) == 0);
    CHECK_EQ(ews_conn_state(server), EWS_STATE_FAILED);
    CHECK_EQ(ews_conn_error(server), EWS_EHANDSHAKE);
    CHECK(strcmp(ews_conn_error_detail(server), "refused by the host") == 0);
    CHECK_EQ(ews_conn_wants_close(server), 1);
    CHECK_EQ(ews_conn_accept(server, NULL, NULL, 0), EWS_ESTATE);
    CHECK_EQ(ews_conn_reject(server, 403), EWS_ESTATE);

    /* The client sees the refusal's status. */
    feed(client, out, strlen((const char *)out), &log);
    CHECK_EQ(log.n, 1);
    check_failed(client, &log.ev[0], EWS_EHANDSHAKE, 1006, 403);
    CHECK(strcmp(log.ev[0].detail, "HS: ws upgrade response not 101") == 0);
    ews_conn_free(server);
    ews_conn_free(client);
}

/* ----- requests refused by the server ----- */

static void refused(const char *request, int status, const char *detail, const char *header_line) {
    const char *resources[] = {"/chat"};
    ews_conn_options opts;
    ews_conn *server = NULL;
    uint8_t out[1024];
    char status_line[32];
    event_log log;
    ews_conn_options_init(&opts, sizeof opts);
    opts.resources = resources;
    opts.resource_count = 1;
    CHECK_EQ(ews_conn_new(EWS_ROLE_SERVER, &opts, &server), EWS_OK);
    feed(server, request, strlen(request), &log);
    CHECK_EQ(log.n, 1);
    check_failed(server, &log.ev[0], EWS_EHANDSHAKE, 1006, status);
    CHECK(strcmp(log.ev[0].detail, detail) == 0);
    CHECK(take_output(server, out, sizeof out) > 0);
    sprintf(status_line, "HTTP/1.1 %d ", status);
    CHECK(strncmp((const char *)out, status_line, strlen(status_line)) == 0);
    if (header_line != NULL) CHECK(strstr((const char *)out, header_line) != NULL);
    ews_conn_free(server);
}

#define REQUEST_TAIL                        \
    "Host: example.com\r\n"                 \
    "Upgrade: websocket\r\n"                \
    "Connection: Upgrade\r\n"               \
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

static void bad_requests_are_refused_with_their_status(void) {
    refused("GET /other HTTP/1.1\r\n" REQUEST_TAIL "Sec-WebSocket-Version: 13\r\n\r\n", 404, "resource not found", NULL);
    refused("POST /chat HTTP/1.1\r\n" REQUEST_TAIL "Sec-WebSocket-Version: 13\r\n\r\n", 405, "method not allowed",
            "\r\nAllow: GET\r\n");
    refused("GET /chat HTTP/1.1\r\n" REQUEST_TAIL "Sec-WebSocket-Version: 8\r\n\r\n", 426,
            "Sec-WebSocket-Version is not 13", "\r\nSec-WebSocket-Version: 13\r\n");
    refused("GET /chat HTTP/1.0\r\n" REQUEST_TAIL "Sec-WebSocket-Version: 13\r\n\r\n", 505,
            "HTTP version not supported", NULL);
}

/* ----- responses refused by the client ----- */

/* A client whose request went out; `key` gets its Sec-WebSocket-Key. */
static ews_conn *client_with_key(char *key, size_t cap) {
    ews_conn_options opts;
    ews_conn *client = NULL;
    uint8_t out[2048];
    const char *at, *end;
    ews_conn_options_init(&opts, sizeof opts);
    opts.host = "example.com";
    CHECK_EQ(ews_conn_new(EWS_ROLE_CLIENT, &opts, &client), EWS_OK);
    CHECK(take_output(client, out, sizeof out) > 0);
    at = strstr((const char *)out, "\r\nSec-WebSocket-Key: ");
    CHECK(at != NULL);
    at += strlen("\r\nSec-WebSocket-Key: ");
    end = strstr(at, "\r\n");
    CHECK(end != NULL && (size_t)(end - at) < cap);
    memcpy(key, at, (size_t)(end - at));
    key[end - at] = 0;
    return client;
}

static void respond(ews_conn *client, const char *accept, event_log *log) {
    char response[512];
    sprintf(response,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: %s\r\n\r\n",
            accept);
    feed(client, response, strlen(response), log);
}

static void client_fails_on_bad_responses(void) {
    char key[64], accept[EWS_ACCEPT_KEY_SIZE];
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    ews_conn *client;
    event_log log;

    /* The right answer opens the connection. */
    client = client_with_key(key, sizeof key);
    CHECK_EQ(ews_accept_key(key, 1, accept, sizeof accept), 28);
    respond(client, accept, &log);
    CHECK_EQ(log.n, 1);
    CHECK_EQ(log.ev[0].kind, EWS_EVENT_OPEN);
    CHECK_EQ(ews_conn_state(client), EWS_STATE_OPEN);
    CHECK_EQ(ews_conn_error(client), 0);
    CHECK(ews_conn_error_detail(client) == NULL);
    ews_conn_free(client);

    /* One character off. */
    client = client_with_key(key, sizeof key);
    CHECK_EQ(ews_accept_key(key, 1, accept, sizeof accept), 28);
    accept[0] = accept[0] == 'A' ? 'B' : 'A';
    respond(client, accept, &log);
    CHECK_EQ(log.n, 1);
    check_failed(client, &log.ev[0], EWS_EHANDSHAKE, 1006, 0);
    CHECK(strcmp(log.ev[0].detail, "HS: Accept hash wrong") == 0);
    CHECK(strcmp(ews_conn_error_detail(client), "HS: Accept hash wrong") == 0);
    CHECK_EQ(output_len(client), 0);
    ews_conn_free(client);

    /* Not a 101. */
    client = client_with_key(key, sizeof key);
    feed(client, ok, strlen(ok), &log);
    CHECK_EQ(log.n, 1);
    check_failed(client, &log.ev[0], EWS_EHANDSHAKE, 1006, 200);
    CHECK(strcmp(log.ev[0].detail, "HS: ws upgrade response not 101") == 0);
    CHECK(strcmp(ews_conn_error_detail(client), "HS: ws upgrade response not 101") == 0);
    CHECK_EQ(output_len(client), 0);
    ews_conn_free(client);
}

/* ----- protocol failures ----- */

/* Feeds `frame` to an open connection in `role` and checks that it fails
 * with `error` and sends a close frame with `code`. */
static void fails_with(int role, const ews_conn_options *opts, const uint8_t *frame, size_t len, int error, int code) {
    ews_conn *conn = open_conn(role, opts);
    uint8_t late[16];
    event_log log;
    feed(conn, frame, len, &log);
    CHECK_EQ(log.n, 1);
    CHECK_EQ(log.consumed, len);
    check_failed(conn, &log.ev[0], error, code, 0);
    CHECK_EQ(only_close_code(conn, role), code);
    /* Later bytes are ignored. */
    feed(conn, late, peer_frame(role, EWS_OP_TEXT, 1, "x", 1, late, sizeof late), &log);
    CHECK_EQ(log.n, 0);
    CHECK_EQ(output_len(conn), 0);
    ews_conn_free(conn);
}

static void protocol_failures_send_their_close_code(void) {
    int roles[] = {EWS_ROLE_CLIENT, EWS_ROLE_SERVER};
    size_t i;
    for (i = 0; i < 2; i++) {
        int role = roles[i];
        uint8_t frame[64];
        uint8_t big[17];
        const uint8_t one = 0x03;
        const uint8_t bad_utf8[] = {'o', 'k', 0xc3, 0x28};
        ews_conn_options small;
        ews_limits small_limits;
        size_t n;
        ews_limits_init(&small_limits, sizeof small_limits);
        small_limits.max_frame = 16;
        ews_conn_options_init(&small, sizeof small);
        small.limits = &small_limits;
        memset(big, 'b', sizeof big);

        n = peer_frame(role, 3, 1, "", 0, frame, sizeof frame);
        fails_with(role, NULL, frame, n, EWS_EPROTO, 1002);
        n = peer_frame(role, 0xB, 1, "", 0, frame, sizeof frame);
        fails_with(role, NULL, frame, n, EWS_EPROTO, 1002);
        n = peer_frame(role, EWS_OP_CLOSE, 1, &one, 1, frame, sizeof frame);
        fails_with(role, NULL, frame, n, EWS_EPROTO, 1002);
        n = peer_frame(role, EWS_OP_TEXT, 1, bad_utf8, sizeof bad_utf8, frame, sizeof frame);
        fails_with(role, NULL, frame, n, EWS_EUTF8, 1007);
        n = peer_frame(role, EWS_OP_BINARY, 1, big, sizeof big, frame, sizeof frame);
        fails_with(role, &small, frame, n, EWS_ETOOBIG, 1009);
        /* Exactly the limit is fine. */
        {
            ews_conn *conn = open_conn(role, &small);
            event_log log;
            n = peer_frame(role, EWS_OP_BINARY, 1, big, 16, frame, sizeof frame);
            feed(conn, frame, n, &log);
            CHECK_EQ(log.n, 1);
            CHECK_EQ(log.ev[0].kind, EWS_EVENT_MESSAGE);
            CHECK_EQ(log.ev[0].len, 16);
            ews_conn_free(conn);
        }
    }
}

/* A failure after this end sent its close frame sends no second one; the
 * event still carries the failure's close code. */
static void failure_while_closing_sends_no_second_close_frame(void) {
    ews_conn *conn = open_conn(EWS_ROLE_SERVER, NULL);
    uint8_t frame[16];
    event_log log;
    CHECK_EQ(ews_conn_close(conn, 1000, NULL), EWS_OK);
    CHECK_EQ(only_close_code(conn, EWS_ROLE_SERVER), 1000);
    feed(conn, frame, peer_frame(EWS_ROLE_SERVER, 3, 1, "", 0, frame, sizeof frame), &log);
    CHECK_EQ(log.n, 1);
    check_failed(conn, &log.ev[0], EWS_EPROTO, 1002, 0);
    CHECK_EQ(output_len(conn), 0);
    ews_conn_free(conn);
}

static int failing_source(void *user, uint8_t *buf, size_t len) {
    (void)user;
    (void)buf;
    (void)len;
    return -1;
}

/* A client that cannot mask its keepalive ping fails with EWS_EIO. */
static void keepalive_ping_without_randomness_fails(void) {
    ews_conn_options opts;
    ews_conn *conn;
    ews_event ev;
    ews_conn_options_init(&opts, sizeof opts);
    opts.keepalive_interval_ms = 1000;
    conn = open_conn(EWS_ROLE_CLIENT, &opts);
    CHECK_EQ(ews_conn_on_time(conn, T0, &ev), 0);
    CHECK_EQ(ews_set_random(failing_source, NULL), EWS_OK);
    CHECK_EQ(ews_conn_on_time(conn, T0 + 1000, &ev), 1);
    CHECK_EQ(ews_set_random(NULL, NULL), EWS_OK);
    check_failed_event(conn, &ev, EWS_EIO, 1006, 0);
    CHECK(strcmp(ev.detail, "the random source failed") == 0);
    CHECK_EQ(output_len(conn), 0);
    ews_conn_free(conn);
}

int main(void) {
    eof_on_an_open_connection_is_a_drop();
    eof_while_closing_is_a_drop();
    eof_after_the_closing_handshake_is_no_event();
    eof_during_the_client_handshake_is_a_handshake_failure();
    client_handshake_times_out();
    close_times_out_without_the_peers_close_frame();
    closed_client_wants_close_after_the_close_timeout();
    keepalive_pings_and_times_out_without_a_pong();
    keepalive_ping_without_randomness_fails();
    streaming_delivers_fragments_with_their_flags();
    deferred_request_is_accepted_with_a_subprotocol();
    deferred_request_is_rejected_with_403();
    bad_requests_are_refused_with_their_status();
    client_fails_on_bad_responses();
    protocol_failures_send_their_close_code();
    failure_while_closing_sends_no_second_close_frame();
    printf("conn_events: ok\n");
    return 0;
}
