//! Hostile captures, written as a stream: the scenarios of issue 6 that a
//! post-mortem tool meets in real incidents (a SYN flood, a RST storm, one
//! 4-tuple reused thousands of times, impossible header lengths, IPv6
//! extension-header chains, timestamps going backwards, pcapng blocks whose
//! lengths lie). Deterministic: same scenario, size and seed, same bytes.
//!
//! Used by `bench/adversarial.rs` (the `adversarial` example, for the
//! multi-million-packet files) and by `tests/robustness.rs` (every scenario
//! at a small size through the whole pipeline).
#![allow(dead_code)]

use std::io::{self, Write};

/// Every scenario, by the name the example takes.
pub const SCENARIOS: &[&str] = &[
    "syn-flood",
    "rst-storm",
    "tuple-reuse",
    "bad-header-lengths",
    "ipv6-ext-chains",
    "time-backwards",
    "pcapng-lying-lengths",
];

/// What a scenario wrote.
#[derive(Clone, Debug, Default)]
pub struct Written {
    pub packets: u64,
    /// Records stamped before the record before them (pcap scenarios).
    pub backwards: u64,
    /// Connection attempts (SYNs from distinct tuples) for the flood,
    /// generations for tuple reuse, 0 elsewhere.
    pub attempts: u64,
}

/// Writes scenario `name` with `n` units of work (attempts, RSTs, reuses,
/// packets; see each function) to `out`. `None` for an unknown name.
pub fn write_scenario(
    name: &str,
    n: u64,
    seed: u64,
    out: &mut dyn Write,
) -> Option<io::Result<Written>> {
    Some(match name {
        "syn-flood" => syn_flood(out, n, seed),
        "rst-storm" => rst_storm(out, n, seed),
        "tuple-reuse" => tuple_reuse(out, n, seed),
        "bad-header-lengths" => bad_header_lengths(out, n, seed),
        "ipv6-ext-chains" => ipv6_ext_chains(out, n, seed),
        "time-backwards" => time_backwards(out, n, seed),
        "pcapng-lying-lengths" => pcapng_lying_lengths(out, n, seed),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Randomness (splitmix64: tiny, deterministic, good enough for addresses).

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn u32(&mut self) -> u32 {
        self.next() as u32
    }
    pub fn u16(&mut self) -> u16 {
        self.next() as u16
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

// ---------------------------------------------------------------------------
// pcap writing.

pub const LINK_ETHERNET: u32 = 1;
pub const LINK_RAW: u32 = 101;

/// 2026-01-01T00:00:00Z, where every scenario starts.
pub const T0_SECS: u32 = 1_767_225_600;

/// Classic pcap, little-endian, microseconds.
pub struct PcapOut<'w> {
    w: &'w mut dyn Write,
    pub packets: u64,
    /// Records stamped earlier than the record before them, reading the
    /// header fields as written (seconds plus microseconds, even when the
    /// microseconds field is out of range): what a reader must count.
    pub backwards: u64,
    last_us: Option<u64>,
}

impl<'w> PcapOut<'w> {
    pub fn new(w: &'w mut dyn Write, link: u32) -> io::Result<PcapOut<'w>> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&262_144u32.to_le_bytes());
        h.extend_from_slice(&link.to_le_bytes());
        w.write_all(&h)?;
        Ok(PcapOut {
            w,
            packets: 0,
            backwards: 0,
            last_us: None,
        })
    }

    /// A record at `ts_us` microseconds after [`T0_SECS`].
    pub fn at(&mut self, ts_us: u64, data: &[u8]) -> io::Result<()> {
        let secs = u64::from(T0_SECS) + ts_us / 1_000_000;
        self.raw(
            secs as u32,
            (ts_us % 1_000_000) as u32,
            data,
            data.len() as u32,
        )
    }

    /// A record with every header field as given (they may lie).
    pub fn raw(&mut self, secs: u32, usecs: u32, data: &[u8], orig_len: u32) -> io::Result<()> {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&usecs.to_le_bytes());
        h[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&orig_len.to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(data)?;
        self.packets += 1;
        let us = u64::from(secs) * 1_000_000 + u64::from(usecs);
        if self.last_us.is_some_and(|last| us < last) {
            self.backwards += 1;
        }
        self.last_us = Some(us);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Packet building, by hand so that every length can lie.

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// One IPv4 TCP segment.
#[derive(Clone, Copy, Debug)]
pub struct Seg {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub payload: u16,
    pub ttl: u8,
    pub window: u16,
}

impl Seg {
    pub fn new(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, flags: u8) -> Seg {
        Seg {
            src,
            dst,
            sport,
            dport,
            seq: 0,
            ack: 0,
            flags,
            payload: 0,
            ttl: 64,
            window: 64240,
        }
    }

    /// The reply direction, same addresses swapped.
    pub fn reply(&self, flags: u8) -> Seg {
        Seg {
            src: self.dst,
            dst: self.src,
            sport: self.dport,
            dport: self.sport,
            flags,
            ..*self
        }
    }
}

/// Ethernet header for IPv4 (`0x0800`) or IPv6 (`0x86dd`).
pub fn ethernet(buf: &mut Vec<u8>, ether_type: u16) {
    buf.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1]);
    buf.extend_from_slice(&ether_type.to_be_bytes());
}

/// TCP header (20 bytes plus `options`, data offset as given) and payload.
pub fn tcp_header(buf: &mut Vec<u8>, s: &Seg, data_offset_words: u8, options: &[u8]) {
    buf.extend_from_slice(&s.sport.to_be_bytes());
    buf.extend_from_slice(&s.dport.to_be_bytes());
    buf.extend_from_slice(&s.seq.to_be_bytes());
    buf.extend_from_slice(&s.ack.to_be_bytes());
    buf.push(data_offset_words << 4);
    buf.push(s.flags);
    buf.extend_from_slice(&s.window.to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0, 0]); // checksum (unchecked), urgent pointer
    buf.extend_from_slice(options);
}

/// IPv4 header: `ihl_words` and `total_len` as given (they may lie).
pub fn ipv4_header(buf: &mut Vec<u8>, s: &Seg, ihl_words: u8, total_len: u16, frag: u16) {
    buf.push(0x40 | (ihl_words & 0x0f));
    buf.push(0);
    buf.extend_from_slice(&total_len.to_be_bytes());
    buf.extend_from_slice(&[0, 1]);
    buf.extend_from_slice(&frag.to_be_bytes());
    buf.push(s.ttl);
    buf.push(6);
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(&s.src);
    buf.extend_from_slice(&s.dst);
}

/// A well-formed Ethernet/IPv4/TCP frame (SYNs carry MSS and window scale).
pub fn frame(buf: &mut Vec<u8>, s: &Seg) {
    buf.clear();
    ethernet(buf, 0x0800);
    let options: &[u8] = if s.flags & SYN != 0 {
        &[2, 4, 0x05, 0xb4, 1, 3, 3, 7]
    } else {
        &[]
    };
    let tcp_len = 20 + options.len();
    let total = 20 + tcp_len + usize::from(s.payload);
    ipv4_header(buf, s, 5, total as u16, 0x4000);
    tcp_header(buf, s, (tcp_len / 4) as u8, options);
    buf.resize(buf.len() + usize::from(s.payload), b'x');
}

// ---------------------------------------------------------------------------
// Scenarios.

/// `attempts` SYNs from random addresses and ports to one server, 10 us
/// apart (100 000 a second), never completed. One in eight gets a SYN-ACK
/// (never ACKed), one in sixteen is retransmitted, one in 64 is answered
/// with a RST (a closed port). Ethernet, 66-78 bytes a frame.
pub fn syn_flood(out: &mut dyn Write, attempts: u64, seed: u64) -> io::Result<Written> {
    let mut rng = Rng::new(seed);
    let mut pcap = PcapOut::new(out, LINK_ETHERNET)?;
    let mut buf = Vec::with_capacity(128);
    let server = [192, 0, 2, 10];
    let mut t = 0u64;
    for i in 0..attempts {
        let src = rng.u32().to_be_bytes();
        let sport = 1024 + (rng.u16() % 64_000);
        let mut syn = Seg::new(src, sport, server, 443, SYN);
        syn.seq = rng.u32();
        syn.ttl = 32 + (rng.next() % 96) as u8;
        frame(&mut buf, &syn);
        pcap.at(t, &buf)?;
        if i % 8 == 0 {
            let mut sa = syn.reply(SYN | ACK);
            sa.seq = rng.u32();
            sa.ack = syn.seq.wrapping_add(1);
            frame(&mut buf, &sa);
            pcap.at(t + 1, &buf)?;
        }
        if i % 16 == 0 {
            frame(&mut buf, &syn);
            pcap.at(t + 3, &buf)?;
        }
        if i % 64 == 1 {
            let mut r = syn.reply(RST | ACK);
            r.seq = 0;
            r.ack = syn.seq.wrapping_add(1);
            frame(&mut buf, &r);
            pcap.at(t + 5, &buf)?;
        }
        t += 10;
    }
    Ok(Written {
        packets: pcap.packets,
        backwards: pcap.backwards,
        attempts,
    })
}

/// One established connection and `n` RSTs around it: blind RSTs stepping
/// through the sequence space (in and out of window), RST+ACK backscatter
/// to random tuples, RSTs with payload, every flag at once; the connection
/// keeps talking in between.
pub fn rst_storm(out: &mut dyn Write, n: u64, seed: u64) -> io::Result<Written> {
    let mut rng = Rng::new(seed);
    let mut pcap = PcapOut::new(out, LINK_ETHERNET)?;
    let mut buf = Vec::with_capacity(2048);
    let (c, s) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let mut syn = Seg::new(c, 40000, s, 80, SYN);
    syn.seq = 1_000_000;
    let mut sa = syn.reply(SYN | ACK);
    sa.seq = 0xffff_ff00; // the server's ISN wraps soon
    sa.ack = syn.seq + 1;
    let mut ack = syn;
    ack.flags = ACK;
    ack.seq = syn.seq + 1;
    ack.ack = sa.seq.wrapping_add(1);
    let mut t = 0;
    for seg in [syn, sa, ack] {
        frame(&mut buf, &seg);
        pcap.at(t, &buf)?;
        t += 100;
    }
    let mut client_next = ack.seq;
    for i in 0..n {
        let kind = i % 6;
        let mut r = match kind {
            // Blind RST into the connection, stepping 64 KiB through the space.
            0 => {
                let mut r = ack.reply(RST);
                r.seq = sa.seq.wrapping_add((i as u32).wrapping_mul(65_536));
                r
            }
            // Backscatter: RST+ACK from random hosts to random ports.
            1 => {
                let mut r = Seg::new(rng.u32().to_be_bytes(), rng.u16(), s, rng.u16(), RST | ACK);
                r.seq = rng.u32();
                r.ack = rng.u32();
                r
            }
            // RST with payload (RFC 9293 allows diagnostic text).
            2 => {
                let mut r = ack;
                r.flags = RST | ACK;
                r.seq = client_next;
                r.payload = 64;
                r
            }
            // Every flag at once.
            3 => {
                let mut r = ack;
                r.flags = 0xff;
                r.seq = rng.u32();
                r
            }
            // Exactly in window from the server.
            4 => {
                let mut r = ack.reply(RST);
                r.seq = sa.seq.wrapping_add(1);
                r
            }
            // The client keeps sending data regardless.
            _ => {
                let mut d = ack;
                d.flags = PSH | ACK;
                d.seq = client_next;
                d.payload = 100;
                client_next = client_next.wrapping_add(100);
                d
            }
        };
        r.ttl = if kind == 0 { 250 } else { 64 };
        frame(&mut buf, &r);
        pcap.at(t, &buf)?;
        t += 7;
    }
    Ok(Written {
        packets: pcap.packets,
        backwards: pcap.backwards,
        attempts: 0,
    })
}

/// The same 4-tuple reused `n` times: handshake, data, then a clean close,
/// a server RST, a client RST, or nothing (abandoned), each generation
/// with a fresh ISN; some generations start the moment the last ended
/// (TIME_WAIT reuse), some after a long pause.
pub fn tuple_reuse(out: &mut dyn Write, n: u64, seed: u64) -> io::Result<Written> {
    let mut rng = Rng::new(seed);
    let mut pcap = PcapOut::new(out, LINK_ETHERNET)?;
    let mut buf = Vec::with_capacity(2048);
    let (c, s) = ([10, 1, 0, 1], [10, 1, 0, 2]);
    let mut t = 0u64;
    for g in 0..n {
        let mut syn = Seg::new(c, 55_555, s, 5432, SYN);
        syn.seq = rng.u32();
        let mut sa = syn.reply(SYN | ACK);
        sa.seq = rng.u32();
        sa.ack = syn.seq.wrapping_add(1);
        let mut ack = syn;
        ack.flags = ACK;
        ack.seq = syn.seq.wrapping_add(1);
        ack.ack = sa.seq.wrapping_add(1);
        let mut req = ack;
        req.flags = PSH | ACK;
        req.payload = 40;
        let mut resp = ack.reply(PSH | ACK);
        resp.seq = ack.ack;
        resp.ack = ack.seq.wrapping_add(40);
        resp.payload = 200;
        let mut segs = vec![syn, sa, ack, req, resp];
        let c_next = ack.seq.wrapping_add(40);
        let s_next = resp.seq.wrapping_add(200);
        match g % 4 {
            0 => {
                let mut f1 = ack;
                f1.flags = FIN | ACK;
                f1.seq = c_next;
                f1.ack = s_next;
                let mut f2 = f1.reply(FIN | ACK);
                f2.seq = s_next;
                f2.ack = c_next.wrapping_add(1);
                let mut last = f1;
                last.flags = ACK;
                last.seq = c_next.wrapping_add(1);
                last.ack = s_next.wrapping_add(1);
                segs.extend([f1, f2, last]);
            }
            1 => {
                let mut r = ack.reply(RST);
                r.seq = s_next;
                segs.push(r);
            }
            2 => {
                let mut r = ack;
                r.flags = RST | ACK;
                r.seq = c_next;
                r.ack = s_next;
                segs.push(r);
            }
            _ => {}
        }
        for seg in segs {
            frame(&mut buf, &seg);
            pcap.at(t, &buf)?;
            t += 50;
        }
        t += match g % 5 {
            0 => 0,
            1 => 1_000,
            2 => 61_000_000, // past TIME_WAIT
            _ => 200,
        };
    }
    Ok(Written {
        packets: pcap.packets,
        backwards: pcap.backwards,
        attempts: n,
    })
}

/// `n` packets cycling through headers whose lengths cannot be: IPv4 IHL
/// below 5 or past the packet, total length below the header or past the
/// capture, TCP data offset below 5 or past the segment, zero-length and
/// one-byte records, captured length above the original length, a huge
/// original length, valid segments in between.
pub fn bad_header_lengths(out: &mut dyn Write, n: u64, seed: u64) -> io::Result<Written> {
    let mut rng = Rng::new(seed);
    let mut pcap = PcapOut::new(out, LINK_ETHERNET)?;
    let mut buf = Vec::with_capacity(2048);
    let mut t = 0u64;
    for i in 0..n {
        let mut s = Seg::new(
            [10, 2, 0, 1],
            40_000 + (i % 100) as u16,
            [10, 2, 0, 2],
            80,
            ACK,
        );
        s.seq = rng.u32();
        s.ack = rng.u32();
        s.payload = 10;
        buf.clear();
        let mut orig: Option<u32> = None;
        match i % 14 {
            0 => frame(&mut buf, &s),
            1 => {
                // IHL 0..4
                ethernet(&mut buf, 0x0800);
                ipv4_header(&mut buf, &s, (i % 5) as u8, 50, 0);
                tcp_header(&mut buf, &s, 5, &[]);
            }
            2 => {
                // IHL 15 (60 bytes) in a 40-byte datagram
                ethernet(&mut buf, 0x0800);
                ipv4_header(&mut buf, &s, 15, 40, 0);
                tcp_header(&mut buf, &s, 5, &[]);
            }
            3 => {
                // total length shorter than the IP header
                ethernet(&mut buf, 0x0800);
                ipv4_header(&mut buf, &s, 5, 12, 0);
                tcp_header(&mut buf, &s, 5, &[]);
            }
            4 => {
                // total length far past what was captured
                ethernet(&mut buf, 0x0800);
                ipv4_header(&mut buf, &s, 5, 65_535, 0);
                tcp_header(&mut buf, &s, 5, &[]);
            }
            5 => {
                // TCP data offset below 5
                ethernet(&mut buf, 0x0800);
                ipv4_header(&mut buf, &s, 5, 50, 0);
                tcp_header(&mut buf, &s, (i % 5) as u8, &[]);
                buf.extend_from_slice(&[b'x'; 10]);
            }
            6 => {
                // TCP data offset 15 (60 bytes) in a 30-byte segment
                ethernet(&mut buf, 0x0800);
                ipv4_header(&mut buf, &s, 5, 50, 0);
                tcp_header(&mut buf, &s, 15, &[]);
                buf.extend_from_slice(&[b'x'; 10]);
            }
            7 => {
                // TCP options whose own lengths lie (MSS claiming 40 bytes, length 0)
                ethernet(&mut buf, 0x0800);
                ipv4_header(&mut buf, &s, 5, 48, 0);
                let mut syn = s;
                syn.flags = SYN;
                tcp_header(&mut buf, &syn, 7, &[2, 40, 0, 0, 3, 0, 1, 1]);
            }
            8 => {}              // empty record
            9 => buf.push(0x45), // one byte
            10 => {
                // caplen above orig_len
                frame(&mut buf, &s);
                orig = Some(20);
            }
            11 => {
                // orig_len 4 GB
                frame(&mut buf, &s);
                orig = Some(u32::MAX);
            }
            12 => {
                // IP version 4 with IHL 5 but the frame cut inside the TCP header
                frame(&mut buf, &s);
                buf.truncate(14 + 20 + 9);
            }
            _ => {
                // a fragment claiming offset 65528 (the largest)
                ethernet(&mut buf, 0x0800);
                ipv4_header(&mut buf, &s, 5, 50, 0x1fff);
                tcp_header(&mut buf, &s, 5, &[]);
                buf.extend_from_slice(&[b'x'; 10]);
            }
        }
        let orig = orig.unwrap_or(buf.len() as u32);
        let secs = T0_SECS + (t / 1_000_000) as u32;
        pcap.raw(secs, (t % 1_000_000) as u32, &buf, orig)?;
        t += 1_000;
    }
    Ok(Written {
        packets: pcap.packets,
        backwards: pcap.backwards,
        attempts: 0,
    })
}

/// IPv6 TCP with extension-header chains before it: hop-by-hop, routing,
/// destination options, fragment (first and later), AH, chains of up to 64
/// headers, chains cut by the capture, unknown next headers, a chain whose
/// header lengths point past the packet. RAW link type.
pub fn ipv6_ext_chains(out: &mut dyn Write, n: u64, seed: u64) -> io::Result<Written> {
    let mut rng = Rng::new(seed);
    let mut pcap = PcapOut::new(out, LINK_RAW)?;
    let mut buf = Vec::with_capacity(4096);
    let mut t = 0u64;
    let src: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let dst: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    for i in 0..n {
        // Each extension header: (its type, its bytes without the next-header byte).
        let mut chain: Vec<(u8, Vec<u8>)> = Vec::new();
        let opts = |len8: u8| {
            let mut v = vec![len8];
            v.resize(8 * (usize::from(len8) + 1) - 1, 0);
            v[1] = 1; // PadN
            v[2] = (v.len() - 3).min(255) as u8;
            v
        };
        let variant = i % 9;
        match variant {
            0 => chain.push((0, opts(0))), // hop-by-hop
            1 => chain.extend([
                (0, opts(0)),
                (60, opts(1)),
                (43, {
                    // routing type 0, segments left 0
                    let mut v = vec![0u8, 0, 0];
                    v.resize(7, 0);
                    v
                }),
            ]),
            2 => chain.push((44, {
                // fragment header, first fragment with more fragments
                vec![0, 0, 1, 0, 0, 0, 1]
            })),
            3 => chain.push((44, {
                // later fragment (offset 8)
                vec![0, 0, 8, 0, 0, 0, 1]
            })),
            4 => {
                // 64 destination options headers
                for _ in 0..64 {
                    chain.push((60, opts(0)));
                }
            }
            5 => chain.push((51, {
                // AH: payload length 4 (24 bytes)
                let mut v = vec![4u8, 0, 0, 0];
                v.resize(23, 0);
                v
            })),
            6 => chain.push((60, {
                // header length 255 (2048 bytes) in a short packet
                let mut v = opts(0);
                v[0] = 255;
                v
            })),
            7 => chain.push((253, opts(0))), // experimental next header
            _ => chain.push((0, opts(2))),
        }
        let mut s = Seg::new([0; 4], 40_000 + (i % 1000) as u16, [0; 4], 443, ACK | PSH);
        s.seq = rng.u32();
        s.ack = rng.u32();
        s.payload = 16;
        let mut body = Vec::new();
        for (k, (_, bytes)) in chain.iter().enumerate() {
            let next = chain.get(k + 1).map_or(6, |(ty, _)| *ty);
            body.push(next);
            body.extend_from_slice(bytes);
        }
        let mut tcp = Vec::new();
        tcp_header(&mut tcp, &s, 5, &[]);
        tcp.resize(tcp.len() + 16, b'y');
        body.extend_from_slice(&tcp);
        buf.clear();
        buf.extend_from_slice(&[0x60, 0, 0, 0]);
        let payload_len = if variant == 8 { 0 } else { body.len() as u16 };
        buf.extend_from_slice(&payload_len.to_be_bytes());
        buf.push(chain.first().map_or(6, |(ty, _)| *ty));
        buf.push(64);
        buf.extend_from_slice(&src);
        buf.extend_from_slice(&dst);
        buf.extend_from_slice(&body);
        if i % 7 == 6 {
            // The capture cut the chain.
            let cut = 40 + (rng.below(body.len() as u64) as usize);
            buf.truncate(cut);
        }
        pcap.at(t, &buf)?;
        t += 500;
    }
    Ok(Written {
        packets: pcap.packets,
        backwards: pcap.backwards,
        attempts: 0,
    })
}

/// A connection whose packet times go backwards: small steps back, a year
/// back, back to 1970, forward to 2106, microsecond fields of a million and
/// more (invalid), then on again. `n` data segments.
pub fn time_backwards(out: &mut dyn Write, n: u64, _seed: u64) -> io::Result<Written> {
    let mut pcap = PcapOut::new(out, LINK_ETHERNET)?;
    let mut buf = Vec::with_capacity(2048);
    let (c, s) = ([10, 3, 0, 1], [10, 3, 0, 2]);
    let mut syn = Seg::new(c, 41_000, s, 8080, SYN);
    syn.seq = 7;
    let mut sa = syn.reply(SYN | ACK);
    sa.seq = 9;
    sa.ack = 8;
    let mut ack = syn;
    ack.flags = ACK;
    ack.seq = 8;
    ack.ack = 10;
    let mut t = 10_000_000u64;
    for seg in [syn, sa, ack] {
        frame(&mut buf, &seg);
        pcap.at(t, &buf)?;
        t += 100;
    }
    let mut seq = 8u32;
    for i in 0..n {
        let mut d = ack;
        d.flags = PSH | ACK;
        d.seq = seq;
        d.payload = 100;
        seq = seq.wrapping_add(100);
        frame(&mut buf, &d);
        let (secs, usecs) = match i % 8 {
            0 => {
                t = t.saturating_sub(50);
                (
                    (T0_SECS as u64 + t / 1_000_000) as u32,
                    (t % 1_000_000) as u32,
                )
            }
            1 => (T0_SECS - 365 * 86_400, 0),
            2 => (0, 0),
            3 => (u32::MAX, 999_999),
            4 => (T0_SECS, 1_000_000),
            5 => (T0_SECS, u32::MAX),
            _ => {
                t += 1_000;
                (
                    (T0_SECS as u64 + t / 1_000_000) as u32,
                    (t % 1_000_000) as u32,
                )
            }
        };
        pcap.raw(secs, usecs, &buf, buf.len() as u32)?;
        // The server acknowledges, at a sane time.
        let mut a = d.reply(ACK);
        a.seq = 10;
        a.ack = seq;
        a.payload = 0;
        frame(&mut buf, &a);
        pcap.at(t + 1, &buf)?;
    }
    Ok(Written {
        packets: pcap.packets,
        backwards: pcap.backwards,
        attempts: 0,
    })
}

/// pcapng whose block lengths lie, one lie per section so that one bad
/// block does not hide the others: each of `n` sections holds an interface
/// and a few good packets, then one block from a list of lies (length below
/// the minimum, not a multiple of 4, trailing length different from the
/// leading one, an EPB whose captured length passes its block, an option
/// whose length passes its block, if_tsresol 2^-127, a section length of
/// -2 and of 3, a huge block length). Several lies end the file early (the
/// reader stops at the first block it cannot trust): that is the point.
pub fn pcapng_lying_lengths(out: &mut dyn Write, n: u64, seed: u64) -> io::Result<Written> {
    let mut rng = Rng::new(seed);
    let mut packets = 0u64;
    let mut buf = Vec::with_capacity(256);
    let mut ng = Vec::with_capacity(4096);
    // Lies that leave the rest of the file readable come first.
    for i in 0..n {
        let lie = (i + seed) % 11;
        ng.clear();
        shb(&mut ng, if lie == 7 { 3 } else { -2 });
        idb(&mut ng, 1, if lie == 5 { Some(0xff) } else { None });
        for k in 0..3u32 {
            let mut s = Seg::new([10, 4, 0, 1], 42_000 + i as u16, [10, 4, 0, 2], 80, ACK);
            s.seq = rng.u32();
            s.payload = 8;
            frame(&mut buf, &s);
            epb(&mut ng, 0, u64::from(k) * 1000, &buf, None);
            packets += 1;
        }
        let mut s = Seg::new([10, 4, 0, 1], 42_000 + i as u16, [10, 4, 0, 2], 80, RST);
        s.seq = rng.u32();
        frame(&mut buf, &s);
        let start = ng.len();
        match lie {
            0 => {
                // trailing length differs from the leading one
                epb(&mut ng, 0, 5000, &buf, None);
                let end = ng.len();
                let bad = (end - start + 4) as u32;
                ng[end - 4..end].copy_from_slice(&bad.to_le_bytes());
            }
            1 => {
                // captured length past the block
                epb(&mut ng, 0, 5000, &buf, Some(buf.len() as u32 + 400));
            }
            2 => {
                // an option whose length passes the block end
                epb(&mut ng, 0, 5000, &buf, None);
                let end = ng.len();
                // Replace the trailing length with an option header, then
                // close the block again.
                ng.truncate(end - 4);
                ng.extend_from_slice(&1u16.to_le_bytes());
                ng.extend_from_slice(&4000u16.to_le_bytes());
                let len = (ng.len() + 4 - start) as u32;
                ng.extend_from_slice(&len.to_le_bytes());
                ng[start + 4..start + 8].copy_from_slice(&len.to_le_bytes());
            }
            3 => {
                // block length not a multiple of 4
                epb(&mut ng, 0, 5000, &buf, None);
                let len = (ng.len() - start) as u32 + 1;
                ng[start + 4..start + 8].copy_from_slice(&len.to_le_bytes());
            }
            4 => {
                // block length below the 12-byte minimum
                ng.extend_from_slice(&6u32.to_le_bytes());
                ng.extend_from_slice(&8u32.to_le_bytes());
                ng.extend_from_slice(&8u32.to_le_bytes());
            }
            5 | 7 => {
                // (lie in the IDB or the SHB above) a plain packet here
                epb(&mut ng, 0, 5000, &buf, None);
            }
            6 => {
                // packet on an interface the section never described
                epb(&mut ng, 9, 5000, &buf, None);
            }
            8 => {
                // block length 4 GiB - 4
                ng.extend_from_slice(&6u32.to_le_bytes());
                ng.extend_from_slice(&0xffff_fffcu32.to_le_bytes());
                ng.extend_from_slice(&[0; 32]);
            }
            9 => {
                // block length 16 MiB - 4: under the limit, far past the file
                ng.extend_from_slice(&6u32.to_le_bytes());
                ng.extend_from_slice(&((16u32 << 20) - 4).to_le_bytes());
                ng.extend_from_slice(&[0; 32]);
            }
            _ => {
                // a simple packet block whose original length is smaller
                // than the block
                let mut body = Vec::new();
                body.extend_from_slice(&4u32.to_le_bytes());
                body.extend_from_slice(&buf);
                block(&mut ng, 3, &body);
            }
        }
        packets += 1;
        out.write_all(&ng)?;
    }
    Ok(Written {
        packets,
        backwards: 0,
        attempts: 0,
    })
}

fn block(ng: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let padded = (body.len() + 3) & !3;
    let len = (padded + 12) as u32;
    ng.extend_from_slice(&kind.to_le_bytes());
    ng.extend_from_slice(&len.to_le_bytes());
    ng.extend_from_slice(body);
    ng.resize(ng.len() + padded - body.len(), 0);
    ng.extend_from_slice(&len.to_le_bytes());
}

fn shb(ng: &mut Vec<u8>, section_len: i64) {
    let mut body = Vec::new();
    body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&section_len.to_le_bytes());
    block(ng, 0x0a0d_0d0a, &body);
}

fn idb(ng: &mut Vec<u8>, link: u16, tsresol: Option<u8>) {
    let mut body = Vec::new();
    body.extend_from_slice(&link.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&262_144u32.to_le_bytes());
    if let Some(r) = tsresol {
        body.extend_from_slice(&9u16.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&[r, 0, 0, 0]);
        body.extend_from_slice(&[0; 4]);
    }
    block(ng, 1, &body);
}

fn epb(ng: &mut Vec<u8>, if_id: u32, ts: u64, data: &[u8], caplen: Option<u32>) {
    let mut body = Vec::new();
    body.extend_from_slice(&if_id.to_le_bytes());
    body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ts as u32).to_le_bytes());
    body.extend_from_slice(&caplen.unwrap_or(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    block(ng, 6, &body);
}
