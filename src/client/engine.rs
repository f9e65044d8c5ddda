//! The client's service loop: resolve, connect, handshake, exchange,
//! close, and wait to reconnect, one step per call to `service`.
//!
//! Only the thread servicing the client touches the engine. The sending
//! half of the current connection lives in the client's `Tx`, behind a
//! lock other threads take to send; the engine takes it to read (the
//! protocol answers pings and close frames through it) and to write, and
//! never holds it while a handler runs.

use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::client::backoff::Backoff;
use crate::client::connect::{Slot, connect_error, resolve};
use crate::client::{Client, ClientState, Handler, Options, lock};
use crate::error::Error;
use crate::io::stream::now_ms;
use crate::log::log;
use crate::proto::close::ABNORMAL;
use crate::proto::handshake::client::ClientOptions;
use crate::proto::{Config, Event, Role, Sender, Session, State};

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
    stream: TcpStream,
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

pub(crate) struct Engine {
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

impl Engine {
    pub(crate) fn new(
        poll: Poll,
        waker: Arc<Waker>,
        target: Target,
        options: Options,
        handler: Box<dyn Handler>,
    ) -> Engine {
        Engine {
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

    /// The TCP connection is up: starts the opening handshake.
    fn connected(&mut self, client: &Client, stream: TcpStream, now: i64) {
        let _ = stream.set_nodelay(true);
        let mut sender = Sender::new(Role::Client);
        let session = match Session::client(self.config.clone(), &self.target.handshake, &mut sender) {
            Ok(s) => s,
            Err(e) => {
                let mut stream = stream;
                let _ = self.poll.registry().deregister(&mut stream);
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
            let _ = self.poll.registry().deregister(&mut c.stream);
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
        let timed = {
            let mut tx = client.tx();
            c.session.on_time(now.max(0) as u64, &mut tx.sender)
        };
        if let Some(Event::Error(e)) = timed {
            let _ = flush(c, client);
            return Some(End::Failed(e));
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
            let n = match c.stream.read(&mut self.rbuf) {
                Ok(0) => return Some(self.eof(client, c)),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    c.readable = false;
                    return None;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if dropped(&e) => return Some(self.eof(client, c)),
                Err(e) => return Some(End::Failed(Error::ReadFailed(e.raw_os_error().unwrap_or(0)))),
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

    /// Feeds `rbuf[..n]` and dispatches every event.
    fn feed(&mut self, client: &Client, c: &mut Connected, n: usize) -> Option<End> {
        let Engine { rbuf, handler, backoff, target, .. } = self;
        let mut pos = 0;
        while pos < n {
            let progress = {
                let mut tx = client.tx();
                c.session.feed(&mut rbuf[pos..n], &mut tx.sender)
            };
            pos += progress.consumed;
            let Some(event) = progress.event else {
                if progress.consumed == 0 {
                    break;
                }
                continue;
            };
            match event {
                Event::Open => {
                    c.established = true;
                    client.set_subprotocol(c.session.subprotocol());
                    client.set_state(ClientState::Open);
                    if let Some(b) = backoff.as_mut() {
                        b.reset();
                    }
                    log!(Info, "client: connected to {}{}", target.handshake.host, target.handshake.resource);
                    handler.established(client);
                }
                Event::Message { text, data } => handler.receive(client, data, text, true, true),
                Event::Fragment { text, data, first, last } => handler.receive(client, data, text, first, last),
                Event::Close { code, reason } => c.peer_close = Some((code, reason.to_owned())),
                Event::Error(e) => {
                    let _ = flush(c, client);
                    return Some(End::Failed(e));
                }
                Event::Ping(_) | Event::Pong(_) | Event::Request => {}
            }
            if client.stopped() {
                return None;
            }
        }
        None
    }

    fn eof(&mut self, client: &Client, c: &mut Connected) -> End {
        let mut tx = client.tx();
        match c.session.on_eof(&mut tx.sender) {
            Some(Event::Error(e)) => End::Failed(e),
            _ => End::Clean,
        }
    }

    /// Reports the end of a connection and decides what comes next.
    fn ended(&mut self, client: &Client, c: &mut Connected, end: End) {
        let _ = self.poll.registry().deregister(&mut c.stream);
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

/// A reset or broken pipe: the peer dropped the connection.
fn dropped(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted)
}

/// Writes what the socket takes of the connection's output.
fn flush(c: &mut Connected, client: &Client) -> Result<(), End> {
    let mut tx = client.tx();
    while !tx.sender.pending_output().is_empty() {
        match c.stream.write(tx.sender.pending_output()) {
            Ok(n) => tx.sender.consume(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if dropped(&e) => {
                let n = tx.sender.pending_output().len();
                tx.sender.consume(n);
                return match c.session.on_eof(&mut tx.sender) {
                    Some(Event::Error(e)) => Err(End::Failed(e)),
                    _ => Err(End::Clean),
                };
            }
            Err(e) => return Err(End::Failed(Error::WriteFailed(e.raw_os_error().unwrap_or(0)))),
        }
    }
    Ok(())
}
