//! The library version.

use std::ffi::c_char;

use crate::ffi::panic::guard;

/// The version of the library as a static string, e.g. "0.1.0".
///
/// Compare with EWS_VERSION_STRING to check that the header and the
/// library match. Safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    guard(VERSION.as_ptr().cast(), || VERSION.as_ptr().cast())
}
