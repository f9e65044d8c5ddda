//! Time as drivers wait on it: milliseconds on `CLOCK_MONOTONIC`
//! ([`now_ms`]), a [`Deadline`] as a point on that clock ([`Deadline::NEVER`]
//! waits forever, a point already passed, such as 0, means "only what can
//! be done without blocking"), and waiting for descriptors with `poll(2)`
//! until one.

use std::io;
use std::os::fd::RawFd;

/// The current time in milliseconds on the monotonic clock.
// `time_t` and `c_long` are 32 bits wide on some targets.
#[allow(clippy::useless_conversion)]
pub fn now_ms() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_MONOTONIC exists on
    // every supported system, so the call cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    i64::from(ts.tv_sec) * 1000 + i64::from(ts.tv_nsec) / 1_000_000
}

/// A point in time on the [`now_ms`] clock by which a call must finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(i64);

impl Deadline {
    /// No deadline: wait as long as it takes.
    pub const NEVER: Deadline = Deadline(-1);
    /// Do only what is possible without blocking.
    pub const NOW: Deadline = Deadline(0);

    /// The deadline at `ms` on the [`now_ms`] clock; any negative value is
    /// [`Deadline::NEVER`], any point already passed means "now".
    pub fn at(ms: i64) -> Deadline {
        Deadline(ms.max(-1))
    }

    /// The deadline `ms` milliseconds from now.
    pub fn after(ms: u64) -> Deadline {
        Deadline(now_ms().saturating_add(ms.min(i64::MAX as u64) as i64))
    }

    /// The earlier of two deadlines.
    pub fn min(self, other: Deadline) -> Deadline {
        match (self.is_never(), other.is_never()) {
            (true, _) => other,
            (_, true) => self,
            _ => Deadline(self.0.min(other.0)),
        }
    }

    /// Whether this is [`Deadline::NEVER`].
    pub fn is_never(self) -> bool {
        self.0 < 0
    }

    /// The time in milliseconds, or -1 for [`Deadline::NEVER`].
    pub fn ms(self) -> i64 {
        self.0
    }

    /// The `poll(2)` timeout that ends at this deadline: -1 for never,
    /// `None` once it has passed.
    pub fn poll_timeout(self) -> Option<libc::c_int> {
        if self.is_never() {
            return Some(-1);
        }
        let left = self.0 - now_ms();
        (left > 0).then(|| left.min(libc::c_int::MAX as i64) as libc::c_int)
    }
}

/// Which directions a descriptor is ready for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready {
    /// Reading will not block (data, end of file or an error).
    pub read: bool,
    /// Writing will not block (room, or an error).
    pub write: bool,
}

/// Waits until `fd` is ready for reading (`read`) or writing (`write`),
/// or the deadline passes (`ErrorKind::TimedOut`). With neither asked for,
/// waits for the deadline. Interrupted waits resume.
pub fn wait_fd(fd: RawFd, read: bool, write: bool, deadline: Deadline) -> io::Result<Ready> {
    wait_fds(fd, read, fd, write, deadline)
}

/// Like [`wait_fd`] with the read and write directions on two descriptors
/// (a pipe pair).
pub fn wait_fds(rfd: RawFd, read: bool, wfd: RawFd, write: bool, deadline: Deadline) -> io::Result<Ready> {
    let ev = |on: bool, bits: libc::c_short| if on { bits } else { 0 };
    let mut fds = [
        libc::pollfd { fd: rfd, events: ev(read, libc::POLLIN), revents: 0 },
        libc::pollfd { fd: wfd, events: ev(write, libc::POLLOUT), revents: 0 },
    ];
    let n: libc::nfds_t = if rfd == wfd {
        fds[0].events |= fds[1].events;
        1
    } else {
        2
    };
    loop {
        let Some(timeout) = deadline.poll_timeout() else {
            // Passed: still report what is ready right now.
            return match poll(&mut fds[..n as usize], 0)? {
                0 => Err(io::ErrorKind::TimedOut.into()),
                _ => Ok(ready_of(&fds[..n as usize], read, write)),
            };
        };
        match poll(&mut fds[..n as usize], timeout) {
            Ok(0) => {}
            Ok(_) => return Ok(ready_of(&fds[..n as usize], read, write)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn poll(fds: &mut [libc::pollfd], timeout: libc::c_int) -> io::Result<usize> {
    // SAFETY: `fds` is a valid, writable array of `fds.len()` pollfd.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
}

fn ready_of(fds: &[libc::pollfd], read: bool, write: bool) -> Ready {
    let bad = libc::POLLERR | libc::POLLHUP | libc::POLLNVAL;
    let (r, w) = (fds[0].revents, fds.get(1).map_or(fds[0].revents, |f| f.revents));
    Ready { read: read && r & (libc::POLLIN | bad) != 0, write: write && w & (libc::POLLOUT | bad) != 0 }
}
