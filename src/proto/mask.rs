//! Masking (RFC 6455 §5.3), a machine word at a time.
//!
//! Both functions work on eight bytes per step with plain integer XOR,
//! which the compiler turns into SIMD lanes where the target has them; the
//! key is rotated once so that the loop needs no per-byte index arithmetic.

/// The key as seen from payload offset `offset` (key byte `offset % 4` first).
fn rotated(key: [u8; 4], offset: usize) -> [u8; 4] {
    let s = offset % 4;
    [key[s], key[(s + 1) % 4], key[(s + 2) % 4], key[(s + 3) % 4]]
}

fn word(key: [u8; 4]) -> u64 {
    u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]])
}

/// Masks or unmasks `buf` in place. `offset` is the position of `buf[0]` in
/// the frame payload, so a payload can be processed in pieces.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    unmask_ascii(buf, key, offset);
}

/// Unmasks `buf` in place, as [`apply_mask`], and says whether every byte
/// it produced is ASCII: text that is all ASCII needs no further UTF-8
/// check, and learning it here costs one OR per word.
pub fn unmask_ascii(buf: &mut [u8], key: [u8; 4], offset: usize) -> bool {
    let key = rotated(key, offset);
    let k = word(key);
    let mut high = 0u64;
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let v = u64::from_ne_bytes(chunk.try_into().expect("8 bytes")) ^ k;
        high |= v;
        chunk.copy_from_slice(&v.to_ne_bytes());
    }
    // The remainder starts at a multiple of 8, hence of 4: key index 0.
    let mut tail = 0u8;
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
        tail |= *b;
    }
    high & 0x8080_8080_8080_8080 == 0 && tail & 0x80 == 0
}

/// Writes `src` masked with `key` into `dst` (which must be as long as
/// `src`), leaving `src` untouched.
pub fn copy_masked(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    assert_eq!(dst.len(), src.len(), "copy_masked: lengths differ");
    let k = word(key);
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (dc, sc) in (&mut d).zip(&mut s) {
        let v = u64::from_ne_bytes(sc.try_into().expect("8 bytes")) ^ k;
        dc.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, (db, sb)) in d.into_remainder().iter_mut().zip(s.remainder()).enumerate() {
        *db = sb ^ key[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(buf: &[u8], key: [u8; 4], offset: usize) -> Vec<u8> {
        buf.iter().enumerate().map(|(i, b)| b ^ key[(i + offset) % 4]).collect()
    }

    #[test]
    fn word_masking_equals_the_byte_definition_for_every_length_and_offset() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let data: Vec<u8> = (0..100u8).collect();
        for len in 0..data.len() {
            for offset in 0..8 {
                let mut buf = data[..len].to_vec();
                apply_mask(&mut buf, key, offset);
                assert_eq!(buf, naive(&data[..len], key, offset), "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn unmasking_reports_whether_the_result_is_ascii() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for text in [&b"plain ascii text, longer than eight bytes"[..], b"short", b""] {
            let mut masked = naive(text, key, 0);
            assert!(unmask_ascii(&mut masked, key, 0));
            assert_eq!(masked, text);
        }
        for text in ["caf\u{e9} au lait".as_bytes(), "\u{e9}".as_bytes(), "eight by\u{e9}".as_bytes()] {
            let mut masked = naive(text, key, 0);
            assert!(!unmask_ascii(&mut masked, key, 0));
            assert_eq!(masked, text);
        }
    }

    #[test]
    fn masking_twice_restores_the_payload() {
        let key = [1, 2, 3, 4];
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut buf = data.clone();
        apply_mask(&mut buf, key, 0);
        assert_ne!(buf, data);
        apply_mask(&mut buf, key, 0);
        assert_eq!(buf, data);
    }

    #[test]
    fn masking_in_pieces_equals_masking_at_once() {
        let key = [0xde, 0xad, 0xbe, 0xef];
        let data: Vec<u8> = (0..77u8).collect();
        let whole = naive(&data, key, 0);
        let mut pieces = data.clone();
        let (a, rest) = pieces.split_at_mut(5);
        let (b, c) = rest.split_at_mut(30);
        apply_mask(a, key, 0);
        apply_mask(b, key, 5);
        apply_mask(c, key, 35);
        assert_eq!(pieces, whole);
    }

    #[test]
    fn copy_masked_leaves_the_source_untouched() {
        let key = [9, 8, 7, 6];
        let src: Vec<u8> = (0..45u8).collect();
        let before = src.clone();
        let mut dst = vec![0u8; src.len()];
        copy_masked(&mut dst, &src, key);
        assert_eq!(src, before);
        assert_eq!(dst, naive(&src, key, 0));
    }

    #[test]
    fn rfc_example_masked_hello() {
        // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
        let mut b = *b"Hello";
        apply_mask(&mut b, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(b, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }
}
