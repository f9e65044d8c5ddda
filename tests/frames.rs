//! The frame codec as a connection applies it (RFC 6455 §5.2, §5.5): length
//! encodings, reserved bits and opcodes, masking direction, control frame
//! rules, and the frame limit checked on the header.

mod common;

use common::*;
use ews::Error;
use ews::proto::{Config, Limits, Opcode, State};

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

fn length_round_trips(len: usize, header_len: usize) {
    let data = payload(len);
    let frame = client_frame(BINARY, true, &data);
    assert_eq!(frame.len(), header_len + 4 + len, "header size for {len} bytes");
    let mut conn = server();
    assert_eq!(feed(&mut conn, &frame), [Ev::binary(&data)]);
    assert!(take_output(&mut conn).is_empty());
    assert_eq!(conn.state(), State::Open);
}

#[test]
fn seven_bit_lengths_0_1_and_125_are_read() {
    for len in [0, 1, 125] {
        length_round_trips(len, 2);
    }
}

#[test]
fn sixteen_bit_lengths_126_and_65535_are_read() {
    for len in [126, 127, 65535] {
        length_round_trips(len, 4);
    }
}

#[test]
fn sixty_four_bit_length_65536_is_read() {
    length_round_trips(65536, 10);
    length_round_trips(70000, 10);
}

#[test]
fn sixteen_bit_length_below_126_fails_with_1002() {
    for len in [0u16, 1, 125] {
        let mut input = vec![0x82, 0x80 | 126];
        input.extend_from_slice(&len.to_be_bytes());
        input.extend_from_slice(&KEY);
        input.extend(std::iter::repeat_n(0u8, len as usize));
        server_fails(&input, Error::NonMinimalLength, 1002);
    }
}

#[test]
fn sixty_four_bit_length_up_to_65535_fails_with_1002() {
    for len in [0u64, 125, 126, 65535] {
        let mut input = vec![0x82, 0x80 | 127];
        input.extend_from_slice(&len.to_be_bytes());
        input.extend_from_slice(&KEY);
        server_fails(&input, Error::NonMinimalLength, 1002);
    }
}

#[test]
fn sixty_four_bit_length_with_the_top_bit_fails_with_1002() {
    for len in [1u64 << 63, u64::MAX, (1 << 63) | 10] {
        let mut input = vec![0x82, 0x80 | 127];
        input.extend_from_slice(&len.to_be_bytes());
        input.extend_from_slice(&KEY);
        server_fails(&input, Error::LengthTopBit, 1002);
    }
}

#[test]
fn every_reserved_opcode_fails_with_1002() {
    for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        server_fails(&client_frame(op, true, b"x"), Error::ReservedOpcode(op), 1002);
        client_fails(&server_frame(op, true, b"x"), Error::ReservedOpcode(op), 1002);
    }
}

#[test]
fn reserved_opcode_fails_on_its_first_byte() {
    let mut conn = server();
    let frame = client_frame(0xB, true, b"hello");
    let events = feed(&mut conn, &frame[..1]);
    assert_failed_with(&mut conn, &events, Error::ReservedOpcode(0xB), 1002);
    assert!(feed(&mut conn, &frame[1..]).is_empty());
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn each_rsv_bit_without_an_extension_fails_with_1002() {
    for rsv in [0b100u8, 0b010, 0b001, 0b111] {
        for opcode in [TEXT, BINARY, PING] {
            server_fails(&raw_frame(true, rsv, opcode, Some(KEY), b"abc"), Error::ReservedBits, 1002);
        }
        client_fails(&raw_frame(true, rsv, TEXT, None, b"abc"), Error::ReservedBits, 1002);
    }
}

#[test]
fn rsv_bit_on_a_continuation_fails_with_1002() {
    let mut conn = server();
    let input = concat(&[client_frame(TEXT, false, b"ab"), raw_frame(true, 0b100, CONT, Some(KEY), b"cd")]);
    let events = feed(&mut conn, &input);
    assert_failed_with(&mut conn, &events, Error::ReservedBits, 1002);
}

#[test]
fn unmasked_client_frame_to_a_server_fails_with_1002() {
    for opcode in [TEXT, BINARY, PING, PONG, CLOSE] {
        server_fails(&server_frame(opcode, true, b""), Error::UnmaskedFrame, 1002);
    }
}

#[test]
fn masked_frame_to_a_client_fails_with_1002() {
    for opcode in [TEXT, BINARY, PING, PONG, CLOSE] {
        client_fails(&client_frame(opcode, true, b""), Error::MaskedFrame, 1002);
    }
}

#[test]
fn control_frame_with_125_byte_payload_is_accepted() {
    let mut conn = server_with(control_events());
    let data = payload(125);
    assert_eq!(feed(&mut conn, &client_frame(PING, true, &data)), [Ev::Ping(data.clone())]);
    let frames = output_frames(&mut conn);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].payload, data);
}

#[test]
fn ping_with_126_byte_payload_fails_with_1002() {
    server_fails(&client_frame(PING, true, &payload(126)), Error::ControlFrameTooLong, 1002);
}

#[test]
fn pong_and_close_with_126_byte_payload_fail_with_1002() {
    server_fails(&client_frame(PONG, true, &payload(126)), Error::ControlFrameTooLong, 1002);
    let mut close = close_payload(1000, &[b'a'; 124]);
    assert_eq!(close.len(), 126);
    server_fails(&client_frame(CLOSE, true, &close), Error::ControlFrameTooLong, 1002);
    close.truncate(125);
    let mut conn = server();
    assert_eq!(feed(&mut conn, &client_frame(CLOSE, true, &close)), [Ev::close(1000, &"a".repeat(123))]);
}

#[test]
fn control_frame_with_64_bit_length_fails_before_the_length_arrives() {
    let mut conn = server();
    let events = feed(&mut conn, &[0x89, 0x80 | 127]);
    assert_failed_with(&mut conn, &events, Error::ControlFrameTooLong, 1002);
}

#[test]
fn control_frame_without_fin_fails_with_1002() {
    for opcode in [PING, PONG, CLOSE] {
        server_fails(&client_frame(opcode, false, b"x"), Error::FragmentedControlFrame, 1002);
        client_fails(&server_frame(opcode, false, b"x"), Error::FragmentedControlFrame, 1002);
    }
}

#[test]
fn header_declaring_2_pow_62_bytes_fails_with_1009_before_any_payload() {
    let mut conn = server();
    let h = header(true, 0, BINARY, Some(KEY), 1 << 62);
    assert_eq!(h.len(), 14);
    let events = feed(&mut conn, &h);
    assert_eq!(conn.buffered_bytes(), 0);
    assert_failed_with(&mut conn, &events, Error::FrameTooBig, 1009);
}

#[test]
fn header_declaring_more_than_max_frame_fails_with_1009_before_the_mask_key() {
    let config = Config { limits: Limits { max_frame: 1000, ..Limits::default() }, ..Config::default() };
    let mut conn = server_with(config);
    // The two length bytes suffice: the masking key has not been sent.
    let events = feed(&mut conn, &[0x82, 0x80 | 126, 0x03, 0xE9]);
    assert_failed_with(&mut conn, &events, Error::FrameTooBig, 1009);
}

#[test]
fn client_reads_unmasked_frames_of_every_length_encoding() {
    for len in [0usize, 125, 126, 65535, 65536] {
        let data = payload(len);
        let mut conn = client();
        assert_eq!(feed(&mut conn, &server_frame(BINARY, true, &data)), [Ev::binary(&data)]);
    }
}

#[test]
fn header_split_at_every_byte_is_read() {
    let data = payload(300);
    let frame = client_frame(BINARY, true, &data);
    for cut in 1..8 {
        let mut conn = server();
        let mut events = feed(&mut conn, &frame[..cut]);
        assert!(events.is_empty(), "cut {cut}: {events:?}");
        events.extend(feed(&mut conn, &frame[cut..]));
        assert_eq!(events, [Ev::binary(&data)], "cut {cut}");
    }
}

#[test]
fn masking_key_split_across_inputs_still_unmasks() {
    let frame = client_frame(TEXT, true, b"masked text");
    let mut conn = server();
    // 2 header bytes, then the key in two halves, then the payload.
    let events = feed_in_pieces(&mut conn, &frame, &[2, 4, 6, 9]);
    assert_eq!(events, [Ev::text("masked text")]);
}

#[test]
fn close_frame_written_by_a_failing_client_is_masked() {
    let mut conn = client();
    let events = feed(&mut conn, &server_frame(0x3, true, b""));
    assert_eq!(events, [Ev::Error(Error::ReservedOpcode(3))]);
    let frames = output_frames(&mut conn);
    assert_eq!(frames.len(), 1);
    assert!(frames[0].mask.is_some());
    assert_eq!(frames[0].opcode, Opcode::Close);
    assert_eq!(frames[0].close_code(), Some(1002));
}
