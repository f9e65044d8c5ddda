//! How a [`WsSocket`] runs: reads, feeds, answers and writes through its
//! transport until what the call waits for holds or its deadline passes.
//! Events take the path every driver shares ([`crate::engine`]); what
//! they mean here is in [`AttachSink`].

use crate::attach::WsSocket;
use crate::attach::held::{Direct, Held};
use crate::engine::{self, Failure, Flow, Sink};
use crate::error::{Error, Result};
use crate::io::stream::Deadline;
use crate::io::transport::{self, Input, Transport, Want, dropped};
use crate::log::log;
use crate::proto::{Role, State};

/// Bytes read from the stream at a time.
const READ_SIZE: usize = 16 << 10;

/// What the events of one feeding mean to an attached socket: a message
/// goes to the caller's buffer or is held (one at a time), the peer's close
/// frame is kept, a request stops for the socket to answer.
struct AttachSink<'s, 'b> {
    direct: Option<&'s mut Direct<'b>>,
    held: &'s mut Held,
    peer_close: &'s mut Option<(u16, String)>,
    /// Messages arriving now are dropped (the closing handshake is under way).
    discard: bool,
    failed: Option<Error>,
    request: bool,
}

impl Sink for AttachSink<'_, '_> {
    fn request(&mut self) -> Flow {
        self.request = true;
        Flow::Stop
    }

    fn message(&mut self, text: bool, data: &[u8]) -> Flow {
        if self.discard {
            return Flow::Go;
        }
        if !self.direct.as_deref_mut().is_some_and(|d| d.take(text, data)) {
            self.held.set(text, data);
        }
        Flow::Stop
    }

    fn closed(&mut self, code: u16, reason: &str) {
        *self.peer_close = Some((code, reason.to_owned()));
    }

    fn failed(&mut self, error: Error) {
        self.failed = Some(error);
    }
}

impl<T: Transport> WsSocket<T> {
    /// Reads, feeds, answers and writes until `done` holds, the
    /// connection fails ([`failure`](WsSocket::failure)), the input ended
    /// with nothing left to write ([`Error::Closed`]), or the deadline
    /// passes ([`Error::Deadline`]). Reads only when `want_input`.
    pub(super) fn drive(&mut self, deadline: Deadline, want_input: bool, done: impl Fn(&Self) -> bool) -> Result<()> {
        self.drive_into(deadline, want_input, None, done)
    }

    /// [`drive`](WsSocket::drive), copying a message that suits `direct`
    /// straight into the caller's buffer.
    pub(super) fn drive_into(
        &mut self,
        deadline: Deadline,
        want_input: bool,
        mut direct: Option<&mut Direct<'_>>,
        done: impl Fn(&Self) -> bool,
    ) -> Result<()> {
        loop {
            self.feed_input(direct.as_deref_mut());
            self.try_flush();
            if done(self) || direct.as_ref().is_some_and(|d| d.got.is_some()) {
                return Ok(());
            }
            if let Some(e) = self.failure {
                return Err(e);
            }
            let input_ended = self.read_eof || self.peer_close.is_some();
            let want = Want { read: want_input && !input_ended, write: !self.conn.pending_output().is_empty() };
            let need = self.io.wants(want);
            if !need.read && !need.write {
                return Err(Error::Closed);
            }
            match transport::wait(&self.io, want, deadline) {
                Ok(ready) if ready.read => self.read_input(),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Err(Error::Deadline),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Feeds buffered input until a message is held, the peer's close
    /// frame arrived, the connection failed, or the input is used up; then
    /// handles an end of file that followed the input.
    fn feed_input(&mut self, mut direct: Option<&mut Direct<'_>>) {
        while self.rpos < self.rend
            && !self.held.present
            && self.failure.is_none()
            && self.peer_close.is_none()
            && direct.as_ref().is_none_or(|d| d.got.is_none())
        {
            let mut sink = AttachSink {
                direct: direct.as_deref_mut(),
                held: &mut self.held,
                peer_close: &mut self.peer_close,
                discard: self.discard,
                failed: None,
                request: false,
            };
            let (session, tx) = self.conn.parts_mut();
            let pos = engine::deliver(session, tx, &mut self.rbuf, self.rpos..self.rend, &mut sink);
            let (failed, request) = (sink.failed, sink.request);
            let stuck = pos == self.rpos && !request;
            self.rpos = pos;
            if let Some(e) = failed {
                self.fail(e);
            }
            if request {
                self.on_request();
            }
            if stuck {
                break;
            }
        }
        if self.rpos == self.rend {
            self.rpos = 0;
            self.rend = 0;
        }
        let fed = self.rend == 0 || self.failure.is_some() || self.peer_close.is_some();
        if self.read_eof && fed && !self.eof && self.failure.is_none() {
            let mut failure = Failure::default();
            let (session, tx) = self.conn.parts_mut();
            engine::end_of_input(session, tx, &mut failure);
            match failure.0 {
                Some(e) => self.fail(e),
                None => self.eof = true,
            }
        }
    }

    /// Server: checks the request against the caller's limits and accepts
    /// it with the preferred subprotocol, or refuses it.
    fn on_request(&mut self) {
        let Some(opts) = self.server.as_ref() else { return };
        let Some(req) = self.conn.request() else { return };
        let target = req.target.clone();
        let host = req.headers.get("host").map(|h| String::from_utf8_lossy(h.trim_ascii()).into_owned());
        let refusal = if target.len() > opts.max_resource_len {
            Some(414)
        } else if host.as_ref().is_some_and(|h| h.len() > opts.max_host_len) {
            Some(400)
        } else {
            None
        };
        if let Some(status) = refusal {
            let _ = self.conn.reject(status);
            log!(Warn, "attach: refused a request with {status}: its resource or host is longer than the buffer");
            self.fail(Error::BufferTooSmall);
            return;
        }
        if let Err(e) = self.conn.accept_preferred(&[]) {
            self.fail(e);
            return;
        }
        self.resource = Some(target);
        self.host = host;
    }

    fn read_input(&mut self) {
        if self.rbuf.is_empty() {
            self.rbuf = vec![0; READ_SIZE];
        }
        if self.rend == self.rbuf.len() {
            if self.rpos == 0 {
                return; // full of input the caller has not taken yet
            }
            self.rbuf.copy_within(self.rpos..self.rend, 0);
            self.rend -= self.rpos;
            self.rpos = 0;
        }
        match transport::read_input(&mut self.io, &mut self.rbuf[self.rend..]) {
            Input::Data(n) => self.rend += n,
            Input::Blocked => {}
            Input::End => self.read_eof = true,
            Input::Failed(e) => self.fail(Error::ReadFailed(e.raw_os_error().unwrap_or(0))),
        }
    }

    /// Records the first failure (and logs it: an attach call that fails
    /// hands out no socket to ask).
    fn fail(&mut self, e: Error) {
        if self.failure.is_none() {
            let role = if self.conn.role() == Role::Client { "client" } else { "server" };
            match self.conn.state() {
                State::Connecting | State::Requested => log!(Warn, "attach: {role} handshake failed: {e}"),
                _ => log!(Info, "attach: {role} connection failed: {e}"),
            }
            self.failure = Some(e);
        }
    }

    /// Writes what the transport takes without blocking.
    pub(super) fn try_flush(&mut self) {
        if self.write_broken {
            let n = self.conn.pending_output().len();
            self.conn.consume(n);
        }
        let (_, tx) = self.conn.parts_mut();
        if let Err(e) = engine::send_pending(&mut self.io, tx) {
            // Nothing more can be written: drop what is queued.
            let n = self.conn.pending_output().len();
            self.conn.consume(n);
            if dropped(&e) {
                // Reading tells the rest (a close frame may have arrived first).
                self.write_broken = true;
            } else {
                self.fail(Error::WriteFailed(e.raw_os_error().unwrap_or(0)));
            }
        }
    }
}
