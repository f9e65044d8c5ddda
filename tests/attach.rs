//! The socket-attach API (`ews::attach`): WebSocket on a connected byte
//! stream with deadlines, as libdill's `ws_*` family, without its faults.
//!
//! Both ends run over socketpairs (or pipe pairs) in the test process; a
//! raw peer built from `common`'s frame helpers plays the misbehaving or
//! slow side where one is needed. Every wait is bounded.

mod common;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;

use common::*;
use ews::Error;
use ews::attach::{ServerHandshake, WsSocket};
use ews::io::stream::{Deadline, FdStream, now_ms};
use ews::proto::handshake::client::ClientOptions;
use ews::proto::{Config, Limits};

const SOON: u64 = 5000;

fn soon() -> Deadline {
    Deadline::after(SOON)
}

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    for s in [&a, &b] {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    }
    (a, b)
}

fn stream_of(s: &UnixStream) -> FdStream {
    FdStream::attach(s.as_raw_fd(), s.as_raw_fd()).unwrap()
}

fn client_options() -> ClientOptions {
    ClientOptions { resource: "/chat?room=1".into(), host: "example.com".into(), ..ClientOptions::default() }
}

fn server_handshake() -> ServerHandshake {
    ServerHandshake { max_resource_len: usize::MAX, max_host_len: usize::MAX, ..ServerHandshake::default() }
}

/// A client and a server attached to the two ends of a socketpair, the
/// handshake done (the server in a thread).
fn connected(text: bool) -> (WsSocket, WsSocket, UnixStream, UnixStream) {
    connected_with(text, Config::default())
}

fn connected_with(text: bool, config: Config) -> (WsSocket, WsSocket, UnixStream, UnixStream) {
    let (a, b) = pair();
    let sfd = stream_of(&b);
    let server_config = config.clone();
    let server = thread::spawn(move || {
        let mut s = WsSocket::server(sfd, text, server_config, Some(server_handshake())).unwrap();
        s.handshake(soon()).unwrap();
        s
    });
    let mut c = WsSocket::client(stream_of(&a), text, config, Some(&client_options())).unwrap();
    c.handshake(soon()).unwrap();
    let s = server.join().unwrap();
    (c, s, a, b)
}

/// A client attached to one end; the test plays the server on the other
/// with raw bytes (the 101 already sent and the request read).
fn client_with_raw_server(extra: &str) -> (WsSocket, UnixStream, UnixStream) {
    let (a, mut b) = pair();
    let mut c = WsSocket::client(stream_of(&a), true, Config::default(), Some(&client_options())).unwrap();
    assert_eq!(c.handshake(Deadline::NOW), Err(Error::Deadline));
    let req = read_head(&mut b);
    let key = req.one("sec-websocket-key").to_owned();
    b.write_all(switching_response(&key, extra).as_bytes()).unwrap();
    c.handshake(soon()).unwrap();
    (c, a, b)
}

fn read_head(s: &mut UnixStream) -> Http {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        buf.push(byte[0]);
    }
    parse_request(&buf)
}

/// Reads one whole frame from a raw socket.
fn read_frame(s: &mut UnixStream) -> WireFrame {
    let mut head = vec![0u8; 2];
    s.read_exact(&mut head).unwrap();
    let extra = match head[1] & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    } + if head[1] & 0x80 != 0 { 4 } else { 0 };
    let mut rest = vec![0u8; extra];
    s.read_exact(&mut rest).unwrap();
    head.extend_from_slice(&rest);
    let len = match head[1] & 0x7f {
        126 => u16::from_be_bytes([head[2], head[3]]) as usize,
        127 => u64::from_be_bytes(head[2..10].try_into().unwrap()) as usize,
        n => n as usize,
    };
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).unwrap();
    head.extend_from_slice(&payload);
    decode_frames(&head).remove(0)
}

fn recv_text(s: &mut WsSocket) -> String {
    let mut buf = vec![0u8; 1 << 16];
    let got = s.recv(&mut buf, None, soon()).unwrap();
    assert!(got.text);
    String::from_utf8(buf[..got.len].to_vec()).unwrap()
}

#[test]
fn handshake_over_a_socketpair_gives_the_server_the_resource_and_host() {
    let (mut c, mut s, _a, _b) = connected(true);
    assert_eq!(s.resource(), Some("/chat?room=1"));
    assert_eq!(s.host(), Some("example.com"));
    c.send_typed(b"hello", soon()).unwrap();
    assert_eq!(recv_text(&mut s), "hello");
    s.send(false, false, &[1, 2, 3], soon()).unwrap();
    let mut buf = [0u8; 8];
    let got = c.recv(&mut buf, None, soon()).unwrap();
    assert_eq!((got.len, got.text, &buf[..3]), (3, false, &[1u8, 2, 3][..]));
}

#[test]
fn typed_receive_of_the_other_type_is_refused_and_the_message_stays() {
    let (mut c, mut s, _a, _b) = connected(true);
    c.send(false, false, b"\x00\x01", soon()).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(s.recv(&mut buf, Some(true), soon()), Err(Error::WrongMessageType));
    let got = s.recv(&mut buf, None, soon()).unwrap();
    assert_eq!((got.len, got.text), (2, false));
}

#[test]
fn a_message_larger_than_the_buffer_stays_queued_and_can_be_taken_in_pieces() {
    let (mut c, mut s, _a, _b) = connected(false);
    let big: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    c.send_typed(&big, soon()).unwrap();
    let mut small = [0u8; 1000];
    assert_eq!(s.recv(&mut small, None, soon()), Err(Error::BufferTooSmall));
    assert_eq!(s.peek(soon()).unwrap(), (100_000, false));
    let mut got = Vec::new();
    loop {
        let part = s.recv_part(&mut small, soon()).unwrap();
        got.extend_from_slice(&small[..part.len]);
        if !part.more {
            break;
        }
    }
    assert_eq!(got, big);
}

#[test]
fn the_rest_of_a_partly_taken_message_fits_a_smaller_buffer() {
    let (mut c, mut s, _a, _b) = connected(false);
    c.send_typed(&[7u8; 300], soon()).unwrap();
    let mut buf = [0u8; 200];
    assert_eq!(s.recv_part(&mut buf, soon()).unwrap().len, 200);
    assert_eq!(s.peek(soon()).unwrap().0, 100);
    assert_eq!(s.recv(&mut buf, None, soon()).unwrap().len, 100);
}

#[test]
fn recv_with_deadline_zero_times_out_and_keeps_half_a_frame() {
    let (mut c, _a, mut b) = client_with_raw_server("");
    let frame = server_frame(TEXT, true, b"split in two");
    b.write_all(&frame[..5]).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(c.recv(&mut buf, None, Deadline::NOW), Err(Error::Deadline));
    b.write_all(&frame[5..]).unwrap();
    let got = c.recv(&mut buf, None, soon()).unwrap();
    assert_eq!(&buf[..got.len], b"split in two");
}

#[test]
fn recv_with_a_finite_deadline_waits_about_that_long() {
    let (mut c, _s, _a, _b) = connected(true);
    let start = now_ms();
    let mut buf = [0u8; 16];
    assert_eq!(c.recv(&mut buf, None, Deadline::after(150)), Err(Error::Deadline));
    let took = now_ms() - start;
    assert!((145..3000).contains(&took), "waited {took} ms");
}

#[test]
fn recv_without_deadline_waits_for_a_late_message() {
    let (mut c, mut s, _a, _b) = connected(true);
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        s.send_typed(b"late", soon()).unwrap();
        s
    });
    let mut buf = [0u8; 16];
    let got = c.recv(&mut buf, None, Deadline::NEVER).unwrap();
    assert_eq!(&buf[..got.len], b"late");
    sender.join().unwrap();
}

#[test]
fn send_to_a_peer_that_does_not_read_times_out_without_losing_or_repeating_messages() {
    let limits = Limits { send_queue_bytes: 4096, ..Limits::default() };
    let (mut c, mut s, _a, _b) = connected_with(false, Config { limits, ..Config::default() });
    let message = |i: u32| -> Vec<u8> { [&i.to_be_bytes()[..], &[0xab; 1000][..]].concat() };
    let mut sent = 0u32;
    let mut timeouts = 0;
    // Fill the socket buffers until a send is refused, then keep trying
    // with deadline 0 while the peer reads everything.
    while timeouts == 0 {
        match c.send_typed(&message(sent), Deadline::after(20)) {
            Ok(()) => sent += 1,
            Err(Error::Deadline) => timeouts += 1,
            Err(e) => panic!("{e}"),
        }
        assert!(sent < 100_000, "the peer's buffers never filled");
    }
    let total = sent + 50;
    let reader = thread::spawn(move || {
        let mut buf = vec![0u8; 2000];
        for i in 0..total {
            let got = s.recv(&mut buf, None, soon()).unwrap();
            assert_eq!(&buf[..got.len], &message(i)[..], "message {i}");
        }
        s
    });
    while sent < total {
        match c.send_typed(&message(sent), Deadline::NOW) {
            Ok(()) => sent += 1,
            Err(Error::Deadline) => thread::sleep(Duration::from_millis(1)),
            Err(e) => panic!("{e}"),
        }
    }
    c.flush(soon()).unwrap();
    reader.join().unwrap();
}

#[test]
fn a_message_taken_when_the_deadline_passes_is_finished_by_the_next_call() {
    let (mut c, mut s, _a, _b) = connected_with(false, Config { limits: big_limits(), ..Config::default() });
    let big = vec![0x5a; 4 << 20];
    // Nothing reads yet: the message is taken, partly written, and the call
    // returns at its deadline with the rest queued.
    c.send_typed(&big, Deadline::after(50)).unwrap();
    assert!(!c.connection().pending_output().is_empty());
    let reader = thread::spawn(move || {
        let mut buf = vec![0u8; 5 << 20];
        let got = s.recv(&mut buf, None, soon()).unwrap();
        assert_eq!(got.len, 4 << 20);
        assert!(buf[..got.len].iter().all(|&b| b == 0x5a));
        s
    });
    c.flush(soon()).unwrap();
    reader.join().unwrap();
}

fn big_limits() -> Limits {
    Limits { max_frame: 32 << 20, max_message: 32 << 20, ..Limits::default() }
}

#[test]
fn a_fragmented_send_arrives_as_one_message() {
    let (mut c, mut s, _a, _b) = connected(true);
    c.send(true, true, b"one ", soon()).unwrap();
    c.send(false, true, b"two ", soon()).unwrap(); // the type of later pieces is ignored
    c.send(false, false, b"three", soon()).unwrap();
    assert_eq!(recv_text(&mut s), "one two three");
}

#[test]
fn pings_are_answered_inside_recv_and_do_not_end_the_connection() {
    let (mut c, _a, mut b) = client_with_raw_server("");
    b.write_all(&concat(&[server_frame(PING, true, b"are you there"), server_frame(TEXT, true, b"after the ping")]))
        .unwrap();
    assert_eq!(recv_text(&mut c), "after the ping");
    let pong = read_frame(&mut b);
    assert_eq!((pong.opcode, pong.payload.as_slice()), (ews::proto::Opcode::Pong, &b"are you there"[..]));
    b.write_all(&server_frame(PONG, true, b"unsolicited")).unwrap();
    b.write_all(&server_frame(TEXT, true, b"still open")).unwrap();
    assert_eq!(recv_text(&mut c), "still open");
}

#[test]
fn connection_keep_alive_upgrade_is_accepted_by_the_client() {
    let (a, mut b) = pair();
    let mut c = WsSocket::client(stream_of(&a), true, Config::default(), Some(&client_options())).unwrap();
    let _ = c.handshake(Deadline::NOW);
    let key = read_head(&mut b).one("sec-websocket-key").to_owned();
    let resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_for(&key)
    );
    b.write_all(resp.as_bytes()).unwrap();
    c.handshake(soon()).unwrap();
}

#[test]
fn connection_keep_alive_upgrade_is_accepted_by_the_server() {
    let (mut a, b) = pair();
    let request = "GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    a.write_all(request.as_bytes()).unwrap();
    let mut s = WsSocket::server(stream_of(&b), true, Config::default(), Some(server_handshake())).unwrap();
    s.handshake(soon()).unwrap();
    let mut buf = [0u8; 512];
    let n = a.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&buf[..n]));
}

#[test]
fn attach_with_deadline_zero_finishes_the_handshake_later() {
    let (a, b) = pair();
    let mut c = WsSocket::client(stream_of(&a), true, Config::default(), Some(&client_options())).unwrap();
    assert_eq!(c.handshake(Deadline::NOW), Err(Error::Deadline));
    assert!(c.is_connecting());
    let mut s = WsSocket::server(stream_of(&b), true, Config::default(), Some(server_handshake())).unwrap();
    // The request is there; the server can answer without blocking.
    s.handshake(Deadline::NOW).unwrap();
    // The client's next call continues its handshake.
    c.send_typed(b"first", soon()).unwrap();
    assert!(!c.is_connecting());
    assert_eq!(recv_text(&mut s), "first");
}

#[test]
fn attach_times_out_against_a_server_that_never_answers() {
    let (a, _b) = pair();
    let mut c = WsSocket::client(stream_of(&a), true, Config::default(), Some(&client_options())).unwrap();
    let start = now_ms();
    assert_eq!(c.handshake(Deadline::after(100)), Err(Error::Deadline));
    assert!(now_ms() - start < 3000);
}

#[test]
fn detach_does_the_closing_handshake_and_gives_the_stream_back() {
    let (mut c, mut s, mut a, mut b) = connected(true);
    let server = thread::spawn(move || {
        let mut buf = [0u8; 16];
        assert_eq!(s.recv(&mut buf, None, soon()), Err(Error::Closed));
        assert_eq!(s.peer_close(), Some((4001, "bye now")));
        s.detach(0, "", soon()).unwrap();
        drop(s.into_stream());
    });
    c.detach(4001, "bye now", soon()).unwrap();
    assert_eq!(c.peer_close().map(|(code, _)| code), Some(4001));
    drop(c.into_stream());
    server.join().unwrap();
    // Both descriptors are usable for something else now.
    a.write_all(b"plain bytes").unwrap();
    let mut buf = [0u8; 11];
    b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"plain bytes");
}

#[test]
fn detach_times_out_and_continues_when_called_again() {
    let (mut c, _a, mut b) = client_with_raw_server("");
    assert_eq!(c.detach(1000, "done", Deadline::after(50)), Err(Error::Deadline));
    let close = read_frame(&mut b);
    assert_eq!((close.close_code(), close.close_reason()), (Some(1000), "done"));
    b.write_all(&server_frame(CLOSE, true, &close_payload(1000, b""))).unwrap();
    c.detach(1001, "not sent", soon()).unwrap();
    // No second close frame was sent.
    b.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 8];
    assert!(b.read(&mut buf).is_err());
}

#[test]
fn messages_arriving_during_detach_are_dropped() {
    let (mut c, _a, mut b) = client_with_raw_server("");
    b.write_all(&server_frame(TEXT, true, b"late news")).unwrap();
    b.write_all(&server_frame(CLOSE, true, &close_payload(1000, b""))).unwrap();
    c.detach(1000, "", soon()).unwrap();
}

#[test]
fn the_peers_close_code_and_reason_are_reported() {
    let (mut c, _a, mut b) = client_with_raw_server("");
    b.write_all(&server_frame(CLOSE, true, &close_payload(4321, b"see you"))).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(c.recv(&mut buf, None, soon()), Err(Error::Closed));
    assert_eq!(c.peer_close(), Some((4321, "see you")));
    let reply = read_frame(&mut b);
    assert_eq!(reply.close_code(), Some(4321));
    assert_eq!(c.send_typed(b"x", soon()), Err(Error::Closed));
    c.detach(1000, "", soon()).unwrap();
}

#[test]
fn a_peer_that_drops_the_stream_gives_dropped() {
    let (mut c, _a, b) = client_with_raw_server("");
    drop(b);
    let mut buf = [0u8; 8];
    assert_eq!(c.recv(&mut buf, None, soon()), Err(Error::Dropped));
    assert_eq!(c.detach(1000, "", soon()), Err(Error::Dropped));
}

#[test]
fn a_message_then_a_close_then_end_of_file_are_all_seen() {
    let (mut c, _a, mut b) = client_with_raw_server("");
    b.write_all(&concat(&[
        server_frame(TEXT, true, b"last words"),
        server_frame(CLOSE, true, &close_payload(1000, b"")),
    ]))
    .unwrap();
    drop(b);
    thread::sleep(Duration::from_millis(20));
    assert_eq!(recv_text(&mut c), "last words");
    let mut buf = [0u8; 8];
    assert_eq!(c.recv(&mut buf, None, soon()), Err(Error::Closed));
    assert_eq!(c.peer_close().map(|(code, _)| code), Some(1000));
}

#[test]
fn a_masked_frame_from_the_server_fails_with_1002() {
    let (mut c, _a, mut b) = client_with_raw_server("");
    b.write_all(&client_frame(TEXT, true, b"masked")).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(c.recv(&mut buf, None, soon()), Err(Error::MaskedFrame));
    assert_eq!(read_frame(&mut b).close_code(), Some(1002));
}

#[test]
fn a_pipe_pair_carries_a_websocket() {
    let (c_read, s_write) = pipe();
    let (s_read, c_write) = pipe();
    let server = thread::spawn(move || {
        let io = FdStream::attach(s_read, s_write).unwrap();
        let mut s = WsSocket::server(io, true, Config::default(), None).unwrap();
        let msg = recv_text(&mut s);
        s.send_typed(format!("echo: {msg}").as_bytes(), soon()).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(s.recv(&mut buf, None, soon()), Err(Error::Closed));
        s.detach(0, "", soon()).unwrap();
    });
    let io = FdStream::attach(c_read, c_write).unwrap();
    let mut c = WsSocket::client(io, true, Config::default(), None).unwrap();
    c.send_typed(b"through pipes", soon()).unwrap();
    assert_eq!(recv_text(&mut c), "echo: through pipes");
    c.detach(1000, "", soon()).unwrap();
    server.join().unwrap();
    for fd in [c_read, s_write, s_read, c_write] {
        // SAFETY: the test owns these descriptors.
        unsafe { libc::close(fd) };
    }
}

fn pipe() -> (i32, i32) {
    let mut fds = [0; 2];
    // SAFETY: room for two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    (fds[0], fds[1])
}

#[test]
fn a_resource_longer_than_the_servers_buffer_is_refused_with_414() {
    let (a, b) = pair();
    let mut c = WsSocket::client(
        stream_of(&a),
        true,
        Config::default(),
        Some(&ClientOptions { resource: format!("/{}", "r".repeat(100)), ..client_options() }),
    )
    .unwrap();
    let _ = c.handshake(Deadline::NOW);
    let opts = ServerHandshake { max_resource_len: 50, max_host_len: 50, ..ServerHandshake::default() };
    let mut s = WsSocket::server(stream_of(&b), true, Config::default(), Some(opts)).unwrap();
    assert_eq!(s.handshake(soon()), Err(Error::BufferTooSmall));
    assert_eq!(c.handshake(soon()), Err(Error::Handshake(ews::error::HandshakeError::NotSwitching(414))));
}

#[test]
fn the_server_picks_the_first_supported_subprotocol_the_client_offered() {
    let (a, b) = pair();
    let offer = ClientOptions { protocols: vec!["v1".into(), "v2".into()], ..client_options() };
    let mut c = WsSocket::client(stream_of(&a), true, Config::default(), Some(&offer)).unwrap();
    let _ = c.handshake(Deadline::NOW);
    let opts = ServerHandshake { protocols: vec!["v2".into(), "v1".into()], ..server_handshake() };
    let mut s = WsSocket::server(stream_of(&b), true, Config::default(), Some(opts)).unwrap();
    s.handshake(soon()).unwrap();
    c.handshake(soon()).unwrap();
    assert_eq!(c.connection().subprotocol(), Some("v2"));
    assert_eq!(s.connection().subprotocol(), Some("v2"));
}

#[test]
fn no_http_sockets_are_open_at_once() {
    let (a, b) = pair();
    let mut c = WsSocket::client(stream_of(&a), false, Config::default(), None).unwrap();
    let mut s = WsSocket::server(stream_of(&b), false, Config::default(), None).unwrap();
    c.send_typed(&[9, 9], Deadline::NOW).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(s.recv(&mut buf, Some(false), soon()).unwrap().len, 2);
}

#[test]
fn attach_without_deadline_waits_for_a_slow_server() {
    let (a, b) = pair();
    let server = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        let mut s = WsSocket::server(stream_of(&b), true, Config::default(), Some(server_handshake())).unwrap();
        s.handshake(soon()).unwrap();
        (s, b)
    });
    let mut c = WsSocket::client(stream_of(&a), true, Config::default(), Some(&client_options())).unwrap();
    c.handshake(Deadline::NEVER).unwrap();
    assert!(!c.is_connecting());
    let _ = server.join().unwrap();
}

#[test]
fn send_without_deadline_returns_once_everything_is_written() {
    let (mut c, mut s, _a, _b) = connected_with(false, Config { limits: big_limits(), ..Config::default() });
    let reader = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        let mut buf = vec![0u8; 9 << 20];
        let got = s.recv(&mut buf, None, soon()).unwrap();
        assert_eq!(got.len, 8 << 20);
        s
    });
    c.send_typed(&vec![3u8; 8 << 20], Deadline::NEVER).unwrap();
    assert!(c.connection().pending_output().is_empty());
    reader.join().unwrap();
}

#[test]
fn detach_without_deadline_waits_for_the_peers_close_frame() {
    let (mut c, mut s, _a, _b) = connected(true);
    let server = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        let mut buf = [0u8; 8];
        assert_eq!(s.recv(&mut buf, None, soon()), Err(Error::Closed));
        s.detach(0, "", soon()).unwrap();
    });
    c.detach(1000, "", Deadline::NEVER).unwrap();
    assert_eq!(c.peer_close().map(|(code, _)| code), Some(1000));
    server.join().unwrap();
}

#[test]
fn a_descriptor_that_cannot_be_read_gives_read_failed() {
    // A directory: poll says readable, read(2) fails with EISDIR.
    let dir = std::fs::File::open(env!("CARGO_MANIFEST_DIR")).unwrap();
    let (r, w) = pipe();
    let io = FdStream::attach(dir.as_raw_fd(), w).unwrap();
    let mut c = WsSocket::client(io, true, Config::default(), None).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(c.recv(&mut buf, None, soon()), Err(Error::ReadFailed(libc::EISDIR)));
    assert_eq!(Error::ReadFailed(libc::EISDIR).detail(), "read failed");
    drop(c);
    for fd in [r, w] {
        // SAFETY: the test owns the pipe.
        unsafe { libc::close(fd) };
    }
}

#[test]
fn a_descriptor_that_cannot_be_written_gives_write_failed() {
    // Opened for reading only: write(2) fails with EBADF.
    let null = std::fs::File::open("/dev/null").unwrap();
    let (r, w) = pipe();
    let io = FdStream::attach(r, null.as_raw_fd()).unwrap();
    let mut c = WsSocket::client(io, true, Config::default(), None).unwrap();
    assert_eq!(c.send_typed(b"x", soon()), Err(Error::WriteFailed(libc::EBADF)));
    assert_eq!(Error::WriteFailed(libc::EBADF).detail(), "write failed");
    drop(c);
    for fd in [r, w] {
        // SAFETY: the test owns the pipe.
        unsafe { libc::close(fd) };
    }
}
