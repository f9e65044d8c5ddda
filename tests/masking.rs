//! Masking of written frames (RFC 6455 §5.3): a client masks every frame
//! with a fresh key, a server masks none, and the caller's buffer is left
//! as it was.

mod common;

use std::collections::HashSet;

use common::*;
use ews::proto::Opcode;

#[test]
fn frames_written_by_a_client_are_masked() {
    let mut conn = client();
    conn.send(true, b"hello").unwrap();
    conn.send(false, &[1, 2, 3]).unwrap();
    conn.ping(b"p").unwrap();
    conn.pong(b"q").unwrap();
    conn.close(1000, "bye").unwrap();
    let out = take_output(&mut conn);
    let frames = decode_frames(&out);
    assert_eq!(frames.len(), 5);
    assert!(frames.iter().all(|f| f.mask.is_some()), "{frames:?}");
    assert_eq!(frames[0].payload, b"hello");
    assert_eq!(frames[1].payload, [1, 2, 3]);
    assert_eq!(frames[2].payload, b"p");
    assert_eq!(frames[3].payload, b"q");
    assert_eq!(frames[4].close_code(), Some(1000));
    assert_eq!(frames[4].close_reason(), "bye");
}

#[test]
fn client_payload_on_the_wire_is_the_payload_xored_with_the_key() {
    let mut conn = client();
    let data = b"The quick brown fox jumps over the lazy dog";
    conn.send(false, data).unwrap();
    let out = take_output(&mut conn);
    assert_eq!(out[1], 0x80 | data.len() as u8, "MASK bit and 7-bit length");
    let key = [out[2], out[3], out[4], out[5]];
    let wire = &out[6..];
    let expected: Vec<u8> = data.iter().enumerate().map(|(i, b)| b ^ key[i % 4]).collect();
    assert_eq!(wire, expected);
}

#[test]
fn client_uses_a_different_key_for_each_frame() {
    let mut conn = client();
    for i in 0..16u8 {
        conn.send(false, &[i; 8]).unwrap();
    }
    let frames = output_frames(&mut conn);
    let keys: HashSet<[u8; 4]> = frames.iter().map(|f| f.mask.expect("masked")).collect();
    // Sixteen 32-bit keys from a CSPRNG: a repeat is a 1-in-2^25 event.
    assert_eq!(keys.len(), 16, "keys repeat: {frames:?}");
}

#[test]
fn pongs_and_close_replies_written_by_a_client_are_masked() {
    let mut conn = client();
    let input = concat(&[server_frame(PING, true, b"ping"), server_frame(CLOSE, true, &close_payload(1001, b""))]);
    assert_eq!(feed(&mut conn, &input), [Ev::close(1001, "")]);
    let frames = output_frames(&mut conn);
    assert_eq!(frames.len(), 2);
    assert_eq!((frames[0].opcode, frames[0].payload.as_slice()), (Opcode::Pong, &b"ping"[..]));
    assert_eq!(frames[1].close_code(), Some(1001));
    assert!(frames.iter().all(|f| f.mask.is_some()));
    assert_ne!(frames[0].mask, frames[1].mask);
}

#[test]
fn frames_written_by_a_server_are_not_masked() {
    let mut conn = server();
    conn.send(true, b"hello").unwrap();
    conn.send_frame(Opcode::Binary, false, &[9; 200]).unwrap();
    conn.send_frame(Opcode::Continuation, true, &[8; 3]).unwrap();
    conn.ping(b"p").unwrap();
    conn.close(1000, "").unwrap();
    let out = take_output(&mut conn);
    assert_eq!(&out[..7], b"\x81\x05hello", "exact bytes of an unmasked text frame");
    let frames = decode_frames(&out);
    assert_eq!(frames.len(), 5);
    assert!(frames.iter().all(|f| f.mask.is_none()), "{frames:?}");
    assert_eq!(frames[1].payload, [9; 200]);
}

#[test]
fn send_leaves_the_callers_buffer_unchanged() {
    let data: Vec<u8> = (0..=255u8).collect();
    let copy = data.clone();
    let mut conn = client();
    conn.send(false, &data).unwrap();
    conn.send_frame(Opcode::Binary, false, &data).unwrap();
    conn.send_frame(Opcode::Continuation, true, &data).unwrap();
    conn.ping(&data[..125]).unwrap();
    assert_eq!(data, copy);
    let frames = output_frames(&mut conn);
    assert_eq!(frames[0].payload, data);
    assert_eq!(frames[3].payload, &data[..125]);
}
