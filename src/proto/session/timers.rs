//! A session's clock and the end of its transport: handshake, close and
//! keepalive timers, passed in as data.

use crate::error::{Error, HandshakeError};
use crate::proto::message::Receiver;
use crate::proto::role::Role;
use crate::proto::sender::Sender;
use crate::proto::session::{Event, Session, State};
use crate::proto::timer::Timer;

impl Session {
    /// The transport reached end of file (or broke). Returns the failure
    /// event unless the closing handshake had completed.
    pub fn on_eof(&mut self, tx: &mut Sender) -> Option<Event<'static>> {
        match self.state {
            State::Closed => {
                self.rx = Receiver::default();
                self.linger_over = true;
                self.phase_timer = Timer::OFF;
                None
            }
            State::Failed => None,
            State::Connecting if self.role == Role::Client => {
                Some(self.fail(Error::Handshake(HandshakeError::PeerHungUp), tx))
            }
            _ => Some(self.fail(Error::Dropped, tx)),
        }
    }

    // ----- time -----

    /// When the host should next call [`on_time`](Session::on_time), on
    /// its own clock; `Some(0)` asks for a call with the current time (to
    /// start a timer); `None`: no timer runs.
    pub fn next_deadline(&self) -> Option<u64> {
        match (self.phase_timer.deadline(), self.keepalive_timer.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Passes the current time (milliseconds on the host's monotonic clock).
    /// Starts pending timers, sends keepalive pings, and returns the failure
    /// event when a handshake, close or pong timeout ran out.
    pub fn on_time(&mut self, now: u64, tx: &mut Sender) -> Option<Event<'static>> {
        self.sync(tx);
        self.phase_timer.arm(now);
        self.keepalive_timer.arm(now);
        if std::mem::take(&mut self.activity) && self.state == State::Open {
            // Anything received proves the peer alive: the next ping is an
            // interval from now.
            self.keepalive_timer = Timer::start_at(now, self.config.keepalive_interval_ms);
            self.awaiting_pong = false;
        }
        if self.phase_timer.expired(now) {
            self.phase_timer = Timer::OFF;
            return match self.state {
                State::Closed => {
                    self.linger_over = true;
                    None
                }
                State::Closing => Some(self.fail(Error::CloseTimeout, tx)),
                _ => Some(self.fail(Error::HandshakeTimeout, tx)),
            };
        }
        if self.keepalive_timer.expired(now) && self.state == State::Open {
            if self.awaiting_pong {
                return Some(self.fail(Error::PongTimeout, tx));
            }
            if let Err(e) = tx.ping(b"") {
                return Some(self.fail(e, tx));
            }
            let timeout = match self.config.keepalive_timeout_ms {
                0 => self.config.keepalive_interval_ms,
                t => t,
            };
            self.keepalive_timer = Timer::start_at(now, timeout);
            self.awaiting_pong = true;
        }
        None
    }
}
