/* Every function given NULL pointers and zero lengths: a documented error
 * or a documented default, never a crash. (NULL, 0) is an empty buffer. */
#include "check.h"
#include "ews.h"

static void conn_functions_refuse_null(void) {
    ews_event ev;
    size_t used = 123, len = 0;
    const uint8_t *out = NULL;
    const char *value = NULL;
    uint8_t byte = 0;

    CHECK_EQ(ews_conn_new(EWS_ROLE_SERVER, NULL, NULL), EWS_EINVAL);
    CHECK_EQ(ews_conn_feed(NULL, &byte, 1, &used, &ev), EWS_EINVAL);
    CHECK_EQ(ews_conn_on_eof(NULL, &ev), EWS_EINVAL);
    CHECK_EQ(ews_conn_output(NULL, &out, &len), EWS_EINVAL);
    CHECK_EQ(ews_conn_consume(NULL, 5), EWS_EINVAL);
    CHECK_EQ(ews_conn_send(NULL, NULL, 0, 1), EWS_EINVAL);
    CHECK_EQ(ews_conn_send_frame(NULL, EWS_OP_TEXT, 1, NULL, 0), EWS_EINVAL);
    CHECK_EQ(ews_conn_ping(NULL, NULL, 0), EWS_EINVAL);
    CHECK_EQ(ews_conn_pong(NULL, NULL, 0), EWS_EINVAL);
    CHECK_EQ(ews_conn_close(NULL, 1000, NULL), EWS_EINVAL);
    CHECK_EQ(ews_conn_accept(NULL, NULL, NULL, 0), EWS_EINVAL);
    CHECK_EQ(ews_conn_reject(NULL, 400), EWS_EINVAL);
    CHECK_EQ(ews_conn_next_deadline(NULL), -1);
    CHECK_EQ(ews_conn_on_time(NULL, 0, &ev), EWS_EINVAL);
    CHECK_EQ(ews_conn_state(NULL), EWS_EINVAL);
    CHECK_EQ(ews_conn_wants_close(NULL), EWS_EINVAL);
    CHECK(ews_conn_subprotocol(NULL) == NULL);
    CHECK(ews_conn_resource(NULL) == NULL);
    CHECK_EQ(ews_conn_request_header(NULL, "host", (const uint8_t **)&value, &len), EWS_EINVAL);
    CHECK_EQ(ews_conn_error(NULL), EWS_EINVAL);
    CHECK(ews_conn_error_detail(NULL) == NULL);
    ews_conn_free(NULL);
    ews_conn_options_init(NULL, sizeof(ews_conn_options));
    ews_limits_init(NULL, sizeof(ews_limits));
    ews_attach_options_init(NULL, sizeof(ews_attach_options));
    ews_client_options_init(NULL, sizeof(ews_client_options));
    ews_client_handlers_init(NULL, sizeof(ews_client_handlers));
    ews_tls_settings_init(NULL, sizeof(ews_tls_settings));
    ews_server_options_init(NULL, sizeof(ews_server_options));
    ews_route_init(NULL, sizeof(ews_route));
    ews_wsscb_init(NULL, sizeof(ews_wsscb));
    CHECK_EQ(used, 123); /* out-parameters untouched on failure */
}

static void conn_with_null_arguments(void) {
    ews_conn *c = NULL;
    ews_event ev;
    size_t used = 0, len = 0;
    const uint8_t *out = NULL;
    const uint8_t *value = NULL;
    uint8_t byte = 0x81;
    ews_conn_options opts;
    ews_limits limits;

    /* A client needs a host. */
    CHECK_EQ(ews_conn_new(EWS_ROLE_CLIENT, NULL, &c), EWS_EINVAL);
    CHECK(c == NULL);
    CHECK_EQ(ews_conn_new(7, NULL, &c), EWS_EINVAL);

    /* A NULL options pointer gives the defaults. */
    CHECK_EQ(ews_conn_new(EWS_ROLE_SERVER, NULL, &c), EWS_OK);
    CHECK(c != NULL);
    CHECK_EQ(ews_conn_feed(c, NULL, 1, &used, &ev), EWS_EINVAL);
    CHECK_EQ(ews_conn_feed(c, &byte, 1, NULL, &ev), EWS_EINVAL);
    CHECK_EQ(ews_conn_feed(c, &byte, 1, &used, NULL), EWS_EINVAL);
    CHECK_EQ(ews_conn_feed(c, NULL, 0, &used, &ev), 0);
    CHECK_EQ(used, 0);
    CHECK_EQ(ev.kind, EWS_EVENT_NONE);
    CHECK_EQ(ews_conn_output(c, NULL, &len), EWS_EINVAL);
    CHECK_EQ(ews_conn_output(c, &out, NULL), EWS_EINVAL);
    CHECK_EQ(ews_conn_output(c, &out, &len), 0);
    CHECK_EQ(len, 0);
    CHECK_EQ(ews_conn_on_eof(c, NULL), EWS_EINVAL);
    CHECK_EQ(ews_conn_on_time(c, 0, NULL), EWS_EINVAL);
    CHECK_EQ(ews_conn_on_time(c, -5, &ev), EWS_EINVAL);
    CHECK_EQ(ews_conn_request_header(c, NULL, &value, &len), EWS_EINVAL);
    CHECK_EQ(ews_conn_request_header(c, "host", NULL, &len), EWS_EINVAL);
    CHECK_EQ(ews_conn_request_header(c, "host", &value, &len), EWS_ESTATE);
    CHECK_EQ(ews_conn_send(c, NULL, 0, 0), EWS_ESTATE); /* handshake not done */
    CHECK_EQ(ews_conn_accept(c, NULL, NULL, 0), EWS_ESTATE);
    CHECK_EQ(ews_conn_reject(c, 404), EWS_ESTATE);
    CHECK_EQ(ews_conn_error(c), 0);
    CHECK(ews_conn_error_detail(c) == NULL);
    ews_conn_free(c);

    /* An open connection: (NULL, 0) is an empty message. */
    ews_conn_options_init(&opts, sizeof opts);
    opts.no_http = 1;
    CHECK_EQ(ews_conn_new(EWS_ROLE_CLIENT, &opts, &c), EWS_OK);
    CHECK_EQ(ews_conn_send(c, NULL, 0, 1), EWS_OK);
    CHECK_EQ(ews_conn_send(c, NULL, 0, 0), EWS_OK);
    CHECK_EQ(ews_conn_send(c, NULL, 3, 0), EWS_EINVAL);
    CHECK_EQ(ews_conn_ping(c, NULL, 0), EWS_OK);
    CHECK_EQ(ews_conn_pong(c, NULL, 0), EWS_OK);
    CHECK_EQ(ews_conn_send_frame(c, 3, 1, NULL, 0), EWS_EINVAL);   /* reserved opcode */
    CHECK_EQ(ews_conn_send_frame(c, -1, 1, NULL, 0), EWS_EINVAL);
    CHECK_EQ(ews_conn_send_frame(c, EWS_OP_CLOSE, 1, NULL, 0), EWS_EINVAL);
    CHECK_EQ(ews_conn_send_frame(c, EWS_OP_PING, 0, NULL, 0), EWS_EINVAL);
    CHECK_EQ(ews_conn_send_frame(c, EWS_OP_CONTINUATION, 1, NULL, 0), EWS_ESTATE);
    CHECK_EQ(ews_conn_close(c, 1005, NULL), EWS_EINVAL);
    CHECK_EQ(ews_conn_close(c, 70000, NULL), EWS_EINVAL);
    CHECK_EQ(ews_conn_close(c, 0, "reason without code"), EWS_EINVAL);
    CHECK_EQ(ews_conn_output(c, &out, &len), 1);
    /* 2 empty messages (6 bytes each masked), ping and pong: 4 * 6 bytes. */
    CHECK_EQ(len, 24);
    CHECK_EQ(ews_conn_consume(c, (size_t)-1), EWS_OK);
    CHECK_EQ(ews_conn_output(c, &out, &len), 0);
    CHECK_EQ(ews_conn_close(c, 0, NULL), EWS_OK);
    CHECK_EQ(ews_conn_close(c, 1000, NULL), EWS_ESTATE);
    ews_conn_free(c);

    /* Options with NULL lists but counts are refused. */
    ews_conn_options_init(&opts, sizeof opts);
    opts.resource_count = 2;
    CHECK_EQ(ews_conn_new(EWS_ROLE_SERVER, &opts, &c), EWS_EINVAL);
    ews_conn_options_init(&opts, sizeof opts);
    ews_limits_init(&limits, sizeof limits);
    limits.max_message = 0;
    opts.limits = &limits;
    CHECK_EQ(ews_conn_new(EWS_ROLE_SERVER, &opts, &c), EWS_EINVAL);
}

static void helpers_with_null_arguments(void) {
    char accept[EWS_ACCEPT_KEY_SIZE];
    uint8_t buf[32];
    size_t n = 0;
    int code = 0;
    const char *reason = NULL;
    ews_frame_header h;
    const uint8_t key[4] = {1, 2, 3, 4};

    memset(&h, 0, sizeof h);
    CHECK_EQ(ews_accept_key(NULL, 0, accept, sizeof accept), EWS_EINVAL);
    CHECK_EQ(ews_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 0, NULL, 0), EWS_EINVAL);
    CHECK_EQ(ews_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 0, accept, 28), EWS_ENOSPC);
    CHECK_EQ(ews_frame_header_encode(NULL, buf, sizeof buf, &n), EWS_EINVAL);
    CHECK_EQ(ews_frame_header_encode(&h, NULL, 0, &n), EWS_ENOSPC);
    CHECK_EQ(ews_frame_header_encode(&h, buf, sizeof buf, NULL), EWS_EINVAL);
    CHECK_EQ(ews_frame_header_decode(NULL, 0, &h, &n), 0);
    CHECK_EQ(ews_frame_header_decode(NULL, 2, &h, &n), EWS_EINVAL);
    CHECK_EQ(ews_frame_header_decode(buf, 2, NULL, &n), EWS_EINVAL);
    CHECK_EQ(ews_frame_encode(EWS_OP_TEXT, 1, NULL, NULL, 0, NULL, 0, &n), EWS_ENOSPC);
    CHECK_EQ(ews_frame_encode(EWS_OP_TEXT, 1, NULL, NULL, 0, buf, sizeof buf, &n), EWS_OK);
    CHECK_EQ(n, 2);
    CHECK_EQ(ews_frame_encode(EWS_OP_TEXT, 1, key, NULL, 0, buf, sizeof buf, &n), EWS_OK);
    CHECK_EQ(n, 6);
    CHECK_EQ(ews_frame_encode(EWS_OP_TEXT, 1, NULL, NULL, 1, buf, sizeof buf, &n), EWS_EINVAL);
    CHECK_EQ(ews_frame_encode(16, 1, NULL, NULL, 0, buf, sizeof buf, &n), EWS_EINVAL);
    CHECK_EQ(ews_mask(NULL, 0, key, 0), EWS_OK);
    CHECK_EQ(ews_mask(buf, 4, NULL, 0), EWS_EINVAL);
    CHECK_EQ(ews_mask(NULL, 4, key, 0), EWS_EINVAL);
    CHECK_EQ(ews_close_decode(NULL, 0, &code, &reason, &n), EWS_OK);
    CHECK_EQ(code, 1005);
    CHECK_EQ(n, 0);
    CHECK_EQ(ews_close_decode(NULL, 2, &code, &reason, &n), EWS_EINVAL);
    CHECK_EQ(ews_close_decode(buf, 0, NULL, &reason, &n), EWS_EINVAL);
    CHECK_EQ(ews_close_encode(1000, NULL, NULL, 0, &n), EWS_ENOSPC);
    CHECK_EQ(ews_close_encode(0, NULL, NULL, 0, &n), EWS_OK);
    CHECK_EQ(n, 0);
    CHECK_EQ(ews_close_encode(1000, NULL, buf, sizeof buf, NULL), EWS_EINVAL);
    CHECK(ews_strerror(12345) != NULL);
    CHECK(ews_version() != NULL);
    CHECK_EQ(ews_set_random(NULL, NULL), EWS_OK);
}

int main(void) {
    conn_functions_refuse_null();
    conn_with_null_arguments();
    helpers_with_null_arguments();
    printf("null_args: ok\n");
    return 0;
}
