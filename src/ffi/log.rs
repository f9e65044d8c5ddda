//! `ews_set_log`: where the library's log lines go.

use std::ffi::{CString, c_char, c_int, c_void};
use std::sync::Arc;

use crate::ffi::errors::{EWS_EPANIC, EWS_OK};
use crate::ffi::panic::guard;
use crate::log::{self, Level};

/// Log nothing (the default).
pub const EWS_LOG_NONE: c_int = 0;
/// Log failures the host did not cause.
pub const EWS_LOG_ERROR: c_int = 1;
/// Also log unusual events (a peer breaking the protocol, a refused handshake).
pub const EWS_LOG_WARN: c_int = 2;
/// Also log connections and servers starting and stopping.
pub const EWS_LOG_INFO: c_int = 3;
/// Log everything.
pub const EWS_LOG_DEBUG: c_int = 4;

/// A log sink: called with `user`, the level (EWS_LOG_*) and a
/// NUL-terminated line (borrowed for the call), from whichever thread logs.
pub type ews_log_fn = Option<extern "C" fn(user: *mut c_void, level: c_int, message: *const c_char)>;

struct UserPtr(*mut c_void);
// SAFETY: ews_set_log's contract: the callback may be called from any
// thread with this pointer.
unsafe impl Send for UserPtr {}
// SAFETY: as above; ews only passes the pointer back to the host.
unsafe impl Sync for UserPtr {}

/// Sends the library's log lines at `level` (EWS_LOG_*) and more severe to
/// `callback`, for the whole process, until called again. Nothing is logged
/// by default; a NULL callback or EWS_LOG_NONE turns logging off. The
/// callback runs on whichever thread logs (the server loop, a client's
/// service thread, the caller) and must not call ews_set_log(). A line
/// being logged on another thread while this is called may still reach
/// the previous callback after it returns: keep that callback's `user`
/// valid until those threads are done (a server stopped and joined).
/// Levels are ordered values (0-4), not a bit mask as in libwebsockets'
/// lws_set_log_level(): a value above EWS_LOG_DEBUG logs everything.
/// Returns 0. Safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_set_log(level: c_int, callback: ews_log_fn, user: *mut c_void) -> c_int {
    guard(EWS_EPANIC, || {
        let sink = callback.map(|f| {
            let user = UserPtr(user);
            Arc::new(move |level: Level, message: &str| {
                let user = &user;
                let line = CString::new(message.replace('\0', " ")).unwrap_or_default();
                f(user.0, level as c_int, line.as_ptr());
            }) as Arc<log::Sink>
        });
        log::set(Level::from_i32(level), sink);
        EWS_OK
    })
}
