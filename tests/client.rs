//! The URL client (`ews::client`) against servers in this process: a
//! well-behaved one built on the attach API, raw sockets for connection
//! failures. Interop with real servers is in `client_interop.rs`.
//!
//! Every server binds 127.0.0.1 (or ::1) on a port the system picks, every
//! wait is bounded, and every thread ends by itself.

mod recorder;

use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::{Duration, Instant};

use ews::Error;
use ews::attach::{ServerHandshake, WsSocket};
use ews::client::{Client, ClientState, Options, Reconnect};
use ews::io::stream::{Deadline, FdStream};
use ews::proto::{Config, Limits};
use recorder::{Ev, Recorder};

fn soon() -> Deadline {
    Deadline::after(5000)
}

/// Serves `count` connections on a new port: each gets the WebSocket
/// handshake (subprotocol `chat` supported) and is passed to `serve`.
fn ws_server(count: usize, serve: fn(&mut WsSocket)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for _ in 0..count {
            let (tcp, _) = listener.accept().unwrap();
            let io = FdStream::attach(tcp.as_raw_fd(), tcp.as_raw_fd()).unwrap();
            let hs = ServerHandshake {
                protocols: vec!["chat".into()],
                max_resource_len: usize::MAX,
                max_host_len: usize::MAX,
                ..ServerHandshake::default()
            };
            let mut ws = WsSocket::server(io, true, Config::default(), Some(hs)).unwrap();
            if ws.handshake(soon()).is_ok() {
                serve(&mut ws);
            }
            drop(ws);
            drop(tcp);
        }
    });
    port
}

/// Echoes until the client closes, then completes the closing handshake.
fn echo(ws: &mut WsSocket) {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match ws.recv(&mut buf, None, soon()) {
            Ok(got) => ws.send(got.text, false, &buf[..got.len], soon()).unwrap(),
            Err(Error::Closed) => break,
            Err(e) => panic!("echo server: {e}"),
        }
    }
    let _ = ws.detach(0, "", soon());
}

fn started(url: &str, options: Options) -> (Client, Recorder) {
    let (handler, events) = Recorder::new();
    let client = Client::new(url, options, Box::new(handler)).unwrap();
    client.start().unwrap();
    (client, events)
}

#[test]
fn standalone_client_echoes_and_closes_cleanly() {
    let port = ws_server(1, echo);
    let options = Options { protocols: vec!["chat".into()], ..Options::default() };
    let (client, events) = started(&format!("ws://127.0.0.1:{port}/echo"), options);
    assert_eq!(events.next(), Ev::Established);
    assert_eq!(client.subprotocol().as_deref(), Some("chat"));
    assert_eq!(client.state(), ClientState::Open);
    client.send(true, b"hello").unwrap();
    client.send(false, &[0, 1, 2]).unwrap();
    assert_eq!(events.next(), Ev::Message(true, b"hello".to_vec()));
    assert_eq!(events.next(), Ev::Message(false, vec![0, 1, 2]));
    client.close(1000, "done").unwrap();
    assert_eq!(events.next(), Ev::Closed(1000, String::new(), true));
    client.join().unwrap();
    assert_eq!(client.state(), ClientState::Finished);
    events.assert_quiet();
}

/// The service thread waits for events holding the engine; a start or
/// connect on an open, quiet connection must be refused without waiting
/// for it (it used to block until the server sent something, which could
/// be its going-away close, so the client was no longer open).
#[test]
fn starting_an_open_client_again_is_refused_at_once_and_leaves_it_open() {
    let port = ws_server(1, echo);
    let (client, events) = started(&format!("ws://127.0.0.1:{port}/"), Options::default());
    assert_eq!(events.next(), Ev::Established);
    let (tx, rx) = std::sync::mpsc::channel();
    let again = client.clone();
    thread::spawn(move || {
        let start = again.start();
        let connect = again.connect();
        let _ = tx.send((start, connect));
    });
    let (start, connect) = rx.recv_timeout(Duration::from_secs(2)).expect("a second start or connect blocked");
    assert!(matches!(start, Err(Error::State(_))), "{start:?}");
    assert!(matches!(connect, Err(Error::State(_))), "{connect:?}");
    assert_eq!(client.state(), ClientState::Open);
    client.send(true, b"still open").unwrap();
    assert_eq!(events.next(), Ev::Message(true, b"still open".to_vec()));
    client.close(1000, "").unwrap();
    assert_eq!(events.next(), Ev::Closed(1000, String::new(), true));
    client.join().unwrap();
    events.assert_quiet();
}

#[test]
fn host_driven_client_runs_on_the_callers_thread() {
    let port = ws_server(1, echo);
    let (handler, events) = Recorder::new();
    let client = Client::new(&format!("ws://127.0.0.1:{port}/"), Options::default(), Box::new(handler)).unwrap();
    client.connect().unwrap();
    let start = Instant::now();
    let mut sent = false;
    let mut closed = false;
    // The host's own loop: poll the client's descriptor until its deadline.
    while client.service(0).unwrap() {
        assert!(start.elapsed() < Duration::from_secs(10), "client did not finish");
        match events.try_next() {
            Some(Ev::Established) => {
                client.send(true, b"ping me").unwrap();
                sent = true;
            }
            Some(Ev::Message(true, m)) => {
                assert_eq!(m, b"ping me");
                client.close(1000, "").unwrap();
            }
            Some(Ev::Closed(1000, _, true)) => closed = true,
            Some(other) => panic!("unexpected {other:?}"),
            None => {}
        }
        let timeout = client.next_deadline().map_or(100, |t| (t - ews::io::stream::now_ms()).clamp(0, 100));
        let mut pfd = libc::pollfd { fd: client.fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, timeout as i32) };
    }
    while let Some(ev) = events.try_next() {
        closed |= ev == Ev::Closed(1000, String::new(), true);
    }
    assert!(sent && closed);
    assert!(!client.service(0).unwrap());
}

#[test]
fn send_from_another_thread_wakes_the_service_thread() {
    let port = ws_server(1, echo);
    let (client, events) = started(&format!("ws://127.0.0.1:{port}/"), Options::default());
    assert_eq!(events.next(), Ev::Established);
    let senders: Vec<_> = (0..4)
        .map(|t| {
            let c = client.clone();
            thread::spawn(move || {
                for i in 0..25 {
                    c.send(true, format!("{t}:{i}").as_bytes()).unwrap();
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let mut got = Vec::new();
    for _ in 0..100 {
        match events.next() {
            Ev::Message(true, m) => got.push(String::from_utf8(m).unwrap()),
            other => panic!("unexpected {other:?}"),
        }
    }
    for t in 0..4 {
        let mine: Vec<&String> = got.iter().filter(|m| m.starts_with(&format!("{t}:"))).collect();
        let expected: Vec<String> = (0..25).map(|i| format!("{t}:{i}")).collect();
        assert_eq!(mine, expected.iter().collect::<Vec<_>>(), "each thread's messages in order");
    }
    client.close(1000, "").unwrap();
    client.join().unwrap();
}

/// A local port nothing listens on (bound, then released): connecting
/// is refused.
fn refusing_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn a_refused_connection_is_reported_as_such() {
    let port = refusing_port();
    let (client, events) = started(&format!("ws://127.0.0.1:{port}/"), Options::default());
    assert_eq!(events.next(), Ev::Error(Error::ConnectionRefused, "connection refused".into()));
    client.join().unwrap();
    assert_eq!(client.state(), ClientState::Finished);
}

#[test]
fn an_unresolvable_name_is_reported_as_such() {
    // `.invalid` never resolves (RFC 6761); a slow resolver gets time.
    let options = Options { connect_timeout_ms: 30_000, ..Options::default() };
    let (client, events) = started("ws://name.invalid/", options);
    assert_eq!(events.next_within(Duration::from_secs(40)), Ev::Error(Error::Resolve, "name resolution failed".into()));
    client.join().unwrap();
}

#[test]
fn a_server_that_never_accepts_times_out_the_connect() {
    // A listener with a backlog of 0 whose queue is already full drops SYNs.
    let listener = ListenZero::new();
    let _fill: Vec<TcpStream> = (0..4).filter_map(|_| listener.connect_nonblocking()).collect();
    let options = Options { connect_timeout_ms: 300, ..Options::default() };
    let start = Instant::now();
    let (client, events) = started(&format!("ws://127.0.0.1:{}/", listener.port), options);
    assert_eq!(events.next(), Ev::Error(Error::ConnectTimeout, "connection timed out".into()));
    assert!(start.elapsed() < Duration::from_secs(5));
    client.join().unwrap();
}

#[test]
fn a_silent_server_times_out_the_handshake() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let keep = thread::spawn(move || {
        // Accepts, reads nothing, answers nothing, and lets go after 2 s.
        let accepted = listener.accept();
        thread::sleep(Duration::from_secs(2));
        drop(accepted);
    });
    let limits = Limits { handshake_timeout_ms: 200, ..Limits::default() };
    let options = Options { config: Config { limits, ..Config::default() }, ..Options::default() };
    let start = Instant::now();
    let (client, events) = started(&format!("ws://127.0.0.1:{port}/"), options);
    assert_eq!(events.next(), Ev::Error(Error::HandshakeTimeout, "handshake timed out".into()));
    assert!(start.elapsed() < Duration::from_secs(2));
    client.join().unwrap();
    let _ = keep.join();
}

#[test]
fn ipv6_literals_connect() {
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        eprintln!("skipped: no IPv6 loopback");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let io = FdStream::attach(tcp.as_raw_fd(), tcp.as_raw_fd()).unwrap();
        let hs = ServerHandshake { max_resource_len: 100, max_host_len: 100, ..ServerHandshake::default() };
        let mut ws = WsSocket::server(io, true, Config::default(), Some(hs)).unwrap();
        ws.handshake(soon()).unwrap();
        let host = ws.host().unwrap().to_owned();
        ws.send(true, false, host.as_bytes(), soon()).unwrap();
        echo(&mut ws);
    });
    let (client, events) = started(&format!("ws://[::1]:{port}/v6"), Options::default());
    assert_eq!(events.next(), Ev::Established);
    assert_eq!(events.next(), Ev::Message(true, format!("[::1]:{port}").into_bytes()));
    client.close(1000, "").unwrap();
    client.join().unwrap();
}

#[test]
fn localhost_is_resolved() {
    let port = ws_server(1, echo);
    let (client, events) = started(&format!("ws://localhost:{port}/"), Options::default());
    assert_eq!(events.next(), Ev::Established);
    client.close(1000, "").unwrap();
    assert_eq!(events.next(), Ev::Closed(1000, String::new(), true));
    client.join().unwrap();
}

#[test]
fn wss_urls_are_not_supported_yet_and_bad_urls_are_invalid() {
    let (h, _) = Recorder::new();
    assert!(matches!(Client::new("wss://example.com/", Options::default(), Box::new(h)), Err(Error::NotSupported(_))));
    for bad in ["http://example.com/", "ws://", "ws://a b/", "ws://host:0/", "ws://host/#frag"] {
        let (h, _) = Recorder::new();
        assert!(matches!(Client::new(bad, Options::default(), Box::new(h)), Err(Error::Invalid(_))), "{bad}");
    }
}

#[test]
fn reconnects_with_backoff_until_the_host_closes() {
    // The first two connections are dropped right after the handshake; the
    // third one echoes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for i in 0..3 {
            let (tcp, _) = listener.accept().unwrap();
            let io = FdStream::attach(tcp.as_raw_fd(), tcp.as_raw_fd()).unwrap();
            let hs = ServerHandshake { max_resource_len: 100, max_host_len: 100, ..ServerHandshake::default() };
            let mut ws = WsSocket::server(io, true, Config::default(), Some(hs)).unwrap();
            ws.handshake(soon()).unwrap();
            if i == 2 {
                echo(&mut ws);
            }
        }
    });
    let options = Options {
        reconnect: Some(Reconnect { min_delay_ms: 20, max_delay_ms: 100, max_attempts: 5 }),
        ..Options::default()
    };
    let (client, events) = started(&format!("ws://127.0.0.1:{port}/"), options);
    for _ in 0..2 {
        assert_eq!(events.next(), Ev::Established);
        assert_eq!(events.next(), Ev::Closed(1006, "connection dropped without a close frame".into(), false));
    }
    assert_eq!(events.next(), Ev::Established);
    client.send(true, b"third time").unwrap();
    assert_eq!(events.next(), Ev::Message(true, b"third time".to_vec()));
    client.close(1000, "").unwrap();
    assert_eq!(events.next(), Ev::Closed(1000, String::new(), true));
    client.join().unwrap();
    events.assert_quiet();
}

#[test]
fn reconnection_gives_up_after_its_attempts() {
    let port = refusing_port();
    let options = Options {
        reconnect: Some(Reconnect { min_delay_ms: 10, max_delay_ms: 20, max_attempts: 2 }),
        ..Options::default()
    };
    let (client, events) = started(&format!("ws://127.0.0.1:{port}/"), options);
    for _ in 0..3 {
        assert_eq!(events.next(), Ev::Error(Error::ConnectionRefused, "connection refused".into()));
    }
    client.join().unwrap();
    events.assert_quiet();
}

#[test]
fn closing_while_waiting_to_reconnect_finishes_the_client() {
    let port = refusing_port();
    let options = Options {
        reconnect: Some(Reconnect { min_delay_ms: 60_000, max_delay_ms: 60_000, max_attempts: 0 }),
        ..Options::default()
    };
    let (client, events) = started(&format!("ws://127.0.0.1:{port}/"), options);
    assert_eq!(events.next(), Ev::Error(Error::ConnectionRefused, "connection refused".into()));
    client.close(1000, "").unwrap();
    client.join().unwrap();
    assert_eq!(client.state(), ClientState::Finished);
}

#[test]
fn stop_inside_a_handler_ends_the_client_without_more_calls() {
    let port = ws_server(1, echo);
    let (handler, events) = Recorder::stopping_on_message();
    let client = Client::new(&format!("ws://127.0.0.1:{port}/"), Options::default(), Box::new(handler)).unwrap();
    client.start().unwrap();
    assert_eq!(events.next(), Ev::Established);
    client.send(true, b"a").unwrap();
    client.send(true, b"b").unwrap();
    assert_eq!(events.next(), Ev::Message(true, b"a".to_vec()));
    client.join().unwrap();
    events.assert_quiet();
}

#[test]
fn send_before_open_is_a_state_error_and_a_full_queue_would_block() {
    let (h, _) = Recorder::new();
    let client = Client::new("ws://127.0.0.1:9/", Options::default(), Box::new(h)).unwrap();
    assert!(matches!(client.send(true, b"x"), Err(Error::State(_))));

    let port = ws_server(1, |ws| {
        // Reads nothing until the client has filled its queue.
        thread::sleep(Duration::from_millis(500));
        echo_quietly(ws);
    });
    let limits = Limits { send_queue_bytes: 1000, ..Limits::default() };
    let options = Options { config: Config { limits, ..Config::default() }, ..Options::default() };
    let (client, events) = started(&format!("ws://127.0.0.1:{port}/"), options);
    assert_eq!(events.next(), Ev::Established);
    let big = vec![1u8; 900_000];
    let mut blocked = false;
    for _ in 0..50 {
        match client.send(false, &big) {
            Ok(()) => {}
            Err(Error::WouldBlock) => {
                blocked = true;
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(blocked, "the send queue never filled");
    client.stop();
    client.join().unwrap();
}

fn echo_quietly(ws: &mut WsSocket) {
    let mut buf = vec![0u8; 1 << 20];
    while ws.recv(&mut buf, None, soon()).is_ok() {}
}

/// A TCP listener with a backlog of 0 (std's listeners use 128).
struct ListenZero {
    fd: i32,
    port: u16,
}

impl ListenZero {
    fn new() -> ListenZero {
        // SAFETY: plain socket calls on a descriptor this struct owns.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            let mut a: libc::sockaddr_in = std::mem::zeroed();
            a.sin_family = libc::AF_INET as libc::sa_family_t;
            a.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            assert_eq!(libc::bind(fd, (&a as *const libc::sockaddr_in).cast(), len), 0);
            assert_eq!(libc::listen(fd, 0), 0);
            let mut len = len;
            libc::getsockname(fd, (&mut a as *mut libc::sockaddr_in).cast(), &mut len);
            ListenZero { fd, port: u16::from_be(a.sin_port) }
        }
    }

    fn connect_nonblocking(&self) -> Option<TcpStream> {
        let s = TcpStream::connect_timeout(&([127, 0, 0, 1], self.port).into(), Duration::from_millis(200));
        s.ok()
    }
}

impl Drop for ListenZero {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours.
        unsafe { libc::close(self.fd) };
    }
}

/// Accepts one connection, does the handshake, then neither reads nor
/// writes for `hold_ms` (no pongs, no close frame).
fn deaf_server(hold_ms: u64) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let io = FdStream::attach(tcp.as_raw_fd(), tcp.as_raw_fd()).unwrap();
        let hs = ServerHandshake { max_resource_len: 100, max_host_len: 100, ..ServerHandshake::default() };
        let mut ws = WsSocket::server(io, true, Config::default(), Some(hs)).unwrap();
        ws.handshake(soon()).unwrap();
        thread::sleep(Duration::from_millis(hold_ms));
    });
    port
}

#[test]
fn keepalive_drops_a_server_that_stops_answering() {
    let port = deaf_server(3000);
    let config = Config { keepalive_interval_ms: 100, keepalive_timeout_ms: 150, ..Config::default() };
    let (client, events) = started(&format!("ws://127.0.0.1:{port}/"), Options { config, ..Options::default() });
    assert_eq!(events.next(), Ev::Established);
    let start = Instant::now();
    assert_eq!(events.next(), Ev::Closed(1006, "keepalive pong timed out".into(), false));
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    client.join().unwrap();
}

#[test]
fn a_server_that_never_answers_the_close_frame_is_dropped_after_the_close_timeout() {
    let port = deaf_server(3000);
    let limits = Limits { close_timeout_ms: 200, ..Limits::default() };
    let options = Options { config: Config { limits, ..Config::default() }, ..Options::default() };
    let (client, events) = started(&format!("ws://127.0.0.1:{port}/"), options);
    assert_eq!(events.next(), Ev::Established);
    let start = Instant::now();
    client.close(1000, "").unwrap();
    assert_eq!(events.next(), Ev::Closed(1006, "close handshake timed out".into(), false));
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    client.join().unwrap();
}

#[test]
fn service_needs_connect_first_and_returns_at_once_when_finished() {
    let port = refusing_port();
    let (handler, events) = Recorder::new();
    let client = Client::new(&format!("ws://127.0.0.1:{port}/"), Options::default(), Box::new(handler)).unwrap();
    assert!(matches!(client.service(0), Err(Error::State(_))));
    client.connect().unwrap();
    let start = Instant::now();
    while client.service(50).unwrap() {
        assert!(start.elapsed() < Duration::from_secs(5));
    }
    assert_eq!(events.next(), Ev::Error(Error::ConnectionRefused, "connection refused".into()));
    let start = Instant::now();
    assert!(!client.service(-1).unwrap());
    assert!(start.elapsed() < Duration::from_millis(500));
    assert!(client.next_deadline().is_none());
}

#[test]
fn the_client_logs_through_the_library_log() {
    use std::sync::{Arc, Mutex};
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    ews::log::set(
        ews::log::Level::Info,
        Some(Arc::new(move |_, line: &str| sink.lock().unwrap().push(line.to_owned()))),
    );
    let port = refusing_port();
    let (client, events) = started(&format!("ws://127.0.0.1:{port}/logged"), Options::default());
    assert_eq!(events.next(), Ev::Error(Error::ConnectionRefused, "connection refused".into()));
    client.join().unwrap();
    ews::log::set(ews::log::Level::Off, None);
    let lines = lines.lock().unwrap();
    let want = format!("client: connecting to 127.0.0.1:{port}");
    assert!(lines.iter().any(|l| l == &want), "{lines:?}");
    assert!(lines.iter().any(|l| l == "client: connection error: connection refused"), "{lines:?}");
}

/// Every thread in join() waits for the service thread to end, not only
/// the first (ews_client_free() joins too, and must not return while a
/// callback may still run).
#[test]
fn two_threads_joining_at_once_both_wait_for_the_service_thread() {
    let port = ws_server(1, echo);
    let (client, events) = started(&format!("ws://127.0.0.1:{port}/"), Options::default());
    assert_eq!(events.next(), Ev::Established);
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..2 {
        let (c, tx) = (client.clone(), tx.clone());
        thread::spawn(move || {
            let r = c.join();
            let _ = tx.send((r, c.state()));
        });
    }
    // Neither returns while the connection is open.
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "a join returned while the client ran");
    client.close(1000, "").unwrap();
    for _ in 0..2 {
        let (r, state) = rx.recv_timeout(Duration::from_secs(5)).expect("join returned");
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(state, ClientState::Finished);
    }
    assert_eq!(events.next(), Ev::Closed(1000, String::new(), true));
    assert!(client.join().is_ok());
}
