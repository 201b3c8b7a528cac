//! Connection attempts kept compact until anything but a SYN arrives.

use std::net::SocketAddr;

use crate::wire::{Flags, Segment, Timestamp};

use super::config::TrackerConfig;
use super::connection::Connection;
use super::key::TupleKey;
use super::stream::StreamTrack;

/// One pure SYN of a connection attempt, as [`Attempt`] keeps it: the
/// segment minus what the attempt shares (addresses, ISN).
#[derive(Clone, Copy, Debug)]
pub(super) struct SynSeg {
    pub(super) frame: u64,
    pub(super) ts: Timestamp,
    /// Analysis time (see `wire::Clock`).
    pub(super) at: Timestamp,
    pub(super) payload_len: u32,
    pub(super) window: u16,
    pub(super) wscale: Option<u8>,
    pub(super) ttl: u8,
    pub(super) flags: Flags,
    pub(super) snap_cut: bool,
    pub(super) outer_flow: u32,
}

/// Most SYNs an [`Attempt`] keeps before it becomes a [`Connection`].
pub(super) const ATTEMPT_MAX_SYNS: usize = 4;

/// A connection that so far is only client SYNs with one ISN (a SYN flood
/// is millions of these): kept as its segments, a tenth of a
/// [`Connection`]'s size, and replayed into one when anything else arrives
/// or when it is finished, so the result is the same as if it had been a
/// `Connection` from the start.
#[derive(Clone, Debug)]
pub(super) struct Attempt {
    pub(super) first: SynSeg,
    pub(super) more: Vec<SynSeg>,
    pub(super) isn: u32,
    /// The client is the key's lower address.
    pub(super) client_lo: bool,
    /// tshark's `tcp.stream` of these SYNs.
    pub(super) stream: u64,
}

impl Attempt {
    /// A segment that can start an attempt: a pure SYN (its sender is the
    /// client).
    pub(super) fn starts(seg: &Segment) -> bool {
        let f = seg.flags;
        f.syn() && !f.ack() && !f.rst() && !f.fin()
    }

    pub(super) fn new(seg: &Segment, at: Timestamp) -> Self {
        Attempt {
            first: SynSeg {
                frame: seg.frame,
                ts: seg.ts,
                at,
                payload_len: seg.payload_len,
                window: seg.window,
                wscale: seg.wscale,
                ttl: seg.ttl,
                flags: seg.flags,
                snap_cut: seg.snap_cut,
                outer_flow: seg.outer_flow,
            },
            more: Vec::new(),
            isn: seg.seq,
            client_lo: seg.src <= seg.dst,
            stream: 0,
        }
    }

    pub(super) fn ends(&self, key: &TupleKey) -> (SocketAddr, SocketAddr) {
        let (lo, hi) = key.addrs();
        if self.client_lo {
            (lo, hi)
        } else {
            (hi, lo)
        }
    }

    pub(super) fn sent_by_client(&self, seg: &Segment, key: &TupleKey) -> bool {
        let (c, s) = self.ends(key);
        seg.src == c && seg.dst == s
    }

    /// Another SYN of the same attempt (same sender, same ISN).
    pub(super) fn takes(&self, seg: &Segment, key: &TupleKey) -> bool {
        Attempt::starts(seg)
            && seg.seq == self.isn
            && self.more.len() + 1 < ATTEMPT_MAX_SYNS
            && self.sent_by_client(seg, key)
    }

    pub(super) fn add(&mut self, seg: &Segment, at: Timestamp) {
        let s = Attempt::new(seg, at).first;
        if self.more.capacity() == 0 {
            self.more.reserve_exact(ATTEMPT_MAX_SYNS - 1);
        }
        self.more.push(s);
    }

    /// Analysis time of the latest SYN.
    pub(super) fn last_at(&self) -> Timestamp {
        self.more.last().map_or(self.first.at, |s| s.at)
    }

    /// [`Connection::is_new_generation`] for a connection that saw only
    /// these SYNs: a pure SYN with another ISN, or from the server.
    pub(super) fn is_new_generation(&self, seg: &Segment, key: &TupleKey) -> bool {
        seg.flags.syn()
            && !seg.flags.ack()
            && !(self.sent_by_client(seg, key) && seg.seq == self.isn)
    }

    /// tshark's state of the tuple these SYNs imply.
    pub(super) fn stream_track(&self, key: &TupleKey) -> StreamTrack {
        let (client, server) = self.ends(key);
        StreamTrack::of_syns(self.stream, usize::from(client > server), self.isn)
    }

    /// The connection these SYNs make, replayed through [`Connection::push`].
    pub(super) fn replay(&self, key: &TupleKey, cfg: &TrackerConfig) -> Connection {
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
            nat_copy: false,
            tunnel: key.tunnel(),
            outer_flow: x.outer_flow,
        };
        let first = seg(&self.first);
        // Roles of a pure SYN do not depend on the fan counts.
        let mut conn = Connection::new(&first, self.first.at, (0, 0));
        conn.stream = StreamTrack::of_attempt(self.stream, &first);
        conn.push(&first, self.first.at, cfg);
        for x in &self.more {
            conn.push(&seg(x), x.at, cfg);
        }
        conn
    }
}
