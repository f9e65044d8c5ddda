//! The client side of the opening handshake (RFC 6455 §4.1): the request it
//! writes, each check of the server's response with its `HandshakeError`
//! and reason string, and frames that follow the `101`.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use ews::Error;
use ews::error::HandshakeError;
use ews::proto::handshake::client::ClientOptions;
use ews::proto::{Config, Connection, Limits, State};

fn options_with_protocols() -> ClientOptions {
    ClientOptions { protocols: vec!["chat".into(), "superchat".into()], ..client_options() }
}

/// Feeds `response` (with `{accept}` replaced by the right accept value) to
/// a fresh client that offered chat and superchat and returns its events.
fn respond(response: &str) -> (Connection, Vec<Ev>) {
    let (mut conn, key) = connecting_client(Config::default(), &options_with_protocols());
    let response = response.replace("{accept}", &accept_for(&key));
    let events = feed(&mut conn, response.as_bytes());
    (conn, events)
}

/// Checks that `response` fails the handshake with `err` and `reason`.
fn fails(response: &str, err: HandshakeError, reason: &str) {
    let (mut conn, events) = respond(response);
    assert_eq!(events, [Ev::Error(Error::Handshake(err))], "response {response:?}");
    assert_eq!(err.reason(), reason);
    assert_eq!(Error::Handshake(err).detail(), reason);
    assert_eq!(conn.state(), State::Failed);
    assert_eq!(conn.error(), Some(Error::Handshake(err)));
    assert!(conn.wants_close());
    assert!(take_output(&mut conn).is_empty(), "a failed handshake writes nothing");
    assert!(conn.send(true, b"x").is_err());
}

const GOOD: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Accept: {accept}\r\n\r\n";

fn good_with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from:?}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn request_has_every_required_field() {
    let options = ClientOptions {
        resource: "/chat?room=1".into(),
        host: "example.com:8080".into(),
        origin: Some("http://example.com".into()),
        protocols: vec!["chat".into(), "superchat".into()],
        headers: vec![("Authorization".into(), "Bearer token".into()), ("X-Trace".into(), "7".into())],
    };
    let mut conn = Connection::client(Config::default(), &options).unwrap();
    assert_eq!(conn.state(), State::Connecting);
    let out = take_output(&mut conn);
    let req = parse_request(&out);
    assert!(req.body.is_empty(), "nothing after the head");
    assert_eq!(req.method, "GET");
    assert_eq!(req.target, "/chat?room=1");
    assert_eq!(req.one("host"), "example.com:8080");
    assert!(req.one("upgrade").eq_ignore_ascii_case("websocket"));
    assert!(req.one("connection").to_ascii_lowercase().contains("upgrade"));
    assert_eq!(req.one("sec-websocket-version"), "13");
    assert_eq!(req.one("origin"), "http://example.com");
    assert_eq!(req.one("sec-websocket-protocol"), "chat, superchat");
    assert_eq!(req.one("authorization"), "Bearer token");
    assert_eq!(req.one("x-trace"), "7");
    assert!(out.starts_with(b"GET /chat?room=1 HTTP/1.1\r\n"));
}

#[test]
fn request_without_protocols_or_origin_has_neither_header() {
    let mut conn = Connection::client(Config::default(), &client_options()).unwrap();
    let req = parse_request(&take_output(&mut conn));
    assert!(req.all("sec-websocket-protocol").is_empty());
    assert!(req.all("origin").is_empty());
}

#[test]
fn key_is_24_base64_characters_of_16_bytes() {
    let (_, key) = connecting_client(Config::default(), &client_options());
    assert_eq!(key.len(), 24);
    let decoded = STANDARD.decode(&key).expect("base64");
    assert_eq!(decoded.len(), 16);
}

#[test]
fn key_differs_between_connections() {
    let keys: std::collections::HashSet<String> =
        (0..8).map(|_| connecting_client(Config::default(), &client_options()).1).collect();
    assert_eq!(keys.len(), 8);
}

#[test]
fn options_that_would_break_the_request_are_refused() {
    let base = client_options();
    let bad = [
        ClientOptions { resource: "chat".into(), ..base.clone() },
        ClientOptions { resource: "/a b".into(), ..base.clone() },
        ClientOptions { host: "".into(), ..base.clone() },
        ClientOptions { host: "h\r\nX: y".into(), ..base.clone() },
        ClientOptions { origin: Some("o\r\nX: y".into()), ..base.clone() },
        ClientOptions { protocols: vec!["a b".into()], ..base.clone() },
        ClientOptions { headers: vec![("X".into(), "1\n2".into())], ..base.clone() },
        ClientOptions { headers: vec![("Bad Name".into(), "v".into())], ..base },
    ];
    for options in bad {
        assert!(matches!(Connection::client(Config::default(), &options), Err(Error::Invalid(_))), "{options:?}");
    }
}

#[test]
fn valid_101_opens_the_connection() {
    let (mut conn, events) = respond(GOOD);
    assert_eq!(events, [Ev::Open]);
    assert_eq!(conn.state(), State::Open);
    assert_eq!(conn.subprotocol(), None);
    assert!(take_output(&mut conn).is_empty());
    conn.send(true, b"now").unwrap();
    assert!(output_frames(&mut conn)[0].mask.is_some());
}

#[test]
fn response_fed_one_byte_at_a_time_opens_the_connection() {
    let (mut conn, key) = connecting_client(Config::default(), &client_options());
    let response = switching_response(&key, "");
    assert_eq!(feed_bytewise(&mut conn, response.as_bytes()), [Ev::Open]);
}

#[test]
fn bytes_after_the_101_in_the_same_input_are_processed_as_frames() {
    let (mut conn, key) = connecting_client(Config { control_events: true, ..Config::default() }, &client_options());
    let mut input = switching_response(&key, "").into_bytes();
    input.extend(server_frame(TEXT, true, b"welcome"));
    input.extend(server_frame(PING, true, b"p"));
    input.extend(server_frame(BINARY, false, b"a"));
    input.extend(server_frame(CONT, true, b"b"));
    assert_eq!(feed(&mut conn, &input), [Ev::Open, Ev::text("welcome"), Ev::Ping(b"p".to_vec()), Ev::binary(b"ab")]);
    let frames = output_frames(&mut conn);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].payload, b"p");
}

#[test]
fn masked_frame_after_the_101_fails_with_1002() {
    let (mut conn, key) = connecting_client(Config::default(), &client_options());
    let mut input = switching_response(&key, "").into_bytes();
    input.extend(client_frame(TEXT, true, b"masked"));
    let events = feed(&mut conn, &input);
    assert_eq!(events[0], Ev::Open);
    assert_failed_with(&mut conn, &events, Error::MaskedFrame, 1002);
}

#[test]
fn status_other_than_101_fails_with_not_101() {
    let response = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    fails(response, HandshakeError::NotSwitching(200), "HS: ws upgrade response not 101");
    let response = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    fails(response, HandshakeError::NotSwitching(403), "HS: ws upgrade response not 101");
}

#[test]
fn missing_upgrade_fails_with_upgrade_missing() {
    fails(&good_with("Upgrade: websocket\r\n", ""), HandshakeError::UpgradeMissing, "HS: UPGRADE missing");
}

#[test]
fn upgrade_to_something_else_fails() {
    fails(
        &good_with("Upgrade: websocket", "Upgrade: h2c"),
        HandshakeError::UpgradeNotWebsocket,
        "HS: Upgrade to something other than websocket",
    );
}

#[test]
fn upgrade_value_is_case_insensitive() {
    let (_, events) = respond(&good_with("Upgrade: websocket", "upgrade: WebSocket"));
    assert_eq!(events, [Ev::Open]);
}

#[test]
fn missing_connection_fails_with_connection_missing() {
    fails(&good_with("Connection: Upgrade\r\n", ""), HandshakeError::ConnectionMissing, "HS: CONNECTION missing");
}

#[test]
fn connection_without_upgrade_fails() {
    fails(
        &good_with("Connection: Upgrade", "Connection: close"),
        HandshakeError::ConnectionNotUpgrade,
        "HS: CONNECTION malformed",
    );
}

#[test]
fn connection_keep_alive_upgrade_is_accepted() {
    let (_, events) = respond(&good_with("Connection: Upgrade", "Connection: keep-alive, Upgrade"));
    assert_eq!(events, [Ev::Open]);
}

#[test]
fn wrong_accept_fails_with_accept_hash_wrong() {
    fails(&GOOD.replace("{accept}", RFC_ACCEPT), HandshakeError::AcceptWrong, "HS: Accept hash wrong");
}

#[test]
fn repeated_accept_fails_with_accept_hash_wrong() {
    fails(
        &good_with("\r\n\r\n", "\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"),
        HandshakeError::AcceptWrong,
        "HS: Accept hash wrong",
    );
}

#[test]
fn missing_accept_fails_with_accept_missing() {
    fails(&good_with("Sec-WebSocket-Accept: {accept}\r\n", ""), HandshakeError::AcceptMissing, "HS: ACCEPT missing");
}

#[test]
fn offered_subprotocol_is_agreed() {
    let (conn, events) = respond(&good_with("\r\n\r\n", "\r\nSec-WebSocket-Protocol: superchat\r\n\r\n"));
    assert_eq!(events, [Ev::Open]);
    assert_eq!(conn.subprotocol(), Some("superchat"));
}

#[test]
fn subprotocol_not_offered_fails_with_cannot_match_protocol() {
    fails(
        &good_with("\r\n\r\n", "\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"),
        HandshakeError::ProtocolNotOffered,
        "HS: Cannot match protocol",
    );
}

#[test]
fn subprotocol_when_none_was_offered_fails_with_cannot_match_protocol() {
    let (mut conn, key) = connecting_client(Config::default(), &client_options());
    let response = switching_response(&key, "Sec-WebSocket-Protocol: chat\r\n");
    let events = feed(&mut conn, response.as_bytes());
    assert_eq!(events, [Ev::Error(Error::Handshake(HandshakeError::ProtocolNotOffered))]);
}

#[test]
fn list_of_subprotocols_in_the_response_fails_as_malformed() {
    fails(
        &good_with("\r\n\r\n", "\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n"),
        HandshakeError::ProtocolMalformed,
        "HS: PROTOCOL malformed",
    );
}

#[test]
fn extension_not_offered_fails_with_unknown_ext() {
    fails(
        &good_with("\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"),
        HandshakeError::ExtensionNotOffered,
        "HS: EXT: unknown ext",
    );
}

#[test]
fn garbage_response_fails_as_malformed() {
    fails("SSH-2.0-OpenSSH_9.6\r\n\r\n", HandshakeError::ResponseMalformed, "HS: response malformed");
    fails(&good_with("HTTP/1.1", "HTTP/1.0"), HandshakeError::ResponseMalformed, "HS: response malformed");
}

#[test]
fn response_longer_than_max_handshake_bytes_fails() {
    let config = Config { limits: Limits { max_handshake_bytes: 200, ..Limits::default() }, ..Config::default() };
    let (mut conn, key) = connecting_client(config, &client_options());
    let padding = format!("X-Padding: {}\r\n", "p".repeat(200));
    let events = feed(&mut conn, switching_response(&key, &padding).as_bytes());
    assert_eq!(events, [Ev::Error(Error::Handshake(HandshakeError::ResponseTooLarge))]);
    assert_eq!(HandshakeError::ResponseTooLarge.reason(), "HS: response headers too large");
}

#[test]
fn response_of_exactly_max_handshake_bytes_is_accepted_and_one_more_byte_refused() {
    let (_, key) = connecting_client(Config::default(), &client_options());
    let len = switching_response(&key, "").len() as u32;
    for (max, opens) in [(len, true), (len - 1, false)] {
        let config = Config { limits: Limits { max_handshake_bytes: max, ..Limits::default() }, ..Config::default() };
        let (mut conn, key) = connecting_client(config, &client_options());
        let response = switching_response(&key, "");
        assert_eq!(response.len() as u32, len);
        let expected = if opens { Ev::Open } else { Ev::Error(Error::Handshake(HandshakeError::ResponseTooLarge)) };
        assert_eq!(feed(&mut conn, response.as_bytes()), [expected], "limit {max}");
    }
}

#[test]
fn response_with_too_many_headers_fails() {
    // The 101 has three header fields; one more is over a limit of three.
    let config = Config { limits: Limits { max_handshake_headers: 3, ..Limits::default() }, ..Config::default() };
    let (mut conn, key) = connecting_client(config.clone(), &client_options());
    assert_eq!(feed(&mut conn, switching_response(&key, "").as_bytes()), [Ev::Open]);
    let (mut conn, key) = connecting_client(config, &client_options());
    let events = feed(&mut conn, switching_response(&key, "X-A: 1\r\n").as_bytes());
    assert_eq!(events, [Ev::Error(Error::Handshake(HandshakeError::ResponseTooLarge))]);
}

#[test]
fn eof_before_the_response_fails_with_peer_hung_up() {
    let (mut conn, _) = connecting_client(Config::default(), &client_options());
    assert!(feed(&mut conn, b"HTTP/1.1 101 Swi").is_empty());
    let event = conn.on_eof().map(Ev::from);
    assert_eq!(event, Some(Ev::Error(Error::Handshake(HandshakeError::PeerHungUp))));
    assert_eq!(HandshakeError::PeerHungUp.reason(), "Peer hung up");
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn sending_before_the_101_is_refused() {
    let (mut conn, _) = connecting_client(Config::default(), &client_options());
    assert!(matches!(conn.send(false, b"early"), Err(Error::State(_))));
    assert!(matches!(conn.close(1000, ""), Err(Error::State(_))));
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn client_and_server_complete_the_handshake_with_each_other() {
    let options = options_with_protocols();
    let mut client = Connection::client(Config::default(), &options).unwrap();
    let server_options = ews::proto::ServerOptions { protocols: vec!["superchat".into()], ..Default::default() };
    let mut server = Connection::server(Config::default(), server_options).unwrap();
    let request = take_output(&mut client);
    assert_eq!(feed(&mut server, &request), [Ev::Open]);
    server.send(true, b"hello client").unwrap();
    let response = take_output(&mut server);
    assert_eq!(feed(&mut client, &response), [Ev::Open, Ev::text("hello client")]);
    assert_eq!(client.subprotocol(), Some("superchat"));
    client.send(true, b"hello server").unwrap();
    assert_eq!(feed(&mut server, &take_output(&mut client)), [Ev::text("hello server")]);
}
