//! A connection's bounded timeline: head, tail and the deciding segments.

use crate::wire::{Flags, Timestamp};

use super::config::TrackerConfig;
use super::side::Side;

/// One kept segment of a connection's timeline, as [`Timeline::entries`]
/// gives it (expanded from the compact form the timeline stores).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    /// Position of the segment within its connection (0-based).
    pub(super) ord: u64,
    /// Frame number in the capture (1-based, across rotated files).
    pub(super) frame: u64,
    pub(super) ts: Timestamp,
    pub(super) from: Side,
    pub(super) flags: Flags,
    pub(super) rel_seq: i64,
    /// Present exactly when the segment has the ACK flag.
    pub(super) rel_ack: Option<i64>,
    pub(super) window: u16,
    pub(super) len: u32,
    /// Decides the outcome (handshake, FIN, first RST, what it answered):
    /// survives being pushed out of the tail ring.
    pub(super) key: bool,
}

getters!(TimelineEntry {
    ord: u64,
    frame: u64,
    ts: Timestamp,
    from: Side,
    flags: Flags,
    rel_seq: i64,
    rel_ack: Option<i64>,
    window: u16,
    len: u32,
    key: bool,
});

/// A relative sequence number in 40 bits: the low 32 bits and the number of
/// times the sender's space wrapped since its origin (-128..=127), which
/// covers 500 GiB either way of the ISN before saturating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rel40 {
    pub(super) lo: u32,
    pub(super) hi: i8,
}

impl Rel40 {
    pub(super) fn new(v: i64) -> Self {
        let v = v.clamp(
            i64::from(i8::MIN) << 32,
            (i64::from(i8::MAX) << 32) | 0xffff_ffff,
        );
        Rel40 {
            lo: v as u32,
            hi: (v >> 32) as i8,
        }
    }
    pub(super) fn get(self) -> i64 {
        (i64::from(self.hi) << 32) | i64::from(self.lo)
    }
}

pub(super) const KEPT_SERVER: u8 = 1;
pub(super) const KEPT_KEY: u8 = 2;

/// What the timeline stores per kept segment: 40 bytes, less than the expanded
/// [`TimelineEntry`] (with thousands of connections open the timelines are
/// most of the tracker's memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Kept {
    pub(super) ts: Timestamp,
    pub(super) frame: u64,
    pub(super) seq: u32,
    pub(super) ack: u32,
    /// Position in the connection, saturating at `u32::MAX`.
    pub(super) ord: u32,
    pub(super) len: u32,
    pub(super) window: u16,
    pub(super) seq_hi: i8,
    pub(super) ack_hi: i8,
    pub(super) flags: Flags,
    /// `KEPT_SERVER` | `KEPT_KEY`.
    pub(super) bits: u8,
}

impl Kept {
    pub(super) fn side(self) -> Side {
        if self.bits & KEPT_SERVER != 0 {
            Side::Server
        } else {
            Side::Client
        }
    }
    pub(super) fn key(self) -> bool {
        self.bits & KEPT_KEY != 0
    }
    pub(super) fn expand(self) -> TimelineEntry {
        let rel_seq = Rel40 {
            lo: self.seq,
            hi: self.seq_hi,
        }
        .get();
        let rel_ack = self.flags.ack().then_some(
            Rel40 {
                lo: self.ack,
                hi: self.ack_hi,
            }
            .get(),
        );
        TimelineEntry {
            ord: u64::from(self.ord),
            frame: self.frame,
            ts: self.ts,
            from: self.side(),
            flags: self.flags,
            rel_seq,
            rel_ack,
            window: self.window,
            len: self.len,
            key: self.key(),
        }
    }
}

impl From<TimelineEntry> for Kept {
    fn from(e: TimelineEntry) -> Self {
        let seq = Rel40::new(e.rel_seq);
        let ack = Rel40::new(e.rel_ack.unwrap_or(0));
        Kept {
            ts: e.ts,
            frame: e.frame,
            seq: seq.lo,
            ack: ack.lo,
            ord: u32::try_from(e.ord).unwrap_or(u32::MAX),
            len: e.len,
            window: e.window,
            seq_hi: seq.hi,
            ack_hi: ack.hi,
            flags: e.flags,
            bits: if e.from == Side::Server {
                KEPT_SERVER
            } else {
                0
            } | if e.key { KEPT_KEY } else { 0 },
        }
    }
}

/// A bounded timeline: the first `head` segments, the last `tail` segments,
/// and up to `keep_key` key segments that fell out of the tail in between.
/// The capacities come from [`TrackerConfig`] at each push, so the timeline
/// itself does not carry them.
///
/// The three parts share one buffer, `[head | key | tail ring]`: one
/// allocation per connection and 40 bytes in it, since with 100 000
/// connections open every byte of the connection counts (it is allocated
/// in a size class, and a few bytes decide which).
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    buf: Vec<Kept>,
    head_len: u16,
    key_len: u16,
    tail_len: u16,
    /// Where the oldest tail entry is in the ring (0 until the ring is
    /// full and starts turning).
    tail_start: u16,
    /// Segments seen but not kept.
    pub(super) left_out: u64,
}

getters!(Timeline { left_out: u64 });

/// Bytes an allocator hands out for a request of `bytes`: size classes
/// four to a power of two above 64 bytes (mimalloc's, and close to most
/// others'), multiples of 8 below.
fn size_class(bytes: usize) -> usize {
    if bytes <= 64 {
        return bytes.next_multiple_of(8);
    }
    let floor_log2 = usize::BITS - 1 - bytes.leading_zeros();
    bytes.next_multiple_of(1 << (floor_log2 - 2))
}

/// The room a full buffer of `len` entries grows to: half as much again
/// (4 at first), rounded up to what its size class holds, so the bytes
/// allocated are bytes the timeline can use. Most connections have a
/// handful of segments: growing by doubling would leave a 9-entry
/// timeline in room for 16, and a full-capacity reservation up front
/// would cost more than the entries.
pub(super) fn grown_room(len: usize) -> usize {
    let entry = std::mem::size_of::<Kept>();
    let want = len.saturating_add(len / 2).max(4);
    size_class(want.saturating_mul(entry)) / entry
}

/// A part's length as stored (parts are capped far below `u16::MAX`).
fn part_cap(cap: usize) -> usize {
    cap.min(usize::from(u16::MAX))
}

impl Timeline {
    /// Room for one more entry in the part now `part_len` long (at most
    /// `cap`): the buffer grows by [`grown_room`], never by more than the
    /// part can still take.
    fn make_room(&mut self, part_len: usize, cap: usize) {
        let len = self.buf.len();
        if len == self.buf.capacity() {
            let most = len.saturating_add(cap.saturating_sub(part_len));
            let room = grown_room(len).min(most).max(len + 1);
            self.buf.reserve_exact(room - len);
        }
    }

    pub(super) fn push(&mut self, e: TimelineEntry, cfg: &TrackerConfig) {
        let e: Kept = e.into();
        let (head_cap, tail_cap, key_cap) = (
            part_cap(cfg.timeline_head),
            part_cap(cfg.timeline_tail),
            part_cap(cfg.timeline_key),
        );
        let head_len = usize::from(self.head_len);
        if head_len < head_cap {
            // The key part and the tail stay empty until the head is full.
            self.make_room(head_len, head_cap);
            self.buf.push(e);
            self.head_len += 1;
            return;
        }
        // The oldest tail entry leaves as the new one comes, so the ring
        // never needs room for one more than the tail holds; with no tail at
        // all the new entry itself is the one that falls out.
        let tail_len = usize::from(self.tail_len);
        let fallen = if tail_cap == 0 {
            Some(e)
        } else if tail_len >= tail_cap {
            let oldest = self.ring_at() + usize::from(self.tail_start);
            let old = std::mem::replace(&mut self.buf[oldest], e);
            self.tail_start = ((usize::from(self.tail_start) + 1) % tail_len) as u16;
            Some(old)
        } else {
            self.make_room(tail_len, tail_cap);
            self.buf.push(e);
            self.tail_len += 1;
            None
        };
        if let Some(old) = fallen {
            let key_len = usize::from(self.key_len);
            if old.key() && key_len < key_cap {
                self.make_room(key_len, key_cap);
                self.buf.insert(head_len + key_len, old);
                self.key_len += 1;
            } else {
                self.left_out += 1;
            }
        }
    }

    /// Where the tail ring starts in the buffer (after the head and key).
    fn ring_at(&self) -> usize {
        self.buf.len() - usize::from(self.tail_len)
    }

    /// The tail ring: its entries and where the oldest is.
    fn ring(&self) -> (&[Kept], usize) {
        (&self.buf[self.ring_at()..], usize::from(self.tail_start))
    }

    /// The head, then the key part.
    fn head_and_key(&self) -> &[Kept] {
        &self.buf[..self.ring_at()]
    }

    /// Buffer positions of the tail ring's entries, newest first.
    fn ring_newest_first(&self) -> impl Iterator<Item = usize> {
        let (at, n, start) = (
            self.ring_at(),
            usize::from(self.tail_len),
            usize::from(self.tail_start),
        );
        (0..n).map(move |back| at + (start + n - 1 - back) % n)
    }

    /// The entry the next push writes next to: the end of the head while it
    /// fills, then the newest tail entry (the ring's next slot is usually
    /// on the same cache line), for the tracker's look-ahead to prefetch.
    pub(super) fn next_write_near(&self) -> Option<&Kept> {
        match self.ring_newest_first().next() {
            Some(i) => self.buf.get(i),
            None => self.buf[..usize::from(self.head_len)].last(),
        }
    }

    /// Marks the latest kept segment from `from` as key, if still kept.
    pub(super) fn mark_last_from(&mut self, from: Side) {
        // Newest first: the ring from its newest entry back, then the head.
        let in_ring = self
            .ring_newest_first()
            .find(|&i| self.buf[i].side() == from);
        let at = in_ring.or_else(|| {
            (0..usize::from(self.head_len))
                .rev()
                .find(|&i| self.buf[i].side() == from)
        });
        if let Some(i) = at {
            self.buf[i].bits |= KEPT_KEY;
        }
    }

    /// Segments kept, head, key and tail together.
    pub(super) fn kept(&self) -> usize {
        self.buf.len()
    }

    /// Segments there is room for without allocating.
    pub(super) fn room(&self) -> usize {
        self.buf.capacity()
    }

    /// Segments kept from the start of the connection.
    pub fn head_len(&self) -> usize {
        usize::from(self.head_len)
    }

    /// Segments kept from the end of the connection.
    pub fn tail_len(&self) -> usize {
        usize::from(self.tail_len)
    }

    /// Kept segments in capture order.
    pub fn entries(&self) -> Vec<TimelineEntry> {
        let (ring, start) = self.ring();
        let mut v: Vec<TimelineEntry> = self
            .head_and_key()
            .iter()
            .chain(ring[start..].iter())
            .chain(ring[..start].iter())
            .map(|k| k.expand())
            .collect();
        v.sort_by_key(|e| e.ord);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each step is about half as much again and fills its size class
    /// (40-byte entries: 160, 256, 384, 640 and 1 024 bytes).
    #[test]
    fn room_grows_to_fill_size_classes() {
        assert_eq!(std::mem::size_of::<Kept>(), 40);
        let ladder: Vec<usize> = std::iter::successors(Some(0), |&n| Some(grown_room(n)))
            .take(7)
            .collect();
        assert_eq!(ladder, [0, 4, 6, 9, 16, 25, 38]);
        assert_eq!(size_class(440), 448);
        assert_eq!(size_class(64), 64);
        assert_eq!(size_class(65), 80);
    }

    fn entry(ord: u64) -> TimelineEntry {
        TimelineEntry {
            ord,
            frame: ord + 1,
            ts: Timestamp(ord as i64),
            from: Side::Client,
            flags: Flags::default(),
            rel_seq: 0,
            rel_ack: None,
            window: 0,
            len: 0,
            key: false,
        }
    }

    /// A nine-segment connection's timeline takes room for nine, not for
    /// sixteen; a long one stops growing at head plus tail.
    #[test]
    fn room_follows_the_segments_kept() {
        let cfg = TrackerConfig::default();
        let mut t = Timeline::default();
        for ord in 0..9 {
            t.push(entry(ord), &cfg);
        }
        assert_eq!((t.kept(), t.room()), (9, 9));
        for ord in 9..100 {
            t.push(entry(ord), &cfg);
        }
        let most = cfg.timeline_head + cfg.timeline_tail;
        assert_eq!((t.kept(), t.room()), (most, most));
        let ords: Vec<u64> = t.entries().iter().map(|e| e.ord).collect();
        let want: Vec<u64> = (0..16).chain(84..100).collect();
        assert_eq!(ords, want);
    }

    /// The timeline keeps the head, the key segments that fell out of the
    /// tail (while there is room for them) and the tail ring, in capture
    /// order, and counts the rest.
    #[test]
    fn timeline_keeps_head_key_and_tail_in_order() {
        let cfg = TrackerConfig {
            timeline_head: 3,
            timeline_tail: 3,
            timeline_key: 2,
            ..TrackerConfig::default()
        };
        let mut tl = Timeline::default();
        for ord in 0..12u64 {
            let from = if ord % 2 == 0 {
                Side::Server
            } else {
                Side::Client
            };
            let key = [5, 7, 8].contains(&ord);
            tl.push(
                TimelineEntry {
                    from,
                    key,
                    ..entry(ord)
                },
                &cfg,
            );
        }
        let ords = |tl: &Timeline| tl.entries().iter().map(|e| e.ord).collect::<Vec<_>>();
        // 5 and 7 fell out of the tail as key segments; 8 found the key part
        // full; 3, 4, 6 and 8 are left out.
        assert_eq!(ords(&tl), [0, 1, 2, 5, 7, 9, 10, 11]);
        assert_eq!((tl.head_len(), tl.tail_len(), tl.left_out()), (3, 3, 4));
        assert_eq!(tl.next_write_near().map(|k| k.frame), Some(12));
        // The latest client segment (11) becomes key, the server's latest (10)
        // stays as it was.
        tl.mark_last_from(Side::Client);
        let key: Vec<u64> = tl
            .entries()
            .iter()
            .filter(|e| e.key)
            .map(|e| e.ord)
            .collect();
        assert_eq!(key, [5, 7, 11]);
    }
}
