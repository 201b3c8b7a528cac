//! The interface of `../shared/spec/interface.md` through the built binary:
//! exit statuses, every output format parsed back with the field names of
//! the spec, the `check` gate, filters, rotated captures and closed pipes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde::Deserialize;

fn rstscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("run rstscope")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const INCIDENT: &str = "fixtures/incident.pcap";

/// One connection with every field of resets.md, and nothing else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FlowRow {
    client: String,
    client_port: u16,
    server: String,
    server_port: u16,
    first_time: String,
    last_time: String,
    duration: f64,
    packets_c2s: u64,
    packets_s2c: u64,
    bytes_c2s: u64,
    bytes_s2c: u64,
    retransmits_c2s: u32,
    retransmits_s2c: u32,
    response_time: Option<f64>,
    handshake_seen: bool,
    handshake_rtt: Option<f64>,
    syn_retransmits: u32,
    synack_retransmits: u32,
    fin_by: String,
    roles_inferred: bool,
    end_reason: String,
    outcome: String,
    zeek_state: String,
    history: String,
    #[serde(deserialize_with = "frames")]
    frames: [u64; 2],
    tcp_stream: u64,
    community_id: String,
    rst_by: Option<String>,
    rst_count: Option<u32>,
    rst_time: Option<String>,
    rst_after_handshake: Option<f64>,
    rst_reply_to: Option<String>,
    rst_latency: Option<f64>,
    idle_before_rst: Option<f64>,
    rst_in_window: Option<bool>,
    rst_ttl_delta: Option<i32>,
    rst_suspect: Option<String>,
    evidence: String,
    tunnel: String,
}

/// `frames`: `[first, last]` in JSON, `"first-last"` in CSV.
fn frames<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[u64; 2], D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Frames {
        Array([u64; 2]),
        Text(String),
    }
    match Frames::deserialize(d)? {
        Frames::Array(a) => Ok(a),
        Frames::Text(t) => t
            .split_once('-')
            .and_then(|(a, b)| Some([a.parse().ok()?, b.parse().ok()?]))
            .ok_or_else(|| serde::de::Error::custom(format!("frames {t:?} is not F-L"))),
    }
}

fn outcome_counts<'a>(rows: impl Iterator<Item = &'a FlowRow>) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for r in rows {
        *m.entry(r.outcome.clone()).or_insert(0) += 1;
    }
    m
}

/// The demo capture's outcomes, from what its sockets did (fixtures/incident.expect.json).
fn incident_expected() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/incident.expect.json"),
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    serde_json::from_value(v["outcomes"].clone()).unwrap()
}

#[test]
fn flows_json_and_ndjson_have_exactly_the_spec_fields() {
    let out = rstscope(&["flows", "--format", "json", INCIDENT]);
    assert_eq!(out.status.code(), Some(0));
    let rows: Vec<FlowRow> =
        serde_json::from_slice(&out.stdout).expect("JSON array of the spec's fields");
    assert_eq!(outcome_counts(rows.iter()), incident_expected());

    let out = rstscope(&["flows", "--format", "ndjson", INCIDENT]);
    let nd: Vec<FlowRow> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one connection per line"))
        .collect();
    assert_eq!(nd.len(), rows.len());
    let abort = nd.iter().find(|r| r.outcome == "client-abort").unwrap();
    assert_eq!(abort.rst_by.as_deref(), Some("client"));
    assert!(abort.rst_time.as_deref().unwrap().ends_with('Z'));
    // JSON and CSV carry the same keys: tcp.stream numbers are 0..n in
    // order of each connection's first frame.
    let mut streams: Vec<(u64, u64)> = rows.iter().map(|r| (r.frames[0], r.tcp_stream)).collect();
    streams.sort_unstable();
    let got: Vec<u64> = streams.iter().map(|s| s.1).collect();
    assert_eq!(got, (0..rows.len() as u64).collect::<Vec<_>>());
}

#[test]
fn flows_csv_reads_back_with_the_spec_header() {
    let out = rstscope(&["flows", INCIDENT]);
    assert_eq!(out.status.code(), Some(0));
    let mut r = csv::Reader::from_reader(&out.stdout[..]);
    let header = r.headers().unwrap().clone();
    assert_eq!(&header[0], "client");
    assert_eq!(&header[37], "evidence");
    assert_eq!(&header[38], "tunnel");
    // The spec's fields, then the two times as epoch seconds.
    assert_eq!(header.len(), 41);
    assert_eq!((&header[39], &header[40]), ("first_ts", "rst_ts"));
    let spec: csv::StringRecord = header.iter().take(39).collect();
    let rows: Vec<FlowRow> = r
        .records()
        .map(|x| {
            let rec: csv::StringRecord = x.expect("row").iter().take(39).collect();
            rec.deserialize(Some(&spec)).expect("the spec's fields")
        })
        .collect();
    assert_eq!(outcome_counts(rows.iter()), incident_expected());
    for row in &rows {
        // UTC with microseconds, as spreadsheets read dates: 2026-11-21 13:31:24.676893
        assert_eq!(row.first_time.len(), 26, "{}", row.first_time);
        assert_eq!(&row.first_time[10..11], " ");
        assert!(row.duration >= 0.0);
        assert!(
            row.rst_count.is_some(),
            "rst_count is a number in every row"
        );
        assert!(row.frames[0] >= 1 && row.frames[0] <= row.frames[1]);
        assert!(row.community_id.starts_with("1:") && row.community_id.len() == 30);
    }
}

#[test]
fn report_json_has_health_outcomes_and_servers() {
    let out = rstscope(&["report", "--format", "json", INCIDENT]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["capture"]["packets_read"], 153);
    assert_eq!(v["capture"]["skipped"]["non-tcp"], 0);
    assert_eq!(v["outcomes"]["post-handshake-rst"], 5);
    assert_eq!(v["outcomes"]["unanswered"], 0);
    let servers = v["servers"].as_array().unwrap();
    let s2133 = servers
        .iter()
        .find(|s| s["server"] == "127.0.0.1:2133")
        .unwrap();
    assert_eq!(s2133["outcomes"]["post-handshake-rst"], 5);
    assert_eq!(v["version"], 1);
    // diagnosis.md's findings: kind, server, count, window and variants on
    // every one, client on client-shutdown.
    let findings = v["findings"].as_array().unwrap();
    for f in findings {
        for key in ["kind", "server", "count", "window", "variants"] {
            assert!(!f[key].is_null(), "{key} missing in {f}");
        }
        assert!(f["window"]["start"].as_str().unwrap().ends_with('Z'));
        assert!(!f["window"]["end"].is_null());
    }
    let listener = findings
        .iter()
        .find(|f| f["kind"] == "listener-closed")
        .unwrap();
    assert_eq!(listener["server"], "127.0.0.1:2133");
    assert_eq!(listener["count"], 5);
    let shutdown = findings
        .iter()
        .find(|f| f["kind"] == "client-shutdown")
        .unwrap();
    assert_eq!(shutdown["client"], "127.0.0.1");
    assert_eq!(shutdown["variants"]["rst"], 1);
    assert!(shutdown["examples"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["timeline"].as_array().unwrap().len() >= 3));
    assert!(v["timeseries"]["bucket_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn same_input_same_bytes_out() {
    for args in [
        vec!["report", INCIDENT],
        vec!["report", "--format", "json", INCIDENT],
        vec!["flows", INCIDENT],
        vec!["timeline", INCIDENT],
    ] {
        assert_eq!(rstscope(&args).stdout, rstscope(&args).stdout, "{args:?}");
    }
}

#[test]
fn check_passes_on_every_fixture_expectation() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut checked = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let Some(base) = name.strip_suffix(".expect.json") else {
            continue;
        };
        let capture = ["pcap", "pcapng"]
            .iter()
            .map(|ext| format!("fixtures/{base}.{ext}"))
            .find(|p| dir.join("..").join(p).exists())
            .unwrap();
        let expect = format!("fixtures/{name}");
        let mut args = vec!["check", "--quiet", "--expect", &expect, &capture];
        // The one fixture cut mid-record (tcpdump killed) is partial: it
        // fails the gate unless accepted.
        if base == "cut" {
            let out = rstscope(&args);
            assert_eq!(out.status.code(), Some(1), "{capture}:\n{}", stdout(&out));
            assert!(stdout(&out).contains("ends mid-record at byte"));
            args.push("--allow-partial");
        }
        let out = rstscope(&args);
        assert_eq!(out.status.code(), Some(0), "{capture}:\n{}", stdout(&out));
        checked += 1;
    }
    assert!(checked >= 20);
}

#[test]
fn bless_then_check_passes_and_an_edit_fails_readably() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bless");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("incident.json");
    let f = file.to_str().unwrap();
    let out = rstscope(&["check", "--bless", "--expect", f, INCIDENT]);
    assert_eq!(out.status.code(), Some(0));
    let blessed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(blessed["outcomes"]["post-handshake-rst"], 5);
    assert_eq!(
        rstscope(&["check", "--expect", f, INCIDENT]).status.code(),
        Some(0)
    );

    // The team's expectation says the pool's reset came from the server.
    let edited = std::fs::read_to_string(&file)
        .unwrap()
        .replace("\"client-abort\": 1", "\"server-abort\": 1")
        .replacen(
            "\"outcome\": \"client-abort\"",
            "\"outcome\": \"server-abort\"",
            1,
        );
    std::fs::write(&file, edited).unwrap();
    let out = rstscope(&["check", "--expect", f, INCIDENT]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("server-abort                  1        0  <- differs"),
        "{text}"
    );
    assert!(
        text.contains("client-abort                  0        1  <- differs"),
        "{text}"
    );
    assert!(
        text.contains("expected server-abort, rst_by client, found client-abort, rst_by client"),
        "{text}"
    );
    assert!(
        text.contains("C>S [R.]"),
        "timeline of the differing connection: {text}"
    );
    let last = text.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with(&format!(
            "check FAILED: {INCIDENT} against {f} (match exact)"
        )),
        "{last}"
    );
}

#[test]
fn fail_on_exits_1_only_when_the_outcome_occurs() {
    let out = rstscope(&["check", "--fail-on", "post-handshake-rst", INCIDENT]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("--fail-on post-handshake-rst: 5 connections"));
    let out = rstscope(&["check", "--fail-on", "server-abort,unanswered", INCIDENT]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["check", INCIDENT],
        vec!["check", "--fail-on", "nonsense", INCIDENT],
        vec!["check", "--expect", "fixtures/manifest.tsv", INCIDENT],
        vec!["flows", "--format", "xml", INCIDENT],
        vec!["report", "--outcome", "reset", INCIDENT],
        vec!["report", "--server", "not-an-address", INCIDENT],
    ] {
        let out = rstscope(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn filters_select_connections() {
    let count = |args: &[&str]| -> usize {
        let mut a = vec!["flows", "--format", "ndjson"];
        a.extend_from_slice(args);
        a.push(INCIDENT);
        stdout(&rstscope(&a)).lines().count()
    };
    assert_eq!(count(&[]), 22);
    assert_eq!(count(&["--server", "127.0.0.1:2134"]), 10);
    assert_eq!(count(&["--server", "127.0.0.1"]), 22);
    assert_eq!(count(&["--port", "2133"]), 5);
    assert_eq!(count(&["--outcome", "client-abort,half-closed"]), 2);
    assert_eq!(
        count(&["--server", "127.0.0.1:2134", "--outcome", "clean"]),
        9
    );

    let out = rstscope(&[
        "timeline",
        "--outcome",
        "post-handshake-rst",
        "--limit",
        "2",
        INCIDENT,
    ]);
    assert_eq!(stdout(&out).matches("post-handshake-rst").count(), 2);
}

#[test]
fn rotated_files_give_the_connections_of_the_whole() {
    let whole = rstscope(&["flows", INCIDENT]);
    let parts = rstscope(&[
        "flows",
        "fixtures/rotated/incident-1.pcap",
        "fixtures/rotated/incident-2.pcap",
    ]);
    assert_eq!(parts.status.code(), Some(0));
    assert_eq!(stdout(&parts), stdout(&whole));
}

#[test]
fn standard_input_gives_the_same_flows() {
    let bytes = std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(INCIDENT)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .args(["flows", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &bytes));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(stdout(&out), stdout(&rstscope(&["flows", INCIDENT])));
}

#[test]
fn closed_pipe_ends_quietly_with_status_0() {
    // Enough connections that the output overflows the pipe after it closed.
    let files: Vec<&str> = std::iter::repeat_n("fixtures/client-pool.pcap", 60).collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("flows")
        .args(&files)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader (`head`) went away
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The first record's time of a little-endian microsecond pcap, read from
/// the file itself: seconds and microseconds since the epoch.
fn first_record_time(path: &str) -> (i64, u32) {
    let bytes = std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    assert_eq!(
        &bytes[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "{path}: not a LE usec pcap"
    );
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    (i64::from(word(24)), word(28))
}

/// The report's time axis starts where the capture does: at its first
/// segment, not at a bucket boundary before it (these captures' first
/// reset, refusal or shutdown comes well after their first SYN).
#[test]
fn the_time_axis_starts_at_the_first_packet() {
    for path in [
        "fixtures/client-pool-shutdown.pcap",
        "fixtures/client-abort.pcap",
        "fixtures/refused.pcap",
        "fixtures/server-abort.pcap",
        "fixtures/middlebox-reset.pcap",
    ] {
        let (secs, usecs) = first_record_time(path);
        let (day_s, usecs) = (secs.rem_euclid(86_400), usecs);
        let hms = format!(
            "{:02}:{:02}:{:02}.{:03}",
            day_s / 3600,
            day_s / 60 % 60,
            day_s % 60,
            usecs / 1000
        );
        let json: serde_json::Value =
            serde_json::from_slice(&rstscope(&["report", "--format", "json", path]).stdout)
                .unwrap();
        let start = json["timeseries"]["start"].as_str().unwrap();
        assert!(
            start.ends_with(&format!("{hms}{:03}Z", usecs % 1000)),
            "{path}: timeseries.start {start}, first packet at {hms}"
        );
        let text = stdout(&rstscope(&["report", path]));
        let chart = text
            .lines()
            .find(|l| l.contains(" |") && l.contains(" UTC"))
            .unwrap_or_else(|| panic!("{path}: no chart line in\n{text}"));
        assert!(
            chart.trim_start().starts_with(&format!("{hms} |")),
            "{path}: chart starts at {chart:?}, first packet at {hms}"
        );
    }
}
