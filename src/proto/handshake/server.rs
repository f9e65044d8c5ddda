//! The server side of the opening handshake (RFC 6455 §4.2): parsing and
//! validating the client's request, choosing a subprotocol and answering
//! with `101` or a complete HTTP error response.

use std::ffi::CStr;
use std::fmt::Write as _;

use crate::error::RequestError;
use crate::proto::handshake::{
    HeadProgress, HeadReader, Headers, accept_key, has_token, is_header_value, is_token, is_valid_key, list_items,
    write_field,
};

/// A parsed HTTP request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method (`GET`, ...).
    pub method: String,
    /// The request-target as sent: path and optional query.
    pub target: String,
    /// The header fields.
    pub headers: Headers,
}

impl Request {
    /// Parses a complete request head (as collected by a
    /// [`HeadReader`]).
    ///
    /// HTTP/1.0 (and any version but 1.1) fails with
    /// [`RequestError::HttpVersion`], more than `max_headers` fields with
    /// [`RequestError::HeadersTooLarge`], anything else that is not HTTP
    /// with [`RequestError::Malformed`].
    pub fn parse(head: &[u8], max_headers: usize) -> Result<Request, RequestError> {
        let mut storage = vec![httparse::EMPTY_HEADER; max_headers];
        let mut req = httparse::Request::new(&mut storage);
        match req.parse(head) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => return Err(RequestError::Malformed),
            Err(httparse::Error::TooManyHeaders) => return Err(RequestError::HeadersTooLarge),
            Err(httparse::Error::Version) if names_http_version(head) => return Err(RequestError::HttpVersion),
            Err(_) => return Err(RequestError::Malformed),
        }
        if req.version != Some(1) {
            return Err(RequestError::HttpVersion);
        }
        let (Some(method), Some(target)) = (req.method, req.path) else {
            return Err(RequestError::Malformed);
        };
        Ok(Request {
            method: method.to_owned(),
            target: target.to_owned(),
            headers: Headers::from_httparse(req.headers),
        })
    }

    /// The resource: the target in origin form (`/path?query`). An
    /// absolute-form target (`http://host/path?query`, RFC 7230 §5.3.2) is
    /// reduced to its path and query; `None` for any other form (`*`,
    /// `host:port`).
    pub fn resource(&self) -> Option<&str> {
        let t = self.target.as_str();
        if t.starts_with('/') {
            return Some(t);
        }
        let (scheme, rest) = t.split_once("://")?;
        if !["http", "https", "ws", "wss"].iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
            return None;
        }
        let start = rest.find(['/', '?']).unwrap_or(rest.len());
        match &rest[start..] {
            "" => Some("/"),
            r if r.starts_with('?') => None,
            r => Some(r),
        }
    }

    /// The path part of the resource (before `?`); empty when the target
    /// is not a resource.
    pub fn path(&self) -> &str {
        let r = self.resource().unwrap_or("");
        r.split_once('?').map_or(r, |(p, _)| p)
    }

    /// The query part of the resource (after `?`), if there is one.
    pub fn query(&self) -> Option<&str> {
        self.resource()?.split_once('?').map(|(_, q)| q)
    }

    /// Whether the request asks for a WebSocket upgrade (`Upgrade: websocket`).
    pub fn wants_websocket(&self) -> bool {
        self.headers.all("upgrade").any(|v| has_token(v, "websocket"))
    }
}

/// Whether the request line ends with something that is an HTTP version
/// (`HTTP/2.0`), as opposed to not being HTTP at all.
fn names_http_version(head: &[u8]) -> bool {
    let line = head.split(|&b| b == b'\n').find(|l| !l.trim_ascii().is_empty()).unwrap_or(&[]);
    line.trim_ascii().rsplit(|&b| b == b' ').next().is_some_and(|v| v.starts_with(b"HTTP/"))
}

/// What a valid upgrade request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// The `Sec-WebSocket-Key` value (24 base64 characters).
    pub key: [u8; 24],
    /// The subprotocols offered, in the client's order of preference.
    pub protocols: Vec<String>,
}

/// Whether `prefix`, the first bytes of a request, can still become a
/// request line: optional empty lines, then a method that is a token of at
/// most 32 characters, then a space. Lets a server refuse a stream that is
/// not HTTP (a TLS hello, binary noise) at once instead of waiting for the
/// head to fill up or time out.
pub fn could_be_request(prefix: &[u8]) -> bool {
    const MAX_METHOD: usize = 32;
    let start = prefix.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(prefix.len());
    let line = &prefix[start..];
    let method = &line[..line.iter().position(|&b| b == b' ').unwrap_or(line.len())];
    // Without its space yet, a method of MAX_METHOD characters can still
    // get one: the verdict must not depend on where the bytes were split.
    method.len() <= MAX_METHOD && (method.is_empty() || is_token(method))
}

/// Where a [`RequestReader`] stands after taking bytes.
#[derive(Debug)]
pub enum RequestProgress {
    /// The head is not complete; this many bytes were taken.
    Partial(usize),
    /// The head is complete and parsed; this many bytes were taken (the
    /// rest of the input follows the request).
    Complete(Request, usize),
    /// The request is refused with this error's HTTP status.
    Refused(RequestError),
}

/// Reads a request head incrementally, in one pass, with caps on its size
/// and header count; a stream that cannot be HTTP is refused at once. The
/// one way every server driver reads a request.
#[derive(Debug, Clone)]
pub struct RequestReader {
    head: HeadReader,
    max_headers: usize,
}

impl RequestReader {
    /// A reader for heads of at most `max_bytes` bytes and `max_headers`
    /// header fields.
    pub fn new(max_bytes: usize, max_headers: usize) -> RequestReader {
        RequestReader { head: HeadReader::new(max_bytes), max_headers }
    }

    /// Takes bytes from `input`.
    pub fn push(&mut self, input: &[u8]) -> RequestProgress {
        match self.head.push(input) {
            HeadProgress::Partial(n) if could_be_request(self.head.head()) => RequestProgress::Partial(n),
            HeadProgress::Partial(_) => RequestProgress::Refused(RequestError::Malformed),
            HeadProgress::TooLarge => RequestProgress::Refused(RequestError::HeadersTooLarge),
            // Checked on a complete head too, so that the verdict does not
            // depend on how the bytes were split (a 40-letter method is
            // refused as not HTTP either way).
            HeadProgress::Complete(_) if !could_be_request(self.head.head()) => {
                RequestProgress::Refused(RequestError::Malformed)
            }
            HeadProgress::Complete(n) => match Request::parse(self.head.head(), self.max_headers) {
                Ok(request) if request.resource().is_none() => RequestProgress::Refused(RequestError::TargetInvalid),
                Ok(request) => RequestProgress::Complete(request, n),
                Err(e) => RequestProgress::Refused(e),
            },
        }
    }
}

/// Checks that `req` is a valid WebSocket opening handshake, in this order:
/// method `GET` (405), an origin-form or absolute-form target (400), no
/// body ([`frames_no_body`], 400), exactly one `Host`
/// (400), `Upgrade: websocket` (400), `Connection: Upgrade` (400),
/// `Sec-WebSocket-Version: 13` (426), one valid `Sec-WebSocket-Key` (400),
/// well-formed `Sec-WebSocket-Protocol` tokens (400).
pub fn validate(req: &Request) -> Result<Upgrade, RequestError> {
    if req.method != "GET" {
        return Err(RequestError::Method);
    }
    if req.resource().is_none() {
        return Err(RequestError::TargetInvalid);
    }
    if !frames_no_body(req) {
        return Err(RequestError::Body);
    }
    if req.headers.count("host") != 1 {
        return Err(RequestError::HostMissing);
    }
    if !req.wants_websocket() {
        return Err(RequestError::UpgradeMissing);
    }
    if !req.headers.all("connection").any(|v| has_token(v, "upgrade")) {
        return Err(RequestError::ConnectionNotUpgrade);
    }
    let mut versions = req.headers.all("sec-websocket-version");
    if versions.next().map(<[u8]>::trim_ascii) != Some(b"13") || versions.next().is_some() {
        return Err(RequestError::Version);
    }
    let mut keys = req.headers.all("sec-websocket-key");
    let key = match (keys.next().map(<[u8]>::trim_ascii), keys.next()) {
        (Some(k), None) if is_valid_key(k) => <[u8; 24]>::try_from(k).expect("valid keys are 24 bytes"),
        _ => return Err(RequestError::KeyInvalid),
    };
    let mut protocols = Vec::new();
    for value in req.headers.all("sec-websocket-protocol") {
        for item in list_items(value) {
            if !is_token(item) {
                return Err(RequestError::Malformed);
            }
            protocols.push(String::from_utf8_lossy(item).into_owned());
        }
    }
    Ok(Upgrade { key, protocols })
}

/// Whether the request's framing says "no body" in the one way every HTTP
/// parser reads alike: no `Transfer-Encoding` at all, and at most one
/// `Content-Length`, whose value is zero. What follows an upgrade request
/// is read here as WebSocket frames; a proxy in front that read a body
/// instead (or the other way round) would let a client smuggle a request
/// past it (RFC 7230 §3.3.3, §9.5). Obsolete line folding is refused by
/// the parser already ([`Request::parse`]).
pub fn frames_no_body(req: &Request) -> bool {
    if req.headers.count("transfer-encoding") > 0 {
        return false;
    }
    let mut lengths = req.headers.all("content-length");
    match (lengths.next(), lengths.next()) {
        (None, _) => true,
        (Some(v), None) => {
            let v = v.trim_ascii();
            !v.is_empty() && v.iter().all(|&b| b == b'0')
        }
        _ => false,
    }
}

/// Checks extra header fields a host wants to send: names must be tokens,
/// values must not contain CR, LF or NUL.
pub fn check_extra_headers(headers: &[(String, String)]) -> Result<(), &'static CStr> {
    for (name, value) in headers {
        if !is_token(name.as_bytes()) {
            return Err(c"header name is not a token");
        }
        if !is_header_value(value.as_bytes()) {
            return Err(c"header value contains CR, LF or NUL");
        }
    }
    Ok(())
}

/// Writes the `101 Switching Protocols` answer. The caller has checked
/// `protocol` and `extra_headers` ([`check_extra_headers`]).
pub fn write_accept(out: &mut Vec<u8>, key: &[u8], protocol: Option<&str>, extra_headers: &[(String, String)]) {
    out.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ",
    );
    out.extend_from_slice(&accept_key(key));
    out.extend_from_slice(b"\r\n");
    if let Some(p) = protocol {
        out.extend_from_slice(b"Sec-WebSocket-Protocol: ");
        out.extend_from_slice(p.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in extra_headers {
        write_field(out, name, value.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// The reason phrase for an HTTP status code.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Writes a complete HTTP/1.1 response with a body and `Connection: close`
/// unless `keep_alive`.
pub fn write_response(
    out: &mut Vec<u8>,
    status: u16,
    content_type: &str,
    body: &[u8],
    extra_headers: &[(&str, &str)],
    keep_alive: bool,
) {
    let mut head = String::with_capacity(128);
    let _ = write!(head, "HTTP/1.1 {status} {}\r\n", reason_phrase(status));
    if !content_type.is_empty() {
        let _ = write!(head, "Content-Type: {content_type}\r\n");
    }
    let _ = write!(head, "Content-Length: {}\r\n", body.len());
    if !keep_alive {
        head.push_str("Connection: close\r\n");
    }
    out.extend_from_slice(head.as_bytes());
    for (name, value) in extra_headers {
        write_field(out, name, value.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// Writes the HTTP answer for a refused handshake: the status of `err`,
/// `Sec-WebSocket-Version: 13` with 426, `Allow: GET` with 405, and the
/// reason as a plain-text body.
pub fn write_refusal(out: &mut Vec<u8>, err: RequestError) {
    let extra: &[(&str, &str)] = match err {
        RequestError::Version => &[("Sec-WebSocket-Version", "13")],
        RequestError::Method => &[("Allow", "GET")],
        _ => &[],
    };
    let mut body = err.reason().as_bytes().to_vec();
    body.push(b'\n');
    write_response(out, err.status(), "text/plain; charset=utf-8", &body, extra, false);
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

    fn check(text: &str) -> Result<Upgrade, RequestError> {
        validate(&Request::parse(text.as_bytes(), 64)?)
    }

    fn replace(from: &str, to: &str) -> String {
        assert!(GOOD.contains(from));
        GOOD.replacen(from, to, 1)
    }

    #[test]
    fn rfc_example_request_is_accepted() {
        let up = check(GOOD).unwrap();
        assert_eq!(&up.key, b"dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(up.protocols, ["chat", "superchat"]);
        let req = Request::parse(GOOD.as_bytes(), 64).unwrap();
        assert_eq!(req.path(), "/chat");
        assert_eq!(req.query(), Some("room=1"));
    }

    #[test]
    fn http_1_0_gets_505() {
        assert_eq!(check(&replace("HTTP/1.1", "HTTP/1.0")), Err(RequestError::HttpVersion));
        assert_eq!(RequestError::HttpVersion.status(), 505);
    }

    #[test]
    fn a_line_that_is_not_http_gets_400_not_505() {
        assert_eq!(check("this is not http\r\n\r\n"), Err(RequestError::Malformed));
        assert_eq!(check(&replace("HTTP/1.1", "HTTP/2.0")), Err(RequestError::HttpVersion));
    }

    #[test]
    fn post_gets_405() {
        assert_eq!(check(&replace("GET", "POST")), Err(RequestError::Method));
    }

    #[test]
    fn garbage_gets_400() {
        assert_eq!(check("HELLO\r\n\r\n"), Err(RequestError::Malformed));
        assert_eq!(check("GET / HTTP/1.1\r\nBad Header\r\n\r\n"), Err(RequestError::Malformed));
    }

    #[test]
    fn too_many_headers_gets_431() {
        let r = Request::parse(GOOD.as_bytes(), 6);
        assert_eq!(r, Err(RequestError::HeadersTooLarge));
        assert_eq!(RequestError::HeadersTooLarge.status(), 431);
        assert!(Request::parse(GOOD.as_bytes(), 7).is_ok());
    }

    #[test]
    fn missing_host_gets_400() {
        assert_eq!(check(&replace("Host: server.example.com\r\n", "")), Err(RequestError::HostMissing));
    }

    #[test]
    fn missing_upgrade_gets_400() {
        assert_eq!(check(&replace("Upgrade: websocket\r\n", "")), Err(RequestError::UpgradeMissing));
        assert_eq!(check(&replace("Upgrade: websocket", "Upgrade: h2c")), Err(RequestError::UpgradeMissing));
    }

    #[test]
    fn upgrade_and_connection_are_case_insensitive_token_lists() {
        let t = replace("Upgrade: websocket", "upgrade: WebSocket")
            .replace("Connection: Upgrade", "connection: keep-alive, UPGRADE");
        assert!(check(&t).is_ok());
    }

    #[test]
    fn connection_without_upgrade_token_gets_400() {
        assert_eq!(
            check(&replace("Connection: Upgrade", "Connection: keep-alive")),
            Err(RequestError::ConnectionNotUpgrade)
        );
    }

    #[test]
    fn version_8_gets_426_with_version_13_header() {
        assert_eq!(check(&replace("Version: 13", "Version: 8")), Err(RequestError::Version));
        let mut out = Vec::new();
        write_refusal(&mut out, RequestError::Version);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    }

    #[test]
    fn missing_or_repeated_key_gets_400() {
        assert_eq!(
            check(&replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "")),
            Err(RequestError::KeyInvalid)
        );
        assert_eq!(check(&replace("dGhlIHNhbXBsZSBub25jZQ==", "short")), Err(RequestError::KeyInvalid));
        let twice = replace("Origin:", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin:");
        assert_eq!(check(&twice), Err(RequestError::KeyInvalid));
    }

    #[test]
    fn target_that_is_not_a_path_gets_400() {
        assert_eq!(check(&replace("/chat?room=1", "*")), Err(RequestError::TargetInvalid));
        assert_eq!(check(&replace("/chat?room=1", "server.example.com:80")), Err(RequestError::TargetInvalid));
    }

    #[test]
    fn absolute_form_target_is_reduced_to_its_resource() {
        let text = replace("/chat?room=1", "http://server.example.com/chat?room=1");
        assert!(check(&text).is_ok());
        let req = Request::parse(text.as_bytes(), 64).unwrap();
        assert_eq!(req.resource(), Some("/chat?room=1"));
        assert_eq!(req.path(), "/chat");
        assert_eq!(req.query(), Some("room=1"));
        let bare = Request::parse(replace("/chat?room=1", "WS://server.example.com").as_bytes(), 64).unwrap();
        assert_eq!(bare.path(), "/");
    }

    #[test]
    fn stream_that_is_not_http_is_recognised_early() {
        assert!(could_be_request(b""));
        assert!(could_be_request(b"GE"));
        assert!(could_be_request(b"\r\nGET /"));
        assert!(could_be_request(b"M-SEARCH * HTTP/1.1"));
        assert!(!could_be_request(b"\x16\x03\x01\x02\x00"), "a TLS hello");
        assert!(!could_be_request(b"GET\x00"));
        assert!(!could_be_request(&[b'A'; 33]));
        assert!(could_be_request(&[b'A'; 32]), "its space may be the next byte");
        assert!(could_be_request(&[[b'A'; 32].as_slice(), b" /"].concat()));
    }

    #[test]
    fn the_request_reader_parses_once_and_leaves_what_follows() {
        let mut input = replace("", "").into_bytes();
        input.extend_from_slice(b"\x81\x80");
        let mut reader = RequestReader::new(8192, 64);
        let (head, tail) = input.split_at(10);
        assert!(matches!(reader.push(head), RequestProgress::Partial(10)));
        match reader.push(tail) {
            RequestProgress::Complete(req, used) => {
                assert_eq!(req.path(), "/chat");
                assert_eq!(&tail[used..], b"\x81\x80");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_request_readers_verdict_does_not_depend_on_how_bytes_arrive() {
        let long_method = format!("{} / HTTP/1.1\r\nHost: a\r\n\r\n", "A".repeat(40));
        let whole = RequestReader::new(8192, 64).push(long_method.as_bytes());
        assert!(matches!(whole, RequestProgress::Refused(RequestError::Malformed)), "{whole:?}");
        let mut bytewise = RequestReader::new(8192, 64);
        let verdict = long_method.as_bytes().chunks(1).find_map(|b| match bytewise.push(b) {
            RequestProgress::Partial(_) => None,
            other => Some(other),
        });
        assert!(matches!(verdict, Some(RequestProgress::Refused(RequestError::Malformed))), "{verdict:?}");
    }

    #[test]
    fn the_request_reader_refuses_what_cannot_be_a_request() {
        let refused = |input: &[u8], max: usize| match RequestReader::new(max, 64).push(input) {
            RequestProgress::Refused(e) => Some(e),
            _ => None,
        };
        assert_eq!(refused(b"\x16\x03\x01\x02\x00", 8192), Some(RequestError::Malformed), "a TLS hello");
        assert_eq!(refused(replace("", "").as_bytes(), 16), Some(RequestError::HeadersTooLarge));
        let star = replace("/chat?room=1", "*");
        assert_eq!(refused(star.as_bytes(), 8192), Some(RequestError::TargetInvalid));
    }

    /// The good request with `fields` added before its empty line.
    fn with_fields(fields: &str) -> String {
        replace("Origin:", &format!("{fields}Origin:"))
    }

    #[test]
    fn a_request_body_announced_by_content_length_gets_400() {
        assert_eq!(check(&with_fields("Content-Length: 5\r\n")), Err(RequestError::Body));
        assert_eq!(check(&with_fields("Content-Length: 1x\r\n")), Err(RequestError::Body));
        assert_eq!(check(&with_fields("Content-Length: \r\n")), Err(RequestError::Body));
    }

    #[test]
    fn a_content_length_of_zero_is_no_body_and_is_accepted() {
        assert!(check(&with_fields("Content-Length: 0\r\n")).is_ok());
        assert!(check(&with_fields("content-length:  000 \r\n")).is_ok());
    }

    #[test]
    fn any_transfer_encoding_gets_400() {
        assert_eq!(check(&with_fields("Transfer-Encoding: chunked\r\n")), Err(RequestError::Body));
        assert_eq!(check(&with_fields("Transfer-Encoding: identity\r\n")), Err(RequestError::Body));
        assert_eq!(check(&with_fields("Transfer-Encoding: \r\n")), Err(RequestError::Body));
    }

    #[test]
    fn repeated_or_conflicting_framing_headers_get_400() {
        assert_eq!(check(&with_fields("Content-Length: 0\r\nContent-Length: 0\r\n")), Err(RequestError::Body));
        assert_eq!(check(&with_fields("Content-Length: 0, 0\r\n")), Err(RequestError::Body));
        assert_eq!(check(&with_fields("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n")), Err(RequestError::Body));
    }

    #[test]
    fn obsolete_line_folding_gets_400() {
        let folded = with_fields("X-Folded: a\r\n b\r\n");
        assert_eq!(check(&folded), Err(RequestError::Malformed));
        let folded_tab = with_fields("X-Folded: a\r\n\tb\r\n");
        assert_eq!(check(&folded_tab), Err(RequestError::Malformed));
    }

    #[test]
    fn malformed_subprotocol_gets_400() {
        assert_eq!(check(&replace("chat, superchat", "chat, sup erchat")), Err(RequestError::Malformed));
    }

    #[test]
    fn accept_response_carries_the_accept_key_and_protocol() {
        let mut out = Vec::new();
        write_accept(&mut out, b"dGhlIHNhbXBsZSBub25jZQ==", Some("chat"), &[("X-A".into(), "1".into())]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\nX-A: 1\r\n\r\n"
        );
    }

    #[test]
    fn refusals_are_complete_http_responses() {
        for err in
            [RequestError::Malformed, RequestError::NotFound, RequestError::Method, RequestError::HeadersTooLarge]
        {
            let mut out = Vec::new();
            write_refusal(&mut out, err);
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut resp = httparse::Response::new(&mut headers);
            let n = match resp.parse(&out).unwrap() {
                httparse::Status::Complete(n) => n,
                httparse::Status::Partial => panic!("incomplete"),
            };
            assert_eq!(resp.code, Some(err.status()));
            let len = resp.headers.iter().find(|h| h.name == "Content-Length").unwrap().value;
            assert_eq!(std::str::from_utf8(len).unwrap().parse::<usize>().unwrap(), out.len() - n);
        }
    }

    #[test]
    fn extra_headers_with_line_breaks_are_refused() {
        assert!(check_extra_headers(&[("X-Ok".into(), "v".into())]).is_ok());
        assert!(check_extra_headers(&[("X-Bad".into(), "v\r\nEvil: 1".into())]).is_err());
        assert!(check_extra_headers(&[("Bad Name".into(), "v".into())]).is_err());
    }
}
