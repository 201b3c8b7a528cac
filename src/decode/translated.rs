//! One connection seen twice, before and after address translation.
//!
//! On a host that forwards with NAT (a container host publishing a port, a
//! load balancer, a masquerading router), `tcpdump -i any` sees each packet
//! on the way in with the addresses its sender used and on the way out with
//! the translated ones: the same datagram (IP identification, sequence
//! number, window, length) within microseconds, on another interface or one
//! hop later, under another 4-tuple. Tracked as it comes, every connection
//! and every RST would count twice, under two servers. A pure SYN that is
//! such a copy of one seen just before teaches the translation; from then
//! on the translated tuple's segments are put back under the addresses
//! first seen, where [`super::Copies`] finds them to be second copies.
//!
//! A packet seen bare and again inside a tunnel (a Kubernetes node's
//! overlay: the pod's veth, then VXLAN on the outer interface) is the same
//! case with another tunnel path: its view is kept with the tunnel it was
//! first seen in.
//!
//! Only a SYN teaches: its sequence number is the sender's random ISN, so a
//! SYN with the same one, IP identification and window on another tuple
//! within [`super::copies::WINDOW_NS`] is that SYN translated, not another
//! connection. A connection whose handshake was not captured keeps its two
//! views apart, as before.

use std::collections::VecDeque;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use crate::wire::{Segment, Translated, TunnelId};

use super::copies::{place, WINDOW_NS};
use super::PacketInfo;

/// Slots of the recent-SYN table: direct-mapped, a fixed 96 KiB touched by
/// SYNs alone. A translation is missed (its connection then counted twice,
/// as without this table) only when another SYN took the slot between the
/// two copies, a few microseconds apart: one in 1 024 at one SYN between.
const SLOTS: usize = 1024;

/// Translations remembered at most, oldest forgotten first. Each is two
/// map entries of 157 bytes; with 2 * KEPT + 2 entries at most, under half
/// of 65 536 buckets' room, hashbrown rehashes in place as entries come
/// and go instead of doubling, so the map stays at 10 MB and the order at
/// 1 MB. The decoder does not see connections end, so a translation
/// outlives its connection until this many newer ones were learned; a
/// translated connection still open then counts its later segments in the
/// second view too.
const KEPT: usize = 14_000;

/// How many translated addresses the capture block names.
pub const EXAMPLES: usize = 3;

/// A view of a connection as one direction's segments show it: source,
/// destination and the tunnel path (0: none).
type Tuple = (SocketAddr, SocketAddr, TunnelId);

fn reply(t: Tuple) -> Tuple {
    (t.1, t.0, t.2)
}

/// A pure SYN seen recently.
#[derive(Clone, Copy)]
struct SeenSyn {
    tuple: Tuple,
    outer_flow: u32,
    seq: u32,
    /// IP identification (above 16 bits: none, IPv6).
    ip_id: u32,
    window: u16,
    ttl: u8,
    ts: i64,
    place: u32,
}

/// Where a translated tuple's segments go back to.
#[derive(Clone, Copy)]
struct Back {
    first: Tuple,
    /// The first view's outer UDP flow (`Segment::outer_flow`): the same
    /// both ways of a flow.
    outer_flow: u32,
    /// Sequence number of the SYN that taught it, to tell a retransmission
    /// (the same connection) from a new connection on the same tuples.
    isn: u32,
    serial: u64,
}

/// The translations seen so far, and the account of them.
#[derive(Default)]
pub struct Translations {
    syns: Vec<Option<SeenSyn>>,
    back: FxHashMap<Tuple, Back>,
    order: VecDeque<(u64, Tuple)>,
    serial: u64,
    /// Connections seen again after a translation.
    pub connections: u64,
    /// Addresses as first seen and after translation, the first
    /// [`EXAMPLES`] distinct ones.
    pub examples: Vec<Translated>,
}

fn pure_syn(seg: &Segment) -> bool {
    let f = seg.flags;
    f.syn() && !f.ack() && !f.rst() && !f.fin()
}

impl Translations {
    /// Puts `seg` back under the addresses its connection was first seen
    /// with, if it is on a translated tuple, and learns a translation from
    /// a pure SYN that is a translated copy of one just seen. Returns the
    /// segment as it came when it was a pure SYN put back (see
    /// [`Segment::nat_copy`]).
    pub fn put_back(
        &mut self,
        seg: &mut Segment,
        info: &PacketInfo,
        interface: u32,
    ) -> Option<Segment> {
        if pure_syn(seg) {
            self.look_at_syn(seg, info, interface);
        }
        if self.back.is_empty() {
            return None;
        }
        let back = self.back.get(&(seg.src, seg.dst, seg.tunnel))?;
        // tshark keys a conversation by the addresses alone: a tunnel's
        // copy is no other conversation for it.
        let other = (seg.src, seg.dst) != (back.first.0, back.first.1);
        let came = (other && pure_syn(seg)).then_some(Segment {
            nat_copy: true,
            ..*seg
        });
        (seg.src, seg.dst, seg.tunnel) = back.first;
        seg.outer_flow = back.outer_flow;
        came
    }

    fn look_at_syn(&mut self, seg: &Segment, info: &PacketInfo, interface: u32) {
        if self.syns.is_empty() {
            self.syns = vec![None; SLOTS];
        }
        let ip_id = info.ip_id.map_or(0x1_0000, u32::from);
        let here = place(interface, info.ifindex);
        let tuple = (seg.src, seg.dst, seg.tunnel);
        let i = (seg.seq ^ ip_id.wrapping_mul(0x9e37_79b9)) as usize % SLOTS;
        let twin = self.syns[i].filter(|s| {
            s.seq == seg.seq
                && s.ip_id == ip_id
                && s.window == seg.window
                && s.tuple != tuple
                && (0..=WINDOW_NS).contains(&seg.ts.0.saturating_sub(s.ts))
                && (s.place != here || seg.ttl.checked_add(1) == Some(s.ttl))
        });
        match twin {
            Some(first) => self.learn(tuple, first, seg.seq),
            None => {
                if let Some(b) = self.back.get(&tuple) {
                    // The translated connection's SYN again, its first
                    // copy missed: it still goes back.
                    if b.isn == seg.seq {
                        return;
                    }
                    // A new connection on the tuple that nothing
                    // translated (the host's own, on a port the
                    // translation used before): its own from now on.
                    self.back.remove(&tuple);
                    self.back.remove(&reply(tuple));
                }
                self.syns[i] = Some(SeenSyn {
                    tuple,
                    outer_flow: seg.outer_flow,
                    seq: seg.seq,
                    ip_id,
                    window: seg.window,
                    ttl: seg.ttl,
                    ts: seg.ts.0,
                    place: here,
                });
            }
        }
    }

    /// `after` (as the SYN's sender sent it, translated) goes back to
    /// `first`, both ways.
    fn learn(&mut self, after: Tuple, first: SeenSyn, isn: u32) {
        let (first, outer_flow) = (first.tuple, first.outer_flow);
        if self
            .back
            .get(&after)
            .is_some_and(|b| b.first == first && b.isn == isn)
        {
            return;
        }
        self.connections += 1;
        // The SYN's sender is the client.
        let server = (first.1 != after.1).then_some(Translated::Server(first.1, after.1));
        let client = (first.0.ip() != after.0.ip())
            .then_some(Translated::Client(first.0.ip(), after.0.ip()));
        let tunnel = (first.2 != after.2).then_some(Translated::Tunnel(first.2, after.2));
        for t in [server, client, tunnel].into_iter().flatten() {
            if self.examples.len() < EXAMPLES && !self.examples.contains(&t) {
                self.examples.push(t);
            }
        }
        self.serial += 1;
        let serial = self.serial;
        for (a, f) in [(after, first), (reply(after), reply(first))] {
            self.back.insert(
                a,
                Back {
                    first: f,
                    outer_flow,
                    isn,
                    serial,
                },
            );
        }
        self.order.push_back((serial, after));
        while self.order.len() > KEPT {
            let Some((old, t)) = self.order.pop_front() else {
                break;
            };
            if self.back.get(&t).is_some_and(|b| b.serial == old) {
                self.back.remove(&t);
                self.back.remove(&reply(t));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Flags;

    use super::super::testwire::{info, segment as seg};

    const CLIENT: &str = "10.9.0.2:58884";
    const PUBLISHED: &str = "10.9.0.1:8080";
    const CONTAINER: &str = "172.18.0.2:2133";
    const SYN: u8 = Flags::SYN;
    const SYN_ACK: u8 = Flags::SYN | Flags::ACK;

    #[test]
    fn a_published_port_goes_back_to_the_address_the_client_used() {
        let mut t = Translations::default();
        // In on eth0 as the client sent it, out on the bridge after DNAT.
        let mut s = seg(0, CLIENT, PUBLISHED, SYN, 7, 0, 64);
        assert!(t.put_back(&mut s, &info(11, 2), 0).is_none());
        let mut s = seg(120, CLIENT, CONTAINER, SYN, 7, 0, 63);
        let came = t
            .put_back(&mut s, &info(11, 5), 0)
            .expect("the SYN as it came");
        assert!(came.nat_copy);
        assert_eq!(came.dst, CONTAINER.parse().unwrap());
        assert_eq!(s.dst, PUBLISHED.parse().unwrap());
        assert!(!s.nat_copy);
        // The container's SYN-ACK, before its reverse translation.
        let mut s = seg(150, CONTAINER, CLIENT, SYN_ACK, 99, 8, 64);
        assert!(t.put_back(&mut s, &info(40, 5), 0).is_none());
        assert_eq!(
            (s.src, s.dst),
            (PUBLISHED.parse().unwrap(), CLIENT.parse().unwrap())
        );
        assert_eq!(t.connections, 1);
        assert_eq!(
            t.examples,
            vec![Translated::Server(
                PUBLISHED.parse().unwrap(),
                CONTAINER.parse().unwrap()
            )]
        );
        // Its retransmitted SYN (a new IP identification) is the same
        // connection.
        let mut s = seg(1_000_000, CLIENT, PUBLISHED, SYN, 7, 0, 64);
        t.put_back(&mut s, &info(12, 2), 0);
        let mut s = seg(1_000_090, CLIENT, CONTAINER, SYN, 7, 0, 63);
        assert!(t.put_back(&mut s, &info(12, 5), 0).is_some());
        assert_eq!(t.connections, 1);
    }

    #[test]
    fn a_masqueraded_client_goes_back_to_its_inner_address() {
        let mut t = Translations::default();
        let (inner, outer, server) = ("172.18.0.2:39208", "10.9.0.1:40001", "10.9.0.2:2133");
        let mut s = seg(0, inner, server, SYN, 5, 0, 64);
        t.put_back(&mut s, &info(3, 5), 0);
        let mut s = seg(30, outer, server, SYN, 5, 0, 63);
        assert!(t.put_back(&mut s, &info(3, 2), 0).is_some());
        assert_eq!(s.src, inner.parse().unwrap());
        // The server's reply to the outer address goes back to the inner.
        let mut s = seg(90, server, outer, SYN_ACK, 77, 6, 64);
        t.put_back(&mut s, &info(50, 2), 0);
        assert_eq!(
            (s.src, s.dst),
            (server.parse().unwrap(), inner.parse().unwrap())
        );
        assert_eq!(
            t.examples,
            vec![Translated::Client(
                "172.18.0.2".parse().unwrap(),
                "10.9.0.1".parse().unwrap()
            )]
        );
    }

    #[test]
    fn a_new_connection_on_a_tuple_a_translation_used_is_its_own() {
        let mut t = Translations::default();
        let (inner, outer, server) = ("172.18.0.2:39208", "10.9.0.1:39208", "10.9.0.2:2133");
        let mut s = seg(0, inner, server, SYN, 5, 0, 64);
        t.put_back(&mut s, &info(3, 5), 0);
        let mut s = seg(30, outer, server, SYN, 5, 0, 63);
        t.put_back(&mut s, &info(3, 2), 0);
        // Its SYN retransmitted, the inner copy not seen: still put back.
        let mut s = seg(1_000_000, outer, server, SYN, 5, 0, 63);
        assert!(t.put_back(&mut s, &info(4, 2), 0).is_some());
        assert_eq!(s.src, inner.parse().unwrap());
        // Minutes later the host itself connects from that port.
        let mut s = seg(200_000_000, outer, server, SYN, 900, 0, 64);
        assert!(t.put_back(&mut s, &info(77, 2), 0).is_none());
        assert_eq!(s.src, outer.parse().unwrap());
        let mut s = seg(200_000_100, server, outer, SYN_ACK, 1234, 901, 64);
        t.put_back(&mut s, &info(78, 2), 0);
        assert_eq!(s.dst, outer.parse().unwrap());
        assert_eq!(t.connections, 1);
    }

    #[test]
    fn the_oldest_translations_are_forgotten_first() {
        let mut t = Translations::default();
        let server: SocketAddr = "10.250.0.1:80".parse().unwrap();
        let after: SocketAddr = "10.251.0.1:80".parse().unwrap();
        let client = |i: usize| -> SocketAddr {
            format!("10.{}.{}.1:{}", i >> 8, i & 255, 1024 + i % 60_000)
                .parse()
                .unwrap()
        };
        for i in (0..=KEPT).chain(KEPT + 1..4 * KEPT).chain(0..=KEPT) {
            let first = SeenSyn {
                tuple: (client(i), server, 0),
                outer_flow: 0,
                seq: i as u32,
                ip_id: 0,
                window: 0,
                ttl: 64,
                ts: 0,
                place: 0,
            };
            t.learn((client(i), after, 0), first, i as u32);
        }
        assert_eq!(t.back.len(), 2 * KEPT);
        // Coming and going, the map keeps to 65 536 buckets (room for
        // 57 344 entries).
        assert!(t.back.capacity() <= 57_344, "{}", t.back.capacity());
        for (i, kept) in [(0, false), (1, true), (KEPT, true)] {
            let mut s = seg(
                0,
                &client(i).to_string(),
                "10.251.0.1:80",
                Flags::ACK,
                1,
                1,
                64,
            );
            t.put_back(&mut s, &info(1, 1), 0);
            assert_eq!(s.dst == server, kept, "translation {i}");
        }
    }

    #[test]
    fn what_no_translation_made_is_left_alone() {
        let mut t = Translations::default();
        // A forwarded copy on the same tuple: a plain copy, not a translation.
        let mut s = seg(0, CLIENT, CONTAINER, SYN, 7, 0, 64);
        t.put_back(&mut s, &info(11, 2), 0);
        let mut s = seg(20, CLIENT, CONTAINER, SYN, 7, 0, 63);
        assert!(t.put_back(&mut s, &info(11, 5), 0).is_none());
        // Same ISN on another tuple but another IP identification, too late,
        // or at the same place with the same TTL: other connections.
        let mut s = seg(40, "10.9.0.3:40000", CONTAINER, SYN, 7, 0, 63);
        t.put_back(&mut s, &info(12, 5), 0);
        let mut s = seg(5_000, "10.9.0.4:40000", CONTAINER, SYN, 7, 0, 64);
        t.put_back(&mut s, &info(11, 2), 0);
        let mut s = seg(5_010, "10.9.0.5:40000", CONTAINER, SYN, 7, 0, 64);
        t.put_back(&mut s, &info(11, 2), 0);
        assert_eq!(t.connections, 0);
        assert_eq!(s.src, "10.9.0.5:40000".parse().unwrap());
    }
}
