//! The tracker's look-ahead over a batch of segments: each segment's
//! tuple is hashed and its table entry fetched [`PROBE_AHEAD`] segments
//! before it is pushed, its connection fetched [`CONNECTION_AHEAD`]
//! before, and where its timeline writes next [`TIMELINE_AHEAD`] before.
//! With 100 000 connections open each of those is a cache miss that would
//! otherwise stall the push; each stage reads only what the stage before
//! asked for, so no stage waits on a miss it could have avoided. The key
//! and hash are built once per segment and kept here until its push.

use crate::wire::Segment;

use super::connection::Connection;
use super::key::{KeyBox, TupleKey};
use super::tuple_map::TupleHash;

/// How far ahead a segment's tuple is hashed and its entry fetched.
const PROBE_AHEAD: usize = 16;
/// How far ahead its connection is fetched: the entry has had
/// `PROBE_AHEAD - CONNECTION_AHEAD` pushes to arrive.
const CONNECTION_AHEAD: usize = 8;
/// How far ahead its timeline's next write is fetched (that reads the
/// connection, fetched `CONNECTION_AHEAD - TIMELINE_AHEAD` pushes before).
const TIMELINE_AHEAD: usize = 3;
/// Keys and hashes kept, by position in the batch.
const RING: usize = 32;
const _: () = assert!(PROBE_AHEAD < RING && TIMELINE_AHEAD < CONNECTION_AHEAD);
const _: () = assert!(CONNECTION_AHEAD < PROBE_AHEAD);

/// The stages a table offers the look-ahead: three that only fetch (and
/// change nothing), and the push itself.
pub(super) trait Stages {
    /// Fetch the table entry a lookup of `h` reads.
    fn prefetch_entry(&self, h: TupleHash);
    /// Fetch the connection of `key` (reads the entry).
    fn prefetch_connection(&self, key: &TupleKey, h: TupleHash);
    /// Fetch where that connection's timeline writes next (reads it).
    fn prefetch_timeline(&self, key: &TupleKey, h: TupleHash);
    /// Feed `seg`, whose canonical tuple is `key`, hashed to `h`.
    fn push_keyed(
        &mut self,
        seg: &Segment,
        key: &TupleKey,
        h: TupleHash,
        emit: &mut dyn FnMut(Connection),
    );
}

/// The keys and hashes of the next [`PROBE_AHEAD`] segments.
pub(super) struct LookAhead {
    keys: Vec<TupleKey>,
    hashes: [TupleHash; RING],
    /// Boxes of IPv6 (and tunnelled) keys pushed already, for the next ones:
    /// no allocation per segment.
    spares: Vec<KeyBox>,
}

impl Default for LookAhead {
    fn default() -> Self {
        LookAhead {
            keys: vec![TupleKey::V4([0; 12]); RING],
            hashes: [TupleHash::default(); RING],
            spares: Vec::new(),
        }
    }
}

impl LookAhead {
    /// Keys segment `i` of the batch and fetches its table entry.
    fn probe(&mut self, tracker: &impl Stages, i: usize, seg: &Segment) {
        let slot = &mut self.keys[i % RING];
        let mut spare = None;
        std::mem::replace(slot, TupleKey::V4([0; 12])).give_back(&mut spare);
        let mut spare = spare.or_else(|| self.spares.pop());
        *slot = TupleKey::of_segment(seg, &mut spare);
        self.spares.extend(spare);
        let h = TupleHash::of(slot);
        self.hashes[i % RING] = h;
        tracker.prefetch_entry(h);
    }

    /// Pushes every segment of `batch` into `tracker` in order.
    pub(super) fn run(
        &mut self,
        tracker: &mut impl Stages,
        batch: &[Segment],
        emit: &mut dyn FnMut(Connection),
    ) {
        for (i, seg) in batch.iter().enumerate().take(PROBE_AHEAD) {
            self.probe(tracker, i, seg);
        }
        for i in 0..batch.len().min(CONNECTION_AHEAD) {
            tracker.prefetch_connection(&self.keys[i % RING], self.hashes[i % RING]);
        }
        for (i, seg) in batch.iter().enumerate() {
            if let Some(far) = batch.get(i + PROBE_AHEAD) {
                self.probe(tracker, i + PROBE_AHEAD, far);
            }
            if i + CONNECTION_AHEAD < batch.len() {
                let j = (i + CONNECTION_AHEAD) % RING;
                tracker.prefetch_connection(&self.keys[j], self.hashes[j]);
            }
            if i + TIMELINE_AHEAD < batch.len() {
                let j = (i + TIMELINE_AHEAD) % RING;
                tracker.prefetch_timeline(&self.keys[j], self.hashes[j]);
            }
            let j = i % RING;
            tracker.push_keyed(seg, &self.keys[j], self.hashes[j], emit);
        }
    }
}
