//! Every fixture captured from the real kernel: each connection's outcome and
//! rst_by equal what the sockets did (`fixtures/*.expect.json`, written by the
//! script that drove them), outcome counts match exactly, and the RSTs we
//! count equal tshark's (`fixtures/manifest.tsv`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rstscope::diagnose::{classify, Flow};
use rstscope::pipeline;
use rstscope::track::{Tracker, TrackerConfig};
use rstscope::wire::Health;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn analyse(path: &Path) -> Vec<Flow> {
    let mut health = Health::default();
    let mut tracker = Tracker::new(TrackerConfig::default());
    let mut flows = Vec::new();
    let inputs = vec![path.to_string_lossy().into_owned()];
    pipeline::read_segments(&inputs, &mut health, &mut |seg| {
        tracker.push(seg, &mut |c| flows.push(classify(&c)));
    })
    .expect("fixture reads");
    tracker.finish(&mut |c| flows.push(classify(&c)));
    flows
}

/// (capture, expectation) pairs present in fixtures/.
fn cases() -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir(fixtures()) else {
        return out;
    };
    let mut names: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    for p in names {
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".expect.json") else {
            continue;
        };
        for ext in ["pcap", "pcapng"] {
            let cap = fixtures().join(format!("{stem}.{ext}"));
            if cap.exists() {
                out.push((cap, p.clone()));
            }
        }
    }
    out
}

fn manifest_rsts() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(fixtures().join("manifest.tsv")).unwrap_or_default();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let file_col = header.iter().position(|h| *h == "file");
    let rst_col = header.iter().position(|h| *h == "rst_segments");
    let (Some(fc), Some(rc)) = (file_col, rst_col) else {
        return BTreeMap::new();
    };
    lines
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Some((cols.get(fc)?.to_string(), cols.get(rc)?.parse().ok()?))
        })
        .collect()
}

#[test]
fn every_fixture_connection_has_its_expected_outcome() {
    let cases = cases();
    assert!(!cases.is_empty(), "no fixtures found");
    let mut failures = Vec::new();
    for (cap, expect) in &cases {
        let flows = analyse(cap);
        let exp: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(expect).expect("read expect"))
                .expect("expect is json");
        let name = cap.file_name().and_then(|n| n.to_str()).unwrap_or("?");

        // Outcome counts: exact, unlisted outcomes zero.
        let mut got: BTreeMap<String, u64> = BTreeMap::new();
        for f in &flows {
            *got.entry(f.outcome.name().to_string()).or_default() += 1;
        }
        let mut want: BTreeMap<String, u64> = BTreeMap::new();
        if let Some(o) = exp["outcomes"].as_object() {
            for (k, v) in o {
                if v.as_u64().unwrap_or(0) > 0 {
                    want.insert(k.clone(), v.as_u64().unwrap_or(0));
                }
            }
        }
        if got != want {
            failures.push(format!("{name}: outcomes {got:?}, expected {want:?}"));
        }

        for c in exp["connections"].as_array().into_iter().flatten() {
            let client = c["client"].as_str().unwrap_or("");
            let server = c["server"].as_str().unwrap_or("");
            let found: Vec<&Flow> = flows
                .iter()
                .filter(|f| f.client_endpoint() == client && f.server_endpoint() == server)
                .collect();
            let Some(f) = found.first() else {
                failures.push(format!("{name}: no connection {client} -> {server}"));
                continue;
            };
            if let Some(o) = c["outcome"].as_str() {
                if f.outcome.name() != o {
                    failures.push(format!(
                        "{name}: {client} -> {server}: outcome {} expected {o} ({})",
                        f.outcome, f.evidence
                    ));
                }
            }
            if let Some(by) = c.get("rst_by").and_then(|v| v.as_str()) {
                let got = f.rst_by.map(|s| s.name()).unwrap_or("");
                if got != by {
                    failures.push(format!(
                        "{name}: {client} -> {server}: rst_by {got:?} expected {by}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rst_count_matches_tshark() {
    let manifest = manifest_rsts();
    assert!(!manifest.is_empty(), "manifest.tsv missing");
    let mut failures = Vec::new();
    for (file, want) in &manifest {
        let path = fixtures().join(file);
        if !path.exists() || file.starts_with("bad-") {
            continue;
        }
        let flows = analyse(&path);
        let got: u64 = flows
            .iter()
            .map(|f| u64::from(f.rst_count.unwrap_or(0)))
            .sum();
        if got != *want {
            failures.push(format!("{file}: {got} RSTs counted, tshark {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
