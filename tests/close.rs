//! The closing handshake and failing the connection (RFC 6455 §5.5.1, §7):
//! close codes and reasons, the echoed close frame, what happens after a
//! failure or a completed handshake, end of file, and `wants_close`.

mod common;

use common::*;
use ews::Error;
use ews::proto::{Opcode, State};

/// Feeds a close with `code` to an open server and returns it.
fn server_after_close(code: u16, reason: &[u8]) -> (ews::proto::Connection, Vec<Ev>) {
    let mut conn = server();
    let events = feed(&mut conn, &client_frame(CLOSE, true, &close_payload(code, reason)));
    (conn, events)
}

#[test]
fn valid_close_codes_are_accepted_and_echoed() {
    let valid = (1000..=1003).chain(1007..=1014).chain([3000, 3999, 4000, 4999]);
    for code in valid {
        let (mut conn, events) = server_after_close(code, b"");
        assert_eq!(events, [Ev::close(code, "")], "code {code}");
        assert_eq!(conn.state(), State::Closed);
        let out = take_output(&mut conn);
        let mut expected = vec![0x88, 0x02];
        expected.extend_from_slice(&code.to_be_bytes());
        assert_eq!(out, expected, "echo of {code}");
    }
}

#[test]
fn every_code_from_3000_to_4999_is_accepted() {
    for code in 3000..=4999 {
        let (_, events) = server_after_close(code, b"");
        assert_eq!(events, [Ev::close(code, "")], "code {code}");
    }
}

#[test]
fn close_with_a_reason_is_reported_and_answered_with_the_code() {
    let (mut conn, events) = server_after_close(1000, b"normal closure");
    assert_eq!(events, [Ev::close(1000, "normal closure")]);
    let frames = output_frames(&mut conn);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].close_code(), Some(1000));
}

#[test]
fn invalid_close_codes_fail_with_1002() {
    let invalid = [0u16, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 6000, 65535];
    for code in invalid {
        let (mut conn, events) = server_after_close(code, b"");
        assert_eq!(events, [Ev::Error(Error::InvalidCloseCode(code))], "code {code}");
        assert_failed_with(&mut conn, &events, Error::InvalidCloseCode(code), 1002);
    }
}

#[test]
fn every_code_below_1000_and_from_1016_to_2999_fails_with_1002() {
    for code in (0..1000).chain(1016..3000).chain([1004, 1005, 1006, 1015]).chain(5000..=5100) {
        let (conn, events) = server_after_close(code, b"x");
        assert_eq!(events, [Ev::Error(Error::InvalidCloseCode(code))], "code {code}");
        assert_eq!(conn.state(), State::Failed);
    }
}

#[test]
fn one_byte_close_payload_fails_with_1002() {
    let mut conn = server();
    let events = feed(&mut conn, &client_frame(CLOSE, true, &[0x03]));
    assert_failed_with(&mut conn, &events, Error::CloseTooShort, 1002);
}

#[test]
fn empty_close_is_reported_as_1005_and_answered_with_an_empty_close() {
    let mut conn = server();
    assert_eq!(feed(&mut conn, &client_frame(CLOSE, true, b"")), [Ev::close(1005, "")]);
    assert_eq!(take_output(&mut conn), [0x88, 0x00]);
    assert_eq!(conn.state(), State::Closed);
}

#[test]
fn empty_close_to_a_client_is_answered_with_an_empty_masked_close() {
    let mut conn = client();
    assert_eq!(feed(&mut conn, &server_frame(CLOSE, true, b"")), [Ev::close(1005, "")]);
    let frames = output_frames(&mut conn);
    assert_eq!(frames.len(), 1);
    assert!(frames[0].mask.is_some());
    assert!(frames[0].payload.is_empty());
}

#[test]
fn close_reason_of_123_bytes_is_accepted() {
    let reason = "r".repeat(123);
    let (_, events) = server_after_close(1000, reason.as_bytes());
    assert_eq!(events, [Ev::close(1000, &reason)]);
}

#[test]
fn close_reason_of_124_bytes_fails_with_1002() {
    let mut conn = server();
    let events = feed(&mut conn, &client_frame(CLOSE, true, &close_payload(1000, &[b'r'; 124])));
    assert_failed_with(&mut conn, &events, Error::ControlFrameTooLong, 1002);
}

#[test]
fn close_sends_the_code_and_reason() {
    let mut conn = server();
    conn.close(4000, "bye ✓").unwrap();
    let out = take_output(&mut conn);
    let mut expected = vec![0x88, 2 + "bye ✓".len() as u8, 0x0F, 0xA0];
    expected.extend_from_slice("bye ✓".as_bytes());
    assert_eq!(out, expected);
    assert_eq!(conn.state(), State::Closing);
}

#[test]
fn close_with_code_0_sends_an_empty_close() {
    let mut conn = server();
    conn.close(0, "").unwrap();
    assert_eq!(take_output(&mut conn), [0x88, 0x00]);
}

#[test]
fn close_refuses_codes_that_may_not_be_sent() {
    for code in [1, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
        let mut conn = server();
        assert!(matches!(conn.close(code, ""), Err(Error::Invalid(_))), "code {code}");
        assert!(take_output(&mut conn).is_empty());
        assert_eq!(conn.state(), State::Open);
    }
}

#[test]
fn close_refuses_a_reason_of_124_bytes_and_accepts_123() {
    let mut conn = server();
    assert!(matches!(conn.close(1000, &"a".repeat(124)), Err(Error::Invalid(_))));
    assert!(take_output(&mut conn).is_empty());
    assert_eq!(conn.state(), State::Open);
    conn.close(1000, &"a".repeat(123)).unwrap();
    let frames = output_frames(&mut conn);
    assert_eq!(frames[0].payload.len(), 125);
}

#[test]
fn close_refuses_a_reason_without_a_code() {
    let mut conn = server();
    assert!(matches!(conn.close(0, "why"), Err(Error::Invalid(_))));
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn close_twice_is_refused() {
    let mut conn = server();
    conn.close(1000, "").unwrap();
    assert!(matches!(conn.close(1000, ""), Err(Error::State(_))));
    assert_eq!(output_frames(&mut conn).len(), 1);
}

#[test]
fn after_a_failure_exactly_one_close_frame_is_written_and_nothing_more_is_read() {
    let mut conn = server_with(control_events());
    let input = concat(&[
        client_frame(0x5, true, b""),
        client_frame(TEXT, true, b"after"),
        client_frame(PING, true, b"after"),
        client_frame(CLOSE, true, &close_payload(1000, b"")),
    ]);
    let events = feed(&mut conn, &input);
    assert_eq!(events, [Ev::Error(Error::ReservedOpcode(5))]);
    assert_failed_with(&mut conn, &events, Error::ReservedOpcode(5), 1002);
    // More input, a timer reading and end of file change nothing.
    assert!(feed(&mut conn, &client_frame(PING, true, b"later")).is_empty());
    assert!(feed(&mut conn, &[0x0B, 0x80, 1, 2, 3, 4]).is_empty());
    assert_eq!(conn.on_time(1_000_000), None);
    assert_eq!(conn.on_eof(), None);
    assert!(take_output(&mut conn).is_empty());
    assert_eq!(conn.state(), State::Failed);
    assert_eq!(conn.error(), Some(Error::ReservedOpcode(5)));
}

#[test]
fn after_a_failure_nothing_can_be_sent() {
    let mut conn = server();
    let _ = feed(&mut conn, &client_frame(0x3, true, b""));
    let _ = take_output(&mut conn);
    assert!(matches!(conn.send(true, b"x"), Err(Error::State(_))));
    assert!(matches!(conn.ping(b""), Err(Error::State(_))));
    assert!(matches!(conn.close(1000, ""), Err(Error::State(_))));
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn events_before_the_failing_frame_in_the_same_input_are_delivered_first_in_order() {
    let mut conn = server_with(control_events());
    let input = concat(&[
        client_frame(TEXT, true, b"one"),
        client_frame(PING, true, b"p1"),
        client_frame(BINARY, false, b"tw"),
        client_frame(PONG, true, b"q"),
        client_frame(CONT, true, b"o"),
        client_frame(PING, true, b"p2"),
        client_frame(TEXT, true, b"three"),
        client_frame(CONT, true, b"bad"),
        client_frame(TEXT, true, b"never"),
    ]);
    let events = feed(&mut conn, &input);
    assert_eq!(
        events,
        [
            Ev::text("one"),
            Ev::Ping(b"p1".to_vec()),
            Ev::Pong(b"q".to_vec()),
            Ev::binary(b"two"),
            Ev::Ping(b"p2".to_vec()),
            Ev::text("three"),
            Ev::Error(Error::UnexpectedContinuation),
        ]
    );
    let frames = output_frames(&mut conn);
    let kinds: Vec<(Opcode, Vec<u8>)> = frames.iter().map(|f| (f.opcode, f.payload.clone())).collect();
    assert_eq!(kinds[..2], [(Opcode::Pong, b"p1".to_vec()), (Opcode::Pong, b"p2".to_vec())]);
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[2].close_code(), Some(1002));
}

#[test]
fn events_before_the_failing_frame_are_delivered_without_control_events_too() {
    let mut conn = server();
    let input = concat(&[
        client_frame(PING, true, b"a"),
        client_frame(TEXT, true, b"one"),
        client_frame(PING, true, b"b"),
        client_frame(TEXT, true, b"two"),
        client_frame(PING, true, b"c"),
        client_frame(TEXT, true, b"\xff"),
    ]);
    let events = feed(&mut conn, &input);
    assert_eq!(events, [Ev::text("one"), Ev::text("two"), Ev::Error(Error::InvalidUtf8)]);
    let frames = output_frames(&mut conn);
    assert_eq!(frames.len(), 4);
    assert_eq!(frames[2].payload, b"c");
    assert_eq!(frames[3].close_code(), Some(1007));
}

#[test]
fn after_the_closing_handshake_nothing_more_is_read() {
    let mut conn = server_with(control_events());
    let input = concat(&[
        client_frame(TEXT, true, b"before"),
        client_frame(CLOSE, true, &close_payload(1000, b"done")),
        client_frame(TEXT, true, b"after"),
        client_frame(PING, true, b"after"),
        client_frame(0x3, true, b"bad"),
    ]);
    assert_eq!(feed(&mut conn, &input), [Ev::text("before"), Ev::close(1000, "done")]);
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.error(), None);
    let frames = output_frames(&mut conn);
    assert_eq!(frames.len(), 1, "only the close reply: {frames:?}");
    assert_eq!(frames[0].close_code(), Some(1000));
    assert!(feed(&mut conn, &client_frame(PING, true, b"later")).is_empty());
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn close_reply_ends_the_handshake_started_by_this_end() {
    let mut conn = server();
    conn.close(1000, "bye").unwrap();
    let _ = take_output(&mut conn);
    assert_eq!(conn.state(), State::Closing);
    assert!(!conn.wants_close());
    let events = feed(&mut conn, &client_frame(CLOSE, true, &close_payload(1000, b"")));
    assert_eq!(events, [Ev::close(1000, "")]);
    assert_eq!(conn.state(), State::Closed);
    assert!(take_output(&mut conn).is_empty(), "no second close frame");
    assert!(conn.wants_close());
}

#[test]
fn messages_that_arrive_while_closing_are_still_delivered() {
    let mut conn = server_with(control_events());
    conn.close(1000, "").unwrap();
    let _ = take_output(&mut conn);
    let input = concat(&[client_frame(TEXT, true, b"late"), client_frame(PING, true, b"p")]);
    assert_eq!(feed(&mut conn, &input), [Ev::text("late"), Ev::Ping(b"p".to_vec())]);
    assert!(take_output(&mut conn).is_empty(), "no pong after our close frame");
}

#[test]
fn failure_while_closing_writes_no_second_close_frame() {
    let mut conn = server();
    conn.close(1000, "").unwrap();
    assert_eq!(output_frames(&mut conn).len(), 1);
    let events = feed(&mut conn, &client_frame(0x4, true, b""));
    assert_eq!(events, [Ev::Error(Error::ReservedOpcode(4))]);
    assert_eq!(conn.state(), State::Failed);
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn eof_while_open_fails_with_dropped_and_writes_nothing() {
    let mut conn = server();
    let event = conn.on_eof().map(Ev::from);
    assert_eq!(event, Some(Ev::Error(Error::Dropped)));
    assert_eq!(Error::Dropped.close_code(), None);
    assert_eq!(conn.state(), State::Failed);
    assert_eq!(conn.error(), Some(Error::Dropped));
    assert!(take_output(&mut conn).is_empty());
    assert!(conn.wants_close());
}

#[test]
fn eof_while_closing_fails_with_dropped() {
    let mut conn = server();
    conn.close(1000, "").unwrap();
    assert_eq!(conn.on_eof().map(Ev::from), Some(Ev::Error(Error::Dropped)));
    assert_eq!(conn.state(), State::Failed);
}

#[test]
fn eof_in_the_middle_of_a_message_fails_with_dropped() {
    let mut conn = server();
    assert!(feed(&mut conn, &client_frame(TEXT, false, b"half")).is_empty());
    assert_eq!(conn.on_eof().map(Ev::from), Some(Ev::Error(Error::Dropped)));
}

#[test]
fn eof_after_the_closing_handshake_is_not_an_error() {
    let mut conn = server();
    let _ = feed(&mut conn, &client_frame(CLOSE, true, &close_payload(1000, b"")));
    let _ = take_output(&mut conn);
    assert_eq!(conn.on_eof(), None);
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.error(), None);
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn eof_after_a_client_initiated_closing_handshake_is_not_an_error() {
    let mut conn = client();
    conn.close(1000, "").unwrap();
    let _ = take_output(&mut conn);
    assert_eq!(feed(&mut conn, &server_frame(CLOSE, true, &close_payload(1000, b""))), [Ev::close(1000, "")]);
    assert!(take_output(&mut conn).is_empty());
    assert_eq!(conn.on_eof(), None);
    assert_eq!(conn.state(), State::Closed);
    assert!(conn.wants_close());
}

#[test]
fn server_wants_close_after_the_closing_handshake() {
    let mut conn = server();
    assert!(!conn.wants_close());
    let _ = feed(&mut conn, &client_frame(CLOSE, true, b""));
    assert_eq!(conn.state(), State::Closed);
    assert!(conn.wants_close());
}

#[test]
fn server_does_not_want_close_while_open_or_closing() {
    let mut conn = server();
    assert!(!conn.wants_close());
    conn.send(true, b"hi").unwrap();
    assert!(!conn.wants_close());
    conn.close(1000, "").unwrap();
    assert!(!conn.wants_close());
}

#[test]
fn client_does_not_want_close_right_after_the_closing_handshake() {
    let mut conn = client();
    let events = feed(&mut conn, &server_frame(CLOSE, true, &close_payload(1000, b"")));
    assert_eq!(events, [Ev::close(1000, "")]);
    assert_eq!(conn.state(), State::Closed);
    assert!(!conn.wants_close(), "the server closes the TCP connection first");
}

#[test]
fn client_wants_close_once_the_server_had_close_timeout_to_drop_the_connection() {
    let mut conn = client();
    let _ = feed(&mut conn, &server_frame(CLOSE, true, b""));
    let timeout = u64::from(conn.config().limits.close_timeout_ms);
    assert_eq!(conn.next_deadline(), Some(0));
    assert_eq!(conn.on_time(100), None);
    assert_eq!(conn.next_deadline(), Some(100 + timeout));
    assert_eq!(conn.on_time(100 + timeout - 1), None);
    assert!(!conn.wants_close());
    assert_eq!(conn.on_time(100 + timeout), None, "lingering out is not an error");
    assert!(conn.wants_close());
    assert_eq!(conn.error(), None);
    assert_eq!(conn.next_deadline(), None);
}

#[test]
fn client_wants_close_after_eof_following_the_closing_handshake() {
    let mut conn = client();
    let _ = feed(&mut conn, &server_frame(CLOSE, true, b""));
    assert!(!conn.wants_close());
    assert_eq!(conn.on_eof(), None);
    assert!(conn.wants_close());
}

#[test]
fn both_roles_want_close_after_a_failure() {
    let mut s = server();
    let _ = feed(&mut s, &server_frame(TEXT, true, b"unmasked"));
    assert!(s.wants_close());
    let mut c = client();
    let _ = feed(&mut c, &client_frame(TEXT, true, b"masked"));
    assert!(c.wants_close());
}

#[test]
fn an_invalid_close_code_fails_before_the_close_frame_is_complete() {
    let whole = client_frame(CLOSE, true, &close_payload(1005, b"a reason still to come"));
    // The header (2 bytes and the masking key) and the code only.
    server_fails(&whole[..6 + 2], Error::InvalidCloseCode(1005), 1002);
}

#[test]
fn a_close_frame_arriving_byte_by_byte_is_reported_once_whole() {
    let mut conn = server();
    let events = feed_bytewise(&mut conn, &client_frame(CLOSE, true, &close_payload(1000, "tschüß".as_bytes())));
    assert_eq!(events, [Ev::close(1000, "tschüß")]);
}
