//! The opening handshake of a session: the server reads and checks the
//! client's request (or stops for the host to accept it), the client
//! checks the server's answer.

use std::sync::Arc;

use crate::error::{Error, HandshakeError, RequestError, Result};
use crate::proto::config::Config;
use crate::proto::handshake::client::{self, ClientOptions};
use crate::proto::handshake::negotiate::Agreement;
use crate::proto::handshake::server::{self, Request, RequestProgress, RequestReader, Upgrade};
use crate::proto::handshake::{self, HeadProgress, HeadReader, KEY_LEN};
use crate::proto::role::Role;
use crate::proto::sender::Sender;
use crate::proto::session::{Event, Progress, Session, State};
use crate::proto::timer::Timer;

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
    /// [`Session::accept`] or [`Session::reject`] it.
    pub defer: bool,
}

/// The handshake in progress.
#[derive(Debug)]
pub(super) enum Handshake {
    Server { reader: RequestReader, options: ServerOptions, upgrade: Option<Upgrade> },
    Client { head: HeadReader, key: [u8; KEY_LEN], offered: Vec<String> },
}

impl Session {
    /// A server session that starts by reading the client's handshake.
    pub fn server(config: impl Into<Arc<Config>>, options: ServerOptions) -> Result<Session> {
        server::check_extra_headers(&options.headers).map_err(Error::Invalid)?;
        if options.protocols.iter().any(|p| !handshake::is_token(p.as_bytes())) {
            return Err(Error::Invalid(c"subprotocol is not a token"));
        }
        let config = config.into();
        let limits = &config.limits;
        let reader = RequestReader::new(limits.max_handshake_bytes as usize, limits.max_handshake_headers as usize);
        let mut session = Session::new(Role::Server, config, State::Connecting)?;
        session.extra_mut().handshake = Some(Handshake::Server { reader, options, upgrade: None });
        Ok(session)
    }

    /// A server session whose request another part of the host read and
    /// agreed to ([`agree`](crate::proto::handshake::negotiate::agree)):
    /// open from the start, with what was agreed. Its sender must be
    /// opened too ([`Sender::new_open`]), after the `101` answer.
    pub fn accepted(config: impl Into<Arc<Config>>, agreement: &Agreement) -> Result<Session> {
        let mut session = Session::new(Role::Server, config.into(), State::Open)?;
        session.agreed(agreement);
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

    /// Server, deferred accept: the subprotocols the client offered.
    pub fn offered_protocols(&self) -> &[String] {
        match self.extra.as_ref().and_then(|x| x.handshake.as_ref()) {
            Some(Handshake::Server { upgrade: Some(u), .. }) => &u.protocols,
            _ => &[],
        }
    }

    pub(super) fn feed_handshake(&mut self, input: &[u8], tx: &mut Sender) -> Progress<'static> {
        let Some(mut hs) = self.extra.as_mut().and_then(|x| x.handshake.take()) else {
            return Progress::none(0);
        };
        let (consumed, outcome) = match &mut hs {
            Handshake::Client { head, key, offered } => match head.push(input) {
                HeadProgress::Partial(n) => {
                    self.extra_mut().handshake = Some(hs);
                    return Progress::none(n);
                }
                HeadProgress::TooLarge => (input.len(), Err(Error::Handshake(HandshakeError::ResponseTooLarge))),
                HeadProgress::Complete(n) => {
                    let max_headers = self.config.limits.max_handshake_headers as usize;
                    let checked = client::check_response(head.head(), key, offered, max_headers).map(|resp| {
                        self.extra_mut().protocol = resp.protocol.map(String::into_boxed_str);
                        Event::Open
                    });
                    (n, checked.map_err(Error::Handshake))
                }
            },
            Handshake::Server { reader, options, upgrade } => match reader.push(input) {
                RequestProgress::Partial(n) => {
                    self.extra_mut().handshake = Some(hs);
                    return Progress::none(n);
                }
                RequestProgress::Refused(e) => (input.len(), Err(Error::Request(e))),
                RequestProgress::Complete(request, n) => (n, self.on_request(request, options, upgrade, tx)),
            },
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
        request: Request,
        options: &ServerOptions,
        upgrade: &mut Option<Upgrade>,
        tx: &mut Sender,
    ) -> Result<Event<'static>> {
        if !options.resources.is_empty() && !options.resources.iter().any(|r| r == request.path()) {
            return Err(Error::Request(RequestError::NotFound));
        }
        let valid = server::validate(&request).map_err(Error::Request)?;
        self.extra_mut().request = Some(request);
        if options.defer {
            *upgrade = Some(valid);
            self.state = State::Requested;
            return Ok(Event::Request);
        }
        let agreement = Agreement::choose(&valid, &options.protocols);
        agreement.write_response(tx.raw(), &options.headers);
        self.agreed(&agreement);
        Ok(Event::Open)
    }

    /// Takes note of what the handshake agreed.
    fn agreed(&mut self, agreement: &Agreement) {
        if let Some(p) = agreement.protocol() {
            self.extra_mut().protocol = Some(Box::from(p));
        }
    }

    /// Server, deferred accept: answers `101` with `protocol` (one the client
    /// offered, or `None`) and extra header fields, and opens the connection.
    pub fn accept(&mut self, protocol: Option<&str>, headers: &[(String, String)], tx: &mut Sender) -> Result<()> {
        self.accept_with(|upgrade, _| Agreement::with_protocol(upgrade, protocol).map_err(Error::Invalid), headers, tx)
    }

    /// Server, deferred accept: answers `101` with the subprotocol the
    /// server prefers ([`ServerOptions::protocols`]) and extra header
    /// fields, and opens the connection.
    pub fn accept_preferred(&mut self, headers: &[(String, String)], tx: &mut Sender) -> Result<()> {
        self.accept_with(|upgrade, options| Ok(Agreement::choose(upgrade, &options.protocols)), headers, tx)
    }

    fn accept_with(
        &mut self,
        agree: impl FnOnce(&Upgrade, &ServerOptions) -> Result<Agreement>,
        headers: &[(String, String)],
        tx: &mut Sender,
    ) -> Result<()> {
        let waiting = match self.extra.as_ref().and_then(|x| x.handshake.as_ref()) {
            Some(Handshake::Server { upgrade: Some(upgrade), options, .. }) if self.state == State::Requested => {
                (upgrade, options)
            }
            _ => return Err(Error::State(c"no request is waiting to be accepted")),
        };
        let agreement = agree(waiting.0, waiting.1)?;
        server::check_extra_headers(headers).map_err(Error::Invalid)?;
        let mut all = waiting.1.headers.clone();
        all.extend_from_slice(headers);
        agreement.write_response(tx.raw(), &all);
        if let Some(x) = self.extra.as_mut() {
            x.handshake = None;
        }
        self.agreed(&agreement);
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
}
