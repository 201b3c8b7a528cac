//! Rows → findings: what went wrong in the capture as a whole, per server
//! (or service port, or client host) and over time, as `diagnosis.md`
//! defines it.
//!
//! Fed one [`Flow`] at a time, it keeps a small tally per server, time
//! series and examples only for the servers with the most trouble, and
//! bursts of endings; [`Findings::finish`] correlates them (an unanswered
//! SYN to a server that served others in the same window is a full accept
//! queue, not the network) and ranks the findings.
//!
//! Inside: `series`, `class`, `key` → `tally` → `server` → `build` → here.

mod build;
mod class;
mod key;
mod series;
mod server;
mod spread;
mod tally;
mod words;

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::diagnose::{Flow, Outcome};
use crate::wire::Timestamp;

pub use class::{Class, SLOW_RESPONSE_NS};
pub use series::{sparkline, Grid, Series, MAX_BUCKETS};
pub use tally::{Example, Rendered};

use class::{affected_span, class_of, event_time, late_syn, rests_on_rst};
use key::ServerKey;
pub use server::ServerTable;
use server::Slot;
use tally::{ClientHost, Detail, STUCK_SAMPLES};

/// Servers whose time series and examples are kept: more than the report
/// prints (10 findings), so that a server climbing the ranking late still
/// has its story.
pub const MAX_DETAILED: usize = 32;

/// Client hosts whose endings are followed for shutdown bursts; beyond it
/// new hosts are not followed (a SYN flood's sources never get here: only
/// established connections count).
pub const MAX_CLIENT_HOSTS: usize = 16_384;

/// Service ports whose series are kept for findings spread over servers.
pub const MAX_PORTS: usize = 64;

/// Gaps within a burst: a listener's kernel resets its queue within
/// microseconds of each child, but yields the CPU between children on a
/// loaded host (a killed Go server under wrk's load: 4 ms in the middle
/// of one queue); a pool shutting down closes its connections within
/// milliseconds of each other.
pub const LISTENER_GAP_NS: i64 = 5_000_000;
pub const CLIENT_GAP_NS: i64 = 5_000_000;

/// An unanswered SYN this close (ms) after a served handshake's start
/// still counts as "while serving".
pub const SAME_WINDOW_MS: i32 = 1000;

/// Smallest bursts reported.
pub const LISTENER_MIN: u32 = 3;
pub const CLIENT_MIN: u32 = 10;

/// What a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    AcceptQueueFull,
    NotAccepting,
    CloseWaitPileup,
    SlowServer,
    SynFlood,
    Unreachable,
    Refused,
    ListenerClosed,
    ClientShutdown,
    ServerAbort,
    ClientAbort,
    StaleKeepalive,
    InjectedReset,
    CaptureLoss,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::AcceptQueueFull => "accept-queue-full",
            Kind::NotAccepting => "not-accepting",
            Kind::CloseWaitPileup => "close-wait-pileup",
            Kind::SlowServer => "slow-server",
            Kind::SynFlood => "syn-flood",
            Kind::Unreachable => "unreachable",
            Kind::Refused => "refused",
            Kind::ListenerClosed => "listener-closed",
            Kind::ClientShutdown => "client-shutdown",
            Kind::ServerAbort => "server-abort",
            Kind::ClientAbort => "client-abort",
            Kind::StaleKeepalive => "stale-keepalive",
            Kind::InjectedReset => "injected-reset",
            Kind::CaptureLoss => "capture-loss",
        }
    }
}

/// When a finding happened.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Window {
    #[serde(serialize_with = "ser_ts")]
    pub start: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub end: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub peak_at: Timestamp,
    pub peak_per_s: f64,
}

fn ser_ts<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.rfc3339())
}

/// One thing that went wrong (`diagnosis.md`'s finding).
#[derive(Clone, Debug)]
pub struct Finding {
    pub kind: Kind,
    pub server: String,
    pub servers: Vec<String>,
    pub client: Option<String>,
    pub count: u64,
    /// All connections of the server(s) in the window.
    pub connections: u64,
    pub window: Window,
    pub variants: BTreeMap<&'static str, u64>,
    pub facts: serde_json::Map<String, serde_json::Value>,
    pub cause: String,
    pub check: Vec<String>,
    /// One per variant, at most.
    pub examples: Vec<Example>,
    /// Affected connections per bucket over the whole capture's buckets
    /// (empty when the server's series were not kept).
    pub series: Vec<u32>,
    /// The outcome the affected connections have, for the JSON series.
    pub outcome: Option<Outcome>,
}

/// Everything the findings engine concluded.
#[derive(Clone, Debug, Default)]
pub struct Diagnosis {
    /// Ranked: most affected connections first, then most concentrated.
    pub findings: Vec<Finding>,
    pub bucket_ns: i64,
    /// Start of the first bucket, if any connection was seen.
    pub start: Option<Timestamp>,
    pub buckets: usize,
    /// Per server: connections and outcome counts (servers with trouble
    /// first, then by name).
    pub servers: ServerTable,
}

/// One line of the servers table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerRow {
    pub server: String,
    pub connections: u64,
    pub trouble: u64,
    pub outcomes: Vec<(Outcome, u64)>,
}

/// The streaming engine.
#[derive(Default)]
pub struct Findings {
    grid: Grid,
    /// 40 bytes a server while it has had one connection (a port scan's
    /// targets); the table grows by doubling. A tally of a few connections
    /// is boxed in 88 bytes, a whole one in 200.
    servers: FxHashMap<ServerKey, Slot>,
    details: Vec<Detail>,
    /// Lowest trouble among detailed servers at the last scan.
    min_hot: u32,
    clients: FxHashMap<std::net::IpAddr, ClientHost>,
    /// Per service port, per class: the chart of a finding spread over many
    /// servers of the port (the first `MAX_PORTS` ports with trouble).
    ports: FxHashMap<u16, Vec<Series>>,
    suspect_examples: Vec<Example>,
    loss_examples: Vec<Example>,
    total: u64,
}

/// Trouble a server must have beyond the least troubled detailed server
/// to take its place (so two servers do not take turns).
const PROMOTE_MARGIN: u32 = 4;

/// Trouble needed beyond a detailed server's `min` to take its place: any
/// trouble displaces a server that has none (it was detailed only because
/// there was room).
fn margin(min: u32) -> u32 {
    if min == 0 {
        1
    } else {
        PROMOTE_MARGIN
    }
}

impl Findings {
    pub fn new() -> Self {
        Findings::default()
    }

    /// Puts the time axis's origin at `t` (the capture's first segment),
    /// so buckets start where the capture does; only before the first row
    /// (the grid keeps an origin once it has one).
    pub fn anchor(&mut self, t: Timestamp) {
        self.grid.anchor(t.0);
    }

    /// Takes one row; `render` gives its timeline, and is called only for
    /// the connections kept as examples.
    pub fn add(&mut self, flow: &Flow, render: &mut dyn FnMut() -> Rendered) {
        self.total += 1;
        let mut class = class_of(flow);
        // A RST that looks injected says nothing about its supposed
        // sender: the connection counts in `injected-reset` instead.
        if flow.rst_suspect.is_some() && class.is_some_and(rests_on_rst) {
            class = None;
        }
        // Handshakes the server's kernel completed, whatever came after:
        // they show the listener was there and its queue took them.
        let served = flow.handshake_seen;
        let first = flow.first_time.0;
        let late = late_syn(flow, class);
        for at in [event_time(flow, class), first] {
            for _ in 0..self.grid.see(at) {
                for d in &mut self.details {
                    d.halve();
                }
                for p in self.ports.values_mut() {
                    p.iter_mut().for_each(Series::halve);
                }
            }
        }
        let key = ServerKey::of(flow);
        let facts = flow.facts;

        let first_ms = self.grid.ms(first);
        let slot = self.servers.entry(key).or_default();
        // An attempt whose first SYN went unanswered while the server went
        // on serving others (a handshake that started after this attempt's
        // first SYN, less a second) is a dropped SYN, not a dead server.
        // Attempts finish after the handshakes served during them, so those
        // were seen; this connection's own handshake is not counted yet.
        let last_served_ms = slot.last_served_ms();
        let while_serving = last_served_ms != tally::NO_MS
            && last_served_ms >= first_ms.saturating_sub(SAME_WINDOW_MS);
        let class = match class {
            Some(Class::Unanswered) if while_serving => Some(Class::SynDropped),
            _ if late && while_serving => Some(Class::SynDroppedThenAnswered),
            c => c,
        };
        let t = event_time(flow, class);
        let bucket = self.grid.index(t);
        let ms = self.grid.ms(t);
        let served_ms = self.grid.ms(flow.first_time.0);
        let oi = Outcome::ALL
            .iter()
            .position(|o| *o == flow.outcome)
            .unwrap_or(0);
        let (trouble, new_burst) = slot.update(|tally| {
            tally.outcomes[oi] = tally.outcomes[oi].saturating_add(1);
            if served {
                tally.served = tally.served.saturating_add(1);
                tally.last_served_ms = tally.last_served_ms.max(served_ms);
            }
            if let Some(why) = &flow.rst_suspect {
                let k = crate::diagnose::suspect_sign(why).idx();
                tally.suspect[k] = tally.suspect[k].saturating_add(1);
            }
            if facts.gaps > 0 {
                tally.lossy = tally.lossy.saturating_add(1);
            }
            if facts.resent > 0 {
                tally.resent = tally.resent.saturating_add(1);
            }
            if let Some(c) = class {
                tally.classes[c.idx()] = tally.classes[c.idx()].saturating_add(1);
            }
            // The window of a server without series: its classes' trouble
            // and its injected resets.
            if class.is_some() || flow.rst_suspect.is_some() {
                let suspects = tally.suspect.iter().fold(0u32, |a, &b| a.saturating_add(b));
                if tally.trouble().saturating_add(suspects) == 1 {
                    tally.first_ms = ms;
                    tally.last_ms = ms;
                }
                tally.first_ms = tally.first_ms.min(ms);
                tally.last_ms = tally.last_ms.max(ms);
            }
            if let Some(c) = class {
                if matches!(c, Class::Unanswered | Class::SynDropped | Class::HalfOpen) {
                    tally.see_source(&flow.facts.client_ip);
                }
            }
            let mut new_burst = None;
            if let Some(se) = facts.server_ended.filter(|_| flow.rst_suspect.is_none()) {
                let k = usize::from(flow.outcome != Outcome::PostHandshakeRst);
                let before = tally.listener.best;
                let started = tally.listener.add(se.0, k, LISTENER_GAP_NS);
                new_burst = Some((started, before != tally.listener.best));
            }
            (tally.trouble(), new_burst)
        });
        if let Some(c) = class {
            if self.ports.len() < MAX_PORTS || self.ports.contains_key(&flow.server_port) {
                let p = self
                    .ports
                    .entry(flow.server_port)
                    .or_insert_with(|| vec![Series::default(); class::CLASSES]);
                p[c.idx()].add(bucket, 1);
            }
        }
        let interesting = class.is_some() || new_burst.is_some();

        // Every server gets series while there is room, so that the
        // handshakes served before its first trouble are in them.
        let detail = if interesting || self.details.len() < MAX_DETAILED {
            self.detail_for(key, trouble)
        } else {
            self.servers
                .get(&key)
                .and_then(|t| t.detail().checked_sub(1))
        };
        if let Some(di) = detail {
            let d = &mut self.details[di as usize];
            d.all.add(bucket, 1);
            if served {
                // At the handshake, not at the connection's trouble.
                let hb = self.grid.index(first);
                d.served.add(hb, 1);
                if let Some(rtt) = flow.handshake_rtt {
                    d.rtt_us
                        .add(hb, (rtt * 1e6).round().min(u32::MAX as f64) as u32);
                }
            }
            if class.is_none() {
                if let Some(r) = flow.response_time {
                    let us = (r * 1e6).max(1.0) as u64;
                    let k = (63 - us.leading_zeros()) as usize;
                    d.response_log2[k.min(31)] += 1;
                }
            }
            if let Some(c) = class {
                let i = c.idx();
                d.classes[i].add(bucket, 1);
                let (a, b) = affected_span(flow, c, t);
                d.span[i] = (d.span[i].0.min(a), d.span[i].1.max(b));
                if let Some(stuck) = facts.close_wait_ns {
                    d.stuck_min = d.stuck_min.min(stuck);
                    d.stuck_max = d.stuck_max.max(stuck);
                    if d.stuck.len() < STUCK_SAMPLES {
                        d.stuck.push(stuck);
                    }
                    if let Some(sf) = facts.server_fin {
                        d.released.add(sf.0, 0, 1_000_000);
                    }
                }
                if !d.has_example(c) {
                    d.examples.push(Example {
                        variant: c.variant(),
                        flow: flow.clone(),
                        timeline: render(),
                    });
                }
            }
            if let Some((started, cur_became_best)) = new_burst {
                if cur_became_best {
                    d.best_burst_example = d.burst_example.take();
                }
                if started {
                    d.burst_example = Some(Example {
                        variant: "burst",
                        flow: flow.clone(),
                        timeline: render(),
                    });
                }
            }
        }

        if flow.rst_suspect.is_some() && self.suspect_examples.len() < 3 {
            self.suspect_examples.push(Example {
                variant: "suspect",
                flow: flow.clone(),
                timeline: render(),
            });
        }
        if facts.gaps > 0 && self.loss_examples.is_empty() {
            self.loss_examples.push(Example {
                variant: "gap",
                flow: flow.clone(),
                timeline: render(),
            });
        }
        // A client ending a connection whose server then sat in
        // CLOSE_WAIT is the pile-up's story, not a client shutdown's; nor
        // is a RST that looks injected the client's doing.
        let stuck = matches!(
            class,
            Some(Class::RequestUnanswered | Class::AnsweredNotClosed)
        );
        let injected = flow.rst_suspect.is_some() && flow.rst_by.is_some();
        if let Some(ce) = facts.client_ended.filter(|_| !stuck && !injected) {
            self.client_ended(flow, ce.0, key, render);
        }
    }

    /// The detail index of `key`'s server, giving it one if it now has
    /// more trouble than the least troubled detailed server.
    fn detail_for(&mut self, key: ServerKey, trouble: u32) -> Option<u32> {
        let have = self.servers.get(&key).map_or(0, Slot::detail);
        if have > 0 {
            return Some(have - 1);
        }
        if self.details.len() < MAX_DETAILED {
            self.details.push(Detail::new(key));
            let idx = self.details.len() as u32;
            if let Some(t) = self.servers.get_mut(&key) {
                t.set_detail(idx);
            }
            return Some(idx - 1);
        }
        if trouble < self.min_hot.saturating_add(margin(self.min_hot)) {
            return None;
        }
        // Rescan: the cached minimum only ever grows stale downwards.
        let mut victim = None;
        let mut min = u32::MAX;
        for (i, d) in self.details.iter().enumerate() {
            let tr = self.servers.get(&d.server).map_or(0, Slot::trouble);
            if tr < min {
                min = tr;
                victim = Some(i);
            }
        }
        self.min_hot = min;
        let i = victim?;
        if trouble < min.saturating_add(margin(min)) {
            return None;
        }
        let old = std::mem::replace(&mut self.details[i], Detail::new(key));
        if let Some(t) = self.servers.get_mut(&old.server) {
            t.set_detail(0);
        }
        if let Some(t) = self.servers.get_mut(&key) {
            t.set_detail(i as u32 + 1);
        }
        Some(i as u32)
    }

    fn client_ended(
        &mut self,
        flow: &Flow,
        t: i64,
        server: ServerKey,
        render: &mut dyn FnMut() -> Rendered,
    ) {
        let ip = flow.facts.client_ip;
        if !self.clients.contains_key(&ip) && self.clients.len() >= MAX_CLIENT_HOSTS {
            return;
        }
        let h = self.clients.entry(ip).or_default();
        let k = usize::from(flow.rst_by.is_some());
        let before = h.bursts.best;
        let started = h.bursts.add(t, k, CLIENT_GAP_NS);
        if before != h.bursts.best {
            h.best_server = h.cur_server.take();
            h.best_mixed = h.cur_mixed;
            h.best_examples = std::mem::take(&mut h.cur_examples);
        }
        if started {
            h.cur_server = Some(server);
            h.cur_mixed = false;
            h.cur_examples.clear();
        } else if h.cur_server != Some(server) {
            h.cur_mixed = true;
        }
        // Examples only once the burst looks like one, one per ending kind;
        // the rarer RST (the connection with unread data) from the second
        // ending on.
        let (variant, from) = if k == 1 {
            ("rst", 2)
        } else {
            ("fin", CLIENT_MIN / 2)
        };
        if h.bursts.cur.count >= from && !h.cur_examples.iter().any(|e| e.variant == variant) {
            h.cur_examples.push(Example {
                variant,
                flow: flow.clone(),
                timeline: render(),
            });
        }
    }

    /// Correlates and ranks everything seen.
    pub fn finish(self) -> Diagnosis {
        build::build(self)
    }
}

#[cfg(test)]
mod tests;
