//! tshark's `tcp.stream` numbers, kept beside rstscope's own connections.
//!
//! tshark numbers conversations in the order of their first packet and
//! starts a new one on a tuple only when a pure SYN (SYN without ACK; other
//! flags do not matter) arrives from a direction that already has a base
//! sequence number and carries a different one. It never splits on time,
//! FIN or RST. rstscope splits on more (timeouts, grace, the open limit),
//! so each tuple carries tshark's state from one rstscope connection to the
//! next, and a connection's `tcp_stream` is the stream of its first segment.
//!
//! tshark keys a stream by the inner tuple alone, while rstscope keeps one
//! connection per tunnel path (the same tuple bare and inside GRE, or
//! under two VNIs, is two connections): while a tuple has a tunnelled
//! connection open, all its connections move one shared state.

use rustc_hash::FxHashMap;
use std::collections::VecDeque;

use crate::wire::Segment;

use super::key::{KeyBox, TupleKey};
use super::maybe::Maybe;

/// tshark's view of one tuple.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamTrack {
    /// `tcp.stream` of the connection's first segment, once it came.
    first: Maybe<u64>,
    /// `tcp.stream` of the tuple's latest segment, below 2^62; the two
    /// bits above say which of `base` are set (an `Option` each would cost
    /// the connection 8 bytes, and a stream count never nears 2^62).
    current_and_set: u64,
    /// tshark's base sequence number per direction (0: from the tuple's
    /// lower endpoint), set from the direction's first segment (its seq for
    /// a SYN, seq - 1 otherwise) or from the first ACK the other way
    /// (ack - 1).
    base: [u32; 2],
}

/// The bits of `StreamTrack::current_and_set` that hold the stream.
const STREAM_BITS: u64 = (1 << 62) - 1;

const fn base_bit(d: usize) -> u64 {
    1 << (62 + d)
}

fn direction(seg: &Segment) -> usize {
    usize::from(seg.src > seg.dst)
}

impl StreamTrack {
    /// A tuple tshark never saw: the next stream number.
    pub(super) fn new(next: &mut u64) -> Self {
        let n = *next;
        *next = next.saturating_add(1);
        StreamTrack {
            first: Maybe::NONE,
            current_and_set: n & STREAM_BITS,
            base: [0; 2],
        }
    }

    /// `tcp.stream` of the connection's first segment: the index tshark
    /// gives the connection.
    pub fn tcp_stream(&self) -> u64 {
        self.first.get().unwrap_or(self.current())
    }

    fn current(&self) -> u64 {
        self.current_and_set & STREAM_BITS
    }

    fn base(&self, d: usize) -> Option<u32> {
        (self.current_and_set & base_bit(d) != 0).then_some(self.base[d])
    }

    fn set_base(&mut self, d: usize, seq: u32) {
        self.base[d] = seq;
        self.current_and_set |= base_bit(d);
    }

    /// The state an attempt (pure SYNs with one ISN from one side) implies.
    pub(super) fn of_attempt(stream: u64, syn: &Segment) -> Self {
        Self::of_syns(stream, direction(syn), syn.seq)
    }

    /// The state pure SYNs with `isn` in direction `d` (0: from the tuple's
    /// lower endpoint) imply, in stream `stream`.
    pub(super) fn of_syns(stream: u64, d: usize, isn: u32) -> Self {
        let mut st = StreamTrack {
            first: Maybe::some(stream),
            current_and_set: stream & STREAM_BITS,
            base: [0; 2],
        };
        st.set_base(d, isn);
        st
    }

    /// This state for a connection that has not had its first segment.
    fn for_new_connection(self) -> Self {
        StreamTrack {
            first: Maybe::NONE,
            ..self
        }
    }

    /// Moves to the segment's stream (a new one on port reuse, as tshark
    /// does), then takes the base numbers the segment sets.
    pub(super) fn on_segment(&mut self, seg: &Segment, next: &mut u64) {
        let f = seg.flags;
        // Most segments: both bases are known and only a pure SYN can
        // change anything, so the direction need not be worked out.
        const BOTH: u64 = base_bit(0) | base_bit(1);
        let pure_syn = f.syn() && !f.ack();
        if !pure_syn && self.first.is_some() && self.current_and_set & BOTH == BOTH {
            return;
        }
        let d = direction(seg);
        if f.syn() && !f.ack() && self.base(d).is_some_and(|b| b != seg.seq) {
            self.current_and_set = *next & STREAM_BITS;
            *next = next.saturating_add(1);
            self.base = [0; 2];
        }
        if self.base(d).is_none() {
            self.set_base(
                d,
                if f.syn() {
                    seg.seq
                } else {
                    seg.seq.wrapping_sub(1)
                },
            );
        }
        if f.ack() && self.base(1 - d).is_none() {
            self.set_base(1 - d, seg.ack.wrapping_sub(1));
        }
        if self.first.is_none() {
            self.first = Maybe::some(self.current());
        }
    }
}

/// tshark's state of the tuples rstscope does not hold as one connection:
/// those whose connection was finished (so that a later segment on the
/// tuple gets the stream tshark would give it; bounded, the oldest are
/// forgotten first), and those with a connection per tunnel path. Keyed by
/// the tuple without its tunnel, as tshark keys its streams.
#[derive(Debug, Default)]
pub(super) struct StreamBook {
    pub(super) next: u64,
    ended: FxHashMap<TupleKey, (u64, StreamTrack)>,
    order: VecDeque<(u64, TupleKey)>,
    serial: u64,
    /// Tuples with a tunnelled connection open: how many connections are
    /// open on the tuple (one per tunnel path, bare included), and the
    /// state they share. Empty on a capture without tunnels.
    shared: FxHashMap<TupleKey, (u32, StreamTrack)>,
    /// The box of the last IPv6 key built to look a segment up in `shared`.
    spare: Option<KeyBox>,
}

/// Finished tuples remembered: late segments come within seconds, and a
/// tuple reused later with a new ISN is a new stream for tshark anyway.
const ENDED_KEPT: usize = 65_536;

impl StreamBook {
    /// The state for a new connection on `key`, before its first segment:
    /// the shared state of its tuple, the tuple's remembered state, or a
    /// new stream. `bare` gives the state of the connection open on the
    /// tuple outside any tunnel, if there is one: when a tunnelled
    /// connection joins it, the two share from then on.
    pub(super) fn start(
        &mut self,
        key: &TupleKey,
        bare: impl FnOnce(&TupleKey) -> Option<StreamTrack>,
    ) -> StreamTrack {
        let inner = key.without_tunnel();
        if let Some((open, st)) = self.shared.get_mut(&*inner) {
            *open = open.saturating_add(1);
            return st.for_new_connection();
        }
        if key.tunnel() == 0 {
            return self.remembered(&inner);
        }
        let inner = inner.into_owned();
        let (open, st) = match bare(&inner) {
            Some(st) => (2, st),
            None => (1, self.remembered(&inner)),
        };
        let st = st.for_new_connection();
        self.shared.insert(inner, (open, st));
        st
    }

    fn remembered(&mut self, inner: &TupleKey) -> StreamTrack {
        match self.ended.remove(inner) {
            Some((_, st)) => st.for_new_connection(),
            None => StreamTrack::new(&mut self.next),
        }
    }

    /// Moves `own`, the state of `seg`'s connection, or the state its
    /// tuple shares, on by `seg` (see [`StreamTrack::on_segment`]).
    pub(super) fn on_segment(&mut self, own: &mut StreamTrack, seg: &Segment) {
        if !self.shared.is_empty() {
            let inner = TupleKey::of_segment_in(seg, 0, &mut self.spare);
            let moved = self.shared.get_mut(&inner).map(|(_, st)| {
                st.on_segment(seg, &mut self.next);
                st.current()
            });
            inner.give_back(&mut self.spare);
            if let Some(current) = moved {
                if own.first.is_none() {
                    own.first = Maybe::some(current);
                }
                return;
            }
        }
        own.on_segment(seg, &mut self.next);
    }

    /// A connection on `key` was finished: remember where tshark stood,
    /// once no other connection shares its tuple.
    pub(super) fn ended(&mut self, key: TupleKey, st: StreamTrack) {
        let inner = match key.without_tunnel() {
            std::borrow::Cow::Borrowed(_) => key,
            std::borrow::Cow::Owned(inner) => inner,
        };
        if let Some((open, _)) = self.shared.get_mut(&inner) {
            if *open > 1 {
                *open -= 1;
                return;
            }
        }
        // The last connection on a shared tuple leaves the shared state.
        let st = self.shared.remove(&inner).map_or(st, |(_, shared)| shared);
        self.remember(inner, st);
    }

    /// A segment on a tuple that holds no connection of rstscope's: the
    /// translated copy of a SYN whose connection is analysed under the
    /// addresses first seen (`Segment::nat_copy`). tshark numbers the tuple
    /// as a conversation of its own, so its state moves on here.
    pub(super) fn number_only(&mut self, key: &TupleKey, seg: &Segment) {
        let inner = key.without_tunnel().into_owned();
        if let Some((_, st)) = self.shared.get_mut(&inner) {
            st.on_segment(seg, &mut self.next);
            return;
        }
        let mut st = self.remembered(&inner);
        st.on_segment(seg, &mut self.next);
        self.remember(inner, st);
    }

    /// Where tshark stood on a tuple no connection holds now.
    fn remember(&mut self, inner: TupleKey, st: StreamTrack) {
        self.serial = self.serial.wrapping_add(1);
        self.ended.insert(inner.clone(), (self.serial, st));
        self.order.push_back((self.serial, inner));
        while self.order.len() > ENDED_KEPT {
            if let Some((serial, k)) = self.order.pop_front() {
                if self.ended.get(&k).is_some_and(|(s, _)| *s == serial) {
                    self.ended.remove(&k);
                }
            }
        }
    }

    /// Bytes the book holds: its maps' buckets and its order's room.
    pub(super) fn bytes(&self) -> usize {
        super::footprint::hash_map_bytes(&self.ended)
            + super::footprint::hash_map_bytes(&self.shared)
            + super::footprint::deque_bytes(&self.order)
    }

    /// End of the capture: nothing more to remember.
    pub(super) fn clear(&mut self) {
        self.ended = FxHashMap::default();
        self.order = VecDeque::new();
        self.shared = FxHashMap::default();
    }
}

#[cfg(test)]
mod tests {
    use crate::track::testwire::{Wire, A, F, P, R, S};

    fn streams(w: &Wire) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = w
            .track()
            .iter()
            .map(|c| (c.first_frame, c.stream.tcp_stream()))
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn numbered_in_order_of_first_frame() {
        let mut w = Wire::new();
        w.handshake();
        let mut b = Wire::between("10.0.0.3:40001", "10.0.0.2:80");
        b.frame = 3;
        b.t = w.t;
        b.c(S, 0, 0, 0);
        w.segs.extend(b.segs);
        w.frame = 4;
        w.c(P | A, 1, 1, 10);
        assert_eq!(streams(&w), vec![(1, 0), (4, 1)]);
    }

    #[test]
    fn new_isn_is_a_new_stream_same_isn_is_not() {
        let mut w = Wire::new();
        w.c(S, 0, 0, 0).s(R | A, 0, 1, 0);
        // Retransmission of the same SYN: the same stream for tshark.
        w.seg(true, S, 0, 0, 0, 3_000_000);
        // Port reuse with a new ISN: a new stream.
        w.c_isn = 777_777;
        w.seg(true, S, 0, 0, 0, 3_000_000);
        // rstscope: the refusal ended at frame 2 and its grace ran out, so
        // frame 3 starts a connection; frame 4 is a new generation.
        assert_eq!(streams(&w), vec![(1, 0), (3, 0), (4, 1)]);
    }

    /// Each segment twice, `a` then `b` (two tunnel paths: 0 is bare), as
    /// a capture on the host and on its overlay shows it.
    fn on_two_paths(w: &Wire, a: u32, b: u32) -> Wire {
        let mut both = Wire::new();
        for s in &w.segs {
            for (i, tunnel) in [a, b].into_iter().enumerate() {
                let mut copy = *s;
                copy.tunnel = tunnel;
                copy.frame = 2 * s.frame - 1 + i as u64;
                both.segs.push(copy);
            }
        }
        both.frame = 2 * w.frame;
        both
    }

    #[test]
    fn a_tuple_bare_and_tunnelled_is_one_stream_as_tshark_keys_it() {
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 10).s(A, 1, 11, 0);
        let mut both = on_two_paths(&w, 0, 7);
        // Another tuple after it: tshark's next stream.
        let mut b = Wire::between("10.0.0.3:40001", "10.0.0.2:80");
        b.frame = both.frame;
        b.t = w.t;
        b.c(S, 0, 0, 0);
        both.segs.extend(b.segs);
        // rstscope keeps a connection per path (frames 1 and 2), tshark one
        // stream; the third tuple is tshark's stream 1, not 2.
        assert_eq!(streams(&both), vec![(1, 0), (2, 0), (11, 1)]);
    }

    #[test]
    fn tunnelled_copies_of_a_reused_port_share_the_new_stream() {
        let mut w = Wire::new();
        w.c(S, 0, 0, 0).s(R | A, 0, 1, 0);
        w.c_isn = 777_777;
        w.seg(true, S, 0, 0, 0, 3_000_000).s(S | A, 0, 1, 0);
        // Under VNIs 7 and 9: the refusal is stream 0 on both paths, the
        // port reuse (new ISN) stream 1 on both.
        let both = on_two_paths(&w, 7, 9);
        assert_eq!(streams(&both), vec![(1, 0), (2, 0), (5, 1), (6, 1)]);
    }

    #[test]
    fn late_segment_after_the_grace_stays_in_the_stream() {
        let mut w = Wire::new();
        w.handshake()
            .c(F | A, 1, 1, 0)
            .s(F | A, 1, 2, 0)
            .c(A, 2, 2, 0);
        // Long after the grace: rstscope starts a new connection, tshark
        // does not start a new stream.
        w.seg(false, F | A, 1, 2, 0, 60_000_000);
        assert_eq!(streams(&w), vec![(1, 0), (7, 0)]);
    }
}
