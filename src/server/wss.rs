//! A server-side WebSocket connection as the host sees it: the handle its
//! callbacks receive, and the sending side that any thread may use.
//!
//! The handle is shared between the host and the event loop. Writes from
//! any thread take the connection's sender lock, encode the frame into its
//! queue and ask the loop to flush; callbacks run on the loop thread.

use std::cell::Cell;
use std::ffi::{CStr, CString};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::proto::handshake::negotiate::Agreement;
use crate::proto::{Opcode, Sender};
use crate::server::listener::Peer;
use crate::server::shared::{Shared, lock};
use crate::server::slab::Key;

/// Why a connection ended, as its close callback learns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseStatus {
    /// The peer's close frame, with its code (1005 when it had none).
    Peer(u16),
    /// The connection failed or dropped (`Error::Dropped` when the socket
    /// closed without a close frame, `Error::Closed` when the server shut
    /// down).
    Failed(Error),
}

/// What a host does with a connection's events. The methods run on the
/// loop thread; they may write to, close or release any connection.
pub trait Handler: Send + Sync {
    /// A whole message. The byte after `data` in memory is a NUL (for C
    /// hosts using text in place); it is not part of the message.
    fn on_frame(&self, wss: &Wss, data: &[u8], text: bool);
    /// A ping (the pong has been queued already).
    fn on_ping(&self, wss: &Wss, data: &[u8]) {
        let _ = (wss, data);
    }
    /// The connection ended. Called exactly once; nothing follows it.
    fn on_close(&self, wss: &Wss, status: CloseStatus);
    /// The send queue has room again after a write returned
    /// [`Error::WouldBlock`].
    fn on_drain(&self, wss: &Wss) {
        let _ = wss;
    }
}

/// Whether a write may wait for room in the send queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Wait up to the server's send timeout. On the loop thread it never
    /// waits: a reply from the connection's own callback is always queued
    /// (the loop stops reading the connection until its queue drains), a
    /// write to another full connection fails with [`Error::WouldBlock`].
    Block,
    /// Fail with [`Error::WouldBlock`] when the queue is over its
    /// high-water mark, in the connection's own callbacks too.
    NoBlock,
}

thread_local! {
    /// The connection whose callback runs on this thread, if any.
    static SERVING: Cell<*const Wss> = const { Cell::new(std::ptr::null()) };
}

const DETACHED: u8 = 0;
const OPEN: u8 = 1;
const CLOSED: u8 = 2;
/// Upgraded, on its way to the loop: writes are queued already.
const UPGRADING: u8 = 3;

/// The host released its handle.
pub(crate) const FREED: u8 = 1;
/// The connection is in the loop's inbox.
pub(crate) const DIRTY: u8 = 2;
/// A writer got `WouldBlock` and waits for `on_drain`.
pub(crate) const DRAIN_WANTED: u8 = 4;
/// A writer is blocked on `writable` (set and cleared under the sender
/// lock; a writer that wakes and still finds no room sets it again).
const WRITER_WAITING: u8 = 8;

/// Where a connection lives: set when the upgrade begins (so the host can
/// ask for its peer, resource and subprotocol at once), with the loop's key
/// once the loop runs it.
pub(crate) struct Link {
    pub(crate) server: Arc<Shared>,
    /// The connection's key in the loop, `NO_KEY` until it runs there.
    key: AtomicU64,
    pub(crate) peer: Option<Peer>,
    /// The send queue's high-water mark (the route's limits).
    pub(crate) high_water: usize,
    /// Shared with the route when the client asked for its exact path.
    pub(crate) resource: Arc<CString>,
    /// Shared with the route's list of subprotocols.
    pub(crate) protocol: Option<Arc<CString>>,
}

const NO_KEY: u64 = u64::MAX;

impl Link {
    pub(crate) fn new(
        server: Arc<Shared>,
        peer: Option<Peer>,
        high_water: usize,
        resource: Arc<CString>,
        protocol: Option<Arc<CString>>,
    ) -> Link {
        Link { server, key: AtomicU64::new(NO_KEY), peer, high_water, resource, protocol }
    }

    fn key(&self) -> Option<Key> {
        match self.key.load(Ordering::Acquire) {
            NO_KEY => None,
            k => Some(Key::from_u64(k)),
        }
    }
}

/// A server-side WebSocket connection (the C type `ews_wss`).
pub struct Wss {
    handler: Arc<dyn Handler>,
    context: usize,
    user: AtomicUsize,
    rx_start: u32,
    rx_expand: u32,
    state: AtomicU8,
    flags: AtomicU8,
    tx: Mutex<Sender>,
    writable: Condvar,
    link: OnceLock<Link>,
}

impl std::fmt::Debug for Wss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wss").field("state", &self.state).field("peer", &self.peer()).finish_non_exhaustive()
    }
}

impl Wss {
    /// A connection object, not yet connected, whose events go to
    /// `handler` with `context` (a C host's callback struct). Messages that
    /// span reads are buffered from `rx_start` bytes, growing by `rx_expand`
    /// (0: the route's limits).
    pub fn new(handler: Arc<dyn Handler>, context: usize, rx_start: u32, rx_expand: u32) -> Arc<Wss> {
        Arc::new(Wss {
            handler,
            context,
            user: AtomicUsize::new(0),
            rx_start,
            rx_expand,
            state: AtomicU8::new(DETACHED),
            flags: AtomicU8::new(0),
            tx: Mutex::new(Sender::new_open(crate::proto::Role::Server)),
            writable: Condvar::new(),
            link: OnceLock::new(),
        })
    }

    /// The context given to [`Wss::new`].
    pub fn context(&self) -> usize {
        self.context
    }

    /// The host's user value (0 until set).
    pub fn user(&self) -> usize {
        self.user.load(Ordering::Relaxed)
    }

    /// Sets the host's user value.
    pub fn set_user(&self, user: usize) {
        self.user.store(user, Ordering::Relaxed);
    }

    /// The receive buffer's start and expand sizes (0: the route's).
    pub(crate) fn rx_sizes(&self) -> (u32, u32) {
        (self.rx_start, self.rx_expand)
    }

    pub(crate) fn handler(&self) -> &dyn Handler {
        &*self.handler
    }

    /// Whether the connection is open (upgraded or connected, its close
    /// callback not run).
    pub fn is_valid(&self) -> bool {
        matches!(self.state.load(Ordering::Acquire), OPEN | UPGRADING)
    }

    /// Whether the handle was already used for a connection.
    pub fn is_attached(&self) -> bool {
        self.state.load(Ordering::Acquire) != DETACHED
    }

    /// The peer's address (TCP connections).
    pub fn peer(&self) -> Option<SocketAddr> {
        self.link.get().and_then(|l| l.peer).map(Peer::addr)
    }

    /// The resource the client requested (path and query).
    pub fn resource(&self) -> Option<&CStr> {
        self.link.get().map(|l| l.resource.as_c_str())
    }

    /// The subprotocol agreed in the handshake.
    pub fn subprotocol(&self) -> Option<&CStr> {
        self.link.get().and_then(|l| l.protocol.as_deref()).map(CString::as_c_str)
    }

    /// Bytes queued for sending and not yet written.
    pub fn queued(&self) -> usize {
        lock(&self.tx).pending_output().len()
    }

    // ----- what the loop does -----

    /// Claims the handle for a connection and queues the `101` answer of
    /// what the handshake agreed (none when the host did the handshake)
    /// ahead of anything the host writes from then on; false if the handle
    /// was used before.
    pub(crate) fn begin_upgrade(&self, agreement: Option<&Agreement>, link: Link) -> bool {
        let mut tx = lock(&self.tx);
        if self.state.load(Ordering::Acquire) != DETACHED || self.link.set(link).is_err() {
            return false;
        }
        self.state.store(UPGRADING, Ordering::Release);
        if let Some(agreement) = agreement {
            agreement.write_response(tx.raw(), &[]);
        }
        true
    }

    /// Connects the handle to its place `key` in the loop; false if it was
    /// not being upgraded.
    pub(crate) fn attach(&self, key: Key) -> bool {
        let _tx = lock(&self.tx);
        let Some(link) = self.link.get() else { return false };
        if self.state.load(Ordering::Acquire) != UPGRADING {
            return false;
        }
        link.key.store(key.as_u64(), Ordering::Release);
        self.state.store(OPEN, Ordering::Release);
        true
    }

    /// Marks the connection closed and wakes blocked writers; returns
    /// whether it was open (so the close callback is due).
    pub(crate) fn mark_closed(&self) -> bool {
        let was_open = matches!(self.state.swap(CLOSED, Ordering::AcqRel), OPEN | UPGRADING);
        let _tx = lock(&self.tx);
        self.writable.notify_all();
        was_open
    }

    pub(crate) fn flags(&self) -> u8 {
        self.flags.load(Ordering::Acquire)
    }

    pub(crate) fn clear_flag(&self, flag: u8) -> bool {
        self.flags.fetch_and(!flag, Ordering::AcqRel) & flag != 0
    }

    /// Runs `f` on the sender under its lock.
    pub(crate) fn with_sender<R>(&self, f: impl FnOnce(&mut Sender) -> R) -> R {
        f(&mut lock(&self.tx))
    }

    /// Runs `f` on the sender under its lock, then wakes writers waiting
    /// for room if the queue is below `high_water`.
    pub(crate) fn with_sender_notify<R>(&self, high_water: usize, f: impl FnOnce(&mut Sender) -> R) -> R {
        let mut tx = lock(&self.tx);
        let r = f(&mut tx);
        if self.flags() & WRITER_WAITING != 0 && tx.pending_output().len() < high_water {
            self.flags.fetch_and(!WRITER_WAITING, Ordering::AcqRel);
            self.writable.notify_all();
        }
        r
    }

    // ----- what the host does, from any thread -----

    /// Queues a whole message (text must be UTF-8).
    pub fn write(&self, data: &[u8], text: bool, wait: Wait) -> Result<()> {
        self.send(wait, false, |s| s.send(text, data))
    }

    /// Queues one frame (for streaming a large message in pieces, or a
    /// ping or pong); see [`Sender::send_frame`].
    pub fn write_frame(&self, opcode: Opcode, fin: bool, data: &[u8], wait: Wait) -> Result<()> {
        self.send(wait, opcode.is_control(), |s| s.send_frame(opcode, fin, data))
    }

    /// Starts the closing handshake with `code` (0: none) and `reason`.
    pub fn close(&self, code: u16, reason: &str) -> Result<()> {
        self.send(Wait::NoBlock, true, |s| s.close(code, reason))
    }

    /// The host lets go of its handle: no callback runs afterwards, and an
    /// open connection is closed (1001, going away).
    pub fn release(&self) {
        self.flags.fetch_or(FREED, Ordering::AcqRel);
        if self.is_valid() {
            self.schedule_flush();
        }
    }

    fn send(&self, wait: Wait, control: bool, f: impl FnOnce(&mut Sender) -> Result<()>) -> Result<()> {
        let mut tx = lock(&self.tx);
        let link = match (self.state.load(Ordering::Acquire), self.link.get()) {
            // Upgraded but not yet running (UPGRADING) queues like an open
            // connection, within the same high-water mark; the loop
            // flushes the queue once it takes the connection over.
            (OPEN | UPGRADING, Some(link)) => link,
            (UPGRADING | CLOSED, _) => return Err(Error::Closed),
            _ => return Err(Error::State(c"the connection is not connected")),
        };
        let options = &link.server.options;
        let high_water = link.high_water;
        let on_loop = link.server.on_loop_thread();
        // A blocking reply to the input being processed is always taken:
        // the loop stops reading from a connection whose queue is full,
        // which bounds it; anything else, a non-blocking write included,
        // waits for room or fails.
        let serving = serving(self);
        let exempt = control || (serving && wait == Wait::Block);
        let mut deadline = None;
        loop {
            let closing = tx.close_sent() || tx.failed();
            let running = matches!(self.state.load(Ordering::Acquire), OPEN | UPGRADING);
            if closing || !running || self.flags() & FREED != 0 {
                return Err(Error::Closed);
            }
            if exempt || tx.pending_output().len() < high_water {
                break;
            }
            if on_loop || wait == Wait::NoBlock {
                self.flags.fetch_or(DRAIN_WANTED, Ordering::AcqRel);
                return Err(Error::WouldBlock);
            }
            if options.send_timeout_ms > 0 && deadline.is_none() {
                deadline = Some(Instant::now() + Duration::from_millis(options.send_timeout_ms.into()));
            }
            self.flags.fetch_or(WRITER_WAITING, Ordering::AcqRel);
            tx = match deadline {
                None => self.writable.wait(tx).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Error::SendTimeout);
                    }
                    self.writable.wait_timeout(tx, left).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        }
        f(&mut tx)?;
        drop(tx);
        // The loop flushes the connection it serves once the callback
        // returns; others are put in its inbox.
        if !serving {
            self.schedule_flush();
        }
        Ok(())
    }

    /// Puts the connection in the loop's inbox (once until the loop takes it).
    pub(crate) fn schedule_flush(&self) {
        // Before the loop runs the connection there is nothing to flush: it
        // writes the queue out when it takes the connection over.
        let Some((link, key)) = self.link.get().and_then(|l| Some((l, l.key()?))) else { return };
        if self.flags.fetch_or(DIRTY, Ordering::AcqRel) & DIRTY == 0 {
            link.server.post(|inbox| inbox.dirty.push(key));
        }
    }
}

/// Whether the calling thread is inside a callback of `wss`.
pub(crate) fn serving(wss: &Wss) -> bool {
    SERVING.with(|s| std::ptr::eq(s.get(), wss))
}

/// Runs `f` with `wss` marked as the connection being served.
pub(crate) fn serve<R>(wss: &Wss, f: impl FnOnce() -> R) -> R {
    let prev = SERVING.with(|s| s.replace(wss));
    let r = f();
    SERVING.with(|s| s.set(prev));
    r
}
