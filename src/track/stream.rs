//! tshark's `tcp.stream` numbers, kept beside rstscope's own connections.
//!
//! tshark numbers conversations in the order of their first packet and
//! starts a new one on a tuple only when a pure SYN (SYN without ACK; other
//! flags do not matter) arrives from a direction that already has a base
//! sequence number and carries a different one. It never splits on time,
//! FIN or RST. rstscope splits on more (timeouts, grace, the open limit),
//! so each tuple carries tshark's state from one rstscope connection to the
//! next, and a connection's `tcp_stream` is the stream of its first segment.

use rustc_hash::FxHashMap;
use std::collections::VecDeque;

use crate::wire::Segment;

use super::key::TupleKey;
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

fn base_bit(d: usize) -> u64 {
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
        let mut st = StreamTrack {
            first: Maybe::some(stream),
            current_and_set: stream & STREAM_BITS,
            base: [0; 2],
        };
        st.set_base(direction(syn), syn.seq);
        st
    }

    /// Moves to the segment's stream (a new one on port reuse, as tshark
    /// does), then takes the base numbers the segment sets.
    pub(super) fn on_segment(&mut self, seg: &Segment, next: &mut u64) {
        let d = direction(seg);
        let f = seg.flags;
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

/// Tuples whose connection was finished, with tshark's state, so that a
/// later segment on the tuple gets the stream tshark would give it. Bounded:
/// the oldest are forgotten first.
#[derive(Debug, Default)]
pub(super) struct StreamBook {
    pub(super) next: u64,
    ended: FxHashMap<TupleKey, (u64, StreamTrack)>,
    order: VecDeque<(u64, TupleKey)>,
    serial: u64,
}

/// Finished tuples remembered: late segments come within seconds, and a
/// tuple reused later with a new ISN is a new stream for tshark anyway.
const ENDED_KEPT: usize = 65_536;

impl StreamBook {
    /// The state for a new connection on `key`, before its first segment:
    /// the tuple's remembered state, or a new stream.
    pub(super) fn start(&mut self, key: &TupleKey) -> StreamTrack {
        match self.ended.remove(key) {
            Some((_, st)) => StreamTrack {
                first: Maybe::NONE,
                ..st
            },
            None => StreamTrack::new(&mut self.next),
        }
    }

    /// A connection on `key` was finished: remember where tshark stood.
    pub(super) fn ended(&mut self, key: TupleKey, st: StreamTrack) {
        self.serial = self.serial.wrapping_add(1);
        self.ended.insert(key.clone(), (self.serial, st));
        self.order.push_back((self.serial, key));
        while self.order.len() > ENDED_KEPT {
            if let Some((serial, k)) = self.order.pop_front() {
                if self.ended.get(&k).is_some_and(|(s, _)| *s == serial) {
                    self.ended.remove(&k);
                }
            }
        }
    }

    /// Bytes the book holds: its map's buckets and its order's room.
    pub(super) fn bytes(&self) -> usize {
        super::footprint::hash_map_bytes(&self.ended) + super::footprint::deque_bytes(&self.order)
    }

    /// End of the capture: nothing more to remember.
    pub(super) fn clear(&mut self) {
        self.ended = FxHashMap::default();
        self.order = VecDeque::new();
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
