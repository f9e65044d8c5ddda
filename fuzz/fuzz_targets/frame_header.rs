//! `decode_header` on arbitrary bytes under rules taken from the input.
//!
//! Oracle: no panic; a decoded header obeys the rules, its length is
//! `header_len`, and `encode_header` writes back exactly the bytes it was
//! decoded from (only minimal encodings are accepted, so the codec is a
//! bijection) which decode to the same header; an error is one of the
//! header errors; and the outcome is stable under more bytes: once a
//! prefix decodes or fails, every longer input gives the same result.
#![no_main]

use ews::Error;
use ews::proto::frame::{
    FrameHeader, HeaderRules, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, decode_header, encode_header, header_len,
};
use ews_fuzz::Cursor;
use libfuzzer_sys::fuzz_target;

fn rules(c: &mut Cursor<'_>) -> HeaderRules {
    let b = c.u8();
    let masked = match b & 3 {
        0 => None,
        1 => Some(true),
        2 => Some(false),
        _ => None,
    };
    let allowed_rsv = (b >> 2) & 0b111;
    let max_payload = match b >> 5 {
        0 => u64::MAX,
        1 => 0,
        2 => 125,
        3 => 126,
        4 => 65535,
        5 => 65536,
        6 => (1 << 63) - 1,
        _ => c.u64(),
    };
    HeaderRules { masked, allowed_rsv, max_payload }
}

fn check_header(h: &FrameHeader, rules: &HeaderRules) {
    assert_eq!(h.rsv & !rules.allowed_rsv, 0, "RSV bits not allowed: {h:?} {rules:?}");
    assert!(h.rsv <= 7);
    if let Some(m) = rules.masked {
        assert_eq!(h.mask.is_some(), m, "mask rule broken: {h:?} {rules:?}");
    }
    assert!(h.payload_len <= rules.max_payload, "{h:?} over {rules:?}");
    assert_eq!(h.payload_len >> 63, 0, "top bit of the length set: {h:?}");
    if h.opcode.is_control() {
        assert!(h.fin, "fragmented control frame accepted: {h:?}");
        assert!(h.payload_len <= MAX_CONTROL_PAYLOAD as u64, "long control frame accepted: {h:?}");
    }
}

fn is_header_error(e: &Error) -> bool {
    matches!(
        e,
        Error::ReservedBits
            | Error::ReservedOpcode(_)
            | Error::UnmaskedFrame
            | Error::MaskedFrame
            | Error::ControlFrameTooLong
            | Error::FragmentedControlFrame
            | Error::NonMinimalLength
            | Error::LengthTopBit
            | Error::FrameTooBig
    )
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let rules = rules(&mut c);
    let buf = c.rest();

    let result = decode_header(buf, &rules);
    match result {
        Ok(Some((h, n))) => {
            assert!(n <= buf.len() && n <= MAX_HEADER_LEN, "header length {n} of {} bytes", buf.len());
            assert_eq!(n, header_len(h.payload_len, h.mask.is_some()), "{h:?}");
            check_header(&h, &rules);
            let mut out = [0u8; MAX_HEADER_LEN];
            let m = encode_header(&mut out, h.fin, h.rsv, h.opcode.as_u8(), h.mask, h.payload_len);
            assert_eq!(m, n, "re-encoded length differs for {h:?}");
            assert_eq!(&out[..m], &buf[..n], "re-encoding differs for {h:?}");
            assert_eq!(decode_header(&out[..m], &rules), Ok(Some((h, n))), "round trip of {h:?}");
            // With no rules at all the same bytes give the same header.
            assert_eq!(decode_header(&buf[..n], &HeaderRules::ANY), Ok(Some((h, n))));
        }
        Ok(None) => {
            assert!(buf.len() < MAX_HEADER_LEN, "{} bytes and no header yet", buf.len());
        }
        Err(e) => assert!(is_header_error(&e), "unexpected error {e:?}"),
    }

    // The outcome is stable under more bytes: every prefix is "need more"
    // until one decodes or fails, and from there on every prefix agrees.
    let upto = buf.len().min(MAX_HEADER_LEN + 1);
    let mut settled = None;
    for k in 0..=upto {
        let r = decode_header(&buf[..k], &rules);
        match (&settled, r) {
            (None, Ok(None)) => {}
            (None, r) => settled = Some(r),
            (Some(s), r) => assert_eq!(*s, r, "prefix of {k} bytes changed the outcome"),
        }
    }
    if upto == buf.len() {
        assert_eq!(settled.unwrap_or(Ok(None)), result);
    }

    // Encoding any header the fields allow decodes back to it (lengths from
    // the input, every opcode the codec knows).
    let mut c = Cursor::new(buf);
    let b = c.u8();
    if let Some(op) = ews::proto::Opcode::from_u8(b & 0x0F) {
        let fin = b & 0x80 != 0 || op.is_control();
        let rsv = (b >> 4) & 0b111;
        let mask = if c.bool() { Some([c.u8(), c.u8(), c.u8(), c.u8()]) } else { None };
        let mut len = c.u64() >> (c.u8() % 64);
        len &= (1 << 63) - 1;
        if op.is_control() {
            len %= MAX_CONTROL_PAYLOAD as u64 + 1;
        }
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&mut out, fin, rsv, op.as_u8(), mask, len);
        assert_eq!(n, header_len(len, mask.is_some()));
        let h = FrameHeader { fin, rsv, opcode: op, mask, payload_len: len };
        assert_eq!(decode_header(&out[..n], &HeaderRules::ANY), Ok(Some((h, n))));
        for k in 0..n {
            assert_eq!(decode_header(&out[..k], &HeaderRules::ANY), Ok(None), "prefix {k} of {h:?}");
        }
    }
});
