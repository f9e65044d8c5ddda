//! The echo server example (`c-examples/echo_server.c`, the conformance
//! target) against WebSocket clients nobody here wrote: Python `websockets`
//! and Node `ws` (driven by `tests/interop/py_client.py` and
//! `tests/interop/node_client.js`), and against a raw socket for what those
//! clients never send.
//!
//! Each test starts its own server on a free port of 127.0.0.1 and stops it
//! with SIGTERM at the end, asserting a clean exit. The cases with 16 MiB
//! messages run the server natively; the `..._under_valgrind` tests run a
//! broad selection, with messages up to 1 MiB, with the server under
//! valgrind (when the C tests use it).
//! Run with `--nocapture` to see each client's per-case results.

mod cbuild;
mod peers;
mod rawws;
mod serverproc;

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use peers::Peer;
use rawws::{BINARY, CLOSE, PING, PONG, TEXT};
use serverproc::{ServerProcess, Valgrind, run_with_timeout};

/// The echo server, compiled once per test run.
fn echo_server() -> PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let src = cbuild::root().join("c-examples/echo_server.c");
        cbuild::compile("interop_echo_server", &[&src], &[])
    })
    .clone()
}

fn start_echo_server(valgrind: Valgrind) -> ServerProcess {
    // Port 0: the server picks a free port and prints it.
    ServerProcess::start(&echo_server(), &["0"], valgrind)
}

/// Whether a run checks that the server closed every socket of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sockets {
    Check,
    /// Not for runs with clients that vanish: the server may miss a FIN
    /// that arrives with the last bytes (see the ignored tests
    /// `client_whose_fin_arrives_with_...` and `..._leave_no_sockets_open`).
    Unchecked,
}

/// Runs `cases` of the peer's client script against a fresh echo server;
/// asserts every case passed, that the server closed the sockets of the
/// run, and that it stopped cleanly afterwards.
fn run_client(peer: Peer, valgrind: Valgrind, cases: &[&str]) {
    run_client_checking(peer, valgrind, cases, Sockets::Check);
}

fn run_client_checking(peer: Peer, valgrind: Valgrind, cases: &[&str], sockets: Sockets) {
    if !peers::require(peer) {
        return;
    }
    let mut server = start_echo_server(valgrind);
    let fds_before = server.open_fds();
    let script = match peer {
        Peer::Python => "py_client.py",
        Peer::Node => "node_client.js",
        other => panic!("no echo client script for {other:?}"),
    };
    let mut cmd = peers::command(peer, script);
    cmd.arg(server.port().to_string()).args(cases);
    if server.under_valgrind() {
        // 16 MiB messages take seconds each under valgrind.
        cmd.env("EWS_INTEROP_MAX_MESSAGE", (1 << 20).to_string());
    }
    let (status, out, err) = run_with_timeout(cmd, Duration::from_secs(60));
    let label = format!("{peer:?} client{}", if server.under_valgrind() { ", server under valgrind" } else { "" });
    // The per-case results, shown with --nocapture.
    for line in out.lines() {
        println!("{label}: {line}");
    }
    let (server_out, server_err) = server.output();
    assert!(
        status.success(),
        "{label} failed ({status}):\n{out}\nclient stderr:\n{err}\nserver stdout:\n{server_out}\nserver stderr:\n{server_err}"
    );
    for case in cases {
        assert!(out.lines().any(|l| l.starts_with(&format!("ok {case} "))), "{label}: no result for {case}:\n{out}");
    }
    assert!(server.is_running(), "the echo server ended during the run:\n{server_out}\n{server_err}");
    // Every connection of the run is gone: so are its sockets (answered
    // HTTP requests may linger up to 2 s).
    if let (Some(before), Sockets::Check) = (fds_before, sockets) {
        let after = server.settle_fds(before, Duration::from_secs(5)).unwrap_or(0);
        assert!(
            after <= before,
            "{label}: the server has {after} descriptors open after the run, {before} before: {:?}",
            server.fd_targets()
        );
    }
    let finished = server.stop_clean();
    assert!(finished.stdout.contains("echo_server: stopped"), "no clean stop:\n{}", finished.stdout);
}

// ----- Python websockets -----

#[test]
fn python_text_messages_of_0_bytes_to_16_mib_come_back_as_text() {
    run_client(Peer::Python, Valgrind::Never, &["text_sizes"]);
}

#[test]
fn python_binary_messages_of_0_bytes_to_16_mib_come_back_as_binary() {
    run_client(Peer::Python, Valgrind::Never, &["binary_sizes"]);
}

#[test]
fn python_hundred_pipelined_messages_come_back_in_order() {
    run_client(Peer::Python, Valgrind::Never, &["pipelined"]);
}

#[test]
fn python_twenty_concurrent_clients_are_served() {
    run_client(Peer::Python, Valgrind::Never, &["concurrent"]);
}

#[test]
fn python_fragmented_messages_come_back_whole() {
    run_client(Peer::Python, Valgrind::Never, &["fragmented"]);
}

#[test]
fn python_pings_get_pongs_with_the_same_payload() {
    run_client(Peer::Python, Valgrind::Never, &["ping"]);
}

#[test]
fn python_every_valid_close_code_is_echoed() {
    run_client(Peer::Python, Valgrind::Never, &["close_codes"]);
}

#[test]
fn python_clients_vanishing_mid_message_leave_the_server_serving_others() {
    run_client_checking(Peer::Python, Valgrind::Never, &["disappear"], Sockets::Unchecked);
}

#[test]
fn python_clients_vanishing_mid_message_leave_no_sockets_open() {
    run_client(Peer::Python, Valgrind::Never, &["disappear"]);
}

#[test]
fn python_invalid_utf8_text_is_closed_with_1007() {
    run_client(Peer::Python, Valgrind::Never, &["invalid_utf8"]);
}

#[test]
fn python_client_against_the_server_under_valgrind() {
    run_client_checking(
        Peer::Python,
        Valgrind::Auto,
        &["text_sizes", "pipelined", "fragmented", "ping", "close_codes", "disappear", "invalid_utf8"],
        Sockets::Unchecked,
    );
}

// ----- Node ws -----

#[test]
fn node_text_messages_of_0_bytes_to_16_mib_come_back_as_text() {
    run_client(Peer::Node, Valgrind::Never, &["text_sizes"]);
}

#[test]
fn node_binary_messages_of_0_bytes_to_16_mib_come_back_as_binary() {
    run_client(Peer::Node, Valgrind::Never, &["binary_sizes"]);
}

#[test]
fn node_hundred_pipelined_messages_come_back_in_order() {
    run_client(Peer::Node, Valgrind::Never, &["pipelined"]);
}

#[test]
fn node_twenty_concurrent_clients_are_served() {
    run_client(Peer::Node, Valgrind::Never, &["concurrent"]);
}

#[test]
fn node_fragmented_messages_come_back_whole_with_a_ping_answered_in_between() {
    run_client(Peer::Node, Valgrind::Never, &["fragmented"]);
}

#[test]
fn node_pings_get_pongs_with_the_same_payload() {
    run_client(Peer::Node, Valgrind::Never, &["ping"]);
}

#[test]
fn node_every_valid_close_code_is_echoed_and_an_empty_close_gets_an_empty_close() {
    run_client(Peer::Node, Valgrind::Never, &["close_codes"]);
}

#[test]
fn node_clients_vanishing_mid_message_leave_the_server_serving_others() {
    run_client_checking(Peer::Node, Valgrind::Never, &["disappear"], Sockets::Unchecked);
}

#[test]
fn node_clients_vanishing_mid_message_leave_no_sockets_open() {
    run_client(Peer::Node, Valgrind::Never, &["disappear"]);
}

#[test]
fn node_invalid_utf8_text_is_closed_with_1007() {
    run_client(Peer::Node, Valgrind::Never, &["invalid_utf8"]);
}

#[test]
fn node_unmasked_frames_are_closed_with_1002() {
    run_client(Peer::Node, Valgrind::Never, &["unmasked"]);
}

#[test]
fn node_client_against_the_server_under_valgrind() {
    run_client_checking(
        Peer::Node,
        Valgrind::Auto,
        &["binary_sizes", "fragmented", "ping", "close_codes", "disappear", "invalid_utf8", "unmasked"],
        Sockets::Unchecked,
    );
}

// ----- a raw socket: bytes no real client sends -----

/// After a failed connection the server still echoes on a new one.
fn assert_still_serving(server: &ServerProcess) {
    let mut s = rawws::open(server.addr(), "/");
    s.write_all(&rawws::frame(true, TEXT, "still serving é".as_bytes(), true)).unwrap();
    let f = rawws::read_frame(&mut s);
    assert_eq!((f.opcode, f.payload.as_slice()), (TEXT, "still serving é".as_bytes()));
    s.write_all(&rawws::frame(true, CLOSE, &1000u16.to_be_bytes(), true)).unwrap();
    rawws::expect_close(&mut s, 1000);
}

#[test]
fn raw_invalid_utf8_text_frame_is_closed_with_1007_and_the_server_closes_tcp() {
    let server = start_echo_server(Valgrind::Auto);
    let mut s = rawws::open(server.addr(), "/");
    s.write_all(&rawws::frame(true, TEXT, b"valid, then \xff", true)).unwrap();
    rawws::expect_close(&mut s, 1007);
    assert_still_serving(&server);
    server.stop_clean();
}

#[test]
fn raw_invalid_utf8_fails_at_the_first_bad_byte_before_the_frame_is_complete() {
    let server = start_echo_server(Valgrind::Auto);
    let mut s = rawws::open(server.addr(), "/");
    // A 100000-byte text frame of which only the first 16 bytes are sent;
    // the fifth is not UTF-8.
    let mut payload = vec![b'a'; 100_000];
    payload[4] = 0xfe;
    let whole = rawws::frame(true, TEXT, &payload, true);
    let header_len = 2 + 2 + 4;
    s.write_all(&whole[..header_len + 16]).unwrap();
    rawws::expect_close(&mut s, 1007);
    assert_still_serving(&server);
    server.stop_clean();
}

#[test]
fn raw_unmasked_client_frame_is_closed_with_1002() {
    let server = start_echo_server(Valgrind::Auto);
    let mut s = rawws::open(server.addr(), "/");
    s.write_all(&rawws::frame(true, BINARY, b"unmasked", false)).unwrap();
    rawws::expect_close(&mut s, 1002);
    assert_still_serving(&server);
    server.stop_clean();
}

#[test]
fn raw_messages_before_a_protocol_error_are_still_echoed() {
    let server = start_echo_server(Valgrind::Auto);
    let mut s = rawws::open(server.addr(), "/");
    let mut bytes = rawws::frame(true, TEXT, b"first", true);
    bytes.extend(rawws::frame(true, PING, b"p", true));
    bytes.extend(rawws::frame(true, BINARY, b"unmasked", false));
    bytes.extend(rawws::frame(true, TEXT, b"never echoed", true));
    s.write_all(&bytes).unwrap();
    let f = rawws::read_frame(&mut s);
    assert_eq!((f.opcode, f.payload.as_slice()), (TEXT, &b"first"[..]));
    let f = rawws::read_frame(&mut s);
    assert_eq!((f.opcode, f.payload.as_slice()), (PONG, &b"p"[..]));
    rawws::expect_close(&mut s, 1002);
    server.stop_clean();
}

#[test]
fn raw_close_handshake_ends_with_the_server_closing_tcp_first() {
    let server = start_echo_server(Valgrind::Auto);
    let mut s = rawws::open(server.addr(), "/");
    let mut payload = 4000u16.to_be_bytes().to_vec();
    payload.extend_from_slice("bye é".as_bytes());
    s.write_all(&rawws::frame(true, CLOSE, &payload, true)).unwrap();
    // The close code comes back, then the server closes the TCP connection
    // without waiting for the client to.
    rawws::expect_close(&mut s, 4000);
    server.stop_clean();
}

#[test]
fn raw_echo_frames_are_unmasked_final_and_without_rsv_bits() {
    let server = start_echo_server(Valgrind::Auto);
    let mut s = rawws::open(server.addr(), "/");
    for (opcode, len) in [(TEXT, 0), (BINARY, 125), (BINARY, 126), (TEXT, 65535), (BINARY, 65536)] {
        let payload: Vec<u8> = (0..len).map(|i| if opcode == TEXT { b'a' + (i % 26) as u8 } else { i as u8 }).collect();
        s.write_all(&rawws::frame(true, opcode, &payload, true)).unwrap();
        let f = rawws::read_frame(&mut s);
        assert!(
            f.fin && !f.masked && f.rsv == 0,
            "{opcode} of {len} bytes came back as {:?}",
            (f.fin, f.masked, f.rsv)
        );
        assert_eq!((f.opcode, f.payload.len()), (opcode, len));
        assert!(f.payload == payload, "{len}-byte payload differs");
    }
    s.write_all(&rawws::frame(true, CLOSE, &[], true)).unwrap();
    let f = rawws::read_frame(&mut s);
    assert_eq!((f.opcode, f.close_code()), (CLOSE, None), "an empty close is answered with an empty close");
    server.stop_clean();
}

#[test]
fn echo_server_exits_cleanly_on_sigterm_with_clients_connected() {
    let server = start_echo_server(Valgrind::Auto);
    let mut a = rawws::open(server.addr(), "/");
    let _b = rawws::open(server.addr(), "/");
    // A message half received.
    a.write_all(&rawws::frame(true, BINARY, &[7u8; 5000], true)[..1000]).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let finished = server.stop_clean();
    assert!(finished.stdout.contains("echo_server: stopped"), "{}", finished.stdout);
    // The server said goodbye (1001) before it went.
    rawws::expect_close(&mut a, 1001);
}

/// A frame header with a 64-bit length field (for lengths that
/// [`rawws::frame`] would encode minimally) and a zero masking key.
fn header64(first: u8, len: u64) -> Vec<u8> {
    let mut h = vec![first, 0x80 | 127];
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0]);
    h
}

#[test]
fn raw_protocol_violations_get_their_close_codes() {
    let close = |code: u16, reason: &[u8]| {
        let mut p = code.to_be_bytes().to_vec();
        p.extend_from_slice(reason);
        rawws::frame(true, CLOSE, &p, true)
    };
    let frame = rawws::frame;
    let two = |a: Vec<u8>, b: Vec<u8>| [a, b].concat();
    let mut non_minimal_16 = vec![0x82, 0x80 | 126, 0, 5, 0, 0, 0, 0];
    non_minimal_16.extend_from_slice(b"abcde");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("close code 1004", close(1004, b""), 1002),
        ("close code 1005", close(1005, b""), 1002),
        ("close code 1006", close(1006, b""), 1002),
        ("close code 1015", close(1015, b""), 1002),
        ("close code 999", close(999, b""), 1002),
        ("close code 1016", close(1016, b""), 1002),
        ("close code 2999", close(2999, b""), 1002),
        ("close code 5000", close(5000, b""), 1002),
        ("close payload of one byte", frame(true, CLOSE, &[3], true), 1002),
        ("close reason not UTF-8", close(1000, b"\xff"), 1007),
        ("ping of 126 bytes", frame(true, PING, &[b'p'; 126], true), 1002),
        ("ping without FIN", frame(false, PING, b"p", true), 1002),
        ("RSV1 without an extension", [vec![0xc1], frame(true, TEXT, b"a", true)[1..].to_vec()].concat(), 1002),
        ("RSV2", [vec![0xa2], frame(true, BINARY, b"a", true)[1..].to_vec()].concat(), 1002),
        ("RSV3", [vec![0x91], frame(true, TEXT, b"a", true)[1..].to_vec()].concat(), 1002),
        ("reserved data opcode 3", frame(true, 0x3, b"a", true), 1002),
        ("reserved control opcode 0xB", frame(true, 0xb, b"a", true), 1002),
        ("continuation without a message", frame(true, rawws::CONTINUATION, b"a", true), 1002),
        (
            "new message inside a fragmented one",
            two(frame(false, TEXT, b"a", true), frame(true, TEXT, b"b", true)),
            1002,
        ),
        ("16-bit length for 5 bytes", non_minimal_16, 1002),
        ("64-bit length with the top bit set", header64(0x82, 1 << 63), 1002),
        ("frame over the 64 MiB limit (header only)", header64(0x82, (64 << 20) + 1), 1009),
    ];
    let server = start_echo_server(Valgrind::Auto);
    for (name, bytes, code) in &cases {
        let mut s = rawws::open(server.addr(), "/");
        s.write_all(bytes).unwrap();
        let f = rawws::read_frame(&mut s);
        assert_eq!(f.opcode, CLOSE, "{name}: expected close {code}, got {f:?}");
        assert_eq!(f.close_code(), Some(*code), "{name}: {f:?}");
        let rest = rawws::read_to_eof(&mut s, rawws::TIMEOUT);
        assert!(rest.is_empty(), "{name}: bytes after the close frame");
    }
    assert_still_serving(&server);
    server.stop_clean();
}

#[test]
#[cfg(target_os = "linux")]
fn idle_connection_that_has_exchanged_a_message_costs_the_server_no_cpu() {
    let server = start_echo_server(Valgrind::Never);
    let mut s = rawws::open(server.addr(), "/");
    s.write_all(&rawws::frame(true, TEXT, b"one message", true)).unwrap();
    assert_eq!(rawws::read_frame(&mut s).payload, b"one message");
    let before = server.cpu_time().expect("CPU time from /proc");
    std::thread::sleep(Duration::from_secs(1));
    let used = server.cpu_time().expect("CPU time from /proc") - before;
    assert!(used < Duration::from_millis(100), "the server used {used:?} of CPU in 1 s with one idle connection");
    server.stop_clean();
}

#[test]
#[cfg(target_os = "linux")]
fn idle_connection_without_messages_costs_the_server_no_cpu() {
    let server = start_echo_server(Valgrind::Never);
    let _s = rawws::open(server.addr(), "/");
    let before = server.cpu_time().expect("CPU time from /proc");
    std::thread::sleep(Duration::from_secs(1));
    let used = server.cpu_time().expect("CPU time from /proc") - before;
    assert!(used < Duration::from_millis(100), "the server used {used:?} of CPU in 1 s with one idle connection");
    server.stop_clean();
}

#[test]
fn echo_server_listens_on_the_port_given_on_its_command_line() {
    // A port that was free a moment ago; another process may take it in
    // between, so try a few.
    for attempt in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let arg = port.to_string();
        let started = std::panic::catch_unwind(|| ServerProcess::start(&echo_server(), &[&arg], Valgrind::Never));
        let Ok(server) = started else {
            assert!(attempt < 4, "the echo server could not listen on a free port five times");
            continue;
        };
        assert_eq!(server.port(), port);
        assert_still_serving(&server);
        server.stop_clean();
        return;
    }
}

/// Sends `bytes` and then FIN while the server is stopped, so that it finds
/// both at once when it runs again; returns the socket.
fn send_then_fin_while_paused(server: &ServerProcess, bytes: &[u8]) -> std::net::TcpStream {
    let mut s = rawws::open(server.addr(), "/");
    server.pause();
    s.write_all(bytes).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    server.resume();
    s
}

#[test]
fn client_whose_fin_follows_its_last_bytes_later_is_closed_by_the_server() {
    let server = start_echo_server(Valgrind::Auto);
    let mut s = rawws::open(server.addr(), "/");
    s.write_all(&rawws::frame(true, BINARY, &[1; 1000], true)[..500]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let rest = rawws::read_to_eof(&mut s, Duration::from_secs(5));
    assert!(rest.is_empty(), "the server sent {rest:?}");
    server.stop_clean();
}

#[test]
fn client_whose_fin_arrives_with_a_partial_frame_is_closed_by_the_server() {
    let server = start_echo_server(Valgrind::Auto);
    let mut s = send_then_fin_while_paused(&server, &rawws::frame(true, BINARY, &[1; 1000], true)[..500]);
    let rest = rawws::read_to_eof(&mut s, Duration::from_secs(5));
    assert!(rest.is_empty(), "the server sent {rest:?}");
    server.stop_clean();
}

#[test]
fn client_whose_fin_arrives_with_a_whole_message_is_closed_by_the_server() {
    let server = start_echo_server(Valgrind::Auto);
    let mut s = send_then_fin_while_paused(&server, &rawws::frame(true, TEXT, b"last words", true));
    // The connection is dropped (no close frame came); whether the echo
    // still goes out first is the server's choice.
    let rest = rawws::read_to_eof(&mut s, Duration::from_secs(5));
    let echo = [&[0x81, 10][..], b"last words"].concat();
    assert!(rest.is_empty() || rest == echo, "the server sent {rest:?}");
    server.stop_clean();
}
