//! Link-layer headers: from a link type's bytes to the first layer the
//! walker follows (an Ethernet frame, an EtherType, IP, PPP or LLC).

use crate::capture::LinkType;
use crate::wire::SkipReason;

use super::ether;
use super::{Next, PacketInfo};

/// BSD address families seen in NULL/LOOP/ENC/PFLOG headers: AF_INET is 2
/// everywhere, AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD) or 30 (macOS),
/// 10 on Linux.
const AF_INET: u32 = 2;
const AF_INET6: [u32; 4] = [10, 24, 28, 30];

/// Link types beyond the ones `capture::LinkType` names.
pub(super) mod lt {
    pub const PPP: u32 = 9;
    pub const FDDI: u32 = 10;
    pub const PPP_HDLC: u32 = 50;
    pub const PPP_ETHER: u32 = 51;
    /// ATM with RFC 1483 LLC/SNAP encapsulation: frames start with LLC.
    pub const ATM_RFC1483: u32 = 100;
    pub const C_HDLC: u32 = 104;
    pub const ENC: u32 = 109;
    pub const PFLOG: u32 = 117;
    pub const PPP_WITH_DIR: u32 = 204;
    pub const IPNET: u32 = 226;
    pub const NFLOG: u32 = 239;
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

fn rest(d: &[u8], at: usize) -> Result<&[u8], SkipReason> {
    d.get(at..).ok_or(SkipReason::MalformedHeader)
}

/// The first layer below the link header, or why there is none.
pub(super) fn start<'a>(
    link: LinkType,
    d: &'a [u8],
    info: &mut PacketInfo,
) -> Result<Next<'a>, SkipReason> {
    match link.0 {
        1 => Ok(Next::Frame(d)),
        // 16-byte header, protocol type last. Read by offset rather than
        // with etherparse's LinuxSllHeaderSlice, which rejects ARPHRD types
        // it does not know (PPP, tunnels) that `tcpdump -i any` does write.
        113 => linux_cooked(d, 14, 16),
        // 20-byte header, protocol type first, then the interface index.
        276 => {
            if let Some(i) = d.get(4..8) {
                info.ifindex = u32::from_be_bytes([i[0], i[1], i[2], i[3]]);
            }
            linux_cooked(d, 0, 20)
        }
        0 | 108 => {
            let af = d.get(..4).ok_or(SkipReason::MalformedHeader)?;
            let af = [af[0], af[1], af[2], af[3]];
            // NULL is in the writer's byte order, LOOP in network order;
            // either way one reading gives a small number.
            let family = match (u32::from_le_bytes(af), u32::from_be_bytes(af)) {
                (le, _) if le < 256 => le,
                (_, be) => be,
            };
            ip_family(family, &d[4..])
        }
        101 | 228 | 229 | 12 | 14 => Ok(Next::Ip(d, None)),
        lt::PPP | lt::PPP_HDLC => Ok(Next::Ppp(d)),
        // One direction byte, then PPP.
        lt::PPP_WITH_DIR => Ok(Next::Ppp(rest(d, 1)?)),
        // A PPPoE session header without the Ethernet header around it.
        lt::PPP_ETHER => ether::pppoe_session(d),
        // Cisco HDLC: address, control, then an EtherType.
        lt::C_HDLC => Ok(Next::Ether(
            be16(d, 2).ok_or(SkipReason::MalformedHeader)?,
            rest(d, 4)?,
        )),
        // Frame control, destination, source; LLC follows.
        lt::FDDI => Ok(Next::Llc(rest(d, 13)?)),
        lt::ATM_RFC1483 => Ok(Next::Llc(d)),
        lt::NFLOG => nflog(d, info),
        lt::IPNET => {
            // Solaris ipnet: version, family (2 IPv4, 26 IPv6), type,
            // length, interface indexes and zones: 24 bytes.
            let family = *d.get(1).ok_or(SkipReason::MalformedHeader)?;
            match family {
                2 => Ok(Next::Ip(rest(d, 24)?, Some(4))),
                26 => Ok(Next::Ip(rest(d, 24)?, Some(6))),
                _ => Err(SkipReason::NonIp),
            }
        }
        lt::ENC => {
            // OpenBSD IPsec: address family (host order), SPI, flags.
            let af = d.get(..4).ok_or(SkipReason::MalformedHeader)?;
            let af = [af[0], af[1], af[2], af[3]];
            let family = u32::from_le_bytes(af).min(u32::from_be_bytes(af));
            ip_family(family, rest(d, 12)?)
        }
        lt::PFLOG => {
            // OpenBSD pf log: its own length (61 on every system, padded
            // to 4 bytes as libpcap does), then the address family.
            let (Some(&len), Some(&af)) = (d.first(), d.get(1)) else {
                return Err(SkipReason::MalformedHeader);
            };
            if len < 4 {
                return Err(SkipReason::MalformedHeader);
            }
            let len = (usize::from(len) + 3) & !3;
            ip_family(u32::from(af), rest(d, len)?)
        }
        _ => Err(SkipReason::UnsupportedLinkType),
    }
}

fn ip_family(family: u32, d: &[u8]) -> Result<Next<'_>, SkipReason> {
    if family != AF_INET && !AF_INET6.contains(&family) {
        return Err(SkipReason::NonIp);
    }
    Ok(Next::Ip(d, None))
}

/// Linux "cooked" headers (SLL, SLL2): an EtherType at `proto_at`, the
/// network layer at `header_len`. Values below 0x0600 are Linux's own
/// protocol numbers: 4 is an 802.2 LLC frame, the others (CAN, raw
/// 802.3, ...) never carry IP.
fn linux_cooked(d: &[u8], proto_at: usize, header_len: usize) -> Result<Next<'_>, SkipReason> {
    let (Some(t), Some(rest)) = (be16(d, proto_at), d.get(header_len..)) else {
        return Err(SkipReason::MalformedHeader);
    };
    match t {
        0x0004 => Ok(Next::Llc(rest)),
        t if t < 0x0600 => Err(SkipReason::NonIp),
        t => Ok(Next::Ether(t, rest)),
    }
}

/// NFLOG (`tcpdump -i nflog`): family, version, group, then TLVs (length
/// and type in the writer's byte order, padded to 4 bytes); the packet is
/// the NFULA_PAYLOAD TLV, an IP datagram. The input interface is kept.
fn nflog<'a>(d: &'a [u8], info: &mut PacketInfo) -> Result<Next<'a>, SkipReason> {
    const NFULA_IFINDEX_INDEV: u16 = 4;
    const NFULA_PAYLOAD: u16 = 9;
    let family = *d.first().ok_or(SkipReason::MalformedHeader)?;
    let version = match family {
        2 => 4,
        10 => 6,
        _ => return Err(SkipReason::NonIp),
    };
    // Linux writes host order. The first TLV is a small header (the packet
    // header, 8 bytes), so the reading that makes its length smaller is the
    // writer's byte order.
    let big = match d.get(4..6) {
        Some(l) => u16::from_le_bytes([l[0], l[1]]) > u16::from_be_bytes([l[0], l[1]]),
        None => false,
    };
    let rd = |at: usize| -> Option<u16> {
        let b = [*d.get(at)?, *d.get(at + 1)?];
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let mut at = 4;
    while let (Some(len), Some(kind)) = (rd(at), rd(at + 2)) {
        let len = usize::from(len);
        if len < 4 {
            return Err(SkipReason::MalformedHeader);
        }
        // The top two bits of the type are netlink flags.
        match kind & 0x3fff {
            NFULA_PAYLOAD => {
                let end = (at + len).min(d.len());
                return Ok(Next::Ip(&d[at + 4..end], Some(version)));
            }
            NFULA_IFINDEX_INDEV => {
                if let Some(i) = d.get(at + 4..at + 8) {
                    info.ifindex = u32::from_be_bytes([i[0], i[1], i[2], i[3]]);
                }
            }
            _ => {}
        }
        at += (len + 3) & !3;
    }
    // Packets logged without their payload.
    Err(SkipReason::NonIp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nflog_finds_the_payload_tlv_in_either_byte_order() {
        for big in [false, true] {
            let w = |x: u16| {
                if big {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                }
            };
            let mut d = vec![2, 0, 0, 1];
            // NFULA_PACKET_HDR (type 1), 8 bytes
            d.extend_from_slice(&w(8));
            d.extend_from_slice(&w(1));
            d.extend_from_slice(&[8, 0, 1, 0]);
            // NFULA_IFINDEX_INDEV, 8 bytes: ifindex 7
            d.extend_from_slice(&w(8));
            d.extend_from_slice(&w(4));
            d.extend_from_slice(&[0, 0, 0, 7]);
            // NFULA_PAYLOAD, 4 + 2 bytes, padded
            d.extend_from_slice(&w(6));
            d.extend_from_slice(&w(9));
            d.extend_from_slice(&[0x45, 0, 0, 0]);
            let mut info = PacketInfo::default();
            assert!(
                matches!(nflog(&d, &mut info), Ok(Next::Ip(ip, Some(4))) if ip == [0x45, 0]),
                "big-endian {big}"
            );
            assert_eq!(info.ifindex, 7);
        }
        let mut info = PacketInfo::default();
        assert_eq!(
            nflog(&[2, 0, 0, 1, 2, 0, 9, 0], &mut info).err(),
            Some(SkipReason::MalformedHeader)
        );
    }

    #[test]
    fn pflog_and_enc_and_ipnet_reach_ip() {
        let mut info = PacketInfo::default();
        let mut pf = vec![61, 2];
        pf.resize(64, 0);
        pf.push(0x45);
        assert!(matches!(
            start(LinkType(lt::PFLOG), &pf, &mut info),
            Ok(Next::Ip(ip, None)) if ip == [0x45]
        ));
        let enc = [2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x45];
        assert!(matches!(
            start(LinkType(lt::ENC), &enc, &mut info),
            Ok(Next::Ip(ip, None)) if ip == [0x45]
        ));
        let mut ipnet = vec![2, 26];
        ipnet.resize(24, 0);
        ipnet.push(0x60);
        assert!(matches!(
            start(LinkType(lt::IPNET), &ipnet, &mut info),
            Ok(Next::Ip(ip, Some(6))) if ip == [0x60]
        ));
    }
}
