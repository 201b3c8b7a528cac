//! Bytes a standard hash map, set or deque holds, for the census: a
//! leaf, so every table that counts its own bytes can use it, each size
//! taken from the collection's own element type.

/// Buckets hashbrown allocates for a map or set of `capacity`: a power of
/// two, at most seven eighths used.
fn buckets(capacity: usize) -> usize {
    match capacity {
        0 => 0,
        c if c < 8 => (c + 1).next_power_of_two(),
        c => (c * 8 / 7).next_power_of_two(),
    }
}

/// Bytes of a hash map's buckets: keys, values and a control byte each.
pub(super) fn hash_map_bytes<K, V, S>(m: &std::collections::HashMap<K, V, S>) -> usize {
    buckets(m.capacity()) * (std::mem::size_of::<(K, V)>() + 1)
}

/// [`hash_map_bytes`] for a set.
pub(super) fn hash_set_bytes<K, S>(m: &std::collections::HashSet<K, S>) -> usize {
    buckets(m.capacity()) * (std::mem::size_of::<K>() + 1)
}

/// Bytes of a deque's room.
pub(super) fn deque_bytes<T>(d: &std::collections::VecDeque<T>) -> usize {
    d.capacity() * std::mem::size_of::<T>()
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    #[test]
    fn counts_the_buckets_hashbrown_allocates() {
        // 1 000 entries: 2 048 buckets (1 792 of them usable), 16 bytes of
        // key and value and a control byte each.
        let m: HashMap<u64, u64> = (0..1000).map(|i| (i, i)).collect();
        assert_eq!(m.capacity(), 1792);
        assert_eq!(hash_map_bytes(&m), 2048 * 17);
        let s: HashSet<u32> = (0..3).collect();
        assert_eq!(hash_set_bytes(&s), 4 * 5);
        assert_eq!(hash_map_bytes(&HashMap::<u8, u8>::new()), 0);
        let d: std::collections::VecDeque<(u64, u32)> =
            std::collections::VecDeque::with_capacity(10);
        assert_eq!(deque_bytes(&d), d.capacity() * 16);
    }
}
