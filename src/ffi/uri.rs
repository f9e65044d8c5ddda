//! `ews_uri`: ws:// and wss:// URIs (RFC 6455 §3), parsed and built without
//! I/O or allocation visible to C (the rules are in [`crate::io::uri`]).
//!
//! Functions: ews_uri_build, ews_uri_parse.

use std::ffi::{c_char, c_int};

use crate::ffi::errors::{EWS_EINVAL, EWS_ENOSPC, EWS_EPANIC, EWS_OK, code_of};
use crate::ffi::panic::guard;
use crate::ffi::ptr::{self, Str};
use crate::io::uri;

/// The parts of a ws:// or wss:// URI, filled by ews_uri_parse().
///
/// Nothing is allocated: `host` and `resource` point into the string given
/// to ews_uri_parse() (or, for `resource`, to a static "/"), so they stay
/// valid exactly as long as that string does and must not be freed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ews_uri {
    /// 1 for wss:// (TLS), 0 for ws://.
    pub secure: c_int,
    /// The host: a name, an IPv4 literal, or an IPv6 literal without its
    /// brackets ("::1"). Not NUL-terminated: `host_len` bytes.
    pub host: *const c_char,
    /// The length of `host` in bytes (at least 1).
    pub host_len: usize,
    /// The port: the URI's, or the scheme's default (80 for ws://, 443 for
    /// wss://). Always 1-65535.
    pub port: c_int,
    /// The resource name (RFC 6455 §3): path and query ("/chat?room=1"),
    /// "/" when the URI has no path. NUL-terminated (it runs to the end of
    /// the parsed string, or is a static "/"), so it can be passed as
    /// ews_conn_options.resource as it is.
    pub resource: *const c_char,
    /// The length of `resource` in bytes (at least 1).
    pub resource_len: usize,
}

/// Writes the ws:// (`secure` 0) or wss:// (`secure` non-zero) URI for
/// `host`, `port` and `resource` to `out`, NUL-terminated, and returns its
/// length without the NUL.
///
/// `host` is a host name, an IPv4 literal or an IPv6 literal (brackets are
/// added: "::1" gives `ws://[::1]/`; a bracketed one is kept as it is).
/// `port` 0 or the scheme's default (80 for ws://, 443 for wss://) is left
/// out of the URI. `resource` is the path and optional query; NULL or ""
/// gives "/", and one without a leading '/' gets one (a service name
/// "chat" gives "/chat"). The URI is what ews_uri_parse() accepts: no
/// spaces, control or non-ASCII characters, no '#' (RFC 6455 forbids
/// fragments), only RFC 3986 path and query characters in `resource`.
///
/// A buffer of strlen(host) + strlen(resource) + 16 bytes is always large
/// enough. `out` is written only on success; `host` and `resource` are
/// borrowed for the call and must not overlap `out`.
///
/// Errors: EWS_EINVAL (NULL `host`, NULL `out` with a non-zero `out_size`,
/// a string that is not UTF-8, `port` outside 0-65535, a host or resource
/// the URI cannot hold), EWS_ENOSPC (the URI and its NUL do not fit in
/// `out_size` bytes; nothing is written). Arguments are checked first, so
/// EWS_ENOSPC means they were valid. Safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_uri_build(
    out: *mut c_char,
    out_size: usize,
    secure: c_int,
    host: *const c_char,
    port: c_int,
    resource: *const c_char,
) -> c_int {
    guard(EWS_EPANIC, || {
        let Str::Text(host) = ptr::string(host) else { return EWS_EINVAL };
        let resource = match ptr::string(resource) {
            Str::Null => "/",
            Str::Text(r) => r,
            Str::Invalid => return EWS_EINVAL,
        };
        let Ok(port) = u16::try_from(port) else { return EWS_EINVAL };
        let mut text = String::new();
        if let Err(e) = uri::build(&mut text, secure != 0, host, port, resource) {
            return code_of(&e);
        }
        let Ok(len) = c_int::try_from(text.len()) else { return EWS_EINVAL };
        // `out` is borrowed only now, after the last use of `host` and
        // `resource`.
        let Some(dst) = ptr::bytes_mut(out.cast(), out_size) else { return EWS_EINVAL };
        if dst.len() <= text.len() {
            return EWS_ENOSPC;
        }
        dst[..text.len()].copy_from_slice(text.as_bytes());
        dst[text.len()] = 0;
        len
    })
}

/// Parses the ws:// or wss:// URI `uri` (scheme in any case) into `*out`.
///
/// Accepts `ws[s]://host[:port]/path?query` with a host name, an IPv4
/// literal or a bracketed IPv6 literal (`ws://[::1]:9000/x`) and a port of
/// 1-65535. Refuses a fragment ('#', RFC 6455 §3), userinfo ("user@"), an
/// empty host, an empty port after ':', port 0, spaces, control and
/// non-ASCII characters, malformed percent-encodings, other schemes, and a
/// query without a path ("ws://host?x": write "ws://host/?x").
///
/// `uri` is borrowed: the pointers written to `*out` point into it (see
/// ews_uri) and are valid as long as it is. Returns 0 and fills `*out`;
/// `*out` is written only on success. Errors: EWS_EINVAL (NULL or non-UTF-8
/// `uri`, NULL `out`, a URI refused as above). Safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_uri_parse(uri: *const c_char, out: *mut ews_uri) -> c_int {
    guard(EWS_EPANIC, || {
        let Str::Text(text) = ptr::string(uri) else { return EWS_EINVAL };
        if out.is_null() {
            return EWS_EINVAL;
        }
        let parsed = match uri::parse(text) {
            Ok(u) => u,
            Err(e) => return code_of(&e),
        };
        // The resource is either the end of `text` (NUL-terminated by the
        // caller's string) or, for a URI without a path, a static "/" that
        // is not; hand out a NUL-terminated one then.
        let resource = if text.as_bytes().as_ptr_range().contains(&parsed.resource.as_ptr()) {
            parsed.resource.as_ptr().cast()
        } else {
            c"/".as_ptr()
        };
        ptr::write(
            out,
            ews_uri {
                secure: parsed.secure.into(),
                host: parsed.host.as_ptr().cast(),
                host_len: parsed.host.len(),
                port: parsed.port.into(),
                resource,
                resource_len: parsed.resource.len(),
            },
        );
        EWS_OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::{CStr, CString};
    use std::ptr::{null, null_mut};

    /// Builds into a buffer of `size` bytes filled with 0xAA; returns the
    /// code and the buffer.
    fn build_into(size: usize, secure: c_int, host: &CStr, port: c_int, resource: Option<&CStr>) -> (c_int, Vec<u8>) {
        let mut buf = vec![0xAAu8; size];
        let rc = ews_uri_build(
            buf.as_mut_ptr().cast(),
            buf.len(),
            secure,
            host.as_ptr(),
            port,
            resource.map_or(null(), CStr::as_ptr),
        );
        (rc, buf)
    }

    fn build_ok(secure: c_int, host: &CStr, port: c_int, resource: Option<&CStr>) -> String {
        let (rc, buf) = build_into(256, secure, host, port, resource);
        assert!(rc > 0, "ews_uri_build gave {rc}");
        let text = CStr::from_bytes_until_nul(&buf).unwrap().to_str().unwrap().to_owned();
        assert_eq!(text.len(), rc as usize);
        text
    }

    /// The bytes `p` points to, `len` of them, found inside `owner` (the
    /// string that was parsed) without dereferencing `p`.
    fn inside(owner: &CStr, p: *const c_char, len: usize) -> &str {
        let start = (p as usize).checked_sub(owner.as_ptr() as usize).expect("points into the parsed string");
        owner.to_str().unwrap().get(start..start + len).expect("points into the parsed string")
    }

    fn parse_ok(text: &CStr) -> ews_uri {
        let mut out = empty();
        assert_eq!(ews_uri_parse(text.as_ptr(), &mut out), EWS_OK);
        out
    }

    fn empty() -> ews_uri {
        ews_uri { secure: -1, host: null(), host_len: 0, port: -1, resource: null(), resource_len: 0 }
    }

    #[test]
    fn ews_uri_build_returns_the_length_and_writes_a_nul() {
        let (rc, buf) = build_into(32, 0, c"example.com", 8080, Some(c"/chat"));
        assert_eq!(rc, 26);
        assert_eq!(&buf[..27], b"ws://example.com:8080/chat\0");
        assert!(buf[27..].iter().all(|&b| b == 0xAA));
    }

    #[test]
    fn ews_uri_build_omits_the_default_port() {
        assert_eq!(build_ok(1, c"example.com", 443, Some(c"/")), "wss://example.com/");
        assert_eq!(build_ok(0, c"example.com", 0, Some(c"/")), "ws://example.com/");
    }

    #[test]
    fn ews_uri_build_brackets_an_ipv6_host() {
        assert_eq!(build_ok(0, c"::1", 9000, Some(c"/x")), "ws://[::1]:9000/x");
    }

    #[test]
    fn ews_uri_build_with_null_resource_gives_slash() {
        assert_eq!(build_ok(0, c"h", 0, None), "ws://h/");
    }

    #[test]
    fn ews_uri_build_prefixes_a_service_name_with_slash() {
        assert_eq!(build_ok(0, c"h", 6123, Some(c"chat")), "ws://h:6123/chat");
    }

    #[test]
    fn ews_uri_build_reports_enospc_without_writing() {
        // "ws://h/" is 7 bytes and a NUL: 7 bytes of room is one too few.
        let (rc, buf) = build_into(7, 0, c"h", 0, Some(c"/"));
        assert_eq!(rc, EWS_ENOSPC);
        assert!(buf.iter().all(|&b| b == 0xAA));
        let (rc, buf) = build_into(8, 0, c"h", 0, Some(c"/"));
        assert_eq!(rc, 7);
        assert_eq!(&buf, b"ws://h/\0");
    }

    #[test]
    fn ews_uri_build_with_null_out_and_size_0_reports_enospc() {
        assert_eq!(ews_uri_build(null_mut(), 0, 0, c"h".as_ptr(), 0, null()), EWS_ENOSPC);
    }

    #[test]
    fn ews_uri_build_with_null_out_and_a_size_is_einval() {
        assert_eq!(ews_uri_build(null_mut(), 16, 0, c"h".as_ptr(), 0, null()), EWS_EINVAL);
    }

    #[test]
    fn ews_uri_build_checks_arguments_before_the_buffer_size() {
        let (rc, _) = build_into(0, 0, c"my host", 0, None);
        assert_eq!(rc, EWS_EINVAL);
    }

    #[test]
    fn ews_uri_build_rejects_a_null_host() {
        let mut buf = [0xAAu8; 32];
        assert_eq!(ews_uri_build(buf.as_mut_ptr().cast(), buf.len(), 0, null(), 0, null()), EWS_EINVAL);
        assert!(buf.iter().all(|&b| b == 0xAA));
    }

    #[test]
    fn ews_uri_build_accepts_port_65535_and_rejects_65536() {
        assert_eq!(build_ok(0, c"h", 65535, None), "ws://h:65535/");
        assert_eq!(build_into(64, 0, c"h", 65536, None).0, EWS_EINVAL);
    }

    #[test]
    fn ews_uri_build_rejects_a_negative_port() {
        assert_eq!(build_into(64, 0, c"h", -1, None).0, EWS_EINVAL);
    }

    #[test]
    fn ews_uri_build_rejects_fragments_spaces_and_controls() {
        assert_eq!(build_into(64, 0, c"h", 0, Some(c"/a#b")).0, EWS_EINVAL);
        assert_eq!(build_into(64, 0, c"h", 0, Some(c"/a b")).0, EWS_EINVAL);
        assert_eq!(build_into(64, 0, c"h\r\n", 0, None).0, EWS_EINVAL);
    }

    #[test]
    fn ews_uri_build_rejects_strings_that_are_not_utf8() {
        let host = CString::new(vec![b'h', 0xFF]).unwrap();
        assert_eq!(build_into(64, 0, &host, 0, None).0, EWS_EINVAL);
        assert_eq!(build_into(64, 0, c"h", 0, Some(&host)).0, EWS_EINVAL);
    }

    #[test]
    fn ews_uri_build_size_bound_in_the_doc_is_enough() {
        let host = c"2001:db8:1234:5678:9abc:def0:1234:5678";
        let resource = c"chat?x=1";
        let size = host.count_bytes() + resource.count_bytes() + 16;
        let (rc, _) = build_into(size, 1, host, 65535, Some(resource));
        assert!(rc > 0 && (rc as usize) < size, "{rc}");
    }

    #[test]
    fn ews_uri_parse_points_into_the_callers_string() {
        let text = c"wss://example.com:8443/chat?room=1";
        let u = parse_ok(text);
        assert_eq!(u.secure, 1);
        assert_eq!(inside(text, u.host, u.host_len), "example.com");
        assert_eq!(u.port, 8443);
        assert_eq!(inside(text, u.resource, u.resource_len), "/chat?room=1");
    }

    #[test]
    fn ews_uri_parse_resource_is_nul_terminated() {
        let text = c"ws://h/chat";
        let u = parse_ok(text);
        assert_eq!(u.resource as usize + u.resource_len, text.as_ptr() as usize + text.count_bytes());
    }

    #[test]
    fn ews_uri_parse_without_path_gives_a_static_slash() {
        let u = parse_ok(c"ws://h");
        assert_eq!(u.resource, c"/".as_ptr());
        assert_eq!(u.resource_len, 1);
        assert_eq!(u.port, 80);
    }

    #[test]
    fn ews_uri_parse_ipv6_literal_keeps_its_port() {
        let text = c"ws://[::1]:9000/x";
        let u = parse_ok(text);
        assert_eq!(inside(text, u.host, u.host_len), "::1");
        assert_eq!(u.port, 9000);
    }

    #[test]
    fn ews_uri_parse_rejects_port_0_and_65536_without_writing() {
        for text in [c"ws://h:0/", c"ws://h:65536/"] {
            let mut out = empty();
            assert_eq!(ews_uri_parse(text.as_ptr(), &mut out), EWS_EINVAL);
            assert_eq!((out.secure, out.port, out.host), (-1, -1, null()));
        }
        assert_eq!(parse_ok(c"ws://h:65535/").port, 65535);
    }

    #[test]
    fn ews_uri_parse_rejects_a_fragment() {
        let mut out = empty();
        assert_eq!(ews_uri_parse(c"ws://h/chat#top".as_ptr(), &mut out), EWS_EINVAL);
    }

    #[test]
    fn ews_uri_parse_rejects_null_arguments() {
        let mut out = empty();
        assert_eq!(ews_uri_parse(null(), &mut out), EWS_EINVAL);
        assert_eq!(ews_uri_parse(c"ws://h/".as_ptr(), null_mut()), EWS_EINVAL);
    }

    #[test]
    fn ews_uri_parse_rejects_a_string_that_is_not_utf8() {
        let text = CString::new(b"ws://h/\xFF".to_vec()).unwrap();
        let mut out = empty();
        assert_eq!(ews_uri_parse(text.as_ptr(), &mut out), EWS_EINVAL);
    }

    #[test]
    fn ews_uri_build_then_parse_round_trips() {
        let text = CString::new(build_ok(1, c"::1", 8443, Some(c"chat?x=1"))).unwrap();
        let u = parse_ok(&text);
        assert_eq!((u.secure, u.port), (1, 8443));
        assert_eq!(inside(&text, u.host, u.host_len), "::1");
        assert_eq!(inside(&text, u.resource, u.resource_len), "/chat?x=1");
    }
}
