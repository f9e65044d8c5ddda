//! The random source for masking keys and `Sec-WebSocket-Key` values.
//!
//! By default bytes come from the operating system's CSPRNG (`getrandom`).
//! Firmware without one installs its own source with [`set_source`].

use std::sync::{Arc, RwLock};

use crate::error::{Error, Result};

/// A host-supplied random source: fills the buffer, returns `false` on failure.
pub type Source = dyn Fn(&mut [u8]) -> bool + Send + Sync;

static SOURCE: RwLock<Option<Arc<Source>>> = RwLock::new(None);

/// Installs `source` for the whole process (`None` restores the OS source).
pub fn set_source(source: Option<Arc<Source>>) {
    *SOURCE.write().unwrap_or_else(|e| e.into_inner()) = source;
}

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) -> Result<()> {
    let source = SOURCE.read().unwrap_or_else(|e| e.into_inner()).clone();
    let ok = match source {
        Some(f) => f(buf),
        None => getrandom::fill(buf).is_ok(),
    };
    if ok { Ok(()) } else { Err(Error::Random) }
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
}
