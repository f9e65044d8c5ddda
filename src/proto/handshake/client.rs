//! The client side of the opening handshake (RFC 6455 §4.1): building the
//! request and checking every part of the server's response.

use crate::error::{Error, HandshakeError, Result};
use crate::proto::handshake::{
    Headers, accept_key, has_token, is_header_value, is_token, list_items, target, write_field,
};

/// What the client asks for in its opening handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// The resource name: an absolute path with optional query (`/chat?x=1`).
    pub resource: String,
    /// The `Host` value (`example.com`, `example.com:8080`, `[::1]:9000`).
    pub host: String,
    /// The `Origin` value, if any.
    pub origin: Option<String>,
    /// Subprotocols to offer, in order of preference.
    pub protocols: Vec<String>,
    /// Extra header fields (authorization, cookies, ...).
    pub headers: Vec<(String, String)>,
}

impl ClientOptions {
    /// Checks every field can be written into a request without breaking it.
    pub fn check(&self) -> Result<()> {
        if !self.resource.starts_with('/') {
            return Err(Error::Invalid(c"resource must be an absolute path"));
        }
        target::check_resource(&self.resource)?;
        if !target::is_host_value(&self.host) {
            return Err(Error::Invalid(
                c"host must be a name, an IPv4 or a bracketed IPv6 address, with an optional port",
            ));
        }
        if self.origin.as_deref().is_some_and(|o| !is_header_value(o.as_bytes())) {
            return Err(Error::Invalid(c"origin contains CR, LF or NUL"));
        }
        if self.protocols.iter().any(|p| !is_token(p.as_bytes())) {
            return Err(Error::Invalid(c"subprotocol is not a token"));
        }
        super::server::check_extra_headers(&self.headers).map_err(Error::Invalid)
    }
}

/// Writes the opening handshake request for `key`. The caller has run
/// [`ClientOptions::check`].
pub fn write_request(out: &mut Vec<u8>, opts: &ClientOptions, key: &[u8]) {
    out.extend_from_slice(b"GET ");
    out.extend_from_slice(opts.resource.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(opts.host.as_bytes());
    out.extend_from_slice(b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    out.extend_from_slice(key);
    out.extend_from_slice(b"\r\nSec-WebSocket-Version: 13\r\n");
    if let Some(origin) = &opts.origin {
        write_field(out, "Origin", origin.as_bytes());
    }
    if !opts.protocols.is_empty() {
        write_field(out, "Sec-WebSocket-Protocol", opts.protocols.join(", ").as_bytes());
    }
    for (name, value) in &opts.headers {
        write_field(out, name, value.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// A server response that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The subprotocol the server chose, if any.
    pub protocol: Option<String>,
    /// The header fields.
    pub headers: Headers,
}

/// Checks a complete response head against the request that was sent with
/// `key` and `offered` subprotocols, in this order: HTTP/1.1 syntax, status
/// 101, `Upgrade: websocket`, `Connection: Upgrade`, `Sec-WebSocket-Accept`,
/// no extension (none is offered), and a subprotocol only if it was offered.
pub fn check_response(
    head: &[u8],
    key: &[u8],
    offered: &[String],
    max_headers: usize,
) -> std::result::Result<Response, HandshakeError> {
    let mut storage = vec![httparse::EMPTY_HEADER; max_headers];
    let mut resp = httparse::Response::new(&mut storage);
    match resp.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Err(httparse::Error::TooManyHeaders) => return Err(HandshakeError::ResponseTooLarge),
        _ => return Err(HandshakeError::ResponseMalformed),
    }
    if resp.version != Some(1) {
        return Err(HandshakeError::ResponseMalformed);
    }
    let status = resp.code.ok_or(HandshakeError::ResponseMalformed)?;
    if status != 101 {
        return Err(HandshakeError::NotSwitching(status));
    }
    let headers = Headers::from_httparse(resp.headers);
    if headers.count("upgrade") == 0 {
        return Err(HandshakeError::UpgradeMissing);
    }
    if !headers.all("upgrade").any(|v| has_token(v, "websocket")) {
        return Err(HandshakeError::UpgradeNotWebsocket);
    }
    if headers.count("connection") == 0 {
        return Err(HandshakeError::ConnectionMissing);
    }
    if !headers.all("connection").any(|v| has_token(v, "upgrade")) {
        return Err(HandshakeError::ConnectionNotUpgrade);
    }
    match headers.count("sec-websocket-accept") {
        0 => return Err(HandshakeError::AcceptMissing),
        1 if headers.get("sec-websocket-accept").map(<[u8]>::trim_ascii) == Some(&accept_key(key)[..]) => {}
        _ => return Err(HandshakeError::AcceptWrong),
    }
    if headers.all("sec-websocket-extensions").any(|v| list_items(v).next().is_some()) {
        return Err(HandshakeError::ExtensionNotOffered);
    }
    let protocol = match (headers.count("sec-websocket-protocol"), headers.get("sec-websocket-protocol")) {
        (0, _) | (_, None) => None,
        (1, Some(v)) => {
            let v = v.trim_ascii();
            if !is_token(v) {
                return Err(HandshakeError::ProtocolMalformed);
            }
            let v = String::from_utf8_lossy(v).into_owned();
            if !offered.contains(&v) {
                return Err(HandshakeError::ProtocolNotOffered);
            }
            Some(v)
        }
        _ => return Err(HandshakeError::ProtocolMalformed),
    };
    Ok(Response { protocol, headers })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"dGhlIHNhbXBsZSBub25jZQ==";
    const GOOD: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

    fn offered() -> Vec<String> {
        vec!["chat".into(), "superchat".into()]
    }

    fn check(text: &str) -> std::result::Result<Response, HandshakeError> {
        check_response(text.as_bytes(), KEY, &offered(), 64)
    }

    fn replace(from: &str, to: &str) -> String {
        assert!(GOOD.contains(from));
        GOOD.replacen(from, to, 1)
    }

    #[test]
    fn request_has_every_required_field() {
        let opts = ClientOptions {
            resource: "/chat?x=1".into(),
            host: "example.com:8080".into(),
            origin: Some("http://example.com".into()),
            protocols: offered(),
            headers: vec![("Authorization".into(), "Bearer t".into())],
        };
        opts.check().unwrap();
        let mut out = Vec::new();
        write_request(&mut out, &opts, KEY);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /chat?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
             Authorization: Bearer t\r\n\r\n"
        );
    }

    #[test]
    fn options_that_would_break_the_request_are_refused() {
        let base = ClientOptions { resource: "/".into(), host: "h".into(), ..Default::default() };
        assert!(base.check().is_ok());
        assert!(ClientOptions { resource: "chat".into(), ..base.clone() }.check().is_err());
        assert!(ClientOptions { resource: "/a b".into(), ..base.clone() }.check().is_err());
        assert!(ClientOptions { host: "h\r\nX: y".into(), ..base.clone() }.check().is_err());
        assert!(ClientOptions { protocols: vec!["a b".into()], ..base.clone() }.check().is_err());
        assert!(ClientOptions { headers: vec![("X".into(), "1\n2".into())], ..base }.check().is_err());
    }

    #[test]
    fn rfc_example_response_is_accepted() {
        assert_eq!(check(GOOD).unwrap().protocol, None);
    }

    #[test]
    fn status_200_is_not_101() {
        let t = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(check(t).unwrap_err(), HandshakeError::NotSwitching(200));
        assert_eq!(HandshakeError::NotSwitching(200).reason(), "HS: ws upgrade response not 101");
    }

    #[test]
    fn missing_upgrade_is_named() {
        assert_eq!(check(&replace("Upgrade: websocket\r\n", "")).unwrap_err(), HandshakeError::UpgradeMissing);
    }

    #[test]
    fn upgrade_to_something_else_is_named() {
        assert_eq!(
            check(&replace("Upgrade: websocket", "Upgrade: h2c")).unwrap_err(),
            HandshakeError::UpgradeNotWebsocket
        );
    }

    #[test]
    fn missing_connection_is_named() {
        assert_eq!(check(&replace("Connection: Upgrade\r\n", "")).unwrap_err(), HandshakeError::ConnectionMissing);
    }

    #[test]
    fn connection_keep_alive_upgrade_is_accepted() {
        assert!(check(&replace("Connection: Upgrade", "Connection: keep-alive, Upgrade")).is_ok());
        assert_eq!(
            check(&replace("Connection: Upgrade", "Connection: close")).unwrap_err(),
            HandshakeError::ConnectionNotUpgrade
        );
    }

    #[test]
    fn wrong_accept_hash_is_named() {
        let e = check(&replace("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "s3pPLMBiTxaQ9kYGzzhZRbK+xOp=")).unwrap_err();
        assert_eq!(e, HandshakeError::AcceptWrong);
        assert_eq!(e.reason(), "HS: Accept hash wrong");
    }

    #[test]
    fn missing_accept_is_named() {
        assert_eq!(
            check(&replace("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "")).unwrap_err(),
            HandshakeError::AcceptMissing
        );
    }

    #[test]
    fn unoffered_extension_is_refused() {
        let t = replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
        assert_eq!(check(&t).unwrap_err(), HandshakeError::ExtensionNotOffered);
    }

    #[test]
    fn offered_protocol_is_accepted_and_unoffered_refused() {
        let t = replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: superchat\r\n\r\n");
        assert_eq!(check(&t).unwrap().protocol.as_deref(), Some("superchat"));
        let t = replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n");
        assert_eq!(check(&t).unwrap_err(), HandshakeError::ProtocolNotOffered);
        let t = replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n");
        assert_eq!(check(&t).unwrap_err(), HandshakeError::ProtocolMalformed);
    }

    #[test]
    fn garbage_response_is_malformed() {
        assert_eq!(check("SSH-2.0-OpenSSH\r\n\r\n").unwrap_err(), HandshakeError::ResponseMalformed);
        assert_eq!(check(&replace("HTTP/1.1", "HTTP/1.0")).unwrap_err(), HandshakeError::ResponseMalformed);
    }

    #[test]
    fn too_many_response_headers_is_named() {
        assert_eq!(check_response(GOOD.as_bytes(), KEY, &[], 2).unwrap_err(), HandshakeError::ResponseTooLarge);
    }
}
