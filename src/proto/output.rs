//! The outgoing byte queue: frames are encoded into it, the host takes
//! bytes from its front.

use crate::error::Result;
use crate::proto::frame::{MAX_HEADER_LEN, Opcode, encode_header};
use crate::proto::mask::copy_masked;
use crate::proto::rng;

/// Above this capacity an emptied queue gives its memory back, so a
/// connection that once sent a large message does not keep the buffer.
const KEEP_CAPACITY: usize = 64 << 10;

/// Bytes waiting to be written.
#[derive(Debug, Default)]
pub(crate) struct Output {
    buf: Vec<u8>,
    pos: usize,
}

impl Output {
    /// The bytes not yet taken.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Marks `n` bytes from the front as written.
    pub(crate) fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf = Vec::new();
            }
        }
    }

    /// Room to append `more` bytes, dropping what was already taken once it
    /// is at least half the queue (so compaction costs amortised O(1)).
    fn reserve(&mut self, more: usize) -> &mut Vec<u8> {
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.reserve(more);
        &mut self.buf
    }

    /// Gives access to the queue for writers that build bytes in place.
    pub(crate) fn vec(&mut self) -> &mut Vec<u8> {
        self.reserve(0)
    }

    /// Encodes one frame, masked with a fresh key when `mask` (the client
    /// role). The payload is copied (and masked in the copy); `payload` is
    /// not touched.
    pub(crate) fn frame(&mut self, opcode: Opcode, fin: bool, payload: &[u8], mask: bool) -> Result<()> {
        let key = if mask { Some(rng::masking_key()?) } else { None };
        let mut header = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&mut header, fin, 0, opcode.as_u8(), key, payload.len() as u64);
        let buf = self.reserve(n + payload.len());
        buf.extend_from_slice(&header[..n]);
        match key {
            None => buf.extend_from_slice(payload),
            Some(key) => {
                let start = buf.len();
                buf.resize(start + payload.len(), 0);
                copy_masked(&mut buf[start..], payload, key);
            }
        }
        Ok(())
    }

    /// Swaps the queue's storage with `other`; used by event loops that
    /// lend a shared buffer to a connection and take it back once written.
    pub(crate) fn swap(&mut self, other: &mut Vec<u8>) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        std::mem::swap(&mut self.buf, other);
    }
}
