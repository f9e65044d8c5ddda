//! Stateless helpers: the building blocks for hosts that bring their own
//! framing or handshake code (accept key, frame header codec, masking,
//! close payloads) and the random source hook.
//!
//! All of them are safe from any thread.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;

use crate::ffi::errors::{EWS_EINVAL, EWS_ENOSPC, EWS_EPANIC, EWS_OK, code_of};
use crate::ffi::panic::guard;
use crate::ffi::ptr::{self, Str};
use crate::proto::close::{MAX_REASON_LEN, decode_close_payload, encode_close_payload, is_valid_wire_code};
use crate::proto::frame::{self, FrameHeader, HeaderRules, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, Opcode};
use crate::proto::handshake::{ACCEPT_LEN, accept_key, is_valid_key};
use crate::proto::{mask, rng};

/// Opcode 0x0: a continuation frame.
pub const EWS_OP_CONTINUATION: c_int = 0x0;
/// Opcode 0x1: a text frame.
pub const EWS_OP_TEXT: c_int = 0x1;
/// Opcode 0x2: a binary frame.
pub const EWS_OP_BINARY: c_int = 0x2;
/// Opcode 0x8: a close frame.
pub const EWS_OP_CLOSE: c_int = 0x8;
/// Opcode 0x9: a ping.
pub const EWS_OP_PING: c_int = 0x9;
/// Opcode 0xA: a pong.
pub const EWS_OP_PONG: c_int = 0xA;

/// Close code 1000: normal closure.
pub const EWS_CLOSE_NORMAL: c_int = 1000;
/// Close code 1001: going away.
pub const EWS_CLOSE_GOING_AWAY: c_int = 1001;
/// Close code 1002: protocol error.
pub const EWS_CLOSE_PROTOCOL_ERROR: c_int = 1002;
/// Close code 1003: unsupported data.
pub const EWS_CLOSE_UNSUPPORTED_DATA: c_int = 1003;
/// Close code 1005: no status code present (reported, never sent).
pub const EWS_CLOSE_NO_STATUS: c_int = 1005;
/// Close code 1006: closed without a close frame (reported, never sent).
pub const EWS_CLOSE_ABNORMAL: c_int = 1006;
/// Close code 1007: invalid payload data (not UTF-8).
pub const EWS_CLOSE_INVALID_PAYLOAD: c_int = 1007;
/// Close code 1008: policy violation.
pub const EWS_CLOSE_POLICY_VIOLATION: c_int = 1008;
/// Close code 1009: message too big.
pub const EWS_CLOSE_MESSAGE_TOO_BIG: c_int = 1009;
/// Close code 1010: mandatory extension missing.
pub const EWS_CLOSE_MANDATORY_EXTENSION: c_int = 1010;
/// Close code 1011: internal server error.
pub const EWS_CLOSE_INTERNAL_ERROR: c_int = 1011;

/// The size of a buffer for ews_accept_key(): 28 characters and a NUL.
pub const EWS_ACCEPT_KEY_SIZE: usize = 29;
/// The largest frame header: 2 bytes, a 64-bit length and a masking key.
pub const EWS_MAX_HEADER_SIZE: usize = 14;
/// The largest control frame payload.
pub const EWS_MAX_CONTROL_PAYLOAD: usize = 125;
/// The longest close reason in bytes.
pub const EWS_MAX_CLOSE_REASON: usize = 123;

// The header spells the sizes out; they must agree with the core.
const _: () = assert!(EWS_ACCEPT_KEY_SIZE == ACCEPT_LEN + 1);
const _: () = assert!(EWS_MAX_HEADER_SIZE == MAX_HEADER_LEN);
const _: () = assert!(EWS_MAX_CONTROL_PAYLOAD == MAX_CONTROL_PAYLOAD);
const _: () = assert!(EWS_MAX_CLOSE_REASON == MAX_REASON_LEN);

/// A frame header, decoded or to encode.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ews_frame_header {
    /// 1 if FIN is set (the last frame of a message).
    pub fin: c_int,
    /// RSV1..RSV3 in the low three bits (RSV1 = 4, RSV2 = 2, RSV3 = 1).
    pub rsv: c_int,
    /// The opcode (EWS_OP_*; any 4-bit value when encoding).
    pub opcode: c_int,
    /// 1 if the payload is masked with `mask_key`.
    pub masked: c_int,
    /// The masking key.
    pub mask_key: [u8; 4],
    /// The payload length.
    pub payload_len: u64,
}

/// Computes Sec-WebSocket-Accept for a Sec-WebSocket-Key value.
///
/// Writes 28 characters and a NUL to `out` (at least EWS_ACCEPT_KEY_SIZE
/// bytes) and returns 28. The key is hashed as given; pass `check_key`
/// non-zero to refuse a key that is not the base64 of 16 bytes
/// (EWS_EINVAL). Errors: EWS_EINVAL (NULL or non-UTF-8 key, NULL out),
/// EWS_ENOSPC (`out_size` < EWS_ACCEPT_KEY_SIZE; nothing written).
#[unsafe(no_mangle)]
pub extern "C" fn ews_accept_key(key: *const c_char, check_key: c_int, out: *mut c_char, out_size: usize) -> c_int {
    guard(EWS_EPANIC, || {
        let Str::Text(key) = ptr::string(key) else { return EWS_EINVAL };
        let Some(dst) = ptr::bytes_mut(out.cast(), out_size) else { return EWS_EINVAL };
        if out.is_null() {
            return EWS_EINVAL;
        }
        if check_key != 0 && !is_valid_key(key.as_bytes()) {
            return EWS_EINVAL;
        }
        if dst.len() < EWS_ACCEPT_KEY_SIZE {
            return EWS_ENOSPC;
        }
        dst[..ACCEPT_LEN].copy_from_slice(&accept_key(key.as_bytes()));
        dst[ACCEPT_LEN] = 0;
        ACCEPT_LEN as c_int
    })
}

/// Encodes a frame header into `out` and writes its size to `*written`.
///
/// Any opcode (0-15) and RSV bits may be encoded: this is a building block
/// (LabVIEW's SendDataFrame, test tools). Errors: EWS_EINVAL (NULL
/// argument, opcode or rsv out of range, payload_len >= 2^63), EWS_ENOSPC
/// (`out_size` too small; nothing written).
#[unsafe(no_mangle)]
pub extern "C" fn ews_frame_header_encode(
    header: *const ews_frame_header,
    out: *mut u8,
    out_size: usize,
    written: *mut usize,
) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(h), Some(dst)) = (ptr::obj(header), ptr::bytes_mut(out, out_size)) else {
            return EWS_EINVAL;
        };
        if written.is_null() || !(0..16).contains(&h.opcode) || !(0..8).contains(&h.rsv) || h.payload_len >> 63 != 0 {
            return EWS_EINVAL;
        }
        let key = (h.masked != 0).then_some(h.mask_key);
        let mut buf = [0u8; MAX_HEADER_LEN];
        let n = frame::encode_header(&mut buf, h.fin != 0, h.rsv as u8, h.opcode as u8, key, h.payload_len);
        if dst.len() < n {
            return EWS_ENOSPC;
        }
        dst[..n].copy_from_slice(&buf[..n]);
        ptr::write(written, n);
        EWS_OK
    })
}

/// Decodes the frame header at the start of `data`.
///
/// Returns 1 and fills `*header` and `*header_size` when a whole header is
/// present, 0 when more bytes are needed. Checks what RFC 6455 requires of
/// every frame: a known opcode, control frames with FIN and at most 125
/// bytes, minimal length encoding, no 64-bit length with the top bit set
/// (EWS_EPROTO otherwise). RSV bits and the mask bit are reported, not
/// judged: whether they are allowed depends on extensions and on the role.
/// Errors: EWS_EINVAL (NULL argument), EWS_EPROTO.
#[unsafe(no_mangle)]
pub extern "C" fn ews_frame_header_decode(
    data: *const u8,
    len: usize,
    header: *mut ews_frame_header,
    header_size: *mut usize,
) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(bytes) = ptr::bytes(data, len) else { return EWS_EINVAL };
        if header.is_null() || header_size.is_null() {
            return EWS_EINVAL;
        }
        match frame::decode_header(bytes, &HeaderRules::ANY) {
            Err(e) => code_of(&e),
            Ok(None) => 0,
            Ok(Some((h, n))) => {
                ptr::write(header, c_header(&h));
                ptr::write(header_size, n);
                1
            }
        }
    })
}

fn c_header(h: &FrameHeader) -> ews_frame_header {
    ews_frame_header {
        fin: h.fin.into(),
        rsv: h.rsv.into(),
        opcode: h.opcode.as_u8().into(),
        masked: h.mask.is_some().into(),
        mask_key: h.mask.unwrap_or_default(),
        payload_len: h.payload_len,
    }
}

/// Encodes a whole frame (header and payload) into `out`: any opcode
/// (0-15), FIN, and a mask when `mask_key` is not NULL (4 bytes; the
/// payload is masked in `out`, `payload` is not modified). Writes the frame
/// size to `*written`. Errors: EWS_EINVAL, EWS_ENOSPC (nothing written).
#[unsafe(no_mangle)]
pub extern "C" fn ews_frame_encode(
    opcode: c_int,
    fin: c_int,
    mask_key: *const u8,
    payload: *const u8,
    len: usize,
    out: *mut u8,
    out_size: usize,
    written: *mut usize,
) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(payload), Some(dst)) = (ptr::bytes(payload, len), ptr::bytes_mut(out, out_size)) else {
            return EWS_EINVAL;
        };
        if written.is_null() || !(0..16).contains(&opcode) {
            return EWS_EINVAL;
        }
        let key = match ptr::bytes(mask_key, 4) {
            Some(&[a, b, c, d]) => Some([a, b, c, d]),
            _ => None,
        };
        let mut buf = [0u8; MAX_HEADER_LEN];
        let n = frame::encode_header(&mut buf, fin != 0, 0, opcode as u8, key, payload.len() as u64);
        let Some(total) = n.checked_add(payload.len()) else { return EWS_ENOSPC };
        if dst.len() < total {
            return EWS_ENOSPC;
        }
        dst[..n].copy_from_slice(&buf[..n]);
        match key {
            Some(k) => mask::copy_masked(&mut dst[n..total], payload, k),
            None => dst[n..total].copy_from_slice(payload),
        }
        ptr::write(written, total);
        EWS_OK
    })
}

/// Masks or unmasks `len` bytes of `data` in place with the 4-byte
/// `mask_key`; `offset` is the position of `data[0]` in the frame payload
/// (0 unless the payload is processed in pieces). Errors: EWS_EINVAL.
#[unsafe(no_mangle)]
pub extern "C" fn ews_mask(data: *mut u8, len: usize, mask_key: *const u8, offset: u64) -> c_int {
    guard(EWS_EPANIC, || {
        let (Some(buf), Some(&[a, b, c, d])) = (ptr::bytes_mut(data, len), ptr::bytes(mask_key, 4)) else {
            return EWS_EINVAL;
        };
        mask::apply_mask(buf, [a, b, c, d], (offset % 4) as usize);
        EWS_OK
    })
}

/// Decodes a close frame payload (LabVIEW's DecodeCloseReason): writes the
/// code to `*code` (1005 for an empty payload) and points `*reason` /
/// `*reason_len` into `payload` (not NUL-terminated). Errors: EWS_EINVAL
/// (NULL argument), EWS_EPROTO (a 1-byte payload or a code that may not
/// appear on the wire), EWS_EUTF8 (a reason that is not UTF-8).
#[unsafe(no_mangle)]
pub extern "C" fn ews_close_decode(
    payload: *const u8,
    len: usize,
    code: *mut c_int,
    reason: *mut *const c_char,
    reason_len: *mut usize,
) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(bytes) = ptr::bytes(payload, len) else { return EWS_EINVAL };
        if code.is_null() || reason.is_null() || reason_len.is_null() {
            return EWS_EINVAL;
        }
        match decode_close_payload(bytes) {
            Ok((c, text)) => {
                ptr::write(code, c.into());
                ptr::write(reason, text.as_ptr().cast());
                ptr::write(reason_len, text.len());
                EWS_OK
            }
            Err(e) => code_of(&e),
        }
    })
}

/// Encodes a close frame payload from `code` (0: none) and `reason` (NULL
/// or at most 123 bytes of UTF-8) into `out` and writes its size to
/// `*written`. Errors: EWS_EINVAL (a code or reason that may not be sent),
/// EWS_ENOSPC (nothing written).
#[unsafe(no_mangle)]
pub extern "C" fn ews_close_encode(
    code: c_int,
    reason: *const c_char,
    out: *mut u8,
    out_size: usize,
    written: *mut usize,
) -> c_int {
    guard(EWS_EPANIC, || {
        let Some(dst) = ptr::bytes_mut(out, out_size) else { return EWS_EINVAL };
        let reason = match ptr::string(reason) {
            Str::Null => "",
            Str::Text(t) => t,
            Str::Invalid => return EWS_EINVAL,
        };
        let Ok(code) = u16::try_from(code) else { return EWS_EINVAL };
        if written.is_null() {
            return EWS_EINVAL;
        }
        let mut buf = [0u8; MAX_CONTROL_PAYLOAD];
        match encode_close_payload(code, reason, &mut buf) {
            Ok(n) if n > dst.len() => EWS_ENOSPC,
            Ok(n) => {
                dst[..n].copy_from_slice(&buf[..n]);
                ptr::write(written, n);
                EWS_OK
            }
            Err(e) => code_of(&e),
        }
    })
}

/// 1 if `code` may be sent in a close frame (1000-1003, 1007-1014,
/// 3000-4999), else 0.
#[unsafe(no_mangle)]
pub extern "C" fn ews_close_code_is_valid(code: c_int) -> c_int {
    guard(0, || u16::try_from(code).is_ok_and(is_valid_wire_code).into())
}

/// A random source: fill `len` bytes at `buf` with unpredictable bytes and
/// return 0, or return non-zero on failure.
pub type ews_random_fn = Option<extern "C" fn(user: *mut c_void, buf: *mut u8, len: usize) -> c_int>;

struct UserPtr(*mut c_void);
// SAFETY: the host promises (ews_set_random's contract) that its callback
// may be called from any thread with this pointer.
unsafe impl Send for UserPtr {}
// SAFETY: as above; ews only passes the pointer back to the host.
unsafe impl Sync for UserPtr {}

/// Installs the random source used for masking keys and
/// Sec-WebSocket-Key values, for the whole process; NULL restores the
/// operating system's CSPRNG (the default). For firmware without one. The
/// callback may be called from any thread, with `user`, until replaced.
/// Masking keys must be unpredictable (RFC 6455 §10.3): use a real CSPRNG.
/// Returns 0. Safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ews_set_random(source: ews_random_fn, user: *mut c_void) -> c_int {
    guard(EWS_EPANIC, || {
        let hook = source.map(|f| {
            let user = UserPtr(user);
            Arc::new(move |buf: &mut [u8]| {
                let user = &user;
                f(user.0, buf.as_mut_ptr(), buf.len()) == 0
            }) as Arc<rng::Source>
        });
        rng::set_source(hook);
        EWS_OK
    })
}

/// The opcode of an `EWS_OP_*` value, if RFC 6455 defines it.
pub(crate) fn opcode(value: c_int) -> Option<Opcode> {
    u8::try_from(value).ok().and_then(Opcode::from_u8)
}
