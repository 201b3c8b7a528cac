//! IP layers: the innermost TCP segment, or a tunnel carried in IP (GRE
//! with its ERSPAN and PPP payloads, IP-in-IP, UDP tunnels), through
//! etherparse's lax IP slicing so a snap-length-cut packet still yields
//! every header that was captured.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use etherparse::{err::Layer, IpNumber, LaxIpSlice, LenSource, TcpOptionElement, TcpSlice};

use crate::capture::Packet;
use crate::wire::{Encap, Flags, Segment, SkipReason};

use super::ether::et;
use super::path::Hop;
use super::{udp, Next, Walk};

/// An IP datagram: a TCP segment, a tunnel to follow, or a reason.
/// `expect` is the version the layer below announced (an EtherType, a PPP
/// protocol), `None` where only the first nibble says.
pub(super) fn ip<'a>(
    w: &mut Walk<'_>,
    d: &'a [u8],
    expect: Option<u8>,
) -> Result<Next<'a>, SkipReason> {
    let version = d.first().map(|b| b >> 4);
    match (version, expect) {
        (None, _) => return Err(SkipReason::MalformedHeader),
        (Some(v @ (4 | 6)), Some(e)) if v != e => return Err(SkipReason::MalformedHeader),
        (Some(4 | 6), _) => {}
        (Some(_), Some(_)) => return Err(SkipReason::MalformedHeader),
        (Some(_), None) => return Err(SkipReason::NonIp),
    }
    let (ip, stop) = LaxIpSlice::from_slice(d).map_err(|_| SkipReason::MalformedHeader)?;
    // Slicing stopped inside the IP extension headers (a header length past
    // the packet, a snap length that cut the chain): what follows is
    // unknown, not known to be something other than TCP.
    let broken_extensions = matches!(
        stop,
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
    let payload = ip.payload();
    // The first fragment of a tunnel packet too big for the path MTU (VXLAN,
    // GTP-U and GRE at 1500 bytes) holds the whole inner IP and TCP header:
    // its segment is decoded, as tshark finds it once it reassembles. Other
    // fragments (and any fragment of plain TCP) are skipped: fragments are
    // not reassembled.
    if payload.fragmented {
        let first_v4 = matches!(&ip, LaxIpSlice::Ipv4(v4)
            if v4.header().fragments_offset().value() == 0);
        let tunnel = matches!(
            payload.ip_number,
            IpNumber::UDP | IpNumber::GRE | IpNumber::IPV4 | IpNumber::IPV6
        );
        if !(first_v4 && tunnel) {
            return Err(SkipReason::IpFragment);
        }
        w.outer_fragment = true;
    }
    let (src, dst) = match &ip {
        LaxIpSlice::Ipv4(v4) => (
            IpAddr::V4(v4.header().source_addr()),
            IpAddr::V4(v4.header().destination_addr()),
        ),
        LaxIpSlice::Ipv6(v6) => (
            IpAddr::V6(v6.header().source_addr()),
            IpAddr::V6(v6.header().destination_addr()),
        ),
    };
    let hop = |kind, id| Hop { kind, id, src, dst };
    let body = payload.payload;
    match payload.ip_number {
        IpNumber::TCP => {
            let tunnel = w.path.id();
            let mut s = segment_from_ip(&ip, w.packet, w.frame, tunnel, w.info)?;
            s.outer_flow = w.outer_flow;
            // The rest of an inner datagram that came in an outer first
            // fragment is in the next fragment, not cut by the snap length.
            if w.outer_fragment {
                s.snap_cut = w.packet.orig_len as usize > w.packet.data.len();
            }
            Ok(Next::Tcp(s))
        }
        IpNumber::UDP => udp::tunnel(w, body, (src, dst)),
        IpNumber::GRE => {
            w.tunnel(Encap::Gre, hop(Encap::Gre, None))?;
            gre(w, body, hop)
        }
        IpNumber::IPV4 | IpNumber::IPV6 => {
            w.tunnel(Encap::IpInIp, hop(Encap::IpInIp, None))?;
            let v = if payload.ip_number == IpNumber::IPV4 {
                4
            } else {
                6
            };
            Ok(Next::Ip(body, Some(v)))
        }
        _ if broken_extensions => Err(SkipReason::MalformedHeader),
        _ => Err(SkipReason::NonTcp),
    }
}

/// A GRE header (RFC 2784/2890; version 1 is PPTP's enhanced GRE, RFC
/// 2637): flags, protocol, then checksum, key and sequence number when
/// their flags say so. The path already holds this tunnel as a plain `gre`
/// hop; a version-0 key (the tenant, in NVGRE and keyed tunnels) is added
/// to it. PPTP's key holds the peer's call id, which differs per
/// direction, so it is not part of the identity.
fn gre<'a>(
    w: &mut Walk<'_>,
    d: &'a [u8],
    hop: impl Fn(Encap, Option<(&'static str, u32)>) -> Hop,
) -> Result<Next<'a>, SkipReason> {
    let malformed = SkipReason::MalformedHeader;
    let (Some(&f0), Some(&f1)) = (d.first(), d.get(1)) else {
        return Err(malformed);
    };
    let version = f1 & 0x07;
    let (checksum, routing, key, seq) = (
        f0 & 0x80 != 0,
        f0 & 0x40 != 0,
        f0 & 0x20 != 0,
        f0 & 0x10 != 0,
    );
    if version > 1 || routing {
        // Source routing (obsolete since RFC 2784) and unknown versions.
        return Err(SkipReason::NonTcp);
    }
    let proto = u16::from_be_bytes([*d.get(2).ok_or(malformed)?, *d.get(3).ok_or(malformed)?]);
    let mut at = 4;
    if checksum {
        at += 4;
    }
    let mut key_value = None;
    if key {
        let k = d.get(at..at + 4).ok_or(malformed)?;
        key_value = Some(u32::from_be_bytes([k[0], k[1], k[2], k[3]]));
        at += 4;
    }
    if seq {
        at += 4;
    }
    // Enhanced GRE's acknowledgement number.
    if version == 1 && f1 & 0x80 != 0 {
        at += 4;
    }
    let rest = d.get(at..).ok_or(malformed)?;
    if version == 0 {
        if let Some(k) = key_value {
            w.path.replace_last(hop(Encap::Gre, Some(("key", k))));
        }
    }
    match proto {
        et::ERSPAN_II | et::ERSPAN_III => erspan(w, proto, seq, rest, hop),
        _ => Ok(Next::Ether(proto, rest)),
    }
}

/// ERSPAN (Cisco's mirrored frames in GRE): type I has no header (GRE
/// without sequence number), type II an 8-byte one, type III 12 bytes plus
/// an 8-byte platform subheader when its O flag is set. The mirror session
/// id is part of the identity; the mirrored frame follows.
fn erspan<'a>(
    w: &mut Walk<'_>,
    proto: u16,
    gre_seq: bool,
    d: &'a [u8],
    hop: impl Fn(Encap, Option<(&'static str, u32)>) -> Hop,
) -> Result<Next<'a>, SkipReason> {
    let malformed = SkipReason::MalformedHeader;
    w.enter(Encap::Erspan)?;
    if proto == et::ERSPAN_II && !gre_seq {
        w.path.replace_last(hop(Encap::Erspan, None));
        return Ok(Next::Frame(d));
    }
    let h = d.get(..12).ok_or(malformed)?;
    let version = h[0] >> 4;
    let session = u32::from(u16::from_be_bytes([h[2], h[3]]) & 0x03ff);
    let len = match (proto, version) {
        (et::ERSPAN_II, 1) => 8,
        (et::ERSPAN_III, 2) if h[11] & 0x01 != 0 => 20,
        (et::ERSPAN_III, 2) => 12,
        _ => return Err(malformed),
    };
    w.path
        .replace_last(hop(Encap::Erspan, Some(("session", session))));
    Ok(Next::Frame(d.get(len..).ok_or(malformed)?))
}

/// Where a source-routed IPv4 datagram is bound: with a loose or strict
/// source route (RFC 791) not yet completed, the header's destination is
/// only the next hop, and the route's last address is the host the TCP
/// connection is with (its replies come from there). Wireshark takes the
/// same address as `ip.dst`, so `tcp.stream` agrees. `None` without such a
/// route, or once it is completed (the header then names the host itself).
pub(super) fn source_routed_to(options: &[u8]) -> Option<Ipv4Addr> {
    const END: u8 = 0;
    const NO_OP: u8 = 1;
    const LOOSE_ROUTE: u8 = 131;
    const STRICT_ROUTE: u8 = 137;
    let mut rest = options;
    while let [kind, tail @ ..] = rest {
        match *kind {
            END => return None,
            NO_OP => {
                rest = tail;
                continue;
            }
            _ => {}
        }
        let len = usize::from(*tail.first()?);
        if len < 2 || len > rest.len() {
            return None;
        }
        let (option, after) = rest.split_at(len);
        if matches!(*kind, LOOSE_ROUTE | STRICT_ROUTE) {
            // Type, length, pointer, then addresses; the pointer (1-based)
            // names the next one, past the last once the route is done.
            let addresses = len.saturating_sub(3) / 4;
            let pointer = usize::from(*option.get(2)?);
            if addresses == 0 || pointer + 3 > 3 + 4 * addresses {
                return None;
            }
            let a = option.get(3 + 4 * (addresses - 1)..3 + 4 * addresses)?;
            return Some(Ipv4Addr::new(a[0], a[1], a[2], a[3]));
        }
        rest = after;
    }
    None
}

/// The segment of an IP datagram known to carry TCP.
pub(super) fn segment_from_ip(
    ip: &LaxIpSlice<'_>,
    packet: &Packet<'_>,
    frame: u64,
    tunnel: u32,
    info: &mut super::PacketInfo,
) -> Result<Segment, SkipReason> {
    let payload = ip.payload();
    let (src, dst, ttl, ip_end) = match ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let start = h.slice().as_ptr() as usize;
            info.ip_id = Some(h.identification());
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(source_routed_to(h.options()).unwrap_or(h.destination_addr())),
                h.ttl(),
                start + usize::from(h.total_len()),
            )
        }
        LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            let start = h.slice().as_ptr() as usize;
            info.ip_id = None;
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
    let mut s = segment(
        &tcp,
        packet,
        frame,
        (src, dst, ttl),
        payload_len,
        payload.incomplete || packet.orig_len as usize > packet.data.len(),
    );
    s.tunnel = tunnel;
    Ok(s)
}

/// The segment from a decoded TCP header: the flags, the window scale of a
/// SYN, and the lengths the caller worked out from the IP header.
pub(super) fn segment(
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
        nat_copy: false,
        tunnel: 0,
        outer_flow: 0,
    }
}
