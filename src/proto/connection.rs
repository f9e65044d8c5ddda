//! The connection state machine: handshake, frames, closing handshake and
//! timers, fed with bytes and clock readings, producing events and bytes.

use std::sync::Arc;

use crate::error::{Error, HandshakeError, RequestError, Result};
use crate::proto::close::{MAX_REASON_LEN, NO_STATUS, decode_close_payload};
use crate::proto::config::Config;
use crate::proto::frame::Opcode;
use crate::proto::handshake::client::{self, ClientOptions};
use crate::proto::handshake::server::{self, Request};
use crate::proto::handshake::{self, HeadProgress, HeadReader, KEY_LEN};
use crate::proto::message::{Found, Payload, Receiver, RxConfig};
use crate::proto::sender::Sender;
use crate::proto::timer::Timer;

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
        /// The payload, unmasked. When the message was reassembled by the
        /// connection (it did not arrive whole in one input), the byte after
        /// `data` in memory is a NUL, for C hosts that use text in place.
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

/// Everything of a connection but the bytes it sends: the handshake, the
/// receiving side, the closing handshake and the timers.
///
/// Its methods take the connection's [`Sender`], where they write what the
/// protocol answers by itself (the handshake response, pongs, close
/// frames). Most hosts use [`Connection`], which holds both; an event loop
/// that lets other threads send keeps the sender behind a lock and passes
/// it in.
///
/// The struct is kept small (an event loop holds one per connection):
/// what only a handshake, a failure or an HTTP request needs lives behind
/// one optional box, and the configuration is shared.
#[derive(Debug)]
pub struct Session {
    config: Arc<Config>,
    rx: Receiver,
    /// The handshake timeout, then the close timeout.
    phase_timer: Timer,
    /// The next keepalive ping, or the pong deadline when `awaiting_pong`.
    keepalive_timer: Timer,
    extra: Option<Box<Extra>>,
    role: Role,
    state: State,
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

impl Session {
    fn new(role: Role, config: Arc<Config>, state: State) -> Result<Session> {
        if !config.limits.is_valid() {
            return Err(Error::Invalid(c"a size limit is 0"));
        }
        let phase_timer = match state {
            State::Connecting => Timer::start(config.limits.handshake_timeout_ms),
            _ => Timer::OFF,
        };
        let keepalive_timer = match state {
            State::Open => Timer::start(config.keepalive_interval_ms),
            _ => Timer::OFF,
        };
        Ok(Session {
            config,
            rx: Receiver::default(),
            phase_timer,
            keepalive_timer,
            extra: None,
            role,
            state,
            awaiting_pong: false,
            activity: false,
            linger_over: false,
        })
    }

    /// A server session that starts by reading the client's handshake.
    pub fn server(config: impl Into<Arc<Config>>, options: ServerOptions) -> Result<Session> {
        server::check_extra_headers(&options.headers).map_err(Error::Invalid)?;
        if options.protocols.iter().any(|p| !handshake::is_token(p.as_bytes())) {
            return Err(Error::Invalid(c"subprotocol is not a token"));
        }
        let config = config.into();
        let head = HeadReader::new(config.limits.max_handshake_bytes as usize);
        let mut session = Session::new(Role::Server, config, State::Connecting)?;
        session.extra_mut().handshake =
            Some(Handshake::Server { head, options, offered: Vec::new(), key: [0; KEY_LEN] });
        Ok(session)
    }

    /// A client session; its handshake request is written into `tx` at once.
    pub fn client(config: impl Into<Arc<Config>>, options: &ClientOptions, tx: &mut Sender) -> Result<Session> {
        options.check()?;
        let config = config.into();
        let key = handshake::generate_key()?;
        let head = HeadReader::new(config.limits.max_handshake_bytes as usize);
        let mut session = Session::new(Role::Client, config, State::Connecting)?;
        client::write_request(tx.raw(), options, &key);
        session.extra_mut().handshake = Some(Handshake::Client { head, key, offered: options.protocols.clone() });
        Ok(session)
    }

    /// A session that is open from the start, for hosts that did the
    /// opening handshake themselves (no HTTP); its sender must be opened
    /// too ([`Sender::new_open`]).
    pub fn open(role: Role, config: impl Into<Arc<Config>>) -> Result<Session> {
        Session::new(role, config.into(), State::Open)
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

    /// Takes note of what the host did with the sender: a close frame sent
    /// by the host starts the closing handshake (state
    /// [`State::Closing`] and the close timeout). Called by every method
    /// that takes the sender; call it after sending a close frame through
    /// a sender that other threads use.
    pub fn sync(&mut self, tx: &Sender) {
        if self.state == State::Open && tx.close_sent() {
            self.state = State::Closing;
            self.keepalive_timer = Timer::OFF;
            self.awaiting_pong = false;
            self.phase_timer = Timer::start(self.config.limits.close_timeout_ms);
        }
    }

    // ----- input -----

    /// Reads `input` until something happens or it is used up; answers
    /// written by the protocol go to `tx`.
    ///
    /// Payloads are unmasked in place in `input`. Feed the bytes after
    /// `consumed` again once the event is handled; a message that arrived
    /// whole is lent straight from `input`.
    pub fn feed<'a>(&'a mut self, input: &'a mut [u8], tx: &mut Sender) -> Progress<'a> {
        self.sync(tx);
        match self.state {
            State::Connecting => self.feed_handshake(input, tx),
            State::Requested => Progress::none(0),
            State::Open | State::Closing => self.feed_frames(input, tx),
            State::Closed | State::Failed => {
                // Nothing more is read: what the close event lent is no
                // longer needed.
                self.rx = Receiver::default();
                Progress::none(input.len())
            }
        }
    }

    fn feed_frames<'a>(&'a mut self, input: &'a mut [u8], tx: &mut Sender) -> Progress<'a> {
        // Any byte received proves the peer alive (keepalive).
        self.activity |= !input.is_empty();
        let rx_config = RxConfig::new(&self.config, self.role == Role::Server);
        let mut pos = 0;
        let found = loop {
            let step = self.rx.feed(&mut input[pos..], &rx_config);
            let base = pos;
            pos += step.consumed;
            match step.result {
                Err(e) => return Progress { consumed: input.len(), event: Some(self.fail(e, tx)) },
                Ok(None) => return Progress::none(pos),
                Ok(Some(found)) => {
                    let found = found.shifted(base);
                    match self.act_on(&found, input, tx) {
                        Err(e) => return Progress { consumed: input.len(), event: Some(self.fail(e, tx)) },
                        Ok(true) => break found,
                        Ok(false) if pos == input.len() => return Progress::none(pos),
                        Ok(false) => {}
                    }
                }
            }
        };
        let input: &'a [u8] = input;
        let this: &'a Session = self;
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
    fn act_on(&mut self, found: &Found, input: &[u8], tx: &mut Sender) -> Result<bool> {
        let Found::Control { opcode, payload } = found else { return Ok(true) };
        let data = match payload {
            Payload::Input(r) => &input[r.clone()],
            Payload::Buffered(r) => self.rx.buffered(r.clone()),
        };
        match opcode {
            Opcode::Ping => {
                tx.pong_reply(data)?;
                Ok(self.config.control_events)
            }
            Opcode::Pong => Ok(self.config.control_events),
            _ => {
                let (code, _) = decode_close_payload(data)?;
                tx.close_reply(if code == NO_STATUS { 0 } else { code })?;
                self.state = State::Closed;
                self.stop_timers();
                if self.role == Role::Client {
                    self.phase_timer = Timer::start(self.config.limits.close_timeout_ms);
                }
                Ok(true)
            }
        }
    }

    fn feed_handshake(&mut self, input: &[u8], tx: &mut Sender) -> Progress<'static> {
        let Some(mut hs) = self.extra.as_mut().and_then(|x| x.handshake.take()) else {
            return Progress::none(0);
        };
        let is_client = matches!(hs, Handshake::Client { .. });
        let (Handshake::Server { head, .. } | Handshake::Client { head, .. }) = &mut hs;
        let consumed = match head.push(input) {
            HeadProgress::Partial(n) if is_client || server::could_be_request(head.head()) => {
                self.extra_mut().handshake = Some(hs);
                return Progress::none(n);
            }
            HeadProgress::Partial(_) => {
                return Progress {
                    consumed: input.len(),
                    event: Some(self.fail_handshake(Error::Request(RequestError::Malformed), tx)),
                };
            }
            HeadProgress::Complete(n) => n,
            HeadProgress::TooLarge => {
                let e = match hs {
                    Handshake::Server { .. } => Error::Request(RequestError::HeadersTooLarge),
                    Handshake::Client { .. } => Error::Handshake(HandshakeError::ResponseTooLarge),
                };
                return Progress { consumed: input.len(), event: Some(self.fail_handshake(e, tx)) };
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
                self.on_request(request, options, offered, key, tx)
            }
        };
        let event = match outcome {
            Ok(Event::Open) => {
                self.opened(tx);
                Event::Open
            }
            Ok(event) => {
                self.extra_mut().handshake = Some(hs);
                event
            }
            Err(e) => self.fail_handshake(e, tx),
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
        tx: &mut Sender,
    ) -> Result<Event<'static>> {
        let request = request.map_err(Error::Request)?;
        if request.resource().is_none() {
            return Err(Error::Request(RequestError::TargetInvalid));
        }
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
        self.write_accept(key, chosen, &options.headers, &[], tx);
        Ok(Event::Open)
    }

    fn write_accept(
        &mut self,
        key: &[u8],
        protocol: Option<&str>,
        headers: &[(String, String)],
        extra: &[(String, String)],
        tx: &mut Sender,
    ) {
        let mut all = headers.to_vec();
        all.extend_from_slice(extra);
        server::write_accept(tx.raw(), key, protocol, &all);
        self.extra_mut().protocol = protocol.map(Box::from);
    }

    /// Server, deferred accept: answers `101` with `protocol` (one the client
    /// offered, or `None`) and extra header fields, and opens the connection.
    pub fn accept(&mut self, protocol: Option<&str>, headers: &[(String, String)], tx: &mut Sender) -> Result<()> {
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
        self.write_accept(&key, protocol, &options.headers, headers, tx);
        self.opened(tx);
        Ok(())
    }

    /// Server, deferred accept: refuses the request with an HTTP `status`
    /// (400-599) and fails the connection.
    pub fn reject(&mut self, status: u16, tx: &mut Sender) -> Result<()> {
        if self.state != State::Requested {
            return Err(Error::State(c"no request is waiting to be accepted"));
        }
        if !(400..=599).contains(&status) {
            return Err(Error::Invalid(c"status must be 400-599"));
        }
        self.fail_handshake(Error::Request(RequestError::Refused(status)), tx);
        Ok(())
    }

    fn opened(&mut self, tx: &mut Sender) {
        self.state = State::Open;
        tx.opened();
        self.phase_timer = Timer::OFF;
        self.keepalive_timer = Timer::start(self.config.keepalive_interval_ms);
    }

    fn fail_handshake(&mut self, e: Error, tx: &mut Sender) -> Event<'static> {
        if let Error::Request(r) = e {
            server::write_refusal(tx.raw(), r);
        }
        if let Some(x) = self.extra.as_mut() {
            x.handshake = None;
        }
        self.fail(e, tx)
    }

    /// Fails the connection (RFC 6455 §7.1.7): sends the error's close code
    /// if it has one and no close frame was sent, and reads nothing more.
    fn fail(&mut self, e: Error, tx: &mut Sender) -> Event<'static> {
        let detail = e.detail();
        tx.fail(e.close_code(), &detail[..detail.len().min(MAX_REASON_LEN)]);
        self.state = State::Failed;
        self.rx = Receiver::default();
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
    pub fn on_eof(&mut self, tx: &mut Sender) -> Option<Event<'static>> {
        match self.state {
            State::Closed => {
                self.rx = Receiver::default();
                self.linger_over = true;
                self.phase_timer = Timer::OFF;
                None
            }
            State::Failed => None,
            State::Connecting if self.role == Role::Client => {
                Some(self.fail(Error::Handshake(HandshakeError::PeerHungUp), tx))
            }
            _ => Some(self.fail(Error::Dropped, tx)),
        }
    }

    // ----- time -----

    /// When the host should next call [`on_time`](Session::on_time), on
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
    pub fn on_time(&mut self, now: u64, tx: &mut Sender) -> Option<Event<'static>> {
        self.sync(tx);
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
                State::Closing => Some(self.fail(Error::CloseTimeout, tx)),
                _ => Some(self.fail(Error::HandshakeTimeout, tx)),
            };
        }
        if self.keepalive_timer.expired(now) && self.state == State::Open {
            if self.awaiting_pong {
                return Some(self.fail(Error::PongTimeout, tx));
            }
            if let Err(e) = tx.ping(b"") {
                return Some(self.fail(e, tx));
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

/// A WebSocket connection without I/O: a [`Session`] and its [`Sender`].
///
/// Feed it received bytes with [`feed`](Connection::feed), act on the
/// [`Event`] each call returns, write out what
/// [`pending_output`](Connection::pending_output) holds, and pass clock
/// readings to [`on_time`](Connection::on_time) by
/// [`next_deadline`](Connection::next_deadline).
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

    /// The session (state, handshake results, timers).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The sender.
    pub fn sender(&self) -> &Sender {
        &self.tx
    }

    /// Splits the connection into its halves.
    pub fn into_parts(self) -> (Session, Sender) {
        (self.session, self.tx)
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.session.role()
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.session.state()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.session.config()
    }

    /// Why the connection failed, once it has.
    pub fn error(&self) -> Option<Error> {
        self.session.error()
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.session.subprotocol()
    }

    /// Server: the client's handshake request, once it has arrived.
    pub fn request(&self) -> Option<&Request> {
        self.session.request()
    }

    /// Server, deferred accept: the subprotocols the client offered.
    pub fn offered_protocols(&self) -> &[String] {
        self.session.offered_protocols()
    }

    /// Bytes held for messages that span several inputs.
    pub fn buffered_bytes(&self) -> usize {
        self.session.buffered_bytes()
    }

    /// See [`Session::wants_close`].
    pub fn wants_close(&self) -> bool {
        self.session.wants_close()
    }

    /// See [`Session::feed`].
    pub fn feed<'a>(&'a mut self, input: &'a mut [u8]) -> Progress<'a> {
        self.session.feed(input, &mut self.tx)
    }

    /// See [`Session::accept`].
    pub fn accept(&mut self, protocol: Option<&str>, headers: &[(String, String)]) -> Result<()> {
        self.session.accept(protocol, headers, &mut self.tx)
    }

    /// See [`Session::reject`].
    pub fn reject(&mut self, status: u16) -> Result<()> {
        self.session.reject(status, &mut self.tx)
    }

    /// See [`Session::on_eof`].
    pub fn on_eof(&mut self) -> Option<Event<'static>> {
        self.session.on_eof(&mut self.tx)
    }

    /// See [`Session::next_deadline`].
    pub fn next_deadline(&self) -> Option<u64> {
        self.session.next_deadline()
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
