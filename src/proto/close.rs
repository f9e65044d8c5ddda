//! Close codes and close frame payloads (RFC 6455 §5.5.1, §7.4).

use crate::error::{Error, Result};
use crate::proto::frame::MAX_CONTROL_PAYLOAD;

/// 1000: normal closure.
pub const NORMAL: u16 = 1000;
/// 1001: the endpoint is going away.
pub const GOING_AWAY: u16 = 1001;
/// 1002: protocol error.
pub const PROTOCOL_ERROR: u16 = 1002;
/// 1003: a data type the endpoint cannot accept.
pub const UNSUPPORTED_DATA: u16 = 1003;
/// 1005: no status code was present (reported, never sent).
pub const NO_STATUS: u16 = 1005;
/// 1006: the connection closed without a close frame (reported, never sent).
pub const ABNORMAL: u16 = 1006;
/// 1007: data inconsistent with the message type (invalid UTF-8).
pub const INVALID_PAYLOAD: u16 = 1007;
/// 1008: a policy was violated.
pub const POLICY_VIOLATION: u16 = 1008;
/// 1009: a message too big to process.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// 1010: the client expected an extension the server did not negotiate.
pub const MANDATORY_EXTENSION: u16 = 1010;
/// 1011: the server met an unexpected condition.
pub const INTERNAL_ERROR: u16 = 1011;

/// The longest close reason: 125 bytes of payload minus the 2-byte code.
pub const MAX_REASON_LEN: usize = MAX_CONTROL_PAYLOAD - 2;

/// Whether `code` may appear in a close frame on the wire: 1000-1003,
/// 1007-1014 (defined or registered), 3000-4999 (libraries, applications).
/// 1004, 1005, 1006, 1015 and everything else may not.
pub fn is_valid_wire_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Decodes a received close payload into its code and reason.
///
/// An empty payload gives [`NO_STATUS`] and an empty reason. A one-byte
/// payload, or a code that may not appear on the wire, is a protocol error;
/// a reason that is not UTF-8 fails with [`Error::InvalidUtf8`].
pub fn decode_close_payload(payload: &[u8]) -> Result<(u16, &str)> {
    match payload.len() {
        0 => return Ok((NO_STATUS, "")),
        1 => return Err(Error::CloseTooShort),
        _ => {}
    }
    let code = u16::from_be_bytes([payload[0], payload[1]]);
    if !is_valid_wire_code(code) {
        return Err(Error::InvalidCloseCode(code));
    }
    let reason = std::str::from_utf8(&payload[2..]).map_err(|_| Error::InvalidUtf8)?;
    Ok((code, reason))
}

/// Checks a close code and reason the host wants to send and writes the
/// payload into `out`, returning its length.
///
/// `code` 0 sends a close frame without a status (the peer reports 1005);
/// it takes no reason. Any other code must be valid on the wire, and the
/// reason at most 123 bytes of UTF-8 (a `&str` is UTF-8 by construction).
pub fn encode_close_payload(code: u16, reason: &str, out: &mut [u8; MAX_CONTROL_PAYLOAD]) -> Result<usize> {
    if code == 0 {
        if !reason.is_empty() {
            return Err(Error::Invalid(c"a close reason needs a close code"));
        }
        return Ok(0);
    }
    if !is_valid_wire_code(code) {
        return Err(Error::Invalid(c"close code may not be sent"));
    }
    if reason.len() > MAX_REASON_LEN {
        return Err(Error::Invalid(c"close reason longer than 123 bytes"));
    }
    out[..2].copy_from_slice(&code.to_be_bytes());
    out[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
    Ok(2 + reason.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_wire_codes_are_exactly_the_defined_and_private_ranges() {
        let valid: Vec<u16> = (0..=u16::MAX).filter(|&c| is_valid_wire_code(c)).collect();
        let expected: Vec<u16> = (1000..=1003).chain(1007..=1014).chain(3000..=4999).collect();
        assert_eq!(valid, expected);
    }

    #[test]
    fn codes_1004_1005_1006_1015_are_invalid_on_the_wire() {
        for code in [1004u16, 1005, 1006, 1015, 0, 999, 1016, 2999, 5000, 65535] {
            let p = code.to_be_bytes();
            assert_eq!(decode_close_payload(&p), Err(Error::InvalidCloseCode(code)), "{code}");
        }
    }

    #[test]
    fn empty_close_payload_reports_1005() {
        assert_eq!(decode_close_payload(&[]), Ok((NO_STATUS, "")));
    }

    #[test]
    fn one_byte_close_payload_is_a_protocol_error() {
        assert_eq!(decode_close_payload(&[0x03]), Err(Error::CloseTooShort));
    }

    #[test]
    fn close_reason_with_invalid_utf8_fails_with_1007() {
        let e = decode_close_payload(&[0x03, 0xe8, b'o', 0xff]).unwrap_err();
        assert_eq!(e, Error::InvalidUtf8);
        assert_eq!(e.close_code(), Some(1007));
    }

    #[test]
    fn close_payload_round_trips() {
        let mut out = [0u8; MAX_CONTROL_PAYLOAD];
        let n = encode_close_payload(4000, "bye ✓", &mut out).unwrap();
        assert_eq!(decode_close_payload(&out[..n]), Ok((4000, "bye ✓")));
    }

    #[test]
    fn reason_of_123_bytes_is_sent_and_124_refused() {
        let mut out = [0u8; MAX_CONTROL_PAYLOAD];
        assert_eq!(encode_close_payload(1000, &"a".repeat(123), &mut out), Ok(125));
        assert!(encode_close_payload(1000, &"a".repeat(124), &mut out).is_err());
    }

    #[test]
    fn codes_that_may_not_be_sent_are_refused() {
        let mut out = [0u8; MAX_CONTROL_PAYLOAD];
        for code in [1004u16, 1005, 1006, 1015, 999, 5000] {
            assert!(encode_close_payload(code, "", &mut out).is_err(), "{code}");
        }
    }

    #[test]
    fn code_zero_sends_an_empty_payload_and_takes_no_reason() {
        let mut out = [0u8; MAX_CONTROL_PAYLOAD];
        assert_eq!(encode_close_payload(0, "", &mut out), Ok(0));
        assert!(encode_close_payload(0, "why", &mut out).is_err());
    }
}
