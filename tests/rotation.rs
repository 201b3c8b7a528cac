//! Several captures through the built binary: a rotation named as
//! `tcpdump -C` names it, given in the shell's order (`cap.pcap10` before
//! `cap.pcap2`), and two files whose packets interleave in time, must both
//! give the outcomes the fixture's sockets produced for the whole capture
//! (`fixtures/incident.expect.json`), with the capture block saying what was
//! done to the order.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIXTURE: &str = "fixtures/incident.pcap";
const EXPECT: &str = "fixtures/incident.expect.json";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The 24-byte file header and every record of a little-endian pcap.
fn records(bytes: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian pcap");
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        out.push(bytes[at..at + 16 + caplen].to_vec());
        at += 16 + caplen;
    }
    assert_eq!(at, bytes.len());
    (bytes[..24].to_vec(), out)
}

fn write(path: &Path, header: &[u8], records: &[Vec<u8>]) {
    let mut bytes = header.to_vec();
    for r in records {
        bytes.extend_from_slice(r);
    }
    std::fs::write(path, bytes).unwrap();
}

fn rstscope(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run rstscope")
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rstscope-rot-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn capture_block(files: &[String]) -> serde_json::Value {
    let mut args = vec!["report".to_string(), "--format".into(), "json".into()];
    args.extend_from_slice(files);
    let out = rstscope(&args);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["capture"].clone()
}

fn check(files: &[String]) -> Output {
    let mut args = vec!["check".to_string(), "--expect".into(), EXPECT.into()];
    args.extend_from_slice(files);
    rstscope(&args)
}

#[test]
fn a_rotation_in_shell_order_reads_as_the_whole_capture() {
    let (header, recs) = records(&std::fs::read(root().join(FIXTURE)).unwrap());
    let d = dir("shell");
    // tcpdump -C names: cap.pcap, cap.pcap1, ..., cap.pcap11.
    let parts = 12;
    let per = recs.len().div_ceil(parts);
    for (i, chunk) in recs.chunks(per).enumerate() {
        let name = if i == 0 {
            "cap.pcap".to_string()
        } else {
            format!("cap.pcap{i}")
        };
        write(&d.join(name), &header, chunk);
    }
    // What `cap.pcap*` expands to.
    let mut files: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files[2].ends_with("cap.pcap10"), "shell order: {files:?}");

    let out = check(&files);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let block = capture_block(&files);
    assert_eq!(block["files_reordered"], true);
    assert_eq!(block["files_interleaved"], 0);
    assert_eq!(block["timestamps_backwards"], 0);
    assert_eq!(block["packets_read"], recs.len() as u64);
    let read: Vec<&str> = block["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..recs.len().div_ceil(per))
        .map(|i| {
            let name = if i == 0 {
                "cap.pcap".into()
            } else {
                format!("cap.pcap{i}")
            };
            d.join(name).to_string_lossy().into_owned()
        })
        .collect();
    assert_eq!(read, expected, "files listed in the order read");

    // In time order already: nothing to say.
    let block = capture_block(&expected);
    assert_eq!(block["files_reordered"], false);
    let text = rstscope(&[&["report".to_string()], &files[..]].concat());
    assert!(String::from_utf8_lossy(&text.stdout).contains("not in the order given"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn interleaved_files_are_merged_by_timestamp() {
    let (header, recs) = records(&std::fs::read(root().join(FIXTURE)).unwrap());
    let d = dir("interleaved");
    // Two capture points of the same traffic, packets dealt alternately.
    let even: Vec<Vec<u8>> = recs.iter().step_by(2).cloned().collect();
    let odd: Vec<Vec<u8>> = recs.iter().skip(1).step_by(2).cloned().collect();
    let (a, b) = (d.join("a.pcap"), d.join("b.pcap"));
    write(&a, &header, &odd);
    write(&b, &header, &even);
    let files = vec![
        a.to_string_lossy().into_owned(),
        b.to_string_lossy().into_owned(),
    ];
    let out = check(&files);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let block = capture_block(&files);
    assert_eq!(block["files_interleaved"], 1);
    assert_eq!(
        block["files_reordered"], true,
        "b.pcap holds the first packet"
    );
    assert_eq!(block["timestamps_backwards"], 0, "merged, not concatenated");

    // The same flows as the whole capture, frame numbers included.
    let whole = rstscope(&["flows".into(), FIXTURE.into()]);
    let merged = rstscope(&[&["flows".to_string()], &files[..]].concat());
    assert_eq!(merged.stdout, whole.stdout);
    let _ = std::fs::remove_dir_all(&d);
}

/// `tcpdump -i any -C` on a host that forwards or translates: a rotation of
/// fixtures/forwarded-any.pcap and nat-any.pcap (every packet twice; behind
/// the NAT each connection before and after the translation) must be
/// checked against the sockets' expectation like the whole file, with the
/// same capture block: the copies and translations span the cut between
/// two files.
#[test]
fn a_rotation_of_any_interface_captures_counts_each_packet_once() {
    for name in ["forwarded-any", "nat-any"] {
        let whole = format!("fixtures/{name}.pcap");
        let (header, recs) = records(&std::fs::read(root().join(&whole)).unwrap());
        let d = dir(name);
        let per = recs.len().div_ceil(3) | 1;
        let files: Vec<String> = recs
            .chunks(per)
            .enumerate()
            .map(|(i, chunk)| {
                let p = d.join(format!("cap.pcap{i}"));
                write(&p, &header, chunk);
                p.to_string_lossy().into_owned()
            })
            .collect();
        let mut args = vec![
            "check".to_string(),
            "--expect".into(),
            format!("fixtures/{name}.expect.json"),
        ];
        args.extend_from_slice(&files);
        let out = rstscope(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let (parts, one) = (capture_block(&files), capture_block(&[whole]));
        for key in [
            "packets_read",
            "tcp_segments",
            "duplicate_copies",
            "translated_connections",
            "translations",
            "encapsulations",
            "skipped",
        ] {
            assert_eq!(parts[key], one[key], "{name}: {key}");
        }
        assert_eq!(one["duplicate_copies"], recs.len() as u64 / 2, "{name}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
