//! A connection's bounded timeline: head, tail and the deciding segments.

use std::collections::VecDeque;

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
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    pub(super) head: Vec<Kept>,
    pub(super) key: Vec<Kept>,
    pub(super) tail: VecDeque<Kept>,
    /// Segments seen but not kept.
    pub(super) left_out: u64,
}

getters!(Timeline { left_out: u64 });

/// Grows `v` by doubling from 4, but never past `cap`: most connections
/// have a handful of segments, and a full-capacity reservation up front
/// would cost more than the entries.
pub(super) fn reserve_up_to(len: usize, capacity: usize, cap: usize) -> usize {
    if len < capacity {
        0
    } else {
        len.saturating_mul(2)
            .max(4)
            .min(cap)
            .max(len.saturating_add(1))
            .saturating_sub(len)
    }
}

impl Timeline {
    pub(super) fn push(&mut self, e: TimelineEntry, cfg: &TrackerConfig) {
        let e: Kept = e.into();
        if self.head.len() < cfg.timeline_head {
            let more = reserve_up_to(self.head.len(), self.head.capacity(), cfg.timeline_head);
            self.head.reserve_exact(more);
            self.head.push(e);
            return;
        }
        // The oldest tail entry leaves before the new one comes, so the ring
        // never needs room for one more than the tail holds; with no tail at
        // all the new entry itself is the one that falls out.
        let fallen = if cfg.timeline_tail == 0 {
            Some(e)
        } else {
            let fallen = if self.tail.len() >= cfg.timeline_tail {
                self.tail.pop_front()
            } else {
                None
            };
            let more = reserve_up_to(self.tail.len(), self.tail.capacity(), cfg.timeline_tail);
            self.tail.reserve_exact(more);
            self.tail.push_back(e);
            fallen
        };
        if let Some(old) = fallen {
            if old.key() && self.key.len() < cfg.timeline_key {
                let more = reserve_up_to(self.key.len(), self.key.capacity(), cfg.timeline_key);
                self.key.reserve_exact(more);
                self.key.push(old);
            } else {
                self.left_out += 1;
            }
        }
    }

    /// The entry the next push writes next to: the end of the head while it
    /// fills, then the newest tail entry (the ring's next slot is usually
    /// on the same cache line), for the tracker's look-ahead to prefetch.
    pub(super) fn next_write_near(&self) -> Option<&Kept> {
        if self.tail.is_empty() {
            self.head.last()
        } else {
            self.tail.back()
        }
    }

    /// Marks the latest kept segment from `from` as key, if still kept.
    pub(super) fn mark_last_from(&mut self, from: Side) {
        if let Some(e) = self.tail.iter_mut().rev().find(|e| e.side() == from) {
            e.bits |= KEPT_KEY;
        } else if let Some(e) = self.head.iter_mut().rev().find(|e| e.side() == from) {
            e.bits |= KEPT_KEY;
        }
    }

    /// Segments kept, head, key and tail together.
    pub(super) fn kept(&self) -> usize {
        self.head.len() + self.key.len() + self.tail.len()
    }

    /// Segments there is room for without allocating.
    pub(super) fn room(&self) -> usize {
        self.head.capacity() + self.key.capacity() + self.tail.capacity()
    }

    /// Segments kept from the start of the connection.
    pub fn head_len(&self) -> usize {
        self.head.len()
    }

    /// Segments kept from the end of the connection.
    pub fn tail_len(&self) -> usize {
        self.tail.len()
    }

    /// Kept segments in capture order.
    pub fn entries(&self) -> Vec<TimelineEntry> {
        let mut v: Vec<TimelineEntry> = self
            .head
            .iter()
            .chain(self.key.iter())
            .chain(self.tail.iter())
            .map(|k| k.expand())
            .collect();
        v.sort_by_key(|e| e.ord);
        v
    }
}
