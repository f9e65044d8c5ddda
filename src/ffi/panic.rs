//! Keeping Rust panics from unwinding into C.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `body`; if it panics, returns `default` instead of unwinding
/// across the C boundary. Every export runs its body through this.
pub(crate) fn guard<T>(default: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_default() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = guard(-3, || -> i32 { panic!("bug") });
        std::panic::set_hook(prev);
        assert_eq!(r, -3);
        assert_eq!(guard(-3, || 7), 7);
    }
}
