//! Capture health: an account of every packet read. Nothing is dropped
//! silently; each packet is either a TCP segment or counted under a reason.

use std::net::{IpAddr, SocketAddr};

use super::clock::{Clock, ClockStep};
use super::segment::Timestamp;
use super::tunnel::{Encap, EncapSet, TunnelId};
use serde::Serialize;

/// Why a packet did not become a TCP segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// ARP, LLDP and every other payload that is not IPv4/IPv6.
    NonIp,
    /// UDP, ICMP and every other IP protocol.
    NonTcp,
    /// A fragment of an IP datagram; fragments are not reassembled.
    IpFragment,
    /// A header that could not be decoded (cut by the snap length before the
    /// TCP header ended, bad lengths, bad versions).
    MalformedHeader,
    /// A link type rstscope does not decode.
    UnsupportedLinkType,
    /// Encapsulations nested deeper than the decoder follows (a loop of
    /// tunnels in tunnels, or hostile bytes).
    TooDeep,
}

impl SkipReason {
    pub const ALL: [SkipReason; 6] = [
        SkipReason::NonIp,
        SkipReason::NonTcp,
        SkipReason::IpFragment,
        SkipReason::MalformedHeader,
        SkipReason::UnsupportedLinkType,
        SkipReason::TooDeep,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SkipReason::NonIp => "non-ip",
            SkipReason::NonTcp => "non-tcp",
            SkipReason::IpFragment => "ip-fragment",
            SkipReason::MalformedHeader => "malformed-header",
            SkipReason::UnsupportedLinkType => "unsupported-link-type",
            SkipReason::TooDeep => "nested-too-deep",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::NonIp => "not IPv4/IPv6 (ARP, LLDP, ...)",
            SkipReason::NonTcp => "IP but not TCP (UDP, ICMP, ...)",
            SkipReason::IpFragment => "IP fragments (not reassembled)",
            SkipReason::MalformedHeader => "malformed or snap-cut headers",
            SkipReason::UnsupportedLinkType => "unsupported link type",
            SkipReason::TooDeep => "encapsulations nested too deep",
        }
    }
}

/// What one capture file was, as read.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FileSummary {
    pub file: String,
    /// e.g. `pcap (microsecond, little-endian)` or `pcapng (little-endian)`.
    pub format: String,
    /// Link type names in order of first appearance (pcapng may have several).
    pub link_types: Vec<String>,
    pub bytes: u64,
    pub packets: u64,
    pub first_time: Option<Timestamp>,
    pub last_time: Option<Timestamp>,
    /// The file ends inside a record: byte offset where that record starts.
    pub cut_off_at: Option<u64>,

    /// `gzip`, `zstd`, `xz` or `bzip2` when the file was compressed; the
    /// byte counts above are then of the decompressed stream.
    pub compression: Option<String>,
}

/// Counters for the whole run (all files).
#[derive(Clone, Debug, Default)]
pub struct Health {
    pub files: Vec<FileSummary>,
    pub packets_read: u64,
    pub tcp_segments: u64,
    /// Counts indexed like `SkipReason::ALL`.
    skipped: [u64; SkipReason::ALL.len()],
    /// Packets that carried each encapsulation, indexed like `Encap::ALL`.
    encapsulations: [u64; Encap::ALL.len()],
    /// TCP segments that were another copy of a segment just seen on another
    /// interface or one hop earlier (`-i any` on a host that forwards or
    /// bridges): counted among `tcp_segments`, analysed once.
    pub duplicate_copies: u64,
    /// Connections seen twice, before and after address translation (NAT,
    /// `-i any` on a host that translates): analysed once, under the
    /// addresses first seen; their second copies are in `duplicate_copies`.
    pub translated_connections: u64,
    /// Addresses as first seen and after translation (the first few
    /// distinct ones).
    pub translations: Vec<Translated>,
    /// Unsupported link types seen, by number, for the warning text.
    pub unsupported_link_types: Vec<u32>,
    /// Segments whose payload the snap length cut (headers still used).
    pub snap_cut_segments: u64,
    /// Packets whose timestamp is earlier than the packet before them.
    pub timestamps_backwards: u64,
    /// Sequence space ACKed by a receiver but never captured from the sender:
    /// the capture itself dropped packets.
    pub acked_unseen_segments: u64,
    /// Connections finished before their timeout because the open-connection
    /// limit (`--max-connections`) was reached: the longest idle went first.
    pub connections_finished_early: u64,

    // How the run read its files.
    /// The signal (`SIGINT`, `SIGTERM`) that stopped reading before the end,
    /// if one did: what was read is complete, the rest was never seen.
    pub interrupted: Option<String>,
    /// Several files were read in order of their first timestamp, which was
    /// not the order given.
    pub files_reordered: bool,
    /// Files whose time range interleaved with another's: their packets were
    /// merged by timestamp.
    pub files_interleaved: u64,
    /// Most connections tracked at once.
    pub peak_open_connections: u64,
    /// Clock steps of the capture's timestamps (see `wire::Clock`): all of
    /// them counted, the first ones listed with where they happened.
    pub clock_steps_total: u64,
    pub clock_steps: Vec<ClockStepAt>,
}

/// An address as its connection was first seen and after a translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Translated {
    /// The server's address and port (DNAT: a published port, a virtual
    /// address).
    Server(SocketAddr, SocketAddr),
    /// The client's address (SNAT, masquerading; its ports differ from one
    /// connection to the next).
    Client(IpAddr, IpAddr),
    /// The tunnel path (0: none): the same packets seen bare and
    /// encapsulated (an overlay network's node).
    Tunnel(TunnelId, TunnelId),
}

impl Translated {
    fn to_json(self) -> serde_json::Value {
        match self {
            Translated::Server(first, after) => serde_json::json!({
                "server": first.to_string(),
                "translated": after.to_string(),
            }),
            Translated::Client(first, after) => serde_json::json!({
                "client": first.to_string(),
                "translated": after.to_string(),
            }),
            Translated::Tunnel(first, after) => serde_json::json!({
                "tunnel": super::tunnel::describe(first),
                "translated": super::tunnel::describe(after),
            }),
        }
    }
}

/// A clock step and the file it happened in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClockStepAt {
    #[serde(flatten)]
    pub step: ClockStep,
    pub file: String,
}

impl Health {
    /// Records the clock's steps, naming each one's file from the frame
    /// numbers (files are read in order, frames numbered across them).
    pub fn set_clock(&mut self, clock: &Clock) {
        self.clock_steps_total = clock.steps_total();
        self.clock_steps = clock
            .steps()
            .iter()
            .map(|step| {
                let mut before = 0u64;
                let file = self
                    .files
                    .iter()
                    .find(|f| {
                        before += f.packets;
                        step.frame <= before
                    })
                    .or(self.files.last())
                    .map(|f| f.file.clone())
                    .unwrap_or_default();
                ClockStepAt { step: *step, file }
            })
            .collect();
    }
}

impl Health {
    pub fn skip(&mut self, reason: SkipReason) {
        self.skipped[reason as usize] += 1;
    }

    pub fn skipped(&self, reason: SkipReason) -> u64 {
        self.skipped[reason as usize]
    }

    /// Counts one packet that carried the encapsulations in `seen`.
    pub fn encapsulated(&mut self, seen: EncapSet) {
        for e in Encap::ALL {
            if seen.contains(e) {
                self.encapsulations[e as usize] += 1;
            }
        }
    }

    /// The encapsulations seen, with the packets that carried each, in
    /// [`Encap::ALL`] order.
    pub fn encapsulations(&self) -> Vec<(Encap, u64)> {
        Encap::ALL
            .iter()
            .map(|&e| (e, self.encapsulations[e as usize]))
            .filter(|&(_, n)| n > 0)
            .collect()
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.iter().sum()
    }

    pub fn first_time(&self) -> Option<Timestamp> {
        self.files.iter().filter_map(|f| f.first_time).min()
    }

    pub fn last_time(&self) -> Option<Timestamp> {
        self.files.iter().filter_map(|f| f.last_time).max()
    }

    /// The health block of `report --format json`: every counter, each skip
    /// reason by name (zeros included, so tools need no defaults).
    pub fn to_json(&self) -> serde_json::Value {
        let skipped: serde_json::Map<String, serde_json::Value> = SkipReason::ALL
            .iter()
            .map(|r| (r.label().to_string(), self.skipped(*r).into()))
            .collect();
        let encapsulations: serde_json::Map<String, serde_json::Value> = self
            .encapsulations()
            .into_iter()
            .map(|(e, n)| (e.name().to_string(), n.into()))
            .collect();
        serde_json::json!({
            "files": self.files,
            "first_time": self.first_time(),
            "last_time": self.last_time(),
            "packets_read": self.packets_read,
            "tcp_segments": self.tcp_segments,
            "skipped": skipped,
            "encapsulations": encapsulations,
            "duplicate_copies": self.duplicate_copies,
            "translated_connections": self.translated_connections,
            "translations": self.translations.iter().map(|t| t.to_json()).collect::<Vec<_>>(),
            "unsupported_link_types": self.unsupported_link_types,
            "snap_cut_segments": self.snap_cut_segments,
            "timestamps_backwards": self.timestamps_backwards,
            "acked_unseen_segments": self.acked_unseen_segments,
            "connections_finished_early": self.connections_finished_early,
            "interrupted": self.interrupted,
            "files_reordered": self.files_reordered,
            "files_interleaved": self.files_interleaved,
            "peak_open_connections": self.peak_open_connections,
            "clock_steps_total": self.clock_steps_total,
            "clock_steps": self.clock_steps,
        })
    }

    /// Every packet read is accounted for exactly once.
    pub fn balanced(&self) -> bool {
        self.packets_read == self.tcp_segments + self.skipped_total()
    }
}
