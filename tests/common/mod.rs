//! Shared helpers of the protocol-core integration tests: building frames
//! the way a peer would (masked client frames, unmasked server frames),
//! feeding bytes into a connection and collecting owned copies of its
//! events, decoding the frames a connection wrote, and the opening
//! handshakes of RFC 6455.
//!
//! Everything here goes through the public API (`ews::proto::*`), except
//! the `Sec-WebSocket-Accept` computation, which is done independently with
//! `sha1` and `base64` so that the handshake tests do not check the library
//! against itself.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::Digest as _;

use ews::Error;
use ews::proto::frame::{HeaderRules, MAX_HEADER_LEN, decode_header, encode_header};
use ews::proto::handshake::client::ClientOptions;
use ews::proto::mask::apply_mask;
use ews::proto::{Config, Connection, Event, Opcode, Role, ServerOptions, State};

// ----- opcodes as wire values -----

/// `0x0`.
pub const CONT: u8 = 0x0;
/// `0x1`.
pub const TEXT: u8 = 0x1;
/// `0x2`.
pub const BINARY: u8 = 0x2;
/// `0x8`.
pub const CLOSE: u8 = 0x8;
/// `0x9`.
pub const PING: u8 = 0x9;
/// `0xA`.
pub const PONG: u8 = 0xA;

/// The masking key the helpers use (every byte non-zero, so masking shows).
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

// ----- building frames -----

/// A header with any bits, opcode, mask and declared length.
pub fn header(fin: bool, rsv: u8, opcode: u8, mask: Option<[u8; 4]>, declared: u64) -> Vec<u8> {
    let mut out = [0u8; MAX_HEADER_LEN];
    let n = encode_header(&mut out, fin, rsv, opcode, mask, declared);
    out[..n].to_vec()
}

/// A whole frame: header and payload, masked with `mask` when given.
pub fn raw_frame(fin: bool, rsv: u8, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = header(fin, rsv, opcode, mask, payload.len() as u64);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
    out
}

/// A frame as a client sends it: masked.
pub fn client_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    raw_frame(fin, 0, opcode, Some(KEY), payload)
}

/// A frame as a server sends it: not masked.
pub fn server_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    raw_frame(fin, 0, opcode, None, payload)
}

/// A frame as the peer of a connection with `role` sends it.
pub fn peer_frame(role: Role, opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    match role {
        Role::Server => client_frame(opcode, fin, payload),
        Role::Client => server_frame(opcode, fin, payload),
    }
}

/// A close payload: the code in network order, then the reason.
pub fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

/// Concatenates frames.
pub fn concat(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

// ----- connections -----

/// A server connection that is open from the start (no HTTP).
pub fn server() -> Connection {
    Connection::open(Role::Server, Config::default()).expect("open server")
}

/// A server connection, open from the start, with `config`.
pub fn server_with(config: Config) -> Connection {
    Connection::open(Role::Server, config).expect("open server")
}

/// A client connection that is open from the start (no HTTP).
pub fn client() -> Connection {
    Connection::open(Role::Client, Config::default()).expect("open client")
}

/// A client connection, open from the start, with `config`.
pub fn client_with(config: Config) -> Connection {
    Connection::open(Role::Client, config).expect("open client")
}

/// A configuration that delivers pings and pongs as events.
pub fn control_events() -> Config {
    Config { control_events: true, ..Config::default() }
}

/// A configuration in streaming mode.
pub fn streaming() -> Config {
    Config { streaming: true, ..Config::default() }
}

// ----- events -----

/// An owned copy of an [`Event`], so that events can be kept and compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    /// [`Event::Request`].
    Request,
    /// [`Event::Open`].
    Open,
    /// [`Event::Message`].
    Message {
        /// Text or binary.
        text: bool,
        /// The payload.
        data: Vec<u8>,
    },
    /// [`Event::Fragment`].
    Fragment {
        /// Text or binary.
        text: bool,
        /// The piece.
        data: Vec<u8>,
        /// First piece.
        first: bool,
        /// Last piece.
        last: bool,
    },
    /// [`Event::Ping`].
    Ping(Vec<u8>),
    /// [`Event::Pong`].
    Pong(Vec<u8>),
    /// [`Event::Close`].
    Close {
        /// The code.
        code: u16,
        /// The reason.
        reason: String,
    },
    /// [`Event::Error`].
    Error(Error),
}

impl Ev {
    /// A text message.
    pub fn text(s: &str) -> Ev {
        Ev::Message { text: true, data: s.as_bytes().to_vec() }
    }

    /// A binary message.
    pub fn binary(b: &[u8]) -> Ev {
        Ev::Message { text: false, data: b.to_vec() }
    }

    /// A close event.
    pub fn close(code: u16, reason: &str) -> Ev {
        Ev::Close { code, reason: reason.to_owned() }
    }

    /// A fragment.
    pub fn fragment(text: bool, data: &[u8], first: bool, last: bool) -> Ev {
        Ev::Fragment { text, data: data.to_vec(), first, last }
    }
}

impl From<Event<'_>> for Ev {
    fn from(e: Event<'_>) -> Ev {
        match e {
            Event::Request => Ev::Request,
            Event::Open => Ev::Open,
            Event::Message { text, data } => Ev::Message { text, data: data.to_vec() },
            Event::Fragment { text, data, first, last } => Ev::Fragment { text, data: data.to_vec(), first, last },
            Event::Ping(d) => Ev::Ping(d.to_vec()),
            Event::Pong(d) => Ev::Pong(d.to_vec()),
            Event::Close { code, reason } => Ev::Close { code, reason: reason.to_owned() },
            Event::Error(e) => Ev::Error(e),
        }
    }
}

/// Feeds `input` (a copy: the connection unmasks in place) until it is used
/// up or the connection stops taking bytes, and returns the events in order
/// and how many bytes were taken.
pub fn feed_counting(conn: &mut Connection, input: &[u8]) -> (Vec<Ev>, usize) {
    let mut buf = input.to_vec();
    let mut pos = 0;
    let mut events = Vec::new();
    let mut idle = 0;
    while pos < buf.len() {
        let progress = conn.feed(&mut buf[pos..]);
        let consumed = progress.consumed;
        let event = progress.event.map(Ev::from);
        assert!(pos + consumed <= buf.len(), "consumed more than was fed");
        pos += consumed;
        if consumed == 0 {
            idle += 1;
        } else {
            idle = 0;
        }
        match event {
            Some(e) => events.push(e),
            None if consumed == 0 => break,
            None => {}
        }
        assert!(idle < 3, "feed keeps returning events without taking bytes: {events:?}");
    }
    (events, pos)
}

/// Feeds `input` and returns the events in order.
pub fn feed(conn: &mut Connection, input: &[u8]) -> Vec<Ev> {
    feed_counting(conn, input).0
}

/// Feeds `input` in the pieces cut at `cuts` (positions into `input`,
/// ascending) and returns all events in order.
pub fn feed_in_pieces(conn: &mut Connection, input: &[u8], cuts: &[usize]) -> Vec<Ev> {
    let mut events = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        events.extend(feed(conn, &input[start..cut]));
        start = cut;
    }
    events
}

/// Feeds `input` one byte at a time.
pub fn feed_bytewise(conn: &mut Connection, input: &[u8]) -> Vec<Ev> {
    let cuts: Vec<usize> = (1..input.len()).collect();
    feed_in_pieces(conn, input, &cuts)
}

// ----- output -----

/// Takes every byte the connection has to write.
pub fn take_output(conn: &mut Connection) -> Vec<u8> {
    let out = conn.pending_output().to_vec();
    conn.consume(out.len());
    out
}

/// A frame as written on the wire, payload unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFrame {
    /// FIN.
    pub fin: bool,
    /// RSV1..RSV3.
    pub rsv: u8,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key, if the frame was masked.
    pub mask: Option<[u8; 4]>,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

impl WireFrame {
    /// The code of a close frame (`None` for an empty close payload).
    pub fn close_code(&self) -> Option<u16> {
        assert_eq!(self.opcode, Opcode::Close, "not a close frame: {self:?}");
        (self.payload.len() >= 2).then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }

    /// The reason of a close frame.
    pub fn close_reason(&self) -> &str {
        assert_eq!(self.opcode, Opcode::Close, "not a close frame: {self:?}");
        std::str::from_utf8(self.payload.get(2..).unwrap_or(&[])).expect("close reason is UTF-8")
    }
}

/// Decodes frames written by a connection; every byte must belong to a
/// whole, valid frame.
pub fn decode_frames(mut bytes: &[u8]) -> Vec<WireFrame> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let (h, n) = decode_header(bytes, &HeaderRules::ANY)
            .unwrap_or_else(|e| panic!("invalid frame header written: {e}"))
            .unwrap_or_else(|| panic!("incomplete frame header written: {bytes:02x?}"));
        let len = usize::try_from(h.payload_len).expect("payload fits in memory");
        assert!(bytes.len() >= n + len, "incomplete frame payload written");
        let mut payload = bytes[n..n + len].to_vec();
        if let Some(key) = h.mask {
            apply_mask(&mut payload, key, 0);
        }
        frames.push(WireFrame { fin: h.fin, rsv: h.rsv, opcode: h.opcode, mask: h.mask, payload });
        bytes = &bytes[n + len..];
    }
    frames
}

/// Takes the connection's output and decodes it into frames.
pub fn output_frames(conn: &mut Connection) -> Vec<WireFrame> {
    decode_frames(&take_output(conn))
}

/// Asserts that `conn` failed with `err`: the last event is the error, the
/// state is `Failed`, and the only bytes written are one close frame with
/// the error's close code and detail as its reason.
pub fn assert_failed_with(conn: &mut Connection, events: &[Ev], err: Error, code: u16) {
    assert_eq!(events.last(), Some(&Ev::Error(err)), "events: {events:?}");
    assert_eq!(err.close_code(), Some(code));
    assert_eq!(conn.state(), State::Failed);
    assert_eq!(conn.error(), Some(err));
    assert!(conn.wants_close());
    let frames = output_frames(conn);
    assert_eq!(frames.len(), 1, "exactly one frame written: {frames:?}");
    let close = &frames[0];
    assert_eq!(close.opcode, Opcode::Close);
    assert!(close.fin);
    assert_eq!(close.mask.is_some(), conn.role() == Role::Client, "clients mask, servers do not");
    assert_eq!(close.close_code(), Some(code));
    assert_eq!(close.close_reason(), err.detail());
}

/// Feeds `input` to an open server and asserts it fails with `err` and `code`,
/// with no event before the error.
pub fn server_fails(input: &[u8], err: Error, code: u16) {
    let mut conn = server();
    let events = feed(&mut conn, input);
    assert_eq!(events, [Ev::Error(err)]);
    assert_failed_with(&mut conn, &events, err, code);
}

/// Feeds `input` to an open client and asserts it fails with `err` and `code`,
/// with no event before the error.
pub fn client_fails(input: &[u8], err: Error, code: u16) {
    let mut conn = client();
    let events = feed(&mut conn, input);
    assert_eq!(events, [Ev::Error(err)]);
    assert_failed_with(&mut conn, &events, err, code);
}

// ----- HTTP -----

/// The client handshake of RFC 6455 §1.2.
pub const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\n\
    Host: server.example.com\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\n\
    Sec-WebSocket-Protocol: chat, superchat\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// The `Sec-WebSocket-Key` of [`RFC_REQUEST`].
pub const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The `Sec-WebSocket-Accept` RFC 6455 §1.3 gives for [`RFC_KEY`].
pub const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// `Sec-WebSocket-Accept` for a key, computed here: base64(SHA-1(key + GUID)).
pub fn accept_for(key: &str) -> String {
    let mut sha = sha1::Sha1::new();
    sha.update(key.as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    STANDARD.encode(sha.finalize())
}

/// A parsed HTTP message head and body.
#[derive(Debug, Clone)]
pub struct Http {
    /// The status code (responses) or 0 (requests).
    pub status: u16,
    /// The method (requests) or "" (responses).
    pub method: String,
    /// The request-target (requests) or "" (responses).
    pub target: String,
    /// The header fields in order.
    pub headers: Vec<(String, String)>,
    /// The bytes after the head.
    pub body: Vec<u8>,
}

impl Http {
    /// Every value of the header `name` (case-insensitive).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    /// The only value of the header `name`; panics when it is missing or repeated.
    pub fn one(&self, name: &str) -> &str {
        match self.all(name).as_slice() {
            [v] => v,
            other => panic!("expected one {name} header, found {other:?} in {self:?}"),
        }
    }
}

fn owned_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| (h.name.to_owned(), String::from_utf8(h.value.to_vec()).expect("header value is UTF-8")))
        .collect()
}

/// Parses a complete HTTP response with httparse. A response with a
/// `Content-Length` must carry exactly that many body bytes; without one
/// (a `101`), the body is whatever follows the head.
pub fn parse_response(bytes: &[u8]) -> Http {
    let mut storage = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut storage);
    let n = match resp.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        other => panic!("not a complete HTTP response ({other:?}): {:?}", String::from_utf8_lossy(bytes)),
    };
    assert_eq!(resp.version, Some(1), "HTTP/1.1");
    let http = Http {
        status: resp.code.expect("status"),
        method: String::new(),
        target: String::new(),
        headers: owned_headers(resp.headers),
        body: bytes[n..].to_vec(),
    };
    if let [len] = http.all("content-length").as_slice() {
        let len: usize = len.trim().parse().expect("Content-Length is a number");
        assert_eq!(len, http.body.len(), "Content-Length matches the body");
    }
    http
}

/// Parses a complete HTTP request head with httparse.
pub fn parse_request(bytes: &[u8]) -> Http {
    let mut storage = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut storage);
    let n = match req.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        other => panic!("not a complete HTTP request ({other:?}): {:?}", String::from_utf8_lossy(bytes)),
    };
    assert_eq!(req.version, Some(1), "HTTP/1.1");
    Http {
        status: 0,
        method: req.method.expect("method").to_owned(),
        target: req.path.expect("target").to_owned(),
        headers: owned_headers(req.headers),
        body: bytes[n..].to_vec(),
    }
}

/// A server connection (HTTP handshake) that has accepted [`RFC_REQUEST`];
/// the `101` has been taken from its output.
pub fn handshaken_server(config: Config, options: ServerOptions) -> Connection {
    let mut conn = Connection::server(config, options).expect("server");
    assert_eq!(feed(&mut conn, RFC_REQUEST.as_bytes()), [Ev::Open]);
    let resp = parse_response(&take_output(&mut conn));
    assert_eq!(resp.status, 101);
    conn
}

/// Client options for `ws://example.com/chat`.
pub fn client_options() -> ClientOptions {
    ClientOptions { resource: "/chat".into(), host: "example.com".into(), ..ClientOptions::default() }
}

/// A client connection (HTTP handshake) and the key of the request it wrote.
pub fn connecting_client(config: Config, options: &ClientOptions) -> (Connection, String) {
    let mut conn = Connection::client(config, options).expect("client");
    let req = parse_request(&take_output(&mut conn));
    let key = req.one("sec-websocket-key").to_owned();
    (conn, key)
}

/// The `101` a server answers to `key` with, plus `extra` header lines
/// (each ending in CRLF).
pub fn switching_response(key: &str, extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_for(key)
    )
}
