//! A server as the findings keep it: its address and port as a value (20
//! bytes, no heap string), named the way people write an endpoint only
//! when a finding or a row is made.

use std::net::{IpAddr, SocketAddr};

use crate::diagnose::Flow;

/// A server endpoint: 20 bytes, hashed and compared as a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerKey {
    ip: IpAddr,
    port: u16,
}

impl ServerKey {
    pub fn of(flow: &Flow) -> ServerKey {
        ServerKey {
            ip: flow.facts.server_ip,
            port: flow.server_port,
        }
    }

    /// `ADDR:PORT` or `[ADDR]:PORT`, as [`Flow::server_endpoint`] writes it.
    pub fn name(&self) -> String {
        SocketAddr::new(self.ip, self.port).to_string()
    }
}
