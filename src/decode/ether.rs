//! Layer-2 shims between a link header and IP: Ethernet frames and their
//! 802.1Q/QinQ tags, 802.3 frames with 802.2 LLC (and SNAP), MPLS label
//! stacks (and Ethernet pseudowires below them), PPPoE sessions and PPP,
//! PBB (802.1ah), VN-tag and Cisco FabricPath. Each takes the bytes after its header's start
//! and says what comes next.

use crate::wire::{Encap, SkipReason};

use super::{Next, Walk};

/// EtherTypes the decoder follows.
pub(super) mod et {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
    /// Pre-standard QinQ outer tag, still seen on older switches.
    pub const QINQ_OLD: u16 = 0x9100;
    pub const MPLS: u16 = 0x8847;
    pub const MPLS_MULTICAST: u16 = 0x8848;
    pub const PPPOE_SESSION: u16 = 0x8864;
    pub const PBB: u16 = 0x88e7;
    pub const VN_TAG: u16 = 0x8926;
    pub const FABRIC_PATH: u16 = 0x8903;
    /// Transparent Ethernet bridging: an Ethernet frame follows (GRE, Geneve).
    pub const TEB: u16 = 0x6558;
    pub const ERSPAN_II: u16 = 0x88be;
    pub const ERSPAN_III: u16 = 0x22eb;
    /// PPP in GRE (PPTP).
    pub const PPP: u16 = 0x880b;
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

/// An Ethernet II or 802.3 frame: destination, source, then a type or a length.
pub(super) fn frame<'a>(d: &'a [u8]) -> Result<Next<'a>, SkipReason> {
    let (Some(t), Some(rest)) = (be16(d, 12), d.get(14..)) else {
        return Err(SkipReason::MalformedHeader);
    };
    if t < 0x0600 {
        // 802.3: a length, and an LLC header follows.
        return Ok(Next::Llc(rest));
    }
    Ok(Next::Ether(t, rest))
}

/// What follows an EtherType.
pub(super) fn ether_type<'a>(
    w: &mut Walk<'_>,
    t: u16,
    d: &'a [u8],
) -> Result<Next<'a>, SkipReason> {
    let malformed = SkipReason::MalformedHeader;
    match t {
        et::IPV4 => Ok(Next::Ip(d, Some(4))),
        et::IPV6 => Ok(Next::Ip(d, Some(6))),
        et::VLAN | et::QINQ | et::QINQ_OLD => {
            w.enter(Encap::Vlan)?;
            let inner = be16(d, 2).ok_or(malformed)?;
            Ok(Next::Ether(inner, &d[4..]))
        }
        et::MPLS | et::MPLS_MULTICAST => {
            w.enter(Encap::Mpls)?;
            mpls(d)
        }
        et::PPPOE_SESSION => {
            w.enter(Encap::Pppoe)?;
            pppoe_session(d)
        }
        et::PBB => {
            // The 4-byte I-TAG (priority, flags, 24-bit service id), then
            // the customer's whole Ethernet frame.
            w.enter(Encap::Pbb)?;
            Ok(Next::Frame(d.get(4..).ok_or(malformed)?))
        }
        et::VN_TAG => {
            // 4 bytes of tag (direction, pointer, virtual interfaces), then
            // the frame's own EtherType.
            w.enter(Encap::VnTag)?;
            let inner = be16(d, 4).ok_or(malformed)?;
            Ok(Next::Ether(inner, &d[6..]))
        }
        et::FABRIC_PATH => {
            // The FabricPath header is the outer addresses, this EtherType
            // and 2 bytes of forwarding tag and TTL (16 bytes, as Zeek and
            // Wireshark read it); the classic Ethernet frame follows whole.
            w.enter(Encap::FabricPath)?;
            Ok(Next::Frame(d.get(2..).ok_or(malformed)?))
        }
        et::TEB => Ok(Next::Frame(d)),
        et::PPP => Ok(Next::Ppp(d)),
        _ => Err(SkipReason::NonIp),
    }
}

/// An 802.2 LLC header; only SNAP (DSAP = SSAP = 0xAA) carries an EtherType.
pub(super) fn llc<'a>(w: &mut Walk<'_>, d: &'a [u8]) -> Result<Next<'a>, SkipReason> {
    let (Some(&dsap), Some(&ssap), Some(&control)) = (d.first(), d.get(1), d.get(2)) else {
        return Err(SkipReason::MalformedHeader);
    };
    if dsap != 0xaa || ssap & 0xfe != 0xaa {
        // STP, NetBIOS, IPX and the like.
        return Err(SkipReason::NonIp);
    }
    // U-frames have a one-byte control field, I- and S-frames two.
    let at = if control & 0x03 == 0x03 { 3 } else { 4 };
    w.enter(Encap::Llc)?;
    // SNAP: a 3-byte OUI, then the EtherType.
    let t = be16(d, at + 3).ok_or(SkipReason::MalformedHeader)?;
    Ok(Next::Ether(t, &d[at + 5..]))
}

/// An MPLS label stack: labels until the bottom-of-stack bit, then IPv4 or
/// IPv6 by the first nibble, or an Ethernet pseudowire behind its control
/// word (first nibble 0, RFC 4448). Labels are not part of a connection's
/// identity: they are swapped hop by hop.
fn mpls(d: &[u8]) -> Result<Next<'_>, SkipReason> {
    let mut at = 0;
    loop {
        let bottom = *d.get(at + 2).ok_or(SkipReason::MalformedHeader)? & 0x01 != 0;
        at += 4;
        if bottom {
            break;
        }
    }
    let rest = d.get(at..).ok_or(SkipReason::MalformedHeader)?;
    match rest.first().map(|b| b >> 4) {
        Some(4) => Ok(Next::Ip(rest, Some(4))),
        Some(6) => Ok(Next::Ip(rest, Some(6))),
        Some(0) => Ok(Next::Frame(
            rest.get(4..).ok_or(SkipReason::MalformedHeader)?,
        )),
        Some(_) => Err(SkipReason::NonIp),
        None => Err(SkipReason::MalformedHeader),
    }
}

/// A PPPoE session header (RFC 2516: version/type 0x11, code 0, session
/// id, length), then PPP without address and control bytes.
pub(super) fn pppoe_session(d: &[u8]) -> Result<Next<'_>, SkipReason> {
    let (Some(&vt), Some(&code), Some(len)) = (d.first(), d.get(1), be16(d, 4)) else {
        return Err(SkipReason::MalformedHeader);
    };
    if vt != 0x11 || code != 0 {
        return Err(SkipReason::MalformedHeader);
    }
    let end = (6 + usize::from(len)).min(d.len());
    Ok(Next::Ppp(&d[6..end]))
}

/// A PPP frame: optional HDLC address and control (0xFF 0x03), then the
/// protocol (one byte when compressed: its low bit is set).
pub(super) fn ppp<'a>(w: &mut Walk<'_>, d: &'a [u8]) -> Result<Next<'a>, SkipReason> {
    w.enter(Encap::Ppp)?;
    let d = match d {
        [0xff, 0x03, rest @ ..] => rest,
        _ => d,
    };
    let (proto, rest) = match d {
        [p, rest @ ..] if p & 0x01 == 1 => (u16::from(*p), rest),
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => return Err(SkipReason::MalformedHeader),
    };
    match proto {
        0x0021 => Ok(Next::Ip(rest, Some(4))),
        0x0057 => Ok(Next::Ip(rest, Some(6))),
        0x0281 => ether_type(w, et::MPLS, rest),
        0x0283 => ether_type(w, et::MPLS_MULTICAST, rest),
        // LCP, IPCP, CHAP, compressed data: control traffic, not IP.
        _ => Err(SkipReason::NonIp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpls_stack_ends_at_bottom_of_stack() {
        // Two labels, the second with S set, then an IPv4 first byte.
        let d = [0, 0x10, 0x00, 64, 0, 0x20, 0x01, 64, 0x45, 0];
        assert!(matches!(mpls(&d), Ok(Next::Ip(ip, Some(4))) if ip[0] == 0x45));
        // A stack that never ends is malformed, not a panic.
        assert_eq!(
            mpls(&[0, 0x10, 0, 64, 0, 0x10]).err(),
            Some(SkipReason::MalformedHeader)
        );
        // Nibble 0: the pseudowire control word, then a frame.
        let pw = [0, 0, 0x01, 64, 0, 0, 0, 0, 0xaa];
        assert!(matches!(mpls(&pw), Ok(Next::Frame(f)) if f == [0xaa]));
    }

    #[test]
    fn pppoe_session_bounds_ppp_by_its_length() {
        let d = [0x11, 0, 0x12, 0x34, 0, 3, 0x00, 0x21, 0x45, 0xee, 0xee];
        assert!(matches!(pppoe_session(&d), Ok(Next::Ppp(p)) if p == [0x00, 0x21, 0x45]));
        assert_eq!(
            pppoe_session(&[0x12, 0, 0, 0, 0, 0]).err(),
            Some(SkipReason::MalformedHeader)
        );
    }

    #[test]
    fn fabricpath_carries_a_whole_ethernet_frame() {
        let mut w = Walk::test();
        // Forwarding tag and TTL, then the classic frame's addresses.
        let mut d = vec![0x00, 0x60];
        d.extend_from_slice(&[0xee; 12]);
        d.extend_from_slice(&[0x08, 0x00, 0x45]);
        let Ok(Next::Frame(f)) = ether_type(&mut w, et::FABRIC_PATH, &d) else {
            panic!("a frame");
        };
        assert!(matches!(frame(f), Ok(Next::Ether(0x0800, ip)) if ip == [0x45]));
        assert!(w.info.encaps.contains(Encap::FabricPath));
        assert!(ether_type(&mut w, et::FABRIC_PATH, &[0]).is_err());
    }

    #[test]
    fn llc_snap_gives_its_ethertype() {
        let mut w = Walk::test();
        let d = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, 0x45];
        assert!(matches!(llc(&mut w, &d), Ok(Next::Ether(0x0800, ip)) if ip == [0x45]));
        // Spanning tree's LLC is not IP.
        assert_eq!(
            llc(&mut w, &[0x42, 0x42, 0x03, 0]).err(),
            Some(SkipReason::NonIp)
        );
    }

    #[test]
    fn ppp_with_and_without_address_and_compression() {
        let mut w = Walk::test();
        for d in [
            &[0xff, 0x03, 0x00, 0x21, 0x45][..],
            &[0x00, 0x21, 0x45],
            &[0x21, 0x45],
        ] {
            assert!(matches!(ppp(&mut w, d), Ok(Next::Ip(ip, Some(4))) if ip == [0x45]));
        }
        // LCP
        assert_eq!(ppp(&mut w, &[0xc0, 0x21, 1]).err(), Some(SkipReason::NonIp));
    }
}
