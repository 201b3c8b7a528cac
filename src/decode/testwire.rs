//! Segments and packet facts for the decode stage's unit tests.

use crate::wire::{Flags, Segment, Timestamp};

use super::PacketInfo;

/// One segment as the decoder hands it on, `ts_us` microseconds into the
/// capture.
pub fn segment(
    ts_us: i64,
    src: &str,
    dst: &str,
    flags: u8,
    seq: u32,
    ack: u32,
    ttl: u8,
) -> Segment {
    Segment {
        frame: 1,
        ts: Timestamp(ts_us * 1000),
        src: src.parse().expect("test address"),
        dst: dst.parse().expect("test address"),
        seq,
        ack,
        flags: Flags(flags),
        window: 64240,
        wscale: None,
        payload_len: 0,
        ttl,
        snap_cut: false,
        nat_copy: false,
        tunnel: 0,
        outer_flow: 0,
    }
}

/// The IP header's identification and the interface a packet was seen on.
pub fn info(ip_id: u16, ifindex: u32) -> PacketInfo {
    PacketInfo {
        ip_id: Some(ip_id),
        ifindex,
        ..PacketInfo::default()
    }
}
