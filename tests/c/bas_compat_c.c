/* ews_bas.h from C: Barracuda's C names (WSSCB_constructor, WSS_write, ...)
 * on an echo connection. */
#include "testserver.h"
#include "wsclient.h"
#include "ews_bas.h"

typedef struct Client {
    WSSCB cb;
    WSS wss;
} Client;

static int closes;

static void on_frame(WSSCB *o, WSS *wss, void *data, int len, int text) {
    (void)o;
    CHECK(WSS_isValid(wss));
    CHECK_EQ(WSS_write(wss, data, len, text), 0);
}

static void on_close(WSSCB *o, WSS *wss, int status) {
    Client *c = (Client *)o;
    (void)status;
    CHECK(wss == &c->wss);
    closes++;
    WSS_destructor(wss);
    free(c);
}

static SoDisp *disp;

static void service(void *user, HttpRequest *req) {
    Client *c = calloc(1, sizeof *c);
    (void)user;
    WSSCB_constructor(&c->cb, on_frame, on_close, 0);
    WSS_constructor(&c->wss, &c->cb, disp, 1024, 1024);
    if (WSS_upgrade(&c->wss, req) != 0) {
        WSS_destructor(&c->wss);
        free(c);
    }
}

int main(void) {
    int port = start_server(&disp, NULL, service, NULL);
    wsclient cl;
    CHECK_EQ(wsc_open(&cl, port, "/bas"), 0);
    CHECK_EQ(wsc_send(&cl, "hi", 2, 1), 0);
    wsc_expect(&cl, "hi", 2, 1);
    CHECK_EQ(ews_conn_close(cl.conn, 1000, NULL), EWS_OK);
    CHECK_EQ(wsc_flush(&cl), 0);
    CHECK_EQ(wsc_expect_close(&cl), 1000);
    wsc_free(&cl);
    stop_server(disp);
    CHECK_EQ(closes, 1);
    printf("bas_compat_c: ok\n");
    return 0;
}
