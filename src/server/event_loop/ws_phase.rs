//! The WebSocket phase of a connection: its bytes take the path every
//! driver shares ([`crate::engine`]); what the events mean to a server
//! connection (the host's callbacks, the close status) is [`WssSink`].

use std::sync::Arc;

use crate::engine::{self, Flow, Sink, TxAccess};
use crate::error::Error;
use crate::io::transport::{self, Input, Transport};
use crate::log::log;
use crate::proto::{Config, Sender, Session, State};
use crate::server::adopt::Adopt;
use crate::server::event_loop::{Conn, Loop, NEVER, READS_PER_TURN, WsConn, peer_text};
use crate::server::shared::queue_limit;
use crate::server::slab::Key;
use crate::server::wss::{CloseStatus, DIRTY, DRAIN_WANTED, FREED, Wss, serve};

/// What a connection's events mean to the host: its handler's callbacks,
/// on the loop thread, until it releases the connection; the end of the
/// connection as its close status.
struct WssSink<'a> {
    wss: &'a Wss,
    ended: Option<CloseStatus>,
}

impl WssSink<'_> {
    /// A connection the host released gets no more callbacks, but its
    /// input is still read: the peer's answer to the 1001 close ends it
    /// without waiting for the close timeout.
    fn released(&self) -> bool {
        self.wss.flags() & FREED != 0
    }
}

impl Sink for WssSink<'_> {
    fn message(&mut self, text: bool, data: &[u8]) -> Flow {
        if !self.released() {
            let wss = self.wss;
            serve(wss, || wss.handler().on_frame(wss, data, text));
        }
        Flow::Go
    }

    fn ping(&mut self, data: &[u8]) -> Flow {
        if !self.released() {
            let wss = self.wss;
            serve(wss, || wss.handler().on_ping(wss, data));
        }
        Flow::Go
    }

    fn closed(&mut self, code: u16, _reason: &str) {
        self.ended = Some(CloseStatus::Peer(code));
    }

    fn failed(&mut self, error: Error) {
        self.ended = Some(CloseStatus::Failed(error));
    }
}

/// A server connection's sender, under its lock.
impl TxAccess for &Wss {
    fn with_tx<R>(&mut self, f: impl FnOnce(&mut Sender) -> R) -> R {
        self.with_sender(f)
    }
}

impl Loop {
    /// Takes over a socket whose handshake is done.
    pub(crate) fn add_ws(&mut self, adopt: Adopt, route_config: Arc<Config>) {
        let Adopt { stream, wss, agreement, leftover } = adopt;
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
        let session = match agreement {
            Some(agreement) => Session::accepted(config, &agreement),
            // The host did the handshake itself.
            None => Session::open(crate::proto::Role::Server, config),
        };
        let session = match session {
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

    pub(super) fn ws_readable(&mut self, key: Key) {
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
            match transport::read_input(&mut c.stream, &mut self.buf[..cap]) {
                Input::End => {
                    let wss = c.wss.clone();
                    let mut sink = WssSink { wss: &wss, ended: None };
                    engine::end_of_input(&mut c.session, &*wss, &mut sink);
                    if let Some(status) = sink.ended {
                        self.report(key, status);
                    }
                    // Send what is queued (replies to what arrived with the
                    // end); flush closes the connection once done.
                    return self.flush(key);
                }
                Input::Data(n) => {
                    let drained = n < cap && !c.hup && !c.stream.buffered();
                    if !self.ws_input(key, n) {
                        // Closing or released: send what is queued (the
                        // close frame) and let flush end the connection.
                        self.flush(key);
                        return;
                    }
                    if drained {
                        break; // a short read: the transport is drained
                    }
                }
                Input::Blocked => break,
                Input::Failed(e) => return self.teardown(key, CloseStatus::Failed(Error::from(e))),
            }
        }
        self.flush(key);
        self.reschedule(key);
    }

    /// Hands `self.buf[..n]` to the connection and its events to the host.
    /// Returns false when the connection is gone or stops reading.
    pub(super) fn ws_input(&mut self, key: Key, n: usize) -> bool {
        let Some(Conn::Ws(c)) = self.conns.get_mut(key) else { return false };
        let wss = c.wss.clone();
        // Lend the loop's output buffer so replies need no allocation.
        wss.with_sender(|tx| {
            if tx.pending_output().is_empty() {
                tx.swap_output(&mut self.out);
            }
        });
        let mut sink = WssSink { wss: &wss, ended: None };
        engine::deliver(&mut c.session, &*wss, &mut self.buf, 0..n, &mut sink);
        if let Some(status) = sink.ended {
            if let CloseStatus::Failed(e) = status {
                log!(Warn, "WebSocket failed: {e}");
            }
            self.report(key, status);
            return false;
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
    pub(super) fn report(&mut self, key: Key, status: CloseStatus) {
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
    pub(super) fn flush(&mut self, key: Key) {
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
                    let r = engine::send_pending(&mut c.stream, tx);
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
                        let done = c.session.wants_close() || (freed && c.session.state() != State::Closing);
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
    pub(super) fn teardown(&mut self, key: Key, status: CloseStatus) {
        self.report(key, status);
        if let Some(Conn::Ws(mut c)) = self.conns.remove(key) {
            self.deregister(c.stream.fd());
            // In order (a TLS transport says close_notify); closing the
            // socket follows.
            let _ = c.stream.shutdown_write();
            c.wss.clear_flag(DIRTY);
            log!(Info, "WebSocket closed ({})", peer_text(c.wss.peer()));
        }
    }
}

/// Ends a connection that was upgraded but could not run: its close
/// callback runs with `e`.
pub(super) fn abandon(wss: &Wss, e: Error) {
    if wss.mark_closed() && wss.flags() & FREED == 0 {
        serve(wss, || wss.handler().on_close(wss, CloseStatus::Failed(e)));
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
