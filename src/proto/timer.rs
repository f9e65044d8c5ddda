//! Timers as data: a duration is armed at the next clock reading the host
//! passes in, then fires once that reading reaches its deadline.

/// One timer of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Timer {
    /// Not running.
    #[default]
    Off,
    /// Runs for this many milliseconds from the next clock reading.
    Pending(u32),
    /// Fires at this time (milliseconds on the host's clock).
    At(u64),
}

impl Timer {
    /// A timer for `ms` milliseconds, or `Off` when `ms` is 0 (no limit).
    pub(crate) fn start(ms: u32) -> Timer {
        if ms == 0 { Timer::Off } else { Timer::Pending(ms) }
    }

    /// Fixes a pending timer's deadline at `now + ms`.
    pub(crate) fn arm(&mut self, now: u64) {
        if let Timer::Pending(ms) = *self {
            *self = Timer::At(now.saturating_add(ms as u64));
        }
    }

    /// Whether the timer has fired at `now` (it must have been armed).
    pub(crate) fn expired(&self, now: u64) -> bool {
        matches!(*self, Timer::At(t) if now >= t)
    }

    /// When the host should next read the clock for this timer: `Some(0)`
    /// ("now") for a pending timer.
    pub(crate) fn deadline(&self) -> Option<u64> {
        match *self {
            Timer::Off => None,
            Timer::Pending(_) => Some(0),
            Timer::At(t) => Some(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_means_no_timer() {
        assert_eq!(Timer::start(0), Timer::Off);
        assert_eq!(Timer::start(0).deadline(), None);
    }

    #[test]
    fn pending_timer_asks_for_the_clock_then_fires_at_its_deadline() {
        let mut t = Timer::start(100);
        assert_eq!(t.deadline(), Some(0));
        assert!(!t.expired(1_000_000));
        t.arm(1000);
        assert_eq!(t.deadline(), Some(1100));
        assert!(!t.expired(1099));
        assert!(t.expired(1100));
        t.arm(5000);
        assert_eq!(t.deadline(), Some(1100), "arming twice keeps the first deadline");
    }
}
