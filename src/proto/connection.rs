//! The connection state machine: handshake, frames, closing handshake and
//! timers, fed with bytes and clock readings, producing events and bytes.

use std::sync::Arc;

use crate::error::{Error, HandshakeError, RequestError, Result};
use crate::proto::close::{MAX_REASON_LEN, NO_STATUS, decode_close_payload, encode_close_payload};
use crate::proto::config::Config;
use crate::proto::frame::{MAX_CONTROL_PAYLOAD, Opcode};
use crate::proto::handshake::client::{self, ClientOptions};
use crate::proto::handshake::server::{self, Request};
use crate::proto::handshake::{self, HeadProgress, HeadReader, KEY_LEN};
use crate::proto::message::{Found, Payload, Receiver, RxConfig};
use crate::proto::output::Output;
use crate::proto::timer::Timer;
use crate::proto::utf8::Utf8Validator;

/// Which end of the connection this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends masked frames, receives unmasked ones.
    Client,
    /// Receives masked frames, sends unmasked ones.
    Server,
}

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The opening handshake is under way.
    Connecting,
    /// Server, deferred accept: a valid request awaits
    /// [`Connection::accept`] or [`Connection::reject`].
    Requested,
    /// Messages flow both ways.
    Open,
    /// This end sent a close frame and waits for the peer's.
    Closing,
    /// Both close frames have been exchanged.
    Closed,
    /// The connection failed ([`Connection::error`] says why).
    Failed,
}

/// What a server accepts in its opening handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerOptions {
    /// The resources (paths, without query) served; a request for another
    /// gets 404. Empty: every resource.
    pub resources: Vec<String>,
    /// Subprotocols supported, in the server's order of preference.
    pub protocols: Vec<String>,
    /// Extra header fields for the `101` response.
    pub headers: Vec<(String, String)>,
    /// Stop at [`Event::Request`] so the host can look at the request and
    /// [`Connection::accept`] or [`Connection::reject`] it.
    pub defer: bool,
}

/// Something that happened on a connection, in wire order. Data borrows
/// either the input passed to [`Connection::feed`] or the connection's own
/// buffer, until the next call on the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// Server, deferred accept: a valid upgrade request arrived; see
    /// [`Connection::request`].
    Request,
    /// The opening handshake completed.
    Open,
    /// A whole message.
    Message {
        /// Text (valid UTF-8) or binary.
        text: bool,
        /// The payload, unmasked.
        data: &'a [u8],
    },
    /// A piece of a message, in streaming mode.
    Fragment {
        /// Text or binary (a text piece may end inside a code point; the
        /// message as a whole is valid UTF-8).
        text: bool,
        /// The piece.
        data: &'a [u8],
        /// The first piece of its message.
        first: bool,
        /// The last piece of its message.
        last: bool,
    },
    /// A ping (the pong has been queued already).
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// The peer's close frame: its code (1005 when it sent none) and
    /// reason. The answering close frame has been queued already.
    Close {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: &'a str,
    },
    /// The connection failed. A close code is queued when the error has one
    /// ([`Error::close_code`]); a server refusing a handshake has queued
    /// its HTTP answer. Nothing more is read.
    Error(Error),
}

/// The outcome of [`Connection::feed`].
#[derive(Debug, PartialEq, Eq)]
pub struct Progress<'a> {
    /// Input bytes taken; feed the rest again after handling the event.
    pub consumed: usize,
    /// What happened, if anything.
    pub event: Option<Event<'a>>,
}

impl Progress<'_> {
    fn none(consumed: usize) -> Progress<'static> {
        Progress { consumed, event: None }
    }
}

/// The handshake in progress.
#[derive(Debug)]
enum Handshake {
    Server { head: HeadReader, options: ServerOptions, offered: Vec<String>, key: [u8; KEY_LEN] },
    Client { head: HeadReader, key: [u8; KEY_LEN], offered: Vec<String> },
}

/// A WebSocket connection without I/O.
///
/// Feed it received bytes with [`feed`](Connection::feed), act on the
/// [`Event`] each call returns, write out what
/// [`pending_output`](Connection::pending_output) holds, and pass clock
/// readings to [`on_time`](Connection::on_time) by
/// [`next_deadline`](Connection::next_deadline).
///
/// The struct is kept small (an event loop holds one per connection):
/// what only a handshake, a failure or an HTTP request needs lives behind
/// one optional box, and the configuration is shared.
#[derive(Debug)]
pub struct Connection {
    config: Arc<Config>,
    rx: Receiver,
    out: Output,
    /// The handshake timeout, then the close timeout.
    phase_timer: Timer,
    /// The next keepalive ping, or the pong deadline when `awaiting_pong`.
    keepalive_timer: Timer,
    extra: Option<Box<Extra>>,
    /// An outgoing fragmented message is in progress.
    sending: Option<Sending>,
    role: Role,
    state: State,
    close_sent: bool,
    awaiting_pong: bool,
    /// Something arrived since the last clock reading (keepalive).
    activity: bool,
    /// Client: the server had its time to drop the connection after the
    /// closing handshake.
    linger_over: bool,
}

/// What only some connections need, some of the time.
#[derive(Debug, Default)]
struct Extra {
    handshake: Option<Handshake>,
    request: Option<Request>,
    protocol: Option<Box<str>>,
    error: Option<Error>,
}

/// An outgoing fragmented message.
#[derive(Debug, Clone)]
struct Sending {
    text: bool,
    utf8: Utf8Validator,
}

impl Connection {
    fn new(role: Role, config: Arc<Config>, state: State) -> Result<Connection> {
        if !config.limits.is_valid() {
            return Err(Error::Invalid(c"a size limit is 0"));
        }
        let phase_timer = match state {
            State::Connecting => Timer::start(config.limits.handshake_timeout_ms),
            _ => Timer::OFF,
        };
        let mut conn = Connection {
            config,
            rx: Receiver::default(),
            out: Output::default(),
            phase_timer,
            keepalive_timer: Timer::OFF,
            extra: None,
            sending: None,
            role,
            state,
            close_sent: false,
            awaiting_pong: false,
            activity: false,
            linger_over: false,
        };
        if state == State::Open {
            conn.opened();
        }
        Ok(conn)
    }

    /// A server connection that starts by reading the client's handshake.
    pub fn server(config: impl Into<Arc<Config>>, options: ServerOptions) -> Result<Connection> {
        let config = config.into();
        server::check_extra_headers(&options.headers).map_err(Error::Invalid)?;
        if options.protocols.iter().any(|p| !handshake::is_token(p.as_bytes())) {
            return Err(Error::Invalid(c"subprotocol is not a token"));
        }
        let head = HeadReader::new(config.limits.max_handshake_bytes as usize);
        let mut conn = Connection::new(Role::Server, config, State::Connecting)?;
        conn.extra_mut().handshake = Some(Handshake::Server { head, options, offered: Vec::new(), key: [0; KEY_LEN] });
        Ok(conn)
    }

    /// A client connection; its handshake request is queued at once.
    pub fn client(config: impl Into<Arc<Config>>, options: &ClientOptions) -> Result<Connection> {
        let config = config.into();
        options.check()?;
        let key = handshake::generate_key()?;
        let head = HeadReader::new(config.limits.max_handshake_bytes as usize);
        let mut conn = Connection::new(Role::Client, config, State::Connecting)?;
        client::write_request(conn.out.vec(), options, &key);
        conn.extra_mut().handshake = Some(Handshake::Client { head, key, offered: options.protocols.clone() });
        Ok(conn)
    }

    /// A connection that is open from the start, for hosts that did the
    /// opening handshake themselves (no HTTP).
    pub fn open(role: Role, config: impl Into<Arc<Config>>) -> Result<Connection> {
        Connection::new(role, config.into(), State::Open)
    }

    fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Why the connection failed, once it has.
    pub fn error(&self) -> Option<Error> {
        self.extra.as_ref().and_then(|x| x.error)
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|x| x.protocol.as_deref())
    }

    /// Server: the client's handshake request, once it has arrived.
    pub fn request(&self) -> Option<&Request> {
        self.extra.as_ref().and_then(|x| x.request.as_ref())
    }

    /// Server, deferred accept: the subprotocols the client offered.
    pub fn offered_protocols(&self) -> &[String] {
        match self.extra.as_ref().and_then(|x| x.handshake.as_ref()) {
            Some(Handshake::Server { offered, .. }) => offered,
            _ => &[],
        }
    }

    /// Bytes held for messages that span several inputs.
    pub fn buffered_bytes(&self) -> usize {
        self.rx.held()
    }

    /// Whether the host should close the transport once the pending output
    /// is written: after a failure, after the closing handshake on a server,
    /// and on a client once the server had `close_timeout_ms` to close first.
    pub fn wants_close(&self) -> bool {
        match self.state {
            State::Failed => true,
            State::Closed => self.role == Role::Server || self.linger_over,
            _ => false,
        }
    }

    // ----- input -----

    /// Reads `input` until something happens or it is used up.
    ///
    /// Payloads are unmasked in place in `input`. Feed the bytes after
    /// `consumed` again once the event is handled; a message that arrived
    /// whole is lent straight from `input`.
    pub fn feed<'a>(&'a mut self, input: &'a mut [u8]) -> Progress<'a> {
        match self.state {
            State::Connecting => self.feed_handshake(input),
            State::Requested => Progress::none(0),
            State::Open | State::Closing => self.feed_frames(input),
            State::Closed | State::Failed => Progress::none(input.len()),
        }
    }

    fn feed_frames<'a>(&'a mut self, input: &'a mut [u8]) -> Progress<'a> {
        // Any byte received proves the peer alive (keepalive).
        self.activity |= !input.is_empty();
        let rx_config = RxConfig::new(&self.config, self.role == Role::Server);
        let mut pos = 0;
        let found = loop {
            let step = self.rx.feed(&mut input[pos..], &rx_config);
            let base = pos;
            pos += step.consumed;
            match step.result {
                Err(e) => return Progress { consumed: input.len(), event: Some(self.fail(e)) },
                Ok(None) => return Progress::none(pos),
                Ok(Some(found)) => {
                    let found = found.shifted(base);
                    match self.act_on(&found, input) {
                        Err(e) => return Progress { consumed: input.len(), event: Some(self.fail(e)) },
                        Ok(true) => break found,
                        Ok(false) if pos == input.len() || self.state == State::Closed => {
                            return Progress::none(pos);
                        }
                        Ok(false) => {}
                    }
                }
            }
        };
        let input: &'a [u8] = input;
        let this: &'a Connection = self;
        let bytes = |payload: &Payload| -> &'a [u8] {
            match payload {
                Payload::Input(r) => &input[r.clone()],
                Payload::Buffered(r) => this.rx.buffered(r.clone()),
            }
        };
        let event = match &found {
            Found::Message { text, payload } => Event::Message { text: *text, data: bytes(payload) },
            Found::Fragment { text, payload, first, last } => {
                Event::Fragment { text: *text, data: bytes(payload), first: *first, last: *last }
            }
            Found::Control { opcode: Opcode::Ping, payload } => Event::Ping(bytes(payload)),
            Found::Control { opcode: Opcode::Pong, payload } => Event::Pong(bytes(payload)),
            Found::Control { payload, .. } => match decode_close_payload(bytes(payload)) {
                Ok((code, reason)) => Event::Close { code, reason },
                Err(_) => unreachable!("close payload was checked in act_on"),
            },
        };
        Progress { consumed: pos, event: Some(event) }
    }

    /// Does what the protocol requires for a finding (pong, close reply)
    /// and says whether the host gets an event for it.
    fn act_on(&mut self, found: &Found, input: &[u8]) -> Result<bool> {
        let Found::Control { opcode, payload } = found else { return Ok(true) };
        let data = match payload {
            Payload::Input(r) => &input[r.clone()],
            Payload::Buffered(r) => self.rx.buffered(r.clone()),
        };
        match opcode {
            Opcode::Ping => {
                if !self.close_sent {
                    self.out.frame(Opcode::Pong, true, data, self.role == Role::Client)?;
                }
                Ok(self.config.control_events)
            }
            Opcode::Pong => Ok(self.config.control_events),
            _ => {
                let (code, _) = decode_close_payload(data)?;
                if !self.close_sent {
                    let reply = if code == NO_STATUS { 0 } else { code };
                    let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
                    let n = encode_close_payload(reply, "", &mut payload)?;
                    self.out.frame(Opcode::Close, true, &payload[..n], self.role == Role::Client)?;
                    self.close_sent = true;
                }
                self.state = State::Closed;
                self.stop_timers();
                if self.role == Role::Client {
                    self.phase_timer = Timer::start(self.config.limits.close_timeout_ms);
                }
                Ok(true)
            }
        }
    }

    fn feed_handshake(&mut self, input: &[u8]) -> Progress<'static> {
        let Some(mut hs) = self.extra.as_mut().and_then(|x| x.handshake.take()) else {
            return Progress::none(0);
        };
        let (Handshake::Server { head, .. } | Handshake::Client { head, .. }) = &mut hs;
        let consumed = match head.push(input) {
            HeadProgress::Partial(n) => {
                self.extra_mut().handshake = Some(hs);
                return Progress::none(n);
            }
            HeadProgress::Complete(n) => n,
            HeadProgress::TooLarge => {
                let e = match hs {
                    Handshake::Server { .. } => Error::Request(RequestError::HeadersTooLarge),
                    Handshake::Client { .. } => Error::Handshake(HandshakeError::ResponseTooLarge),
                };
                return Progress { consumed: input.len(), event: Some(self.fail_handshake(e)) };
            }
        };
        let max_headers = self.config.limits.max_handshake_headers as usize;
        let outcome = match &mut hs {
            Handshake::Client { head, key, offered } => client::check_response(head.head(), key, offered, max_headers)
                .map(|resp| {
                    self.extra_mut().protocol = resp.protocol.map(String::into_boxed_str);
                    Event::Open
                })
                .map_err(Error::Handshake),
            Handshake::Server { head, options, offered, key } => {
                let request = Request::parse(head.head(), max_headers);
                self.on_request(request, options, offered, key)
            }
        };
        let event = match outcome {
            Ok(Event::Open) => {
                self.opened();
                Event::Open
            }
            Ok(event) => {
                self.extra_mut().handshake = Some(hs);
                event
            }
            Err(e) => self.fail_handshake(e),
        };
        Progress { consumed, event: Some(event) }
    }

    /// Server: checks a parsed request and accepts it, or stops for the host.
    fn on_request(
        &mut self,
        request: std::result::Result<Request, RequestError>,
        options: &ServerOptions,
        offered: &mut Vec<String>,
        key: &mut [u8; KEY_LEN],
    ) -> Result<Event<'static>> {
        let request = request.map_err(Error::Request)?;
        if !options.resources.is_empty() && !options.resources.iter().any(|r| r == request.path()) {
            return Err(Error::Request(RequestError::NotFound));
        }
        let upgrade = server::validate(&request).map_err(Error::Request)?;
        *key = upgrade.key;
        *offered = upgrade.protocols;
        self.extra_mut().request = Some(request);
        if options.defer {
            self.state = State::Requested;
            return Ok(Event::Request);
        }
        let chosen = server::select_protocol(offered, &options.protocols);
        self.write_accept(key, chosen, &options.headers, &[]);
        Ok(Event::Open)
    }

    fn write_accept(
        &mut self,
        key: &[u8],
        protocol: Option<&str>,
        headers: &[(String, String)],
        extra: &[(String, String)],
    ) {
        let mut all = headers.to_vec();
        all.extend_from_slice(extra);
        server::write_accept(self.out.vec(), key, protocol, &all);
        self.extra_mut().protocol = protocol.map(Box::from);
    }

    /// Server, deferred accept: answers `101` with `protocol` (one the client
    /// offered, or `None`) and extra header fields, and opens the connection.
    pub fn accept(&mut self, protocol: Option<&str>, headers: &[(String, String)]) -> Result<()> {
        if self.state != State::Requested {
            return Err(Error::State(c"no request is waiting to be accepted"));
        }
        if protocol.is_some_and(|p| !self.offered_protocols().iter().any(|o| o == p)) {
            return Err(Error::Invalid(c"the client did not offer this subprotocol"));
        }
        server::check_extra_headers(headers).map_err(Error::Invalid)?;
        let Some(hs) = self.extra.as_mut().and_then(|x| x.handshake.take()) else {
            unreachable!("a waiting request keeps its handshake");
        };
        let Handshake::Server { options, key, .. } = hs else {
            unreachable!("only servers wait for accept");
        };
        self.write_accept(&key, protocol, &options.headers, headers);
        self.opened();
        Ok(())
    }

    /// Server, deferred accept: refuses the request with an HTTP `status`
    /// (400-599) and fails the connection.
    pub fn reject(&mut self, status: u16) -> Result<()> {
        if self.state != State::Requested {
            return Err(Error::State(c"no request is waiting to be accepted"));
        }
        if !(400..=599).contains(&status) {
            return Err(Error::Invalid(c"status must be 400-599"));
        }
        self.fail_handshake(Error::Request(RequestError::Refused(status)));
        Ok(())
    }

    fn opened(&mut self) {
        self.state = State::Open;
        self.phase_timer = Timer::OFF;
        self.keepalive_timer = Timer::start(self.config.keepalive_interval_ms);
    }

    fn fail_handshake(&mut self, e: Error) -> Event<'static> {
        if let Error::Request(r) = e {
            server::write_refusal(self.out.vec(), r);
        }
        if let Some(x) = self.extra.as_mut() {
            x.handshake = None;
        }
        self.fail(e)
    }

    /// Fails the connection (RFC 6455 §7.1.7): sends the error's close code
    /// if it has one and none was sent, and reads nothing more.
    fn fail(&mut self, e: Error) -> Event<'static> {
        if let Some(code) = e.close_code()
            && !self.close_sent
            && matches!(self.state, State::Open | State::Closing)
        {
            let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
            let reason = &e.detail()[..e.detail().len().min(MAX_REASON_LEN)];
            if let Ok(n) = encode_close_payload(code, reason, &mut payload) {
                // A failing random source leaves the close frame unsent; the
                // transport is closed either way.
                let _ = self.out.frame(Opcode::Close, true, &payload[..n], self.role == Role::Client);
            }
            self.close_sent = true;
        }
        self.state = State::Failed;
        self.extra_mut().error = Some(e);
        self.stop_timers();
        Event::Error(e)
    }

    fn stop_timers(&mut self) {
        self.phase_timer = Timer::OFF;
        self.keepalive_timer = Timer::OFF;
        self.awaiting_pong = false;
    }

    /// The transport reached end of file (or broke). Returns the failure
    /// event unless the closing handshake had completed.
    pub fn on_eof(&mut self) -> Option<Event<'static>> {
        match self.state {
            State::Closed => {
                self.linger_over = true;
                self.phase_timer = Timer::OFF;
                None
            }
            State::Failed => None,
            State::Connecting if self.role == Role::Client => {
                Some(self.fail(Error::Handshake(HandshakeError::PeerHungUp)))
            }
            _ => Some(self.fail(Error::Dropped)),
        }
    }

    // ----- output -----

    /// The bytes waiting to be written to the transport.
    pub fn pending_output(&self) -> &[u8] {
        self.out.pending()
    }

    /// Marks `n` bytes of [`pending_output`](Connection::pending_output) as
    /// written.
    pub fn consume(&mut self, n: usize) {
        self.out.consume(n);
    }

    /// Swaps the output queue's storage with `buf` (what was already
    /// consumed is dropped first). An event loop lends an empty shared
    /// buffer before acting on a connection and takes it back once the
    /// bytes are written, so idle connections hold no output memory.
    pub fn swap_output(&mut self, buf: &mut Vec<u8>) {
        self.out.swap(buf);
    }

    fn check_can_send(&self) -> Result<()> {
        match self.state {
            State::Open => Ok(()),
            State::Connecting | State::Requested => Err(Error::State(c"the handshake has not completed")),
            State::Closing | State::Closed => Err(Error::State(c"a close frame was sent")),
            State::Failed => Err(Error::State(c"the connection failed")),
        }
    }

    /// Queues a whole message (one frame).
    pub fn send(&mut self, text: bool, data: &[u8]) -> Result<()> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(Error::State(c"a fragmented message is in progress"));
        }
        if text && std::str::from_utf8(data).is_err() {
            return Err(Error::Invalid(c"text is not valid UTF-8"));
        }
        self.out.frame(if text { Opcode::Text } else { Opcode::Binary }, true, data, self.role == Role::Client)
    }

    /// Queues one frame of any opcode but close (use
    /// [`close`](Connection::close)). Data frames must follow the
    /// fragmentation rules: a text or binary frame starts a message, a
    /// continuation continues it, FIN ends it; text must be UTF-8 across the
    /// whole message. Control frames need FIN and at most 125 bytes and may
    /// come between the fragments of a message.
    pub fn send_frame(&mut self, opcode: Opcode, fin: bool, data: &[u8]) -> Result<()> {
        self.check_can_send()?;
        match opcode {
            Opcode::Close => Err(Error::Invalid(c"send a close frame with close()")),
            Opcode::Ping | Opcode::Pong => {
                if !fin {
                    return Err(Error::Invalid(c"control frames cannot be fragmented"));
                }
                if data.len() > MAX_CONTROL_PAYLOAD {
                    return Err(Error::Invalid(c"control frame payload longer than 125 bytes"));
                }
                self.out.frame(opcode, true, data, self.role == Role::Client)
            }
            Opcode::Text | Opcode::Binary | Opcode::Continuation => {
                let mut sending = match (opcode, &self.sending) {
                    (Opcode::Continuation, Some(s)) => s.clone(),
                    (Opcode::Continuation, None) => return Err(Error::State(c"no fragmented message is in progress")),
                    (_, Some(_)) => return Err(Error::State(c"a fragmented message is in progress")),
                    (op, None) => Sending { text: op == Opcode::Text, utf8: Utf8Validator::new() },
                };
                if sending.text {
                    sending.utf8.feed(data).map_err(|_| Error::Invalid(c"text is not valid UTF-8"))?;
                    if fin {
                        sending.utf8.finish().map_err(|_| Error::Invalid(c"text ends inside a UTF-8 sequence"))?;
                    }
                }
                self.out.frame(opcode, fin, data, self.role == Role::Client)?;
                self.sending = if fin { None } else { Some(sending) };
                Ok(())
            }
        }
    }

    /// Queues a ping with up to 125 bytes of payload.
    pub fn ping(&mut self, data: &[u8]) -> Result<()> {
        self.send_frame(Opcode::Ping, true, data)
    }

    /// Queues an unsolicited pong with up to 125 bytes of payload.
    pub fn pong(&mut self, data: &[u8]) -> Result<()> {
        self.send_frame(Opcode::Pong, true, data)
    }

    /// Starts the closing handshake: queues a close frame with `code` (0:
    /// no code; otherwise one valid on the wire) and a reason of at most 123
    /// bytes, and waits up to `close_timeout_ms` for the peer's close frame.
    pub fn close(&mut self, code: u16, reason: &str) -> Result<()> {
        self.check_can_send()?;
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let n = encode_close_payload(code, reason, &mut payload)?;
        self.out.frame(Opcode::Close, true, &payload[..n], self.role == Role::Client)?;
        self.close_sent = true;
        self.state = State::Closing;
        self.keepalive_timer = Timer::OFF;
        self.awaiting_pong = false;
        self.phase_timer = Timer::start(self.config.limits.close_timeout_ms);
        Ok(())
    }

    // ----- time -----

    /// When the host should next call [`on_time`](Connection::on_time), on
    /// its own clock; `Some(0)` asks for a call with the current time (to
    /// start a timer); `None`: no timer runs.
    pub fn next_deadline(&self) -> Option<u64> {
        match (self.phase_timer.deadline(), self.keepalive_timer.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Passes the current time (milliseconds on the host's monotonic clock).
    /// Starts pending timers, sends keepalive pings, and returns the failure
    /// event when a handshake, close or pong timeout ran out.
    pub fn on_time(&mut self, now: u64) -> Option<Event<'static>> {
        self.phase_timer.arm(now);
        self.keepalive_timer.arm(now);
        if std::mem::take(&mut self.activity) && self.state == State::Open {
            // Anything received proves the peer alive: the next ping is an
            // interval from now.
            self.keepalive_timer = Timer::start_at(now, self.config.keepalive_interval_ms);
            self.awaiting_pong = false;
        }
        if self.phase_timer.expired(now) {
            self.phase_timer = Timer::OFF;
            return match self.state {
                State::Closed => {
                    self.linger_over = true;
                    None
                }
                State::Closing => Some(self.fail(Error::CloseTimeout)),
                _ => Some(self.fail(Error::HandshakeTimeout)),
            };
        }
        if self.keepalive_timer.expired(now) && self.state == State::Open {
            if self.awaiting_pong {
                return Some(self.fail(Error::PongTimeout));
            }
            if let Err(e) = self.out.frame(Opcode::Ping, true, b"", self.role == Role::Client) {
                return Some(self.fail(e));
            }
            let timeout = match self.config.keepalive_timeout_ms {
                0 => self.config.keepalive_interval_ms,
                t => t,
            };
            self.keepalive_timer = Timer::start_at(now, timeout);
            self.awaiting_pong = true;
        }
        None
    }
}
