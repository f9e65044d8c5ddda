//! A connection handed to the event loop: its socket, its handle, and
//! what the handshake left.

use std::sync::atomic::{AtomicBool, Ordering};
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
/// knows nothing of them). The loop looks at a flag each turn and takes
/// the lock only when something was handed over.
#[derive(Default)]
pub(crate) struct Handovers {
    queue: Mutex<Vec<Adopt>>,
    /// Set after a push; a turn that finds it set takes the queue.
    waiting: AtomicBool,
}

impl Handovers {
    pub(crate) fn push(&self, adopt: Adopt) {
        lock(&self.queue).push(adopt);
        self.waiting.store(true, Ordering::Release);
    }

    pub(crate) fn take(&self) -> Vec<Adopt> {
        if !self.waiting.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        std::mem::take(&mut lock(&self.queue))
    }

    pub(crate) fn is_empty(&self) -> bool {
        !self.waiting.load(Ordering::Acquire)
    }
}
