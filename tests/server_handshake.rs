//! The server side of the opening handshake (RFC 6455 §4.2): the `101`
//! answer, frames that follow the request, every refusal as a complete HTTP
//! response with its status, subprotocol selection and deferred accept.

mod common;

use common::*;
use ews::Error;
use ews::error::RequestError;
use ews::proto::{Config, Connection, Limits, ServerOptions, State};

fn serve(options: ServerOptions) -> Connection {
    Connection::server(Config::default(), options).expect("server")
}

fn replace(from: &str, to: &str) -> String {
    assert!(RFC_REQUEST.contains(from), "{from:?} not in the request");
    RFC_REQUEST.replacen(from, to, 1)
}

/// Feeds `request` to a default server and checks it is refused with
/// `status` and `err`, as one complete HTTP response; returns the response.
fn refused(request: &[u8], err: RequestError, status: u16) -> Http {
    refused_by(serve(ServerOptions::default()), request, err, status)
}

fn refused_by(mut conn: Connection, request: &[u8], err: RequestError, status: u16) -> Http {
    let events = feed(&mut conn, request);
    assert_eq!(events, [Ev::Error(Error::Request(err))]);
    assert_eq!(err.status(), status);
    assert_eq!(conn.state(), State::Failed);
    assert_eq!(conn.error(), Some(Error::Request(err)));
    assert!(conn.wants_close());
    let resp = parse_response(&take_output(&mut conn));
    assert_eq!(resp.status, status);
    assert!(!resp.all("content-length").is_empty(), "a refusal has a Content-Length");
    assert_eq!(resp.one("connection"), "close");
    assert_eq!(String::from_utf8(resp.body.clone()).unwrap().trim_end(), err.reason());
    assert!(conn.send(true, b"x").is_err());
    resp
}

#[test]
fn rfc_example_request_gets_101_with_the_rfc_accept_value() {
    let mut conn = serve(ServerOptions::default());
    assert_eq!(conn.state(), State::Connecting);
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Open]);
    assert_eq!(conn.state(), State::Open);
    let out = take_output(&mut conn);
    let resp = parse_response(&out);
    assert_eq!(resp.status, 101);
    assert!(resp.body.is_empty(), "nothing after the 101 head");
    assert_eq!(resp.one("sec-websocket-accept"), RFC_ACCEPT);
    assert_eq!(accept_for(RFC_KEY), RFC_ACCEPT);
    assert!(resp.one("upgrade").eq_ignore_ascii_case("websocket"));
    assert!(resp.one("connection").eq_ignore_ascii_case("upgrade"));
    assert!(resp.all("sec-websocket-protocol").is_empty(), "no subprotocol configured");
    assert!(out.starts_with(b"HTTP/1.1 101 "));
    assert_eq!(conn.subprotocol(), None);
}

#[test]
fn request_is_available_after_the_handshake() {
    let conn = handshaken_server(Config::default(), ServerOptions::default());
    let req = conn.request().expect("request kept");
    assert_eq!(req.method, "GET");
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.headers.get("origin"), Some(&b"http://example.com"[..]));
}

#[test]
fn frames_after_the_request_in_the_same_input_are_processed() {
    let mut conn = serve(ServerOptions::default());
    let mut input = RFC_REQUEST.as_bytes().to_vec();
    input.extend(client_frame(TEXT, true, b"hello"));
    input.extend(client_frame(PING, true, b"p"));
    input.extend(client_frame(BINARY, false, b"ab"));
    input.extend(client_frame(CONT, true, b"c"));
    assert_eq!(feed(&mut conn, &input), [Ev::Open, Ev::text("hello"), Ev::binary(b"abc")]);
    let out = take_output(&mut conn);
    let resp = parse_response(&out);
    assert_eq!(resp.status, 101);
    let frames = decode_frames(&resp.body);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].payload, b"p");
}

#[test]
fn invalid_frame_after_the_request_fails_after_the_101() {
    let mut conn = serve(ServerOptions::default());
    let mut input = RFC_REQUEST.as_bytes().to_vec();
    input.extend(server_frame(TEXT, true, b"unmasked"));
    assert_eq!(feed(&mut conn, &input), [Ev::Open, Ev::Error(Error::UnmaskedFrame)]);
    let resp = parse_response(&take_output(&mut conn));
    assert_eq!(resp.status, 101);
    let frames = decode_frames(&resp.body);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].close_code(), Some(1002));
}

#[test]
fn request_fed_one_byte_at_a_time_is_accepted() {
    let mut conn = serve(ServerOptions::default());
    let mut input = RFC_REQUEST.as_bytes().to_vec();
    input.extend(client_frame(TEXT, true, b"hi"));
    assert_eq!(feed_bytewise(&mut conn, &input), [Ev::Open, Ev::text("hi")]);
    assert_eq!(parse_response(&take_output(&mut conn)).one("sec-websocket-accept"), RFC_ACCEPT);
}

#[test]
fn header_names_and_tokens_are_case_insensitive() {
    let request = RFC_REQUEST
        .replace("Upgrade: websocket", "upgrade: WebSocket")
        .replace("Connection: Upgrade", "CONNECTION: keep-alive, upgrade")
        .replace("Host:", "host:");
    let mut conn = serve(ServerOptions::default());
    assert_eq!(feed(&mut conn, request.as_bytes()), [Ev::Open]);
}

#[test]
fn garbage_gets_400() {
    refused(b"HELLO\r\n\r\n", RequestError::Malformed, 400);
    refused(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", RequestError::Malformed, 400);
}

#[test]
fn missing_host_gets_400() {
    refused(replace("Host: server.example.com\r\n", "").as_bytes(), RequestError::HostMissing, 400);
}

#[test]
fn repeated_host_gets_400() {
    refused(
        replace("Host: server.example.com\r\n", "Host: a\r\nHost: b\r\n").as_bytes(),
        RequestError::HostMissing,
        400,
    );
}

#[test]
fn missing_upgrade_gets_400() {
    refused(replace("Upgrade: websocket\r\n", "").as_bytes(), RequestError::UpgradeMissing, 400);
    refused(replace("Upgrade: websocket", "Upgrade: h2c").as_bytes(), RequestError::UpgradeMissing, 400);
}

#[test]
fn connection_without_upgrade_gets_400() {
    refused(
        replace("Connection: Upgrade", "Connection: keep-alive").as_bytes(),
        RequestError::ConnectionNotUpgrade,
        400,
    );
    refused(replace("Connection: Upgrade\r\n", "").as_bytes(), RequestError::ConnectionNotUpgrade, 400);
}

#[test]
fn bad_key_gets_400() {
    for bad in ["short", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZXg=", "dGhlIHNhbXBsZSBub25jZQ=!", ""] {
        let request = replace(RFC_KEY, bad);
        refused(request.as_bytes(), RequestError::KeyInvalid, 400);
    }
    refused(replace(&format!("Sec-WebSocket-Key: {RFC_KEY}\r\n"), "").as_bytes(), RequestError::KeyInvalid, 400);
}

#[test]
fn repeated_key_gets_400() {
    let request = replace("Origin:", &format!("Sec-WebSocket-Key: {RFC_KEY}\r\nOrigin:"));
    refused(request.as_bytes(), RequestError::KeyInvalid, 400);
}

#[test]
fn target_that_is_not_an_absolute_path_gets_400() {
    refused(replace("GET /chat", "GET *").as_bytes(), RequestError::TargetInvalid, 400);
}

#[test]
fn resource_not_in_the_list_gets_404() {
    let options = ServerOptions { resources: vec!["/echo".into(), "/feed".into()], ..ServerOptions::default() };
    refused_by(serve(options), RFC_REQUEST.as_bytes(), RequestError::NotFound, 404);
}

#[test]
fn resource_in_the_list_is_served_and_the_query_is_ignored() {
    let options = ServerOptions { resources: vec!["/echo".into(), "/chat".into()], ..ServerOptions::default() };
    let mut conn = serve(options.clone());
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Open]);
    let mut conn = serve(options);
    assert_eq!(feed(&mut conn, replace("GET /chat", "GET /chat?room=1").as_bytes()), [Ev::Open]);
    assert_eq!(conn.request().unwrap().query(), Some("room=1"));
}

#[test]
fn post_gets_405_with_allow_get() {
    let resp = refused(replace("GET", "POST").as_bytes(), RequestError::Method, 405);
    assert_eq!(resp.one("allow"), "GET");
}

#[test]
fn version_8_gets_426_with_sec_websocket_version_13() {
    let resp = refused(replace("Version: 13", "Version: 8").as_bytes(), RequestError::Version, 426);
    assert_eq!(resp.one("sec-websocket-version"), "13");
}

#[test]
fn missing_version_gets_426_with_sec_websocket_version_13() {
    let resp = refused(replace("Sec-WebSocket-Version: 13\r\n", "").as_bytes(), RequestError::Version, 426);
    assert_eq!(resp.one("sec-websocket-version"), "13");
}

#[test]
fn too_many_headers_gets_431() {
    let config = Config { limits: Limits { max_handshake_headers: 7, ..Limits::default() }, ..Config::default() };
    let mut conn = Connection::server(config.clone(), ServerOptions::default()).unwrap();
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Open], "7 headers are allowed");
    let conn = Connection::server(config, ServerOptions::default()).unwrap();
    let request = replace("Origin:", "X-Extra: 1\r\nOrigin:");
    refused_by(conn, request.as_bytes(), RequestError::HeadersTooLarge, 431);
}

#[test]
fn many_headers_with_the_default_limit_gets_431() {
    let mut extra = String::new();
    for i in 0..64 {
        extra.push_str(&format!("X-H{i}: v\r\n"));
    }
    let request = replace("Origin:", &format!("{extra}Origin:"));
    refused(request.as_bytes(), RequestError::HeadersTooLarge, 431);
}

#[test]
fn head_longer_than_max_handshake_bytes_gets_431() {
    let n = RFC_REQUEST.len() as u32;
    let at = |max| Config { limits: Limits { max_handshake_bytes: max, ..Limits::default() }, ..Config::default() };
    let mut conn = Connection::server(at(n), ServerOptions::default()).unwrap();
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Open], "a head of exactly the limit is read");
    let conn = Connection::server(at(n - 1), ServerOptions::default()).unwrap();
    refused_by(conn, RFC_REQUEST.as_bytes(), RequestError::HeadersTooLarge, 431);
}

#[test]
fn frames_after_a_head_of_exactly_the_limit_do_not_count_towards_it() {
    let n = RFC_REQUEST.len() as u32;
    let config = Config { limits: Limits { max_handshake_bytes: n, ..Limits::default() }, ..Config::default() };
    let mut conn = Connection::server(config, ServerOptions::default()).unwrap();
    let mut input = RFC_REQUEST.as_bytes().to_vec();
    input.extend(client_frame(BINARY, true, &[0; 1000]));
    assert_eq!(feed(&mut conn, &input), [Ev::Open, Ev::binary(&[0; 1000])]);
}

#[test]
fn long_header_line_gets_431() {
    let request = replace("Origin: http://example.com", &format!("Origin: http://{}.com", "a".repeat(9000)));
    refused(request.as_bytes(), RequestError::HeadersTooLarge, 431);
}

#[test]
fn endless_header_stream_gets_431_at_the_limit() {
    let mut conn = serve(ServerOptions::default());
    let max = conn.config().limits.max_handshake_bytes as usize;
    let line = b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let mut fed = 0;
    let mut events = feed(&mut conn, b"GET / HTTP/1.1\r\nHost: a\r\n");
    fed += 25;
    while events.is_empty() {
        assert!(fed <= max + line.len(), "still reading after {fed} bytes");
        events = feed(&mut conn, line);
        fed += line.len();
    }
    assert!(fed > max);
    assert_eq!(events, [Ev::Error(Error::Request(RequestError::HeadersTooLarge))]);
    let resp = parse_response(&take_output(&mut conn));
    assert_eq!(resp.status, 431);
    // The stream goes on: nothing more is read or written.
    assert!(feed(&mut conn, line).is_empty());
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn endless_stream_in_one_input_gets_431() {
    let mut input = b"GET / HTTP/1.1\r\n".to_vec();
    while input.len() < 100_000 {
        input.extend_from_slice(b"X-Filler: 0123456789\r\n");
    }
    refused(&input, RequestError::HeadersTooLarge, 431);
}

#[test]
fn http_1_0_gets_505() {
    refused(replace("HTTP/1.1", "HTTP/1.0").as_bytes(), RequestError::HttpVersion, 505);
}

#[test]
fn refusal_consumes_the_request_and_ignores_what_follows() {
    let mut conn = serve(ServerOptions::default());
    let mut input = replace("GET", "POST").into_bytes();
    input.extend(client_frame(TEXT, true, b"ignored"));
    let (events, taken) = feed_counting(&mut conn, &input);
    assert_eq!(events, [Ev::Error(Error::Request(RequestError::Method))]);
    assert_eq!(taken, input.len());
    let resp = parse_response(&take_output(&mut conn));
    assert_eq!(resp.status, 405);
    assert!(resp.body.ends_with(b"\n") && !resp.body.windows(7).any(|w| w == b"ignored"));
}

#[test]
fn subprotocol_is_chosen_by_server_preference() {
    let options = ServerOptions { protocols: vec!["superchat".into(), "chat".into()], ..ServerOptions::default() };
    let mut conn = serve(options);
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Open]);
    assert_eq!(conn.subprotocol(), Some("superchat"));
    let resp = parse_response(&take_output(&mut conn));
    assert_eq!(resp.one("sec-websocket-protocol"), "superchat");
}

#[test]
fn subprotocol_offered_in_several_headers_is_found() {
    let request = replace(
        "Sec-WebSocket-Protocol: chat, superchat",
        "Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b, chat",
    );
    let options = ServerOptions { protocols: vec!["chat".into()], ..ServerOptions::default() };
    let mut conn = serve(options);
    assert_eq!(feed(&mut conn, request.as_bytes()), [Ev::Open]);
    assert_eq!(parse_response(&take_output(&mut conn)).one("sec-websocket-protocol"), "chat");
}

#[test]
fn no_common_subprotocol_opens_without_one() {
    let options = ServerOptions { protocols: vec!["mqtt".into()], ..ServerOptions::default() };
    let mut conn = serve(options);
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Open]);
    assert_eq!(conn.subprotocol(), None);
    assert!(parse_response(&take_output(&mut conn)).all("sec-websocket-protocol").is_empty());
}

#[test]
fn malformed_subprotocol_list_gets_400() {
    refused(replace("chat, superchat", "chat, sup erchat").as_bytes(), RequestError::Malformed, 400);
}

#[test]
fn extra_headers_are_sent_with_the_101() {
    let options = ServerOptions { headers: vec![("X-Server".into(), "ews".into())], ..ServerOptions::default() };
    let mut conn = serve(options);
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Open]);
    assert_eq!(parse_response(&take_output(&mut conn)).one("x-server"), "ews");
}

#[test]
fn server_options_that_would_break_the_response_are_refused() {
    let bad_header = ServerOptions { headers: vec![("X".into(), "a\r\nEvil: 1".into())], ..ServerOptions::default() };
    assert!(matches!(Connection::server(Config::default(), bad_header), Err(Error::Invalid(_))));
    let bad_protocol = ServerOptions { protocols: vec!["a b".into()], ..ServerOptions::default() };
    assert!(matches!(Connection::server(Config::default(), bad_protocol), Err(Error::Invalid(_))));
}

#[test]
fn deferred_accept_stops_at_the_request_and_opens_on_accept() {
    let options = ServerOptions { defer: true, ..ServerOptions::default() };
    let mut conn = serve(options);
    let mut input = RFC_REQUEST.as_bytes().to_vec();
    input.extend(client_frame(TEXT, true, b"early"));
    let (events, taken) = feed_counting(&mut conn, &input);
    assert_eq!(events, [Ev::Request]);
    assert_eq!(taken, RFC_REQUEST.len(), "the frame after the request waits");
    assert_eq!(conn.state(), State::Requested);
    assert!(take_output(&mut conn).is_empty(), "nothing is answered before the host decides");
    assert_eq!(conn.request().unwrap().path(), "/chat");
    assert_eq!(conn.offered_protocols(), ["chat", "superchat"]);
    assert!(conn.send(true, b"x").is_err());

    conn.accept(Some("chat"), &[("X-Session".into(), "42".into())]).unwrap();
    assert_eq!(conn.state(), State::Open);
    assert_eq!(conn.subprotocol(), Some("chat"));
    let resp = parse_response(&take_output(&mut conn));
    assert_eq!(resp.status, 101);
    assert_eq!(resp.one("sec-websocket-accept"), RFC_ACCEPT);
    assert_eq!(resp.one("sec-websocket-protocol"), "chat");
    assert_eq!(resp.one("x-session"), "42");
    assert_eq!(feed(&mut conn, &input[taken..]), [Ev::text("early")]);
}

#[test]
fn deferred_accept_without_a_subprotocol() {
    let mut conn = serve(ServerOptions { defer: true, ..ServerOptions::default() });
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Request]);
    conn.accept(None, &[]).unwrap();
    let resp = parse_response(&take_output(&mut conn));
    assert_eq!(resp.status, 101);
    assert!(resp.all("sec-websocket-protocol").is_empty());
    assert_eq!(conn.subprotocol(), None);
}

#[test]
fn deferred_accept_refuses_a_subprotocol_the_client_did_not_offer() {
    let mut conn = serve(ServerOptions { defer: true, ..ServerOptions::default() });
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Request]);
    assert!(matches!(conn.accept(Some("mqtt"), &[]), Err(Error::Invalid(_))));
    assert!(matches!(conn.accept(None, &[("Bad Name".into(), "v".into())]), Err(Error::Invalid(_))));
    assert_eq!(conn.state(), State::Requested);
    assert!(take_output(&mut conn).is_empty());
    conn.accept(Some("superchat"), &[]).unwrap();
    assert_eq!(parse_response(&take_output(&mut conn)).one("sec-websocket-protocol"), "superchat");
}

#[test]
fn deferred_reject_403_sends_a_complete_response_and_fails() {
    let mut conn = serve(ServerOptions { defer: true, ..ServerOptions::default() });
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Request]);
    conn.reject(403).unwrap();
    assert_eq!(conn.state(), State::Failed);
    assert_eq!(conn.error(), Some(Error::Request(RequestError::Refused(403))));
    assert!(conn.wants_close());
    let resp = parse_response(&take_output(&mut conn));
    assert_eq!(resp.status, 403);
    assert!(!resp.all("content-length").is_empty());
    assert!(feed(&mut conn, &client_frame(TEXT, true, b"x")).is_empty());
    assert!(conn.accept(None, &[]).is_err());
}

#[test]
fn deferred_reject_refuses_a_status_outside_400_to_599() {
    let mut conn = serve(ServerOptions { defer: true, ..ServerOptions::default() });
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Request]);
    for status in [101, 200, 302, 399, 600] {
        assert!(matches!(conn.reject(status), Err(Error::Invalid(_))), "status {status}");
    }
    assert_eq!(conn.state(), State::Requested);
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn accept_and_reject_without_a_waiting_request_are_refused() {
    let mut conn = serve(ServerOptions::default());
    assert!(matches!(conn.accept(None, &[]), Err(Error::State(_))));
    assert!(matches!(conn.reject(403), Err(Error::State(_))));
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Open]);
    assert!(matches!(conn.accept(None, &[]), Err(Error::State(_))));
    assert!(matches!(conn.reject(403), Err(Error::State(_))));
}

#[test]
fn invalid_request_is_refused_even_with_deferred_accept() {
    let conn = serve(ServerOptions { defer: true, ..ServerOptions::default() });
    refused_by(conn, replace("GET", "PUT").as_bytes(), RequestError::Method, 405);
}

#[test]
fn eof_during_the_handshake_fails_with_dropped() {
    let mut conn = serve(ServerOptions::default());
    assert!(feed(&mut conn, &RFC_REQUEST.as_bytes()[..30]).is_empty());
    assert_eq!(conn.on_eof().map(Ev::from), Some(Ev::Error(Error::Dropped)));
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn sending_before_the_handshake_completes_is_refused() {
    let mut conn = serve(ServerOptions::default());
    assert!(matches!(conn.send(true, b"early"), Err(Error::State(_))));
    assert!(matches!(conn.ping(b""), Err(Error::State(_))));
    assert!(matches!(conn.close(1000, ""), Err(Error::State(_))));
    assert!(take_output(&mut conn).is_empty());
}

// ----- a request body could smuggle a request past a proxy -----

/// The RFC's request with `fields` before its `Origin` field, followed by
/// `body` in the same input.
fn with_body(fields: &str, body: &[u8]) -> Vec<u8> {
    let mut r = replace("Origin:", &format!("{fields}Origin:")).into_bytes();
    r.extend_from_slice(body);
    r
}

/// A masked text frame, as a smuggled body would carry to look like one.
const FRAME: &[u8] = &[0x81, 0x82, 0, 0, 0, 0, b'h', b'i'];

#[test]
fn upgrade_request_with_a_content_length_body_gets_400_and_the_body_is_not_read_as_frames() {
    refused(&with_body("Content-Length: 8\r\n", FRAME), RequestError::Body, 400);
}

#[test]
fn upgrade_request_with_transfer_encoding_gets_400() {
    refused(&with_body("Transfer-Encoding: chunked\r\n", b"8\r\n"), RequestError::Body, 400);
}

#[test]
fn upgrade_request_with_repeated_content_length_gets_400() {
    refused(&with_body("Content-Length: 0\r\nContent-Length: 0\r\n", b""), RequestError::Body, 400);
}

#[test]
fn upgrade_request_with_content_length_and_transfer_encoding_gets_400() {
    refused(&with_body("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", b""), RequestError::Body, 400);
}

#[test]
fn upgrade_request_with_obsolete_line_folding_gets_400() {
    refused(&with_body("X-Folded: a\r\n b\r\n", b""), RequestError::Malformed, 400);
}

#[test]
fn upgrade_request_with_content_length_0_opens_and_reads_what_follows_as_frames() {
    let mut conn = serve(ServerOptions::default());
    let events = feed(&mut conn, &with_body("Content-Length: 0\r\n", FRAME));
    assert_eq!(events[0], Ev::Open);
    assert_eq!(events[1..], [Ev::Message { text: true, data: b"hi".to_vec() }]);
}
