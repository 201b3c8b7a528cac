//! The built binary as users and scripts run it: exit statuses, one-line
//! errors naming the file and byte offset, standard input.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use support::*;

fn rstscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .args(args)
        .output()
        .expect("run rstscope")
}

fn tmp(name: &str, bytes: &[u8]) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

fn small_capture() -> Vec<u8> {
    let mut p = Pcap::new(1, false, false);
    let c = "10.0.0.1:40000";
    let s = "10.0.0.2:2133";
    p.packet(1_000_000_000, &ethernet(&Tcp::new(c, s, SYN).ip(), &[]))
        .packet(
            1_000_100_000,
            &ethernet(&Tcp::new(s, c, SYN | ACK).ip(), &[]),
        )
        .packet(1_000_200_000, &ethernet(&Tcp::new(c, s, ACK).ip(), &[]))
        .packet(
            1_000_300_000,
            &ethernet(&Tcp::new(c, s, PSH | ACK).payload(87).ip(), &[]),
        );
    p.bytes
}

/// Exit status 2 and exactly one line on standard error, nothing on standard output.
fn assert_one_line_error(out: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert_eq!(stderr.trim_end(), expected);
    assert!(out.stdout.is_empty());
}

#[test]
fn not_a_capture() {
    let f = tmp("notes.txt", b"hello, this is not a capture\n");
    assert_one_line_error(
        &rstscope(&["report", &f]),
        &format!("rstscope: {f}: not a pcap or pcapng capture at byte 0 (magic 68656c6c)"),
    );
}

#[test]
fn empty_file() {
    let f = tmp("empty.pcap", b"");
    assert_one_line_error(
        &rstscope(&[&f]),
        &format!("rstscope: {f}: empty file, not a capture (0 bytes)"),
    );
}

#[test]
fn directory() {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .to_string_lossy()
        .into_owned();
    assert_one_line_error(
        &rstscope(&["report", &d]),
        &format!("rstscope: {d}: is a directory, not a capture file"),
    );
}

#[test]
fn missing_file() {
    let out = rstscope(&["report", "/nonexistent/x.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("rstscope: /nonexistent/x.pcap: cannot open: "),
        "{stderr}"
    );
}

#[test]
fn corrupt_file_header() {
    let mut bytes = small_capture();
    bytes[4] = 9; // version 9.4
    let f = tmp("badversion.pcap", &bytes);
    assert_one_line_error(
        &rstscope(&["report", &f]),
        &format!("rstscope: {f}: corrupt pcap file header at byte 0: unsupported version 9.4"),
    );
    let f = tmp("shortheader.pcap", &small_capture()[..10]);
    assert_one_line_error(
        &rstscope(&["report", &f]),
        &format!("rstscope: {f}: corrupt pcap file header at byte 0: file header cut short (10 of 24 bytes)"),
    );
}

#[test]
fn absurd_record_length() {
    let mut bytes = small_capture();
    bytes[24 + 8..24 + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let f = tmp("absurd.pcap", &bytes);
    assert_one_line_error(
        &rstscope(&["report", &f]),
        &format!("rstscope: {f}: corrupt record at byte 24: record claims 2147483647 captured bytes, more than the 262144-byte maximum"),
    );
}

#[test]
fn cut_off_file_is_analysed_up_to_the_cut() {
    let bytes = small_capture();
    let full = tmp("whole.pcap", &bytes);
    let last_record = bytes.len() - (16 + 14 + 20 + 20 + 87);
    let f = tmp("cut.pcap", &bytes[..bytes.len() - 40]);
    let out = rstscope(&["report", &f]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "file ends mid-record at byte {last_record}; analysed the 3 complete packets"
        )),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 read, 3 TCP segments"), "{stdout}");
    assert!(
        stdout.contains(&format!("ends mid-record at byte {last_record}")),
        "{stdout}"
    );
    // --quiet silences the warning, not the report.
    let out = rstscope(&["report", "--quiet", &f]);
    assert!(out.stderr.is_empty());
    let whole = rstscope(&["report", &full]);
    assert!(String::from_utf8_lossy(&whole.stdout).contains("4 read, 4 TCP segments"));
}

#[test]
fn no_capture_is_a_usage_error() {
    let out = rstscope(&["report"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bare_capture_argument_means_report() {
    let f = tmp("bare.pcap", &small_capture());
    let a = rstscope(&[&f]);
    let b = rstscope(&["report", &f]);
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(a.stdout, b.stdout);
}

/// A pipe delivers the capture in small pieces; detection must not depend
/// on the first read() holding the whole file header.
#[test]
fn standard_input_in_small_pieces_gives_the_same_report() {
    let bytes = small_capture();
    let f = tmp("piped.pcap", &bytes);
    let from_file = rstscope(&["report", &f]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .args(["report", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for chunk in bytes.chunks(7) {
        stdin.write_all(chunk).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    drop(stdin);
    let from_pipe = child.wait_with_output().unwrap();
    assert_eq!(from_pipe.status.code(), Some(0));
    let file_text = String::from_utf8_lossy(&from_file.stdout).replace(&f, "stdin");
    assert_eq!(String::from_utf8_lossy(&from_pipe.stdout), file_text);
}

#[test]
fn version_and_help_with_examples() {
    let out = rstscope(&["--version"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("rstscope "));
    for cmd in ["report", "flows", "timeline", "check"] {
        let out = rstscope(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Example"),
            "{cmd} --help"
        );
    }
}

/// `script` runs the command under a pseudo-terminal, as a user's shell would.
fn under_terminal(args: &str) -> String {
    let cmd = format!("{} {args}", env!("CARGO_BIN_EXE_rstscope"));
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("script(1) from util-linux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn progress_bar_on_a_terminal_only() {
    let shown = under_terminal("report fixtures/incident.pcap");
    assert!(
        shown.contains("packets") && shown.contains("KiB"),
        "bar on a terminal: {shown}"
    );
    assert!(shown.contains("Capture"), "report follows the bar");

    let quiet = under_terminal("report --quiet fixtures/incident.pcap");
    assert!(!quiet.contains("KiB"), "--quiet hides the bar: {quiet}");

    let piped = rstscope(&["report", "fixtures/incident.pcap"]);
    assert!(piped.stderr.is_empty(), "nothing on a piped stderr");
}

#[test]
fn output_file_is_written_whole_or_not_at_all() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-out");
    std::fs::create_dir_all(&dir).unwrap();
    let ok = dir.join("report.txt");
    let _ = std::fs::remove_file(&ok);
    let out = rstscope(&[
        "report",
        "-o",
        ok.to_str().unwrap(),
        "fixtures/incident.pcap",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(std::fs::read_to_string(&ok).unwrap().starts_with("Capture"));

    let failed = dir.join("failed.txt");
    let bad = tmp("bad-for-output.txt", b"not a capture");
    let out = rstscope(&["report", "-o", failed.to_str().unwrap(), &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!failed.exists(), "no output file after a failed run");
    let leftovers = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert_eq!(leftovers, 0);
}

/// A full disk is a failure the user must see: one line, status 2 (unlike a
/// closed pipe, which ends quietly). /dev/full fails every write with ENOSPC.
#[test]
fn full_disk_is_a_clear_error() {
    for args in [
        vec!["flows", "fixtures/incident.pcap"],
        vec!["flows", "--format", "ndjson", "fixtures/incident.pcap"],
        vec!["report", "--format", "json", "fixtures/incident.pcap"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_rstscope"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(&args)
            .stdout(std::fs::File::create("/dev/full").expect("/dev/full"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim_end(),
            "rstscope: cannot write output: No space left on device (os error 28)",
            "{args:?}"
        );
    }
}
