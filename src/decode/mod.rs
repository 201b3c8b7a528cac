//! Packets → segments. Strips the link layer, decodes IPv4/IPv6 and TCP with
//! etherparse's lax slicing, so a snap-length-cut packet still yields every
//! header that was captured. The payload length comes from the IP header,
//! not from the captured length.

use std::net::{IpAddr, SocketAddr};

use etherparse::{
    err::Layer, EtherType, IpNumber, Ipv4HeaderSlice, Ipv6HeaderSlice, LaxIpSlice, LaxNetSlice,
    LaxSlicedPacket, LenSource, TcpOptionElement, TcpSlice,
};

use crate::capture::{LinkType, Packet};
use crate::wire::SkipReason;
use crate::wire::{Flags, Segment};

/// BSD address families seen in NULL/LOOP headers: AF_INET is 2 everywhere,
/// AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD) or 30 (macOS), 10 on Linux.
const AF_INET: u32 = 2;
const AF_INET6: [u32; 4] = [10, 24, 28, 30];

/// Decodes one packet into a TCP segment, or says why it is not one.
pub fn decode(packet: &Packet<'_>, frame: u64) -> Result<Segment, SkipReason> {
    match decode_common(packet, frame) {
        Some(segment) => Ok(segment),
        None => decode_lax(packet, frame),
    }
}

/// The common shape (plain link header, IPv4 without fragmentation or IPv6
/// without extension headers, a whole TCP header) through etherparse's small
/// header slices. `LaxSlicedPacket` is a 328-byte value moved several times
/// per packet: on a headers-only capture that was most of the decoding time.
/// Anything else returns `None` and goes the lax way; both give the same
/// segment (tested on every fixture and corpus packet).
fn decode_common(packet: &Packet<'_>, frame: u64) -> Option<Segment> {
    let data = packet.data;
    let (ether_type, ip) = match packet.link {
        LinkType::ETHERNET => (Some([*data.get(12)?, *data.get(13)?]), data.get(14..)?),
        LinkType::LINUX_SLL => (Some([*data.get(14)?, *data.get(15)?]), data.get(16..)?),
        LinkType::LINUX_SLL2 => (Some([*data.first()?, *data.get(1)?]), data.get(20..)?),
        // Raw IP has no EtherType: the version nibble says which.
        LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 => (None, data),
        _ => return None,
    };
    let (src, dst, ttl, header_len, datagram_len) = match (ether_type, ip.first()? >> 4) {
        (Some([0x08, 0x00]) | None, 4) => {
            let h = Ipv4HeaderSlice::from_slice(ip).ok()?;
            if h.protocol() != IpNumber::TCP || h.is_fragmenting_payload() {
                return None;
            }
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                h.ttl(),
                h.slice().len(),
                usize::from(h.total_len()),
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
    Some(segment(
        &tcp,
        packet,
        frame,
        (src, dst, ttl),
        payload_len,
        ip.len() < datagram_len || packet.orig_len as usize > data.len(),
    ))
}

/// Every link type, VLAN tags, IP options and extension headers, fragments
/// and snap-cut headers, through etherparse's lax slicing.
fn decode_lax(packet: &Packet<'_>, frame: u64) -> Result<Segment, SkipReason> {
    let sliced = slice_link(packet.link, packet.data)?;
    let net = sliced.net.ok_or(if sliced.stop_err.is_some() {
        SkipReason::MalformedHeader
    } else {
        SkipReason::NonIp
    })?;
    let ip = match net {
        LaxNetSlice::Ipv4(v4) => LaxIpSlice::Ipv4(v4),
        LaxNetSlice::Ipv6(v6) => LaxIpSlice::Ipv6(v6),
        LaxNetSlice::Arp(_) => return Err(SkipReason::NonIp),
    };
    // Slicing stopped inside the IP extension headers (a header length past
    // the packet, a snap length that cut the chain): what follows is
    // unknown, not known to be something other than TCP.
    let broken_extensions = matches!(
        sliced.stop_err,
        Some((
            _,
            Layer::IpAuthHeader
                | Layer::Ipv6ExtHeader
                | Layer::Ipv6HopByHopHeader
                | Layer::Ipv6DestOptionsHeader
                | Layer::Ipv6RouteHeader
                | Layer::Ipv6FragHeader
        ))
    );
    segment_from_ip(&ip, packet, frame, broken_extensions)
}

/// Runs the link layer, leaving etherparse to decode from the network layer on.
fn slice_link(link: LinkType, data: &[u8]) -> Result<LaxSlicedPacket<'_>, SkipReason> {
    match link {
        LinkType::ETHERNET => {
            // Handles 802.1Q and QinQ tags.
            LaxSlicedPacket::from_ethernet(data).map_err(|_| SkipReason::MalformedHeader)
        }
        LinkType::LINUX_SLL => {
            // 16-byte header, protocol type last. Read by offset rather than
            // with etherparse's LinuxSllHeaderSlice, which rejects ARPHRD types
            // it does not know (PPP, tunnels) that `tcpdump -i any` does write.
            linux_cooked(data, 14, 16)
        }
        // 20-byte header, protocol type first.
        LinkType::LINUX_SLL2 => linux_cooked(data, 0, 20),
        LinkType::NULL | LinkType::LOOP => {
            let Some(af) = data.get(..4) else {
                return Err(SkipReason::MalformedHeader);
            };
            let af = [af[0], af[1], af[2], af[3]];
            // NULL is in the writer's byte order, LOOP in network order;
            // either way one reading gives a small number.
            let family = match (u32::from_le_bytes(af), u32::from_be_bytes(af)) {
                (le, _) if le < 256 => le,
                (_, be) => be,
            };
            if family != AF_INET && !AF_INET6.contains(&family) {
                return Err(SkipReason::NonIp);
            }
            from_ip(&data[4..])
        }
        LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 | LinkType(12) | LinkType(14) => {
            from_ip(data)
        }
        _ => Err(SkipReason::UnsupportedLinkType),
    }
}

/// Linux "cooked" headers (SLL, SLL2): an EtherType at `proto_at`, the
/// network layer at `header_len`. Values below 0x0600 are Linux's own
/// protocol numbers (802.2 LLC, CAN, ...), never IP.
fn linux_cooked(
    data: &[u8],
    proto_at: usize,
    header_len: usize,
) -> Result<LaxSlicedPacket<'_>, SkipReason> {
    let (Some(proto), Some(rest)) = (data.get(proto_at..proto_at + 2), data.get(header_len..))
    else {
        return Err(SkipReason::MalformedHeader);
    };
    let et = u16::from_be_bytes([proto[0], proto[1]]);
    if et < 0x0600 {
        return Err(SkipReason::NonIp);
    }
    Ok(LaxSlicedPacket::from_ether_type(EtherType(et), rest))
}

fn from_ip(data: &[u8]) -> Result<LaxSlicedPacket<'_>, SkipReason> {
    match data.first().map(|b| b >> 4) {
        Some(4) | Some(6) => {
            LaxSlicedPacket::from_ip(data).map_err(|_| SkipReason::MalformedHeader)
        }
        Some(_) => Err(SkipReason::NonIp),
        None => Err(SkipReason::MalformedHeader),
    }
}

fn segment_from_ip(
    ip: &LaxIpSlice<'_>,
    packet: &Packet<'_>,
    frame: u64,
    broken_extensions: bool,
) -> Result<Segment, SkipReason> {
    let payload = ip.payload();
    if payload.fragmented {
        return Err(SkipReason::IpFragment);
    }
    if payload.ip_number != etherparse::IpNumber::TCP {
        return Err(if broken_extensions {
            SkipReason::MalformedHeader
        } else {
            SkipReason::NonTcp
        });
    }
    let (src, dst, ttl, ip_end) = match ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let start = h.slice().as_ptr() as usize;
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                h.ttl(),
                start + usize::from(h.total_len()),
            )
        }
        LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            let start = h.slice().as_ptr() as usize;
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                h.hop_limit(),
                start + 40 + usize::from(h.payload_length()),
            )
        }
    };
    let bytes = payload.payload;
    let fixed_copy;
    let (tcp, header_len) = match TcpSlice::from_slice(bytes) {
        Ok(tcp) => {
            let len = tcp.header_slice().len();
            (tcp, len)
        }
        // The snap length cut the TCP options but left the fixed 20-byte
        // header (`tcpdump -s 60`): ports, sequence numbers, flags and window
        // are there, as tshark shows. Decode that part as an option-less header.
        Err(_) if bytes.len() >= 20 && payload.incomplete => {
            let data_offset = usize::from(bytes[12] >> 4) * 4;
            if data_offset < 20 {
                return Err(SkipReason::MalformedHeader);
            }
            let mut fixed = [0u8; 20];
            fixed.copy_from_slice(&bytes[..20]);
            fixed[12] = (5 << 4) | (fixed[12] & 0x0f);
            fixed_copy = fixed;
            let tcp = TcpSlice::from_slice(&fixed_copy).map_err(|_| SkipReason::MalformedHeader)?;
            (tcp, data_offset)
        }
        Err(_) => return Err(SkipReason::MalformedHeader),
    };
    // Where the IP header's length is trustworthy, the TCP payload ends where the
    // IP datagram ends; otherwise (length 0 from TSO, jumbograms) what was captured.
    let tcp_start = bytes.as_ptr() as usize;
    let payload_start = tcp_start + header_len;
    let captured_payload = bytes.len().saturating_sub(header_len);
    let payload_len = if payload.len_source == LenSource::Slice && !payload.incomplete {
        captured_payload
    } else {
        ip_end.saturating_sub(payload_start).max(captured_payload)
    };
    Ok(segment(
        &tcp,
        packet,
        frame,
        (src, dst, ttl),
        payload_len,
        payload.incomplete || packet.orig_len as usize > packet.data.len(),
    ))
}

/// The segment from a decoded TCP header: the flags, the window scale of a
/// SYN, and the lengths the caller worked out from the IP header.
fn segment(
    tcp: &TcpSlice<'_>,
    packet: &Packet<'_>,
    frame: u64,
    (src, dst, ttl): (IpAddr, IpAddr, u8),
    payload_len: usize,
    snap_cut: bool,
) -> Segment {
    // The header's flag byte is laid out as `Flags` expects.
    let flags = tcp.header_slice().get(13).copied().unwrap_or(0);
    let wscale = if tcp.syn() {
        tcp.options_iterator().find_map(|o| match o {
            Ok(TcpOptionElement::WindowScale(s)) => Some(s),
            _ => None,
        })
    } else {
        None
    };
    Segment {
        frame,
        ts: packet.ts,
        src: SocketAddr::new(src, tcp.source_port()),
        dst: SocketAddr::new(dst, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: Flags(flags),
        window: tcp.window_size(),
        wscale,
        payload_len: u32::try_from(payload_len).unwrap_or(u32::MAX),
        ttl,
        snap_cut,
    }
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
                let lax = decode_lax(p, frame);
                if let Some(common) = decode_common(p, frame) {
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
