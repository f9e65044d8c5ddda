//! Limits and options of a connection.

/// Limits of a connection. Every field is configurable; `Limits::default()`
/// gives the defaults listed per field.
///
/// A limit of 0 means "none" for the timeouts; the sizes must be at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest frame payload accepted, in bytes (default 1 MiB). A
    /// longer frame fails the connection with close code 1009, checked on
    /// the header before anything is buffered.
    pub max_frame: u64,
    /// The largest message accepted, all fragments together (default 1
    /// MiB); a longer one fails the connection with close code 1009.
    pub max_message: u64,
    /// The largest opening-handshake head, in bytes (default 8192). A
    /// server answers a longer request with 431.
    pub max_handshake_bytes: u32,
    /// The most header fields in a handshake head (default 64). A server
    /// answers more with 431.
    pub max_handshake_headers: u32,
    /// Milliseconds for the opening handshake to complete (default 10000;
    /// 0: no limit).
    pub handshake_timeout_ms: u32,
    /// Milliseconds to wait for the peer's close frame after sending one,
    /// and for a server to drop the TCP connection after the closing
    /// handshake, seen from a client (default 5000; 0: no limit).
    pub close_timeout_ms: u32,
    /// Bytes of outgoing data a connection may queue before writers block
    /// or get [`Error::WouldBlock`](crate::error::Error::WouldBlock) (default 65536). Control frames are never held
    /// back by this limit. Used by the server and the stream API.
    pub send_queue_bytes: u64,
    /// The first allocation for a message that does not arrive whole in one
    /// read, in bytes (default 4096): memory grows only as messages need it.
    pub rx_start_size: u32,
    /// The step by which that buffer grows beyond `rx_start_size` (default
    /// 4096); growth is at least geometric so large messages stay linear.
    pub rx_expand_size: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_frame: 1 << 20,
            max_message: 1 << 20,
            max_handshake_bytes: 8192,
            max_handshake_headers: 64,
            handshake_timeout_ms: 10_000,
            close_timeout_ms: 5_000,
            send_queue_bytes: 64 << 10,
            rx_start_size: 4096,
            rx_expand_size: 4096,
        }
    }
}

impl Limits {
    /// Whether the limits are usable (every size at least 1).
    pub fn is_valid(&self) -> bool {
        self.max_frame > 0
            && self.max_message > 0
            && self.max_handshake_bytes > 0
            && self.max_handshake_headers > 0
            && self.send_queue_bytes > 0
    }
}

/// Options of a connection besides its limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// The limits.
    pub limits: Limits,
    /// Deliver data as it arrives ([`Event::Fragment`](crate::proto::Event::Fragment))
    /// instead of whole messages: nothing is buffered, and a message of any
    /// size up to `max_message` passes through in pieces.
    pub streaming: bool,
    /// Deliver pings and pongs as events (pongs to pings are sent either way).
    pub control_events: bool,
    /// Send a ping after this many milliseconds without receiving anything
    /// (0: no keepalive).
    pub keepalive_interval_ms: u32,
    /// Fail the connection when nothing arrives this many milliseconds after
    /// a keepalive ping (0: the interval is used).
    pub keepalive_timeout_ms: u32,
}
