//! Folds the same kind of finding on many servers of one port into one
//! `*:PORT` finding listing them, as the servers' findings are made: a port
//! scan of 200 000 targets never holds 200 000 findings at once, only one
//! folded finding per (kind, port) and the servers' names.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;
use serde_json::{json, Map, Value};

use crate::diagnose::Outcome;
use crate::wire::Timestamp;

use super::class::Class;
use super::series::{Grid, Series};
use super::tally::Example;
use super::{Finding, Kind, Window};

/// The same kind on at least this many servers of one port is one finding.
pub(super) const SPREAD_SERVERS: usize = 3;

/// Servers a folded finding names (the first by address); its `servers`
/// fact counts them all. A scan of 200 000 targets names 1 000.
pub(super) const SERVERS_NAMED: usize = 1_000;

/// The port of `ADDR:PORT` / `[ADDR]:PORT`.
fn port_of(server: &str) -> Option<&str> {
    server.rsplit_once(':').map(|(_, p)| p)
}

/// Where a member stands among a group's: most connections first, then by
/// server name; the first one gives the folded finding its cause, checks
/// and facts, and each variant's example comes from the first member that
/// has one.
type Rank = (Reverse<u64>, String);

/// A group of findings of one kind on one port, folded as they come.
#[derive(Default)]
struct Group {
    /// Kept whole until there are [`SPREAD_SERVERS`] of them.
    members: Vec<Finding>,
    folded: Option<Folded>,
}

/// What the folded finding needs from its members.
struct Folded {
    kind: Kind,
    /// The first [`SERVERS_NAMED`] servers by name, and how many there are.
    servers: BTreeSet<String>,
    members: usize,
    count: u64,
    connections: u64,
    start: Timestamp,
    end: Timestamp,
    variants: BTreeMap<&'static str, u64>,
    /// The best-ranked member's own fields.
    best: Rank,
    client: Option<String>,
    peak_at: Timestamp,
    peak_per_s: f64,
    facts: Map<String, Value>,
    cause: String,
    check: Vec<String>,
    outcome: Option<Outcome>,
    /// Per variant: the example of the best-ranked member that had one,
    /// with its place in that member's list.
    examples: BTreeMap<&'static str, (Rank, usize, Example)>,
}

impl Folded {
    fn new(first: &Finding) -> Self {
        Folded {
            kind: first.kind,
            servers: BTreeSet::new(),
            members: 0,
            count: 0,
            connections: 0,
            start: first.window.start,
            end: first.window.end,
            variants: BTreeMap::new(),
            best: (Reverse(0), String::new()),
            client: None,
            peak_at: first.window.peak_at,
            peak_per_s: first.window.peak_per_s,
            facts: Map::new(),
            cause: String::new(),
            check: Vec::new(),
            outcome: None,
            examples: BTreeMap::new(),
        }
    }

    fn fold(&mut self, m: Finding) {
        let rank: Rank = (Reverse(m.count), m.server.clone());
        self.count += m.count;
        self.connections += m.connections;
        self.start = self.start.min(m.window.start);
        self.end = self.end.max(m.window.end);
        for (v, c) in &m.variants {
            *self.variants.entry(v).or_insert(0) += c;
        }
        for (i, e) in m.examples.into_iter().enumerate() {
            let better = self
                .examples
                .get(e.variant)
                .is_none_or(|(r, j, _)| (&rank, i) < (r, *j));
            if better {
                self.examples.insert(e.variant, (rank.clone(), i, e));
            }
        }
        if self.members == 0 || rank < self.best {
            self.best = rank;
            self.client = m.client;
            self.peak_at = m.window.peak_at;
            self.peak_per_s = m.window.peak_per_s;
            self.facts = m.facts;
            self.cause = m.cause;
            self.check = m.check;
            self.outcome = m.outcome;
        }
        self.members += 1;
        self.servers.insert(m.server);
        if self.servers.len() > SERVERS_NAMED {
            self.servers.pop_last();
        }
    }

    fn finish(
        mut self,
        port: &str,
        grid: &Grid,
        (lo, hi): (i64, i64),
        ports: &FxHashMap<u16, Vec<Series>>,
    ) -> Finding {
        let mut window = Window {
            start: self.start,
            end: self.end,
            peak_at: self.peak_at,
            peak_per_s: self.peak_per_s,
        };
        // The chart: the port's series of the classes counted, over every
        // server of the port (when the port's series were kept).
        let mut series = Vec::new();
        if let Some(per_class) = port.parse::<u16>().ok().and_then(|p| ports.get(&p)) {
            series = vec![0u32; (hi - lo + 1).max(0) as usize];
            for c in Class::ALL {
                if self.variants.contains_key(c.variant()) {
                    for (s, n) in series.iter_mut().zip(per_class[c.idx()].over(lo, hi)) {
                        *s = s.saturating_add(n);
                    }
                }
            }
            if let Some((k, n)) = series
                .iter()
                .enumerate()
                .max_by_key(|(k, n)| (**n, usize::MAX - k))
            {
                let bucket_s = grid.size_ns as f64 / 1e9;
                window.peak_at = Timestamp(grid.start_of(lo + k as i64));
                window.peak_per_s = (f64::from(*n) / bucket_s * 100.0).round() / 100.0;
            }
        }
        let mut examples: Vec<(Rank, usize, Example)> = self.examples.into_values().collect();
        examples.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        self.facts.insert("servers".into(), json!(self.members));
        Finding {
            kind: self.kind,
            server: format!("*:{port}"),
            servers: self.servers.into_iter().collect(),
            client: self.client,
            count: self.count,
            connections: self.connections,
            window,
            variants: self.variants,
            facts: self.facts,
            cause: self.cause,
            check: self.check,
            examples: examples.into_iter().map(|(_, _, e)| e).collect(),
            series,
            outcome: self.outcome,
        }
    }
}

/// Findings as they are made, spread ones folded per (kind, port).
#[derive(Default)]
pub(super) struct Spreader {
    groups: BTreeMap<(Kind, String), Group>,
    out: Vec<Finding>,
}

impl Spreader {
    pub(super) fn add(&mut self, f: Finding) {
        let spreadable = !matches!(f.kind, Kind::ClientShutdown | Kind::CaptureLoss)
            && !f.server.starts_with('*');
        let port = match port_of(&f.server) {
            Some(p) if spreadable => p.to_string(),
            _ => {
                self.out.push(f);
                return;
            }
        };
        let g = self.groups.entry((f.kind, port)).or_default();
        match &mut g.folded {
            Some(folded) => folded.fold(f),
            None => {
                g.members.push(f);
                if g.members.len() == SPREAD_SERVERS {
                    let mut folded = Folded::new(&g.members[0]);
                    for m in std::mem::take(&mut g.members) {
                        folded.fold(m);
                    }
                    g.folded = Some(folded);
                }
            }
        }
    }

    /// Every finding: those never folded as they were, then one per
    /// folded (kind, port).
    pub(super) fn finish(
        self,
        grid: &Grid,
        range: (i64, i64),
        ports: &FxHashMap<u16, Vec<Series>>,
    ) -> Vec<Finding> {
        let mut out = self.out;
        for ((_, port), g) in self.groups {
            match g.folded {
                Some(folded) => out.push(folded.finish(&port, grid, range, ports)),
                None => out.extend(g.members),
            }
        }
        out
    }
}
