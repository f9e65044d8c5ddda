//! The transport seam: the byte stream a driver runs a connection over.
//!
//! Every driver (the server's event loop, the URL client, attach) reads,
//! writes and waits only through [`Transport`], so a new kind of stream
//! (TLS, a host's own read/write callbacks) is one more implementation of
//! this trait and touches no driver. A transport knows nothing of
//! WebSocket: it moves bytes.
//!
//! The contract, for drivers and implementations alike:
//! - Calls never block: "nothing now" is `ErrorKind::WouldBlock`;
//!   interrupted system calls are retried inside.
//! - [`read`](Transport::read) returning 0 is the end of the stream. A read
//!   that fills less than the buffer means nothing more can be read until
//!   the transport is ready again, unless [`buffered`](Transport::buffered)
//!   says it holds input already (input the kernel no longer shows, such as
//!   decrypted records).
//! - A transport may hold output of its own (TLS records): the driver calls
//!   [`flush`](Transport::flush) after writing and whenever the transport
//!   becomes writable, and waits for what [`wants`](Transport::wants) asks
//!   (a transport may need to write in order to read, or the reverse).
//! - Writes never raise `SIGPIPE`: a peer that went away is `EPIPE`.

use std::io::{self, IoSlice};
use std::os::fd::RawFd;

use crate::io::deadline::{Deadline, wait_fds};

/// Directions to wait for: what a driver wants to do, or what a transport
/// needs to become ready for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Want {
    /// Reading.
    pub read: bool,
    /// Writing.
    pub write: bool,
}

/// A connected, non-blocking byte stream. See the [module](self) docs for
/// the contract.
pub trait Transport {
    /// Reads what is there into `buf`: the number of bytes, 0 at the end of
    /// the stream, `WouldBlock` when nothing is there now.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;

    /// Writes from `bufs`, in order, what fits now: the number of bytes
    /// taken, `WouldBlock` when none fit.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;

    /// Writes out output the transport holds itself: `Ok` once none is
    /// left, `WouldBlock` while some is. Plain sockets hold none.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// What to wait for so that the driver can do what it wants.
    fn wants(&self, want: Want) -> Want {
        want
    }

    /// Whether input is held that can be read without waiting.
    fn buffered(&self) -> bool {
        false
    }

    /// Ends the sending direction in order (the peer reads end of file
    /// after what was sent); reading goes on.
    fn shutdown_write(&mut self) -> io::Result<()>;

    /// The descriptors to wait on: (read side, write side); the same one
    /// for a socket.
    fn fds(&self) -> (RawFd, RawFd);
}

/// Writes `buf` (what fits now); see [`Transport::write_vectored`].
pub fn write<T: Transport + ?Sized>(t: &mut T, buf: &[u8]) -> io::Result<usize> {
    t.write_vectored(&[IoSlice::new(buf)])
}

/// Waits until `t` can do some of what is wanted, or the deadline passes
/// (`ErrorKind::TimedOut`); reports the directions to try. Held input is
/// ready at once.
pub fn wait<T: Transport + ?Sized>(t: &T, want: Want, deadline: Deadline) -> io::Result<Want> {
    if want.read && t.buffered() {
        return Ok(Want { read: true, write: false });
    }
    let need = t.wants(want);
    let (rfd, wfd) = t.fds();
    let ready = wait_fds(rfd, need.read, wfd, need.write, deadline)?;
    if need == want {
        return Ok(Want { read: ready.read, write: ready.write });
    }
    // The transport waits for something else than the driver (TLS writing
    // in order to read): any readiness lets it make progress, so the
    // driver tries what it wants.
    let any = ready.read || ready.write;
    Ok(Want { read: want.read && any, write: want.write && any })
}

/// Whether a transport error means the peer dropped the connection (a
/// reset, a broken pipe, an aborted connection), as opposed to a failure
/// of this end.
pub fn dropped(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionAborted)
}

/// What reading from a transport gave, as a driver acts on it.
#[derive(Debug)]
pub enum Input {
    /// This many bytes.
    Data(usize),
    /// Nothing now: wait for readiness.
    Blocked,
    /// The stream ended: end of file, or the peer dropped it.
    End,
    /// This end failed to read.
    Failed(io::Error),
}

/// Reads once from `t` into `buf` and says what it gave.
pub fn read_input<T: Transport + ?Sized>(t: &mut T, buf: &mut [u8]) -> Input {
    match t.read(buf) {
        Ok(0) => Input::End,
        Ok(n) => Input::Data(n),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Input::Blocked,
        Err(e) if dropped(&e) => Input::End,
        Err(e) => Input::Failed(e),
    }
}

/// Writes as much of `data` as `t` takes now, then what the transport holds
/// itself. Returns the bytes of `data` written; `WouldBlock` is not an
/// error (the count says how far it got).
pub fn write_out<T: Transport + ?Sized>(t: &mut T, data: &[u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < data.len() {
        match write(t, &data[done..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(done),
            Err(e) => return Err(e),
        }
    }
    match t.flush() {
        Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
        _ => Ok(done),
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    use super::*;

    /// A transport over one end of a socket pair whose needs the test sets.
    struct Mock {
        sock: UnixStream,
        held: bool,
        /// What it waits for when the driver wants to read.
        read_needs: Want,
    }

    impl Transport for Mock {
        fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
            Err(io::ErrorKind::WouldBlock.into())
        }

        fn write_vectored(&mut self, _bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            Err(io::ErrorKind::WouldBlock.into())
        }

        fn wants(&self, want: Want) -> Want {
            if want.read { self.read_needs } else { want }
        }

        fn buffered(&self) -> bool {
            self.held
        }

        fn shutdown_write(&mut self) -> io::Result<()> {
            Ok(())
        }

        fn fds(&self) -> (RawFd, RawFd) {
            (self.sock.as_raw_fd(), self.sock.as_raw_fd())
        }
    }

    fn mock(held: bool, read_needs: Want) -> (Mock, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        (Mock { sock: a, held, read_needs }, b)
    }

    const READ: Want = Want { read: true, write: false };

    #[test]
    fn held_input_is_ready_at_once() {
        let (t, _peer) = mock(true, READ);
        assert_eq!(wait(&t, READ, Deadline::NEVER).unwrap(), READ);
    }

    #[test]
    fn a_plain_transport_waits_for_what_the_driver_wants() {
        let (t, _peer) = mock(false, READ);
        // Nothing to read: the deadline passes.
        let e = wait(&t, READ, Deadline::after(20)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn a_transport_that_writes_in_order_to_read_is_woken_by_writability() {
        // Like TLS mid-handshake: reading needs the socket to be writable.
        let (t, _peer) = mock(false, Want { read: false, write: true });
        assert_eq!(wait(&t, READ, Deadline::after(2000)).unwrap(), READ);
    }

    #[test]
    fn resets_and_broken_pipes_are_the_peer_dropping_the_connection() {
        assert!(dropped(&io::ErrorKind::ConnectionReset.into()));
        assert!(dropped(&io::Error::from_raw_os_error(libc::EPIPE)));
        assert!(!dropped(&io::Error::from_raw_os_error(libc::EBADF)));
    }
}
