//! Compressed captures through the built binary: each of gzip, zstd, xz and
//! bzip2, from a file (with a name that does not say so) and from standard
//! input, must give the outcomes the fixture's sockets produced, and the
//! capture block must name the compression. Broken compressed data fails
//! with one line that says its offset is in the decompressed stream.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const FIXTURE: &str = "fixtures/incident.pcap";
const EXPECT: &str = "fixtures/incident.expect.json";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn compress(kind: &str, data: &[u8]) -> Vec<u8> {
    match kind {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "zstd" => zstd::encode_all(data, 3).unwrap(),
        "xz" => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "bzip2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        _ => unreachable!(),
    }
}

const KINDS: [&str; 4] = ["gzip", "zstd", "xz", "bzip2"];

fn rstscope(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .current_dir(root())
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rstscope");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    child.wait_with_output().unwrap()
}

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("rstscope-z-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn every_compression_from_a_file_and_from_stdin() {
    let plain = std::fs::read(root().join(FIXTURE)).unwrap();
    for kind in KINDS {
        let packed = compress(kind, &plain);
        // The name says nothing: detection is by magic.
        let path = temp(&format!("{kind}.cap"), &packed);
        let p = path.to_str().unwrap();
        let out = rstscope(&["check", "--expect", EXPECT, p], None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{kind}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for input in [p, "-"] {
            let stdin = (input == "-").then_some(packed.as_slice());
            let out = rstscope(&["report", "--format", "json", input], stdin);
            assert_eq!(out.status.code(), Some(0), "{kind} {input}");
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let file = &report["capture"]["files"][0];
            assert_eq!(file["compression"], kind, "{kind} {input}");
            assert_eq!(
                file["bytes"],
                plain.len() as u64,
                "{kind}: bytes of the decompressed stream"
            );
            let text = rstscope(&["report", input], stdin);
            assert!(
                String::from_utf8_lossy(&text.stdout).contains(&format!(", {kind}-compressed,")),
                "{kind}: the text capture block names the compression"
            );
        }
        let _ = std::fs::remove_file(path);
    }
}

#[test]
fn uncompressed_files_say_no_compression() {
    let out = rstscope(&["report", "--format", "json", FIXTURE], None);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["capture"]["files"][0]["compression"].is_null());
}

#[test]
fn corrupt_compressed_data_names_the_decompressed_offset() {
    let plain = std::fs::read(root().join(FIXTURE)).unwrap();
    let mut packed = compress("gzip", &plain);
    // Past the 10-byte gzip header: the deflate data itself.
    let mid = packed.len() / 2;
    for b in &mut packed[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let path = temp("corrupt.gz", &packed);
    let out = rstscope(&["report", path.to_str().unwrap()], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(path.to_str().unwrap()), "{err}");
    assert!(err.contains("of the decompressed"), "{err}");
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_compressed_file_that_is_not_a_capture() {
    let packed = compress("zstd", b"hello, this is not a capture\n");
    let path = temp("text.zst", &packed);
    let out = rstscope(&["report", path.to_str().unwrap()], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("not a pcap or pcapng capture at byte 0 of the decompressed zstd stream"),
        "{err}"
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_compressed_stream_cut_short_is_a_cut_off_capture() {
    let plain = std::fs::read(root().join(FIXTURE)).unwrap();
    let packed = compress("gzip", &plain);
    // gzip killed mid-write: the stream ends without its trailer.
    let cut = &packed[..packed.len() * 3 / 4];
    let out = rstscope(&["report", "--format", "json", "-"], Some(cut));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let file = &report["capture"]["files"][0];
    assert!(file["cut_off_at"].as_u64().is_some(), "{file}");
    assert!(file["packets"].as_u64().unwrap() > 0);
}
