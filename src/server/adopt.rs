//! A connection handed to the event loop: its socket, its handle, and
//! what the handshake left.

use std::sync::{Arc, Mutex};

use crate::io::socket::Socket;
use crate::proto::handshake::negotiate::Agreement;
use crate::server::shared::lock;
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

/// Connections handed to the loop by other threads, waiting for it to
/// take them over (apart from the inbox the connections share, which
/// knows nothing of them).
#[derive(Default)]
pub(crate) struct Handovers(Mutex<Vec<Adopt>>);

impl Handovers {
    pub(crate) fn push(&self, adopt: Adopt) {
        lock(&self.0).push(adopt);
    }

    pub(crate) fn take(&self) -> Vec<Adopt> {
        std::mem::take(&mut lock(&self.0))
    }

    pub(crate) fn is_empty(&self) -> bool {
        lock(&self.0).is_empty()
    }
}
