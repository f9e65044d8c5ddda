/*
 * bas_echo_server.cpp: an echo server written in Barracuda's style, on
 * ews through the compatibility header ews_bas.h.
 *
 *   bas_echo_server [port]      (default 9002)
 *
 * As in Barracuda's examples, the connection class inherits the callback
 * interface (WSSCB) and the connection (WSS), and deletes itself in its
 * close callback. Only the server setup is ews's own: a route whose
 * service upgrades the request.
 */
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "ews_bas.h"

class EchoConnection : public WSSCB, public WSS {
public:
    explicit EchoConnection(SoDisp *disp) : WSSCB(onFrame, onClose, onPing), WSS(this, disp, 4096, 4096) {}

private:
    static void onFrame(WSSCB *o, WSS *wss, void *data, int len, int text) {
        (void)o;
        wss->write(data, len, text != 0);
    }

    static void onPing(WSSCB *o, WSS *wss, void *data, int len) {
        (void)o;
        (void)wss;
        std::printf("ping with %d bytes (pong sent)\n", len);
        (void)data;
    }

    static void onClose(WSSCB *o, WSS *wss, int status) {
        (void)wss;
        if (status > 0)
            std::printf("closed by the client with %d\n", status);
        else
            std::printf("dropped: %s\n", ews_strerror(status));
        delete static_cast<EchoConnection *>(o); /* deferred teardown makes this safe */
    }
};

static SoDisp *dispatcher;

static void service(void *user, HttpRequest *req) {
    (void)user;
    EchoConnection *c = new EchoConnection(dispatcher);
    if (c->upgrade(req) != 0) delete c; /* the HTTP error was answered */
}

static void onSignal(int) {
    ews_server_stop(dispatcher);
}

int main(int argc, char **argv) {
    char addr[64];
    std::snprintf(addr, sizeof addr, "127.0.0.1:%s", argc > 1 ? argv[1] : "9002");
    if (ews_server_new(0, &dispatcher) != EWS_OK) return 1;
    int port = ews_server_listen(dispatcher, addr);
    if (port < 0 || ews_server_route(dispatcher, "/", 1, service, 0) != EWS_OK) {
        std::fprintf(stderr, "bas_echo_server: cannot listen on %s: %s\n", addr, ews_strerror(port));
        ews_server_free(dispatcher);
        return 1;
    }
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    std::printf("bas_echo_server: listening on port %d\n", port);
    std::fflush(stdout);
    int rc = ews_server_run(dispatcher);
    ews_server_free(dispatcher);
    return rc == EWS_OK ? 0 : 1;
}
