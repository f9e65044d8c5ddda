//! `ews_server` and `ews_request`: the built-in server and the HTTP
//! requests its routes receive.
//!
//! Methods of ews_server: ews_server_options_init (in [`super::options`]),
//! ews_server_new, ews_server_listen, ews_route_init, ews_server_route,
//! ews_server_add_route, ews_server_run, ews_server_start,
//! ews_server_stop, ews_server_join, ews_server_free.
//!
//! Methods of ews_request (only during the service callback):
//! ews_request_method, ews_request_target, ews_request_path,
//! ews_request_query, ews_request_header, ews_request_peer,
//! ews_request_is_websocket, ews_request_respond; and ews_wss_upgrade().

use std::ffi::{CString, c_char, c_int, c_void};
use std::mem::{offset_of, size_of};
use std::net::SocketAddr;
use std::ptr::{null, null_mut};
use std::sync::Arc;

use crate::ffi::errors::{EWS_EINVAL, EWS_ENOSPC, EWS_EPANIC, EWS_OK, code_of, result_code};
use crate::ffi::options::{ews_limits, ews_server_options, limits, server_options};
use crate::ffi::panic::guard;
use crate::ffi::ptr::{self, Str};
use crate::ffi::sized::{self, SizedStruct};
use crate::server::{HttpRequest, Server, Service};

/// A WebSocket and HTTP server with its own event loop. See ews_server_new().
pub struct ews_server {
    pub(crate) server: Server,
}

/// An HTTP request received by a route, valid during the service callback.
pub struct ews_request {
    pub(crate) req: *mut HttpRequest<'static>,
    method: CString,
    target: CString,
    path: CString,
    query: Option<CString>,
}

impl ews_request {
    pub(crate) fn request(&mut self) -> &mut HttpRequest<'static> {
        // SAFETY: `req` points to the request the loop lent to the service
        // callback, which outlives this handle (both end when the callback
        // returns).
        unsafe { &mut *self.req }
    }
}

/// A route's service: called on the loop thread for each request to the
/// route, with the route's `user` pointer. Answer with
/// ews_request_respond(), or upgrade with ews_wss_upgrade(); a request left
/// unanswered gets 404. `req` is valid only during the call.
pub type ews_service_fn = Option<extern "C" fn(user: *mut c_void, req: *mut ews_request)>;

/// A route: a path (exact, or a prefix) served by a service callback.
/// Initialise with ews_route_init() and set the path and service; ews
/// copies what it needs in ews_server_add_route().
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ews_route {
    /// The size of this struct as the caller's header declares it; set by
    /// ews_route_init().
    pub size: usize,
    /// The path, starting with '/'.
    pub path: *const c_char,
    /// Non-zero: every path that starts with `path`.
    pub prefix: c_int,
    /// The service callback.
    pub service: ews_service_fn,
    /// Passed to the service callback.
    pub user: *mut c_void,
    /// Limits for this route's connections, or NULL for the server's.
    pub limits: *const ews_limits,
    /// The subprotocols supported, in order of preference (or NULL).
    pub protocols: *const *const c_char,
    /// The number of entries in `protocols`.
    pub protocol_count: usize,
}

// SAFETY: repr(C), `size` first, then integers, raw pointers and an
// optional function pointer.
unsafe impl SizedStruct for ews_route {
    const FIRST_LAYOUT: usize = offset_of!(ews_route, protocol_count) + size_of::<usize>();

    fn defaults(size: usize) -> ews_route {
        ews_route {
            size,
            path: null(),
            prefix: 0,
            service: None,
            user: null_mut(),
            limits: null(),
            protocols: null(),
            protocol_count: 0,
        }
    }
}

/// Fills the first `size` bytes of `*route` with the defaults (no path, an
/// exact path, no service, NULL user, the server's limits, no
/// subprotocols) and sets `route->size` to `size`. Set `path` and
/// `service` before ews_server_add_route().
///
/// Call it as `ews_route_init(&route, sizeof route)`: nothing past `size`
/// bytes is written. NULL is ignored. No error. Safe from any thread (it
/// touches only `*route`).
#[unsafe(no_mangle)]
pub extern "C" fn ews_route_init(route: *mut ews_route, size: usize) {
    guard((), || sized::init(route, size))
}

struct CService {
    f: extern "C" fn(*mut c_void, *mut ews_request),
    user: *mut c_void,
}

// SAFETY: the service callback and its user pointer are called only on the
// loop thread; ews_server_add_route's contract lets ews call them there.
unsafe impl Send for CService {}
// SAFETY: as above.
unsafe impl Sync for CService {}

impl Service for CService {
    fn serve(&self, req: &mut HttpRequest<'_>) {
        let cstr = |s: &str| CString::new(s).unwrap_or_default();
        let mut handle = ews_request {
            method: cstr(req.method()),
            target: cstr(req.target()),
            path: cstr(req.path()),
            query: req.query().map(cstr),
            req: (req as *mut HttpRequest<'_>).cast(),
        };
        (self.f)(self.user, &mut handle);
    }
}

/// Creates a server (not yet listening or running). `opts` (and the limits
/// it points to) may be NULL for the defaults; it is borrowed for the call
/// only. Writes the server to `*out` (free with ews_server_free()) and
/// returns 0. Errors: EWS_EINVAL (NULL `out`, options or limits not
/// initialised with their init function, limits with a zero size), EWS_EIO
/// (no event loop could be made).
#[unsafe(no_mangle)]
pub extern "C" fn ews_server_new(opts: *const ews_server_options, out: *mut *mut ews_server) -> c_int {
    guard(EWS_EPANIC, || {
        if out.is_null() {
            return EWS_EINVAL;
        }
        let options = match server_options(opts) {
            Ok(options) => options,
            Err(code) => return code,
        };
        match Server::new(options) {
            Ok(server) => {
                ptr::write(out, ptr::to_c(ews_server { server }));
                EWS_OK
            }
            Err(e) => code_of(&e),
        }
    })
}

/// Listens on `addr`: `127.0.0.1:8080`, `[::]:8080` (IPv6 and, where the
/// system allows, IPv4), "unix:/path/to/socket". Port 0 picks a free port.
/// Returns the port listened on (0 for a Unix socket). Only before the
/// server runs. Errors: EWS_EINVAL, EWS_EIO (bind failed; see errno),
/// EWS_ESTATE (running).
#[unsafe(no_mangle)]
pub extern "C" fn ews_server_listen(server: *mut ews_server, addr: *const c_char) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(s), Str::Text(addr)) = (ptr::obj(server), ptr::string(addr)) else { return EWS_EINVAL };
        match s.server.listen(addr) {
            Ok(port) => port.into(),
            Err(e) => code_of(&e),
        }
    })
}

/// Adds a route; see ews_route. `route` (and what it points to) is
/// borrowed for the call only; the service's `user` pointer is kept. A
/// route for the same path and kind replaces the earlier one. Only before
/// the server runs. Errors: EWS_EINVAL (NULL, a route or limits not
/// initialised with their init function, a path not starting with '/',
/// NULL service, invalid limits or subprotocols), EWS_ESTATE (running).
#[unsafe(no_mangle)]
pub extern "C" fn ews_server_add_route(server: *mut ews_server, route: *const ews_route) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(s), Ok(Some(r))) = (ptr::obj(server), sized::read(route)) else { return EWS_EINVAL };
        let (Str::Text(path), Some(f)) = (ptr::string(r.path), r.service) else { return EWS_EINVAL };
        let Ok(protocols) = crate::ffi::strings::string_list(r.protocols, r.protocol_count) else { return EWS_EINVAL };
        let Ok(limits) = limits(r.limits) else { return EWS_EINVAL };
        let service = Arc::new(CService { f, user: r.user });
        result_code(s.server.route(path, r.prefix != 0, service, limits, protocols))
    })
}

/// Adds a route for `path` (an exact path, or with `prefix` non-zero every
/// path starting with it) served by `service` with `user`; the server's
/// limits and no subprotocols. See ews_server_add_route().
#[unsafe(no_mangle)]
pub extern "C" fn ews_server_route(
    server: *mut ews_server,
    path: *const c_char,
    prefix: c_int,
    service: ews_service_fn,
    user: *mut c_void,
) -> c_int {
    let route = ews_route { path, prefix, service, user, ..ews_route::defaults(size_of::<ews_route>()) };
    ews_server_add_route(server, &route)
}

/// Runs the server's loop on the calling thread until ews_server_stop();
/// every connection is then closed (close callbacks get EWS_ECLOSED). A
/// server runs once. Errors: EWS_EINVAL, EWS_ESTATE (ran before), EWS_EIO.
#[unsafe(no_mangle)]
pub extern "C" fn ews_server_run(server: *mut ews_server) -> c_int {
    guard(EWS_EPANIC, || match ptr::obj(server) {
        Some(s) => result_code(s.server.run()),
        None => EWS_EINVAL,
    })
}

/// Runs the server's loop on a new service thread and returns at once;
/// callbacks run on that thread. Stop it with ews_server_stop() and wait
/// with ews_server_join(). Errors: EWS_EINVAL, EWS_ESTATE, EWS_EIO.
#[unsafe(no_mangle)]
pub extern "C" fn ews_server_start(server: *mut ews_server) -> c_int {
    guard(EWS_EPANIC, || match ptr::obj(server) {
        Some(s) => result_code(s.server.start()),
        None => EWS_EINVAL,
    })
}

/// Asks the loop to stop; returns at once. Safe from any thread, from the
/// server's callbacks, and from a signal handler (it only sets a flag and
/// writes to an eventfd). Errors: EWS_EINVAL.
#[unsafe(no_mangle)]
pub extern "C" fn ews_server_stop(server: *mut ews_server) -> c_int {
    guard(EWS_EPANIC, || match ptr::obj(server) {
        Some(s) => {
            s.server.stop();
            EWS_OK
        }
        None => EWS_EINVAL,
    })
}

/// Waits for the service thread of ews_server_start() to end. Not from a
/// callback. Errors: EWS_EINVAL, EWS_ESTATE (called on the loop thread),
/// EWS_EIO (the loop failed).
#[unsafe(no_mangle)]
pub extern "C" fn ews_server_join(server: *mut ews_server) -> c_int {
    guard(EWS_EPANIC, || match ptr::obj(server) {
        Some(s) => result_code(s.server.join()),
        None => EWS_EINVAL,
    })
}

/// Stops the server, waits for its service thread, closes every
/// connection and frees it. NULL is ignored. Not from a callback of this
/// server. ews_wss handles stay valid until the host frees them.
#[unsafe(no_mangle)]
pub extern "C" fn ews_server_free(server: *mut ews_server) {
    guard((), || ptr::free(server))
}

fn request<'a>(req: *mut ews_request) -> Option<&'a mut ews_request> {
    ptr::obj_mut(req)
}

/// The request method ("GET", ...), or NULL for a NULL request.
#[unsafe(no_mangle)]
pub extern "C" fn ews_request_method(req: *mut ews_request) -> *const c_char {
    guard(null(), || request(req).map_or(null(), |r| r.method.as_ptr()))
}

/// The request-target: path and query ("/chat?room=1").
#[unsafe(no_mangle)]
pub extern "C" fn ews_request_target(req: *mut ews_request) -> *const c_char {
    guard(null(), || request(req).map_or(null(), |r| r.target.as_ptr()))
}

/// The path ("/chat").
#[unsafe(no_mangle)]
pub extern "C" fn ews_request_path(req: *mut ews_request) -> *const c_char {
    guard(null(), || request(req).map_or(null(), |r| r.path.as_ptr()))
}

/// The query after '?' ("room=1"), or NULL when there is none.
#[unsafe(no_mangle)]
pub extern "C" fn ews_request_query(req: *mut ews_request) -> *const c_char {
    guard(null(), || request(req).and_then(|r| r.query.as_ref()).map_or(null(), |q| q.as_ptr()))
}

/// The first value of header field `name` (case-insensitive): points
/// `*value`/`*len` at it (not NUL-terminated, valid during the callback)
/// and returns 1, or returns 0 when absent. Errors: EWS_EINVAL.
#[unsafe(no_mangle)]
pub extern "C" fn ews_request_header(
    req: *mut ews_request,
    name: *const c_char,
    value: *mut *const c_char,
    len: *mut usize,
) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(r), Str::Text(name)) = (request(req), ptr::string(name)) else { return EWS_EINVAL };
        if value.is_null() || len.is_null() {
            return EWS_EINVAL;
        }
        match r.request().header(name) {
            Some(v) => {
                ptr::write(value, v.as_ptr().cast());
                ptr::write(len, v.len());
                1
            }
            None => 0,
        }
    })
}

/// Writes the peer's address (`192.0.2.1:5000`, `[2001:db8::1]:5000`) to
/// `buf` as a NUL-terminated string. Returns its length; 0 and an empty
/// string when there is none (a Unix socket). Errors: EWS_EINVAL, EWS_ENOSPC.
pub(crate) fn write_peer(peer: Option<SocketAddr>, buf: *mut c_char, size: usize) -> c_int {
    let Some(dst) = ptr::bytes_mut(buf.cast(), size) else { return EWS_EINVAL };
    let text = peer.map(|p| p.to_string()).unwrap_or_default();
    if dst.len() < text.len() + 1 {
        return EWS_ENOSPC;
    }
    dst[..text.len()].copy_from_slice(text.as_bytes());
    dst[text.len()] = 0;
    text.len() as c_int
}

/// Writes the client's address (`192.0.2.1:5000`, `[2001:db8::1]:5000`)
/// to `buf` (`size` bytes) as a NUL-terminated string and returns its
/// length; 0 and an empty string for a Unix socket. Errors: EWS_EINVAL,
/// EWS_ENOSPC.
#[unsafe(no_mangle)]
pub extern "C" fn ews_request_peer(req: *mut ews_request, buf: *mut c_char, size: usize) -> c_int {
    guard(EWS_EPANIC, || match request(req) {
        Some(r) => write_peer(r.request().peer(), buf, size),
        None => EWS_EINVAL,
    })
}

/// 1 if the client asks for a WebSocket (Upgrade: websocket), else 0.
/// EWS_EINVAL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ews_request_is_websocket(req: *mut ews_request) -> c_int {
    guard(EWS_EPANIC, || match request(req) {
        Some(r) => r.request().is_websocket().into(),
        None => EWS_EINVAL,
    })
}

/// Answers the request with a plain HTTP response: `status` (200-599), a
/// Content-Type (NULL for none) and `len` bytes of body (copied). The
/// connection closes after the response. Errors: EWS_EINVAL, EWS_ESTATE
/// (answered already).
#[unsafe(no_mangle)]
pub extern "C" fn ews_request_respond(
    req: *mut ews_request,
    status: c_int,
    content_type: *const c_char,
    body: *const c_void,
    len: usize,
) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(r), Some(body)) = (request(req), ptr::bytes(body.cast(), len)) else { return EWS_EINVAL };
        let content_type = match ptr::string(content_type) {
            Str::Null => "",
            Str::Text(t) => t,
            Str::Invalid => return EWS_EINVAL,
        };
        let Ok(status) = u16::try_from(status) else { return EWS_EINVAL };
        result_code(r.request().respond(status, content_type, body, &[]))
    })
}
