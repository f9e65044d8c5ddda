//! The event loop: one thread runs every connection of a server. This
//! file holds the loop, its timers and its inbox; a connection's HTTP
//! phase is in `http_phase`, its WebSocket phase in `ws_phase`.
//!
//! Built for many connections and few system calls: one `read` per
//! readable event into a buffer all connections share (a message that
//! arrived whole is handed to the host from there, unmasked in place, with
//! no copy); everything queued for a connection in one iteration leaves in
//! one `write`; an idle connection holds neither a receive nor a send
//! buffer (the loop lends its output buffer while it works on one).

mod http_phase;
mod ws_phase;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::engine::{self, Failure};
use crate::error::{Error, RequestError};
use crate::io::socket::Socket;
use crate::log::log;
use crate::proto::handshake::server::{RequestReader, write_refusal};
use crate::proto::{Config, Session};
use crate::server::adopt::Handovers;
use crate::server::http::Routes;
use crate::server::listener::{Listener, Peer};
use crate::server::shared::{Shared, lock};
use crate::server::slab::{Key, Slab};
use crate::server::wss::{CloseStatus, DIRTY, Wss};
use ws_phase::abandon;

/// The waker's token; listeners count down from below it. Connection keys
/// never have the top bit set.
const WAKER: Token = Token(usize::MAX);

fn listener_token(i: usize) -> Token {
    Token(usize::MAX - 1 - i)
}

/// No deadline scheduled.
const NEVER: u64 = u64::MAX;

/// How long a connection that was answered over HTTP may take to close.
const LINGER_MS: u64 = 2000;

/// The smallest timer heap that is compacted.
const MIN_COMPACT: usize = 1024;

/// Reads per connection per readable event before others get a turn.
const READS_PER_TURN: usize = 16;

/// A connection in its HTTP phase.
struct HttpConn {
    stream: Socket,
    /// In 20 bytes rather than a `SocketAddr`'s 32: the struct stays in
    /// the allocator's 128-byte class.
    peer: Option<Peer>,
    reader: RequestReader,
    /// A response being written; the connection closes after it.
    out: Vec<u8>,
    written: usize,
    answered: bool,
    scheduled: u64,
}

/// A WebSocket connection.
struct WsConn {
    stream: Socket,
    session: Session,
    wss: Arc<Wss>,
    /// The close callback ran.
    reported: bool,
    /// Input is not read while the send queue is over the high-water mark.
    paused: bool,
    scheduled: u64,
    /// Close the socket at this time even if output is left (a peer that
    /// stopped reading after the closing handshake).
    kill_at: u64,
    /// The peer shut down its side: read to the end, a short read does not
    /// mean the socket is drained (its end of file is still to be read).
    hup: bool,
}

enum Conn {
    /// Boxed: a handshake is short-lived, and the slot stays WebSocket-sized.
    Http(Box<HttpConn>),
    Ws(WsConn),
}

/// The loop's state; owned by the thread that runs it.
pub(crate) struct Loop {
    shared: Arc<Shared>,
    handovers: Arc<Handovers>,
    poll: Poll,
    pub(crate) listeners: Vec<Listener>,
    pub(crate) routes: Routes,
    pub(crate) config: Arc<Config>,
    conns: Slab<Conn>,
    /// The read buffer; one byte longer than what is read, for the NUL that
    /// follows a message handed to the host.
    buf: Vec<u8>,
    /// The output buffer lent to the connection being served.
    out: Vec<u8>,
    /// Deadlines as (time, key); an entry is live while its connection's
    /// `scheduled` equals its time, and a stale one is skipped when it
    /// comes up (or dropped by `compact_timers`).
    timers: BinaryHeap<Reverse<(u64, u64)>>,
    /// The heap size at which stale entries are dropped.
    compact_at: usize,
    /// Connections with input left unread (paused, or a long turn).
    retry: Vec<Key>,
    pending: usize,
    /// Out of descriptors: when to try accepting again (`NEVER`: accepting).
    accept_again: u64,
    /// Accepting failed for want of descriptors and was logged (once).
    starved: bool,
    start: Instant,
    /// Milliseconds since `start`, read once per loop iteration.
    clock: u64,
}

impl Loop {
    pub(crate) fn new(shared: Arc<Shared>, handovers: Arc<Handovers>, poll: Poll, config: Arc<Config>) -> Loop {
        let read = shared.options.read_buffer_size.max(1024) as usize;
        Loop {
            shared,
            handovers,
            poll,
            listeners: Vec::new(),
            routes: Routes::default(),
            config,
            conns: Slab::new(),
            buf: vec![0; read + 1],
            out: Vec::new(),
            timers: BinaryHeap::new(),
            compact_at: MIN_COMPACT,
            retry: Vec::new(),
            pending: 0,
            accept_again: NEVER,
            starved: false,
            start: Instant::now(),
            clock: 0,
        }
    }

    /// Adds a listening socket.
    pub(crate) fn add_listener(&mut self, l: Listener) -> io::Result<()> {
        let token = listener_token(self.listeners.len());
        self.poll.registry().register(&mut SourceFd(&l.fd()), token, Interest::READABLE)?;
        self.listeners.push(l);
        Ok(())
    }

    /// The loop's clock (milliseconds), as read after the last wait.
    fn now(&self) -> u64 {
        self.clock
    }

    fn tick(&mut self) {
        self.clock = self.start.elapsed().as_millis() as u64;
    }

    /// Runs until the server is asked to stop; then closes every connection.
    pub(crate) fn run(&mut self) -> io::Result<()> {
        Shared::enter(&self.shared);
        let result = self.run_inner();
        self.shutdown();
        Shared::leave();
        result
    }

    fn run_inner(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut ready: Vec<(Token, bool, bool, bool)> = Vec::with_capacity(1024);
        while !self.shared.stop.load(std::sync::atomic::Ordering::Acquire) {
            let timeout = self.next_timeout();
            let polled = self.poll.poll(&mut events, timeout);
            self.tick();
            if let Err(e) = polled {
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            ready.clear();
            ready.extend(events.iter().map(|e| {
                let hup = e.is_read_closed() || e.is_error();
                (e.token(), e.is_readable() || hup, e.is_writable(), hup)
            }));
            for &(token, readable, writable, hup) in &ready {
                match token {
                    WAKER => {}
                    Token(t) if t >= usize::MAX - 1 - self.listeners.len() => {
                        self.accept(usize::MAX - 1 - t);
                    }
                    Token(t) => {
                        let key = Key::from_u64(t as u64);
                        if hup && let Some(Conn::Ws(c)) = self.conns.get_mut(key) {
                            c.hup = true;
                        }
                        if readable {
                            self.readable(key);
                        }
                        if writable {
                            self.flush(key);
                        }
                    }
                }
            }
            self.drain_inbox();
            for key in std::mem::take(&mut self.retry) {
                self.readable(key);
            }
            self.run_timers();
            if self.accept_again <= self.now() {
                self.accept_all();
            }
        }
        Ok(())
    }

    fn next_timeout(&self) -> Option<Duration> {
        // Work a callback posted after the inbox was emptied this round
        // (the loop does not wake itself) is done without waiting.
        if !self.retry.is_empty() || !lock(&self.shared.inbox).is_empty() || !self.handovers.is_empty() {
            return Some(Duration::ZERO);
        }
        let next = self.timers.peek().map(|Reverse((at, _))| *at);
        let at = match (next, self.accept_again) {
            (None, NEVER) => return None,
            (Some(at), again) => at.min(again),
            (None, again) => again,
        };
        // Rounded up, so the loop does not wake a little early and spin.
        let now = self.start.elapsed().as_micros() as u64;
        Some(Duration::from_micros((at * 1000).saturating_sub(now) + 999))
    }

    fn schedule(&mut self, key: Key, at: u64) {
        let slot = match self.conns.get_mut(key) {
            Some(Conn::Http(c)) => &mut c.scheduled,
            Some(Conn::Ws(c)) => &mut c.scheduled,
            None => return,
        };
        if at < *slot {
            *slot = at;
            self.timers.push(Reverse((at, key.as_u64())));
            if self.timers.len() >= self.compact_at {
                self.compact_timers();
            }
        }
    }

    /// Drops the heap's stale entries: a connection that upgraded, closed
    /// or moved its deadline earlier leaves one behind, and thousands of
    /// idle connections would otherwise keep theirs (16 bytes each) until
    /// the handshake timeout. Amortised O(1) per push: the next compaction
    /// waits until the heap has doubled again.
    fn compact_timers(&mut self) {
        let conns = &self.conns;
        self.timers.retain(|&Reverse((at, raw))| match conns.get(Key::from_u64(raw)) {
            Some(Conn::Http(c)) => c.scheduled == at,
            Some(Conn::Ws(c)) => c.scheduled == at,
            None => false,
        });
        self.timers.shrink_to(self.timers.len() * 2);
        self.compact_at = (self.timers.len() * 2).max(MIN_COMPACT);
    }

    /// Schedules a WebSocket connection's next timer.
    fn reschedule(&mut self, key: Key) {
        let now = self.now();
        let Some(Conn::Ws(c)) = self.conns.get(key) else { return };
        let next = match c.session.next_deadline() {
            Some(0) => Some(now),
            other => other,
        };
        let at = next.into_iter().chain((c.kill_at != NEVER).then_some(c.kill_at)).min();
        if let Some(at) = at {
            self.schedule(key, at);
        }
    }

    fn run_timers(&mut self) {
        let now = self.now();
        while let Some(&Reverse((at, raw))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let key = Key::from_u64(raw);
            match self.conns.get_mut(key) {
                Some(Conn::Http(c)) if c.scheduled == at => {
                    c.scheduled = NEVER;
                    if c.answered {
                        self.drop_http(key);
                    } else {
                        log!(Info, "handshake timed out ({})", peer_text(c.peer.map(Peer::addr)));
                        self.answer_http(key, refusal(RequestError::Refused(408)));
                    }
                }
                Some(Conn::Ws(c)) if c.scheduled == at => {
                    c.scheduled = NEVER;
                    if c.kill_at <= now {
                        self.teardown(key, CloseStatus::Failed(Error::CloseTimeout));
                        continue;
                    }
                    let wss = c.wss.clone();
                    let mut timed = Failure::default();
                    engine::tick(&mut c.session, &*wss, now, &mut timed);
                    if let Some(e) = timed.0 {
                        self.report(key, CloseStatus::Failed(e));
                    }
                    self.flush(key);
                    self.reschedule(key);
                }
                _ => {}
            }
        }
    }

    fn register(&self, key: Key, fd: RawFd) -> io::Result<()> {
        self.poll.registry().register(
            &mut SourceFd(&fd),
            Token(key.as_u64() as usize),
            Interest::READABLE | Interest::WRITABLE,
        )
    }

    fn deregister(&self, fd: RawFd) {
        let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
    }

    fn readable(&mut self, key: Key) {
        match self.conns.get(key) {
            Some(Conn::Http(_)) => self.http_readable(key),
            Some(Conn::Ws(_)) => self.ws_readable(key),
            None => {}
        }
    }

    fn drain_inbox(&mut self) {
        let dirty = std::mem::take(&mut lock(&self.shared.inbox).dirty);
        for a in self.handovers.take() {
            let config = self.config.clone();
            self.add_ws(a, config);
        }
        for key in dirty {
            if let Some(Conn::Ws(c)) = self.conns.get(key) {
                c.wss.clear_flag(DIRTY);
                self.flush(key);
                self.reschedule(key);
            }
        }
    }

    /// Closes every connection (server shutting down).
    fn shutdown(&mut self) {
        for a in self.handovers.take() {
            abandon(&a.wss, Error::Closed);
        }
        for key in self.conns.keys() {
            match self.conns.get(key) {
                Some(Conn::Ws(c)) => {
                    let wss = c.wss.clone();
                    wss.with_sender(|tx| {
                        let _ = tx.close(1001, "server shutting down");
                    });
                    self.report(key, CloseStatus::Failed(Error::Closed));
                    if let Some(Conn::Ws(c)) = self.conns.get_mut(key) {
                        let _ = wss.with_sender(|tx| engine::send_pending(&mut c.stream, tx));
                    }
                    self.teardown(key, CloseStatus::Failed(Error::Closed));
                }
                Some(Conn::Http(_)) => self.drop_http(key),
                None => {}
            }
        }
    }
}

/// A complete HTTP error response.
fn refusal(e: RequestError) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    write_refusal(&mut out, e);
    out
}

fn peer_text(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "local".to_owned(), |p| p.to_string())
}
