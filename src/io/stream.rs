//! A file descriptor used as a byte stream, with absolute deadlines: the
//! transport of descriptors the host keeps (attach), one for a socket or
//! two for a pipe pair.
//!
//! Deadlines are points on the [`now_ms`] clock ([`crate::io::deadline`]).
//! Waiting is `poll(2)`; the descriptors are switched to
//! non-blocking mode while attached and get their old flags back when
//! released. Writes never raise `SIGPIPE`: sockets are written with
//! `MSG_NOSIGNAL`, other descriptors (pipes) with `SIGPIPE` blocked on the
//! calling thread for the duration of the write.

use std::io::{self, IoSlice};
use std::os::fd::RawFd;

pub use crate::io::deadline::{Deadline, Ready, now_ms, wait_fd, wait_fds};
use crate::io::socket::send_vectored;
use crate::io::transport::Transport;

/// Whether an error means "try again later".
pub fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// Reads what is there without blocking (`ErrorKind::WouldBlock` when
/// nothing is); 0 is end of file. Interrupted reads resume.
pub fn read_fd(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Writes what fits without blocking (`ErrorKind::WouldBlock` when
/// nothing does), never raising `SIGPIPE`; `socket` says whether `fd` is a
/// socket. Interrupted writes resume.
pub fn write_fd(fd: RawFd, socket: bool, buf: &[u8]) -> io::Result<usize> {
    loop {
        let r = if socket {
            // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
            let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
            if n >= 0 { Ok(n as usize) } else { Err(io::Error::last_os_error()) }
        } else {
            write_without_sigpipe(fd, buf)
        };
        match r {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

/// `write(2)` with `SIGPIPE` blocked on this thread; a `SIGPIPE` the write
/// raised is taken off the pending set before the old mask comes back.
fn write_without_sigpipe(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: plain calls on valid, initialised signal sets and a buffer
    // valid for `buf.len()` bytes.
    unsafe {
        let mut pipe_set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pipe_set);
        libc::sigaddset(&mut pipe_set, libc::SIGPIPE);
        libc::sigemptyset(&mut pending);
        libc::sigpending(&mut pending);
        let already = libc::sigismember(&pending, libc::SIGPIPE) == 1;
        libc::pthread_sigmask(libc::SIG_BLOCK, &pipe_set, &mut old);
        let n = libc::write(fd, buf.as_ptr().cast(), buf.len());
        let r = if n >= 0 { Ok(n as usize) } else { Err(io::Error::last_os_error()) };
        if r.as_ref().is_err_and(|e| e.raw_os_error() == Some(libc::EPIPE)) && !already {
            let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            libc::sigtimedwait(&pipe_set, std::ptr::null_mut(), &zero);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        r
    }
}

/// Whether `fd` is a socket.
pub fn is_socket(fd: RawFd) -> bool {
    // SAFETY: `st` is a valid stat buffer to write.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstat(fd, &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFSOCK
    }
}

/// Sets `O_NONBLOCK` on `fd` and returns its previous file status flags.
fn set_nonblocking(fd: RawFd) -> io::Result<libc::c_int> {
    // SAFETY: fcntl on a descriptor number; an invalid one gives EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if flags & libc::O_NONBLOCK == 0 && unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(flags)
}

fn restore_flags(fd: RawFd, flags: libc::c_int) {
    // SAFETY: fcntl on a descriptor number; failure leaves it unchanged.
    unsafe { libc::fcntl(fd, libc::F_SETFL, flags) };
}

/// A connected byte stream on one descriptor (a socket) or two (a pipe
/// pair: one to read, one to write). The descriptors stay the caller's:
/// an `FdStream` never closes them; releasing or dropping it gives them
/// back their old flags.
#[derive(Debug)]
pub struct FdStream {
    rfd: RawFd,
    wfd: RawFd,
    socket: bool,
    saved: [libc::c_int; 2],
}

impl FdStream {
    /// Uses `rfd` for reading and `wfd` for writing (the same descriptor
    /// for a socket), switching them to non-blocking mode.
    pub fn attach(rfd: RawFd, wfd: RawFd) -> io::Result<FdStream> {
        if rfd < 0 || wfd < 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let r = set_nonblocking(rfd)?;
        let w = if wfd == rfd {
            r
        } else {
            match set_nonblocking(wfd) {
                Ok(w) => w,
                Err(e) => {
                    restore_flags(rfd, r);
                    return Err(e);
                }
            }
        };
        Ok(FdStream { rfd, wfd, socket: is_socket(wfd), saved: [r, w] })
    }

    /// The descriptor read from.
    pub fn read_fd(&self) -> RawFd {
        self.rfd
    }

    /// The descriptor written to.
    pub fn write_fd(&self) -> RawFd {
        self.wfd
    }

    /// Reads what is there without blocking; see [`read_fd`].
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        read_fd(self.rfd, buf)
    }

    /// Writes what fits without blocking; see [`write_fd`].
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        write_fd(self.wfd, self.socket, buf)
    }

    /// Waits for readability and/or writability; see [`wait_fds`].
    pub fn wait(&self, read: bool, write: bool, deadline: Deadline) -> io::Result<Ready> {
        wait_fds(self.rfd, read, self.wfd, write, deadline)
    }

    /// Reads at least one byte, waiting up to `deadline`
    /// (`ErrorKind::TimedOut`); 0 is end of file.
    pub fn read(&self, buf: &mut [u8], deadline: Deadline) -> io::Result<usize> {
        loop {
            match self.try_read(buf) {
                Err(e) if would_block(&e) => {
                    self.wait(true, false, deadline)?;
                }
                r => return r,
            }
        }
    }

    /// Writes at least one byte of a non-empty `buf`, waiting up to
    /// `deadline` (`ErrorKind::TimedOut`).
    pub fn write(&self, buf: &[u8], deadline: Deadline) -> io::Result<usize> {
        loop {
            match self.try_write(buf) {
                Err(e) if would_block(&e) => {
                    self.wait(false, true, deadline)?;
                }
                r => return r,
            }
        }
    }

    /// Gives the descriptors back with their old flags; returns the one
    /// read from.
    pub fn release(self) -> RawFd {
        self.rfd
        // Drop restores the flags.
    }
}

impl Transport for FdStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_read(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match bufs {
            [one] => self.try_write(one),
            _ if self.socket => loop {
                match send_vectored(self.wfd, bufs) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    r => return r,
                }
            },
            // A pipe: the first buffer with bytes (callers write the rest next).
            _ => bufs.iter().find(|b| !b.is_empty()).map_or(Ok(0), |b| self.try_write(b)),
        }
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        if !self.socket {
            // A pipe ends when its descriptor is closed, which is the host's.
            return Ok(());
        }
        // SAFETY: shutdown on a descriptor number; an invalid one gives EBADF.
        if unsafe { libc::shutdown(self.wfd, libc::SHUT_WR) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn fds(&self) -> (RawFd, RawFd) {
        (self.rfd, self.wfd)
    }
}

impl Drop for FdStream {
    fn drop(&mut self) {
        restore_flags(self.rfd, self.saved[0]);
        if self.wfd != self.rfd {
            restore_flags(self.wfd, self.saved[1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipe() -> (RawFd, RawFd) {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        (fds[0], fds[1])
    }

    fn close(fd: RawFd) {
        // SAFETY: the test owns `fd`.
        unsafe { libc::close(fd) };
    }

    #[test]
    fn the_clock_is_monotonic_and_in_milliseconds() {
        let a = now_ms();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = now_ms();
        assert!(b - a >= 20 && b - a < 2000, "{a} {b}");
    }

    #[test]
    fn a_passed_deadline_reports_only_what_is_ready() {
        let (r, w) = pipe();
        let s = FdStream::attach(r, w).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(s.read(&mut buf, Deadline::NOW).unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert_eq!(s.write(b"abc", Deadline::NOW).unwrap(), 3);
        assert_eq!(s.read(&mut buf, Deadline::NOW).unwrap(), 3);
        drop(s);
        close(r);
        close(w);
    }

    #[test]
    fn a_finite_deadline_waits_about_that_long() {
        let (r, w) = pipe();
        let s = FdStream::attach(r, w).unwrap();
        let start = now_ms();
        let mut buf = [0u8; 8];
        assert_eq!(s.read(&mut buf, Deadline::after(100)).unwrap_err().kind(), io::ErrorKind::TimedOut);
        let took = now_ms() - start;
        assert!((95..2000).contains(&took), "waited {took} ms");
        drop(s);
        close(r);
        close(w);
    }

    #[test]
    fn releasing_restores_the_blocking_flag() {
        let (r, w) = pipe();
        // SAFETY: fcntl on descriptors the test owns.
        let flags = |fd| unsafe { libc::fcntl(fd, libc::F_GETFL) };
        let before = flags(r);
        let s = FdStream::attach(r, w).unwrap();
        assert_ne!(flags(r) & libc::O_NONBLOCK, 0);
        assert_eq!(s.release(), r);
        assert_eq!(flags(r), before);
        close(r);
        close(w);
    }

    #[test]
    fn writing_to_a_pipe_without_reader_is_epipe_not_a_signal() {
        let (r, w) = pipe();
        close(r);
        let s = FdStream::attach(w, w).unwrap();
        let e = s.write(b"x", Deadline::NEVER).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPIPE));
        drop(s);
        close(w);
    }

    #[test]
    fn earlier_deadline_wins_and_never_loses() {
        assert_eq!(Deadline::at(5).min(Deadline::NEVER), Deadline::at(5));
        assert_eq!(Deadline::NEVER.min(Deadline::at(7)), Deadline::at(7));
        assert_eq!(Deadline::at(9).min(Deadline::at(7)), Deadline::at(7));
        assert!(Deadline::at(-5).is_never());
    }
}
