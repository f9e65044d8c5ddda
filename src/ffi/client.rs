//! `ews_client`: a WebSocket client for a ws:// URL, with handlers, run by
//! a service thread or by the host's loop (verawebsockets' shape).
//!
//! Methods: ews_client_options_init, ews_client_handlers_init,
//! ews_tls_settings_init, ews_client_new, ews_client_start,
//! ews_client_join, ews_client_connect, ews_client_service,
//! ews_client_fd, ews_client_next_deadline, ews_client_send,
//! ews_client_ping, ews_client_close, ews_client_state,
//! ews_client_subprotocol, ews_client_free.

use std::ffi::{c_char, c_int, c_void};
use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::ptr::{null, null_mut};
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::client::{Client, ClientState, Handler, Options, Reconnect, TlsSettings};
use crate::error::Error;
use crate::ffi::errors::{EWS_EINVAL, EWS_ENOSPC, EWS_EPANIC, EWS_OK, code_of, result_code};
use crate::ffi::options::{ews_limits, limits_or_default};
use crate::ffi::panic::guard;
use crate::ffi::ptr::{self, Str};
use crate::ffi::sized::{self, SizedStruct};
use crate::ffi::strings::{ews_header, header_list, optional_string, string_list};
use crate::proto::Config;

/// Not started yet.
pub const EWS_CLIENT_IDLE: c_int = 0;
/// Resolving the host, connecting, or in the opening handshake.
pub const EWS_CLIENT_CONNECTING: c_int = 1;
/// Open: messages flow.
pub const EWS_CLIENT_OPEN: c_int = 2;
/// The closing handshake is under way.
pub const EWS_CLIENT_CLOSING: c_int = 3;
/// Waiting to reconnect.
pub const EWS_CLIENT_WAITING: c_int = 4;
/// Finished: closed by the host, or failed without reconnection.
pub const EWS_CLIENT_FINISHED: c_int = 5;

/// The opening handshake completed: ews_client_send() works from now on.
pub type ews_client_established_fn = Option<extern "C" fn(user: *mut c_void, client: *mut ews_client)>;

/// A message arrived: `data`/`len` (borrowed for the call; not
/// NUL-terminated), `is_text` 1 for text (valid UTF-8). Whole messages
/// come with `first` and `last` both 1; in streaming mode a message comes
/// in pieces as it arrives, the first with `first` 1, the last with `last` 1.
pub type ews_client_receive_fn = Option<
    extern "C" fn(
        user: *mut c_void,
        client: *mut ews_client,
        data: *const c_void,
        len: usize,
        is_text: c_int,
        first: c_int,
        last: c_int,
    ),
>;

/// An established connection ended. `clean` 1: after the closing
/// handshake, `code` is the peer's close code (1005 when it sent none) and
/// `reason` its reason. `clean` 0: the connection failed or dropped, `code`
/// is the close code ews sent (1002, 1007, 1009) or 1006, and `reason`
/// says why: the protocol violation ("server frame masked", "reserved
/// opcode", "invalid UTF-8", "frame too big", ...), "connection dropped
/// without a close frame", "read failed", "write failed", "keepalive pong
/// timed out", "close handshake timed out". `reason` is NUL-terminated and
/// borrowed for the call. Called once per established connection.
pub type ews_client_closed_fn =
    Option<extern "C" fn(user: *mut c_void, client: *mut ews_client, code: c_int, reason: *const c_char, clean: c_int)>;

/// An attempt to connect failed before the connection was established.
/// `error` is the EWS_E* code and `reason` a static string naming the
/// failure: "name resolution failed" (EWS_ERESOLVE), "connection refused"
/// (EWS_ECONNREFUSED), "connection timed out" and "handshake timed out"
/// (EWS_ETIMEDOUT), "connect failed", "read failed", "write failed"
/// (EWS_EIO), "Peer hung up", "HS: ws upgrade response not 101",
/// "HS: UPGRADE missing", "HS: Upgrade to something other than websocket",
/// "HS: CONNECTION missing", "HS: CONNECTION malformed", "HS: ACCEPT
/// missing", "HS: Accept hash wrong", "HS: PROTOCOL malformed", "HS: Cannot
/// match protocol", "HS: EXT: unknown ext", "HS: response malformed", "HS:
/// response headers too large" (EWS_EHANDSHAKE).
pub type ews_client_error_fn =
    Option<extern "C" fn(user: *mut c_void, client: *mut ews_client, error: c_int, reason: *const c_char)>;

/// What a client reports, and to whom. Initialise with
/// ews_client_handlers_init() and set the callbacks wanted; ews copies it
/// in ews_client_new(). Every callback may be NULL. They run on the thread
/// servicing the client (its service thread, or the thread calling
/// ews_client_service()) and may call ews_client_send(),
/// ews_client_close() and ews_client_free() on their client; freeing
/// takes effect when the callback returns, and no callback follows it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ews_client_handlers {
    /// The size of this struct as the caller's header declares it; set by
    /// ews_client_handlers_init().
    pub size: usize,
    /// The opening handshake completed.
    pub established: ews_client_established_fn,
    /// A message (or, in streaming mode, a piece of one).
    pub receive: ews_client_receive_fn,
    /// An established connection ended.
    pub closed: ews_client_closed_fn,
    /// An attempt to connect failed.
    pub connection_error: ews_client_error_fn,
    /// Passed to every callback.
    pub user: *mut c_void,
}

/// TLS settings for wss:// URLs (file paths, NULL for none). Initialise
/// with ews_tls_settings_init(); ews_client_options points to it.
/// Accepted now; wss:// itself is not supported by this build
/// (EWS_ENOTSUP).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ews_tls_settings {
    /// The size of this struct as the caller's header declares it; set by
    /// ews_tls_settings_init().
    pub size: usize,
    /// CA certificates (PEM) to verify the server with; NULL: the system's.
    pub ca_file: *const c_char,
    /// The client certificate (PEM) to present.
    pub cert_file: *const c_char,
    /// The client certificate's private key (PEM).
    pub key_file: *const c_char,
}

/// Options of a client. Initialise with ews_client_options_init() and set
/// what differs; ews copies what it needs in ews_client_new().
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ews_client_options {
    /// The size of this struct as the caller's header declares it; set by
    /// ews_client_options_init().
    pub size: usize,
    /// The limits, or NULL for the defaults; borrowed during
    /// ews_client_new() only. `handshake_timeout_ms` bounds the opening
    /// handshake, `close_timeout_ms` the closing one.
    pub limits: *const ews_limits,
    /// Milliseconds for name resolution and the TCP connect together
    /// (default 10000; 0: no limit).
    pub connect_timeout_ms: u32,
    /// Send a ping after this many milliseconds without receiving anything
    /// (0, the default: no keepalive).
    pub keepalive_interval_ms: u32,
    /// Drop the connection when nothing arrives this many milliseconds
    /// after a keepalive ping (0: the interval).
    pub keepalive_timeout_ms: u32,
    /// Non-zero: deliver messages in pieces as they arrive (nothing is
    /// buffered; see ews_client_receive_fn).
    pub streaming: c_int,
    /// The Origin value, or NULL.
    pub origin: *const c_char,
    /// The subprotocols to offer, in order of preference.
    pub protocols: *const *const c_char,
    /// The number of entries in `protocols`.
    pub protocol_count: usize,
    /// Extra request header fields (Authorization, Cookie, ...).
    pub headers: *const ews_header,
    /// The number of entries in `headers`.
    pub header_count: usize,
    /// Non-zero: reconnect after losing the connection (or failing to make
    /// it) until ews_client_close(), waiting `reconnect_min_ms`, doubled
    /// after each failed attempt up to `reconnect_max_ms`, jittered.
    pub reconnect: c_int,
    /// The first delay before reconnecting (default 500 ms).
    pub reconnect_min_ms: u32,
    /// The longest delay (default 30000 ms).
    pub reconnect_max_ms: u32,
    /// Attempts in a row before giving up (0, the default: never).
    pub reconnect_max_attempts: u32,
    /// TLS settings for wss://, or NULL for none; borrowed during
    /// ews_client_new() only.
    pub tls: *const ews_tls_settings,
}

// SAFETY: repr(C), `size` first, then optional function pointers and a raw
// pointer.
unsafe impl SizedStruct for ews_client_handlers {
    const FIRST_LAYOUT: usize = offset_of!(ews_client_handlers, user) + size_of::<*mut c_void>();

    fn defaults(size: usize) -> ews_client_handlers {
        ews_client_handlers {
            size,
            established: None,
            receive: None,
            closed: None,
            connection_error: None,
            user: null_mut(),
        }
    }
}

/// Fills the first `size` bytes of `*handlers` with the defaults (every
/// callback NULL, NULL user) and sets `handlers->size` to `size`.
///
/// Call it as `ews_client_handlers_init(&handlers, sizeof handlers)`:
/// nothing past `size` bytes is written. NULL is ignored. No error. Safe
/// from any thread (it touches only `*handlers`).
#[unsafe(no_mangle)]
pub extern "C" fn ews_client_handlers_init(handlers: *mut ews_client_handlers, size: usize) {
    guard((), || sized::init(handlers, size))
}

// SAFETY: repr(C), `size` first, then raw pointers.
unsafe impl SizedStruct for ews_tls_settings {
    const FIRST_LAYOUT: usize = offset_of!(ews_tls_settings, key_file) + size_of::<*const c_char>();

    fn defaults(size: usize) -> ews_tls_settings {
        ews_tls_settings { size, ca_file: null(), cert_file: null(), key_file: null() }
    }
}

/// Fills the first `size` bytes of `*tls` with the defaults (no files: the
/// system's CA certificates, no client certificate) and sets `tls->size`
/// to `size`.
///
/// Call it as `ews_tls_settings_init(&tls, sizeof tls)`: nothing past
/// `size` bytes is written. NULL is ignored. No error. Safe from any
/// thread (it touches only `*tls`).
#[unsafe(no_mangle)]
pub extern "C" fn ews_tls_settings_init(tls: *mut ews_tls_settings, size: usize) {
    guard((), || sized::init(tls, size))
}

// SAFETY: repr(C), `size` first, then integers and raw pointers.
unsafe impl SizedStruct for ews_client_options {
    const FIRST_LAYOUT: usize = offset_of!(ews_client_options, tls) + size_of::<*const ews_tls_settings>();

    fn defaults(size: usize) -> ews_client_options {
        ews_client_options {
            size,
            limits: null(),
            connect_timeout_ms: 10_000,
            keepalive_interval_ms: 0,
            keepalive_timeout_ms: 0,
            streaming: 0,
            origin: null(),
            protocols: null(),
            protocol_count: 0,
            headers: null(),
            header_count: 0,
            reconnect: 0,
            reconnect_min_ms: 500,
            reconnect_max_ms: 30_000,
            reconnect_max_attempts: 0,
            tls: null(),
        }
    }
}

/// A WebSocket client. See ews_client_new().
pub struct ews_client {
    client: Client,
}

/// Calls the host's handlers.
struct CHandler {
    h: ews_client_handlers,
    /// The handle the callbacks receive (set once the handle exists).
    handle: Arc<AtomicPtr<ews_client>>,
}

// SAFETY: ews_client_new's contract: the handlers and their user pointer
// may be called on the thread that services the client, whichever it is.
unsafe impl Send for CHandler {}

impl CHandler {
    fn handle(&self) -> *mut ews_client {
        self.handle.load(Ordering::Acquire)
    }
}

/// Copies `s` into `buf` with a NUL, cutting it at a character boundary
/// when it is too long.
fn c_text(s: &str, buf: &mut [u8; 256]) -> *const c_char {
    let mut n = s.len().min(buf.len() - 1);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    buf[..n].copy_from_slice(&s.as_bytes()[..n]);
    buf[n] = 0;
    buf.as_ptr().cast()
}

impl Handler for CHandler {
    fn established(&mut self, _client: &Client) {
        if let Some(f) = self.h.established {
            f(self.h.user, self.handle());
        }
    }

    fn receive(&mut self, _client: &Client, data: &[u8], text: bool, first: bool, last: bool) {
        if let Some(f) = self.h.receive {
            f(self.h.user, self.handle(), data.as_ptr().cast(), data.len(), text.into(), first.into(), last.into());
        }
    }

    fn closed(&mut self, _client: &Client, code: u16, reason: &str, clean: bool) {
        if let Some(f) = self.h.closed {
            let mut buf = [0u8; 256];
            f(self.h.user, self.handle(), code.into(), c_text(reason, &mut buf), clean.into());
        }
    }

    fn connection_error(&mut self, _client: &Client, error: Error) {
        if let Some(f) = self.h.connection_error {
            f(self.h.user, self.handle(), code_of(&error), error.detail_c().as_ptr());
        }
    }
}

/// Fills the first `size` bytes of `*opts` with the defaults (NULL limits,
/// that is the default limits; 10 s connect timeout, no keepalive, whole
/// messages, no origin, subprotocols or extra headers, no reconnection
/// (500 ms to 30 s when turned on, no attempt limit), NULL TLS settings)
/// and sets `opts->size` to `size`.
///
/// Call it as `ews_client_options_init(&opts, sizeof opts)`: nothing past
/// `size` bytes is written. NULL is ignored. No error. Safe from any
/// thread (it touches only `*opts`).
#[unsafe(no_mangle)]
pub extern "C" fn ews_client_options_init(opts: *mut ews_client_options, size: usize) {
    guard((), || sized::init(opts, size))
}

fn path(p: *const c_char) -> Result<Option<PathBuf>, c_int> {
    optional_string(p).map(|s| s.map(PathBuf::from))
}

/// The core's client options for `opts` (NULL: the defaults). Errors:
/// EWS_EINVAL (a struct not initialised, invalid strings).
fn options(opts: *const ews_client_options) -> Result<Options, c_int> {
    let o = sized::read_or_default(opts)?;
    let tls = sized::read_or_default(o.tls)?;
    Ok(Options {
        config: Config {
            limits: limits_or_default(o.limits)?,
            streaming: o.streaming != 0,
            control_events: false,
            keepalive_interval_ms: o.keepalive_interval_ms,
            keepalive_timeout_ms: o.keepalive_timeout_ms,
        },
        protocols: string_list(o.protocols, o.protocol_count)?,
        headers: header_list(o.headers, o.header_count)?,
        origin: optional_string(o.origin)?,
        connect_timeout_ms: o.connect_timeout_ms,
        reconnect: (o.reconnect != 0).then_some(Reconnect {
            min_delay_ms: o.reconnect_min_ms,
            max_delay_ms: o.reconnect_max_ms,
            max_attempts: o.reconnect_max_attempts,
        }),
        tls: TlsSettings {
            ca_file: path(tls.ca_file)?,
            cert_file: path(tls.cert_file)?,
            key_file: path(tls.key_file)?,
        },
    })
}

/// Creates a client for `url`: `ws://host[:port][/path][?query]`, the host a
/// name, an IPv4 address or an IPv6 address in brackets, the port 80 by
/// default. Nothing happens until ews_client_start() (a service thread
/// runs the client) or ews_client_connect() (the host runs it with
/// ews_client_service()).
///
/// `handlers` is copied (NULL: no callbacks); its user pointer is passed
/// back as is. `opts` may be NULL for the defaults; it and what it points
/// to are borrowed for the call only. On success writes the client to
/// `*out` (free it with ews_client_free()) and returns 0. Errors:
/// EWS_EINVAL (NULL `url` or `out`, a URL that is not a valid ws:// URL,
/// handlers, options, limits or TLS settings not initialised with their
/// init function, invalid options), EWS_ENOTSUP (wss://: TLS is not supported
/// by this build), EWS_EIO (no event loop could be made).
#[unsafe(no_mangle)]
pub extern "C" fn ews_client_new(
    url: *const c_char,
    handlers: *const ews_client_handlers,
    opts: *const ews_client_options,
    out: *mut *mut ews_client,
) -> c_int {
    guard(EWS_EPANIC, || {
        let Str::Text(url) = ptr::string(url) else { return EWS_EINVAL };
        if out.is_null() {
            return EWS_EINVAL;
        }
        let (options, h) = match (options(opts), sized::read_or_default(handlers)) {
            (Ok(options), Ok(h)) => (options, h),
            (Err(code), _) | (_, Err(code)) => return code,
        };
        let handle = Arc::new(AtomicPtr::new(std::ptr::null_mut()));
        let handler = CHandler { h, handle: handle.clone() };
        match Client::new(url, options, Box::new(handler)) {
            Ok(client) => {
                let raw = ptr::to_c(ews_client { client });
                handle.store(raw, Ordering::Release);
                ptr::write(out, raw);
                EWS_OK
            }
            Err(e) => code_of(&e),
        }
    })
}

/// Standalone mode: starts a service thread that connects and runs the
/// client until it is finished (closed, or failed without reconnection);
/// the callbacks run on that thread. Wait for it with ews_client_join().
/// Errors: EWS_EINVAL (NULL), EWS_ESTATE (started already), EWS_EIO (no
/// thread).
#[unsafe(no_mangle)]
pub extern "C" fn ews_client_start(client: *mut ews_client) -> c_int {
    guard(EWS_EPANIC, || {
        // The service thread's callbacks may free the handle while this
        // runs: only the shared client is used.
        let Some(c) = ptr::obj(client).map(|h| h.client.clone()) else { return EWS_EINVAL };
        result_code(c.start())
    })
}

/// Waits until the service thread started by ews_client_start() has
/// finished, that is until the client was closed (ews_client_close()) and
/// its closing handshake is over, or it failed and does not reconnect.
/// Returns 0. Errors: EWS_EINVAL (NULL), EWS_ESTATE (not started with
/// ews_client_start(), or called from a callback).
#[unsafe(no_mangle)]
pub extern "C" fn ews_client_join(client: *mut ews_client) -> c_int {
    guard(EWS_EPANIC, || {
        // As ews_client_start(): a callback may free the handle meanwhile.
        let Some(c) = ptr::obj(client).map(|h| h.client.clone()) else { return EWS_EINVAL };
        result_code(c.join())
    })
}

/// Host-driven mode: starts connecting (a name is resolved on a helper
/// thread, so this does not block). Then call ews_client_service() until
/// it returns 0. Errors: EWS_EINVAL, EWS_ESTATE (started already).
#[unsafe(no_mangle)]
pub extern "C" fn ews_client_connect(client: *mut ews_client) -> c_int {
    guard(EWS_EPANIC, || match ptr::obj(client) {
        Some(h) => result_code(h.client.connect()),
        None => EWS_EINVAL,
    })
}

/// Host-driven mode: does what is ready (reading, callbacks, writing,
/// timers), first waiting up to `timeout_ms` when nothing is (0: do not
/// wait; -1: wait until something happens). Returns 1 while the client
/// runs, 0 once it is finished. To run it from an event loop, poll
/// ews_client_fd() for readability with a timeout until
/// ews_client_next_deadline() and call this with 0.
/// Errors: EWS_EINVAL (NULL), EWS_ESTATE (ews_client_connect() was not
/// called, a service thread runs the client, or called from a callback).
#[unsafe(no_mangle)]
pub extern "C" fn ews_client_service(client: *mut ews_client, timeout_ms: c_int) -> c_int {
    guard(EWS_EPANIC, || {
        // A callback may free the handle: only the shared client is used
        // from here on.
        let Some(c) = ptr::obj(client).map(|h| h.client.clone()) else { return EWS_EINVAL };
        match c.service(timeout_ms.into()) {
            Ok(running) => running.into(),
            Err(e) => code_of(&e),
        }
    })
}

/// Host-driven mode: a descriptor that becomes readable when the client
/// needs ews_client_service(); do not read it, only poll it. Valid until
/// the client is freed. EWS_EINVAL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ews_client_fd(client: *const ews_client) -> c_int {
    guard(EWS_EPANIC, || ptr::obj(client).map_or(EWS_EINVAL, |h| h.client.fd()))
}

/// Host-driven mode: when ews_client_service() is due even if
/// ews_client_fd() stays quiet (a timer), on the ews_now() clock; -1 when
/// nothing is timed (and for NULL). Read it after each service call.
#[unsafe(no_mangle)]
pub extern "C" fn ews_client_next_deadline(client: *const ews_client) -> i64 {
    guard(-1, || ptr::obj(client).and_then(|h| h.client.next_deadline()).unwrap_or(-1))
}

/// Queues a message: `len` bytes of `data`, text (`is_text` non-zero;
/// must be UTF-8) or binary. `data` is copied. Safe from any thread,
/// callbacks included. Returns 0. Errors: EWS_EINVAL (NULL `client`, NULL
/// `data` with a length, text not UTF-8), EWS_ESTATE (not open),
/// EWS_EAGAIN (the bytes still queued reached `limits.send_queue_bytes`:
/// try again later; a message is taken whole whenever the queue is below
/// that).
#[unsafe(no_mangle)]
pub extern "C" fn ews_client_send(client: *mut ews_client, data: *const c_void, len: usize, is_text: c_int) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(h), Some(data)) = (ptr::obj(client), ptr::bytes(data.cast(), len)) else {
            return EWS_EINVAL;
        };
        result_code(h.client.send(is_text != 0, data))
    })
}

/// Queues a ping with up to 125 bytes of payload (the pong is absorbed).
/// Safe from any thread. Errors: EWS_EINVAL, EWS_ESTATE (not open).
#[unsafe(no_mangle)]
pub extern "C" fn ews_client_ping(client: *mut ews_client, data: *const c_void, len: usize) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(h), Some(data)) = (ptr::obj(client), ptr::bytes(data.cast(), len)) else {
            return EWS_EINVAL;
        };
        result_code(h.client.ping(data))
    })
}

/// Closes the client and turns reconnection off. When open, starts the
/// closing handshake with `code` (0: no code; otherwise 1000-1003,
/// 1007-1014 or 3000-4999) and `reason` (NULL or at most 123 bytes of
/// UTF-8); the closed callback follows when it is over. Otherwise the
/// attempt under way (or the wait to reconnect) is abandoned without a
/// callback. Either way the client then finishes (ews_client_join()
/// returns, ews_client_service() returns 0). Safe from any thread,
/// callbacks included; closing again is harmless. Returns 0. Errors:
/// EWS_EINVAL (NULL, a code or reason that may not be sent).
#[unsafe(no_mangle)]
pub extern "C" fn ews_client_close(client: *mut ews_client, code: c_int, reason: *const c_char) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(h) = ptr::obj(client) else { return EWS_EINVAL };
        let reason = match ptr::string(reason) {
            Str::Null => "",
            Str::Text(t) => t,
            Str::Invalid => return EWS_EINVAL,
        };
        let Ok(code) = u16::try_from(code) else { return EWS_EINVAL };
        result_code(h.client.close(code, reason))
    })
}

/// Where the client stands (EWS_CLIENT_*), or EWS_EINVAL for NULL. Safe
/// from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_client_state(client: *const ews_client) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(h) = ptr::obj(client) else { return EWS_EINVAL };
        match h.client.state() {
            ClientState::Idle => EWS_CLIENT_IDLE,
            ClientState::Connecting => EWS_CLIENT_CONNECTING,
            ClientState::Open => EWS_CLIENT_OPEN,
            ClientState::Closing => EWS_CLIENT_CLOSING,
            ClientState::Waiting => EWS_CLIENT_WAITING,
            ClientState::Finished => EWS_CLIENT_FINISHED,
        }
    })
}

/// Copies the subprotocol the server chose for the current connection,
/// NUL-terminated, into `buf` (`size` bytes) and returns its length; 0
/// when there is none (or no connection). Safe from any thread. Errors:
/// EWS_EINVAL (NULL client, NULL `buf` with a size), EWS_ENOSPC (it does
/// not fit; nothing written).
#[unsafe(no_mangle)]
pub extern "C" fn ews_client_subprotocol(client: *const ews_client, buf: *mut c_char, size: usize) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(h), Some(dst)) = (ptr::obj(client), ptr::bytes_mut(buf.cast(), size)) else {
            return EWS_EINVAL;
        };
        let Some(p) = h.client.subprotocol() else {
            if let Some(first) = dst.first_mut() {
                *first = 0;
            }
            return 0;
        };
        if p.len() >= dst.len() {
            return EWS_ENOSPC;
        }
        dst[..p.len()].copy_from_slice(p.as_bytes());
        dst[p.len()] = 0;
        p.len() as c_int
    })
}

/// Frees a client. A connection still open is dropped without a closing
/// handshake (close first and wait for the closed callback, or for
/// ews_client_join(), for a clean end); no callback runs afterwards. From
/// another thread than the service thread this waits for the service
/// thread to end. May be called from the client's own callbacks: the
/// client is released when the callback returns. NULL is ignored; do not
/// free twice.
#[unsafe(no_mangle)]
pub extern "C" fn ews_client_free(client: *mut ews_client) {
    guard((), || {
        if let Some(h) = ptr::take(client) {
            h.client.stop();
            // Waits for the service thread unless this is it.
            let _ = h.client.join();
        }
    })
}
