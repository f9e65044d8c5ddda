//! The HTTP phase of a connection: accepting it, reading its request once
//! (the core's request reader), routing it to a service, and answering
//! over HTTP or handing it to the WebSocket phase with what the handshake
//! agreed.

use std::io::ErrorKind;
use std::net::SocketAddr;

use crate::error::RequestError;
use crate::io::socket::Socket;
use crate::io::transport::{self, Input, Transport, write_out};
use crate::log::log;
use crate::proto::handshake::server::{Request, RequestProgress, RequestReader};
use crate::server::adopt::Adopt;
use crate::server::event_loop::{Conn, HttpConn, LINGER_MS, Loop, NEVER, peer_text, refusal};
use crate::server::http::{HttpRequest, Outcome};
use crate::server::listener::Peer;
use crate::server::slab::Key;

/// How long the loop waits before accepting again after running out of
/// descriptors.
const ACCEPT_BACKOFF_MS: u64 = 100;

/// Whether accepting failed for want of descriptors or kernel memory: the
/// connection stays in the listen backlog until some are freed.
fn out_of_descriptors(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

impl Loop {
    pub(super) fn accept(&mut self, i: usize) {
        if self.accept_again != NEVER {
            return; // out of descriptors: the timer tries again
        }
        loop {
            let accepted = match self.listeners.get(i) {
                Some(l) => l.accept(),
                None => return,
            };
            match accepted {
                Ok((stream, peer)) => self.add_http(stream, peer),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted || e.kind() == ErrorKind::ConnectionAborted => {}
                Err(e) if out_of_descriptors(&e) => {
                    // The connection waits in the listen backlog. Readiness
                    // is edge-triggered: no new event comes for it, so a
                    // timer tries again (and the loop does not spin).
                    if !self.starved {
                        log!(Error, "accept failed: {e}; trying again every {ACCEPT_BACKOFF_MS} ms");
                        self.starved = true;
                    }
                    self.accept_again = self.now() + ACCEPT_BACKOFF_MS;
                    return;
                }
                Err(e) => {
                    log!(Error, "accept failed: {e}");
                    return;
                }
            }
        }
    }

    /// Tries every listener again after running out of descriptors.
    pub(super) fn accept_all(&mut self) {
        self.accept_again = NEVER;
        for i in 0..self.listeners.len() {
            self.accept(i);
            if self.accept_again != NEVER {
                return; // still out of descriptors
            }
        }
        if std::mem::take(&mut self.starved) {
            log!(Info, "accepting connections again");
        }
    }

    fn add_http(&mut self, mut stream: Socket, peer: Option<SocketAddr>) {
        let opts = &self.shared.options;
        if self.conns.len() >= opts.max_connections as usize || self.pending >= opts.max_pending as usize {
            log!(Warn, "refusing {}: connection limit reached", peer_text(peer));
            let _ = transport::write(&mut stream, &refusal(RequestError::Refused(503)));
            return;
        }
        let limits = &self.config.limits;
        let reader = RequestReader::new(limits.max_handshake_bytes as usize, limits.max_handshake_headers as usize);
        let peer_addr = peer.map(Peer::new);
        let conn = HttpConn {
            stream,
            peer: peer_addr,
            reader,
            out: Vec::new(),
            written: 0,
            answered: false,
            scheduled: NEVER,
        };
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

    pub(super) fn http_readable(&mut self, key: Key) {
        let cap = self.buf.len() - 1;
        loop {
            let Some(Conn::Http(c)) = self.conns.get_mut(key) else { return };
            let n = match transport::read_input(&mut c.stream, &mut self.buf[..cap]) {
                Input::Data(n) => n,
                Input::Blocked => return,
                Input::End | Input::Failed(_) => return self.drop_http(key),
            };
            if c.answered {
                continue; // lingering: discard until the client closes
            }
            match c.reader.push(&self.buf[..n]) {
                RequestProgress::Partial(_) => {}
                RequestProgress::Refused(e) => return self.answer_http(key, refusal(e)),
                RequestProgress::Complete(request, used) => return self.http_request(key, request, used, n),
            }
        }
    }

    /// A whole request arrived; `self.buf[used..n]` follows it.
    fn http_request(&mut self, key: Key, request: Request, used: usize, n: usize) {
        let Some(Conn::Http(c)) = self.conns.get(key) else { return };
        let peer = c.peer.map(Peer::addr);
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
            Outcome::Upgrade(wss, agreement) => {
                let Some(Conn::Http(c)) = self.conns.remove(key) else { return };
                self.pending -= 1;
                self.deregister(c.stream.fd());
                let leftover = self.buf[used..n].to_vec();
                let adopt = Adopt { stream: c.stream, wss, agreement: Some(agreement), leftover };
                self.add_ws(adopt, route.config.clone());
            }
        }
    }

    /// Sends an HTTP answer; the connection closes after it.
    pub(super) fn answer_http(&mut self, key: Key, response: Vec<u8>) {
        let Some(Conn::Http(c)) = self.conns.get_mut(key) else { return };
        c.out = response;
        c.written = 0;
        c.answered = true;
        c.scheduled = NEVER;
        self.schedule(key, self.now() + LINGER_MS);
        self.flush_http(key);
    }

    pub(super) fn flush_http(&mut self, key: Key) {
        let Some(Conn::Http(c)) = self.conns.get_mut(key) else { return };
        match write_out(&mut c.stream, &c.out[c.written..]) {
            Ok(n) => c.written += n,
            Err(_) => return self.drop_http(key),
        }
        if c.answered && c.written == c.out.len() {
            // Half-close and read until the client closes (or the linger
            // time runs out), so the response is not lost to a reset.
            let _ = c.stream.shutdown_write();
        }
    }

    pub(super) fn drop_http(&mut self, key: Key) {
        if let Some(Conn::Http(c)) = self.conns.remove(key) {
            self.pending -= 1;
            self.deregister(c.stream.fd());
        }
    }
}
