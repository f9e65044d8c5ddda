//! Pings and pongs (RFC 6455 §5.5.2, §5.5.3): every ping is answered with a
//! pong carrying the identical payload, unsolicited pongs are ignored, and
//! control events are reported only when asked for.

mod common;

use common::*;
use ews::proto::{Opcode, State};

#[test]
fn ping_is_answered_with_a_pong_with_the_identical_payload() {
    let mut conn = server();
    assert!(feed(&mut conn, &client_frame(PING, true, b"hello?")).is_empty());
    assert_eq!(take_output(&mut conn), b"\x8a\x06hello?");
}

#[test]
fn three_pings_in_one_input_get_three_pongs() {
    let mut conn = server();
    let input =
        concat(&[client_frame(PING, true, b"1"), client_frame(PING, true, b"22"), client_frame(PING, true, b"")]);
    assert!(feed(&mut conn, &input).is_empty());
    let frames = output_frames(&mut conn);
    let pongs: Vec<(Opcode, bool, Vec<u8>)> = frames.into_iter().map(|f| (f.opcode, f.fin, f.payload)).collect();
    assert_eq!(
        pongs,
        [(Opcode::Pong, true, b"1".to_vec()), (Opcode::Pong, true, b"22".to_vec()), (Opcode::Pong, true, Vec::new())]
    );
}

#[test]
fn three_pings_in_one_input_give_three_ping_events_with_control_events() {
    let mut conn = server_with(control_events());
    let input =
        concat(&[client_frame(PING, true, b"1"), client_frame(PING, true, b"2"), client_frame(PING, true, b"3")]);
    assert_eq!(feed(&mut conn, &input), [Ev::Ping(b"1".to_vec()), Ev::Ping(b"2".to_vec()), Ev::Ping(b"3".to_vec())]);
    assert_eq!(take_output(&mut conn), b"\x8a\x011\x8a\x012\x8a\x013");
}

#[test]
fn pong_is_queued_before_the_ping_event_is_returned() {
    let mut conn = server_with(control_events());
    let mut input = client_frame(PING, true, b"now");
    let progress = conn.feed(&mut input);
    assert!(matches!(progress.event, Some(ews::proto::Event::Ping(b"now"))));
    assert_eq!(take_output(&mut conn), b"\x8a\x03now");
}

#[test]
fn ping_with_125_byte_binary_payload_is_echoed_exactly() {
    let data: Vec<u8> = (0..125u8).map(|i| i.wrapping_mul(37)).collect();
    let mut conn = server();
    let _ = feed(&mut conn, &client_frame(PING, true, &data));
    let out = take_output(&mut conn);
    assert_eq!(out[..2], [0x8a, 125]);
    assert_eq!(out[2..], data[..]);
}

#[test]
fn ping_split_across_inputs_is_answered_once_with_its_payload() {
    let mut conn = server();
    let frame = client_frame(PING, true, b"split payload");
    assert!(feed_bytewise(&mut conn, &frame).is_empty());
    let frames = output_frames(&mut conn);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].payload, b"split payload");
}

#[test]
fn client_answers_pings_with_masked_pongs() {
    let mut conn = client();
    let _ = feed(&mut conn, &server_frame(PING, true, b"abc"));
    let frames = output_frames(&mut conn);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, Opcode::Pong);
    assert!(frames[0].mask.is_some());
    assert_eq!(frames[0].payload, b"abc");
}

#[test]
fn unsolicited_pong_is_ignored() {
    let mut conn = server();
    let input = concat(&[client_frame(PONG, true, b"unasked"), client_frame(TEXT, true, b"after")]);
    assert_eq!(feed(&mut conn, &input), [Ev::text("after")]);
    assert!(take_output(&mut conn).is_empty());
    assert_eq!(conn.state(), State::Open);
    assert_eq!(conn.error(), None);
}

#[test]
fn unsolicited_pong_is_reported_with_control_events_and_not_answered() {
    let mut conn = server_with(control_events());
    assert_eq!(feed(&mut conn, &client_frame(PONG, true, b"beat")), [Ev::Pong(b"beat".to_vec())]);
    assert!(take_output(&mut conn).is_empty());
    assert_eq!(conn.state(), State::Open);
}

#[test]
fn ping_events_only_with_control_events() {
    let mut quiet = server();
    let input = concat(&[client_frame(PING, true, b"x"), client_frame(PONG, true, b"y")]);
    assert!(feed(&mut quiet, &input).is_empty());
    let mut loud = server_with(control_events());
    assert_eq!(feed(&mut loud, &input), [Ev::Ping(b"x".to_vec()), Ev::Pong(b"y".to_vec())]);
    // The pong is sent either way.
    assert_eq!(take_output(&mut quiet), take_output(&mut loud));
}

#[test]
fn host_can_send_pings_and_unsolicited_pongs() {
    let mut conn = server();
    conn.ping(b"are you there").unwrap();
    conn.pong(b"heartbeat").unwrap();
    let frames = output_frames(&mut conn);
    assert_eq!((frames[0].opcode, frames[0].payload.as_slice()), (Opcode::Ping, &b"are you there"[..]));
    assert_eq!((frames[1].opcode, frames[1].payload.as_slice()), (Opcode::Pong, &b"heartbeat"[..]));
}
