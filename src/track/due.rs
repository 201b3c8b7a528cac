//! Grace deadlines of ended connections, in buckets of time (a timer
//! wheel): a connection ends at nearly every segment of a busy capture, and
//! a binary heap of 100 000+ deadlines paid a sift through cache-cold
//! levels for every one of them.
//!
//! What comes out is exactly the set of deadlines at or before `now`,
//! whatever order they went in; the table sorts what it finishes by first
//! frame, so the order within a bucket never shows.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::key::TupleKey;

/// A deadline: (analysis time in ns, first frame of the connection, its
/// tuple). The first frame tells a later generation of the tuple from the
/// one that ended.
pub(super) type Deadline = (i64, u64, TupleKey);

/// Bucket width: 2^18 ns (262 µs), so a bucket holds the few dozen
/// connections that end in that time even at 70 000 ends per second.
const SHIFT: u32 = 18;
/// Buckets on the wheel: 8 192 x 262 µs = 2.1 s, past the longest default
/// grace (2 s); later deadlines wait in `far`.
const BUCKETS: i64 = 1 << 13;

fn bucket_of(deadline: i64) -> i64 {
    deadline >> SHIFT
}

#[derive(Debug)]
pub(super) struct DueWheel {
    buckets: Vec<Vec<Deadline>>,
    /// The bucket of the earliest time not yet drained: every deadline on
    /// the wheel is in a bucket from `cursor` to `cursor + BUCKETS - 1`.
    cursor: i64,
    /// Earliest deadline in the cursor's bucket (`i64::MAX`: none).
    head_min: i64,
    /// Deadlines past the wheel's horizon when they were queued.
    far: BinaryHeap<Reverse<Deadline>>,
    /// Deadlines queued, on the wheel and in `far`.
    len: usize,
}

impl Default for DueWheel {
    fn default() -> Self {
        DueWheel {
            buckets: Vec::new(),
            cursor: i64::MIN,
            head_min: i64::MAX,
            far: BinaryHeap::new(),
            len: 0,
        }
    }
}

impl DueWheel {
    fn slot(b: i64) -> usize {
        b.rem_euclid(BUCKETS) as usize
    }

    pub(super) fn push(&mut self, d: Deadline) {
        if self.buckets.is_empty() {
            self.buckets = (0..BUCKETS).map(|_| Vec::new()).collect();
        }
        self.len += 1;
        self.place(d);
    }

    /// Puts a deadline in its bucket, in the cursor's bucket when it is
    /// earlier than that, or in `far` past the horizon.
    fn place(&mut self, d: Deadline) {
        let b = bucket_of(d.0).max(self.cursor);
        if b.saturating_sub(self.cursor) >= BUCKETS {
            self.far.push(Reverse(d));
            return;
        }
        if b == self.cursor {
            self.head_min = self.head_min.min(d.0);
        }
        self.buckets[Self::slot(b)].push(d);
    }

    /// Moves every deadline at or before `now` into `out`.
    /// `now` never goes back (analysis time); the wheel turns with it.
    pub(super) fn pop_due(&mut self, now: i64, out: &mut Vec<Deadline>) {
        let target = bucket_of(now);
        if self.len == 0 {
            // Nothing queued: the wheel moves to now at no cost.
            self.cursor = self.cursor.max(target);
            self.head_min = i64::MAX;
            return;
        }
        let before = out.len();
        if target > self.cursor {
            if target.saturating_sub(self.cursor) >= BUCKETS {
                // Time leapt past the horizon: everything on the wheel is due.
                for bucket in &mut self.buckets {
                    out.append(&mut std::mem::take(bucket));
                }
                self.cursor = target;
            } else {
                while self.cursor < target {
                    // Taken, not emptied in place: a bucket's capacity
                    // would otherwise stay at the most it ever held.
                    out.append(&mut std::mem::take(
                        &mut self.buckets[Self::slot(self.cursor)],
                    ));
                    self.cursor += 1;
                }
            }
            let head = &self.buckets[Self::slot(self.cursor)];
            self.head_min = head.iter().map(|d| d.0).min().unwrap_or(i64::MAX);
            while let Some(Reverse(d)) = self.far.peek() {
                if bucket_of(d.0).saturating_sub(self.cursor) >= BUCKETS {
                    break;
                }
                if let Some(Reverse(d)) = self.far.pop() {
                    self.place(d);
                }
            }
        }
        if self.head_min <= now {
            let head = &mut self.buckets[Self::slot(self.cursor)];
            let mut i = 0;
            let mut min = i64::MAX;
            while i < head.len() {
                if head[i].0 <= now {
                    out.push(head.swap_remove(i));
                } else {
                    min = min.min(head[i].0);
                    i += 1;
                }
            }
            self.head_min = min;
        }
        self.len -= out.len() - before;
    }

    pub(super) fn clear(&mut self) {
        *self = DueWheel::default();
    }

    /// Bytes the wheel holds: its buckets' room and the far deadlines'.
    pub(super) fn bytes(&self) -> usize {
        let d = std::mem::size_of::<Deadline>();
        self.buckets.capacity() * std::mem::size_of::<Vec<Deadline>>()
            + self.buckets.iter().map(|b| b.capacity() * d).sum::<usize>()
            + self.far.capacity() * d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> TupleKey {
        TupleKey::V4([n; 12])
    }

    fn due(w: &mut DueWheel, now: i64) -> Vec<i64> {
        let mut out = Vec::new();
        w.pop_due(now, &mut out);
        let mut t: Vec<i64> = out.into_iter().map(|d| d.0).collect();
        t.sort_unstable();
        t
    }

    #[test]
    fn gives_exactly_the_deadlines_at_or_before_now() {
        let mut w = DueWheel::default();
        let base = 5_000_000_000;
        assert_eq!(due(&mut w, base - 1_000_000), Vec::<i64>::new());
        for (i, dt) in [300_000_000i64, 10, 262_144, 1_999_999_999, 0, 10]
            .iter()
            .enumerate()
        {
            w.push((base + dt, i as u64, key(i as u8)));
        }
        assert_eq!(due(&mut w, base - 1), Vec::<i64>::new());
        assert_eq!(due(&mut w, base + 10), vec![base, base + 10, base + 10]);
        assert_eq!(due(&mut w, base + 262_143), Vec::<i64>::new());
        assert_eq!(due(&mut w, base + 262_144), vec![base + 262_144]);
        assert_eq!(due(&mut w, base + 1_000_000_000), vec![base + 300_000_000]);
        assert_eq!(
            due(&mut w, base + 1_999_999_999),
            vec![base + 1_999_999_999]
        );
        assert_eq!(w.len, 0);
    }

    #[test]
    fn earlier_than_the_cursor_and_past_the_horizon() {
        let mut w = DueWheel::default();
        let base = 1 << 40;
        assert_eq!(due(&mut w, base - 1), Vec::<i64>::new());
        w.push((base, 1, key(1)));
        assert_eq!(due(&mut w, base + 3_000_000), vec![base]);
        // Behind the wheel's position: due at once.
        w.push((base, 2, key(2)));
        // Far beyond the horizon (an hour), and the saturated maximum.
        w.push((base + 3_600_000_000_000, 3, key(3)));
        w.push((i64::MAX, 4, key(4)));
        assert_eq!(due(&mut w, base + 3_000_000), vec![base]);
        assert_eq!(due(&mut w, base + 3_599_999_999_999), Vec::<i64>::new());
        assert_eq!(
            due(&mut w, base + 3_600_000_000_000),
            vec![base + 3_600_000_000_000]
        );
        assert_eq!(due(&mut w, i64::MAX), vec![i64::MAX]);
    }
}
