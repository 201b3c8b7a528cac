//! The capture reader and decoder on captures loopback cannot produce:
//! every link type, VLAN tags, IP options and extension headers, fragments,
//! and the pcapng features real tools write (several interfaces with their
//! own link type and clock, several sections, simple and obsolete blocks).

mod support;

use rstscope::pipeline::SegmentReader;
use rstscope::wire::SkipReason;
use rstscope::wire::{Segment, Timestamp};
use support::*;

fn read(bytes: &[u8]) -> (SegmentReader, Vec<Segment>) {
    let mut r = SegmentReader::new();
    let mut segs = Vec::new();
    r.read("test", bytes, &mut |s| segs.push(*s))
        .expect("readable");
    assert!(r.health.balanced(), "every packet accounted for");
    (r, segs)
}

fn syn4() -> Tcp {
    Tcp::new("10.0.0.1:40000", "10.0.0.2:2133", SYN)
}

fn data6() -> Tcp {
    Tcp::new("[2001:db8::1]:40000", "[2001:db8::2]:2133", PSH | ACK).payload(87)
}

#[test]
fn every_supported_link_type_yields_the_segment() {
    let v4 = syn4().ip();
    let v6 = data6().ip();
    let cases: Vec<(&str, u32, Vec<u8>)> = vec![
        ("EN10MB", 1, ethernet(&v4, &[])),
        ("802.1Q", 1, ethernet(&v4, &[100])),
        ("QinQ", 1, ethernet(&v6, &[100, 200])),
        ("NULL little-endian", 0, null(&v4, false)),
        ("NULL big-endian", 0, null(&v6, true)),
        ("LOOP", 108, null(&v4, true)),
        ("RAW", 101, v4.clone()),
        ("IPV4", 228, v4.clone()),
        ("IPV6", 229, v6.clone()),
    ];
    for (what, link, frame) in cases {
        let mut p = Pcap::new(link, false, false);
        p.packet(1_000_000_000, &frame);
        let (r, segs) = read(&p.bytes);
        assert_eq!(segs.len(), 1, "{what}: {:?}", r.health);
        let expect_port = 2133;
        assert_eq!(segs[0].dst.port(), expect_port, "{what}");
    }
}

#[test]
fn ipv4_options_and_ipv6_extension_headers_are_walked() {
    let with_opts = syn4().ipv4_with_options(&[1, 1, 1, 0]); // NOP NOP NOP EOL
    let with_exts = data6().ipv6_with_hop_by_hop(true);
    let mut p = Pcap::new(101, false, false);
    p.packet(1, &with_opts).packet(2, &with_exts);
    let (_, segs) = read(&p.bytes);
    assert_eq!(segs.len(), 2);
    assert!(segs[0].flags.syn());
    assert_eq!(segs[1].payload_len, 87);
    assert_eq!(segs[1].src.to_string(), "[2001:db8::1]:40000");
}

#[test]
fn fragments_non_tcp_and_non_ip_are_counted_by_reason() {
    let [f1, f2] = syn4().ipv4_fragments();
    let udp = {
        let b = etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(53, 53);
        let mut v = Vec::new();
        b.write(&mut v, b"dns").unwrap();
        v
    };
    let mut p = Pcap::new(1, false, false);
    p.packet(1, &ethernet(&f1, &[]))
        .packet(2, &ethernet(&f2, &[]))
        .packet(3, &ethernet(&udp, &[]))
        .packet(4, &arp())
        .packet(5, &ethernet(&syn4().ip(), &[]));
    let (r, segs) = read(&p.bytes);
    let h = &r.health;
    assert_eq!(h.packets_read, 5);
    assert_eq!(segs.len(), 1);
    assert_eq!(h.skipped(SkipReason::IpFragment), 2);
    assert_eq!(h.skipped(SkipReason::NonTcp), 1);
    assert_eq!(h.skipped(SkipReason::NonIp), 1);
}

#[test]
fn unsupported_link_type_is_counted_not_fatal() {
    let mut p = Pcap::new(147, false, false);
    p.packet(1, &[0u8; 64]).packet(2, &[0u8; 64]);
    let (r, segs) = read(&p.bytes);
    assert!(segs.is_empty());
    assert_eq!(r.health.skipped(SkipReason::UnsupportedLinkType), 2);
    assert_eq!(r.health.unsupported_link_types, vec![147]);
}

#[test]
fn snap_cut_headers_are_used_and_length_comes_from_ip() {
    let full = ethernet(&data6().ip(), &[]);
    let mut p = Pcap::new(1, false, false);
    p.packet_cut(1, &full, 96);
    let (r, segs) = read(&p.bytes);
    assert_eq!(segs[0].payload_len, 87);
    assert!(segs[0].snap_cut);
    assert_eq!(r.health.snap_cut_segments, 1);
}

#[test]
fn snap_cut_inside_tcp_options_keeps_the_fixed_header() {
    // `tcpdump -s 60` on Ethernet: 26 of a 32-byte TCP header captured.
    let mut seg = Tcp::new("10.0.0.1:40000", "10.0.0.2:2133", PSH | ACK)
        .seq(77)
        .payload(100);
    seg.options = 12;
    let full = ethernet(&seg.ip(), &[]);
    let mut p = Pcap::new(1, false, false);
    p.packet_cut(1, &full, 60);
    let (r, segs) = read(&p.bytes);
    assert_eq!(segs.len(), 1, "{:?}", r.health);
    assert_eq!(segs[0].seq, 77);
    assert_eq!(segs[0].flags.to_string(), "P.");
    assert_eq!(segs[0].payload_len, 100);
    assert_eq!(r.health.snap_cut_segments, 1);
}

#[test]
fn snap_cut_inside_the_tcp_header_is_malformed() {
    let full = ethernet(&syn4().ip(), &[]);
    let mut p = Pcap::new(1, false, false);
    p.packet_cut(1, &full, 14 + 20 + 10);
    let (r, segs) = read(&p.bytes);
    assert!(segs.is_empty());
    assert_eq!(r.health.skipped(SkipReason::MalformedHeader), 1);
}

#[test]
fn big_endian_and_nanosecond_pcap() {
    for (nanos, big) in [(false, true), (true, false), (true, true)] {
        let mut p = Pcap::new(1, nanos, big);
        p.packet(1_700_000_000_123_456_789, &ethernet(&syn4().ip(), &[]));
        let (r, segs) = read(&p.bytes);
        let want = if nanos {
            1_700_000_000_123_456_789
        } else {
            1_700_000_000_123_456_000
        };
        assert_eq!(segs[0].ts, Timestamp(want), "nanos={nanos} big={big}");
        assert!(r.health.files[0]
            .format
            .contains(if big { "big" } else { "little" }));
    }
}

#[test]
fn pcapng_interfaces_keep_their_own_link_type_and_clock() {
    // Four different segments: the same one on two interfaces within a
    // millisecond would be one packet seen twice.
    let v4 = |n: u32| syn4().seq(n).ip();
    let mut p = PcapNg::new(false);
    // if 0: Ethernet, microseconds; if 1: RAW, nanoseconds, +100 s offset.
    p.interface(1, None, None)
        .interface(101, Some(9), Some(100))
        .enhanced(0, 1_700_000_000_000_001, &ethernet(&v4(1), &[]))
        .enhanced(1, 1_700_000_000_000_000_002, &v4(2))
        .simple(&ethernet(&v4(3), &[]))
        .obsolete(1, 1_700_000_000_000_000_003, &v4(4));
    let (r, segs) = read(&p.bytes);
    assert_eq!(segs.len(), 4);
    assert_eq!(segs[0].ts, Timestamp(1_700_000_000_000_001_000));
    assert_eq!(segs[1].ts, Timestamp(1_700_000_100_000_000_002));
    // A Simple Packet Block has no time: it keeps the last one.
    assert_eq!(segs[2].ts, segs[1].ts);
    assert_eq!(segs[3].ts, Timestamp(1_700_000_100_000_000_003));
    assert_eq!(r.health.files[0].link_types, vec!["EN10MB", "RAW"]);
}

#[test]
fn pcapng_new_section_restarts_interfaces_and_may_change_byte_order() {
    let v4 = syn4().ip();
    let mut p = PcapNg::new(false);
    p.interface(1, None, None)
        .enhanced(0, 1, &ethernet(&v4, &[]));
    let mut q = PcapNg::new(true);
    q.interface(101, None, None).enhanced(0, 2, &v4);
    let mut bytes = p.bytes.clone();
    bytes.extend_from_slice(&q.bytes);
    let (r, segs) = read(&bytes);
    assert_eq!(segs.len(), 2);
    assert_eq!(r.health.files[0].link_types, vec!["EN10MB", "RAW"]);
}

#[test]
fn pcapng_packet_for_undeclared_interface_is_an_error_with_offset() {
    let mut p = PcapNg::new(false);
    p.interface(1, None, None);
    let at = p.bytes.len();
    p.enhanced(3, 1, &ethernet(&syn4().ip(), &[]));
    let mut r = SegmentReader::new();
    let err = r.read("x.pcapng", &p.bytes[..], &mut |_| {}).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("x.pcapng: corrupt record at byte {at}: packet refers to interface 3 but the section describes 1")
    );
}

#[test]
fn pcapng_cut_mid_block_keeps_complete_packets() {
    let v4 = syn4().ip();
    let mut p = PcapNg::new(false);
    p.interface(101, None, None).enhanced(0, 1, &v4);
    let second = p.bytes.len();
    p.enhanced(0, 2, &v4);
    let cut = &p.bytes[..p.bytes.len() - 5];
    let (r, segs) = read(cut);
    assert_eq!(segs.len(), 1);
    assert_eq!(r.health.files[0].cut_off_at, Some(second as u64));
}

#[test]
fn timestamps_going_backwards_are_counted() {
    let f = ethernet(&syn4().ip(), &[]);
    let mut p = Pcap::new(1, false, false);
    p.packet(3_000_000_000, &f)
        .packet(1_000_000_000, &f)
        .packet(2_000_000_000, &f);
    let (r, _) = read(&p.bytes);
    assert_eq!(r.health.timestamps_backwards, 1);
}

#[test]
fn frames_are_numbered_across_rotated_files() {
    let f = ethernet(&syn4().ip(), &[]);
    let mut a = Pcap::new(1, false, false);
    a.packet(1, &f).packet(2, &f);
    let mut b = Pcap::new(1, false, false);
    b.packet(3, &f);
    let mut r = SegmentReader::new();
    let mut frames = Vec::new();
    r.read("a", &a.bytes[..], &mut |s| frames.push(s.frame))
        .unwrap();
    r.read("b", &b.bytes[..], &mut |s| frames.push(s.frame))
        .unwrap();
    assert_eq!(frames, vec![1, 2, 3]);
    assert_eq!(r.health.files.len(), 2);
}
