//! Messages on an attached socket (`ews_sock`, see `attach.rs`): sending
//! and receiving, typed or not, whole or in pieces, with deadlines.

use std::ffi::{c_int, c_void};

use crate::attach::{Received, WsSocket};
use crate::ffi::attach::{EWS_WS_BINARY, EWS_WS_MORE, EWS_WS_TEXT, ews_sock};
use crate::ffi::errors::{EWS_EINVAL, EWS_EPANIC, EWS_OK, code_of};
use crate::ffi::panic::guard;
use crate::ffi::ptr;
use crate::io::stream::Deadline;

fn send_code(
    sock: *mut ews_sock,
    text: Option<bool>,
    more: bool,
    data: *const c_void,
    len: usize,
    deadline: i64,
) -> c_int {
    let (Some(s), Some(data)) = (ptr::obj_mut(sock), ptr::bytes(data.cast(), len)) else {
        return EWS_EINVAL;
    };
    let text = text.unwrap_or(s.ws.is_text());
    let r = s.ws.send(text, more, data, Deadline::at(deadline));
    s.refresh();
    match r {
        Ok(()) => EWS_OK,
        Err(e) => code_of(&e),
    }
}

/// Sends `len` bytes of `data` as one message of the socket's type
/// (text sockets: must be UTF-8). `data` is copied; it is not modified.
///
/// The message is taken once the bytes still queued from earlier calls
/// are below the send queue limit (`limits.send_queue_bytes`); a taken
/// message is always sent: if the deadline passes while it is written, the
/// call returns 0 and the rest goes out with the next call on the socket
/// (ews_sock_flush() waits for it). Returns 0. Errors: EWS_ETIMEDOUT (the
/// deadline passed before the message was taken: send it again later),
/// EWS_EINVAL (NULL, text not UTF-8), EWS_ESTATE (a fragmented message is
/// in progress), EWS_ECLOSED (a close frame was sent or the closing
/// handshake completed), EWS_EDROPPED (the peer is gone), EWS_EIO, and the
/// handshake's errors.
#[unsafe(no_mangle)]
pub extern "C" fn ews_msend(sock: *mut ews_sock, data: *const c_void, len: usize, deadline: i64) -> c_int {
    guard(EWS_EPANIC, || send_code(sock, None, false, data, len, deadline))
}

/// Sends a message whose type is in `flags`: EWS_WS_TEXT (UTF-8) or
/// EWS_WS_BINARY, whatever the socket's type. With EWS_WS_MORE the bytes
/// are one piece of a fragmented message: the following ews_send() calls
/// send the next pieces (their type is ignored), the first without
/// EWS_WS_MORE ends it. Returns 0; timing and errors as ews_msend(), and
/// EWS_EINVAL for unknown flags.
#[unsafe(no_mangle)]
pub extern "C" fn ews_send(sock: *mut ews_sock, flags: c_int, data: *const c_void, len: usize, deadline: i64) -> c_int {
    guard(EWS_EPANIC, || {
        if flags & !(EWS_WS_TEXT | EWS_WS_MORE) != 0 {
            return EWS_EINVAL;
        }
        send_code(sock, Some(flags & EWS_WS_TEXT != 0), flags & EWS_WS_MORE != 0, data, len, deadline)
    })
}

/// The receive calls: checks the arguments (`flags` NULL is refused),
/// runs `f` on the socket and the caller's buffer, and reports the size
/// and the message's flags.
fn receive(
    sock: *mut ews_sock,
    buf: *mut c_void,
    len: usize,
    flags: *mut c_int,
    f: impl FnOnce(&mut WsSocket, &mut [u8]) -> crate::Result<Received>,
) -> isize {
    guard(EWS_EPANIC as isize, || {
        let (Some(s), Some(buf)) = (ptr::obj_mut(sock), ptr::bytes_mut(buf.cast(), len)) else {
            return EWS_EINVAL as isize;
        };
        if flags.is_null() {
            return EWS_EINVAL as isize;
        }
        let r = f(&mut s.ws, buf);
        s.refresh();
        recv_size(r, flags)
    })
}

fn recv_size(r: crate::Result<Received>, flags: *mut c_int) -> isize {
    match r {
        Ok(got) => {
            let mut f = if got.text { EWS_WS_TEXT } else { EWS_WS_BINARY };
            if got.more {
                f |= EWS_WS_MORE;
            }
            ptr::write(flags, f);
            got.len as isize
        }
        Err(e) => code_of(&e) as isize,
    }
}

/// Receives the next message of the socket's type into `buf` (`len`
/// bytes) and returns its size. Pings that arrive meanwhile are answered
/// and pongs absorbed.
///
/// A message that is not of the socket's type fails with EWS_EPROTO (as in
/// libdill) and stays queued: take it with ews_recv(). A message longer than
/// `len` fails with EWS_ENOSPC and stays queued: ews_peek() tells its
/// size, ews_recv_part() takes it in pieces. Errors: EWS_ETIMEDOUT (the
/// deadline passed; what arrived so far is kept), EWS_ECLOSED (the peer's
/// close frame arrived: ews_status() has its code and reason; the answer
/// was queued, finish with ews_detach()), EWS_EPROTO / EWS_EUTF8 /
/// EWS_ETOOBIG (the peer broke the protocol or a limit; the matching close
/// code was sent), EWS_EDROPPED (the stream ended without a closing
/// handshake), EWS_EINVAL, EWS_EIO.
#[unsafe(no_mangle)]
pub extern "C" fn ews_mrecv(sock: *mut ews_sock, buf: *mut c_void, len: usize, deadline: i64) -> isize {
    let mut flags = 0;
    receive(sock, buf, len, &mut flags, |ws, buf| {
        let text = ws.is_text();
        ws.recv(buf, Some(text), Deadline::at(deadline))
    })
}

/// Receives the next message, text or binary, into `buf` (`len` bytes):
/// returns its size and writes EWS_WS_TEXT or EWS_WS_BINARY to `*flags`.
/// Errors as ews_mrecv() (no type mismatch here), and EWS_EINVAL for a
/// NULL `flags`.
#[unsafe(no_mangle)]
pub extern "C" fn ews_recv(
    sock: *mut ews_sock,
    flags: *mut c_int,
    buf: *mut c_void,
    len: usize,
    deadline: i64,
) -> isize {
    receive(sock, buf, len, flags, |ws, buf| ws.recv(buf, None, Deadline::at(deadline)))
}

/// Receives the next piece of a message: copies up to `len` bytes of it
/// into `buf` and returns how many. `*flags` gets the message's type, with
/// EWS_WS_MORE while bytes of the same message remain (the next call
/// continues it). For messages larger than any buffer the caller wants to
/// hold; they are still limited by `limits.max_message`. Errors as
/// ews_recv().
#[unsafe(no_mangle)]
pub extern "C" fn ews_recv_part(
    sock: *mut ews_sock,
    flags: *mut c_int,
    buf: *mut c_void,
    len: usize,
    deadline: i64,
) -> isize {
    receive(sock, buf, len, flags, |ws, buf| ws.recv_part(buf, Deadline::at(deadline)))
}

/// Waits for the next message and returns its size (what is left of it
/// after ews_recv_part()) without taking it; writes its type to `*flags`
/// (NULL: not wanted). Errors as ews_recv().
#[unsafe(no_mangle)]
pub extern "C" fn ews_peek(sock: *mut ews_sock, flags: *mut c_int, deadline: i64) -> isize {
    guard(EWS_EPANIC as isize, || {
        let Some(s) = ptr::obj_mut(sock) else { return EWS_EINVAL as isize };
        let r = s.ws.peek(Deadline::at(deadline));
        s.refresh();
        match r {
            Ok((size, text)) => {
                if !flags.is_null() {
                    ptr::write(flags, if text { EWS_WS_TEXT } else { EWS_WS_BINARY });
                }
                size as isize
            }
            Err(e) => code_of(&e) as isize,
        }
    })
}

/// Writes everything queued (the rest of a message whose send call reached
/// its deadline, pongs). Returns 0. Errors: EWS_ETIMEDOUT (call again),
/// EWS_EINVAL, EWS_EDROPPED, EWS_EIO.
#[unsafe(no_mangle)]
pub extern "C" fn ews_sock_flush(sock: *mut ews_sock, deadline: i64) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(s) = ptr::obj_mut(sock) else { return EWS_EINVAL };
        match s.ws.flush(Deadline::at(deadline)) {
            Ok(()) => EWS_OK,
            Err(e) => code_of(&e),
        }
    })
}
