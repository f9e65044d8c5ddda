//! `ews_event`: what a sans-IO connection (`ews_conn`) reports, and the
//! one conversion of the core's events into it.

use std::ffi::{c_char, c_int};
use std::ptr::null;

use crate::error::Error;
use crate::ffi::errors::code_of;
use crate::ffi::ptr;
use crate::proto::Event;
use crate::proto::close::MAX_REASON_LEN;

/// No event.
pub const EWS_EVENT_NONE: c_int = 0;
/// The opening handshake completed.
pub const EWS_EVENT_OPEN: c_int = 1;
/// A whole message: `data`/`len`, `is_text`.
pub const EWS_EVENT_MESSAGE: c_int = 2;
/// A piece of a message (streaming): `data`/`len`, `is_text`, `first`, `last`.
pub const EWS_EVENT_FRAGMENT: c_int = 3;
/// A ping: `data`/`len` (the pong is already queued).
pub const EWS_EVENT_PING: c_int = 4;
/// A pong: `data`/`len`.
pub const EWS_EVENT_PONG: c_int = 5;
/// The peer's close frame: `code` (1005 if it had none), the reason in
/// `data`/`len` (NUL-terminated). The answering close frame is queued.
pub const EWS_EVENT_CLOSE: c_int = 6;
/// The connection failed: `error`, `detail`, `code`, `status`.
pub const EWS_EVENT_ERROR: c_int = 7;
/// Server with `defer_accept`: a valid upgrade request waits for
/// ews_conn_accept() or ews_conn_reject().
pub const EWS_EVENT_REQUEST: c_int = 8;

/// Something that happened on a connection; which fields are set depends
/// on `kind`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ews_event {
    /// EWS_EVENT_*.
    pub kind: c_int,
    /// Messages and fragments: 1 for text, 0 for binary.
    pub is_text: c_int,
    /// Fragments: 1 on the first piece of a message.
    pub first: c_int,
    /// Fragments: 1 on the last piece of a message.
    pub last: c_int,
    /// The payload (message, fragment, ping, pong) or close reason. Valid
    /// until the next call on the connection, or while the buffer passed to
    /// ews_conn_feed() is unchanged, whichever is sooner.
    pub data: *const u8,
    /// The length of `data`.
    pub len: usize,
    /// Close: the peer's close code (1005: none). Error: the failure's close
    /// code (1002, 1007, 1009), sent in a close frame unless this end had
    /// sent one already; 1006 for failures without one (handshake,
    /// timeouts, a dropped transport).
    pub code: c_int,
    /// Error: the EWS_E* code.
    pub error: c_int,
    /// Error: the HTTP status a server answered when refusing a handshake,
    /// or a client received instead of 101; otherwise 0.
    pub status: c_int,
    /// Error: a static description ("HS: Accept hash wrong", ...).
    pub detail: *const c_char,
}

impl ews_event {
    pub(crate) fn empty() -> ews_event {
        ews_event {
            kind: EWS_EVENT_NONE,
            is_text: 0,
            first: 0,
            last: 0,
            data: null(),
            len: 0,
            code: 0,
            error: 0,
            status: 0,
            detail: null(),
        }
    }
}

/// The C form of an event; a close reason is copied into `reason` to be
/// NUL-terminated.
pub(crate) fn fill_event(ev: &Event<'_>, reason: &mut [u8; MAX_REASON_LEN + 1]) -> ews_event {
    let mut e = ews_event::empty();
    match *ev {
        Event::Request => e.kind = EWS_EVENT_REQUEST,
        Event::Open => e.kind = EWS_EVENT_OPEN,
        Event::Message { text, data } => {
            e.kind = EWS_EVENT_MESSAGE;
            e.is_text = text.into();
            (e.data, e.len) = (data.as_ptr(), data.len());
        }
        Event::Fragment { text, data, first, last } => {
            e.kind = EWS_EVENT_FRAGMENT;
            e.is_text = text.into();
            e.first = first.into();
            e.last = last.into();
            (e.data, e.len) = (data.as_ptr(), data.len());
        }
        Event::Ping(data) => {
            e.kind = EWS_EVENT_PING;
            (e.data, e.len) = (data.as_ptr(), data.len());
        }
        Event::Pong(data) => {
            e.kind = EWS_EVENT_PONG;
            (e.data, e.len) = (data.as_ptr(), data.len());
        }
        Event::Close { code, reason: text } => {
            e.kind = EWS_EVENT_CLOSE;
            e.code = code.into();
            let n = text.len().min(MAX_REASON_LEN);
            reason[..n].copy_from_slice(&text.as_bytes()[..n]);
            reason[n] = 0;
            (e.data, e.len) = (reason.as_ptr(), n);
        }
        Event::Error(err) => {
            e.kind = EWS_EVENT_ERROR;
            e.error = code_of(&err);
            e.detail = err.detail_c().as_ptr();
            e.code = err.close_code().unwrap_or(crate::proto::close::ABNORMAL).into();
            e.status = match err {
                Error::Request(r) => r.status().into(),
                Error::Handshake(crate::error::HandshakeError::NotSwitching(s)) => s.into(),
                _ => 0,
            };
        }
    }
    e
}

/// Writes a failure event (if any) to `event`: 1 if there was one, else 0.
pub(crate) fn report(event: *mut ews_event, ev: Option<Event<'static>>) -> c_int {
    let mut scratch = [0u8; MAX_REASON_LEN + 1];
    match ev {
        Some(ev) => {
            ptr::write(event, fill_event(&ev, &mut scratch));
            1
        }
        None => {
            ptr::write(event, ews_event::empty());
            0
        }
    }
}
