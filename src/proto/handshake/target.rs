//! The syntax of what a client puts on its request line and in `Host`
//! (RFC 3986 resources, RFC 7230 hosts), shared by the handshake and the
//! URI helpers.

use std::ffi::CStr;

use crate::error::{Error, Result};

/// The message for a resource with a character outside RFC 3986 paths and queries.
pub const RESOURCE_CHARS: &CStr = c"resource may contain only RFC 3986 path and query characters";
/// The message for a malformed percent-encoding.
pub const PERCENT: &CStr = c"'%' in a resource must be followed by two hex digits";
/// The message for a fragment in a resource.
pub const FRAGMENT: &CStr = c"a fragment (#) is not allowed in a ws URI (RFC 6455 section 3)";

/// RFC 3986 `unreserved`: ALPHA / DIGIT / "-" / "." / "_" / "~".
pub fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 `sub-delims`: "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "=".
pub fn is_sub_delim(b: u8) -> bool {
    matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=')
}

/// Checks a path with optional query: RFC 3986 `pchar`s, `/` and `?`, with
/// well-formed percent-encodings; no fragment.
pub fn check_resource(resource: &str) -> Result<()> {
    let mut bytes = resource.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                if !(bytes.next().is_some_and(|h| h.is_ascii_hexdigit())
                    && bytes.next().is_some_and(|h| h.is_ascii_hexdigit()))
                {
                    return Err(Error::Invalid(PERCENT));
                }
            }
            b'#' => return Err(Error::Invalid(FRAGMENT)),
            b':' | b'@' | b'/' | b'?' => {}
            b if is_unreserved(b) || is_sub_delim(b) => {}
            _ => return Err(Error::Invalid(RESOURCE_CHARS)),
        }
    }
    Ok(())
}

/// Whether `host` can be a `Host` value: a name or IPv4 address of RFC
/// 3986 unreserved characters or a bracketed IPv6 address, with an
/// optional `:port`.
pub fn is_host_value(host: &str) -> bool {
    !host.is_empty() && host.bytes().all(|b| is_unreserved(b) || matches!(b, b':' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_follow_rfc_3986() {
        assert!(check_resource("/chat?room=1&x=%41").is_ok());
        assert_eq!(check_resource("/a b"), Err(Error::Invalid(RESOURCE_CHARS)));
        assert_eq!(check_resource("/a#b"), Err(Error::Invalid(FRAGMENT)));
        assert_eq!(check_resource("/%4"), Err(Error::Invalid(PERCENT)));
        assert_eq!(check_resource("/caf\u{e9}"), Err(Error::Invalid(RESOURCE_CHARS)));
    }

    #[test]
    fn host_values_are_names_or_addresses_with_a_port() {
        for ok in ["example.com", "example.com:8080", "127.0.0.1:9", "[::1]:9000"] {
            assert!(is_host_value(ok), "{ok}");
        }
        for bad in ["", "user@example.com", "example.com/x", "a b", "h\r\nX: y"] {
            assert!(!is_host_value(bad), "{bad:?}");
        }
    }
}
