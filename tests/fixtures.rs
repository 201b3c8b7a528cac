//! The project's own captures (fixtures/, made by the Linux kernel on
//! loopback by fixtures/regen.sh): each must read with the packet and
//! TCP-segment counts tshark reported for it, recorded in fixtures/manifest.tsv.

use std::path::PathBuf;
use std::process::Command;

use rstscope::pipeline::read_segments;
use rstscope::wire::Health;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

struct Row {
    file: String,
    packets: u64,
    tcp_segments: u64,
}

fn manifest() -> Vec<Row> {
    let text =
        std::fs::read_to_string(fixtures().join("manifest.tsv")).expect("fixtures/manifest.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (f, p, t) = (col("file"), col("packets"), col("tcp_segments"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Row {
                file: c[f].to_string(),
                packets: c[p].parse().unwrap(),
                tcp_segments: c[t].parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn every_fixture_reads_with_tsharks_counts() {
    let rows: Vec<Row> = manifest()
        .into_iter()
        .filter(|r| !r.file.starts_with("bad-"))
        .collect();
    assert!(rows.len() >= 20, "manifest lists the fixtures");
    for row in rows {
        let path = fixtures().join(&row.file).to_string_lossy().into_owned();
        let mut health = Health::default();
        read_segments(&[path], &mut health, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (health.packets_read, health.tcp_segments),
            (row.packets, row.tcp_segments),
            "{}: (packets, TCP segments) against tshark",
            row.file
        );
        assert!(health.balanced(), "{}", row.file);
    }
}

#[test]
fn bad_fixtures_exit_2_with_one_line_naming_file_and_offset() {
    let cases = [
        (
            "bad-not-a-capture.txt",
            "not a pcap or pcapng capture at byte 0",
        ),
        ("bad-empty.pcap", "empty file, not a capture (0 bytes)"),
        ("bad-header.pcap", "not a pcap or pcapng capture at byte 0"),
        ("bad-absurd-record.pcap", "corrupt record at byte 24"),
    ];
    for (name, message) in cases {
        let path = format!("fixtures/{name}");
        let out = Command::new(env!("CARGO_BIN_EXE_rstscope"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["report", &path])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(
            stderr.starts_with(&format!("rstscope: {path}: {message}")),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn cut_fixture_keeps_packets_before_the_cut() {
    let mut health = Health::default();
    let path = fixtures().join("cut.pcap").to_string_lossy().into_owned();
    read_segments(&[path], &mut health, &mut |_| {}).unwrap();
    assert!(health.files[0].cut_off_at.is_some());
}

#[test]
fn pcapng_with_two_link_types_reads_both() {
    let mut health = Health::default();
    let path = fixtures()
        .join("two-interfaces.pcapng")
        .to_string_lossy()
        .into_owned();
    read_segments(&[path], &mut health, &mut |_| {}).unwrap();
    assert_eq!(health.files[0].link_types, vec!["EN10MB", "LINUX_SLL2"]);
}
