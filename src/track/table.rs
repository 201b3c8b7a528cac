//! The connection table: keys each segment to its connection, finishes
//! connections when they end, expire or are evicted, and hands them on.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;

use crate::wire::{Segment, Timestamp};

use super::attempt::Attempt;
use super::config::{ns, TrackerConfig};
use super::connection::Connection;
use super::key::{EndpointKey, TupleKey};

/// What the table holds per tuple.
#[derive(Debug)]
pub(super) enum Slot {
    Attempt(Box<Attempt>),
    Conn(Box<Connection>),
}

impl Slot {
    pub(super) fn first_frame(&self) -> u64 {
        match self {
            Slot::Attempt(a) => a.first.frame,
            Slot::Conn(c) => c.first_frame,
        }
    }

    pub(super) fn last_time(&self) -> Timestamp {
        match self {
            Slot::Attempt(a) => a.last_time(),
            Slot::Conn(c) => c.last_time,
        }
    }

    pub(super) fn into_connection(self, key: &TupleKey, cfg: &TrackerConfig) -> Connection {
        match self {
            Slot::Attempt(a) => a.replay(key, cfg),
            Slot::Conn(c) => *c,
        }
    }
}

/// How long an ended connection waits for late segments: a few of its round
/// trips plus one retransmission timeout, at most `grace`.
pub(super) fn grace_ns(cfg: &TrackerConfig, c: &Connection) -> i64 {
    let max = ns(cfg.grace);
    match c.handshake_rtt_ns() {
        Some(rtt) => ns(cfg.grace_floor)
            .saturating_add(rtt.saturating_mul(i64::from(cfg.grace_rtts)))
            .min(max),
        None => max,
    }
}

/// When an ended connection's grace runs out if nothing more arrives.
pub(super) fn deadline(cfg: &TrackerConfig, c: &Connection) -> i64 {
    let end = c.ended_at.map_or(c.last_time.0, |t| t.0);
    end.max(c.last_time.0).saturating_add(grace_ns(cfg, c))
}

/// Counters over everything the tracker saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackerStats {
    pub connections: u64,
    pub segments: u64,
    pub rst_segments: u64,
    /// ACKs covering sequence space never captured, summed over connections.
    pub acked_unseen: u64,
    /// Most connections open at once.
    pub peak_open: usize,
    /// Connections finished before their timeout because `max_open` were
    /// already open (the longest idle go first).
    pub finished_early: u64,
}

/// An ended connection's grace deadline: (capture time in ns, first frame
/// of the connection, its tuple). The first frame tells a later generation
/// of the tuple from the one that ended.
pub(super) type Due = Reverse<(i64, u64, TupleKey)>;

/// Connections keyed by canonical 4-tuple.
///
/// Connections are emitted (finished) in this order, which depends only on
/// the input: (1) at a segment, ended connections whose grace ran out by
/// that segment's time, by first frame; then the previous generation of the
/// segment's own tuple if the segment starts a new one; then, if the open
/// limit is reached, the longest-idle connection; (2) at a sweep, idle
/// connections past their timeout, by first frame; (3) at the end, all
/// others, by first frame.
pub struct Tracker {
    pub(super) cfg: TrackerConfig,
    /// Boxed so that the table's spare capacity costs 16 bytes per slot
    /// (key and pointer), not a whole connection.
    pub(super) map: FxHashMap<TupleKey, Slot>,
    pub(super) now: Timestamp,
    pub(super) last_sweep: Timestamp,
    pub(super) since_sweep: u64,
    pub(super) stats: TrackerStats,
    /// Connections each endpoint took part in, for inferring the server of a
    /// connection seen mid-stream. Endpoints seen once (ephemeral client
    /// ports) are pruned when the table outgrows the open connections by
    /// 65 536, so this stays near the number of servers plus open clients.
    pub(super) fan: FxHashMap<EndpointKey, u32>,
    /// Fan table size that triggers the next pruning.
    pub(super) fan_limit: usize,
    /// Grace deadlines of ended connections, earliest first: checked at
    /// every segment, so an ended connection is freed as soon as its grace
    /// runs out instead of at the next sweep.
    pub(super) due: BinaryHeap<Due>,
    /// Candidates for finishing early when `max_open` is reached: the
    /// longest-idle connections at the last scan, as (last time, first
    /// frame, tuple), the oldest last.
    pub(super) victims: Vec<(i64, u64, TupleKey)>,

    /// First times of the connections open now (a multiset, nanoseconds ->
    /// how many): the earliest is the watermark below which no row can
    /// still appear, so outputs may release time-ordered rows.
    pub(super) open_since: std::collections::BTreeMap<i64, u32>,
}

/// Fan table entries allowed beyond the open connections before pruning.
pub(super) const FAN_SLACK: usize = 65_536;

/// [`Tracker::expired`], as a function of the configuration alone so the
/// per-segment path can call it while it holds the connection mutably.
pub(super) fn conn_expired(cfg: &TrackerConfig, c: &Connection, now: Timestamp) -> bool {
    let idle = now.0.saturating_sub(c.last_time.0);
    if let Some(end) = c.ended_at {
        let grace = grace_ns(cfg, c);
        return now.0.saturating_sub(end.0) >= grace && idle >= grace;
    }
    let attempt = !c.ep[1].seen() || !c.ep[0].seen();
    let limit = if attempt {
        cfg.attempt_timeout
    } else {
        cfg.idle_timeout
    };
    idle >= ns(limit)
}

impl Tracker {
    pub fn new(cfg: TrackerConfig) -> Self {
        Tracker {
            cfg,
            map: FxHashMap::default(),
            now: Timestamp(i64::MIN),
            last_sweep: Timestamp(i64::MIN),
            since_sweep: 0,
            stats: TrackerStats::default(),
            fan: FxHashMap::default(),
            fan_limit: FAN_SLACK,
            due: BinaryHeap::new(),
            victims: Vec::new(),
            open_since: std::collections::BTreeMap::new(),
        }
    }

    /// The earliest first time of the connections still open (None when
    /// none is): every connection finished later starts at or after it,
    /// as long as the capture's clock does not go backwards.
    pub fn watermark(&self) -> Option<Timestamp> {
        self.open_since.keys().next().map(|&ns| Timestamp(ns))
    }

    pub fn stats(&self) -> TrackerStats {
        self.stats
    }

    pub fn open_connections(&self) -> usize {
        self.map.len()
    }

    /// Feeds one segment; finished connections go to `emit`.
    pub fn push(&mut self, seg: &Segment, emit: &mut dyn FnMut(Connection)) {
        if seg.ts > self.now {
            self.now = seg.ts;
        }
        self.stats.segments = self.stats.segments.saturating_add(1);
        if seg.flags.rst() {
            self.stats.rst_segments = self.stats.rst_segments.saturating_add(1);
        }
        self.finish_due(emit);
        let key = if seg.src <= seg.dst {
            TupleKey::new(seg.src, seg.dst)
        } else {
            TupleKey::new(seg.dst, seg.src)
        };
        // Most segments belong to an established connection that goes on:
        // one table lookup for them. New tuples, attempts and restarts take
        // the general way below.
        if let Some(Slot::Conn(conn)) = self.map.get_mut(&key) {
            if !conn.is_new_generation(seg) && !conn_expired(&self.cfg, conn, seg.ts) {
                let was_ended = conn.ended();
                conn.push(seg, &self.cfg);
                if !was_ended && conn.ended() {
                    let due = Reverse((deadline(&self.cfg, conn), conn.first_frame, key));
                    self.due.push(due);
                }
                self.after_segment(emit);
                return;
            }
        }
        let restart = match self.map.get(&key) {
            Some(Slot::Conn(c)) => c.is_new_generation(seg) || self.expired(c, seg.ts),
            Some(Slot::Attempt(a)) => {
                a.is_new_generation(seg, &key) || self.attempt_expired(a, seg.ts)
            }
            None => false,
        };
        if restart {
            if let Some(old) = self.map.remove(&key) {
                let mut old = old.into_connection(&key, &self.cfg);
                old.observed_until = old.observed_until.max(seg.ts);
                self.finish_one(old, emit);
            }
        }
        let mut created = false;
        if !self.map.contains_key(&key) {
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
            let slot = if Attempt::starts(seg) {
                created = true;
                Slot::Attempt(Box::new(Attempt::new(seg)))
            } else {
                Slot::Conn(Box::new(Connection::new(seg, fan)))
            };
            self.map.insert(key.clone(), slot);
        }
        let Some(slot) = self.map.get_mut(&key) else {
            return;
        };
        if !created {
            if let Slot::Attempt(a) = slot {
                if a.takes(seg, &key) {
                    a.add(seg);
                } else {
                    *slot = Slot::Conn(Box::new(a.replay(&key, &self.cfg)));
                }
            }
            if let Slot::Conn(conn) = slot {
                let was_ended = conn.ended();
                conn.push(seg, &self.cfg);
                if !was_ended && conn.ended() {
                    let due = Reverse((deadline(&self.cfg, conn), conn.first_frame, key));
                    self.due.push(due);
                }
            }
        }
        self.after_segment(emit);
    }

    /// Bookkeeping after every segment, whichever way it went.
    pub(super) fn after_segment(&mut self, emit: &mut dyn FnMut(Connection)) {
        self.stats.peak_open = self.stats.peak_open.max(self.map.len());
        if self.fan.len() > self.fan_limit {
            self.prune_fan();
        }

        // Idle expiry is amortised: a sweep visits every open connection, so
        // run one only after at least a quarter as many packets as there are
        // open connections, and at most once per second of capture time.
        self.since_sweep = self.since_sweep.saturating_add(1);
        if self.since_sweep.saturating_mul(4) >= self.map.len() as u64
            && self.now.0.saturating_sub(self.last_sweep.0) >= 1_000_000_000
        {
            self.sweep(emit);
        }
    }

    /// Forgets the endpoints seen in one connection only (ephemeral client
    /// ports), so the fan table cannot grow with the capture (a SYN flood
    /// from random ports adds one per attempt). The next pruning waits until
    /// the table has grown by as much again, so its cost is amortised.
    pub(super) fn prune_fan(&mut self) {
        self.fan.retain(|_, n| *n >= 2);
        self.fan.shrink_to(self.fan.len().saturating_mul(2));
        self.fan_limit = self.map.len().max(self.fan.len()).saturating_add(FAN_SLACK);
    }

    /// How long an ended connection waits for late segments: a few of its
    /// round trips plus one retransmission timeout, at most `grace`.
    pub(super) fn expired(&self, c: &Connection, now: Timestamp) -> bool {
        conn_expired(&self.cfg, c, now)
    }

    /// [`Tracker::expired`] for an attempt: never ended, only one side seen.
    pub(super) fn attempt_expired(&self, a: &Attempt, now: Timestamp) -> bool {
        now.0.saturating_sub(a.last_time().0) >= ns(self.cfg.attempt_timeout)
    }

    pub(super) fn slot_expired(&self, s: &Slot, now: Timestamp) -> bool {
        match s {
            Slot::Conn(c) => self.expired(c, now),
            Slot::Attempt(a) => self.attempt_expired(a, now),
        }
    }

    /// Finishes the ended connections whose grace ran out by now.
    pub(super) fn finish_due(&mut self, emit: &mut dyn FnMut(Connection)) {
        let now = self.now;
        let mut done: Vec<(u64, TupleKey, Slot)> = Vec::new();
        while let Some(Reverse((at, first_frame, _))) = self.due.peek() {
            if *at > now.0 {
                break;
            }
            let first_frame = *first_frame;
            let Some(Reverse((_, _, key))) = self.due.pop() else {
                break;
            };
            let Some(s) = self.map.get(&key) else {
                continue;
            };
            if s.first_frame() != first_frame {
                continue;
            }
            if self.slot_expired(s, now) {
                if let Some(s) = self.map.remove(&key) {
                    done.push((first_frame, key, s));
                }
            } else if let Slot::Conn(c) = s {
                // Late segments moved the deadline on.
                let later = deadline(&self.cfg, c);
                if later > now.0 {
                    self.due.push(Reverse((later, first_frame, key)));
                }
            }
        }
        if done.is_empty() {
            return;
        }
        done.sort_by_key(|d| d.0);
        for (_, key, s) in done {
            let mut c = s.into_connection(&key, &self.cfg);
            c.observed_until = c.observed_until.max(now);
            self.finish_one(c, emit);
        }
    }

    /// `max_open` reached: finishes the connection idle the longest. The
    /// candidates come from a scan of the table that keeps the longest-idle
    /// sixteenth, so the scan is paid once per that many connections; a
    /// candidate that saw traffic since is passed over.
    pub(super) fn finish_longest_idle(&mut self, emit: &mut dyn FnMut(Connection)) {
        for _rescan in 0..2 {
            while let Some((last, first_frame, key)) = self.victims.pop() {
                let fresh = self
                    .map
                    .get(&key)
                    .is_some_and(|s| s.first_frame() == first_frame && s.last_time().0 == last);
                if !fresh {
                    continue;
                }
                if let Some(s) = self.map.remove(&key) {
                    let mut c = s.into_connection(&key, &self.cfg);
                    c.observed_until = c.observed_until.max(self.now);
                    self.stats.finished_early = self.stats.finished_early.saturating_add(1);
                    self.finish_one(c, emit);
                    return;
                }
            }
            let want = (self.map.len() / 16).max(1);
            let mut oldest: BinaryHeap<(i64, u64, &TupleKey)> = BinaryHeap::with_capacity(want + 1);
            for (k, s) in &self.map {
                oldest.push((s.last_time().0, s.first_frame(), k));
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

    pub(super) fn sweep(&mut self, emit: &mut dyn FnMut(Connection)) {
        self.since_sweep = 0;
        self.last_sweep = self.now;
        let now = self.now;
        let keys: Vec<TupleKey> = self
            .map
            .iter()
            .filter(|(_, s)| self.slot_expired(s, now))
            .map(|(k, _)| k.clone())
            .collect();
        let mut done: Vec<(u64, TupleKey, Slot)> = keys
            .into_iter()
            .filter_map(|k| self.map.remove(&k).map(|s| (s.first_frame(), k, s)))
            .collect();
        done.sort_by_key(|d| d.0);
        for (_, key, s) in done {
            let mut c = s.into_connection(&key, &self.cfg);
            c.observed_until = c.observed_until.max(now);
            self.finish_one(c, emit);
        }
        if self.fan.len() > self.map.len().saturating_mul(4).saturating_add(FAN_SLACK) {
            self.prune_fan();
        }
        // Give back memory after a burst of connections.
        if self.map.capacity() > 1024 && self.map.capacity() > self.map.len().saturating_mul(4) {
            self.map.shrink_to(self.map.len().saturating_mul(2));
        }
        if self.due.capacity() > 1024 && self.due.capacity() > self.due.len().saturating_mul(4) {
            self.due.shrink_to(self.due.len().saturating_mul(2));
        }
    }

    pub(super) fn finish_one(&mut self, c: Connection, emit: &mut dyn FnMut(Connection)) {
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
        let now = self.now;
        self.due.clear();
        self.fan = FxHashMap::default();
        let mut rest: Vec<(u64, TupleKey, Slot)> = self
            .map
            .drain()
            .map(|(k, s)| (s.first_frame(), k, s))
            .collect();
        rest.sort_by_key(|d| d.0);
        for (_, key, s) in rest {
            let mut c = s.into_connection(&key, &self.cfg);
            c.observed_until = c.observed_until.max(now);
            self.finish_one(c, emit);
        }
        self.stats
    }
}
