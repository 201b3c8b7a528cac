//! One TCP connection: every state change a segment makes happens here.

use crate::wire::{seq_diff, Segment, Timestamp};

use super::config::TrackerConfig;
use super::end::EndReason;
use super::endpoint::{Endpoint, FinFact};
use super::kept::HeadBase;
use super::maybe::{Maybe, MaybeOrd};
use super::reset::RstFact;
use super::roles::roles_for_first;
use super::side::{ReplyTo, Side};
use super::stream::StreamTrack;
use super::timeline::{Timeline, TimelineEntry};
use super::zeek;

/// The handshake as captured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Handshake {
    pub(super) syn: Maybe<Timestamp>,
    pub(super) syn_ord: MaybeOrd,
    /// The latest SYN before the first SYN-ACK: the one that was answered,
    /// where the handshake's round trip starts.
    pub(super) syn_answered: Maybe<Timestamp>,
    pub(super) synack: Maybe<Timestamp>,
    pub(super) synack_ord: MaybeOrd,
    /// The client's ACK of the SYN-ACK (possibly carrying data).
    pub(super) ack: Maybe<Timestamp>,
    pub(super) ack_ord: MaybeOrd,
    pub(super) syn_count: u32,
    pub(super) synack_count: u32,
    /// SYN-ACKs the server sent after the client had already ACKed one: the
    /// server ignored the handshake's final ACK (accept queue full).
    pub(super) synack_after_ack: u32,
}

getters!(Handshake {
    maybe syn: Timestamp,
    maybe syn_ord: u64,
    maybe syn_answered: Timestamp,
    maybe synack: Timestamp,
    maybe synack_ord: u64,
    maybe ack: Timestamp,
    maybe ack_ord: u64,
    syn_count: u32,
    synack_count: u32,
    synack_after_ack: u32,
});

/// Where a connection stands, as an observer of both directions sees it.
/// Every change goes through `Connection::set_state`, decided in one
/// place (`Connection::next_state`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum State {
    /// Nothing synchronising seen yet (the first segment is being read).
    #[default]
    Unsynchronised,
    /// The client's SYN, no SYN-ACK yet.
    SynSent,
    /// The server's SYN-ACK, the handshake's final ACK not yet.
    SynReceived,
    /// Handshake complete, or seen mid-connection.
    Established,
    /// This side sent FIN, the other has not.
    HalfClosed(Side),
    /// Both sides sent FIN.
    Closed,
    /// A RST its receiver would accept ended it.
    Reset,
}

impl State {
    /// Closed or reset: only late segments can follow.
    pub fn ended(self) -> bool {
        matches!(self, State::Closed | State::Reset)
    }
}

/// What a segment does to the state, in the precedence of RFC 793's
/// segment-arrival processing: RST first, then SYN, then FIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Control {
    /// `acceptable`: the receiver would act on it (in SYN-SENT, RFC 793
    /// drops a RST that does not acknowledge the SYN).
    Rst {
        acceptable: bool,
    },
    Syn,
    SynAck,
    Fin,
    /// An ACK of the SYN-ACK (with or without data).
    HandshakeAck,
    Other,
}

/// One TCP connection (one generation of a 4-tuple).
#[derive(Clone, Debug)]
pub struct Connection {
    /// Indexed by [`Side::idx`].
    pub(super) ep: [Endpoint; 2],
    pub(super) roles_inferred: bool,
    pub(super) first_frame: u64,
    pub(super) first_time: Timestamp,
    pub(super) last_time: Timestamp,
    /// Analysis time of the latest segment (the clock of `wire::Clock`:
    /// monotone, immune to clock steps); every timeout runs on it.
    pub(super) last_at: Timestamp,
    /// Analysis time up to which the connection was watched: the end of the
    /// capture, or when it was finished; a half-closed side was stuck at
    /// least until then.
    pub(super) observed_until: Timestamp,
    pub(super) handshake: Handshake,
    pub(super) rst_count: u32,
    /// FINs that came after the connection ended: retransmissions whose
    /// ACK was lost, each about twice as late as the one before (the
    /// sender's backoff), so each one doubles the grace.
    pub(super) fins_after_end: u8,
    /// Segments that resent payload or a FIN after the server had sent
    /// payload (saturating): loss on the path of a connection the server
    /// had accepted, which a full accept queue cannot cause.
    pub(super) resent_after_answer: u8,
    /// Pure ACKs the server sent while the client was in SYN-SENT that
    /// acknowledged nothing the client sent (up to 255): challenge ACKs
    /// (RFC 5961) from an older connection the server still held on the
    /// tuple, not an answer to this attempt.
    pub(super) stale_acks: u8,
    /// Boxed: most connections never see a RST.
    pub(super) first_rst: Option<Box<RstFact>>,
    pub(super) timeline: Timeline,
    /// Zeek's state machine and history letters.
    pub(super) zeek: zeek::Zeek,
    pub(super) state: State,
    /// Analysis time at which the state became closed or reset.
    pub(super) ended_at: Maybe<Timestamp>,
    /// The tracker's segment count when it ended: with timestamps that do
    /// not move, ended connections expire by segments instead of by time.
    pub(super) ended_at_segment: u64,
    /// Why the tracker finished it (set when it is handed on).
    pub(super) end_reason: EndReason,
    /// The tracker had evicted an earlier part of this connection (its
    /// tuple was finished early under `--max-connections`): this row
    /// continues that one and its counts start where that one stopped.
    pub(super) continues_evicted: bool,
    /// Frame number of the connection's latest segment.
    pub(super) last_frame: u64,
    /// tshark's `tcp.stream` for this connection (set by the table).
    pub(super) stream: StreamTrack,

    /// The server's first payload after the client's first payload byte:
    /// where `response_time` ends.
    pub(super) response_at: Maybe<Timestamp>,

    /// The tunnel path its segments arrived in (0: none), part of its
    /// identity; `wire::describe_tunnel` gives the words.
    pub(super) tunnel: crate::wire::TunnelId,
}

getters!(Connection {
    ref ep: [Endpoint; 2],
    roles_inferred: bool,
    first_frame: u64,
    first_time: Timestamp,
    last_time: Timestamp,
    last_at: Timestamp,
    observed_until: Timestamp,
    handshake: Handshake,
    rst_count: u32,
    resent_after_answer: u8,
    stale_acks: u8,
    ref timeline: Timeline,
    state: State,
    maybe ended_at: Timestamp,
    end_reason: EndReason,
    continues_evicted: bool,
    last_frame: u64,
    ref stream: StreamTrack,
    maybe response_at: Timestamp,
    tunnel: crate::wire::TunnelId,
});

impl Connection {
    /// Segments seen: each one counts on the side that sent it.
    pub fn segments(&self) -> u64 {
        self.ep[0].packets.saturating_add(self.ep[1].packets)
    }

    pub(super) fn new(seg: &Segment, at: Timestamp, fan: (u32, u32)) -> Self {
        let (client, server, inferred) = roles_for_first(seg, fan);
        Connection {
            ep: [Endpoint::new(client), Endpoint::new(server)],
            roles_inferred: inferred,
            first_frame: seg.frame,
            first_time: seg.ts,
            last_time: seg.ts,
            last_at: at,
            observed_until: at,
            handshake: Handshake::default(),
            rst_count: 0,
            fins_after_end: 0,
            resent_after_answer: 0,
            stale_acks: 0,
            first_rst: None,
            timeline: Timeline::default(),
            zeek: zeek::Zeek::default(),
            state: State::Unsynchronised,
            ended_at: Maybe::NONE,
            ended_at_segment: 0,
            end_reason: EndReason::EndOfCapture,
            continues_evicted: false,
            last_frame: seg.frame,
            stream: StreamTrack::default(),
            response_at: Maybe::NONE,
            tunnel: seg.tunnel,
        }
    }

    /// What its timeline's head records are relative to: its first time
    /// and frame, which never change.
    fn head_base(&self) -> HeadBase {
        HeadBase::new(self.first_time, self.first_frame)
    }

    /// Its kept segments in capture order.
    pub fn timeline_entries(&self) -> Vec<TimelineEntry> {
        self.timeline.entries(self.head_base())
    }

    /// The connection as it stood at its first RST, if it had one.
    pub fn first_rst(&self) -> Option<&RstFact> {
        self.first_rst.as_deref()
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
        self.ep[0].gaps().saturating_add(self.ep[1].gaps())
    }

    pub fn handshake_seen(&self) -> bool {
        self.handshake.syn.is_some()
            && self.handshake.synack.is_some()
            && self.handshake.ack.is_some()
    }

    /// Handshake round trip in ns (the `handshake_rtt` field), when all
    /// three handshake segments were captured.
    pub fn handshake_rtt_ns(&self) -> Option<i64> {
        match (self.handshake.syn_answered.get(), self.handshake.ack.get()) {
            // Out-of-order timestamps leave the round trip unknown.
            (Some(a), Some(b)) if self.handshake_seen() && b >= a => b.0.checked_sub(a.0),
            _ => None,
        }
    }

    /// Ended by RST or by FINs from both sides.
    pub fn ended(&self) -> bool {
        self.state.ended()
    }

    /// Closed without a RST, one side's FIN not acknowledged although its
    /// peer's ACKs were captured: the FIN or its ACK was lost, and the FIN
    /// will come again after a retransmission timeout of up to seconds
    /// (3 s after a lost SYN).
    pub(super) fn awaits_fin_retransmission(&self) -> bool {
        self.state == State::Closed
            && self.rst_count == 0
            && (0..2).any(|s| {
                let peer_ack = self.ep[1 - s].highest_ack_rel.get();
                self.ep[s].fin_seen() && peer_ack.is_some_and(|a| a < self.ep[s].next_rel)
            })
    }

    /// Zeek's `conn_state()` for this connection.
    pub fn zeek_state(&self) -> &'static str {
        self.zeek
            .conn_state(self.ep[0].bytes == 0 && self.ep[1].bytes == 0)
    }

    /// Zeek's history letters (upper case from Zeek's originator).
    pub fn history(&self) -> &str {
        self.zeek.history()
    }

    /// Zeek's originator: our server when Zeek flipped the roles.
    pub fn zeek_orig(&self) -> Side {
        self.zeek.orig()
    }

    /// Zeek's `missed_bytes`: content gaps below the peer's ACKs while the
    /// connection was established.
    pub fn zeek_missed_bytes(&self) -> u64 {
        self.zeek.missed_bytes()
    }

    /// A pure SYN on this tuple: does it start a new connection? Yes when
    /// its ISN differs from the one its sender used here (the port was
    /// reused, whether or not this connection was seen to end); a SYN
    /// retransmission, same ISN, never does.
    pub(super) fn is_new_generation(&self, seg: &Segment) -> bool {
        let f = seg.flags;
        if !f.syn() || f.ack() || f.rst() {
            return false;
        }
        let ep = self.side(self.sender_side(seg));
        let same_isn = match ep.isn() {
            Some(isn) => isn == seg.seq,
            // SYN not captured: the peer's ACK of it fixed the origin.
            None => ep.base() == Some(seg.seq),
        };
        !same_isn
    }

    pub(super) fn sender_side(&self, seg: &Segment) -> Side {
        if self.ep[0].is_at(&seg.src) && self.ep[1].is_at(&seg.dst) {
            Side::Client
        } else {
            Side::Server
        }
    }

    /// Feeds one segment: all state changes of a connection happen here.
    pub(super) fn push(&mut self, seg: &Segment, at: Timestamp, cfg: &TrackerConfig) {
        let from = self.sender_side(seg);
        let (me, peer) = (from.idx(), from.peer().idx());
        let f = seg.flags;
        if f.fin() && self.ended_at.is_some() {
            self.fins_after_end = self.fins_after_end.saturating_add(1);
        }
        let ord = self.segments();
        let prev_last_time = if ord == 0 { None } else { Some(self.last_time) };
        if seg.ts > self.last_time {
            self.last_time = seg.ts;
        }
        self.last_at = self.last_at.max(at);
        self.observed_until = self.observed_until.max(at);
        self.last_frame = self.last_frame.max(seg.frame);

        // Relative sequence numbers: the ISN when the SYN is captured, else
        // as if a SYN had come just before the first byte seen.
        if f.syn() && self.ep[me].isn().is_none() {
            self.ep[me].set_isn(seg.seq);
            self.ep[me].init_base(seg.seq);
            self.ep[me].set_wscale(seg.wscale);
        } else if self.ep[me].base().is_none() {
            // A bare RST from a side never synchronised (a refusal) carries
            // its own seq, usually 0: show it as tcpdump does.
            let before = u32::from(!f.rst());
            self.ep[me].init_base(seg.seq.wrapping_sub(before));
        }
        let rel_seq = self.ep[me].rel(seg.seq);
        let end_rel = rel_seq.saturating_add(i64::from(seg.seq_len()));
        let was_seen = self.ep[me].seen();
        let rxmit = !f.rst() && seg.payload_len > 0 && was_seen && end_rel <= self.ep[me].next_rel;
        if (rxmit || (f.fin() && was_seen && end_rel <= self.ep[me].next_rel))
            && self.ep[Side::Server.idx()].first_payload_ts.is_some()
        {
            self.resent_after_answer = self.resent_after_answer.saturating_add(1);
        }

        // Acknowledgement of the peer's sequence space.
        let mut rel_ack = None;
        if f.ack() {
            if self.ep[peer].base().is_none() {
                self.ep[peer].init_base(seg.ack.wrapping_sub(1));
            }
            let a = self.ep[peer].rel(seg.ack);
            rel_ack = Some(a);
            // ACKs extend the peer's sequence space too, so a capture that
            // holds only one direction keeps 64-bit positions past 2 GiB.
            if !f.rst() {
                self.ep[peer].advance_ref(seg.ack, a);
            }
            // ACKs in RSTs are not trusted (Zeek does the same).
            if !f.rst() {
                let ep = &mut self.ep[me];
                if ep.highest_ack_rel.get().is_none_or(|h| a > h) {
                    ep.highest_ack_rel = Maybe::some(a);
                    ep.set_highest_ack(seg.ack);
                }
                let p = &mut self.ep[peer];
                if p.seen() && a > p.next_rel && a > p.acked_unseen_until() {
                    p.acked_unseen(a);
                }
            }
        }

        if from == Side::Server
            && self.state == State::SynSent
            && seg.payload_len == 0
            && !f.syn()
            && !f.fin()
            && !f.rst()
            && rel_ack.is_some_and(|a| a < 1 || a > self.ep[peer].next_rel)
        {
            self.stale_acks = self.stale_acks.saturating_add(1);
        }

        self.zeek.on_segment(from, seg, rel_seq, rel_ack, rxmit);

        // Handshake.
        if f.syn() && !f.ack() && !f.rst() && from == Side::Client {
            self.handshake.syn_count = self.handshake.syn_count.saturating_add(1);
            if self.handshake.syn.is_none() {
                self.handshake.syn = Maybe::some(seg.ts);
                self.handshake.syn_ord = MaybeOrd::some(ord);
            }
            if self.handshake.synack.is_none() {
                self.handshake.syn_answered = Maybe::some(seg.ts);
            }
        }
        if f.syn() && f.ack() && !f.rst() && from == Side::Server {
            self.handshake.synack_count = self.handshake.synack_count.saturating_add(1);
            if self.handshake.synack.is_none() {
                self.handshake.synack = Maybe::some(seg.ts);
                self.handshake.synack_ord = MaybeOrd::some(ord);
                // Window scaling is in force only when both SYNs offered it.
                if self.ep[0].wscale().is_none() || seg.wscale.is_none() {
                    self.ep[0].set_wscale(None);
                    self.ep[1].set_wscale(None);
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
            self.handshake.ack = Maybe::some(seg.ts);
            self.handshake.ack_ord = MaybeOrd::some(ord);
        }

        // RST facts, before this segment updates the per-side counters, so
        // "before the RST" means what it says.
        let stale_reply = f.rst() && self.rejects_stale_ack(from, seg);
        if f.rst() {
            self.rst_count = self.rst_count.saturating_add(1);
            self.ep[me].rsts = self.ep[me].rsts.saturating_add(1);
        }
        if f.rst() && !stale_reply {
            match &mut self.first_rst {
                None => {
                    let fact = self.rst_fact(from, seg, ord, rel_seq, prev_last_time);
                    self.first_rst = Some(Box::new(fact));
                    self.timeline.mark_last_from(from.peer());
                }
                Some(r) => {
                    let peer_silent = self.ep[peer]
                        .last_ord
                        .get()
                        .is_none_or(|p| p < r.last_burst_ord);
                    // A kernel that reset a connection answers each of the
                    // peer's segments still arriving with a bare RST whose
                    // seq is that segment's ACK (RFC 793); segments it had
                    // received but not yet processed when it reset are
                    // answered back to back, captured before the first RST.
                    let kernel_reply = !f.ack() && self.ep[peer].highest_ack() == Some(seg.seq);
                    if r.by == from
                        && peer_silent
                        && !kernel_reply
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
            // Only sequence space beyond the RST is new sending: a FIN or
            // data sent before it and captured after it is reordering.
            if r.by == from && end_rel > r.rel_seq {
                r.sender_kept_sending = r.sender_kept_sending.saturating_add(1);
            }
        }

        // Per-side counters.
        if from == Side::Server
            && seg.payload_len > 0
            && !f.rst()
            && self.response_at.is_none()
            && self.ep[0].first_payload_ts.is_some()
        {
            self.response_at = Maybe::some(seg.ts);
        }
        let ep = &mut self.ep[me];
        ep.packets = ep.packets.saturating_add(1);
        ep.bytes = ep.bytes.saturating_add(u64::from(seg.payload_len));
        if end_rel > ep.next_rel || !was_seen {
            ep.next_rel = end_rel;
        }
        ep.advance_ref(seg.seq, rel_seq);
        if seg.payload_len > 0 && !f.rst() {
            let pstart = rel_seq.saturating_add(i64::from(f.syn()));
            let pend = pstart.saturating_add(i64::from(seg.payload_len));
            ep.count_payload(pstart, pend, seg.ts);
            if pend > ep.payload_end_rel {
                ep.payload_end_rel = pend;
            }
            ep.bytes_since_peer_payload = ep
                .bytes_since_peer_payload
                .saturating_add(u64::from(seg.payload_len));
        }
        if !f.rst() {
            ep.ttl_min = ep.ttl_min.min(seg.ttl);
            ep.ttl_max = ep.ttl_max.max(seg.ttl);
            ep.set_last_ttl(seg.ttl);
            ep.window = seg.window;
            ep.set_window_scaled(!f.syn());
        }
        ep.gap_before_last = prev_last_time.map(|t| seg.ts.0.saturating_sub(t.0)).into();
        ep.last_ts = Maybe::some(seg.ts);
        ep.last_ord = MaybeOrd::some(ord);
        ep.last_kind = ReplyTo::of(seg);
        let mut key = f.rst() && self.first_rst.as_ref().is_some_and(|r| r.ord == ord);
        if f.fin() && !ep.fin_seen() {
            ep.set_fin(FinFact {
                ord,
                frame: seg.frame,
                ts: seg.ts,
                at,
            });
            key = true;
        }
        if seg.payload_len > 0 && !f.rst() {
            self.ep[peer].bytes_since_peer_payload = 0;
        }
        let control = self.control(from, seg, stale_reply);
        self.set_state(self.next_state(from, control), at);
        key |= self.handshake.syn_ord == MaybeOrd::some(ord)
            || self.handshake.synack_ord == MaybeOrd::some(ord)
            || self.handshake.ack_ord == MaybeOrd::some(ord);

        let base = self.head_base();
        self.timeline.push(
            TimelineEntry {
                ord,
                frame: seg.frame,
                ts: seg.ts,
                from,
                flags: f,
                rel_seq,
                rel_ack,
                window: seg.window,
                len: seg.payload_len,
                key,
            },
            base,
            cfg,
        );
    }

    /// A bare RST from a client still in SYN-SENT at the server's latest
    /// ACK, when that ACK did not acknowledge its SYN: RFC 793's answer to
    /// an unacceptable ACK, such as the challenge ACK (RFC 5961) a server
    /// sends to a SYN on a tuple where it still holds an older connection.
    /// It resets that older connection on the server; this attempt stays
    /// in SYN-SENT and its SYN is retried.
    fn rejects_stale_ack(&self, from: Side, seg: &Segment) -> bool {
        let client = &self.ep[Side::Client.idx()];
        from == Side::Client
            && self.state == State::SynSent
            && !seg.flags.ack()
            && self.ep[Side::Server.idx()].highest_ack() == Some(seg.seq)
            && client.isn().map(|i| i.wrapping_add(1)) != Some(seg.seq)
    }

    /// The segment's effect on the state, from its flags and, for a RST in
    /// SYN-SENT, whether it acknowledges the SYN or only rejects a stale
    /// ACK (`stale_reply`, from [`Self::rejects_stale_ack`]).
    fn control(&self, from: Side, seg: &Segment, stale_reply: bool) -> Control {
        let f = seg.flags;
        if stale_reply {
            Control::Rst { acceptable: false }
        } else if f.rst() {
            let acceptable = !(self.state == State::SynSent
                && from == Side::Server
                && !(f.ack() && self.ep[0].isn().map(|i| i.wrapping_add(1)) == Some(seg.ack)));
            Control::Rst { acceptable }
        } else if f.syn() {
            if f.ack() {
                Control::SynAck
            } else {
                Control::Syn
            }
        } else if f.fin() {
            Control::Fin
        } else if from == Side::Client && self.state == State::SynReceived && f.ack() {
            Control::HandshakeAck
        } else {
            Control::Other
        }
    }

    /// All state transitions, in one match over state and control.
    fn next_state(&self, from: Side, control: Control) -> State {
        use State::*;
        match (self.state, control) {
            (Reset | Closed, _) => self.state,
            (_, Control::Rst { acceptable: false }) => self.state,
            (_, Control::Rst { acceptable: true }) => Reset,
            (Unsynchronised | SynSent, Control::Syn) => SynSent,
            (Unsynchronised | SynSent | SynReceived, Control::SynAck) => SynReceived,
            (SynReceived, Control::HandshakeAck) => Established,
            (HalfClosed(closer), Control::Fin) if closer != from => Closed,
            (HalfClosed(_), _) => self.state,
            (_, Control::Fin) => HalfClosed(from),
            (Unsynchronised, _) => Established,
            (state, _) => state,
        }
    }

    /// The one place the state changes; entering closed or reset records
    /// when the connection ended.
    fn set_state(&mut self, next: State, at: Timestamp) {
        if next.ended() && !self.state.ended() {
            self.ended_at = Maybe::some(at);
        }
        self.state = next;
    }

    /// Marks the segment count at which the connection ended, for expiry
    /// when time stands still.
    pub(super) fn note_ended_at_segment(&mut self, segment: u64) {
        self.ended_at_segment = segment;
    }

    pub(super) fn rst_fact(
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
        let reply_to = match (peer.last_ord.get(), me.last_ord.get()) {
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
            ttl_delta: me.last_ttl().map(|t| i16::from(seg.ttl) - i16::from(t)),
            in_window: self.rst_in_window(from, seg),
            reply_to,
            latency: peer.last_ts.get().map(|t| seg.ts.0.saturating_sub(t.0)),
            idle_before: prev_last_time.map(|t| seg.ts.0.saturating_sub(t.0)),
            handshake_done: self.handshake.ack.get(),
            syn_before: self.handshake.syn.is_some(),
            synack_before: self.handshake.synack.is_some(),
            client_fin_before: client.fin_seen(),
            server_fin_before: server.fin_seen(),
            client_bytes_before: client.unique_bytes,
            server_bytes_before: server.unique_bytes,
            client_segments_before: client.packets,
            server_segments_before: server.packets,
            server_acked_client_data: client.bytes > 0
                && server
                    .highest_ack_rel
                    .get()
                    .is_some_and(|a| a >= client.payload_end_rel),
            server_bytes_after_client_data: server.bytes_since_peer_payload,
            client_bytes_after_server_data: client.bytes_since_peer_payload,
            synack_after_ack_before: self.handshake.synack_after_ack,
            burst: 0,
            sender_kept_sending: 0,
            last_burst_ts: seg.ts,
            last_burst_ord: ord,
            server_sent_unseen: server.bytes == 0
                && client
                    .highest_ack_rel
                    .get()
                    .is_some_and(|a| a > 1 + i64::from(server.fin_seen())),
            sender_ttl_range: me.last_ttl().map(|_| (me.ttl_min, me.ttl_max)),
            idle_before_answered: if reply_to == ReplyTo::None {
                None
            } else {
                peer.gap_before_last.get()
            },
            server_bytes_unacked: client
                .highest_ack_rel
                .get()
                .map_or(server.payload_end_rel, |a| {
                    server.payload_end_rel.saturating_sub(a)
                })
                .max(0) as u64,
        }
    }

    /// RFC 5961 §3.2: a RST is acceptable only if its sequence number is in
    /// the receiver's window (RCV.NXT <= seq < RCV.NXT + RCV.WND).
    pub(super) fn rst_in_window(&self, from: Side, seg: &Segment) -> Option<bool> {
        let rcv = &self.ep[from.peer().idx()];
        match rcv.highest_ack() {
            Some(rcv_nxt) => {
                let d = seq_diff(seg.seq, rcv_nxt);
                let inside = |wnd: i64| if wnd == 0 { d == 0 } else { d >= 0 && d < wnd };
                let raw = i64::from(rcv.window);
                // The scale is known only when both SYNs were captured (it
                // is negotiated there); a SYN's own window is never scaled.
                let scale_known = self.handshake.syn.is_some() && self.handshake.synack.is_some();
                if !rcv.window_scaled() {
                    Some(inside(raw))
                } else if scale_known {
                    Some(inside(raw << u32::from(rcv.wscale().unwrap_or(0).min(14))))
                } else if inside(raw) {
                    Some(true)
                } else if inside(raw << 14) {
                    // Inside the window for some scale, outside it for
                    // others: the wire cannot tell.
                    None
                } else {
                    Some(false)
                }
            }
            // The receiver only sent a SYN (SYN-SENT): RFC 793 accepts the
            // RST when it acknowledges that SYN.
            None => match rcv.isn() {
                Some(isn) if seg.flags.ack() => Some(seg.ack == isn.wrapping_add(1)),
                _ => None,
            },
        }
    }
}
