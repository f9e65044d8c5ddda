//! Error codes of the C API and the one place that maps Rust errors to them.

use std::ffi::{c_char, c_int};

use crate::error::{Category, Error};
use crate::ffi::panic::guard;

/// Success.
pub const EWS_OK: c_int = 0;
/// An argument was invalid (a NULL object, a NULL buffer with a length, a
/// string that is not UTF-8, a value out of range).
pub const EWS_EINVAL: c_int = -1;
/// Memory could not be allocated.
pub const EWS_ENOMEM: c_int = -2;
/// An internal error in ews (a bug): the call was abandoned safely.
pub const EWS_EPANIC: c_int = -3;
/// The call is not allowed in the object's current state (sending before
/// the handshake completed or after a close frame, ...).
pub const EWS_ESTATE: c_int = -4;
/// The peer broke the WebSocket protocol (close code 1002), or a message
/// had the wrong type for a typed receive.
pub const EWS_EPROTO: c_int = -5;
/// A text message or close reason was not valid UTF-8 (close code 1007).
pub const EWS_EUTF8: c_int = -6;
/// A frame or message exceeded a configured limit (close code 1009).
pub const EWS_ETOOBIG: c_int = -7;
/// The opening handshake failed; the object's detail string says how.
pub const EWS_EHANDSHAKE: c_int = -8;
/// A deadline or timeout passed (handshake, close, keepalive, a call's deadline).
pub const EWS_ETIMEDOUT: c_int = -9;
/// The connection was closed with a closing handshake.
pub const EWS_ECLOSED: c_int = -10;
/// The connection dropped without a closing handshake (close code 1006).
pub const EWS_EDROPPED: c_int = -11;
/// The operation would block; try again later.
pub const EWS_EAGAIN: c_int = -12;
/// The transport failed (see errno), or the random source failed.
pub const EWS_EIO: c_int = -13;
/// An output buffer was too small.
pub const EWS_ENOSPC: c_int = -14;
/// The feature is not supported by this build.
pub const EWS_ENOTSUP: c_int = -15;
/// A host name could not be resolved.
pub const EWS_ERESOLVE: c_int = -16;
/// The peer refused the connection.
pub const EWS_ECONNREFUSED: c_int = -17;
/// A connection limit was reached.
pub const EWS_ELIMIT: c_int = -18;

/// The `EWS_E*` code for an error of the core.
pub(crate) fn code_of(e: &Error) -> c_int {
    match e.category() {
        Category::Protocol => EWS_EPROTO,
        Category::Utf8 => EWS_EUTF8,
        Category::TooBig => EWS_ETOOBIG,
        Category::Handshake => EWS_EHANDSHAKE,
        Category::Timeout => EWS_ETIMEDOUT,
        Category::Dropped => EWS_EDROPPED,
        Category::Invalid => EWS_EINVAL,
        Category::State => EWS_ESTATE,
        Category::Io => EWS_EIO,
        Category::Closed => EWS_ECLOSED,
        Category::WouldBlock => EWS_EAGAIN,
        Category::Limit => EWS_ELIMIT,
        Category::Resolve => EWS_ERESOLVE,
        Category::Refused => EWS_ECONNREFUSED,
        Category::NoSpace => EWS_ENOSPC,
        Category::WrongType => EWS_EPROTO,
        Category::NotSupported => EWS_ENOTSUP,
    }
}

/// 0 for `Ok`, the `EWS_E*` code for an error.
pub(crate) fn result_code(r: crate::Result<()>) -> c_int {
    match r {
        Ok(()) => EWS_OK,
        Err(e) => code_of(&e),
    }
}

/// Describes an `EWS_E*` code (or 0) in a few words.
///
/// Returns a static, NUL-terminated string; an unknown code gives
/// "unknown error". Safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_strerror(code: c_int) -> *const c_char {
    guard(c"internal error".as_ptr(), || {
        let s = match code {
            EWS_OK => c"success",
            EWS_EINVAL => c"invalid argument",
            EWS_ENOMEM => c"out of memory",
            EWS_EPANIC => c"internal error",
            EWS_ESTATE => c"not allowed in the current state",
            EWS_EPROTO => c"protocol error",
            EWS_EUTF8 => c"invalid UTF-8",
            EWS_ETOOBIG => c"frame or message too big",
            EWS_EHANDSHAKE => c"handshake failed",
            EWS_ETIMEDOUT => c"timed out",
            EWS_ECLOSED => c"connection closed",
            EWS_EDROPPED => c"connection dropped",
            EWS_EAGAIN => c"operation would block",
            EWS_EIO => c"I/O error",
            EWS_ENOSPC => c"buffer too small",
            EWS_ENOTSUP => c"not supported",
            EWS_ERESOLVE => c"name resolution failed",
            EWS_ECONNREFUSED => c"connection refused",
            EWS_ELIMIT => c"limit reached",
            _ => c"unknown error",
        };
        s.as_ptr()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn every_code_has_its_own_description() {
        let codes = (-18..=0).collect::<Vec<c_int>>();
        let texts: std::collections::HashSet<&str> =
            codes.iter().map(|&c| unsafe { CStr::from_ptr(ews_strerror(c)) }.to_str().unwrap()).collect();
        assert_eq!(texts.len(), codes.len());
        assert!(!texts.contains("unknown error"));
        let unknown = unsafe { CStr::from_ptr(ews_strerror(-999)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown error");
    }

    #[test]
    fn protocol_errors_map_to_their_close_code_families() {
        assert_eq!(code_of(&Error::ReservedBits), EWS_EPROTO);
        assert_eq!(code_of(&Error::InvalidUtf8), EWS_EUTF8);
        assert_eq!(code_of(&Error::MessageTooBig), EWS_ETOOBIG);
        assert_eq!(code_of(&Error::Dropped), EWS_EDROPPED);
        assert_eq!(code_of(&Error::HandshakeTimeout), EWS_ETIMEDOUT);
    }
}
