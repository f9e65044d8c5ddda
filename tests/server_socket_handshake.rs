//! Opening handshakes sent over a real socket to the built-in server:
//! every request the core refuses gets its documented HTTP answer, a
//! complete response (Content-Length matching the body, `Connection:
//! close`, then the end of the connection) and no connection callback;
//! the variations RFC 6455 allows are accepted.
//!
//! The server is `tests/c/counting_server.c`: an echo server on `/echo`
//! (every other path is 404) with a 500 ms handshake timeout that prints
//! how many callbacks of each kind ran when it stops. It runs under
//! valgrind when the C tests do.

mod cbuild;
mod rawws;
mod serverproc;

use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rawws::{ACCEPT, CLOSE, KEY, TEXT};
use serverproc::{ServerProcess, Valgrind};

const HANDSHAKE_TIMEOUT_MS: u64 = 500;

fn counting_server() -> PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let src = cbuild::root().join("tests/c/counting_server.c");
        cbuild::compile("counting_server", &[&src], &[])
    })
    .clone()
}

fn start() -> ServerProcess {
    ServerProcess::start(&counting_server(), &[&HANDSHAKE_TIMEOUT_MS.to_string()], Valgrind::Auto)
}

/// The callbacks the server ran, as it prints them when it stops.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    service: u32,
    upgraded: u32,
    refused: u32,
    frame: u32,
    ping: u32,
    close: u32,
}

/// Stops the server (asserting a clean exit) and returns its counts.
fn stop(server: ServerProcess) -> Counts {
    let finished = server.stop_clean();
    let line = finished
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("callbacks: "))
        .unwrap_or_else(|| panic!("no counts in the output:\n{}", finished.stdout));
    let mut c = Counts::default();
    for item in line.split_whitespace() {
        let (name, value) = item.split_once('=').expect("name=value");
        let value: u32 = value.parse().expect("a count");
        match name {
            "service" => c.service = value,
            "upgraded" => c.upgraded = value,
            "refused" => c.refused = value,
            "frame" => c.frame = value,
            "ping" => c.ping = value,
            "close" => c.close = value,
            other => panic!("unknown count {other}"),
        }
    }
    c
}

/// No connection was made: the service (when the request got that far)
/// refused `service` requests and no connection callback ran.
fn refused_by_service(service: u32) -> Counts {
    Counts { service, refused: service, ..Counts::default() }
}

/// A parsed HTTP response.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
        let first = values.next().map(|(_, v)| v.as_str());
        assert!(values.next().is_none(), "header {name} repeated in {self:?}");
        first
    }
}

/// Parses one complete response; asserts HTTP/1.1 and, unless it is a 101,
/// that Content-Length is present and matches the body exactly.
fn parse_response(bytes: &[u8]) -> Response {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let n = match resp.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        other => panic!("not a complete HTTP response ({other:?}): {:?}", String::from_utf8_lossy(bytes)),
    };
    assert_eq!(resp.version, Some(1), "not HTTP/1.1: {:?}", String::from_utf8_lossy(bytes));
    let status = resp.code.expect("a status code");
    assert!(resp.reason.is_some_and(|r| !r.is_empty()), "no reason phrase");
    let headers: Vec<(String, String)> = resp
        .headers
        .iter()
        .map(|h| (h.name.to_owned(), String::from_utf8(h.value.to_vec()).expect("ASCII header value")))
        .collect();
    let r = Response { status, headers, body: bytes[n..].to_vec() };
    if status != 101 {
        let length: usize = r
            .header("Content-Length")
            .unwrap_or_else(|| panic!("no Content-Length in {r:?}"))
            .parse()
            .expect("a decimal Content-Length");
        assert_eq!(length, r.body.len(), "Content-Length does not match the body: {r:?}");
    }
    r
}

/// Sends `request` on a new connection and reads the answer up to the end
/// of the connection, which the server closes after a refusal.
fn send(server: &ServerProcess, request: &[u8]) -> Response {
    let mut s = rawws::connect(server.addr());
    s.write_all(request).expect("send the request");
    read_refusal(&mut s)
}

/// Reads a refusal: a complete response with `Connection: close`, nothing
/// after its body, no upgrade, and the server closing the connection.
fn read_refusal(s: &mut TcpStream) -> Response {
    let bytes = rawws::read_to_eof(s, rawws::TIMEOUT);
    let r = parse_response(&bytes);
    assert!(r.status >= 400, "expected a refusal, got {r:?}");
    assert_eq!(r.header("Connection").map(str::to_ascii_lowercase).as_deref(), Some("close"), "{r:?}");
    assert!(r.header("Sec-WebSocket-Accept").is_none() && r.header("Upgrade").is_none(), "{r:?}");
    assert!(r.header("Content-Type").is_some_and(|t| t.starts_with("text/plain")), "{r:?}");
    r
}

/// Sends `request`, expects `status`, and checks that the service ran
/// `service` times (0 when the request is refused before routing) without
/// upgrading and no connection callback ran. Returns the response.
fn assert_refused(request: &[u8], status: u16, service: u32) -> Response {
    let server = start();
    let r = send(&server, request);
    assert_eq!(r.status, status, "for {:?}: {r:?}", String::from_utf8_lossy(request));
    assert_eq!(stop(server), refused_by_service(service));
    r
}

/// The header fields of a valid handshake, in order.
fn good_fields() -> Vec<String> {
    [
        "Host: 127.0.0.1".to_owned(),
        "Upgrade: websocket".to_owned(),
        "Connection: Upgrade".to_owned(),
        format!("Sec-WebSocket-Key: {KEY}"),
        "Sec-WebSocket-Version: 13".to_owned(),
    ]
    .to_vec()
}

/// `GET /echo HTTP/1.1` with `fields`.
fn request_with(fields: &[String]) -> Vec<u8> {
    request_line_with("GET /echo HTTP/1.1", fields)
}

fn request_line_with(line: &str, fields: &[String]) -> Vec<u8> {
    let mut r = format!("{line}\r\n");
    for f in fields {
        r.push_str(f);
        r.push_str("\r\n");
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// A valid handshake with the field starting with `name` replaced by
/// `field` (or removed when `field` is None).
fn replaced(name: &str, field: Option<&str>) -> Vec<u8> {
    let mut fields = good_fields();
    let i = fields.iter().position(|f| f.starts_with(name)).expect("a field of the good request");
    match field {
        Some(f) => fields[i] = f.to_owned(),
        None => {
            fields.remove(i);
        }
    }
    request_with(&fields)
}

/// Sends `request`, expects a 101 with the right accept key, then echoes a
/// message and closes; the server counts one connection with one message.
fn assert_accepted(request: &[u8]) {
    let server = start();
    let mut s = rawws::connect(server.addr());
    s.write_all(request).unwrap();
    expect_101(&mut s);
    echo_and_close(&mut s);
    drop(s);
    assert_eq!(stop(server), Counts { service: 1, upgraded: 1, frame: 1, close: 1, ..Counts::default() });
}

fn expect_101(s: &mut TcpStream) {
    let head = rawws::read_head(s);
    let r = parse_response(&head);
    assert_eq!(r.status, 101, "{r:?}");
    assert_eq!(r.header("Upgrade").map(str::to_ascii_lowercase).as_deref(), Some("websocket"), "{r:?}");
    assert_eq!(r.header("Connection").map(str::to_ascii_lowercase).as_deref(), Some("upgrade"), "{r:?}");
    assert_eq!(r.header("Sec-WebSocket-Accept"), Some(ACCEPT), "{r:?}");
    assert!(r.header("Sec-WebSocket-Extensions").is_none() && r.header("Sec-WebSocket-Protocol").is_none());
}

fn echo_and_close(s: &mut TcpStream) {
    s.write_all(&rawws::frame(true, TEXT, "héllo".as_bytes(), true)).unwrap();
    let f = rawws::read_frame(s);
    assert_eq!((f.opcode, f.payload.as_slice()), (TEXT, "héllo".as_bytes()));
    s.write_all(&rawws::frame(true, CLOSE, &1000u16.to_be_bytes(), true)).unwrap();
    rawws::expect_close(s, 1000);
}

// ----- refused before routing: the service never runs -----

#[test]
fn a_word_that_is_not_a_request_line_gets_400() {
    assert_refused(b"HELLO\r\n\r\n", 400, 0);
}

#[test]
fn three_words_of_text_that_are_not_http_get_400() {
    assert_refused(b"this is not http\r\n\r\n", 400, 0);
}

#[test]
fn http_2_0_request_line_gets_505() {
    assert_refused(&request_line_with("GET /echo HTTP/2.0", &good_fields()), 505, 0);
}

#[test]
fn binary_garbage_ending_in_an_empty_line_gets_400() {
    assert_refused(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00\xff\r\n\r\n", 400, 0);
}

#[test]
fn tls_client_hello_gets_400_at_once_not_408_after_the_handshake_timeout() {
    // No line end ever comes: only an early refusal can answer 400 (the
    // handshake timeout answers 408).
    let server = start();
    let mut s = rawws::connect(server.addr());
    s.write_all(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03").unwrap();
    let r = read_refusal(&mut s);
    assert_eq!(r.status, 400, "{r:?}");
    drop(s);
    assert_eq!(stop(server), refused_by_service(0));
}

#[test]
fn header_line_without_colon_gets_400() {
    let mut fields = good_fields();
    fields.push("Not A Header".to_owned());
    assert_refused(&request_with(&fields), 400, 0);
}

#[test]
fn http_1_0_gets_505() {
    assert_refused(&request_line_with("GET /echo HTTP/1.0", &good_fields()), 505, 0);
}

#[test]
fn unknown_resource_gets_404() {
    assert_refused(&request_line_with("GET /nowhere HTTP/1.1", &good_fields()), 404, 0);
}

/// A valid handshake padded with an `X-Pad` field to exactly `len` bytes.
fn request_of_length(len: usize) -> Vec<u8> {
    let base = request_with(&good_fields()).len();
    let overhead = "X-Pad: \r\n".len();
    assert!(len >= base + overhead);
    let mut fields = good_fields();
    fields.push(format!("X-Pad: {}", "p".repeat(len - base - overhead)));
    let r = request_with(&fields);
    assert_eq!(r.len(), len);
    r
}

#[test]
fn head_of_exactly_8_kib_is_accepted() {
    assert_accepted(&request_of_length(8192));
}

#[test]
fn head_one_byte_over_8_kib_gets_431() {
    assert_refused(&request_of_length(8193), 431, 0);
}

#[test]
fn head_of_100_kib_gets_431() {
    assert_refused(&request_of_length(100 << 10), 431, 0);
}

#[test]
fn endless_header_stream_gets_431() {
    let server = start();
    let mut s = rawws::connect(server.addr());
    let writer_socket = s.try_clone().unwrap();
    let stop_writing = std::sync::Arc::new(AtomicBool::new(false));
    let stop_flag = stop_writing.clone();
    // Headers without end, until the server stops reading or we are done.
    let writer = std::thread::spawn(move || {
        let mut w = writer_socket;
        let mut sent = 0usize;
        let _ = w.write_all(b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        while !stop_flag.load(Ordering::Relaxed) && sent < (64 << 20) {
            match w.write_all(b"X-Endless: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n") {
                Ok(()) => sent += 60,
                Err(_) => break,
            }
        }
    });
    let r = read_refusal(&mut s);
    stop_writing.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(r.status, 431, "{r:?}");
    drop(s);
    assert_eq!(stop(server), refused_by_service(0));
}

/// A valid handshake with `n` header fields in all.
fn request_with_field_count(n: usize) -> Vec<u8> {
    let mut fields = good_fields();
    for i in fields.len()..n {
        fields.push(format!("X-Field-{i}: {i}"));
    }
    assert_eq!(fields.len(), n);
    request_with(&fields)
}

#[test]
fn sixty_four_header_fields_are_accepted() {
    assert_accepted(&request_with_field_count(64));
}

#[test]
fn sixty_five_header_fields_get_431() {
    assert_refused(&request_with_field_count(65), 431, 0);
}

#[test]
fn five_hundred_short_header_fields_within_8_kib_get_431() {
    let mut fields = good_fields();
    fields.extend((0..500).map(|i| format!("X-{i}: 1")));
    assert!(request_with(&fields).len() < 8192);
    assert_refused(&request_with(&fields), 431, 0);
}

// ----- refused by the upgrade: the service runs, no connection is made -----

#[test]
fn missing_host_gets_400() {
    assert_refused(&replaced("Host", None), 400, 1);
}

#[test]
fn two_host_fields_get_400() {
    let mut fields = good_fields();
    fields.push("Host: example.com".to_owned());
    assert_refused(&request_with(&fields), 400, 1);
}

#[test]
fn missing_upgrade_gets_400() {
    assert_refused(&replaced("Upgrade", None), 400, 1);
}

#[test]
fn upgrade_to_another_protocol_gets_400() {
    assert_refused(&replaced("Upgrade", Some("Upgrade: h2c")), 400, 1);
}

#[test]
fn connection_keep_alive_without_upgrade_gets_400() {
    assert_refused(&replaced("Connection", Some("Connection: keep-alive")), 400, 1);
}

#[test]
fn missing_connection_gets_400() {
    assert_refused(&replaced("Connection", None), 400, 1);
}

#[test]
fn missing_invalid_or_repeated_keys_get_400() {
    let server = start();
    let requests = [
        replaced("Sec-WebSocket-Key", None),
        replaced("Sec-WebSocket-Key", Some("Sec-WebSocket-Key: short")),
        // 20 base64 characters: 15 bytes, not 16.
        replaced("Sec-WebSocket-Key", Some("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA")),
        // 24 characters that are not base64.
        replaced("Sec-WebSocket-Key", Some("Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==")),
        replaced("Sec-WebSocket-Key", Some("Sec-WebSocket-Key:")),
        {
            let mut fields = good_fields();
            fields.push(format!("Sec-WebSocket-Key: {KEY}"));
            request_with(&fields)
        },
    ];
    for request in &requests {
        let r = send(&server, request);
        assert_eq!(r.status, 400, "for {:?}: {r:?}", String::from_utf8_lossy(request));
    }
    assert_eq!(stop(server), refused_by_service(requests.len() as u32));
}

#[test]
fn post_gets_405_with_allow_get() {
    let r = assert_refused(&request_line_with("POST /echo HTTP/1.1", &good_fields()), 405, 1);
    assert_eq!(r.header("Allow"), Some("GET"), "{r:?}");
}

#[test]
fn version_8_gets_426_with_sec_websocket_version_13() {
    let r = assert_refused(&replaced("Sec-WebSocket-Version", Some("Sec-WebSocket-Version: 8")), 426, 1);
    assert_eq!(r.header("Sec-WebSocket-Version"), Some("13"), "{r:?}");
}

#[test]
fn missing_version_gets_426_with_sec_websocket_version_13() {
    let r = assert_refused(&replaced("Sec-WebSocket-Version", None), 426, 1);
    assert_eq!(r.header("Sec-WebSocket-Version"), Some("13"), "{r:?}");
}

#[test]
fn malformed_subprotocol_list_gets_400() {
    let mut fields = good_fields();
    fields.push("Sec-WebSocket-Protocol: chat, bad protocol".to_owned());
    assert_refused(&request_with(&fields), 400, 1);
}

#[test]
fn asterisk_request_target_gets_400() {
    assert_refused(&request_line_with("GET * HTTP/1.1", &good_fields()), 400, 0);
}

// ----- clients that never finish -----

/// Expects the server to answer 408 and close, about the handshake timeout
/// after `since`.
fn expect_timeout(s: &mut TcpStream, since: Instant) {
    let r = read_refusal(s);
    let elapsed = since.elapsed();
    assert_eq!(r.status, 408, "{r:?}");
    // The loop's clock counts whole milliseconds.
    assert!(elapsed >= Duration::from_millis(HANDSHAKE_TIMEOUT_MS - 5), "closed after only {elapsed:?}");
    assert!(elapsed < Duration::from_millis(HANDSHAKE_TIMEOUT_MS + 10_000), "closed only after {elapsed:?}");
}

#[test]
fn client_sending_nothing_is_answered_408_and_closed_after_the_handshake_timeout() {
    let server = start();
    let mut s = rawws::connect(server.addr());
    let since = Instant::now();
    expect_timeout(&mut s, since);
    drop(s);
    assert_eq!(stop(server), refused_by_service(0));
}

#[test]
fn client_stalling_inside_the_head_is_answered_408_after_the_handshake_timeout() {
    let server = start();
    let mut s = rawws::connect(server.addr());
    let since = Instant::now();
    let request = request_with(&good_fields());
    s.write_all(&request[..request.len() / 2]).unwrap();
    expect_timeout(&mut s, since);
    drop(s);
    assert_eq!(stop(server), refused_by_service(0));
}

#[test]
fn upgraded_connection_is_not_subject_to_the_handshake_timeout() {
    let server = start();
    let mut s = rawws::connect(server.addr());
    s.write_all(&request_with(&good_fields())).unwrap();
    expect_101(&mut s);
    std::thread::sleep(Duration::from_millis(3 * HANDSHAKE_TIMEOUT_MS));
    echo_and_close(&mut s);
    drop(s);
    assert_eq!(stop(server), Counts { service: 1, upgraded: 1, frame: 1, close: 1, ..Counts::default() });
}

// ----- accepted variations -----

#[test]
fn rfc_example_handshake_is_accepted() {
    assert_accepted(&request_with(&good_fields()));
}

#[test]
fn absolute_form_request_target_is_accepted() {
    assert_accepted(&request_line_with("GET http://127.0.0.1/echo HTTP/1.1", &good_fields()));
}

#[test]
fn connection_keep_alive_comma_upgrade_is_accepted() {
    assert_accepted(&replaced("Connection", Some("Connection: keep-alive, Upgrade")));
}

#[test]
fn lowercase_upgrade_field_with_mixed_case_websocket_is_accepted() {
    assert_accepted(&replaced("Upgrade", Some("upgrade: WebSocket")));
}

#[test]
fn field_names_and_tokens_in_any_case_with_extra_spaces_are_accepted() {
    let fields = [
        "HOST: 127.0.0.1".to_owned(),
        "UPGRADE:   WEBSOCKET  ".to_owned(),
        "connection:Upgrade".to_owned(),
        format!("sec-websocket-key:  {KEY} "),
        "SEC-WEBSOCKET-VERSION: 13".to_owned(),
    ];
    assert_accepted(&request_with(&fields));
}

#[test]
fn offered_extensions_and_subprotocols_the_server_lacks_are_ignored() {
    let mut fields = good_fields();
    fields.push("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits".to_owned());
    fields.push("Sec-WebSocket-Protocol: chat, superchat".to_owned());
    fields.push("Origin: http://example.com".to_owned());
    assert_accepted(&request_with(&fields));
}

#[test]
fn request_and_first_frame_in_one_write_are_both_served() {
    let server = start();
    let mut s = rawws::connect(server.addr());
    let mut bytes = request_with(&good_fields());
    bytes.extend(rawws::frame(true, TEXT, b"early", true));
    s.write_all(&bytes).unwrap();
    expect_101(&mut s);
    let f = rawws::read_frame(&mut s);
    assert_eq!((f.opcode, f.payload.as_slice()), (TEXT, &b"early"[..]));
    s.write_all(&rawws::frame(true, CLOSE, &1000u16.to_be_bytes(), true)).unwrap();
    rawws::expect_close(&mut s, 1000);
    drop(s);
    assert_eq!(stop(server), Counts { service: 1, upgraded: 1, frame: 1, close: 1, ..Counts::default() });
}

#[test]
fn head_delivered_one_byte_at_a_time_is_accepted() {
    let server = start();
    let mut s = rawws::connect(server.addr());
    for b in request_with(&good_fields()) {
        s.write_all(&[b]).unwrap();
    }
    expect_101(&mut s);
    echo_and_close(&mut s);
    drop(s);
    assert_eq!(stop(server), Counts { service: 1, upgraded: 1, frame: 1, close: 1, ..Counts::default() });
}

// ----- a request handed over by the host's own HTTP server -----

/// Echoes every message; counts them.
struct Echo(std::sync::atomic::AtomicUsize);

impl ews::server::Handler for Echo {
    fn on_frame(&self, wss: &ews::server::Wss, data: &[u8], text: bool) {
        self.0.fetch_add(1, Ordering::Relaxed);
        wss.write(data, text, ews::server::Wait::Block).expect("echo");
    }
    fn on_close(&self, _wss: &ews::server::Wss, _status: ews::server::CloseStatus) {}
}

#[test]
fn upgrade_fd_with_more_frames_after_the_head_than_a_read_buffer_echoes_them_all() {
    use std::os::fd::OwnedFd;
    let server = ews::server::Server::new(ews::server::ServerOptions::default()).unwrap();
    server.start().unwrap();
    // The host's own listener accepted a connection and read the request
    // together with 100 frames of 1000 bytes (about 100 KiB).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = rawws::connect(listener.local_addr().unwrap());
    let (accepted, _) = listener.accept().unwrap();
    let mut request = request_with(&good_fields());
    for i in 0..100u8 {
        request.extend(rawws::frame(true, rawws::BINARY, &[i; 1000], true));
    }
    let handler = Arc::new(Echo(Default::default()));
    let wss = ews::server::Wss::new(handler.clone(), 0, 0, 0);
    server.upgrade_fd(&wss, OwnedFd::from(accepted), &request, &[]).unwrap();
    expect_101(&mut client);
    client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for i in 0..100u8 {
        let f = rawws::read_frame(&mut client);
        assert_eq!((f.opcode, f.payload.as_slice()), (rawws::BINARY, &[i; 1000][..]), "frame {i}");
    }
    client.write_all(&rawws::frame(true, CLOSE, &1000u16.to_be_bytes(), true)).unwrap();
    rawws::expect_close(&mut client, 1000);
    server.stop();
    server.join().unwrap();
    assert_eq!(handler.0.load(Ordering::Relaxed), 100);
}

// ----- a request body could smuggle a request past a proxy -----

/// A valid handshake with `extra` fields, followed by `body` in the same
/// write (what a smuggling client sends).
fn with_body(extra: &[&str], body: &[u8]) -> Vec<u8> {
    let mut fields = good_fields();
    fields.extend(extra.iter().map(|f| (*f).to_owned()));
    let mut r = request_with(&fields);
    r.extend_from_slice(body);
    r
}

#[test]
fn upgrade_with_a_content_length_body_gets_400_and_no_frame_is_read_from_the_body() {
    let body = rawws::frame(true, TEXT, b"smuggled", true);
    let len = format!("Content-Length: {}", body.len());
    let r = assert_refused(&with_body(&[&len], &body), 400, 1);
    assert_eq!(String::from_utf8_lossy(&r.body).trim_end(), "request has a body or ambiguous framing");
}

#[test]
fn upgrade_with_transfer_encoding_gets_400() {
    assert_refused(&with_body(&["Transfer-Encoding: chunked"], b"0\r\n\r\n"), 400, 1);
}

#[test]
fn upgrade_with_repeated_content_length_gets_400() {
    assert_refused(&with_body(&["Content-Length: 0", "Content-Length: 0"], b""), 400, 1);
}

#[test]
fn upgrade_with_obsolete_line_folding_gets_400() {
    assert_refused(&with_body(&["X-Folded: a", " b"], b""), 400, 0);
}

#[test]
fn upgrade_with_content_length_0_is_accepted() {
    assert_accepted(&with_body(&["Content-Length: 0"], b""));
}
