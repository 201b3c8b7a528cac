//! Connection tracking: segments → connections.
//!
//! A [`Tracker`] keys connections by their canonical 4-tuple and feeds each
//! segment to its [`Connection`], which keeps per-direction TCP state (the
//! facts classification needs, not a full TCP stack), a bounded timeline and a
//! snapshot of the connection at its first RST. Finished connections are
//! handed to a callback and freed, so memory follows the number of
//! connections open at once, not the length of the capture.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use rustc_hash::FxHashMap;

use crate::segment::{seq_diff, Flags, Segment, Timestamp};

/// Which end of the connection a segment came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    Client,
    Server,
}

impl Side {
    pub fn idx(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }
    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// What kind of segment a RST could have been answering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplyTo {
    Data,
    Fin,
    Ack,
    Syn,
    SynAck,
    None,
}

impl ReplyTo {
    pub fn name(self) -> &'static str {
        match self {
            ReplyTo::Data => "data",
            ReplyTo::Fin => "fin",
            ReplyTo::Ack => "ack",
            ReplyTo::Syn => "syn",
            ReplyTo::SynAck => "syn-ack",
            ReplyTo::None => "none",
        }
    }

    fn of(seg: &Segment) -> ReplyTo {
        let f = seg.flags;
        if f.rst() {
            ReplyTo::None
        } else if f.syn() && f.ack() {
            ReplyTo::SynAck
        } else if f.syn() {
            ReplyTo::Syn
        } else if f.fin() {
            ReplyTo::Fin
        } else if seg.payload_len > 0 {
            ReplyTo::Data
        } else if f.ack() {
            ReplyTo::Ack
        } else {
            ReplyTo::None
        }
    }
}

/// Zeek's TCP endpoint states (`TCP_ENDPOINT_*`), kept only to compute
/// `zeek_state` the way Zeek's `conn_state()` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ZeekState {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

/// Per-endpoint bookkeeping for Zeek's `history` letters.
#[derive(Clone, Debug, Default)]
struct ZeekEndpoint {
    state: ZeekState,
    prev_state: ZeekState,
    /// Letters already recorded once (bit per letter kind).
    seen: u16,
    /// Relative sequence number of the last SYN, FIN and RST sent, or
    /// [`NO_SEQ`] (relative numbers never go below -2^31).
    last_syn: i64,
    last_fin: i64,
    last_rst: i64,
    /// Retransmissions and zero windows; the letter is recorded when the
    /// count is a power of ten (the capture gaps are [`Endpoint::gaps`]).
    rxmit: u32,
    zero_win: u32,
}

/// "No such segment yet" for [`ZeekEndpoint`]'s sequence numbers.
const NO_SEQ: i64 = i64::MIN;

/// Zeek's logarithmic letters: recorded at the 1st, 10th, 100th...
/// occurrence.
fn log_letter_due(count: u32) -> bool {
    let mut n = count;
    while n >= 10 && n % 10 == 0 {
        n /= 10;
    }
    n == 1
}

impl ZeekEndpoint {
    fn set_state(&mut self, s: ZeekState) {
        self.prev_state = self.state;
        self.state = s;
    }
}

const HIST_SYN: u16 = 1;
const HIST_FIN: u16 = 2;
const HIST_RST: u16 = 4;
const HIST_ACK: u16 = 8;
const HIST_DATA: u16 = 16;
const HIST_FIN_RST: u16 = 32;
const HIST_MULTI: u16 = 64;

/// First FIN sent by one side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FinFact {
    pub ord: u64,
    pub frame: u64,
    pub ts: Timestamp,
}

/// One direction of a connection: what one endpoint sent and acknowledged.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub addr: SocketAddr,
    /// ISN from this side's SYN, when captured.
    pub isn: Option<u32>,
    /// Origin of relative sequence numbers (ISN, or one before the first
    /// byte seen when the SYN was not captured).
    base: Option<u32>,
    /// Reference point for extending 32-bit sequence numbers to i64 relative
    /// ones: relative seqs survive wrap-around as long as successive segments
    /// are within 2^31 of the furthest one seen.
    ref_abs: u32,
    ref_rel: i64,
    /// Relative sequence number one past the furthest segment sent.
    pub next_rel: i64,
    /// One past the furthest payload byte sent (relative).
    pub payload_end_rel: i64,
    /// Highest ACK this side sent, in the peer's relative space, and raw.
    pub highest_ack_rel: Option<i64>,
    pub highest_ack: Option<u32>,
    pub packets: u64,
    /// TCP payload bytes (retransmissions included, as on the wire).
    pub bytes: u64,
    pub fin: Option<FinFact>,
    pub rsts: u32,
    /// TTL / hop limit of the latest non-RST segment.
    pub last_ttl: Option<u8>,
    /// Last advertised window (raw header value), and whether it came from a
    /// segment where scaling applies (not a SYN).
    pub window: u16,
    pub window_scaled: bool,
    pub wscale: Option<u8>,
    pub last_ts: Option<Timestamp>,
    pub last_ord: Option<u64>,
    last_kind: ReplyTo,
    /// Payload bytes sent since the peer last sent payload: after a client's
    /// request, what the server answered (and the client may not have read).
    pub bytes_since_peer_payload: u64,
    /// Sequence space the peer ACKed that this side was never seen sending.
    acked_unseen_until: i64,
    /// ACKs from the peer that covered sequence space never captured from
    /// this side (the capture dropped packets).
    pub gaps: u32,
    zeek: ZeekEndpoint,
}

impl Endpoint {
    fn new(addr: SocketAddr) -> Self {
        Endpoint {
            addr,
            isn: None,
            base: None,
            ref_abs: 0,
            ref_rel: 0,
            next_rel: 0,
            payload_end_rel: 0,
            highest_ack_rel: None,
            highest_ack: None,
            packets: 0,
            bytes: 0,
            fin: None,
            rsts: 0,
            last_ttl: None,
            window: 0,
            window_scaled: false,
            wscale: None,
            last_ts: None,
            last_ord: None,
            last_kind: ReplyTo::None,
            bytes_since_peer_payload: 0,
            acked_unseen_until: 0,
            gaps: 0,
            zeek: ZeekEndpoint {
                last_syn: NO_SEQ,
                last_fin: NO_SEQ,
                last_rst: NO_SEQ,
                ..ZeekEndpoint::default()
            },
        }
    }

    fn init_base(&mut self, base: u32) {
        self.base = Some(base);
        self.ref_abs = base;
        self.ref_rel = 0;
    }

    /// Relative position of `seq` in this side's sequence space.
    pub fn rel(&self, seq: u32) -> i64 {
        self.ref_rel.saturating_add(seq_diff(seq, self.ref_abs))
    }

    fn advance_ref(&mut self, seq: u32, rel: i64) {
        if rel > self.ref_rel {
            self.ref_abs = seq;
            self.ref_rel = rel;
        }
    }

    pub fn seen(&self) -> bool {
        self.packets > 0
    }
}

/// The handshake as captured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Handshake {
    pub syn: Option<Timestamp>,
    pub syn_ord: Option<u64>,
    /// The latest SYN before the first SYN-ACK: the one that was answered,
    /// where the handshake's round trip starts.
    pub syn_answered: Option<Timestamp>,
    pub synack: Option<Timestamp>,
    pub synack_ord: Option<u64>,
    /// The client's ACK of the SYN-ACK (possibly carrying data).
    pub ack: Option<Timestamp>,
    pub ack_ord: Option<u64>,
    pub syn_count: u32,
    pub synack_count: u32,
    /// SYN-ACKs the server sent after the client had already ACKed one: the
    /// server ignored the handshake's final ACK (accept queue full).
    pub synack_after_ack: u32,
}

/// The connection as it stood when its first RST arrived, plus what came
/// after: everything classification and the reset facts need.
#[derive(Clone, Debug, PartialEq)]
pub struct RstFact {
    pub ord: u64,
    pub frame: u64,
    pub ts: Timestamp,
    pub by: Side,
    pub flags: Flags,
    pub seq: u32,
    pub rel_seq: i64,
    pub ttl: u8,
    /// RST TTL minus that of the sender's latest earlier non-RST segment.
    pub ttl_delta: Option<i16>,
    /// RFC 5961 check against the receiver's last ACK and window; `None`
    /// when the receiver never told us its window.
    pub in_window: Option<bool>,
    pub reply_to: ReplyTo,
    /// Ns from the peer's last segment to the RST.
    pub latency: Option<i64>,
    /// Ns of silence on the whole connection before the RST.
    pub idle_before: Option<i64>,
    pub handshake_done: Option<Timestamp>,
    pub syn_before: bool,
    pub synack_before: bool,
    pub client_fin_before: bool,
    pub server_fin_before: bool,
    pub client_bytes_before: u64,
    pub server_bytes_before: u64,
    /// Segments each side had sent before the RST.
    pub client_segments_before: u64,
    pub server_segments_before: u64,
    /// The server's ACK covered every payload byte the client had sent.
    pub server_acked_client_data: bool,
    /// Server payload bytes sent after the client's last request.
    pub server_bytes_after_client_data: u64,
    /// Client payload bytes sent after the server's last payload.
    pub client_bytes_after_server_data: u64,
    pub synack_after_ack_before: u32,
    /// Further RSTs from the same sender, back to back (no peer segment in
    /// between, within 1 ms, nearby sequence numbers): a kernel sends one
    /// RST per segment it receives, an injector often several at once.
    pub burst: u32,
    /// Non-RST segments the RST's sender sent after it.
    pub sender_kept_sending: u32,
    last_burst_ts: Timestamp,
    last_burst_ord: u64,
}

/// One kept segment of a connection's timeline, as [`Timeline::entries`]
/// gives it (expanded from the compact form the timeline stores).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    /// Position of the segment within its connection (0-based).
    pub ord: u64,
    pub ts: Timestamp,
    pub from: Side,
    pub flags: Flags,
    pub rel_seq: i64,
    /// Present exactly when the segment has the ACK flag.
    pub rel_ack: Option<i64>,
    pub window: u16,
    pub len: u32,
    /// Decides the outcome (handshake, FIN, first RST, what it answered):
    /// survives being pushed out of the tail ring.
    pub key: bool,
}

/// A relative sequence number in 40 bits: the low 32 bits and the number of
/// times the sender's space wrapped since its origin (-128..=127), which
/// covers 500 GiB either way of the ISN before saturating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rel40 {
    lo: u32,
    hi: i8,
}

impl Rel40 {
    fn new(v: i64) -> Self {
        let v = v.clamp(
            i64::from(i8::MIN) << 32,
            (i64::from(i8::MAX) << 32) | 0xffff_ffff,
        );
        Rel40 {
            lo: v as u32,
            hi: (v >> 32) as i8,
        }
    }
    fn get(self) -> i64 {
        (i64::from(self.hi) << 32) | i64::from(self.lo)
    }
}

const KEPT_SERVER: u8 = 1;
const KEPT_KEY: u8 = 2;

/// What the timeline stores per kept segment: 32 bytes, half of the expanded
/// [`TimelineEntry`] (with thousands of connections open the timelines are
/// most of the tracker's memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Kept {
    ts: Timestamp,
    seq: u32,
    ack: u32,
    /// Position in the connection, saturating at `u32::MAX`.
    ord: u32,
    len: u32,
    window: u16,
    seq_hi: i8,
    ack_hi: i8,
    flags: Flags,
    /// `KEPT_SERVER` | `KEPT_KEY`.
    bits: u8,
}

impl Kept {
    fn side(self) -> Side {
        if self.bits & KEPT_SERVER != 0 {
            Side::Server
        } else {
            Side::Client
        }
    }
    fn key(self) -> bool {
        self.bits & KEPT_KEY != 0
    }
    fn expand(self) -> TimelineEntry {
        let rel_seq = Rel40 {
            lo: self.seq,
            hi: self.seq_hi,
        }
        .get();
        let rel_ack = self.flags.ack().then_some(
            Rel40 {
                lo: self.ack,
                hi: self.ack_hi,
            }
            .get(),
        );
        TimelineEntry {
            ord: u64::from(self.ord),
            ts: self.ts,
            from: self.side(),
            flags: self.flags,
            rel_seq,
            rel_ack,
            window: self.window,
            len: self.len,
            key: self.key(),
        }
    }
}

impl From<TimelineEntry> for Kept {
    fn from(e: TimelineEntry) -> Self {
        let seq = Rel40::new(e.rel_seq);
        let ack = Rel40::new(e.rel_ack.unwrap_or(0));
        Kept {
            ts: e.ts,
            seq: seq.lo,
            ack: ack.lo,
            ord: u32::try_from(e.ord).unwrap_or(u32::MAX),
            len: e.len,
            window: e.window,
            seq_hi: seq.hi,
            ack_hi: ack.hi,
            flags: e.flags,
            bits: if e.from == Side::Server {
                KEPT_SERVER
            } else {
                0
            } | if e.key { KEPT_KEY } else { 0 },
        }
    }
}

/// A bounded timeline: the first `head` segments, the last `tail` segments,
/// and up to `keep_key` key segments that fell out of the tail in between.
/// The capacities come from [`TrackerConfig`] at each push, so the timeline
/// itself does not carry them.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    head: Vec<Kept>,
    key: Vec<Kept>,
    tail: VecDeque<Kept>,
    /// Segments seen but not kept.
    pub left_out: u64,
}

/// Grows `v` by doubling from 4, but never past `cap`: most connections
/// have a handful of segments, and a full-capacity reservation up front
/// would cost more than the entries.
fn reserve_up_to(len: usize, capacity: usize, cap: usize) -> usize {
    if len < capacity {
        0
    } else {
        len.saturating_mul(2)
            .max(4)
            .min(cap)
            .max(len.saturating_add(1))
            .saturating_sub(len)
    }
}

impl Timeline {
    fn push(&mut self, e: TimelineEntry, cfg: &TrackerConfig) {
        let e: Kept = e.into();
        if self.head.len() < cfg.timeline_head {
            let more = reserve_up_to(self.head.len(), self.head.capacity(), cfg.timeline_head);
            self.head.reserve_exact(more);
            self.head.push(e);
            return;
        }
        let ring = cfg.timeline_tail.saturating_add(1);
        let more = reserve_up_to(self.tail.len(), self.tail.capacity(), ring);
        self.tail.reserve_exact(more);
        self.tail.push_back(e);
        if self.tail.len() > cfg.timeline_tail {
            if let Some(old) = self.tail.pop_front() {
                if old.key() && self.key.len() < cfg.timeline_key {
                    let more = reserve_up_to(self.key.len(), self.key.capacity(), cfg.timeline_key);
                    self.key.reserve_exact(more);
                    self.key.push(old);
                } else {
                    self.left_out += 1;
                }
            }
        }
    }

    /// Marks the latest kept segment from `from` as key, if still kept.
    fn mark_last_from(&mut self, from: Side) {
        if let Some(e) = self.tail.iter_mut().rev().find(|e| e.side() == from) {
            e.bits |= KEPT_KEY;
        } else if let Some(e) = self.head.iter_mut().rev().find(|e| e.side() == from) {
            e.bits |= KEPT_KEY;
        }
    }

    /// Segments kept from the start of the connection.
    pub fn head_len(&self) -> usize {
        self.head.len()
    }

    /// Segments kept from the end of the connection.
    pub fn tail_len(&self) -> usize {
        self.tail.len()
    }

    /// Kept segments in capture order.
    pub fn entries(&self) -> Vec<TimelineEntry> {
        let mut v: Vec<TimelineEntry> = self
            .head
            .iter()
            .chain(self.key.iter())
            .chain(self.tail.iter())
            .map(|k| k.expand())
            .collect();
        v.sort_by_key(|e| e.ord);
        v
    }
}

/// One TCP connection (one generation of a 4-tuple).
#[derive(Clone, Debug)]
pub struct Connection {
    /// Indexed by [`Side::idx`].
    pub ep: [Endpoint; 2],
    pub roles_inferred: bool,
    pub first_frame: u64,
    pub first_time: Timestamp,
    pub last_time: Timestamp,
    /// Capture time up to which the connection was watched: the end of the
    /// capture, or when it was expired; a half-closed side was stuck at
    /// least until then.
    pub observed_until: Timestamp,
    pub segments: u64,
    pub handshake: Handshake,
    pub rst_count: u32,
    /// Boxed: most connections never see a RST.
    pub first_rst: Option<Box<RstFact>>,
    pub timeline: Timeline,
    /// Zeek history letters, in order.
    pub history: String,
    /// When the connection ended (first RST, or second FIN).
    pub ended_at: Option<Timestamp>,
}

impl Connection {
    fn new(seg: &Segment, fan: (u32, u32)) -> Self {
        let (client, server, inferred) = roles_for_first(seg, fan);
        Connection {
            ep: [Endpoint::new(client), Endpoint::new(server)],
            roles_inferred: inferred,
            first_frame: seg.frame,
            first_time: seg.ts,
            last_time: seg.ts,
            observed_until: seg.ts,
            segments: 0,
            handshake: Handshake::default(),
            rst_count: 0,
            first_rst: None,
            timeline: Timeline::default(),
            history: String::new(),
            ended_at: None,
        }
    }

    pub fn client(&self) -> &Endpoint {
        &self.ep[0]
    }
    pub fn server(&self) -> &Endpoint {
        &self.ep[1]
    }
    pub fn side(&self, s: Side) -> &Endpoint {
        &self.ep[s.idx()]
    }

    /// Sum of capture gaps in both directions.
    pub fn gaps(&self) -> u32 {
        self.ep[0].gaps.saturating_add(self.ep[1].gaps)
    }

    pub fn handshake_seen(&self) -> bool {
        self.handshake.syn.is_some()
            && self.handshake.synack.is_some()
            && self.handshake.ack.is_some()
    }

    /// Handshake round trip in ns (the `handshake_rtt` field), when all
    /// three handshake segments were captured.
    pub fn handshake_rtt_ns(&self) -> Option<i64> {
        match (self.handshake.syn_answered, self.handshake.ack) {
            (Some(a), Some(b)) if self.handshake_seen() => Some(b.0.saturating_sub(a.0).max(0)),
            _ => None,
        }
    }

    /// Ended by RST or by FINs from both sides.
    pub fn ended(&self) -> bool {
        self.ended_at.is_some()
    }

    /// Zeek's `conn_state()` over the endpoint states, orig = client.
    pub fn zeek_state(&self) -> &'static str {
        let os = self.ep[0].zeek.state;
        let rs = self.ep[1].zeek.state;
        let inactive = |s: ZeekState| matches!(s, ZeekState::Inactive | ZeekState::Partial);
        use ZeekState::*;
        if rs == Reset {
            if os == SynSent
                || os == SynAckSent
                || (os == Reset && self.ep[0].bytes == 0 && self.ep[1].bytes == 0)
            {
                "REJ"
            } else if inactive(os) {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == Reset {
            if inactive(rs) {
                if history_is_rstos0(&self.history) {
                    "RSTOS0"
                } else {
                    "OTH"
                }
            } else {
                "RSTO"
            }
        } else if rs == Closed && os == Closed {
            "SF"
        } else if os == Closed {
            if inactive(rs) {
                "SH"
            } else {
                "S2"
            }
        } else if rs == Closed {
            if inactive(os) {
                "SHR"
            } else {
                "S3"
            }
        } else if os == SynSent && rs == Inactive {
            "S0"
        } else if os == Established && rs == Established {
            "S1"
        } else {
            "OTH"
        }
    }

    /// A pure SYN on this tuple: does it start a new connection? Yes when it
    /// carries a new ISN and this one ended, or never got any answer (a new
    /// attempt after giving up).
    fn is_new_generation(&self, seg: &Segment) -> bool {
        if !seg.flags.syn() || seg.flags.ack() {
            return false;
        }
        let from = self.sender_side(seg);
        let same_isn = self.side(from).isn == Some(seg.seq);
        if same_isn {
            return false;
        }
        self.ended() || (self.handshake.synack.is_none() && !self.ep[1].seen())
    }

    fn sender_side(&self, seg: &Segment) -> Side {
        if seg.src == self.ep[0].addr && seg.dst == self.ep[1].addr {
            Side::Client
        } else {
            Side::Server
        }
    }

    /// Feeds one segment: all state changes of a connection happen here.
    fn push(&mut self, seg: &Segment, cfg: &TrackerConfig) {
        let from = self.sender_side(seg);
        let (me, peer) = (from.idx(), from.peer().idx());
        let f = seg.flags;
        let ord = self.segments;
        self.segments = self.segments.saturating_add(1);
        let prev_last_time = if ord == 0 { None } else { Some(self.last_time) };
        if seg.ts > self.last_time {
            self.last_time = seg.ts;
        }
        if seg.ts > self.observed_until {
            self.observed_until = seg.ts;
        }

        // Relative sequence numbers: the ISN when the SYN is captured, else
        // as if a SYN had come just before the first byte seen.
        if f.syn() && self.ep[me].isn.is_none() {
            self.ep[me].isn = Some(seg.seq);
            self.ep[me].init_base(seg.seq);
            self.ep[me].wscale = seg.wscale;
        } else if self.ep[me].base.is_none() {
            // A bare RST from a side never synchronised (a refusal) carries
            // its own seq, usually 0: show it as tcpdump does.
            let before = u32::from(!f.rst());
            self.ep[me].init_base(seg.seq.wrapping_sub(before));
        }
        let rel_seq = self.ep[me].rel(seg.seq);
        let end_rel = rel_seq.saturating_add(i64::from(seg.seq_len()));
        let was_seen = self.ep[me].seen();
        let rxmit = !f.rst() && seg.payload_len > 0 && was_seen && end_rel <= self.ep[me].next_rel;

        // Acknowledgement of the peer's sequence space.
        let mut rel_ack = None;
        if f.ack() {
            if self.ep[peer].base.is_none() {
                self.ep[peer].init_base(seg.ack.wrapping_sub(1));
            }
            let a = self.ep[peer].rel(seg.ack);
            rel_ack = Some(a);
            // ACKs in RSTs are not trusted (Zeek does the same).
            if !f.rst() {
                let ep = &mut self.ep[me];
                if ep.highest_ack_rel.is_none_or(|h| a > h) {
                    ep.highest_ack_rel = Some(a);
                    ep.highest_ack = Some(seg.ack);
                }
                let p = &mut self.ep[peer];
                if p.seen() && a > p.next_rel && a > p.acked_unseen_until {
                    p.acked_unseen_until = a;
                    p.gaps = p.gaps.saturating_add(1);
                    if log_letter_due(p.gaps) {
                        self.history.push(letter('G', from.peer()));
                    }
                }
            }
        }

        self.update_history(from, seg, rel_seq);
        // Zero windows, as Zeek counts them (before this segment's state change).
        if seg.window == 0
            && !f.rst()
            && self.ep[peer].zeek.state != ZeekState::Closed
            && self.ep[me].zeek.state != ZeekState::Reset
        {
            let z = &mut self.ep[me].zeek;
            z.zero_win = z.zero_win.saturating_add(1);
            if log_letter_due(z.zero_win) {
                self.history.push(letter('W', from));
            }
        }
        if rxmit && self.ep[me].zeek.state != ZeekState::Reset {
            let z = &mut self.ep[me].zeek;
            z.rxmit = z.rxmit.saturating_add(1);
            if log_letter_due(z.rxmit) {
                self.history.push(letter('T', from));
            }
        }
        self.update_zeek_state(from, seg);

        // Handshake.
        if f.syn() && !f.ack() && !f.rst() && from == Side::Client {
            self.handshake.syn_count = self.handshake.syn_count.saturating_add(1);
            if self.handshake.syn.is_none() {
                self.handshake.syn = Some(seg.ts);
                self.handshake.syn_ord = Some(ord);
            }
            if self.handshake.synack.is_none() {
                self.handshake.syn_answered = Some(seg.ts);
            }
        }
        if f.syn() && f.ack() && !f.rst() && from == Side::Server {
            self.handshake.synack_count = self.handshake.synack_count.saturating_add(1);
            if self.handshake.synack.is_none() {
                self.handshake.synack = Some(seg.ts);
                self.handshake.synack_ord = Some(ord);
                // Window scaling is in force only when both SYNs offered it.
                if self.ep[0].wscale.is_none() || seg.wscale.is_none() {
                    self.ep[0].wscale = None;
                    self.ep[1].wscale = None;
                }
            }
            if self.handshake.ack.is_some() {
                self.handshake.synack_after_ack = self.handshake.synack_after_ack.saturating_add(1);
            }
        }
        if from == Side::Client
            && f.ack()
            && !f.syn()
            && !f.rst()
            && self.handshake.synack.is_some()
            && self.handshake.ack.is_none()
            && rel_ack.is_some_and(|a| a >= 1)
        {
            self.handshake.ack = Some(seg.ts);
            self.handshake.ack_ord = Some(ord);
        }

        // RST facts, before this segment updates the per-side counters, so
        // "before the RST" means what it says.
        if f.rst() {
            self.rst_count = self.rst_count.saturating_add(1);
            self.ep[me].rsts = self.ep[me].rsts.saturating_add(1);
            match &mut self.first_rst {
                None => {
                    let fact = self.rst_fact(from, seg, ord, rel_seq, prev_last_time);
                    self.first_rst = Some(Box::new(fact));
                    self.timeline.mark_last_from(from.peer());
                    if self.ended_at.is_none() {
                        self.ended_at = Some(seg.ts);
                    }
                }
                Some(r) => {
                    let peer_silent = self.ep[peer].last_ord.is_none_or(|p| p < r.last_burst_ord);
                    if r.by == from
                        && peer_silent
                        && seg.ts.0.saturating_sub(r.last_burst_ts.0) <= 1_000_000
                        && seq_diff(seg.seq, r.seq).unsigned_abs() <= 65_536
                    {
                        r.burst = r.burst.saturating_add(1);
                        r.last_burst_ts = seg.ts;
                        r.last_burst_ord = ord;
                    }
                }
            }
        } else if let Some(r) = &mut self.first_rst {
            if r.by == from {
                r.sender_kept_sending = r.sender_kept_sending.saturating_add(1);
            }
        }

        // Per-side counters.
        let ep = &mut self.ep[me];
        ep.packets = ep.packets.saturating_add(1);
        ep.bytes = ep.bytes.saturating_add(u64::from(seg.payload_len));
        if end_rel > ep.next_rel || !was_seen {
            ep.next_rel = end_rel;
        }
        ep.advance_ref(seg.seq, rel_seq);
        if seg.payload_len > 0 && !f.rst() {
            let pend = rel_seq
                .saturating_add(i64::from(f.syn()))
                .saturating_add(i64::from(seg.payload_len));
            if pend > ep.payload_end_rel {
                ep.payload_end_rel = pend;
            }
            ep.bytes_since_peer_payload = ep
                .bytes_since_peer_payload
                .saturating_add(u64::from(seg.payload_len));
        }
        if !f.rst() {
            ep.last_ttl = Some(seg.ttl);
            ep.window = seg.window;
            ep.window_scaled = !f.syn();
        }
        ep.last_ts = Some(seg.ts);
        ep.last_ord = Some(ord);
        ep.last_kind = ReplyTo::of(seg);
        let mut key = f.rst() && self.first_rst.as_ref().is_some_and(|r| r.ord == ord);
        if f.fin() && ep.fin.is_none() {
            ep.fin = Some(FinFact {
                ord,
                frame: seg.frame,
                ts: seg.ts,
            });
            key = true;
        }
        if seg.payload_len > 0 && !f.rst() {
            self.ep[peer].bytes_since_peer_payload = 0;
        }
        if self.ended_at.is_none() && self.ep[0].fin.is_some() && self.ep[1].fin.is_some() {
            self.ended_at = Some(seg.ts);
        }
        key |= self.handshake.syn_ord == Some(ord)
            || self.handshake.synack_ord == Some(ord)
            || self.handshake.ack_ord == Some(ord);

        self.timeline.push(
            TimelineEntry {
                ord,
                ts: seg.ts,
                from,
                flags: f,
                rel_seq,
                rel_ack,
                window: seg.window,
                len: seg.payload_len,
                key,
            },
            cfg,
        );
    }

    fn rst_fact(
        &self,
        from: Side,
        seg: &Segment,
        ord: u64,
        rel_seq: i64,
        prev_last_time: Option<Timestamp>,
    ) -> RstFact {
        let me = &self.ep[from.idx()];
        let peer = &self.ep[from.peer().idx()];
        let client = &self.ep[0];
        let server = &self.ep[1];
        let reply_to = match (peer.last_ord, me.last_ord) {
            (Some(p), Some(m)) if p > m => peer.last_kind,
            (Some(_), None) => peer.last_kind,
            _ => ReplyTo::None,
        };
        RstFact {
            ord,
            frame: seg.frame,
            ts: seg.ts,
            by: from,
            flags: seg.flags,
            seq: seg.seq,
            rel_seq,
            ttl: seg.ttl,
            ttl_delta: me.last_ttl.map(|t| i16::from(seg.ttl) - i16::from(t)),
            in_window: self.rst_in_window(from, seg),
            reply_to,
            latency: peer.last_ts.map(|t| seg.ts.0.saturating_sub(t.0)),
            idle_before: prev_last_time.map(|t| seg.ts.0.saturating_sub(t.0)),
            handshake_done: self.handshake.ack,
            syn_before: self.handshake.syn.is_some(),
            synack_before: self.handshake.synack.is_some(),
            client_fin_before: client.fin.is_some(),
            server_fin_before: server.fin.is_some(),
            client_bytes_before: client.bytes,
            server_bytes_before: server.bytes,
            client_segments_before: client.packets,
            server_segments_before: server.packets,
            server_acked_client_data: client.bytes > 0
                && server
                    .highest_ack_rel
                    .is_some_and(|a| a >= client.payload_end_rel),
            server_bytes_after_client_data: server.bytes_since_peer_payload,
            client_bytes_after_server_data: client.bytes_since_peer_payload,
            synack_after_ack_before: self.handshake.synack_after_ack,
            burst: 0,
            sender_kept_sending: 0,
            last_burst_ts: seg.ts,
            last_burst_ord: ord,
        }
    }

    /// RFC 5961 §3.2: a RST is acceptable only if its sequence number is in
    /// the receiver's window (RCV.NXT <= seq < RCV.NXT + RCV.WND).
    fn rst_in_window(&self, from: Side, seg: &Segment) -> Option<bool> {
        let rcv = &self.ep[from.peer().idx()];
        match rcv.highest_ack {
            Some(rcv_nxt) => {
                let shift = if rcv.window_scaled {
                    u32::from(rcv.wscale.unwrap_or(0).min(14))
                } else {
                    0
                };
                let wnd = i64::from(rcv.window) << shift;
                let d = seq_diff(seg.seq, rcv_nxt);
                Some(if wnd == 0 { d == 0 } else { d >= 0 && d < wnd })
            }
            // The receiver only sent a SYN (SYN-SENT): RFC 793 accepts the
            // RST when it acknowledges that SYN.
            None => match rcv.isn {
                Some(isn) if seg.flags.ack() => Some(seg.ack == isn.wrapping_add(1)),
                _ => None,
            },
        }
    }

    /// Zeek's history letters, per `update_history()` in Zeek's TCP analyzer:
    /// `S H F R` again only when the sequence number differs from the last
    /// one of that kind; `A D I Q` once per direction.
    fn update_history(&mut self, from: Side, seg: &Segment, rel_seq: i64) {
        let f = seg.flags;
        let z = &mut self.ep[from.idx()].zeek;
        let bits = u8::from(f.syn()) + u8::from(f.fin()) + u8::from(f.rst());
        let mut push = |z: &mut ZeekEndpoint, mask: u16, c: char, last: Option<(i64, i64)>| {
            let first = z.seen & mask == 0;
            z.seen |= mask;
            let differs = last.is_some_and(|(prev, now)| prev != now);
            if first || differs {
                self.history.push(letter(c, from));
            }
        };
        if bits > 1 {
            if f.fin() && f.rst() {
                push(z, HIST_FIN_RST, 'I', None);
            } else {
                push(z, HIST_MULTI, 'Q', None);
            }
        } else if bits == 1 {
            if f.syn() {
                let c = if f.ack() { 'H' } else { 'S' };
                let prev = z.last_syn;
                push(z, HIST_SYN, c, Some((prev, rel_seq)));
                z.last_syn = rel_seq;
            }
            if f.fin() {
                let at = rel_seq.saturating_add(i64::from(seg.payload_len));
                let prev = z.last_fin;
                push(z, HIST_FIN, 'F', Some((prev, at)));
                z.last_fin = at;
            }
            if f.rst() {
                let prev = z.last_rst;
                push(z, HIST_RST, 'R', Some((prev, rel_seq)));
                z.last_rst = rel_seq;
            }
        } else if seg.payload_len > 0 {
            push(z, HIST_DATA, 'D', None);
        } else if f.ack() {
            push(z, HIST_ACK, 'A', None);
        }
    }

    /// Zeek's endpoint state machine (`UpdateStateMachine`), reduced to the
    /// transitions that decide `conn_state`. Orig is our client.
    fn update_zeek_state(&mut self, from: Side, seg: &Segment) {
        use ZeekState::*;
        let f = seg.flags;
        let is_orig = from == Side::Client;
        let (me, peer) = (from.idx(), from.peer().idx());
        let state = self.ep[me].zeek.state;
        match state {
            Inactive => {
                if f.syn() {
                    if is_orig {
                        self.ep[me]
                            .zeek
                            .set_state(if f.ack() { SynAckSent } else { SynSent });
                    } else {
                        if self.ep[peer].zeek.state == SynSent {
                            self.ep[peer].zeek.set_state(Established);
                        }
                        self.ep[me].zeek.set_state(Established);
                    }
                }
                if f.fin() {
                    self.ep[me].zeek.set_state(Closed);
                }
                if f.rst() {
                    self.ep[me].zeek.set_state(Reset);
                }
                if self.ep[me].zeek.state == Inactive {
                    let orig_syn_sent = self.ep[0].zeek.state == SynSent;
                    if !is_orig && seg.payload_len == 0 && orig_syn_sent {
                        // An ACK of the SYN before the SYN-ACK: not partial.
                    } else if f.ack() && self.ep[peer].zeek.state == Established {
                        self.ep[me].zeek.set_state(Established);
                    } else {
                        self.ep[me].zeek.set_state(Partial);
                    }
                }
            }
            SynSent | SynAckSent => {
                if f.fin() {
                    self.ep[me].zeek.set_state(Closed);
                }
                if f.rst() {
                    self.ep[me].zeek.set_state(Reset);
                }
            }
            Established | Partial => {
                if f.syn() && state == Partial && self.ep[peer].zeek.state == Inactive && !f.ack() {
                    self.ep[me].zeek.set_state(SynSent);
                }
                if f.fin() && !f.rst() {
                    self.ep[me].zeek.set_state(Closed);
                    let p = &mut self.ep[peer].zeek;
                    if p.state == Reset && p.prev_state == Closed {
                        // FIN then RST from the peer was a normal close.
                        p.set_state(Closed);
                    }
                }
                if f.rst() {
                    self.ep[me].zeek.set_state(Reset);
                }
            }
            Closed => {
                if f.rst() && self.ep[peer].zeek.state != Closed {
                    self.ep[me].zeek.set_state(Reset);
                }
            }
            Reset => {}
        }
    }
}

fn letter(c: char, from: Side) -> char {
    match from {
        Side::Client => c.to_ascii_uppercase(),
        Side::Server => c.to_ascii_lowercase(),
    }
}

/// Zeek's `/\^?S[^HAFGIQ]*R.*/` test for RSTOS0.
fn history_is_rstos0(h: &str) -> bool {
    let h = h.strip_prefix('^').unwrap_or(h);
    let Some(rest) = h.strip_prefix('S') else {
        return false;
    };
    for c in rest.chars() {
        if c == 'R' {
            return true;
        }
        if "HAFGIQ".contains(c) {
            return false;
        }
    }
    false
}

/// Roles from the first segment of a connection: a pure SYN's sender is the
/// client; a SYN-ACK's sender is the server; otherwise inferred by ports,
/// then by `fan` (how many connections the source and destination endpoints
/// took part in so far: a server is the endpoint many peers talk to).
fn roles_for_first(seg: &Segment, fan: (u32, u32)) -> (SocketAddr, SocketAddr, bool) {
    let f = seg.flags;
    if f.syn() && !f.ack() {
        return (seg.src, seg.dst, false);
    }
    if f.syn() && f.ack() {
        return (seg.dst, seg.src, false);
    }
    if src_is_server(seg.src.port(), seg.dst.port(), fan) {
        (seg.dst, seg.src, true)
    } else {
        (seg.src, seg.dst, true)
    }
}

/// The spec's heuristic for a connection whose handshake was not captured:
/// a well-known port (< 1024) is the server; else the only non-ephemeral
/// port (< 32768); else the endpoint with more connections so far; else the
/// lower port; on a tie, the first segment's receiver.
fn src_is_server(src: u16, dst: u16, fan: (u32, u32)) -> bool {
    let wk = |p: u16| p < 1024;
    let eph = |p: u16| p >= 32768;
    if wk(src) != wk(dst) {
        return wk(src);
    }
    if eph(src) != eph(dst) {
        return !eph(src);
    }
    if fan.0 != fan.1 {
        return fan.0 > fan.1;
    }
    src < dst
}

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
    /// [`TrackerStats::finished_early`]), so a SYN flood of millions of
    /// attempts cannot exhaust memory.
    pub max_open: usize,
}

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
        }
    }
}

fn ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// A canonical 4-tuple (lower address first), as the table key: IPv4 pairs
/// inline in 12 bytes, anything else boxed, so a table slot is 16 bytes
/// instead of 64.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum TupleKey {
    V4([u8; 12]),
    Other(Box<(SocketAddr, SocketAddr)>),
}

impl TupleKey {
    fn new(lo: SocketAddr, hi: SocketAddr) -> Self {
        match (lo, hi) {
            (SocketAddr::V4(a), SocketAddr::V4(b)) => {
                let mut k = [0u8; 12];
                k[..4].copy_from_slice(&a.ip().octets());
                k[4..6].copy_from_slice(&a.port().to_be_bytes());
                k[6..10].copy_from_slice(&b.ip().octets());
                k[10..].copy_from_slice(&b.port().to_be_bytes());
                TupleKey::V4(k)
            }
            _ => TupleKey::Other(Box::new((lo, hi))),
        }
    }

    fn addrs(&self) -> (SocketAddr, SocketAddr) {
        match self {
            TupleKey::V4(k) => {
                let one = |b: &[u8]| {
                    SocketAddr::from(([b[0], b[1], b[2], b[3]], u16::from_be_bytes([b[4], b[5]])))
                };
                (one(&k[..6]), one(&k[6..]))
            }
            TupleKey::Other(p) => **p,
        }
    }
}

/// An endpoint as the key of the fan table: IPv4 inline, anything else boxed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum EndpointKey {
    V4([u8; 6]),
    Other(Box<SocketAddr>),
}

impl EndpointKey {
    fn new(a: SocketAddr) -> Self {
        match a {
            SocketAddr::V4(a) => {
                let mut k = [0u8; 6];
                k[..4].copy_from_slice(&a.ip().octets());
                k[4..].copy_from_slice(&a.port().to_be_bytes());
                EndpointKey::V4(k)
            }
            _ => EndpointKey::Other(Box::new(a)),
        }
    }
}

/// One pure SYN of a connection attempt, as [`Attempt`] keeps it: the
/// segment minus what the attempt shares (addresses, ISN).
#[derive(Clone, Copy, Debug)]
struct SynSeg {
    frame: u64,
    ts: Timestamp,
    payload_len: u32,
    window: u16,
    wscale: Option<u8>,
    ttl: u8,
    flags: Flags,
    snap_cut: bool,
}

/// Most SYNs an [`Attempt`] keeps before it becomes a [`Connection`].
const ATTEMPT_MAX_SYNS: usize = 4;

/// A connection that so far is only client SYNs with one ISN (a SYN flood
/// is millions of these): kept as its segments, a tenth of a
/// [`Connection`]'s size, and replayed into one when anything else arrives
/// or when it is finished, so the result is the same as if it had been a
/// `Connection` from the start.
#[derive(Clone, Debug)]
struct Attempt {
    first: SynSeg,
    more: Vec<SynSeg>,
    isn: u32,
    /// The client is the key's lower address.
    client_lo: bool,
}

impl Attempt {
    /// A segment that can start an attempt: a pure SYN (its sender is the
    /// client).
    fn starts(seg: &Segment) -> bool {
        let f = seg.flags;
        f.syn() && !f.ack() && !f.rst() && !f.fin()
    }

    fn new(seg: &Segment) -> Self {
        Attempt {
            first: SynSeg {
                frame: seg.frame,
                ts: seg.ts,
                payload_len: seg.payload_len,
                window: seg.window,
                wscale: seg.wscale,
                ttl: seg.ttl,
                flags: seg.flags,
                snap_cut: seg.snap_cut,
            },
            more: Vec::new(),
            isn: seg.seq,
            client_lo: seg.src <= seg.dst,
        }
    }

    fn ends(&self, key: &TupleKey) -> (SocketAddr, SocketAddr) {
        let (lo, hi) = key.addrs();
        if self.client_lo {
            (lo, hi)
        } else {
            (hi, lo)
        }
    }

    fn sent_by_client(&self, seg: &Segment, key: &TupleKey) -> bool {
        let (c, s) = self.ends(key);
        seg.src == c && seg.dst == s
    }

    /// Another SYN of the same attempt (same sender, same ISN).
    fn takes(&self, seg: &Segment, key: &TupleKey) -> bool {
        Attempt::starts(seg)
            && seg.seq == self.isn
            && self.more.len() + 1 < ATTEMPT_MAX_SYNS
            && self.sent_by_client(seg, key)
    }

    fn add(&mut self, seg: &Segment) {
        let s = Attempt::new(seg).first;
        if self.more.capacity() == 0 {
            self.more.reserve_exact(ATTEMPT_MAX_SYNS - 1);
        }
        self.more.push(s);
    }

    fn last_time(&self) -> Timestamp {
        self.more
            .iter()
            .map(|s| s.ts)
            .fold(self.first.ts, Timestamp::max)
    }

    /// [`Connection::is_new_generation`] for a connection that saw only
    /// these SYNs: a pure SYN with another ISN, or from the server.
    fn is_new_generation(&self, seg: &Segment, key: &TupleKey) -> bool {
        seg.flags.syn()
            && !seg.flags.ack()
            && !(self.sent_by_client(seg, key) && seg.seq == self.isn)
    }

    /// The connection these SYNs make, replayed through [`Connection::push`].
    fn replay(&self, key: &TupleKey, cfg: &TrackerConfig) -> Connection {
        let (c, s) = self.ends(key);
        let seg = |x: &SynSeg| Segment {
            frame: x.frame,
            ts: x.ts,
            src: c,
            dst: s,
            seq: self.isn,
            ack: 0,
            flags: x.flags,
            window: x.window,
            wscale: x.wscale,
            payload_len: x.payload_len,
            ttl: x.ttl,
            snap_cut: x.snap_cut,
        };
        let first = seg(&self.first);
        // Roles of a pure SYN do not depend on the fan counts.
        let mut conn = Connection::new(&first, (0, 0));
        conn.push(&first, cfg);
        for x in &self.more {
            conn.push(&seg(x), cfg);
        }
        conn
    }
}

/// What the table holds per tuple.
#[derive(Debug)]
enum Slot {
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

    fn last_time(&self) -> Timestamp {
        match self {
            Slot::Attempt(a) => a.last_time(),
            Slot::Conn(c) => c.last_time,
        }
    }

    fn into_connection(self, key: &TupleKey, cfg: &TrackerConfig) -> Connection {
        match self {
            Slot::Attempt(a) => a.replay(key, cfg),
            Slot::Conn(c) => *c,
        }
    }
}

/// How long an ended connection waits for late segments: a few of its round
/// trips plus one retransmission timeout, at most `grace`.
fn grace_ns(cfg: &TrackerConfig, c: &Connection) -> i64 {
    let max = ns(cfg.grace);
    match c.handshake_rtt_ns() {
        Some(rtt) => ns(cfg.grace_floor)
            .saturating_add(rtt.saturating_mul(i64::from(cfg.grace_rtts)))
            .min(max),
        None => max,
    }
}

/// When an ended connection's grace runs out if nothing more arrives.
fn deadline(cfg: &TrackerConfig, c: &Connection) -> i64 {
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
type Due = Reverse<(i64, u64, TupleKey)>;

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
    cfg: TrackerConfig,
    /// Boxed so that the table's spare capacity costs 16 bytes per slot
    /// (key and pointer), not a whole connection.
    map: FxHashMap<TupleKey, Slot>,
    now: Timestamp,
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
    /// Grace deadlines of ended connections, earliest first: checked at
    /// every segment, so an ended connection is freed as soon as its grace
    /// runs out instead of at the next sweep.
    due: BinaryHeap<Due>,
    /// Candidates for finishing early when `max_open` is reached: the
    /// longest-idle connections at the last scan, as (last time, first
    /// frame, tuple), the oldest last.
    victims: Vec<(i64, u64, TupleKey)>,
}

/// Fan table entries allowed beyond the open connections before pruning.
const FAN_SLACK: usize = 65_536;

/// [`Tracker::expired`], as a function of the configuration alone so the
/// per-segment path can call it while it holds the connection mutably.
fn conn_expired(cfg: &TrackerConfig, c: &Connection, now: Timestamp) -> bool {
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
        }
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
    fn after_segment(&mut self, emit: &mut dyn FnMut(Connection)) {
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
    fn prune_fan(&mut self) {
        self.fan.retain(|_, n| *n >= 2);
        self.fan.shrink_to(self.fan.len().saturating_mul(2));
        self.fan_limit = self.map.len().max(self.fan.len()).saturating_add(FAN_SLACK);
    }

    /// How long an ended connection waits for late segments: a few of its
    /// round trips plus one retransmission timeout, at most `grace`.
    fn expired(&self, c: &Connection, now: Timestamp) -> bool {
        conn_expired(&self.cfg, c, now)
    }

    /// [`Tracker::expired`] for an attempt: never ended, only one side seen.
    fn attempt_expired(&self, a: &Attempt, now: Timestamp) -> bool {
        now.0.saturating_sub(a.last_time().0) >= ns(self.cfg.attempt_timeout)
    }

    fn slot_expired(&self, s: &Slot, now: Timestamp) -> bool {
        match s {
            Slot::Conn(c) => self.expired(c, now),
            Slot::Attempt(a) => self.attempt_expired(a, now),
        }
    }

    /// Finishes the ended connections whose grace ran out by now.
    fn finish_due(&mut self, emit: &mut dyn FnMut(Connection)) {
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
    fn finish_longest_idle(&mut self, emit: &mut dyn FnMut(Connection)) {
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

    fn sweep(&mut self, emit: &mut dyn FnMut(Connection)) {
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

    fn finish_one(&mut self, c: Connection, emit: &mut dyn FnMut(Connection)) {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::segment::Flags;

    pub const S: u8 = Flags::SYN;
    pub const A: u8 = Flags::ACK;
    pub const F: u8 = Flags::FIN;
    pub const R: u8 = Flags::RST;
    pub const P: u8 = Flags::PSH;

    /// Builds segment sequences between a client and a server for tests.
    pub struct Wire {
        pub c: SocketAddr,
        pub s: SocketAddr,
        pub c_isn: u32,
        pub s_isn: u32,
        pub t: i64,
        pub frame: u64,
        pub segs: Vec<Segment>,
    }

    impl Wire {
        pub fn new() -> Self {
            Wire::between("10.0.0.1:40000", "10.0.0.2:80")
        }
        pub fn between(c: &str, s: &str) -> Self {
            Wire {
                c: c.parse().expect("test address"),
                s: s.parse().expect("test address"),
                c_isn: 1000,
                s_isn: 5000,
                t: 1_700_000_000_000_000_000,
                frame: 0,
                segs: Vec::new(),
            }
        }
        /// Segment from client (`c2s`) or server with seq/ack relative to ISNs.
        pub fn seg(
            &mut self,
            c2s: bool,
            flags: u8,
            rseq: u32,
            rack: u32,
            len: u32,
            dt_us: i64,
        ) -> &mut Self {
            self.t += dt_us * 1000;
            self.frame += 1;
            let (src, dst, seq, ack) = if c2s {
                (
                    self.c,
                    self.s,
                    self.c_isn.wrapping_add(rseq),
                    self.s_isn.wrapping_add(rack),
                )
            } else {
                (
                    self.s,
                    self.c,
                    self.s_isn.wrapping_add(rseq),
                    self.c_isn.wrapping_add(rack),
                )
            };
            self.segs.push(Segment {
                frame: self.frame,
                ts: Timestamp(self.t),
                src,
                dst,
                seq,
                ack: if flags & A != 0 { ack } else { 0 },
                flags: Flags(flags),
                window: 512,
                wscale: if flags & S != 0 { Some(7) } else { None },
                payload_len: len,
                ttl: 64,
                snap_cut: false,
            });
            self
        }
        pub fn c(&mut self, flags: u8, rseq: u32, rack: u32, len: u32) -> &mut Self {
            self.seg(true, flags, rseq, rack, len, 100)
        }
        pub fn s(&mut self, flags: u8, rseq: u32, rack: u32, len: u32) -> &mut Self {
            self.seg(false, flags, rseq, rack, len, 100)
        }
        pub fn handshake(&mut self) -> &mut Self {
            self.c(S, 0, 0, 0).s(S | A, 0, 1, 0).c(A, 1, 1, 0)
        }
        pub fn last(&mut self) -> &mut Segment {
            self.segs.last_mut().expect("a segment")
        }
        pub fn track(&self) -> Vec<Connection> {
            track_with(&self.segs, TrackerConfig::default())
        }
        pub fn one(&self) -> Connection {
            let mut v = self.track();
            assert_eq!(v.len(), 1, "expected one connection");
            v.remove(0)
        }
    }

    pub fn track_with(segs: &[Segment], cfg: TrackerConfig) -> Vec<Connection> {
        let mut out = Vec::new();
        let mut t = Tracker::new(cfg);
        for s in segs {
            t.push(s, &mut |c| out.push(c));
        }
        t.finish(&mut |c| out.push(c));
        out
    }

    #[test]
    fn roles_from_syn_and_handshake() {
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 10).s(A, 1, 11, 0);
        let c = w.one();
        assert_eq!(c.client().addr, w.c);
        assert!(!c.roles_inferred);
        assert!(c.handshake_seen());
        assert_eq!(c.client().bytes, 10);
        assert_eq!(c.handshake.syn_count, 1);
    }

    #[test]
    fn synack_sender_is_server_when_syn_missing() {
        let mut w = Wire::new();
        w.s(S | A, 0, 1, 0).c(A, 1, 1, 0).c(P | A, 1, 1, 5);
        let c = w.one();
        assert_eq!(c.server().addr, w.s);
        assert_eq!(c.client().addr, w.c);
        assert!(!c.roles_inferred);
        assert!(!c.handshake_seen());
        assert!(c.handshake.ack.is_some());
    }

    #[test]
    fn roles_inferred_by_port_midstream() {
        let mut w = Wire::between("10.0.0.1:50000", "10.0.0.2:8080");
        // First segment is the server's data.
        w.s(P | A, 100, 50, 20).c(A, 50, 120, 0);
        let c = w.one();
        assert!(c.roles_inferred);
        assert_eq!(c.server().addr, w.s);
        // Relative numbering as if the SYN had just preceded the first byte.
        let e = c.timeline.entries();
        assert_eq!(e[0].rel_seq, 1);
        assert_eq!(e[1].rel_ack, Some(21));
    }

    #[test]
    fn port_heuristic() {
        assert!(src_is_server(443, 50000, (0, 0)));
        assert!(!src_is_server(50000, 443, (9, 0)));
        assert!(src_is_server(8080, 50000, (0, 0)));
        assert!(src_is_server(5000, 6000, (0, 0)));
        assert!(src_is_server(40000, 40001, (0, 0)));
        // Both ephemeral: the endpoint more peers talk to is the server.
        assert!(!src_is_server(40000, 40001, (1, 5)));
    }

    #[test]
    fn midstream_server_is_the_endpoint_more_peers_talk_to() {
        let mut segs = Vec::new();
        for i in 0..3u16 {
            let mut w = Wire::between(&format!("10.0.0.{}:50000", i + 1), "10.0.0.9:45000");
            w.c(S, 0, 0, 0);
            segs.extend(w.segs);
        }
        // Mid-stream: the first segment comes from 10.0.0.9:45000, whose port
        // is higher than the peer's and both are ephemeral.
        let mut w = Wire::between("10.0.0.7:40000", "10.0.0.9:45000");
        w.s(P | A, 1, 1, 10);
        segs.extend(w.segs);
        let v = track_with(&segs, TrackerConfig::default());
        let mid = v
            .iter()
            .find(|c| c.roles_inferred)
            .expect("mid-stream connection");
        assert_eq!(mid.server().addr, w.s);
    }

    #[test]
    fn syn_retransmission_same_isn_is_one_connection() {
        let mut w = Wire::new();
        w.c(S, 0, 0, 0).c(S, 0, 0, 0).c(S, 0, 0, 0);
        let c = w.one();
        assert_eq!(c.handshake.syn_count, 3);
        assert_eq!(c.history, "S");
        assert_eq!(c.zeek_state(), "S0");
    }

    #[test]
    fn port_reuse_starts_new_generation() {
        let mut w = Wire::new();
        w.handshake()
            .c(F | A, 1, 1, 0)
            .s(F | A, 1, 2, 0)
            .c(A, 2, 2, 0);
        w.c_isn = 900_000;
        w.s_isn = 7_000_000;
        w.handshake().c(R, 1, 0, 0);
        let v = w.track();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].segments, 6);
        assert_eq!(v[1].segments, 4);
        assert_eq!(v[1].rst_count, 1);
        assert_eq!(v[0].zeek_state(), "SF");
    }

    #[test]
    fn new_syn_on_open_connection_is_not_new_generation() {
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 5);
        w.c_isn = 77;
        w.c(S, 0, 0, 0);
        assert_eq!(w.track().len(), 1);
    }

    #[test]
    fn relative_seq_survives_wrap() {
        let mut w = Wire::new();
        w.c_isn = u32::MAX - 10;
        w.handshake();
        // 3 segments of 10 bytes across the 2^32 boundary.
        w.c(P | A, 1, 1, 10).c(P | A, 11, 1, 10).c(P | A, 21, 1, 10);
        w.s(A, 1, 31, 0);
        let c = w.one();
        let e = c.timeline.entries();
        assert_eq!(e[5].rel_seq, 21);
        assert_eq!(c.client().next_rel, 31);
        assert_eq!(c.server().highest_ack_rel, Some(31));
        assert_eq!(c.gaps(), 0);
        assert_eq!(c.history, "ShADa");
    }

    #[test]
    fn rst_in_window_across_wrap() {
        let mut w = Wire::new();
        w.s_isn = u32::MAX - 2;
        w.handshake().c(P | A, 1, 1, 10).s(A, 1, 11, 0);
        // Server RST with seq 1 (== client's RCV.NXT), across the wrap.
        w.s(R, 1, 0, 0);
        let c = w.one();
        let r = c.first_rst.expect("rst");
        assert_eq!(r.in_window, Some(true));
        assert_eq!(r.by, Side::Server);

        let mut w = Wire::new();
        w.s_isn = u32::MAX - 2;
        w.handshake().c(P | A, 1, 1, 10);
        // Far outside the client's window (512 << 7 = 65536).
        w.s(R, 1 + 70_000, 0, 0);
        let r = w.one().first_rst.expect("rst");
        assert_eq!(r.in_window, Some(false));
    }

    #[test]
    fn bounded_timeline_keeps_first_rst() {
        let mut w = Wire::new();
        w.handshake();
        let mut seq = 1;
        for _ in 0..20 {
            w.c(P | A, seq, 1, 10);
            seq += 10;
        }
        w.s(R, 1, 0, 0);
        for _ in 0..40 {
            w.c(P | A, seq, 1, 10);
            seq += 10;
        }
        let c = w.one();
        let tl = &c.timeline;
        assert_eq!(tl.head.len(), 16);
        assert_eq!(tl.tail.len(), 16);
        let kept = tl.entries();
        assert!(kept.iter().any(|e| e.flags.rst()), "first RST kept");
        // The data segment the RST answered is kept too.
        assert!(kept.iter().any(|e| e.ord == 22));
        assert_eq!(tl.left_out + kept.len() as u64, c.segments);
        assert_eq!(c.first_rst.as_ref().map(|r| r.sender_kept_sending), Some(0));
    }

    #[test]
    fn gap_detected_when_ack_covers_unseen_data() {
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 10);
        // Client's second segment (11..21) not captured; server ACKs 21.
        w.s(A, 1, 21, 0);
        let c = w.one();
        assert_eq!(c.client().gaps, 1);
        assert!(c.history.contains('G'));
    }

    #[test]
    fn ended_connections_expire_after_grace_and_memory_is_freed() {
        let mut segs = Vec::new();
        for i in 0..200u16 {
            let mut w = Wire::between(&format!("10.0.0.1:{}", 40000 + i), "10.0.0.2:80");
            w.t += i64::from(i) * 1_000_000_000;
            w.handshake()
                .c(F | A, 1, 1, 0)
                .s(F | A, 1, 2, 0)
                .c(A, 2, 2, 0);
            segs.extend(w.segs);
        }
        let mut t = Tracker::new(TrackerConfig::default());
        let mut n = 0;
        for s in &segs {
            t.push(s, &mut |_| n += 1);
        }
        assert!(t.open_connections() < 20, "open {}", t.open_connections());
        let stats = t.finish(&mut |_| n += 1);
        assert_eq!(n, 200);
        assert!(stats.peak_open < 20);
    }

    #[test]
    fn memory_follows_open_connections_not_capture_length() {
        // 100k short connections at 1000 per second of capture time: the
        // open set stays near grace x rate, whatever the capture's length.
        let mut t = Tracker::new(TrackerConfig::default());
        let mut done = 0u64;
        for i in 0..100_000u32 {
            let port = 1024 + (i % 60_000) as u16;
            let mut w = Wire::between(&format!("10.0.{}.1:{port}", i / 60_000), "10.0.0.2:80");
            w.t += i64::from(i) * 1_000_000;
            w.c_isn = i.wrapping_mul(7919);
            w.handshake()
                .c(F | A, 1, 1, 0)
                .s(F | A, 1, 2, 0)
                .c(A, 2, 2, 0);
            for s in &w.segs {
                t.push(s, &mut |_| done += 1);
            }
        }
        let stats = t.finish(&mut |_| done += 1);
        assert_eq!(done, 100_000);
        assert!(stats.peak_open < 10_000, "peak {}", stats.peak_open);
    }

    #[test]
    fn ended_connection_is_freed_when_its_grace_runs_out() {
        // Handshake RTT 200 us: grace = 300 ms + 4 x 200 us.
        let mut w = Wire::new();
        w.handshake()
            .c(F | A, 1, 1, 0)
            .s(F | A, 1, 2, 0)
            .c(A, 2, 2, 0);
        let mut other = Wire::between("10.0.0.3:40000", "10.0.0.2:80");
        other.t = w.t;
        // A retransmitted FIN 250 ms later is still part of the connection.
        other.seg(true, S, 0, 0, 0, 250_000);
        w.seg(false, F | A, 1, 2, 0, 250_000);
        let mut late = w.segs.pop().expect("segment");
        // 300.7 ms after the last segment: not yet.
        other.seg(true, S, 0, 0, 0, 300_700);
        let mut t = Tracker::new(TrackerConfig::default());
        let mut done = Vec::new();
        let feed = |t: &mut Tracker, s: &Segment, done: &mut Vec<Connection>| {
            t.push(s, &mut |c| done.push(c));
        };
        for s in &w.segs {
            feed(&mut t, s, &mut done);
        }
        feed(&mut t, &other.segs[0], &mut done);
        assert!(done.is_empty());
        // The FIN retransmission, at the same time as other.segs[0].
        late.ts = other.segs[0].ts;
        feed(&mut t, &late, &mut done);
        feed(&mut t, &other.segs[1], &mut done);
        assert!(done.is_empty(), "still within the grace");
        let mut after = other.segs[1];
        after.ts = Timestamp(late.ts.0 + 301_000_000);
        feed(&mut t, &after, &mut done);
        assert_eq!(done.len(), 1, "finished without waiting for a sweep");
        assert_eq!(done[0].segments, 7);
        assert_eq!(done[0].ep[1].packets, 3);
        assert_eq!(t.open_connections(), 1);
    }

    #[test]
    fn ended_without_rtt_keeps_the_full_grace() {
        // Refused: no handshake RTT, so the 2 s grace applies.
        let mut w = Wire::new();
        w.c(S, 0, 0, 0).s(R | A, 0, 1, 0);
        w.seg(true, S, 0, 0, 0, 1_500_000);
        let c = w.one();
        assert_eq!(c.segments, 3);
        assert_eq!(c.handshake.syn_count, 2);
    }

    #[test]
    fn max_open_finishes_the_longest_idle_early() {
        let cfg = TrackerConfig {
            max_open: 100,
            ..TrackerConfig::default()
        };
        let mut t = Tracker::new(cfg);
        let mut out = Vec::new();
        let mut most = 0;
        for i in 0..1000u16 {
            let mut w = Wire::between(&format!("10.0.0.1:{}", 20000 + i), "10.0.0.2:80");
            w.t += i64::from(i) * 1_000_000;
            w.frame = u64::from(i);
            w.c(S, 0, 0, 0);
            t.push(&w.segs[0], &mut |c| out.push(c));
            most = most.max(t.open_connections());
        }
        assert!(most <= 100, "open {most}");
        let stats = t.finish(&mut |c| out.push(c));
        assert_eq!(stats.finished_early, 900);
        assert_eq!(out.len(), 1000);
        // The longest idle went first: the first 900 SYNs, in order.
        let ports: Vec<u16> = out
            .iter()
            .take(900)
            .map(|c| c.client().addr.port())
            .collect();
        let want: Vec<u16> = (0..900).map(|i| 20000 + i).collect();
        assert_eq!(ports, want);
        assert!(out.iter().all(|c| c.segments == 1));
    }

    #[test]
    fn max_open_passes_over_connections_that_became_active() {
        let cfg = TrackerConfig {
            max_open: 32,
            ..TrackerConfig::default()
        };
        let mut t = Tracker::new(cfg);
        let mut out = Vec::new();
        let mut busy = Wire::between("10.0.0.9:1111", "10.0.0.2:80");
        busy.handshake();
        for s in &busy.segs {
            t.push(s, &mut |c| out.push(c));
        }
        for i in 0..200u16 {
            let mut w = Wire::between(&format!("10.0.0.1:{}", 20000 + i), "10.0.0.2:80");
            w.t = busy.t + i64::from(i) * 1_000_000;
            w.c(S, 0, 0, 0);
            t.push(&w.segs[0], &mut |c| out.push(c));
            // The busy connection keeps talking, so it is never the idlest.
            busy.t = w.t;
            busy.c(P | A, 1 + u32::from(i), 1, 1);
            let s = *busy.segs.last().expect("segment");
            t.push(&s, &mut |c| out.push(c));
        }
        assert!(t.open_connections() <= 32);
        let stats = t.finish(&mut |c| out.push(c));
        let b: Vec<&Connection> = out.iter().filter(|c| c.client().addr == busy.c).collect();
        assert_eq!(b.len(), 1, "the active connection was never finished early");
        assert_eq!(b[0].segments, 203);
        assert_eq!(stats.finished_early, 200 + 1 - 32);
    }

    #[test]
    fn kept_timeline_entries_are_compact() {
        assert!(std::mem::size_of::<Kept>() <= 32);
        for v in [
            0i64,
            1,
            -1,
            1 << 32,
            (1 << 32) + 5,
            -(1 << 33) - 7,
            i64::from(u32::MAX),
        ] {
            assert_eq!(Rel40::new(v).get(), v);
        }
    }

    #[test]
    fn finish_order_is_by_first_frame() {
        let mut a = Wire::between("10.0.0.1:40001", "10.0.0.2:80");
        let mut b = Wire::between("10.0.0.9:40001", "10.0.0.2:80");
        a.c(S, 0, 0, 0);
        b.c(S, 0, 0, 0);
        b.segs[0].frame = 1;
        a.segs[0].frame = 2;
        let segs = vec![a.segs[0], b.segs[0]];
        let v = track_with(&segs, TrackerConfig::default());
        assert_eq!(v[0].first_frame, 1);
        assert_eq!(v[1].first_frame, 2);
    }

    #[test]
    fn history_letters() {
        let mut w = Wire::new();
        w.handshake()
            .c(P | A, 1, 1, 10)
            .s(P | A, 1, 11, 20)
            .c(F | A, 11, 21, 0)
            .s(F | A, 21, 12, 0)
            .c(A, 12, 22, 0);
        let c = w.one();
        assert_eq!(c.history, "ShADdFf");
        assert_eq!(c.zeek_state(), "SF");
    }

    #[test]
    fn retransmissions_use_zeek_log_scale() {
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 10);
        for _ in 0..10 {
            w.c(P | A, 1, 1, 10);
        }
        let c = w.one();
        // 'T' once at the first and once at the 10th retransmission.
        assert_eq!(c.history.matches('T').count(), 2);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn arb_segment() -> impl Strategy<Value = (bool, u8, u32, u32, u32, u16, i64, u8, Option<u8>)> {
        (
            any::<bool>(),
            any::<u8>(),
            prop_oneof![any::<u32>(), 0u32..64, (u32::MAX - 64)..=u32::MAX],
            prop_oneof![any::<u32>(), 0u32..64, (u32::MAX - 64)..=u32::MAX],
            prop_oneof![Just(0u32), 1u32..2000, Just(u32::MAX)],
            any::<u16>(),
            prop_oneof![-1_000_000_000i64..1_000_000_000, Just(i64::MAX / 4)],
            any::<u8>(),
            proptest::option::of(any::<u8>()),
        )
    }

    proptest! {
        /// Any sequence of segments on a few tuples: tracking, classification
        /// and rendering never panic, and every RST is counted exactly once.
        #[test]
        fn never_panics_and_counts_every_rst(
            segs in proptest::collection::vec((0u8..3, arb_segment()), 0..80)
        ) {
            let c: SocketAddr = "10.0.0.1:40000".parse().expect("addr");
            let s: SocketAddr = "10.0.0.2:80".parse().expect("addr");
            let mut t = 0i64;
            let mut input = Vec::new();
            for (i, (tuple, (c2s, flags, seq, ack, len, win, dt, ttl, ws))) in segs.into_iter().enumerate() {
                t = t.saturating_add(dt);
                let frame = i as u64 + 1;
                let c = SocketAddr::new(c.ip(), c.port() + u16::from(tuple));
                let (src, dst) = if c2s { (c, s) } else { (s, c) };
                input.push(Segment {
                    frame, ts: Timestamp(t), src, dst, seq, ack, flags: Flags(flags),
                    window: win, wscale: ws, payload_len: len, ttl, snap_cut: false,
                });
            }
            let cfg = TrackerConfig { timeline_head: 3, timeline_tail: 3, timeline_key: 2, ..TrackerConfig::default() };
            let conns = tests::track_with(&input, cfg);
            let rsts: u64 = conns.iter().map(|c| u64::from(c.rst_count)).sum();
            let want = input.iter().filter(|s| s.flags.rst()).count() as u64;
            prop_assert_eq!(rsts, want);
            let segs: u64 = conns.iter().map(|c| c.segments).sum();
            prop_assert_eq!(segs, input.len() as u64);
            for conn in &conns {
                let flow = crate::classify::classify(conn);
                let text = crate::timeline::render(conn, &flow.marks, "");
                prop_assert!(!flow.evidence.is_empty());
                let _ = text;
                prop_assert_eq!(flow.csv_record().len(), crate::classify::FIELDS.len());
            }
        }
    }
}
