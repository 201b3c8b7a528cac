//! The tunnel path of one packet as the decoder peels it: a fixed array on
//! the stack (no allocation per packet), turned into a [`TunnelId`] when
//! the innermost TCP segment is reached.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::wire::{intern_tunnel, Encap, TunnelId};

/// Tunnels inside tunnels the decoder follows; deeper is counted as
/// `nested-too-deep`.
pub(super) const MAX_TUNNELS: usize = 8;

/// One IP-level tunnel: its kind, the number that tells its tenants apart
/// (VNI, GRE key, ERSPAN session) when there is one that both directions
/// share, and the outer addresses.
#[derive(Clone, Copy, Debug)]
pub(super) struct Hop {
    pub kind: Encap,
    pub id: Option<(&'static str, u32)>,
    pub src: IpAddr,
    pub dst: IpAddr,
}

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Path {
    hops: [Option<Hop>; MAX_TUNNELS],
    len: usize,
}

/// Bytes of one hop's identity: kind, id flag and id, two 16-byte addresses.
const HOP_BYTES: usize = 1 + 1 + 4 + 32;

impl Path {
    /// Adds the next tunnel inwards; `false` when the path is full.
    pub(super) fn push(&mut self, hop: Hop) -> bool {
        match self.hops.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(hop);
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Replaces the innermost hop, once its header told more (a GRE key,
    /// an ERSPAN session) than the layer that entered it knew.
    pub(super) fn replace_last(&mut self, hop: Hop) {
        if let Some(Some(last)) = self.len.checked_sub(1).and_then(|i| self.hops.get_mut(i)) {
            *last = hop;
        }
    }

    /// The interned id of this path, 0 when the packet came in no tunnel.
    /// The identity orders each hop's outer addresses, so both directions
    /// of a connection share it; the words keep the first packet's order.
    pub(super) fn id(&self) -> TunnelId {
        if self.len == 0 {
            return 0;
        }
        let mut buf = [0u8; HOP_BYTES * MAX_TUNNELS];
        let mut at = 0;
        for hop in self.hops.iter().flatten() {
            let b = &mut buf[at..at + HOP_BYTES];
            b[0] = hop.kind as u8;
            if let Some((_, id)) = hop.id {
                b[1] = 1;
                b[2..6].copy_from_slice(&id.to_be_bytes());
            }
            let (lo, hi) = if hop.src <= hop.dst {
                (hop.src, hop.dst)
            } else {
                (hop.dst, hop.src)
            };
            b[6..22].copy_from_slice(&v6(lo));
            b[22..38].copy_from_slice(&v6(hi));
            at += HOP_BYTES;
        }
        intern_tunnel(&buf[..at], || self.describe())
    }

    /// `vxlan vni=42 10.0.0.1>10.0.0.2`, outermost first, joined by ` / `.
    pub(super) fn describe(&self) -> String {
        let mut s = String::new();
        for (i, hop) in self.hops.iter().flatten().enumerate() {
            if i > 0 {
                s.push_str(" / ");
            }
            s.push_str(hop.kind.name());
            if let Some((name, id)) = hop.id {
                let _ = write!(s, " {name}={id}");
            }
            let _ = write!(s, " {}>{}", hop.src, hop.dst);
        }
        s
    }
}

/// An address as 16 bytes; IPv4 mapped, so the two families never collide.
fn v6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(kind: Encap, id: u32, src: &str, dst: &str) -> Hop {
        Hop {
            kind,
            id: Some(("vni", id)),
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
        }
    }

    #[test]
    fn both_directions_share_a_path_and_tenants_do_not() {
        let mut a = Path::default();
        a.push(hop(Encap::Vxlan, 42, "10.9.0.1", "10.9.0.2"));
        let mut b = Path::default();
        b.push(hop(Encap::Vxlan, 42, "10.9.0.2", "10.9.0.1"));
        let mut c = Path::default();
        c.push(hop(Encap::Vxlan, 43, "10.9.0.1", "10.9.0.2"));
        assert_eq!(a.id(), b.id());
        assert_ne!(a.id(), c.id());
        assert_eq!(Path::default().id(), 0);
        assert_eq!(a.describe(), "vxlan vni=42 10.9.0.1>10.9.0.2");
    }

    #[test]
    fn nested_paths_are_joined_and_bounded() {
        let mut p = Path::default();
        for i in 0..MAX_TUNNELS {
            assert!(p.push(hop(Encap::Geneve, i as u32, "10.9.1.1", "10.9.1.2")));
        }
        assert!(!p.push(hop(Encap::Geneve, 99, "10.9.1.1", "10.9.1.2")));
        assert_eq!(p.describe().matches(" / ").count(), MAX_TUNNELS - 1);
    }
}
