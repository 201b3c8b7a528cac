//! Zeek's connection splitting, for `flows --zeek-split`: where Zeek ends
//! one conn.log record and starts another on the same tuple, so the two
//! tools' records can be compared line by line.
//!
//! Zeek (`TCPSessionAdapter`, `Session`) ends a record in two ways:
//!
//! - a timer removes the connection, and the tuple's next packet starts a
//!   new one. The timers that remove in a default `zeek -r`: the attempt
//!   timer (`tcp_attempt_delay`, 5 s after the originator's first SYN, if
//!   the responder has still sent nothing), the delete timer
//!   (`tcp_close_delay`, 5 s after the close became complete: a RST, or a
//!   FIN from both sides, or a FIN or RST while the other side was never
//!   seen) and the inactivity timer (`tcp_inactivity_timeout`, 300 s
//!   without a packet; 60 s, `udp_inactivity_timeout`, while both sides are
//!   still in the handshake). Zeek fires timers before it processes the
//!   packet that moved time past them.
//! - `IsReuse`: a SYN (or, while the originator was never seen, a SYN-ACK)
//!   on a connection starts a new one when either side has closed (FIN or
//!   RST), whatever its ISN; otherwise when its sequence number is not the
//!   initial one Zeek knows for that connection's originator.
//!
//! Zeek's other timers do not remove a connection in a default run: the
//! partial-close timer (`tcp_partial_close_delay`, 3 s) and the reset timer
//! are set only when a script handles `connection_partial_close` or
//! `connection_reset`, which the base scripts do not; the expire timer
//! removes only connections the delete timer has already covered.
//!
//! The state is kept beside the table, per tuple, only under
//! `--zeek-split`, from the Zeek endpoint states the connection computes
//! anyway; indexes 0 and 1 are the tuple's lower and higher address.

use rustc_hash::FxHashMap;

use crate::wire::{Segment, Timestamp};

use super::attempt::Attempt;
use super::config::ns;
use super::connection::Connection;
use super::key::TupleKey;
use super::zeek::ZeekState;

/// Zeek's `tcp_attempt_delay`.
pub(super) const ATTEMPT_DELAY: std::time::Duration = std::time::Duration::from_secs(5);
/// Zeek's `tcp_close_delay`.
pub(super) const CLOSE_DELAY: std::time::Duration = std::time::Duration::from_secs(5);
/// Zeek's `tcp_inactivity_timeout`.
pub(super) const INACTIVITY: std::time::Duration = std::time::Duration::from_secs(300);
/// Zeek's `udp_inactivity_timeout`, which a TCP connection has until one
/// side leaves the handshake.
pub(super) const HANDSHAKE_INACTIVITY: std::time::Duration = std::time::Duration::from_secs(60);

const NONE: i64 = i64::MAX;

/// What Zeek does with a connection when the next packet on its tuple
/// arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Split {
    /// The packet belongs to it.
    Continue,
    /// A timer removed it before the packet.
    Removed,
    /// The packet reuses the tuple (`IsReuse`).
    Reused,
}

/// One tuple's Zeek timers and what `IsReuse` reads.
#[derive(Clone, Debug)]
struct Timers {
    /// Zeek's `LastTime` (analysis time, ns): the latest packet until both
    /// sides have closed.
    last: i64,
    /// When the attempt timer fires, or [`NONE`].
    attempt_due: i64,
    /// When the delete timer fires, or [`NONE`].
    delete_due: i64,
    /// Zeek endpoint states after the latest packet, by address index.
    states: [ZeekState; 2],
    /// Address index of Zeek's originator.
    orig: usize,
    /// Zeek's `StartSeq` per address index.
    start: [Option<u32>; 2],
    /// A side left the handshake: the inactivity timeout is TCP's.
    established: bool,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            last: i64::MIN,
            attempt_due: NONE,
            delete_due: NONE,
            states: [ZeekState::Inactive; 2],
            orig: 0,
            start: [None; 2],
            established: false,
        }
    }
}

/// Zeek's `did_close`: the side sent a FIN or RST Zeek acted on.
fn closed(s: ZeekState) -> bool {
    matches!(s, ZeekState::Closed | ZeekState::Reset)
}

fn in_handshake(s: ZeekState) -> bool {
    matches!(
        s,
        ZeekState::Inactive | ZeekState::SynSent | ZeekState::SynAckSent
    )
}

/// Address index of a segment's sender (0: the tuple's lower address).
fn sender_idx(seg: &Segment) -> usize {
    usize::from(seg.src > seg.dst)
}

impl Timers {
    fn removed(&self, now: i64) -> bool {
        let limit = if self.established {
            INACTIVITY
        } else {
            HANDSHAKE_INACTIVITY
        };
        if now.saturating_sub(self.last) >= ns(limit) {
            return true;
        }
        let (o, r) = (self.states[self.orig], self.states[1 - self.orig]);
        let unanswered =
            matches!(o, ZeekState::SynSent | ZeekState::SynAckSent) && r == ZeekState::Inactive;
        (now >= self.attempt_due && unanswered) || now >= self.delete_due
    }

    /// Zeek's `IsReuse` for a segment on this connection.
    fn reused(&self, seg: &Segment) -> bool {
        let f = seg.flags;
        if !f.syn() {
            return false;
        }
        let (o, r) = (self.orig, 1 - self.orig);
        let mut conn_orig = o;
        if f.ack() {
            if self.states[o] != ZeekState::Inactive {
                return false;
            }
            conn_orig = r;
        }
        if closed(self.states[0]) || closed(self.states[1]) {
            return true;
        }
        let start = |i: usize| self.start[i].unwrap_or(0);
        if seg.seq == start(conn_orig) {
            return false;
        }
        // A SYN and SYN-ACK read in the wrong order: Zeek flips the roles
        // instead.
        let flipped = !f.ack()
            && self.states[o] == ZeekState::SynAckSent
            && self.states[r] == ZeekState::Inactive
            && seg.seq == start(r);
        !flipped
    }

    /// After a segment: Zeek's `StartSeq`s, `LastTime` and the timers it
    /// sets, from the endpoint states before (kept) and after (`now`).
    fn after(&mut self, seg: &Segment, at: i64, now: [ZeekState; 2], orig: usize) {
        let before = self.states;
        let (me, peer) = (sender_idx(seg), 1 - sender_idx(seg));
        let f = seg.flags;
        if !(closed(before[0]) && closed(before[1])) {
            self.last = at;
        }
        match before[me] {
            ZeekState::Inactive => {
                self.start[me] = Some(if f.syn() {
                    seg.seq
                } else {
                    seg.seq.wrapping_sub(1)
                });
            }
            ZeekState::SynSent
            | ZeekState::SynAckSent
            | ZeekState::Established
            | ZeekState::Partial
                if f.syn() =>
            {
                self.start[me] = Some(seg.seq);
            }
            _ => {}
        }
        if f.ack() && before[peer] == ZeekState::Inactive {
            self.start[peer] = Some(seg.ack.wrapping_sub(1));
        }
        if at >= self.attempt_due {
            // It fired before this segment and did not remove.
            self.attempt_due = NONE;
        }
        if before[me] == ZeekState::Inactive && f.syn() && me == orig {
            self.attempt_due = at.saturating_add(ns(ATTEMPT_DELAY));
        }
        if !closed(before[me]) && closed(now[me]) {
            let complete = now[me] == ZeekState::Reset
                || closed(now[peer])
                || now[peer] == ZeekState::Inactive;
            if complete {
                // Zeek cancels the connection's other timers here.
                self.attempt_due = NONE;
                self.delete_due = self.last.saturating_add(ns(CLOSE_DELAY));
            }
        }
        self.established |= !in_handshake(now[0]) || !in_handshake(now[1]);
        self.states = now;
        self.orig = orig;
    }
}

/// Zeek's timers for every open tuple.
#[derive(Default)]
pub(super) struct ZeekSplit {
    tuples: FxHashMap<TupleKey, Timers>,
}

impl ZeekSplit {
    /// What Zeek does with the tuple's connection when `seg` arrives at
    /// analysis time `at`.
    pub(super) fn verdict(&self, key: &TupleKey, seg: &Segment, at: Timestamp) -> Split {
        match self.tuples.get(key) {
            None => Split::Continue,
            Some(t) if t.removed(at.0) => Split::Removed,
            Some(t) if t.reused(seg) => Split::Reused,
            Some(_) => Split::Continue,
        }
    }

    /// Whether Zeek has removed the tuple's connection by `now` (None: not
    /// tracked).
    pub(super) fn removed(&self, key: &TupleKey, now: Timestamp) -> Option<bool> {
        self.tuples.get(key).map(|t| t.removed(now.0))
    }

    /// `conn` took `seg`.
    pub(super) fn after_conn(
        &mut self,
        key: &TupleKey,
        conn: &Connection,
        seg: &Segment,
        at: Timestamp,
    ) {
        let me = sender_idx(seg);
        let sender = conn.sender_side(seg);
        let side_of = |i: usize| if i == me { sender } else { sender.peer() };
        let states = [0, 1].map(|i| conn.zeek.endpoint_state(side_of(i)));
        let orig = if side_of(0) == conn.zeek_orig() { 0 } else { 1 };
        let t = self.tuples.entry(key.clone()).or_default();
        t.after(seg, at.0, states, orig);
    }

    /// The attempt `a` took the pure SYN `seg`: its client is Zeek's
    /// originator, in `SYN_SENT`, and the responder is inactive.
    pub(super) fn after_attempt(
        &mut self,
        key: &TupleKey,
        a: &Attempt,
        seg: &Segment,
        at: Timestamp,
    ) {
        let client = usize::from(!a.client_lo);
        let mut states = [ZeekState::Inactive; 2];
        states[client] = ZeekState::SynSent;
        let t = self.tuples.entry(key.clone()).or_default();
        t.after(seg, at.0, states, client);
    }

    /// The tuple's connection was finished.
    pub(super) fn forget(&mut self, key: &TupleKey) {
        self.tuples.remove(key);
        if self.tuples.capacity() > 1024 && self.tuples.capacity() > self.tuples.len() * 4 {
            self.tuples.shrink_to(self.tuples.len() * 2);
        }
    }
}
