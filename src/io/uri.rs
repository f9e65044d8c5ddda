//! ws:// and wss:// URIs (RFC 6455 §3): parsing one into what a client
//! needs to connect (host, port, resource name) and building one from those
//! parts. No I/O; parsing borrows from the input and does not allocate.
//!
//! The grammar is RFC 6455's, with RFC 3986's host, port, path and query:
//!
//! ```text
//! ws-URI  = "ws:" "//" host [ ":" port ] path [ "?" query ]
//! wss-URI = "wss:" "//" host [ ":" port ] path [ "?" query ]
//! ```
//!
//! Strict where RFC 6455 and RFC 3986 are: a fragment (`#`) is refused
//! (§3: "Fragment identifiers are meaningless in the context of WebSocket
//! URIs and MUST NOT be used"), and so are userinfo (`user@`), spaces,
//! control and non-ASCII characters (percent-encode them), malformed
//! percent-encodings and characters RFC 3986 allows nowhere in a path or
//! query (`"`, `<`, `>`, `\`, `^`, `` ` ``, `{`, `|`, `}`, `[`, `]`).
//! A host is a name of letters, digits, `-`, `.`, `_` and `~`, an IPv4
//! literal, or an IPv6 literal in brackets (without a zone identifier).
//! [`build`] accepts exactly what [`parse`] accepts, so what it builds
//! always parses back.

use std::ffi::CStr;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Result};
use crate::proto::handshake::target::{FRAGMENT, check_resource, is_unreserved};

/// The port of `ws://` URIs without one.
pub const WS_DEFAULT_PORT: u16 = 80;
/// The port of `wss://` URIs without one.
pub const WSS_DEFAULT_PORT: u16 = 443;

const SCHEME: &CStr = c"URI scheme must be ws:// or wss://";
const SPACE_OR_CONTROL: &CStr = c"URI contains a space or control character";
const NON_ASCII: &CStr = c"URI contains a non-ASCII character (percent-encode it)";
const USERINFO: &CStr = c"userinfo (user@) is not allowed in a ws URI";
const HOST_EMPTY: &CStr = c"URI host is empty";
const HOST_CHARS: &CStr = c"host name may contain only letters, digits, '-', '.', '_' and '~'";
const HOST_IPV4: &CStr = c"host looks like an IPv4 address but is not a valid one";
const IPV6_UNBRACKETED: &CStr = c"an IPv6 address in a URI must be in brackets: ws://[::1]:port/";
const IPV6_UNCLOSED: &CStr = c"missing ']' after the IPv6 address";
const IPV6_INVALID: &CStr = c"bracketed host is not a valid IPv6 address";
const AFTER_IPV6: &CStr = c"expected ':', '/' or '?' after the IPv6 address";
const HOST_WITH_COLON: &CStr = c"host contains ':' but is not an IPv6 address (give the port separately)";
const PORT_EMPTY: &CStr = c"port is empty after ':'";
const PORT_DIGITS: &CStr = c"port must be decimal digits";
const PORT_ZERO: &CStr = c"port 0 is not allowed";
const PORT_RANGE: &CStr = c"port is larger than 65535";
const QUERY_WITHOUT_PATH: &CStr = c"query without a path: write ws://host/?query";

/// The parts of a ws:// or wss:// URI, borrowed from the parsed string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uri<'a> {
    /// `true` for wss:// (TLS).
    pub secure: bool,
    /// The host: a name, an IPv4 literal, or an IPv6 literal without its
    /// brackets (`::1`).
    pub host: &'a str,
    /// The port: the explicit one, or the scheme's default (80 or 443).
    pub port: u16,
    /// The resource name (RFC 6455 §3): the path and query as they appear
    /// in the URI (`/chat?room=1`), or `/` when the URI has neither.
    pub resource: &'a str,
}

impl Uri<'_> {
    /// The `Host` header value for this URI (RFC 6455 §4.1): see [`host_header`].
    pub fn host_header(&self) -> String {
        host_header(self.host, self.port, self.secure)
    }
}

/// The port a URI without one connects to: 443 for wss://, 80 for ws://.
pub fn default_port(secure: bool) -> u16 {
    if secure { WSS_DEFAULT_PORT } else { WS_DEFAULT_PORT }
}

/// Parses a ws:// or wss:// URI (the scheme in any case).
///
/// A URI without a path gets the resource `/`; a query without a path
/// (`ws://host?x`) is refused, because its resource `/?x` would not be a
/// part of the input. Every refusal is an [`Error::Invalid`] naming the
/// problem.
pub fn parse(uri: &str) -> Result<Uri<'_>> {
    check_chars(uri)?;
    let (scheme, rest) = uri.split_once(':').ok_or(Error::Invalid(SCHEME))?;
    let secure = if scheme.eq_ignore_ascii_case("ws") {
        false
    } else if scheme.eq_ignore_ascii_case("wss") {
        true
    } else {
        return Err(Error::Invalid(SCHEME));
    };
    let rest = rest.strip_prefix("//").ok_or(Error::Invalid(SCHEME))?;
    let (authority, resource) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err(Error::Invalid(USERINFO));
    }
    let (host, port) = split_authority(authority)?;
    let port = match port {
        Some(p) => parse_port(p)?,
        None => default_port(secure),
    };
    let resource = match resource {
        "" => "/",
        r if r.starts_with('?') => return Err(Error::Invalid(QUERY_WITHOUT_PATH)),
        r => {
            check_resource(r)?;
            r
        }
    };
    Ok(Uri { secure, host, port, resource })
}

/// Appends the URI for `host`, `port` and `resource` to `out`.
///
/// `host` is a name, an IPv4 literal or an IPv6 literal (bracketed here;
/// brackets already there are kept, not doubled). `port` 0 or the scheme's
/// default (80 for ws://, 443 for wss://) is left out. An empty `resource`
/// becomes `/`, and one without a leading `/` gets one (a "service name"
/// such as `chat` gives `/chat`). Refuses what [`parse`] would refuse
/// ([`Error::Invalid`]); `out` is unchanged then.
pub fn build(out: &mut String, secure: bool, host: &str, port: u16, resource: &str) -> Result<()> {
    check_host_to_build(host)?;
    check_chars(resource)?;
    check_resource(resource)?;
    out.push_str(if secure { "wss://" } else { "ws://" });
    write_authority(out, host, port, secure);
    if !resource.starts_with('/') {
        out.push('/');
    }
    out.push_str(resource);
    Ok(())
}

/// The `Host` header value for a connection to `host` and `port` (RFC 6455
/// §4.1): an IPv6 literal in brackets, the port left out when it is 0 or
/// the scheme's default. `host` is not checked: pass one that [`parse`]
/// returned or [`build`] accepted.
pub fn host_header(host: &str, port: u16, secure: bool) -> String {
    let mut out = String::with_capacity(host.len() + 8);
    write_authority(&mut out, host, port, secure);
    out
}

/// Writes `host[:port]`, bracketing an IPv6 literal and leaving out a
/// default port.
fn write_authority(out: &mut String, host: &str, port: u16, secure: bool) {
    let bare = unbracketed(host);
    if bare.contains(':') {
        out.push('[');
        out.push_str(bare);
        out.push(']');
    } else {
        out.push_str(bare);
    }
    if port != 0 && port != default_port(secure) {
        out.push(':');
        out.push_str(&port.to_string());
    }
}

/// `host` without surrounding brackets, if it has both.
fn unbracketed(host: &str) -> &str {
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

/// Refuses a fragment, spaces, control and non-ASCII characters anywhere,
/// naming the first one found.
fn check_chars(s: &str) -> Result<()> {
    for b in s.bytes() {
        match b {
            b'#' => return Err(Error::Invalid(FRAGMENT)),
            0..=0x20 | 0x7f => return Err(Error::Invalid(SPACE_OR_CONTROL)),
            0x80.. => return Err(Error::Invalid(NON_ASCII)),
            _ => {}
        }
    }
    Ok(())
}

/// Checks a host given to [`build`]: bracketed, it must be an IPv6
/// literal; with a `:`, an IPv6 literal to bracket; otherwise a name or an
/// IPv4 literal.
fn check_host_to_build(host: &str) -> Result<()> {
    check_chars(host)?;
    match unbracketed(host) {
        bare if bare.len() != host.len() => check_ipv6(bare, IPV6_INVALID),
        bare if bare.contains(':') => check_ipv6(bare, HOST_WITH_COLON),
        name => check_name(name),
    }
}

/// Splits `host[:port]` into the host (IPv6 without brackets) and the port
/// text after `:`, if there is a `:`.
fn split_authority(authority: &str) -> Result<(&str, Option<&str>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(Error::Invalid(IPV6_UNCLOSED))?;
        check_ipv6(host, IPV6_INVALID)?;
        return match after {
            "" => Ok((host, None)),
            a => a.strip_prefix(':').map(|p| (host, Some(p))).ok_or(Error::Invalid(AFTER_IPV6)),
        };
    }
    let (host, port) = match authority.split_once(':') {
        Some((_, p)) if p.contains(':') => return Err(Error::Invalid(IPV6_UNBRACKETED)),
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    check_name(host)?;
    Ok((host, port))
}

/// Checks a host that is not an IPv6 literal: a name of RFC 3986
/// unreserved characters, or a dotted-quad IPv4 literal.
fn check_name(host: &str) -> Result<()> {
    if host.is_empty() {
        return Err(Error::Invalid(HOST_EMPTY));
    }
    if !host.bytes().all(is_unreserved) {
        return Err(Error::Invalid(HOST_CHARS));
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') && host.parse::<Ipv4Addr>().is_err() {
        return Err(Error::Invalid(HOST_IPV4));
    }
    Ok(())
}

fn check_ipv6(host: &str, message: &'static CStr) -> Result<()> {
    host.parse::<Ipv6Addr>().map(|_| ()).map_err(|_| Error::Invalid(message))
}

/// Parses the port after `:`: decimal, 1 to 65535.
fn parse_port(text: &str) -> Result<u16> {
    if text.is_empty() {
        return Err(Error::Invalid(PORT_EMPTY));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Invalid(PORT_DIGITS));
    }
    // Leading zeros are allowed (RFC 3986: port = *DIGIT), so the length
    // alone does not bound the value.
    let value = text.bytes().try_fold(0u32, |v, b| v.checked_mul(10)?.checked_add(u32::from(b - b'0')));
    match value.map(u16::try_from) {
        Some(Ok(0)) => Err(Error::Invalid(PORT_ZERO)),
        Some(Ok(port)) => Ok(port),
        _ => Err(Error::Invalid(PORT_RANGE)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::handshake::target::{PERCENT, RESOURCE_CHARS};
    use proptest::prelude::*;

    fn uri(secure: bool, host: &'static str, port: u16, resource: &'static str) -> Uri<'static> {
        Uri { secure, host, port, resource }
    }

    fn refusal(text: &str) -> &'static CStr {
        match parse(text) {
            Err(Error::Invalid(why)) => why,
            other => panic!("{text:?} gave {other:?}"),
        }
    }

    fn built(secure: bool, host: &str, port: u16, resource: &str) -> Result<String> {
        let mut out = String::new();
        build(&mut out, secure, host, port, resource).map(|()| out)
    }

    fn build_refusal(host: &str, port: u16, resource: &str) -> &'static CStr {
        match built(false, host, port, resource) {
            Err(Error::Invalid(why)) => why,
            other => panic!("{host:?} {port} {resource:?} gave {other:?}"),
        }
    }

    // --- parse: what is accepted ---

    #[test]
    fn ws_uri_without_port_gets_port_80() {
        assert_eq!(parse("ws://example.com/chat"), Ok(uri(false, "example.com", 80, "/chat")));
    }

    #[test]
    fn wss_uri_without_port_gets_port_443() {
        assert_eq!(parse("wss://example.com/chat"), Ok(uri(true, "example.com", 443, "/chat")));
    }

    #[test]
    fn scheme_is_case_insensitive() {
        assert_eq!(parse("WS://h/"), Ok(uri(false, "h", 80, "/")));
        assert_eq!(parse("wSs://h/"), Ok(uri(true, "h", 443, "/")));
    }

    #[test]
    fn explicit_port_is_kept() {
        assert_eq!(parse("ws://example.com:8080/x"), Ok(uri(false, "example.com", 8080, "/x")));
    }

    #[test]
    fn explicit_default_port_is_the_same_uri() {
        assert_eq!(parse("wss://h:443/"), parse("wss://h/"));
    }

    #[test]
    fn empty_path_is_resource_slash() {
        assert_eq!(parse("ws://example.com"), Ok(uri(false, "example.com", 80, "/")));
        assert_eq!(parse("ws://example.com:9000"), Ok(uri(false, "example.com", 9000, "/")));
    }

    #[test]
    fn query_is_part_of_the_resource() {
        assert_eq!(parse("ws://h/chat?room=1&x=%20"), Ok(uri(false, "h", 80, "/chat?room=1&x=%20")));
    }

    #[test]
    fn path_may_hold_every_rfc3986_pchar() {
        let r = "/a-._~!$&'()*+,;=:@/%41?q/?";
        assert_eq!(parse(&format!("ws://h{r}")).map(|u| u.resource), Ok(r));
    }

    #[test]
    fn ipv4_literal_is_a_host() {
        assert_eq!(parse("ws://127.0.0.1:9000/"), Ok(uri(false, "127.0.0.1", 9000, "/")));
    }

    #[test]
    fn ipv6_literal_keeps_its_port() {
        assert_eq!(parse("ws://[::1]:9000/x"), Ok(uri(false, "::1", 9000, "/x")));
    }

    #[test]
    fn ipv6_literal_without_port_gets_the_default() {
        assert_eq!(parse("wss://[2001:db8::7]/"), Ok(uri(true, "2001:db8::7", 443, "/")));
        assert_eq!(parse("ws://[::ffff:10.0.0.1]"), Ok(uri(false, "::ffff:10.0.0.1", 80, "/")));
    }

    #[test]
    fn port_65535_is_accepted() {
        assert_eq!(parse("ws://h:65535/").map(|u| u.port), Ok(65535));
    }

    #[test]
    fn port_1_is_accepted() {
        assert_eq!(parse("ws://h:1/").map(|u| u.port), Ok(1));
    }

    #[test]
    fn port_with_leading_zeros_is_decimal() {
        assert_eq!(parse("ws://h:000000000000008080/").map(|u| u.port), Ok(8080));
    }

    #[test]
    fn host_header_of_a_parsed_uri_omits_the_default_port() {
        assert_eq!(parse("ws://h:80/").unwrap().host_header(), "h");
        assert_eq!(parse("ws://[::1]:9000/").unwrap().host_header(), "[::1]:9000");
    }

    // --- parse: what is refused ---

    #[test]
    fn fragment_is_rejected() {
        assert_eq!(refusal("ws://h/chat#top"), FRAGMENT);
        assert_eq!(refusal("ws://h#top"), FRAGMENT);
        assert_eq!(refusal("ws://h/#"), FRAGMENT);
    }

    #[test]
    fn other_schemes_are_rejected() {
        assert_eq!(refusal("http://h/"), SCHEME);
        assert_eq!(refusal("wsx://h/"), SCHEME);
        assert_eq!(refusal("ws:h/"), SCHEME);
        assert_eq!(refusal("ws:/h/"), SCHEME);
        assert_eq!(refusal("h/"), SCHEME);
        assert_eq!(refusal(""), SCHEME);
    }

    #[test]
    fn userinfo_is_rejected() {
        assert_eq!(refusal("ws://user@h/"), USERINFO);
        assert_eq!(refusal("ws://user:pw@h:80/"), USERINFO);
    }

    #[test]
    fn at_sign_in_the_path_is_not_userinfo() {
        assert_eq!(parse("ws://h/@me").map(|u| u.resource), Ok("/@me"));
    }

    #[test]
    fn empty_host_is_rejected() {
        assert_eq!(refusal("ws:///chat"), HOST_EMPTY);
        assert_eq!(refusal("ws://:80/"), HOST_EMPTY);
        assert_eq!(refusal("ws://"), HOST_EMPTY);
    }

    #[test]
    fn spaces_and_control_characters_are_rejected() {
        assert_eq!(refusal("ws://h/a b"), SPACE_OR_CONTROL);
        assert_eq!(refusal(" ws://h/"), SPACE_OR_CONTROL);
        assert_eq!(refusal("ws://h/\r\nX: y"), SPACE_OR_CONTROL);
        assert_eq!(refusal("ws://h/\x7f"), SPACE_OR_CONTROL);
        assert_eq!(refusal("ws://h\t/"), SPACE_OR_CONTROL);
    }

    #[test]
    fn non_ascii_characters_are_rejected() {
        assert_eq!(refusal("ws://h/caf\u{e9}"), NON_ASCII);
        assert_eq!(refusal("ws://b\u{fc}cher.example/"), NON_ASCII);
    }

    #[test]
    fn host_with_characters_outside_a_name_is_rejected() {
        assert_eq!(refusal("ws://a!b/"), HOST_CHARS);
        assert_eq!(refusal("ws://a%41/"), HOST_CHARS);
        assert_eq!(refusal("ws://a]/"), HOST_CHARS);
    }

    #[test]
    fn malformed_ipv4_literal_is_rejected() {
        assert_eq!(refusal("ws://256.0.0.1/"), HOST_IPV4);
        assert_eq!(refusal("ws://1.2.3/"), HOST_IPV4);
        assert_eq!(refusal("ws://01.2.3.4/"), HOST_IPV4);
    }

    #[test]
    fn ipv6_literal_without_brackets_is_rejected() {
        assert_eq!(refusal("ws://::1/"), IPV6_UNBRACKETED);
        assert_eq!(refusal("ws://2001:db8::1/"), IPV6_UNBRACKETED);
    }

    #[test]
    fn ipv6_literal_without_closing_bracket_is_rejected() {
        assert_eq!(refusal("ws://[::1/"), IPV6_UNCLOSED);
    }

    #[test]
    fn invalid_ipv6_literal_is_rejected() {
        assert_eq!(refusal("ws://[example.com]/"), IPV6_INVALID);
        assert_eq!(refusal("ws://[]/"), IPV6_INVALID);
        assert_eq!(refusal("ws://[::g]/"), IPV6_INVALID);
    }

    #[test]
    fn ipv6_zone_identifier_is_rejected() {
        assert_eq!(refusal("ws://[fe80::1%25eth0]/"), IPV6_INVALID);
    }

    #[test]
    fn text_between_bracket_and_port_is_rejected() {
        assert_eq!(refusal("ws://[::1]x/"), AFTER_IPV6);
        assert_eq!(refusal("ws://[::1]]/"), AFTER_IPV6);
    }

    #[test]
    fn port_0_is_rejected_when_parsing() {
        assert_eq!(refusal("ws://h:0/"), PORT_ZERO);
        assert_eq!(refusal("ws://h:00/"), PORT_ZERO);
    }

    #[test]
    fn port_65536_is_rejected() {
        assert_eq!(refusal("ws://h:65536/"), PORT_RANGE);
    }

    #[test]
    fn port_that_overflows_32_bits_is_rejected() {
        assert_eq!(refusal("ws://h:4294967376/"), PORT_RANGE);
        assert_eq!(refusal("ws://h:99999999999999999999999/"), PORT_RANGE);
    }

    #[test]
    fn empty_port_is_rejected() {
        assert_eq!(refusal("ws://h:/"), PORT_EMPTY);
        assert_eq!(refusal("ws://h:"), PORT_EMPTY);
        assert_eq!(refusal("ws://[::1]:/"), PORT_EMPTY);
    }

    #[test]
    fn port_with_non_digits_is_rejected() {
        assert_eq!(refusal("ws://h:80a/"), PORT_DIGITS);
        assert_eq!(refusal("ws://h:+80/"), PORT_DIGITS);
        assert_eq!(refusal("ws://h:-1/"), PORT_DIGITS);
        assert_eq!(refusal("ws://h:0x50/"), PORT_DIGITS);
    }

    #[test]
    fn query_without_path_is_rejected() {
        assert_eq!(refusal("ws://h?x=1"), QUERY_WITHOUT_PATH);
        assert_eq!(refusal("ws://h:81?x"), QUERY_WITHOUT_PATH);
    }

    #[test]
    fn characters_rfc3986_forbids_in_a_path_are_rejected() {
        for c in ['"', '<', '>', '\\', '^', '`', '{', '|', '}', '[', ']'] {
            assert_eq!(refusal(&format!("ws://h/a{c}b")), RESOURCE_CHARS, "{c}");
        }
    }

    #[test]
    fn malformed_percent_encoding_is_rejected() {
        assert_eq!(refusal("ws://h/%"), PERCENT);
        assert_eq!(refusal("ws://h/%4"), PERCENT);
        assert_eq!(refusal("ws://h/%zz"), PERCENT);
        assert_eq!(refusal("ws://h/?q=%G0"), PERCENT);
    }

    // --- build ---

    #[test]
    fn default_port_is_omitted_when_building() {
        assert_eq!(built(false, "h", 80, "/x"), Ok("ws://h/x".to_owned()));
        assert_eq!(built(true, "h", 443, "/x"), Ok("wss://h/x".to_owned()));
    }

    #[test]
    fn port_0_means_the_default_when_building() {
        assert_eq!(built(false, "h", 0, "/"), Ok("ws://h/".to_owned()));
        assert_eq!(built(true, "h", 0, "/"), Ok("wss://h/".to_owned()));
    }

    #[test]
    fn other_scheme_default_port_is_kept_when_building() {
        assert_eq!(built(false, "h", 443, "/"), Ok("ws://h:443/".to_owned()));
        assert_eq!(built(true, "h", 80, "/"), Ok("wss://h:80/".to_owned()));
    }

    #[test]
    fn port_65535_is_written() {
        assert_eq!(built(false, "h", 65535, "/"), Ok("ws://h:65535/".to_owned()));
    }

    #[test]
    fn ipv6_host_is_bracketed_when_building() {
        assert_eq!(built(false, "::1", 9000, "/x"), Ok("ws://[::1]:9000/x".to_owned()));
        assert_eq!(built(true, "2001:db8::7", 0, ""), Ok("wss://[2001:db8::7]/".to_owned()));
    }

    #[test]
    fn bracketed_ipv6_host_is_not_bracketed_twice() {
        assert_eq!(built(false, "[::1]", 9000, "/"), Ok("ws://[::1]:9000/".to_owned()));
    }

    #[test]
    fn empty_resource_becomes_slash() {
        assert_eq!(built(false, "h", 0, ""), Ok("ws://h/".to_owned()));
    }

    #[test]
    fn service_name_gets_a_leading_slash() {
        assert_eq!(built(false, "h", 8080, "chat"), Ok("ws://h:8080/chat".to_owned()));
        assert_eq!(built(false, "h", 0, "?x=1"), Ok("ws://h/?x=1".to_owned()));
    }

    #[test]
    fn build_appends_to_what_is_there() {
        let mut out = "uri: ".to_owned();
        build(&mut out, false, "h", 0, "/").unwrap();
        assert_eq!(out, "uri: ws://h/");
    }

    #[test]
    fn refused_build_leaves_the_output_unchanged() {
        let mut out = "x".to_owned();
        assert!(build(&mut out, false, "h", 0, "a b").is_err());
        assert_eq!(out, "x");
    }

    #[test]
    fn host_with_port_is_rejected_when_building() {
        assert_eq!(build_refusal("example.com:8080", 0, "/"), HOST_WITH_COLON);
    }

    #[test]
    fn empty_host_is_rejected_when_building() {
        assert_eq!(build_refusal("", 0, "/"), HOST_EMPTY);
    }

    #[test]
    fn invalid_bracketed_host_is_rejected_when_building() {
        assert_eq!(build_refusal("[example.com]", 0, "/"), IPV6_INVALID);
        assert_eq!(build_refusal("[::1", 0, "/"), HOST_WITH_COLON);
        assert_eq!(build_refusal("[h", 0, "/"), HOST_CHARS);
        assert_eq!(build_refusal("[h]", 0, "/"), IPV6_INVALID);
        assert_eq!(build_refusal("[:::]", 0, "/"), IPV6_INVALID);
    }

    #[test]
    fn spaces_controls_and_fragments_are_rejected_when_building() {
        assert_eq!(build_refusal("my host", 0, "/"), SPACE_OR_CONTROL);
        assert_eq!(build_refusal("h", 0, "my chat"), SPACE_OR_CONTROL);
        assert_eq!(build_refusal("h", 0, "/x\r\n"), SPACE_OR_CONTROL);
        assert_eq!(build_refusal("h", 0, "/chat#top"), FRAGMENT);
        assert_eq!(build_refusal("h#x", 0, "/"), FRAGMENT);
    }

    #[test]
    fn resource_characters_are_checked_when_building() {
        assert_eq!(build_refusal("h", 0, "/a|b"), RESOURCE_CHARS);
        assert_eq!(build_refusal("h", 0, "/%2"), PERCENT);
    }

    #[test]
    fn host_header_brackets_ipv6_and_omits_default_port() {
        assert_eq!(host_header("example.com", 80, false), "example.com");
        assert_eq!(host_header("example.com", 0, true), "example.com");
        assert_eq!(host_header("example.com", 443, false), "example.com:443");
        assert_eq!(host_header("::1", 9000, false), "[::1]:9000");
        assert_eq!(host_header("[::1]", 443, true), "[::1]");
    }

    // --- build and parse together ---

    #[test]
    fn build_then_parse_round_trips() {
        let text = built(true, "::1", 8443, "/chat?room=1").unwrap();
        assert_eq!(parse(&text), Ok(uri(true, "::1", 8443, "/chat?room=1")));
    }

    fn host() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9._~-]{1,20}"
                .prop_filter("not IPv4-like", |h| !h.bytes().all(|b| b.is_ascii_digit() || b == b'.')),
            any::<[u8; 4]>().prop_map(|a| Ipv4Addr::from(a).to_string()),
            any::<[u16; 8]>().prop_map(|a| Ipv6Addr::from(a).to_string()),
        ]
    }

    fn resource() -> impl Strategy<Value = String> {
        "(/?([a-zA-Z0-9._~!$&'()*+,;=:@/-]|%[0-9a-fA-F]{2}){0,20})(\\?([a-zA-Z0-9/?=&-]|%[0-9a-fA-F]{2}){0,10})?"
    }

    proptest! {
        #[test]
        fn whatever_build_accepts_parses_back(secure: bool, host in host(), port: u16, resource in resource()) {
            let text = built(secure, &host, port, &resource).unwrap();
            let parsed = parse(&text).unwrap();
            prop_assert_eq!(parsed.secure, secure);
            prop_assert_eq!(parsed.host, host.as_str());
            prop_assert_eq!(parsed.port, if port == 0 { default_port(secure) } else { port });
            let expected = if resource.starts_with('/') { resource.clone() } else { format!("/{resource}") };
            prop_assert_eq!(parsed.resource, expected.as_str());
        }

        #[test]
        fn parse_then_build_gives_the_uri_back(secure: bool, host in host(), port in 1u16.., resource in resource()) {
            let text = built(secure, &host, port, &resource).unwrap();
            let u = parse(&text).unwrap();
            prop_assert_eq!(built(u.secure, u.host, u.port, u.resource).unwrap(), text);
        }

        #[test]
        fn parse_never_panics(text in "(ws|wss|WS|http)?(:|://)?[ -~]{0,40}") {
            let _ = parse(&text);
        }
    }
}
