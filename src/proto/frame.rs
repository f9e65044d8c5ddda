//! The frame header codec (RFC 6455 §5.2) and opcodes.

use crate::error::{Error, Result};

/// A frame opcode known to RFC 6455.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// `0x0`: continues a fragmented message.
    Continuation,
    /// `0x1`: a text frame.
    Text,
    /// `0x2`: a binary frame.
    Binary,
    /// `0x8`: a close frame.
    Close,
    /// `0x9`: a ping.
    Ping,
    /// `0xA`: a pong.
    Pong,
}

impl Opcode {
    /// The opcode for a 4-bit wire value, or `None` for a reserved value.
    pub fn from_u8(value: u8) -> Option<Opcode> {
        match value {
            0x0 => Some(Opcode::Continuation),
            0x1 => Some(Opcode::Text),
            0x2 => Some(Opcode::Binary),
            0x8 => Some(Opcode::Close),
            0x9 => Some(Opcode::Ping),
            0xA => Some(Opcode::Pong),
            _ => None,
        }
    }

    /// The 4-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// Whether this is a control opcode (close, ping or pong).
    pub fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// The largest header: 2 bytes, a 64-bit extended length and a masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload of a control frame (§5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this frame ends its message.
    pub fin: bool,
    /// RSV1..RSV3 in the low three bits (RSV1 = 4, RSV2 = 2, RSV3 = 1).
    pub rsv: u8,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key, if the MASK bit was set.
    pub mask: Option<[u8; 4]>,
    /// The declared payload length.
    pub payload_len: u64,
}

/// What a receiver accepts in a header besides the rules every frame obeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRules {
    /// `Some(true)`: frames must be masked (a server receiving); `Some(false)`:
    /// they must not be (a client receiving); `None`: either.
    pub masked: Option<bool>,
    /// The RSV bits a negotiated extension allows (0 without extensions).
    pub allowed_rsv: u8,
    /// The largest payload length accepted; a longer one fails with
    /// [`Error::FrameTooBig`] before anything is buffered.
    pub max_payload: u64,
}

impl HeaderRules {
    /// Rules that check only what RFC 6455 requires of every frame.
    pub const ANY: HeaderRules = HeaderRules { masked: None, allowed_rsv: 0b111, max_payload: u64::MAX };
}

/// The size of a header for a payload of `len` bytes.
pub fn header_len(len: u64, masked: bool) -> usize {
    let base = if len < 126 {
        2
    } else if len <= u16::MAX as u64 {
        4
    } else {
        10
    };
    if masked { base + 4 } else { base }
}

/// Decodes a frame header from the start of `buf`.
///
/// Returns `Ok(Some((header, header_len)))` for a complete header,
/// `Ok(None)` when more bytes are needed, or the first rule the bytes
/// present break. Checks are made as soon as the byte that carries them is
/// present, so a bad opcode fails with one byte in hand.
pub fn decode_header(buf: &[u8], rules: &HeaderRules) -> Result<Option<(FrameHeader, usize)>> {
    let Some(&b0) = buf.first() else { return Ok(None) };
    let fin = b0 & 0x80 != 0;
    let rsv = (b0 >> 4) & 0x7;
    if rsv & !rules.allowed_rsv != 0 {
        return Err(Error::ReservedBits);
    }
    let opcode = Opcode::from_u8(b0 & 0x0F).ok_or(Error::ReservedOpcode(b0 & 0x0F))?;
    if opcode.is_control() && !fin {
        return Err(Error::FragmentedControlFrame);
    }
    let Some(&b1) = buf.get(1) else { return Ok(None) };
    let masked = b1 & 0x80 != 0;
    match rules.masked {
        Some(true) if !masked => return Err(Error::UnmaskedFrame),
        Some(false) if masked => return Err(Error::MaskedFrame),
        _ => {}
    }
    let len7 = b1 & 0x7F;
    if opcode.is_control() && len7 > MAX_CONTROL_PAYLOAD as u8 {
        return Err(Error::ControlFrameTooLong);
    }
    let (payload_len, mut pos) = match len7 {
        126 => {
            let Some(ext) = buf.get(2..4) else { return Ok(None) };
            let len = u16::from_be_bytes([ext[0], ext[1]]) as u64;
            if len < 126 {
                return Err(Error::NonMinimalLength);
            }
            (len, 4)
        }
        127 => {
            let Some(ext) = buf.get(2..10) else { return Ok(None) };
            let len = u64::from_be_bytes(ext.try_into().expect("8 bytes"));
            if len >> 63 != 0 {
                return Err(Error::LengthTopBit);
            }
            if len <= u16::MAX as u64 {
                return Err(Error::NonMinimalLength);
            }
            (len, 10)
        }
        short => (short as u64, 2),
    };
    if payload_len > rules.max_payload {
        return Err(Error::FrameTooBig);
    }
    let mask = if masked {
        let Some(key) = buf.get(pos..pos + 4) else { return Ok(None) };
        pos += 4;
        Some([key[0], key[1], key[2], key[3]])
    } else {
        None
    };
    Ok(Some((FrameHeader { fin, rsv, opcode, mask, payload_len }, pos)))
}

/// Encodes a frame header into `out` and returns its length.
///
/// `opcode` is the raw 4-bit value, so that any opcode can be written (the
/// stateless C helper and tests use this); `rsv` holds RSV1..RSV3 in its
/// low three bits.
pub fn encode_header(
    out: &mut [u8; MAX_HEADER_LEN],
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    payload_len: u64,
) -> usize {
    out[0] = (u8::from(fin) << 7) | ((rsv & 0x7) << 4) | (opcode & 0x0F);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let mut pos = if payload_len < 126 {
        out[1] = mask_bit | payload_len as u8;
        2
    } else if payload_len <= u16::MAX as u64 {
        out[1] = mask_bit | 126;
        out[2..4].copy_from_slice(&(payload_len as u16).to_be_bytes());
        4
    } else {
        out[1] = mask_bit | 127;
        out[2..10].copy_from_slice(&payload_len.to_be_bytes());
        10
    };
    if let Some(key) = mask {
        out[pos..pos + 4].copy_from_slice(&key);
        pos += 4;
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_rules() -> HeaderRules {
        HeaderRules { masked: Some(true), allowed_rsv: 0, max_payload: 1 << 20 }
    }

    fn client_rules() -> HeaderRules {
        HeaderRules { masked: Some(false), allowed_rsv: 0, max_payload: 1 << 20 }
    }

    fn encode(fin: bool, opcode: u8, mask: Option<[u8; 4]>, len: u64) -> Vec<u8> {
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&mut out, fin, 0, opcode, mask, len);
        out[..n].to_vec()
    }

    #[test]
    fn every_length_encoding_round_trips_at_its_boundaries() {
        for len in [0u64, 1, 125, 126, 127, 65535, 65536, 1 << 32, (1 << 63) - 1] {
            for mask in [None, Some([1, 2, 3, 4])] {
                let bytes = encode(true, 2, mask, len);
                assert_eq!(bytes.len(), header_len(len, mask.is_some()));
                let (h, n) = decode_header(&bytes, &HeaderRules::ANY).unwrap().unwrap();
                assert_eq!(n, bytes.len());
                assert_eq!(h.payload_len, len);
                assert_eq!(h.mask, mask);
                assert!(h.fin);
                assert_eq!(h.opcode, Opcode::Binary);
            }
        }
    }

    #[test]
    fn seven_bit_length_uses_two_bytes_sixteen_bit_four_sixty_four_bit_ten() {
        assert_eq!(encode(true, 1, None, 125).len(), 2);
        assert_eq!(encode(true, 1, None, 126).len(), 4);
        assert_eq!(encode(true, 1, None, 65535).len(), 4);
        assert_eq!(encode(true, 1, None, 65536).len(), 10);
    }

    #[test]
    fn every_prefix_of_a_header_asks_for_more_bytes() {
        let bytes = encode(false, 1, Some([9, 8, 7, 6]), 70000);
        for cut in 0..bytes.len() {
            assert_eq!(decode_header(&bytes[..cut], &HeaderRules::ANY).unwrap(), None, "cut {cut}");
        }
    }

    #[test]
    fn sixteen_bit_length_below_126_is_non_minimal() {
        assert_eq!(decode_header(&[0x82, 126, 0, 125], &HeaderRules::ANY), Err(Error::NonMinimalLength));
        assert!(decode_header(&[0x82, 126, 0, 126], &HeaderRules::ANY).unwrap().is_some());
    }

    #[test]
    fn sixty_four_bit_length_up_to_65535_is_non_minimal() {
        let mut b = vec![0x82, 127];
        b.extend_from_slice(&65535u64.to_be_bytes());
        assert_eq!(decode_header(&b, &HeaderRules::ANY), Err(Error::NonMinimalLength));
        let mut b = vec![0x82, 127];
        b.extend_from_slice(&65536u64.to_be_bytes());
        assert!(decode_header(&b, &HeaderRules::ANY).unwrap().is_some());
    }

    #[test]
    fn sixty_four_bit_length_with_top_bit_set_is_rejected() {
        let mut b = vec![0x82, 127];
        b.extend_from_slice(&(1u64 << 63).to_be_bytes());
        assert_eq!(decode_header(&b, &HeaderRules::ANY), Err(Error::LengthTopBit));
    }

    #[test]
    fn every_reserved_opcode_is_rejected_on_the_first_byte() {
        for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(decode_header(&[0x80 | op], &HeaderRules::ANY), Err(Error::ReservedOpcode(op)));
        }
    }

    #[test]
    fn each_rsv_bit_is_rejected_without_an_extension() {
        for bit in [0x40u8, 0x20, 0x10] {
            assert_eq!(decode_header(&[0x81 | bit], &server_rules()), Err(Error::ReservedBits));
        }
    }

    #[test]
    fn rsv1_is_accepted_when_an_extension_allows_it() {
        let rules = HeaderRules { allowed_rsv: 0b100, ..HeaderRules::ANY };
        let (h, _) = decode_header(&[0xC1, 0], &rules).unwrap().unwrap();
        assert_eq!(h.rsv, 0b100);
        assert_eq!(decode_header(&[0xA1], &rules), Err(Error::ReservedBits));
    }

    #[test]
    fn unmasked_frame_to_a_server_fails() {
        assert_eq!(decode_header(&[0x81, 0x05], &server_rules()), Err(Error::UnmaskedFrame));
    }

    #[test]
    fn masked_frame_to_a_client_fails() {
        assert_eq!(decode_header(&[0x81, 0x85], &client_rules()), Err(Error::MaskedFrame));
    }

    #[test]
    fn control_frame_without_fin_fails() {
        for op in [8u8, 9, 10] {
            assert_eq!(decode_header(&[op], &HeaderRules::ANY), Err(Error::FragmentedControlFrame));
        }
    }

    #[test]
    fn ping_with_126_byte_payload_fails_before_the_extended_length() {
        assert_eq!(decode_header(&[0x89, 126], &HeaderRules::ANY), Err(Error::ControlFrameTooLong));
        assert_eq!(decode_header(&[0x89, 127], &HeaderRules::ANY), Err(Error::ControlFrameTooLong));
        assert!(decode_header(&[0x89, 125], &HeaderRules::ANY).unwrap().is_some());
    }

    #[test]
    fn declared_length_over_the_limit_fails_at_n_plus_one() {
        let rules = HeaderRules { max_payload: 1000, ..HeaderRules::ANY };
        for (len, ok) in [(999u64, true), (1000, true), (1001, false)] {
            let r = decode_header(&encode(true, 2, None, len), &rules);
            assert_eq!(r.is_ok(), ok, "len {len}");
        }
        let mut huge = vec![0x82, 127];
        huge.extend_from_slice(&((1u64 << 63) - 1).to_be_bytes());
        assert_eq!(decode_header(&huge, &rules), Err(Error::FrameTooBig));
    }

    #[test]
    fn opcode_values_round_trip() {
        for v in 0u8..16 {
            if let Some(op) = Opcode::from_u8(v) {
                assert_eq!(op.as_u8(), v);
                assert_eq!(op.is_control(), v >= 8);
            }
        }
    }
}
