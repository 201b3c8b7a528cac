//! Packets → segments. Peels the link layer and every encapsulation
//! inside it (VLAN tags, MPLS, PPPoE and PPP, PBB, VN-tag, FabricPath,
//! LLC/SNAP, GRE and ERSPAN, IP-in-IP, UDP tunnels) down to the innermost
//! TCP segment, decoding IPv4/IPv6 and TCP with etherparse's lax slicing, so
//! a snap-length-cut packet still yields every header that was captured. The
//! payload length comes from the IP header, not from the captured length.
//!
//! Owns: the layer walk (one file per family: `link`, `ether`, `ip`,
//! `udp`), the tunnel path of a packet (`path`), the window that
//! recognises a second copy of one packet (`copies`), and the
//! translations that put a NAT's second view of a connection back under
//! the addresses first seen (`translated`).
//!
//! May import: `wire`, `capture`.

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};

use etherparse::{IpNumber, Ipv4HeaderSlice, Ipv6HeaderSlice, TcpSlice};

use crate::capture::{LinkType, Packet};
use crate::wire::{Encap, EncapSet, Segment, SkipReason};

mod copies;
mod ether;
mod ip;
mod link;
mod path;
#[cfg(test)]
mod testwire;
mod translated;
mod udp;

pub use copies::{may_hold_copies, Copies};
pub use translated::{Translations, EXAMPLES as TRANSLATION_EXAMPLES};

/// Encapsulations (tags, labels, tunnels) followed inside one packet; a
/// deeper one is counted as `nested-too-deep`.
pub const MAX_NESTING: usize = 8;

/// What decoding learnt about a packet besides its segment: the
/// encapsulations it carried (counted in the capture block whether or not
/// a segment came out), and what tells a second copy of it apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketInfo {
    pub encaps: EncapSet,
    /// The innermost IPv4 header's identification (IPv6 has none).
    pub ip_id: Option<u16>,
    /// The interface index the link header names (LINUX_SLL2, NFLOG), 0
    /// when it names none.
    pub ifindex: u32,
}

/// Decodes one packet into a TCP segment, or says why it is not one.
pub fn decode(packet: &Packet<'_>, frame: u64) -> Result<Segment, SkipReason> {
    decode_with(packet, frame, &mut PacketInfo::default())
}

/// [`decode`], also filling `info`.
pub fn decode_with(
    packet: &Packet<'_>,
    frame: u64,
    info: &mut PacketInfo,
) -> Result<Segment, SkipReason> {
    match decode_common(packet, frame, info) {
        Some(segment) => Ok(segment),
        None => decode_lax(packet, frame, info),
    }
}
/// The common shape (plain link header, IPv4 without fragmentation or IPv6
/// without extension headers, a whole TCP header) through etherparse's small
/// header slices. `LaxSlicedPacket` is a 328-byte value moved several times
/// per packet: on a headers-only capture that was most of the decoding time.
/// Anything else returns `None` and goes the lax way; both give the same
/// segment (tested on every fixture and corpus packet).
fn decode_common(packet: &Packet<'_>, frame: u64, info: &mut PacketInfo) -> Option<Segment> {
    let data = packet.data;
    let (ether_type, ip) = match packet.link {
        LinkType::ETHERNET => (Some([*data.get(12)?, *data.get(13)?]), data.get(14..)?),
        LinkType::LINUX_SLL => (Some([*data.get(14)?, *data.get(15)?]), data.get(16..)?),
        LinkType::LINUX_SLL2 => (Some([*data.first()?, *data.get(1)?]), data.get(20..)?),
        // Raw IP has no EtherType: the version nibble says which.
        LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 => (None, data),
        _ => return None,
    };
    let (src, dst, ttl, header_len, datagram_len, ip_id) = match (ether_type, ip.first()? >> 4) {
        (Some([0x08, 0x00]) | None, 4) => {
            let h = Ipv4HeaderSlice::from_slice(ip).ok()?;
            if h.protocol() != IpNumber::TCP || h.is_fragmenting_payload() {
                return None;
            }
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(ip::source_routed_to(h.options()).unwrap_or(h.destination_addr())),
                h.ttl(),
                h.slice().len(),
                usize::from(h.total_len()),
                Some(h.identification()),
            )
        }
        (Some([0x86, 0xdd]) | None, 6) => {
            let h = Ipv6HeaderSlice::from_slice(ip).ok()?;
            if h.next_header() != IpNumber::TCP {
                return None;
            }
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                h.hop_limit(),
                40,
                40 + usize::from(h.payload_length()),
                None,
            )
        }
        _ => return None,
    };
    // A datagram shorter than its headers (TSO writes total length 0) is left
    // to the lax path, which falls back to the captured length.
    if datagram_len < header_len + 20 {
        return None;
    }
    let captured_end = datagram_len.min(ip.len());
    let tcp = TcpSlice::from_slice(ip.get(header_len..captured_end)?).ok()?;
    let tcp_len = tcp.header_slice().len();
    let payload_len = datagram_len.checked_sub(header_len + tcp_len)?;
    info.ip_id = ip_id;
    if packet.link == LinkType::LINUX_SLL2 {
        let i = data.get(4..8)?;
        info.ifindex = u32::from_be_bytes([i[0], i[1], i[2], i[3]]);
    }
    Some(ip::segment(
        &tcp,
        packet,
        frame,
        (src, dst, ttl),
        payload_len,
        ip.len() < datagram_len || packet.orig_len as usize > data.len(),
    ))
}

/// One packet's walk through its layers: what each layer may add to.
pub(crate) struct Walk<'w> {
    packet: &'w Packet<'w>,
    frame: u64,
    info: &'w mut PacketInfo,
    path: path::Path,
    nesting: usize,
    /// An outer IPv4 layer was a first fragment: the inner datagram's end
    /// is in the next fragment.
    outer_fragment: bool,
    /// Fingerprint of the UDP tunnels' outer flows so far
    /// (`Segment::outer_flow`).
    outer_flow: u32,
}

/// The layer a walk goes on with.
#[derive(Debug, PartialEq)]
pub(crate) enum Next<'a> {
    /// An Ethernet frame (destination, source, type or length).
    Frame(&'a [u8]),
    /// The bytes after an EtherType.
    Ether(u16, &'a [u8]),
    /// An 802.2 LLC header.
    Llc(&'a [u8]),
    /// A PPP frame.
    Ppp(&'a [u8]),
    /// An IP datagram, of the version the layer below announced if any.
    Ip(&'a [u8], Option<u8>),
    /// The innermost TCP segment.
    Tcp(Segment),
}

impl Walk<'_> {
    /// Enters one encapsulation: counted, and bounded.
    fn enter(&mut self, e: Encap) -> Result<(), SkipReason> {
        self.info.encaps.add(e);
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(SkipReason::TooDeep);
        }
        Ok(())
    }

    /// Enters an IP-level tunnel, which becomes part of the path.
    fn tunnel(&mut self, e: Encap, hop: path::Hop) -> Result<(), SkipReason> {
        self.enter(e)?;
        if !self.path.push(hop) {
            return Err(SkipReason::TooDeep);
        }
        Ok(())
    }

    /// A UDP tunnel came through the outer flow between `a` and `b`: mixed
    /// into the fingerprint in an order that does not depend on direction.
    fn udp_flow(&mut self, a: SocketAddr, b: SocketAddr) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let mut h = rustc_hash::FxHasher::default();
        (self.outer_flow, lo, hi).hash(&mut h);
        // Never 0, which means "no UDP tunnel".
        self.outer_flow = (h.finish() as u32).max(1);
    }

    #[cfg(test)]
    fn test() -> Walk<'static> {
        static PACKET: Packet<'static> = Packet {
            ts: crate::wire::Timestamp(0),
            link: LinkType::RAW,
            data: &[],
            orig_len: 0,
            interface: 0,
            interfaces: 1,
        };
        Walk {
            packet: &PACKET,
            frame: 1,
            info: Box::leak(Box::default()),
            path: path::Path::default(),
            nesting: 0,
            outer_fragment: false,
            outer_flow: 0,
        }
    }
}

/// Every link type, every encapsulation, IP options and extension headers,
/// fragments and snap-cut headers, layer by layer.
fn decode_lax(
    packet: &Packet<'_>,
    frame: u64,
    info: &mut PacketInfo,
) -> Result<Segment, SkipReason> {
    let mut next = link::start(packet.link, packet.data, info)?;
    let mut w = Walk {
        packet,
        frame,
        info,
        path: path::Path::default(),
        nesting: 0,
        outer_fragment: false,
        outer_flow: 0,
    };
    // Every encapsulation entered is bounded by `enter`; the layers between
    // them (a frame's EtherType, IP) are a few per encapsulation. The step
    // bound only stops a frame that announces a frame inside itself.
    for _ in 0..4 * (MAX_NESTING + 2) {
        next = match next {
            Next::Tcp(segment) => return Ok(segment),
            Next::Frame(d) => ether::frame(d)?,
            Next::Ether(t, d) => ether::ether_type(&mut w, t, d)?,
            Next::Llc(d) => ether::llc(&mut w, d)?,
            Next::Ppp(d) => ether::ppp(&mut w, d)?,
            Next::Ip(d, v) => ip::ip(&mut w, d, v)?,
        };
    }
    Err(SkipReason::TooDeep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Timestamp;
    use etherparse::PacketBuilder;

    fn tcp_v4(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 80, 1000, 64240)
            .ack(1)
            .psh();
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v
    }

    fn packet(link: LinkType, data: &[u8]) -> Packet<'_> {
        Packet {
            ts: Timestamp(0),
            link,
            data,
            orig_len: data.len() as u32,
            interface: 0,
            interfaces: 1,
        }
    }

    #[test]
    fn raw_ipv4_segment() {
        let ip = tcp_v4(b"hello");
        let s = decode(&packet(LinkType::RAW, &ip), 1).unwrap();
        assert_eq!(s.src.to_string(), "10.0.0.1:40000");
        assert_eq!(s.dst.to_string(), "10.0.0.2:80");
        assert_eq!(s.payload_len, 5);
        assert_eq!(s.flags.to_string(), "P.");
        assert_eq!(s.ttl, 64);
    }

    #[test]
    fn snap_cut_payload_length_comes_from_ip_header() {
        let ip = tcp_v4(&[7u8; 500]);
        let cut = &ip[..60];
        let p = Packet {
            ts: Timestamp(0),
            link: LinkType::RAW,
            data: cut,
            orig_len: ip.len() as u32,
            interface: 0,
            interfaces: 1,
        };
        let s = decode(&p, 1).unwrap();
        assert_eq!(s.payload_len, 500);
        assert!(s.snap_cut);
    }

    #[test]
    fn null_and_loop_in_both_byte_orders() {
        let ip = tcp_v4(b"x");
        for header in [2u32.to_le_bytes(), 2u32.to_be_bytes()] {
            let mut v = header.to_vec();
            v.extend_from_slice(&ip);
            for link in [LinkType::NULL, LinkType::LOOP] {
                assert_eq!(decode(&packet(link, &v), 1).unwrap().payload_len, 1);
            }
        }
    }

    #[test]
    fn unknown_link_type_is_counted_not_an_error() {
        assert_eq!(
            decode(&packet(LinkType(147), &[0; 40]), 1),
            Err(SkipReason::UnsupportedLinkType)
        );
    }

    /// The fast path and the lax path agree on every packet of every capture
    /// we have, and the fast path really takes the common ones.
    #[test]
    fn common_path_decodes_like_the_lax_path() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<std::path::PathBuf> = Vec::new();
        for dir in [
            root.join("fixtures"),
            root.join("fixtures/rotated"),
            std::env::var("RSTSCOPE_CORPUS")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|_| root.join("../shared/corpus")),
        ] {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                    files.push(p);
                }
            }
        }
        let (mut fast, mut total) = (0u64, 0u64);
        for path in files {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let mut frame = 0;
            let _ = crate::capture::read_capture("t", &bytes[..], &mut |p, _| {
                frame += 1;
                total += 1;
                let lax = decode_lax(p, frame, &mut PacketInfo::default());
                if let Some(common) = decode_common(p, frame, &mut PacketInfo::default()) {
                    fast += 1;
                    assert_eq!(Ok(common), lax, "{} frame {frame}", path.display());
                }
            });
        }
        assert!(total > 4000, "read the fixtures and the corpus");
        assert!(
            fast * 10 > total * 8,
            "most packets take the common path: {fast} of {total}"
        );
    }

    /// Hostile bytes under every link type the walker reads, and mutations
    /// of real tunnelled packets: an answer every time, never a panic.
    #[test]
    fn hostile_bytes_never_panic() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        // VXLAN-in-IPv4 around a TCP packet, GRE with key, MPLS, PPPoE.
        let ip = tcp_v4(b"payload");
        let mut vxlan = vec![0u8; 14];
        vxlan[12] = 0x08;
        let mut outer = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let mut udp = vec![
            0x12, 0x34, 0x12, 0xb5, 0, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 42, 0,
        ];
        udp.extend_from_slice(&vxlan);
        udp.extend_from_slice(&ip);
        let total = (outer.len() + udp.len()) as u16;
        outer[2..4].copy_from_slice(&total.to_be_bytes());
        outer.extend_from_slice(&udp);
        let seeds: Vec<Vec<u8>> = vec![
            [&vxlan[..12], &[0x08, 0x00], &outer[..]].concat(),
            [&vxlan[..12], &[0x88, 0x47, 0, 0, 0x01, 64], &ip[..]].concat(),
            [
                &vxlan[..12],
                &[0x88, 0x64, 0x11, 0, 0, 1, 0, 40, 0, 0x21],
                &ip[..],
            ]
            .concat(),
            outer.clone(),
        ];
        let links = [
            0u32, 1, 9, 10, 50, 51, 100, 101, 104, 108, 109, 113, 117, 204, 226, 239, 276,
        ];
        for round in 0..3000 {
            let mut d = seeds[round % seeds.len()].clone();
            for _ in 0..(next() % 6) {
                let i = (next() as usize) % d.len();
                d[i] = next() as u8;
            }
            d.truncate((next() as usize) % (d.len() + 1));
            if round % 7 == 0 {
                d = (0..next() % 200).map(|_| next() as u8).collect();
            }
            for &l in &links {
                let mut info = PacketInfo::default();
                let _ = decode_with(&packet(LinkType(l), &d), 1, &mut info);
            }
        }
    }

    /// A SYN with a loose source route through 1.2.3.4 to 5.6.7.8, its
    /// header addressed to the hop 13.14.15.16 (built byte by byte: the
    /// kernel drops source-routed datagrams).
    fn source_routed_syn(kind: u8, pointer: u8) -> Vec<u8> {
        let mut v = vec![
            0x48, 0, 0, 52, 0, 1, 0, 0, 64, 6, 0, 0, // IHL 8, TCP
            9, 10, 11, 12, 13, 14, 15, 16, // source, header's destination
            kind, 11, pointer, 1, 2, 3, 4, 5, 6, 7, 8, 0, // route, end
        ];
        v.extend_from_slice(&[
            0, 20, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0, 0, 0, 0, 0,
        ]);
        v
    }

    #[test]
    fn a_source_routed_segment_is_bound_for_the_routes_last_address() {
        for kind in [131, 137] {
            let ip = source_routed_syn(kind, 4);
            let p = packet(LinkType::IPV4, &ip);
            let s = decode(&p, 1).unwrap();
            assert_eq!(s.src.to_string(), "9.10.11.12:20");
            assert_eq!(s.dst.to_string(), "5.6.7.8:80", "option {kind}");
            let lax = decode_lax(&p, 1, &mut PacketInfo::default()).unwrap();
            assert_eq!(lax.dst, s.dst);
        }
        // A completed route (pointer past the last address), and any other
        // option (record route, 7): the header's destination is the host.
        for (kind, pointer) in [(131, 12), (7, 4)] {
            let ip = source_routed_syn(kind, pointer);
            let s = decode(&packet(LinkType::IPV4, &ip), 1).unwrap();
            assert_eq!(s.dst.to_string(), "13.14.15.16:80", "option {kind}");
        }
    }

    #[test]
    fn source_route_options_are_read_as_rfc_791_lays_them_out() {
        use std::net::Ipv4Addr;
        let to = |o: &[u8]| ip::source_routed_to(o);
        // No-ops before the route; the last of two addresses.
        assert_eq!(
            to(&[1, 1, 137, 11, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0]),
            Some(Ipv4Addr::new(5, 6, 7, 8))
        );
        // End of options before a route, a route cut short, no address.
        assert_eq!(to(&[0, 131, 7, 4, 1, 2, 3, 4]), None);
        assert_eq!(to(&[131, 11, 4, 1, 2, 3, 4]), None);
        assert_eq!(to(&[131, 3, 4]), None);
        assert_eq!(to(&[]), None);
    }

    #[test]
    fn udp_is_non_tcp() {
        let b = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(1, 2);
        let mut v = Vec::new();
        b.write(&mut v, b"x").unwrap();
        assert_eq!(
            decode(&packet(LinkType::RAW, &v), 1),
            Err(SkipReason::NonTcp)
        );
    }
}
