//! Structured errors of the protocol core.
//!
//! Every protocol violation, handshake failure and caller mistake has its
//! own variant, named for what the RFC calls it. [`Error::close_code`] tells
//! which close code a failing connection sends, [`Error::detail`] gives a
//! stable, human-readable reason (the C layer hands it out as a static
//! string), and the C layer maps each variant to an `EWS_E*` code in one
//! place (`ffi::errors`).

use std::ffi::CStr;
use std::fmt;

/// The text of a static description (all are ASCII).
fn text(s: &'static CStr) -> &'static str {
    s.to_str().unwrap_or("")
}

/// Which kind of failure an [`Error`] is; the C layer maps it to an `EWS_E*` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// The peer broke RFC 6455 (close code 1002).
    Protocol,
    /// A text message or close reason was not valid UTF-8 (close code 1007).
    Utf8,
    /// A frame or message was larger than the configured limit (close code 1009).
    TooBig,
    /// The opening handshake failed.
    Handshake,
    /// A timer ran out (handshake, close or keepalive).
    Timeout,
    /// The transport ended without a closing handshake (1006).
    Dropped,
    /// The caller passed an invalid argument.
    Invalid,
    /// The call is not allowed in the connection's current state.
    State,
    /// The transport failed (an `errno` value is attached where there is one).
    Io,
    /// The connection is closed: nothing more can be sent.
    Closed,
    /// The call would block and was asked not to.
    WouldBlock,
    /// A configured limit was reached (connections, pending handshakes).
    Limit,
    /// A host name could not be resolved.
    Resolve,
    /// The peer refused the connection.
    Refused,
    /// A buffer the caller passed was too small; nothing was lost.
    NoSpace,
    /// A message did not have the type a typed receive asked for; it was
    /// not taken and the connection stays usable.
    WrongType,
    /// The feature is not supported by this build.
    NotSupported,
}

/// Why the client-side opening handshake failed.
///
/// The texts follow the style of libwebsockets' connection-error reasons so
/// that hosts migrating from it can keep matching on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// The response was not valid HTTP/1.1.
    ResponseMalformed,
    /// The response head was longer than the limit or had too many headers.
    ResponseTooLarge,
    /// The status code was not 101.
    NotSwitching(u16),
    /// No `Upgrade` header.
    UpgradeMissing,
    /// `Upgrade` named something other than `websocket`.
    UpgradeNotWebsocket,
    /// No `Connection` header.
    ConnectionMissing,
    /// `Connection` did not contain the `Upgrade` token.
    ConnectionNotUpgrade,
    /// No `Sec-WebSocket-Accept` header.
    AcceptMissing,
    /// `Sec-WebSocket-Accept` did not match the key that was sent.
    AcceptWrong,
    /// `Sec-WebSocket-Protocol` was malformed or repeated.
    ProtocolMalformed,
    /// The server chose a subprotocol the client did not offer.
    ProtocolNotOffered,
    /// The server accepted an extension the client did not offer.
    ExtensionNotOffered,
    /// The server answered `101` while the connection was being closed, or
    /// the peer closed the connection before the handshake completed.
    PeerHungUp,
}

impl HandshakeError {
    /// The stable reason string (`"HS: Accept hash wrong"`, ...).
    pub fn reason(self) -> &'static str {
        text(self.reason_c())
    }

    /// The reason as a NUL-terminated string (for C callers).
    pub fn reason_c(self) -> &'static CStr {
        match self {
            HandshakeError::ResponseMalformed => c"HS: response malformed",
            HandshakeError::ResponseTooLarge => c"HS: response headers too large",
            HandshakeError::NotSwitching(_) => c"HS: ws upgrade response not 101",
            HandshakeError::UpgradeMissing => c"HS: UPGRADE missing",
            HandshakeError::UpgradeNotWebsocket => c"HS: Upgrade to something other than websocket",
            HandshakeError::ConnectionMissing => c"HS: CONNECTION missing",
            HandshakeError::ConnectionNotUpgrade => c"HS: CONNECTION malformed",
            HandshakeError::AcceptMissing => c"HS: ACCEPT missing",
            HandshakeError::AcceptWrong => c"HS: Accept hash wrong",
            HandshakeError::ProtocolMalformed => c"HS: PROTOCOL malformed",
            HandshakeError::ProtocolNotOffered => c"HS: Cannot match protocol",
            HandshakeError::ExtensionNotOffered => c"HS: EXT: unknown ext",
            HandshakeError::PeerHungUp => c"Peer hung up",
        }
    }
}

/// Why the server-side opening handshake was refused, with the HTTP status
/// that was sent back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// The request was not valid HTTP (400).
    Malformed,
    /// `HTTP/1.0` or another version than 1.1 (505).
    HttpVersion,
    /// A method other than `GET` (405).
    Method,
    /// The request head exceeded the byte or header-count limit (431).
    HeadersTooLarge,
    /// No `Host` header, or more than one (400).
    HostMissing,
    /// No `Upgrade: websocket` (400).
    UpgradeMissing,
    /// No `Upgrade` token in `Connection` (400).
    ConnectionNotUpgrade,
    /// No `Sec-WebSocket-Key`, several, or not the base64 of 16 bytes (400).
    KeyInvalid,
    /// `Sec-WebSocket-Version` missing or not 13 (426, with `Sec-WebSocket-Version: 13`).
    Version,
    /// The request-target was not an absolute path (400).
    TargetInvalid,
    /// The request has a body, or framing headers that could announce one
    /// (`Transfer-Encoding`, a `Content-Length` other than one 0) (400).
    Body,
    /// The resource is not served here (404).
    NotFound,
    /// The host refused the request (the status it chose).
    Refused(u16),
}

impl RequestError {
    /// The HTTP status code answered for this failure.
    pub fn status(self) -> u16 {
        match self {
            RequestError::Malformed
            | RequestError::HostMissing
            | RequestError::UpgradeMissing
            | RequestError::ConnectionNotUpgrade
            | RequestError::KeyInvalid
            | RequestError::TargetInvalid
            | RequestError::Body => 400,
            RequestError::HttpVersion => 505,
            RequestError::Method => 405,
            RequestError::HeadersTooLarge => 431,
            RequestError::Version => 426,
            RequestError::NotFound => 404,
            RequestError::Refused(status) => status,
        }
    }

    /// A stable description of the failure.
    pub fn reason(self) -> &'static str {
        text(self.reason_c())
    }

    /// The description as a NUL-terminated string (for C callers).
    pub fn reason_c(self) -> &'static CStr {
        match self {
            RequestError::Malformed => c"request malformed",
            RequestError::HttpVersion => c"HTTP version not supported",
            RequestError::Method => c"method not allowed",
            RequestError::HeadersTooLarge => c"request headers too large",
            RequestError::HostMissing => c"Host missing or repeated",
            RequestError::UpgradeMissing => c"Upgrade: websocket missing",
            RequestError::ConnectionNotUpgrade => c"Connection: Upgrade missing",
            RequestError::KeyInvalid => c"Sec-WebSocket-Key missing or invalid",
            RequestError::Version => c"Sec-WebSocket-Version is not 13",
            RequestError::TargetInvalid => c"request-target is not an absolute path",
            RequestError::Body => c"request has a body or ambiguous framing",
            RequestError::NotFound => c"resource not found",
            RequestError::Refused(_) => c"refused by the host",
        }
    }
}

/// An error of the protocol core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    // --- the peer broke RFC 6455: close code 1002 ---
    /// RSV1, RSV2 or RSV3 set without a negotiated extension (§5.2).
    ReservedBits,
    /// An opcode reserved for future use (§5.2).
    ReservedOpcode(u8),
    /// A client frame without a mask (§5.1).
    UnmaskedFrame,
    /// A server frame with a mask (§5.1).
    MaskedFrame,
    /// A control frame with a payload over 125 bytes (§5.5).
    ControlFrameTooLong,
    /// A control frame without FIN (§5.5).
    FragmentedControlFrame,
    /// A payload length not in its minimal encoding (§5.2).
    NonMinimalLength,
    /// A 64-bit payload length with the most significant bit set (§5.2).
    LengthTopBit,
    /// A continuation frame with no message in progress (§5.4).
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is in progress (§5.4).
    ExpectedContinuation,
    /// A close frame with a one-byte payload (§5.5.1).
    CloseTooShort,
    /// A close code that may not appear on the wire (§7.4).
    InvalidCloseCode(u16),

    // --- 1007 ---
    /// Invalid UTF-8 in a text message or close reason (§8.1).
    InvalidUtf8,

    // --- 1009 ---
    /// A frame longer than the configured frame limit.
    FrameTooBig,
    /// A message longer than the configured message limit.
    MessageTooBig,

    // --- opening handshake ---
    /// The client handshake failed (the response was not acceptable).
    Handshake(HandshakeError),
    /// The server refused the request with an HTTP error.
    Request(RequestError),

    // --- timers ---
    /// The opening handshake did not complete in time.
    HandshakeTimeout,
    /// The peer did not answer our close frame in time.
    CloseTimeout,
    /// The peer did not answer a keepalive ping in time.
    PongTimeout,

    // --- transport ---
    /// The transport ended before the closing handshake (1006).
    Dropped,
    /// The transport failed with this `errno`.
    Io(i32),
    /// The random source failed.
    Random,
    /// The connection is closed (its close callback ran or it was never opened).
    Closed,
    /// The send queue is full and the caller asked not to wait.
    WouldBlock,
    /// The send queue stayed full for the whole send timeout.
    SendTimeout,
    /// A limit on connections or pending handshakes was reached.
    Limit,
    /// The deadline of a blocking call passed first; nothing was lost, a
    /// later call continues where this one stopped.
    Deadline,
    /// A host name could not be resolved.
    Resolve,
    /// The server refused the TCP connection.
    ConnectionRefused,
    /// The TCP connection was not established within the connect timeout.
    ConnectTimeout,
    /// Connecting failed with this `errno` (other than refused or timed out).
    ConnectFailed(i32),
    /// Reading from the transport failed with this `errno`.
    ReadFailed(i32),
    /// Writing to the transport failed with this `errno`.
    WriteFailed(i32),
    /// A receive buffer was smaller than the next message, which stays queued.
    BufferTooSmall,
    /// The next message is not of the type a typed receive asked for; it
    /// stays queued.
    WrongMessageType,
    /// Not supported by this build; the text names what.
    NotSupported(&'static CStr),

    // --- caller mistakes ---
    /// An argument was invalid; the text names it.
    Invalid(&'static CStr),
    /// The call is not allowed now; the text says why.
    State(&'static CStr),
}

impl Error {
    /// The category, which decides the `EWS_E*` code.
    pub fn category(&self) -> Category {
        match self {
            Error::ReservedBits
            | Error::ReservedOpcode(_)
            | Error::UnmaskedFrame
            | Error::MaskedFrame
            | Error::ControlFrameTooLong
            | Error::FragmentedControlFrame
            | Error::NonMinimalLength
            | Error::LengthTopBit
            | Error::UnexpectedContinuation
            | Error::ExpectedContinuation
            | Error::CloseTooShort
            | Error::InvalidCloseCode(_) => Category::Protocol,
            Error::InvalidUtf8 => Category::Utf8,
            Error::FrameTooBig | Error::MessageTooBig => Category::TooBig,
            Error::Handshake(_) | Error::Request(_) => Category::Handshake,
            Error::HandshakeTimeout
            | Error::CloseTimeout
            | Error::PongTimeout
            | Error::SendTimeout
            | Error::Deadline
            | Error::ConnectTimeout => Category::Timeout,
            Error::Closed => Category::Closed,
            Error::WouldBlock => Category::WouldBlock,
            Error::Limit => Category::Limit,
            Error::Dropped => Category::Dropped,
            Error::Io(_) | Error::Random | Error::ConnectFailed(_) | Error::ReadFailed(_) | Error::WriteFailed(_) => {
                Category::Io
            }
            Error::Resolve => Category::Resolve,
            Error::ConnectionRefused => Category::Refused,
            Error::BufferTooSmall => Category::NoSpace,
            Error::WrongMessageType => Category::WrongType,
            Error::NotSupported(_) => Category::NotSupported,
            Error::Invalid(_) => Category::Invalid,
            Error::State(_) => Category::State,
        }
    }

    /// The close code a connection sends when it fails with this error, if
    /// it sends one at all (handshake failures, timeouts and dropped
    /// transports send none).
    pub fn close_code(&self) -> Option<u16> {
        match self.category() {
            Category::Protocol => Some(1002),
            Category::Utf8 => Some(1007),
            Category::TooBig => Some(1009),
            _ => None,
        }
    }

    /// A stable, human-readable description of the failure.
    pub fn detail(&self) -> &'static str {
        text(self.detail_c())
    }

    /// The description as a NUL-terminated string (for C callers).
    pub fn detail_c(&self) -> &'static CStr {
        match self {
            Error::ReservedBits => c"reserved bits set without an extension",
            Error::ReservedOpcode(_) => c"reserved opcode",
            Error::UnmaskedFrame => c"client frame not masked",
            Error::MaskedFrame => c"server frame masked",
            Error::ControlFrameTooLong => c"control frame payload longer than 125 bytes",
            Error::FragmentedControlFrame => c"control frame without FIN",
            Error::NonMinimalLength => c"payload length not minimally encoded",
            Error::LengthTopBit => c"64-bit payload length with the top bit set",
            Error::UnexpectedContinuation => c"continuation frame without a message in progress",
            Error::ExpectedContinuation => c"new message while a fragmented message is in progress",
            Error::CloseTooShort => c"close payload of one byte",
            Error::InvalidCloseCode(_) => c"invalid close code",
            Error::InvalidUtf8 => c"invalid UTF-8",
            Error::FrameTooBig => c"frame too big",
            Error::MessageTooBig => c"message too big",
            Error::Handshake(h) => h.reason_c(),
            Error::Request(r) => r.reason_c(),
            Error::HandshakeTimeout => c"handshake timed out",
            Error::CloseTimeout => c"close handshake timed out",
            Error::PongTimeout => c"keepalive pong timed out",
            Error::Dropped => c"connection dropped without a close frame",
            Error::Io(_) => c"I/O error",
            Error::Random => c"the random source failed",
            Error::Closed => c"connection closed",
            Error::WouldBlock => c"send queue full",
            Error::SendTimeout => c"send queue stayed full until the send timeout",
            Error::Limit => c"connection limit reached",
            Error::Deadline => c"deadline passed",
            Error::Resolve => c"name resolution failed",
            Error::ConnectionRefused => c"connection refused",
            Error::ConnectTimeout => c"connection timed out",
            Error::ConnectFailed(_) => c"connect failed",
            Error::ReadFailed(_) => c"read failed",
            Error::WriteFailed(_) => c"write failed",
            Error::BufferTooSmall => c"buffer too small for the message",
            Error::WrongMessageType => c"message of the other type",
            Error::NotSupported(what) => what,
            Error::Invalid(what) => what,
            Error::State(why) => why,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ReservedOpcode(op) => write!(f, "{} {op:#x}", self.detail()),
            Error::InvalidCloseCode(code) => write!(f, "{} {code}", self.detail()),
            Error::Handshake(HandshakeError::NotSwitching(status)) => {
                write!(f, "{} (status {status})", self.detail())
            }
            Error::Request(r) => write!(f, "{} ({})", self.detail(), r.status()),
            Error::Io(errno) | Error::ConnectFailed(errno) | Error::ReadFailed(errno) | Error::WriteFailed(errno) => {
                write!(f, "{} (errno {errno})", self.detail())
            }
            _ => f.write_str(self.detail()),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    /// A transport error, keeping its `errno` (0 when it has none).
    fn from(e: std::io::Error) -> Error {
        Error::Io(e.raw_os_error().unwrap_or(0))
    }
}

/// The result type of the protocol core.
pub type Result<T> = std::result::Result<T, Error>;
