//! What the findings keep while rows stream past: a small fixed tally per
//! server, time series and examples for the few servers with the most
//! trouble, and bursts of endings per server and per client host.

use std::net::IpAddr;

use crate::diagnose::{Flow, Outcome};

use super::class::{Class, CLASSES};
use super::key::ServerKey;
use super::series::Series;

/// One kept example connection: its row, the variant it shows and its
/// rendered timeline.
#[derive(Clone, Debug)]
pub struct Example {
    pub variant: &'static str,
    pub flow: Flow,
    pub timeline: Rendered,
}

/// An example's timeline as the output draws it: the annotated text, and
/// its segments as values for ladder diagrams. Made by the output (the
/// engine only decides which connections are examples).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rendered {
    pub text: String,
    pub segments: Vec<serde_json::Value>,
}

/// A short burst of endings: consecutive events at most `gap` apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Burst {
    pub start: i64,
    /// Ns from start to the last event (a burst lasts at most 1 s).
    pub span: u32,
    pub count: u32,
    /// Members by kind: for a server, [post-handshake-rst, FIN]; for a
    /// client host, [FIN, RST].
    pub by: [u32; 2],
}

/// Longest a burst may last, whatever its gaps.
pub const BURST_MAX_SPAN_NS: i64 = 1_000_000_000;

impl Burst {
    pub fn end(&self) -> i64 {
        self.start.saturating_add(i64::from(self.span))
    }

    /// Adds an event at `t` of kind `k`; returns false (and changes nothing)
    /// when `t` is not part of this burst.
    pub fn join(&mut self, t: i64, k: usize, gap: i64) -> bool {
        let k = k.min(1);
        if self.count == 0 {
            *self = Burst {
                start: t,
                span: 0,
                count: 1,
                by: [0; 2],
            };
            self.by[k] = 1;
            return true;
        }
        let (start, end) = (self.start.min(t), self.end().max(t));
        if t < self.start.saturating_sub(gap)
            || t > self.end().saturating_add(gap)
            || end.saturating_sub(start) > BURST_MAX_SPAN_NS
        {
            return false;
        }
        self.start = start;
        self.span = end.saturating_sub(start) as u32;
        self.count = self.count.saturating_add(1);
        self.by[k] = self.by[k].saturating_add(1);
        true
    }
}

/// A current burst and the largest one so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bursts {
    pub cur: Burst,
    pub best: Burst,
}

impl Bursts {
    /// Adds an event; returns true when it started a new current burst.
    pub fn add(&mut self, t: i64, k: usize, gap: i64) -> bool {
        if self.cur.join(t, k, gap) {
            return self.cur.count == 1;
        }
        self.close();
        self.cur = Burst::default();
        self.cur.join(t, k, gap);
        true
    }

    /// Keeps the current burst if it is the largest.
    pub fn close(&mut self) {
        if self.cur.count > self.best.count {
            self.best = self.cur;
        }
    }

    pub fn largest(&self) -> Burst {
        if self.cur.count > self.best.count {
            self.cur
        } else {
            self.best
        }
    }
}

/// Bits of the per-server sketch of distinct sources of failed attempts.
const SOURCE_BITS: usize = 64;

/// The sketch of distinct sources, as words.
pub type Sources = [u64; SOURCE_BITS / 64];

/// `Tally::last_served_ms` when nothing was served.
pub const NO_MS: i32 = i32::MIN;

/// The tally of a server, whole (208 bytes). One connection's fits in a
/// `server::Slot`, a few hundred connections' in a `server::Few`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    pub outcomes: [u32; Outcome::ALL.len()],
    pub classes: [u32; CLASSES],
    /// Handshakes the server's kernel completed (any outcome).
    pub served: u32,
    /// Linear-counting sketch of client addresses of unanswered and
    /// half-open attempts.
    pub sources: Sources,
    /// Connections whose first RST looks injected, per `SuspectSign`.
    pub suspect: [u32; 2],
    pub lossy: u32,
    /// Connections that resent payload or a FIN after the server had
    /// answered: loss on the path, not a queue (`ConnFacts::resent`).
    pub resent: u32,
    /// First and last trouble, and the latest served handshake's first
    /// segment, in ms from the time axis' origin (servers without details
    /// get their window from the first two).
    pub first_ms: i32,
    pub last_ms: i32,
    /// `NO_MS` for none (an `Option` would cost 4 bytes more).
    pub last_served_ms: i32,
    /// Server RSTs and FINs ending connections it never answered.
    pub listener: Bursts,
    /// Index + 1 of its [`Detail`], 0 for none.
    pub detail: u32,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            outcomes: Default::default(),
            classes: [0; CLASSES],
            served: 0,
            sources: Default::default(),
            suspect: [0; 2],
            lossy: 0,
            resent: 0,
            first_ms: 0,
            last_ms: 0,
            last_served_ms: NO_MS,
            listener: Bursts::default(),
            detail: 0,
        }
    }
}

impl Tally {
    pub fn trouble(&self) -> u32 {
        self.classes.iter().fold(0u32, |a, &b| a.saturating_add(b))
    }

    pub fn see_source(&mut self, addr: &IpAddr) {
        let h = hash_ip(addr) as usize % SOURCE_BITS;
        self.sources[h / 64] |= 1 << (h % 64);
    }

    /// Estimated distinct sources (linear counting).
    pub fn distinct_sources(&self) -> u64 {
        let set: u32 = self.sources.iter().map(|w| w.count_ones()).sum();
        let zeros = SOURCE_BITS as f64 - f64::from(set);
        if zeros < 1.0 {
            // Saturated: at least this many.
            return (SOURCE_BITS as f64 * (SOURCE_BITS as f64).ln()) as u64;
        }
        (-(SOURCE_BITS as f64) * (zeros / SOURCE_BITS as f64).ln()).round() as u64
    }
}

fn hash_ip(addr: &IpAddr) -> u64 {
    let bytes: [u8; 16] = match addr {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    };
    // FNV-1a then a finaliser: stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// Most values kept for the median of stuck durations.
pub const STUCK_SAMPLES: usize = 1024;

/// The time series, durations and examples of one of the servers with the
/// most trouble.
#[derive(Clone, Debug)]
pub struct Detail {
    pub server: ServerKey,
    pub classes: Vec<Series>,
    pub served: Series,
    pub all: Series,
    /// Sum of handshake RTTs (us, saturating) of the served handshakes.
    pub rtt_us: Series,
    /// First and last event (ns) per class; `i64::MAX, i64::MIN` if none.
    pub span: [(i64, i64); CLASSES],
    /// CLOSE_WAIT durations (ns): min, max, and the first samples.
    pub stuck: Vec<i64>,
    pub stuck_min: i64,
    pub stuck_max: i64,
    /// Server FINs that finally closed CLOSE_WAIT connections.
    pub released: Bursts,
    /// log2 of response times in us, for the server's baseline.
    pub response_log2: [u32; 32],
    pub examples: Vec<Example>,
    /// An example from the listener burst in progress and from the
    /// largest one.
    pub burst_example: Option<Example>,
    pub best_burst_example: Option<Example>,
}

impl Detail {
    pub fn new(server: ServerKey) -> Self {
        Detail {
            server,
            classes: vec![Series::default(); CLASSES],
            served: Series::default(),
            all: Series::default(),
            rtt_us: Series::default(),
            span: [(i64::MAX, i64::MIN); CLASSES],
            stuck: Vec::new(),
            stuck_min: i64::MAX,
            stuck_max: i64::MIN,
            released: Bursts::default(),
            response_log2: [0; 32],
            examples: Vec::new(),
            burst_example: None,
            best_burst_example: None,
        }
    }

    pub fn halve(&mut self) {
        for s in &mut self.classes {
            s.halve();
        }
        self.served.halve();
        self.all.halve();
        self.rtt_us.halve();
    }

    pub fn has_example(&self, class: Class) -> bool {
        self.examples.iter().any(|e| e.variant == class.variant())
    }

    /// The median bucket of response times (log2 us), if any.
    pub fn response_median_log2(&self) -> Option<usize> {
        let n: u64 = self.response_log2.iter().map(|&c| u64::from(c)).sum();
        let mut acc = 0u64;
        for (k, &c) in self.response_log2.iter().enumerate() {
            acc += u64::from(c);
            if n > 0 && acc * 2 >= n {
                return Some(k);
            }
        }
        None
    }

    /// Median of the kept stuck durations.
    pub fn stuck_median(&self) -> Option<i64> {
        if self.stuck.is_empty() {
            return None;
        }
        let mut v = self.stuck.clone();
        v.sort_unstable();
        Some(v[v.len() / 2])
    }
}

/// A client host's endings of established connections.
#[derive(Clone, Debug, Default)]
pub struct ClientHost {
    pub bursts: Bursts,
    /// The server of the current and of the largest burst, when all its
    /// members went to one server; `None` when they were spread.
    pub cur_server: Option<ServerKey>,
    pub cur_mixed: bool,
    pub best_server: Option<ServerKey>,
    pub best_mixed: bool,
    pub cur_examples: Vec<Example>,
    pub best_examples: Vec<Example>,
}
