//! The map from canonical 4-tuple to what the table holds for it: open
//! addressing with linear probing, key and value inline in one 32-byte
//! entry.
//!
//! With 100 000 connections open every segment's lookup misses the cache.
//! std's map keeps control bytes and buckets apart (two dependent misses)
//! and gives no address to fetch ahead; here a tuple's hash names the one
//! or two cache lines its lookup reads, so the tracker's look-ahead can
//! fetch them a stage before it fetches the connection, and the hash is
//! computed once per segment.

use std::hash::BuildHasher;

use rustc_hash::FxBuildHasher;

use super::key::TupleKey;

/// A tuple's hash, computed once per segment and carried from the
/// look-ahead to the push.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct TupleHash(u64);

impl TupleHash {
    pub(super) fn of(key: &TupleKey) -> Self {
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            w[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(w)
        };
        let (a, b) = match key {
            TupleKey::V4(k) => (word(&k[..8]), word(&k[8..])),
            TupleKey::V4Tunnel(k) => (word(&k[..8]), word(&k[8..]) ^ (1 << 63)),
            TupleKey::Other(p) => (FxBuildHasher.hash_one(**p), 1 << 62),
        };
        // A folded 64 x 64 -> 128-bit multiply: every input bit reaches the
        // high bits, which pick the entry.
        let m = u128::from(a ^ 0x243F_6A88_85A3_08D3) * u128::from(b ^ 0x1319_8A2E_0370_7344);
        TupleHash((m as u64) ^ ((m >> 64) as u64))
    }
}

/// Fewest entries a map has.
const MIN_ENTRIES: usize = 16;

/// Tuple → `V`, at most half full so a probe reads about one entry and an
/// absent tuple about two.
pub(super) struct TupleMap<V> {
    entries: Box<[Option<(TupleKey, V)>]>,
    /// `64 - log2(entries.len())`: the hash's high bits pick the entry.
    shift: u32,
    len: usize,
}

impl<V> Default for TupleMap<V> {
    fn default() -> Self {
        Self::with_entries(MIN_ENTRIES)
    }
}

impl<V> TupleMap<V> {
    fn with_entries(n: usize) -> Self {
        debug_assert!(n.is_power_of_two());
        TupleMap {
            entries: (0..n).map(|_| None).collect(),
            shift: 64 - n.trailing_zeros(),
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Entries allocated (each 32 bytes for the table's slots).
    pub(super) fn capacity(&self) -> usize {
        self.entries.len()
    }

    fn mask(&self) -> usize {
        self.entries.len() - 1
    }

    fn home(&self, h: TupleHash) -> usize {
        (h.0 >> self.shift) as usize
    }

    /// Where `key` is, if it is here.
    fn position(&self, h: TupleHash, key: &TupleKey) -> Option<usize> {
        let mut i = self.home(h);
        loop {
            match &self.entries[i] {
                None => return None,
                Some((k, _)) if k == key => return Some(i),
                Some(_) => i = (i + 1) & self.mask(),
            }
        }
    }

    /// Starts fetching the cache lines a lookup of `h` reads first.
    pub(super) fn prefetch(&self, h: TupleHash) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let at = self
                .entries
                .as_ptr()
                .wrapping_add(self.home(h))
                .cast::<i8>();
            // SAFETY: a prefetch only hints the cache and never faults; the
            // first address lies in the entries, the second at most one
            // cache line past one of them.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(at);
                _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(64));
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = h;
    }

    pub(super) fn get(&self, h: TupleHash, key: &TupleKey) -> Option<&V> {
        let i = self.position(h, key)?;
        self.entries[i].as_ref().map(|(_, v)| v)
    }

    pub(super) fn get_mut(&mut self, h: TupleHash, key: &TupleKey) -> Option<&mut V> {
        let i = self.position(h, key)?;
        self.entries[i].as_mut().map(|(_, v)| v)
    }

    pub(super) fn contains_key(&self, h: TupleHash, key: &TupleKey) -> bool {
        self.position(h, key).is_some()
    }

    /// Adds `key`, which must not be here yet.
    pub(super) fn insert_new(&mut self, h: TupleHash, key: TupleKey, value: V) {
        debug_assert!(!self.contains_key(h, &key));
        if (self.len + 1) * 2 > self.entries.len() {
            self.resize(self.entries.len() * 2);
        }
        self.place(h, key, value);
        self.len += 1;
    }

    fn place(&mut self, h: TupleHash, key: TupleKey, value: V) {
        let mut i = self.home(h);
        while self.entries[i].is_some() {
            i = (i + 1) & self.mask();
        }
        self.entries[i] = Some((key, value));
    }

    /// Takes `key` out, closing the gap so that every other key is still
    /// found from its home entry.
    pub(super) fn remove(&mut self, h: TupleHash, key: &TupleKey) -> Option<V> {
        let mut hole = self.position(h, key)?;
        let (_, value) = self.entries[hole].take()?;
        self.len -= 1;
        let mask = self.mask();
        let mut next = hole;
        loop {
            next = (next + 1) & mask;
            let home = match &self.entries[next] {
                None => break,
                Some((k, _)) => self.home(TupleHash::of(k)),
            };
            // The entry at `next` may fill the hole when the hole lies on
            // its probe path, from its home up to `next`.
            if next.wrapping_sub(home) & mask >= next.wrapping_sub(hole) & mask {
                self.entries[hole] = self.entries[next].take();
                hole = next;
            }
        }
        Some(value)
    }

    /// Reallocates to the fewest entries (a power of two) that hold
    /// `at_least` keys half full, and no fewer than hold those here now.
    pub(super) fn shrink_to(&mut self, at_least: usize) {
        let want = at_least
            .max(self.len)
            .saturating_mul(2)
            .max(MIN_ENTRIES)
            .next_power_of_two();
        if want < self.entries.len() {
            self.resize(want);
        }
    }

    fn resize(&mut self, n: usize) {
        let old = std::mem::replace(self, Self::with_entries(n));
        self.len = old.len;
        for (k, v) in old.entries.into_vec().into_iter().flatten() {
            self.place(TupleHash::of(&k), k, v);
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&TupleKey, &V)> {
        self.entries.iter().flatten().map(|(k, v)| (k, v))
    }

    /// Everything here, leaving the map empty.
    pub(super) fn drain(&mut self) -> impl Iterator<Item = (TupleKey, V)> {
        std::mem::take(self)
            .entries
            .into_vec()
            .into_iter()
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::hash_map::{Entry, HashMap};
    use std::net::SocketAddr;

    use super::*;

    fn key(n: u32) -> TupleKey {
        let lo = SocketAddr::from(([10, 0, (n >> 8) as u8, n as u8], 40_000));
        let hi = SocketAddr::from(([10, 1, 0, 1], 443));
        if n % 7 == 0 {
            // Some IPv6 tuples, hashed the other way.
            let v6 = |a: SocketAddr| {
                SocketAddr::from((std::net::Ipv6Addr::from(u128::from(n)), a.port()))
            };
            return TupleKey::new(v6(lo), v6(hi), 0);
        }
        TupleKey::new(lo, hi, n % 5)
    }

    /// Inserts and removes in a shuffled order against std's map (the model): every
    /// key present is found with its value, every key removed is gone,
    /// across growth, removals that shift entries back, and shrinking.
    #[test]
    fn agrees_with_std_through_inserts_removals_and_resizes() {
        let mut ours: TupleMap<u32> = TupleMap::default();
        let mut model: HashMap<TupleKey, u32> = HashMap::new();
        let mut x = 12_345u64;
        let mut step = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..20_000u32 {
            let n = (step() % 3_000) as u32;
            let k = key(n);
            let h = TupleHash::of(&k);
            if step() % 3 == 0 {
                assert_eq!(ours.remove(h, &k), model.remove(&k), "round {round}");
            } else if let Entry::Vacant(e) = model.entry(k.clone()) {
                ours.insert_new(h, k, round);
                e.insert(round);
            }
            if round % 5_000 == 4_999 {
                ours.shrink_to(0);
            }
        }
        assert_eq!(ours.len(), model.len());
        for n in 0..3_000 {
            let k = key(n);
            assert_eq!(ours.get(TupleHash::of(&k), &k), model.get(&k), "key {n}");
        }
        assert_eq!(ours.iter().count(), model.len());
        let mut drained: Vec<u32> = ours.drain().map(|(_, v)| v).collect();
        let mut want: Vec<u32> = model.into_values().collect();
        drained.sort_unstable();
        want.sort_unstable();
        assert_eq!(drained, want);
    }

    #[test]
    fn an_entry_is_a_key_and_a_slot_in_32_bytes() {
        assert_eq!(
            std::mem::size_of::<Option<(TupleKey, super::super::table::Slot)>>(),
            32
        );
    }
}
