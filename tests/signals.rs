//! Ctrl-C and `kill` under a real process: the binary reads a generated
//! capture from a pipe that stays open (as `tcpdump -w - | rstscope report -`
//! does), the test sends the signal, and the output must be complete for
//! what was read, say it was interrupted, and the exit status must be
//! 128 + the signal.

mod support;

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use support::{ethernet, Pcap, Tcp, ACK, FIN, SYN};

/// `n` complete connections (handshake, FIN both ways), client ports from
/// `first_port`, starting at `t0` seconds; each on its own 4-tuple.
fn clean_connections(pcap: &mut Pcap, first_port: u16, n: u16, t0: u64) {
    let server = "10.0.0.1:80";
    for i in 0..n {
        let client = format!("10.0.0.2:{}", first_port + i);
        let c = client.as_str();
        let t = (t0 * 1_000_000 + u64::from(i) * 100) * 1000;
        let segs = [
            Tcp::new(c, server, SYN).seq(100),
            Tcp::new(server, c, SYN | ACK).seq(500).ack(101),
            Tcp::new(c, server, ACK).seq(101).ack(501),
            Tcp::new(c, server, FIN | ACK).seq(101).ack(501),
            Tcp::new(server, c, FIN | ACK).seq(501).ack(102),
            Tcp::new(c, server, ACK).seq(102).ack(502),
        ];
        for (k, s) in segs.iter().enumerate() {
            pcap.packet(t + k as u64 * 1000, &ethernet(&s.ip(), &[]));
        }
    }
}

/// A handshake with no end: open when the signal comes.
fn open_connection(pcap: &mut Pcap, t_secs: u64) {
    let (c, server) = ("10.0.0.3:40000", "10.0.0.1:80");
    let t = t_secs * 1_000_000_000;
    for (k, s) in [
        Tcp::new(c, server, SYN).seq(7),
        Tcp::new(server, c, SYN | ACK).seq(9).ack(8),
        Tcp::new(c, server, ACK).seq(8).ack(10),
    ]
    .iter()
    .enumerate()
    {
        pcap.packet(t + k as u64 * 1000, &ethernet(&s.ip(), &[]));
    }
}

/// The first part of the stream: a pcap header, `n` clean connections and
/// one open one.
fn first_part(n: u16) -> Vec<u8> {
    let mut pcap = Pcap::new(1, false, false);
    clean_connections(&mut pcap, 10_000, n, 1_700_000_000);
    open_connection(&mut pcap, 1_700_000_010);
    pcap.bytes
}

/// More records (no file header) for after the signal.
fn more_records(n: u16) -> Vec<u8> {
    let mut pcap = Pcap::new(1, false, false);
    clean_connections(&mut pcap, 30_000, n, 1_700_000_020);
    pcap.bytes[24..].to_vec()
}

fn spawn(args: &[&str], dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rstscope")
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: plain kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(rc, 0, "kill({}, {sig})", child.id());
}

/// Waits for the child to exit, with a deadline so that a run that ignores
/// the signal fails instead of hanging the suite. Its output is read while
/// it runs: a report larger than the pipe would otherwise block it.
fn wait(mut child: Child, stdin: Option<ChildStdin>) -> (i32, String, String) {
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = r.read_to_string(&mut text);
            text
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            drop(stdin);
            let code = status.code().expect("exited, not killed by the signal");
            return (code, out.join().unwrap(), err.join().unwrap());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rstscope did not exit within 30 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the child has read `bytes` from its input (Linux's
/// `/proc/PID/io`), so the signal comes after it: on a loaded machine a
/// fixed sleep may end before the child has even started.
fn settle(child: &Child, bytes: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let io = std::fs::read_to_string(format!("/proc/{}/io", child.id())).unwrap_or_default();
        let read: usize = io
            .lines()
            .find_map(|l| l.strip_prefix("rchar: "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        if read >= bytes {
            // A little more, for the packets read to reach the tracker.
            std::thread::sleep(Duration::from_millis(200));
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the child read {read} of {bytes} bytes in 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rstscope-sig-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn sigint_writes_the_report_for_what_was_read_and_exits_130() {
    let dir = temp_dir("report");
    let mut child = spawn(&["report", "--format", "json", "-"], &dir);
    let mut stdin = child.stdin.take().unwrap();
    let first = first_part(2000);
    stdin.write_all(&first).unwrap();
    stdin.flush().unwrap();
    settle(&child, first.len());
    signal(&child, libc::SIGINT);
    // Records after the signal: the reader stops at its next read, whatever
    // arrives; the pipe stays open, so end of input is not what stops it.
    let _ = stdin.write_all(&more_records(50));
    let (code, out, err) = wait(child, Some(stdin));
    assert_eq!(code, 130, "stderr: {err}");
    assert!(err.contains("interrupted by SIGINT"), "stderr: {err}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("complete JSON report");
    assert_eq!(report["capture"]["interrupted"], "SIGINT", "{out}");
    let outcomes = &report["outcomes"];
    let clean = outcomes["clean"].as_u64().unwrap();
    assert!(
        (2000..=2050).contains(&clean),
        "every connection written before the signal is in the report: {clean} clean"
    );
    assert_eq!(
        outcomes["open"], 1,
        "the open connection finished as at the end"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_writes_complete_flows_to_the_file_and_exits_143() {
    let dir = temp_dir("flows");
    let mut child = spawn(&["flows", "-o", "flows.csv", "-"], &dir);
    let mut stdin = child.stdin.take().unwrap();
    let first = first_part(500);
    stdin.write_all(&first).unwrap();
    stdin.flush().unwrap();
    settle(&child, first.len());
    signal(&child, libc::SIGTERM);
    let _ = stdin.write_all(&more_records(10));
    let (code, _out, err) = wait(child, Some(stdin));
    assert_eq!(code, 143, "stderr: {err}");
    assert!(err.contains("interrupted by SIGTERM"), "stderr: {err}");
    let mut rows = csv::Reader::from_path(dir.join("flows.csv")).expect("the file is there");
    let headers = rows.headers().unwrap().clone();
    let outcome = headers.iter().position(|h| h == "outcome").unwrap();
    let records: Vec<csv::StringRecord> = rows.records().map(|r| r.unwrap()).collect();
    assert!(
        (501..=511).contains(&records.len()),
        "{} rows",
        records.len()
    );
    assert_eq!(
        records.iter().filter(|r| &r[outcome] == "open").count(),
        1,
        "the connection open at the signal is a row"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "flows.csv")
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary file left: {leftovers:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_sigint_exits_at_once() {
    let dir = temp_dir("twice");
    // Rows go to standard output, which this test does not read: once the
    // pipe is full the run is stuck writing, and the first signal cannot
    // finish it.
    let mut child = spawn(&["flows", "-"], &dir);
    let mut stdin = child.stdin.take().unwrap();
    let first = first_part(3000);
    stdin.write_all(&first).unwrap();
    stdin.flush().unwrap();
    settle(&child, first.len());
    signal(&child, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still writing after the first signal"
    );
    signal(&child, libc::SIGINT);
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the second signal ends the run"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    drop(stdin);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn output_file_is_complete_or_absent_after_two_quick_signals() {
    let dir = temp_dir("twice-o");
    let mut child = spawn(&["flows", "-o", "flows.csv", "-"], &dir);
    let mut stdin = child.stdin.take().unwrap();
    let first = first_part(2000);
    stdin.write_all(&first).unwrap();
    stdin.flush().unwrap();
    settle(&child, first.len());
    signal(&child, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(5));
    signal(&child, libc::SIGINT);
    let (code, _out, _err) = wait(child, Some(stdin));
    assert_eq!(code, 130);
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    match left.as_slice() {
        [] => {}
        [only] if only == "flows.csv" => {
            let rows = csv::Reader::from_path(dir.join("flows.csv"))
                .unwrap()
                .records()
                .count();
            assert_eq!(rows, 2001, "a complete file: every connection read");
        }
        other => panic!("a partial or temporary file was left: {other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
