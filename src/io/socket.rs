//! The plain socket transport: a connected stream socket (TCP or Unix)
//! that the connection owns and closes.
//!
//! It is as small as a descriptor (an event loop holds one per
//! connection). Reads are `read(2)`; writes are `send(2)` / `sendmsg(2)`
//! with `MSG_NOSIGNAL`, so a peer that went away is `EPIPE`, never a
//! `SIGPIPE` in the host.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::io::transport::Transport;

/// A connected stream socket. Kept as a `TcpStream`, whose read, send and
/// shutdown are the plain socket calls for either kind of socket.
#[derive(Debug)]
pub struct Socket(TcpStream);

impl Socket {
    /// Takes over a connected socket: makes it non-blocking and, for TCP,
    /// turns off Nagle's algorithm (frames are written whole).
    pub fn adopt(fd: OwnedFd) -> io::Result<Socket> {
        let s = TcpStream::from(fd);
        s.set_nonblocking(true)?;
        let _ = s.set_nodelay(true); // fails harmlessly on Unix sockets
        Ok(Socket(s))
    }

    /// The descriptor.
    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// The peer's address, for TCP sockets. An IPv4 peer of a dual-stack
    /// (`[::]`) listener is reported as the IPv4 address it is.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.0.peer_addr().ok().map(canonical)
    }

    /// Writes `data` with a short blocking timeout: for a last answer on a
    /// fresh socket that is then closed (best effort).
    pub fn write_last(&self, data: &[u8], timeout: std::time::Duration) -> io::Result<()> {
        self.0.set_nonblocking(false)?;
        self.0.set_write_timeout(Some(timeout))?;
        (&self.0).write_all(data)?;
        self.0.shutdown(Shutdown::Write)
    }
}

impl Transport for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match (&self.0).read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        loop {
            let r = match bufs {
                // `send` with MSG_NOSIGNAL (std's socket write).
                [one] => (&self.0).write(one),
                _ => send_vectored(self.fd(), bufs),
            };
            match r {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.0.shutdown(Shutdown::Write)
    }

    fn fds(&self) -> (RawFd, RawFd) {
        (self.fd(), self.fd())
    }
}

/// `sendmsg(2)` of several buffers with `MSG_NOSIGNAL`.
pub(crate) fn send_vectored(fd: RawFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    // SAFETY: an all-zero msghdr is valid (no name, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // IoSlice is guaranteed ABI-compatible with iovec on Unix; sendmsg only
    // reads the buffers.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len().min(libc::c_int::MAX as usize) as _;
    // SAFETY: `msg` points at `bufs`, valid for reads for the call.
    let n = unsafe { libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
}

/// An IPv4 client of a dual-stack (`[::]`) listener arrives as an
/// IPv4-mapped IPv6 address (`::ffff:192.0.2.1`); it is reported as the
/// IPv4 address it is.
pub(crate) fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::from((v4, a.port())),
            None => addr,
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::transport::{Input, read_input, write_out};

    fn pair() -> (Socket, std::os::unix::net::UnixStream) {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        (Socket::adopt(OwnedFd::from(a)).unwrap(), b)
    }

    #[test]
    fn vectored_writes_arrive_in_order() {
        let (mut s, mut peer) = pair();
        let n = s.write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"cde")]).unwrap();
        assert_eq!(n, 5);
        let mut buf = [0u8; 8];
        assert_eq!(peer.read(&mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"abcde");
    }

    #[test]
    fn an_empty_socket_blocks_and_a_closed_peer_ends_the_input() {
        let (mut s, peer) = pair();
        let mut buf = [0u8; 8];
        assert!(matches!(read_input(&mut s, &mut buf), Input::Blocked));
        drop(peer);
        assert!(matches!(read_input(&mut s, &mut buf), Input::End));
    }

    #[test]
    fn writing_to_a_closed_peer_is_epipe_not_a_signal() {
        // As in a C host: SIGPIPE has its default action (ending the
        // process) while the test writes.
        // SAFETY: setting a signal disposition to one of the standard values.
        let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        let (mut s, peer) = pair();
        drop(peer);
        let e = write_out(&mut s, b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPIPE));
        let e = s.write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")]).unwrap_err();
        // SAFETY: restoring the disposition read above.
        unsafe { libc::signal(libc::SIGPIPE, old) };
        assert_eq!(e.raw_os_error(), Some(libc::EPIPE));
    }

    #[test]
    fn shutting_down_the_sending_side_ends_the_peers_input() {
        let (mut s, mut peer) = pair();
        s.shutdown_write().unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(peer.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn ipv4_mapped_peers_are_reported_as_ipv4() {
        let mapped: SocketAddr = "[::ffff:192.0.2.1]:5000".parse().unwrap();
        assert_eq!(canonical(mapped), "192.0.2.1:5000".parse().unwrap());
        let v6: SocketAddr = "[2001:db8::1]:443".parse().unwrap();
        assert_eq!(canonical(v6), v6);
    }
}
