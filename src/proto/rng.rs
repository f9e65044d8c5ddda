//! The random source for masking keys and `Sec-WebSocket-Key` values.
//!
//! By default bytes come from the operating system's CSPRNG (`getrandom`),
//! drawn 256 bytes at a time into a per-thread pool so that a masking key
//! costs a copy, not a system call. A forked child never reuses its
//! parent's pool: a fork handler bumps a generation that every pool checks.
//! Firmware without a CSPRNG installs its own source with [`set_source`];
//! it is called for every request, unpooled.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Once, RwLock};

use crate::error::{Error, Result};

/// A host-supplied random source: fills the buffer, returns `false` on failure.
pub type Source = dyn Fn(&mut [u8]) -> bool + Send + Sync;

static SOURCE: RwLock<Option<Arc<Source>>> = RwLock::new(None);
/// Whether a host source is installed (skips the lock when not).
static CUSTOM: AtomicBool = AtomicBool::new(false);
/// Bumped in every forked child.
static FORKS: AtomicU64 = AtomicU64::new(0);
static FORK_HANDLER: Once = Once::new();

const POOL: usize = 256;

struct Pool {
    bytes: [u8; POOL],
    used: usize,
    generation: u64,
}

thread_local! {
    static PER_THREAD: RefCell<Pool> = const { RefCell::new(Pool { bytes: [0; POOL], used: POOL, generation: 0 }) };
}

extern "C" fn after_fork_in_child() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

fn watch_forks() {
    FORK_HANDLER.call_once(|| {
        // SAFETY: registers a handler that only increments an atomic, which
        // is async-signal-safe as a fork handler must be; the two other
        // handlers are absent (NULL).
        unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
    });
}

/// Installs `source` for the whole process (`None` restores the OS source).
pub fn set_source(source: Option<Arc<Source>>) {
    let custom = source.is_some();
    *SOURCE.write().unwrap_or_else(|e| e.into_inner()) = source;
    CUSTOM.store(custom, Ordering::Release);
}

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) -> Result<()> {
    if CUSTOM.load(Ordering::Acquire) {
        // Cloned out first: the lock is not held while the host's callback
        // runs (it may install another source).
        let source = SOURCE.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(f) = source {
            return if f(buf) { Ok(()) } else { Err(Error::Random) };
        }
    }
    if buf.len() > POOL / 4 {
        return getrandom::fill(buf).map_err(|_| Error::Random);
    }
    watch_forks();
    PER_THREAD.with(|pool| {
        let mut pool = pool.borrow_mut();
        let generation = FORKS.load(Ordering::Relaxed);
        if pool.used + buf.len() > POOL || pool.generation != generation {
            getrandom::fill(&mut pool.bytes).map_err(|_| Error::Random)?;
            pool.used = 0;
            pool.generation = generation;
        }
        let start = pool.used;
        buf.copy_from_slice(&pool.bytes[start..start + buf.len()]);
        // Bytes handed out are not kept.
        pool.bytes[start..start + buf.len()].fill(0);
        pool.used += buf.len();
        Ok(())
    })
}

/// A fresh 4-byte masking key.
pub fn masking_key() -> Result<[u8; 4]> {
    let mut key = [0u8; 4];
    fill(&mut key)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_masking_keys_differ() {
        let keys: Vec<[u8; 4]> = (0..8).map(|_| masking_key().unwrap()).collect();
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert!(distinct.len() > 1, "eight equal keys from the OS CSPRNG: {keys:?}");
    }

    #[test]
    fn keys_across_pool_refills_are_all_fresh() {
        // 200 keys span several refills of the 256-byte pool.
        let keys: std::collections::HashSet<[u8; 4]> = (0..200).map(|_| masking_key().unwrap()).collect();
        assert!(keys.len() > 190, "only {} distinct keys of 200", keys.len());
    }

    #[test]
    fn large_requests_bypass_the_pool() {
        let mut a = [0u8; 128];
        let mut b = [0u8; 128];
        fill(&mut a).unwrap();
        fill(&mut b).unwrap();
        assert_ne!(a, b);
    }
}
