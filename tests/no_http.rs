//! Connections without the HTTP handshake (`Connection::open`), for hosts
//! that did the opening handshake themselves: open at once, frames both
//! ways, and a whole closing handshake between two of them.

mod common;

use common::*;
use ews::proto::{Config, Connection, Opcode, Role, State};

#[test]
fn open_connection_is_open_at_once_and_writes_nothing() {
    for role in [Role::Server, Role::Client] {
        let mut conn = Connection::open(role, Config::default()).unwrap();
        assert_eq!(conn.state(), State::Open);
        assert_eq!(conn.role(), role);
        assert!(conn.sender().is_open());
        assert!(conn.request().is_none());
        assert_eq!(conn.subprotocol(), None);
        assert!(take_output(&mut conn).is_empty());
        assert!(!conn.wants_close());
    }
}

#[test]
fn open_connection_reads_frames_from_the_first_byte() {
    for role in [Role::Server, Role::Client] {
        let mut conn = Connection::open(role, Config::default()).unwrap();
        assert_eq!(feed(&mut conn, &peer_frame(role, TEXT, true, b"first")), [Ev::text("first")]);
    }
}

#[test]
fn open_connection_does_not_accept_an_http_request() {
    let mut conn = server();
    let events = feed(&mut conn, RFC_REQUEST.as_bytes());
    // "G" is 0x47: RSV bits set, a protocol error.
    assert_failed_with(&mut conn, &events, ews::Error::ReservedBits, 1002);
}

#[test]
fn open_client_and_server_exchange_messages() {
    let mut c = client();
    let mut s = server();
    c.send(true, b"ping?").unwrap();
    assert_eq!(feed(&mut s, &take_output(&mut c)), [Ev::text("ping?")]);
    s.send(false, b"pong!").unwrap();
    assert_eq!(feed(&mut c, &take_output(&mut s)), [Ev::binary(b"pong!")]);
}

#[test]
fn client_initiated_closing_handshake_completes_on_both_ends() {
    let mut c = client();
    let mut s = server();
    c.close(1000, "done").unwrap();
    assert_eq!(c.state(), State::Closing);
    assert_eq!(feed(&mut s, &take_output(&mut c)), [Ev::close(1000, "done")]);
    assert_eq!(s.state(), State::Closed);
    assert!(s.wants_close(), "the server closes the TCP connection");
    let reply = take_output(&mut s);
    assert_eq!(decode_frames(&reply)[0].close_code(), Some(1000));
    assert_eq!(feed(&mut c, &reply), [Ev::close(1000, "")]);
    assert_eq!(c.state(), State::Closed);
    assert!(take_output(&mut c).is_empty());
    assert!(!c.wants_close());
    assert_eq!(c.on_eof(), None);
    assert!(c.wants_close());
}

#[test]
fn server_initiated_closing_handshake_completes_on_both_ends() {
    let mut c = client();
    let mut s = server();
    s.close(4001, "restart").unwrap();
    assert_eq!(feed(&mut c, &take_output(&mut s)), [Ev::close(4001, "restart")]);
    let reply = take_output(&mut c);
    let frames = decode_frames(&reply);
    assert!(frames[0].mask.is_some());
    assert_eq!(frames[0].opcode, Opcode::Close);
    assert_eq!(feed(&mut s, &reply), [Ev::close(4001, "")]);
    assert_eq!(s.state(), State::Closed);
    assert!(s.wants_close());
    assert_eq!(c.state(), State::Closed);
}

#[test]
fn open_connection_answers_pings() {
    let mut c = client();
    let mut s = server();
    s.ping(b"hb").unwrap();
    assert!(feed(&mut c, &take_output(&mut s)).is_empty());
    let pong = take_output(&mut c);
    let config = Config { control_events: true, ..Config::default() };
    let mut s2 = server_with(config);
    assert_eq!(feed(&mut s2, &pong), [Ev::Pong(b"hb".to_vec())]);
}

#[test]
fn split_connection_halves_work_together() {
    let (mut session, mut tx) = Connection::open(Role::Server, control_events()).unwrap().into_parts();
    let mut input = client_frame(PING, true, b"x");
    let progress = session.feed(&mut input, &mut tx);
    assert!(matches!(progress.event, Some(ews::proto::Event::Ping(b"x"))));
    assert_eq!(tx.pending_output(), b"\x8a\x01x");
    tx.close(1000, "").unwrap();
    session.sync(&tx);
    assert_eq!(session.state(), State::Closing);
}
