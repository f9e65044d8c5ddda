//! Where a received message waits for the caller: copied straight into the
//! caller's buffer when it suits, held otherwise.

use crate::attach::Received;

/// Above this capacity the buffer of a taken message is given back.
const KEEP_CAPACITY: usize = 64 << 10;

/// A caller's buffer that a message may be copied to straight from the
/// input, when it has the wanted type and fits.
pub(super) struct Direct<'b> {
    pub(super) buf: &'b mut [u8],
    pub(super) typed: Option<bool>,
    pub(super) got: Option<Received>,
}

impl Direct<'_> {
    /// Takes the message if it suits the caller.
    pub(super) fn take(&mut self, text: bool, data: &[u8]) -> bool {
        let suits = self.got.is_none() && self.typed.is_none_or(|t| t == text) && data.len() <= self.buf.len();
        if suits {
            self.buf[..data.len()].copy_from_slice(data);
            self.got = Some(Received { len: data.len(), text, more: false });
        }
        suits
    }
}

/// A message received and not yet taken by the caller.
#[derive(Debug, Default)]
pub(super) struct Held {
    data: Vec<u8>,
    taken: usize,
    pub(super) text: bool,
    pub(super) present: bool,
}

impl Held {
    pub(super) fn set(&mut self, text: bool, data: &[u8]) {
        self.data.clear();
        self.data.extend_from_slice(data);
        (self.text, self.taken, self.present) = (text, 0, true);
    }

    pub(super) fn rest(&self) -> &[u8] {
        &self.data[self.taken..]
    }

    pub(super) fn take(&mut self, n: usize) {
        self.taken += n;
        if self.taken == self.data.len() {
            self.present = false;
            self.data.clear();
            if self.data.capacity() > KEEP_CAPACITY {
                self.data = Vec::new();
            }
        }
    }
}
