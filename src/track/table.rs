//! The connection table: keys each segment to its connection, finishes
//! connections when they end, expire or are evicted, and hands them on with
//! the reason it let go.
//!
//! Time here is analysis time from the tracker's [`Clock`]: monotone and
//! immune to clock steps, so a step back or a far-future record never
//! finishes or splits a connection by itself.

use std::collections::{BinaryHeap, VecDeque};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::wire::{Clock, Segment, Timestamp};

use super::attempt::Attempt;
use super::census::Census;
use super::config::{ns, TrackerConfig};
use super::connection::Connection;
use super::due::{Deadline, DueWheel};
use super::end::EndReason;
use super::footprint::{deque_bytes, hash_map_bytes, hash_set_bytes};
use super::grace::{conn_expired, deadline, ended_ns, expiry_reason, feed, final_reason, Queue};
use super::key::{EndpointKey, KeyBox, TupleKey};
use super::look_ahead::{self, SegmentBatch, Stages};
use super::stream::StreamBook;
use super::tuple_map::{TupleHash, TupleMap};
use super::zeek_split::{Split, ZeekSplit};

/// What the table holds per tuple.
#[derive(Debug)]
pub(super) enum Slot {
    Attempt(Box<Attempt>),
    Conn(Box<Connection>),
}

impl Slot {
    fn first_frame(&self) -> u64 {
        match self {
            Slot::Attempt(a) => a.first.frame,
            Slot::Conn(c) => c.first_frame,
        }
    }

    /// Analysis time of the latest segment.
    fn last_at(&self) -> Timestamp {
        match self {
            Slot::Attempt(a) => a.last_at(),
            Slot::Conn(c) => c.last_at,
        }
    }

    fn into_connection(self, key: &TupleKey, cfg: &TrackerConfig) -> Connection {
        match self {
            Slot::Attempt(a) => a.replay(key, cfg),
            Slot::Conn(c) => *c,
        }
    }
}

/// An ended connection also expires after this many further segments while
/// analysis time has moved less than [`STILL_TIME_NS`]: with constant
/// timestamps (Simple Packet Blocks, anonymised captures) time never runs
/// out, and memory must still follow the open connections.
const STILL_SEGMENTS: u64 = 10_000;
const STILL_TIME_NS: i64 = 1_000_000;

/// Evicted tuples remembered so a later segment on one is known to continue
/// an evicted connection; the oldest are forgotten first.
const EVICTED_REMEMBERED: usize = 65_536;

/// Counters over everything the tracker saw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackerStats {
    pub(super) connections: u64,
    pub(super) segments: u64,
    pub(super) rst_segments: u64,
    /// ACKs covering sequence space never captured, summed over connections.
    pub(super) acked_unseen: u64,
    /// Most connections open at once.
    pub(super) peak_open: usize,
    /// Connections finished before their timeout because `max_open` were
    /// already open (the longest idle go first).
    pub(super) finished_early: u64,
    /// The analysis clock, with the steps it detected.
    pub(super) clock: Clock,
}

getters!(TrackerStats {
    connections: u64,
    segments: u64,
    rst_segments: u64,
    acked_unseen: u64,
    peak_open: usize,
    finished_early: u64,
    ref clock: Clock,
});

/// Connections keyed by canonical 4-tuple.
///
/// Connections are emitted (finished) in this order, which depends only on
/// the input: (1) at a segment, ended connections whose grace ran out by
/// that segment's analysis time (or that stood still for
/// `STILL_SEGMENTS`), by first frame; then the previous generation of the
/// segment's own tuple if the segment starts a new one; then, if the open
/// limit is reached, the longest-idle connection; (2) at a sweep, idle
/// connections past their timeout, by first frame; (3) at the end, all
/// others, by first frame.
pub struct Tracker {
    cfg: TrackerConfig,
    /// Boxed so that the table's spare capacity costs 32 bytes per entry
    /// (key and pointer), not a whole connection.
    map: TupleMap<Slot>,
    last_sweep: Timestamp,
    since_sweep: u64,
    stats: TrackerStats,
    /// Connections each endpoint took part in, for inferring the server of a
    /// connection seen mid-stream. Endpoints seen once (ephemeral client
    /// ports) are pruned when the table outgrows the open connections by
    /// 65 536, so this stays near the number of servers plus open clients.
    fan: FxHashMap<EndpointKey, u32>,
    /// Fan table size that triggers the next pruning.
    fan_limit: usize,
    /// Grace deadlines of ended connections: checked at every segment, so
    /// an ended connection is freed as soon as its grace runs out instead of
    /// at the next sweep. A deadline leaves the wheel when it is reached, so
    /// it holds no more than the connections that ended within the grace.
    due: DueWheel,
    /// The deadlines reached at a segment (kept for its capacity).
    reached: Vec<Deadline>,
    /// Ended connections in the order they ended, with the segment count
    /// then: (segment count, first frame, tuple, analysis time it ended),
    /// for [`STILL_SEGMENTS`]. The end time lets the check skip the table
    /// lookup for every connection whose time did move on.
    ended: VecDeque<(u64, u64, TupleKey, i64)>,
    /// Candidates for finishing early when `max_open` is reached: the
    /// longest-idle connections at the last scan, as (last time, first
    /// frame, tuple), the oldest last.
    victims: Vec<(i64, u64, TupleKey)>,
    /// Tuples of connections evicted while established, oldest first.
    evicted: FxHashSet<TupleKey>,
    evicted_order: VecDeque<TupleKey>,
    /// tshark's stream numbering, carried across rstscope's connections.
    streams: StreamBook,
    /// The box of the last IPv6 (or tunnelled) key built for a lookup, kept
    /// for the next one.
    spare_key: Option<KeyBox>,

    /// First times of the connections open now (a multiset, nanoseconds ->
    /// how many): the earliest is the watermark below which no row can
    /// still appear, so outputs may release time-ordered rows.
    open_since: std::collections::BTreeMap<i64, u32>,

    /// Zeek's connection timers, under `zeek_split` only.
    zeek_split: Option<ZeekSplit>,
}

/// Starts fetching every cache line of `*value` into the cache.
fn prefetch_lines<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let start = (value as *const T).cast::<i8>();
        for offset in (0..std::mem::size_of::<T>()).step_by(64) {
            // SAFETY: a prefetch only hints the cache; the address lies
            // within `*value`, and a prefetch never faults anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Fan table entries allowed beyond the open connections before pruning.
const FAN_SLACK: usize = 65_536;

/// Puts connections to be finished in the order they are emitted: by first
/// frame, ties (one frame, two tuples) by tuple, never by where the table
/// happened to keep them.
fn by_first_frame(done: &mut [(u64, TupleKey, Slot)]) {
    done.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
}

/// Why a connection Zeek's timers removed is finished.
fn slot_expiry_reason(s: &Slot) -> EndReason {
    match s {
        Slot::Conn(c) => expiry_reason(c),
        Slot::Attempt(_) => EndReason::IdleTimeout,
    }
}

impl Tracker {
    pub fn new(cfg: TrackerConfig) -> Self {
        Tracker {
            map: TupleMap::default(),
            last_sweep: Timestamp(i64::MIN),
            since_sweep: 0,
            stats: TrackerStats::default(),
            fan: FxHashMap::default(),
            fan_limit: FAN_SLACK,
            due: DueWheel::default(),
            reached: Vec::new(),
            ended: VecDeque::new(),
            victims: Vec::new(),
            evicted: FxHashSet::default(),
            evicted_order: VecDeque::new(),
            streams: StreamBook::default(),
            spare_key: None,
            open_since: std::collections::BTreeMap::new(),
            zeek_split: cfg.zeek_split.then(ZeekSplit::default),
            cfg,
        }
    }

    /// The earliest first time of the connections still open (None when
    /// none is): every connection finished later starts at or after it,
    /// as long as the capture's clock does not go backwards.
    pub fn watermark(&self) -> Option<Timestamp> {
        self.open_since.keys().next().map(|&ns| Timestamp(ns))
    }

    pub fn stats(&self) -> &TrackerStats {
        &self.stats
    }

    pub fn open_connections(&self) -> usize {
        self.map.len()
    }

    /// What the table holds now, by kind, and its bytes (a walk over the
    /// whole table: for the benchmark, not for every segment).
    pub fn census(&self) -> Census {
        let slot = std::mem::size_of::<Option<(TupleKey, Slot)>>();
        let mut census = Census::new(self.map.capacity(), slot);
        for (_, s) in self.map.iter() {
            match s {
                Slot::Conn(c) => census.count_connection(c),
                Slot::Attempt(_) => census.count_attempt(),
            }
        }
        // A B-tree keeps about two thirds of its 11 places a node used.
        let first_times = self.open_since.len() * 3 / 2 * std::mem::size_of::<(i64, u32)>();
        census.count_bookkeeping(
            hash_map_bytes(&self.fan)
                + self.streams.bytes()
                + self.due.bytes()
                + deque_bytes(&self.ended)
                + first_times
                + hash_set_bytes(&self.evicted)
                + deque_bytes(&self.evicted_order),
        );
        census
    }

    fn now(&self) -> Timestamp {
        self.stats.clock.now()
    }

    /// Feeds one segment; finished connections go to `emit`.
    pub fn push(&mut self, seg: &Segment, emit: &mut dyn FnMut(Connection)) {
        let key = TupleKey::of_segment(seg, &mut self.spare_key);
        self.push_keyed(seg, &key, TupleHash::of(&key), emit);
        key.give_back(&mut self.spare_key);
    }

    /// Feeds a batch of segments in order, as [`Tracker::push`] one by one
    /// would, fetching each one's table entry and connection into the
    /// cache a few segments before it is pushed.
    pub fn push_batch(&mut self, batch: &SegmentBatch, emit: &mut dyn FnMut(Connection)) {
        let from = self.cfg.look_ahead_from;
        look_ahead::run(self, batch, emit, from);
    }

    /// Whether `seg` ends the tuple's connection `s` by rstscope's rules:
    /// a new generation, or a connection past its timeout.
    fn own_restart(
        &self,
        s: Option<&Slot>,
        key: &TupleKey,
        seg: &Segment,
        at: Timestamp,
    ) -> Option<EndReason> {
        match s {
            Some(Slot::Conn(c)) if c.is_new_generation(seg) => Some(EndReason::NewGeneration),
            Some(Slot::Conn(c)) if conn_expired(&self.cfg, c, at) => Some(expiry_reason(c)),
            Some(Slot::Attempt(a)) if a.is_new_generation(seg, key) => {
                Some(EndReason::NewGeneration)
            }
            Some(Slot::Attempt(a)) if self.attempt_expired(a, at) => Some(EndReason::IdleTimeout),
            _ => None,
        }
    }

    /// A connection just ended: queue its grace deadline and its place in
    /// the order connections ended (for expiry when time stands still).
    fn queue(&mut self, key: TupleKey, q: Queue, segments: u64) {
        match q {
            Queue::Ended(deadline, first_frame, end) => {
                self.due.push((deadline, first_frame, key.clone()));
                self.ended.push_back((segments, first_frame, key, end));
            }
            Queue::Sooner(deadline, first_frame) => self.due.push((deadline, first_frame, key)),
        }
    }

    /// Bookkeeping after every segment, whichever way it went.
    fn after_segment(&mut self, emit: &mut dyn FnMut(Connection)) {
        self.stats.peak_open = self.stats.peak_open.max(self.map.len());
        if self.fan.len() > self.fan_limit {
            self.prune_fan();
        }

        // Idle expiry is amortised: a sweep visits every open connection, so
        // run one only after at least a quarter as many packets as there are
        // open connections, and at most once per second of analysis time.
        self.since_sweep = self.since_sweep.saturating_add(1);
        if self.since_sweep.saturating_mul(4) >= self.map.len() as u64
            && self.now().0.saturating_sub(self.last_sweep.0) >= 1_000_000_000
        {
            self.sweep(emit);
        }
    }

    /// Forgets the endpoints seen in one connection only (ephemeral client
    /// ports), so the fan table cannot grow with the capture (a SYN flood
    /// from random ports adds one per attempt). The next pruning waits until
    /// the table has grown by as much again, so its cost is amortised.
    fn prune_fan(&mut self) {
        self.fan.retain(|_, n| *n >= 2);
        self.fan.shrink_to(self.fan.len().saturating_mul(2));
        self.fan_limit = self.map.len().max(self.fan.len()).saturating_add(FAN_SLACK);
    }

    /// [`conn_expired`] for an attempt: never ended, only one side seen.
    fn attempt_expired(&self, a: &Attempt, now: Timestamp) -> bool {
        now.0.saturating_sub(a.last_at().0) >= ns(self.cfg.attempt_timeout)
    }

    fn slot_expired(&self, key: &TupleKey, s: &Slot, now: Timestamp) -> bool {
        if let Some(removed) = self.zeek_split.as_ref().and_then(|z| z.removed(key, now)) {
            return removed;
        }
        match s {
            Slot::Conn(c) => conn_expired(&self.cfg, c, now),
            Slot::Attempt(a) => self.attempt_expired(a, now),
        }
    }

    /// An ended connection that stood still: [`STILL_SEGMENTS`] segments
    /// since it ended while analysis time barely moved.
    fn stood_still(&self, c: &Connection, now: Timestamp) -> bool {
        c.ended()
            && self.stats.segments.saturating_sub(c.ended_at_segment) >= STILL_SEGMENTS
            && now.0.saturating_sub(ended_ns(c)) < STILL_TIME_NS
    }

    /// Finishes the ended connections whose grace ran out by now, and those
    /// that stood still for [`STILL_SEGMENTS`].
    fn finish_due(&mut self, emit: &mut dyn FnMut(Connection)) {
        let now = self.now();
        let mut done: Vec<(u64, TupleKey, Slot)> = Vec::new();
        let mut reached = std::mem::take(&mut self.reached);
        self.due.pop_due(now.0, &mut reached);
        for (_, first_frame, key) in reached.drain(..) {
            let h = TupleHash::of(&key);
            let Some(s) = self.map.get(h, &key) else {
                continue;
            };
            if s.first_frame() != first_frame {
                continue;
            }
            if self.slot_expired(&key, s, now) {
                if let Some(s) = self.map.remove(h, &key) {
                    done.push((first_frame, key, s));
                }
            } else if let Slot::Conn(c) = s {
                // Late segments moved the deadline on.
                let later = deadline(&self.cfg, c);
                if later > now.0 {
                    self.due.push((later, first_frame, key));
                }
            }
        }
        self.reached = reached;
        let segments = self.stats.segments;
        while let Some((ended_at, first_frame, _, _)) = self.ended.front() {
            if segments.saturating_sub(*ended_at) < STILL_SEGMENTS {
                break;
            }
            let first_frame = *first_frame;
            let Some((_, _, key, end)) = self.ended.pop_front() else {
                break;
            };
            // An end time never changes: once analysis time is past it by
            // STILL_TIME_NS the connection cannot have stood still.
            if now.0.saturating_sub(end) >= STILL_TIME_NS {
                continue;
            }
            let h = TupleHash::of(&key);
            let still = match self.map.get(h, &key) {
                Some(Slot::Conn(c)) => c.first_frame == first_frame && self.stood_still(c, now),
                _ => false,
            };
            if still {
                if let Some(s) = self.map.remove(h, &key) {
                    done.push((first_frame, key, s));
                }
            }
        }
        if done.is_empty() {
            return;
        }
        by_first_frame(&mut done);
        for (_, key, s) in done {
            let c = s.into_connection(&key, &self.cfg);
            let reason = expiry_reason(&c);
            self.finish_one(key, c, reason, emit);
        }
    }

    /// `max_open` reached: finishes the connection idle the longest. The
    /// candidates come from a scan of the table that keeps the longest-idle
    /// sixteenth, so the scan is paid once per that many connections; a
    /// candidate that saw traffic since is passed over.
    fn finish_longest_idle(&mut self, emit: &mut dyn FnMut(Connection)) {
        for _rescan in 0..2 {
            while let Some((last, first_frame, key)) = self.victims.pop() {
                let h = TupleHash::of(&key);
                let fresh = self
                    .map
                    .get(h, &key)
                    .is_some_and(|s| s.first_frame() == first_frame && s.last_at().0 == last);
                if !fresh {
                    continue;
                }
                if let Some(s) = self.map.remove(h, &key) {
                    let c = s.into_connection(&key, &self.cfg);
                    self.stats.finished_early = self.stats.finished_early.saturating_add(1);
                    if !c.ended() {
                        self.remember_evicted(key.clone());
                    }
                    self.finish_one(key, c, EndReason::Evicted, emit);
                    return;
                }
            }
            let want = (self.map.len() / 16).max(1);
            let mut oldest: BinaryHeap<(i64, u64, &TupleKey)> = BinaryHeap::with_capacity(want + 1);
            for (k, s) in self.map.iter() {
                oldest.push((s.last_at().0, s.first_frame(), k));
                if oldest.len() > want {
                    oldest.pop();
                }
            }
            // Ascending, reversed: the longest idle is popped first.
            let mut victims: Vec<(i64, u64, TupleKey)> = oldest
                .into_sorted_vec()
                .into_iter()
                .map(|(t, f, k)| (t, f, k.clone()))
                .collect();
            victims.reverse();
            self.victims = victims;
        }
    }

    /// Remembers an evicted tuple (bounded, oldest forgotten first).
    fn remember_evicted(&mut self, key: TupleKey) {
        if self.evicted_order.len() >= EVICTED_REMEMBERED {
            if let Some(old) = self.evicted_order.pop_front() {
                self.evicted.remove(&old);
            }
        }
        if self.evicted.insert(key.clone()) {
            self.evicted_order.push_back(key);
        }
    }

    fn sweep(&mut self, emit: &mut dyn FnMut(Connection)) {
        self.since_sweep = 0;
        let now = self.now();
        self.last_sweep = now;
        let keys: Vec<TupleKey> = self
            .map
            .iter()
            .filter(|(k, s)| self.slot_expired(k, s, now))
            .map(|(k, _)| k.clone())
            .collect();
        let mut done: Vec<(u64, TupleKey, Slot)> = keys
            .into_iter()
            .filter_map(|k| {
                let h = TupleHash::of(&k);
                self.map.remove(h, &k).map(|s| (s.first_frame(), k, s))
            })
            .collect();
        by_first_frame(&mut done);
        for (_, key, s) in done {
            let c = s.into_connection(&key, &self.cfg);
            let reason = expiry_reason(&c);
            self.finish_one(key, c, reason, emit);
        }
        if self.fan.len() > self.map.len().saturating_mul(4).saturating_add(FAN_SLACK) {
            self.prune_fan();
        }
        // Give back memory after a burst of connections.
        if self.map.capacity() > 1024 && self.map.capacity() > self.map.len().saturating_mul(4) {
            self.map.shrink_to(self.map.len().saturating_mul(2));
        }
    }

    /// Hands the connection of tuple `key` on with the reason the tracker
    /// let go of it.
    fn finish_one(
        &mut self,
        key: TupleKey,
        mut c: Connection,
        reason: EndReason,
        emit: &mut dyn FnMut(Connection),
    ) {
        c.observed_until = c.observed_until.max(self.now());
        c.end_reason = reason;
        if let Some(z) = &mut self.zeek_split {
            z.forget(&key);
        }
        self.streams.ended(key, c.stream);
        if let std::collections::btree_map::Entry::Occupied(mut e) =
            self.open_since.entry(c.first_time.0)
        {
            *e.get_mut() -= 1;
            if *e.get() == 0 {
                e.remove();
            }
        }
        self.stats.acked_unseen = self.stats.acked_unseen.saturating_add(u64::from(c.gaps()));
        emit(c);
    }

    /// End of capture: emits every connection still open, by first frame.
    pub fn finish(mut self, emit: &mut dyn FnMut(Connection)) -> TrackerStats {
        self.due.clear();
        self.ended.clear();
        self.fan = FxHashMap::default();
        self.streams.clear();
        let mut rest: Vec<(u64, TupleKey, Slot)> = self
            .map
            .drain()
            .map(|(k, s)| (s.first_frame(), k, s))
            .collect();
        by_first_frame(&mut rest);
        for (_, key, s) in rest {
            let c = s.into_connection(&key, &self.cfg);
            let reason = final_reason(&c);
            self.finish_one(key, c, reason, emit);
        }
        self.stats
    }
}

impl Stages for Tracker {
    /// Asks the CPU to fetch the table entry a lookup of `h` reads: the
    /// first stage of the look-ahead, run far enough ahead that the entry
    /// is in the cache when the next stage reads it.
    fn tracked(&self) -> usize {
        self.map.len()
    }

    fn prefetch_entry(&self, h: TupleHash) {
        self.map.prefetch(h);
    }

    /// Asks the CPU to fetch the connection of tuple `key` (hash `h`),
    /// whose segment comes a few pushes later: with many connections open
    /// every segment's connection misses the cache, and fetching it ahead
    /// overlaps those misses with the work on the segments in between.
    /// Changes nothing; a connection that ends before its segment arrives
    /// was fetched for nothing.
    fn prefetch_connection(&self, key: &TupleKey, h: TupleHash) {
        match self.map.get(h, key) {
            Some(Slot::Conn(c)) => prefetch_lines(&**c),
            Some(Slot::Attempt(a)) => prefetch_lines(&**a),
            None => {}
        }
    }

    /// The last stage of the look-ahead: asks for where the timeline of
    /// `key`'s connection writes next. It reads the connection, so it runs
    /// after [`Stages::prefetch_connection`] has brought that in; read at
    /// once, the pointer would stall the look-ahead on the connection's
    /// miss.
    fn prefetch_timeline(&self, key: &TupleKey, h: TupleHash) {
        if let Some(Slot::Conn(c)) = self.map.get(h, key) {
            if let Some(k) = c.timeline.next_write_near() {
                prefetch_lines(k);
            }
        }
    }

    /// [`Tracker::push`] with `seg`'s canonical tuple `key` and its hash.
    fn push_keyed(
        &mut self,
        seg: &Segment,
        key: &TupleKey,
        h: TupleHash,
        emit: &mut dyn FnMut(Connection),
    ) {
        if seg.nat_copy {
            // Analysed under its first addresses already: only tshark's
            // numbering counts this tuple.
            match self.map.get_mut(h, key) {
                Some(Slot::Conn(c)) => self.streams.on_segment(&mut c.stream, seg),
                Some(Slot::Attempt(_)) => {}
                None => self.streams.number_only(key, seg),
            }
            return;
        }
        let at = self.stats.clock.observe(seg.ts, seg.frame);
        self.stats.segments = self.stats.segments.saturating_add(1);
        if seg.flags.rst() {
            self.stats.rst_segments = self.stats.rst_segments.saturating_add(1);
        }
        self.finish_due(emit);
        debug_assert_eq!(h, TupleHash::of(key), "a hash of another tuple");
        let segments = self.stats.segments;
        // Most segments belong to an established connection that goes on:
        // one table lookup for them. New tuples, attempts and restarts take
        // the general way below.
        if let Some(Slot::Conn(conn)) = self.map.get_mut(h, key) {
            let goes_on = match &self.zeek_split {
                Some(z) => z.verdict(key, seg, at) == Split::Continue,
                None => !conn.is_new_generation(seg) && !conn_expired(&self.cfg, conn, at),
            };
            if goes_on {
                let ended = feed(conn, seg, at, &self.cfg, &mut self.streams, segments);
                if let Some(z) = &mut self.zeek_split {
                    z.after_conn(key, conn, seg, at);
                }
                if let Some(q) = ended {
                    self.queue(key.clone(), q, segments);
                }
                self.after_segment(emit);
                return;
            }
        }
        let restart = match (&self.zeek_split, self.map.get(h, key)) {
            (Some(z), Some(s)) => match z.verdict(key, seg, at) {
                Split::Continue => None,
                Split::Reused => Some(EndReason::NewGeneration),
                Split::Removed => Some(slot_expiry_reason(s)),
            },
            (_, s) => self.own_restart(s, key, seg, at),
        };
        if let Some(reason) = restart {
            if let Some(old) = self.map.remove(h, key) {
                let old = old.into_connection(key, &self.cfg);
                self.finish_one(key.clone(), old, reason, emit);
            }
        }
        let mut created = false;
        if !self.map.contains_key(h, key) {
            if self.map.len() >= self.cfg.max_open.max(1) {
                self.finish_longest_idle(emit);
            }
            self.stats.connections = self.stats.connections.saturating_add(1);
            *self.open_since.entry(seg.ts.0).or_insert(0) += 1;
            let (src, dst) = (EndpointKey::new(seg.src), EndpointKey::new(seg.dst));
            let fan = (
                self.fan.get(&src).copied().unwrap_or(0),
                self.fan.get(&dst).copied().unwrap_or(0),
            );
            for ep in [src, dst] {
                let n = self.fan.entry(ep).or_insert(0);
                *n = n.saturating_add(1);
            }
            let continues = !self.evicted.is_empty() && self.evicted.remove(key);
            let map = &self.map;
            let mut stream =
                self.streams
                    .start(key, |bare| match map.get(TupleHash::of(bare), bare) {
                        Some(Slot::Conn(c)) => Some(c.stream),
                        Some(Slot::Attempt(a)) => Some(a.stream_track(bare)),
                        None => None,
                    });
            let slot = if Attempt::starts(seg) {
                created = true;
                self.streams.on_segment(&mut stream, seg);
                let mut a = Attempt::new(seg, at);
                a.stream = stream.tcp_stream();
                Slot::Attempt(Box::new(a))
            } else {
                let mut c = Connection::new(seg, at, fan);
                c.continues_evicted = continues;
                c.stream = stream;
                Slot::Conn(Box::new(c))
            };
            self.map.insert_new(h, key.clone(), slot);
        }
        let Some(slot) = self.map.get_mut(h, key) else {
            return;
        };
        if !created {
            if let Slot::Attempt(a) = slot {
                if a.takes(seg, key) {
                    a.add(seg, at);
                } else {
                    *slot = Slot::Conn(Box::new(a.replay(key, &self.cfg)));
                }
            }
            if let Slot::Conn(conn) = slot {
                let ended = feed(conn, seg, at, &self.cfg, &mut self.streams, segments);
                if let Some(z) = &mut self.zeek_split {
                    z.after_conn(key, conn, seg, at);
                }
                if let Some(q) = ended {
                    self.queue(key.clone(), q, segments);
                }
            }
        } else if let (Some(z), Slot::Attempt(a)) = (&mut self.zeek_split, slot) {
            z.after_attempt(key, a, seg, at);
        }
        self.after_segment(emit);
    }
}
