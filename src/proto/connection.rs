//! A WebSocket connection without I/O: a [`Session`] and its [`Sender`]
//! in one value, for hosts that do not share the sender with other threads.

use std::ops::Deref;
use std::sync::Arc;

use crate::error::Result;
use crate::proto::config::Config;
use crate::proto::frame::Opcode;
use crate::proto::handshake::client::ClientOptions;
use crate::proto::role::Role;
use crate::proto::sender::Sender;
use crate::proto::session::{Event, Progress, ServerOptions, Session};

/// A WebSocket connection without I/O: a [`Session`] and its [`Sender`].
///
/// Feed it received bytes with [`feed`](Connection::feed), act on the
/// [`Event`] each call returns, write out what
/// [`pending_output`](Connection::pending_output) holds, and pass clock
/// readings to [`on_time`](Connection::on_time) by
/// [`next_deadline`](Session::next_deadline).
#[derive(Debug)]
pub struct Connection {
    session: Session,
    tx: Sender,
}

impl Connection {
    /// A server connection that starts by reading the client's handshake.
    pub fn server(config: impl Into<Arc<Config>>, options: ServerOptions) -> Result<Connection> {
        Ok(Connection { session: Session::server(config, options)?, tx: Sender::new(Role::Server) })
    }

    /// A client connection; its handshake request is queued at once.
    pub fn client(config: impl Into<Arc<Config>>, options: &ClientOptions) -> Result<Connection> {
        let mut tx = Sender::new(Role::Client);
        let session = Session::client(config, options, &mut tx)?;
        Ok(Connection { session, tx })
    }

    /// A connection that is open from the start, for hosts that did the
    /// opening handshake themselves (no HTTP).
    pub fn open(role: Role, config: impl Into<Arc<Config>>) -> Result<Connection> {
        Ok(Connection { session: Session::open(role, config)?, tx: Sender::new_open(role) })
    }

    /// The session (state, handshake results, timers); its read-only
    /// methods are also reachable on the connection itself (`Deref`).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The sender.
    pub fn sender(&self) -> &Sender {
        &self.tx
    }

    /// Both halves, for drivers that feed the session themselves.
    pub fn parts_mut(&mut self) -> (&mut Session, &mut Sender) {
        (&mut self.session, &mut self.tx)
    }

    /// Splits the connection into its halves.
    pub fn into_parts(self) -> (Session, Sender) {
        (self.session, self.tx)
    }

    /// See [`Session::feed`].
    pub fn feed<'a>(&'a mut self, input: &'a mut [u8]) -> Progress<'a> {
        self.session.feed(input, &mut self.tx)
    }

    /// See [`Session::accept`].
    pub fn accept(&mut self, protocol: Option<&str>, headers: &[(String, String)]) -> Result<()> {
        self.session.accept(protocol, headers, &mut self.tx)
    }

    /// See [`Session::accept_preferred`].
    pub fn accept_preferred(&mut self, headers: &[(String, String)]) -> Result<()> {
        self.session.accept_preferred(headers, &mut self.tx)
    }

    /// See [`Session::reject`].
    pub fn reject(&mut self, status: u16) -> Result<()> {
        self.session.reject(status, &mut self.tx)
    }

    /// See [`Session::on_eof`].
    pub fn on_eof(&mut self) -> Option<Event<'static>> {
        self.session.on_eof(&mut self.tx)
    }

    /// See [`Session::on_time`].
    pub fn on_time(&mut self, now: u64) -> Option<Event<'static>> {
        self.session.on_time(now, &mut self.tx)
    }

    /// The bytes waiting to be written to the transport.
    pub fn pending_output(&self) -> &[u8] {
        self.tx.pending_output()
    }

    /// Marks `n` bytes of [`pending_output`](Connection::pending_output) as
    /// written.
    pub fn consume(&mut self, n: usize) {
        self.tx.consume(n);
    }

    /// See [`Sender::swap_output`].
    pub fn swap_output(&mut self, buf: &mut Vec<u8>) {
        self.tx.swap_output(buf);
    }

    /// See [`Sender::send`].
    pub fn send(&mut self, text: bool, data: &[u8]) -> Result<()> {
        self.tx.send(text, data)
    }

    /// See [`Sender::send_frame`].
    pub fn send_frame(&mut self, opcode: Opcode, fin: bool, data: &[u8]) -> Result<()> {
        self.tx.send_frame(opcode, fin, data)
    }

    /// Queues a ping with up to 125 bytes of payload.
    pub fn ping(&mut self, data: &[u8]) -> Result<()> {
        self.tx.ping(data)
    }

    /// Queues an unsolicited pong with up to 125 bytes of payload.
    pub fn pong(&mut self, data: &[u8]) -> Result<()> {
        self.tx.pong(data)
    }

    /// Starts the closing handshake: queues a close frame with `code` (0:
    /// no code; otherwise one valid on the wire) and a reason of at most 123
    /// bytes, and waits up to `close_timeout_ms` for the peer's close frame.
    pub fn close(&mut self, code: u16, reason: &str) -> Result<()> {
        self.tx.close(code, reason)?;
        self.session.sync(&self.tx);
        Ok(())
    }
}

impl Deref for Connection {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}
