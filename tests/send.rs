//! What the host may send (RFC 6455 §5.4, §5.5, §8.1): whole messages,
//! `send_frame` sequencing of fragments, control frame rules, UTF-8 of
//! outgoing text, and sending before the opening or after the closing.

mod common;

use common::*;
use ews::Error;
use ews::proto::{Config, Connection, Opcode, Role, ServerOptions};

fn shape(frames: &[WireFrame]) -> Vec<(Opcode, bool, Vec<u8>)> {
    frames.iter().map(|f| (f.opcode, f.fin, f.payload.clone())).collect()
}

#[test]
fn send_writes_one_final_frame_per_message() {
    let mut conn = server();
    conn.send(true, "héllo".as_bytes()).unwrap();
    conn.send(false, &[0, 1, 2]).unwrap();
    assert_eq!(
        shape(&output_frames(&mut conn)),
        [(Opcode::Text, true, "héllo".as_bytes().to_vec()), (Opcode::Binary, true, vec![0, 1, 2])]
    );
}

#[test]
fn send_uses_the_minimal_length_encoding() {
    let mut conn = server();
    for len in [0usize, 125, 126, 65535, 65536] {
        conn.send(false, &vec![7; len]).unwrap();
        let out = take_output(&mut conn);
        let (header, payload) = match len {
            0..=125 => (vec![0x82, len as u8], &out[2..]),
            126..=65535 => {
                let mut h = vec![0x82, 126];
                h.extend_from_slice(&(len as u16).to_be_bytes());
                (h, &out[4..])
            }
            _ => {
                let mut h = vec![0x82, 127];
                h.extend_from_slice(&(len as u64).to_be_bytes());
                (h, &out[10..])
            }
        };
        assert_eq!(out[..header.len()], header[..], "header for {len} bytes");
        assert_eq!(payload.len(), len);
    }
}

#[test]
fn empty_messages_can_be_sent() {
    let mut conn = server();
    conn.send(true, b"").unwrap();
    conn.send(false, b"").unwrap();
    assert_eq!(take_output(&mut conn), [0x81, 0x00, 0x82, 0x00]);
}

#[test]
fn send_frame_writes_a_fragmented_message_in_sequence() {
    let mut conn = server();
    conn.send_frame(Opcode::Text, false, b"Hel").unwrap();
    conn.send_frame(Opcode::Continuation, false, b"lo").unwrap();
    conn.send_frame(Opcode::Continuation, true, b"!").unwrap();
    assert_eq!(take_output(&mut conn), b"\x01\x03Hel\x00\x02lo\x80\x01!");
}

#[test]
fn fragmented_message_sent_by_one_end_is_reassembled_by_the_other() {
    let mut tx = client();
    let mut rx = server();
    tx.send_frame(Opcode::Binary, false, &[1; 10]).unwrap();
    tx.ping(b"between").unwrap();
    tx.send_frame(Opcode::Continuation, true, &[2; 10]).unwrap();
    let mut expected = vec![1; 10];
    expected.extend_from_slice(&[2; 10]);
    assert_eq!(feed(&mut rx, &take_output(&mut tx)), [Ev::binary(&expected)]);
}

#[test]
fn continuation_without_a_started_message_is_refused() {
    let mut conn = server();
    assert!(matches!(conn.send_frame(Opcode::Continuation, true, b"x"), Err(Error::State(_))));
    assert!(matches!(conn.send_frame(Opcode::Continuation, false, b"x"), Err(Error::State(_))));
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn continuation_after_the_final_fragment_is_refused() {
    let mut conn = server();
    conn.send_frame(Opcode::Binary, false, b"a").unwrap();
    conn.send_frame(Opcode::Continuation, true, b"b").unwrap();
    let _ = take_output(&mut conn);
    assert!(matches!(conn.send_frame(Opcode::Continuation, true, b"c"), Err(Error::State(_))));
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn new_message_during_a_fragmented_message_is_refused() {
    let mut conn = server();
    conn.send_frame(Opcode::Text, false, b"start").unwrap();
    let _ = take_output(&mut conn);
    assert!(matches!(conn.send_frame(Opcode::Text, true, b"x"), Err(Error::State(_))));
    assert!(matches!(conn.send_frame(Opcode::Binary, false, b"x"), Err(Error::State(_))));
    assert!(matches!(conn.send(true, b"x"), Err(Error::State(_))));
    assert!(matches!(conn.send(false, b"x"), Err(Error::State(_))));
    assert!(take_output(&mut conn).is_empty());
    conn.send_frame(Opcode::Continuation, true, b" end").unwrap();
    conn.send(true, b"next").unwrap();
    assert_eq!(output_frames(&mut conn).len(), 2);
}

#[test]
fn control_frames_may_be_sent_between_fragments() {
    let mut conn = server();
    conn.send_frame(Opcode::Text, false, b"a").unwrap();
    conn.send_frame(Opcode::Ping, true, b"p").unwrap();
    conn.send_frame(Opcode::Pong, true, b"q").unwrap();
    conn.send_frame(Opcode::Continuation, true, b"b").unwrap();
    assert_eq!(
        shape(&output_frames(&mut conn)),
        [
            (Opcode::Text, false, b"a".to_vec()),
            (Opcode::Ping, true, b"p".to_vec()),
            (Opcode::Pong, true, b"q".to_vec()),
            (Opcode::Continuation, true, b"b".to_vec()),
        ]
    );
}

#[test]
fn close_may_be_sent_during_a_fragmented_message() {
    let mut conn = server();
    conn.send_frame(Opcode::Binary, false, b"a").unwrap();
    conn.close(1001, "").unwrap();
    let frames = output_frames(&mut conn);
    assert_eq!(frames[1].close_code(), Some(1001));
    assert!(matches!(conn.send_frame(Opcode::Continuation, true, b"b"), Err(Error::State(_))));
}

#[test]
fn control_frame_payload_of_125_bytes_is_sent_and_126_refused() {
    let mut conn = server();
    conn.ping(&[1; 125]).unwrap();
    conn.pong(&[2; 125]).unwrap();
    conn.send_frame(Opcode::Ping, true, &[3; 125]).unwrap();
    assert_eq!(output_frames(&mut conn).len(), 3);
    assert!(matches!(conn.ping(&[1; 126]), Err(Error::Invalid(_))));
    assert!(matches!(conn.pong(&[2; 126]), Err(Error::Invalid(_))));
    assert!(matches!(conn.send_frame(Opcode::Pong, true, &[3; 126]), Err(Error::Invalid(_))));
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn control_frame_without_fin_is_refused() {
    let mut conn = server();
    assert!(matches!(conn.send_frame(Opcode::Ping, false, b""), Err(Error::Invalid(_))));
    assert!(matches!(conn.send_frame(Opcode::Pong, false, b""), Err(Error::Invalid(_))));
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn close_frame_through_send_frame_is_refused() {
    let mut conn = server();
    assert!(matches!(conn.send_frame(Opcode::Close, true, &[0x03, 0xE8]), Err(Error::Invalid(_))));
    assert!(take_output(&mut conn).is_empty());
    conn.send(true, b"still open").unwrap();
}

#[test]
fn invalid_utf8_text_is_refused() {
    let mut conn = server();
    for bad in [&b"\xff"[..], b"ab\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82"] {
        assert!(matches!(conn.send(true, bad), Err(Error::Invalid(_))), "{bad:x?}");
        assert!(matches!(conn.send_frame(Opcode::Text, true, bad), Err(Error::Invalid(_))), "{bad:x?}");
    }
    assert!(take_output(&mut conn).is_empty());
    conn.send(false, b"\xff").unwrap();
}

#[test]
fn text_fragments_may_split_a_code_point() {
    let bytes = "😀".as_bytes();
    let mut conn = server();
    conn.send_frame(Opcode::Text, false, &bytes[..1]).unwrap();
    conn.send_frame(Opcode::Continuation, false, &bytes[1..3]).unwrap();
    conn.send_frame(Opcode::Continuation, true, &bytes[3..]).unwrap();
    assert_eq!(output_frames(&mut conn).len(), 3);
}

#[test]
fn final_text_fragment_ending_inside_a_code_point_is_refused() {
    let bytes = "€".as_bytes();
    let mut conn = server();
    conn.send_frame(Opcode::Text, false, b"price: ").unwrap();
    let _ = take_output(&mut conn);
    assert!(matches!(conn.send_frame(Opcode::Continuation, true, &bytes[..2]), Err(Error::Invalid(_))));
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn invalid_utf8_across_text_fragments_is_refused() {
    let mut conn = server();
    conn.send_frame(Opcode::Text, false, b"\xe2").unwrap();
    let _ = take_output(&mut conn);
    assert!(matches!(conn.send_frame(Opcode::Continuation, false, b"\x28"), Err(Error::Invalid(_))));
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn binary_fragments_are_not_checked_for_utf8() {
    let mut conn = server();
    conn.send_frame(Opcode::Binary, false, b"\xe2").unwrap();
    conn.send_frame(Opcode::Continuation, true, b"\xff").unwrap();
    assert_eq!(output_frames(&mut conn).len(), 2);
}

#[test]
fn sending_before_the_handshake_is_refused() {
    let mut conn = Connection::server(Config::default(), ServerOptions::default()).unwrap();
    assert!(matches!(conn.send(true, b"x"), Err(Error::State(_))));
    assert!(matches!(conn.send_frame(Opcode::Binary, true, b"x"), Err(Error::State(_))));
    assert!(matches!(conn.ping(b""), Err(Error::State(_))));
    assert!(matches!(conn.pong(b""), Err(Error::State(_))));
    assert!(matches!(conn.close(1000, ""), Err(Error::State(_))));
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn sending_after_close_is_refused() {
    let mut conn = server();
    conn.close(1000, "").unwrap();
    let _ = take_output(&mut conn);
    assert!(matches!(conn.send(true, b"x"), Err(Error::State(_))));
    assert!(matches!(conn.send_frame(Opcode::Text, true, b"x"), Err(Error::State(_))));
    assert!(matches!(conn.ping(b""), Err(Error::State(_))));
    assert!(matches!(conn.pong(b""), Err(Error::State(_))));
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn sending_after_the_peers_close_is_refused() {
    let mut conn = server();
    let _ = feed(&mut conn, &client_frame(CLOSE, true, &close_payload(1000, b"")));
    let _ = take_output(&mut conn);
    assert!(matches!(conn.send(true, b"x"), Err(Error::State(_))));
    assert!(matches!(conn.close(1000, ""), Err(Error::State(_))));
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn output_can_be_taken_in_pieces() {
    let mut conn = server();
    conn.send(true, b"abcdef").unwrap();
    assert_eq!(conn.pending_output(), b"\x81\x06abcdef");
    conn.consume(3);
    assert_eq!(conn.pending_output(), b"bcdef");
    conn.send(true, b"g").unwrap();
    assert_eq!(conn.pending_output(), b"bcdef\x81\x01g");
    conn.consume(100);
    assert!(conn.pending_output().is_empty());
}

#[test]
fn swap_output_hands_over_the_pending_bytes() {
    let mut conn = server();
    conn.send(false, &[1, 2, 3]).unwrap();
    conn.consume(1);
    let mut buf = Vec::new();
    conn.swap_output(&mut buf);
    assert_eq!(buf, [0x03, 1, 2, 3]);
    assert!(conn.pending_output().is_empty());
    conn.send(false, &[4]).unwrap();
    assert_eq!(conn.pending_output(), [0x82, 0x01, 4]);
}

#[test]
fn sender_of_a_split_connection_keeps_the_rules() {
    let (_, mut tx) = Connection::open(Role::Server, Config::default()).unwrap().into_parts();
    assert!(tx.is_open());
    tx.send(true, b"hi").unwrap();
    assert!(matches!(tx.send(true, b"\xff"), Err(Error::Invalid(_))));
    tx.close(1000, "").unwrap();
    assert!(tx.close_sent());
    assert!(!tx.is_open());
    assert!(matches!(tx.send(true, b"x"), Err(Error::State(_))));
    assert_eq!(decode_frames(tx.pending_output()).len(), 2);
}
