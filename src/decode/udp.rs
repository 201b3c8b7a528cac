//! UDP tunnels, recognised by their well-known port and then by a check of
//! their header, so ordinary UDP that happens to use the port stays
//! `non-tcp`: VXLAN (RFC 7348), Geneve (RFC 8926), GTP-U (3GPP TS 29.281),
//! Teredo (RFC 4380) and AYIYA (draft-massar-v6ops-ayiya). No crate parses
//! these headers, and each is a few bytes.

use std::net::{IpAddr, SocketAddr};

use crate::wire::{Encap, SkipReason};

use super::ether::et;
use super::path::Hop;
use super::{Next, Walk};

pub(super) const VXLAN: u16 = 4789;
pub(super) const GENEVE: u16 = 6081;
pub(super) const GTP_U: u16 = 2152;
pub(super) const TEREDO: u16 = 3544;
pub(super) const AYIYA: u16 = 5072;

/// What a tunnel header says: the encapsulation, its tenant id, and what
/// follows.
#[derive(Debug, PartialEq)]
pub(super) struct Inner<'a> {
    pub kind: Encap,
    pub id: Option<(&'static str, u32)>,
    pub next: Next<'a>,
}

/// A UDP datagram: a tunnel when a port and the header agree, else not TCP.
pub(super) fn tunnel<'a>(
    w: &mut Walk<'_>,
    d: &'a [u8],
    (src, dst): (IpAddr, IpAddr),
) -> Result<Next<'a>, SkipReason> {
    let (Some(h), Some(body)) = (d.get(..8), d.get(8..)) else {
        return Err(SkipReason::NonTcp);
    };
    let (sport, dport) = (
        u16::from_be_bytes([h[0], h[1]]),
        u16::from_be_bytes([h[2], h[3]]),
    );
    // A UDP length shorter than the captured bytes drops the trailer.
    let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let body = if (8..8 + body.len()).contains(&len) {
        &body[..len - 8]
    } else {
        body
    };
    let Some(inner) = [dport, sport]
        .into_iter()
        .find_map(|port| parse(port, body))
    else {
        return Err(SkipReason::NonTcp);
    };
    w.udp_flow(SocketAddr::new(src, sport), SocketAddr::new(dst, dport));
    w.tunnel(
        inner.kind,
        Hop {
            kind: inner.kind,
            id: inner.id,
            src,
            dst,
        },
    )?;
    Ok(inner.next)
}

/// The tunnel header for a well-known `port`, when `d` passes its check.
pub(super) fn parse(port: u16, d: &[u8]) -> Option<Inner<'_>> {
    match port {
        VXLAN => vxlan(d),
        GENEVE => geneve(d),
        GTP_U => gtp_u(d),
        TEREDO => teredo(d),
        AYIYA => ayiya(d),
        _ => None,
    }
}

/// 8 bytes: flags with the I bit (VNI valid), 3 reserved, 24-bit VNI, 1
/// reserved; an Ethernet frame follows.
fn vxlan(d: &[u8]) -> Option<Inner<'_>> {
    let h = d.get(..8)?;
    if h[0] & 0x08 == 0 {
        return None;
    }
    let vni = u32::from_be_bytes([0, h[4], h[5], h[6]]);
    Some(Inner {
        kind: Encap::Vxlan,
        id: Some(("vni", vni)),
        next: Next::Frame(&d[8..]),
    })
}

/// Version 0, options length in 4-byte words, flags, protocol type, 24-bit
/// VNI; the protocol type says what follows (an Ethernet frame, IP).
fn geneve(d: &[u8]) -> Option<Inner<'_>> {
    let h = d.get(..8)?;
    if h[0] >> 6 != 0 {
        return None;
    }
    let len = 8 + usize::from(h[0] & 0x3f) * 4;
    let proto = u16::from_be_bytes([h[2], h[3]]);
    let vni = u32::from_be_bytes([0, h[4], h[5], h[6]]);
    let rest = d.get(len..)?;
    let next = match proto {
        et::TEB => Next::Frame(rest),
        et::IPV4 => Next::Ip(rest, Some(4)),
        et::IPV6 => Next::Ip(rest, Some(6)),
        _ => return None,
    };
    Some(Inner {
        kind: Encap::Geneve,
        id: Some(("vni", vni)),
        next,
    })
}

/// GTPv1-U: version 1, protocol type GTP, message G-PDU (255) carries a
/// user's IP packet, after the optional sequence/N-PDU word and the chain
/// of extension headers. The TEID is chosen by the receiving end, so the
/// two directions of one connection carry different ones: it is not part
/// of the identity (the outer addresses are).
fn gtp_u(d: &[u8]) -> Option<Inner<'_>> {
    let h = d.get(..8)?;
    let flags = h[0];
    if flags >> 5 != 1 || flags & 0x10 == 0 || h[1] != 0xff {
        return None;
    }
    let mut at = 8;
    if flags & 0x07 != 0 {
        // Sequence number, N-PDU number, next extension header type.
        let mut next_ext = *d.get(at + 3)?;
        at += 4;
        // Each extension: a length in 4-byte units (never 0) whose last
        // byte is the next type. Bounded by the packet.
        while next_ext != 0 {
            let units = usize::from(*d.get(at)?);
            if units == 0 {
                return None;
            }
            at += units * 4;
            next_ext = *d.get(at - 1)?;
        }
    }
    let rest = d.get(at..)?;
    let next = match rest.first()? >> 4 {
        4 => Next::Ip(rest, Some(4)),
        6 => Next::Ip(rest, Some(6)),
        _ => return None,
    };
    Some(Inner {
        kind: Encap::GtpU,
        id: None,
        next,
    })
}

/// IPv6 in UDP, optionally behind an authentication header (type 1) and an
/// origin indication (type 0, 8 bytes). A bubble or anything else whose
/// first nibble is not 6 is not a data packet.
fn teredo(d: &[u8]) -> Option<Inner<'_>> {
    let mut d = d;
    if d.get(..2)? == [0, 1] {
        // Client id length, auth value length, then 8 bytes of nonce and 1
        // of confirmation.
        let len = 4 + usize::from(*d.get(2)?) + usize::from(*d.get(3)?) + 9;
        d = d.get(len..)?;
    }
    if d.get(..2)? == [0, 0] {
        d = d.get(8..)?;
    }
    if d.first()? >> 4 != 6 || d.len() < 40 {
        return None;
    }
    Some(Inner {
        kind: Encap::Teredo,
        id: None,
        next: Next::Ip(d, Some(6)),
    })
}

/// AYIYA: identity length and type, signature length and hash method,
/// authentication method and opcode, next header, 4-byte epoch time, then
/// the identity and the signature. Only opcode 1 (forward) carries a packet.
fn ayiya(d: &[u8]) -> Option<Inner<'_>> {
    let h = d.get(..8)?;
    let id_len = 1usize << (h[0] >> 4);
    let sig_len = usize::from(h[1] >> 4) * 4;
    let opcode = h[2] & 0x0f;
    let next_header = h[3];
    if opcode != 1 {
        return None;
    }
    let rest = d.get(8 + id_len + sig_len..)?;
    let next = match next_header {
        4 => Next::Ip(rest, Some(4)),
        41 => Next::Ip(rest, Some(6)),
        _ => return None,
    };
    Some(Inner {
        kind: Encap::Ayiya,
        id: None,
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP4: [u8; 2] = [0x45, 0];

    #[test]
    fn a_udp_tunnel_flow_is_the_same_both_ways() {
        let flow = |a: &str, b: &str| {
            let mut w = Walk::test();
            w.udp_flow(a.parse().unwrap(), b.parse().unwrap());
            w.outer_flow
        };
        let up = flow("192.0.2.1:2152", "192.0.2.2:2152");
        assert_ne!(up, 0);
        assert_eq!(up, flow("192.0.2.2:2152", "192.0.2.1:2152"));
        // GTP-U downlink from another port: another flow.
        assert_ne!(up, flow("192.0.2.2:40000", "192.0.2.1:2152"));
    }

    #[test]
    fn vxlan_needs_its_i_flag() {
        let mut d = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        d.extend_from_slice(&[0xee; 14]);
        let i = vxlan(&d).unwrap();
        assert_eq!(i.id, Some(("vni", 42)));
        assert!(matches!(i.next, Next::Frame(f) if f.len() == 14));
        d[0] = 0;
        assert!(vxlan(&d).is_none());
        assert!(vxlan(&[8, 0, 0]).is_none());
    }

    #[test]
    fn geneve_skips_options_and_reads_protocol() {
        // One 4-byte option, protocol IPv4, VNI 7.
        let d = [0x01, 0, 0x08, 0x00, 0, 0, 7, 0, 1, 2, 3, 4, 0x45, 0];
        let i = geneve(&d).unwrap();
        assert_eq!(i.id, Some(("vni", 7)));
        assert!(matches!(i.next, Next::Ip(ip, Some(4)) if ip == IP4));
        // Version 1 does not exist.
        assert!(geneve(&[0x40, 0, 0x65, 0x58, 0, 0, 0, 0]).is_none());
    }

    #[test]
    fn gtp_u_with_sequence_and_an_extension_header() {
        // Flags: version 1, PT, E and S; G-PDU; length; TEID 0x01020304.
        let mut d = vec![0x36, 0xff, 0, 0, 1, 2, 3, 4];
        // seq, N-PDU, next extension type 0x85 (PDU session container)
        d.extend_from_slice(&[0, 1, 0, 0x85]);
        // one 4-byte extension whose next type is 0
        d.extend_from_slice(&[1, 0x10, 0x09, 0]);
        d.extend_from_slice(&IP4);
        let i = gtp_u(&d).unwrap();
        assert_eq!(i.kind, Encap::GtpU);
        assert!(matches!(i.next, Next::Ip(ip, Some(4)) if ip == IP4));
        // An echo request (type 1) is not user data.
        assert!(gtp_u(&[0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0]).is_none());
        // An extension of length 0 would never advance.
        let mut bad = vec![0x34, 0xff, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0x85, 0, 0, 0, 0];
        bad.extend_from_slice(&IP4);
        assert!(gtp_u(&bad).is_none());
    }

    #[test]
    fn teredo_with_origin_indication() {
        let mut d = vec![0, 0, 0x12, 0x34, 1, 2, 3, 4];
        d.extend_from_slice(&[0x60; 40]);
        assert!(matches!(teredo(&d).unwrap().next, Next::Ip(ip, Some(6)) if ip.len() == 40));
        // A bubble: an IPv6 header with no payload is still 40 bytes; less is not.
        assert!(teredo(&[0x60; 20]).is_none());
    }

    #[test]
    fn ayiya_forward_only() {
        // id length 2^4 = 16, signature 5 words = 20 bytes, opcode 1, IPv6
        let mut d = vec![0x41, 0x52, 0x11, 41, 0, 0, 0, 0];
        d.extend_from_slice(&[0; 36]);
        d.extend_from_slice(&[0x60, 0]);
        assert!(matches!(ayiya(&d).unwrap().next, Next::Ip(ip, Some(6)) if ip == [0x60, 0]));
        d[2] = 0x12; // heartbeat
        assert!(ayiya(&d).is_none());
    }
}
