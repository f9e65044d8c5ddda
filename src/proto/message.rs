//! Frames to messages: header checks in context, unmasking, incremental
//! UTF-8 validation, reassembly of fragments and the size limits.
//!
//! The receiver works on the caller's input in place. A frame that arrived
//! whole is unmasked where it lies and delivered from there (no copy); only
//! the bytes of a frame or message that span several inputs are kept, in
//! one buffer that grows by the configured start and expand sizes as bytes
//! actually arrive, never by a declared length. Control frames that arrive
//! in pieces are kept at the end of the same buffer.
//!
//! A message reassembled in the buffer is followed there by a NUL byte
//! (not part of the message), so that C hosts can use text in place.
//!
//! The receiver returns what it found as positions, not borrows, so the
//! connection above it can act on a frame (answer a ping) and go on reading
//! before it lends anything to the host.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::proto::config::Config;
use crate::proto::frame::{FrameHeader, HeaderRules, MAX_HEADER_LEN, Opcode, decode_header};
use crate::proto::mask::unmask_ascii;
use crate::proto::utf8::Utf8Validator;

/// Where the payload of something found lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Payload {
    /// In the input passed to `feed`, at this range (already unmasked).
    Input(Range<usize>),
    /// In the receiver's buffer, at this range.
    Buffered(Range<usize>),
}

impl Payload {
    fn shifted(self, by: usize) -> Payload {
        match self {
            Payload::Input(r) => Payload::Input(r.start + by..r.end + by),
            buffered => buffered,
        }
    }
}

/// Something complete enough to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// A whole message.
    Message { text: bool, payload: Payload },
    /// A piece of a message (streaming mode). `first` marks its first
    /// piece, `last` its last.
    Fragment { text: bool, payload: Payload, first: bool, last: bool },
    /// A complete control frame (close, ping or pong).
    Control { opcode: Opcode, payload: Payload },
}

impl Found {
    /// The same finding with input positions moved by `by` bytes.
    pub(crate) fn shifted(self, by: usize) -> Found {
        match self {
            Found::Message { text, payload } => Found::Message { text, payload: payload.shifted(by) },
            Found::Fragment { text, payload, first, last } => {
                Found::Fragment { text, payload: payload.shifted(by), first, last }
            }
            Found::Control { opcode, payload } => Found::Control { opcode, payload: payload.shifted(by) },
        }
    }
}

/// The outcome of one call to [`Receiver::feed`].
#[derive(Debug)]
pub(crate) struct Step {
    /// Input bytes taken.
    pub(crate) consumed: usize,
    /// What was found, if anything, or the first violation.
    pub(crate) result: Result<Option<Found>>,
}

/// The frame being received.
#[derive(Debug, Clone, Copy)]
struct Frame {
    len: u64,
    received: u64,
    mask: [u8; 4],
    masked: bool,
    opcode: Opcode,
    fin: bool,
}

/// The data message being received.
#[derive(Debug, Clone, Copy)]
struct Message {
    /// The sum of the declared lengths of its frames so far.
    declared: u64,
    text: bool,
    /// No piece has been delivered yet (streaming).
    first: bool,
}

/// What the receiver needs from the connection's configuration, derived
/// for each call so that the receiver itself stays small.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RxConfig {
    pub(crate) rules: HeaderRules,
    pub(crate) max_message: u64,
    pub(crate) streaming: bool,
    pub(crate) rx_start: usize,
    pub(crate) rx_expand: usize,
}

impl RxConfig {
    /// The receiving rules of a connection: `masked` frames expected (a server) or not.
    pub(crate) fn new(config: &Config, masked: bool) -> RxConfig {
        let limits = &config.limits;
        RxConfig {
            rules: HeaderRules { masked: Some(masked), allowed_rsv: 0, max_payload: limits.max_frame },
            max_message: limits.max_message,
            streaming: config.streaming,
            rx_start: limits.rx_start_size as usize,
            rx_expand: limits.rx_expand_size as usize,
        }
    }
}

/// Checks the part of a close payload that arrived so far, so that a bad
/// code or a reason that is not UTF-8 fails at once (RFC 6455 §8.1: fail
/// fast), not when the frame is complete. A reason may still end inside a
/// code point here; the complete payload is checked again when it is whole.
fn check_partial_close(payload: &[u8]) -> Result<()> {
    if payload.len() >= 2 {
        let code = u16::from_be_bytes([payload[0], payload[1]]);
        if !crate::proto::close::is_valid_wire_code(code) {
            return Err(Error::InvalidCloseCode(code));
        }
        Utf8Validator::new().feed(&payload[2..]).map_err(|_| Error::InvalidUtf8)?;
    }
    Ok(())
}

/// No truncation pending.
const NO_TRUNCATE: usize = usize::MAX;

/// What a receiver holds while a frame or message spans inputs.
#[derive(Debug)]
struct RxState {
    header: [u8; MAX_HEADER_LEN],
    header_len: u8,
    utf8: Utf8Validator,
    frame: Option<Frame>,
    message: Option<Message>,
    /// Message bytes that spanned inputs, then a partial control payload.
    buf: Vec<u8>,
    /// Where a partial control payload starts in `buf`.
    control_start: usize,
    /// `buf` is truncated to this length at the next call (what was lent
    /// out is no longer needed then), unless it is `NO_TRUNCATE`.
    truncate_to: usize,
}

impl Default for RxState {
    fn default() -> RxState {
        RxState {
            header: [0; MAX_HEADER_LEN],
            header_len: 0,
            utf8: Utf8Validator::new(),
            frame: None,
            message: None,
            buf: Vec::new(),
            control_start: 0,
            truncate_to: NO_TRUNCATE,
        }
    }
}

/// Turns received bytes into messages and control frames.
///
/// Between messages a receiver is one null pointer: its state is boxed only
/// while a frame or message spans inputs (a frame that arrives whole needs
/// none), so an idle connection holds no receive memory at all.
#[derive(Debug, Default)]
pub(crate) struct Receiver {
    state: Option<Box<RxState>>,
}

impl Receiver {
    /// The buffered bytes at `range` (a [`Payload::Buffered`] range).
    pub(crate) fn buffered(&self, range: Range<usize>) -> &[u8] {
        match &self.state {
            Some(st) => &st.buf[range],
            None => &[],
        }
    }

    /// Bytes currently held for messages or frames that span inputs.
    pub(crate) fn held(&self) -> usize {
        self.state.as_ref().map_or(0, |st| st.buf.len())
    }

    /// Reads frames from `input`, unmasking payloads in place, until
    /// something complete is found or the input is used up.
    pub(crate) fn feed(&mut self, input: &mut [u8], cfg: &RxConfig) -> Step {
        match self.state.as_deref_mut() {
            Some(st) => {
                let step = st.feed(input, cfg);
                if st.is_idle() {
                    self.state = None;
                }
                step
            }
            None => {
                let mut st = RxState::default();
                let step = st.feed(input, cfg);
                if !st.is_idle() {
                    self.state = Some(Box::new(st));
                }
                step
            }
        }
    }
}

impl RxState {
    /// Nothing in progress and nothing lent out.
    fn is_idle(&self) -> bool {
        self.header_len == 0
            && self.frame.is_none()
            && self.message.is_none()
            && self.buf.is_empty()
            && self.truncate_to == NO_TRUNCATE
    }

    fn feed(&mut self, input: &mut [u8], cfg: &RxConfig) -> Step {
        if self.truncate_to != NO_TRUNCATE {
            self.buf.truncate(self.truncate_to);
            self.truncate_to = NO_TRUNCATE;
            if self.buf.is_empty() {
                // An idle connection holds no receive memory.
                self.buf = Vec::new();
            }
        }
        let mut pos = 0;
        loop {
            let frame = match self.frame {
                Some(frame) => frame,
                None => match self.read_header(&input[pos..], &cfg.rules) {
                    Ok((n, Some(header))) => {
                        pos += n;
                        match self.begin_frame(header, cfg.max_message) {
                            Ok(frame) => frame,
                            Err(e) => return Step { consumed: pos, result: Err(e) },
                        }
                    }
                    Ok((n, None)) => return Step { consumed: pos + n, result: Ok(None) },
                    Err(e) => return Step { consumed: pos, result: Err(e) },
                },
            };
            let avail = (frame.len - frame.received).min((input.len() - pos) as u64) as usize;
            let chunk = pos..pos + avail;
            // Unmasking tells for free whether the piece is all ASCII.
            let ascii = frame.masked && unmask_ascii(&mut input[chunk.clone()], frame.mask, frame.received as usize);
            pos += avail;
            let done = frame.received + avail as u64 == frame.len;
            self.frame = if done { None } else { Some(Frame { received: frame.received + avail as u64, ..frame }) };
            let found = if frame.opcode.is_control() {
                self.control_chunk(frame, &input[chunk.clone()], chunk, done)
            } else {
                self.data_chunk(frame, &input[chunk.clone()], chunk, done, ascii, cfg)
            };
            match found {
                Err(e) => return Step { consumed: pos, result: Err(e) },
                Ok(Some(found)) => return Step { consumed: pos, result: Ok(Some(found)) },
                Ok(None) if pos == input.len() => return Step { consumed: pos, result: Ok(None) },
                Ok(None) => {}
            }
        }
    }

    /// Reads a header from `input`, completing one begun in an earlier
    /// input. Returns the bytes taken and the header once complete.
    fn read_header(&mut self, input: &[u8], rules: &HeaderRules) -> Result<(usize, Option<FrameHeader>)> {
        let have = self.header_len as usize;
        if have == 0 {
            if let Some((header, n)) = decode_header(input, rules)? {
                return Ok((n, Some(header)));
            }
            self.header[..input.len()].copy_from_slice(input);
            self.header_len = input.len() as u8;
            return Ok((input.len(), None));
        }
        let take = (MAX_HEADER_LEN - have).min(input.len());
        self.header[have..have + take].copy_from_slice(&input[..take]);
        match decode_header(&self.header[..have + take], rules)? {
            Some((header, n)) => {
                self.header_len = 0;
                Ok((n - have, Some(header)))
            }
            None => {
                self.header_len = (have + take) as u8;
                Ok((take, None))
            }
        }
    }

    /// Checks a header against the message in progress and starts the frame.
    fn begin_frame(&mut self, h: FrameHeader, max_message: u64) -> Result<Frame> {
        let frame = Frame {
            len: h.payload_len,
            received: 0,
            mask: h.mask.unwrap_or_default(),
            masked: h.mask.is_some(),
            opcode: h.opcode,
            fin: h.fin,
        };
        match h.opcode {
            Opcode::Continuation => {
                let msg = self.message.as_mut().ok_or(Error::UnexpectedContinuation)?;
                msg.declared = msg.declared.saturating_add(h.payload_len);
                if msg.declared > max_message {
                    return Err(Error::MessageTooBig);
                }
            }
            Opcode::Text | Opcode::Binary => {
                if self.message.is_some() {
                    return Err(Error::ExpectedContinuation);
                }
                if h.payload_len > max_message {
                    return Err(Error::MessageTooBig);
                }
                self.message = Some(Message { text: h.opcode == Opcode::Text, declared: h.payload_len, first: true });
            }
            Opcode::Close | Opcode::Ping | Opcode::Pong => self.control_start = self.buf.len(),
        }
        self.frame = Some(frame);
        Ok(frame)
    }

    /// Handles the next piece of a control payload.
    fn control_chunk(&mut self, frame: Frame, chunk: &[u8], at: Range<usize>, done: bool) -> Result<Option<Found>> {
        if done && self.buf.len() == self.control_start && chunk.len() as u64 == frame.len {
            return Ok(Some(Found::Control { opcode: frame.opcode, payload: Payload::Input(at) }));
        }
        self.buf.extend_from_slice(chunk);
        if !done {
            if frame.opcode == Opcode::Close {
                check_partial_close(&self.buf[self.control_start..])?;
            }
            return Ok(None);
        }
        self.truncate_to = self.control_start;
        Ok(Some(Found::Control {
            opcode: frame.opcode,
            payload: Payload::Buffered(self.control_start..self.buf.len()),
        }))
    }

    /// Handles the next piece of a data payload.
    fn data_chunk(
        &mut self,
        frame: Frame,
        chunk: &[u8],
        at: Range<usize>,
        done: bool,
        ascii: bool,
        cfg: &RxConfig,
    ) -> Result<Option<Found>> {
        let mut msg = self.message.expect("a data frame belongs to a message");
        // ASCII cannot be invalid, unless it follows the start of a code point.
        if msg.text && (!ascii || self.utf8.in_sequence()) {
            self.utf8.feed(chunk).map_err(|_| Error::InvalidUtf8)?;
        }
        let last = done && frame.fin;
        if last {
            self.message = None;
            if msg.text {
                self.utf8.finish().map_err(|_| Error::InvalidUtf8)?;
            }
        }
        if cfg.streaming {
            if chunk.is_empty() && !last {
                return Ok(None);
            }
            let first = msg.first;
            msg.first = false;
            if !last {
                self.message = Some(msg);
            }
            return Ok(Some(Found::Fragment { text: msg.text, payload: Payload::Input(at), first, last }));
        }
        if last && self.buf.is_empty() && chunk.len() as u64 == frame.len {
            return Ok(Some(Found::Message { text: msg.text, payload: Payload::Input(at) }));
        }
        // One more byte for the NUL that ends a reassembled message.
        self.reserve(chunk.len() + usize::from(last), cfg);
        self.buf.extend_from_slice(chunk);
        if !last {
            return Ok(None);
        }
        let len = self.buf.len();
        self.buf.push(0);
        self.truncate_to = 0;
        Ok(Some(Found::Message { text: msg.text, payload: Payload::Buffered(0..len) }))
    }

    /// Makes room for `more` bytes: the first allocation is `rx_start`
    /// bytes, later ones grow by `rx_expand` steps, and at least by half
    /// the current size so that a large message costs linear time.
    fn reserve(&mut self, more: usize, cfg: &RxConfig) {
        let needed = self.buf.len() + more;
        let cap = self.buf.capacity();
        if needed <= cap {
            return;
        }
        let start = cfg.rx_start;
        let step = cfg.rx_expand.max(1);
        let target = if needed <= start {
            start
        } else {
            let grown = needed.max(cap + cap / 2);
            start + (grown - start).div_ceil(step) * step
        };
        self.buf.reserve_exact(target - self.buf.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::frame::encode_header;

    fn frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut h = [0u8; MAX_HEADER_LEN];
        let key = [1, 2, 3, 4];
        let n = encode_header(&mut h, fin, 0, opcode, Some(key), payload.len() as u64);
        let mut out = h[..n].to_vec();
        let start = out.len();
        out.extend_from_slice(payload);
        crate::proto::mask::apply_mask(&mut out[start..], key, 0);
        out
    }

    fn cfg() -> RxConfig {
        RxConfig::new(&Config::default(), true)
    }

    #[test]
    fn message_arriving_whole_is_lent_from_the_input() {
        let mut rx = Receiver::default();
        let mut input = frame(1, true, b"hello");
        let step = rx.feed(&mut input, &cfg());
        assert_eq!(step.consumed, input.len());
        let Ok(Some(Found::Message { text: true, payload: Payload::Input(r) })) = step.result else {
            panic!("expected a message from the input: {:?}", step.result);
        };
        assert_eq!(&input[r], b"hello");
        assert_eq!(rx.held(), 0);
        assert!(rx.state.is_none(), "a frame that arrives whole needs no receive state");
    }

    #[test]
    fn reassembled_message_is_followed_by_a_nul() {
        let mut rx = Receiver::default();
        let mut first = frame(1, false, b"frag");
        let mut second = frame(0, true, b"mented");
        assert!(matches!(rx.feed(&mut first, &cfg()).result, Ok(None)));
        let step = rx.feed(&mut second, &cfg());
        let Ok(Some(Found::Message { payload: Payload::Buffered(r), .. })) = step.result else {
            panic!("expected a buffered message");
        };
        assert_eq!(rx.buffered(r.clone()), b"fragmented");
        assert_eq!(rx.buffered(r.end..r.end + 1), [0]);
    }

    #[test]
    fn buffer_is_released_after_the_message_is_delivered() {
        let mut rx = Receiver::default();
        let whole = frame(2, true, &[7u8; 3000]);
        let (mut a, mut b) = (whole[..1000].to_vec(), whole[1000..].to_vec());
        assert!(matches!(rx.feed(&mut a, &cfg()).result, Ok(None)));
        assert!(rx.held() > 0);
        assert!(matches!(rx.feed(&mut b, &cfg()).result, Ok(Some(Found::Message { .. }))));
        let mut nothing = [];
        assert!(matches!(rx.feed(&mut nothing, &cfg()).result, Ok(None)));
        assert_eq!(rx.held(), 0);
        assert!(rx.state.is_none(), "an idle receiver holds no memory");
    }

    #[test]
    fn buffer_grows_by_start_then_expand_steps_not_by_declared_length() {
        let config = Config {
            limits: crate::proto::Limits { rx_start_size: 1000, rx_expand_size: 500, ..Default::default() },
            ..Default::default()
        };
        let cfg = RxConfig::new(&config, true);
        let mut rx = Receiver::default();
        let whole = frame(2, true, &[7u8; 100_000]);
        let mut first = whole[..20].to_vec();
        assert!(matches!(rx.feed(&mut first, &cfg).result, Ok(None)));
        assert_eq!(rx.state.as_ref().unwrap().buf.capacity(), 1000, "first allocation is the start size");
        let mut more = whole[20..1200].to_vec();
        assert!(matches!(rx.feed(&mut more, &cfg).result, Ok(None)));
        assert_eq!(rx.state.as_ref().unwrap().buf.capacity(), 1500, "then it grows by the expand size");
    }
}
