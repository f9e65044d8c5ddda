//! A connection handed to the event loop: its socket, its handle, and
//! what the handshake left.

use std::sync::Arc;

use crate::io::socket::Socket;
use crate::proto::handshake::negotiate::Agreement;
use crate::server::wss::Wss;

/// A socket whose WebSocket handshake is done, on its way to the loop.
pub(crate) struct Adopt {
    pub(crate) stream: Socket,
    /// Claimed with `begin_upgrade`, which queued the 101 response if any.
    pub(crate) wss: Arc<Wss>,
    /// What the handshake agreed; `None` when the host did the handshake.
    pub(crate) agreement: Option<Agreement>,
    /// Bytes already read after the handshake.
    pub(crate) leftover: Vec<u8>,
}
