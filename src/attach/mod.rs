//! WebSocket on a connected byte stream the host already has (a TCP or
//! Unix socket, a socketpair, a pipe pair), with blocking calls bounded by
//! deadlines: the shape of libdill's `ws_*` family.
//!
//! A [`WsSocket`] drives a core [`Connection`] over an [`FdStream`]. Every
//! call takes a [`Deadline`]; when it passes first the call fails with
//! [`Error::Deadline`] and nothing is lost: bytes read stay buffered,
//! bytes queued stay queued, and the next call continues where this one
//! stopped. Pings are answered and pongs absorbed inside the calls.
//!
//! The deadlines replace the core's handshake and close timeouts, which
//! a `WsSocket` does not run (it has no clock of its own between calls).

mod drive;
mod held;

use crate::error::{Error, Result};
use crate::io::stream::{Deadline, FdStream};
use crate::io::transport::Transport;
use crate::proto::handshake::client::ClientOptions;
use crate::proto::{Config, Connection, Opcode, Role, ServerOptions, State};
use held::{Direct, Held};

/// What a server checks in the request besides the RFC's rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerHandshake {
    /// Subprotocols supported, in order of preference.
    pub protocols: Vec<String>,
    /// Extra header fields for the `101` response.
    pub headers: Vec<(String, String)>,
    /// The longest resource (request-target) accepted, in bytes; a longer
    /// one is refused with 414 and the handshake fails with
    /// [`Error::BufferTooSmall`]. `usize::MAX`: any.
    pub max_resource_len: usize,
    /// The longest `Host` value accepted; a longer one is refused with 400
    /// and the handshake fails with [`Error::BufferTooSmall`].
    pub max_host_len: usize,
}

/// A received message, as a receive call reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Bytes copied to the caller's buffer.
    pub len: usize,
    /// Text (valid UTF-8) or binary.
    pub text: bool,
    /// [`WsSocket::recv_part`]: bytes of this message remain.
    pub more: bool,
}

/// A WebSocket on a host's byte stream (any [`Transport`]; by default the
/// host's descriptors, [`FdStream`]). See the [module](self) docs.
#[derive(Debug)]
pub struct WsSocket<T: Transport = FdStream> {
    conn: Connection,
    io: T,
    /// Bytes read and not yet fed: `rbuf[rpos..rend]`.
    rbuf: Vec<u8>,
    rpos: usize,
    rend: usize,
    held: Held,
    /// The socket's type for typed sends and receives.
    text: bool,
    /// The peer's close frame: code and reason.
    peer_close: Option<(u16, String)>,
    /// Why the connection failed.
    failure: Option<Error>,
    /// The transport reached end of file (input before it may still be unfed).
    read_eof: bool,
    /// End of file was handled: the stream ended after the closing handshake.
    eof: bool,
    /// A message is being sent in pieces.
    fragmenting: bool,
    /// Writing failed with a reset or a broken pipe: the peer is gone for
    /// sending (what it sent before may still be read).
    write_broken: bool,
    /// Messages arriving now are dropped (the closing handshake is under way).
    discard: bool,
    server: Option<ServerHandshake>,
    resource: Option<String>,
    host: Option<String>,
}

impl<T: Transport> WsSocket<T> {
    fn new(conn: Connection, io: T, text: bool) -> Self {
        WsSocket {
            conn,
            io,
            rbuf: Vec::new(),
            rpos: 0,
            rend: 0,
            held: Held::default(),
            text,
            peer_close: None,
            failure: None,
            read_eof: false,
            eof: false,
            fragmenting: false,
            write_broken: false,
            discard: false,
            server: None,
            resource: None,
            host: None,
        }
    }

    /// The client end on `io`: sends the opening handshake of `handshake`
    /// (call [`handshake`](WsSocket::handshake) to complete it), or starts
    /// open without HTTP when `handshake` is `None`. `text` is the type of
    /// typed sends and receives.
    pub fn client(io: T, text: bool, config: Config, handshake: Option<&ClientOptions>) -> Result<Self> {
        let config = Config { streaming: false, control_events: false, ..config };
        let conn = match handshake {
            Some(options) => Connection::client(config, options)?,
            None => Connection::open(Role::Client, config)?,
        };
        Ok(WsSocket::new(conn, io, text))
    }

    /// The server end on `io`: reads the client's opening handshake (call
    /// [`handshake`](WsSocket::handshake)), or starts open without HTTP
    /// when `handshake` is `None`.
    pub fn server(io: T, text: bool, config: Config, handshake: Option<ServerHandshake>) -> Result<Self> {
        let config = Config { streaming: false, control_events: false, ..config };
        let conn = match &handshake {
            Some(h) => Connection::server(
                config,
                ServerOptions {
                    resources: Vec::new(),
                    protocols: h.protocols.clone(),
                    headers: h.headers.clone(),
                    defer: true,
                },
            )?,
            None => Connection::open(Role::Server, config)?,
        };
        let mut socket = WsSocket::new(conn, io, text);
        socket.server = handshake;
        Ok(socket)
    }

    /// The underlying stream.
    pub fn stream(&self) -> &T {
        &self.io
    }

    /// Whether typed sends and receives use text.
    pub fn is_text(&self) -> bool {
        self.text
    }

    /// The core connection (state, subprotocol, error).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Server: the resource the client asked for, once the handshake completed.
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// Server: the client's `Host` value, once the handshake completed.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The peer's close frame, once it arrived: its code (1005 when it had
    /// none) and reason.
    pub fn peer_close(&self) -> Option<(u16, &str)> {
        self.peer_close.as_ref().map(|(c, r)| (*c, r.as_str()))
    }

    /// Why the connection failed, once it has.
    pub fn failure(&self) -> Option<Error> {
        self.failure
    }

    /// Whether the opening handshake is still under way.
    pub fn is_connecting(&self) -> bool {
        matches!(self.conn.state(), State::Connecting | State::Requested) && self.failure.is_none()
    }

    // ----- the calls -----

    /// Completes the opening handshake (nothing to do once it has).
    pub fn handshake(&mut self, deadline: Deadline) -> Result<()> {
        let r = self.drive(deadline, true, |s| !s.is_connecting());
        match self.failure {
            // A server's refusal was written as far as the transport took it.
            Some(e) => Err(e),
            None => r,
        }
    }

    /// Sends a whole message of the socket's type.
    pub fn send_typed(&mut self, data: &[u8], deadline: Deadline) -> Result<()> {
        self.send(self.text, false, data, deadline)
    }

    /// Sends `data` as a text or binary message, or as a piece of one when
    /// `more` is set (the following calls send the next pieces; the type of
    /// every piece after the first is ignored).
    ///
    /// The message is taken once the bytes queued before it are below the
    /// send queue limit (`send_queue_bytes`), and is then always sent: if
    /// the deadline passes while it is being written, the call still
    /// succeeds and the rest goes out with the next call. The call fails
    /// with [`Error::Deadline`] only when the message was not taken.
    pub fn send(&mut self, text: bool, more: bool, data: &[u8], deadline: Deadline) -> Result<()> {
        self.handshake(deadline)?;
        self.check_sendable()?;
        let high_water = usize::try_from(self.conn.config().limits.send_queue_bytes).unwrap_or(usize::MAX);
        self.drive(deadline, false, |s| s.conn.pending_output().len() < high_water)?;
        let opcode = match (self.fragmenting, text) {
            (true, _) => Opcode::Continuation,
            (false, true) => Opcode::Text,
            (false, false) => Opcode::Binary,
        };
        self.conn.send_frame(opcode, !more, data)?;
        self.fragmenting = more;
        match self.drive(deadline, false, |s| s.conn.pending_output().is_empty()) {
            Ok(()) | Err(Error::Deadline) => self.check_sendable(),
            r => r,
        }
    }

    fn check_sendable(&self) -> Result<()> {
        if let Some(e) = self.failure {
            return Err(e);
        }
        if self.conn.sender().close_sent() || self.eof {
            return Err(Error::Closed);
        }
        if self.write_broken {
            return Err(Error::Dropped);
        }
        Ok(())
    }

    /// Writes everything queued.
    pub fn flush(&mut self, deadline: Deadline) -> Result<()> {
        self.drive(deadline, false, |s| s.conn.pending_output().is_empty())
    }

    /// Waits for the next message and reports its size and type without
    /// taking it.
    pub fn peek(&mut self, deadline: Deadline) -> Result<(usize, bool)> {
        self.wait_message(deadline)?;
        Ok((self.held.rest().len(), self.held.text))
    }

    /// Receives the next whole message into `buf`. `typed`: the type the
    /// caller accepts (`Some(true)` text), or `None` for either. A message
    /// of the other type fails with [`Error::WrongMessageType`], one larger
    /// than `buf` with [`Error::BufferTooSmall`]; either stays queued.
    /// After the peer's close frame: [`Error::Closed`].
    pub fn recv(&mut self, buf: &mut [u8], typed: Option<bool>, deadline: Deadline) -> Result<Received> {
        self.handshake(deadline)?;
        let buf = if self.held.present {
            buf
        } else {
            // A message that suits the caller is copied straight from the
            // input (or the core's reassembly buffer); any other is held.
            let mut direct = Direct { buf, typed, got: None };
            self.drive_into(deadline, true, Some(&mut direct), |s| s.held.present || s.peer_close.is_some() || s.eof)?;
            if let Some(got) = direct.got {
                return Ok(got);
            }
            if !self.held.present {
                return Err(Error::Closed);
            }
            direct.buf
        };
        if typed.is_some_and(|t| t != self.held.text) {
            return Err(Error::WrongMessageType);
        }
        let rest = self.held.rest();
        if rest.len() > buf.len() {
            return Err(Error::BufferTooSmall);
        }
        let (len, text) = (rest.len(), self.held.text);
        buf[..len].copy_from_slice(rest);
        self.held.take(len);
        Ok(Received { len, text, more: false })
    }

    /// Receives the next piece of a message: up to `buf.len()` bytes of it,
    /// with `more` set while bytes of the same message remain.
    pub fn recv_part(&mut self, buf: &mut [u8], deadline: Deadline) -> Result<Received> {
        self.wait_message(deadline)?;
        let rest = self.held.rest();
        let len = rest.len().min(buf.len());
        buf[..len].copy_from_slice(&rest[..len]);
        let text = self.held.text;
        self.held.take(len);
        Ok(Received { len, text, more: self.held.present })
    }

    fn wait_message(&mut self, deadline: Deadline) -> Result<()> {
        self.handshake(deadline)?;
        self.drive(deadline, true, |s| s.held.present || s.peer_close.is_some() || s.eof)?;
        if self.held.present {
            return Ok(());
        }
        Err(Error::Closed)
    }

    /// The closing handshake: sends a close frame with `code` (0: none)
    /// and `reason` unless one was sent, drops messages that still arrive,
    /// waits for the peer's close frame, and gives the stream back.
    ///
    /// On [`Error::Deadline`] the socket stays usable: call again to
    /// continue (`code` and `reason` are used only the first time). After
    /// any other error the stream is in no state for WebSocket.
    pub fn detach(&mut self, code: u16, reason: &str, deadline: Deadline) -> Result<()> {
        if let Some(e) = self.failure {
            self.try_flush();
            return Err(e);
        }
        if self.is_connecting() {
            return Err(Error::State(c"the opening handshake has not completed"));
        }
        if self.conn.state() == State::Open && !self.conn.sender().close_sent() {
            self.conn.close(code, reason)?;
        }
        self.discard = true;
        self.held = Held::default();
        self.drive(deadline, true, |s| {
            s.conn.pending_output().is_empty() && (s.peer_close.is_some() || s.eof || s.conn.state() == State::Closed)
        })
    }

    /// Gives the stream back (its descriptors get their old flags).
    pub fn into_stream(self) -> T {
        self.io
    }
}
