//! One direction of a connection: what one endpoint sent and acknowledged.

use std::net::SocketAddr;

use crate::wire::{seq_diff, Timestamp};

use super::maybe::{Maybe, MaybeOrd};
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

/// An endpoint's address in 20 bytes instead of `SocketAddr`'s 32: an
/// address read off the wire has no IPv6 flow label or scope id (decode
/// builds it from the IP and the port), so nothing is lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PackedAddr {
    ip: [u8; 16],
    port: u16,
    v6: bool,
}

impl PackedAddr {
    fn new(a: SocketAddr) -> Self {
        let mut ip = [0u8; 16];
        match a {
            SocketAddr::V4(v4) => {
                ip[..4].copy_from_slice(&v4.ip().octets());
                PackedAddr {
                    ip,
                    port: v4.port(),
                    v6: false,
                }
            }
            SocketAddr::V6(v6) => PackedAddr {
                ip: v6.ip().octets(),
                port: v6.port(),
                v6: true,
            },
        }
    }

    fn get(self) -> SocketAddr {
        if self.v6 {
            SocketAddr::from((self.ip, self.port))
        } else {
            SocketAddr::from(([self.ip[0], self.ip[1], self.ip[2], self.ip[3]], self.port))
        }
    }

    /// Whether `a` is this address, without building a `SocketAddr`.
    fn is(&self, a: &SocketAddr) -> bool {
        match a {
            SocketAddr::V4(v4) => {
                !self.v6 && self.port == v4.port() && self.ip[..4] == v4.ip().octets()
            }
            SocketAddr::V6(v6) => self.v6 && self.port == v6.port() && self.ip == v6.ip().octets(),
        }
    }
}

/// One direction of a connection: what one endpoint sent and acknowledged.
#[derive(Clone, Debug)]
pub struct Endpoint {
    addr: PackedAddr,
    /// ISN from this side's SYN, when captured (`HAS_ISN`).
    isn: u32,
    /// Origin of relative sequence numbers (ISN, or one before the first
    /// byte seen when the SYN was not captured), once set (`HAS_BASE`).
    base: u32,
    /// Reference point for extending 32-bit sequence numbers to i64 relative
    /// ones: relative seqs survive wrap-around as long as successive segments
    /// are within 2^31 of the furthest one seen.
    pub(super) ref_abs: u32,
    pub(super) ref_rel: i64,
    /// Relative sequence number one past the furthest segment sent.
    pub(super) next_rel: i64,
    /// One past the furthest payload byte sent (relative).
    pub(super) payload_end_rel: i64,
    /// Highest ACK this side sent, in the peer's relative space, and raw
    /// (`HAS_HIGHEST_ACK`).
    pub(super) highest_ack_rel: Maybe<i64>,
    highest_ack: u32,
    pub(super) packets: u64,
    /// TCP payload bytes (retransmissions included, as on the wire).
    pub(super) bytes: u64,
    /// The first FIN's facts (a `FinFact` taken apart, so that its
    /// position, saturated at `u32::MAX` as `MaybeOrd`'s are, packs with
    /// the other 4-byte fields), meaningful once `FIN_SEEN`: a flag among
    /// the small fields instead of an `Option`, whose tag would cost 8
    /// bytes.
    fin_ord: u32,
    fin_frame: u64,
    fin_ts: Timestamp,
    fin_at: Timestamp,
    pub(super) rsts: u32,
    /// TTL / hop limit of the latest non-RST segment (`HAS_LAST_TTL`).
    last_ttl: u8,
    /// Last advertised window (raw header value), and whether it came from a
    /// segment where scaling applies (not a SYN: `WINDOW_SCALED`).
    pub(super) window: u16,
    /// Window scale from this side's SYN (`HAS_WSCALE`).
    wscale: u8,
    /// Which of the optional facts above are set (`HAS_ISN`, ...): one
    /// byte instead of a tag and padding each, so the endpoint fits the
    /// connection's size class.
    bits: u8,
    pub(super) last_ts: Maybe<Timestamp>,
    pub(super) last_ord: MaybeOrd,
    pub(super) last_kind: ReplyTo,
    /// Payload bytes sent since the peer last sent payload: after a client's
    /// request, what the server answered (and the client may not have read).
    pub(super) bytes_since_peer_payload: u64,
    /// What loss and reordering left: absent (all zero) until the first.
    loss: Option<Box<Loss>>,

    // Facts for the per-connection fields and the findings, updated in
    // O(1) per segment, allocating only `loss`, once, at the first loss.
    /// Payload sequence space covered: each byte once however often resent
    /// (Zeek's `orig_bytes`). Exact when segments arrive in order, fill
    /// the latest `hole`, or come before everything else captured.
    pub(super) unique_bytes: u64,
    /// Lowest relative payload start seen (0 before any payload).
    pub(super) payload_start_rel: i64,
    /// When this side sent its first payload byte.
    pub(super) first_payload_ts: Maybe<Timestamp>,
    /// Range of TTL / hop limit over this side's non-RST segments: a RST
    /// whose TTL falls outside a constant range came from elsewhere.
    pub(super) ttl_min: u8,
    pub(super) ttl_max: u8,
    /// Ns of silence on the connection before this side's latest segment.
    pub(super) gap_before_last: Maybe<i64>,
}

/// One side's traces of loss and reordering. Most connections have none,
/// and with 100 000 open every byte of the connection counts, so they live
/// out of line, allocated at the first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Loss {
    /// Sequence space the peer ACKed that this side was never seen sending.
    acked_unseen_until: i64,
    /// ACKs from the peer that covered sequence space never captured from
    /// this side (the capture dropped packets).
    gaps: u32,
    /// Data segments that resent sequence space already seen.
    retransmits: u32,
    /// Bytes of this side's sequence space the peer ACKed but the capture
    /// never showed (Zeek's `missed_bytes`, per side).
    missed: u64,
    /// The latest stretch of sequence space a segment jumped over, as
    /// `[start, end)` (empty when `start >= end`): a segment reordered on
    /// the way, or resent after a loss before the capture point, fills it
    /// with bytes seen for the first time. One hole a side keeps this
    /// O(1); a second jump before the first hole fills replaces it.
    hole: (i64, i64),
}

const HAS_ISN: u8 = 1;
const HAS_BASE: u8 = 2;
const HAS_HIGHEST_ACK: u8 = 4;
const HAS_LAST_TTL: u8 = 8;
const HAS_WSCALE: u8 = 16;
const FIN_SEEN: u8 = 32;
const WINDOW_SCALED: u8 = 64;

getters!(Endpoint {
    next_rel: i64,
    payload_end_rel: i64,
    maybe highest_ack_rel: i64,
    packets: u64,
    bytes: u64,
    rsts: u32,
    window: u16,
    maybe last_ts: Timestamp,
    maybe last_ord: u64,
    bytes_since_peer_payload: u64,
    unique_bytes: u64,
    maybe first_payload_ts: Timestamp,
    ttl_min: u8,
    ttl_max: u8,
    maybe gap_before_last: i64,
});

impl Endpoint {
    pub(super) fn new(addr: SocketAddr) -> Self {
        Endpoint {
            addr: PackedAddr::new(addr),
            isn: 0,
            base: 0,
            ref_abs: 0,
            ref_rel: 0,
            next_rel: 0,
            payload_end_rel: 0,
            highest_ack_rel: Maybe::NONE,
            highest_ack: 0,
            packets: 0,
            bytes: 0,
            fin_ord: 0,
            fin_frame: 0,
            fin_ts: Timestamp(0),
            fin_at: Timestamp(0),
            rsts: 0,
            last_ttl: 0,
            window: 0,
            wscale: 0,
            bits: 0,
            last_ts: Maybe::NONE,
            last_ord: MaybeOrd::NONE,
            last_kind: ReplyTo::None,
            bytes_since_peer_payload: 0,
            loss: None,
            unique_bytes: 0,
            payload_start_rel: 0,
            first_payload_ts: Maybe::NONE,
            ttl_min: u8::MAX,
            ttl_max: 0,
            gap_before_last: Maybe::NONE,
        }
    }

    /// Sequence space the peer ACKed that this side was never seen sending.
    pub(super) fn acked_unseen_until(&self) -> i64 {
        self.loss.as_ref().map_or(0, |l| l.acked_unseen_until)
    }

    /// ACKs from the peer that covered sequence space never captured from
    /// this side (the capture dropped packets).
    pub fn gaps(&self) -> u32 {
        self.loss.as_ref().map_or(0, |l| l.gaps)
    }

    /// Bytes of this side's sequence space the peer ACKed but the capture
    /// never showed (Zeek's `missed_bytes`, per side).
    pub fn missed(&self) -> u64 {
        self.loss.as_ref().map_or(0, |l| l.missed)
    }

    /// Data segments that resent sequence space already seen.
    pub fn retransmits(&self) -> u32 {
        self.loss.as_ref().map_or(0, |l| l.retransmits)
    }

    fn hole(&self) -> (i64, i64) {
        self.loss.as_ref().map_or((0, 0), |l| l.hole)
    }

    fn loss_mut(&mut self) -> &mut Loss {
        self.loss.get_or_insert_with(Box::default)
    }

    /// The peer ACKed up to `ack`, beyond anything this side was seen
    /// sending or ACKed unseen before: the capture missed what lies
    /// between.
    pub(super) fn acked_unseen(&mut self, ack: i64) {
        let from = self.next_rel.max(self.acked_unseen_until());
        let loss = self.loss_mut();
        loss.missed = loss
            .missed
            .saturating_add(ack.saturating_sub(from).unsigned_abs());
        loss.acked_unseen_until = ack;
        loss.gaps = loss.gaps.saturating_add(1);
    }

    /// The endpoint's address and port.
    pub fn addr(&self) -> SocketAddr {
        self.addr.get()
    }

    /// Whether `a` is this endpoint's address and port.
    pub(super) fn is_at(&self, a: &SocketAddr) -> bool {
        self.addr.is(a)
    }

    fn has(&self, bit: u8) -> bool {
        self.bits & bit != 0
    }

    fn set(&mut self, bit: u8, on: bool) {
        if on {
            self.bits |= bit;
        } else {
            self.bits &= !bit;
        }
    }

    /// ISN from this side's SYN, when captured.
    pub fn isn(&self) -> Option<u32> {
        self.has(HAS_ISN).then_some(self.isn)
    }

    pub(super) fn set_isn(&mut self, isn: u32) {
        self.isn = isn;
        self.set(HAS_ISN, true);
    }

    /// Origin of relative sequence numbers, once set.
    pub(super) fn base(&self) -> Option<u32> {
        self.has(HAS_BASE).then_some(self.base)
    }

    /// Highest ACK this side sent (raw).
    pub fn highest_ack(&self) -> Option<u32> {
        self.has(HAS_HIGHEST_ACK).then_some(self.highest_ack)
    }

    pub(super) fn set_highest_ack(&mut self, ack: u32) {
        self.highest_ack = ack;
        self.set(HAS_HIGHEST_ACK, true);
    }

    /// TTL / hop limit of the latest non-RST segment.
    pub fn last_ttl(&self) -> Option<u8> {
        self.has(HAS_LAST_TTL).then_some(self.last_ttl)
    }

    pub(super) fn set_last_ttl(&mut self, ttl: u8) {
        self.last_ttl = ttl;
        self.set(HAS_LAST_TTL, true);
    }

    /// Whether the last window came from a segment where scaling applies.
    pub fn window_scaled(&self) -> bool {
        self.has(WINDOW_SCALED)
    }

    pub(super) fn set_window_scaled(&mut self, scaled: bool) {
        self.set(WINDOW_SCALED, scaled);
    }

    /// Window scale from this side's SYN.
    pub fn wscale(&self) -> Option<u8> {
        self.has(HAS_WSCALE).then_some(self.wscale)
    }

    pub(super) fn set_wscale(&mut self, wscale: Option<u8>) {
        self.wscale = wscale.unwrap_or(0);
        self.set(HAS_WSCALE, wscale.is_some());
    }

    /// This side sent a FIN.
    pub(super) fn fin_seen(&self) -> bool {
        self.has(FIN_SEEN)
    }

    pub(super) fn init_base(&mut self, base: u32) {
        self.base = base;
        self.set(HAS_BASE, true);
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
                self.loss_mut().hole = (hi, start);
            }
        }
        if start < lo {
            new += end.min(lo) - start;
            self.payload_start_rel = start;
        }
        // What falls in the hole (always below `hi`) is sequence space seen
        // for the first time.
        let (h0, h1) = self.hole();
        let (f0, f1) = (start.max(h0), end.min(h1));
        let filled = (f1 - f0).max(0);
        if filled > 0 {
            new += filled;
            // Shrink the hole from the side the segment filled; one in the
            // middle keeps the larger remainder.
            self.loss_mut().hole = if f0 == h0 || (f1 != h1 && h1 - f1 > f0 - h0) {
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
            let loss = self.loss_mut();
            loss.retransmits = loss.retransmits.saturating_add(1);
        }
    }

    /// This side's first FIN, when it sent one.
    pub fn fin(&self) -> Option<FinFact> {
        self.fin_seen().then_some(FinFact {
            ord: u64::from(self.fin_ord),
            frame: self.fin_frame,
            ts: self.fin_ts,
            at: self.fin_at,
        })
    }

    pub(super) fn set_fin(&mut self, fact: FinFact) {
        self.fin_ord = u32::try_from(fact.ord).unwrap_or(u32::MAX);
        self.fin_frame = fact.frame;
        self.fin_ts = fact.ts;
        self.fin_at = fact.at;
        self.set(FIN_SEEN, true);
    }

    pub fn seen(&self) -> bool {
        self.packets > 0
    }
}
