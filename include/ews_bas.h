/*
 * ews_bas.h: Barracuda-style names for the ews server API.
 *
 * Code written for Barracuda's WebSocket server (WSS, WSSCB) compiles
 * against ews with few changes: include this header instead of
 * Barracuda's, create the server with ews_server_new(), and hand requests
 * to WSS_upgrade() from an ews route's service callback. Everything here
 * is a static inline function or a type: the header exports no symbol, so
 * it cannot clash with a host that also links Barracuda.
 *
 * Differences from Barracuda:
 *  - frames are not limited to 0xFFFF bytes (len is an int here, as in
 *    Barracuda's signatures, so one message is limited to INT_MAX bytes: a
 *    longer one, possible only with a message limit over 2 GiB, closes the
 *    connection with 1009; use ews_wss_* directly beyond that);
 *  - the data passed to the frame and ping callbacks must not be modified
 *    (it is NUL-terminated, as Barracuda promises);
 *  - SoDisp is the ews_server, HttpRequest the ews_request a route
 *    receives, and HttpConnection describes a socket whose handshake the
 *    host completed (see WSS_connect()).
 *
 * C++: WSSCB and WSS have Barracuda's constructors and methods, so a
 * connection class can inherit both and delete itself in its close
 * callback (c-examples/bas_echo_server.cpp). They live in namespace
 * ews_bas, brought into the global namespace by using-declarations, so
 * their inline methods (which the compiler may emit as weak symbols) are
 * ews_bas::WSS::write and so on, never Barracuda's own WSS::write.
 */
#ifndef EWS_BAS_H
#define EWS_BAS_H

#include <limits.h>

#include "ews.h"

#ifdef __cplusplus
namespace ews_bas {
extern "C" {
#endif

struct WSSCB;
struct WSS;

/** Barracuda's socket dispatcher: the ews server whose loop runs the connection. */
typedef ews_server SoDisp;
/** Barracuda's HTTP request: the request an ews route's service receives. */
typedef ews_request HttpRequest;

/** A socket whose WebSocket handshake the host completed (for WSS_connect()). */
typedef struct HttpConnection {
    /** The connected socket; ews takes it over. */
    int fd;
    /** Bytes already read after the handshake (or NULL). */
    const void *data;
    /** The number of those bytes. */
    size_t len;
} HttpConnection;

/** A message arrived: data (NUL-terminated, not to be modified), its length, text or binary. */
typedef void (*WSSCB_Frame)(struct WSSCB *o, struct WSS *wss, void *data, int len, int text);
/** A ping arrived (the pong is sent automatically). */
typedef void (*WSSCB_Ping)(struct WSSCB *o, struct WSS *wss, void *data, int len);
/** The connection closed: status > 0 the peer's close code, < 0 an EWS_E* code (dropped). */
typedef void (*WSSCB_Close)(struct WSSCB *o, struct WSS *wss, int status);

/** The callback interface (embed it in the per-connection object and cast back). */
typedef struct WSSCB {
    ews_wsscb base; /* first: ews hands this pointer back, so it is the WSSCB */
    WSSCB_Frame frameFp;
    WSSCB_Close closeFp;
    WSSCB_Ping pingFp;
#ifdef __cplusplus
    WSSCB(WSSCB_Frame frameFp, WSSCB_Close closeFp, WSSCB_Ping pingFp = 0);
#endif
} WSSCB;

/** A WebSocket server connection. */
typedef struct WSS {
    ews_wss *impl;
    struct WSSCB *cb;
    ews_server *disp;
#ifdef __cplusplus
    WSS(WSSCB *cb, SoDisp *disp, int startSize, int expandSize);
    ~WSS();
    int upgrade(HttpRequest *req);
    int connect(HttpConnection *con);
    int write(const void *data, int len, bool isTxt);
    int close(int statusCode = 1000);
    bool isValid();
#endif
} WSS;

static inline void WSSCB_frame_(ews_wsscb *cb, ews_wss *w, const void *data, size_t len, int text) {
    WSSCB *o = (WSSCB *)cb;
    if (len > INT_MAX) {
        /* Only with a message limit over 2 GiB: an int cannot say how long
         * it is, so it is refused (1009) rather than cut short. */
        ews_wss_close(w, 1009, "message too big for an int length");
        return;
    }
    o->frameFp(o, (WSS *)ews_wss_user(w), (void *)data, (int)len, text);
}

static inline void WSSCB_ping_(ews_wsscb *cb, ews_wss *w, const void *data, size_t len) {
    WSSCB *o = (WSSCB *)cb;
    if (o->pingFp) o->pingFp(o, (WSS *)ews_wss_user(w), (void *)data, (int)len);
}

static inline void WSSCB_close_(ews_wsscb *cb, ews_wss *w, int status) {
    WSSCB *o = (WSSCB *)cb;
    o->closeFp(o, (WSS *)ews_wss_user(w), status);
}

/** Sets up the callback interface (Barracuda's WSSCB_constructor). */
static inline void WSSCB_constructor(WSSCB *o, WSSCB_Frame frameFp, WSSCB_Close closeFp, WSSCB_Ping pingFp) {
    ews_wsscb_init(&o->base, sizeof o->base);
    o->base.frame = WSSCB_frame_;
    o->base.close = WSSCB_close_;
    o->base.ping = WSSCB_ping_;
    o->frameFp = frameFp;
    o->closeFp = closeFp;
    o->pingFp = pingFp;
}

/** Sets up a connection (Barracuda's WSS_constructor): received messages are
 * buffered from startSize bytes, growing by expandSize. On failure
 * (invalid arguments) o->impl is NULL and the other calls return
 * EWS_EINVAL. */
static inline void WSS_constructor(WSS *o, WSSCB *cb, SoDisp *disp, int startSize, int expandSize) {
    o->impl = 0;
    o->cb = cb;
    o->disp = disp;
    if (startSize < 0 || expandSize < 0) return;
    if (ews_wss_new(&cb->base, (size_t)startSize, (size_t)expandSize, &o->impl) == EWS_OK)
        ews_wss_set_user(o->impl, o);
}

/** Releases the connection (closing it if open); allowed in its callbacks. */
static inline void WSS_destructor(WSS *o) {
    ews_wss_free(o->impl);
    o->impl = 0;
}

/** Upgrades an HTTP request to this WebSocket connection: 0 or a negative
 * EWS_E* code (the HTTP error has been answered then). */
static inline int WSS_upgrade(WSS *o, HttpRequest *req) {
    return ews_wss_upgrade(o->impl, req);
}

/** Runs a connection whose handshake the host completed: 0 or a negative code. */
static inline int WSS_connect(WSS *o, HttpConnection *con) {
    return ews_wss_connect(o->impl, o->disp, con->fd, con->data, con->len, 0);
}

/** Sends a message (text when isTxt): 0 or a negative EWS_E* code. */
static inline int WSS_write(WSS *o, const void *data, int len, int isTxt) {
    if (len < 0) return EWS_EINVAL;
    return ews_wss_write(o->impl, data, (size_t)len, isTxt);
}

/** Starts the closing handshake with statusCode (1000: normal). */
static inline int WSS_close(WSS *o, int statusCode) {
    return ews_wss_close(o->impl, statusCode, 0);
}

/** Non-zero while the connection is open. */
static inline int WSS_isValid(WSS *o) {
    return ews_wss_is_valid(o->impl);
}

#ifdef __cplusplus
} /* extern "C" */

inline WSSCB::WSSCB(WSSCB_Frame frameFp, WSSCB_Close closeFp, WSSCB_Ping pingFp) {
    WSSCB_constructor(this, frameFp, closeFp, pingFp);
}

inline WSS::WSS(WSSCB *cb, SoDisp *disp, int startSize, int expandSize) {
    WSS_constructor(this, cb, disp, startSize, expandSize);
}

inline WSS::~WSS() {
    WSS_destructor(this);
}

inline int WSS::upgrade(HttpRequest *req) {
    return WSS_upgrade(this, req);
}

inline int WSS::connect(HttpConnection *con) {
    return WSS_connect(this, con);
}

inline int WSS::write(const void *data, int len, bool isTxt) {
    return WSS_write(this, data, len, isTxt ? 1 : 0);
}

inline int WSS::close(int statusCode) {
    return WSS_close(this, statusCode);
}

inline bool WSS::isValid() {
    return WSS_isValid(this) != 0;
}
} /* namespace ews_bas */

using ews_bas::HttpConnection;
using ews_bas::HttpRequest;
using ews_bas::SoDisp;
using ews_bas::WSS;
using ews_bas::WSS_close;
using ews_bas::WSS_connect;
using ews_bas::WSS_constructor;
using ews_bas::WSS_destructor;
using ews_bas::WSS_isValid;
using ews_bas::WSS_upgrade;
using ews_bas::WSS_write;
using ews_bas::WSSCB;
using ews_bas::WSSCB_Close;
using ews_bas::WSSCB_constructor;
using ews_bas::WSSCB_Frame;
using ews_bas::WSSCB_Ping;
#endif

#endif /* EWS_BAS_H */
