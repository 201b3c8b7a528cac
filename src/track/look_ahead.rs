//! The tracker's look-ahead over a batch of segments: each segment's
//! table entry is fetched [`PROBE_AHEAD`] segments before it is pushed,
//! its connection [`CONNECTION_AHEAD`] before, and where its timeline
//! writes next [`TIMELINE_AHEAD`] before. With 100 000 connections open
//! each of those is a cache miss that would otherwise stall the push; each
//! stage reads only what the stage before asked for, so no stage waits on
//! a miss it could have avoided.
//!
//! The keys and hashes come with the batch ([`SegmentBatch`]): they are
//! built where the segments are read, on the reading thread, which has
//! time to spare while the tracking thread has none.

use crate::wire::Segment;

use super::connection::Connection;
use super::key::TupleKey;
use super::tuple_map::TupleHash;

/// How far ahead a segment's table entry is fetched.
const PROBE_AHEAD: usize = 16;
/// How far ahead its connection is fetched: the entry has had
/// `PROBE_AHEAD - CONNECTION_AHEAD` pushes to arrive.
const CONNECTION_AHEAD: usize = 8;
/// How far ahead its timeline's next write is fetched (that reads the
/// connection, fetched `CONNECTION_AHEAD - TIMELINE_AHEAD` pushes before).
const TIMELINE_AHEAD: usize = 3;
const _: () = assert!(TIMELINE_AHEAD < CONNECTION_AHEAD && CONNECTION_AHEAD < PROBE_AHEAD);

/// Segments in capture order, each with its canonical tuple and that
/// tuple's hash: one key and one hash per segment, built once.
#[derive(Default)]
pub struct SegmentBatch {
    segments: Vec<Segment>,
    /// `keys[i]` and `hashes[i]` belong to `segments[i]`. Keys past the
    /// batch's length are left from before a [`SegmentBatch::clear`]:
    /// their boxes (IPv6 and tunnelled tuples) are refilled, so a reused
    /// batch allocates nothing per segment.
    keys: Vec<TupleKey>,
    hashes: Vec<TupleHash>,
}

impl SegmentBatch {
    pub fn with_capacity(n: usize) -> Self {
        SegmentBatch {
            segments: Vec::with_capacity(n),
            keys: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
        }
    }

    /// Appends `seg`, keyed and hashed.
    pub fn push(&mut self, seg: Segment) {
        let i = self.segments.len();
        let mut spare = None;
        if let Some(old) = self.keys.get_mut(i) {
            std::mem::replace(old, TupleKey::V4([0; 12])).give_back(&mut spare);
            *old = TupleKey::of_segment(&seg, &mut spare);
        } else {
            self.keys.push(TupleKey::of_segment(&seg, &mut spare));
        }
        let key = &self.keys[i];
        self.hashes.push(TupleHash::of(key));
        self.segments.push(seg);
    }

    pub fn len(&self) -> usize {
        self.segments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Empties the batch, keeping its room and its keys' boxes.
    pub fn clear(&mut self) {
        self.segments.clear();
        self.hashes.clear();
    }
}

/// The stages a table offers the look-ahead: three that only fetch (and
/// change nothing), and the push itself.
pub(super) trait Stages {
    /// Fetch the table entry a lookup of `h` reads.
    fn prefetch_entry(&self, h: TupleHash);
    /// Fetch the connection of `key` (reads the entry).
    fn prefetch_connection(&self, key: &TupleKey, h: TupleHash);
    /// Fetch where that connection's timeline writes next (reads it).
    fn prefetch_timeline(&self, key: &TupleKey, h: TupleHash);
    /// Table entries (connections and attempts) held now.
    fn tracked(&self) -> usize;
    /// Feed `seg`, whose canonical tuple is `key`, hashed to `h`.
    fn push_keyed(
        &mut self,
        seg: &Segment,
        key: &TupleKey,
        h: TupleHash,
        emit: &mut dyn FnMut(Connection),
    );
}

/// Pushes every segment of `batch` into `tracker` in order, each stage's
/// fetch that many segments ahead once the table holds `from` entries
/// (fewer stay in the cache: see [`super::config::DEFAULT_LOOK_AHEAD_FROM`]).
pub(super) fn run(
    tracker: &mut impl Stages,
    batch: &SegmentBatch,
    emit: &mut dyn FnMut(Connection),
    from: usize,
) {
    let (segs, keys, hashes) = (&batch.segments, &batch.keys, &batch.hashes);
    let n = segs.len();
    if tracker.tracked() < from {
        for (i, seg) in segs.iter().enumerate() {
            tracker.push_keyed(seg, &keys[i], hashes[i], emit);
        }
        return;
    }
    for &h in hashes.iter().take(PROBE_AHEAD) {
        tracker.prefetch_entry(h);
    }
    for i in 0..n.min(CONNECTION_AHEAD) {
        tracker.prefetch_connection(&keys[i], hashes[i]);
    }
    for (i, seg) in segs.iter().enumerate() {
        if let Some(&h) = hashes.get(i + PROBE_AHEAD) {
            tracker.prefetch_entry(h);
        }
        let j = i + CONNECTION_AHEAD;
        if j < n {
            tracker.prefetch_connection(&keys[j], hashes[j]);
        }
        let j = i + TIMELINE_AHEAD;
        if j < n {
            tracker.prefetch_timeline(&keys[j], hashes[j]);
        }
        tracker.push_keyed(seg, &keys[i], hashes[i], emit);
    }
}
