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
/// now.
pub(crate) fn send_pending<T: Transport + ?Sized>(t: &mut T, tx: &mut Sender) -> io::Result<()> {
    if tx.pending_output().is_empty() {
        // Output the transport holds itself still goes out.
        return write_out(t, &[]).map(drop);
    }
    let n = write_out(t, tx.pending_output())?;
    tx.consume(n);
    Ok(())
}
