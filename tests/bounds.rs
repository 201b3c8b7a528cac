//! Issue 9, bounds: memory and work that must not grow with what the clock
//! or the input fails to bound (constant timestamps, RST floods, port
//! scans, a reader that went away). The `#[ignore]`d tests measure the
//! child's peak RSS or CPU time with GNU time (`/usr/bin/time`) and fail,
//! not skip, without it: `cargo test --test bounds -- --ignored`.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use support::bin::{
    capture_block, cpu_seconds, field, flows, peak_rss_kib, run_ok, str_field, text, u64_field,
    TempCapture, BIN,
};
use support::captures;

#[test]
fn constant_timestamps_still_expire_ended_connections() {
    let cap = TempCapture::new("constant-ts", &captures::constant_timestamps(20_000));
    let rows = flows(&cap, &[]);
    assert_eq!(rows.len(), 20_000);
    for r in &rows {
        assert_eq!(str_field(r, "outcome"), "clean", "{r:#}");
    }
    let c = capture_block(&cap, &[]);
    let peak = u64_field(&c, "peak_open_connections");
    assert!(
        peak <= 12_000,
        "{peak} connections open at once: ended ones must expire by packet count when time stands still"
    );
}

#[test]
#[ignore = "memory: 400 000 connections, needs /usr/bin/time"]
fn constant_timestamps_memory() {
    let cap = TempCapture::new("constant-ts-400k", &captures::constant_timestamps(400_000));
    let kib = peak_rss_kib(&["flows", "--format", "ndjson", cap.arg()]);
    assert!(
        kib < 64 * 1024,
        "peak RSS {} MiB on 400 000 connections with one timestamp",
        kib / 1024
    );
}

#[test]
fn hundred_thousand_rsts_cap_history() {
    let cap = TempCapture::new("rst-flood", &captures::many_rsts(100_000));
    let rows = flows(&cap, &[]);
    assert_eq!(rows.len(), 1, "{} rows", rows.len());
    let r = &rows[0];
    assert_eq!(u64_field(r, "rst_count"), 100_000, "{r:#}");
    let history = str_field(r, "history");
    assert!(
        history.len() <= 100,
        "history of {} letters: {}...",
        history.len(),
        &history[..history.len().min(120)]
    );
    assert!(history.starts_with("ShA"), "{history}");
}

#[test]
fn port_scan_report_fits_on_a_few_screens() {
    let cap = TempCapture::new("scan-2k", &captures::port_scan(2_000));
    let rows = flows(&cap, &[]);
    assert_eq!(rows.len(), 2_000);
    let report = text("report", &cap);
    let lines = report.lines().count();
    assert!(
        lines <= 200,
        "report of {lines} lines for 2 000 refused targets:\n{}",
        report.lines().take(60).collect::<Vec<_>>().join("\n")
    );
}

/// The JSON and the page are written while they are made, the page
/// keeping only the servers it shows: the same bytes as the page drawn
/// from the whole JSON value, for a scan with more servers and findings
/// than either keeps at once.
#[test]
fn port_scan_page_is_the_page_of_its_whole_json() {
    let cap = TempCapture::new("scan-page", &captures::port_scan(2_000));
    let json = run_ok(&["report", "--format", "json", cap.arg()]);
    let doc: serde_json::Value = serde_json::from_slice(&json).expect("report JSON");
    assert_eq!(doc["servers"].as_array().map(Vec::len), Some(2_000));
    let findings = doc["findings"].as_array().map_or(0, Vec::len);
    assert!(findings >= 2, "{findings} findings");
    let page = String::from_utf8(run_ok(&["report", "--format", "html", cap.arg()])).unwrap();
    assert!(page.contains("data-more-servers=\"1960\""));
    assert!(
        page == rstscope::output::html::render(&doc),
        "the page written in parts differs from the page of the whole JSON"
    );
}

/// Every command holds the tracker's connections (20 000 open at once
/// here); the report adds 40 bytes a target for the findings and the
/// servers table, and its JSON and HTML are written while they are made
/// (no document of 200 000 rows). Measured with `cargo test --release
/// --test bounds -- --ignored port_scan --nocapture` on 2 shared cores:
/// report 89-92 MB, report --format json 87-91 MB, --format html 88-89
/// MB, flows 73-75 MB (1.17x-1.26x); the JSON and HTML took 670 MB when
/// built whole.
#[test]
#[ignore = "memory: 200 000 targets, needs /usr/bin/time"]
fn port_scan_report_memory() {
    let cap = TempCapture::new("scan-200k", &captures::port_scan(200_000));
    let flows = peak_rss_kib(&["flows", cap.arg()]);
    let mut too_big = Vec::new();
    for format in ["text", "json", "html"] {
        let report = peak_rss_kib(&["report", "--format", format, cap.arg()]);
        eprintln!(
            "peak RSS: report --format {format} {report} KiB, flows {flows} KiB ({:.2}x)",
            report as f64 / flows as f64
        );
        if report * 2 > flows * 3 {
            too_big.push(format!("{format}: {report} KiB"));
        }
    }
    assert!(
        too_big.is_empty(),
        "report peak RSS over 1.5x flows' {flows} KiB: {too_big:?}: the report must not keep every connection, nor a value per server"
    );
}

/// A server with a few connections costs the report at most 200 bytes
/// beyond what `flows` needs: its key and slot in the table (40 bytes)
/// and its tally in 8-bit counts out of line (88 bytes, a 96-byte chunk),
/// plus its share of the table's slack and the names its finding keeps.
/// Measured with `cargo test --release --test bounds -- --ignored
/// repeated_port_scan --nocapture` on 2 shared cores: report 106-108 MB
/// in every format, flows 77 MB: 151-158 bytes a target (266 with a whole
/// 200-byte tally a server: report 129 MB).
#[test]
#[ignore = "memory: 200 000 targets refused 2 or 3 times, needs /usr/bin/time"]
fn repeated_port_scan_report_memory() {
    const TARGETS: u64 = 200_000;
    let cap = TempCapture::new("rescan-200k", &captures::repeated_port_scan(TARGETS as u32));
    let flows = peak_rss_kib(&["flows", cap.arg()]);
    let mut too_big = Vec::new();
    for format in ["text", "json", "html"] {
        let report = peak_rss_kib(&["report", "--format", format, cap.arg()]);
        let per_server = report.saturating_sub(flows) * 1024 / TARGETS;
        eprintln!(
            "peak RSS: report --format {format} {report} KiB, flows {flows} KiB: {per_server} bytes a target"
        );
        if per_server > 200 {
            too_big.push(format!("{format}: {per_server} bytes a target"));
        }
    }
    assert!(too_big.is_empty(), "{too_big:?}");
}

/// 200 000 short clean connections, 1.4 million packets.
fn many_short_connections() -> TempCapture {
    TempCapture::new("short-200k", &captures::short_clean_connections(200_000))
}

#[test]
fn flows_into_head_stops_early() {
    let cap = many_short_connections();
    let mut child = Command::new(BIN)
        .args(["flows", "--format", "ndjson", cap.arg()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rstscope");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The BufReader (and the pipe) is dropped here: the reader went away.
    let row: serde_json::Value = serde_json::from_str(&first).expect("one NDJSON row");
    assert_eq!(field(&row, "outcome"), "clean");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status}: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");

    // The same through a shell pipeline, as a user types it.
    let dir = std::env::temp_dir();
    let err = dir.join(format!("rstscope-head-err-{}", std::process::id()));
    let rc = dir.join(format!("rstscope-head-rc-{}", std::process::id()));
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"{ "$BIN" flows "$1" 2>"$2"; echo $? >"$3"; } | head -1"#)
        .arg("sh")
        .arg(cap.arg())
        .arg(&err)
        .arg(&rc)
        .env("BIN", BIN)
        .output()
        .expect("run sh");
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    let code = std::fs::read_to_string(&rc).unwrap_or_default();
    let _ = std::fs::remove_file(&err);
    let _ = std::fs::remove_file(&rc);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert_eq!(code.trim(), "0", "rstscope flows | head -1: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// The whole run is the same command with a filter no connection passes
/// (`--outcome refused`): it reads and tracks the whole capture and writes
/// nothing. Comparing with a run that writes every row would not do: in a
/// debug build formatting the rows is most of the work, so a binary that
/// stops writing at the closed pipe but reads on to the end would pass.
#[test]
#[ignore = "CPU time of two runs, needs /usr/bin/time"]
fn flows_into_head_uses_less_cpu_than_the_whole_run() {
    let cap = many_short_connections();
    let args = format!(
        "flows --format ndjson --max-connections 1000000 '{}'",
        cap.arg()
    );
    let whole = cpu_seconds(&format!(
        "$TIME_CMD \"$BIN\" {args} --outcome refused >/dev/null"
    ));
    let head = cpu_seconds(&format!("$TIME_CMD \"$BIN\" {args} | head -1 >/dev/null"));
    assert!(
        head < whole * 0.5,
        "| head -1 took {head:.2} s of CPU, reading the whole capture {whole:.2} s: it did not stop at the closed pipe"
    );
}
