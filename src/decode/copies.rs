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

use std::net::{IpAddr, SocketAddr};

use crate::capture::{LinkType, Packet};
use crate::wire::Segment;

use super::PacketInfo;

/// How close in capture time two copies are.
pub const WINDOW_NS: i64 = 1_000_000;

/// Slots of the fingerprint table: a cache of pairs of slots that share a
/// cache line, so a packet costs one hash and one line and the memory is
/// fixed. 16 KiB, so it stays in the first-level cache beside the streamed
/// read buffer (at 32 KiB and more, the slot's cache miss cost a fifth of
/// the whole decode). A copy is missed only when two of the segments
/// between the two copies took both slots of its pair. With one slot a
/// segment, a container host's `-i any` (three copies of each packet, 100
/// connections at 200 000 packets a second: fixtures/probes/nat_host.sh)
/// missed 19 of 70 809 packets' copies in one run that way, each then
/// counted as one more packet of its connection.
const SLOTS: usize = 1024;

/// One recent segment: the fingerprint's bits above the slot index, the
/// capture time in nanoseconds modulo 2^32 (4.3 s: the window is 1 ms),
/// where it was captured, its TTL.
#[derive(Clone, Copy, Default)]
struct Seen {
    fingerprint: u32,
    ts: u32,
    place: u32,
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

/// Whether copies of one packet can be told apart in this capture: several
/// interfaces (pcapng), or a link header that names the interface or comes
/// from `-i any` (LINUX_SLL, LINUX_SLL2, NFLOG). A single-interface
/// Ethernet or raw-IP capture is not looked at: there a copy could only be
/// a hairpin (routed back out of the interface it came in on, TTL - 1),
/// and the look-up's cache miss on every packet cost a fifth of the plain
/// decoding speed.
pub fn may_hold_copies(packet: &Packet<'_>) -> bool {
    packet.interfaces > 1
        || matches!(
            packet.link,
            LinkType::LINUX_SLL | LinkType::LINUX_SLL2 | LinkType(239)
        )
}

impl Copies {
    /// Whether `seg` is another copy of a segment seen just before; either
    /// way it becomes the one later copies are compared with.
    pub fn is_copy(&mut self, seg: &Segment, info: &PacketInfo, interface: u32) -> bool {
        let h = fingerprint(seg, info);
        let fingerprint = (h >> 32) as u32;
        let place = place(interface, info.ifindex);
        let ts = seg.ts.0 as u32;
        let pair = ((h as usize) % SLOTS) & !1;
        let is_copy = |s: &Seen| {
            s.fingerprint == fingerprint
                && i64::from(ts.wrapping_sub(s.ts)) <= WINDOW_NS
                && (s.place != place || seg.ttl.checked_add(1) == Some(s.ttl))
        };
        let (copy, i) = match (&self.slots[pair], &self.slots[pair + 1]) {
            (a, _) if is_copy(a) => (true, pair),
            (_, b) if is_copy(b) => (true, pair + 1),
            // The same segment again (not a copy) takes its own slot; a
            // new one an empty slot, else the one written longer ago.
            (a, _) if a.fingerprint == fingerprint => (false, pair),
            (_, b) if b.fingerprint == fingerprint => (false, pair + 1),
            (a, _) if a.fingerprint == 0 => (false, pair),
            (_, b) if b.fingerprint == 0 => (false, pair + 1),
            (a, b) if ts.wrapping_sub(a.ts) >= ts.wrapping_sub(b.ts) => (false, pair),
            _ => (false, pair + 1),
        };
        self.slots[i] = Seen {
            fingerprint,
            ts,
            place,
            ttl: seg.ttl,
        };
        copy
    }
}

/// Where a packet was captured: the pcapng interface and the link
/// header's ifindex, mixed (two copies only need to differ).
pub(super) fn place(interface: u32, ifindex: u32) -> u32 {
    interface.wrapping_mul(0x9e37_79b9) ^ ifindex
}

/// A 64-bit summary of what two copies share. Hand-mixed rather than a
/// `Hasher` over the whole segment: this runs on every segment of the
/// plain fast path, where a generic hash of two socket addresses cost more
/// than decoding the packet.
fn fingerprint(seg: &Segment, info: &PacketInfo) -> u64 {
    fn addr(a: SocketAddr) -> u64 {
        let ip = match a.ip() {
            IpAddr::V4(v4) => u64::from(u32::from(v4)),
            IpAddr::V6(v6) => {
                let x = u128::from(v6);
                (x as u64) ^ ((x >> 64) as u64).rotate_left(17)
            }
        };
        (ip << 16) ^ u64::from(a.port())
    }
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (u64::from(seg.seq) << 32) | u64::from(seg.ack);
    for x in [
        addr(seg.src),
        addr(seg.dst),
        (u64::from(info.ip_id.map_or(0x1_0000, u32::from)) << 40)
            ^ (u64::from(seg.flags.0) << 32)
            ^ u64::from(seg.payload_len),
        u64::from(seg.tunnel),
    ] {
        h = (h ^ x).wrapping_mul(K).rotate_left(29);
    }
    // Never 0 in the bits kept, so an empty slot matches nothing.
    h | 1 << 32
}

#[cfg(test)]
mod tests {
    use super::super::testwire::{info, segment};
    use super::*;
    use crate::wire::{Flags, Timestamp};

    fn seg(ts_us: i64, ttl: u8) -> Segment {
        segment(
            ts_us,
            "10.1.0.1:40000",
            "10.2.0.1:80",
            Flags::RST,
            1,
            1,
            ttl,
        )
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
    fn a_segment_between_the_copies_on_the_same_slot_does_not_hide_them() {
        let mut c = Copies::default();
        let first = seg(0, 64);
        let slot = |s: &Segment| fingerprint(s, &info(7, 2)) as usize % SLOTS;
        // Another connection's segment that lands on the same slot.
        let other = (2..)
            .map(|n| Segment {
                seq: n,
                ..seg(3, 64)
            })
            .find(|s| slot(s) == slot(&first))
            .unwrap();
        assert!(!c.is_copy(&first, &info(7, 2), 0));
        assert!(!c.is_copy(&other, &info(7, 2), 0));
        assert!(c.is_copy(&seg(5, 63), &info(7, 3), 0));
        assert!(c.is_copy(
            &Segment {
                ts: Timestamp(6_000),
                ..other
            },
            &info(7, 3),
            0
        ));
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
