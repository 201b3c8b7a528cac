//! Second copies of one packet. `tcpdump -i any` on a host that forwards or
//! bridges sees each packet once per interface it crosses: the same IP
//! datagram (same IPv4 identification, sequence and acknowledgement
//! numbers, flags and payload length) within microseconds, on another
//! interface or with its TTL one lower. Tracking both would double every
//! count and make each RST a "burst" of two; the copy is counted and
//! analysed once.
//!
//! A genuine retransmission differs: a new IP identification (Linux and
//! Windows give every datagram its own), and it comes after a
//! retransmission timeout (200 ms at least), never within a millisecond
//! on another interface.

use std::hash::{Hash, Hasher};

use rustc_hash::FxHasher;

use crate::wire::Segment;

use super::PacketInfo;

/// How close in capture time two copies are.
pub const WINDOW_NS: i64 = 1_000_000;

/// Slots of the fingerprint table: a direct-mapped cache, so a packet costs
/// one hash and one slot and the memory is fixed. A copy is missed only
/// when more than this many other segments came between the two copies
/// and one of them took the slot.
const SLOTS: usize = 4096;

#[derive(Clone, Copy, Default)]
struct Seen {
    fingerprint: u64,
    ts: i64,
    /// Where it was captured: pcapng interface and link-header ifindex.
    place: u64,
    ttl: u8,
}

/// The recent-packet window.
pub struct Copies {
    slots: Box<[Seen]>,
}

impl Default for Copies {
    fn default() -> Self {
        Copies {
            slots: vec![Seen::default(); SLOTS].into_boxed_slice(),
        }
    }
}

impl Copies {
    /// Whether `seg` is another copy of a segment seen just before; either
    /// way it becomes the one later copies are compared with.
    pub fn is_copy(&mut self, seg: &Segment, info: &PacketInfo, interface: u32) -> bool {
        let mut h = FxHasher::default();
        (
            seg.src,
            seg.dst,
            seg.seq,
            seg.ack,
            seg.flags.0,
            seg.payload_len,
        )
            .hash(&mut h);
        (info.ip_id, seg.tunnel).hash(&mut h);
        // Never 0, so an empty slot matches nothing.
        let fingerprint = h.finish() | 1;
        let place = (u64::from(interface) << 32) | u64::from(info.ifindex);
        let slot = &mut self.slots[(fingerprint as usize) % SLOTS];
        let copy = slot.fingerprint == fingerprint
            && (0..=WINDOW_NS).contains(&seg.ts.0.saturating_sub(slot.ts))
            && (slot.place != place || seg.ttl.checked_add(1) == Some(slot.ttl));
        *slot = Seen {
            fingerprint,
            ts: seg.ts.0,
            place,
            ttl: seg.ttl,
        };
        copy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Flags, Timestamp};

    fn seg(ts_us: i64, ttl: u8) -> Segment {
        Segment {
            frame: 1,
            ts: Timestamp(ts_us * 1000),
            src: "10.1.0.1:40000".parse().unwrap(),
            dst: "10.2.0.1:80".parse().unwrap(),
            seq: 1,
            ack: 1,
            flags: Flags(Flags::RST),
            window: 0,
            wscale: None,
            payload_len: 0,
            ttl,
            snap_cut: false,
            tunnel: 0,
        }
    }

    fn info(ip_id: u16, ifindex: u32) -> PacketInfo {
        PacketInfo {
            ip_id: Some(ip_id),
            ifindex,
            ..PacketInfo::default()
        }
    }

    #[test]
    fn forwarded_copy_is_one_packet() {
        let mut c = Copies::default();
        assert!(!c.is_copy(&seg(0, 64), &info(7, 2), 0));
        // Out of the other interface, one hop later.
        assert!(c.is_copy(&seg(20, 63), &info(7, 3), 0));
    }

    #[test]
    fn bridged_copy_on_another_pcapng_interface() {
        let mut c = Copies::default();
        assert!(!c.is_copy(&seg(0, 64), &info(7, 0), 0));
        assert!(c.is_copy(&seg(5, 64), &info(7, 0), 1));
    }

    #[test]
    fn retransmissions_and_late_or_same_place_repeats_are_kept() {
        let mut c = Copies::default();
        assert!(!c.is_copy(&seg(0, 64), &info(7, 2), 0));
        // New IP id: a retransmission, even on another interface.
        assert!(!c.is_copy(&seg(10, 64), &info(8, 3), 0));
        // Same datagram 2 ms later: not a copy.
        assert!(!c.is_copy(&seg(2010, 63), &info(8, 2), 0));
        // Same place, same TTL: the sender sent it twice.
        assert!(!c.is_copy(&seg(2020, 63), &info(8, 2), 0));
    }
}
