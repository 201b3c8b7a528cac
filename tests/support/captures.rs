//! Captures for the regressions of issue 9 (clock steps, constant
//! timestamps, sequence wrap, identity of a connection, bounds), each
//! returned as the bytes of a file so any test (or a fuzz seed, or a
//! benchmark) can reuse them. Client 10.0.0.1:40000, server 10.0.0.2:80
//! unless the function says otherwise; Ethernet; microsecond pcap.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use super::{ethernet, Pcap, PcapNg, Tcp, ACK, FIN, PSH, RST, SYN};

/// 2023-11-14T22:13:20Z, in nanoseconds since the epoch.
pub const BASE_NS: u64 = 1_700_000_000_000_000_000;
pub const MS: u64 = 1_000_000;
pub const US: u64 = 1_000;
pub const S: u64 = 1_000_000_000;
pub const CLIENT: &str = "10.0.0.1:40000";
pub const SERVER: &str = "10.0.0.2:80";

pub fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), port))
}

/// Records being written: classic pcap, or pcapng Simple Packet Blocks
/// (no timestamp at all: `ts_ns` is then ignored).
pub struct Wire {
    pcap: Option<Pcap>,
    ng: Option<PcapNg>,
    /// Records written so far: the 1-based frame number of the last one.
    pub frames: u64,
}

impl Wire {
    /// Microsecond pcap, Ethernet, little-endian.
    pub fn pcap() -> Wire {
        Wire {
            pcap: Some(Pcap::new(1, false, false)),
            ng: None,
            frames: 0,
        }
    }

    /// pcapng with one Ethernet interface and only Simple Packet Blocks.
    pub fn simple_blocks() -> Wire {
        let mut ng = PcapNg::new(false);
        ng.interface(1, None, None);
        Wire {
            pcap: None,
            ng: Some(ng),
            frames: 0,
        }
    }

    /// Writes one segment in Ethernet; returns its frame number.
    pub fn put(&mut self, ts_ns: u64, t: Tcp) -> u64 {
        let frame = ethernet(&t.ip(), &[]);
        if let Some(p) = self.pcap.as_mut() {
            p.packet(ts_ns, &frame);
        } else if let Some(ng) = self.ng.as_mut() {
            ng.simple(&frame);
        }
        self.frames += 1;
        self.frames
    }

    pub fn bytes(self) -> Vec<u8> {
        match (self.pcap, self.ng) {
            (Some(p), _) => p.bytes,
            (_, Some(ng)) => ng.bytes,
            _ => unreachable!(),
        }
    }
}

/// One connection's endpoints and next sequence numbers: each call returns
/// the segment and advances the sender's sequence by its payload and FIN.
#[derive(Clone, Copy, Debug)]
pub struct Flow {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub c_isn: u32,
    pub s_isn: u32,
    /// Next sequence number of each side (what the other side ACKs).
    pub c_nxt: u32,
    pub s_nxt: u32,
}

impl Flow {
    pub fn new(client: SocketAddr, server: SocketAddr, c_isn: u32, s_isn: u32) -> Flow {
        Flow {
            client,
            server,
            c_isn,
            s_isn,
            c_nxt: c_isn.wrapping_add(1),
            s_nxt: s_isn.wrapping_add(1),
        }
    }

    /// 10.0.0.1:40000 -> 10.0.0.2:80.
    pub fn default_pair(c_isn: u32, s_isn: u32) -> Flow {
        Flow::new(
            CLIENT.parse().unwrap(),
            SERVER.parse().unwrap(),
            c_isn,
            s_isn,
        )
    }

    /// The client's SYN (the same every time: a retransmission).
    pub fn syn(&self) -> Tcp {
        Tcp::between(self.client, self.server, SYN).seq(self.c_isn)
    }

    pub fn syn_ack(&self) -> Tcp {
        Tcp::between(self.server, self.client, SYN | ACK)
            .seq(self.s_isn)
            .ack(self.c_isn.wrapping_add(1))
    }

    /// A client segment at its next sequence number, ACKing the server's.
    pub fn c(&mut self, flags: u8, len: usize) -> Tcp {
        let t = Tcp::between(self.client, self.server, flags)
            .seq(self.c_nxt)
            .ack(if flags & ACK != 0 { self.s_nxt } else { 0 })
            .payload(len);
        self.c_nxt = advance(self.c_nxt, flags, len);
        t
    }

    /// A server segment at its next sequence number, ACKing the client's.
    pub fn s(&mut self, flags: u8, len: usize) -> Tcp {
        let t = Tcp::between(self.server, self.client, flags)
            .seq(self.s_nxt)
            .ack(if flags & ACK != 0 { self.c_nxt } else { 0 })
            .payload(len);
        self.s_nxt = advance(self.s_nxt, flags, len);
        t
    }

    /// SYN, SYN-ACK, ACK at `t`, `t + 100 us`, `t + 200 us`.
    pub fn handshake(&self, w: &mut Wire, t: u64) {
        let mut me = *self;
        w.put(t, self.syn());
        w.put(t + 100 * US, self.syn_ack());
        w.put(t + 200 * US, me.c(ACK, 0));
    }
}

fn advance(seq: u32, flags: u8, len: usize) -> u32 {
    seq.wrapping_add(len as u32)
        .wrapping_add(u32::from(flags & FIN != 0))
}

/// Handshake, request 10 bytes, response 20, client `F.`, server `F.`,
/// then the clock steps back by `back_ns` (the next record is stamped that
/// much before the one before it) and the client sends `R` at its FIN's
/// sequence + 1. Returns the capture and the frame number of the first
/// record after the step.
pub fn clock_step_back(back_ns: u64) -> (Vec<u8>, u64) {
    let mut w = Wire::pcap();
    let mut f = Flow::default_pair(1000, 5000);
    let mut t = BASE_NS;
    f.handshake(&mut w, t);
    t += MS;
    w.put(t, f.c(PSH | ACK, 10));
    t += MS;
    w.put(t, f.s(PSH | ACK, 20));
    t += MS;
    w.put(t, f.c(FIN | ACK, 0));
    t += MS;
    w.put(t, f.s(FIN | ACK, 0));
    t -= back_ns;
    // c_nxt is the client's FIN sequence + 1.
    let frame = w.put(t, f.c(RST, 0));
    (w.bytes(), frame)
}

/// Ten established connections (client ports 40000..40009: handshake and one
/// data segment each way), then one pure ACK of connection 1 stamped 30
/// years later, then (back at the original time + 1 ms) each connection
/// sends 10 more bytes and closes: `F.` both ways and the last ACK.
/// Returns the capture and the far-future record's frame number.
pub fn far_future_record() -> (Vec<u8>, u64) {
    let mut w = Wire::pcap();
    let server: SocketAddr = SERVER.parse().unwrap();
    let mut flows: Vec<Flow> = (0..10)
        .map(|i| {
            Flow::new(
                v4(10, 0, 0, 1, 40000 + i),
                server,
                1000 + u32::from(i),
                9000,
            )
        })
        .collect();
    let mut t = BASE_NS;
    for f in flows.iter_mut() {
        f.handshake(&mut w, t);
        w.put(t + 300 * US, f.c(PSH | ACK, 10));
        w.put(t + 400 * US, f.s(PSH | ACK, 20));
        t += 500 * US;
    }
    let thirty_years = 30 * 365 * 24 * 3600 * S + 7 * 24 * 3600 * S;
    let frame = w.put(t + thirty_years, flows[0].c(ACK, 0));
    t += MS;
    for f in flows.iter_mut() {
        w.put(t, f.c(PSH | ACK, 10));
        w.put(t + 100 * US, f.c(FIN | ACK, 0));
        w.put(t + 200 * US, f.s(FIN | ACK, 0));
        w.put(t + 300 * US, f.c(ACK, 0));
        t += 500 * US;
    }
    (w.bytes(), frame)
}

/// The port scan of [`port_scan`] run two or three times: sweep `j` (from
/// 10.0.0.1:4000j) goes over every target again, the third sweep over
/// every other one, so each of the `n` targets is refused 2 or 3 times.
pub fn repeated_port_scan(n: u32) -> Vec<u8> {
    let mut w = Wire::pcap();
    for j in 0..3u32 {
        let client = v4(10, 0, 0, 1, 40_000 + j as u16);
        for i in (0..n).filter(|i| j < 2 + i % 2) {
            let server = scan_target(i);
            let f = Flow::new(client, server, 1000 + i, 0);
            let t = BASE_NS + u64::from(j * n + i) * 100 * US;
            w.put(t, f.syn());
            w.put(
                t + 50 * US,
                Tcp::between(server, client, RST | ACK).seq(0).ack(f.c_nxt),
            );
        }
    }
    w.bytes()
}

/// `n` short clean connections (SYN, SYN-ACK, ACK, `F.`, `F.`, ACK), every
/// one a distinct client address:port, all with one timestamp: Simple
/// Packet Blocks, which carry none.
pub fn constant_timestamps(n: u32) -> Vec<u8> {
    let mut w = Wire::simple_blocks();
    for i in 0..n {
        let mut f = Flow::new(client_n(i), SERVER.parse().unwrap(), 1000 + i, 2000);
        w.put(0, f.syn());
        w.put(0, f.syn_ack());
        w.put(0, f.c(ACK, 0));
        w.put(0, f.c(FIN | ACK, 0));
        w.put(0, f.s(FIN | ACK, 0));
        w.put(0, f.c(ACK, 0));
    }
    w.bytes()
}

/// The `i`-th of up to 3.2 million distinct client endpoints:
/// 10.1.x.y, ports 10000..59999.
pub fn client_n(i: u32) -> SocketAddr {
    let host = i / 50_000 + 1;
    v4(
        10,
        1,
        (host >> 8) as u8,
        host as u8,
        10_000 + (i % 50_000) as u16,
    )
}

/// SYN at 1.000200, SYN-ACK stamped 1.000100 (before it), ACK 1.000300,
/// client data (10 bytes) at 1.000400, then the server's `R` stamped
/// 1.000300, before the data it answers (seconds after `BASE_NS`).
pub fn out_of_order_handshake() -> Vec<u8> {
    let mut w = Wire::pcap();
    let mut f = Flow::default_pair(1000, 5000);
    let t = BASE_NS + S;
    w.put(t + 200 * US, f.syn());
    w.put(t + 100 * US, f.syn_ack());
    w.put(t + 300 * US, f.c(ACK, 0));
    w.put(t + 400 * US, f.c(PSH | ACK, 10));
    w.put(t + 300 * US, f.s(RST, 0));
    w.bytes()
}

/// The client's side only of a 3 GiB download: its SYN (no SYN-ACK
/// captured), then pure ACKs 1 ms apart whose ack numbers advance by 64 KiB
/// each (49 152 of them), then the server's `R` at the client's last ack.
pub fn one_way_past_2gib() -> Vec<u8> {
    let mut w = Wire::pcap();
    let mut f = Flow::default_pair(1000, 0x7000_0000);
    let mut t = BASE_NS;
    w.put(t, f.syn());
    for _ in 0..(3u32 << 14) {
        t += MS;
        f.s_nxt = f.s_nxt.wrapping_add(64 * 1024);
        w.put(t, f.c(ACK, 0));
    }
    t += MS;
    w.put(t, f.s(RST, 0));
    w.bytes()
}

/// A client SYN (ISN 1000) at 0, 1, 3, 7 and 15 s, each answered 50 us later
/// by a bare `R` (no ACK flag, seq 0), as some firewalls answer.
pub fn syn_retransmits_bare_rsts() -> Vec<u8> {
    let mut w = Wire::pcap();
    let f = Flow::default_pair(1000, 0);
    for at in [0, 1, 3, 7, 15] {
        let t = BASE_NS + at * S;
        w.put(t, f.syn());
        w.put(t + 50 * US, Tcp::between(f.server, f.client, RST).seq(0));
    }
    w.bytes()
}

/// For `--max-connections 1`: connection A (port 40000) handshake, request
/// 10 bytes, response 100; connection B (port 40001) SYN, which evicts A,
/// answered by `R.`; then, 3 s later (B's grace after its RST is over, so
/// B finishes as `reset`, not early: A is the only early finish), A goes
/// on: the server sends 50 more bytes and the client `R`.
pub fn evicted_then_continues() -> Vec<u8> {
    let mut w = Wire::pcap();
    let mut a = Flow::default_pair(1000, 5000);
    let b = Flow::new(v4(10, 0, 0, 1, 40001), a.server, 7000, 0);
    let t = BASE_NS;
    a.handshake(&mut w, t);
    w.put(t + MS, a.c(PSH | ACK, 10));
    w.put(t + 2 * MS, a.s(PSH | ACK, 100));
    w.put(t + 3 * MS, b.syn());
    let refuse = Tcp::between(b.server, b.client, RST | ACK).ack(b.c_nxt);
    w.put(t + 3 * MS + 50 * US, refuse.seq(0));
    w.put(t + 3 * S, a.s(PSH | ACK, 50));
    w.put(t + 3 * S + MS, a.c(RST, 0));
    w.bytes()
}

/// The server's RST lands 5000 bytes past the client's ACK, where the
/// client's raw window is 100. `handshake`: false, no handshake captured
/// (the window scale is unknown); true, a handshake whose SYNs carry no
/// window-scale option (so the scale is known to be 0).
pub fn rst_past_raw_window(handshake: bool) -> Vec<u8> {
    let mut w = Wire::pcap();
    let mut f = Flow::default_pair(1000, 5000);
    let mut t = BASE_NS;
    if handshake {
        w.put(t, f.syn().window(100));
        w.put(t + 100 * US, f.syn_ack().window(100));
        w.put(t + 200 * US, f.c(ACK, 0).window(100));
        t += MS;
    }
    w.put(t, f.s(PSH | ACK, 10).window(100));
    w.put(t + 100 * US, f.c(ACK, 0).window(100));
    let rst = Tcp::between(f.server, f.client, RST).seq(f.s_nxt.wrapping_add(5000));
    w.put(t + 200 * US, rst.window(100));
    w.bytes()
}

/// Handshake, then `n` server RSTs 1 us apart, each with a different seq.
pub fn many_rsts(n: u32) -> Vec<u8> {
    let mut w = Wire::pcap();
    let f = Flow::default_pair(1000, 5000);
    f.handshake(&mut w, BASE_NS);
    let t = BASE_NS + MS;
    for i in 0..n {
        let seq = f.s_nxt.wrapping_add(i * 1460);
        w.put(
            t + u64::from(i) * US,
            Tcp::between(f.server, f.client, RST).seq(seq),
        );
    }
    w.bytes()
}

/// The `i`th target of a port scan: 10.2.x.y, 1 000 ports on each host,
/// so every `i` is a distinct address and port.
fn scan_target(i: u32) -> SocketAddr {
    let host = i / 1000;
    v4(
        10,
        2,
        (host >> 8) as u8,
        host as u8 + 1,
        1 + (i % 1000) as u16,
    )
}

/// A port scan from 10.0.0.1:40000 of `n` targets (10.2.x.y, ports 1..1000,
/// each a distinct addr:port), each SYN answered by `R.` 50 us later;
/// one target every 10 us.
pub fn port_scan(n: u32) -> Vec<u8> {
    let mut w = Wire::pcap();
    let client: SocketAddr = CLIENT.parse().unwrap();
    for i in 0..n {
        let server = scan_target(i);
        let f = Flow::new(client, server, 1000 + i, 0);
        let t = BASE_NS + u64::from(i) * 100 * US;
        w.put(t, f.syn());
        w.put(
            t + 50 * US,
            Tcp::between(server, client, RST | ACK).seq(0).ack(f.c_nxt),
        );
    }
    w.bytes()
}

/// `n` short clean connections (SYN, SYN-ACK, ACK, request 10 bytes, `F.`,
/// `F.`, ACK: 7 packets 100 us apart), one starting every 100 us, written
/// in time order.
pub fn short_clean_connections(n: u32) -> Vec<u8> {
    let mut w = Wire::pcap();
    let server: SocketAddr = SERVER.parse().unwrap();
    let mut flows: Vec<Flow> = (0..n)
        .map(|i| Flow::new(client_n(i), server, 1000 + i, 2000))
        .collect();
    for step in 0..n + 6 {
        let t = BASE_NS + u64::from(step) * 100 * US;
        for i in step.saturating_sub(6)..=step.min(n - 1) {
            let f = &mut flows[i as usize];
            let seg = match step - i {
                0 => f.syn(),
                1 => f.syn_ack(),
                2 => f.c(ACK, 0),
                3 => f.c(PSH | ACK, 10),
                4 => f.c(FIN | ACK, 0),
                5 => f.s(FIN | ACK, 0),
                _ => f.c(ACK, 0),
            };
            w.put(t, seg);
        }
    }
    w.bytes()
}
