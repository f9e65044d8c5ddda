//! Delays between reconnection attempts: exponential, capped, jittered.

use crate::proto::rng;

/// When and how often a client reconnects after losing its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    /// The delay before the first attempt, in milliseconds (at least 1).
    pub min_delay_ms: u32,
    /// The longest delay; each failed attempt doubles the delay up to it.
    pub max_delay_ms: u32,
    /// Attempts in a row without reaching the open state before the
    /// client gives up (0: never give up).
    pub max_attempts: u32,
}

impl Default for Reconnect {
    fn default() -> Reconnect {
        Reconnect { min_delay_ms: 500, max_delay_ms: 30_000, max_attempts: 0 }
    }
}

/// The attempt count and the next delay.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    policy: Reconnect,
    /// Attempts since the client was last open.
    failures: u32,
}

impl Backoff {
    pub(crate) fn new(policy: Reconnect) -> Backoff {
        Backoff { policy, failures: 0 }
    }

    /// The connection opened: the next loss starts from the shortest delay.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }

    /// The delay before the next attempt, or `None` when the attempts are
    /// used up. The delay is `min * 2^n` capped at `max`, then drawn
    /// uniformly from its upper half so that many clients do not come
    /// back in step.
    pub(crate) fn next_delay(&mut self) -> Option<u64> {
        if self.policy.max_attempts != 0 && self.failures >= self.policy.max_attempts {
            return None;
        }
        let min = u64::from(self.policy.min_delay_ms.max(1));
        let max = u64::from(self.policy.max_delay_ms).max(min);
        let base = min.saturating_mul(1u64 << self.failures.min(32)).min(max);
        self.failures = self.failures.saturating_add(1);
        let mut r = [0u8; 8];
        let jitter = if rng::fill(&mut r).is_ok() { u64::from_le_bytes(r) % (base / 2 + 1) } else { 0 };
        Some(base - base / 2 + jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_within_their_upper_half() {
        let mut b = Backoff::new(Reconnect { min_delay_ms: 100, max_delay_ms: 1000, max_attempts: 0 });
        for base in [100u64, 200, 400, 800, 1000, 1000] {
            let d = b.next_delay().unwrap();
            assert!((base / 2..=base).contains(&d), "{d} not in the upper half of {base}");
        }
        b.reset();
        assert!(b.next_delay().unwrap() <= 100);
    }

    #[test]
    fn attempts_run_out_when_limited() {
        let mut b = Backoff::new(Reconnect { min_delay_ms: 1, max_delay_ms: 1, max_attempts: 2 });
        assert!(b.next_delay().is_some());
        assert!(b.next_delay().is_some());
        assert_eq!(b.next_delay(), None);
        b.reset();
        assert!(b.next_delay().is_some());
    }
}
