//! A client handler that records what happens, for the client tests: each
//! call becomes an [`Ev`] on a channel the test reads with a timeout.
#![allow(dead_code)]

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

use ews::Error;
use ews::client::{Client, Handler};

/// One handler call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    /// `established`.
    Established,
    /// `receive` of a whole message: text, data.
    Message(bool, Vec<u8>),
    /// `receive` of a piece (streaming): text, data, first, last.
    Fragment(bool, Vec<u8>, bool, bool),
    /// `closed`: code, reason, clean.
    Closed(u16, String, bool),
    /// `connection_error`: the error and its reason string.
    Error(Error, String),
}

/// The handler side.
pub struct Recording {
    tx: Sender<Ev>,
    stop_on_message: bool,
}

impl Handler for Recording {
    fn established(&mut self, _client: &Client) {
        let _ = self.tx.send(Ev::Established);
    }

    fn receive(&mut self, client: &Client, data: &[u8], text: bool, first: bool, last: bool) {
        let ev = if first && last {
            Ev::Message(text, data.to_vec())
        } else {
            Ev::Fragment(text, data.to_vec(), first, last)
        };
        let _ = self.tx.send(ev);
        if self.stop_on_message {
            client.stop();
        }
    }

    fn closed(&mut self, _client: &Client, code: u16, reason: &str, clean: bool) {
        let _ = self.tx.send(Ev::Closed(code, reason.to_owned(), clean));
    }

    fn connection_error(&mut self, _client: &Client, error: Error) {
        let _ = self.tx.send(Ev::Error(error, error.detail().to_owned()));
    }
}

/// The test side.
pub struct Recorder {
    rx: Receiver<Ev>,
}

impl Recorder {
    /// A handler and the recorder of its calls.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> (Recording, Recorder) {
        let (tx, rx) = channel();
        (Recording { tx, stop_on_message: false }, Recorder { rx })
    }

    /// A handler that stops its client on the first message.
    pub fn stopping_on_message() -> (Recording, Recorder) {
        let (tx, rx) = channel();
        (Recording { tx, stop_on_message: true }, Recorder { rx })
    }

    /// The next call, waiting up to 10 s.
    pub fn next(&self) -> Ev {
        self.next_within(Duration::from_secs(10))
    }

    /// The next call, waiting up to `limit`.
    pub fn next_within(&self, limit: Duration) -> Ev {
        match self.rx.recv_timeout(limit) {
            Ok(ev) => ev,
            Err(RecvTimeoutError::Timeout) => panic!("no handler call within {limit:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the handler is gone"),
        }
    }

    /// The next call if one was made.
    pub fn try_next(&self) -> Option<Ev> {
        self.rx.try_recv().ok()
    }

    /// Asserts that no further call comes within 100 ms.
    pub fn assert_quiet(&self) {
        if let Ok(ev) = self.rx.recv_timeout(Duration::from_millis(100)) {
            panic!("unexpected handler call {ev:?}");
        }
    }
}
