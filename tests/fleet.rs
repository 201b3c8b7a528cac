//! Many hosts at once (`--each`), through the built binary: every row
//! carries its capture, each capture's rows are what that capture alone
//! gives, the output is the same on every run (the captures are analysed in
//! parallel), the report has a section per capture and one across them, and
//! the README's DuckDB recipe ranks servers by resets across the fleet as
//! tshark's facts for the same files do.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

/// Fixture captures standing for one host each.
const HOSTS: [&str; 5] = [
    "fixtures/incident.pcap",
    "fixtures/refused.pcap",
    "fixtures/client-abort.pcap",
    "fixtures/post-handshake-rst.pcap",
    "fixtures/clean.pcap",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rstscope(args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run rstscope");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// tshark's streams per file, with whether each had a RST: (file, server) -> (streams, with RST).
fn tshark() -> BTreeMap<(String, String), (u64, u64)> {
    let text = std::fs::read_to_string(root().join("fixtures/facts.tsv")).unwrap();
    let mut rows = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = rows.next().unwrap().split('\t').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (f, s, r) = (col("file"), col("server"), col("rst_count"));
    let mut m: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for row in rows.map(|l| l.split('\t').collect::<Vec<_>>()) {
        let e = m
            .entry((format!("fixtures/{}", row[f]), row[s].to_string()))
            .or_default();
        e.0 += 1;
        if row[r].parse::<u64>().unwrap_or(0) > 0 {
            e.1 += 1;
        }
    }
    m
}

#[test]
fn each_row_carries_its_capture_and_equals_that_capture_alone() {
    let mut args = vec!["flows", "--each", "--format", "ndjson"];
    args.extend(HOSTS);
    let each = rstscope(&args);
    assert_eq!(
        rstscope(&args).stdout,
        each.stdout,
        "deterministic across runs"
    );
    let rows = lines(&each);
    let facts = tshark();
    for host in HOSTS {
        let mine: Vec<serde_json::Value> = rows
            .iter()
            .filter(|r| r["capture"] == host)
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("capture");
                r
            })
            .collect();
        let alone = lines(&rstscope(&["flows", "--format", "ndjson", host]));
        assert_eq!(mine, alone, "{host}: the rows of that capture alone");
        let streams: u64 = facts
            .iter()
            .filter(|((f, _), _)| f == host)
            .map(|(_, (n, _))| n)
            .sum();
        assert_eq!(
            mine.len() as u64,
            streams,
            "{host}: one row per tshark tcp.stream"
        );
    }
    // Rows come capture by capture, in the order given.
    let order: Vec<&str> = rows
        .iter()
        .map(|r| r["capture"].as_str().unwrap())
        .collect();
    let mut grouped = order.clone();
    grouped.dedup();
    assert_eq!(grouped, HOSTS);

    // CSV: `capture` is the first column.
    let mut args = vec!["flows", "--each"];
    args.extend(HOSTS);
    let csv = rstscope(&args);
    let mut r = csv::Reader::from_reader(csv.stdout.as_slice());
    assert_eq!(&r.headers().unwrap()[0], "capture");
    assert_eq!(r.records().count(), rows.len());
    // Without --each there is no capture field.
    let plain = lines(&rstscope(&["flows", "--format", "ndjson", HOSTS[0]]));
    assert!(plain[0].get("capture").is_none());
}

#[test]
fn the_report_has_a_section_per_capture_and_one_across_them() {
    let mut args = vec!["report", "--each", "--format", "json"];
    args.extend(HOSTS);
    let v: serde_json::Value = serde_json::from_slice(&rstscope(&args).stdout).unwrap();
    let captures = v["captures"].as_array().unwrap();
    assert_eq!(captures.len(), HOSTS.len());
    let facts = tshark();
    let mut total = 0;
    for (c, host) in captures.iter().zip(HOSTS) {
        assert_eq!(c["file"], host);
        assert_eq!(
            c["capture"]["files"][0]["file"], host,
            "its own capture block"
        );
        let streams: u64 = facts
            .iter()
            .filter(|((f, _), _)| f == host)
            .map(|(_, (n, _))| n)
            .sum();
        let outcomes: u64 = c["outcomes"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(outcomes, streams, "{host}");
        for f in c["findings"].as_array().unwrap() {
            assert_eq!(f["capture"], host, "each finding carries its capture");
            for e in f["examples"].as_array().unwrap() {
                assert_eq!(e["capture"], host, "each example carries its capture");
            }
        }
        total += streams;
    }
    assert_eq!(v["across"]["captures"], HOSTS.len());
    let across: u64 = v["across"]["outcomes"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(across, total);

    let mut args = vec!["report", "--each"];
    args.extend(HOSTS);
    let text = String::from_utf8(rstscope(&args).stdout).unwrap();
    for host in HOSTS {
        assert!(text.contains(&format!("=== {host} ===")), "{host}");
    }
    assert!(text.contains("=== across 5 captures ==="));
}

/// The README's recipe, in DuckDB's Python API (the same SQL as its CLI).
const RECIPE: &str = "SELECT CASE WHEN contains(server, ':') THEN '[' || server || ']' \
     ELSE server END || ':' || server_port AS server, \
     count(*) FILTER (WHERE rst_by IS NOT NULL) AS resets, \
     count(DISTINCT capture) AS hosts \
     FROM read_json_auto(?) GROUP BY ALL ORDER BY resets DESC, server";

#[test]
fn duckdb_ranks_servers_by_resets_across_the_fleet() {
    let have = Command::new("python3")
        .args(["-c", "import duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        println!("NOTE: DuckDB (python3 -m pip install duckdb) is not installed: the README recipe was not run");
        return;
    }
    let file = std::env::temp_dir().join(format!("rstscope-fleet-{}.ndjson", std::process::id()));
    let f = file.to_str().unwrap();
    let mut args = vec!["flows", "--each", "--format", "ndjson", "-o", f];
    args.extend(HOSTS);
    rstscope(&args);
    let script = format!(
        "import duckdb, sys\nfor row in duckdb.execute(\"{RECIPE}\", [sys.argv[1]]).fetchall():\n    print(*row, sep='\\t')\n"
    );
    let out = Command::new("python3")
        .args(["-c", &script, f])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<(String, u64)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (c[0].to_string(), c[1].parse().unwrap())
        })
        .collect();
    // tshark: connections with a RST, per server, over the same files.
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for ((file, server), (_, with_rst)) in tshark() {
        if HOSTS.contains(&file.as_str()) {
            *want.entry(server).or_default() += with_rst;
        }
    }
    let mut want: Vec<(String, u64)> = want.into_iter().collect();
    want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    assert_eq!(got, want, "servers ranked by resets");
    let _ = std::fs::remove_file(file);
}
