//! Zeek's view of a connection: its endpoint state machine (for
//! `conn_state`) and its `history` letters, computed by Zeek's documented
//! rules so the two tools can be compared line by line.

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

fn letter(c: char, from: Side) -> char {
    match from {
        Side::Client => c.to_ascii_uppercase(),
        Side::Server => c.to_ascii_lowercase(),
    }
}

/// Both endpoints' Zeek state and the connection's history letters.
#[derive(Clone, Debug, Default)]
pub struct Zeek {
    ep: [ZeekEndpoint; 2],
    history: String,
    /// A segment was seen (the first one decides Zeek's `^`).
    started: bool,
}

impl Zeek {
    pub fn history(&self) -> &str {
        &self.history
    }

    /// The peer ACKed sequence space `side` was never seen sending, for the
    /// `gaps`-th time: Zeek's `G`/`g`, on the logarithmic scale.
    pub fn gap(&mut self, side: Side, gaps: u32) {
        if log_letter_due(gaps) {
            self.history.push(letter('G', side));
        }
    }

    /// One segment from `from`, in Zeek's order: history letters, zero
    /// window and retransmission letters, then the endpoint state machine.
    pub fn on_segment(&mut self, from: Side, seg: &Segment, rel_seq: i64, rxmit: bool) {
        let (me, peer) = (from.idx(), from.peer().idx());
        // Zeek's originator is the first packet's sender until it flips
        // roles, which it marks with `^`: our client is the originator after
        // the flip, so a first segment from our server means Zeek flipped.
        if !self.started {
            self.started = true;
            if from == Side::Server {
                self.history.push('^');
            }
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
                self.history.push(letter('W', from));
            }
        }
        if rxmit && self.ep[me].state != ZeekState::Reset {
            let z = &mut self.ep[me];
            z.rxmit = z.rxmit.saturating_add(1);
            if log_letter_due(z.rxmit) {
                self.history.push(letter('T', from));
            }
        }
        self.update_state(from, seg);
    }

    /// Zeek's history letters, per `update_history()` in Zeek's TCP analyzer:
    /// `S H F R` again only when the sequence number differs from the last
    /// one of that kind; `A D I Q` once per direction.
    fn update_history(&mut self, from: Side, seg: &Segment, rel_seq: i64) {
        let f = seg.flags;
        let z = &mut self.ep[from.idx()];
        let history = &mut self.history;
        let bits = u8::from(f.syn()) + u8::from(f.fin()) + u8::from(f.rst());
        // Once per direction and kind.
        let mut once = |z: &mut ZeekEndpoint, mask: u16, c: char| {
            if z.seen & mask == 0 {
                z.seen |= mask;
                history.push(letter(c, from));
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
                history.push(letter(c, from));
            }
        }
        *last = at;
    }

    /// Zeek's endpoint state machine (`UpdateStateMachine`), reduced to the
    /// transitions that decide `conn_state`. Orig is our client.
    fn update_state(&mut self, from: Side, seg: &Segment) {
        use ZeekState::*;
        let f = seg.flags;
        let is_orig = from == Side::Client;
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
                    let orig_syn_sent = self.ep[0].state == SynSent;
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

    /// Zeek's `conn_state()` over the endpoint states, orig = client;
    /// `no_payload` is true when neither side sent payload.
    pub fn conn_state(&self, no_payload: bool) -> &'static str {
        let os = self.ep[0].state;
        let rs = self.ep[1].state;
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
