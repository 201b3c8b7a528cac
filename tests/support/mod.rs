//! A small capture writer for tests: packets the Linux loopback will not
//! produce on demand (VLAN tags, NULL/LOOP/RAW link types, IPv4 options,
//! IPv6 extension headers, fragments, odd pcapng blocks), written byte by
//! byte so each test states exactly what is on the "wire".
#![allow(dead_code)]

pub mod encap;

use std::net::{IpAddr, SocketAddr};

use etherparse::{IpNumber, Ipv4Header, TcpHeader};

pub mod bin;
pub mod captures;

pub const SYN: u8 = 0x02;
pub const FIN: u8 = 0x01;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// One TCP segment to put on the wire.
#[derive(Clone, Copy, Debug)]
pub struct Tcp {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub payload: usize,
    pub ttl: u8,
    /// Bytes of TCP options (NOPs), a multiple of 4.
    pub options: usize,
    /// The window field as written (unscaled).
    pub window: u16,
    /// A window-scale option (kind 3) with this shift, after the NOPs.
    pub wscale: Option<u8>,
}

impl Tcp {
    pub fn new(src: &str, dst: &str, flags: u8) -> Tcp {
        Tcp::between(src.parse().unwrap(), dst.parse().unwrap(), flags)
    }

    pub fn between(src: SocketAddr, dst: SocketAddr, flags: u8) -> Tcp {
        Tcp {
            src,
            dst,
            seq: 1000,
            ack: 0,
            flags,
            payload: 0,
            ttl: 64,
            options: 0,
            window: 65535,
            wscale: None,
        }
    }

    pub fn seq(mut self, seq: u32) -> Tcp {
        self.seq = seq;
        self
    }
    pub fn ack(mut self, ack: u32) -> Tcp {
        self.ack = ack;
        self
    }
    pub fn payload(mut self, n: usize) -> Tcp {
        self.payload = n;
        self
    }
    pub fn ttl(mut self, ttl: u8) -> Tcp {
        self.ttl = ttl;
        self
    }
    pub fn window(mut self, window: u16) -> Tcp {
        self.window = window;
        self
    }
    pub fn wscale(mut self, shift: u8) -> Tcp {
        self.wscale = Some(shift);
        self
    }

    /// TCP header and payload bytes.
    pub fn tcp_bytes(&self) -> Vec<u8> {
        let mut h = TcpHeader::new(self.src.port(), self.dst.port(), self.seq, self.window);
        h.acknowledgment_number = self.ack;
        h.fin = self.flags & FIN != 0;
        h.syn = self.flags & SYN != 0;
        h.rst = self.flags & RST != 0;
        h.psh = self.flags & PSH != 0;
        h.ack = self.flags & ACK != 0;
        let mut options = vec![1u8; self.options];
        if let Some(shift) = self.wscale {
            options.extend_from_slice(&[1, 3, 3, shift]);
        }
        h.set_options_raw(&options).unwrap();
        let mut v = h.to_bytes().to_vec();
        v.extend(std::iter::repeat_n(b'x', self.payload));
        v
    }

    /// The whole IP datagram (v4 or v6 by the addresses).
    pub fn ip(&self) -> Vec<u8> {
        match self.src.ip() {
            IpAddr::V4(_) => self.ipv4_with_options(&[]),
            IpAddr::V6(_) => self.ipv6_with_hop_by_hop(false),
        }
    }

    pub fn ipv4_with_options(&self, options: &[u8]) -> Vec<u8> {
        let tcp = self.tcp_bytes();
        let (IpAddr::V4(s), IpAddr::V4(d)) = (self.src.ip(), self.dst.ip()) else {
            panic!("ipv4 needs v4 addresses")
        };
        let mut h = Ipv4Header::new(
            tcp.len() as u16,
            self.ttl,
            IpNumber::TCP,
            s.octets(),
            d.octets(),
        )
        .unwrap();
        h.options = etherparse::Ipv4Options::try_from(options).unwrap();
        // Setting options does not touch the total length; the datagram must cover them.
        h.total_len = (h.header_len() + tcp.len()) as u16;
        let mut v = h.to_bytes().to_vec();
        v.extend(tcp);
        v
    }

    /// IPv6, optionally with a hop-by-hop and a destination-options
    /// extension header in front of TCP.
    pub fn ipv6_with_hop_by_hop(&self, extensions: bool) -> Vec<u8> {
        let tcp = self.tcp_bytes();
        let (IpAddr::V6(s), IpAddr::V6(d)) = (self.src.ip(), self.dst.ip()) else {
            panic!("ipv6 needs v6 addresses")
        };
        let mut exts = Vec::new();
        let first_next = if extensions {
            // hop-by-hop (0) -> destination options (60) -> TCP (6), 8 bytes each
            exts.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
            exts.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
            0u8
        } else {
            6u8
        };
        let mut v = vec![0x60, 0, 0, 0];
        v.extend_from_slice(&((exts.len() + tcp.len()) as u16).to_be_bytes());
        v.push(first_next);
        v.push(self.ttl);
        v.extend_from_slice(&s.octets());
        v.extend_from_slice(&d.octets());
        v.extend(exts);
        v.extend(tcp);
        v
    }

    /// The IPv4 datagram as two fragments, split after 8 bytes of TCP header.
    pub fn ipv4_fragments(&self) -> [Vec<u8>; 2] {
        let tcp = self.tcp_bytes();
        let (IpAddr::V4(s), IpAddr::V4(d)) = (self.src.ip(), self.dst.ip()) else {
            panic!("ipv4 needs v4 addresses")
        };
        let (first, second) = tcp.split_at(8);
        let mut h1 = Ipv4Header::new(8, self.ttl, IpNumber::TCP, s.octets(), d.octets()).unwrap();
        h1.more_fragments = true;
        let mut h2 = Ipv4Header::new(
            second.len() as u16,
            self.ttl,
            IpNumber::TCP,
            s.octets(),
            d.octets(),
        )
        .unwrap();
        h2.fragment_offset = etherparse::IpFragOffset::try_new(1).unwrap();
        let mut a = h1.to_bytes().to_vec();
        a.extend_from_slice(first);
        let mut b = h2.to_bytes().to_vec();
        b.extend_from_slice(second);
        [a, b]
    }
}

/// Ethernet II with zero or more 802.1Q tags (two = QinQ, outer 0x88a8).
pub fn ethernet(ip: &[u8], vlans: &[u16]) -> Vec<u8> {
    let mut v = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    for (i, id) in vlans.iter().enumerate() {
        let tpid: u16 = if i == 0 && vlans.len() > 1 {
            0x88a8
        } else {
            0x8100
        };
        v.extend_from_slice(&tpid.to_be_bytes());
        v.extend_from_slice(&id.to_be_bytes());
    }
    let et: u16 = if ip.first().map(|b| b >> 4) == Some(6) {
        0x86dd
    } else {
        0x0800
    };
    v.extend_from_slice(&et.to_be_bytes());
    v.extend_from_slice(ip);
    v
}

/// ARP request (not IP) in Ethernet.
pub fn arp() -> Vec<u8> {
    let mut v = vec![0xff; 6];
    v.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
    v.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    v.extend_from_slice(&[0; 20]);
    v
}

/// NULL (BSD loopback) header: address family in the writer's byte order.
pub fn null(ip: &[u8], big_endian: bool) -> Vec<u8> {
    let af: u32 = if ip.first().map(|b| b >> 4) == Some(6) {
        30
    } else {
        2
    };
    let mut v = if big_endian {
        af.to_be_bytes()
    } else {
        af.to_le_bytes()
    }
    .to_vec();
    v.extend_from_slice(ip);
    v
}

/// Classic pcap file writer.
pub struct Pcap {
    pub bytes: Vec<u8>,
    nanos: bool,
    big_endian: bool,
}

impl Pcap {
    pub fn new(link: u32, nanos: bool, big_endian: bool) -> Pcap {
        let mut p = Pcap {
            bytes: Vec::new(),
            nanos,
            big_endian,
        };
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        p.u32(magic);
        p.u16(2);
        p.u16(4);
        p.u32(0);
        p.u32(0);
        p.u32(262_144);
        p.u32(link);
        p
    }

    fn u16(&mut self, x: u16) {
        let b = if self.big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }
    fn u32(&mut self, x: u32) {
        let b = if self.big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }

    /// A record at `ts_ns` nanoseconds since the epoch.
    pub fn packet(&mut self, ts_ns: u64, data: &[u8]) -> &mut Pcap {
        self.packet_cut(ts_ns, data, data.len())
    }

    /// A record whose captured bytes were cut to `caplen` (snap length).
    pub fn packet_cut(&mut self, ts_ns: u64, data: &[u8], caplen: usize) -> &mut Pcap {
        let caplen = caplen.min(data.len());
        self.u32((ts_ns / 1_000_000_000) as u32);
        let frac = ts_ns % 1_000_000_000;
        self.u32(if self.nanos { frac } else { frac / 1000 } as u32);
        self.u32(caplen as u32);
        self.u32(data.len() as u32);
        self.bytes.extend_from_slice(&data[..caplen]);
        self
    }
}

/// pcapng writer (little-endian unless `big_endian`).
pub struct PcapNg {
    pub bytes: Vec<u8>,
    big_endian: bool,
}

impl PcapNg {
    pub fn new(big_endian: bool) -> PcapNg {
        let mut p = PcapNg {
            bytes: Vec::new(),
            big_endian,
        };
        p.section();
        p
    }

    fn w32(&self, x: u32) -> [u8; 4] {
        if self.big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }
    fn w16(&self, x: u16) -> [u8; 2] {
        if self.big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }

    fn block(&mut self, kind: u32, body: &[u8]) {
        let mut body = body.to_vec();
        while body.len() % 4 != 0 {
            body.push(0);
        }
        let len = (body.len() + 12) as u32;
        let (k, l) = (self.w32(kind), self.w32(len));
        self.bytes.extend_from_slice(&k);
        self.bytes.extend_from_slice(&l);
        self.bytes.extend_from_slice(&body);
        self.bytes.extend_from_slice(&l);
    }

    /// A new Section Header Block: interface numbering starts again.
    pub fn section(&mut self) -> &mut PcapNg {
        let mut body = Vec::new();
        body.extend_from_slice(&self.w32(0x1a2b_3c4d));
        body.extend_from_slice(&self.w16(1));
        body.extend_from_slice(&self.w16(0));
        body.extend_from_slice(&[0xff; 8]);
        self.block(0x0a0d_0d0a, &body);
        self
    }

    /// Interface Description Block with optional if_tsresol and if_tsoffset.
    pub fn interface(
        &mut self,
        link: u16,
        tsresol: Option<u8>,
        tsoffset: Option<i64>,
    ) -> &mut PcapNg {
        let mut body = Vec::new();
        body.extend_from_slice(&self.w16(link));
        body.extend_from_slice(&self.w16(0));
        body.extend_from_slice(&self.w32(262_144));
        if let Some(r) = tsresol {
            body.extend_from_slice(&self.w16(9));
            body.extend_from_slice(&self.w16(1));
            body.extend_from_slice(&[r, 0, 0, 0]);
        }
        if let Some(o) = tsoffset {
            body.extend_from_slice(&self.w16(14));
            body.extend_from_slice(&self.w16(8));
            let b = if self.big_endian {
                o.to_be_bytes()
            } else {
                o.to_le_bytes()
            };
            body.extend_from_slice(&b);
        }
        if tsresol.is_some() || tsoffset.is_some() {
            body.extend_from_slice(&[0; 4]); // opt_endofopt
        }
        self.block(1, &body);
        self
    }

    /// Enhanced Packet Block; `ts_units` in the interface's resolution.
    pub fn enhanced(&mut self, if_id: u32, ts_units: u64, data: &[u8]) -> &mut PcapNg {
        let mut body = Vec::new();
        body.extend_from_slice(&self.w32(if_id));
        body.extend_from_slice(&self.w32((ts_units >> 32) as u32));
        body.extend_from_slice(&self.w32(ts_units as u32));
        body.extend_from_slice(&self.w32(data.len() as u32));
        body.extend_from_slice(&self.w32(data.len() as u32));
        body.extend_from_slice(data);
        self.block(6, &body);
        self
    }

    /// Simple Packet Block: interface 0, no timestamp.
    pub fn simple(&mut self, data: &[u8]) -> &mut PcapNg {
        let mut body = Vec::new();
        body.extend_from_slice(&self.w32(data.len() as u32));
        body.extend_from_slice(data);
        self.block(3, &body);
        self
    }

    /// Obsolete Packet Block (type 2).
    pub fn obsolete(&mut self, if_id: u16, ts_units: u64, data: &[u8]) -> &mut PcapNg {
        let mut body = Vec::new();
        body.extend_from_slice(&self.w16(if_id));
        body.extend_from_slice(&self.w16(0));
        body.extend_from_slice(&self.w32((ts_units >> 32) as u32));
        body.extend_from_slice(&self.w32(ts_units as u32));
        body.extend_from_slice(&self.w32(data.len() as u32));
        body.extend_from_slice(&self.w32(data.len() as u32));
        body.extend_from_slice(data);
        self.block(2, &body);
        self
    }
}
