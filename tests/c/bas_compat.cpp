/* ews_bas.h from C++, in Barracuda's style: a class inheriting WSSCB and
 * WSS echoes messages and deletes itself in its close callback. */
#include "testserver.h"
#include "wsclient.h"
#include "ews_bas.h"

static int alive, closes, last_status;

class Echo : public WSSCB, public WSS {
public:
    explicit Echo(SoDisp *disp) : WSSCB(onFrame, onClose), WSS(this, disp, 512, 512) { alive++; }
    ~Echo() { alive--; }

private:
    static void onFrame(WSSCB *, WSS *wss, void *data, int len, int text) {
        CHECK(static_cast<char *>(data)[len] == 0); /* NUL-terminated */
        CHECK(wss->isValid());
        CHECK_EQ(wss->write(data, len, text != 0), 0);
        if (len == 4 && memcmp(data, "quit", 4) == 0) CHECK_EQ(wss->close(4321), 0);
    }

    static void onClose(WSSCB *o, WSS *wss, int status) {
        CHECK(!wss->isValid());
        closes++;
        last_status = status;
        delete static_cast<Echo *>(o);
    }
};

static SoDisp *disp;

static void service(void *, HttpRequest *req) {
    Echo *e = new Echo(disp);
    if (e->upgrade(req) != 0) delete e;
}

int main() {
    int port = start_server(&disp, NULL, service, NULL);
    wsclient cl;
    static char big[100000];

    CHECK_EQ(wsc_open(&cl, port, "/bas"), 0);
    CHECK_EQ(wsc_send(&cl, "hello", 5, 1), 0);
    wsc_expect(&cl, "hello", 5, 1);
    memset(big, 'b', sizeof big); /* larger than Barracuda's 0xFFFF limit */
    CHECK_EQ(wsc_send(&cl, big, sizeof big, 0), 0);
    wsc_expect(&cl, big, sizeof big, 0);
    CHECK_EQ(wsc_send(&cl, "quit", 4, 1), 0);
    wsc_expect(&cl, "quit", 4, 1);
    CHECK_EQ(wsc_expect_close(&cl), 4321);
    /* The server closed first, so its close callback runs once it reads
     * the client's answer; it then closes the TCP connection. Wait for
     * that rather than stopping the server while the answer is in flight. */
    {
        ews_event ev;
        CHECK_EQ(wsc_next(&cl, &ev, 5000), -1);
    }
    wsc_free(&cl);
    stop_server(disp);

    CHECK_EQ(closes, 1);
    CHECK_EQ(last_status, 4321);
    CHECK_EQ(alive, 0);
    printf("bas_compat: ok\n");
    return 0;
}
