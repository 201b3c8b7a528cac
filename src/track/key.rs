//! Table keys: canonical 4-tuples and endpoints, compact for IPv4.

use std::net::SocketAddr;

/// A canonical 4-tuple (lower address first), as the table key: IPv4 pairs
/// inline in 12 bytes, anything else boxed, so a table slot is 16 bytes
/// instead of 64.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum TupleKey {
    V4([u8; 12]),
    Other(Box<(SocketAddr, SocketAddr)>),
}

impl TupleKey {
    pub(super) fn new(lo: SocketAddr, hi: SocketAddr) -> Self {
        match (lo, hi) {
            (SocketAddr::V4(a), SocketAddr::V4(b)) => {
                let mut k = [0u8; 12];
                k[..4].copy_from_slice(&a.ip().octets());
                k[4..6].copy_from_slice(&a.port().to_be_bytes());
                k[6..10].copy_from_slice(&b.ip().octets());
                k[10..].copy_from_slice(&b.port().to_be_bytes());
                TupleKey::V4(k)
            }
            _ => TupleKey::Other(Box::new((lo, hi))),
        }
    }

    pub(super) fn addrs(&self) -> (SocketAddr, SocketAddr) {
        match self {
            TupleKey::V4(k) => {
                let one = |b: &[u8]| {
                    SocketAddr::from(([b[0], b[1], b[2], b[3]], u16::from_be_bytes([b[4], b[5]])))
                };
                (one(&k[..6]), one(&k[6..]))
            }
            TupleKey::Other(p) => **p,
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
