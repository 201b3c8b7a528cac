//! Zeek's view of a connection: its endpoint state machine (for
//! `conn_state`) and its `history` letters, computed by Zeek's documented
//! rules so the two tools can be compared line by line.

use compact_str::CompactString;
use thin_vec::ThinVec;

use crate::wire::Segment;

use super::side::Side;

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
#[derive(Clone, Debug)]
pub struct ZeekEndpoint {
    state: ZeekState,
    prev_state: ZeekState,
    /// Letters already recorded once (bit per letter kind).
    seen: u16,
    /// Relative sequence number of the last SYN, FIN and RST sent, or
    /// [`NO_SEQ`] (relative numbers never go below -2^31).
    last_syn: i64,
    last_fin: i64,
    last_rst: i64,
    /// How often S/H, F and R were recorded: past [`REPEATS_IN_FULL`] a
    /// repeat is recorded only at the 100th, 1000th..., so `history` stays
    /// short on a connection with 100 000 RSTs.
    syn_rep: u32,
    fin_rep: u32,
    rst_rep: u32,
    /// Retransmissions and zero windows; the letter is recorded when the
    /// count is a power of ten.
    rxmit: u32,
    zero_win: u32,
}

impl Default for ZeekEndpoint {
    fn default() -> Self {
        ZeekEndpoint {
            state: ZeekState::Inactive,
            prev_state: ZeekState::Inactive,
            seen: 0,
            last_syn: NO_SEQ,
            last_fin: NO_SEQ,
            last_rst: NO_SEQ,
            syn_rep: 0,
            fin_rep: 0,
            rst_rep: 0,
            rxmit: 0,
            zero_win: 0,
        }
    }
}

impl ZeekEndpoint {
    fn set_state(&mut self, s: ZeekState) {
        self.prev_state = self.state;
        self.state = s;
    }
}

/// "No such segment yet" for [`ZeekEndpoint`]'s sequence numbers.
const NO_SEQ: i64 = i64::MIN;

/// Repeated S/H/F/R letters written one by one, as Zeek does; beyond this
/// count only on the logarithmic scale of Zeek's T/W/G letters.
const REPEATS_IN_FULL: u32 = 10;

/// Zeek's logarithmic letters: recorded at the 1st, 10th, 100th...
/// occurrence.
fn log_letter_due(count: u32) -> bool {
    let mut n = count;
    while n >= 10 && n % 10 == 0 {
        n /= 10;
    }
    n == 1
}

const HIST_SYN: u16 = 1;
const HIST_FIN: u16 = 2;
const HIST_RST: u16 = 4;
const HIST_ACK: u16 = 8;
const HIST_DATA: u16 = 16;
const HIST_FIN_RST: u16 = 32;
const HIST_MULTI: u16 = 64;

/// Upper case from Zeek's originator, lower case from its responder.
fn letter(c: char, from_orig: bool) -> char {
    if from_orig {
        c.to_ascii_uppercase()
    } else {
        c.to_ascii_lowercase()
    }
}

/// Zeek's `likely_server_ports` for TCP as a default `zeek -r` (base
/// scripts) fills it: the ports its protocol analyzers register. A
/// connection whose first packet is not a pure SYN is flipped by them.
const LIKELY_SERVER_PORTS: [u16; 49] = [
    21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502, 514, 563, 585, 587,
    614, 631, 636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389, 5222,
    5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
];

fn likely_server_port(p: u16) -> bool {
    LIKELY_SERVER_PORTS.binary_search(&p).is_ok()
}

/// Zeek's `TCPAnalyzer::WantConnection` flip for a connection's first
/// packet: only when it is not a pure SYN and its source port is a likely
/// server port (if both are, only for a non-SYN towards a higher port).
fn flips_at_start(seg: &Segment) -> bool {
    let f = seg.flags;
    if f.syn() && !f.ack() {
        return false;
    }
    let (sp, dp) = (seg.src.port(), seg.dst.port());
    if !likely_server_port(sp) {
        return false;
    }
    if likely_server_port(dp) {
        !f.syn() && sp < dp
    } else {
        true
    }
}

/// One direction's sequence space as Zeek's reassembler sees it: what was
/// captured contiguously from the start, and the captured blocks above a
/// hole. A peer ACK beyond the contiguous part makes each hole below it a
/// content gap (`G`/`g`, and `missed_bytes`), as `TCP_Reassembler::
/// Undelivered` does.
#[derive(Clone, Debug)]
struct Reassembly {
    /// One past the last byte delivered in order (relative; data starts at 1).
    delivered: i64,
    /// Captured blocks above `delivered`, sorted and disjoint.
    blocks: ThinVec<(i64, i64)>,
    /// Relative position of this side's FIN, or [`NO_SEQ`]: ACKs of the
    /// FIN are not ACKs of data.
    fin_at: i64,
}

/// `Reassembly::delivered` once there were too many blocks above a hole:
/// nothing lies beyond it, so no data or ACK is looked at again (Zeek
/// gives up reassembly in the same situation).
const GIVEN_UP: i64 = i64::MAX;

impl Default for Reassembly {
    fn default() -> Self {
        Reassembly {
            delivered: 1,
            blocks: ThinVec::new(),
            fin_at: NO_SEQ,
        }
    }
}

/// Blocks above a hole kept per direction before giving up.
const MAX_BLOCKS: usize = 1024;

impl Reassembly {
    /// Captured payload `[start, end)`.
    fn data(&mut self, start: i64, end: i64) {
        if end <= self.delivered {
            return;
        }
        if start <= self.delivered {
            self.delivered = end;
            self.absorb();
            return;
        }
        let i = self.blocks.partition_point(|b| b.1 < start);
        let mut s = start;
        let mut e = end;
        while i < self.blocks.len() && self.blocks[i].0 <= e {
            s = s.min(self.blocks[i].0);
            e = e.max(self.blocks[i].1);
            self.blocks.remove(i);
        }
        self.blocks.insert(i, (s, e));
        if self.blocks.len() > MAX_BLOCKS {
            self.delivered = GIVEN_UP;
            self.blocks = ThinVec::new();
        }
    }

    /// Blocks that now continue the delivered part.
    fn absorb(&mut self) {
        let n = self
            .blocks
            .iter()
            .take_while(|b| b.0 <= self.delivered)
            .count();
        for b in self.blocks.drain(..n) {
            self.delivered = self.delivered.max(b.1);
        }
    }

    /// The peer acknowledged up to `ack`: the holes below it, in order.
    fn acked(&mut self, ack: i64, mut gap: impl FnMut(u64)) {
        let ack = if self.fin_at != NO_SEQ {
            ack.min(self.fin_at)
        } else {
            ack
        };
        if ack <= self.delivered {
            return;
        }
        while let Some(&(s, e)) = self.blocks.first() {
            if s >= ack {
                break;
            }
            gap((s - self.delivered).unsigned_abs());
            self.delivered = e;
            self.blocks.remove(0);
            self.absorb();
        }
        if ack > self.delivered {
            gap((ack - self.delivered).unsigned_abs());
            self.delivered = ack;
        }
    }
}

/// Both endpoints' Zeek state and the connection's history letters.
/// Endpoints are indexed by our [`Side`]; `orig` says which of them is
/// Zeek's originator, which may be our server and may change once.
#[derive(Clone, Debug)]
pub struct Zeek {
    ep: [ZeekEndpoint; 2],
    reasm: [Reassembly; 2],
    history: CompactString,
    /// Zeek's originator (`Side::Client` until the first segment).
    orig: Side,
    /// Zeek's `is_partial`: a side's first segment was not a SYN.
    partial: bool,
    /// Sides whose first segment was seen (bit per [`Side::idx`]).
    sides_seen: u8,
    /// Zeek's `missed_bytes`: content gaps while both sides were cleanly
    /// established (or closing from there).
    missed: u64,
    /// Content gaps per direction (by [`Side::idx`] of the side whose data
    /// is missing), for the `G` letter's powers of ten: here rather than in
    /// each `Reassembly`, where the padding after it cost 8 bytes a side.
    gaps: [u32; 2],
    /// The outer UDP flow of the latest segment (`Segment::outer_flow`),
    /// and how often it changed, up to [`TUNNEL_CHANGES`] + 1.
    outer_flow: u32,
    tunnel_changes: u8,
}

/// Zeek's `Tunnel::max_changes_per_connection`: tunnel changes it reports
/// before the next one sets `X` (an analyzer limit reached) instead.
const TUNNEL_CHANGES: u8 = 5;

impl Default for Zeek {
    fn default() -> Self {
        Zeek {
            ep: Default::default(),
            reasm: Default::default(),
            history: CompactString::default(),
            orig: Side::Client,
            partial: false,
            sides_seen: 0,
            missed: 0,
            gaps: [0; 2],
            outer_flow: 0,
            tunnel_changes: 0,
        }
    }
}

impl Zeek {
    pub fn history(&self) -> &str {
        &self.history
    }

    /// Zeek's originator.
    pub fn orig(&self) -> Side {
        self.orig
    }

    /// Zeek's `missed_bytes`.
    pub fn missed_bytes(&self) -> u64 {
        self.missed
    }

    /// Zeek's endpoint state of `side`.
    pub(super) fn endpoint_state(&self, side: Side) -> ZeekState {
        self.ep[side.idx()].state
    }

    /// Zeek's `Connection::FlipRoles`: the other side is the originator.
    fn flip(&mut self) {
        self.orig = self.orig.peer();
        self.history.push('^');
    }

    /// One segment from `from`, in Zeek's order: history letters, zero
    /// window and retransmission letters, the endpoint state machine, then
    /// the ACK's content gaps and the payload's place in the sequence
    /// space. `rel_ack` is the ACK in the peer's relative space.
    pub fn on_segment(
        &mut self,
        from: Side,
        seg: &Segment,
        rel_seq: i64,
        rel_ack: Option<i64>,
        rxmit: bool,
    ) {
        let (me, peer) = (from.idx(), from.peer().idx());
        let f = seg.flags;
        // The first segment (no side seen yet) decides Zeek's originator.
        if self.sides_seen == 0 {
            self.orig = from;
            self.outer_flow = seg.outer_flow;
            if flips_at_start(seg) {
                self.flip();
            }
        } else if seg.outer_flow != self.outer_flow {
            // Zeek's `Connection::CheckEncapsulation`, before the packet's
            // own letters.
            self.outer_flow = seg.outer_flow;
            if self.tunnel_changes == TUNNEL_CHANGES {
                self.history.push('X');
            }
            self.tunnel_changes = self
                .tunnel_changes
                .saturating_add(1)
                .min(TUNNEL_CHANGES + 1);
        }
        if self.sides_seen & (1 << me) == 0 {
            self.sides_seen |= 1 << me;
            self.partial |= !f.syn() || (from == self.orig && f.ack());
        }
        self.update_history(from, seg, rel_seq);
        let f = seg.flags;
        if seg.window == 0
            && !f.rst()
            && self.ep[peer].state != ZeekState::Closed
            && self.ep[me].state != ZeekState::Reset
        {
            let z = &mut self.ep[me];
            z.zero_win = z.zero_win.saturating_add(1);
            if log_letter_due(z.zero_win) {
                self.history.push(letter('W', from == self.orig));
            }
        }
        if rxmit && self.ep[me].state != ZeekState::Reset {
            let z = &mut self.ep[me];
            z.rxmit = z.rxmit.saturating_add(1);
            if log_letter_due(z.rxmit) {
                self.history.push(letter('T', from == self.orig));
            }
        }
        self.update_state(from, seg);
        if f.fin() {
            let at = rel_seq
                .saturating_add(i64::from(f.syn()))
                .saturating_add(i64::from(seg.payload_len));
            self.reasm[me].fin_at = at;
        }
        if let Some(a) = rel_ack.filter(|_| f.ack()) {
            self.ack_received(from.peer(), a);
        }
        if seg.payload_len > 0 && !f.rst() && !seg.snap_cut {
            let start = rel_seq.saturating_add(i64::from(f.syn()));
            let end = start.saturating_add(i64::from(seg.payload_len));
            self.reasm[me].data(start, end);
        }
    }

    /// `side`'s data was ACKed up to `ack`: each hole below it is a content
    /// gap, lettered and counted only while both sides are established or
    /// closing from there (gaps seen in a RST or in a partial connection's
    /// first ACK are not trusted), as Zeek's `TCP_Reassembler::Gap` does.
    fn ack_received(&mut self, side: Side, ack: i64) {
        if ack <= 2 && self.partial {
            return;
        }
        let clean = |z: &ZeekEndpoint| {
            z.state == ZeekState::Established
                || (z.state == ZeekState::Closed && z.prev_state == ZeekState::Established)
        };
        let trusted = clean(&self.ep[0]) && clean(&self.ep[1]);
        let upper = side == self.orig;
        let i = side.idx();
        let (reasm, history, missed, gaps) = (
            &mut self.reasm[i],
            &mut self.history,
            &mut self.missed,
            &mut self.gaps[i],
        );
        reasm.acked(ack, |len| {
            if trusted {
                *gaps = gaps.saturating_add(1);
                if log_letter_due(*gaps) {
                    history.push(letter('G', upper));
                }
                *missed = missed.saturating_add(len);
            }
        });
    }

    /// Zeek's history letters, per `update_history()` in Zeek's TCP analyzer:
    /// `S H F R` again only when the sequence number differs from the last
    /// one of that kind; `A D I Q` once per direction.
    fn update_history(&mut self, from: Side, seg: &Segment, rel_seq: i64) {
        let f = seg.flags;
        let bits = u8::from(f.syn()) + u8::from(f.fin()) + u8::from(f.rst());
        if bits == 0 && (seg.payload_len > 0 || f.ack()) && self.history == "H" {
            // A connection that began with a SYN-ACK: once an ACK or data
            // follows, Zeek takes the SYN-ACK's sender for the responder
            // (`TCP_Endpoint::CheckHistory`) and rewrites the history.
            self.orig = self.orig.peer();
            self.history = CompactString::const_new("^h");
        }
        let upper = from == self.orig;
        let z = &mut self.ep[from.idx()];
        let history = &mut self.history;
        // Once per direction and kind.
        let mut once = |z: &mut ZeekEndpoint, mask: u16, c: char| {
            if z.seen & mask == 0 {
                z.seen |= mask;
                history.push(letter(c, upper));
            }
        };
        if bits > 1 {
            if f.fin() && f.rst() {
                once(z, HIST_FIN_RST, 'I');
            } else {
                once(z, HIST_MULTI, 'Q');
            }
            return;
        }
        if bits == 0 {
            if seg.payload_len > 0 {
                once(z, HIST_DATA, 'D');
            } else if f.ack() {
                once(z, HIST_ACK, 'A');
            }
            return;
        }
        // A control letter: the first of its kind, or a repeat whose
        // sequence number differs from the last one of that kind.
        let (mask, c, at) = if f.syn() {
            (HIST_SYN, if f.ack() { 'H' } else { 'S' }, rel_seq)
        } else if f.fin() {
            let at = rel_seq.saturating_add(i64::from(seg.payload_len));
            (HIST_FIN, 'F', at)
        } else {
            (HIST_RST, 'R', rel_seq)
        };
        let (last, reps) = match mask {
            HIST_SYN => (&mut z.last_syn, &mut z.syn_rep),
            HIST_FIN => (&mut z.last_fin, &mut z.fin_rep),
            _ => (&mut z.last_rst, &mut z.rst_rep),
        };
        let first = z.seen & mask == 0;
        z.seen |= mask;
        if first || *last != at {
            *reps = reps.saturating_add(1);
            if *reps <= REPEATS_IN_FULL || log_letter_due(*reps) {
                history.push(letter(c, upper));
            }
        }
        *last = at;
    }

    /// Zeek's endpoint state machine (`UpdateStateMachine`), reduced to the
    /// transitions that decide `conn_state`, for Zeek's originator.
    fn update_state(&mut self, from: Side, seg: &Segment) {
        use ZeekState::*;
        let f = seg.flags;
        let is_orig = from == self.orig;
        let (me, peer) = (from.idx(), from.peer().idx());
        let state = self.ep[me].state;
        match state {
            Inactive => {
                if f.syn() {
                    if is_orig {
                        self.ep[me].set_state(if f.ack() { SynAckSent } else { SynSent });
                    } else {
                        if self.ep[peer].state == SynSent {
                            self.ep[peer].set_state(Established);
                        }
                        self.ep[me].set_state(Established);
                    }
                }
                if f.fin() {
                    self.ep[me].set_state(Closed);
                }
                if f.rst() {
                    self.ep[me].set_state(Reset);
                }
                if self.ep[me].state == Inactive {
                    let orig_syn_sent = self.ep[self.orig.idx()].state == SynSent;
                    if !is_orig && seg.payload_len == 0 && orig_syn_sent {
                        // An ACK of the SYN before the SYN-ACK: not partial.
                    } else if f.ack() && self.ep[peer].state == Established {
                        self.ep[me].set_state(Established);
                    } else {
                        self.ep[me].set_state(Partial);
                    }
                }
            }
            SynSent | SynAckSent => {
                if f.fin() {
                    self.ep[me].set_state(Closed);
                }
                if f.rst() {
                    self.ep[me].set_state(Reset);
                }
            }
            Established | Partial => {
                if f.syn() && state == Partial && self.ep[peer].state == Inactive && !f.ack() {
                    self.ep[me].set_state(SynSent);
                }
                if f.fin() && !f.rst() {
                    self.ep[me].set_state(Closed);
                    let p = &mut self.ep[peer];
                    if p.state == Reset && p.prev_state == Closed {
                        // FIN then RST from the peer was a normal close.
                        p.set_state(Closed);
                    }
                }
                if f.rst() {
                    self.ep[me].set_state(Reset);
                }
            }
            Closed => {
                if f.rst() && self.ep[peer].state != Closed {
                    self.ep[me].set_state(Reset);
                }
            }
            Reset => {}
        }
    }

    /// Zeek's `conn_state()` over the endpoint states of Zeek's originator
    /// and responder; `no_payload` is true when neither side sent payload.
    pub fn conn_state(&self, no_payload: bool) -> &'static str {
        let os = self.ep[self.orig.idx()].state;
        let rs = self.ep[self.orig.peer().idx()].state;
        let inactive = |s: ZeekState| matches!(s, ZeekState::Inactive | ZeekState::Partial);
        use ZeekState::*;
        if rs == Reset {
            if os == SynSent || os == SynAckSent || (os == Reset && no_payload) {
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

#[cfg(test)]
mod tests {
    use crate::track::testwire::{Wire, A, P, R, S};
    use crate::track::Side;

    #[test]
    fn a_synack_first_flips_only_once_an_ack_or_data_follows() {
        // Not a likely server port: the SYN-ACK's sender stays the
        // originator while nothing productive follows (a stealth scan).
        let mut w = Wire::between("10.0.0.1:40000", "10.0.0.2:8443");
        w.s(S | A, 0, 1, 0).c(R, 1, 0, 0);
        let c = w.one();
        assert_eq!((c.history(), c.zeek_state()), ("Hr", "REJ"));
        assert_eq!(c.zeek_orig(), Side::Server);
        // An ACK follows: flipped, history rewritten to "^h".
        let mut w = Wire::between("10.0.0.1:40000", "10.0.0.2:8443");
        w.s(S | A, 0, 1, 0).c(A, 1, 1, 0);
        let c = w.one();
        assert_eq!(c.history(), "^hA");
        assert_eq!(c.zeek_orig(), Side::Client);
    }

    #[test]
    fn a_likely_server_port_flips_at_the_first_packet() {
        let mut w = Wire::new();
        w.s(S | A, 0, 1, 0);
        let c = w.one();
        assert_eq!((c.history(), c.zeek_orig()), ("^h", Side::Client));
        // Mid-stream data from a port Zeek has no analyzer for: the first
        // packet's sender is Zeek's originator.
        let mut w = Wire::between("10.0.0.1:40000", "10.0.0.2:9999");
        w.s(P | A, 1, 1, 10).c(P | A, 1, 11, 5);
        let c = w.one();
        assert_eq!((c.history(), c.zeek_orig()), ("Dd", Side::Server));
    }

    #[test]
    fn holes_below_a_later_segment_and_snap_cut_bytes_are_gaps() {
        // 11..21 never captured, 21..31 captured; the ACK of 31 reveals
        // the hole below the later segment.
        let mut w = Wire::new();
        w.handshake()
            .c(P | A, 1, 1, 10)
            .c(P | A, 21, 1, 10)
            .s(A, 1, 31, 0);
        let c = w.one();
        assert_eq!(c.history(), "ShADaG");
        assert_eq!(c.zeek_missed_bytes(), 10);
        // A segment whose payload the snap length cut is missing content.
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 100);
        w.last().snap_cut = true;
        w.s(A, 1, 101, 0);
        let c = w.one();
        assert_eq!(c.history(), "ShADaG");
        assert_eq!(c.zeek_missed_bytes(), 100);
    }

    #[test]
    fn the_sixth_change_of_outer_flow_is_an_x() {
        // GTP-U uplink and downlink on different UDP flows: every change of
        // direction changes the tunnel Zeek sees; the first five are
        // reported, the sixth sets `X`, once.
        let mut w = Wire::new();
        w.handshake();
        for (i, flow) in [1, 2, 1, 2, 1, 2, 1, 2].into_iter().enumerate() {
            if i % 2 == 0 {
                w.c(P | A, 1 + 10 * i as u32 / 2, 1, 10);
            } else {
                w.s(A, 1, 11 + 10 * (i as u32 / 2), 0);
            }
            w.last().outer_flow = flow;
        }
        for s in w.segs.iter_mut().take(3) {
            s.outer_flow = 1;
        }
        // The flow changes at every segment after the first two of the
        // data phase: the sixth change is the client's fourth data segment.
        assert_eq!(w.one().history(), "ShADaX");
    }

    #[test]
    fn a_gap_revealed_by_a_rst_is_not_trusted() {
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 10).s(R | A, 1, 31, 0);
        let c = w.one();
        assert_eq!(c.history(), "ShADr");
        assert_eq!(c.zeek_missed_bytes(), 0);
    }
}
