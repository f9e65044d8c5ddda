//! What a server agrees to in the opening handshake: the one place where a
//! valid request becomes a `101` answer, whichever driver received it (the
//! sans-IO session, the built-in server's HTTP front, a socket handed over
//! with its request). The subprotocol is chosen here; extensions are
//! negotiated here too.

use std::ffi::CStr;

use crate::error::RequestError;
use crate::proto::handshake::KEY_LEN;
use crate::proto::handshake::server::{Request, Upgrade, validate, write_accept};

/// What a server agreed to: the answer to one valid upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    key: [u8; KEY_LEN],
    protocol: Option<String>,
}

/// Chooses the subprotocol: the first of the server's `supported` list
/// (its order of preference) that the client offered.
pub fn select_protocol<'a>(offered: &[String], supported: &'a [String]) -> Option<&'a str> {
    supported.iter().find(|s| offered.iter().any(|o| o == *s)).map(String::as_str)
}

/// Checks `request` as an opening handshake ([`validate`]) and agrees on
/// what a server supporting the subprotocols `supported` (in its order of
/// preference) answers.
pub fn agree(request: &Request, supported: &[String]) -> Result<Agreement, RequestError> {
    validate(request).map(|upgrade| Agreement::choose(&upgrade, supported))
}

impl Agreement {
    /// The server's own choice for a validated request.
    pub fn choose(upgrade: &Upgrade, supported: &[String]) -> Agreement {
        Agreement { key: upgrade.key, protocol: select_protocol(&upgrade.protocols, supported).map(str::to_owned) }
    }

    /// The host's choice for a validated request: `protocol` must be one the
    /// client offered (or `None`).
    pub fn with_protocol(upgrade: &Upgrade, protocol: Option<&str>) -> Result<Agreement, &'static CStr> {
        if protocol.is_some_and(|p| !upgrade.protocols.iter().any(|o| o == p)) {
            return Err(c"the client did not offer this subprotocol");
        }
        Ok(Agreement { key: upgrade.key, protocol: protocol.map(str::to_owned) })
    }

    /// The subprotocol agreed, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Writes the `101 Switching Protocols` answer with `extra_headers`
    /// (checked by the caller with
    /// [`check_extra_headers`](crate::proto::handshake::server::check_extra_headers)).
    pub fn write_response(&self, out: &mut Vec<u8>, extra_headers: &[(String, String)]) {
        write_accept(out, &self.key, self.protocol.as_deref(), extra_headers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upgrade(offered: &[&str]) -> Upgrade {
        Upgrade { key: *b"dGhlIHNhbXBsZSBub25jZQ==", protocols: offered.iter().map(|s| (*s).to_owned()).collect() }
    }

    #[test]
    fn server_preference_picks_the_subprotocol() {
        let offered = vec!["chat".to_owned(), "superchat".to_owned()];
        let supported = vec!["superchat".to_owned(), "chat".to_owned()];
        assert_eq!(select_protocol(&offered, &supported), Some("superchat"));
        assert_eq!(select_protocol(&offered, &["mqtt".to_owned()]), None);
    }

    #[test]
    fn the_host_may_only_choose_an_offered_subprotocol() {
        let up = upgrade(&["chat"]);
        assert_eq!(Agreement::with_protocol(&up, Some("chat")).unwrap().protocol(), Some("chat"));
        assert_eq!(Agreement::with_protocol(&up, None).unwrap().protocol(), None);
        assert!(Agreement::with_protocol(&up, Some("mqtt")).is_err());
    }

    #[test]
    fn the_answer_names_the_agreed_subprotocol() {
        let agreed = Agreement::choose(&upgrade(&["a", "b"]), &["b".to_owned()]);
        let mut out = Vec::new();
        agreed.write_response(&mut out, &[]);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 101 "), "{text}");
        assert!(text.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), "{text}");
        assert!(text.contains("\r\nSec-WebSocket-Protocol: b\r\n"), "{text}");
    }
}
