//! Slots addressed by keys that carry a generation, so that a key of a
//! removed entry never reaches the entry that reuses its slot.
//!
//! Slots live in fixed pages: growing never moves or doubles them, so the
//! memory of many connections stays close to what they use.

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

    fn new(index: usize, generation: u32) -> Key {
        Key((generation as u64) << 32 | index as u64)
    }

    fn index(self) -> usize {
        (self.0 & 0xFFFF_FFFF) as usize
    }

    fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

struct Slot<T> {
    value: Option<T>,
    generation: u32,
    next_free: u32,
}

const PAGE: usize = 256;
const NONE: u32 = u32::MAX;

/// Entries addressed by [`Key`].
pub(crate) struct Slab<T> {
    pages: Vec<Box<[Slot<T>]>>,
    free: u32,
    len: usize,
}

impl<T> Slab<T> {
    pub(crate) fn new() -> Slab<T> {
        Slab { pages: Vec::new(), free: NONE, len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn slot(&self, index: usize) -> Option<&Slot<T>> {
        self.pages.get(index / PAGE).map(|p| &p[index % PAGE])
    }

    fn slot_mut(&mut self, index: usize) -> Option<&mut Slot<T>> {
        self.pages.get_mut(index / PAGE).map(|p| &mut p[index % PAGE])
    }

    /// Stores `value` and returns its key.
    pub(crate) fn insert(&mut self, value: T) -> Key {
        if self.free == NONE {
            let base = self.pages.len() * PAGE;
            assert!(base + PAGE < NONE as usize, "slab full");
            let page: Box<[Slot<T>]> = (0..PAGE)
                .map(|i| Slot {
                    value: None,
                    generation: 0,
                    next_free: if i + 1 < PAGE { (base + i + 1) as u32 } else { NONE },
                })
                .collect();
            self.pages.push(page);
            self.free = base as u32;
        }
        let index = self.free as usize;
        let slot = &mut self.pages[index / PAGE][index % PAGE];
        self.free = slot.next_free;
        slot.value = Some(value);
        let generation = slot.generation;
        self.len += 1;
        Key::new(index, generation)
    }

    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        self.slot(key.index()).filter(|s| s.generation == key.generation()).and_then(|s| s.value.as_ref())
    }

    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        self.slot_mut(key.index()).filter(|s| s.generation == key.generation()).and_then(|s| s.value.as_mut())
    }

    /// Removes and returns the entry; its key becomes stale.
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let free = self.free;
        let slot = self.pages.get_mut(key.index() / PAGE).map(|p| &mut p[key.index() % PAGE])?;
        if slot.generation != key.generation() {
            return None;
        }
        let value = slot.value.take()?;
        // 31 bits of generation: keys never have the top bit set, which
        // the event loop keeps for its own tokens.
        slot.generation = slot.generation.wrapping_add(1) & 0x7FFF_FFFF;
        slot.next_free = free;
        self.free = key.index() as u32;
        self.len -= 1;
        Some(value)
    }

    /// The keys of every entry.
    pub(crate) fn keys(&self) -> Vec<Key> {
        self.pages
            .iter()
            .flat_map(|p| p.iter())
            .enumerate()
            .filter(|(_, s)| s.value.is_some())
            .map(|(i, s)| Key::new(i, s.generation))
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

    #[test]
    fn many_entries_span_pages() {
        let mut slab = Slab::new();
        let keys: Vec<Key> = (0..1000).map(|i| slab.insert(i)).collect();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(slab.get(*k), Some(&i));
        }
        for k in &keys[..500] {
            slab.remove(*k);
        }
        assert_eq!(slab.len(), 500);
        let again: Vec<Key> = (0..500).map(|i| slab.insert(i)).collect();
        assert_eq!(slab.pages.len(), 4, "freed slots are reused before new pages");
        assert!(again.iter().all(|k| k.as_u64() >> 63 == 0));
    }
}
