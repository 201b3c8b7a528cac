//! Tracker settings, below every part of the tracker that reads them.

use std::time::Duration;

/// Tracker settings. Timeouts are in capture time, not wall time.
#[derive(Clone, Debug)]
pub struct TrackerConfig {
    /// The longest an ended connection (RST, or FIN both ways) is kept for
    /// late segments (retransmitted FINs, trailing ACKs, further RSTs), and
    /// the grace of every ended connection whose handshake RTT was not
    /// measured.
    pub grace: Duration,
    /// With a measured handshake RTT the grace is `grace_floor` plus
    /// `grace_rtts` RTTs (at most `grace`): the floor covers one
    /// retransmission timeout (200 ms minimum on Linux, 300 ms on Windows),
    /// the RTTs the final ACK and the segments in flight when the RST left.
    pub grace_floor: Duration,
    pub grace_rtts: u32,
    /// A connection silent this long is finished (and a later segment on its
    /// tuple starts a new one). Long enough that an idle keep-alive
    /// connection reused later (the stale-reuse RST case) stays one
    /// connection.
    pub idle_timeout: Duration,
    /// A connection attempt the responder never answered is finished after
    /// this much silence (Linux gives up on SYN retries after ~127 s).
    pub attempt_timeout: Duration,
    pub timeline_head: usize,
    pub timeline_tail: usize,
    pub timeline_key: usize,
    /// Most connections tracked at once (`--max-connections`); beyond it the
    /// longest-idle connections are finished early (counted in
    /// `TrackerStats::finished_early`), so a SYN flood of millions of
    /// attempts cannot exhaust memory.
    pub max_open: usize,
    /// Split connections where Zeek starts a new conn.log record
    /// (`flows --zeek-split`) instead of by rstscope's own rules.
    pub zeek_split: bool,
    /// Table entries from which the tracker fetches each segment's entry
    /// and connection a few segments ahead ([`DEFAULT_LOOK_AHEAD_FROM`]).
    /// Changes only the speed, never a result.
    pub look_ahead_from: usize,
}

/// Default for [`TrackerConfig::look_ahead_from`]. Below it the connections
/// stay in the cache, so the fetches would find them there and their
/// lookups (6 to 8 % of the tracking thread's instructions) would be all
/// they add. Measured with `examples/shards --look-ahead-from`
/// (`bench/PROFILE.md`, tenth pass): skipping them tracks 10-13 % faster
/// with 3 700 to 12 000 entries at the peak; fetching ahead is 10 % faster
/// with 22 000 and 1.4x faster with 56 000.
pub const DEFAULT_LOOK_AHEAD_FROM: usize = 16_384;

/// Default for [`TrackerConfig::max_open`]: five times the 100 000 open at
/// once of the benchmark's busiest capture (whose open set, attempts and
/// grace included, peaks near 220 000); a 5-million-attempt SYN flood stays
/// near 200 MB at this limit, its SYN-only attempts being kept compact.
pub const DEFAULT_MAX_OPEN: usize = 500_000;

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            grace: Duration::from_secs(2),
            grace_floor: Duration::from_millis(300),
            grace_rtts: 4,
            idle_timeout: Duration::from_secs(3600),
            attempt_timeout: Duration::from_secs(180),
            timeline_head: 16,
            timeline_tail: 16,
            timeline_key: 8,
            max_open: DEFAULT_MAX_OPEN,
            zeek_split: false,
            look_ahead_from: DEFAULT_LOOK_AHEAD_FROM,
        }
    }
}

impl TrackerConfig {
    /// Keeps no timeline: for outputs that never show one (`flows`, whose
    /// rows are the connection's facts), which saves the tracker a third of
    /// its memory and a write per segment.
    pub fn without_timelines(self) -> Self {
        TrackerConfig {
            timeline_head: 0,
            timeline_tail: 0,
            timeline_key: 0,
            ..self
        }
    }
}

pub(super) fn ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}
