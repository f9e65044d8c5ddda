//! The client's service loop: resolve, connect, handshake, exchange,
//! close, and wait to reconnect, one step per call to `service`.
//!
//! Only the thread servicing the client touches the runner. The sending
//! half of the current connection lives in the client's `Tx`, behind a
//! lock other threads take to send; the runner takes it to read (the
//! protocol answers pings and close frames through it) and to write, and
//! never holds it while a handler runs.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::client::backoff::Backoff;
use crate::client::connect::{Slot, connect_error, resolve};
use crate::client::{Client, ClientState, Handler, Options, lock};
use crate::engine::{self, Failure, Flow, Sink, TxAccess};
use crate::error::Error;
use crate::io::socket::Socket;
use crate::io::stream::now_ms;
use crate::io::transport::{self, Input, Transport, dropped};
use crate::log::log;
use crate::proto::close::ABNORMAL;
use crate::proto::handshake::client::ClientOptions;
use crate::proto::{Config, Role, Sender, Session, State};

const STREAM: Token = Token(0);

/// Bytes read at a time.
const READ_SIZE: usize = 64 << 10;

/// Reads per service call before the host gets its thread back.
const READS_PER_CALL: usize = 16;

/// Where to connect and what to ask for.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The host to resolve (an IPv6 literal without brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) handshake: ClientOptions,
}

enum Phase {
    Idle,
    /// Started: the first service call makes the first attempt (so that
    /// handlers only ever run inside service calls).
    Starting,
    Resolving {
        slot: Slot,
        deadline: Option<i64>,
    },
    Connecting {
        stream: TcpStream,
        addrs: Vec<SocketAddr>,
        next: usize,
        deadline: Option<i64>,
    },
    Connected(Box<Connected>),
    Waiting {
        until: i64,
    },
    Finished,
}

struct Connected {
    stream: Socket,
    session: Session,
    /// The handler heard `established`.
    established: bool,
    /// The peer's close frame.
    peer_close: Option<(u16, String)>,
    /// Edge-triggered readiness: input may be left unread.
    readable: bool,
}

/// How a connection ended.
enum End {
    /// After the closing handshake.
    Clean,
    /// Failed.
    Failed(Error),
}

pub(crate) struct Runner {
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
    target: Target,
    config: Arc<Config>,
    connect_timeout_ms: u32,
    backoff: Option<Backoff>,
    handler: Box<dyn Handler>,
    phase: Phase,
    rbuf: Vec<u8>,
}

fn deadline_after(ms: u32) -> Option<i64> {
    (ms != 0).then(|| now_ms() + i64::from(ms))
}

fn passed(deadline: Option<i64>, now: i64) -> bool {
    deadline.is_some_and(|d| now >= d)
}

impl Runner {
    pub(crate) fn new(
        poll: Poll,
        waker: Arc<Waker>,
        target: Target,
        options: Options,
        handler: Box<dyn Handler>,
    ) -> Runner {
        Runner {
            poll,
            events: Events::with_capacity(8),
            waker,
            target,
            config: Arc::new(options.config),
            connect_timeout_ms: options.connect_timeout_ms,
            backoff: options.reconnect.map(Backoff::new),
            handler,
            phase: Phase::Idle,
            rbuf: Vec::new(),
        }
    }

    /// Whether the client was not started yet.
    pub(crate) fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Idle)
    }

    /// Starts the first attempt.
    pub(crate) fn begin(&mut self, client: &Client) -> crate::Result<()> {
        if !matches!(self.phase, Phase::Idle) {
            return Err(Error::State(c"the client was started already"));
        }
        self.phase = Phase::Starting;
        self.publish(client, now_ms());
        let _ = self.waker.wake();
        Ok(())
    }

    /// One step: waits up to `timeout_ms` (negative: no limit) unless work
    /// is ready, then does what is due. Returns whether the client runs on.
    pub(crate) fn service(&mut self, client: &Client, timeout_ms: i64) -> bool {
        match self.phase {
            Phase::Idle => return true,
            Phase::Finished => return false,
            _ => {}
        }
        if client.stopped() {
            self.finish(client);
            self.publish(client, now_ms());
            return false;
        }
        let mut wait = self.wait_ms(now_ms());
        if timeout_ms >= 0 {
            wait = Some(wait.map_or(timeout_ms, |w| w.min(timeout_ms)));
        }
        let timeout = wait.map(|ms| Duration::from_millis(ms.max(0) as u64));
        let mut readable = false;
        let mut writable = false;
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {
                for ev in self.events.iter() {
                    if ev.token() == STREAM {
                        readable |= ev.is_readable() || ev.is_read_closed() || ev.is_error();
                        writable |= ev.is_writable() || ev.is_write_closed() || ev.is_error();
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => log!(Error, "client: poll failed: {e}"),
        }
        let now = now_ms();
        self.step(client, now, readable, writable);
        if client.stopped() {
            self.finish(client);
        }
        self.publish(client, now);
        !matches!(self.phase, Phase::Finished)
    }

    /// Milliseconds until something is due (`None`: nothing is timed).
    fn wait_ms(&self, now: i64) -> Option<i64> {
        self.next_due(now).map(|t| (t - now).max(0))
    }

    fn next_due(&self, now: i64) -> Option<i64> {
        match &self.phase {
            Phase::Idle | Phase::Finished => None,
            Phase::Starting => Some(now),
            Phase::Resolving { deadline, .. } | Phase::Connecting { deadline, .. } => *deadline,
            Phase::Waiting { until } => Some(*until),
            Phase::Connected(c) if c.readable => Some(now),
            Phase::Connected(c) => c.session.next_deadline().map(|t| if t == 0 { now } else { t as i64 }),
        }
    }

    /// Tells other threads the state and when to service next.
    fn publish(&self, client: &Client, now: i64) {
        let state = match &self.phase {
            Phase::Idle => ClientState::Idle,
            Phase::Starting | Phase::Resolving { .. } | Phase::Connecting { .. } => ClientState::Connecting,
            Phase::Connected(c) => match c.session.state() {
                State::Connecting | State::Requested => ClientState::Connecting,
                State::Open => ClientState::Open,
                _ => ClientState::Closing,
            },
            Phase::Waiting { .. } => ClientState::Waiting,
            Phase::Finished => ClientState::Finished,
        };
        client.set_state(state);
        client.set_next_deadline(self.next_due(now));
    }

    fn step(&mut self, client: &Client, now: i64, readable: bool, writable: bool) {
        if client.stopped() {
            self.finish(client);
            return;
        }
        let closed_by_host = client.tx().closed_by_host;
        let open = matches!(&self.phase, Phase::Connected(c) if c.established);
        if closed_by_host && !open && !matches!(self.phase, Phase::Finished) {
            // Closing before the connection opened abandons the attempt.
            self.finish(client);
            return;
        }
        match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Idle => {}
            Phase::Finished => self.phase = Phase::Finished,
            Phase::Starting => self.attempt(client, now),
            Phase::Waiting { until } if now >= until => self.attempt(client, now),
            p @ Phase::Waiting { .. } => self.phase = p,
            Phase::Resolving { slot, deadline } => {
                let result = lock(&slot).take();
                match result {
                    Some(Ok(addrs)) => self.connect_to(client, addrs, 0, deadline, Error::Resolve),
                    Some(Err(e)) => self.attempt_failed(client, e),
                    None if passed(deadline, now) => self.attempt_failed(client, Error::ConnectTimeout),
                    None => self.phase = Phase::Resolving { slot, deadline },
                }
            }
            Phase::Connecting { stream, addrs, next, deadline } => {
                self.connecting(client, stream, addrs, next, deadline, now, readable || writable)
            }
            Phase::Connected(mut c) => {
                c.readable |= readable;
                match self.exchange(client, &mut c, now) {
                    None => self.phase = Phase::Connected(c),
                    Some(end) => self.ended(client, &mut c, end),
                }
            }
        }
    }

    // ----- connecting -----

    /// Starts an attempt: resolution, then the connect.
    fn attempt(&mut self, client: &Client, now: i64) {
        let deadline = deadline_after(self.connect_timeout_ms);
        log!(Info, "client: connecting to {}:{}", self.target.host, self.target.port);
        match resolve(&self.target.host, self.target.port, self.waker.clone()) {
            Ok(slot) => {
                self.phase = Phase::Resolving { slot, deadline };
                // A literal is resolved already: go on at once.
                self.step(client, now, false, false);
            }
            Err(e) => self.attempt_failed(client, e),
        }
    }

    /// Starts a non-blocking connect to `addrs[next]`, or reports `last`
    /// when every address failed.
    fn connect_to(&mut self, client: &Client, addrs: Vec<SocketAddr>, next: usize, deadline: Option<i64>, last: Error) {
        let mut last = last;
        for i in next..addrs.len() {
            match TcpStream::connect(addrs[i]) {
                Ok(mut stream) => {
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if let Err(e) = self.poll.registry().register(&mut stream, STREAM, interest) {
                        last = Error::from(e);
                        continue;
                    }
                    self.phase = Phase::Connecting { stream, addrs, next: i, deadline };
                    return;
                }
                Err(e) => last = connect_error(&e),
            }
        }
        self.attempt_failed(client, last);
    }

    #[allow(clippy::too_many_arguments)]
    fn connecting(
        &mut self,
        client: &Client,
        mut stream: TcpStream,
        addrs: Vec<SocketAddr>,
        next: usize,
        deadline: Option<i64>,
        now: i64,
        ready: bool,
    ) {
        let failed = match stream.take_error() {
            Ok(Some(e)) | Err(e) => Some(connect_error(&e)),
            Ok(None) => None,
        };
        if let Some(e) = failed {
            let _ = self.poll.registry().deregister(&mut stream);
            log!(Info, "client: connecting to {} failed: {e}", addrs[next]);
            return self.connect_to(client, addrs, next + 1, deadline, e);
        }
        match stream.peer_addr() {
            Ok(_) => self.connected(client, stream, now),
            Err(_) if passed(deadline, now) => {
                let _ = self.poll.registry().deregister(&mut stream);
                self.attempt_failed(client, Error::ConnectTimeout);
            }
            Err(e) if ready && e.kind() != ErrorKind::NotConnected => {
                let _ = self.poll.registry().deregister(&mut stream);
                let e = connect_error(&e);
                self.connect_to(client, addrs, next + 1, deadline, e);
            }
            Err(_) => self.phase = Phase::Connecting { stream, addrs, next, deadline },
        }
    }

    /// The TCP connection is up: starts the opening handshake on it.
    fn connected(&mut self, client: &Client, stream: TcpStream, now: i64) {
        // Still registered for its events under the same descriptor.
        let stream = match Socket::adopt(OwnedFd::from(stream)) {
            Ok(s) => s,
            Err(e) => return self.attempt_failed(client, Error::from(e)),
        };
        let mut sender = Sender::new(Role::Client);
        let session = match Session::client(self.config.clone(), &self.target.handshake, &mut sender) {
            Ok(s) => s,
            Err(e) => {
                let _ = self.poll.registry().deregister(&mut SourceFd(&stream.fd()));
                return self.attempt_failed(client, e);
            }
        };
        client.tx().sender = sender;
        let mut c = Box::new(Connected { stream, session, established: false, peer_close: None, readable: true });
        {
            let mut tx = client.tx();
            let _ = c.session.on_time(now.max(0) as u64, &mut tx.sender);
        }
        match self.exchange(client, &mut c, now) {
            None => self.phase = Phase::Connected(c),
            Some(end) => self.ended(client, &mut c, end),
        }
    }

    /// An attempt failed before the connection opened.
    fn attempt_failed(&mut self, client: &Client, e: Error) {
        log!(Warn, "client: connection error: {}", e.detail());
        self.handler.connection_error(client, e);
        self.retry_or_finish(client);
    }

    fn retry_or_finish(&mut self, client: &Client) {
        client.tx().sender = Sender::new(Role::Client);
        if client.stopped() || client.tx().closed_by_host {
            return self.finish(client);
        }
        match self.backoff.as_mut().and_then(Backoff::next_delay) {
            Some(delay) => {
                log!(Info, "client: reconnecting in {delay} ms");
                self.phase = Phase::Waiting { until: now_ms() + delay as i64 };
            }
            None => self.finish(client),
        }
    }

    fn finish(&mut self, client: &Client) {
        if let Phase::Connected(c) = &mut self.phase {
            let _ = self.poll.registry().deregister(&mut SourceFd(&c.stream.fd()));
        }
        if let Phase::Connecting { stream, .. } = &mut self.phase {
            let _ = self.poll.registry().deregister(stream);
        }
        self.phase = Phase::Finished;
        client.tx().sender = Sender::new(Role::Client);
        self.rbuf = Vec::new();
    }

    // ----- connected -----

    /// Reads, feeds, times and writes; returns how the connection ended,
    /// if it did.
    fn exchange(&mut self, client: &Client, c: &mut Connected, now: i64) -> Option<End> {
        if c.readable {
            if let Some(end) = self.read(client, c) {
                return Some(end);
            }
        }
        let mut timed = Failure::default();
        if engine::tick(&mut c.session, client, now.max(0) as u64, &mut timed) {
            let _ = flush(c, client);
            return timed.0.map(End::Failed);
        }
        if let Err(end) = flush(c, client) {
            return Some(end);
        }
        if c.session.wants_close() {
            // The server had its time to close after the closing handshake.
            return Some(match c.session.error() {
                Some(e) => End::Failed(e),
                None => End::Clean,
            });
        }
        None
    }

    /// Reads what is there and hands the events to the handler.
    fn read(&mut self, client: &Client, c: &mut Connected) -> Option<End> {
        if self.rbuf.is_empty() {
            self.rbuf = vec![0; READ_SIZE];
        }
        for _ in 0..READS_PER_CALL {
            let n = match transport::read_input(&mut c.stream, &mut self.rbuf) {
                Input::Data(n) => n,
                Input::Blocked => {
                    c.readable = c.stream.buffered();
                    return None;
                }
                Input::End => return Some(eof(client, c)),
                Input::Failed(e) => return Some(End::Failed(Error::ReadFailed(e.raw_os_error().unwrap_or(0)))),
            };
            if let Some(end) = self.feed(client, c, n) {
                return Some(end);
            }
            if client.stopped() {
                return None;
            }
            if let Err(end) = flush(c, client) {
                return Some(end);
            }
        }
        None
    }

    /// Feeds `rbuf[..n]` and hands every event to the handler.
    fn feed(&mut self, client: &Client, c: &mut Connected, n: usize) -> Option<End> {
        let Runner { rbuf, handler, backoff, target, .. } = self;
        let Connected { session, established, peer_close, .. } = c;
        let mut sink =
            ClientSink { client, handler: &mut **handler, backoff, target, established, peer_close, failed: None };
        engine::deliver(session, client, rbuf, 0..n, &mut sink);
        let failed = sink.failed?;
        let _ = flush(c, client);
        Some(End::Failed(failed))
    }

    /// Reports the end of a connection and decides what comes next.
    fn ended(&mut self, client: &Client, c: &mut Connected, end: End) {
        let _ = self.poll.registry().deregister(&mut SourceFd(&c.stream.fd()));
        // In order (a TLS transport says close_notify); closing follows.
        let _ = c.stream.shutdown_write();
        client.tx().sender = Sender::new(Role::Client);
        client.set_subprotocol(None);
        self.rbuf = Vec::new();
        if client.stopped() {
            return self.finish(client);
        }
        if !c.established {
            let e = match end {
                End::Failed(e) => e,
                End::Clean => Error::Handshake(crate::error::HandshakeError::PeerHungUp),
            };
            return self.attempt_failed(client, e);
        }
        match (end, c.peer_close.take()) {
            (End::Clean, Some((code, reason))) => {
                log!(Info, "client: closed with {code} {reason:?}");
                self.handler.closed(client, code, &reason, true);
            }
            (End::Clean, None) => self.handler.closed(client, ABNORMAL, Error::Dropped.detail(), false),
            (End::Failed(e), _) => {
                log!(Info, "client: connection failed: {e}");
                self.handler.closed(client, e.close_code().unwrap_or(ABNORMAL), e.detail(), false);
            }
        }
        self.retry_or_finish(client);
    }
}

/// What a connection's events mean to the client: its handler hears
/// them, on the thread servicing the client.
struct ClientSink<'a> {
    client: &'a Client,
    handler: &'a mut dyn Handler,
    backoff: &'a mut Option<Backoff>,
    target: &'a Target,
    established: &'a mut bool,
    peer_close: &'a mut Option<(u16, String)>,
    failed: Option<Error>,
}

impl ClientSink<'_> {
    /// Whether to go on: not once the host stopped the client.
    fn flow(&self) -> Flow {
        if self.client.stopped() { Flow::Stop } else { Flow::Go }
    }
}

impl Sink for ClientSink<'_> {
    fn open(&mut self, session: &Session) -> Flow {
        *self.established = true;
        self.client.set_subprotocol(session.subprotocol());
        self.client.set_state(ClientState::Open);
        if let Some(b) = self.backoff.as_mut() {
            b.reset();
        }
        let hs = &self.target.handshake;
        log!(Info, "client: connected to {}{}", hs.host, hs.resource);
        self.handler.established(self.client);
        self.flow()
    }

    fn message(&mut self, text: bool, data: &[u8]) -> Flow {
        self.handler.receive(self.client, data, text, true, true);
        self.flow()
    }

    fn fragment(&mut self, text: bool, data: &[u8], first: bool, last: bool) -> Flow {
        self.handler.receive(self.client, data, text, first, last);
        self.flow()
    }

    fn ping(&mut self, _data: &[u8]) -> Flow {
        self.flow()
    }

    fn pong(&mut self, _data: &[u8]) -> Flow {
        self.flow()
    }

    fn closed(&mut self, code: u16, reason: &str) {
        *self.peer_close = Some((code, reason.to_owned()));
    }

    fn failed(&mut self, error: Error) {
        self.failed = Some(error);
    }
}

/// The client's sender, under its lock.
impl TxAccess for &Client {
    fn with_tx<R>(&mut self, f: impl FnOnce(&mut Sender) -> R) -> R {
        f(&mut self.tx().sender)
    }
}

/// The stream ended: cleanly after the closing handshake, or a failure.
fn eof(client: &Client, c: &mut Connected) -> End {
    let mut failure = Failure::default();
    engine::end_of_input(&mut c.session, client, &mut failure);
    failure.0.map_or(End::Clean, End::Failed)
}

/// Writes what the socket takes of the connection's output.
fn flush(c: &mut Connected, client: &Client) -> Result<(), End> {
    let written = engine::send_pending(&mut c.stream, &mut client.tx().sender);
    match written {
        Ok(()) => Ok(()),
        Err(e) if dropped(&e) => {
            let mut tx = client.tx();
            let n = tx.sender.pending_output().len();
            tx.sender.consume(n);
            drop(tx);
            Err(eof(client, c))
        }
        Err(e) => Err(End::Failed(Error::WriteFailed(e.raw_os_error().unwrap_or(0)))),
    }
}
