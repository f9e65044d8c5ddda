//! The HTTP front of the server: routes, the request a service sees, and
//! what it answers (a plain response or an upgrade to a WebSocket).

use std::ffi::CString;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::error::{Error, RequestError, Result};
use crate::proto::handshake::negotiate::{Agreement, agree};
use crate::proto::handshake::server::{self, Request};
use crate::proto::{Config, handshake};
use crate::server::listener::Peer;
use crate::server::shared::{Shared, queue_limit};
use crate::server::wss::{Link, Wss};

/// What a route does with a request. Runs on the loop thread.
pub trait Service: Send + Sync {
    /// Answers `req`: [`HttpRequest::respond`], [`HttpRequest::upgrade`],
    /// or nothing (the client gets 404).
    fn serve(&self, req: &mut HttpRequest<'_>);
}

/// A resource served by the server.
pub(crate) struct Route {
    pub(crate) path: String,
    pub(crate) prefix: bool,
    pub(crate) service: Arc<dyn Service>,
    pub(crate) config: Arc<Config>,
    pub(crate) protocols: Vec<String>,
    /// The path and the subprotocols as C strings, shared by connections.
    pub(crate) path_c: Arc<CString>,
    pub(crate) protocols_c: Vec<Arc<CString>>,
}

impl Route {
    pub(crate) fn new(
        path: &str,
        prefix: bool,
        service: Arc<dyn Service>,
        config: Arc<Config>,
        protocols: Vec<String>,
    ) -> Route {
        Route {
            path_c: c_string(path),
            protocols_c: protocols.iter().map(|p| c_string(p)).collect(),
            path: path.to_owned(),
            prefix,
            service,
            config,
            protocols,
        }
    }

    /// The resource as a shared C string (the route's own when equal).
    pub(crate) fn resource(&self, target: &str) -> Arc<CString> {
        if target == self.path { self.path_c.clone() } else { c_string(target) }
    }

    /// The chosen subprotocol as the route's shared C string.
    pub(crate) fn protocol(&self, chosen: Option<&str>) -> Option<Arc<CString>> {
        let chosen = chosen?;
        self.protocols.iter().position(|p| p == chosen).map(|i| self.protocols_c[i].clone())
    }
}

/// A C string of `s` (a NUL inside ends it early; paths and tokens have none).
pub(crate) fn c_string(s: &str) -> Arc<CString> {
    let bytes = s.as_bytes();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    Arc::new(CString::new(&bytes[..end]).unwrap_or_default())
}

/// The routes of a server.
#[derive(Default)]
pub(crate) struct Routes(pub(crate) Vec<Arc<Route>>);

impl Routes {
    /// The route for `path`: an exact route, else the longest prefix route.
    pub(crate) fn find(&self, path: &str) -> Option<&Arc<Route>> {
        self.0.iter().find(|r| !r.prefix && r.path == path).or_else(|| {
            self.0.iter().filter(|r| r.prefix && path.starts_with(r.path.as_str())).max_by_key(|r| r.path.len())
        })
    }
}

/// What the service decided.
pub(crate) enum Outcome {
    /// Nothing: 404.
    None,
    /// A complete HTTP response.
    Respond(Vec<u8>),
    /// A WebSocket (its 101 response queued already) and what its
    /// handshake agreed.
    Upgrade(Arc<Wss>, Agreement),
    /// A refused upgrade: the HTTP error to answer.
    Refuse(RequestError),
}

/// An HTTP request as a service sees it (the C type `ews_request`).
pub struct HttpRequest<'a> {
    request: &'a Request,
    peer: Option<SocketAddr>,
    route: &'a Route,
    shared: &'a Arc<Shared>,
    pub(crate) outcome: Outcome,
}

impl<'a> HttpRequest<'a> {
    pub(crate) fn new(
        request: &'a Request,
        peer: Option<SocketAddr>,
        route: &'a Route,
        shared: &'a Arc<Shared>,
    ) -> HttpRequest<'a> {
        HttpRequest { request, peer, route, shared, outcome: Outcome::None }
    }

    /// The method (`GET`, `POST`, ...).
    pub fn method(&self) -> &str {
        &self.request.method
    }

    /// The request-target: path and query.
    pub fn target(&self) -> &str {
        &self.request.target
    }

    /// The path (before `?`).
    pub fn path(&self) -> &str {
        self.request.path()
    }

    /// The query (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.request.query()
    }

    /// The first value of header field `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.request.headers.get(name)
    }

    /// The parsed request.
    pub fn request(&self) -> &Request {
        self.request
    }

    /// The client's address (TCP connections).
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Whether the client asks for a WebSocket.
    pub fn is_websocket(&self) -> bool {
        self.request.wants_websocket()
    }

    /// Whether an answer was given already.
    pub fn answered(&self) -> bool {
        !matches!(self.outcome, Outcome::None)
    }

    /// Answers with a plain HTTP response (the connection closes after it).
    /// `status` must be 200-599; header names must be tokens and values
    /// free of CR and LF.
    pub fn respond(&mut self, status: u16, content_type: &str, body: &[u8], headers: &[(&str, &str)]) -> Result<()> {
        if self.answered() {
            return Err(Error::State(c"the request was answered already"));
        }
        if !(200..=599).contains(&status) {
            return Err(Error::Invalid(c"status must be 200-599"));
        }
        let valid = |s: &str| !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0);
        if !valid(content_type) || headers.iter().any(|(n, v)| !handshake::is_token(n.as_bytes()) || !valid(v)) {
            return Err(Error::Invalid(c"header name is not a token or a value contains CR, LF or NUL"));
        }
        let mut out = Vec::with_capacity(128 + body.len());
        let body = if self.request.method == "HEAD" { &[][..] } else { body };
        server::write_response(&mut out, status, content_type, body, headers, false);
        self.outcome = Outcome::Respond(out);
        Ok(())
    }

    /// Upgrades the request to a WebSocket run by `wss`: checks the
    /// handshake, chooses the route's subprotocol and answers 101. A request
    /// that is not a valid WebSocket handshake is answered with the right
    /// HTTP error and fails with [`Error::Request`].
    pub fn upgrade(&mut self, wss: &Arc<Wss>) -> Result<()> {
        if self.answered() {
            return Err(Error::State(c"the request was answered already"));
        }
        if wss.is_attached() {
            return Err(Error::State(c"the connection object is in use"));
        }
        match agree(self.request, &self.route.protocols) {
            Ok(agreement) => {
                // What the host may ask about the connection is known from
                // here on, in this callback already.
                let link = Link::new(
                    self.shared.clone(),
                    self.peer.map(Peer::new),
                    queue_limit(&self.route.config.limits),
                    self.route.resource(self.request.resource().unwrap_or(&self.request.target)),
                    self.route.protocol(agreement.protocol()),
                );
                if !wss.begin_upgrade(Some(&agreement), link) {
                    return Err(Error::State(c"the connection object is in use"));
                }
                self.outcome = Outcome::Upgrade(wss.clone(), agreement);
                Ok(())
            }
            Err(e) => {
                self.outcome = Outcome::Refuse(e);
                Err(Error::Request(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;
    impl Service for Nothing {
        fn serve(&self, _req: &mut HttpRequest<'_>) {}
    }

    fn route(path: &str, prefix: bool) -> Arc<Route> {
        Arc::new(Route::new(path, prefix, Arc::new(Nothing), Arc::new(Config::default()), Vec::new()))
    }

    #[test]
    fn exact_route_wins_over_prefix_and_longest_prefix_wins() {
        let routes = Routes(vec![route("/", true), route("/static/", true), route("/static/app.js", false)]);
        assert_eq!(routes.find("/static/app.js").unwrap().path, "/static/app.js");
        assert_eq!(routes.find("/static/x.css").unwrap().path, "/static/");
        assert_eq!(routes.find("/chat").unwrap().path, "/");
        assert!(Routes(vec![route("/chat", false)]).find("/chatx").is_none());
    }
}
