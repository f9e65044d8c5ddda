//! Size limits: `max_frame` and `max_message` (close code 1009), checked at
//! N-1, N and N+1, on declared lengths, and a receive buffer that grows only
//! as bytes arrive.

mod common;

use common::*;
use ews::Error;
use ews::proto::{Config, Connection, Limits, Role};

const N: u64 = 1000;

fn with_limits(limits: Limits) -> Config {
    Config { limits, ..Config::default() }
}

fn frame_limit(n: u64) -> Config {
    with_limits(Limits { max_frame: n, ..Limits::default() })
}

fn message_limit(n: u64) -> Config {
    with_limits(Limits { max_message: n, ..Limits::default() })
}

#[test]
fn frame_of_max_frame_minus_one_and_max_frame_bytes_is_accepted() {
    for len in [N - 1, N] {
        let data = vec![b'a'; len as usize];
        let mut conn = server_with(frame_limit(N));
        assert_eq!(feed(&mut conn, &client_frame(BINARY, true, &data)), [Ev::binary(&data)], "len {len}");
    }
}

#[test]
fn frame_of_max_frame_plus_one_bytes_fails_with_1009() {
    let mut conn = server_with(frame_limit(N));
    let events = feed(&mut conn, &client_frame(BINARY, true, &vec![0; N as usize + 1]));
    assert_failed_with(&mut conn, &events, Error::FrameTooBig, 1009);
}

#[test]
fn frame_over_max_frame_fails_on_its_header_alone() {
    let mut conn = server_with(frame_limit(N));
    let events = feed(&mut conn, &header(true, 0, TEXT, Some(KEY), N + 1));
    assert_failed_with(&mut conn, &events, Error::FrameTooBig, 1009);
    assert_eq!(conn.buffered_bytes(), 0);
}

#[test]
fn max_frame_applies_to_each_fragment() {
    let config =
        Config { limits: Limits { max_frame: 10, max_message: 100, ..Limits::default() }, ..Config::default() };
    let mut conn = server_with(config.clone());
    let ok = concat(&[client_frame(TEXT, false, &[b'a'; 10]), client_frame(CONT, true, &[b'b'; 10])]);
    assert_eq!(feed(&mut conn, &ok).len(), 1);
    let mut conn = server_with(config);
    let bad = concat(&[client_frame(TEXT, false, &[b'a'; 10]), client_frame(CONT, true, &[b'b'; 11])]);
    let events = feed(&mut conn, &bad);
    assert_failed_with(&mut conn, &events, Error::FrameTooBig, 1009);
}

#[test]
fn single_frame_message_of_max_message_bytes_is_accepted_and_one_more_fails_with_1009() {
    for len in [N - 1, N] {
        let mut conn = server_with(message_limit(N));
        let data = vec![b'x'; len as usize];
        assert_eq!(feed(&mut conn, &client_frame(TEXT, true, &data)).len(), 1, "len {len}");
    }
    let mut conn = server_with(message_limit(N));
    let events = feed(&mut conn, &client_frame(TEXT, true, &vec![b'x'; N as usize + 1]));
    assert_failed_with(&mut conn, &events, Error::MessageTooBig, 1009);
}

fn fragmented(total: usize, pieces: usize) -> Vec<u8> {
    let per = total / pieces;
    let mut frames = Vec::new();
    let mut left = total;
    for i in 0..pieces {
        let len = if i == pieces - 1 { left } else { per };
        left -= len;
        let opcode = if i == 0 { BINARY } else { CONT };
        frames.push(client_frame(opcode, i == pieces - 1, &vec![i as u8; len]));
    }
    concat(&frames)
}

#[test]
fn fragmented_message_of_max_message_bytes_is_accepted() {
    for total in [N as usize - 1, N as usize] {
        let mut conn = server_with(message_limit(N));
        let events = feed(&mut conn, &fragmented(total, 4));
        assert_eq!(events.len(), 1, "total {total}: {events:?}");
        let Ev::Message { data, .. } = &events[0] else { panic!("{events:?}") };
        assert_eq!(data.len(), total);
    }
}

#[test]
fn message_limit_counts_all_fragments() {
    let mut conn = server_with(message_limit(N));
    let events = feed(&mut conn, &fragmented(N as usize + 1, 4));
    assert_eq!(events, [Ev::Error(Error::MessageTooBig)]);
    assert_failed_with(&mut conn, &events, Error::MessageTooBig, 1009);
}

#[test]
fn message_limit_is_checked_on_the_declared_length_of_the_last_fragment() {
    let mut conn = server_with(message_limit(N));
    let first = client_frame(TEXT, false, &vec![b'a'; N as usize - 10]);
    assert!(feed(&mut conn, &first).is_empty());
    // A continuation declaring 11 more bytes fails on its header.
    let events = feed(&mut conn, &header(true, 0, CONT, Some(KEY), 11));
    assert_failed_with(&mut conn, &events, Error::MessageTooBig, 1009);
}

#[test]
fn message_limit_applies_in_streaming_mode() {
    let config = Config { streaming: true, ..message_limit(N) };
    let mut conn = server_with(config.clone());
    let events = feed(&mut conn, &fragmented(N as usize, 3));
    assert_eq!(events.len(), 3);
    let mut conn = server_with(config);
    let events = feed(&mut conn, &fragmented(N as usize + 1, 3));
    assert_eq!(events.len(), 3, "two pieces, then the error: {events:?}");
    assert_failed_with(&mut conn, &events, Error::MessageTooBig, 1009);
}

#[test]
fn control_frames_between_fragments_do_not_count_towards_the_message() {
    let mut conn = server_with(message_limit(10));
    let input = concat(&[
        client_frame(TEXT, false, b"12345"),
        client_frame(PING, true, &[b'p'; 100]),
        client_frame(CONT, true, b"67890"),
    ]);
    assert_eq!(feed(&mut conn, &input), [Ev::text("1234567890")]);
}

#[test]
fn client_applies_the_limits_to_server_frames() {
    let mut conn = Connection::open(Role::Client, frame_limit(N)).unwrap();
    let events = feed(&mut conn, &header(true, 0, BINARY, None, N + 1));
    assert_failed_with(&mut conn, &events, Error::FrameTooBig, 1009);
}

#[test]
fn buffer_holds_only_what_arrived_of_a_frame_declaring_1_mib() {
    let mut conn = server();
    assert_eq!(conn.config().limits.max_frame, 1 << 20);
    let mut input = header(true, 0, BINARY, Some(KEY), 1 << 20);
    input.extend_from_slice(&[0; 10]);
    assert!(feed(&mut conn, &input).is_empty());
    assert!(conn.buffered_bytes() <= 4096, "buffered {} bytes", conn.buffered_bytes());
    assert_eq!(conn.buffered_bytes(), 10);
}

#[test]
fn buffer_grows_with_the_bytes_that_arrive() {
    let mut conn = server();
    let data = vec![9u8; 100_000];
    let frame = client_frame(BINARY, true, &data);
    let mut fed = 0;
    for chunk in frame.chunks(10_000) {
        let events = feed(&mut conn, chunk);
        fed += chunk.len();
        if fed < frame.len() {
            assert!(events.is_empty());
            assert!(conn.buffered_bytes() <= fed, "buffered {} of {fed} fed", conn.buffered_bytes());
        } else {
            assert_eq!(events, [Ev::binary(&data)]);
        }
    }
}

#[test]
fn zero_size_limits_are_refused() {
    for limits in [
        Limits { max_frame: 0, ..Limits::default() },
        Limits { max_message: 0, ..Limits::default() },
        Limits { max_handshake_bytes: 0, ..Limits::default() },
        Limits { max_handshake_headers: 0, ..Limits::default() },
    ] {
        let config = with_limits(limits);
        assert!(matches!(Connection::open(Role::Server, config.clone()), Err(Error::Invalid(_))));
        assert!(matches!(Connection::server(config, Default::default()), Err(Error::Invalid(_))));
    }
}
