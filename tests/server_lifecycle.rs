//! The server's lifecycle through its Rust API, against a small blocking
//! client built on the protocol core: limits, timeouts, keepalive, Unix
//! sockets, per-route limits, shutdown.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ews::Error;
use ews::proto::handshake::client::ClientOptions;
use ews::proto::{Config, Connection, Event, Limits};
use ews::server::{CloseStatus, Handler, HttpRequest, Server, ServerOptions, Service, Wait, Wss};

/// What the server's callbacks saw.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Frame(Vec<u8>),
    Close(CloseStatus),
}

struct Recorder {
    seen: Mutex<Sender<Seen>>,
    echo: bool,
}

impl Handler for Recorder {
    fn on_frame(&self, wss: &Wss, data: &[u8], text: bool) {
        if self.echo {
            wss.write(data, text, Wait::Block).unwrap();
        }
        let _ = self.seen.lock().unwrap().send(Seen::Frame(data.to_vec()));
    }

    fn on_close(&self, _wss: &Wss, status: CloseStatus) {
        let _ = self.seen.lock().unwrap().send(Seen::Close(status));
    }
}

/// Upgrades every request, handing the connection to the test.
struct Upgrader {
    handler: Arc<Recorder>,
    conns: Mutex<Sender<Arc<Wss>>>,
}

impl Service for Upgrader {
    fn serve(&self, req: &mut HttpRequest<'_>) {
        let wss = Wss::new(self.handler.clone(), 0, 0, 0);
        if req.upgrade(&wss).is_ok() {
            let _ = self.conns.lock().unwrap().send(wss);
        }
    }
}

struct TestServer {
    server: Server,
    port: u16,
    seen: Receiver<Seen>,
    conns: Receiver<Arc<Wss>>,
}

fn server_with(options: ServerOptions, echo: bool, setup: impl FnOnce(&Server, Arc<dyn Service>)) -> TestServer {
    let (seen_tx, seen) = channel();
    let (conn_tx, conns) = channel();
    let handler = Arc::new(Recorder { seen: Mutex::new(seen_tx), echo });
    let service: Arc<dyn Service> = Arc::new(Upgrader { handler, conns: Mutex::new(conn_tx) });
    let server = Server::new(options).unwrap();
    let port = server.listen("127.0.0.1:0").unwrap();
    setup(&server, service.clone());
    server.route("/", true, service, None, Vec::new()).unwrap();
    server.start().unwrap();
    TestServer { server, port, seen, conns }
}

fn wait_seen(t: &TestServer) -> Seen {
    t.seen.recv_timeout(Duration::from_secs(10)).expect("a callback within 10 s")
}

/// A blocking client on the protocol core.
struct Client<S: Read + Write> {
    stream: S,
    conn: Connection,
    buf: Vec<u8>,
    start: Instant,
}

#[derive(Debug, PartialEq)]
enum Got {
    Message(Vec<u8>),
    Ping,
    Close(u16),
    Eof,
    Error(Error),
}

impl<S: Read + Write> Client<S> {
    fn new(stream: S, path: &str) -> Client<S> {
        let config = Config { control_events: true, ..Config::default() };
        let options = ClientOptions { resource: path.into(), host: "localhost".into(), ..Default::default() };
        let mut c = Client {
            stream,
            conn: Connection::client(config, &options).unwrap(),
            buf: Vec::new(),
            start: Instant::now(),
        };
        c.flush();
        assert_eq!(c.next(), Got::Message(b"<open>".to_vec()));
        c
    }

    fn flush(&mut self) {
        while !self.conn.pending_output().is_empty() {
            let n = self.stream.write(self.conn.pending_output()).unwrap();
            self.conn.consume(n);
        }
    }

    fn next(&mut self) -> Got {
        loop {
            let mut input = std::mem::take(&mut self.buf);
            let p = self.conn.feed(&mut input);
            let consumed = p.consumed;
            let got = match p.event {
                Some(Event::Open) => Some(Got::Message(b"<open>".to_vec())),
                Some(Event::Message { data, .. }) => Some(Got::Message(data.to_vec())),
                Some(Event::Ping(_)) => Some(Got::Ping),
                Some(Event::Close { code, .. }) => Some(Got::Close(code)),
                Some(Event::Error(e)) => Some(Got::Error(e)),
                _ => None,
            };
            self.buf = input[consumed..].to_vec();
            self.flush();
            if let Some(g) = got {
                return g;
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Got::Eof,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                    let _ = self.conn.on_time(self.start.elapsed().as_millis() as u64);
                    self.flush();
                }
                Err(e) => panic!("read: {e}"),
            }
        }
    }
}

fn tcp(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn http_status(port: u16, request: &str) -> u16 {
    let mut s = tcp(port);
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

const UPGRADE: &str = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

#[test]
fn connections_over_the_limit_are_answered_503() {
    let options = ServerOptions { max_connections: 2, ..ServerOptions::default() };
    let t = server_with(options, true, |_, _| {});
    let _a = Client::new(tcp(t.port), "/a");
    let _b = Client::new(tcp(t.port), "/b");
    assert_eq!(http_status(t.port, UPGRADE), 503);
    drop(_a);
    assert!(matches!(wait_seen(&t), Seen::Close(CloseStatus::Failed(Error::Dropped))));
    let _c = Client::new(tcp(t.port), "/c");
}

#[test]
fn pending_handshakes_over_the_limit_are_answered_503() {
    let options = ServerOptions { max_pending: 1, ..ServerOptions::default() };
    let t = server_with(options, true, |_, _| {});
    let mut slow = tcp(t.port);
    slow.write_all(b"GET / HTTP/1.1\r\n").unwrap(); // a handshake that does not finish
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(http_status(t.port, UPGRADE), 503);
}

#[test]
fn a_client_that_sends_nothing_is_answered_408_after_the_handshake_timeout() {
    let limits = Limits { handshake_timeout_ms: 200, ..Limits::default() };
    let t = server_with(ServerOptions { limits, ..ServerOptions::default() }, true, |_, _| {});
    let started = Instant::now();
    let mut s = tcp(t.port);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 408 "));
    assert!(started.elapsed() >= Duration::from_millis(150), "closed too early: {:?}", started.elapsed());
}

#[test]
fn keepalive_pings_an_idle_client_and_drops_one_that_never_answers() {
    let options = ServerOptions { keepalive_interval_ms: 100, keepalive_timeout_ms: 100, ..ServerOptions::default() };
    let t = server_with(options, true, |_, _| {});
    let mut live = Client::new(tcp(t.port), "/live");
    assert_eq!(live.next(), Got::Ping); // answered by the client core

    // A raw socket that completes the handshake and then reads nothing.
    let mut dead = tcp(t.port);
    dead.write_all(UPGRADE.as_bytes()).unwrap();
    let started = Instant::now();
    match wait_seen(&t) {
        Seen::Close(CloseStatus::Failed(Error::PongTimeout)) => {}
        other => panic!("expected a pong timeout, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(150));
    // The live client keeps answering and is never dropped.
    assert_eq!(live.next(), Got::Ping);
    assert!(t.seen.try_recv().is_err());
}

#[test]
fn a_close_the_peer_never_answers_ends_after_the_close_timeout() {
    let limits = Limits { close_timeout_ms: 200, ..Limits::default() };
    let t = server_with(ServerOptions { limits, ..ServerOptions::default() }, true, |_, _| {});
    let mut raw = tcp(t.port);
    raw.write_all(UPGRADE.as_bytes()).unwrap();
    let wss = t.conns.recv_timeout(Duration::from_secs(5)).unwrap();
    let started = Instant::now();
    wss.close(1000, "bye").unwrap();
    match wait_seen(&t) {
        Seen::Close(CloseStatus::Failed(Error::CloseTimeout)) => {}
        other => panic!("expected a close timeout, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(!wss.is_valid());
    assert_eq!(wss.write(b"x", true, Wait::NoBlock), Err(Error::Closed));
}

#[test]
fn the_server_closes_tcp_first_after_the_closing_handshake() {
    let t = server_with(ServerOptions::default(), true, |_, _| {});
    let mut c = Client::new(tcp(t.port), "/");
    c.conn.close(1000, "").unwrap();
    c.flush();
    assert_eq!(c.next(), Got::Close(1000));
    assert_eq!(c.next(), Got::Eof);
    assert_eq!(wait_seen(&t), Seen::Close(CloseStatus::Peer(1000)));
}

#[test]
fn a_unix_socket_listener_serves_websockets() {
    let path = std::env::temp_dir().join(format!("ews-test-{}.sock", std::process::id()));
    let addr = format!("unix:{}", path.display());
    let t = server_with(ServerOptions::default(), true, |s, _| {
        assert_eq!(s.listen(&addr).unwrap(), 0);
    });
    let stream = UnixStream::connect(&path).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut c = Client::new(stream, "/unix");
    c.conn.send(true, b"over a unix socket").unwrap();
    c.flush();
    assert_eq!(c.next(), Got::Message(b"over a unix socket".to_vec()));
    drop(c);
    drop(t);
    assert!(!path.exists(), "the socket file is removed with the server");
}

#[test]
fn a_route_with_its_own_limits_enforces_them() {
    let small = Limits { max_message: 100, ..Limits::default() };
    let t = server_with(ServerOptions::default(), true, |s, service| {
        s.route("/small", false, service, Some(small), Vec::new()).unwrap();
    });
    let mut c = Client::new(tcp(t.port), "/small");
    c.conn.send(false, &[1u8; 100]).unwrap();
    c.flush();
    assert_eq!(c.next(), Got::Message(vec![1u8; 100]));
    c.conn.send(false, &[1u8; 101]).unwrap();
    c.flush();
    assert_eq!(c.next(), Got::Close(1009));
    let mut big = Client::new(tcp(t.port), "/other");
    big.conn.send(false, &[2u8; 1000]).unwrap();
    big.flush();
    assert_eq!(big.next(), Got::Message(vec![2u8; 1000]));
}

#[test]
fn stopping_the_server_closes_every_connection_with_1001() {
    let t = server_with(ServerOptions::default(), true, |_, _| {});
    let mut c = Client::new(tcp(t.port), "/");
    t.server.stop();
    t.server.join().unwrap();
    assert_eq!(c.next(), Got::Close(1001));
    assert_eq!(wait_seen(&t), Seen::Close(CloseStatus::Failed(Error::Closed)));
    assert!(!t.server.is_running());
}

#[test]
fn run_on_the_callers_thread_returns_after_stop_from_another() {
    let server = Arc::new(Server::new(ServerOptions::default()).unwrap());
    let port = server.listen("127.0.0.1:0").unwrap();
    let stopper = server.clone();
    let handle = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        assert!(stopper.is_running());
        stopper.stop();
    });
    server.run().unwrap();
    handle.join().unwrap();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "the listener closes with the loop");
    assert_eq!(server.run(), Err(Error::State(c"the server is running or has run")));
}

#[test]
fn a_routes_send_queue_limit_applies_to_its_connections() {
    let small = Limits { send_queue_bytes: 1000, ..Limits::default() };
    let t = server_with(ServerOptions::default(), false, |s, service| {
        s.route("/small", false, service, Some(small), Vec::new()).unwrap();
    });
    let mut raw = tcp(t.port);
    raw.write_all(UPGRADE.replace("GET / ", "GET /small ").as_bytes()).unwrap();
    let wss = t.conns.recv_timeout(Duration::from_secs(5)).unwrap();
    // The client reads nothing: the socket fills, then the queue.
    let message = [b'q'; 300];
    let mut accepted = 0;
    let queued_at_refusal = loop {
        // Read before the write: the loop only takes bytes from the queue
        // meanwhile, so a refused write saw at most this many queued.
        let queued = wss.queued();
        match wss.write(&message, false, Wait::NoBlock) {
            Ok(()) => accepted += 1,
            Err(Error::WouldBlock) => break queued,
            Err(e) => panic!("unexpected {e}"),
        }
        assert!(accepted < 1_000_000, "the queue never pushed back");
    };
    assert!(
        (1000..1300).contains(&queued_at_refusal),
        "refused at {queued_at_refusal} queued bytes, not at the route's 1000"
    );
}

/// Upgrades the request, then writes 300-byte messages without blocking,
/// still inside the service callback (before the loop runs the
/// connection), until one is refused; reports the bytes queued then.
struct EagerGreeter {
    handler: Arc<Recorder>,
    queued: Mutex<Sender<usize>>,
}

impl Service for EagerGreeter {
    fn serve(&self, req: &mut HttpRequest<'_>) {
        let wss = Wss::new(self.handler.clone(), 0, 0, 0);
        req.upgrade(&wss).unwrap();
        let mut accepted = 0;
        let queued = loop {
            let queued = wss.queued();
            match wss.write(&[b'g'; 300], false, Wait::NoBlock) {
                Ok(()) => accepted += 1,
                Err(Error::WouldBlock) => break queued,
                Err(e) => panic!("unexpected {e}"),
            }
            if accepted == 100_000 {
                break usize::MAX; // never refused
            }
        };
        let _ = self.queued.lock().unwrap().send(queued);
    }
}

#[test]
fn writes_before_the_loop_runs_an_upgraded_connection_respect_its_send_queue_limit() {
    let small = Limits { send_queue_bytes: 1000, ..Limits::default() };
    let (tx, queued) = channel();
    let (seen_tx, _seen) = channel();
    let handler = Arc::new(Recorder { seen: Mutex::new(seen_tx), echo: false });
    let server = Server::new(ServerOptions::default()).unwrap();
    let port = server.listen("127.0.0.1:0").unwrap();
    let greeter = Arc::new(EagerGreeter { handler, queued: Mutex::new(tx) });
    server.route("/", true, greeter, Some(small), Vec::new()).unwrap();
    server.start().unwrap();
    let mut raw = tcp(port);
    raw.write_all(UPGRADE.as_bytes()).unwrap();
    let at_refusal = queued.recv_timeout(Duration::from_secs(10)).unwrap();
    // The 101 answer and the greetings: refused once past the route's 1000.
    assert!((1000..1300).contains(&at_refusal), "refused at {at_refusal} queued bytes");
    server.stop();
    server.join().unwrap();
}

/// Answers each message with as many 16 KiB messages as the queue takes
/// without blocking, and reports how many and when the queue drained.
struct Flooder {
    seen: Mutex<Sender<(&'static str, usize)>>,
}

impl Handler for Flooder {
    fn on_frame(&self, wss: &Wss, _data: &[u8], _text: bool) {
        let chunk = [7u8; 16 << 10];
        let mut written = 0;
        let refused = loop {
            match wss.write(&chunk, false, Wait::NoBlock) {
                Ok(()) => written += 1,
                Err(e) => break e,
            }
            if written == 1000 {
                break Error::Closed;
            }
        };
        assert_eq!(refused, Error::WouldBlock, "after {written} writes");
        let _ = self.seen.lock().unwrap().send(("written", written));
    }

    fn on_close(&self, _wss: &Wss, _status: CloseStatus) {}

    fn on_drain(&self, wss: &Wss) {
        let _ = self.seen.lock().unwrap().send(("drained", wss.queued()));
    }
}

struct FloodService(Arc<Flooder>);

impl Service for FloodService {
    fn serve(&self, req: &mut HttpRequest<'_>) {
        let _ = req.upgrade(&Wss::new(self.0.clone(), 0, 0, 0));
    }
}

#[test]
fn a_non_blocking_write_inside_a_callback_stops_at_the_high_water_mark_and_drain_follows() {
    let limits = Limits { send_queue_bytes: 64 << 10, ..Limits::default() };
    let (tx, seen) = channel();
    let server = Server::new(ServerOptions { limits, ..ServerOptions::default() }).unwrap();
    let port = server.listen("127.0.0.1:0").unwrap();
    let flooder = Arc::new(Flooder { seen: Mutex::new(tx) });
    server.route("/", true, Arc::new(FloodService(flooder)), None, Vec::new()).unwrap();
    server.start().unwrap();

    let mut c = Client::new(tcp(port), "/");
    c.conn.send(true, b"go").unwrap();
    c.flush();
    let (what, written) = seen.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(what, "written");
    // Whatever the socket took at once, plus at most the 64 KiB high-water
    // mark and the message that crossed it.
    assert!((4..100).contains(&written), "{written} messages of 16 KiB were queued in one callback");
    for _ in 0..written {
        assert_eq!(c.next(), Got::Message(vec![7u8; 16 << 10]));
    }
    let (what, queued) = seen.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(what, "drained");
    assert!(queued < 64 << 10, "drain reported with {queued} bytes still queued");
    server.stop();
    server.join().unwrap();
}
