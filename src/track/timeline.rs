//! A connection's bounded timeline: head, tail and the deciding segments.

use crate::wire::{Flags, Timestamp};

use super::config::TrackerConfig;
use super::kept::{
    fixed, from_fixed, head_record, read_head, side_of, HeadBase, Kept, Rel40, FIXED,
    FIXED_BITS_AT, KEPT_KEY, KEPT_SERVER,
};
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

impl Kept {
    /// The entry as outputs read it.
    pub(super) fn expand(self) -> TimelineEntry {
        TimelineEntry {
            ord: u64::from(self.ord),
            frame: self.frame,
            ts: self.ts,
            from: self.side(),
            flags: self.flags,
            rel_seq: self.seq.get(),
            rel_ack: self.flags.ack().then_some(self.ack.get()),
            window: self.window,
            len: self.len,
            key: self.key(),
        }
    }
}

impl From<TimelineEntry> for Kept {
    fn from(e: TimelineEntry) -> Self {
        Kept {
            ts: e.ts,
            frame: e.frame,
            seq: Rel40::new(e.rel_seq),
            ack: Rel40::new(e.rel_ack.unwrap_or(0)),
            ord: u32::try_from(e.ord).unwrap_or(u32::MAX),
            len: e.len,
            window: e.window,
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
/// The three parts share one byte buffer, `[head | key | tail ring]`: one
/// allocation per connection. The head holds variable-length records
/// (`kept::head_record`, about 16 bytes each), the key part and the tail
/// ring fixed ones (`kept::FIXED`), since ring entries are overwritten in
/// place and key entries inserted; with 100 000 connections open every
/// byte of the connection counts (it is allocated in a size class, and a
/// few bytes decide which), so the parts' offsets are computed from their
/// lengths instead of stored.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    buf: Vec<u8>,
    head_len: u16,
    key_len: u16,
    tail_len: u16,
    /// Where the oldest tail entry is in the ring (0 until the ring is
    /// full and starts turning).
    tail_start: u16,
}

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

/// The smallest buffer: room for the first few head records.
const FIRST_ROOM: usize = 64;

/// The room a full buffer of `len` bytes grows to: half as much again
/// ([`FIRST_ROOM`] at first), rounded up to what its size class holds, so
/// the bytes allocated are bytes the timeline can use. Most connections
/// have a handful of segments: growing by doubling would leave a short
/// timeline in twice its room, and a full-capacity reservation up front
/// would cost more than the entries.
pub(super) fn grown_room(len: usize) -> usize {
    size_class(len.saturating_add(len / 2).max(FIRST_ROOM))
}

/// A part's length as stored (parts are capped far below `u16::MAX`).
fn part_cap(cap: usize) -> usize {
    cap.min(usize::from(u16::MAX))
}

impl Timeline {
    /// Room for `extra` more bytes: the buffer grows by [`grown_room`],
    /// never beyond `most` bytes more than it holds (what the part being
    /// written can still take), never by less than `extra`.
    fn make_room(&mut self, extra: usize, most: usize) {
        let len = self.buf.len();
        if len + extra > self.buf.capacity() {
            let room = grown_room(len)
                .min(len.saturating_add(most))
                .max(len + extra);
            self.buf.reserve_exact(room - len);
        }
    }

    /// Where the head's records end (the key part starts).
    fn head_end(&self) -> usize {
        self.ring_at() - usize::from(self.key_len) * FIXED
    }

    /// Keeps `e` if its part has room; `base` is the connection's
    /// [`HeadBase`], the same at every push.
    pub(super) fn push(&mut self, e: TimelineEntry, base: HeadBase, cfg: &TrackerConfig) {
        let e: Kept = e.into();
        let (head_cap, tail_cap, key_cap) = (
            part_cap(cfg.timeline_head),
            part_cap(cfg.timeline_tail),
            part_cap(cfg.timeline_key),
        );
        let head_len = usize::from(self.head_len);
        if head_len < head_cap {
            // The key part and the tail stay empty until the head is full,
            // so the head's records end where the buffer does.
            let (record, n) = head_record(&e, base);
            self.make_room(n, usize::MAX);
            self.buf.extend_from_slice(&record[..n]);
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
            let oldest = self.ring_at() + usize::from(self.tail_start) * FIXED;
            let slot = &mut self.buf[oldest..oldest + FIXED];
            let old = from_fixed(slot);
            slot.copy_from_slice(&fixed(e));
            self.tail_start = ((usize::from(self.tail_start) + 1) % tail_len) as u16;
            Some(old)
        } else {
            self.make_room(FIXED, (tail_cap - tail_len) * FIXED);
            self.buf.extend_from_slice(&fixed(e));
            self.tail_len += 1;
            None
        };
        if let Some(old) = fallen {
            let key_len = usize::from(self.key_len);
            if old.key() && key_len < key_cap {
                self.make_room(FIXED, (key_cap - key_len) * FIXED);
                let at = self.head_end() + key_len * FIXED;
                self.buf.splice(at..at, fixed(old));
                self.key_len += 1;
            }
        }
    }

    /// The head's records written relative to `base`: (offset, entry), in
    /// order.
    fn head(&self, base: HeadBase) -> impl Iterator<Item = (usize, Kept)> + '_ {
        let mut at = 0;
        (0..usize::from(self.head_len)).map(move |_| {
            let start = at;
            (start, read_head(&self.buf, &mut at, base))
        })
    }

    /// Where the tail ring starts in the buffer (after the head and key).
    fn ring_at(&self) -> usize {
        self.buf.len() - usize::from(self.tail_len) * FIXED
    }

    /// The fixed record at buffer offset `at`.
    fn fixed_at(&self, at: usize) -> Kept {
        from_fixed(&self.buf[at..at + FIXED])
    }

    /// Buffer offsets of the tail ring's records, newest first.
    fn ring_newest_first(&self) -> impl Iterator<Item = usize> {
        let (at, n, start) = (
            self.ring_at(),
            usize::from(self.tail_len),
            usize::from(self.tail_start),
        );
        (0..n).map(move |back| at + ((start + n - 1 - back) % n) * FIXED)
    }

    /// The byte the next push writes at or next to: the end of the head
    /// while it fills, then the newest tail record (the ring's next slot is
    /// usually on the same cache line), for the tracker's look-ahead to
    /// prefetch.
    pub(super) fn next_write_near(&self) -> Option<&u8> {
        match self.ring_newest_first().next() {
            Some(i) => self.buf.get(i),
            None => self.buf.last(),
        }
    }

    /// Marks the latest kept segment from `from` as key, if still kept.
    pub(super) fn mark_last_from(&mut self, from: Side) {
        // Newest first: the ring from its newest entry back, then the head.
        let in_ring = self
            .ring_newest_first()
            .map(|i| i + FIXED_BITS_AT)
            .find(|&i| side_of(self.buf[i]) == from);
        let at = in_ring.or_else(|| {
            // Any base finds the records and their sides.
            self.head(HeadBase::default())
                .filter(|(_, k)| k.side() == from)
                .last()
                .map(|(at, _)| at)
        });
        if let Some(i) = at {
            self.buf[i] |= KEPT_KEY;
        }
    }

    /// Segments kept, head, key and tail together.
    pub(super) fn kept(&self) -> usize {
        usize::from(self.head_len) + usize::from(self.key_len) + usize::from(self.tail_len)
    }

    /// Bytes kept, and bytes allocated for them.
    pub(super) fn bytes(&self) -> usize {
        self.buf.len()
    }
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

    /// Kept segments in capture order (`base`: the connection's
    /// [`HeadBase`]; `Connection::timeline_entries` passes it).
    pub(super) fn entries(&self, base: HeadBase) -> Vec<TimelineEntry> {
        let key_at = self.head_end();
        let ring_at = self.ring_at();
        let (n, start) = (usize::from(self.tail_len), usize::from(self.tail_start));
        let mut v: Vec<TimelineEntry> = self
            .head(base)
            .map(|(_, k)| k)
            .chain((key_at..ring_at).step_by(FIXED).map(|at| self.fixed_at(at)))
            .chain((0..n).map(|i| self.fixed_at(ring_at + ((start + i) % n) * FIXED)))
            .map(Kept::expand)
            .collect();
        v.sort_by_key(|e| e.ord);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each step is about half as much again and fills its size class.
    #[test]
    fn room_grows_to_fill_size_classes() {
        let ladder: Vec<usize> = std::iter::successors(Some(0), |&n| Some(grown_room(n)))
            .take(7)
            .collect();
        assert_eq!(ladder, [0, 64, 96, 160, 256, 384, 640]);
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

    /// A realistic segment: a data segment every 10 ms, 200 frames apart.
    fn data(ord: u64) -> TimelineEntry {
        TimelineEntry {
            ord,
            frame: 1_000_000 + 200 * ord,
            ts: Timestamp(1_700_000_000_000_000_000 + 10_000_000 * ord as i64),
            from: if ord % 2 == 0 {
                Side::Client
            } else {
                Side::Server
            },
            flags: Flags(Flags::ACK | Flags::PSH),
            rel_seq: 1 + 100 * ord as i64,
            rel_ack: Some(1 + 50 * ord as i64),
            window: 502,
            len: 100,
            key: ord == 3,
        }
    }

    /// The base of the connection `data` segments belong to.
    fn data_base() -> HeadBase {
        HeadBase::new(Timestamp(1_700_000_000_000_000_000), 1_000_000)
    }

    /// Every entry comes back as it went in, the head's compact records
    /// included; a head entry takes 16 bytes where a fixed record takes
    /// 38, and a long timeline stops growing at head plus tail.
    #[test]
    fn room_follows_the_segments_kept() {
        let cfg = TrackerConfig::default();
        let mut t = Timeline::default();
        for ord in 0..9 {
            t.push(data(ord), data_base(), &cfg);
        }
        assert_eq!(t.entries(data_base()), (0..9).map(data).collect::<Vec<_>>());
        // 10 bytes for the first (at the connection's first time and
        // frame), 15 and 16 for the others, in room grown 64, 96, 160.
        assert_eq!((t.bytes(), t.room()), (137, 160));
        for ord in 9..100 {
            t.push(data(ord), data_base(), &cfg);
        }
        assert_eq!(t.kept(), cfg.timeline_head + cfg.timeline_tail);
        // A head of 251 bytes (17 a record from 140 ms on), then 16 fixed
        // tail records: the room stops at what the tail still needed.
        assert_eq!(t.bytes(), 251 + 16 * FIXED);
        assert_eq!(t.room(), t.bytes());
        let want: Vec<TimelineEntry> = (0..16).chain(84..100).map(data).collect();
        assert_eq!(t.entries(data_base()), want);
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
                HeadBase::default(),
                &cfg,
            );
        }
        let ords = |tl: &Timeline| {
            tl.entries(HeadBase::default())
                .iter()
                .map(|e| e.ord)
                .collect::<Vec<_>>()
        };
        // 5 and 7 fell out of the tail as key segments; 8 found the key part
        // full; 3, 4, 6 and 8 are left out.
        assert_eq!(ords(&tl), [0, 1, 2, 5, 7, 9, 10, 11]);
        assert_eq!((tl.head_len(), tl.tail_len(), tl.kept()), (3, 3, 8));
        // The next write overwrites the oldest tail record (9), next to the
        // newest (11).
        let newest = tl.ring_newest_first().next();
        assert_eq!(newest.map(|i| tl.fixed_at(i).ord), Some(11));
        assert!(std::ptr::eq(
            tl.next_write_near().unwrap(),
            &tl.buf[newest.unwrap()]
        ));
        // The latest client segment (11) becomes key, the server's latest (10)
        // stays as it was.
        tl.mark_last_from(Side::Client);
        let key: Vec<u64> = tl
            .entries(HeadBase::default())
            .iter()
            .filter(|e| e.key)
            .map(|e| e.ord)
            .collect();
        assert_eq!(key, [5, 7, 11]);
    }
}
