//! The built-in server: an event loop that runs many WebSocket connections
//! on one thread, an HTTP front that routes requests to services, and
//! connection objects ([`Wss`]) that any thread may write to.
//!
//! Callbacks (services and connection handlers) run on the loop thread.
//! Connections can also be handed over from a host's own HTTP server, as a
//! raw upgrade request ([`Server::upgrade_fd`]) or after the handshake
//! ([`Server::connect`]).

mod adopt;
mod event_loop;
mod http;
mod listener;
mod options;
mod shared;
mod slab;
mod wss;

pub use http::{HttpRequest, Service};
pub use options::ServerOptions;
pub use wss::{CloseStatus, Handler, Wait, Wss};

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use mio::{Poll, Token, Waker};

use crate::error::{Error, RequestError, Result};
use crate::io::socket::Socket;
use crate::log::log;
use crate::proto::handshake::negotiate::agree;
use crate::proto::handshake::server::{RequestProgress, RequestReader, write_refusal};
use crate::proto::{Config, Limits, handshake};
use adopt::{Adopt, Handovers};
use event_loop::Loop;
use http::Route;
use listener::{Listener, Peer};
use shared::{Inbox, Shared, lock, queue_limit};
use wss::Link;

/// A WebSocket and HTTP server.
pub struct Server {
    shared: Arc<Shared>,
    handovers: Arc<Handovers>,
    /// The loop before it runs (listeners and routes are added to it).
    idle: Mutex<Option<Loop>>,
    thread: Mutex<Option<JoinHandle<std::io::Result<()>>>>,
}

impl Server {
    /// A server with `options`; it serves nothing until given listeners and
    /// routes, and runs once [`run`](Server::run) or
    /// [`start`](Server::start) is called.
    pub fn new(options: ServerOptions) -> Result<Server> {
        if !options.limits.is_valid() {
            return Err(Error::Invalid(c"a size limit is 0"));
        }
        let poll = Poll::new().map_err(Error::from)?;
        let waker = Waker::new(poll.registry(), Token(usize::MAX)).map_err(Error::from)?;
        let shared = Arc::new(Shared {
            waker,
            stop: AtomicBool::new(false),
            running: AtomicBool::new(false),
            inbox: Mutex::new(Inbox::default()),
            options,
        });
        let config = Arc::new(Config {
            limits: options.limits,
            streaming: false,
            control_events: true,
            keepalive_interval_ms: options.keepalive_interval_ms,
            keepalive_timeout_ms: options.keepalive_timeout_ms,
        });
        let handovers = Arc::new(Handovers::default());
        let lp = Loop::new(shared.clone(), handovers.clone(), poll, config);
        Ok(Server { shared, handovers, idle: Mutex::new(Some(lp)), thread: Mutex::new(None) })
    }

    fn with_idle<R>(&self, f: impl FnOnce(&mut Loop) -> Result<R>) -> Result<R> {
        match lock(&self.idle).as_mut() {
            Some(lp) => f(lp),
            None => Err(Error::State(c"the server is running or has run")),
        }
    }

    /// Listens on `addr` (`127.0.0.1:8080`, `[::]:8080` for IPv6 and, where
    /// the system allows, IPv4, `unix:/path`); port 0 picks a free port.
    /// Returns the port (0 for a Unix socket). Only before the server runs.
    pub fn listen(&self, addr: &str) -> Result<u16> {
        self.with_idle(|lp| {
            let l = Listener::bind(addr).map_err(Error::from)?;
            let port = l.port();
            lp.add_listener(l).map_err(Error::from)?;
            match (port, addr.rsplit_once(':')) {
                (0, _) | (_, None) => log!(Info, "listening on {addr}"),
                (port, Some((host, _))) => log!(Info, "listening on {host}:{port}"),
            }
            Ok(port)
        })
    }

    /// Serves `path` (or, with `prefix`, every path that starts with it)
    /// with `service`. `limits` override the server's for connections of
    /// this route; `protocols` are the subprotocols it supports, in order of
    /// preference. Only before the server runs.
    pub fn route(
        &self,
        path: &str,
        prefix: bool,
        service: Arc<dyn Service>,
        limits: Option<Limits>,
        protocols: Vec<String>,
    ) -> Result<()> {
        if !path.starts_with('/') {
            return Err(Error::Invalid(c"a route path starts with /"));
        }
        if protocols.iter().any(|p| !handshake::is_token(p.as_bytes())) {
            return Err(Error::Invalid(c"subprotocol is not a token"));
        }
        if limits.is_some_and(|l| !l.is_valid()) {
            return Err(Error::Invalid(c"a size limit is 0"));
        }
        self.with_idle(|lp| {
            let config = match limits {
                None => lp.config.clone(),
                Some(limits) => Arc::new(Config { limits, ..(*lp.config).clone() }),
            };
            lp.routes.0.retain(|r| !(r.path == path && r.prefix == prefix));
            lp.routes.0.push(Arc::new(Route::new(path, prefix, service, config, protocols)));
            Ok(())
        })
    }

    fn take_loop(&self) -> Result<Loop> {
        let lp = lock(&self.idle).take().ok_or(Error::State(c"the server is running or has run"))?;
        self.shared.running.store(true, Ordering::Release);
        Ok(lp)
    }

    /// Runs the loop on the calling thread until [`stop`](Server::stop);
    /// then closes every connection (their close callbacks run with
    /// [`Error::Closed`]). A server runs once.
    pub fn run(&self) -> Result<()> {
        let mut lp = self.take_loop()?;
        let r = lp.run().map_err(Error::from);
        self.shared.running.store(false, Ordering::Release);
        r
    }

    /// Runs the loop on a new thread (the service thread); see
    /// [`join`](Server::join).
    pub fn start(&self) -> Result<()> {
        let mut lp = self.take_loop()?;
        let shared = self.shared.clone();
        let handle = std::thread::Builder::new()
            .name("ews-server".into())
            .spawn(move || {
                let r = lp.run();
                shared.running.store(false, Ordering::Release);
                r
            })
            .map_err(Error::from)?;
        *lock(&self.thread) = Some(handle);
        Ok(())
    }

    /// Asks the loop to stop. Safe from any thread, and from a signal
    /// handler (it sets a flag and writes to an eventfd or pipe).
    pub fn stop(&self) {
        self.shared.request_stop();
    }

    /// Waits for the service thread started by [`start`](Server::start) to
    /// end (after [`stop`](Server::stop)). Not from a callback.
    pub fn join(&self) -> Result<()> {
        if self.shared.on_loop_thread() {
            return Err(Error::State(c"join from the loop thread would never return"));
        }
        let handle = lock(&self.thread).take();
        match handle {
            Some(h) => match h.join() {
                Ok(r) => r.map_err(Error::from),
                Err(_) => Err(Error::State(c"the server thread panicked")),
            },
            None => Ok(()),
        }
    }

    /// Whether the loop is running.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire)
    }

    /// Where a connection handed over by the host will live.
    fn link(&self, stream: &Socket, resource: &str, protocol: Option<&str>) -> Link {
        Link::new(
            self.shared.clone(),
            stream.peer().map(Peer::new),
            queue_limit(&self.shared.options.limits),
            http::c_string(resource),
            protocol.map(http::c_string),
        )
    }

    /// Hands a connection to the loop.
    fn adopt(&self, adopt: Adopt) {
        self.handovers.push(adopt);
        if !self.shared.on_loop_thread() {
            self.shared.wake();
        }
    }

    /// Runs a connection whose WebSocket handshake the host completed:
    /// takes `fd` (a connected stream socket) and the bytes the host
    /// already read after the handshake. From any thread.
    pub fn connect(&self, wss: &Arc<Wss>, fd: OwnedFd, leftover: &[u8], resource: &str) -> Result<()> {
        let stream = Socket::adopt(fd).map_err(Error::from)?;
        if !wss.begin_upgrade(None, self.link(&stream, resource, None)) {
            return Err(Error::State(c"the connection object is in use"));
        }
        self.adopt(Adopt { stream, wss: wss.clone(), agreement: None, leftover: leftover.to_vec() });
        Ok(())
    }

    /// Upgrades a request that the host's own HTTP server read from `fd`:
    /// checks `request` (the raw head, optionally followed by the first
    /// frames), answers 101 with a subprotocol chosen from `protocols`, and
    /// runs the connection. A request that is not a valid handshake is
    /// answered with its HTTP error and the socket closed; the error is
    /// returned. `fd` is taken over either way. From any thread.
    pub fn upgrade_fd(&self, wss: &Arc<Wss>, fd: OwnedFd, request: &[u8], protocols: &[String]) -> Result<()> {
        if wss.is_attached() {
            return Err(Error::State(c"the connection object is in use"));
        }
        let stream = Socket::adopt(fd).map_err(Error::from)?;
        let limits = &self.shared.options.limits;
        let mut reader = RequestReader::new(limits.max_handshake_bytes as usize, limits.max_handshake_headers as usize);
        let agreed = match reader.push(request) {
            RequestProgress::Complete(req, n) => agree(&req, protocols).map(|a| (req, n, a)),
            RequestProgress::Refused(e) => Err(e),
            RequestProgress::Partial(_) => Err(RequestError::Malformed),
        };
        match agreed {
            Ok((req, n, agreement)) => {
                let link = self.link(&stream, req.resource().unwrap_or(&req.target), agreement.protocol());
                if !wss.begin_upgrade(Some(&agreement), link) {
                    return Err(Error::State(c"the connection object is in use"));
                }
                let leftover = request[n..].to_vec();
                self.adopt(Adopt { stream, wss: wss.clone(), agreement: Some(agreement), leftover });
                Ok(())
            }
            Err(e) => {
                let mut out = Vec::new();
                write_refusal(&mut out, e);
                // A short answer on a fresh socket; best effort.
                let _ = stream.write_last(&out, std::time::Duration::from_secs(1));
                Err(Error::Request(e))
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = self.join();
    }
}
