/* The rule by which the structs a host fills in can grow ("How the ABI
 * grows" in ews.h), checked with structs declared as other versions of
 * ews.h would declare them:
 *
 * - an init function writes the defaults into the size its caller gives
 *   and never past it: a guard area after the caller's struct is left as
 *   it was, for a struct smaller than the library's as for a larger one;
 * - a struct from a newer header (a field appended after the ones this
 *   library knows) is read for the fields it shares with the library, and
 *   they take effect; the appended bytes are neither written nor used;
 * - what a struct leaves out takes the default (NULL limits: the default
 *   limits, observed as the default handshake timeout);
 * - a struct smaller than the first layout (ews 0.2.0), such as one
 *   declared without its last field, or one never initialised (size 0),
 *   is EWS_EINVAL wherever it is passed, nested ones included.
 *
 * 0.2.0 is the first layout, so no smaller struct is valid yet: that a
 * field past a caller's `size` takes its default is checked on the one
 * reader every struct goes through (src/ffi/sized.rs). When a later
 * version appends a field, the 0.2.0 layout becomes an older header's
 * struct to declare here. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testserver.h"
#include "wsclient.h"

#define GUARD 64
#define FILL 0xA5
#define T0 1000000

/* ews_limits as a header without its last two fields (the receive buffer
 * sizes) would declare it. Without only its last field it would be no
 * smaller: that field sits where the struct had trailing padding. */
typedef struct {
    size_t size;
    uint64_t max_frame;
    uint64_t max_message;
    uint32_t max_handshake_bytes;
    uint32_t max_handshake_headers;
    uint32_t handshake_timeout_ms;
    uint32_t close_timeout_ms;
    uint64_t send_queue_bytes;
} cut_limits;

/* ews_conn_options as a header without its last field would declare it. */
typedef struct {
    size_t size;
    const ews_limits *limits;
    int streaming;
    int control_events;
    uint32_t keepalive_interval_ms;
    uint32_t keepalive_timeout_ms;
    int no_http;
    int defer_accept;
    const char *resource;
    const char *host;
    const char *origin;
    const char *const *protocols;
    size_t protocol_count;
    const ews_header *headers;
    size_t header_count;
    const char *const *resources;
} cut_conn_options;

/* The structs as a newer header would declare them: one field appended
 * after the ones this library knows (at or past their size, as the rule
 * requires). */
typedef struct {
    ews_limits known;
    uint64_t appended;
} newer_limits;

typedef struct {
    ews_conn_options known;
    uint64_t appended;
} newer_conn_options;

typedef struct {
    ews_attach_options known;
    uint64_t appended;
} newer_attach_options;

typedef struct {
    ews_server_options known;
    uint64_t appended;
} newer_server_options;

typedef struct {
    ews_route known;
    uint64_t appended;
} newer_route;

typedef struct {
    ews_client_options known;
    uint64_t appended;
} newer_client_options;

typedef struct {
    ews_client_handlers known;
    uint64_t appended;
} newer_client_handlers;

typedef struct {
    ews_tls_settings known;
    uint64_t appended;
} newer_tls_settings;

typedef struct {
    ews_wsscb known;
    void (*appended)(ews_wsscb *cb);
} newer_wsscb;

/* ----- init: the caller's size and not a byte more ----- */

/* `size` bytes for a struct followed by GUARD bytes, all FILL. */
static unsigned char *guarded(size_t size) {
    unsigned char *mem = malloc(size + GUARD);
    CHECK(mem != NULL);
    memset(mem, FILL, size + GUARD);
    return mem;
}

/* After init(mem, size): the size field says `size`, the first bytes were
 * written, and nothing from `size` on was. */
static void check_init_stayed_within(const unsigned char *mem, size_t size) {
    size_t i, recorded;
    memcpy(&recorded, mem, sizeof recorded);
    CHECK_EQ(recorded, size);
    for (i = size; i < size + GUARD; i++) {
        if (mem[i] != FILL) {
            fprintf(stderr, "init wrote byte %lu of a %lu-byte struct\n", (unsigned long)i, (unsigned long)size);
            exit(1);
        }
    }
}

/* Runs `init` on a struct of `size` bytes with a guard area after it. */
#define INIT_WITHIN(init, type, size)                          \
    do {                                                       \
        unsigned char *mem_ = guarded(size);                   \
        init((type *)(void *)mem_, (size));                    \
        check_init_stayed_within(mem_, (size));                \
        free(mem_);                                            \
    } while (0)

/* Every init function, for its struct as a header without the last field
 * declares it, as this header does, and as a newer header does. */
static void init_functions_write_only_the_callers_size(void) {
    INIT_WITHIN(ews_limits_init, ews_limits, sizeof(cut_limits));
    INIT_WITHIN(ews_limits_init, ews_limits, sizeof(ews_limits));
    INIT_WITHIN(ews_limits_init, ews_limits, sizeof(newer_limits));
    INIT_WITHIN(ews_conn_options_init, ews_conn_options, sizeof(cut_conn_options));
    INIT_WITHIN(ews_conn_options_init, ews_conn_options, sizeof(ews_conn_options));
    INIT_WITHIN(ews_conn_options_init, ews_conn_options, sizeof(newer_conn_options));
    INIT_WITHIN(ews_attach_options_init, ews_attach_options, offsetof(ews_attach_options, header_count));
    INIT_WITHIN(ews_attach_options_init, ews_attach_options, sizeof(ews_attach_options));
    INIT_WITHIN(ews_attach_options_init, ews_attach_options, sizeof(newer_attach_options));
    INIT_WITHIN(ews_server_options_init, ews_server_options, offsetof(ews_server_options, read_buffer_size));
    INIT_WITHIN(ews_server_options_init, ews_server_options, sizeof(ews_server_options));
    INIT_WITHIN(ews_server_options_init, ews_server_options, sizeof(newer_server_options));
    INIT_WITHIN(ews_route_init, ews_route, offsetof(ews_route, protocol_count));
    INIT_WITHIN(ews_route_init, ews_route, sizeof(ews_route));
    INIT_WITHIN(ews_route_init, ews_route, sizeof(newer_route));
    INIT_WITHIN(ews_client_options_init, ews_client_options, offsetof(ews_client_options, tls));
    INIT_WITHIN(ews_client_options_init, ews_client_options, sizeof(ews_client_options));
    INIT_WITHIN(ews_client_options_init, ews_client_options, sizeof(newer_client_options));
    INIT_WITHIN(ews_client_handlers_init, ews_client_handlers, offsetof(ews_client_handlers, user));
    INIT_WITHIN(ews_client_handlers_init, ews_client_handlers, sizeof(ews_client_handlers));
    INIT_WITHIN(ews_client_handlers_init, ews_client_handlers, sizeof(newer_client_handlers));
    INIT_WITHIN(ews_tls_settings_init, ews_tls_settings, offsetof(ews_tls_settings, key_file));
    INIT_WITHIN(ews_tls_settings_init, ews_tls_settings, sizeof(ews_tls_settings));
    INIT_WITHIN(ews_tls_settings_init, ews_tls_settings, sizeof(newer_tls_settings));
    INIT_WITHIN(ews_wsscb_init, ews_wsscb, offsetof(ews_wsscb, drain));
    INIT_WITHIN(ews_wsscb_init, ews_wsscb, sizeof(ews_wsscb));
    INIT_WITHIN(ews_wsscb_init, ews_wsscb, sizeof(newer_wsscb));
}

/* The declarations above mirror ews.h. */
static void declarations_mirror_the_header(void) {
    CHECK_EQ(sizeof(cut_limits), offsetof(ews_limits, rx_start_size));
    CHECK(sizeof(cut_limits) < sizeof(ews_limits));
    CHECK_EQ(sizeof(cut_conn_options), offsetof(ews_conn_options, resource_count));
    CHECK(sizeof(cut_conn_options) < sizeof(ews_conn_options));
    CHECK_EQ(offsetof(newer_limits, appended), sizeof(ews_limits));
    CHECK_EQ(offsetof(newer_conn_options, appended), sizeof(ews_conn_options));
    CHECK_EQ(offsetof(newer_wsscb, appended), sizeof(ews_wsscb));
}

/* A newer header's struct: init fills the library's part with defaults,
 * sets the caller's size, and leaves the appended field alone. */
static void init_fills_a_newer_struct_up_to_what_the_library_knows(void) {
    newer_conn_options o;
    newer_limits l;
    memset(&o, FILL, sizeof o);
    memset(&l, FILL, sizeof l);
    ews_conn_options_init(&o.known, sizeof o);
    ews_limits_init(&l.known, sizeof l);
    CHECK_EQ(o.known.size, sizeof o);
    CHECK(o.known.limits == NULL);
    CHECK(o.known.host == NULL);
    CHECK_EQ(o.known.no_http, 0);
    CHECK_EQ(o.known.defer_accept, 0);
    CHECK_EQ(o.appended, 0xA5A5A5A5A5A5A5A5ull);
    CHECK_EQ(l.known.size, sizeof l);
    CHECK_EQ(l.known.max_frame, 1 << 20);
    CHECK_EQ(l.known.max_message, 1 << 20);
    CHECK_EQ(l.known.handshake_timeout_ms, 10000);
    CHECK_EQ(l.known.rx_expand_size, 4096);
    CHECK_EQ(l.appended, 0xA5A5A5A5A5A5A5A5ull);
}

/* ----- ews_conn ----- */

/* A client connection's handshake timeout, as its deadline shows. */
static int64_t handshake_timeout(const ews_conn_options *opts) {
    ews_conn *conn = NULL;
    const uint8_t *out;
    size_t len;
    ews_event ev;
    int64_t timeout;
    CHECK_EQ(ews_conn_new(EWS_ROLE_CLIENT, opts, &conn), EWS_OK);
    CHECK_EQ(ews_conn_output(conn, &out, &len), 1); /* the request */
    CHECK_EQ(ews_conn_consume(conn, len), EWS_OK);
    CHECK_EQ(ews_conn_on_time(conn, T0, &ev), 0); /* starts the timer */
    timeout = ews_conn_next_deadline(conn) - T0;
    ews_conn_free(conn);
    return timeout;
}

static void conn_takes_a_newer_struct_and_defaults_what_is_left_out(void) {
    newer_conn_options o;
    newer_limits l;
    memset(&o, FILL, sizeof o);
    memset(&l, FILL, sizeof l);
    ews_conn_options_init(&o.known, sizeof o);
    o.known.host = "example.com";
    /* NULL limits: the defaults, a 10 s handshake timeout. */
    CHECK_EQ(handshake_timeout(&o.known), 10000);
    ews_limits_init(&l.known, sizeof l);
    l.known.handshake_timeout_ms = 300;
    o.known.limits = &l.known;
    CHECK_EQ(handshake_timeout(&o.known), 300);
}

/* A server connection without a handshake whose frames may be `max_frame`
 * bytes: what a `len`-byte frame from the client gives. */
static int frame_event(const ews_conn_options *opts, size_t len, int *code) {
    static const uint8_t key[4] = {1, 2, 3, 4};
    uint8_t payload[64], frame[80];
    size_t n = 0, used = 0;
    ews_conn *conn = NULL;
    ews_event ev;
    int kind;
    CHECK(len <= sizeof payload);
    memset(payload, 'x', len);
    CHECK_EQ(ews_frame_encode(EWS_OP_BINARY, 1, key, payload, len, frame, sizeof frame, &n), EWS_OK);
    CHECK_EQ(ews_conn_new(EWS_ROLE_SERVER, opts, &conn), EWS_OK);
    CHECK_EQ(ews_conn_feed(conn, frame, n, &used, &ev), 1);
    kind = ev.kind;
    *code = ev.code;
    ews_conn_free(conn);
    return kind;
}

static void conn_applies_the_limits_of_a_newer_struct(void) {
    newer_conn_options o;
    newer_limits l;
    int code = 0;
    ews_limits_init(&l.known, sizeof l);
    l.known.max_frame = 16;
    ews_conn_options_init(&o.known, sizeof o);
    o.known.no_http = 1;
    CHECK_EQ(frame_event(&o.known, 17, &code), EWS_EVENT_MESSAGE);
    o.known.limits = &l.known;
    CHECK_EQ(frame_event(&o.known, 16, &code), EWS_EVENT_MESSAGE);
    CHECK_EQ(frame_event(&o.known, 17, &code), EWS_EVENT_ERROR);
    CHECK_EQ(code, 1009);
}

static void conn_refuses_structs_below_the_first_layout(void) {
    cut_conn_options cut;
    cut_limits cut_l;
    ews_conn_options o;
    ews_conn *conn = NULL;

    /* Built against a header without the last field: refused. */
    ews_conn_options_init((ews_conn_options *)(void *)&cut, sizeof cut);
    cut.no_http = 1;
    CHECK_EQ(ews_conn_new(EWS_ROLE_SERVER, (const ews_conn_options *)(const void *)&cut, &conn), EWS_EINVAL);
    CHECK(conn == NULL);

    /* Never initialised (zeroed): refused. */
    memset(&o, 0, sizeof o);
    o.no_http = 1;
    CHECK_EQ(ews_conn_new(EWS_ROLE_SERVER, &o, &conn), EWS_EINVAL);

    /* Limits below the first layout, in options that are fine. */
    ews_conn_options_init(&o, sizeof o);
    o.no_http = 1;
    ews_limits_init((ews_limits *)(void *)&cut_l, sizeof cut_l);
    o.limits = (const ews_limits *)(const void *)&cut_l;
    CHECK_EQ(ews_conn_new(EWS_ROLE_SERVER, &o, &conn), EWS_EINVAL);

    /* The same options with whole limits work. */
    o.limits = NULL;
    CHECK_EQ(ews_conn_new(EWS_ROLE_SERVER, &o, &conn), EWS_OK);
    ews_conn_free(conn);
}

/* ----- ews_attach ----- */

static void attach_takes_a_newer_struct_and_refuses_a_cut_one(void) {
    int fds[2];
    newer_attach_options o;
    newer_limits l;
    ews_attach_options cut;
    ews_sock *client = NULL, *server = NULL;
    char buf[64];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);

    ews_attach_options_init(&cut, offsetof(ews_attach_options, header_count));
    CHECK_EQ(ews_attach_server_ex(fds[1], EWS_WS_NOHTTP, NULL, 0, NULL, 0, &cut, 0, &server), EWS_EINVAL);
    CHECK(server == NULL);

    memset(&o, FILL, sizeof o);
    ews_limits_init(&l.known, sizeof l);
    l.known.max_frame = 16;
    ews_attach_options_init(&o.known, sizeof o);
    o.known.limits = &l.known;
    CHECK_EQ(ews_attach_server_ex(fds[1], EWS_WS_NOHTTP, NULL, 0, NULL, 0, &o.known, 0, &server), EWS_OK);
    CHECK_EQ(ews_attach_client(fds[0], EWS_WS_NOHTTP, NULL, NULL, 0, &client), EWS_OK);
    CHECK_EQ(ews_msend(client, "sixteen bytes ok", 16, -1), EWS_OK);
    CHECK_EQ(ews_mrecv(server, buf, sizeof buf, ews_now() + 2000), 16);
    CHECK_EQ(ews_msend(client, "seventeen bytes!!", 17, -1), EWS_OK);
    CHECK_EQ(ews_mrecv(server, buf, sizeof buf, ews_now() + 2000), EWS_ETOOBIG);
    ews_sock_free(client);
    ews_sock_free(server);
    close(fds[0]);
    close(fds[1]);
}

/* ----- ews_client ----- */

static void client_takes_newer_structs_and_refuses_cut_ones(void) {
    newer_client_options o;
    newer_client_handlers h;
    newer_tls_settings tls;
    newer_limits l;
    ews_client_options cut_o;
    ews_client_handlers cut_h;
    ews_tls_settings cut_tls;
    cut_limits cut_l;
    ews_client *c = NULL;
    const char *url = "ws://127.0.0.1:9/";

    memset(&o, FILL, sizeof o);
    memset(&h, FILL, sizeof h);
    memset(&tls, FILL, sizeof tls);
    memset(&l, FILL, sizeof l);
    ews_client_options_init(&o.known, sizeof o);
    ews_client_handlers_init(&h.known, sizeof h);
    ews_tls_settings_init(&tls.known, sizeof tls);
    ews_limits_init(&l.known, sizeof l);
    o.known.limits = &l.known;
    o.known.tls = &tls.known;
    CHECK_EQ(ews_client_new(url, &h.known, &o.known, &c), EWS_OK);
    ews_client_free(c);
    c = NULL;

    ews_client_options_init(&cut_o, offsetof(ews_client_options, tls));
    CHECK_EQ(ews_client_new(url, NULL, &cut_o, &c), EWS_EINVAL);
    ews_client_handlers_init(&cut_h, offsetof(ews_client_handlers, user));
    CHECK_EQ(ews_client_new(url, &cut_h, NULL, &c), EWS_EINVAL);
    ews_tls_settings_init(&cut_tls, offsetof(ews_tls_settings, key_file));
    o.known.tls = &cut_tls;
    CHECK_EQ(ews_client_new(url, NULL, &o.known, &c), EWS_EINVAL);
    o.known.tls = &tls.known;
    ews_limits_init((ews_limits *)(void *)&cut_l, sizeof cut_l);
    o.known.limits = (const ews_limits *)(const void *)&cut_l;
    CHECK_EQ(ews_client_new(url, NULL, &o.known, &c), EWS_EINVAL);
    CHECK(c == NULL);
}

/* ----- ews_server, ews_route, ews_wsscb ----- */

/* A connection whose callback struct comes from a newer header. */
typedef struct {
    newer_wsscb cb; /* first: the callbacks cast it back */
    ews_wss *wss;
} conn;

static void on_frame(ews_wsscb *cb, ews_wss *wss, const void *data, size_t len, int is_text) {
    (void)cb;
    ews_wss_write(wss, data, len, is_text);
}

static void on_close(ews_wsscb *cb, ews_wss *wss, int status) {
    conn *c = (conn *)(void *)cb;
    (void)status;
    ews_wss_free(wss);
    free(c);
}

static void serve(void *user, ews_request *req) {
    conn *c = malloc(sizeof *c);
    (void)user;
    CHECK(c != NULL);
    memset(c, FILL, sizeof *c);
    ews_wsscb_init(&c->cb.known, sizeof c->cb);
    c->cb.known.frame = on_frame;
    c->cb.known.close = on_close;
    CHECK_EQ(ews_wss_new(&c->cb.known, 0, 0, &c->wss), EWS_OK);
    if (ews_wss_upgrade(c->wss, req) != EWS_OK) {
        ews_wss_free(c->wss);
        free(c);
    }
}

static void server_applies_newer_structs(void) {
    newer_server_options o;
    newer_limits l;
    ews_server *server;
    wsclient cl;
    ews_event ev;
    int port;

    memset(&o, FILL, sizeof o);
    ews_limits_init(&l.known, sizeof l);
    l.known.max_message = 16;
    ews_server_options_init(&o.known, sizeof o);
    o.known.limits = &l.known;
    port = start_server(&server, &o.known, serve, NULL);

    CHECK_EQ(wsc_open(&cl, port, "/"), 0);
    CHECK_EQ(ews_conn_send(cl.conn, (const uint8_t *)"sixteen bytes ok", 16, 1), EWS_OK);
    CHECK_EQ(wsc_flush(&cl), 0);
    CHECK_EQ(wsc_next(&cl, &ev, 5000), 1);
    CHECK_EQ(ev.kind, EWS_EVENT_MESSAGE);
    CHECK_MEM(ev.data, ev.len, "sixteen bytes ok");
    /* One byte over the server's limit: closed with 1009. */
    CHECK_EQ(ews_conn_send(cl.conn, (const uint8_t *)"seventeen bytes!!", 17, 1), EWS_OK);
    CHECK_EQ(wsc_flush(&cl), 0);
    CHECK_EQ(wsc_next(&cl, &ev, 5000), 1);
    CHECK_EQ(ev.kind, EWS_EVENT_CLOSE);
    CHECK_EQ(ev.code, 1009);
    ews_conn_free(cl.conn);
    close(cl.fd);
    stop_server(server);
}

static void server_refuses_structs_below_the_first_layout(void) {
    ews_server_options o;
    cut_limits cut_l;
    ews_route route;
    newer_route newer;
    ews_wsscb cb;
    ews_server *server = NULL;
    ews_wss *wss = NULL;

    ews_server_options_init(&o, offsetof(ews_server_options, read_buffer_size));
    CHECK_EQ(ews_server_new(&o, &server), EWS_EINVAL);
    ews_server_options_init(&o, sizeof o);
    ews_limits_init((ews_limits *)(void *)&cut_l, sizeof cut_l);
    o.limits = (const ews_limits *)(const void *)&cut_l;
    CHECK_EQ(ews_server_new(&o, &server), EWS_EINVAL);
    CHECK(server == NULL);
    o.limits = NULL;
    CHECK_EQ(ews_server_new(&o, &server), EWS_OK);

    ews_route_init(&route, offsetof(ews_route, protocol_count));
    route.path = "/cut";
    route.service = serve;
    CHECK_EQ(ews_server_add_route(server, &route), EWS_EINVAL);
    ews_route_init(&route, sizeof route);
    route.path = "/cut-limits";
    route.service = serve;
    route.limits = (const ews_limits *)(const void *)&cut_l;
    CHECK_EQ(ews_server_add_route(server, &route), EWS_EINVAL);
    memset(&newer, FILL, sizeof newer);
    ews_route_init(&newer.known, sizeof newer);
    newer.known.path = "/newer";
    newer.known.service = serve;
    CHECK_EQ(ews_server_add_route(server, &newer.known), EWS_OK);

    ews_wsscb_init(&cb, offsetof(ews_wsscb, drain));
    cb.frame = on_frame;
    cb.close = on_close;
    CHECK_EQ(ews_wss_new(&cb, 0, 0, &wss), EWS_EINVAL);
    CHECK(wss == NULL);
    memset(&cb, 0, sizeof cb); /* never initialised */
    cb.frame = on_frame;
    cb.close = on_close;
    CHECK_EQ(ews_wss_new(&cb, 0, 0, &wss), EWS_EINVAL);
    ews_server_free(server);
}

int main(void) {
    declarations_mirror_the_header();
    init_functions_write_only_the_callers_size();
    init_fills_a_newer_struct_up_to_what_the_library_knows();
    conn_takes_a_newer_struct_and_defaults_what_is_left_out();
    conn_applies_the_limits_of_a_newer_struct();
    conn_refuses_structs_below_the_first_layout();
    attach_takes_a_newer_struct_and_refuses_a_cut_one();
    client_takes_newer_structs_and_refuses_cut_ones();
    server_applies_newer_structs();
    server_refuses_structs_below_the_first_layout();
    printf("abi_growth: all checks passed\n");
    return 0;
}
