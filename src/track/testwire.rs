//! Builds segment sequences between a client and a server for unit tests.

use std::net::SocketAddr;

use crate::wire::{Flags, Segment, Timestamp};

use super::{Connection, Tracker, TrackerConfig};

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
            nat_copy: false,
            tunnel: 0,
            outer_flow: 0,
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

/// Stretches how long `conn` was watched, as if the capture had gone on
/// `ns` longer with nothing more on this connection.
pub fn watch_longer(conn: &mut Connection, ns: i64) {
    conn.observed_until = Timestamp(conn.observed_until.0.saturating_add(ns));
}
