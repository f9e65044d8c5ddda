//! # ews: embeddable WebSockets
//!
//! A strict RFC 6455 WebSocket library with a C API (`include/ews.h`).
//!
//! The crate is layered; dependencies point down only:
//!
//! - [`ffi`]: the `extern "C"` boundary: argument checks, handles, panic
//!   guard and error-code mapping, no protocol logic.
//! - [`server`]: the built-in server: event loop, HTTP front, connection
//!   handles any thread may write to.
//! - [`client`]: the URL client: connect, handshake, handlers, a service
//!   thread or the host's loop, reconnection.
//! - [`attach`]: WebSocket on a byte stream the host already has, with
//!   blocking calls bounded by deadlines (libdill's `ws_*` family).
//! - `engine` (internal): what every driver shares, a core session run
//!   over a transport: the one path from received bytes to the host.
//! - [`io`]: transports: the [`io::transport::Transport`] seam, the socket
//!   a connection owns, the host's descriptors with absolute deadlines,
//!   URI parsing and building.
//! - [`proto`]: the sans-IO protocol core: no sockets, no threads, no clock.
//!
//! The Rust API of the core is usable on its own: a [`proto::Connection`] is
//! fed bytes, yields [`proto::Event`]s in wire order and hands out the bytes
//! to write.
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod attach;
pub mod client;
mod engine;
pub mod error;
pub mod ffi;
pub mod io;
pub mod log;
pub mod proto;
pub mod server;

pub use error::{Error, Result};
