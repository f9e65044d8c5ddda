//! A vector of slots addressed by keys that carry a generation, so that a
//! key of a removed entry never reaches the entry that reuses its slot.

/// The address of an entry: slot index and generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key(u64);

impl Key {
    pub(crate) fn from_u64(v: u64) -> Key {
        Key(v)
    }

    pub(crate) fn as_u64(self) -> u64 {
        self.0
    }

    fn index(self) -> usize {
        (self.0 & 0xFFFF_FFFF) as usize
    }

    fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

struct Slot<T> {
    generation: u32,
    value: Option<T>,
    next_free: u32,
}

/// Entries addressed by [`Key`].
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: u32,
    len: usize,
}

const NONE: u32 = u32::MAX;

impl<T> Slab<T> {
    pub(crate) fn new() -> Slab<T> {
        Slab { slots: Vec::new(), free: NONE, len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Stores `value` and returns its key.
    pub(crate) fn insert(&mut self, value: T) -> Key {
        self.len += 1;
        let index = if self.free != NONE {
            let i = self.free as usize;
            self.free = self.slots[i].next_free;
            self.slots[i].value = Some(value);
            i
        } else {
            assert!(self.slots.len() < NONE as usize, "slab full");
            self.slots.push(Slot { generation: 0, value: Some(value), next_free: NONE });
            self.slots.len() - 1
        };
        Key((self.slots[index].generation as u64) << 32 | index as u64)
    }

    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        self.slots.get(key.index()).filter(|s| s.generation == key.generation()).and_then(|s| s.value.as_ref())
    }

    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        self.slots.get_mut(key.index()).filter(|s| s.generation == key.generation()).and_then(|s| s.value.as_mut())
    }

    /// Removes and returns the entry; its key becomes stale.
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let slot = self.slots.get_mut(key.index()).filter(|s| s.generation == key.generation())?;
        let value = slot.value.take()?;
        // 31 bits of generation: keys never have the top bit set, which
        // the event loop keeps for its own tokens.
        slot.generation = slot.generation.wrapping_add(1) & 0x7FFF_FFFF;
        slot.next_free = self.free;
        self.free = key.index() as u32;
        self.len -= 1;
        Some(value)
    }

    /// The keys of every entry.
    pub(crate) fn keys(&self) -> Vec<Key> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.value.is_some())
            .map(|(i, s)| Key((s.generation as u64) << 32 | i as u64))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_key_does_not_reach_the_reused_slot() {
        let mut slab = Slab::new();
        let a = slab.insert("a");
        assert_eq!(slab.remove(a), Some("a"));
        let b = slab.insert("b");
        assert_eq!(a.index(), b.index());
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.get(b), Some(&"b"));
        assert_eq!(slab.len(), 1);
    }

    #[test]
    fn keys_lists_live_entries() {
        let mut slab = Slab::new();
        let a = slab.insert(1);
        let b = slab.insert(2);
        let c = slab.insert(3);
        slab.remove(b);
        assert_eq!(slab.keys(), vec![a, c]);
    }
}
