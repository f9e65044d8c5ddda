//! A client connection fed an arbitrary server response (and whatever
//! follows it) in chunks; plus `check_response` directly with a fixed key.
//!
//! Input: `flags`, `seed`, `clock`, then the bytes the server sends.
//! - `flags` bits 0-2: the largest chunk (1 ... whole); bit 3: small
//!   handshake limits; bits 4-6: `max_headers` for the direct call.
//! - `seed`: chunk sizes come from a generator seeded with it.
//! - `clock`: 0, or the clock moves on by up to `clock * 64` ms before
//!   each chunk (the handshake may time out).
//!
//! The random source is fixed, so the client's key is the RFC 6455 example
//! key and `Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=` (in the
//! dictionary) opens the connection.
//!
//! Oracle: no panic; the client's request passes the server's own checks;
//! `consumed` never exceeds the input and no event means all was taken;
//! before `Open` the only failures are `Error::Handshake(_)`, and nothing
//! is written for them; the connection's verdict is `check_response`'s on
//! the same head; after `Open` the subprotocol is one offered; after an
//! error or close nothing more happens; frames after the handshake obey
//! the open-connection checks.
#![no_main]

use ews::Error;
use ews::error::HandshakeError;
use ews::proto::handshake::client::{ClientOptions, check_response};
use ews::proto::handshake::server::{Request, validate};
use ews::proto::handshake::{HeadProgress, HeadReader};
use ews::proto::{Config, Connection, Event, Limits, State};
use ews_fuzz::{Collector, Cursor, RFC_KEY, Rng, advance_clock, check_state_after, feed_once, is_receive_error};
use libfuzzer_sys::fuzz_target;

const CHUNKS: [usize; 8] = [1, 2, 7, 16, 64, 512, 4096, usize::MAX];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Pending,
    Open(Option<String>),
    Failed(HandshakeError),
}

fuzz_target!(|data: &[u8]| {
    ews_fuzz::deterministic_rng();
    let mut c = Cursor::new(data);
    let flags = c.u8();
    let seed = c.u8();
    let clock = c.u8();
    let wire = c.rest();
    let offered = vec!["chat".to_string()];

    // check_response directly, with the RFC key.
    let max_headers = [0usize, 1, 2, 4, 8, 16, 64, 100][((flags >> 4) & 7) as usize];
    for offer in [&offered[..], &[][..]] {
        if let Ok(resp) = check_response(wire, RFC_KEY, offer, max_headers) {
            assert!(resp.headers.len() <= max_headers);
            if let Some(p) = &resp.protocol {
                assert!(offer.contains(p), "{p:?} was not offered");
            }
        }
    }

    let mut config = Config::default();
    if flags & 8 != 0 {
        config.limits = Limits { max_handshake_bytes: 160, max_handshake_headers: 4, ..Limits::default() };
    }
    let limits = config.limits;
    let options =
        ClientOptions { resource: "/".into(), host: "h".into(), protocols: offered.clone(), ..Default::default() };
    let mut conn = Connection::client(config, &options).expect("valid options");
    assert_eq!(conn.state(), State::Connecting);

    // The request passes the server's checks, with the key we expect.
    let request = Request::parse(conn.pending_output(), 64).expect("our request parses");
    let upgrade = validate(&request).expect("our request is valid");
    assert_eq!(&upgrade.key[..], RFC_KEY);
    assert_eq!(upgrade.protocols, offered);
    let n = conn.pending_output().len();
    conn.consume(n);

    // What the connection must decide.
    let mut reader = HeadReader::new(limits.max_handshake_bytes as usize);
    let expected = match reader.push(wire) {
        HeadProgress::Partial(_) => Verdict::Pending,
        HeadProgress::TooLarge => Verdict::Failed(HandshakeError::ResponseTooLarge),
        HeadProgress::Complete(_) => {
            match check_response(reader.head(), RFC_KEY, &offered, limits.max_handshake_headers as usize) {
                Ok(resp) => Verdict::Open(resp.protocol),
                Err(h) => Verdict::Failed(h),
            }
        }
    };

    let max_chunk = CHUNKS[(flags & 7) as usize];
    let mut rng = Rng::new(seed as u64);
    let mut input = wire.to_vec();
    let mut verdict = Verdict::Pending;
    let mut collector = Collector::new(limits.max_message);
    let mut ended = false;
    let mut now = 0u64;
    let mut timed_out = false;
    let mut off = 0;
    while off < input.len() {
        let size = if seed == 0 { input.len() - off } else { rng.size(max_chunk.min(input.len())) };
        let end = (off + size).min(input.len());
        if advance_clock(&mut conn, &mut rng, clock, &mut now) {
            timed_out = true;
            ended = true;
        }
        let chunk = &mut input[off..end];
        let mut pos = 0;
        loop {
            let (state, consumed, event) = feed_once(&mut conn, &mut chunk[pos..]);
            let Some(event) = event else { break };
            assert!(!ended, "an event after the connection ended");
            pos += consumed;
            match (state, event.as_event()) {
                (State::Connecting, Event::Open) => {
                    assert_eq!(conn.state(), State::Open);
                    assert!(conn.pending_output().is_empty(), "the client wrote something on open");
                    let protocol = conn.subprotocol().map(str::to_owned);
                    if let Some(p) = &protocol {
                        assert!(offered.contains(p));
                    }
                    verdict = Verdict::Open(protocol);
                }
                (State::Connecting, Event::Error(e)) => {
                    let Error::Handshake(h) = e else { panic!("handshake failed with {e:?}") };
                    assert!(!matches!(h, HandshakeError::PeerHungUp));
                    verdict = Verdict::Failed(h);
                    assert_eq!(conn.state(), State::Failed);
                    assert_eq!(conn.error(), Some(e));
                    assert!(conn.wants_close());
                    assert!(conn.pending_output().is_empty(), "the client wrote something on a failed handshake");
                    ended = true;
                }
                (State::Connecting, e) => panic!("unexpected event during the handshake: {e:?}"),
                (State::Open | State::Closing, e) => {
                    if let Event::Error(err) = e {
                        assert!(is_receive_error(&err), "open connection failed with {err:?}");
                    }
                    collector.push(&e);
                    check_state_after(&conn, &e);
                    ended = matches!(e, Event::Error(_) | Event::Close { .. });
                }
                (s, e) => panic!("event {e:?} in state {s:?}"),
            }
            if pos == chunk.len() {
                break;
            }
        }
        off = end;
    }
    if timed_out {
        assert_eq!(verdict, Verdict::Pending, "a handshake that completed timed out");
    } else {
        assert_eq!(verdict, expected, "the connection and check_response disagree");
    }

    let state = conn.state();
    let eof = conn.on_eof();
    match state {
        State::Closed | State::Failed => assert_eq!(eof, None),
        State::Connecting => assert_eq!(eof, Some(Event::Error(Error::Handshake(HandshakeError::PeerHungUp)))),
        _ => assert_eq!(eof, Some(Event::Error(Error::Dropped))),
    }
    assert_eq!(conn.on_eof(), None, "a second end of file");
});
