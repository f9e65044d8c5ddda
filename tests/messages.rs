//! Messages (RFC 6455 §5.4, §5.6): reassembly of fragments, control frames
//! between fragments, fragmentation errors, empty messages and fragments,
//! zero-copy delivery, and streaming mode.

mod common;

use common::*;
use ews::Error;
use ews::proto::{Opcode, State};

#[test]
fn single_frame_text_and_binary_messages_are_delivered() {
    let mut conn = server();
    let input = concat(&[client_frame(TEXT, true, "héllo".as_bytes()), client_frame(BINARY, true, &[0, 255, 7])]);
    assert_eq!(feed(&mut conn, &input), [Ev::text("héllo"), Ev::binary(&[0, 255, 7])]);
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn fragmented_text_message_is_reassembled() {
    let mut conn = server();
    let input = concat(&[
        client_frame(TEXT, false, b"Hel"),
        client_frame(CONT, false, b"lo, "),
        client_frame(CONT, true, b"world"),
    ]);
    assert_eq!(feed(&mut conn, &input), [Ev::text("Hello, world")]);
}

#[test]
fn fragmented_binary_message_is_reassembled_across_inputs() {
    let mut conn = server();
    let a = client_frame(BINARY, false, &[1; 100]);
    let b = client_frame(CONT, false, &[2; 1000]);
    let c = client_frame(CONT, true, &[3; 10]);
    assert!(feed(&mut conn, &a).is_empty());
    assert!(feed(&mut conn, &b).is_empty());
    let mut expected = vec![1; 100];
    expected.extend_from_slice(&[2; 1000]);
    expected.extend_from_slice(&[3; 10]);
    assert_eq!(feed(&mut conn, &c), [Ev::binary(&expected)]);
}

#[test]
fn ping_between_fragments_is_answered_and_reported_in_wire_order() {
    let mut conn = server_with(control_events());
    let input = concat(&[
        client_frame(TEXT, false, b"frag"),
        client_frame(PING, true, b"are you there"),
        client_frame(CONT, true, b"mented"),
    ]);
    assert_eq!(feed(&mut conn, &input), [Ev::Ping(b"are you there".to_vec()), Ev::text("fragmented")]);
    let frames = output_frames(&mut conn);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, Opcode::Pong);
    assert_eq!(frames[0].payload, b"are you there");
}

#[test]
fn pong_between_fragments_is_reported_and_the_message_completes() {
    let mut conn = server_with(control_events());
    let input = concat(&[
        client_frame(BINARY, false, b"ab"),
        client_frame(PONG, true, b"beat"),
        client_frame(CONT, false, b"cd"),
        client_frame(PONG, true, b""),
        client_frame(CONT, true, b"ef"),
    ]);
    assert_eq!(feed(&mut conn, &input), [Ev::Pong(b"beat".to_vec()), Ev::Pong(Vec::new()), Ev::binary(b"abcdef")]);
    assert!(take_output(&mut conn).is_empty());
}

#[test]
fn control_frame_split_across_inputs_between_fragments_is_delivered() {
    let mut conn = server_with(control_events());
    let input = concat(&[
        client_frame(TEXT, false, b"one "),
        client_frame(PING, true, b"split ping"),
        client_frame(CONT, true, b"two"),
    ]);
    // Cut inside the first fragment's payload, inside the ping and inside
    // the last fragment.
    let events = feed_in_pieces(&mut conn, &input, &[8, 16, 22, 30]);
    assert_eq!(events, [Ev::Ping(b"split ping".to_vec()), Ev::text("one two")]);
    assert_eq!(output_frames(&mut conn)[0].payload, b"split ping");
}

#[test]
fn close_between_fragments_ends_the_connection() {
    let mut conn = server();
    let input = concat(&[
        client_frame(TEXT, false, b"never "),
        client_frame(CLOSE, true, &close_payload(1001, b"going")),
        client_frame(CONT, true, b"finished"),
    ]);
    assert_eq!(feed(&mut conn, &input), [Ev::close(1001, "going")]);
    assert_eq!(conn.state(), State::Closed);
    let frames = output_frames(&mut conn);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].close_code(), Some(1001));
}

#[test]
fn continuation_without_a_start_fails_with_1002() {
    server_fails(&client_frame(CONT, true, b"orphan"), Error::UnexpectedContinuation, 1002);
    server_fails(&client_frame(CONT, false, b"orphan"), Error::UnexpectedContinuation, 1002);
}

#[test]
fn continuation_after_a_finished_message_fails_with_1002() {
    let mut conn = server();
    let input = concat(&[client_frame(TEXT, true, b"done"), client_frame(CONT, true, b"more")]);
    let events = feed(&mut conn, &input);
    assert_eq!(events[0], Ev::text("done"));
    assert_failed_with(&mut conn, &events, Error::UnexpectedContinuation, 1002);
}

#[test]
fn new_text_frame_during_a_fragmented_message_fails_with_1002() {
    let mut conn = server();
    let input = concat(&[client_frame(BINARY, false, b"start"), client_frame(TEXT, true, b"intruder")]);
    let events = feed(&mut conn, &input);
    assert_eq!(events, [Ev::Error(Error::ExpectedContinuation)]);
    assert_failed_with(&mut conn, &events, Error::ExpectedContinuation, 1002);
}

#[test]
fn new_binary_frame_during_a_fragmented_message_fails_with_1002() {
    let mut conn = server();
    let input = concat(&[client_frame(TEXT, false, b"start"), client_frame(BINARY, false, b"intruder")]);
    let events = feed(&mut conn, &input);
    assert_failed_with(&mut conn, &events, Error::ExpectedContinuation, 1002);
}

#[test]
fn zero_length_messages_are_delivered() {
    let mut conn = server();
    let input = concat(&[client_frame(TEXT, true, b""), client_frame(BINARY, true, b"")]);
    assert_eq!(feed(&mut conn, &input), [Ev::text(""), Ev::binary(b"")]);
}

#[test]
fn zero_length_fragments_are_accepted_anywhere_in_a_message() {
    let mut conn = server();
    let input = concat(&[
        client_frame(TEXT, false, b""),
        client_frame(CONT, false, b"a"),
        client_frame(CONT, false, b""),
        client_frame(CONT, false, b"b"),
        client_frame(CONT, true, b""),
    ]);
    assert_eq!(feed(&mut conn, &input), [Ev::text("ab")]);
}

#[test]
fn message_of_zero_length_fragments_only_is_empty() {
    let mut conn = server();
    let input =
        concat(&[client_frame(BINARY, false, b""), client_frame(CONT, false, b""), client_frame(CONT, true, b"")]);
    assert_eq!(feed(&mut conn, &input), [Ev::binary(b"")]);
}

#[test]
fn message_that_arrived_whole_is_lent_from_the_input_without_copying() {
    let mut conn = server();
    let mut input = concat(&[client_frame(TEXT, true, b"no copy please"), client_frame(BINARY, true, &[5; 300])]);
    let range = input.as_ptr_range();
    let (start, end) = (range.start as usize, range.end as usize);
    let first_len;
    {
        let progress = conn.feed(&mut input);
        first_len = progress.consumed;
        let Some(ews::proto::Event::Message { text: true, data }) = progress.event else {
            panic!("expected a text message: {:?}", progress.event);
        };
        assert_eq!(data, b"no copy please");
        let p = data.as_ptr() as usize;
        assert!(p >= start && p + data.len() <= end, "data lies inside the input");
    }
    assert_eq!(conn.buffered_bytes(), 0);
    let progress = conn.feed(&mut input[first_len..]);
    let Some(ews::proto::Event::Message { text: false, data }) = progress.event else {
        panic!("expected a binary message");
    };
    let p = data.as_ptr() as usize;
    assert!(p >= start && p + data.len() <= end, "data lies inside the input");
    assert_eq!(data, &[5; 300][..]);
}

#[test]
fn message_whose_header_came_alone_is_lent_from_the_next_input() {
    let mut conn = server();
    let frame = client_frame(BINARY, true, &[42; 64]);
    assert!(feed(&mut conn, &frame[..6]).is_empty());
    let mut rest = frame[6..].to_vec();
    let range = rest.as_ptr_range();
    let progress = conn.feed(&mut rest);
    let Some(ews::proto::Event::Message { data, .. }) = progress.event else { panic!("expected a message") };
    assert!(range.contains(&data.as_ptr()), "payload lent from the input");
    assert_eq!(data, &[42; 64][..]);
}

#[test]
fn reassembled_message_is_followed_by_a_nul_in_memory() {
    let mut conn = server();
    let input = concat(&[client_frame(TEXT, false, b"frag"), client_frame(CONT, true, b"mented")]);
    let mut input = input;
    let mut pos = 0;
    loop {
        let progress = conn.feed(&mut input[pos..]);
        pos += progress.consumed;
        if let Some(ews::proto::Event::Message { data, .. }) = progress.event {
            assert_eq!(data, b"fragmented");
            // SAFETY: the documented NUL lies one byte past the data, inside
            // the connection's buffer.
            let after = unsafe { *data.as_ptr().add(data.len()) };
            assert_eq!(after, 0);
            break;
        }
        assert!(pos < input.len(), "no message");
    }
}

#[test]
fn messages_in_one_input_are_delivered_in_wire_order() {
    let mut conn = server();
    let frames: Vec<Vec<u8>> = (0..10).map(|i| client_frame(TEXT, true, format!("m{i}").as_bytes())).collect();
    let expected: Vec<Ev> = (0..10).map(|i| Ev::text(&format!("m{i}"))).collect();
    assert_eq!(feed(&mut conn, &concat(&frames)), expected);
}

#[test]
fn feed_takes_bytes_only_up_to_the_event() {
    let mut conn = server();
    let a = client_frame(TEXT, true, b"first");
    let mut input = concat(&[a.clone(), client_frame(TEXT, true, b"second")]);
    let progress = conn.feed(&mut input);
    assert_eq!(progress.consumed, a.len());
    assert!(matches!(progress.event, Some(ews::proto::Event::Message { data: b"first", .. })));
}

#[test]
fn streaming_delivers_each_frame_as_a_fragment_with_first_and_last_flags() {
    let mut conn = server_with(streaming());
    let input = concat(&[
        client_frame(TEXT, false, b"one"),
        client_frame(CONT, false, b"two"),
        client_frame(CONT, true, b"three"),
        client_frame(BINARY, true, b"whole"),
    ]);
    assert_eq!(
        feed(&mut conn, &input),
        [
            Ev::fragment(true, b"one", true, false),
            Ev::fragment(true, b"two", false, false),
            Ev::fragment(true, b"three", false, true),
            Ev::fragment(false, b"whole", true, true),
        ]
    );
    assert_eq!(conn.buffered_bytes(), 0);
}

#[test]
fn streaming_delivers_a_frame_split_across_inputs_in_pieces_and_never_buffers() {
    let mut conn = server_with(streaming());
    let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    let frame = client_frame(BINARY, true, &data);
    let mut events = Vec::new();
    for chunk in frame.chunks(500) {
        events.extend(feed(&mut conn, chunk));
        assert_eq!(conn.buffered_bytes(), 0);
    }
    assert!(events.len() >= 6, "{} pieces", events.len());
    let mut joined = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let Ev::Fragment { text: false, data, first, last } = e else { panic!("not a binary fragment: {e:?}") };
        assert_eq!(*first, i == 0, "first flag of piece {i}");
        assert_eq!(*last, i == events.len() - 1, "last flag of piece {i}");
        joined.extend_from_slice(data);
    }
    assert_eq!(joined, data);
}

#[test]
fn streaming_message_larger_than_the_buffer_start_size_is_never_buffered() {
    let mut conn = server_with(streaming());
    let input = concat(&[client_frame(TEXT, false, &[b'a'; 20000]), client_frame(CONT, true, &[b'b'; 20000])]);
    let mut total = 0;
    for chunk in input.chunks(777) {
        for e in feed(&mut conn, chunk) {
            let Ev::Fragment { data, .. } = e else { panic!("{e:?}") };
            total += data.len();
        }
        assert_eq!(conn.buffered_bytes(), 0);
    }
    assert_eq!(total, 40000);
}

#[test]
fn streaming_zero_length_message_is_one_first_and_last_fragment() {
    let mut conn = server_with(streaming());
    assert_eq!(feed(&mut conn, &client_frame(TEXT, true, b"")), [Ev::fragment(true, b"", true, true)]);
}

#[test]
fn streaming_empty_final_continuation_is_a_last_fragment() {
    let mut conn = server_with(streaming());
    let input = concat(&[client_frame(BINARY, false, b"ab"), client_frame(CONT, true, b"")]);
    assert_eq!(
        feed(&mut conn, &input),
        [Ev::fragment(false, b"ab", true, false), Ev::fragment(false, b"", false, true)]
    );
}

#[test]
fn streaming_fragment_pieces_are_lent_from_the_input() {
    let mut conn = server_with(streaming());
    let mut input = client_frame(BINARY, true, &[1; 50]);
    let range = input.as_ptr_range();
    let progress = conn.feed(&mut input);
    let Some(ews::proto::Event::Fragment { data, first: true, last: true, .. }) = progress.event else {
        panic!("expected a fragment")
    };
    assert!(range.contains(&data.as_ptr()));
}

#[test]
fn streaming_interleaves_control_frames_between_fragments() {
    let mut conn = server_with(ews::proto::Config { streaming: true, control_events: true, ..Default::default() });
    let input =
        concat(&[client_frame(TEXT, false, b"a"), client_frame(PING, true, b"p"), client_frame(CONT, true, b"b")]);
    assert_eq!(
        feed(&mut conn, &input),
        [Ev::fragment(true, b"a", true, false), Ev::Ping(b"p".to_vec()), Ev::fragment(true, b"b", false, true)]
    );
}

#[test]
fn message_buffer_is_released_once_the_message_is_delivered() {
    let mut conn = server();
    let frame = client_frame(BINARY, true, &[7; 5000]);
    assert!(feed(&mut conn, &frame[..1000]).is_empty());
    assert!(conn.buffered_bytes() > 0);
    assert_eq!(feed(&mut conn, &frame[1000..]), [Ev::binary(&[7; 5000])]);
    assert!(feed(&mut conn, &client_frame(TEXT, true, b"next")).len() == 1);
    assert_eq!(conn.buffered_bytes(), 0);
}
