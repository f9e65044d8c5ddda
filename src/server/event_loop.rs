//! The event loop: one thread runs every connection of a server.
//!
//! Built for many connections and few system calls: one `read` per
//! readable event into a buffer all connections share (a message that
//! arrived whole is handed to the host from there, unmasked in place, with
//! no copy); everything queued for a connection in one iteration leaves in
//! one `write`; an idle connection holds neither a receive nor a send
//! buffer (the loop lends its output buffer while it works on one).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::error::{Error, RequestError};
use crate::log::log;
use crate::proto::handshake::server::{Request, could_be_request, write_refusal};
use crate::proto::handshake::{HeadProgress, HeadReader};
use crate::proto::{Config, Event, Role, Sender, Session};
use crate::server::http::{HttpRequest, Outcome, Routes};
use crate::server::shared::{Adopt, Shared, lock, queue_limit, serve};
use crate::server::slab::{Key, Slab};
use crate::server::stream::{Listener, Stream};
use crate::server::wss::{CloseStatus, DIRTY, DRAIN_WANTED, FREED, Wss};

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
    stream: Stream,
    peer: Option<SocketAddr>,
    head: HeadReader,
    /// A response being written; the connection closes after it.
    out: Vec<u8>,
    written: usize,
    answered: bool,
    scheduled: u64,
}

/// A WebSocket connection.
struct WsConn {
    stream: Stream,
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
    start: Instant,
    /// Milliseconds since `start`, read once per loop iteration.
    clock: u64,
}

impl Loop {
    pub(crate) fn new(shared: Arc<Shared>, poll: Poll, config: Arc<Config>) -> Loop {
        let read = shared.options.read_buffer_size.max(1024) as usize;
        Loop {
            shared,
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
        }
        Ok(())
    }

    fn next_timeout(&self) -> Option<Duration> {
        // Work a callback posted after the inbox was emptied this round
        // (the loop does not wake itself) is done without waiting.
        if !self.retry.is_empty() || !lock(&self.shared.inbox).is_empty() {
            return Some(Duration::ZERO);
        }
        let Reverse((at, _)) = self.timers.peek()?;
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
                        log!(Info, "handshake timed out ({})", peer_text(c.peer));
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
                    let event = wss.with_sender(|tx| c.session.on_time(now, tx));
                    if let Some(Event::Error(e)) = event {
                        self.report(key, CloseStatus::Failed(e));
                    }
                    self.flush(key);
                    self.reschedule(key);
                }
                _ => {}
            }
        }
    }

    // ----- accepting -----

    fn accept(&mut self, i: usize) {
        loop {
            let accepted = match self.listeners.get(i) {
                Some(l) => l.accept(),
                None => return,
            };
            match accepted {
                Ok((stream, peer)) => self.add_http(stream, peer),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted || e.kind() == ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    // Out of descriptors and the like: the next connection
                    // to arrive tries again.
                    log!(Error, "accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn add_http(&mut self, stream: Stream, peer: Option<SocketAddr>) {
        let opts = &self.shared.options;
        if self.conns.len() >= opts.max_connections as usize || self.pending >= opts.max_pending as usize {
            log!(Warn, "refusing {}: connection limit reached", peer_text(peer));
            let _ = (&stream.0).write(&refusal(RequestError::Refused(503)));
            return;
        }
        let head = HeadReader::new(self.config.limits.max_handshake_bytes as usize);
        let conn = HttpConn { stream, peer, head, out: Vec::new(), written: 0, answered: false, scheduled: NEVER };
        let fd = conn.stream.fd();
        let key = self.conns.insert(Conn::Http(Box::new(conn)));
        if self.register(key, fd).is_err() {
            self.conns.remove(key);
            return;
        }
        self.pending += 1;
        let timeout = self.config.limits.handshake_timeout_ms;
        if timeout > 0 {
            self.schedule(key, self.now() + timeout as u64);
        }
    }

    fn register(&self, key: Key, fd: i32) -> io::Result<()> {
        self.poll.registry().register(
            &mut SourceFd(&fd),
            Token(key.as_u64() as usize),
            Interest::READABLE | Interest::WRITABLE,
        )
    }

    // ----- reading -----

    fn readable(&mut self, key: Key) {
        match self.conns.get(key) {
            Some(Conn::Http(_)) => self.http_readable(key),
            Some(Conn::Ws(_)) => self.ws_readable(key),
            None => {}
        }
    }

    fn http_readable(&mut self, key: Key) {
        let cap = self.buf.len() - 1;
        loop {
            let Some(Conn::Http(c)) = self.conns.get_mut(key) else { return };
            let n = match (&c.stream.0).read(&mut self.buf[..cap]) {
                Ok(0) => return self.drop_http(key),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return self.drop_http(key),
            };
            if c.answered {
                continue; // lingering: discard until the client closes
            }
            match c.head.push(&self.buf[..n]) {
                HeadProgress::Partial(_) if could_be_request(c.head.head()) => {}
                HeadProgress::Partial(_) => return self.answer_http(key, refusal(RequestError::Malformed)),
                HeadProgress::TooLarge => return self.answer_http(key, refusal(RequestError::HeadersTooLarge)),
                HeadProgress::Complete(used) => return self.http_request(key, used, n),
            }
        }
    }

    /// A whole request head arrived; `self.buf[used..n]` follows it.
    fn http_request(&mut self, key: Key, used: usize, n: usize) {
        let Some(Conn::Http(c)) = self.conns.get(key) else { return };
        let max_headers = self.config.limits.max_handshake_headers as usize;
        let request = match Request::parse(c.head.head(), max_headers) {
            Ok(r) => r,
            Err(e) => return self.answer_http(key, refusal(e)),
        };
        let peer = c.peer;
        if request.resource().is_none() {
            return self.answer_http(key, refusal(RequestError::TargetInvalid));
        }
        let Some(route) = self.routes.find(request.path()) else {
            log!(Info, "{} {}: no route ({})", request.method, request.target, peer_text(peer));
            return self.answer_http(key, refusal(RequestError::NotFound));
        };
        // The route outlives the callback even if the host replaces it.
        let route = route.clone();
        let mut req = HttpRequest::new(&request, peer, &route, &self.shared);
        route.service.serve(&mut req);
        match std::mem::replace(&mut req.outcome, Outcome::None) {
            Outcome::None => self.answer_http(key, refusal(RequestError::NotFound)),
            Outcome::Respond(bytes) => self.answer_http(key, bytes),
            Outcome::Refuse(e) => {
                log!(Info, "{} {}: {} ({})", request.method, request.target, e.reason(), peer_text(peer));
                self.answer_http(key, refusal(e))
            }
            Outcome::Upgrade(wss) => {
                let Some(Conn::Http(c)) = self.conns.remove(key) else { return };
                self.pending -= 1;
                let _ = self.poll.registry().deregister(&mut SourceFd(&c.stream.fd()));
                let leftover = self.buf[used..n].to_vec();
                self.add_ws(Adopt { stream: c.stream, wss, leftover }, route.config.clone());
            }
        }
    }

    /// Sends an HTTP answer; the connection closes after it.
    fn answer_http(&mut self, key: Key, response: Vec<u8>) {
        let Some(Conn::Http(c)) = self.conns.get_mut(key) else { return };
        c.out = response;
        c.written = 0;
        c.answered = true;
        c.scheduled = NEVER;
        self.schedule(key, self.now() + LINGER_MS);
        self.flush_http(key);
    }

    fn flush_http(&mut self, key: Key) {
        let Some(Conn::Http(c)) = self.conns.get_mut(key) else { return };
        while c.written < c.out.len() {
            match (&c.stream.0).write(&c.out[c.written..]) {
                Ok(n) => c.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return self.drop_http(key),
            }
        }
        if c.answered {
            // Half-close and read until the client closes (or the linger
            // time runs out), so the response is not lost to a reset.
            let _ = c.stream.0.shutdown(Shutdown::Write);
        }
    }

    fn drop_http(&mut self, key: Key) {
        if let Some(Conn::Http(c)) = self.conns.remove(key) {
            self.pending -= 1;
            let _ = self.poll.registry().deregister(&mut SourceFd(&c.stream.fd()));
        }
    }

    // ----- WebSocket connections -----

    /// Takes over a socket whose handshake is done.
    pub(crate) fn add_ws(&mut self, adopt: Adopt, route_config: Arc<Config>) {
        let Adopt { stream, wss, leftover } = adopt;
        let config = match wss.rx_sizes() {
            (0, 0) => route_config,
            (start, expand) => {
                let mut c = (*route_config).clone();
                if start > 0 {
                    c.limits.rx_start_size = start;
                }
                if expand > 0 {
                    c.limits.rx_expand_size = expand;
                }
                Arc::new(c)
            }
        };
        let session = match Session::open(Role::Server, config) {
            Ok(s) => s,
            Err(e) => return abandon(&wss, e),
        };
        let fd = stream.fd();
        let conn = WsConn {
            stream,
            session,
            wss: wss.clone(),
            reported: false,
            paused: false,
            scheduled: NEVER,
            kill_at: NEVER,
            hup: false,
        };
        let key = self.conns.insert(Conn::Ws(conn));
        if !wss.attach(key) {
            self.conns.remove(key);
            return abandon(&wss, Error::State(c"the connection object is in use"));
        }
        if let Err(e) = self.register(key, fd) {
            self.conns.remove(key);
            return abandon(&wss, Error::from(e));
        }
        log!(Info, "WebSocket open ({})", peer_text(wss.peer()));
        // Bytes the host already read after the handshake, one read
        // buffer at a time.
        for chunk in leftover.chunks(self.buf.len() - 1) {
            self.buf[..chunk.len()].copy_from_slice(chunk);
            if !self.ws_input(key, chunk.len()) {
                break;
            }
        }
        self.flush(key);
        self.reschedule(key);
    }

    fn ws_readable(&mut self, key: Key) {
        let cap = self.buf.len() - 1;
        let mut turns = 0;
        loop {
            let Some(Conn::Ws(c)) = self.conns.get_mut(key) else { return };
            if c.paused || c.session.wants_close() {
                break;
            }
            if turns == READS_PER_TURN {
                // Full reads every time: let others have a turn first.
                self.retry.push(key);
                break;
            }
            turns += 1;
            match (&c.stream.0).read(&mut self.buf[..cap]) {
                Ok(0) => {
                    let wss = c.wss.clone();
                    let event = wss.with_sender(|tx| c.session.on_eof(tx));
                    if let Some(Event::Error(e)) = event {
                        self.report(key, CloseStatus::Failed(e));
                    }
                    // Send what is queued (replies to what arrived with the
                    // end); flush closes the connection once done.
                    return self.flush(key);
                }
                Ok(n) => {
                    let hup = c.hup;
                    if !self.ws_input(key, n) {
                        // Closing or released: send what is queued (the
                        // close frame) and let flush end the connection.
                        self.flush(key);
                        return;
                    }
                    if n < cap && !hup {
                        break; // a short read: the socket is drained
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return self.teardown(key, CloseStatus::Failed(Error::from(e))),
            }
        }
        self.flush(key);
        self.reschedule(key);
    }

    /// Hands `self.buf[..n]` to the connection and its events to the host.
    /// Returns false when the connection is gone or stops reading.
    fn ws_input(&mut self, key: Key, n: usize) -> bool {
        let Some(Conn::Ws(c)) = self.conns.get_mut(key) else { return false };
        let wss = c.wss.clone();
        // Lend the loop's output buffer so replies need no allocation.
        wss.with_sender(|tx| {
            if tx.pending_output().is_empty() {
                tx.swap_output(&mut self.out);
            }
        });
        let handler = wss.handler();
        let (base, buf_len) = (self.buf.as_ptr() as usize, self.buf.len());
        let mut pos = 0;
        while pos < n {
            let progress = wss.with_sender(|tx| c.session.feed(&mut self.buf[pos..n], tx));
            pos += progress.consumed;
            let Some(event) = progress.event else { break };
            // A connection the host released gets no more callbacks, but its
            // input is still read: the peer's answer to the 1001 close ends
            // it without waiting for the close timeout.
            let released = wss.flags() & FREED != 0;
            match event {
                Event::Message { .. } | Event::Ping(_) if released => {}
                Event::Message { text, data } => {
                    let at = data.as_ptr() as usize;
                    if at >= base && at + data.len() < base + buf_len {
                        // In the read buffer: end it with a NUL in place
                        // for the duration of the callback.
                        let (start, end) = (at - base, at - base + data.len());
                        let saved = std::mem::replace(&mut self.buf[end], 0);
                        serve(&wss, || handler.on_frame(&wss, &self.buf[start..end], text));
                        self.buf[end] = saved;
                    } else {
                        // Reassembled by the session, which ends it with a NUL.
                        serve(&wss, || handler.on_frame(&wss, data, text));
                    }
                }
                Event::Ping(data) => serve(&wss, || handler.on_ping(&wss, data)),
                Event::Close { code, .. } => {
                    self.report(key, CloseStatus::Peer(code));
                    return false;
                }
                Event::Error(e) => {
                    log!(Warn, "WebSocket failed: {e}");
                    self.report(key, CloseStatus::Failed(e));
                    return false;
                }
                Event::Pong(_) | Event::Fragment { .. } | Event::Open | Event::Request => {}
            }
        }
        let queued = wss.queued();
        if let Some(Conn::Ws(c)) = self.conns.get_mut(key)
            && queued >= high_water(&c.session)
        {
            c.paused = true;
        }
        true
    }

    /// Runs the close callback once.
    fn report(&mut self, key: Key, status: CloseStatus) {
        let Some(Conn::Ws(c)) = self.conns.get_mut(key) else { return };
        if c.reported {
            return;
        }
        c.reported = true;
        let wss = c.wss.clone();
        let due = wss.mark_closed();
        if due && wss.flags() & FREED == 0 {
            serve(&wss, || wss.handler().on_close(&wss, status));
        }
    }

    /// Writes what the connection has queued; closes it when the protocol
    /// is done with it.
    fn flush(&mut self, key: Key) {
        let now = self.now();
        let (wss, done, left, drain) = match self.conns.get_mut(key) {
            Some(Conn::Http(_)) => return self.flush_http(key),
            Some(Conn::Ws(c)) => {
                let high_water = high_water(&c.session);
                let close_timeout = u64::from(c.session.config().limits.close_timeout_ms);
                let wss = c.wss.clone();
                let freed = wss.flags() & FREED != 0;
                let result = wss.with_sender_notify(high_water, |tx| {
                    if freed && tx.is_open() {
                        let _ = tx.close(1001, "");
                    }
                    c.session.sync(tx);
                    let r = write_out(&c.stream, tx);
                    if tx.pending_output().is_empty() {
                        reclaim(tx, &mut self.out);
                    }
                    // Decided under the sender lock, where writers that
                    // got WouldBlock set DRAIN_WANTED: a drain callback
                    // never follows a writer that filled the queue again.
                    let left = tx.pending_output().len();
                    r.map(|()| (left, left < high_water / 2 + 1 && wss.clear_flag(DRAIN_WANTED)))
                });
                match result {
                    Err(e) => {
                        return self.teardown(key, CloseStatus::Failed(Error::from(e)));
                    }
                    Ok((left, drain)) => {
                        let done =
                            c.session.wants_close() || (freed && c.session.state() != crate::proto::State::Closing);
                        if left < high_water && c.paused {
                            c.paused = false;
                            self.retry.push(key);
                        }
                        if done && left > 0 && c.kill_at == NEVER {
                            c.kill_at = now + close_timeout.max(1);
                        }
                        (wss, done, left, drain)
                    }
                }
            }
            None => return,
        };
        if drain && wss.is_valid() && wss.flags() & FREED == 0 {
            wss.handler().on_drain(&wss);
        }
        if done && left == 0 {
            self.teardown(key, CloseStatus::Failed(Error::Closed));
        } else if done {
            self.reschedule(key);
        }
    }

    /// Removes a connection: runs its close callback if it has not run,
    /// closes the socket.
    fn teardown(&mut self, key: Key, status: CloseStatus) {
        self.report(key, status);
        if let Some(Conn::Ws(c)) = self.conns.remove(key) {
            let _ = self.poll.registry().deregister(&mut SourceFd(&c.stream.fd()));
            c.wss.clear_flag(DIRTY);
            log!(Info, "WebSocket closed ({})", peer_text(c.wss.peer()));
        }
    }

    fn drain_inbox(&mut self) {
        let (dirty, adopt) = {
            let mut inbox = lock(&self.shared.inbox);
            (std::mem::take(&mut inbox.dirty), std::mem::take(&mut inbox.adopt))
        };
        for a in adopt {
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
        let adopt = std::mem::take(&mut lock(&self.shared.inbox).adopt);
        for a in adopt {
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
                    if let Some(Conn::Ws(c)) = self.conns.get(key) {
                        let _ = wss.with_sender(|tx| write_out(&c.stream, tx));
                    }
                    self.teardown(key, CloseStatus::Failed(Error::Closed));
                }
                Some(Conn::Http(_)) => self.drop_http(key),
                None => {}
            }
        }
    }
}

/// Ends a connection that was upgraded but could not run: its close
/// callback runs with `e`.
fn abandon(wss: &Wss, e: Error) {
    if wss.mark_closed() && wss.flags() & FREED == 0 {
        serve(wss, || wss.handler().on_close(wss, CloseStatus::Failed(e)));
    }
}

/// Writes as much of the queue as the socket takes.
fn write_out(stream: &Stream, tx: &mut Sender) -> io::Result<()> {
    loop {
        let pending = tx.pending_output();
        if pending.is_empty() {
            return Ok(());
        }
        match (&stream.0).write(pending) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => tx.consume(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The send queue's high-water mark of a connection (its route's limits).
fn high_water(session: &Session) -> usize {
    queue_limit(&session.config().limits)
}

/// After a connection's queue is written out: the loop keeps the larger of
/// the two buffers for lending, the connection keeps none.
fn reclaim(tx: &mut Sender, out: &mut Vec<u8>) {
    let mut theirs = Vec::new();
    tx.swap_output(&mut theirs);
    if theirs.capacity() > out.capacity() {
        *out = theirs;
    }
}

fn refusal(e: RequestError) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    write_refusal(&mut out, e);
    out
}

fn peer_text(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "local".to_owned(), |p| p.to_string())
}
