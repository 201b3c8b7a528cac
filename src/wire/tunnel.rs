//! Encapsulations and tunnel identities.
//!
//! A segment carried in a tunnel belongs to that tunnel: the same inner
//! 4-tuple in two VXLAN tenants is two connections. A segment carries only a
//! small number for its tunnel path ([`TunnelId`]); the identity bytes and
//! the words people read live once in a process-wide table, bounded by the
//! distinct tunnels seen. The table is shared by the reading thread (which
//! interns) and whoever describes a finished connection, so classification
//! needs no extra argument; ids are never written out, only descriptions,
//! so output does not depend on which capture interned first.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Every encapsulation the decoder strips, for the capture block's counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encap {
    Vlan,
    Mpls,
    Pppoe,
    Ppp,
    Pbb,
    VnTag,
    FabricPath,
    Llc,
    Gre,
    Erspan,
    IpInIp,
    Vxlan,
    Geneve,
    GtpU,
    Teredo,
    Ayiya,
}

impl Encap {
    pub const ALL: [Encap; 16] = [
        Encap::Vlan,
        Encap::Mpls,
        Encap::Pppoe,
        Encap::Ppp,
        Encap::Pbb,
        Encap::VnTag,
        Encap::FabricPath,
        Encap::Llc,
        Encap::Gre,
        Encap::Erspan,
        Encap::IpInIp,
        Encap::Vxlan,
        Encap::Geneve,
        Encap::GtpU,
        Encap::Teredo,
        Encap::Ayiya,
    ];

    /// The short name used in the capture block, the JSON keys and the
    /// `tunnel` column.
    pub fn name(self) -> &'static str {
        match self {
            Encap::Vlan => "vlan",
            Encap::Mpls => "mpls",
            Encap::Pppoe => "pppoe",
            Encap::Ppp => "ppp",
            Encap::Pbb => "pbb",
            Encap::VnTag => "vn-tag",
            Encap::FabricPath => "fabricpath",
            Encap::Llc => "llc-snap",
            Encap::Gre => "gre",
            Encap::Erspan => "erspan",
            Encap::IpInIp => "ip-in-ip",
            Encap::Vxlan => "vxlan",
            Encap::Geneve => "geneve",
            Encap::GtpU => "gtp-u",
            Encap::Teredo => "teredo",
            Encap::Ayiya => "ayiya",
        }
    }

    pub fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// Encapsulations seen in one packet, one bit per [`Encap`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncapSet(pub u32);

impl EncapSet {
    pub fn add(&mut self, e: Encap) {
        self.0 |= e.bit();
    }
    pub fn contains(self, e: Encap) -> bool {
        self.0 & e.bit() != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// A tunnel path's number: 0 is "no tunnel".
pub type TunnelId = u32;

/// Distinct tunnel paths kept. Past this, further new paths share
/// [`OVERFLOW_ID`] (their connections may then merge across tenants), so a
/// capture of random tunnel ids cannot grow memory without bound.
pub const MAX_TUNNELS: usize = 1 << 20;

/// The id every tunnel path gets once [`MAX_TUNNELS`] are known.
pub const OVERFLOW_ID: TunnelId = u32::MAX;

#[derive(Default)]
struct Registry {
    ids: HashMap<Box<[u8]>, TunnelId>,
    /// Descriptions by id - 1.
    names: Vec<Box<str>>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

/// The id of the tunnel path whose identity bytes are `identity`;
/// `describe` is called only the first time a path is seen.
pub fn intern(identity: &[u8], describe: impl FnOnce() -> String) -> TunnelId {
    let mut r = registry().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(&id) = r.ids.get(identity) {
        return id;
    }
    if r.names.len() >= MAX_TUNNELS {
        return OVERFLOW_ID;
    }
    r.names.push(describe().into_boxed_str());
    let id = r.names.len() as TunnelId;
    r.ids.insert(identity.into(), id);
    id
}

/// The words for a tunnel path (`vxlan vni=42 10.0.0.1>10.0.0.2`), empty
/// for none.
pub fn describe(id: TunnelId) -> String {
    match id {
        0 => String::new(),
        OVERFLOW_ID => "(more distinct tunnels than rstscope keeps apart)".to_string(),
        id => {
            let r = registry().lock().unwrap_or_else(|p| p.into_inner());
            r.names
                .get(id as usize - 1)
                .map(|s| s.to_string())
                .unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_identity_same_id_and_words() {
        let a = intern(b"test-a", || "vxlan vni=1 10.0.0.1>10.0.0.2".into());
        let b = intern(b"test-b", || "vxlan vni=2 10.0.0.1>10.0.0.2".into());
        assert_ne!(a, b);
        assert_eq!(intern(b"test-a", || unreachable!()), a);
        assert_eq!(describe(a), "vxlan vni=1 10.0.0.1>10.0.0.2");
        assert_eq!(describe(0), "");
    }
}
