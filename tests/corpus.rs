//! Other people's captures (../shared/corpus): every file must read with the
//! packet and TCP-segment counts tshark 4.0 reports for it (packets from the
//! corpus manifest; TCP segments from `tshark -r F -Y tcp | wc -l`).

use std::path::PathBuf;

use rstscope::pipeline::read_segments;
use rstscope::wire::Health;

fn corpus(name: &str) -> String {
    let dir = std::env::var("RSTSCOPE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let path = dir.join(name);
    assert!(
        path.exists(),
        "corpus file {} missing: these tests read ../shared/corpus (set RSTSCOPE_CORPUS to its folder)",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

fn read(name: &str) -> Health {
    let mut health = Health::default();
    read_segments(&[corpus(name)], &mut health, &mut |_| {})
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    health
}

/// (file, packets, TCP segments) as tshark counts them.
const TSHARK: &[(&str, u64, u64)] = &[
    ("pcapparser__err-buffertoosmall.pcapng", 27, 27),
    ("pcapparser__modified-format.pcap", 1, 0),
    ("pcapparser__test001-be.pcapng", 4, 0),
    ("sv__bug-2491-02-onesided-nosyn.pcap", 11, 11),
    ("sv__bug-2646-01.pcap", 29, 29),
    ("sv__bug-2646-02.pcap", 27, 27),
    ("sv__bug-78-uricontent.pcap", 13, 13),
    ("sv__community-id-ipv6.pcap", 70, 70),
    ("sv__decode-sll2-01.pcap", 5, 5),
    ("sv__decode-sll2-02.pcap", 159, 159),
    ("sv__http-mime-truncated.pcap", 2696, 2696),
    ("sv__output-eve-ftp-data.pcap", 1350, 755),
    ("sv__pgsql-simple-query-rollback.pcap", 88, 88),
    ("sv__pgsql-upgrade-tls.pcap", 22, 22),
    ("sv__security-4710-01.pcap", 12, 12),
    ("sv__tcp-fastopen-11-reject-syn-data.pcap", 29, 29),
    ("sv__tcp-rst-unacked-stream-10.pcap", 75, 75),
    ("sv__tls-certs-alert.pcap", 32, 32),
    ("sv__tls-duplicate-hello.pcap", 15, 15),
    ("tcpdump__mptcp-tcprst.pcap", 2, 2),
    ("tcpdump__pptp.pcap", 23, 22),
    ("tcpdump__tcp-handshake-nano.pcap", 3, 3),
    ("tcpdump__tcp_rst_data-trunc.pcap", 1, 1),
    ("tcpdump__tcp_rst_data.pcap", 1, 1),
    ("tcpdump__tcp_rst_diag_payload.pcap", 1, 1),
    ("tcpreplay__test.pcap", 179, 116),
];

#[test]
fn every_corpus_file_reads_with_tsharks_counts() {
    let mut wrong = Vec::new();
    for &(name, packets, tcp) in TSHARK {
        let h = read(name);
        if h.packets_read != packets || h.tcp_segments != tcp {
            wrong.push(format!(
                "{name}: read {} packets / {} TCP, tshark {packets} / {tcp}",
                h.packets_read, h.tcp_segments
            ));
        }
        assert!(h.balanced(), "{name}: packets not all accounted for: {h:?}");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn link_types_and_formats_are_named() {
    let cases = [
        ("tcpdump__pptp.pcap", "big-endian", "EN10MB"),
        (
            "tcpdump__tcp-handshake-nano.pcap",
            "nanosecond",
            "LINUX_SLL",
        ),
        ("sv__decode-sll2-01.pcap", "microsecond", "LINUX_SLL2"),
        ("sv__tls-duplicate-hello.pcap", "pcap", "NULL"),
        ("tcpdump__mptcp-tcprst.pcap", "pcap", "RAW"),
        (
            "pcapparser__test001-be.pcapng",
            "pcapng (big-endian)",
            "EN10MB",
        ),
        ("pcapparser__modified-format.pcap", "modified", "EN10MB"),
    ];
    for (name, format, link) in cases {
        let h = read(name);
        let f = &h.files[0];
        assert!(f.format.contains(format), "{name}: format {}", f.format);
        assert_eq!(f.link_types, vec![link.to_string()], "{name}");
    }
}

#[test]
fn file_cut_mid_record_keeps_every_complete_packet() {
    // tshark: 2696 packets, then "cut short in the middle of a packet".
    let h = read("sv__http-mime-truncated.pcap");
    assert_eq!(h.packets_read, 2696);
    assert_eq!(h.files[0].cut_off_at, Some(2_715_459));
}

#[test]
fn snap_cut_rst_keeps_its_ip_length() {
    // 111 of 112 bytes captured: tshark still shows Len=58 for the RST payload.
    let mut segs = Vec::new();
    let mut health = Health::default();
    read_segments(
        &[corpus("tcpdump__tcp_rst_data-trunc.pcap")],
        &mut health,
        &mut |s| segs.push(*s),
    )
    .unwrap();
    assert_eq!(segs.len(), 1);
    assert_eq!(segs[0].payload_len, 58);
    assert!(segs[0].flags.rst());
    assert!(segs[0].snap_cut);
    assert_eq!(health.snap_cut_segments, 1);
}

/// Every RST tshark counts (`rst_count` column of the corpus manifest) is
/// in exactly one connection's `rst_count`.
#[test]
fn rst_counts_add_up_to_tsharks() {
    let manifest = std::fs::read_to_string(corpus("manifest.tsv")).unwrap();
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (name_at, rst_at) = (col("local_name"), col("rst_count"));
    let mut checked = 0;
    for line in lines {
        let cols: Vec<&str> = line.split('\t').collect();
        let (name, tshark) = (cols[name_at], cols[rst_at]);
        if name.contains("corrupt") {
            continue; // unreadable as a whole: exit 2 (tests/cli.rs)
        }
        let mut health = Health::default();
        let mut ours = 0u64;
        rstscope::pipeline::analyse_connections(
            &[corpus(name)],
            &mut health,
            Default::default(),
            &mut |_, flow| ours += u64::from(flow.rst_count.unwrap_or(0)),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            ours.to_string(),
            tshark,
            "{name}: RSTs in connections against tshark"
        );
        checked += 1;
    }
    assert!(checked >= 25);
}
