//! Collecting an HTTP message head (request or response line and headers)
//! in one pass, with a cap on its size.

/// Where a [`HeadReader`] stands after taking bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadProgress {
    /// The head is not complete; this many bytes were taken.
    Partial(usize),
    /// The head is complete; this many bytes were taken (the rest of the
    /// input is not part of the head).
    Complete(usize),
    /// The head is longer than the cap.
    TooLarge,
}

/// Takes bytes until the empty line that ends an HTTP head. Every byte is
/// looked at once; nothing after the head is taken.
#[derive(Debug, Clone)]
pub struct HeadReader {
    buf: Vec<u8>,
    max_len: usize,
    line_empty: bool,
    complete: bool,
}

impl HeadReader {
    /// A reader that refuses heads longer than `max_len` bytes.
    pub fn new(max_len: usize) -> HeadReader {
        HeadReader { buf: Vec::new(), max_len, line_empty: false, complete: false }
    }

    /// Takes bytes from `input`.
    pub fn push(&mut self, input: &[u8]) -> HeadProgress {
        if self.complete {
            return HeadProgress::Complete(0);
        }
        let room = self.max_len - self.buf.len();
        for (i, &b) in input.iter().enumerate() {
            if i == room {
                return HeadProgress::TooLarge;
            }
            match b {
                b'\n' if self.line_empty => {
                    self.buf.extend_from_slice(&input[..=i]);
                    self.complete = true;
                    return HeadProgress::Complete(i + 1);
                }
                b'\n' => self.line_empty = true,
                b'\r' => {}
                _ => self.line_empty = false,
            }
        }
        if input.len() > room {
            return HeadProgress::TooLarge;
        }
        self.buf.extend_from_slice(input);
        HeadProgress::Partial(input.len())
    }

    /// The bytes taken so far.
    pub fn head(&self) -> &[u8] {
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

    #[test]
    fn head_completes_at_the_empty_line_and_leaves_the_rest() {
        let mut input = HEAD.to_vec();
        input.extend_from_slice(b"\x81\x00");
        let mut r = HeadReader::new(100);
        assert_eq!(r.push(&input), HeadProgress::Complete(HEAD.len()));
        assert_eq!(r.head(), HEAD);
    }

    #[test]
    fn head_completes_one_byte_at_a_time() {
        let mut r = HeadReader::new(100);
        for (i, b) in HEAD.iter().enumerate() {
            let p = r.push(std::slice::from_ref(b));
            if i + 1 == HEAD.len() {
                assert_eq!(p, HeadProgress::Complete(1));
            } else {
                assert_eq!(p, HeadProgress::Partial(1));
            }
        }
        assert_eq!(r.head(), HEAD);
    }

    #[test]
    fn bare_line_feeds_end_a_head() {
        let mut r = HeadReader::new(100);
        assert_eq!(r.push(b"GET / HTTP/1.1\nHost: a\n\nrest"), HeadProgress::Complete(24));
    }

    #[test]
    fn head_of_exactly_the_cap_is_accepted_and_one_more_byte_refused() {
        let n = HEAD.len();
        assert_eq!(HeadReader::new(n).push(HEAD), HeadProgress::Complete(n));
        assert_eq!(HeadReader::new(n - 1).push(HEAD), HeadProgress::TooLarge);
        let mut r = HeadReader::new(n - 1);
        assert_eq!(r.push(&HEAD[..n - 1]), HeadProgress::Partial(n - 1));
        assert_eq!(r.push(&HEAD[n - 1..]), HeadProgress::TooLarge);
    }

    #[test]
    fn endless_header_stream_is_refused_at_the_cap() {
        let mut r = HeadReader::new(8192);
        let line = b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        let mut taken = 0;
        loop {
            match r.push(line) {
                HeadProgress::Partial(n) => taken += n,
                HeadProgress::TooLarge => break,
                HeadProgress::Complete(_) => panic!("no empty line was sent"),
            }
        }
        assert!(taken <= 8192);
    }
}
