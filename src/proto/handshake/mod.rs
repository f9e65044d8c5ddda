//! The opening handshake (RFC 6455 §4): what both sides share.

pub mod client;
mod head;
pub mod negotiate;
pub mod server;
pub mod target;

pub use head::{HeadProgress, HeadReader};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

use crate::error::Result;
use crate::proto::rng;

/// The GUID appended to the key before hashing (§1.3).
pub const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The length of a `Sec-WebSocket-Key` value (base64 of 16 bytes).
pub const KEY_LEN: usize = 24;

/// The length of a `Sec-WebSocket-Accept` value (base64 of a SHA-1 digest).
pub const ACCEPT_LEN: usize = 28;

/// Computes `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` value:
/// base64(SHA-1(key + GUID)).
pub fn accept_key(key: &[u8]) -> [u8; ACCEPT_LEN] {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID);
    let digest = sha.finalize();
    let mut out = [0u8; ACCEPT_LEN];
    let n = STANDARD.encode_slice(digest.as_slice(), &mut out).expect("28 bytes hold base64 of 20");
    debug_assert_eq!(n, ACCEPT_LEN);
    out
}

/// A fresh `Sec-WebSocket-Key`: base64 of 16 random bytes.
pub fn generate_key() -> Result<[u8; KEY_LEN]> {
    let mut nonce = [0u8; 16];
    rng::fill(&mut nonce)?;
    let mut out = [0u8; KEY_LEN];
    STANDARD.encode_slice(nonce, &mut out).expect("24 bytes hold base64 of 16");
    Ok(out)
}

/// Whether `key` is the base64 of exactly 16 bytes.
pub fn is_valid_key(key: &[u8]) -> bool {
    let mut decoded = [0u8; 18];
    key.len() == KEY_LEN && matches!(STANDARD.decode_slice(key, &mut decoded), Ok(16))
}

/// The comma-separated elements of a header value, trimmed of optional
/// white space, empty elements skipped (RFC 7230 §7).
pub(crate) fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(|item| item.trim_ascii()).filter(|item| !item.is_empty())
}

/// Whether a comma-separated header value holds `token` (case-insensitive).
pub(crate) fn has_token(value: &[u8], token: &str) -> bool {
    list_items(value).any(|item| item.eq_ignore_ascii_case(token.as_bytes()))
}

/// Whether `s` is a non-empty RFC 7230 token (header names, subprotocols).
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `s` may be written as a header value: no CR, LF or NUL.
pub(crate) fn is_header_value(s: &[u8]) -> bool {
    !s.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0)
}

/// Writes one header field line.
pub(crate) fn write_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Header fields kept from a request or response: names as sent, values as bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, Vec<u8>)>);

impl Headers {
    pub(crate) fn from_httparse(headers: &[httparse::Header<'_>]) -> Headers {
        Headers(headers.iter().map(|h| (h.name.to_owned(), h.value.to_vec())).collect())
    }

    /// The first value of the field `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.all(name).next()
    }

    /// Every value of the field `name` (case-insensitive), in order.
    pub fn all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        self.0.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    /// How many times the field `name` appears.
    pub fn count(&self, name: &str) -> usize {
        self.all(name).count()
    }

    /// Every field in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_the_rfc_example() {
        // RFC 6455 §1.3.
        assert_eq!(&accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn generated_keys_are_valid_and_fresh() {
        let a = generate_key().unwrap();
        let b = generate_key().unwrap();
        assert!(is_valid_key(&a) && is_valid_key(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn key_must_decode_to_sixteen_bytes() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ"));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZXg="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=!"));
        assert!(!is_valid_key(b""));
    }

    #[test]
    fn token_lists_are_case_insensitive_and_trimmed() {
        assert!(has_token(b"keep-alive, Upgrade", "upgrade"));
        assert!(has_token(b"  UPGRADE  ", "upgrade"));
        assert!(has_token(b",,upgrade,", "upgrade"));
        assert!(!has_token(b"upgrades", "upgrade"));
        assert!(!has_token(b"", "upgrade"));
    }

    #[test]
    fn tokens_reject_separators() {
        assert!(is_token(b"chat.v2"));
        assert!(!is_token(b"chat v2"));
        assert!(!is_token(b"a,b"));
        assert!(!is_token(b""));
    }
}
