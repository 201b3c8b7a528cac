//! The incident fixtures of issue 10 (`fixtures/regen_incidents.sh`: real Go
//! servers and Python clients in network namespaces): `rstscope report
//! --format json` must name the findings that the programs' own logs and the
//! kernel's counters justify, written in `fixtures/NAME.findings.json` in the
//! JSON shape of `shared/spec/diagnosis.md` (never from rstscope's output).
//!
//! For each expected finding: a finding of that `kind` for that `server`
//! exists; its `count` equals `count` (or lies in `count_min`..`count_max`);
//! each listed variant has exactly that count and no other variant is
//! non-zero; `client` matches when given; its window starts within
//! `window_tolerance_s` of the expected start and ends between the expected
//! start and the expected end plus the tolerance; with `"rank": 1` it is the
//! report's first finding.
//!
//! The shape of the expectation files themselves is checked too.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    root().join("fixtures")
}

/// (NAME, expectation) of every fixtures/NAME.findings.json.
fn expectations() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    for p in names {
        let Some(stem) = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".findings.json"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&p).unwrap();
        let doc: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", p.display()));
        out.push((stem.to_string(), doc));
    }
    out
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

/// "2026-11-21T13:31:09.644203Z" -> µs since the epoch.
fn rfc3339_us(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if !(s.len() == 27 && b[4] == b'-' && b[10] == b'T' && b[19] == b'.' && b[26] == b'Z') {
        return None;
    }
    let n = |a: usize, z: usize| s[a..z].parse::<i64>().ok();
    let days = days_from_civil(n(0, 4)?, n(5, 7)?, n(8, 10)?);
    let secs = days * 86_400 + n(11, 13)? * 3600 + n(14, 16)? * 60 + n(17, 19)?;
    Some(secs * 1_000_000 + n(20, 26)?)
}

fn time_of(v: &Value, what: &str) -> i64 {
    v.as_str()
        .and_then(rfc3339_us)
        .unwrap_or_else(|| panic!("{what}: not RFC 3339 UTC with µs: {v}"))
}

fn report_json(name: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .current_dir(root())
        .args([
            "report",
            "--format",
            "json",
            &format!("fixtures/{name}.pcap"),
        ])
        .output()
        .expect("run rstscope");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name}: rstscope report: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{name}: report --format json is not JSON: {e}"))
}

/// What differs between one expected finding and the report's findings.
fn check_finding(name: &str, want: &Value, found: &[Value], failures: &mut Vec<String>) {
    let kind = want["kind"].as_str().unwrap();
    let server = want["server"].as_str().unwrap();
    let who = format!("{name}: {kind} on {server}");
    let listed: Vec<String> = found
        .iter()
        .map(|f| format!("{} on {}", f["kind"], f["server"]))
        .collect();
    let Some(pos) = found
        .iter()
        .position(|f| f["kind"] == want["kind"] && f["server"] == want["server"])
    else {
        failures.push(format!("{who}: no such finding (report has {listed:?})"));
        return;
    };
    let f = &found[pos];
    let mut fail = |what: String| failures.push(format!("{who}: {what}"));

    if want.get("rank").and_then(Value::as_u64) == Some(1) && pos != 0 {
        fail(format!("ranked {} of {listed:?}, expected first", pos + 1));
    }
    let count = f["count"].as_u64();
    if let Some(c) = want.get("count").and_then(Value::as_u64) {
        if count != Some(c) {
            fail(format!("count {:?}, the logs say {c}", count));
        }
    } else {
        let lo = want["count_min"].as_u64().unwrap_or(0);
        let hi = want["count_max"].as_u64().unwrap_or(u64::MAX);
        if !count.is_some_and(|c| (lo..=hi).contains(&c)) {
            fail(format!("count {count:?}, the logs bound it to {lo}..={hi}"));
        }
    }
    if let Some(c) = want.get("client") {
        if &f["client"] != c {
            fail(format!("client {}, expected {c}", f["client"]));
        }
    }
    let wv = want["variants"].as_object().unwrap();
    let empty = serde_json::Map::new();
    let fv = f["variants"].as_object().unwrap_or(&empty);
    for (k, v) in wv {
        let got = fv.get(k).and_then(Value::as_u64).unwrap_or(0);
        if Some(got) != v.as_u64() {
            fail(format!("variant {k}: {got}, the logs say {v}"));
        }
    }
    for (k, v) in fv {
        if !wv.contains_key(k) && v.as_u64().unwrap_or(0) != 0 {
            fail(format!("variant {k}: {v}, not in the expectation"));
        }
    }
    let tol = (want["window_tolerance_s"].as_f64().unwrap_or(0.0) * 1e6) as i64;
    let (ws, we) = (
        time_of(&want["window"]["start"], "expected start"),
        time_of(&want["window"]["end"], "expected end"),
    );
    let (Some(fs), Some(fe)) = (
        f["window"]["start"].as_str().and_then(rfc3339_us),
        f["window"]["end"].as_str().and_then(rfc3339_us),
    ) else {
        fail(format!("window {} is not two RFC 3339 times", f["window"]));
        return;
    };
    if (fs - ws).abs() > tol {
        fail(format!(
            "window starts {} s from the logs' start {} (tolerance {} s)",
            (fs - ws) as f64 / 1e6,
            want["window"]["start"],
            tol as f64 / 1e6
        ));
    }
    if fe < ws - tol || fe > we + tol || fe < fs {
        fail(format!(
            "window ends at {}, the logs say between {} and {} (+{} s)",
            f["window"]["end"],
            want["window"]["start"],
            want["window"]["end"],
            tol as f64 / 1e6
        ));
    }
}

fn check_fixture(name: &str) {
    let exp = expectations()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("fixtures/{name}.findings.json missing"))
        .1;
    let report = report_json(name);
    let found = report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: report has no findings array"));
    let mut failures = Vec::new();
    for want in exp["findings"].as_array().unwrap() {
        check_finding(name, want, found, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const FIXTURES: &[&str] = &[
    "accept-queue-full",
    "accept-queue-full-abort",
    "close-wait-restart",
    "client-pool-shutdown",
    "listener-closed",
    "stale-keepalive",
    "middlebox-reset",
];

#[test]
fn every_findings_file_is_well_formed_and_tested() {
    let exps = expectations();
    let names: Vec<&str> = exps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), FIXTURES.len(), "findings files {names:?}");
    for (name, doc) in &exps {
        assert!(
            FIXTURES.contains(&name.as_str()),
            "{name}: add it to FIXTURES"
        );
        assert!(
            fixtures().join(format!("{name}.pcap")).is_file(),
            "{name}.findings.json: no {name}.pcap"
        );
        assert!(
            doc["source"].is_object(),
            "{name}: source says how each number was derived"
        );
        let findings = doc["findings"].as_array().expect("findings array");
        assert!(!findings.is_empty(), "{name}: no findings");
        for f in findings {
            for key in ["kind", "server"] {
                assert!(f[key].is_string(), "{name}: {key} in {f}");
            }
            assert!(
                f["count"].is_u64() || f["count_min"].is_u64() || f["count_max"].is_u64(),
                "{name}: count (or count_min/count_max) in {f}"
            );
            let variants = f["variants"].as_object().expect("variants object");
            assert!(variants.values().all(Value::is_u64), "{name}: {f}");
            if let Some(c) = f["count"].as_u64() {
                let sum: u64 = variants.values().filter_map(Value::as_u64).sum();
                assert_eq!(sum, c, "{name}: variants add up to the count");
            }
            let s = time_of(&f["window"]["start"], name);
            let e = time_of(&f["window"]["end"], name);
            assert!(s <= e, "{name}: window start after end");
            assert!(f["window_tolerance_s"].as_f64().is_some(), "{name}");
            if f["kind"] == "client-shutdown" {
                assert!(
                    f["client"].is_string(),
                    "{name}: client-shutdown needs client"
                );
            }
        }
    }
}

macro_rules! finding_tests {
    ($($test:ident => $name:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            check_fixture($name);
        }
    )*};
}

finding_tests! {
    accept_queue_full => "accept-queue-full",
    accept_queue_full_abort => "accept-queue-full-abort",
    close_wait_restart => "close-wait-restart",
    client_pool_shutdown => "client-pool-shutdown",
    listener_closed => "listener-closed",
    stale_keepalive => "stale-keepalive",
    middlebox_reset => "middlebox-reset",
}
