/* A server on a service thread for the C tests, listening on a free port
 * of 127.0.0.1. */
#ifndef EWS_TEST_SERVER_H
#define EWS_TEST_SERVER_H

#include "check.h"
#include "ews.h"

/* Starts a server whose every path goes to `service`; returns its port. */
static inline int start_server(ews_server **server, const ews_server_options *opts, ews_service_fn service, void *user) {
    int port;
    CHECK_EQ(ews_server_new(opts, server), EWS_OK);
    port = ews_server_listen(*server, "127.0.0.1:0");
    CHECK(port > 0);
    CHECK_EQ(ews_server_route(*server, "/", 1, service, user), EWS_OK);
    CHECK_EQ(ews_server_start(*server), EWS_OK);
    return port;
}

static inline void stop_server(ews_server *server) {
    CHECK_EQ(ews_server_stop(server), EWS_OK);
    CHECK_EQ(ews_server_join(server), EWS_OK);
    ews_server_free(server);
}

#endif
