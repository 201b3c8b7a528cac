//! One direction of a connection: what one endpoint sent and acknowledged.

use std::net::SocketAddr;

use crate::wire::{seq_diff, Timestamp};

use super::maybe::Maybe;
use super::side::ReplyTo;

/// First FIN sent by one side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FinFact {
    pub(super) ord: u64,
    pub(super) frame: u64,
    pub(super) ts: Timestamp,
    /// Analysis time of the FIN (see `wire::Clock`).
    pub(super) at: Timestamp,
}

getters!(FinFact {
    ord: u64,
    frame: u64,
    ts: Timestamp,
    at: Timestamp,
});

/// One direction of a connection: what one endpoint sent and acknowledged.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub(super) addr: SocketAddr,
    /// ISN from this side's SYN, when captured.
    pub(super) isn: Option<u32>,
    /// Origin of relative sequence numbers (ISN, or one before the first
    /// byte seen when the SYN was not captured).
    pub(super) base: Option<u32>,
    /// Reference point for extending 32-bit sequence numbers to i64 relative
    /// ones: relative seqs survive wrap-around as long as successive segments
    /// are within 2^31 of the furthest one seen.
    pub(super) ref_abs: u32,
    pub(super) ref_rel: i64,
    /// Relative sequence number one past the furthest segment sent.
    pub(super) next_rel: i64,
    /// One past the furthest payload byte sent (relative).
    pub(super) payload_end_rel: i64,
    /// Highest ACK this side sent, in the peer's relative space, and raw.
    pub(super) highest_ack_rel: Maybe<i64>,
    pub(super) highest_ack: Option<u32>,
    pub(super) packets: u64,
    /// TCP payload bytes (retransmissions included, as on the wire).
    pub(super) bytes: u64,
    /// The first FIN's facts, meaningful once `fin_seen`: a flag among the
    /// small fields instead of an `Option`, whose tag would cost 8 bytes.
    pub(super) fin_fact: FinFact,
    pub(super) fin_seen: bool,
    pub(super) rsts: u32,
    /// TTL / hop limit of the latest non-RST segment.
    pub(super) last_ttl: Option<u8>,
    /// Last advertised window (raw header value), and whether it came from a
    /// segment where scaling applies (not a SYN).
    pub(super) window: u16,
    pub(super) window_scaled: bool,
    pub(super) wscale: Option<u8>,
    pub(super) last_ts: Maybe<Timestamp>,
    pub(super) last_ord: Maybe<u64>,
    pub(super) last_kind: ReplyTo,
    /// Payload bytes sent since the peer last sent payload: after a client's
    /// request, what the server answered (and the client may not have read).
    pub(super) bytes_since_peer_payload: u64,
    /// Sequence space the peer ACKed that this side was never seen sending.
    pub(super) acked_unseen_until: i64,
    /// ACKs from the peer that covered sequence space never captured from
    /// this side (the capture dropped packets).
    pub(super) gaps: u32,
    /// Bytes of this side's sequence space the peer ACKed but the capture
    /// never showed (Zeek's `missed_bytes`, per side).
    pub(super) missed: u64,

    // Facts for the per-connection fields and the findings, updated in
    // O(1) per segment without allocating.
    /// Payload sequence space covered: each byte once however often resent
    /// (Zeek's `orig_bytes`). Exact when segments arrive in order, fill
    /// the latest `hole`, or come before everything else captured.
    pub(super) unique_bytes: u64,
    /// Lowest relative payload start seen (0 before any payload).
    pub(super) payload_start_rel: i64,
    /// The latest stretch of sequence space a segment jumped over, as
    /// `[start, end)` (empty when `start >= end`): a segment reordered on
    /// the way, or resent after a loss before the capture point, fills it
    /// with bytes seen for the first time. One hole a side keeps this
    /// O(1); a second jump before the first hole fills replaces it.
    pub(super) hole: (i64, i64),
    /// Data segments that resent sequence space already seen.
    pub(super) retransmits: u32,
    /// When this side sent its first payload byte.
    pub(super) first_payload_ts: Maybe<Timestamp>,
    /// Range of TTL / hop limit over this side's non-RST segments: a RST
    /// whose TTL falls outside a constant range came from elsewhere.
    pub(super) ttl_min: u8,
    pub(super) ttl_max: u8,
    /// Ns of silence on the connection before this side's latest segment.
    pub(super) gap_before_last: Maybe<i64>,
}

getters!(Endpoint {
    addr: SocketAddr,
    isn: Option<u32>,
    next_rel: i64,
    payload_end_rel: i64,
    maybe highest_ack_rel: i64,
    highest_ack: Option<u32>,
    packets: u64,
    bytes: u64,
    rsts: u32,
    last_ttl: Option<u8>,
    window: u16,
    window_scaled: bool,
    wscale: Option<u8>,
    maybe last_ts: Timestamp,
    maybe last_ord: u64,
    bytes_since_peer_payload: u64,
    gaps: u32,
    missed: u64,
    unique_bytes: u64,
    retransmits: u32,
    maybe first_payload_ts: Timestamp,
    ttl_min: u8,
    ttl_max: u8,
    maybe gap_before_last: i64,
});

impl Endpoint {
    pub(super) fn new(addr: SocketAddr) -> Self {
        Endpoint {
            addr,
            isn: None,
            base: None,
            ref_abs: 0,
            ref_rel: 0,
            next_rel: 0,
            payload_end_rel: 0,
            highest_ack_rel: Maybe::NONE,
            highest_ack: None,
            packets: 0,
            bytes: 0,
            fin_fact: FinFact::default(),
            fin_seen: false,
            rsts: 0,
            last_ttl: None,
            window: 0,
            window_scaled: false,
            wscale: None,
            last_ts: Maybe::NONE,
            last_ord: Maybe::NONE,
            last_kind: ReplyTo::None,
            bytes_since_peer_payload: 0,
            acked_unseen_until: 0,
            gaps: 0,
            missed: 0,
            unique_bytes: 0,
            payload_start_rel: 0,
            hole: (0, 0),
            retransmits: 0,
            first_payload_ts: Maybe::NONE,
            ttl_min: u8::MAX,
            ttl_max: 0,
            gap_before_last: Maybe::NONE,
        }
    }

    pub(super) fn init_base(&mut self, base: u32) {
        self.base = Some(base);
        self.ref_abs = base;
        self.ref_rel = 0;
    }

    /// Relative position of `seq` in this side's sequence space.
    pub fn rel(&self, seq: u32) -> i64 {
        self.ref_rel.saturating_add(seq_diff(seq, self.ref_abs))
    }

    pub(super) fn advance_ref(&mut self, seq: u32, rel: i64) {
        if rel > self.ref_rel {
            self.ref_abs = seq;
            self.ref_rel = rel;
        }
    }

    /// Counts one payload segment covering `[start, end)` (relative): new
    /// sequence space adds to `unique_bytes`, overlap with what was already
    /// seen makes it a retransmission (a 1-byte keep-alive probe just below
    /// the furthest byte is not one).
    pub(super) fn count_payload(&mut self, start: i64, end: i64, ts: Timestamp) {
        if self.first_payload_ts.is_none() {
            self.first_payload_ts = Maybe::some(ts);
            self.payload_start_rel = start;
            self.unique_bytes = end.saturating_sub(start).max(0) as u64;
            return;
        }
        let (lo, hi) = (self.payload_start_rel, self.payload_end_rel);
        let mut new = 0i64;
        if end > hi {
            new += end - start.max(hi);
            if start > hi {
                self.hole = (hi, start);
            }
        }
        if start < lo {
            new += end.min(lo) - start;
            self.payload_start_rel = start;
        }
        // What falls in the hole (always below `hi`) is sequence space seen
        // for the first time.
        let (h0, h1) = self.hole;
        let (f0, f1) = (start.max(h0), end.min(h1));
        let filled = (f1 - f0).max(0);
        if filled > 0 {
            new += filled;
            // Shrink the hole from the side the segment filled; one in the
            // middle keeps the larger remainder.
            self.hole = if f0 == h0 || (f1 != h1 && h1 - f1 > f0 - h0) {
                (f1, h1)
            } else {
                (h0, f0)
            };
        }
        self.unique_bytes = self.unique_bytes.saturating_add(new.max(0) as u64);
        let keepalive = end - start == 1 && end == hi;
        // A segment below the furthest byte counts as resent even when it
        // fills the hole, as Zeek's `t`: the wire cannot tell a segment
        // reordered on the way from one resent after a loss upstream.
        if start < hi && end > lo && !keepalive {
            self.retransmits = self.retransmits.saturating_add(1);
        }
    }

    /// This side's first FIN, when it sent one.
    pub fn fin(&self) -> Option<FinFact> {
        self.fin_seen.then_some(self.fin_fact)
    }

    pub(super) fn set_fin(&mut self, fact: FinFact) {
        self.fin_fact = fact;
        self.fin_seen = true;
    }

    pub fn seen(&self) -> bool {
        self.packets > 0
    }
}
