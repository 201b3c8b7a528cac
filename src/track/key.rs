//! Table keys: canonical 4-tuples (plus the tunnel path) and endpoints,
//! compact for IPv4.

use std::net::SocketAddr;

use crate::wire::TunnelId;

/// The out-of-line part of a key that is not a plain IPv4 tuple.
pub(super) type KeyBox = Box<(SocketAddr, SocketAddr, TunnelId)>;

/// A canonical 4-tuple (lower address first) and the tunnel path it came
/// in, as the table key: an IPv4 pair inline in 12 bytes (with a tunnel id
/// below 2^24 in 3 more), anything else boxed, so a table slot stays 16
/// bytes instead of 64.
// `PartialEq` by hand is the derived comparison done faster (same result
// for every pair), so the derived `Hash` stays consistent with it.
#[allow(clippy::derived_hash_with_manual_eq)]
#[derive(Clone, Debug, Eq, Hash, PartialOrd, Ord)]
pub(super) enum TupleKey {
    V4([u8; 12]),
    /// IPv4 tuple, then the tunnel id in 24 bits big-endian.
    V4Tunnel([u8; 15]),
    Other(KeyBox),
}

const _: () = assert!(std::mem::size_of::<TupleKey>() == 16);

/// The derived comparison, but an IPv4 tuple's 12 bytes as two words: the
/// table compares keys three times a segment, and the derived one compares
/// the arrays byte-wise.
impl PartialEq for TupleKey {
    fn eq(&self, other: &Self) -> bool {
        fn words(k: &[u8; 12]) -> (u64, u32) {
            let (lo, hi) = k.split_at(8);
            (
                u64::from_ne_bytes(lo.try_into().unwrap_or_default()),
                u32::from_ne_bytes(hi.try_into().unwrap_or_default()),
            )
        }
        match (self, other) {
            (TupleKey::V4(a), TupleKey::V4(b)) => words(a) == words(b),
            (TupleKey::V4Tunnel(a), TupleKey::V4Tunnel(b)) => a == b,
            (TupleKey::Other(a), TupleKey::Other(b)) => a == b,
            _ => false,
        }
    }
}

impl TupleKey {
    /// The canonical key of `seg`'s tuple, built as [`TupleKey::new_reusing`].
    pub(super) fn of_segment(seg: &crate::wire::Segment, spare: &mut Option<KeyBox>) -> Self {
        Self::of_segment_in(seg, seg.tunnel, spare)
    }

    /// [`TupleKey::of_segment`] as if `seg` had come through `tunnel`.
    pub(super) fn of_segment_in(
        seg: &crate::wire::Segment,
        tunnel: TunnelId,
        spare: &mut Option<KeyBox>,
    ) -> Self {
        let (lo, hi) = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        TupleKey::new_reusing(lo, hi, tunnel, spare)
    }

    pub(super) fn new(lo: SocketAddr, hi: SocketAddr, tunnel: TunnelId) -> Self {
        match (lo, hi) {
            (SocketAddr::V4(a), SocketAddr::V4(b)) if tunnel < 1 << 24 => {
                let mut k = [0u8; 15];
                k[..4].copy_from_slice(&a.ip().octets());
                k[4..6].copy_from_slice(&a.port().to_be_bytes());
                k[6..10].copy_from_slice(&b.ip().octets());
                k[10..12].copy_from_slice(&b.port().to_be_bytes());
                if tunnel == 0 {
                    let mut t = [0u8; 12];
                    t.copy_from_slice(&k[..12]);
                    return TupleKey::V4(t);
                }
                k[12..].copy_from_slice(&tunnel.to_be_bytes()[1..]);
                TupleKey::V4Tunnel(k)
            }
            _ => TupleKey::Other(Box::new((lo, hi, tunnel))),
        }
    }

    /// As [`TupleKey::new`], filling `spare` (a box given back by
    /// [`TupleKey::give_back`]) instead of allocating one when the tuple
    /// needs a box: the table builds a key for every segment, and an IPv6
    /// tuple must not cost an allocation per segment.
    pub(super) fn new_reusing(
        lo: SocketAddr,
        hi: SocketAddr,
        tunnel: TunnelId,
        spare: &mut Option<KeyBox>,
    ) -> Self {
        let inline = matches!((lo, hi), (SocketAddr::V4(_), SocketAddr::V4(_))) && tunnel < 1 << 24;
        match spare.take() {
            Some(mut b) if !inline => {
                *b = (lo, hi, tunnel);
                TupleKey::Other(b)
            }
            back => {
                *spare = back;
                TupleKey::new(lo, hi, tunnel)
            }
        }
    }

    /// A key no longer needed: its box, if any, is kept for the next one.
    pub(super) fn give_back(self, spare: &mut Option<KeyBox>) {
        if let TupleKey::Other(b) = self {
            *spare = Some(b);
        }
    }

    pub(super) fn addrs(&self) -> (SocketAddr, SocketAddr) {
        let one = |b: &[u8]| {
            SocketAddr::from(([b[0], b[1], b[2], b[3]], u16::from_be_bytes([b[4], b[5]])))
        };
        match self {
            TupleKey::V4(k) => (one(&k[..6]), one(&k[6..])),
            TupleKey::V4Tunnel(k) => (one(&k[..6]), one(&k[6..12])),
            TupleKey::Other(p) => (p.0, p.1),
        }
    }

    /// The same tuple outside any tunnel: what tshark numbers streams by.
    pub(super) fn without_tunnel(&self) -> std::borrow::Cow<'_, TupleKey> {
        if self.tunnel() == 0 {
            return std::borrow::Cow::Borrowed(self);
        }
        let (lo, hi) = self.addrs();
        std::borrow::Cow::Owned(TupleKey::new(lo, hi, 0))
    }

    pub(super) fn tunnel(&self) -> TunnelId {
        match self {
            TupleKey::V4(_) => 0,
            TupleKey::V4Tunnel(k) => u32::from_be_bytes([0, k[12], k[13], k[14]]),
            TupleKey::Other(p) => p.2,
        }
    }
}

/// An endpoint as the key of the fan table: IPv4 inline, anything else boxed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum EndpointKey {
    V4([u8; 6]),
    Other(Box<SocketAddr>),
}

impl EndpointKey {
    pub(super) fn new(a: SocketAddr) -> Self {
        match a {
            SocketAddr::V4(a) => {
                let mut k = [0u8; 6];
                k[..4].copy_from_slice(&a.ip().octets());
                k[4..].copy_from_slice(&a.port().to_be_bytes());
                EndpointKey::V4(k)
            }
            _ => EndpointKey::Other(Box::new(a)),
        }
    }
}
