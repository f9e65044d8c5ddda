//! Finding and reaching the server: name resolution off the service
//! thread, and non-blocking TCP connects tried address by address.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};

use mio::Waker;

use crate::error::Error;
use crate::log::log;

/// The outcome of a resolution, filled in by the resolver thread.
pub(crate) type Slot = Arc<Mutex<Option<Result<Vec<SocketAddr>, Error>>>>;

/// Resolves `host` (a name or an IP literal) for `port`. A literal is
/// answered at once; a name is looked up on a short-lived thread (the
/// system resolver blocks) that fills the slot and wakes the loop.
pub(crate) fn resolve(host: &str, port: u16, waker: Arc<Waker>) -> Result<Slot, Error> {
    let slot: Slot = Arc::new(Mutex::new(None));
    if let Ok(ip) = host.parse::<IpAddr>() {
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(Ok(vec![SocketAddr::new(ip, port)]));
        return Ok(slot);
    }
    let (name, filled) = (host.to_owned(), slot.clone());
    std::thread::Builder::new()
        .name("ews-resolve".into())
        .spawn(move || {
            let result = match (name.as_str(), port).to_socket_addrs() {
                Ok(addrs) => {
                    let addrs: Vec<SocketAddr> = addrs.collect();
                    if addrs.is_empty() { Err(Error::Resolve) } else { Ok(addrs) }
                }
                Err(e) => {
                    log!(Warn, "client: resolving {name}: {e}");
                    Err(Error::Resolve)
                }
            };
            *filled.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            let _ = waker.wake();
        })
        .map_err(Error::from)?;
    Ok(slot)
}

/// The error of a failed connect attempt.
pub(crate) fn connect_error(e: &io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => Error::ConnectionRefused,
        Some(libc::ETIMEDOUT) => Error::ConnectTimeout,
        Some(errno) => Error::ConnectFailed(errno),
        None => Error::ConnectFailed(0),
    }
}
