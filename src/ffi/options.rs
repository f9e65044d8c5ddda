//! `ews_limits` and `ews_server_options`: the C forms of the core's
//! [`Limits`] and [`ServerOptions`], their init functions, and their
//! conversion into the core's types.
//!
//! Functions: ews_limits_init, ews_server_options_init.

use std::ffi::c_int;
use std::mem::{offset_of, size_of};
use std::ptr::null;

use crate::ffi::panic::guard;
use crate::ffi::sized::{self, SizedStruct};
use crate::proto::Limits;
use crate::server::ServerOptions;

/// Limits of a connection: sizes and timeouts. Initialise with
/// ews_limits_init() and set what differs; the option structs point to it
/// (NULL: the defaults), and ews copies it in the call that receives it.
///
/// A limit of 0 means "none" for the timeouts; the sizes must be at least
/// 1 (EWS_EINVAL otherwise).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ews_limits {
    /// The size of this struct as the caller's header declares it; set by
    /// ews_limits_init().
    pub size: usize,
    /// The largest frame payload accepted, in bytes (default 1 MiB). A
    /// longer frame fails the connection with close code 1009, checked on
    /// the header before anything is buffered.
    pub max_frame: u64,
    /// The largest message accepted, all fragments together (default 1
    /// MiB); a longer one fails the connection with close code 1009.
    pub max_message: u64,
    /// The largest opening-handshake head, in bytes (default 8192). A
    /// server answers a longer request with 431.
    pub max_handshake_bytes: u32,
    /// The most header fields in a handshake head (default 64). A server
    /// answers more with 431.
    pub max_handshake_headers: u32,
    /// Milliseconds for the opening handshake to complete (default 10000;
    /// 0: no limit).
    pub handshake_timeout_ms: u32,
    /// Milliseconds to wait for the peer's close frame after sending one,
    /// and for a server to drop the TCP connection after the closing
    /// handshake, seen from a client (default 5000; 0: no limit).
    pub close_timeout_ms: u32,
    /// Bytes of outgoing data a connection may queue before writers block
    /// or get EWS_EAGAIN (default 65536). Control frames are never held
    /// back by this limit. Used by the server and the stream API.
    pub send_queue_bytes: u64,
    /// The first allocation for a message that does not arrive whole in one
    /// read, in bytes (default 4096): memory grows only as messages need it.
    pub rx_start_size: u32,
    /// The step by which that buffer grows beyond `rx_start_size` (default
    /// 4096); growth is at least geometric so large messages stay linear.
    pub rx_expand_size: u32,
}

// SAFETY: repr(C), `size` first, integer fields only.
unsafe impl SizedStruct for ews_limits {
    const FIRST_LAYOUT: usize = offset_of!(ews_limits, rx_expand_size) + size_of::<u32>();

    fn defaults(size: usize) -> ews_limits {
        let d = Limits::default();
        ews_limits {
            size,
            max_frame: d.max_frame,
            max_message: d.max_message,
            max_handshake_bytes: d.max_handshake_bytes,
            max_handshake_headers: d.max_handshake_headers,
            handshake_timeout_ms: d.handshake_timeout_ms,
            close_timeout_ms: d.close_timeout_ms,
            send_queue_bytes: d.send_queue_bytes,
            rx_start_size: d.rx_start_size,
            rx_expand_size: d.rx_expand_size,
        }
    }
}

impl From<&ews_limits> for Limits {
    fn from(l: &ews_limits) -> Limits {
        Limits {
            max_frame: l.max_frame,
            max_message: l.max_message,
            max_handshake_bytes: l.max_handshake_bytes,
            max_handshake_headers: l.max_handshake_headers,
            handshake_timeout_ms: l.handshake_timeout_ms,
            close_timeout_ms: l.close_timeout_ms,
            send_queue_bytes: l.send_queue_bytes,
            rx_start_size: l.rx_start_size,
            rx_expand_size: l.rx_expand_size,
        }
    }
}

/// The limits an option struct points to: `None` for NULL, EWS_EINVAL for
/// a struct that was not initialised.
pub(crate) fn limits(p: *const ews_limits) -> Result<Option<Limits>, c_int> {
    Ok(sized::read(p)?.as_ref().map(Limits::from))
}

/// The limits an option struct points to, the defaults for NULL.
pub(crate) fn limits_or_default(p: *const ews_limits) -> Result<Limits, c_int> {
    Ok(limits(p)?.unwrap_or_default())
}

/// Fills the first `size` bytes of `*limits` with the defaults (1 MiB
/// frames and messages, 8 KiB and 64 header fields for the handshake, 10 s
/// handshake timeout, 5 s close timeout, 64 KiB send queue, 4096-byte
/// receive buffer start and step) and sets `limits->size` to `size`.
///
/// Call it as `ews_limits_init(&limits, sizeof limits)`: `size` is the size
/// of the struct your header declares, and nothing past it is written.
/// NULL is ignored. No error. Safe from any thread (it touches only
/// `*limits`).
#[unsafe(no_mangle)]
pub extern "C" fn ews_limits_init(limits: *mut ews_limits, size: usize) {
    guard((), || sized::init(limits, size))
}

/// Options of a server. Initialise with ews_server_options_init() and set
/// what differs; ews copies what it needs in ews_server_new().
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ews_server_options {
    /// The size of this struct as the caller's header declares it; set by
    /// ews_server_options_init().
    pub size: usize,
    /// Limits for every connection (routes may override them), or NULL for
    /// the defaults. Borrowed during ews_server_new() only.
    pub limits: *const ews_limits,
    /// The most connections open at once, WebSocket and HTTP together
    /// (default 100000). Connections beyond it are answered 503 and closed.
    pub max_connections: u32,
    /// The most connections still in their HTTP handshake (default 1024).
    /// Connections beyond it are answered 503 and closed. Sockets the host
    /// hands over (ews_wss_connect(), ews_wss_upgrade_fd()) were accepted
    /// by the host already: neither limit refuses them.
    pub max_pending: u32,
    /// How long a blocking write waits for room in a full send queue, in
    /// milliseconds (default 10000; 0: forever).
    pub send_timeout_ms: u32,
    /// Send a ping after this many milliseconds without input (0: no
    /// keepalive, the default).
    pub keepalive_interval_ms: u32,
    /// Drop the connection when no pong follows a keepalive ping within this
    /// many milliseconds (0: the interval).
    pub keepalive_timeout_ms: u32,
    /// The size of the read buffer the loop shares between connections
    /// (default 65536).
    pub read_buffer_size: u32,
}

// SAFETY: repr(C), `size` first, integers and a raw pointer.
unsafe impl SizedStruct for ews_server_options {
    const FIRST_LAYOUT: usize = offset_of!(ews_server_options, read_buffer_size) + size_of::<u32>();

    fn defaults(size: usize) -> ews_server_options {
        let d = ServerOptions::default();
        ews_server_options {
            size,
            limits: null(),
            max_connections: d.max_connections,
            max_pending: d.max_pending,
            send_timeout_ms: d.send_timeout_ms,
            keepalive_interval_ms: d.keepalive_interval_ms,
            keepalive_timeout_ms: d.keepalive_timeout_ms,
            read_buffer_size: d.read_buffer_size,
        }
    }
}

/// The core's server options for `p` (NULL: the defaults). Errors:
/// EWS_EINVAL (a struct, or the limits it points to, not initialised).
pub(crate) fn server_options(p: *const ews_server_options) -> Result<ServerOptions, c_int> {
    let o = sized::read_or_default(p)?;
    Ok(ServerOptions {
        limits: limits_or_default(o.limits)?,
        max_connections: o.max_connections,
        max_pending: o.max_pending,
        send_timeout_ms: o.send_timeout_ms,
        keepalive_interval_ms: o.keepalive_interval_ms,
        keepalive_timeout_ms: o.keepalive_timeout_ms,
        read_buffer_size: o.read_buffer_size,
    })
}

/// Fills the first `size` bytes of `*opts` with the defaults (NULL limits,
/// that is the default limits; 100000 connections, 1024 pending
/// handshakes, 10 s send timeout, no keepalive, 64 KiB read buffer) and
/// sets `opts->size` to `size`.
///
/// Call it as `ews_server_options_init(&opts, sizeof opts)`: nothing past
/// `size` bytes is written. NULL is ignored. No error. Safe from any
/// thread (it touches only `*opts`).
#[unsafe(no_mangle)]
pub extern "C" fn ews_server_options_init(opts: *mut ews_server_options, size: usize) {
    guard((), || sized::init(opts, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_c_limits_are_the_cores_defaults() {
        assert_eq!(limits_or_default(null()), Ok(Limits::default()));
        let d = ews_limits::defaults(size_of::<ews_limits>());
        assert_eq!(Limits::from(&d), Limits::default());
    }

    #[test]
    fn default_c_server_options_are_the_cores_defaults() {
        assert_eq!(server_options(null()), Ok(ServerOptions::default()));
        let d = ews_server_options::defaults(size_of::<ews_server_options>());
        assert_eq!(server_options(&d), Ok(ServerOptions::default()));
    }
}
