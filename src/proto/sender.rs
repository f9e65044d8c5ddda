//! The sending half of a connection: frames are checked against the
//! sending rules of RFC 6455 and encoded into the output queue.
//!
//! A [`Sender`] is separate from the [`Session`](crate::proto::Session)
//! that reads, so that an event loop can let other threads send on a
//! connection (behind a lock) while its own thread reads.

use crate::error::{Error, Result};
use crate::proto::close::encode_close_payload;
use crate::proto::frame::{MAX_CONTROL_PAYLOAD, Opcode};
use crate::proto::output::Output;
use crate::proto::role::Role;
use crate::proto::utf8::Utf8Validator;

/// What the sender may still do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxState {
    /// The opening handshake is under way: only HTTP bytes.
    Connecting,
    /// Any frame.
    Open,
    /// A close frame was sent: nothing more.
    CloseSent,
    /// The connection failed: nothing more.
    Failed,
}

/// An outgoing fragmented message.
#[derive(Debug, Clone)]
struct Sending {
    text: bool,
    utf8: Utf8Validator,
}

/// The sending half of a connection.
#[derive(Debug)]
pub struct Sender {
    out: Output,
    sending: Option<Sending>,
    state: TxState,
    /// Frames are masked (the client role).
    mask: bool,
}

impl Sender {
    /// A sender for `role`, before the opening handshake.
    pub fn new(role: Role) -> Sender {
        Sender { out: Output::default(), sending: None, state: TxState::Connecting, mask: role == Role::Client }
    }

    /// A sender for `role` on a connection that is open from the start
    /// (no HTTP handshake).
    pub fn new_open(role: Role) -> Sender {
        Sender { state: TxState::Open, ..Sender::new(role) }
    }

    pub(crate) fn opened(&mut self) {
        if self.state == TxState::Connecting {
            self.state = TxState::Open;
        }
    }

    /// Whether messages can be sent.
    pub fn is_open(&self) -> bool {
        self.state == TxState::Open
    }

    /// Whether a close frame was sent (by the host, as a reply, or on failure).
    pub fn close_sent(&self) -> bool {
        self.state == TxState::CloseSent
    }

    /// Whether the connection failed.
    pub fn failed(&self) -> bool {
        self.state == TxState::Failed
    }

    // ----- output -----

    /// The bytes waiting to be written to the transport.
    pub fn pending_output(&self) -> &[u8] {
        self.out.pending()
    }

    /// Marks `n` bytes of [`pending_output`](Sender::pending_output) as written.
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

    /// The output queue, for HTTP heads written during the handshake.
    pub(crate) fn raw(&mut self) -> &mut Vec<u8> {
        self.out.vec()
    }

    // ----- what the host sends -----

    fn check_open(&self) -> Result<()> {
        match self.state {
            TxState::Open => Ok(()),
            TxState::Connecting => Err(Error::State(c"the handshake has not completed")),
            TxState::CloseSent => Err(Error::State(c"a close frame was sent")),
            TxState::Failed => Err(Error::State(c"the connection failed")),
        }
    }

    /// Queues a whole message (one frame). Text must be UTF-8.
    pub fn send(&mut self, text: bool, data: &[u8]) -> Result<()> {
        self.check_open()?;
        if self.sending.is_some() {
            return Err(Error::State(c"a fragmented message is in progress"));
        }
        if text && !crate::proto::utf8::is_valid(data) {
            return Err(Error::Invalid(c"text is not valid UTF-8"));
        }
        self.out.frame(if text { Opcode::Text } else { Opcode::Binary }, true, data, self.mask)
    }

    /// Queues one frame of any opcode but close (use
    /// [`close`](Sender::close)). Data frames must follow the fragmentation
    /// rules: a text or binary frame starts a message, a continuation
    /// continues it, FIN ends it; text must be UTF-8 across the whole
    /// message. Control frames need FIN and at most 125 bytes and may come
    /// between the fragments of a message.
    pub fn send_frame(&mut self, opcode: Opcode, fin: bool, data: &[u8]) -> Result<()> {
        self.check_open()?;
        match opcode {
            Opcode::Close => Err(Error::Invalid(c"send a close frame with close()")),
            Opcode::Ping | Opcode::Pong => {
                if !fin {
                    return Err(Error::Invalid(c"control frames cannot be fragmented"));
                }
                if data.len() > MAX_CONTROL_PAYLOAD {
                    return Err(Error::Invalid(c"control frame payload longer than 125 bytes"));
                }
                self.out.frame(opcode, true, data, self.mask)
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
                self.out.frame(opcode, fin, data, self.mask)?;
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

    /// Queues a close frame with `code` (0: no code; otherwise one valid on
    /// the wire) and a reason of at most 123 bytes. Nothing can be sent
    /// afterwards.
    pub fn close(&mut self, code: u16, reason: &str) -> Result<()> {
        self.check_open()?;
        self.close_frame(code, reason)?;
        self.state = TxState::CloseSent;
        Ok(())
    }

    fn close_frame(&mut self, code: u16, reason: &str) -> Result<()> {
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let n = encode_close_payload(code, reason, &mut payload)?;
        self.out.frame(Opcode::Close, true, &payload[..n], self.mask)
    }

    // ----- what the protocol sends by itself -----

    /// Answers a ping, unless a close frame was sent.
    pub(crate) fn pong_reply(&mut self, data: &[u8]) -> Result<()> {
        if self.state != TxState::Open {
            return Ok(());
        }
        self.out.frame(Opcode::Pong, true, data, self.mask)
    }

    /// Answers the peer's close frame with `code` (0: none), unless a close
    /// frame was sent already.
    pub(crate) fn close_reply(&mut self, code: u16) -> Result<()> {
        if self.state == TxState::Open {
            self.close_frame(code, "")?;
            self.state = TxState::CloseSent;
        }
        Ok(())
    }

    /// Fails the connection: sends a close frame with `code` and `reason`
    /// when given and none was sent (a failing random source leaves it
    /// unsent; the transport is closed either way); nothing more afterwards.
    pub(crate) fn fail(&mut self, code: Option<u16>, reason: &str) {
        if let (Some(code), TxState::Open) = (code, self.state) {
            let _ = self.close_frame(code, reason);
        }
        self.state = TxState::Failed;
    }
}
