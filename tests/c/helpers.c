/* The stateless helpers: accept key, frame header codec, whole-frame
 * encoding, masking, close payloads, version and error strings, and the
 * random source hook. */
#define _POSIX_C_SOURCE 200809L
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "ews.h"

static void accept_key_matches_rfc_example(void) {
    char out[EWS_ACCEPT_KEY_SIZE];
    CHECK_EQ(ews_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 1, out, sizeof out), 28);
    CHECK(strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
    CHECK_EQ(ews_accept_key("not a key", 1, out, sizeof out), EWS_EINVAL);
    CHECK_EQ(ews_accept_key("not a key", 0, out, sizeof out), 28);
}

static void frame_header_round_trips(void) {
    const uint64_t lengths[] = {0, 125, 126, 65535, 65536, (uint64_t)1 << 40};
    size_t i;
    for (i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        ews_frame_header h, back;
        uint8_t buf[EWS_MAX_HEADER_SIZE];
        size_t n = 0, used = 0;
        memset(&h, 0, sizeof h);
        h.fin = 1;
        h.opcode = EWS_OP_BINARY;
        h.masked = 1;
        h.mask_key[0] = 9;
        h.mask_key[3] = 7;
        h.payload_len = lengths[i];
        CHECK_EQ(ews_frame_header_encode(&h, buf, sizeof buf, &n), EWS_OK);
        CHECK_EQ(ews_frame_header_decode(buf, n - 1, &back, &used), 0);
        CHECK_EQ(ews_frame_header_decode(buf, n, &back, &used), 1);
        CHECK_EQ(used, n);
        CHECK_EQ(back.fin, 1);
        CHECK_EQ(back.opcode, EWS_OP_BINARY);
        CHECK_EQ(back.masked, 1);
        CHECK(memcmp(back.mask_key, h.mask_key, 4) == 0);
        CHECK(back.payload_len == lengths[i]);
    }
}

static void decoder_rejects_what_every_frame_must_not_be(void) {
    ews_frame_header h;
    size_t n = 0;
    const uint8_t reserved_opcode[] = {0x83, 0x00};
    const uint8_t long_ping[] = {0x89, 126};
    const uint8_t fragmented_close[] = {0x08, 0x00};
    const uint8_t non_minimal[] = {0x82, 126, 0x00, 0x10};
    CHECK_EQ(ews_frame_header_decode(reserved_opcode, 2, &h, &n), EWS_EPROTO);
    CHECK_EQ(ews_frame_header_decode(long_ping, 2, &h, &n), EWS_EPROTO);
    CHECK_EQ(ews_frame_header_decode(fragmented_close, 2, &h, &n), EWS_EPROTO);
    CHECK_EQ(ews_frame_header_decode(non_minimal, 4, &h, &n), EWS_EPROTO);
}

static void encode_any_opcode_with_fin_and_mask(void) {
    /* RFC 6455 §5.7: a masked "Hello". */
    const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    const uint8_t expected[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    uint8_t payload[5] = {'H', 'e', 'l', 'l', 'o'};
    uint8_t out[16];
    size_t n = 0;
    CHECK_EQ(ews_frame_encode(EWS_OP_TEXT, 1, key, payload, 5, out, sizeof out, &n), EWS_OK);
    CHECK_EQ(n, sizeof expected);
    CHECK(memcmp(out, expected, n) == 0);
    CHECK(memcmp(payload, "Hello", 5) == 0); /* the payload is not modified */
    CHECK_EQ(ews_frame_encode(EWS_OP_TEXT, 1, key, payload, 5, out, n - 1, &n), EWS_ENOSPC);
    /* A reserved opcode and no FIN, for testing peers. */
    CHECK_EQ(ews_frame_encode(0xB, 0, NULL, payload, 5, out, sizeof out, &n), EWS_OK);
    CHECK_EQ(out[0], 0x0B);
    CHECK_EQ(out[1], 5);
    /* Unmask in place, in two pieces. */
    CHECK_EQ(ews_mask(payload, 5, key, 0), EWS_OK);
    CHECK(memcmp(payload, expected + 6, 5) == 0);
    CHECK_EQ(ews_mask(payload, 2, key, 0), EWS_OK);
    CHECK_EQ(ews_mask(payload + 2, 3, key, 2), EWS_OK);
    CHECK(memcmp(payload, "Hello", 5) == 0);
}

static void close_payloads_decode_and_encode(void) {
    uint8_t buf[EWS_MAX_CONTROL_PAYLOAD];
    size_t n = 0, reason_len = 0;
    int code = 0;
    const char *reason = NULL;
    const uint8_t one_byte[] = {0x03};
    const uint8_t code_1005[] = {0x03, 0xED};
    const uint8_t bad_reason[] = {0x03, 0xE8, 0xC3};
    char long_reason[125];

    CHECK_EQ(ews_close_encode(1001, "going", buf, sizeof buf, &n), EWS_OK);
    CHECK_EQ(n, 7);
    CHECK_EQ(ews_close_decode(buf, n, &code, &reason, &reason_len), EWS_OK);
    CHECK_EQ(code, 1001);
    CHECK_MEM(reason, reason_len, "going");
    CHECK_EQ(ews_close_decode(one_byte, 1, &code, &reason, &reason_len), EWS_EPROTO);
    CHECK_EQ(ews_close_decode(code_1005, 2, &code, &reason, &reason_len), EWS_EPROTO);
    CHECK_EQ(ews_close_decode(bad_reason, 3, &code, &reason, &reason_len), EWS_EUTF8);
    CHECK_EQ(ews_close_encode(1006, NULL, buf, sizeof buf, &n), EWS_EINVAL);
    memset(long_reason, 'x', 124);
    long_reason[124] = 0;
    CHECK_EQ(ews_close_encode(1000, long_reason, buf, sizeof buf, &n), EWS_EINVAL);
    long_reason[123] = 0;
    CHECK_EQ(ews_close_encode(1000, long_reason, buf, sizeof buf, &n), EWS_OK);
    CHECK_EQ(n, 125);
    CHECK_EQ(ews_close_code_is_valid(1000), 1);
    CHECK_EQ(ews_close_code_is_valid(1004), 0);
    CHECK_EQ(ews_close_code_is_valid(1014), 1);
    CHECK_EQ(ews_close_code_is_valid(1015), 0);
    CHECK_EQ(ews_close_code_is_valid(4999), 1);
    CHECK_EQ(ews_close_code_is_valid(5000), 0);
    CHECK_EQ(ews_close_code_is_valid(-1000), 0);
}

static void version_and_error_strings(void) {
    CHECK(strcmp(ews_version(), EWS_VERSION_STRING) == 0);
    CHECK(strcmp(ews_strerror(EWS_EPROTO), "protocol error") == 0);
    CHECK(strcmp(ews_strerror(EWS_OK), "success") == 0);
    CHECK(strcmp(ews_strerror(-999), "unknown error") == 0);
}

static unsigned calls;

static int counting_source(void *user, uint8_t *buf, size_t len) {
    size_t i;
    CHECK(user == &calls);
    calls++;
    for (i = 0; i < len; i++) buf[i] = (uint8_t)(0xA0 + i);
    return 0;
}

static int failing_source(void *user, uint8_t *buf, size_t len) {
    (void)user;
    (void)buf;
    (void)len;
    return -1;
}

/* A client connection that is open from the start (no handshake). */
static ews_conn *open_client(void) {
    ews_conn_options opts;
    ews_conn *c = NULL;
    ews_conn_options_init(&opts, sizeof opts);
    opts.no_http = 1;
    CHECK_EQ(ews_conn_new(EWS_ROLE_CLIENT, &opts, &c), EWS_OK);
    return c;
}

/* A source that hands over to the default one from inside its callback. */
static int one_shot_source(void *user, uint8_t *buf, size_t len) {
    (void)user;
    memset(buf, 0x5A, len);
    CHECK_EQ(ews_set_random(NULL, NULL), EWS_OK);
    return 0;
}

static void random_source_may_replace_itself(void) {
    ews_conn *c = open_client();
    const uint8_t *out;
    size_t len;
    CHECK_EQ(ews_set_random(one_shot_source, NULL), EWS_OK);
    CHECK_EQ(ews_conn_send(c, (const uint8_t *)"a", 1, 1), EWS_OK);
    CHECK_EQ(ews_conn_output(c, &out, &len), 1);
    CHECK(out[2] == 0x5A && out[3] == 0x5A && out[4] == 0x5A && out[5] == 0x5A);
    ews_conn_free(c);
}

static void random_hook_supplies_masking_keys(void) {
    ews_conn *c = open_client();
    const uint8_t *out;
    size_t len;
    CHECK_EQ(ews_set_random(counting_source, &calls), EWS_OK);
    CHECK_EQ(ews_conn_send(c, (const uint8_t *)"a", 1, 1), EWS_OK);
    CHECK_EQ(calls, 1);
    CHECK_EQ(ews_conn_output(c, &out, &len), 1);
    CHECK_EQ(len, 7);
    CHECK(out[2] == 0xA0 && out[3] == 0xA1 && out[4] == 0xA2 && out[5] == 0xA3);
    CHECK_EQ(out[6], 'a' ^ 0xA0);
    CHECK_EQ(ews_conn_consume(c, len), EWS_OK);
    CHECK_EQ(ews_set_random(failing_source, NULL), EWS_OK);
    CHECK_EQ(ews_conn_send(c, (const uint8_t *)"a", 1, 1), EWS_EIO);
    CHECK_EQ(ews_set_random(NULL, NULL), EWS_OK);
    CHECK_EQ(ews_conn_send(c, (const uint8_t *)"a", 1, 1), EWS_OK);
    ews_conn_free(c);
}

/* The masking key of the next frame a client sends. */
static void next_key(ews_conn *c, uint8_t key[4]) {
    const uint8_t *out;
    size_t len;
    CHECK_EQ(ews_conn_send(c, (const uint8_t *)"k", 1, 1), EWS_OK);
    CHECK_EQ(ews_conn_output(c, &out, &len), 1);
    CHECK_EQ(len, 7);
    memcpy(key, out + 2, 4);
    CHECK_EQ(ews_conn_consume(c, len), EWS_OK);
}

static void forked_child_draws_fresh_masking_keys(void) {
    ews_conn_options opts;
    ews_conn *c = NULL;
    uint8_t mine[4], theirs[4];
    int fds[2], status = 0;
    pid_t pid;
    ews_conn_options_init(&opts, sizeof opts);
    opts.no_http = 1;
    CHECK_EQ(ews_conn_new(EWS_ROLE_CLIENT, &opts, &c), EWS_OK);
    next_key(c, mine); /* the process now holds random bytes for later keys */
    CHECK(pipe(fds) == 0);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        next_key(c, theirs);
        _exit(write(fds[1], theirs, 4) == 4 ? 0 : 1);
    }
    next_key(c, mine);
    CHECK(read(fds[0], theirs, 4) == 4);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(memcmp(mine, theirs, 4) != 0);
    close(fds[0]);
    close(fds[1]);
    ews_conn_free(c);
}

int main(void) {
    accept_key_matches_rfc_example();
    frame_header_round_trips();
    decoder_rejects_what_every_frame_must_not_be();
    encode_any_opcode_with_fin_and_mask();
    close_payloads_decode_and_encode();
    version_and_error_strings();
    random_hook_supplies_masking_keys();
    random_source_may_replace_itself();
    forked_child_draws_fresh_masking_keys();
    printf("helpers: ok\n");
    return 0;
}
