//! UTF-8 in text messages and close reasons (RFC 6455 §8.1): invalid text
//! fails with 1007 at the first invalid byte, code points may be split
//! anywhere across frames and inputs, and a message may not end inside one.

mod common;

use common::*;
use ews::Error;
use ews::proto::State;

#[test]
fn invalid_text_fails_with_1007() {
    for bad in [&b"\xff"[..], b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"ok\xfe", b"\x80"] {
        server_fails(&client_frame(TEXT, true, bad), Error::InvalidUtf8, 1007);
    }
}

#[test]
fn valid_multibyte_text_is_delivered() {
    let text = "κόσμε 😀 \u{10FFFF} \u{FEFF} ascii";
    let mut conn = server();
    assert_eq!(feed(&mut conn, &client_frame(TEXT, true, text.as_bytes())), [Ev::text(text)]);
}

#[test]
fn invalid_byte_fails_before_the_rest_of_the_frame_arrives() {
    let mut conn = server();
    let mut payload = b"valid start \xff".to_vec();
    payload.extend(std::iter::repeat_n(b'x', 1000));
    let frame = client_frame(TEXT, true, &payload);
    // Header (4 bytes, 16-bit length), key, then up to the invalid byte.
    let upto = 4 + 4 + b"valid start \xff".len();
    let events = feed(&mut conn, &frame[..upto]);
    assert_failed_with(&mut conn, &events, Error::InvalidUtf8, 1007);
    assert!(feed(&mut conn, &frame[upto..]).is_empty());
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn invalid_sequence_fails_at_its_first_impossible_byte() {
    // \xed\xa0 starts a UTF-16 surrogate: impossible after two bytes.
    let mut conn = server();
    let frame = client_frame(TEXT, true, b"ab\xed\xa0\x80cd");
    assert!(feed(&mut conn, &frame[..6 + 3]).is_empty(), "\\xed alone may still be valid");
    let events = feed(&mut conn, &frame[9..10]);
    assert_failed_with(&mut conn, &events, Error::InvalidUtf8, 1007);
}

#[test]
fn invalid_text_in_a_first_fragment_fails_before_the_message_ends() {
    let mut conn = server();
    let events = feed(&mut conn, &client_frame(TEXT, false, b"bad \xc3\x28"));
    assert_failed_with(&mut conn, &events, Error::InvalidUtf8, 1007);
}

#[test]
fn invalid_text_in_a_continuation_fails_with_1007() {
    let mut conn = server();
    let input = concat(&[client_frame(TEXT, false, b"fine "), client_frame(CONT, true, b"\xf8\x88\x80\x80\x80")]);
    let events = feed(&mut conn, &input);
    assert_failed_with(&mut conn, &events, Error::InvalidUtf8, 1007);
}

#[test]
fn invalid_text_fails_in_streaming_mode_before_its_piece_is_delivered() {
    let mut conn = server_with(streaming());
    let frame = client_frame(TEXT, true, b"good\xffbad");
    let events = feed(&mut conn, &frame);
    assert_eq!(events, [Ev::Error(Error::InvalidUtf8)]);
    assert_failed_with(&mut conn, &events, Error::InvalidUtf8, 1007);
}

#[test]
fn text_split_inside_a_code_point_across_frames_is_valid() {
    let text = "a😀b€c";
    let bytes = text.as_bytes();
    for cut in 0..=bytes.len() {
        let mut conn = server();
        let input = concat(&[client_frame(TEXT, false, &bytes[..cut]), client_frame(CONT, true, &bytes[cut..])]);
        assert_eq!(feed(&mut conn, &input), [Ev::text(text)], "cut {cut}");
    }
}

#[test]
fn four_byte_code_point_split_over_four_frames_is_valid() {
    let bytes = "😀".as_bytes();
    let mut conn = server();
    let input = concat(&[
        client_frame(TEXT, false, &bytes[..1]),
        client_frame(CONT, false, &bytes[1..2]),
        client_frame(PING, true, b""),
        client_frame(CONT, false, &bytes[2..3]),
        client_frame(CONT, true, &bytes[3..]),
    ]);
    assert_eq!(feed(&mut conn, &input), [Ev::text("😀")]);
}

#[test]
fn text_split_inside_a_code_point_across_inputs_is_valid() {
    let text = "Hello-µ@ßöäüàá-UTF-8!! 𝄞";
    let frame = client_frame(TEXT, true, text.as_bytes());
    let mut conn = server();
    assert_eq!(feed_bytewise(&mut conn, &frame), [Ev::text(text)]);
}

#[test]
fn streaming_fragments_split_inside_a_code_point_form_valid_text() {
    let text = "€€€€";
    let bytes = text.as_bytes();
    let mut conn = server_with(streaming());
    let input = concat(&[client_frame(TEXT, false, &bytes[..4]), client_frame(CONT, true, &bytes[4..])]);
    let events = feed(&mut conn, &input);
    assert_eq!(events, [Ev::fragment(true, &bytes[..4], true, false), Ev::fragment(true, &bytes[4..], false, true)]);
}

#[test]
fn message_ending_inside_a_code_point_fails_with_1007() {
    server_fails(&client_frame(TEXT, true, &"€".as_bytes()[..2]), Error::InvalidUtf8, 1007);
}

#[test]
fn fragmented_message_ending_inside_a_code_point_fails_with_1007() {
    let bytes = "😀".as_bytes();
    let mut conn = server();
    let input = concat(&[client_frame(TEXT, false, &bytes[..3]), client_frame(CONT, true, b"")]);
    let events = feed(&mut conn, &input);
    assert_failed_with(&mut conn, &events, Error::InvalidUtf8, 1007);
}

#[test]
fn streaming_message_ending_inside_a_code_point_fails_with_1007() {
    let bytes = "😀".as_bytes();
    let mut conn = server_with(streaming());
    let input = concat(&[client_frame(TEXT, false, &bytes[..2]), client_frame(CONT, true, b"")]);
    let events = feed(&mut conn, &input);
    assert_eq!(events[0], Ev::fragment(true, &bytes[..2], true, false));
    assert_failed_with(&mut conn, &events, Error::InvalidUtf8, 1007);
}

#[test]
fn code_point_cut_by_a_message_end_does_not_continue_into_the_next_message() {
    // The first message ends inside "€"; the second starts with its tail.
    let bytes = "€".as_bytes();
    let mut conn = server();
    let input = concat(&[client_frame(TEXT, true, &bytes[..1]), client_frame(TEXT, true, &bytes[1..])]);
    let events = feed(&mut conn, &input);
    assert_failed_with(&mut conn, &events, Error::InvalidUtf8, 1007);
}

#[test]
fn binary_messages_are_not_checked_for_utf8() {
    let mut conn = server();
    let input = concat(&[client_frame(BINARY, true, b"\xff\xfe"), client_frame(BINARY, false, b"\xe2")]);
    let input = concat(&[input, client_frame(CONT, true, b"")]);
    assert_eq!(feed(&mut conn, &input), [Ev::binary(b"\xff\xfe"), Ev::binary(b"\xe2")]);
    assert_eq!(conn.state(), State::Open);
}

#[test]
fn binary_message_between_text_messages_leaves_text_validation_intact() {
    let mut conn = server();
    let input = concat(&[
        client_frame(BINARY, true, b"\xe2\x82"),
        client_frame(TEXT, true, "€".as_bytes()),
        client_frame(TEXT, true, b"\x82\xac"),
    ]);
    let events = feed(&mut conn, &input);
    assert_eq!(events[..2], [Ev::binary(b"\xe2\x82"), Ev::text("€")]);
    assert_failed_with(&mut conn, &events, Error::InvalidUtf8, 1007);
}

#[test]
fn invalid_utf8_in_a_close_reason_fails_with_1007() {
    let mut conn = server();
    let events = feed(&mut conn, &client_frame(CLOSE, true, &close_payload(1000, b"bye \xff")));
    assert_eq!(events, [Ev::Error(Error::InvalidUtf8)]);
    assert_failed_with(&mut conn, &events, Error::InvalidUtf8, 1007);
}

#[test]
fn close_reason_ending_inside_a_code_point_fails_with_1007() {
    let mut reason = b"bye ".to_vec();
    reason.extend_from_slice(&"€".as_bytes()[..2]);
    server_fails(&client_frame(CLOSE, true, &close_payload(1000, &reason)), Error::InvalidUtf8, 1007);
}

#[test]
fn valid_utf8_close_reason_is_reported() {
    let mut conn = server();
    let events = feed(&mut conn, &client_frame(CLOSE, true, &close_payload(1000, "tschüß ✓".as_bytes())));
    assert_eq!(events, [Ev::close(1000, "tschüß ✓")]);
}

#[test]
fn invalid_utf8_in_a_close_reason_fails_before_the_frame_is_complete() {
    let whole = client_frame(CLOSE, true, &close_payload(1000, b"bye \xff and more"));
    // Up to and including the invalid byte; the frame declares more.
    let header_len = 6; // 2 bytes and the masking key (payload under 126 bytes)
    let upto = header_len + 2 + b"bye \xff".len();
    server_fails(&whole[..upto], Error::InvalidUtf8, 1007);
}
