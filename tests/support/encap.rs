//! Wraps real IP datagrams in each encapsulation rstscope decodes, byte by
//! byte as the RFCs and the vendors lay them out, so a test can check that
//! the connections of a wrapped capture are those of the unwrapped one.
//! The wrapped files are deterministic: the same input gives the same
//! bytes, so tshark's counts on them (tests/encap_tshark_counts.tsv) stay
//! true.
#![allow(dead_code)]

use etherparse::{IpNumber, Ipv4Header};

/// Every wrapping: (name, link type of the file).
pub const KINDS: &[(&str, u32)] = &[
    ("qinq", 1),
    ("mpls", 1),
    ("mpls-pw", 1),
    ("pppoe", 1),
    ("pbb", 1),
    ("vn-tag", 1),
    ("fabricpath", 1),
    ("llc-snap", 1),
    ("gre", 1),
    ("gre-key-seq-csum", 1),
    ("gre-teb", 1),
    ("erspan2", 1),
    ("erspan3", 1),
    ("4in4", 1),
    ("6in4", 1),
    ("4in6", 1),
    ("6in6", 1),
    ("vxlan", 1),
    ("geneve", 1),
    ("gtp-u", 1),
    ("teredo", 1),
    ("ayiya", 1),
    ("vxlan-in-gre-in-mpls", 1),
    ("ppp", 9),
    ("ppp-ether", 51),
    ("fddi", 10),
    ("c-hdlc", 104),
    ("nflog", 239),
    ("sll2", 276),
    ("ipnet", 226),
    ("enc", 109),
    ("pflog", 117),
];

const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];

fn eth(t: u16, body: &[u8], c2s: bool) -> Vec<u8> {
    let (d, s) = if c2s { (MAC_B, MAC_A) } else { (MAC_A, MAC_B) };
    let mut v = d.to_vec();
    v.extend_from_slice(&s);
    v.extend_from_slice(&t.to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn ip_type(ip: &[u8]) -> u16 {
    if ip[0] >> 4 == 6 {
        0x86dd
    } else {
        0x0800
    }
}

/// The outer IPv4 header between two tunnel endpoints, per direction.
fn outer4(proto: IpNumber, body: &[u8], c2s: bool) -> Vec<u8> {
    let (a, b) = ([192, 0, 2, 1], [192, 0, 2, 2]);
    let (s, d) = if c2s { (a, b) } else { (b, a) };
    let h = Ipv4Header::new(body.len() as u16, 64, proto, s, d).unwrap();
    let mut v = h.to_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

/// The outer IPv6 header between two tunnel endpoints, per direction.
fn outer6(next: u8, body: &[u8], c2s: bool) -> Vec<u8> {
    let a: [u8; 16] = "2001:db8:ffff::1"
        .parse::<std::net::Ipv6Addr>()
        .unwrap()
        .octets();
    let b: [u8; 16] = "2001:db8:ffff::2"
        .parse::<std::net::Ipv6Addr>()
        .unwrap()
        .octets();
    let (s, d) = if c2s { (a, b) } else { (b, a) };
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(&[next, 64]);
    v.extend_from_slice(&s);
    v.extend_from_slice(&d);
    v.extend_from_slice(body);
    v
}

/// UDP from an ephemeral port to `port` (and back), checksum 0.
fn udp(port: u16, body: &[u8], c2s: bool) -> Vec<u8> {
    let (s, d) = if c2s { (50000, port) } else { (port, 50000) };
    let mut v = Vec::new();
    v.extend_from_slice(&u16::to_be_bytes(s));
    v.extend_from_slice(&u16::to_be_bytes(d));
    v.extend_from_slice(&((body.len() + 8) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(body);
    v
}

/// An IPv4 datagram carrying TCP rewritten as IPv6 (addresses mapped into
/// 2001:db8::/96, same hop limit, same TCP bytes): the 6in4/6in6/Teredo
/// payloads. The TCP checksum no longer matches; neither tool checks it.
pub fn to_ipv6(ip4: &[u8]) -> Vec<u8> {
    let ihl = usize::from(ip4[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip4[2], ip4[3]])).min(ip4.len());
    let tcp = &ip4[ihl..total];
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
    v.extend_from_slice(&[6, ip4[8]]);
    for addr in [&ip4[12..16], &ip4[16..20]] {
        v.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0]);
        v.extend_from_slice(addr);
    }
    v.extend_from_slice(tcp);
    v
}

fn gre(flags: u16, proto: u16, extra: &[u8], body: &[u8]) -> Vec<u8> {
    let mut v = flags.to_be_bytes().to_vec();
    v.extend_from_slice(&proto.to_be_bytes());
    v.extend_from_slice(extra);
    v.extend_from_slice(body);
    v
}

/// One IPv4 datagram `ip` (client to server when `c2s`) as the frame of
/// the wrapping `kind`; `seq` numbers the packet (GRE/ERSPAN sequence).
pub fn wrap(kind: &str, ip: &[u8], c2s: bool, seq: u32) -> Vec<u8> {
    let t = ip_type(ip);
    match kind {
        "qinq" => {
            let mut b = vec![0, 100, 0x81, 0x00, 0, 200];
            b.extend_from_slice(&t.to_be_bytes());
            b.extend_from_slice(ip);
            eth(0x88a8, &b, c2s)
        }
        "mpls" => {
            // Two labels (16, 17), the second the bottom of the stack.
            let mut b = vec![0, 1, 0, 64, 0, 1, 0x11, 64];
            b.extend_from_slice(ip);
            eth(0x8847, &b, c2s)
        }
        "mpls-pw" => {
            // One label, a control word, then the customer's frame.
            let mut b = vec![0, 1, 0x01, 64, 0, 0, 0, 0];
            b.extend_from_slice(&eth(t, ip, c2s));
            eth(0x8847, &b, c2s)
        }
        "pppoe" => eth(0x8864, &pppoe(ip), c2s),
        "pbb" => {
            // I-TAG with service id 0x000123, then the customer's frame.
            let mut b = vec![0, 0, 0x01, 0x23];
            b.extend_from_slice(&eth(t, ip, c2s));
            eth(0x88e7, &b, c2s)
        }
        "fabricpath" => {
            // Forwarding tag 1, TTL 32, then the classic Ethernet frame.
            let mut b = vec![0x00, 0x60];
            b.extend_from_slice(&eth(t, ip, c2s));
            eth(0x8903, &b, c2s)
        }
        "vn-tag" => {
            let mut b = vec![0x80, 0x05, 0x00, 0x07];
            b.extend_from_slice(&t.to_be_bytes());
            b.extend_from_slice(ip);
            eth(0x8926, &b, c2s)
        }
        // An 802.3 frame holds at most 1500 bytes; a larger datagram (the
        // fixtures come from loopback's 64 KiB MTU) goes as Ethernet II, as
        // a host would send it.
        "llc-snap" if ip.len() + 8 > 1500 => eth(t, ip, c2s),
        "llc-snap" => {
            // 802.3 length, LLC UI frame to SNAP, OUI 0, EtherType.
            let mut b = vec![0xaa, 0xaa, 0x03, 0, 0, 0];
            b.extend_from_slice(&t.to_be_bytes());
            b.extend_from_slice(ip);
            let len = b.len() as u16;
            let mut f = eth(len, &b, c2s);
            // Frames shorter than the Ethernet minimum are padded.
            while f.len() < 60 {
                f.push(0);
            }
            f
        }
        "gre" => eth(
            0x0800,
            &outer4(IpNumber::GRE, &gre(0, t, &[], ip), c2s),
            c2s,
        ),
        "gre-key-seq-csum" => {
            let mut extra = vec![0, 0, 0, 0, 0, 0, 0x10, 0x01];
            extra.extend_from_slice(&seq.to_be_bytes());
            let g = gre(0xb000, t, &extra, ip);
            eth(0x0800, &outer4(IpNumber::GRE, &g, c2s), c2s)
        }
        "gre-teb" => {
            let g = gre(0, 0x6558, &[], &eth(t, ip, c2s));
            eth(0x0800, &outer4(IpNumber::GRE, &g, c2s), c2s)
        }
        "erspan2" => {
            // Version 1, VLAN 0, session 5, index 0.
            let mut b = vec![0x10, 0x00, 0x00, 0x05, 0, 0, 0, 0];
            b.extend_from_slice(&eth(t, ip, c2s));
            let g = gre(0x1000, 0x88be, &seq.to_be_bytes(), &b);
            eth(0x0800, &outer4(IpNumber::GRE, &g, c2s), c2s)
        }
        "erspan3" => {
            // Version 2, session 6, timestamp, SGT, flags (hardware id,
            // granularity; O clear).
            let mut b = vec![0x20, 0x00, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 0];
            b.extend_from_slice(&eth(t, ip, c2s));
            let g = gre(0x1000, 0x22eb, &seq.to_be_bytes(), &b);
            eth(0x0800, &outer4(IpNumber::GRE, &g, c2s), c2s)
        }
        "4in4" => eth(0x0800, &outer4(IpNumber::IPV4, ip, c2s), c2s),
        "6in4" => eth(0x0800, &outer4(IpNumber::IPV6, &to_ipv6(ip), c2s), c2s),
        "4in6" => eth(0x86dd, &outer6(4, ip, c2s), c2s),
        "6in6" => eth(0x86dd, &outer6(41, &to_ipv6(ip), c2s), c2s),
        "vxlan" => eth(
            0x0800,
            &outer4(IpNumber::UDP, &vxlan(42, ip, c2s), c2s),
            c2s,
        ),
        "geneve" => {
            // One 8-byte option (class 0x0102, type 3, length 1 word).
            let mut b = vec![
                0x02, 0, 0x65, 0x58, 0, 0, 9, 0, 0x01, 0x02, 3, 1, 0, 0, 0, 0,
            ];
            b.extend_from_slice(&eth(t, ip, c2s));
            let u = udp(6081, &b, c2s);
            eth(0x0800, &outer4(IpNumber::UDP, &u, c2s), c2s)
        }
        "gtp-u" => {
            // Version 1, PT, S flag: sequence word; G-PDU; TEID per direction.
            let teid: u32 = if c2s { 0x1111 } else { 0x2222 };
            let mut b = vec![0x32, 0xff];
            b.extend_from_slice(&((ip.len() + 4) as u16).to_be_bytes());
            b.extend_from_slice(&teid.to_be_bytes());
            b.extend_from_slice(&(seq as u16).to_be_bytes());
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(ip);
            let u = udp(2152, &b, c2s);
            eth(0x0800, &outer4(IpNumber::UDP, &u, c2s), c2s)
        }
        "teredo" => {
            let u = udp(3544, &to_ipv6(ip), c2s);
            eth(0x0800, &outer4(IpNumber::UDP, &u, c2s), c2s)
        }
        "ayiya" => {
            // Identity 16 bytes (type 1), signature 20 bytes (SHA-1),
            // opcode forward, next header IPv4, epoch time.
            let mut b = vec![0x41, 0x52, 0x11, 4, 0x5f, 0, 0, 0];
            b.extend_from_slice(&[0x11; 16]);
            b.extend_from_slice(&[0x22; 20]);
            b.extend_from_slice(ip);
            let u = udp(5072, &b, c2s);
            eth(0x0800, &outer4(IpNumber::UDP, &u, c2s), c2s)
        }
        "vxlan-in-gre-in-mpls" => {
            let inner = outer4(IpNumber::UDP, &vxlan(7, ip, c2s), c2s);
            let g = outer4(IpNumber::GRE, &gre(0, 0x0800, &[], &inner), c2s);
            let mut b = vec![0, 2, 0x01, 64];
            b.extend_from_slice(&g);
            eth(0x8847, &b, c2s)
        }
        "ppp" => {
            let mut b = vec![0xff, 0x03, 0x00, 0x21];
            b.extend_from_slice(ip);
            b
        }
        "ppp-ether" => pppoe(ip),
        "fddi" => {
            // Frame control (LLC, async), destination, source, LLC/SNAP.
            let (d, s) = if c2s { (MAC_B, MAC_A) } else { (MAC_A, MAC_B) };
            let mut b = vec![0x50];
            b.extend_from_slice(&d);
            b.extend_from_slice(&s);
            b.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0]);
            b.extend_from_slice(&t.to_be_bytes());
            b.extend_from_slice(ip);
            b
        }
        "c-hdlc" => {
            let mut b = vec![0x0f, 0x00];
            b.extend_from_slice(&t.to_be_bytes());
            b.extend_from_slice(ip);
            b
        }
        "nflog" => {
            // Little-endian TLVs, as Linux on x86 writes them.
            let mut b = vec![2, 0, 0, 1];
            b.extend_from_slice(&8u16.to_le_bytes());
            b.extend_from_slice(&1u16.to_le_bytes());
            b.extend_from_slice(&[0x08, 0x00, 1, 0]);
            b.extend_from_slice(&8u16.to_le_bytes());
            b.extend_from_slice(&4u16.to_le_bytes());
            b.extend_from_slice(&3u32.to_be_bytes());
            b.extend_from_slice(&((ip.len() + 4) as u16).to_le_bytes());
            b.extend_from_slice(&9u16.to_le_bytes());
            b.extend_from_slice(ip);
            while b.len() % 4 != 0 {
                b.push(0);
            }
            b
        }
        "sll2" => sll2(ip, if c2s { 2 } else { 3 }, c2s),
        "ipnet" => {
            let mut b = vec![2, 2, 0, 0];
            b.extend_from_slice(&(ip.len() as u32).to_be_bytes());
            b.extend_from_slice(&1u32.to_be_bytes());
            b.extend_from_slice(&[0; 12]);
            b.extend_from_slice(ip);
            b
        }
        "enc" => {
            let mut b = 2u32.to_le_bytes().to_vec();
            b.extend_from_slice(&0x1234u32.to_be_bytes());
            b.extend_from_slice(&0u32.to_le_bytes());
            b.extend_from_slice(ip);
            b
        }
        "pflog" => {
            // length 61, AF_INET, action pass, reason, "lo0", ruleset...
            let mut b = vec![61, 2, 0, 0];
            b.extend_from_slice(b"lo0\0\0\0\0\0\0\0\0\0\0\0\0\0");
            b.resize(64, 0);
            b.extend_from_slice(ip);
            b
        }
        other => panic!("no wrapping {other}"),
    }
}

fn pppoe(ip: &[u8]) -> Vec<u8> {
    let mut b = vec![0x11, 0x00, 0x12, 0x34];
    b.extend_from_slice(&((ip.len() + 2) as u16).to_be_bytes());
    b.extend_from_slice(&[0x00, 0x21]);
    b.extend_from_slice(ip);
    b
}

fn vxlan(vni: u32, ip: &[u8], c2s: bool) -> Vec<u8> {
    let mut b = vec![0x08, 0, 0, 0];
    b.extend_from_slice(&(vni << 8).to_be_bytes());
    b.extend_from_slice(&eth(ip_type(ip), ip, c2s));
    udp(4789, &b, c2s)
}

/// A LINUX_SLL2 header: protocol, reserved, interface index, ARPHRD_ETHER,
/// packet type (outgoing or to us), address length, address.
pub fn sll2(ip: &[u8], ifindex: u32, outgoing: bool) -> Vec<u8> {
    let mut b = ip_type(ip).to_be_bytes().to_vec();
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&ifindex.to_be_bytes());
    b.extend_from_slice(&1u16.to_be_bytes());
    b.push(if outgoing { 4 } else { 0 });
    b.push(6);
    b.extend_from_slice(&MAC_A);
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(ip);
    b
}

/// `kind` wrapping each (time, IPv4 datagram) of a capture whose client is
/// the source of the first datagram, as a classic pcap file.
pub fn wrapped_pcap(kind: &str, link: u32, packets: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut p = super::Pcap::new(link, false, false);
    let client = packets.first().map(|(_, ip)| ip[12..16].to_vec());
    for (i, (ts, ip)) in packets.iter().enumerate() {
        let c2s = Some(ip[12..16].to_vec()) == client;
        p.packet(*ts, &wrap(kind, ip, c2s, i as u32));
    }
    p.bytes
}
