//! Listening sockets of the server (TCP and Unix addresses), accepting,
//! and the compact form of a peer's address a connection keeps.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use mio::net::{TcpListener, UnixListener};

use crate::io::socket::{Socket, canonical};

/// A peer's address in 20 bytes (a `SocketAddr` takes 32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Peer {
    ip: [u8; 16],
    port: u16,
    v6: bool,
}

impl Peer {
    pub(crate) fn new(addr: SocketAddr) -> Peer {
        match addr {
            SocketAddr::V4(a) => {
                let mut ip = [0; 16];
                ip[..4].copy_from_slice(&a.ip().octets());
                Peer { ip, port: a.port(), v6: false }
            }
            SocketAddr::V6(a) => Peer { ip: a.ip().octets(), port: a.port(), v6: true },
        }
    }

    pub(crate) fn addr(self) -> SocketAddr {
        if self.v6 {
            SocketAddr::from((std::net::Ipv6Addr::from(self.ip), self.port))
        } else {
            SocketAddr::from(([self.ip[0], self.ip[1], self.ip[2], self.ip[3]], self.port))
        }
    }
}

/// A listening socket.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, std::path::PathBuf),
}

impl Listener {
    /// Listens on `addr`: `host:port` (IPv4 or `[IPv6]`; port 0 picks one)
    /// or `unix:/path`. An IPv6 wildcard (`[::]`) also accepts IPv4 where the
    /// system allows it. Non-blocking, with a backlog of 1024 for bursts of
    /// connections.
    pub(crate) fn bind(addr: &str) -> io::Result<Listener> {
        if let Some(path) = addr.strip_prefix("unix:") {
            return Ok(Listener::Unix(UnixListener::bind(path)?, path.into()));
        }
        let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no address");
        for a in addr.to_socket_addrs()? {
            match TcpListener::bind(a) {
                Ok(l) => return Ok(Listener::Tcp(l)),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The TCP port listened on (0 for a Unix socket).
    pub(crate) fn port(&self) -> u16 {
        match self {
            Listener::Tcp(l) => l.local_addr().map(|a| a.port()).unwrap_or(0),
            Listener::Unix(..) => 0,
        }
    }

    pub(crate) fn fd(&self) -> RawFd {
        match self {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Unix(l, _) => l.as_raw_fd(),
        }
    }

    /// Accepts one connection, if one is waiting.
    pub(crate) fn accept(&self) -> io::Result<(Socket, Option<SocketAddr>)> {
        match self {
            Listener::Tcp(l) => {
                let (s, peer) = l.accept()?;
                Ok((Socket::adopt(OwnedFd::from(s))?, Some(canonical(peer))))
            }
            Listener::Unix(l, _) => {
                let (s, _) = l.accept()?;
                Ok((Socket::adopt(OwnedFd::from(s))?, None))
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_addresses_round_trip() {
        for a in ["192.0.2.1:5000", "[2001:db8::1]:443", "[::ffff:10.0.0.1]:80"] {
            let addr: SocketAddr = a.parse().unwrap();
            assert_eq!(Peer::new(addr).addr(), addr);
        }
    }

    #[test]
    fn an_ipv4_client_of_a_dual_stack_listener_has_an_ipv4_peer_address() {
        let Ok(listener) = Listener::bind("[::]:0") else { return }; // no IPv6 on this machine
        let port = listener.port();
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let (stream, peer) = loop {
            match listener.accept() {
                Ok(x) => break x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5))
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        assert!(peer.unwrap().is_ipv4(), "{peer:?}");
        assert!(stream.peer().unwrap().is_ipv4());
    }
}
