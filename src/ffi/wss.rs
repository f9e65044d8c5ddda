//! `ews_wss` and `ews_wsscb`: a server-side WebSocket connection and its
//! callbacks, in the shape of Barracuda's WSS / WSSCB.
//!
//! Methods: ews_wsscb_init, ews_wss_new, ews_wss_free, ews_wss_upgrade,
//! ews_wss_upgrade_fd, ews_wss_connect, ews_wss_write, ews_wss_try_write,
//! ews_wss_write_frame, ews_wss_close, ews_wss_is_valid, ews_wss_peer,
//! ews_wss_resource, ews_wss_subprotocol, ews_wss_queued, ews_wss_set_user,
//! ews_wss_user.

use std::ffi::{c_char, c_int, c_void};
use std::mem::{offset_of, size_of};
use std::os::fd::{FromRawFd, OwnedFd};
use std::ptr::{null, null_mut};
use std::sync::{Arc, LazyLock};

use crate::error::Error;
use crate::ffi::errors::{EWS_EINVAL, EWS_EPANIC, EWS_OK, code_of, result_code};
use crate::ffi::helpers::opcode;
use crate::ffi::panic::guard;
use crate::ffi::ptr::{self, Str};
use crate::ffi::server::{ews_request, ews_server, write_peer};
use crate::ffi::sized::{self, SizedStruct};
use crate::server::{CloseStatus, Handler, Wait, Wss};

/// A server-side WebSocket connection (Barracuda's WSS). Made by
/// ews_wss_new(), owned by the host, freed with ews_wss_free().
pub struct ews_wss {
    _private: [u8; 0],
}

/// Receives a whole message: `len` bytes at `data` (read-only, valid during
/// the call, followed by a NUL that is not counted in `len`), text
/// (`is_text` 1, valid UTF-8) or binary.
pub type ews_frame_fn =
    Option<extern "C" fn(cb: *mut ews_wsscb, wss: *mut ews_wss, data: *const c_void, len: usize, is_text: c_int)>;

/// The connection ended: `status` > 0 is the close code of the peer's close
/// frame (1005 when it had none); `status` < 0 is an EWS_E* code when the
/// connection dropped (EWS_EDROPPED), failed (EWS_EPROTO, EWS_EUTF8,
/// EWS_ETOOBIG, EWS_ETIMEDOUT, EWS_EIO) or the server shut down
/// (EWS_ECLOSED). Called exactly once per connection; nothing follows it.
pub type ews_close_fn = Option<extern "C" fn(cb: *mut ews_wsscb, wss: *mut ews_wss, status: c_int)>;

/// Receives a ping's payload; the pong has been sent already.
pub type ews_ping_fn = Option<extern "C" fn(cb: *mut ews_wsscb, wss: *mut ews_wss, data: *const c_void, len: usize)>;

/// The send queue has room again after ews_wss_try_write() returned
/// EWS_EAGAIN.
pub type ews_drain_fn = Option<extern "C" fn(cb: *mut ews_wsscb, wss: *mut ews_wss)>;

/// The callbacks of a connection (Barracuda's WSSCB). The host
/// initialises it with ews_wsscb_init(), sets the callbacks, and usually
/// embeds it first in its own per-connection object: each callback
/// receives the pointer given to ews_wss_new() first, so it can be cast
/// back to that object. ews does not copy it: it reads the struct (the
/// fields within its `size`) each time it calls a callback, so it must
/// stay valid until ews_wss_free(). Callbacks run on the server's loop
/// thread and may call ews_wss_write(), ews_wss_close() and ews_wss_free()
/// on any connection, including their own.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ews_wsscb {
    /// The size of this struct as the caller's header declares it; set by
    /// ews_wsscb_init().
    pub size: usize,
    /// A message arrived (required).
    pub frame: ews_frame_fn,
    /// The connection ended (required).
    pub close: ews_close_fn,
    /// A ping arrived (optional; the pong is sent automatically).
    pub ping: ews_ping_fn,
    /// The send queue drained (optional).
    pub drain: ews_drain_fn,
}

// SAFETY: repr(C), `size` first, then optional function pointers.
unsafe impl SizedStruct for ews_wsscb {
    const FIRST_LAYOUT: usize = offset_of!(ews_wsscb, drain) + size_of::<ews_drain_fn>();

    fn defaults(size: usize) -> ews_wsscb {
        ews_wsscb { size, frame: None, close: None, ping: None, drain: None }
    }
}

/// Fills the first `size` bytes of `*cb` with the defaults (every callback
/// NULL) and sets `cb->size` to `size`; set `frame` and `close` (required)
/// and any other callback afterwards.
///
/// Call it as `ews_wsscb_init(&cb, sizeof cb)`: nothing past `size` bytes
/// is written, so the host's own fields after an embedded ews_wsscb are
/// safe. NULL is ignored. No error. Safe from any thread (it touches only
/// `*cb`).
#[unsafe(no_mangle)]
pub extern "C" fn ews_wsscb_init(cb: *mut ews_wsscb, size: usize) {
    guard((), || sized::init(cb, size))
}

/// The handler that calls a connection's ews_wsscb (its context).
struct CCallbacks;

/// The one handler all C connections share: their callback struct is the
/// context, so a connection costs no allocation of its own for it.
static C_CALLBACKS: LazyLock<Arc<CCallbacks>> = LazyLock::new(|| Arc::new(CCallbacks));

/// The host's callback struct of a connection and its callbacks as this
/// library knows them (none when the struct was spoilt since
/// ews_wss_new() checked it).
fn callbacks(wss: &Wss) -> (*mut ews_wsscb, ews_wsscb) {
    let cb = wss.context() as *mut ews_wsscb;
    let table = sized::read(cb).ok().flatten().unwrap_or_else(|| ews_wsscb::defaults(size_of::<ews_wsscb>()));
    (cb, table)
}

fn handle(wss: &Wss) -> *mut ews_wss {
    (wss as *const Wss).cast_mut().cast()
}

impl Handler for CCallbacks {
    fn on_frame(&self, wss: &Wss, data: &[u8], text: bool) {
        if let (cb, ews_wsscb { frame: Some(f), .. }) = callbacks(wss) {
            f(cb, handle(wss), data.as_ptr().cast(), data.len(), text.into());
        }
    }

    fn on_ping(&self, wss: &Wss, data: &[u8]) {
        if let (cb, ews_wsscb { ping: Some(f), .. }) = callbacks(wss) {
            f(cb, handle(wss), data.as_ptr().cast(), data.len());
        }
    }

    fn on_close(&self, wss: &Wss, status: CloseStatus) {
        let status = match status {
            CloseStatus::Peer(code) => code.into(),
            CloseStatus::Failed(e) => code_of(&e),
        };
        if let (cb, ews_wsscb { close: Some(f), .. }) = callbacks(wss) {
            f(cb, handle(wss), status);
        }
    }

    fn on_drain(&self, wss: &Wss) {
        if let (cb, ews_wsscb { drain: Some(f), .. }) = callbacks(wss) {
            f(cb, handle(wss));
        }
    }
}

fn wss_ref<'a>(wss: *const ews_wss) -> Option<&'a Wss> {
    ptr::obj(wss.cast::<Wss>())
}

/// Takes one more reference to the connection behind a handle.
fn wss_arc(wss: *const ews_wss) -> Option<Arc<Wss>> {
    if wss.is_null() {
        return None;
    }
    let raw = wss.cast::<Wss>();
    // SAFETY: a non-NULL handle came from Arc::into_raw in ews_wss_new and
    // the host has not freed it (the C contract), so the Arc is alive; the
    // count is raised before a new Arc is made from the pointer.
    unsafe {
        Arc::increment_strong_count(raw);
        Some(Arc::from_raw(raw))
    }
}

/// Creates a connection object (not yet connected) whose events go to
/// `cb` (which must stay valid until ews_wss_free()). Messages that do not
/// arrive in one read are buffered from `start_size` bytes, growing by
/// `expand_size` (Barracuda's DynBuffer sizes; 0 takes the route's
/// limits). Connect it with ews_wss_upgrade(), ews_wss_upgrade_fd() or
/// ews_wss_connect(). Writes it to `*out` and returns 0. Errors:
/// EWS_EINVAL (NULL, a callback struct not initialised with
/// ews_wsscb_init() or without frame or close, sizes over 4 GiB).
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_new(
    cb: *mut ews_wsscb,
    start_size: usize,
    expand_size: usize,
    out: *mut *mut ews_wss,
) -> c_int {
    guard(EWS_EPANIC, || {
        let Ok(Some(table)) = sized::read(cb.cast_const()) else { return EWS_EINVAL };
        if table.frame.is_none() || table.close.is_none() || out.is_null() {
            return EWS_EINVAL;
        }
        let (Ok(start), Ok(expand)) = (u32::try_from(start_size), u32::try_from(expand_size)) else {
            return EWS_EINVAL;
        };
        let wss = Wss::new(C_CALLBACKS.clone(), cb as usize, start, expand);
        ptr::write(out, Arc::into_raw(wss).cast_mut().cast());
        EWS_OK
    })
}

/// Releases the host's handle. No callback runs for the connection
/// afterwards; if it is open, it is closed (1001, going away). Allowed in
/// any callback, including the connection's own close callback (the
/// connection is torn down after the callback returns). NULL is ignored;
/// do not free twice. Safe from any thread, provided no other thread uses
/// the handle any more.
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_free(wss: *mut ews_wss) {
    guard((), || {
        if wss.is_null() {
            return;
        }
        let raw = wss.cast::<Wss>().cast_const();
        // SAFETY: the handle came from Arc::into_raw in ews_wss_new and is
        // freed once (the C contract): this takes back the host's reference.
        let arc = unsafe { Arc::from_raw(raw) };
        arc.release();
    })
}

/// Upgrades a request received by a route (inside its service callback)
/// to a WebSocket run by `wss`: checks the handshake, chooses the route's
/// subprotocol and answers 101. A request that is not a valid WebSocket
/// handshake is answered with the right HTTP error (400, 405, 426) and
/// EWS_EHANDSHAKE is returned; `wss` stays unused. Errors: EWS_EINVAL,
/// EWS_ESTATE (request answered already, or `wss` in use), EWS_EHANDSHAKE.
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_upgrade(wss: *mut ews_wss, req: *mut ews_request) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(w), Some(r)) = (wss_arc(wss), ptr::obj_mut(req)) else { return EWS_EINVAL };
        result_code(r.request().upgrade(&w))
    })
}

/// Upgrades a connection that the host's own HTTP server accepted: `fd`
/// (a connected stream socket) and the `len` bytes of the request it read
/// (the whole head; bytes after it are kept as the first frames). Checks
/// the handshake, answers 101 with a subprotocol chosen from `protocols`
/// (the server's order of preference; NULL for none), and runs the
/// connection on `server`'s loop. ews takes a non-negative `fd` over in
/// every case, errors included (then it is closed): a request that is not
/// a valid handshake is answered with its HTTP error, the socket is closed
/// and EWS_EHANDSHAKE returned. Safe from any thread. Errors: EWS_EINVAL
/// (a NULL argument, a negative `fd`), EWS_ESTATE (`wss` in use),
/// EWS_EHANDSHAKE, EWS_EIO.
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_upgrade_fd(
    wss: *mut ews_wss,
    server: *mut ews_server,
    fd: c_int,
    request: *const c_char,
    len: usize,
    protocols: *const *const c_char,
    protocol_count: usize,
) -> c_int {
    guard(EWS_EPANIC, || {
        // Taken first: every early return closes it.
        let Some(fd) = owned_fd(fd) else { return EWS_EINVAL };
        let (Some(w), Some(s), Some(bytes)) = (wss_arc(wss), ptr::obj(server), ptr::bytes(request.cast(), len)) else {
            return EWS_EINVAL;
        };
        let Ok(protocols) = crate::ffi::strings::string_list(protocols, protocol_count) else { return EWS_EINVAL };
        result_code(s.server.upgrade_fd(&w, fd, bytes, &protocols))
    })
}

fn owned_fd(fd: c_int) -> Option<OwnedFd> {
    if fd < 0 {
        return None;
    }
    // SAFETY: the C contract: the host hands over an open descriptor it
    // owns and does not use or close afterwards.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Runs a connection whose WebSocket handshake the host completed itself
/// (Barracuda's connect): takes over `fd` (a connected stream socket) and
/// the `len` bytes the host read after the handshake, and runs it on
/// `server`'s loop; `resource` (or NULL) is what ews_wss_resource()
/// reports. A non-negative `fd` is ews's in every case, errors included
/// (then it is closed). Safe from any thread. Errors: EWS_EINVAL (a NULL
/// argument, a negative `fd`), EWS_ESTATE (`wss` in use), EWS_EIO.
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_connect(
    wss: *mut ews_wss,
    server: *mut ews_server,
    fd: c_int,
    leftover: *const c_void,
    len: usize,
    resource: *const c_char,
) -> c_int {
    guard(EWS_EPANIC, || {
        // Taken first: every early return closes it.
        let Some(fd) = owned_fd(fd) else { return EWS_EINVAL };
        let (Some(w), Some(s), Some(bytes)) = (wss_arc(wss), ptr::obj(server), ptr::bytes(leftover.cast(), len)) else {
            return EWS_EINVAL;
        };
        let resource = match ptr::string(resource) {
            Str::Null => "/",
            Str::Text(t) => t,
            Str::Invalid => return EWS_EINVAL,
        };
        result_code(s.server.connect(&w, fd, bytes, resource))
    })
}

fn write(wss: *mut ews_wss, data: *const c_void, len: usize, is_text: c_int, wait: Wait) -> c_int {
    let (Some(w), Some(data)) = (wss_ref(wss), ptr::bytes(data.cast(), len)) else { return EWS_EINVAL };
    result_code(w.write(data, is_text != 0, wait))
}

/// Sends a whole message of any length up to the limits: text (`is_text`
/// non-zero; must be UTF-8) or binary. `data` is copied. Safe from any
/// thread. When the send queue holds more than the high-water mark
/// (limits.send_queue_bytes), a thread other than the loop's waits for room
/// up to the server's send timeout (EWS_ETIMEDOUT); on the loop thread a
/// reply to the message being handled is always queued (the loop stops
/// reading that connection until its queue drains), and a write to another
/// full connection returns EWS_EAGAIN. Errors: EWS_EINVAL (NULL, text not
/// UTF-8), EWS_ECLOSED (closed, or a close frame was sent), EWS_ESTATE (not
/// connected, or a fragmented message is in progress), EWS_ETIMEDOUT,
/// EWS_EAGAIN.
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_write(wss: *mut ews_wss, data: *const c_void, len: usize, is_text: c_int) -> c_int {
    guard(EWS_EPANIC, || write(wss, data, len, is_text, Wait::Block))
}

/// Like ews_wss_write() but never waits: returns EWS_EAGAIN when the send
/// queue is over the high-water mark, also inside the connection's own
/// callbacks; the drain callback runs once it has room again. Safe from any
/// thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_try_write(wss: *mut ews_wss, data: *const c_void, len: usize, is_text: c_int) -> c_int {
    guard(EWS_EPANIC, || write(wss, data, len, is_text, Wait::NoBlock))
}

/// Sends one frame with `opcode` (EWS_OP_TEXT / EWS_OP_BINARY to start a
/// message, EWS_OP_CONTINUATION to continue it, EWS_OP_PING / EWS_OP_PONG)
/// and FIN (`fin` non-zero ends the message), for streaming a large message
/// in pieces. Waits for room like ews_wss_write() (control frames never
/// wait). Safe from any thread, but the frames of one message must come
/// from one thread at a time. Errors: as ews_wss_write(), EWS_EINVAL for
/// a bad opcode (EWS_OP_CLOSE included: use ews_wss_close()) or a control
/// frame over 125 bytes or without FIN, EWS_ESTATE for a continuation with
/// no message started or a new message before the last one ended.
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_write_frame(
    wss: *mut ews_wss,
    opcode_value: c_int,
    fin: c_int,
    data: *const c_void,
    len: usize,
) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(w), Some(data)) = (wss_ref(wss), ptr::bytes(data.cast(), len)) else { return EWS_EINVAL };
        let Some(op) = opcode(opcode_value) else { return EWS_EINVAL };
        result_code(w.write_frame(op, fin != 0, data, Wait::Block))
    })
}

/// Starts the closing handshake with `status` (Barracuda's close; 1000 is
/// normal closure; 0 sends no code) and an optional `reason` (at most 123
/// bytes of UTF-8). Queued after the messages already written. The close
/// callback runs when the peer answers (with its code) or the close times
/// out. Safe from any thread. Errors: EWS_EINVAL (a code or reason that may
/// not be sent), EWS_ECLOSED (closed, or a close frame was sent already),
/// EWS_ESTATE (not connected).
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_close(wss: *mut ews_wss, status: c_int, reason: *const c_char) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(w) = wss_ref(wss) else { return EWS_EINVAL };
        let reason = match ptr::string(reason) {
            Str::Null => "",
            Str::Text(t) => t,
            Str::Invalid => return EWS_EINVAL,
        };
        let Ok(code) = u16::try_from(status) else { return EWS_EINVAL };
        match w.close(code, reason) {
            Err(Error::State(_)) if !w.is_valid() => code_of(&Error::Closed),
            r => result_code(r),
        }
    })
}

/// 1 while the connection is open (connected and its close callback not
/// yet run), else 0 (also for NULL). Safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_is_valid(wss: *const ews_wss) -> c_int {
    guard(0, || wss_ref(wss).is_some_and(Wss::is_valid).into())
}

/// Writes the peer's address (`192.0.2.1:5000`, `[2001:db8::1]:5000`) to
/// `buf` as a NUL-terminated string and returns its length; 0 and an empty
/// string when unknown (a Unix socket, not connected). Errors: EWS_EINVAL,
/// EWS_ENOSPC. Safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_peer(wss: *const ews_wss, buf: *mut c_char, size: usize) -> c_int {
    guard(EWS_EPANIC, || match wss_ref(wss) {
        Some(w) => write_peer(w.peer(), buf, size),
        None => EWS_EINVAL,
    })
}

/// The resource the client requested ("/chat?room=1") once connected,
/// else NULL. Valid until the handle is freed. Safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_resource(wss: *const ews_wss) -> *const c_char {
    guard(null(), || wss_ref(wss).and_then(Wss::resource).map_or(null(), |s| s.as_ptr()))
}

/// The subprotocol agreed in the handshake, or NULL. Valid until the
/// handle is freed. Safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_subprotocol(wss: *const ews_wss) -> *const c_char {
    guard(null(), || wss_ref(wss).and_then(Wss::subprotocol).map_or(null(), |s| s.as_ptr()))
}

/// Bytes queued for sending and not yet written to the socket (0 for
/// NULL). Safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_queued(wss: *const ews_wss) -> usize {
    guard(0, || wss_ref(wss).map_or(0, Wss::queued))
}

/// Stores a pointer for the host. Safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_set_user(wss: *mut ews_wss, user: *mut c_void) {
    guard((), || {
        if let Some(w) = wss_ref(wss) {
            w.set_user(user as usize);
        }
    })
}

/// The pointer stored with ews_wss_set_user() (NULL until then). Safe from
/// any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_wss_user(wss: *const ews_wss) -> *mut c_void {
    guard(null_mut(), || wss_ref(wss).map_or(null_mut(), |w| w.user() as *mut c_void))
}
