//! Timers as data: a duration is armed at the next clock reading the host
//! passes in, then fires once that reading reaches its deadline.

/// One timer of a connection, in 8 bytes: off, pending (a duration waiting
/// for the next clock reading) or armed (a deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timer(u64);

const OFF: u64 = u64::MAX;
const PENDING: u64 = 1 << 63;

impl Timer {
    /// Not running.
    pub(crate) const OFF: Timer = Timer(OFF);

    /// A timer for `ms` milliseconds, or off when `ms` is 0 (no limit).
    pub(crate) fn start(ms: u32) -> Timer {
        if ms == 0 { Timer::OFF } else { Timer(PENDING | ms as u64) }
    }

    /// A timer for `ms` milliseconds from `now` (off when `ms` is 0).
    pub(crate) fn start_at(now: u64, ms: u32) -> Timer {
        let mut t = Timer::start(ms);
        t.arm(now);
        t
    }

    fn is_pending(self) -> bool {
        self.0 != OFF && self.0 & PENDING != 0
    }

    /// Fixes a pending timer's deadline at `now + ms`.
    pub(crate) fn arm(&mut self, now: u64) {
        if self.is_pending() {
            let ms = self.0 & !PENDING;
            self.0 = now.saturating_add(ms).min(PENDING - 1);
        }
    }

    /// Whether the timer has fired at `now` (it must have been armed).
    pub(crate) fn expired(self, now: u64) -> bool {
        self.0 & PENDING == 0 && now >= self.0
    }

    /// When the host should next read the clock for this timer: `Some(0)`
    /// ("now") for a pending timer.
    pub(crate) fn deadline(self) -> Option<u64> {
        match self.0 {
            OFF => None,
            t if t & PENDING != 0 => Some(0),
            t => Some(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_means_no_timer() {
        assert_eq!(Timer::start(0), Timer::OFF);
        assert_eq!(Timer::start(0).deadline(), None);
        assert!(!Timer::OFF.expired(u64::MAX - 1));
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

    #[test]
    fn deadlines_saturate_instead_of_wrapping() {
        let t = Timer::start_at(u64::MAX - 5, 100);
        assert_eq!(t.deadline(), Some(PENDING - 1));
        assert!(t.expired(u64::MAX - 1));
    }
}
