//! Timers on the host's clock: the handshake timeout, the close timeout, and
//! keepalive pings with their pong timeout. `next_deadline` says when to
//! call `on_time`; `Some(0)` asks for a reading to start a timer.

mod common;

use common::*;
use ews::Error;
use ews::proto::{Config, Connection, Limits, Opcode, ServerOptions, State};

/// An arbitrary start on the host's clock, far from 0.
const T0: u64 = 1_000_000;

fn keepalive(interval: u32, timeout: u32) -> Config {
    Config { keepalive_interval_ms: interval, keepalive_timeout_ms: timeout, ..Config::default() }
}

#[test]
fn next_deadline_is_some_0_for_a_timer_that_has_not_started() {
    let conn = Connection::server(Config::default(), ServerOptions::default()).unwrap();
    assert_eq!(conn.next_deadline(), Some(0));
    let (conn, _) = connecting_client(Config::default(), &client_options());
    assert_eq!(conn.next_deadline(), Some(0));
    let conn = server_with(keepalive(1000, 0));
    assert_eq!(conn.next_deadline(), Some(0));
    let mut conn = server();
    conn.close(1000, "").unwrap();
    assert_eq!(conn.next_deadline(), Some(0));
}

#[test]
fn next_deadline_is_none_when_no_timer_runs() {
    assert_eq!(server().next_deadline(), None);
    assert_eq!(client().next_deadline(), None);
    let no_timeout = Config { limits: Limits { handshake_timeout_ms: 0, ..Limits::default() }, ..Config::default() };
    let conn = Connection::server(no_timeout, ServerOptions::default()).unwrap();
    assert_eq!(conn.next_deadline(), None);
}

#[test]
fn first_clock_reading_starts_the_timer_at_that_time() {
    let mut conn = Connection::server(Config::default(), ServerOptions::default()).unwrap();
    assert_eq!(conn.on_time(T0), None);
    assert_eq!(conn.next_deadline(), Some(T0 + 10_000));
    assert_eq!(conn.on_time(T0 + 5000), None);
    assert_eq!(conn.next_deadline(), Some(T0 + 10_000), "a later reading does not move it");
}

#[test]
fn server_handshake_times_out() {
    let mut conn = Connection::server(Config::default(), ServerOptions::default()).unwrap();
    assert_eq!(conn.on_time(T0), None);
    // Part of a request arrives; the handshake is still incomplete.
    assert!(feed(&mut conn, &RFC_REQUEST.as_bytes()[..40]).is_empty());
    assert_eq!(conn.on_time(T0 + 9_999), None);
    assert_eq!(conn.on_time(T0 + 10_000).map(Ev::from), Some(Ev::Error(Error::HandshakeTimeout)));
    assert_eq!(conn.state(), State::Failed);
    assert_eq!(conn.error(), Some(Error::HandshakeTimeout));
    assert!(conn.wants_close());
    assert!(take_output(&mut conn).is_empty());
    assert_eq!(conn.next_deadline(), None);
    assert!(feed(&mut conn, &RFC_REQUEST.as_bytes()[40..]).is_empty());
}

#[test]
fn client_handshake_times_out() {
    let config = Config { limits: Limits { handshake_timeout_ms: 300, ..Limits::default() }, ..Config::default() };
    let (mut conn, _) = connecting_client(config, &client_options());
    assert_eq!(conn.on_time(T0), None);
    assert_eq!(conn.next_deadline(), Some(T0 + 300));
    assert_eq!(conn.on_time(T0 + 300).map(Ev::from), Some(Ev::Error(Error::HandshakeTimeout)));
    assert_eq!(conn.state(), State::Failed);
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn deferred_request_not_answered_in_time_times_out() {
    let options = ServerOptions { defer: true, ..ServerOptions::default() };
    let mut conn = Connection::server(Config::default(), options).unwrap();
    assert_eq!(conn.on_time(T0), None);
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Request]);
    assert_eq!(conn.on_time(T0 + 10_000).map(Ev::from), Some(Ev::Error(Error::HandshakeTimeout)));
    assert!(conn.accept(None, &[]).is_err());
}

#[test]
fn completed_handshake_stops_the_handshake_timer() {
    let mut conn = Connection::server(Config::default(), ServerOptions::default()).unwrap();
    assert_eq!(conn.on_time(T0), None);
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Open]);
    assert_eq!(conn.next_deadline(), None);
    assert_eq!(conn.on_time(T0 + 100_000), None);
    assert_eq!(conn.state(), State::Open);
}

#[test]
fn close_times_out_when_the_peer_does_not_answer() {
    let mut conn = server();
    conn.close(1000, "bye").unwrap();
    assert_eq!(output_frames(&mut conn).len(), 1);
    assert_eq!(conn.next_deadline(), Some(0));
    assert_eq!(conn.on_time(T0), None);
    assert_eq!(conn.next_deadline(), Some(T0 + 5000));
    assert_eq!(conn.on_time(T0 + 4999), None);
    assert_eq!(conn.on_time(T0 + 5000).map(Ev::from), Some(Ev::Error(Error::CloseTimeout)));
    assert_eq!(conn.state(), State::Failed);
    assert!(conn.wants_close());
    assert!(take_output(&mut conn).is_empty(), "no second close frame");
}

#[test]
fn close_reply_stops_the_close_timer() {
    let mut conn = server();
    conn.close(1000, "").unwrap();
    assert_eq!(conn.on_time(T0), None);
    assert_eq!(feed(&mut conn, &client_frame(CLOSE, true, &close_payload(1000, b""))), [Ev::close(1000, "")]);
    assert_eq!(conn.next_deadline(), None);
    assert_eq!(conn.on_time(T0 + 5000), None);
    assert_eq!(conn.state(), State::Closed);
}

#[test]
fn close_timeout_of_0_waits_forever() {
    let config = Config { limits: Limits { close_timeout_ms: 0, ..Limits::default() }, ..Config::default() };
    let mut conn = server_with(config);
    conn.close(1000, "").unwrap();
    assert_eq!(conn.next_deadline(), None);
    assert_eq!(conn.on_time(u64::MAX / 2), None);
    assert_eq!(conn.state(), State::Closing);
}

#[test]
fn keepalive_ping_is_sent_after_the_interval() {
    let mut conn = server_with(keepalive(1000, 300));
    assert_eq!(conn.on_time(T0), None);
    assert_eq!(conn.next_deadline(), Some(T0 + 1000));
    assert_eq!(conn.on_time(T0 + 999), None);
    assert!(take_output(&mut conn).is_empty());
    assert_eq!(conn.on_time(T0 + 1000), None);
    assert_eq!(take_output(&mut conn), [0x89, 0x00], "an empty ping");
    assert_eq!(conn.next_deadline(), Some(T0 + 1300));
}

#[test]
fn missing_pong_fails_with_pong_timeout() {
    let mut conn = server_with(keepalive(1000, 300));
    assert_eq!(conn.on_time(T0), None);
    assert_eq!(conn.on_time(T0 + 1000), None);
    let _ = take_output(&mut conn);
    assert_eq!(conn.on_time(T0 + 1299), None);
    assert_eq!(conn.on_time(T0 + 1300).map(Ev::from), Some(Ev::Error(Error::PongTimeout)));
    assert_eq!(conn.state(), State::Failed);
    assert_eq!(conn.error(), Some(Error::PongTimeout));
    assert!(conn.wants_close());
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn keepalive_timeout_of_0_uses_the_interval() {
    let mut conn = server_with(keepalive(1000, 0));
    assert_eq!(conn.on_time(T0), None);
    assert_eq!(conn.on_time(T0 + 1000), None);
    assert_eq!(output_frames(&mut conn)[0].opcode, Opcode::Ping);
    assert_eq!(conn.next_deadline(), Some(T0 + 2000));
    assert_eq!(conn.on_time(T0 + 1999), None);
    assert_eq!(conn.on_time(T0 + 2000).map(Ev::from), Some(Ev::Error(Error::PongTimeout)));
}

#[test]
fn pong_answering_the_keepalive_ping_keeps_the_connection() {
    let mut conn = server_with(keepalive(1000, 300));
    assert_eq!(conn.on_time(T0), None);
    assert_eq!(conn.on_time(T0 + 1000), None);
    let ping = output_frames(&mut conn);
    assert_eq!(ping.len(), 1);
    assert!(feed(&mut conn, &client_frame(PONG, true, &ping[0].payload)).is_empty());
    assert_eq!(conn.on_time(T0 + 1100), None);
    assert_eq!(conn.on_time(T0 + 1300), None);
    assert_eq!(conn.on_time(T0 + 1400), None);
    assert_eq!(conn.state(), State::Open);
    assert!(take_output(&mut conn).is_empty());
    // The next ping comes an interval after the pong was seen.
    assert_eq!(conn.next_deadline(), Some(T0 + 2100));
    assert_eq!(conn.on_time(T0 + 2100), None);
    assert_eq!(output_frames(&mut conn)[0].opcode, Opcode::Ping);
}

#[test]
fn any_data_after_the_keepalive_ping_keeps_the_connection() {
    let mut conn = server_with(keepalive(1000, 300));
    assert_eq!(conn.on_time(T0), None);
    assert_eq!(conn.on_time(T0 + 1000), None);
    let _ = take_output(&mut conn);
    assert_eq!(feed(&mut conn, &client_frame(TEXT, true, b"busy")), [Ev::text("busy")]);
    assert_eq!(conn.on_time(T0 + 1300), None);
    assert_eq!(conn.state(), State::Open);
}

#[test]
fn activity_postpones_the_keepalive_ping() {
    let mut conn = server_with(keepalive(1000, 300));
    assert_eq!(conn.on_time(T0), None);
    assert_eq!(feed(&mut conn, &client_frame(TEXT, true, b"hi")), [Ev::text("hi")]);
    assert_eq!(conn.on_time(T0 + 600), None);
    assert_eq!(conn.next_deadline(), Some(T0 + 1600));
    assert_eq!(conn.on_time(T0 + 1000), None);
    assert!(take_output(&mut conn).is_empty(), "no ping: the peer spoke 400 ms ago");
    assert_eq!(conn.on_time(T0 + 1600), None);
    assert_eq!(output_frames(&mut conn)[0].opcode, Opcode::Ping);
}

#[test]
fn partial_frame_counts_as_activity() {
    let mut conn = server_with(keepalive(1000, 300));
    assert_eq!(conn.on_time(T0), None);
    let frame = client_frame(BINARY, true, &[0; 50]);
    assert!(feed(&mut conn, &frame[..3]).is_empty());
    assert_eq!(conn.on_time(T0 + 1000), None);
    assert!(take_output(&mut conn).is_empty());
    assert_eq!(conn.next_deadline(), Some(T0 + 2000));
}

#[test]
fn client_keepalive_ping_is_masked() {
    let mut conn = client_with(keepalive(500, 0));
    assert_eq!(conn.on_time(T0), None);
    assert_eq!(conn.on_time(T0 + 500), None);
    let frames = output_frames(&mut conn);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, Opcode::Ping);
    assert!(frames[0].mask.is_some());
}

#[test]
fn keepalive_stops_once_this_end_closes() {
    let mut conn = server_with(keepalive(1000, 300));
    assert_eq!(conn.on_time(T0), None);
    conn.close(1000, "").unwrap();
    let _ = take_output(&mut conn);
    assert_eq!(conn.on_time(T0 + 100), None);
    assert_eq!(conn.next_deadline(), Some(T0 + 5100), "only the close timer runs");
    assert_eq!(conn.on_time(T0 + 1000), None);
    assert!(take_output(&mut conn).is_empty(), "no keepalive ping while closing");
}

#[test]
fn keepalive_starts_when_the_handshake_completes() {
    let mut conn = Connection::server(keepalive(1000, 0), ServerOptions::default()).unwrap();
    assert_eq!(conn.on_time(T0), None);
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Open]);
    let _ = take_output(&mut conn);
    assert_eq!(conn.next_deadline(), Some(0));
    assert_eq!(conn.on_time(T0 + 50), None);
    assert_eq!(conn.next_deadline(), Some(T0 + 1050));
}

#[test]
fn timers_stop_after_a_failure() {
    let mut conn = server_with(keepalive(1000, 0));
    assert_eq!(conn.on_time(T0), None);
    let _ = feed(&mut conn, &client_frame(0x3, true, b""));
    let _ = take_output(&mut conn);
    assert_eq!(conn.next_deadline(), None);
    assert_eq!(conn.on_time(T0 + 10_000), None);
    assert!(take_output(&mut conn).is_empty());
}
