//! The session: everything of a connection but the bytes it sends. The
//! opening handshake lives in [`handshake`](self) (a child module), the
//! clock and the end of the transport in `timers`.

mod handshake;
mod timers;

pub use handshake::ServerOptions;

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::proto::close::{MAX_REASON_LEN, NO_STATUS, decode_close_payload};
use crate::proto::config::Config;
use crate::proto::frame::Opcode;
use crate::proto::handshake::server::Request;
use crate::proto::message::{Found, Payload, Receiver, RxConfig};
use crate::proto::role::Role;
use crate::proto::sender::Sender;
use crate::proto::timer::Timer;
use handshake::Handshake;

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The opening handshake is under way.
    Connecting,
    /// Server, deferred accept: a valid request awaits
    /// [`Session::accept`] or [`Session::reject`].
    Requested,
    /// Messages flow both ways.
    Open,
    /// This end sent a close frame and waits for the peer's.
    Closing,
    /// Both close frames have been exchanged.
    Closed,
    /// The connection failed ([`Session::error`] says why).
    Failed,
}

/// Something that happened on a connection, in wire order. Data borrows
/// either the input passed to [`Session::feed`] or the connection's own
/// buffer, until the next call on the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// Server, deferred accept: a valid upgrade request arrived; see
    /// [`Session::request`].
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

/// The outcome of [`Session::feed`].
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

/// Everything of a connection but the bytes it sends: the handshake, the
/// receiving side, the closing handshake and the timers.
///
/// Its methods take the connection's [`Sender`], where they write what the
/// protocol answers by itself (the handshake response, pongs, close
/// frames). Most hosts use [`Connection`](crate::proto::Connection), which holds both; an event loop
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
}
