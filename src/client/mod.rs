//! The URL client: connects to a `ws://` URL, does the opening handshake
//! and reports what happens to a [`Handler`] (the shape of verawebsockets).
//!
//! A [`Client`] runs in one of two ways:
//! - standalone: [`Client::start`] starts a service thread that connects
//!   and runs the client until it is finished; [`Client::join`] waits for it;
//! - host-driven: [`Client::connect`] starts connecting and the host calls
//!   [`Client::service`] from its own thread or event loop, polling
//!   [`Client::fd`] for readability until [`Client::next_deadline`].
//!
//! The handler runs on the thread that services the client. [`Client::send`]
//! and [`Client::close`] are safe from any thread, handlers included.
//! With [`Options::reconnect`] the client reconnects after losing its
//! connection, with exponential backoff, until the host closes it.

mod backoff;
mod connect;
mod runner;

pub use backoff::Reconnect;

use std::cell::Cell;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use mio::{Poll, Token, Waker};

use crate::error::{Error, Result};
use crate::io::uri;
use crate::proto::close::encode_close_payload;
use crate::proto::frame::MAX_CONTROL_PAYLOAD;
use crate::proto::handshake::client::ClientOptions;
use crate::proto::{Config, Role, Sender};
use runner::Runner;

/// What a host does with a client's events. Every method runs on the
/// thread servicing the client and may call [`Client::send`],
/// [`Client::close`] and [`Client::stop`].
pub trait Handler: Send {
    /// The opening handshake completed: messages can be sent.
    fn established(&mut self, client: &Client) {
        let _ = client;
    }

    /// A whole message (`first` and `last` both set), or in streaming mode
    /// a piece of one.
    fn receive(&mut self, client: &Client, data: &[u8], text: bool, first: bool, last: bool);

    /// An established connection ended: `clean` after the closing
    /// handshake, with the peer's close code (1005 when it sent none) and
    /// reason; otherwise the code sent on failure (1002, 1007, 1009) or
    /// 1006, and the failure's description ([`Error::detail`]) as reason.
    /// Called once per established connection.
    fn closed(&mut self, client: &Client, code: u16, reason: &str, clean: bool);

    /// An attempt to connect failed before the connection was established:
    /// name resolution, the TCP connect, or the opening handshake.
    /// `error.detail()` is the reason ("name resolution failed",
    /// "connection refused", "HS: Accept hash wrong", ...).
    fn connection_error(&mut self, client: &Client, error: Error);
}

/// TLS settings for `wss://` URLs: accepted now, used once TLS is built in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// CA certificates to verify the server with (PEM); none: the system's.
    pub ca_file: Option<PathBuf>,
    /// The client certificate to present (PEM).
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key_file: Option<PathBuf>,
}

/// How a client connects and behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Limits (the handshake timeout among them), streaming and keepalive.
    pub config: Config,
    /// Subprotocols to offer, in order of preference.
    pub protocols: Vec<String>,
    /// Extra request header fields (authorization, cookies, ...).
    pub headers: Vec<(String, String)>,
    /// The `Origin` value, if any.
    pub origin: Option<String>,
    /// Milliseconds for name resolution and the TCP connect together
    /// (default 10000; 0: no limit).
    pub connect_timeout_ms: u32,
    /// Reconnect after losing the connection (default: no).
    pub reconnect: Option<Reconnect>,
    /// TLS settings for `wss://`.
    pub tls: TlsSettings,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            config: Config::default(),
            protocols: Vec::new(),
            headers: Vec::new(),
            origin: None,
            connect_timeout_ms: 10_000,
            reconnect: None,
            tls: TlsSettings::default(),
        }
    }
}

/// Where a client stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// Not started yet.
    Idle,
    /// Resolving, connecting or in the opening handshake.
    Connecting,
    /// Open: messages flow.
    Open,
    /// The closing handshake is under way.
    Closing,
    /// Waiting to reconnect.
    Waiting,
    /// Done: closed by the host, or failed without reconnection.
    Finished,
}

const WAKER: Token = Token(1);

thread_local! {
    /// The client whose service runs on this thread, if any.
    static SERVICING: Cell<*const Inner> = const { Cell::new(std::ptr::null()) };
}

/// What other threads share with the service: the sending half of the
/// current connection and the requests for the loop.
pub(crate) struct Tx {
    /// The current connection's sender (a closed placeholder between connections).
    pub(crate) sender: Sender,
    /// The host closed the client: no more reconnections.
    pub(crate) closed_by_host: bool,
}

pub(crate) struct Inner {
    runner: Mutex<Runner>,
    tx: Mutex<Tx>,
    waker: Arc<Waker>,
    poll_fd: RawFd,
    /// The next time the client needs servicing (-1: none), on `now_ms`.
    next_deadline: AtomicI64,
    state: Mutex<ClientState>,
    subprotocol: Mutex<Option<String>>,
    /// The host released the client: stop at once, no more callbacks.
    stop: AtomicBool,
    /// A service thread runs the client.
    standalone: AtomicBool,
    /// `connect` was called: checked before the runner lock, which a
    /// service thread holds while it waits for events.
    started: AtomicBool,
    thread: Mutex<ServiceThread>,
    /// Signalled when the service thread was joined.
    joined: Condvar,
    high_water: usize,
}

/// The service thread of a standalone client.
enum ServiceThread {
    /// Not started with `start`.
    None,
    Running(JoinHandle<()>),
    /// A thread is joining it; others wait for `joined`.
    Joining,
    Done,
}

/// Locks a mutex, ignoring poisoning (a panicking handler must not take
/// the client down with it).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A WebSocket client for one URL. Clones refer to the same client.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("state", &self.state()).finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `url` (`ws://host[:port]/path?query`; IPv4, `[IPv6]`
    /// and names; port 80 by default). Nothing happens until
    /// [`start`](Client::start) or [`connect`](Client::connect).
    ///
    /// Fails with [`Error::Invalid`] for a bad URL or option and
    /// [`Error::NotSupported`] for `wss://` (TLS is not built in yet).
    pub fn new(url: &str, options: Options, handler: Box<dyn Handler>) -> Result<Client> {
        let parsed = uri::parse(url)?;
        if parsed.secure {
            return Err(Error::NotSupported(c"wss:// (TLS) is not supported by this build"));
        }
        let handshake = ClientOptions {
            resource: parsed.resource.to_owned(),
            host: parsed.host_header(),
            origin: options.origin.clone(),
            protocols: options.protocols.clone(),
            headers: options.headers.clone(),
        };
        handshake.check()?;
        if !options.config.limits.is_valid() {
            return Err(Error::Invalid(c"a size limit is 0"));
        }
        let poll = Poll::new().map_err(Error::from)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(Error::from)?);
        let poll_fd = poll.as_raw_fd();
        let high_water = usize::try_from(options.config.limits.send_queue_bytes).unwrap_or(usize::MAX);
        let target = runner::Target { host: parsed.host.to_owned(), port: parsed.port, handshake };
        let runner = Runner::new(poll, waker.clone(), target, options, handler);
        Ok(Client {
            inner: Arc::new(Inner {
                runner: Mutex::new(runner),
                tx: Mutex::new(Tx { sender: Sender::new(Role::Client), closed_by_host: false }),
                waker,
                poll_fd,
                next_deadline: AtomicI64::new(-1),
                state: Mutex::new(ClientState::Idle),
                subprotocol: Mutex::new(None),
                stop: AtomicBool::new(false),
                standalone: AtomicBool::new(false),
                started: AtomicBool::new(false),
                thread: Mutex::new(ServiceThread::None),
                joined: Condvar::new(),
                high_water,
            }),
        })
    }

    fn on_service_thread(&self) -> bool {
        SERVICING.with(|s| std::ptr::eq(s.get(), Arc::as_ptr(&self.inner)))
    }

    /// Host-driven mode: starts connecting; then call
    /// [`service`](Client::service) until it returns `false`.
    pub fn connect(&self) -> Result<()> {
        self.claim_start()?;
        lock(&self.inner.runner).begin(self)
    }

    /// Marks the client started, once: checked before the runner lock,
    /// which a service thread holds while it waits for events.
    fn claim_start(&self) -> Result<()> {
        if self.on_service_thread() {
            return Err(Error::State(c"not from a handler"));
        }
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return Err(Error::State(c"the client was started already"));
        }
        Ok(())
    }

    /// Standalone mode: starts a service thread that connects and runs the
    /// client until it is finished (closed, or failed without
    /// reconnection). [`join`](Client::join) waits for it.
    pub fn start(&self) -> Result<()> {
        self.claim_start()?;
        // Standalone before the first attempt exists: no service() call
        // from another thread slips in between.
        self.inner.standalone.store(true, Ordering::Release);
        lock(&self.inner.runner).begin(self)?;
        let client = self.clone();
        // Held while spawning, so that join() finds the thread.
        let mut slot = lock(&self.inner.thread);
        let thread = std::thread::Builder::new()
            .name("ews-client".into())
            .spawn(move || while let Ok(true) = client.run_service(-1) {})
            .map_err(Error::from)?;
        *slot = ServiceThread::Running(thread);
        Ok(())
    }

    /// Waits for the service thread started by [`start`](Client::start)
    /// to finish. Not from a handler. Any number of threads may wait at
    /// once; each returns once the thread has ended.
    pub fn join(&self) -> Result<()> {
        if self.on_service_thread() {
            return Err(Error::State(c"not from a handler"));
        }
        let mut slot = lock(&self.inner.thread);
        loop {
            match std::mem::replace(&mut *slot, ServiceThread::Joining) {
                ServiceThread::Running(thread) => {
                    drop(slot);
                    let _ = thread.join();
                    *lock(&self.inner.thread) = ServiceThread::Done;
                    self.inner.joined.notify_all();
                    return Ok(());
                }
                ServiceThread::Joining => slot = self.inner.joined.wait(slot).unwrap_or_else(|e| e.into_inner()),
                ServiceThread::Done => {
                    *slot = ServiceThread::Done;
                    return Ok(());
                }
                ServiceThread::None => {
                    *slot = ServiceThread::None;
                    return Err(Error::State(c"the client was not started with start()"));
                }
            }
        }
    }

    /// Host-driven mode: handles what is ready, waiting up to `timeout_ms`
    /// (0: not at all, negative: until something happens) when nothing is.
    /// Returns whether the client still runs (`false` once finished). Not
    /// from a handler, nor while a service thread runs the client.
    pub fn service(&self, timeout_ms: i64) -> Result<bool> {
        if self.inner.standalone.load(Ordering::Acquire) {
            return Err(Error::State(c"a service thread runs this client"));
        }
        self.run_service(timeout_ms)
    }

    fn run_service(&self, timeout_ms: i64) -> Result<bool> {
        if self.on_service_thread() {
            return Err(Error::State(c"not from a handler"));
        }
        let mut runner = lock(&self.inner.runner);
        if runner.is_idle() {
            return Err(Error::State(c"the client was not started: call connect() first"));
        }
        let prev = SERVICING.with(|s| s.replace(Arc::as_ptr(&self.inner)));
        let running = runner.service(self, timeout_ms);
        SERVICING.with(|s| s.set(prev));
        Ok(running)
    }

    /// A descriptor that becomes readable when the client needs
    /// [`service`](Client::service) (host-driven mode).
    pub fn fd(&self) -> RawFd {
        self.inner.poll_fd
    }

    /// When the client next needs servicing even if [`fd`](Client::fd)
    /// stays quiet, in milliseconds on the
    /// [`now_ms`](crate::io::stream::now_ms) clock; `None`: only when the
    /// descriptor is readable.
    pub fn next_deadline(&self) -> Option<i64> {
        let t = self.inner.next_deadline.load(Ordering::Acquire);
        (t >= 0).then_some(t)
    }

    /// Where the client stands.
    pub fn state(&self) -> ClientState {
        *lock(&self.inner.state)
    }

    /// The subprotocol the server chose for the current connection, if any.
    pub fn subprotocol(&self) -> Option<String> {
        lock(&self.inner.subprotocol).clone()
    }

    /// Queues a message (text must be UTF-8). Safe from any thread.
    ///
    /// Fails with [`Error::State`] when not open, [`Error::WouldBlock`]
    /// when the bytes still queued are at the send queue limit
    /// (`send_queue_bytes`; try again later), [`Error::Invalid`] for text
    /// that is not UTF-8.
    pub fn send(&self, text: bool, data: &[u8]) -> Result<()> {
        {
            let mut tx = lock(&self.inner.tx);
            if tx.sender.pending_output().len() >= self.inner.high_water && tx.sender.is_open() {
                return Err(Error::WouldBlock);
            }
            tx.sender.send(text, data)?;
        }
        self.wake();
        Ok(())
    }

    /// Queues a ping with up to 125 bytes of payload. Safe from any thread.
    pub fn ping(&self, data: &[u8]) -> Result<()> {
        lock(&self.inner.tx).sender.ping(data)?;
        self.wake();
        Ok(())
    }

    /// Closes the client: starts the closing handshake with `code` (0: none)
    /// and `reason` when open, abandons the attempt under way otherwise,
    /// and turns reconnection off. The handler's `closed` follows for an
    /// open connection. Safe from any thread; closing twice is harmless.
    pub fn close(&self, code: u16, reason: &str) -> Result<()> {
        // The code and reason are checked even when no frame is sent.
        encode_close_payload(code, reason, &mut [0u8; MAX_CONTROL_PAYLOAD])?;
        {
            let mut tx = lock(&self.inner.tx);
            if tx.sender.is_open() {
                tx.sender.close(code, reason)?;
            }
            tx.closed_by_host = true;
        }
        self.wake();
        Ok(())
    }

    /// Stops the client at once, without a closing handshake or any
    /// further handler call, and ends the service thread. Safe from any
    /// thread and from a handler.
    pub fn stop(&self) {
        self.inner.stop.store(true, Ordering::Release);
        lock(&self.inner.tx).closed_by_host = true;
        self.wake();
    }

    fn wake(&self) {
        if !self.on_service_thread() {
            let _ = self.inner.waker.wake();
        }
    }

    // ----- for the runner -----

    pub(crate) fn tx(&self) -> MutexGuard<'_, Tx> {
        lock(&self.inner.tx)
    }

    pub(crate) fn stopped(&self) -> bool {
        self.inner.stop.load(Ordering::Acquire)
    }

    pub(crate) fn set_state(&self, state: ClientState) {
        *lock(&self.inner.state) = state;
    }

    pub(crate) fn set_subprotocol(&self, p: Option<&str>) {
        *lock(&self.inner.subprotocol) = p.map(str::to_owned);
    }

    pub(crate) fn set_next_deadline(&self, t: Option<i64>) {
        self.inner.next_deadline.store(t.unwrap_or(-1), Ordering::Release);
    }
}
