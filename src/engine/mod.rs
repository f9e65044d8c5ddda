//! What every driver shares: running a core [`Session`] over a
//! [`Transport`](crate::io::transport::Transport).
//!
//! The server's event loop, the URL client and attach differ in shape
//! (callbacks on a loop thread, handlers on a service thread, blocking
//! calls with deadlines), not in what they do with the protocol. This is
//! the one path from received bytes to the host: [`deliver`] feeds bytes
//! to the session and hands each event to the driver's [`Sink`];
//! [`end_of_input`] and [`tick`] turn the end of the stream and the clock
//! into the same events; [`send_pending`] writes what the protocol and the
//! host queued. A driver only says what an event means to its host.
//!
//! The sending half of a connection may live behind a lock (the server
//! and the client let other threads send): drivers reach it through
//! [`TxAccess`], taken only for the duration of each core call, never
//! while the host's code runs.

use std::io;
use std::ops::Range;

use crate::error::Error;
use crate::io::transport::{Transport, write_out};
use crate::proto::{Event, Sender, Session};

/// Whether delivery goes on after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Feed the next bytes.
    Go,
    /// Stop here; the bytes not fed stay with the driver.
    Stop,
}

/// How a driver reaches a connection's sender.
pub(crate) trait TxAccess {
    /// Runs `f` on the sender (under its lock, if it has one).
    fn with_tx<R>(&mut self, f: impl FnOnce(&mut Sender) -> R) -> R;
}

impl TxAccess for &mut Sender {
    fn with_tx<R>(&mut self, f: impl FnOnce(&mut Sender) -> R) -> R {
        f(self)
    }
}

/// What a driver does with a connection's events. Data is borrowed for
/// the call.
pub(crate) trait Sink {
    /// The opening handshake completed.
    fn open(&mut self, session: &Session) -> Flow {
        let _ = session;
        Flow::Go
    }

    /// Server, deferred accept: a valid request waits for the driver. The
    /// default stops so that the driver can accept or refuse it.
    fn request(&mut self) -> Flow {
        Flow::Stop
    }

    /// A whole message. When it lies in the driver's buffer and the buffer
    /// has a byte to spare after it, that byte is a NUL for the call (C
    /// hosts use text in place); a message the session reassembled always
    /// has one.
    fn message(&mut self, text: bool, data: &[u8]) -> Flow;

    /// A piece of a message (streaming mode).
    fn fragment(&mut self, text: bool, data: &[u8], first: bool, last: bool) -> Flow {
        let _ = (text, data, first, last);
        Flow::Go
    }

    /// A ping (the pong is queued already).
    fn ping(&mut self, data: &[u8]) -> Flow {
        let _ = data;
        Flow::Go
    }

    /// A pong.
    fn pong(&mut self, data: &[u8]) -> Flow {
        let _ = data;
        Flow::Go
    }

    /// The peer's close frame (the answer is queued already). Delivery
    /// ends.
    fn closed(&mut self, code: u16, reason: &str);

    /// The connection failed. Delivery ends.
    fn failed(&mut self, error: Error);
}

/// A sink for the end of the stream and the clock: it keeps the failure,
/// if one came.
#[derive(Debug, Default)]
pub(crate) struct Failure(pub(crate) Option<Error>);

impl Sink for Failure {
    fn message(&mut self, _text: bool, _data: &[u8]) -> Flow {
        Flow::Go
    }

    fn closed(&mut self, _code: u16, _reason: &str) {}

    fn failed(&mut self, error: Error) {
        self.0 = Some(error);
    }
}

/// Feeds `buf[range]` to the session and hands each event to `sink`,
/// until the bytes are used up, the sink stops, or the connection ends.
/// Returns where feeding stopped: bytes from there on were not fed.
pub(crate) fn deliver(
    session: &mut Session,
    mut tx: impl TxAccess,
    buf: &mut [u8],
    range: Range<usize>,
    sink: &mut impl Sink,
) -> usize {
    let (base, len) = (buf.as_ptr() as usize, buf.len());
    let (mut pos, end) = (range.start, range.end);
    while pos < end {
        let progress = tx.with_tx(|tx| session.feed(&mut buf[pos..end], tx));
        pos += progress.consumed;
        let Some(event) = progress.event else { break };
        let flow = match event {
            Event::Message { text, data } => {
                let at = data.as_ptr() as usize;
                if at >= base && at + data.len() < base + len {
                    // In the driver's buffer with room after it: end it with
                    // a NUL in place for the duration of the call.
                    let (start, stop) = (at - base, at - base + data.len());
                    let saved = std::mem::replace(&mut buf[stop], 0);
                    let flow = sink.message(text, &buf[start..stop]);
                    buf[stop] = saved;
                    flow
                } else {
                    sink.message(text, data)
                }
            }
            Event::Fragment { text, data, first, last } => sink.fragment(text, data, first, last),
            Event::Ping(data) => sink.ping(data),
            Event::Pong(data) => sink.pong(data),
            Event::Open => sink.open(session),
            Event::Request => sink.request(),
            Event::Close { code, reason } => {
                sink.closed(code, reason);
                Flow::Stop
            }
            Event::Error(e) => {
                sink.failed(e);
                Flow::Stop
            }
        };
        if flow == Flow::Stop {
            break;
        }
    }
    pos
}

/// The stream ended (end of file, or the peer dropped it): the session
/// decides whether that is a failure, which goes to `sink`. Returns
/// whether it was.
pub(crate) fn end_of_input(session: &mut Session, mut tx: impl TxAccess, sink: &mut impl Sink) -> bool {
    match tx.with_tx(|tx| session.on_eof(tx)) {
        Some(Event::Error(e)) => {
            sink.failed(e);
            true
        }
        _ => false,
    }
}

/// Passes the clock (`now`, milliseconds) to the session: keepalive pings
/// are queued, and a timeout that ran out goes to `sink`. Returns whether
/// one did.
pub(crate) fn tick(session: &mut Session, mut tx: impl TxAccess, now: u64, sink: &mut impl Sink) -> bool {
    match tx.with_tx(|tx| session.on_time(now, tx)) {
        Some(Event::Error(e)) => {
            sink.failed(e);
            true
        }
        _ => false,
    }
}

/// Writes what the sender has queued, as far as the transport takes it
/// now; with nothing queued, output the transport holds itself still goes
/// out.
pub(crate) fn send_pending<T: Transport + ?Sized>(t: &mut T, tx: &mut Sender) -> io::Result<()> {
    let n = write_out(t, tx.pending_output())?;
    if n > 0 {
        tx.consume(n);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::IoSlice;
    use std::os::fd::RawFd;

    use super::*;
    use crate::proto::{Config, Role};

    /// Records what a driver would hand its host.
    #[derive(Default)]
    struct Record {
        events: Vec<String>,
        /// Stop after this many messages.
        stop_after: Option<usize>,
    }

    impl Sink for Record {
        fn message(&mut self, text: bool, data: &[u8]) -> Flow {
            // The byte after a message in the driver's buffer is a NUL.
            // SAFETY: `deliver` promises a readable byte after `data` here.
            let after = unsafe { *data.as_ptr().add(data.len()) };
            self.events.push(format!("message {text} {} nul={}", String::from_utf8_lossy(data), after == 0));
            let messages = self.events.iter().filter(|e| e.starts_with("message")).count();
            if self.stop_after == Some(messages) { Flow::Stop } else { Flow::Go }
        }

        fn ping(&mut self, data: &[u8]) -> Flow {
            self.events.push(format!("ping {}", String::from_utf8_lossy(data)));
            Flow::Go
        }

        fn closed(&mut self, code: u16, reason: &str) {
            self.events.push(format!("closed {code} {reason}"));
        }

        fn failed(&mut self, error: Error) {
            self.events.push(format!("failed {}", error.detail()));
        }
    }

    /// A client session (it receives unmasked frames) and its sender.
    fn client() -> (Session, Sender) {
        let config = Config { control_events: true, ..Config::default() };
        (Session::open(Role::Client, config).unwrap(), Sender::new_open(Role::Client))
    }

    /// Unmasked frames: (first byte, payload).
    fn frames(list: &[(u8, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (b0, payload) in list {
            out.push(*b0);
            out.push(payload.len() as u8);
            out.extend_from_slice(payload);
        }
        out
    }

    #[test]
    fn events_reach_the_sink_in_wire_order_with_a_nul_after_each_message() {
        let (mut session, mut tx) = client();
        let mut buf = frames(&[(0x81, b"one"), (0x89, b"p"), (0x82, b"two")]);
        let n = buf.len();
        buf.push(b'x'); // the byte to spare after the input
        let mut sink = Record::default();
        assert_eq!(deliver(&mut session, &mut tx, &mut buf, 0..n, &mut sink), n);
        assert_eq!(sink.events, ["message true one nul=true", "ping p", "message false two nul=true"]);
        assert_eq!(buf[n], b'x', "the byte after the input is given back");
        assert_eq!(buf[5], 0x89, "the byte after the first message is given back");
    }

    #[test]
    fn a_sink_that_stops_leaves_the_rest_unfed() {
        let (mut session, mut tx) = client();
        let mut buf = frames(&[(0x81, b"a"), (0x81, b"b")]);
        buf.push(0);
        let mut sink = Record { stop_after: Some(1), ..Record::default() };
        let first = deliver(&mut session, &mut tx, &mut buf, 0..6, &mut sink);
        assert_eq!(first, 3);
        assert_eq!(deliver(&mut session, &mut tx, &mut buf, first..6, &mut Record::default()), 6);
    }

    #[test]
    fn the_peers_close_frame_ends_delivery_and_is_answered() {
        let (mut session, mut tx) = client();
        let mut buf = frames(&[(0x88, &[0x03, 0xe8, b'b', b'y', b'e']), (0x81, b"late")]);
        buf.push(0);
        let mut sink = Record::default();
        let n = buf.len() - 1;
        assert_eq!(deliver(&mut session, &mut tx, &mut buf, 0..n, &mut sink), 7);
        assert_eq!(sink.events, ["closed 1000 bye"]);
        assert_eq!(tx.pending_output()[0], 0x88, "the close frame is answered");
    }

    #[test]
    fn a_protocol_error_fails_the_connection_through_the_sink() {
        let (mut session, mut tx) = client();
        let mut buf = frames(&[(0x83, b"x")]); // reserved opcode
        buf.push(0);
        let mut sink = Record::default();
        deliver(&mut session, &mut tx, &mut buf, 0..3, &mut sink);
        assert_eq!(sink.events.len(), 1);
        assert!(sink.events[0].starts_with("failed"), "{:?}", sink.events);
    }

    #[test]
    fn the_end_of_the_stream_is_a_failure_only_before_the_closing_handshake() {
        let (mut session, mut tx) = client();
        let mut sink = Failure::default();
        assert!(end_of_input(&mut session, &mut tx, &mut sink));
        assert_eq!(sink.0, Some(Error::Dropped));

        let (mut session, mut tx) = client();
        let mut buf = frames(&[(0x88, &[0x03, 0xe8])]);
        deliver(&mut session, &mut tx, &mut buf, 0..4, &mut Record::default());
        let mut sink = Failure::default();
        assert!(!end_of_input(&mut session, &mut tx, &mut sink));
        assert_eq!(sink.0, None);
    }

    #[test]
    fn a_timeout_goes_to_the_sink() {
        let config = Config { keepalive_interval_ms: 10, keepalive_timeout_ms: 10, ..Config::default() };
        let (mut session, mut tx) = (Session::open(Role::Server, config).unwrap(), Sender::new_open(Role::Server));
        let mut sink = Failure::default();
        assert!(!tick(&mut session, &mut tx, 0, &mut sink), "starts the keepalive timer");
        assert!(!tick(&mut session, &mut tx, 10, &mut sink), "sends the ping");
        assert_eq!(tx.pending_output()[0], 0x89);
        assert!(tick(&mut session, &mut tx, 20, &mut sink), "no pong in time");
        assert_eq!(sink.0, Some(Error::PongTimeout));
    }

    /// A transport that takes `room` bytes, then would block.
    struct Trickle {
        taken: Vec<u8>,
        room: usize,
    }

    impl Transport for Trickle {
        fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
            Err(io::ErrorKind::WouldBlock.into())
        }

        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let data: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            let n = data.len().min(self.room);
            if n == 0 && !data.is_empty() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.taken.extend_from_slice(&data[..n]);
            self.room -= n;
            Ok(n)
        }

        fn shutdown_write(&mut self) -> io::Result<()> {
            Ok(())
        }

        fn fds(&self) -> (RawFd, RawFd) {
            (-1, -1)
        }
    }

    #[test]
    fn what_the_transport_does_not_take_stays_queued() {
        let mut tx = Sender::new_open(Role::Server);
        tx.send(true, b"hello").unwrap();
        let mut t = Trickle { taken: Vec::new(), room: 4 };
        send_pending(&mut t, &mut tx).unwrap();
        assert_eq!(t.taken, [0x81, 5, b'h', b'e']);
        assert_eq!(tx.pending_output(), b"llo");
        t.room = 100;
        send_pending(&mut t, &mut tx).unwrap();
        assert!(tx.pending_output().is_empty());
        assert_eq!(&t.taken[2..], b"hello");
    }
}
