//! Every fixture connection against what **tshark** establishes on the same
//! file (`fixtures/facts.tsv`, written by `fixtures/tshark_facts.py`, which
//! `fixtures/regen.sh` runs after making the captures): packet and payload
//! counts per direction, handshake RTT, SYN retransmissions, RST count, time
//! and TTL delta, first and last timestamps, and one connection per tshark
//! `tcp.stream`. Checked through the built binary, `rstscope flows --format
//! json FILE`, run once per capture.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[path = "support/tsv.rs"]
mod tsv;

/// Which facts.tsv columns `bytes_c2s` / `bytes_s2c` are checked against:
/// resets.md defines `bytes_*` as unique sequence space covered (Zeek's
/// orig_bytes), tshark's `unique_*`, not the raw sum of tcp.len
/// (`payload_*`). (On today's fixtures the two columns are equal: no
/// payload was retransmitted; tests/synth_outcomes.rs covers resent data.)
const BYTES_COLUMNS: (&str, &str) = ("unique_c2s", "unique_s2c");

/// Captures where rstscope's number of connections may differ from the
/// number of tshark `tcp.stream`s, each with the reason. Empty: on every
/// fixture today one tshark stream is one rstscope connection (no port reuse,
/// see the notes at the top of facts.tsv). A file added here must say why,
/// e.g. "tshark keeps the reused port in one stream, rstscope starts a new
/// generation at the second SYN".
const COUNT_DIFFERENCES: &[(&str, &str)] = &[];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    root().join("fixtures")
}

/// Rows of a notes file in fixtures/, as column maps.
fn tsv(name: &str) -> Vec<BTreeMap<String, String>> {
    tsv::rows(&fixtures().join(name))
}

fn flows(file: &str) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .current_dir(root())
        .args(["flows", "--format", "json", &format!("fixtures/{file}")])
        .output()
        .expect("run rstscope");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{file}: rstscope flows: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    match serde_json::from_slice(&out.stdout) {
        Ok(Value::Array(rows)) => rows,
        other => panic!("{file}: flows --format json is not an array: {other:?}"),
    }
}

/// "1795267864.121345000" (tshark's frame.time_epoch) -> ns since the epoch.
fn epoch_ns(s: &str) -> i64 {
    let (sec, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = format!("{frac:0<9}");
    sec.parse::<i64>().unwrap() * 1_000_000_000 + frac[..9].parse::<i64>().unwrap()
}

/// Days from 1970-01-01 (Howard Hinnant's days_from_civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// "2026-11-21T13:31:09.644203Z" (rstscope's RFC 3339) -> µs since the epoch.
fn rfc3339_us(s: &str) -> i64 {
    let b = s.as_bytes();
    assert!(
        s.len() == 27 && b[4] == b'-' && b[10] == b'T' && b[19] == b'.' && b[26] == b'Z',
        "not RFC 3339 with µs: {s:?}"
    );
    let n = |a: usize, z: usize| s[a..z].parse::<i64>().unwrap();
    let days = days_from_civil(n(0, 4), n(5, 7), n(8, 10));
    let secs = days * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19);
    secs * 1_000_000 + n(20, 26)
}

/// rstscope's timestamp (µs, truncated) against tshark's epoch (ns).
fn same_instant(rfc: &Value, epoch: &str) -> bool {
    rfc.as_str()
        .is_some_and(|t| rfc3339_us(t) == epoch_ns(epoch).div_euclid(1000))
}

fn endpoint(addr: &Value, port: &Value) -> String {
    let a = addr.as_str().unwrap_or("?");
    if a.contains(':') {
        format!("[{a}]:{port}")
    } else {
        format!("{a}:{port}")
    }
}

fn num(row: &BTreeMap<String, String>, col: &str) -> i64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{}: column {col} = {:?}", row["file"], row[col]))
}

/// The facts of one tshark stream against the rstscope row; mismatches are
/// pushed as "FILE CLIENT -> SERVER (tcp.stream N): ..." lines.
fn check_connection(row: &BTreeMap<String, String>, f: &Value, failures: &mut Vec<String>) {
    let who = format!(
        "{} {} -> {} (tcp.stream {}, frames {}-{})",
        row["file"],
        row["client"],
        row["server"],
        row["tcp_stream"],
        row["first_frame"],
        row["last_frame"]
    );
    let mut fail = |what: String| failures.push(format!("{who}: {what}"));
    let mut int = |field: &str, want: Option<i64>, from: &str| {
        let got = f[field].as_i64();
        if got != want {
            let show = |x: Option<i64>| x.map_or("null".to_string(), |x| x.to_string());
            fail(format!(
                "{field} = {}, tshark {} ({from})",
                show(got),
                show(want)
            ));
        }
    };
    int(
        "packets_c2s",
        Some(num(row, "packets_c2s")),
        "frames from the client",
    );
    int(
        "packets_s2c",
        Some(num(row, "packets_s2c")),
        "frames from the server",
    );
    int(
        "bytes_c2s",
        Some(num(row, BYTES_COLUMNS.0)),
        BYTES_COLUMNS.0,
    );
    int(
        "bytes_s2c",
        Some(num(row, BYTES_COLUMNS.1)),
        BYTES_COLUMNS.1,
    );
    let syns = num(row, "syn_count");
    if syns > 0 {
        int("syn_retransmits", Some(syns - 1), "pure SYNs - 1");
    }
    // Reset facts are null when there was no RST (resets.md).
    let rsts = num(row, "rst_count");
    int(
        "rst_count",
        (rsts > 0).then_some(rsts),
        "frames with tcp.flags.reset",
    );
    let prev = &row["rst_sender_prev_ttl"];
    let ttl_delta = (rsts > 0 && !prev.is_empty())
        .then(|| num(row, "first_rst_ttl") - prev.parse::<i64>().unwrap());
    int(
        "rst_ttl_delta",
        ttl_delta,
        "ip.ttl of the first RST - of its sender's previous frame",
    );
    let by = f["rst_by"].as_str().unwrap_or("");
    if by != row["first_rst_by"] {
        fail(format!(
            "rst_by = {by:?}, tshark {:?} (sender of the first RST)",
            row["first_rst_by"]
        ));
    }

    let times = [
        ("first_time", "first_epoch"),
        ("last_time", "last_epoch"),
        ("rst_time", "first_rst_epoch"),
    ];
    for (field, col) in times {
        let ok = if row[col].is_empty() {
            f[field].is_null()
        } else {
            same_instant(&f[field], &row[col])
        };
        if !ok {
            fail(format!(
                "{field} = {}, tshark frame.time_epoch {:?} ({col})",
                f[field], row[col]
            ));
        }
    }

    // handshake_rtt: rstscope measures from the SYN that was answered (the
    // last one before the SYN-ACK) to the client's ACK of the SYN-ACK.
    // tshark's tcp.analysis.initial_rtt runs from the most recent pure SYN
    // to the first segment with ACK and without SYN, in either direction:
    // the same number when the handshake completed (post-handshake-rst.pcap
    // tcp.stream 3 retransmitted its SYN and never got a SYN-ACK), but tshark
    // also gives one for a SYN answered by RST-ACK (refused.pcap) and none
    // when the TCP header is cut (snap60.pcap). So: where the frames show a
    // completed handshake (column handshake_rtt) the expected value is
    // tshark's initial_rtt, or the frame-computed one when tshark has none;
    // elsewhere rstscope must give none.
    let hs = &row["handshake_rtt"];
    let irtt = &row["initial_rtt"];
    let want_ns = if hs.is_empty() {
        None
    } else if irtt.is_empty() {
        Some(epoch_ns(hs))
    } else {
        if (epoch_ns(hs) - epoch_ns(irtt)).abs() > 1000 {
            fail(format!(
                "facts.tsv: tshark initial_rtt {irtt} and the frames' handshake {hs} differ"
            ));
        }
        Some(epoch_ns(irtt))
    };
    let got_ns = f["handshake_rtt"]
        .as_f64()
        .map(|x| (x * 1e9).round() as i64);
    let ok = match (got_ns, want_ns) {
        (Some(g), Some(w)) => (g - w).abs() <= 1000,
        (None, None) => true,
        _ => false,
    };
    if !ok {
        fail(format!(
            "handshake_rtt = {}, tshark initial_rtt {irtt:?}, frames {hs:?}",
            f["handshake_rtt"]
        ));
    }
}

#[test]
fn every_connection_has_tsharks_facts() {
    let rows = tsv("facts.tsv");
    assert!(rows.len() >= 80, "facts.tsv lists the fixture connections");
    let mut by_file: BTreeMap<String, Vec<&BTreeMap<String, String>>> = BTreeMap::new();
    for r in &rows {
        by_file.entry(r["file"].clone()).or_default().push(r);
    }
    let mut failures = Vec::new();
    for (file, want) in &by_file {
        let got = flows(file);
        if got.len() != want.len() {
            match COUNT_DIFFERENCES.iter().find(|(f, _)| f == file) {
                Some((_, why)) => eprintln!(
                    "{file}: {} connections, tshark {} tcp.streams: allowed, {why}",
                    got.len(),
                    want.len()
                ),
                None => failures.push(format!(
                    "{file}: {} connections, tshark {} tcp.streams",
                    got.len(),
                    want.len()
                )),
            }
        }
        for row in want {
            // Match by endpoints; when a (client, server) pair repeats (port
            // reuse) pick the connection that starts at the stream's first
            // frame (rstscope's JSON has first_time, not the frame number).
            let same_pair: Vec<&Value> = got
                .iter()
                .filter(|f| {
                    endpoint(&f["client"], &f["client_port"]) == row["client"]
                        && endpoint(&f["server"], &f["server_port"]) == row["server"]
                })
                .collect();
            let found: Vec<&Value> = if same_pair.len() > 1 {
                same_pair
                    .into_iter()
                    .filter(|f| same_instant(&f["first_time"], &row["first_epoch"]))
                    .collect()
            } else {
                same_pair
            };
            match found.as_slice() {
                [f] => check_connection(row, f, &mut failures),
                [] => failures.push(format!(
                    "{file} {} -> {} (tcp.stream {}): no such connection in rstscope's output",
                    row["client"], row["server"], row["tcp_stream"]
                )),
                more => failures.push(format!(
                    "{file} {} -> {} (tcp.stream {}): {} connections match",
                    row["client"],
                    row["server"],
                    row["tcp_stream"],
                    more.len()
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreement(s) with tshark:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_outcome_fixture_has_facts() {
    let rows = tsv("facts.tsv");
    let listed: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["file"].as_str()).collect();
    let mut missing = Vec::new();
    for e in std::fs::read_dir(fixtures()).expect("fixtures/") {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".expect.json") else {
            continue;
        };
        let caps: Vec<String> = ["pcap", "pcapng"]
            .iter()
            .map(|x| format!("{stem}.{x}"))
            .filter(|c| fixtures().join(c).exists())
            .collect();
        if caps.is_empty() {
            missing.push(format!("{name}: no capture {stem}.pcap or {stem}.pcapng"));
        }
        for c in caps {
            // tshark counts each `-i any` copy of a forwarded packet (and,
            // behind a NAT, each connection twice); the same traffic on one
            // interface (forwarded-one.pcap, nat-one.pcap) has the facts,
            // and tests/encap.rs holds each pair of captures equal.
            if c == "forwarded-any.pcap" || c == "nat-any.pcap" {
                continue;
            }
            if !listed.contains(c.as_str()) {
                missing.push(format!("{c}: no rows in facts.tsv"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn manifest_and_facts_name_existing_captures() {
    let mut missing = Vec::new();
    for table in ["manifest.tsv", "facts.tsv"] {
        let rows = tsv(table);
        assert!(!rows.is_empty(), "{table}: no rows");
        for r in rows {
            let file = &r["file"];
            if !fixtures().join(file).is_file() {
                missing.push(format!("{table}: fixtures/{file} does not exist"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
