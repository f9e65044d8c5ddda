//! The sans-IO protocol core (RFC 6455): no sockets, no threads, no clock.
//!
//! One module per concept: [`frame`] (header codec and opcodes), [`mask`],
//! [`utf8`] (incremental validation), [`close`] (codes and reasons),
//! message reassembly and limits, [`handshake`] (client and server, and the
//! one place a server negotiates what it agrees to), the session state
//! machine, [`config`] and [`rng`].

pub mod close;
pub mod config;
mod connection;
pub mod frame;
pub mod handshake;
pub mod mask;
mod message;
mod output;
pub mod rng;
mod role;
mod sender;
mod session;
mod timer;
pub mod utf8;

pub use config::{Config, Limits};
pub use connection::Connection;
pub use frame::Opcode;
pub use role::Role;
pub use sender::Sender;
pub use session::{Event, Progress, ServerOptions, Session, State};
