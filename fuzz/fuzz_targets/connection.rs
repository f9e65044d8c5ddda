//! A whole open connection, either role, driven by a script in the input:
//! bytes from the peer (raw, or frames built from fields) fed in chunks the
//! input chooses, clock readings, and the host's sends, pings, pongs and
//! closes in between.
//!
//! Input: a configuration (role, streaming, control events, keepalive,
//! limits), then operations until the input is used up; see `Op`.
//!
//! Oracle, besides "no panic, no hang, no huge allocation":
//! - feeding: `consumed <= input.len()`, no event means all was taken,
//!   every event makes progress; after an `Error` or `Close` event nothing
//!   more is reported, by `feed` or `on_time`, and nothing more is written;
//! - events: whole messages (and streamed ones, put together) are within
//!   `max_message`, text is UTF-8, streamed pieces are well formed;
//!   errors from received bytes are protocol / UTF-8 / size errors, from
//!   the clock only close and pong timeouts;
//! - the received events do not depend on how the bytes were chunked, nor
//!   on streaming mode: a second connection with streaming flipped, fed all
//!   the same bytes at once, reports the same messages and the same error
//!   (up to where the first one was cut off by a timeout or end of file);
//! - the host's calls succeed exactly when the documented rules say so;
//! - output: a peer connection of the other role, fed everything this one
//!   writes, never fails and decodes exactly what was sent: the host's
//!   messages, pings, pongs and close, the automatic pongs and close
//!   replies, keepalive pings, and the close frame of a failure with its
//!   code; nothing follows a close frame;
//! - after `on_time(now)`, `next_deadline()` is `None` or later than `now`;
//! - memory: buffered bytes stay within `max_message` plus a control
//!   frame, pending output within 64 KiB plus what was sent and fed.
#![no_main]

use ews::Error;
use ews::proto::close::{MAX_REASON_LEN, NO_STATUS, is_valid_wire_code};
use ews::proto::frame::{MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, encode_header};
use ews::proto::mask::apply_mask;
use ews::proto::{Config, Connection, Event, Limits, Opcode, Role, State};
use ews_fuzz::{Collector, Cursor, Item, check_state_after, feed_all, is_receive_error};
use libfuzzer_sys::fuzz_target;

const OPCODES: [u8; 8] = [0x0, 0x1, 0x2, 0x8, 0x9, 0xA, 0x3, 0xB];
const CLOSE_CODES: [u16; 15] = [0, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1011, 1014, 1015, 2999, 3000, 4999];

/// What the host expects the peer to decode from this end's output.
struct Model {
    /// The frames sent, as the peer reports them.
    expected: Vec<Item>,
    /// The sender can still send (no close frame sent, not failed).
    tx_open: bool,
    /// A fragmented message the host is sending: text flag and data so far.
    sending: Option<(bool, Vec<u8>)>,
    /// Bytes the host asked to send (bounds the output).
    sent: usize,
}

impl Model {
    fn push_close(&mut self, code: u16, reason: &str) {
        let code = if code == 0 { NO_STATUS } else { code };
        self.expected.push(Item::Close { code, reason: reason.to_owned() });
        self.tx_open = false;
    }
}

/// Whether `data` may follow `prefix` in a text message (`fin`: and end it).
fn text_ok(prefix: &[u8], data: &[u8], fin: bool) -> bool {
    let mut all = prefix.to_vec();
    all.extend_from_slice(data);
    match std::str::from_utf8(&all) {
        Ok(_) => true,
        Err(e) => !fin && e.error_len().is_none(),
    }
}

/// Checks the result of a call against the prediction.
fn expect(result: ews::Result<()>, ok: bool, what: &str) {
    match (result, ok) {
        (Ok(()), true) => {}
        (Err(Error::Invalid(_) | Error::State(_)), false) => {}
        (r, ok) => panic!("{what}: got {r:?}, expected {}", if ok { "success" } else { "a refusal" }),
    }
}

/// The conversation so far on the receiving side.
struct Rx {
    collector: Collector,
    /// Every byte fed, in order, before unmasking (for the reference).
    wire: Vec<u8>,
    /// The connection ended: error or close reported.
    ended: bool,
    /// Ended by a local cause (timeout, end of file): the reference may
    /// report more.
    cut: bool,
    streaming: bool,
    control_events: bool,
    max_buffered: usize,
}

fn on_event(conn: &mut Connection, event: &Event<'_>, rx: &mut Rx, model: &mut Model) {
    assert!(!rx.ended, "event {event:?} after the connection ended");
    match *event {
        Event::Error(e) => {
            assert!(is_receive_error(&e), "receiving failed with {e:?}");
            if model.tx_open
                && let Some(code) = e.close_code()
            {
                let detail = e.detail();
                model.push_close(code, &detail[..detail.len().min(MAX_REASON_LEN)]);
            }
            model.tx_open = false;
            rx.ended = true;
        }
        Event::Close { code, .. } => {
            if model.tx_open {
                model.push_close(code, "");
            }
            model.tx_open = false;
            rx.ended = true;
        }
        Event::Ping(data) => {
            assert!(rx.control_events, "ping event without control events");
            if model.tx_open {
                model.expected.push(Item::Pong(data.to_vec()));
            }
        }
        Event::Pong(_) => assert!(rx.control_events, "pong event without control events"),
        Event::Message { .. } => assert!(!rx.streaming, "whole message in streaming mode"),
        Event::Fragment { .. } => assert!(rx.streaming, "fragment without streaming"),
        Event::Request | Event::Open => panic!("{event:?} on an open connection"),
    }
    rx.collector.push(event);
    check_state_after(conn, event);
    assert_eq!(conn.sender().is_open(), model.tx_open, "sender state after {event:?}");
}

/// Feeds `bytes` from the peer.
fn deliver(conn: &mut Connection, bytes: &[u8], rx: &mut Rx, model: &mut Model) {
    rx.wire.extend_from_slice(bytes);
    let mut input = bytes.to_vec();
    let ended = rx.ended;
    let before = conn.pending_output().len();
    feed_all(conn, &mut input, |conn, event| on_event(conn, event, rx, model));
    if ended {
        assert_eq!(conn.pending_output().len(), before, "output after the connection ended");
    }
    assert!(conn.buffered_bytes() <= rx.max_buffered, "{} bytes buffered", conn.buffered_bytes());
}

/// Feeds what this end wrote to the peer, which must take it all without
/// failing.
fn to_peer(conn: &mut Connection, n: usize, peer: &mut Connection, seen: &mut Collector) {
    let n = n.min(conn.pending_output().len());
    let mut bytes = conn.pending_output()[..n].to_vec();
    conn.consume(n);
    feed_all(peer, &mut bytes, |_, event| {
        assert!(!matches!(event, Event::Error(_)), "the peer failed on our output: {event:?}");
        seen.push(event);
    });
}

/// A frame from fields: opcode, FIN, RSV, masked or not, and a payload of
/// any length (padded with `a` past the end of the input).
fn build_frame(c: &mut Cursor<'_>, role: Role) -> Vec<u8> {
    let b = c.u8();
    let fin = b & 1 != 0;
    let opcode = OPCODES[((b >> 1) & 7) as usize];
    let rsv = if b & 0x10 != 0 { 0b100 } else { 0 };
    let want_mask = (role == Role::Server) != (b & 0x20 != 0);
    let len = match b >> 6 {
        0 => c.u8() as usize % 126,
        1 => c.u8() as usize,
        2 => c.u16() as usize % 8192,
        _ => c.u16() as usize,
    };
    let mask = want_mask.then(|| [c.u8(), c.u8(), c.u8(), c.u8()]);
    let mut payload = c.bytes(len).to_vec();
    payload.resize(len, b'a');
    let mut header = [0u8; MAX_HEADER_LEN];
    let n = encode_header(&mut header, fin, rsv, opcode, mask, len as u64);
    if let Some(key) = mask {
        apply_mask(&mut payload, key, 0);
    }
    let mut frame = header[..n].to_vec();
    frame.extend_from_slice(&payload);
    frame
}

/// Data for a send: raw bytes, or made valid UTF-8.
fn send_data(c: &mut Cursor<'_>, max: usize) -> Vec<u8> {
    let b = c.u8();
    let len = b as usize % (max + 1);
    let raw = c.bytes(len);
    if b & 0x80 != 0 { String::from_utf8_lossy(raw).into_owned().into_bytes() } else { raw.to_vec() }
}

fuzz_target!(|data: &[u8]| {
    ews_fuzz::deterministic_rng();
    let mut c = Cursor::new(data);

    // ----- configuration -----
    let flags = c.u8();
    let role = if flags & 1 != 0 { Role::Client } else { Role::Server };
    let streaming = flags & 2 != 0;
    let control_events = flags & 4 != 0;
    let keepalive = flags & 8 != 0;
    let mut limits = Limits { max_frame: 4096, max_message: 4096, ..Limits::default() };
    if flags & 0x10 != 0 {
        limits.max_frame = 1 + c.u16() as u64 % 4096;
        limits.max_message = 1 + c.u16() as u64 % 8192;
        limits.rx_start_size = c.u8() as u32;
        limits.rx_expand_size = c.u8() as u32;
    }
    limits.close_timeout_ms = c.u8() as u32 * 16;
    let (keepalive_interval_ms, keepalive_timeout_ms) =
        if keepalive { (1 + c.u8() as u32 * 16, c.u8() as u32 * 16) } else { (0, 0) };
    let config = Config { limits, streaming, control_events, keepalive_interval_ms, keepalive_timeout_ms };
    let mut conn = Connection::open(role, config.clone()).expect("valid limits");
    assert_eq!(conn.state(), State::Open);
    assert!(conn.pending_output().is_empty());

    let peer_role = if role == Role::Server { Role::Client } else { Role::Server };
    let peer_config = Config { control_events: true, ..Config::default() };
    let mut peer = Connection::open(peer_role, peer_config).unwrap();
    let mut peer_seen = Collector::new(u64::MAX);

    let max_message = limits.max_message;
    let mut rx = Rx {
        collector: Collector::new(max_message),
        wire: Vec::new(),
        ended: false,
        cut: false,
        streaming,
        control_events,
        max_buffered: if streaming { 0 } else { max_message as usize + 1 } + MAX_CONTROL_PAYLOAD,
    };
    let mut model = Model { expected: Vec::new(), tx_open: true, sending: None, sent: 0 };
    let mut queue: Vec<u8> = Vec::new();
    let mut now: u64 = c.u16() as u64;
    let mut written = 0usize; // output produced so far (consumed + pending)

    // ----- operations -----
    let mut ops = 0;
    while !c.is_empty() && ops < 2000 {
        ops += 1;
        let before_total = written + conn.pending_output().len();
        let was_open = model.tx_open;
        match c.u8() % 12 {
            // Raw bytes from the peer, queued.
            0 => {
                let n = c.u8() as usize;
                queue.extend_from_slice(c.bytes(n));
            }
            // A frame from fields, queued.
            1 | 2 => queue.extend(build_frame(&mut c, role)),
            // Deliver queued bytes (0: all of them) as one chunk.
            3 | 4 => {
                let n = match c.u16() as usize {
                    0 => queue.len(),
                    n => n.min(queue.len()),
                };
                let chunk: Vec<u8> = queue.drain(..n).collect();
                deliver(&mut conn, &chunk, &mut rx, &mut model);
            }
            // The clock.
            5 => {
                let dt = match c.u8() % 4 {
                    0 => c.u8() as u64,
                    1 => c.u16() as u64,
                    2 => c.u32() as u64,
                    _ => 0,
                };
                now = now.saturating_add(dt);
                let pending = conn.pending_output().len();
                let ended = rx.ended;
                match conn.on_time(now) {
                    None => {
                        if conn.pending_output().len() > pending {
                            assert!(keepalive && !ended && model.tx_open, "on_time wrote without keepalive");
                            model.expected.push(Item::Ping(Vec::new()));
                        }
                    }
                    Some(Event::Error(e)) => {
                        assert!(!ended, "on_time failed an ended connection with {e:?}");
                        assert!(matches!(e, Error::CloseTimeout | Error::PongTimeout), "on_time failed with {e:?}");
                        if e == Error::PongTimeout {
                            assert!(keepalive);
                        }
                        assert_eq!(e.close_code(), None);
                        assert_eq!(conn.pending_output().len(), pending, "a timeout wrote something");
                        rx.collector.push(&Event::Error(e));
                        check_state_after(&conn, &Event::Error(e));
                        model.tx_open = false;
                        rx.ended = true;
                        rx.cut = true;
                    }
                    Some(e) => panic!("on_time returned {e:?}"),
                }
                if let Some(deadline) = conn.next_deadline() {
                    assert!(deadline > now, "next deadline {deadline} not after now {now}");
                }
            }
            // A whole message.
            6 => {
                let text = c.bool();
                let data = send_data(&mut c, 255);
                let ok = model.tx_open && model.sending.is_none() && (!text || std::str::from_utf8(&data).is_ok());
                expect(conn.send(text, &data), ok, "send");
                if ok {
                    model.sent += data.len() + MAX_HEADER_LEN;
                    model.expected.push(Item::Message { text, data });
                }
            }
            // One frame of a message, or a control frame.
            7 => {
                let b = c.u8();
                let opcode =
                    [Opcode::Continuation, Opcode::Text, Opcode::Binary, Opcode::Ping, Opcode::Pong, Opcode::Close]
                        [b as usize % 6];
                let fin = b & 0x80 != 0;
                let data = send_data(&mut c, 140);
                let ok = model.tx_open
                    && match opcode {
                        Opcode::Close => false,
                        Opcode::Ping | Opcode::Pong => fin && data.len() <= MAX_CONTROL_PAYLOAD,
                        Opcode::Continuation => match &model.sending {
                            Some((text, acc)) => !text || text_ok(acc, &data, fin),
                            None => false,
                        },
                        Opcode::Text => model.sending.is_none() && text_ok(&[], &data, fin),
                        Opcode::Binary => model.sending.is_none(),
                    };
                expect(conn.send_frame(opcode, fin, &data), ok, "send_frame");
                if ok {
                    model.sent += data.len() + MAX_HEADER_LEN;
                    match opcode {
                        Opcode::Ping => model.expected.push(Item::Ping(data)),
                        Opcode::Pong => model.expected.push(Item::Pong(data)),
                        _ => {
                            let (text, mut acc) = model.sending.take().unwrap_or((opcode == Opcode::Text, Vec::new()));
                            acc.extend_from_slice(&data);
                            if fin {
                                model.expected.push(Item::Message { text, data: acc });
                            } else {
                                model.sending = Some((text, acc));
                            }
                        }
                    }
                }
            }
            // Ping or pong.
            8 => {
                let ping = c.bool();
                let data = send_data(&mut c, 130);
                let ok = model.tx_open && data.len() <= MAX_CONTROL_PAYLOAD;
                let result = if ping { conn.ping(&data) } else { conn.pong(&data) };
                expect(result, ok, if ping { "ping" } else { "pong" });
                if ok {
                    model.sent += data.len() + MAX_HEADER_LEN;
                    model.expected.push(if ping { Item::Ping(data) } else { Item::Pong(data) });
                }
            }
            // Close.
            9 => {
                let b = c.u8();
                let code = if (b as usize) < CLOSE_CODES.len() { CLOSE_CODES[b as usize] } else { c.u16() };
                let n = c.u8() as usize % 131;
                let reason = String::from_utf8_lossy(c.bytes(n)).into_owned();
                let ok = model.tx_open
                    && if code == 0 {
                        reason.is_empty()
                    } else {
                        is_valid_wire_code(code) && reason.len() <= MAX_REASON_LEN
                    };
                let state = conn.state();
                expect(conn.close(code, &reason), ok, "close");
                if ok {
                    model.sent += reason.len() + MAX_HEADER_LEN;
                    model.push_close(code, &reason);
                    model.sending = None;
                    if state == State::Open {
                        assert_eq!(conn.state(), State::Closing);
                    }
                }
            }
            // Pass some output to the peer.
            10 => {
                let n = c.u16() as usize;
                let taken = n.min(conn.pending_output().len());
                to_peer(&mut conn, n, &mut peer, &mut peer_seen);
                written += taken;
            }
            // End of file.
            _ => {
                let state = conn.state();
                let eof = conn.on_eof();
                match state {
                    State::Closed | State::Failed => assert_eq!(eof, None),
                    _ => {
                        assert_eq!(eof, Some(Event::Error(Error::Dropped)));
                        rx.collector.push(&Event::Error(Error::Dropped));
                        rx.ended = true;
                        rx.cut = true;
                        model.tx_open = false;
                    }
                }
                assert!(conn.wants_close(), "no close wanted after end of file in state {state:?}");
            }
        }
        assert_eq!(conn.sender().is_open(), model.tx_open, "sender state");
        let total = written + conn.pending_output().len();
        if !was_open {
            assert_eq!(total, before_total, "output after the close frame or failure");
        }
        let fed = rx.wire.len() + queue.len();
        assert!(
            conn.pending_output().len() <= (64 << 10) + model.sent + 2 * fed,
            "pending output of {} bytes",
            conn.pending_output().len()
        );
    }

    // ----- the end: everything delivered, everything written read -----
    let rest = std::mem::take(&mut queue);
    deliver(&mut conn, &rest, &mut rx, &mut model);
    to_peer(&mut conn, usize::MAX, &mut peer, &mut peer_seen);

    // The peer decoded exactly what was sent. Pongs are only known when
    // pings are reported (control events); otherwise they are left out.
    let keep = |item: &&Item| control_events || !matches!(item, Item::Pong(_));
    let got: Vec<&Item> = peer_seen.items.iter().filter(keep).collect();
    let want: Vec<&Item> = model.expected.iter().filter(keep).collect();
    assert_eq!(got, want, "the peer decoded something else than what was sent");

    // The same bytes at once, streaming flipped, give the same events.
    let ref_config = Config { streaming: !streaming, keepalive_interval_ms: 0, ..config };
    let mut reference = Connection::open(role, ref_config).unwrap();
    let mut ref_seen = Collector::new(max_message);
    let mut wire = rx.wire.clone();
    feed_all(&mut reference, &mut wire, |_, event| ref_seen.push(event));
    let mine = &rx.collector.items;
    let theirs = &ref_seen.items;
    if rx.cut {
        let mine = &mine[..mine.len() - 1];
        assert!(
            theirs.len() >= mine.len() && theirs[..mine.len()] == *mine,
            "events depend on chunking or streaming:\n chunked: {mine:?}\n whole:   {theirs:?}"
        );
    } else {
        assert_eq!(mine, theirs, "events depend on chunking or streaming");
    }
});
