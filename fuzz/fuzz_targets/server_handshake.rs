//! A server connection fed an arbitrary client handshake (and whatever
//! follows it) in chunks; plus `Request::parse` and `validate` directly.
//!
//! Input: `flags`, `seed`, `decision`, `clock`, then the bytes the client sends.
//! - `flags` bit 0: small handshake limits; bit 1: deferred accept;
//!   bits 2-4: the largest chunk (1 ... whole); bits 5-7: `max_headers`
//!   for the direct `Request::parse`.
//! - `seed`: chunk sizes come from a generator seeded with it, so the
//!   client's bytes stay a clean HTTP stream for the fuzzer.
//! - `decision`: what a deferred host does with the request (bit 7: it
//!   first reads the clock, and the handshake may time out).
//! - `clock`: 0, or the clock moves on by up to `clock * 64` ms before
//!   each chunk (the handshake may time out).
//!
//! Oracle: no panic; `consumed` never exceeds the input and no event means
//! all of it was taken; after `Error(Request(r))` the pending output is a
//! complete HTTP response starting `HTTP/1.1 {r.status()}`; after `Open` it
//! is a `101` that the client side's `check_response` accepts for the
//! request's key and offered subprotocols; the connection's verdict is the
//! verdict of `Request::parse` + resource check + `validate` on the same
//! head; after an error nothing more happens; what follows the handshake
//! obeys the open-connection checks.
#![no_main]

use ews::Error;
use ews::error::{HandshakeError, RequestError};
use ews::proto::handshake::client::check_response;
use ews::proto::handshake::negotiate::select_protocol;
use ews::proto::handshake::server::{Request, could_be_request, validate, write_accept, write_refusal};
use ews::proto::handshake::{HeadProgress, HeadReader, is_token, is_valid_key};
use ews::proto::{Config, Connection, Event, Limits, ServerOptions, State};
use ews_fuzz::{Collector, Cursor, Rng, advance_clock, check_state_after, feed_once, is_receive_error, owned_event};
use libfuzzer_sys::fuzz_target;

const CHUNKS: [usize; 8] = [1, 2, 7, 16, 64, 512, 4096, usize::MAX];

/// What the connection said about the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// No complete head yet.
    Pending,
    /// Accepted (or, deferred, a valid request).
    Valid,
    /// Refused with this error.
    Refused(RequestError),
}

/// Checks a complete HTTP error response for `status`.
fn check_refusal(out: &[u8], status: u16) {
    let prefix = format!("HTTP/1.1 {status} ");
    assert!(
        out.starts_with(prefix.as_bytes()),
        "refusal {:?} does not start with {prefix:?}",
        String::from_utf8_lossy(out)
    );
    assert_eq!(check_response(out, b"", &[], 64).unwrap_err(), HandshakeError::NotSwitching(status));
    let text = std::str::from_utf8(out).expect("refusals are ASCII");
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete head");
    assert!(head.contains("\r\nConnection: close"), "{head:?}");
    let len: usize =
        head.lines().find_map(|l| l.strip_prefix("Content-Length: ")).expect("Content-Length").parse().unwrap();
    assert_eq!(body.len(), len, "body length");
}

/// Checks a `101` answer against the request it answers.
fn check_accept(out: &[u8], request: &Request, protocol: Option<&str>) {
    assert!(out.starts_with(b"HTTP/1.1 101 "), "{:?}", String::from_utf8_lossy(out));
    let upgrade = validate(request).expect("an accepted request is valid");
    let response = check_response(out, &upgrade.key, &upgrade.protocols, 64).expect("the client accepts our 101");
    assert_eq!(response.protocol.as_deref(), protocol);
}

/// The direct verdict on a head: what the connection must agree with.
fn direct_verdict(head: &[u8], max_headers: usize, resources: &[String]) -> Result<(), RequestError> {
    // A head whose request line cannot be HTTP is refused as such whether
    // or not it is complete.
    if !could_be_request(head) {
        return Err(RequestError::Malformed);
    }
    let request = Request::parse(head, max_headers)?;
    if request.resource().is_none() {
        return Err(RequestError::TargetInvalid);
    }
    if !resources.is_empty() && !resources.iter().any(|r| r == request.path()) {
        return Err(RequestError::NotFound);
    }
    validate(&request).map(|_| ())
}

/// `Request::parse` and `validate` on arbitrary bytes, with follow-ups.
fn fuzz_request(data: &[u8], max_headers: usize, supported: &[String]) {
    let Ok(request) = Request::parse(data, max_headers) else { return };
    assert!(request.headers.len() <= max_headers);
    let path = request.path();
    match request.resource() {
        Some(resource) => {
            // Origin form, or the path and query of an absolute-form target.
            assert!(resource.starts_with('/'), "resource {resource:?}");
            assert!(request.target.ends_with(resource) || resource == "/", "{resource:?} of {:?}", request.target);
            assert!(resource.starts_with(path));
            match request.query() {
                Some(q) => assert_eq!(format!("{path}?{q}"), resource),
                None => assert_eq!(path, resource),
            }
        }
        None => {
            assert_eq!(path, "");
            assert_eq!(request.query(), None);
        }
    }
    match validate(&request) {
        Ok(upgrade) => {
            assert_eq!(request.method, "GET");
            assert!(request.resource().is_some());
            assert!(request.wants_websocket());
            assert!(is_valid_key(&upgrade.key));
            assert!(upgrade.protocols.iter().all(|p| is_token(p.as_bytes())));
            let chosen = select_protocol(&upgrade.protocols, supported);
            let mut out = Vec::new();
            write_accept(&mut out, &upgrade.key, chosen, &[("X-Extra".into(), "1".into())]);
            let response = check_response(&out, &upgrade.key, &upgrade.protocols, 64).expect("our own 101 passes");
            assert_eq!(response.protocol.as_deref(), chosen);
        }
        Err(r) => {
            assert!(!matches!(r, RequestError::Refused(_) | RequestError::HeadersTooLarge | RequestError::HttpVersion));
            let mut out = Vec::new();
            write_refusal(&mut out, r);
            check_refusal(&out, r.status());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    ews_fuzz::deterministic_rng();
    let mut c = Cursor::new(data);
    let flags = c.u8();
    let seed = c.u8();
    let decision = c.u8();
    let clock = c.u8();
    let wire = c.rest();

    let resources = vec!["/chat".to_string()];
    let protocols = vec!["chat".to_string()];

    let max_headers = [0usize, 1, 2, 4, 8, 16, 64, 100][(flags >> 5) as usize];
    fuzz_request(wire, max_headers, &protocols);

    let mut config = Config::default();
    if flags & 1 != 0 {
        config.limits = Limits { max_handshake_bytes: 200, max_handshake_headers: 4, ..Limits::default() };
    }
    let limits = config.limits;
    let defer = flags & 2 != 0;
    let options =
        ServerOptions { resources: resources.clone(), protocols: protocols.clone(), defer, ..Default::default() };
    let mut conn = Connection::server(config, options).expect("valid options");
    assert_eq!(conn.state(), State::Connecting);
    assert!(conn.pending_output().is_empty());

    // What the connection must decide, from the same bytes: all at once
    // here, and chunk by chunk below (a head that cannot become a request
    // is refused as soon as a read shows it, so chunking may matter).
    let head_verdict = |reader: &mut HeadReader, bytes: &[u8]| match reader.push(bytes) {
        HeadProgress::Partial(_) if could_be_request(reader.head()) => None,
        HeadProgress::Partial(_) => Some(Verdict::Refused(RequestError::Malformed)),
        HeadProgress::TooLarge => Some(Verdict::Refused(RequestError::HeadersTooLarge)),
        HeadProgress::Complete(_) => {
            match direct_verdict(reader.head(), limits.max_handshake_headers as usize, &resources) {
                Ok(()) => Some(Verdict::Valid),
                Err(r) => Some(Verdict::Refused(r)),
            }
        }
    };
    let whole =
        head_verdict(&mut HeadReader::new(limits.max_handshake_bytes as usize), wire).unwrap_or(Verdict::Pending);
    let mut shadow = HeadReader::new(limits.max_handshake_bytes as usize);
    let mut expected = None;

    let max_chunk = CHUNKS[((flags >> 2) & 7) as usize];
    let mut rng = Rng::new(seed as u64);
    let mut input = wire.to_vec();
    let mut verdict = Verdict::Pending;
    let mut collector = Collector::new(limits.max_message);
    let mut failed = false;
    let mut now = 0u64;
    let mut timed_out = false;
    let mut off = 0;
    while off < input.len() {
        let size = if seed == 0 { input.len() - off } else { rng.size(max_chunk.min(input.len())) };
        let end = (off + size).min(input.len());
        if advance_clock(&mut conn, &mut rng, clock, &mut now) {
            timed_out = true;
            failed = true;
        }
        let chunk = &mut input[off..end];
        if expected.is_none() && !timed_out {
            expected = head_verdict(&mut shadow, chunk);
        }
        let mut pos = 0;
        loop {
            let (state, consumed, event) = feed_once(&mut conn, &mut chunk[pos..]);
            let Some(event) = event else { break };
            assert!(!failed, "an event after the connection failed");
            pos += consumed;
            match (state, event.as_event()) {
                (State::Connecting, Event::Open) => {
                    assert!(!defer);
                    assert_eq!(conn.state(), State::Open);
                    verdict = Verdict::Valid;
                    let request = conn.request().expect("the request is kept").clone();
                    let offered = validate(&request).unwrap().protocols;
                    let chosen = offered.iter().any(|p| p == "chat").then_some("chat");
                    assert_eq!(conn.subprotocol(), chosen);
                    check_accept(conn.pending_output(), &request, chosen);
                    let n = conn.pending_output().len();
                    conn.consume(n);
                }
                (State::Connecting, Event::Request) => {
                    assert!(defer);
                    assert_eq!(conn.state(), State::Requested);
                    assert!(conn.pending_output().is_empty());
                    verdict = Verdict::Valid;
                    let request = conn.request().expect("the request is kept").clone();
                    let offered = conn.offered_protocols().to_vec();
                    assert_eq!(offered, validate(&request).unwrap().protocols);
                    // While the host decides, nothing is read.
                    let mut more = *b"more";
                    assert_eq!(conn.feed(&mut more).consumed, 0);
                    let mut late = false;
                    if clock != 0 && decision & 0x80 != 0 {
                        // The host takes its time: the handshake may time out
                        // while the request waits.
                        now += rng.next_u64() % (clock as u64 * 256);
                        match conn.on_time(now) {
                            None => assert_eq!(conn.state(), State::Requested),
                            Some(Event::Error(Error::HandshakeTimeout)) => {
                                assert_eq!(conn.state(), State::Failed);
                                assert_eq!(conn.error(), Some(Error::HandshakeTimeout));
                                assert!(conn.pending_output().is_empty(), "a timeout wrote something");
                                late = true;
                                failed = true;
                            }
                            Some(e) => panic!("on_time returned {e:?} while a request waits"),
                        }
                        if let Some(deadline) = conn.next_deadline() {
                            assert!(deadline > now, "next deadline {deadline} not after now {now}");
                        }
                    }
                    match if late { 4 } else { decision % 4 } {
                        4 => {}
                        0 | 1 => {
                            let protocol = if decision.is_multiple_of(4) {
                                None
                            } else {
                                offered.get(decision as usize / 4 % offered.len().max(1)).map(String::as_str)
                            };
                            conn.accept(protocol, &[("X-Host".into(), "yes".into())]).expect("accept");
                            assert_eq!(conn.state(), State::Open);
                            assert_eq!(conn.subprotocol(), protocol);
                            check_accept(conn.pending_output(), &request, protocol);
                            let n = conn.pending_output().len();
                            conn.consume(n);
                        }
                        2 => {
                            // Not offered, or a header that would break the response.
                            assert!(matches!(conn.accept(Some("not offered \r\n"), &[]), Err(Error::Invalid(_))));
                            assert!(matches!(
                                conn.accept(None, &[("X".into(), "a\r\nb".into())]),
                                Err(Error::Invalid(_))
                            ));
                            assert!(matches!(conn.reject(200), Err(Error::Invalid(_))));
                            assert_eq!(conn.state(), State::Requested);
                            conn.accept(None, &[]).expect("accept");
                            check_accept(conn.pending_output(), &request, None);
                            let n = conn.pending_output().len();
                            conn.consume(n);
                        }
                        _ => {
                            let status = 400 + (decision as u16 / 4) * 3;
                            conn.reject(status).expect("reject");
                            assert_eq!(conn.state(), State::Failed);
                            assert_eq!(conn.error(), Some(Error::Request(RequestError::Refused(status))));
                            check_refusal(conn.pending_output(), status);
                            failed = true;
                        }
                    }
                    assert!(matches!(conn.accept(None, &[]), Err(Error::State(_))));
                    assert!(matches!(conn.reject(400), Err(Error::State(_))));
                }
                (State::Connecting, Event::Error(e)) => {
                    let Error::Request(r) = e else { panic!("handshake failed with {e:?}") };
                    assert!(!matches!(r, RequestError::Refused(_)));
                    verdict = Verdict::Refused(r);
                    assert_eq!(conn.state(), State::Failed);
                    assert_eq!(conn.error(), Some(e));
                    assert!(conn.wants_close());
                    check_refusal(conn.pending_output(), r.status());
                    failed = true;
                }
                (State::Connecting, e) => {
                    panic!("unexpected event during the handshake: {:?}", owned_event(&e).as_event())
                }
                (State::Open | State::Closing, e) => {
                    if let Event::Error(err) = e {
                        assert!(is_receive_error(&err), "open connection failed with {err:?}");
                        failed = true;
                    }
                    collector.push(&e);
                    check_state_after(&conn, &e);
                    if matches!(e, Event::Close { .. }) {
                        failed = true;
                    }
                }
                (s, e) => panic!("event {:?} in state {s:?}", owned_event(&e).as_event()),
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
        let expected = expected.unwrap_or(Verdict::Pending);
        assert_eq!(verdict, expected, "the connection and the direct parse disagree");
        if expected == Verdict::Pending {
            assert_eq!(conn.state(), State::Connecting);
            assert!(conn.pending_output().is_empty());
        }
        // Chunking may only make a refusal come earlier, as 400: never
        // refuse what would have been accepted whole.
        if verdict != whole {
            assert_eq!(verdict, Verdict::Refused(RequestError::Malformed), "chunked verdict; whole: {whole:?}");
            assert_ne!(whole, Verdict::Valid, "a valid request refused early because of how it was split");
            if std::env::var_os("EWS_FUZZ_REPORT").is_some() {
                eprintln!("CHUNK-DEPENDENT chunked={verdict:?} whole={whole:?}");
            }
        }
    }
    // The transport ends.
    let state = conn.state();
    let eof = conn.on_eof();
    match state {
        State::Closed | State::Failed => assert_eq!(eof, None),
        _ => assert_eq!(eof, Some(Event::Error(Error::Dropped))),
    }
    assert_eq!(conn.on_eof(), None, "a second end of file");
});
