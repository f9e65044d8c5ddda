//! Incremental UTF-8 validation (RFC 6455 §8.1).
//!
//! Text arrives in pieces that may split a code point. The validator checks
//! each piece as it arrives and fails at the first byte that can never be
//! part of valid UTF-8, even when the rest of the frame has not arrived; a
//! sequence cut by the end of a piece is carried over (at most 3 bytes).
//! Validation runs SIMD lanes at a time (`simdutf8`), with the same error
//! positions as the standard library.

use simdutf8::compat::from_utf8;

/// Whether `bytes` is valid UTF-8 as a whole.
pub fn is_valid(bytes: &[u8]) -> bool {
    simdutf8::basic::from_utf8(bytes).is_ok()
}

/// The validation state of one text message (or close reason).
#[derive(Debug, Default, Clone)]
pub struct Utf8Validator {
    carry: [u8; 4],
    carry_len: u8,
}

/// The byte length of the sequence that starts with `lead`, for a lead byte
/// that `str::from_utf8` reported as the start of an incomplete sequence.
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// The outcome of validating a piece of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Utf8Validator {
    /// A validator at the start of a message.
    pub fn new() -> Utf8Validator {
        Utf8Validator::default()
    }

    /// Validates the next piece of the text.
    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), InvalidUtf8> {
        if self.carry_len > 0 {
            let have = self.carry_len as usize;
            let need = sequence_len(self.carry[0]);
            let take = (need - have).min(input.len());
            self.carry[have..have + take].copy_from_slice(&input[..take]);
            self.carry_len += take as u8;
            input = &input[take..];
            match from_utf8(&self.carry[..self.carry_len as usize]) {
                Ok(_) => self.carry_len = 0,
                Err(e) if e.error_len().is_none() => return Ok(()),
                Err(_) => return Err(InvalidUtf8),
            }
        }
        match from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) => match e.error_len() {
                Some(_) => Err(InvalidUtf8),
                None => {
                    let rest = &input[e.valid_up_to()..];
                    self.carry[..rest.len()].copy_from_slice(rest);
                    self.carry_len = rest.len() as u8;
                    Ok(())
                }
            },
        }
    }

    /// Ends the text: fails if it stopped inside a code point. Resets the
    /// validator for the next message either way.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.carry_len == 0;
        self.carry_len = 0;
        if complete { Ok(()) } else { Err(InvalidUtf8) }
    }

    /// Whether a code point is cut at the current position.
    pub fn in_sequence(&self) -> bool {
        self.carry_len > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_everywhere(text: &[u8]) -> Vec<Result<(), InvalidUtf8>> {
        (0..=text.len())
            .map(|cut| {
                let mut v = Utf8Validator::new();
                v.feed(&text[..cut])?;
                v.feed(&text[cut..])?;
                v.finish()
            })
            .collect()
    }

    #[test]
    fn valid_text_is_valid_at_every_split() {
        let text = "κόσμε ascii 😀 \u{10FFFF} \u{FEFF}".as_bytes();
        assert!(split_everywhere(text).iter().all(|r| r.is_ok()));
    }

    #[test]
    fn valid_text_is_valid_one_byte_at_a_time() {
        let text = "Hello-µ@ßöäüàá-UTF-8!! 𝄞".as_bytes();
        let mut v = Utf8Validator::new();
        for b in text {
            v.feed(std::slice::from_ref(b)).unwrap();
        }
        v.finish().unwrap();
    }

    #[test]
    fn invalid_byte_fails_at_every_split() {
        let text = b"abc\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited";
        assert!(split_everywhere(text).iter().all(|r| r.is_err()));
    }

    #[test]
    fn surrogate_prefix_fails_before_the_code_point_completes() {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"ok\xed"), Ok(()));
        assert_eq!(v.feed(b"\xa0"), Err(InvalidUtf8));
    }

    #[test]
    fn code_point_above_10ffff_fails_on_its_second_byte() {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"\xf4"), Ok(()));
        assert_eq!(v.feed(b"\x90"), Err(InvalidUtf8));
    }

    #[test]
    fn byte_f5_fails_alone() {
        assert_eq!(Utf8Validator::new().feed(b"\xf5"), Err(InvalidUtf8));
    }

    #[test]
    fn overlong_encoding_fails() {
        assert_eq!(Utf8Validator::new().feed(b"\xc0\xaf"), Err(InvalidUtf8));
        let mut v = Utf8Validator::new();
        v.feed(b"\xe0").unwrap();
        assert_eq!(v.feed(b"\x80"), Err(InvalidUtf8));
    }

    #[test]
    fn text_ending_inside_a_code_point_fails_at_finish() {
        let mut v = Utf8Validator::new();
        v.feed("😀".as_bytes().split_at(3).0).unwrap();
        assert!(v.in_sequence());
        assert_eq!(v.finish(), Err(InvalidUtf8));
    }

    #[test]
    fn finish_resets_for_the_next_message() {
        let mut v = Utf8Validator::new();
        v.feed(b"\xe2\x82").unwrap();
        assert!(v.finish().is_err());
        v.feed(b"plain").unwrap();
        v.finish().unwrap();
    }

    #[test]
    fn agrees_with_std_on_every_two_byte_string() {
        for a in 0..=255u8 {
            for b in [0x00u8, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xff] {
                let s = [a, b];
                let mut v = Utf8Validator::new();
                let ours = v.feed(&s[..1]).and_then(|_| v.feed(&s[1..])).and_then(|_| v.finish());
                assert_eq!(ours.is_ok(), std::str::from_utf8(&s).is_ok(), "{s:x?}");
            }
        }
    }
}
