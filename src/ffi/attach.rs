//! `ews_sock`: WebSocket on a connected byte stream the host already has,
//! with deadlines (libdill's `ws_*` family).
//!
//! Methods: ews_attach_client, ews_attach_client_ex, ews_attach_server,
//! ews_attach_server_ex, ews_sock_handshake, ews_msend, ews_mrecv,
//! ews_send, ews_recv, ews_recv_part, ews_peek, ews_sock_flush,
//! ews_detach, ews_status, ews_sock_fd, ews_sock_resource, ews_sock_host,
//! ews_sock_subprotocol, ews_sock_error_detail, ews_sock_free; and
//! ews_now(), ews_attach_options_init().

use std::ffi::{CString, c_char, c_int};
use std::mem::{offset_of, size_of};
use std::ptr::null;

use crate::attach::{ServerHandshake, WsSocket};
use crate::error::{Category, Error};
use crate::ffi::errors::{EWS_EINVAL, EWS_EIO, EWS_ENOSPC, EWS_EPANIC, EWS_ESTATE, EWS_OK, code_of};
use crate::ffi::options::{ews_limits, limits_or_default};
use crate::ffi::panic::guard;
use crate::ffi::ptr::{self, Str};
use crate::ffi::sized::{self, SizedStruct};
use crate::ffi::strings::{ews_header, header_list, optional_string, string_list};
use crate::io::stream::{Deadline, FdStream, now_ms};
use crate::proto::Config;
use crate::proto::handshake::client::ClientOptions;

/// Socket type binary (the default, 0): ews_msend() sends binary messages
/// and ews_mrecv() expects them. In ews_send() and ews_recv() flags: a
/// binary message.
pub const EWS_WS_BINARY: c_int = 0;
/// Socket type text: ews_msend() sends text messages and ews_mrecv()
/// expects them. In ews_send() and ews_recv() flags: a text message.
pub const EWS_WS_TEXT: c_int = 1;
/// Attach flag: no HTTP handshake (the host did it, or the protocol has
/// none); the resource and host arguments are not used and may be NULL.
pub const EWS_WS_NOHTTP: c_int = 2;
/// ews_send() flag: more pieces of this message follow (a fragmented
/// message). ews_recv_part() flag: more bytes of this message remain.
pub const EWS_WS_MORE: c_int = 4;

/// Options of an attached socket besides its flags. Initialise with
/// ews_attach_options_init() and set what differs; ews copies what it
/// needs during the attach call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ews_attach_options {
    /// The size of this struct as the caller's header declares it; set by
    /// ews_attach_options_init().
    pub size: usize,
    /// The limits, or NULL for the defaults; borrowed during the attach
    /// call only. The handshake and close timeouts are not used: the
    /// deadlines of the calls replace them.
    pub limits: *const ews_limits,
    /// -1: read and write `fd`. Otherwise a second descriptor to write to,
    /// `fd` being read only (a pipe pair).
    pub write_fd: c_int,
    /// Client: the Origin value, or NULL.
    pub origin: *const c_char,
    /// Client: subprotocols to offer; server: subprotocols supported, in
    /// order of preference (the first one the client also offered is chosen).
    pub protocols: *const *const c_char,
    /// The number of entries in `protocols`.
    pub protocol_count: usize,
    /// Client: extra request header fields (authorization, ...); server:
    /// extra fields of the 101 response.
    pub headers: *const ews_header,
    /// The number of entries in `headers`.
    pub header_count: usize,
}

/// A WebSocket attached to a host's byte stream. See ews_attach_client().
pub struct ews_sock {
    pub(crate) ws: WsSocket,
    resource: Option<CString>,
    host: Option<CString>,
    subprotocol: Option<CString>,
}

impl ews_sock {
    fn new(ws: WsSocket) -> ews_sock {
        let mut s = ews_sock { ws, resource: None, host: None, subprotocol: None };
        s.refresh();
        s
    }

    /// Caches the handshake's results as C strings once known.
    pub(crate) fn refresh(&mut self) {
        if self.subprotocol.is_none() {
            self.subprotocol = self.ws.connection().subprotocol().and_then(|p| CString::new(p).ok());
        }
        if self.resource.is_none() {
            self.resource = self.ws.resource().and_then(|p| CString::new(p).ok());
        }
        if self.host.is_none() {
            self.host = self.ws.host().and_then(|p| CString::new(p).ok());
        }
    }
}

/// The current time in milliseconds on the monotonic clock deadlines are
/// measured on: a deadline `ms` milliseconds from now is `ews_now() + ms`.
/// Safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_now() -> i64 {
    guard(0, now_ms)
}

// SAFETY: repr(C), `size` first, then integers and raw pointers.
unsafe impl SizedStruct for ews_attach_options {
    const FIRST_LAYOUT: usize = offset_of!(ews_attach_options, header_count) + size_of::<usize>();

    fn defaults(size: usize) -> ews_attach_options {
        ews_attach_options {
            size,
            limits: null(),
            write_fd: -1,
            origin: null(),
            protocols: null(),
            protocol_count: 0,
            headers: null(),
            header_count: 0,
        }
    }
}

/// Fills the first `size` bytes of `*opts` with the defaults (NULL limits,
/// that is the default limits; `write_fd` -1; no origin, subprotocols or
/// extra headers) and sets `opts->size` to `size`.
///
/// Call it as `ews_attach_options_init(&opts, sizeof opts)`: nothing past
/// `size` bytes is written. NULL is ignored. No error. Safe from any
/// thread (it touches only `*opts`).
#[unsafe(no_mangle)]
pub extern "C" fn ews_attach_options_init(opts: *mut ews_attach_options, size: usize) {
    guard((), || sized::init(opts, size))
}

/// The options (NULL: the defaults) and the connection's configuration
/// made from them. Errors: EWS_EINVAL (options or limits not initialised).
fn options(opts: *const ews_attach_options) -> Result<(ews_attach_options, Config), c_int> {
    let o = sized::read_or_default(opts)?;
    let config = Config { limits: limits_or_default(o.limits)?, ..Config::default() };
    Ok((o, config))
}

fn check_flags(flags: c_int) -> Result<(bool, bool), c_int> {
    if flags & !(EWS_WS_TEXT | EWS_WS_NOHTTP) != 0 {
        return Err(EWS_EINVAL);
    }
    Ok((flags & EWS_WS_TEXT != 0, flags & EWS_WS_NOHTTP != 0))
}

fn stream(fd: c_int, o: &ews_attach_options) -> Result<FdStream, c_int> {
    let wfd = if o.write_fd < 0 { fd } else { o.write_fd };
    FdStream::attach(fd, wfd).map_err(|e| if e.raw_os_error() == Some(libc::EBADF) { EWS_EINVAL } else { EWS_EIO })
}

/// Runs the handshake; the socket is handed out on success and on a
/// deadline (the handshake continues with the next call).
fn run_handshake(mut ws: WsSocket, deadline: i64) -> Result<(c_int, ews_sock), c_int> {
    match ws.handshake(Deadline::at(deadline)) {
        Ok(()) => Ok((EWS_OK, ews_sock::new(ws))),
        Err(Error::Deadline) => Ok((code_of(&Error::Deadline), ews_sock::new(ws))),
        Err(e) => Err(code_of(&e)),
    }
}

fn hand_out(r: Result<(c_int, ews_sock), c_int>, out: *mut *mut ews_sock) -> c_int {
    match r {
        Ok((code, sock)) => {
            ptr::write(out, ptr::to_c(sock));
            code
        }
        Err(code) => code,
    }
}

/// Puts the client end of a WebSocket on `fd`, a connected byte stream
/// (TCP or Unix socket, socketpair; see ews_attach_client_ex() for a pipe
/// pair), and does the opening handshake for `resource` (NULL: "/") on
/// virtual host `host`.
///
/// `flags`: EWS_WS_BINARY (the default) or EWS_WS_TEXT, the type of
/// ews_msend() and ews_mrecv(); with EWS_WS_NOHTTP no handshake is done
/// and `resource` and `host` may be NULL. `deadline`: the time on the
/// ews_now() clock by which the call returns; 0 means do only what is
/// possible without blocking, -1 means no deadline.
///
/// The descriptor stays the caller's: ews switches it to non-blocking mode
/// while attached and restores its flags when the socket is detached or
/// freed; it never closes it. Do not use it directly while attached.
///
/// On success writes the new socket to `*out` and returns 0. On
/// EWS_ETIMEDOUT the deadline passed during the handshake and `*out`
/// receives the socket all the same (the one exception to the rule that
/// out-parameters are written only on success): nothing was lost, and the
/// handshake continues with ews_sock_handshake() or the next call on the
/// socket; to give up, ews_sock_free() it. Other errors free everything
/// and leave `fd` with its flags: EWS_EINVAL (bad flags, `fd` or strings,
/// NULL `out`), EWS_EHANDSHAKE (the server's answer was not an acceptable
/// 101; ews_strerror() names the class, the log names the reason),
/// EWS_EDROPPED / EWS_EIO (the stream ended or failed).
///
/// Calls on one socket must not overlap; different sockets may be used
/// from different threads.
#[unsafe(no_mangle)]
pub extern "C" fn ews_attach_client(
    fd: c_int,
    flags: c_int,
    resource: *const c_char,
    host: *const c_char,
    deadline: i64,
    out: *mut *mut ews_sock,
) -> c_int {
    ews_attach_client_ex(fd, flags, resource, host, null(), deadline, out)
}

/// ews_attach_client() with options (NULL: the defaults; borrowed for the
/// call only): limits, a separate descriptor to write to (a pipe pair),
/// Origin, subprotocols to offer and extra request headers. Errors and
/// ownership as ews_attach_client(), and EWS_EINVAL for options or limits
/// not initialised with their init function.
#[unsafe(no_mangle)]
pub extern "C" fn ews_attach_client_ex(
    fd: c_int,
    flags: c_int,
    resource: *const c_char,
    host: *const c_char,
    opts: *const ews_attach_options,
    deadline: i64,
    out: *mut *mut ews_sock,
) -> c_int {
    guard(EWS_EPANIC, || {
        if out.is_null() {
            return EWS_EINVAL;
        }
        let (o, config) = match options(opts) {
            Ok(v) => v,
            Err(code) => return code,
        };
        let (text, no_http) = match check_flags(flags) {
            Ok(f) => f,
            Err(code) => return code,
        };
        let handshake = if no_http {
            None
        } else {
            let (Ok(resource), Ok(Some(host)), Ok(origin), Ok(protocols), Ok(headers)) = (
                optional_string(resource),
                optional_string(host),
                optional_string(o.origin),
                string_list(o.protocols, o.protocol_count),
                header_list(o.headers, o.header_count),
            ) else {
                return EWS_EINVAL;
            };
            Some(ClientOptions { resource: resource.unwrap_or_else(|| "/".into()), host, origin, protocols, headers })
        };
        let io = match stream(fd, &o) {
            Ok(io) => io,
            Err(code) => return code,
        };
        match WsSocket::client(io, text, config, handshake.as_ref()) {
            Ok(ws) => hand_out(run_handshake(ws, deadline), out),
            Err(e) => code_of(&e),
        }
    })
}

/// Copies `s` and a NUL into `buf` of `size` bytes (nothing for NULL).
fn copy_out(s: Option<&str>, buf: *mut c_char, size: usize) {
    if let Some(dst) = ptr::bytes_mut(buf.cast(), size).filter(|d| !d.is_empty()) {
        let s = s.unwrap_or("").as_bytes();
        let n = s.len().min(dst.len() - 1);
        dst[..n].copy_from_slice(&s[..n]);
        dst[n] = 0;
    }
}

/// Puts the server end of a WebSocket on `fd`, a connected byte stream,
/// and does the opening handshake: reads the client's request, checks it
/// as RFC 6455 requires (a bad one is answered with the matching HTTP
/// error and fails with EWS_EHANDSHAKE) and answers 101.
///
/// The requested resource (path and query) is copied NUL-terminated into
/// `resource` (`resource_size` bytes) and the Host value into `host`, so
/// the caller can route; either buffer may be NULL with size 0. A request
/// whose resource or host does not fit is refused (414 or 400) and the
/// call fails with EWS_ENOSPC. ews_sock_resource() and ews_sock_host() give
/// them too. `flags` and `deadline` as ews_attach_client(); with
/// EWS_WS_NOHTTP the buffers get empty strings.
///
/// On EWS_ETIMEDOUT `*out` receives the socket as for
/// ews_attach_client(), and the buffers are not written: once the
/// handshake completes, use ews_sock_resource() and ews_sock_host().
/// Errors: EWS_EINVAL, EWS_EHANDSHAKE, EWS_ENOSPC, EWS_EDROPPED, EWS_EIO.
#[unsafe(no_mangle)]
pub extern "C" fn ews_attach_server(
    fd: c_int,
    flags: c_int,
    resource: *mut c_char,
    resource_size: usize,
    host: *mut c_char,
    host_size: usize,
    deadline: i64,
    out: *mut *mut ews_sock,
) -> c_int {
    ews_attach_server_ex(fd, flags, resource, resource_size, host, host_size, null(), deadline, out)
}

/// ews_attach_server() with options (NULL: the defaults; borrowed for the
/// call only): limits, a separate descriptor to write to, the subprotocols
/// supported and extra 101 response headers. Errors and ownership as
/// ews_attach_server(), and EWS_EINVAL for options or limits not
/// initialised with their init function.
#[unsafe(no_mangle)]
pub extern "C" fn ews_attach_server_ex(
    fd: c_int,
    flags: c_int,
    resource: *mut c_char,
    resource_size: usize,
    host: *mut c_char,
    host_size: usize,
    opts: *const ews_attach_options,
    deadline: i64,
    out: *mut *mut ews_sock,
) -> c_int {
    guard(EWS_EPANIC, || {
        if out.is_null() || (resource.is_null() && resource_size != 0) || (host.is_null() && host_size != 0) {
            return EWS_EINVAL;
        }
        let (o, config) = match options(opts) {
            Ok(v) => v,
            Err(code) => return code,
        };
        let (text, no_http) = match check_flags(flags) {
            Ok(f) => f,
            Err(code) => return code,
        };
        let handshake = if no_http {
            None
        } else {
            let (Ok(protocols), Ok(headers)) =
                (string_list(o.protocols, o.protocol_count), header_list(o.headers, o.header_count))
            else {
                return EWS_EINVAL;
            };
            let max = |size: usize| if size == 0 { usize::MAX } else { size - 1 };
            Some(ServerHandshake {
                protocols,
                headers,
                max_resource_len: max(resource_size),
                max_host_len: max(host_size),
            })
        };
        let io = match stream(fd, &o) {
            Ok(io) => io,
            Err(code) => return code,
        };
        let ws = match WsSocket::server(io, text, config, handshake) {
            Ok(ws) => ws,
            Err(e) => return code_of(&e),
        };
        let r = run_handshake(ws, deadline);
        if let Ok((EWS_OK, s)) = &r {
            copy_out(s.ws.resource(), resource, resource_size);
            copy_out(s.ws.host(), host, host_size);
        }
        hand_out(r, out)
    })
}

/// Completes the opening handshake after an attach call returned
/// EWS_ETIMEDOUT (any other call on the socket does it too). Returns 0 once
/// the handshake is done (also when it was already). Errors: EWS_EINVAL
/// (NULL), EWS_ETIMEDOUT (the deadline passed again; call again), the
/// attach call's errors (then the socket is only good for
/// ews_sock_free()).
#[unsafe(no_mangle)]
pub extern "C" fn ews_sock_handshake(sock: *mut ews_sock, deadline: i64) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(s) = ptr::obj_mut(sock) else { return EWS_EINVAL };
        let r = s.ws.handshake(Deadline::at(deadline));
        s.refresh();
        match r {
            Ok(()) => EWS_OK,
            Err(e) => code_of(&e),
        }
    })
}

/// Closes the WebSocket with the closing handshake and gives the
/// descriptor back: sends a close frame with `status` (0: no code;
/// otherwise 1000-1003, 1007-1014 or 3000-4999) and `reason` (NULL, or at
/// most 123 bytes of UTF-8; needs a status), drops messages that still
/// arrive, and waits for the peer's close frame. If the peer closed first
/// (ews_recv() returned EWS_ECLOSED), only the answer is written.
///
/// Returns the descriptor (`fd` of the attach call, with its old flags)
/// and frees the socket. On EWS_ETIMEDOUT the socket stays: call
/// ews_detach() again to continue (`status` and `reason` are not sent
/// twice). On EWS_EINVAL (NULL, a status or reason that may not be sent)
/// nothing was done. Any other error frees the socket too, and the
/// descriptor, still open and the caller's, is in no state for WebSocket:
/// EWS_ESTATE (the opening handshake never completed), EWS_EDROPPED,
/// EWS_EIO, or the protocol error that failed the connection earlier.
/// Bytes the peer sent after its close frame that ews had already read are
/// discarded. To read the peer's close code and reason (ews_status()) when
/// this side closes first, run the handshake with ews_sock_close() before.
#[unsafe(no_mangle)]
pub extern "C" fn ews_detach(sock: *mut ews_sock, status: c_int, reason: *const c_char, deadline: i64) -> c_int {
    guard(EWS_EPANIC, || match closing_handshake(sock, status, reason, deadline) {
        Err(code) => code,
        Ok(r) => {
            let Some(owned) = ptr::take(sock) else { return EWS_EINVAL };
            let fd = owned.ws.into_stream().release();
            match r {
                Ok(()) => fd,
                Err(code) => code,
            }
        }
    })
}

/// The closing handshake of ews_detach() without giving the descriptor
/// back: afterwards ews_status() has the peer's close code and reason, and
/// ews_detach() returns the descriptor at once. Returns 0. Errors: as
/// ews_detach(), but the socket always stays (free it with ews_detach() or
/// ews_sock_free()).
#[unsafe(no_mangle)]
pub extern "C" fn ews_sock_close(sock: *mut ews_sock, status: c_int, reason: *const c_char, deadline: i64) -> c_int {
    guard(EWS_EPANIC, || match closing_handshake(sock, status, reason, deadline) {
        Err(code) | Ok(Err(code)) => code,
        Ok(Ok(())) => EWS_OK,
    })
}

/// Runs the closing handshake of a socket. `Err` is a code to return with
/// the socket kept (invalid arguments, the deadline); `Ok` is the outcome
/// after which ews_detach() gives the descriptor back.
fn closing_handshake(
    sock: *mut ews_sock,
    status: c_int,
    reason: *const c_char,
    deadline: i64,
) -> std::result::Result<std::result::Result<(), c_int>, c_int> {
    let Some(s) = ptr::obj_mut(sock) else { return Err(EWS_EINVAL) };
    let reason = match ptr::string(reason) {
        Str::Null => "",
        Str::Text(t) => t,
        Str::Invalid => return Err(EWS_EINVAL),
    };
    let Ok(status) = u16::try_from(status) else { return Err(EWS_EINVAL) };
    match s.ws.detach(status, reason, Deadline::at(deadline)) {
        Err(Error::Deadline) => Err(code_of(&Error::Deadline)),
        Err(e) if e.category() == Category::Invalid => Err(EWS_EINVAL),
        Ok(()) => Ok(Ok(())),
        Err(e) => Ok(Err(code_of(&e))),
    }
}

/// The peer's close frame, once one arrived: returns its code (1005 when
/// it had none) and copies its reason, NUL-terminated, into `reason`
/// (`reason_size` bytes; EWS_MAX_CLOSE_REASON + 1 always suffice; NULL
/// with 0 if not wanted). Errors: EWS_EINVAL (NULL socket, NULL buffer
/// with a size), EWS_ESTATE (no close frame arrived), EWS_ENOSPC (the
/// reason does not fit; nothing written).
#[unsafe(no_mangle)]
pub extern "C" fn ews_status(sock: *const ews_sock, reason: *mut c_char, reason_size: usize) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(s), Some(dst)) = (ptr::obj(sock), ptr::bytes_mut(reason.cast(), reason_size)) else {
            return EWS_EINVAL;
        };
        let Some((code, text)) = s.ws.peer_close() else { return EWS_ESTATE };
        if !dst.is_empty() {
            if text.len() >= dst.len() {
                return EWS_ENOSPC;
            }
            dst[..text.len()].copy_from_slice(text.as_bytes());
            dst[text.len()] = 0;
        }
        code.into()
    })
}

/// The descriptor the socket reads from, for the caller's poll(), or
/// EWS_EINVAL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ews_sock_fd(sock: *const ews_sock) -> c_int {
    guard(EWS_EPANIC, || ptr::obj(sock).map_or(EWS_EINVAL, |s| s.ws.stream().read_fd()))
}

/// Server: the resource the client asked for, once the handshake
/// completed (else NULL). Valid until the socket is detached or freed.
#[unsafe(no_mangle)]
pub extern "C" fn ews_sock_resource(sock: *const ews_sock) -> *const c_char {
    guard(null(), || ptr::obj(sock).and_then(|s| s.resource.as_ref()).map_or(null(), |c| c.as_ptr()))
}

/// Server: the client's Host value, once the handshake completed (else
/// NULL). Valid until the socket is detached or freed.
#[unsafe(no_mangle)]
pub extern "C" fn ews_sock_host(sock: *const ews_sock) -> *const c_char {
    guard(null(), || ptr::obj(sock).and_then(|s| s.host.as_ref()).map_or(null(), |c| c.as_ptr()))
}

/// The subprotocol agreed in the handshake, or NULL. Valid until the
/// socket is detached or freed.
#[unsafe(no_mangle)]
pub extern "C" fn ews_sock_subprotocol(sock: *const ews_sock) -> *const c_char {
    guard(null(), || ptr::obj(sock).and_then(|s| s.subprotocol.as_ref()).map_or(null(), |c| c.as_ptr()))
}

/// A static description of why the connection failed ("HS: Accept hash
/// wrong", "invalid UTF-8", "read failed", ...), or NULL while it has not.
#[unsafe(no_mangle)]
pub extern "C" fn ews_sock_error_detail(sock: *const ews_sock) -> *const c_char {
    guard(null(), || ptr::obj(sock).and_then(|s| s.ws.failure()).map_or(null(), |e| e.detail_c().as_ptr()))
}

/// Frees a socket without a closing handshake (what is still queued is
/// dropped). The descriptor gets its old flags back and stays open: it is
/// the caller's. NULL is ignored; do not free twice.
#[unsafe(no_mangle)]
pub extern "C" fn ews_sock_free(sock: *mut ews_sock) {
    guard((), || ptr::free(sock))
}
