//! A deliberately minimal WebSocket client over a plain `TcpStream`, for
//! sending what real clients never send (invalid UTF-8, unmasked frames,
//! bad handshakes) and reading exactly what the server answers.
//!
//! Every socket has read and write timeouts, so no test can hang on it.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The time any single read or write may take (generous: the server may
/// run under valgrind on a loaded machine).
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The key of RFC 6455 §1.3 and the `Sec-WebSocket-Accept` it must get.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CONTINUATION: u8 = 0x0;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// A connected socket with timeouts.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect to the server");
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.set_write_timeout(Some(TIMEOUT)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// A valid opening handshake for `path`.
pub fn request(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Reads an HTTP response head (up to and including the empty line) and
/// nothing after it.
pub fn read_head(s: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(0) => panic!("the server closed inside the response head: {:?}", String::from_utf8_lossy(&head)),
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("reading the response head: {e} (so far {:?})", String::from_utf8_lossy(&head)),
        }
    }
    head
}

/// Connects and completes the opening handshake on `path`; panics unless
/// the answer is a 101 with the right accept key.
pub fn open(addr: SocketAddr, path: &str) -> TcpStream {
    let mut s = connect(addr);
    s.write_all(request(path).as_bytes()).unwrap();
    let head = read_head(&mut s);
    let text = String::from_utf8_lossy(&head);
    assert!(text.starts_with("HTTP/1.1 101 "), "handshake answered {text:?}");
    assert!(text.contains(&format!("\r\nSec-WebSocket-Accept: {ACCEPT}\r\n")), "wrong accept key: {text:?}");
    s
}

/// Encodes a frame; a masked one gets a fixed, non-trivial key.
pub fn frame(fin: bool, opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n < 65536 => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// A frame as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The close code of a close frame (None for an empty one).
    pub fn close_code(&self) -> Option<u16> {
        assert_eq!(self.opcode, CLOSE, "not a close frame: {self:?}");
        (self.payload.len() >= 2).then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// Reads one frame; panics on a timeout or end of stream.
pub fn read_frame(s: &mut TcpStream) -> Frame {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).expect("read a frame header");
    let len = match head[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            u16::from_be_bytes(b) as u64
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).unwrap();
            u64::from_be_bytes(b)
        }
        n => n as u64,
    };
    let masked = head[1] & 0x80 != 0;
    let mut key = [0u8; 4];
    if masked {
        s.read_exact(&mut key).unwrap();
    }
    let mut payload = vec![0u8; usize::try_from(len).expect("frame length fits")];
    s.read_exact(&mut payload).expect("read a frame payload");
    if masked {
        payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= key[i % 4]);
    }
    Frame { fin: head[0] & 0x80 != 0, rsv: (head[0] >> 4) & 7, opcode: head[0] & 0x0f, masked, payload }
}

/// Reads until the server closes the connection; returns what came, or
/// panics when it is still open after `limit`.
pub fn read_to_eof(s: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "the server did not close the connection within {limit:?}");
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return out,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("the server did not close the connection within {limit:?}")
            }
            Err(e) => panic!("reading until the server closes: {e}"),
        }
    }
}

/// Expects a close frame with `code` from the server, and then the end of
/// the TCP connection (the server closes first).
pub fn expect_close(s: &mut TcpStream, code: u16) {
    let f = read_frame(s);
    assert_eq!(f.opcode, CLOSE, "expected a close frame with {code}, got {f:?}");
    assert!(f.fin && !f.masked && f.rsv == 0, "malformed close frame {f:?}");
    assert_eq!(f.close_code(), Some(code), "close frame {f:?}");
    if f.payload.len() > 2 {
        assert!(std::str::from_utf8(&f.payload[2..]).is_ok(), "close reason is not UTF-8: {f:?}");
    }
    let rest = read_to_eof(s, TIMEOUT);
    assert!(rest.is_empty(), "bytes after the close frame: {rest:?}");
}
