//! The URL client and the attach API against servers nobody here wrote:
//! Python `websockets` and Node `ws` (tests/interop/py_echo_server.py,
//! node_echo_server.js), and a misbehaving raw-socket server
//! (tests/interop/raw_server.py) for every handshake failure.
//!
//! Every server binds 127.0.0.1 on a port the system picks and exits by
//! itself; every wait here is bounded.

mod peers;
mod recorder;

use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use ews::Error;
use ews::attach::WsSocket;
use ews::client::{Client, Options};
use ews::error::HandshakeError;
use ews::io::stream::{Deadline, FdStream};
use ews::proto::handshake::client::ClientOptions;
use ews::proto::{Config, Limits};
use peers::{Peer, PeerServer};
use recorder::{Ev, Recorder};

fn echo_server(peer: Peer) -> Option<PeerServer> {
    if !peers::require(peer) {
        return None;
    }
    let script = match peer {
        Peer::Python => "py_echo_server.py",
        Peer::Node => "node_echo_server.js",
        other => unreachable!("no echo server script for {other:?}"),
    };
    Some(PeerServer::start(peer, script, &["--lifetime", "120"]))
}

fn big_limits() -> Limits {
    Limits { max_frame: 32 << 20, max_message: 32 << 20, ..Limits::default() }
}

fn open(url: &str, config: Config) -> (Client, Recorder) {
    let (handler, events) = Recorder::new();
    let options = Options { config, ..Options::default() };
    let client = Client::new(url, options, Box::new(handler)).unwrap();
    client.start().unwrap();
    (client, events)
}

fn close(client: Client, events: &Recorder) {
    client.close(1000, "done").unwrap();
    assert_eq!(events.next(), Ev::Closed(1000, "done".into(), true));
    client.join().unwrap();
}

/// Sizes around every payload-length encoding boundary, up to 16 MiB.
const SIZES: &[usize] = &[0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20, 16 << 20];

fn echoes_every_size(peer: Peer) {
    let Some(server) = echo_server(peer) else { return };
    let (client, events) = open(&server.url("/echo"), Config { limits: big_limits(), ..Config::default() });
    assert_eq!(events.next(), Ev::Established);
    for &size in SIZES {
        let binary: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
        let text: String = (0..size).map(|i| (b'a' + (i % 26) as u8) as char).collect();
        for (is_text, data) in [(false, binary), (true, text.into_bytes())] {
            // A 16 MiB message is taken whole when the queue is empty.
            let start = Instant::now();
            loop {
                match client.send(is_text, &data) {
                    Ok(()) => break,
                    Err(Error::WouldBlock) if start.elapsed() < Duration::from_secs(20) => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(e) => panic!("{peer:?} send {size}: {e}"),
                }
            }
            match events.next_within(Duration::from_secs(30)) {
                Ev::Message(t, got) => {
                    assert_eq!(t, is_text, "{peer:?} type of the {size}-byte echo");
                    assert!(got == data, "{peer:?} {size}-byte echo differs");
                }
                other => panic!("{peer:?} {size}: {other:?}"),
            }
        }
    }
    close(client, &events);
}

#[test]
fn python_echoes_messages_from_0_bytes_to_16_mib() {
    echoes_every_size(Peer::Python);
}

#[test]
fn node_echoes_messages_from_0_bytes_to_16_mib() {
    echoes_every_size(Peer::Node);
}

fn fragmented_message_arrives_whole_and_in_pieces(peer: Peer) {
    let Some(server) = echo_server(peer) else { return };
    let (client, events) = open(&server.url("/fragmented"), Config::default());
    assert_eq!(events.next(), Ev::Established);
    assert_eq!(events.next(), Ev::Message(true, b"fragmented".to_vec()));
    close(client, &events);

    let (client, events) = open(&server.url("/fragmented"), Config { streaming: true, ..Config::default() });
    assert_eq!(events.next(), Ev::Established);
    let mut pieces = Vec::new();
    loop {
        match events.next() {
            Ev::Fragment(true, piece, first, last) => {
                assert_eq!(first, pieces.is_empty(), "{peer:?}: first flag");
                pieces.push(String::from_utf8(piece).unwrap());
                if last {
                    break;
                }
            }
            other => panic!("{peer:?}: {other:?}"),
        }
    }
    // Each frame is a piece (a frame split across reads gives more).
    assert_eq!(pieces.concat(), "fragmented");
    assert!(pieces.len() >= 3, "{peer:?}: {pieces:?}");
    close(client, &events);
}

#[test]
fn python_fragmented_message_arrives_whole_and_in_pieces() {
    fragmented_message_arrives_whole_and_in_pieces(Peer::Python);
}

#[test]
fn node_fragmented_message_arrives_whole_and_in_pieces() {
    fragmented_message_arrives_whole_and_in_pieces(Peer::Node);
}

fn server_ping_is_answered(peer: Peer) {
    let Some(server) = echo_server(peer) else { return };
    let (client, events) = open(&server.url("/ping"), Config::default());
    assert_eq!(events.next(), Ev::Established);
    assert_eq!(events.next(), Ev::Message(true, b"pong received".to_vec()));
    client.send(true, b"still here").unwrap();
    assert_eq!(events.next(), Ev::Message(true, b"still here".to_vec()));
    close(client, &events);
}

#[test]
fn python_server_ping_is_answered_and_the_connection_goes_on() {
    server_ping_is_answered(Peer::Python);
}

#[test]
fn node_server_ping_is_answered_and_the_connection_goes_on() {
    server_ping_is_answered(Peer::Node);
}

/// Every close code a server may send.
const CLOSE_CODES: &[u16] =
    &[1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];

fn every_close_code_is_reported(peer: Peer) {
    let Some(server) = echo_server(peer) else { return };
    for &code in CLOSE_CODES {
        let (client, events) = open(&server.url(&format!("/close/{code}")), Config::default());
        assert_eq!(events.next(), Ev::Established);
        assert_eq!(events.next(), Ev::Closed(code, format!("bye {code}"), true), "{peer:?} code {code}");
        client.join().unwrap();
        events.assert_quiet();
    }
}

#[test]
fn python_every_close_code_is_reported_with_its_reason() {
    every_close_code_is_reported(Peer::Python);
}

#[test]
fn node_every_close_code_is_reported_with_its_reason() {
    every_close_code_is_reported(Peer::Node);
}

fn abrupt_close_is_unclean(peer: Peer) {
    let Some(server) = echo_server(peer) else { return };
    let (client, events) = open(&server.url("/abrupt"), Config::default());
    match events.next() {
        // The server may drop the connection before or after its 101 left.
        Ev::Established => {
            assert_eq!(events.next(), Ev::Closed(1006, "connection dropped without a close frame".into(), false))
        }
        Ev::Error(Error::Handshake(HandshakeError::PeerHungUp), reason) => assert_eq!(reason, "Peer hung up"),
        other => panic!("{peer:?}: {other:?}"),
    }
    client.join().unwrap();
}

#[test]
fn python_server_that_closes_abruptly_gives_an_unclean_close() {
    abrupt_close_is_unclean(Peer::Python);
}

#[test]
fn node_server_that_closes_abruptly_gives_an_unclean_close() {
    abrupt_close_is_unclean(Peer::Node);
}

/// The attach API on a TCP socket the test connected itself.
fn attached(server: &PeerServer, path: &str) -> (WsSocket, TcpStream) {
    let tcp = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let io = FdStream::attach(tcp.as_raw_fd(), tcp.as_raw_fd()).unwrap();
    let options =
        ClientOptions { resource: path.into(), host: format!("127.0.0.1:{}", server.port), ..Default::default() };
    let mut ws =
        WsSocket::client(io, true, Config { limits: big_limits(), ..Config::default() }, Some(&options)).unwrap();
    ws.handshake(Deadline::after(5000)).unwrap();
    (ws, tcp)
}

fn attach_api_interoperates(peer: Peer) {
    let Some(server) = echo_server(peer) else { return };
    let soon = || Deadline::after(10_000);
    let mut buf = vec![0u8; 17 << 20];

    // Pings inside recv, typed messages, a fragmented send, 16 MiB.
    let (mut ws, _tcp) = attached(&server, "/ping");
    let got = ws.recv(&mut buf, Some(true), soon()).unwrap();
    assert_eq!(&buf[..got.len], b"pong received");
    ws.send(true, true, b"frag", soon()).unwrap();
    ws.send(true, true, b"men", soon()).unwrap();
    ws.send(true, false, b"ted", soon()).unwrap();
    let got = ws.recv(&mut buf, None, soon()).unwrap();
    assert_eq!((&buf[..got.len], got.text), (&b"fragmented"[..], true));
    let big: Vec<u8> = (0..16 << 20).map(|i: usize| (i % 251) as u8).collect();
    ws.send(false, false, &big, Deadline::NEVER).unwrap();
    assert_eq!(ws.recv(&mut buf, Some(true), soon()), Err(Error::WrongMessageType));
    let got = ws.recv(&mut buf, Some(false), soon()).unwrap();
    assert!(got.len == big.len() && buf[..got.len] == big[..]);
    ws.detach(1000, "bye", soon()).unwrap();
    assert_eq!(ws.peer_close().map(|(code, _)| code), Some(1000));

    // The server closes first: its code and reason are reported.
    let (mut ws, _tcp) = attached(&server, "/close/4321");
    assert_eq!(ws.recv(&mut buf, None, soon()), Err(Error::Closed));
    assert_eq!(ws.peer_close(), Some((4321, "bye 4321")));
    ws.detach(0, "", soon()).unwrap();
}

#[test]
fn python_attach_api_interoperates() {
    attach_api_interoperates(Peer::Python);
}

#[test]
fn node_attach_api_interoperates() {
    attach_api_interoperates(Peer::Node);
}

// ----- a misbehaving server -----

fn raw_server() -> Option<PeerServer> {
    peers::require(Peer::Python).then(|| PeerServer::start(Peer::Python, "raw_server.py", &["--lifetime", "60"]))
}

/// Connects to `path` on the raw server and returns the connection error,
/// which must come within `limit`.
fn connection_error(server: &PeerServer, path: &str, options: Options, limit: Duration) -> (Error, String) {
    let (handler, events) = Recorder::new();
    let client = Client::new(&server.url(path), options, Box::new(handler)).unwrap();
    let start = Instant::now();
    client.start().unwrap();
    let ev = events.next_within(limit + Duration::from_secs(2));
    assert!(start.elapsed() < limit, "{path}: took {:?}", start.elapsed());
    client.join().unwrap();
    events.assert_quiet();
    match ev {
        Ev::Error(e, reason) => (e, reason),
        other => panic!("{path}: {other:?}"),
    }
}

#[test]
fn every_bad_handshake_response_is_named() {
    let Some(server) = raw_server() else { return };
    let limit = Duration::from_secs(3);
    let hs = |h| Error::Handshake(h);
    let cases = [
        ("/200", hs(HandshakeError::NotSwitching(200)), "HS: ws upgrade response not 101"),
        ("/bad-accept", hs(HandshakeError::AcceptWrong), "HS: Accept hash wrong"),
        ("/no-accept", hs(HandshakeError::AcceptMissing), "HS: ACCEPT missing"),
        ("/no-upgrade", hs(HandshakeError::UpgradeMissing), "HS: UPGRADE missing"),
        ("/upgrade-other", hs(HandshakeError::UpgradeNotWebsocket), "HS: Upgrade to something other than websocket"),
        ("/no-connection", hs(HandshakeError::ConnectionMissing), "HS: CONNECTION missing"),
        ("/connection-close", hs(HandshakeError::ConnectionNotUpgrade), "HS: CONNECTION malformed"),
        ("/unoffered-protocol", hs(HandshakeError::ProtocolNotOffered), "HS: Cannot match protocol"),
        ("/unoffered-extension", hs(HandshakeError::ExtensionNotOffered), "HS: EXT: unknown ext"),
        ("/endless-headers", hs(HandshakeError::ResponseTooLarge), "HS: response headers too large"),
        ("/garbage", hs(HandshakeError::ResponseMalformed), "HS: response malformed"),
        ("/hangup", hs(HandshakeError::PeerHungUp), "Peer hung up"),
    ];
    for (path, error, reason) in cases {
        let options = Options { protocols: vec!["chat".into()], ..Options::default() };
        assert_eq!(connection_error(&server, path, options, limit), (error, reason.to_owned()), "{path}");
    }
}

#[test]
fn a_server_that_never_answers_gives_handshake_timed_out_at_the_deadline() {
    let Some(server) = raw_server() else { return };
    let limits = Limits { handshake_timeout_ms: 300, ..Limits::default() };
    let options = Options { config: Config { limits, ..Config::default() }, ..Options::default() };
    let (e, reason) = connection_error(&server, "/silent", options, Duration::from_secs(2));
    assert_eq!((e, reason.as_str()), (Error::HandshakeTimeout, "handshake timed out"));
}

#[test]
fn a_masked_frame_from_the_server_fails_the_connection_with_1002() {
    let Some(server) = raw_server() else { return };
    let (client, events) = open(&server.url("/masked-frame"), Config::default());
    assert_eq!(events.next(), Ev::Established);
    assert_eq!(events.next(), Ev::Closed(1002, "server frame masked".into(), false));
    client.join().unwrap();
}

#[test]
fn connection_keep_alive_upgrade_is_accepted() {
    let Some(server) = raw_server() else { return };
    let (client, events) = open(&server.url("/keep-alive"), Config::default());
    assert_eq!(events.next(), Ev::Established);
    assert_eq!(events.next(), Ev::Message(true, b"keep-alive accepted".to_vec()));
    assert_eq!(events.next(), Ev::Closed(1000, String::new(), true));
    client.join().unwrap();
}

#[test]
fn attach_reports_a_bad_handshake_and_times_out_on_a_silent_server() {
    let Some(server) = raw_server() else { return };
    for (path, expected) in [
        ("/bad-accept", Error::Handshake(HandshakeError::AcceptWrong)),
        ("/upgrade-other", Error::Handshake(HandshakeError::UpgradeNotWebsocket)),
    ] {
        let tcp = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        let io = FdStream::attach(tcp.as_raw_fd(), tcp.as_raw_fd()).unwrap();
        let options = ClientOptions { resource: path.into(), host: "127.0.0.1".into(), ..Default::default() };
        let mut ws = WsSocket::client(io, true, Config::default(), Some(&options)).unwrap();
        assert_eq!(ws.handshake(Deadline::after(3000)), Err(expected), "{path}");
    }
    let tcp = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let io = FdStream::attach(tcp.as_raw_fd(), tcp.as_raw_fd()).unwrap();
    let options = ClientOptions { resource: "/silent".into(), host: "127.0.0.1".into(), ..Default::default() };
    let mut ws = WsSocket::client(io, true, Config::default(), Some(&options)).unwrap();
    let start = Instant::now();
    assert_eq!(ws.handshake(Deadline::after(200)), Err(Error::Deadline));
    assert!(start.elapsed() < Duration::from_secs(2));
}
