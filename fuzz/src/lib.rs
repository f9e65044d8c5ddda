//! Helpers shared by the fuzz targets: a cursor over the fuzzer's input, a
//! deterministic random source, and an owned, normalised form of the events
//! a connection reports.

use std::sync::{Arc, Once};

use ews::Error;
use ews::proto::close::{MAX_REASON_LEN, NO_STATUS, is_valid_wire_code};
use ews::proto::frame::MAX_CONTROL_PAYLOAD;
use ews::proto::{Connection, Event, State};

/// Reads the fuzzer's bytes as numbers and slices; past the end it yields
/// zeros and empty slices, so a target never has to check lengths.
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Cursor<'a> {
        Cursor { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    pub fn bool(&mut self) -> bool {
        self.u8() & 1 != 0
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    pub fn u64(&mut self) -> u64 {
        (self.u32() as u64) | ((self.u32() as u64) << 32)
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// A small deterministic generator (xorshift64*), for choices that should
/// not consume the fuzzer's bytes (chunk sizes over an HTTP head).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `1..=max`.
    pub fn size(&mut self, max: usize) -> usize {
        1 + (self.next_u64() % max as u64) as usize
    }
}

/// The nonce of the RFC 6455 §1.3 example: with it as the random source, a
/// client's `Sec-WebSocket-Key` is `dGhlIHNhbXBsZSBub25jZQ==` and the
/// matching `Sec-WebSocket-Accept` is `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`, which
/// the dictionary and seeds contain.
pub const NONCE: &[u8; 16] = b"the sample nonce";

/// The client key that [`NONCE`] produces.
pub const RFC_KEY: &[u8] = b"dGhlIHNhbXBsZSBub25jZQ==";

/// Installs the deterministic random source (every fill repeats
/// [`NONCE`]), so that runs are reproducible and a client's key is known.
pub fn deterministic_rng() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        ews::proto::rng::set_source(Some(Arc::new(|buf: &mut [u8]| {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = NONCE[i % NONCE.len()];
            }
            true
        })));
    });
}

/// An owned event, with streaming fragments put back together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Message { text: bool, data: Vec<u8> },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close { code: u16, reason: String },
    Error(Error),
}

/// Collects a connection's events as [`Item`]s, checking each event on the
/// way: what a streamed message's pieces look like, the sizes, the UTF-8.
#[derive(Debug, Default)]
pub struct Collector {
    pub items: Vec<Item>,
    /// A streamed message in progress: text flag and the bytes so far.
    partial: Option<(bool, Vec<u8>)>,
    /// The largest message accepted (checked on every message and piece).
    max_message: u64,
    /// Error or close seen: nothing may follow.
    pub ended: bool,
}

impl Collector {
    pub fn new(max_message: u64) -> Collector {
        Collector { max_message, ..Collector::default() }
    }

    /// Takes one event (never `Request` or `Open`; the handshake targets
    /// deal with those).
    pub fn push(&mut self, event: &Event<'_>) {
        assert!(!self.ended, "event after the connection ended: {event:?}");
        match *event {
            Event::Request | Event::Open => panic!("unexpected handshake event on an open connection: {event:?}"),
            Event::Message { text, data } => {
                assert!(self.partial.is_none(), "a whole message while a streamed one is in progress");
                assert!(data.len() as u64 <= self.max_message, "message of {} bytes over the limit", data.len());
                if text {
                    assert!(std::str::from_utf8(data).is_ok(), "text message is not UTF-8: {data:x?}");
                }
                self.items.push(Item::Message { text, data: data.to_vec() });
            }
            Event::Fragment { text, data, first, last } => {
                match (&mut self.partial, first) {
                    (None, true) => self.partial = Some((text, data.to_vec())),
                    (Some((t, buf)), false) => {
                        assert_eq!(*t, text, "text flag changed within a message");
                        buf.extend_from_slice(data);
                    }
                    (None, false) => panic!("a piece that is not first without a message in progress"),
                    (Some(_), true) => panic!("a first piece while a message is in progress"),
                }
                let (t, buf) = self.partial.as_ref().unwrap();
                assert!(buf.len() as u64 <= self.max_message, "streamed message over the limit");
                if *t {
                    // Every prefix must be a prefix of valid UTF-8.
                    if let Err(e) = std::str::from_utf8(buf) {
                        assert!(e.error_len().is_none(), "streamed text holds invalid UTF-8: {buf:x?}");
                    }
                }
                if last {
                    let (text, data) = self.partial.take().unwrap();
                    if text {
                        assert!(std::str::from_utf8(&data).is_ok(), "complete streamed text is not UTF-8: {data:x?}");
                    }
                    self.items.push(Item::Message { text, data });
                }
            }
            Event::Ping(data) => {
                assert!(data.len() <= MAX_CONTROL_PAYLOAD);
                self.items.push(Item::Ping(data.to_vec()));
            }
            Event::Pong(data) => {
                assert!(data.len() <= MAX_CONTROL_PAYLOAD);
                self.items.push(Item::Pong(data.to_vec()));
            }
            Event::Close { code, reason } => {
                assert!(code == NO_STATUS || is_valid_wire_code(code), "close code {code} reported");
                assert!(reason.len() <= MAX_REASON_LEN, "close reason of {} bytes", reason.len());
                assert!(code != NO_STATUS || reason.is_empty(), "a reason without a code");
                self.ended = true;
                self.partial = None;
                self.items.push(Item::Close { code, reason: reason.to_owned() });
            }
            Event::Error(e) => {
                self.ended = true;
                self.partial = None;
                self.items.push(Item::Error(e));
            }
        }
    }
}

/// Checks what a connection looks like right after it reported `event`.
pub fn check_state_after(conn: &Connection, event: &Event<'_>) {
    match event {
        Event::Error(e) => {
            assert_eq!(conn.state(), State::Failed, "state after {e:?}");
            assert_eq!(conn.error(), Some(*e));
            assert!(conn.wants_close());
        }
        Event::Close { .. } => assert_eq!(conn.state(), State::Closed),
        _ => assert!(matches!(conn.state(), State::Open | State::Closing), "state {:?}", conn.state()),
    }
}

/// Whether `e` is an error the peer can cause by what it sends on an open
/// connection (and which the connection documents as such).
pub fn is_receive_error(e: &Error) -> bool {
    use ews::error::Category;
    matches!(e.category(), Category::Protocol | Category::Utf8 | Category::TooBig)
}

/// Checks the NUL that follows a reassembled message: a `Message` whose
/// data does not lie in the input (`input` is the address range of what
/// was fed) was put together in the connection's buffer, and the byte
/// after it there is a NUL (documented on [`Event::Message`], relied on by
/// C hosts).
pub fn check_nul(event: &Event<'_>, input: std::ops::Range<usize>) {
    if let Event::Message { data, .. } = *event {
        let start = data.as_ptr() as usize;
        if start < input.start || start + data.len() > input.end {
            // SAFETY: the connection keeps a NUL after a reassembled
            // message in the same buffer; if it did not, this reads one
            // byte past the data (within the buffer's allocation, or
            // reported by AddressSanitizer).
            let after = unsafe { *data.as_ptr().add(data.len()) };
            assert_eq!(after, 0, "no NUL after a reassembled message of {} bytes", data.len());
        }
    }
}

/// Feeds `input` to `conn` the way a host does, until it is used up,
/// handing every event to `on_event`. Checks the feeding contract: never
/// more consumed than given, no event means everything was taken, and
/// every event makes progress (no host loop can spin).
pub fn feed_all(conn: &mut Connection, input: &mut [u8], mut on_event: impl FnMut(&mut Connection, &Event<'_>)) {
    let mut off = 0;
    let mut stalls = 0;
    loop {
        let (_, consumed, event) = feed_once(conn, &mut input[off..]);
        let Some(event) = event else { return };
        on_event(conn, &event.as_event());
        off += consumed;
        if consumed == 0 {
            stalls += 1;
            assert!(stalls < 4, "events without progress");
        } else {
            stalls = 0;
        }
        if off == input.len() {
            return;
        }
    }
}

/// An owned copy of an event, to lend out again once the connection is free.
pub enum OwnedEvent {
    Request,
    Open,
    Message { text: bool, data: Vec<u8> },
    Fragment { text: bool, data: Vec<u8>, first: bool, last: bool },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close { code: u16, reason: String },
    Error(Error),
}

/// Feeds `input` once and checks what every call must do: it takes at
/// most what it is given, all of it when there is no event, and a message
/// handed over in place ends with a NUL inside the input. Returns the state
/// before the call, the bytes taken and the event, as an owned copy (the
/// event borrows the connection, which the caller wants to look at too).
pub fn feed_once(conn: &mut Connection, input: &mut [u8]) -> (State, usize, Option<OwnedEvent>) {
    let state = conn.state();
    let remaining = input.len();
    let range = input.as_ptr_range();
    let progress = conn.feed(input);
    let consumed = progress.consumed;
    assert!(consumed <= remaining, "consumed {consumed} of {remaining} bytes");
    let Some(event) = progress.event else {
        assert_eq!(consumed, remaining, "no event, but input left over (state {state:?})");
        return (state, consumed, None);
    };
    check_nul(&event, range.start as usize..range.end as usize);
    (state, consumed, Some(owned_event(&event)))
}

pub fn owned_event(event: &Event<'_>) -> OwnedEvent {
    match *event {
        Event::Request => OwnedEvent::Request,
        Event::Open => OwnedEvent::Open,
        Event::Message { text, data } => OwnedEvent::Message { text, data: data.to_vec() },
        Event::Fragment { text, data, first, last } => OwnedEvent::Fragment { text, data: data.to_vec(), first, last },
        Event::Ping(d) => OwnedEvent::Ping(d.to_vec()),
        Event::Pong(d) => OwnedEvent::Pong(d.to_vec()),
        Event::Close { code, ref reason } => OwnedEvent::Close { code, reason: reason.to_string() },
        Event::Error(e) => OwnedEvent::Error(e),
    }
}

impl OwnedEvent {
    pub fn as_event(&self) -> Event<'_> {
        match self {
            OwnedEvent::Request => Event::Request,
            OwnedEvent::Open => Event::Open,
            OwnedEvent::Message { text, data } => Event::Message { text: *text, data },
            OwnedEvent::Fragment { text, data, first, last } => {
                Event::Fragment { text: *text, data, first: *first, last: *last }
            }
            OwnedEvent::Ping(d) => Event::Ping(d),
            OwnedEvent::Pong(d) => Event::Pong(d),
            OwnedEvent::Close { code, reason } => Event::Close { code: *code, reason },
            OwnedEvent::Error(e) => Event::Error(*e),
        }
    }
}

/// Moves the clock on by up to `clock * 64` ms before a read (nothing when
/// `clock` is 0) and checks what a handshake in progress does then: only a
/// connecting connection times out, without writing anything, and the
/// next deadline is in the future. Returns whether it timed out.
pub fn advance_clock(conn: &mut Connection, rng: &mut Rng, clock: u8, now: &mut u64) -> bool {
    if clock == 0 {
        return false;
    }
    *now += rng.next_u64() % (clock as u64 * 64);
    let state = conn.state();
    let before = conn.pending_output().len();
    let timed_out = match conn.on_time(*now) {
        None => false,
        Some(Event::Error(Error::HandshakeTimeout)) => {
            assert!(matches!(state, State::Connecting), "handshake timeout in state {state:?}");
            assert_eq!(conn.state(), State::Failed);
            assert_eq!(conn.pending_output().len(), before, "a timeout wrote something");
            assert_eq!(conn.error(), Some(Error::HandshakeTimeout));
            true
        }
        Some(e) => panic!("on_time returned {e:?} in state {state:?}"),
    };
    if let Some(deadline) = conn.next_deadline() {
        assert!(deadline > *now, "next deadline {deadline} not after now {}", *now);
    }
    timed_out
}
