//! A server as the findings keep it: its address and port as a value (20
//! bytes, no heap string), named the way people write an endpoint only
//! when a finding or a row is made.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use crate::diagnose::Flow;

/// A server endpoint: 20 bytes, hashed and compared as a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerKey {
    ip: IpAddr,
    port: u16,
}

impl ServerKey {
    pub fn of(flow: &Flow) -> ServerKey {
        // `classify` keeps the address beside its text; a row built
        // otherwise has text written by `IpAddr`'s Display, which always
        // parses back to the same address.
        let ip = flow.facts.server_ip.unwrap_or_else(|| {
            flow.server.parse().unwrap_or_else(|_| {
                debug_assert!(false, "server address {:?} does not parse", flow.server);
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            })
        });
        ServerKey {
            ip,
            port: flow.server_port,
        }
    }

    /// `ADDR:PORT` or `[ADDR]:PORT`, as [`Flow::server_endpoint`] writes it.
    pub fn name(&self) -> String {
        SocketAddr::new(self.ip, self.port).to_string()
    }
}
