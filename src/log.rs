//! Library-wide logging: off by default, a host callback when enabled.
//!
//! Checking whether a level is enabled is one relaxed atomic load, so log
//! statements cost nothing measurable when logging is off.

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};

/// How much is logged; each level includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Nothing (the default).
    Off = 0,
    /// Failures of the library or a connection that the host did not cause.
    Error = 1,
    /// Unusual events: a peer breaking the protocol, a refused handshake.
    Warn = 2,
    /// Connections opening and closing, servers starting and stopping.
    Info = 3,
    /// Everything, including each frame.
    Debug = 4,
}

impl Level {
    /// The level for a number (values above 4 mean `Debug`, below 0 `Off`).
    pub fn from_i32(n: i32) -> Level {
        match n {
            i32::MIN..=0 => Level::Off,
            1 => Level::Error,
            2 => Level::Warn,
            3 => Level::Info,
            _ => Level::Debug,
        }
    }
}

/// A sink for log lines.
pub type Sink = dyn Fn(Level, &str) + Send + Sync;

static LEVEL: AtomicU8 = AtomicU8::new(Level::Off as u8);
static SINK: RwLock<Option<Arc<Sink>>> = RwLock::new(None);

/// Sets the level and the sink for the whole process; `None` or
/// `Level::Off` turns logging off.
pub fn set(level: Level, sink: Option<Arc<Sink>>) {
    let level = if sink.is_some() { level } else { Level::Off };
    *SINK.write().unwrap_or_else(|e| e.into_inner()) = sink;
    LEVEL.store(level as u8, Ordering::Release);
}

/// Whether messages at `level` are wanted.
#[inline]
pub fn enabled(level: Level) -> bool {
    level != Level::Off && level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Sends a message to the sink (use the `log!` macro, which checks the
/// level before formatting).
pub fn emit(level: Level, args: fmt::Arguments<'_>) {
    let sink = SINK.read().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(sink) = sink {
        sink(level, &args.to_string());
    }
}

/// Logs at a level: `log!(Info, "listening on {addr}")`.
#[allow(unused_macros)]
macro_rules! log {
    ($level:ident, $($arg:tt)+) => {
        if $crate::log::enabled($crate::log::Level::$level) {
            $crate::log::emit($crate::log::Level::$level, format_args!($($arg)+));
        }
    };
}
#[allow(unused_imports)]
pub(crate) use log;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn levels_filter_and_off_is_silent() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = lines.clone();
        set(Level::Warn, Some(Arc::new(move |l, m: &str| seen.lock().unwrap().push((l, m.to_owned())))));
        log!(Error, "e {}", 1);
        log!(Warn, "w");
        log!(Info, "i");
        set(Level::Off, None);
        log!(Error, "after");
        assert_eq!(*lines.lock().unwrap(), vec![(Level::Error, "e 1".to_owned()), (Level::Warn, "w".to_owned())]);
        assert!(!enabled(Level::Error));
    }
}
