//! Options of a server.

use crate::proto::Limits;

/// Options of a server. `ServerOptions::default()` gives the defaults
/// listed per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerOptions {
    /// Limits for every connection (routes may override them).
    pub limits: Limits,
    /// The most connections open at once, WebSocket and HTTP together
    /// (default 100000). Connections beyond it are answered 503 and closed.
    pub max_connections: u32,
    /// The most connections still in their HTTP handshake (default 1024).
    /// Connections beyond it are answered 503 and closed. Sockets the host
    /// hands over ([`Server::connect`](crate::server::Server::connect),
    /// [`Server::upgrade_fd`](crate::server::Server::upgrade_fd)) were accepted
    /// by the host already: neither limit refuses them.
    pub max_pending: u32,
    /// How long a blocking write waits for room in a full send queue, in
    /// milliseconds (default 10000; 0: forever).
    pub send_timeout_ms: u32,
    /// Send a ping after this many milliseconds without input (0: no
    /// keepalive, the default).
    pub keepalive_interval_ms: u32,
    /// Drop the connection when no pong follows a keepalive ping within this
    /// many milliseconds (0: the interval).
    pub keepalive_timeout_ms: u32,
    /// The size of the read buffer the loop shares between connections
    /// (default 65536).
    pub read_buffer_size: u32,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            limits: Limits::default(),
            max_connections: 100_000,
            max_pending: 1024,
            send_timeout_ms: 10_000,
            keepalive_interval_ms: 0,
            keepalive_timeout_ms: 0,
            read_buffer_size: 64 << 10,
        }
    }
}
