//! `ews_conn`: a WebSocket connection without I/O (the sans-IO C API).
//!
//! Methods: ews_conn_options_init, ews_conn_new, ews_conn_free, ews_conn_feed, ews_conn_on_eof,
//! ews_conn_output, ews_conn_consume, ews_conn_send, ews_conn_send_frame,
//! ews_conn_ping, ews_conn_pong, ews_conn_close, ews_conn_accept,
//! ews_conn_reject, ews_conn_next_deadline, ews_conn_on_time,
//! ews_conn_state, ews_conn_wants_close, ews_conn_subprotocol,
//! ews_conn_resource, ews_conn_request_header, ews_conn_error,
//! ews_conn_error_detail.

use std::ffi::{CString, c_char, c_int};
use std::mem::{offset_of, size_of};
use std::ptr::null;

use crate::ffi::errors::{EWS_EINVAL, EWS_EPANIC, EWS_OK, code_of, result_code};
use crate::ffi::event::{ews_event, fill_event, report};
use crate::ffi::options::{ews_limits, limits_or_default};
use crate::ffi::panic::guard;
use crate::ffi::ptr::{self, Str};
use crate::ffi::sized::{self, SizedStruct};
use crate::ffi::strings::{ews_header, header_list, optional_string, string_list};
use crate::proto::close::MAX_REASON_LEN;
use crate::proto::handshake::client::ClientOptions;
use crate::proto::{Config, Connection, Opcode, Role, ServerOptions, State};

/// The client role: sends masked frames.
pub const EWS_ROLE_CLIENT: c_int = 0;
/// The server role: receives masked frames.
pub const EWS_ROLE_SERVER: c_int = 1;

/// The opening handshake is under way.
pub const EWS_STATE_CONNECTING: c_int = 0;
/// A request waits for ews_conn_accept() / ews_conn_reject().
pub const EWS_STATE_REQUESTED: c_int = 1;
/// Messages flow both ways.
pub const EWS_STATE_OPEN: c_int = 2;
/// This end sent a close frame and waits for the peer's.
pub const EWS_STATE_CLOSING: c_int = 3;
/// The closing handshake completed.
pub const EWS_STATE_CLOSED: c_int = 4;
/// The connection failed.
pub const EWS_STATE_FAILED: c_int = 5;

/// Options of a sans-IO connection. Initialise with ews_conn_options_init()
/// and set what differs; ews copies what it needs in ews_conn_new().
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ews_conn_options {
    /// The size of this struct as the caller's header declares it; set by
    /// ews_conn_options_init().
    pub size: usize,
    /// The limits (sizes and timeouts), or NULL for the defaults. Borrowed
    /// during ews_conn_new() only.
    pub limits: *const ews_limits,
    /// Non-zero: deliver data as EWS_EVENT_FRAGMENT pieces as they arrive
    /// instead of whole messages (nothing is buffered).
    pub streaming: c_int,
    /// Non-zero: deliver EWS_EVENT_PING and EWS_EVENT_PONG.
    pub control_events: c_int,
    /// Send a ping after this many milliseconds of silence (0: no keepalive).
    pub keepalive_interval_ms: u32,
    /// Fail with EWS_ETIMEDOUT when no pong follows in this many
    /// milliseconds (0: the interval).
    pub keepalive_timeout_ms: u32,
    /// Non-zero: no HTTP handshake; the connection starts open.
    pub no_http: c_int,
    /// Server: non-zero to stop at EWS_EVENT_REQUEST for the host to
    /// accept or reject each request.
    pub defer_accept: c_int,
    /// Client: the resource (path and query) to request; NULL gives "/".
    pub resource: *const c_char,
    /// Client: the Host value (required unless no_http).
    pub host: *const c_char,
    /// Client: the Origin value, or NULL.
    pub origin: *const c_char,
    /// Client: the subprotocols to offer; server: the subprotocols
    /// supported, in order of preference.
    pub protocols: *const *const c_char,
    /// The number of entries in `protocols`.
    pub protocol_count: usize,
    /// Client: extra request header fields; server: extra fields of the
    /// 101 response.
    pub headers: *const ews_header,
    /// The number of entries in `headers`.
    pub header_count: usize,
    /// Server: the resources (paths) served; others get 404. NULL: all.
    pub resources: *const *const c_char,
    /// The number of entries in `resources`.
    pub resource_count: usize,
}

/// A sans-IO WebSocket connection. See ews_conn_new().
pub struct ews_conn {
    conn: Connection,
    /// The last close reason, NUL-terminated.
    reason: [u8; MAX_REASON_LEN + 1],
    subprotocol: Option<CString>,
    resource: Option<CString>,
}

// SAFETY: repr(C), `size` first, then integers and raw pointers.
unsafe impl SizedStruct for ews_conn_options {
    const FIRST_LAYOUT: usize = offset_of!(ews_conn_options, resource_count) + size_of::<usize>();

    fn defaults(size: usize) -> ews_conn_options {
        ews_conn_options {
            size,
            limits: null(),
            streaming: 0,
            control_events: 0,
            keepalive_interval_ms: 0,
            keepalive_timeout_ms: 0,
            no_http: 0,
            defer_accept: 0,
            resource: null(),
            host: null(),
            origin: null(),
            protocols: null(),
            protocol_count: 0,
            headers: null(),
            header_count: 0,
            resources: null(),
            resource_count: 0,
        }
    }
}

/// Fills the first `size` bytes of `*opts` with the defaults (NULL limits,
/// that is the default limits; no streaming, no control events, no
/// keepalive, HTTP handshake, all pointers NULL) and sets `opts->size` to
/// `size`.
///
/// Call it as `ews_conn_options_init(&opts, sizeof opts)`: nothing past
/// `size` bytes is written. NULL is ignored. No error. Safe from any
/// thread (it touches only `*opts`).
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_options_init(opts: *mut ews_conn_options, size: usize) {
    guard((), || sized::init(opts, size))
}

fn new_conn(role: c_int, o: &ews_conn_options) -> Result<Connection, c_int> {
    let role = match role {
        EWS_ROLE_CLIENT => Role::Client,
        EWS_ROLE_SERVER => Role::Server,
        _ => return Err(EWS_EINVAL),
    };
    let config = Config {
        limits: limits_or_default(o.limits)?,
        streaming: o.streaming != 0,
        control_events: o.control_events != 0,
        keepalive_interval_ms: o.keepalive_interval_ms,
        keepalive_timeout_ms: o.keepalive_timeout_ms,
    };
    let protocols = string_list(o.protocols, o.protocol_count)?;
    let headers = header_list(o.headers, o.header_count)?;
    let made = if o.no_http != 0 {
        Connection::open(role, config)
    } else if role == Role::Server {
        let resources = string_list(o.resources, o.resource_count)?;
        Connection::server(config, ServerOptions { resources, protocols, headers, defer: o.defer_accept != 0 })
    } else {
        let options = ClientOptions {
            resource: optional_string(o.resource)?.unwrap_or_else(|| "/".to_owned()),
            host: optional_string(o.host)?.ok_or(EWS_EINVAL)?,
            origin: optional_string(o.origin)?,
            protocols,
            headers,
        };
        Connection::client(config, &options)
    };
    made.map_err(|e| code_of(&e))
}

/// Creates a connection in `role` (EWS_ROLE_CLIENT or EWS_ROLE_SERVER).
///
/// `opts` may be NULL for the defaults (a server accepting any resource;
/// a client needs `opts->host`); it and everything it points to are
/// borrowed for the call only. A client queues its handshake request at
/// once: send ews_conn_output() first. On success writes the new
/// connection to `*out` (free it with ews_conn_free()) and returns 0.
/// Errors: EWS_EINVAL (NULL `out`, bad role, options or limits not
/// initialised with their init function, invalid option strings, limits
/// with a zero size).
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_new(role: c_int, opts: *const ews_conn_options, out: *mut *mut ews_conn) -> c_int {
    guard(EWS_EPANIC, || {
        if out.is_null() {
            return EWS_EINVAL;
        }
        let made = sized::read_or_default(opts).and_then(|o| new_conn(role, &o));
        match made {
            Ok(conn) => {
                let handle = ews_conn { conn, reason: [0; MAX_REASON_LEN + 1], subprotocol: None, resource: None };
                ptr::write(out, ptr::to_c(handle));
                EWS_OK
            }
            Err(code) => code,
        }
    })
}

/// Frees a connection. NULL is ignored; do not free twice.
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_free(conn: *mut ews_conn) {
    guard((), || ptr::free(conn))
}

/// Feeds received bytes and reports the first thing that happened.
///
/// Reads `data` until an event occurs or the bytes are used up, and writes
/// how many bytes it took to `*consumed`. Returns 1 with `*event` filled, or
/// 0 when the bytes were used up without an event (`*event` is set to
/// EWS_EVENT_NONE). Call again with the bytes after `*consumed` until it
/// returns 0. Frame payloads are unmasked in place, so `data` is modified;
/// event data may point into it. After an EWS_EVENT_ERROR or when the
/// closing handshake is done, later bytes are ignored. A server waiting for
/// ews_conn_accept() takes no bytes.
///
/// Errors: EWS_EINVAL (NULL `conn`, `consumed` or `event`, or NULL `data`
/// with a length). Protocol failures are events, not errors.
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_feed(
    conn: *mut ews_conn,
    data: *mut u8,
    len: usize,
    consumed: *mut usize,
    event: *mut ews_event,
) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(h), Some(input)) = (ptr::obj_mut(conn), ptr::bytes_mut(data, len)) else {
            return EWS_EINVAL;
        };
        if consumed.is_null() || event.is_null() {
            return EWS_EINVAL;
        }
        let progress = h.conn.feed(input);
        ptr::write(consumed, progress.consumed);
        let Some(ev) = progress.event else {
            ptr::write(event, ews_event::empty());
            return 0;
        };
        let filled = fill_event(&ev, &mut h.reason);
        refresh_strings(h);
        ptr::write(event, filled);
        1
    })
}

/// Caches the subprotocol and resource as C strings once known.
fn refresh_strings(h: &mut ews_conn) {
    if h.subprotocol.is_none() {
        h.subprotocol = h.conn.subprotocol().and_then(|p| CString::new(p).ok());
    }
    if h.resource.is_none() {
        h.resource = h.conn.request().and_then(|r| r.resource()).and_then(|r| CString::new(r).ok());
    }
}

/// Tells the connection that the transport reached end of file or broke.
///
/// Returns 1 with an EWS_EVENT_ERROR in `*event`: error EWS_EDROPPED, code
/// 1006; on a client whose opening handshake had not completed, error
/// EWS_EHANDSHAKE with detail "Peer hung up". Returns 0 (`*event` set to
/// EWS_EVENT_NONE) when the closing handshake had completed or the
/// connection had failed already. Errors: EWS_EINVAL (NULL `conn` or
/// `event`).
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_on_eof(conn: *mut ews_conn, event: *mut ews_event) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(h) = ptr::obj_mut(conn) else { return EWS_EINVAL };
        if event.is_null() {
            return EWS_EINVAL;
        }
        report(event, h.conn.on_eof())
    })
}

/// Points `*data` and `*len` at the bytes waiting to be written.
///
/// Returns 1 if there are bytes, 0 if none (then `*len` is 0). The bytes stay
/// valid until the next call on the connection; after writing some, call
/// ews_conn_consume(). Errors: EWS_EINVAL (a NULL argument).
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_output(conn: *const ews_conn, data: *mut *const u8, len: *mut usize) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(h) = ptr::obj(conn) else { return EWS_EINVAL };
        if data.is_null() || len.is_null() {
            return EWS_EINVAL;
        }
        let pending = h.conn.pending_output();
        ptr::write(data, pending.as_ptr());
        ptr::write(len, pending.len());
        c_int::from(!pending.is_empty())
    })
}

/// Marks `n` bytes of ews_conn_output() as written (more than are pending
/// counts as all). Errors: EWS_EINVAL (NULL `conn`).
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_consume(conn: *mut ews_conn, n: usize) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(h) = ptr::obj_mut(conn) else { return EWS_EINVAL };
        h.conn.consume(n);
        EWS_OK
    })
}

/// Queues a whole message: text (`is_text` non-zero, must be UTF-8) or
/// binary. `data` is copied (and masked in the copy by a client); it is not
/// modified. Errors: EWS_EINVAL (NULL `conn`, NULL `data` with a length,
/// text that is not UTF-8), EWS_ESTATE (not open, a close frame was sent, or
/// a fragmented message from ews_conn_send_frame() is in progress).
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_send(conn: *mut ews_conn, data: *const u8, len: usize, is_text: c_int) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(h), Some(data)) = (ptr::obj_mut(conn), ptr::bytes(data, len)) else {
            return EWS_EINVAL;
        };
        result_code(h.conn.send(is_text != 0, data))
    })
}

/// Queues one frame with `opcode` (EWS_OP_*) and FIN (`fin` non-zero), for
/// sending a message in pieces or a control frame. A text or binary frame
/// starts a message, EWS_OP_CONTINUATION frames continue it, FIN ends it;
/// pings and pongs (at most 125 bytes, FIN set) may come in between. Use
/// ews_conn_close() for close frames. Errors: EWS_EINVAL (bad opcode, a
/// control frame too long or without FIN, text not UTF-8 across the
/// message), EWS_ESTATE (out of sequence, not open).
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_send_frame(
    conn: *mut ews_conn,
    opcode: c_int,
    fin: c_int,
    data: *const u8,
    len: usize,
) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(h), Some(data)) = (ptr::obj_mut(conn), ptr::bytes(data, len)) else {
            return EWS_EINVAL;
        };
        let Some(op) = crate::ffi::helpers::opcode(opcode) else {
            return EWS_EINVAL;
        };
        result_code(h.conn.send_frame(op, fin != 0, data))
    })
}

/// Queues a ping with up to 125 bytes of payload. Errors: EWS_EINVAL,
/// EWS_ESTATE.
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_ping(conn: *mut ews_conn, data: *const u8, len: usize) -> c_int {
    ews_conn_send_frame(conn, Opcode::Ping.as_u8().into(), 1, data, len)
}

/// Queues an unsolicited pong with up to 125 bytes of payload (pongs to
/// pings are sent automatically). Errors: EWS_EINVAL, EWS_ESTATE.
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_pong(conn: *mut ews_conn, data: *const u8, len: usize) -> c_int {
    ews_conn_send_frame(conn, Opcode::Pong.as_u8().into(), 1, data, len)
}

/// Starts the closing handshake with `code` (0: a close frame without a
/// code; otherwise 1000-1003, 1007-1014 or 3000-4999) and an optional
/// `reason` (NULL or at most 123 bytes of UTF-8; needs a code). Errors:
/// EWS_EINVAL (a code or reason that may not be sent), EWS_ESTATE (not open,
/// or a close frame was already sent).
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_close(conn: *mut ews_conn, code: c_int, reason: *const c_char) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(h) = ptr::obj_mut(conn) else { return EWS_EINVAL };
        let reason = match ptr::string(reason) {
            Str::Null => "",
            Str::Text(t) => t,
            Str::Invalid => return EWS_EINVAL,
        };
        let Ok(code) = u16::try_from(code) else { return EWS_EINVAL };
        result_code(h.conn.close(code, reason))
    })
}

/// Server with `defer_accept`, after EWS_EVENT_REQUEST: answers 101 with
/// `protocol` (NULL, or one the client offered) and `count` extra header
/// fields, and opens the connection. Feed the bytes that followed the
/// request afterwards. Errors: EWS_EINVAL, EWS_ESTATE (no request waiting).
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_accept(
    conn: *mut ews_conn,
    protocol: *const c_char,
    headers: *const ews_header,
    count: usize,
) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(h) = ptr::obj_mut(conn) else { return EWS_EINVAL };
        let (Ok(protocol), Ok(headers)) = (optional_string(protocol), header_list(headers, count)) else {
            return EWS_EINVAL;
        };
        let r = result_code(h.conn.accept(protocol.as_deref(), &headers));
        refresh_strings(h);
        r
    })
}

/// Server with `defer_accept`, after EWS_EVENT_REQUEST: refuses the request
/// with HTTP `status` (400-599); the answer is queued and the connection
/// fails. Errors: EWS_EINVAL (status), EWS_ESTATE (no request waiting).
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_reject(conn: *mut ews_conn, status: c_int) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(h) = ptr::obj_mut(conn) else { return EWS_EINVAL };
        let Ok(status) = u16::try_from(status) else { return EWS_EINVAL };
        result_code(h.conn.reject(status))
    })
}

/// When to call ews_conn_on_time() next, on the host's clock in
/// milliseconds: 0 means "now" (a timer waits to be started), -1 means no
/// timer runs. Returns -1 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_next_deadline(conn: *const ews_conn) -> i64 {
    guard(-1, || ptr::obj(conn).and_then(|h| h.conn.next_deadline()).map_or(-1, |t| t.min(i64::MAX as u64) as i64))
}

/// Passes the current time (milliseconds, monotonic, at least 0): starts
/// timers, sends keepalive pings, and reports a timeout. Returns 1 with an
/// EWS_EVENT_ERROR (error EWS_ETIMEDOUT) in `*event` when the handshake,
/// close or pong timeout ran out (error EWS_EIO when a client's keepalive
/// ping could not be masked because the random source failed), else 0
/// (`*event` set to EWS_EVENT_NONE). Errors: EWS_EINVAL.
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_on_time(conn: *mut ews_conn, now_ms: i64, event: *mut ews_event) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(h) = ptr::obj_mut(conn) else { return EWS_EINVAL };
        if event.is_null() || now_ms < 0 {
            return EWS_EINVAL;
        }
        report(event, h.conn.on_time(now_ms as u64))
    })
}

/// The state (EWS_STATE_*), or EWS_EINVAL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_state(conn: *const ews_conn) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(h) = ptr::obj(conn) else { return EWS_EINVAL };
        match h.conn.state() {
            State::Connecting => EWS_STATE_CONNECTING,
            State::Requested => EWS_STATE_REQUESTED,
            State::Open => EWS_STATE_OPEN,
            State::Closing => EWS_STATE_CLOSING,
            State::Closed => EWS_STATE_CLOSED,
            State::Failed => EWS_STATE_FAILED,
        }
    })
}

/// 1 when the host should close the transport once ews_conn_output() is
/// written (after a failure; after the closing handshake on a server; on a
/// client once the server had the close timeout to close first), else 0.
/// EWS_EINVAL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_wants_close(conn: *const ews_conn) -> c_int {
    guard(EWS_EPANIC, || match ptr::obj(conn) {
        Some(h) => h.conn.wants_close().into(),
        None => EWS_EINVAL,
    })
}

/// The subprotocol agreed in the handshake, or NULL. Valid until the
/// connection is freed.
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_subprotocol(conn: *const ews_conn) -> *const c_char {
    guard(null(), || ptr::obj(conn).and_then(|h| h.subprotocol.as_ref()).map_or(null(), |s| s.as_ptr()))
}

/// Server: the requested resource (path and query; an absolute-form
/// target such as "http://host/chat?x" is reduced to "/chat?x") once the
/// request arrived, or NULL (none yet, or a target that names no resource,
/// such as "*"). Valid until the connection is freed.
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_resource(conn: *const ews_conn) -> *const c_char {
    guard(null(), || ptr::obj(conn).and_then(|h| h.resource.as_ref()).map_or(null(), |s| s.as_ptr()))
}

/// Server: the first value of request header field `name`
/// (case-insensitive). On success points `*value`/`*len` at it (not
/// NUL-terminated; valid until the connection is freed) and returns 1;
/// returns 0 if the request has no such field. Errors: EWS_EINVAL, EWS_ESTATE
/// (no request yet).
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_request_header(
    conn: *const ews_conn,
    name: *const c_char,
    value: *mut *const u8,
    len: *mut usize,
) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(h), Str::Text(name)) = (ptr::obj(conn), ptr::string(name)) else {
            return EWS_EINVAL;
        };
        if value.is_null() || len.is_null() {
            return EWS_EINVAL;
        }
        let Some(request) = h.conn.request() else {
            return crate::ffi::errors::EWS_ESTATE;
        };
        match request.headers.get(name) {
            Some(v) => {
                ptr::write(value, v.as_ptr());
                ptr::write(len, v.len());
                1
            }
            None => 0,
        }
    })
}

/// The EWS_E* code of the failure once the connection failed, else 0.
/// EWS_EINVAL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_error(conn: *const ews_conn) -> c_int {
    guard(EWS_EPANIC, || match ptr::obj(conn) {
        Some(h) => h.conn.error().map_or(EWS_OK, |e| code_of(&e)),
        None => EWS_EINVAL,
    })
}

/// A static description of the failure ("HS: Accept hash wrong", "invalid
/// UTF-8", ...) once the connection failed, else NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ews_conn_error_detail(conn: *const ews_conn) -> *const c_char {
    guard(null(), || ptr::obj(conn).and_then(|h| h.conn.error()).map_or(null(), |e| e.detail_c().as_ptr()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource_after(request: &str) -> Option<String> {
        let mut conn = std::ptr::null_mut();
        assert_eq!(ews_conn_new(EWS_ROLE_SERVER, std::ptr::null(), &mut conn), EWS_OK);
        let mut bytes = request.as_bytes().to_vec();
        let (mut used, mut event) = (0usize, ews_event::empty());
        let _ = ews_conn_feed(conn, bytes.as_mut_ptr(), bytes.len(), &mut used, &mut event);
        let r = ews_conn_resource(conn);
        // SAFETY: a non-NULL result is a NUL-terminated string owned by `conn`.
        let out = (!r.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(r) }.to_str().unwrap().to_owned());
        ews_conn_free(conn);
        out
    }

    fn request(target: &str) -> String {
        format!(
            "GET {target} HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
    }

    #[test]
    fn resource_is_the_path_and_query_whatever_the_target_form() {
        assert_eq!(resource_after(&request("/chat?room=1")).as_deref(), Some("/chat?room=1"));
        assert_eq!(resource_after(&request("http://h/chat?room=1")).as_deref(), Some("/chat?room=1"));
        assert_eq!(resource_after(&request("ws://h")).as_deref(), Some("/"));
        assert_eq!(resource_after(&request("*")), None);
        assert_eq!(resource_after("GET /cha"), None);
    }
}
