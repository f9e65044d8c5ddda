//! The C boundary: every `extern "C"` function of `include/ews.h`.
//!
//! One module per C "class". This layer owns the C structs (the option
//! structs are converted into the core's types here: the core's types are
//! not the ABI), checks arguments, converts pointers (through [`ptr`], and
//! the structs that grow through [`sized`]; the few other `unsafe` blocks
//! take back handles or descriptors, each with its `// SAFETY:`), catches
//! panics ([`mod@panic`]) and maps errors to `EWS_E*` codes ([`errors`]);
//! the protocol logic stays in [`crate::proto`].
//!
//! The exports are safe Rust functions taking raw pointers: their contract
//! is the C one written in the header, which Rust cannot express.
#![allow(non_camel_case_types, clippy::not_unsafe_ptr_arg_deref)]

pub mod attach;
pub mod client;
pub mod conn;
pub mod errors;
pub mod event;
pub mod helpers;
pub mod log;
pub mod options;
pub mod panic;
pub mod ptr;
pub mod server;
pub mod sized;
pub mod sock_messages;
pub mod strings;
pub mod uri;
pub mod version;
pub mod wss;
