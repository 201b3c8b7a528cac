//! `conn_state`, `history` and `missed_bytes` against Zeek's own expected
//! conn.log files, on Zeek's test traces.
//!
//! Ignored by default; run with `--ignored` when `ZEEK_TRACES` names a directory of Zeek's
//! `testing/btest/Traces` (`tests/zeek/extract.sh DIR`); the traces are
//! Zeek's and not in this repository. `tests/zeek_baseline.tsv` (from
//! `tests/zeek/baseline.py`) holds Zeek's records. Zeek's btest masks `ts`,
//! so a Zeek record and an rstscope row are the same connection when they
//! have the same tuple, the same rank among the trace's records on that
//! tuple (both tools then split the tuple into as many connections) and the
//! same packet count (both saw the same packets in it).
//!
//! Each trace is read twice: by rstscope's own rules, which split some
//! tuples differently from Zeek (those records are not compared), and with
//! `--zeek-split`, which splits where Zeek does.
//!
//! ```sh
//! tests/zeek/extract.sh /tmp/zeek-traces
//! ZEEK_TRACES=/tmp/zeek-traces cargo test --release --test zeek_traces -- --ignored --nocapture
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Records compared that must agree on conn_state, history and orientation:
/// the figures of docs/zeek-users.md, so a regression fails. By rstscope's
/// own rules, and with `--zeek-split`.
const MIN_MATCHED: usize = 174;
const MIN_MATCHED_ZEEK_SPLIT: usize = 197;

/// Records whose history holds an `X` (an analyzer hit one of its limits)
/// set by an application analyzer, which rstscope does not have: compared
/// with that `X` taken out of Zeek's history, and counted apart. Nothing
/// else about them is relaxed.
const APPLICATION_LIMITS: [(&str, &str); 1] = [(
    "ftp/fake-long-commands.pcap",
    "FTP analyzer: a command longer than FTP::max_command_length",
)];

#[derive(Clone, Debug)]
struct Rec {
    orig: (String, String),
    resp: (String, String),
    state: String,
    history: String,
    missed: String,
    pkts: u64,
}

impl Rec {
    fn key(&self) -> (String, String, String, String) {
        let (a, b) = if self.orig <= self.resp {
            (&self.orig, &self.resp)
        } else {
            (&self.resp, &self.orig)
        };
        (a.0.clone(), a.1.clone(), b.0.clone(), b.1.clone())
    }
    fn show(&self) -> String {
        format!(
            "{}:{} > {}:{} {} {} missed={} pkts={}",
            self.orig.0,
            self.orig.1,
            self.resp.0,
            self.resp.1,
            self.state,
            self.history,
            self.missed,
            self.pkts
        )
    }
}

fn zeek_records() -> BTreeMap<String, Vec<Rec>> {
    let tsv = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zeek_baseline.tsv"),
    )
    .expect("tests/zeek_baseline.tsv");
    let mut lines = tsv.lines().filter(|l| !l.starts_with('#'));
    let head: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |n: &str| head.iter().position(|h| *h == n).expect(n);
    let (tr, oh, op, rh, rp) = (
        col("trace"),
        col("id.orig_h"),
        col("id.orig_p"),
        col("id.resp_h"),
        col("id.resp_p"),
    );
    let (st, hi, mi, opk, rpk) = (
        col("conn_state"),
        col("history"),
        col("missed_bytes"),
        col("orig_pkts"),
        col("resp_pkts"),
    );
    let mut by_trace: BTreeMap<String, Vec<Rec>> = BTreeMap::new();
    for l in lines {
        let c: Vec<&str> = l.split('\t').collect();
        let n = |i: usize| c[i].parse::<u64>().unwrap_or(0);
        by_trace.entry(c[tr].to_string()).or_default().push(Rec {
            orig: (c[oh].to_string(), c[op].to_string()),
            resp: (c[rh].to_string(), c[rp].to_string()),
            state: c[st].to_string(),
            history: c[hi].to_string(),
            missed: c[mi].to_string(),
            pkts: n(opk) + n(rpk),
        });
    }
    by_trace
}

/// rstscope's conn.log rows for one trace, in start order; `None` when it
/// cannot read the trace.
fn rstscope_records(trace: &Path, extra: &[&str]) -> Option<Vec<Rec>> {
    let out = Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .args(["flows", "--format", "zeek", "--quiet"])
        .args(extra)
        .arg(trace)
        .output()
        .expect("run rstscope");
    if out.status.code() != Some(0) {
        return None;
    }
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut fields: Vec<&str> = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            fields = f.split('\t').collect();
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let c: Vec<&str> = line.split('\t').collect();
        let get = |n: &str| c[fields.iter().position(|f| *f == n).expect(n)].to_string();
        let n = |v: String| v.parse::<u64>().unwrap_or(0);
        let hist = get("history");
        rows.push((
            get("ts").parse::<f64>().unwrap_or(0.0),
            Rec {
                orig: (get("id.orig_h"), get("id.orig_p")),
                resp: (get("id.resp_h"), get("id.resp_p")),
                state: get("conn_state"),
                history: if hist == "-" { String::new() } else { hist },
                missed: get("missed_bytes"),
                pkts: n(get("orig_pkts")) + n(get("resp_pkts")),
            },
        ));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    Some(rows.into_iter().map(|(_, r)| r).collect())
}

#[derive(Default)]
struct Score {
    traces: usize,
    unreadable: Vec<String>,
    zeek: usize,
    unseen: usize,
    split: usize,
    other_packets: usize,
    compared: usize,
    matched: usize,
    missed_compared: usize,
    missed_matched: usize,
    /// Compared without an application analyzer's `X` (see
    /// [`APPLICATION_LIMITS`]).
    without_analyzer_x: usize,
    diffs: Vec<String>,
}

fn score(dir: &Path, extra: &[&str]) -> Score {
    let mut s = Score::default();
    for (trace, zrecs) in zeek_records() {
        s.traces += 1;
        s.zeek += zrecs.len();
        let Some(ours) = rstscope_records(&dir.join(&trace), extra) else {
            s.unreadable.push(trace.clone());
            s.unseen += zrecs.len();
            continue;
        };
        let mut zk: BTreeMap<_, Vec<&Rec>> = BTreeMap::new();
        for r in &zrecs {
            zk.entry(r.key()).or_default().push(r);
        }
        let mut ok: BTreeMap<_, Vec<&Rec>> = BTreeMap::new();
        for r in &ours {
            ok.entry(r.key()).or_default().push(r);
        }
        for (key, zs) in zk {
            let os = ok.get(&key).cloned().unwrap_or_default();
            if os.is_empty() {
                s.unseen += zs.len();
                continue;
            }
            if os.len() != zs.len() {
                s.split += zs.len();
                s.diffs.push(format!(
                    "{trace}: split differently: zeek {} records, rstscope {}",
                    zs.len(),
                    os.len()
                ));
                continue;
            }
            for (z, o) in zs.iter().zip(os.iter()) {
                if z.pkts != o.pkts {
                    s.other_packets += 1;
                    s.diffs.push(format!(
                        "{trace}: other packets\n    zeek     {}\n    rstscope {}",
                        z.show(),
                        o.show()
                    ));
                    continue;
                }
                s.compared += 1;
                let mut history = z.history.clone();
                if z.history.contains('X') && APPLICATION_LIMITS.iter().any(|(t, _)| *t == trace) {
                    history.retain(|c| c != 'X');
                    s.without_analyzer_x += 1;
                }
                let same = z.orig == o.orig && z.state == o.state && history == o.history;
                if same {
                    s.matched += 1;
                }
                let missed_ok = z.missed == "-" || z.missed == o.missed;
                if z.missed != "-" {
                    s.missed_compared += 1;
                    s.missed_matched += usize::from(z.missed == o.missed);
                }
                if !same || !missed_ok {
                    s.diffs.push(format!(
                        "{trace}:\n    zeek     {}\n    rstscope {}",
                        z.show(),
                        o.show()
                    ));
                }
            }
        }
    }
    s
}

fn report(what: &str, s: &Score) {
    for d in &s.diffs {
        println!("{d}");
    }
    println!(
        "{what}: {} traces, {} Zeek TCP records: {} not seen by rstscope, {} on tuples split \
         differently, {} with other packets; {} compared, {} match conn_state, history and \
         direction ({:.1}% of those compared, {:.1}% of all; {} compared without an \
         application analyzer's X); missed_bytes {}/{}",
        s.traces,
        s.zeek,
        s.unseen,
        s.split,
        s.other_packets,
        s.compared,
        s.matched,
        100.0 * s.matched as f64 / s.compared.max(1) as f64,
        100.0 * s.matched as f64 / s.zeek.max(1) as f64,
        s.without_analyzer_x,
        s.missed_matched,
        s.missed_compared
    );
    if !s.unreadable.is_empty() {
        println!("unreadable or missing: {}", s.unreadable.join(" "));
    }
}

#[test]
#[ignore = "needs Zeek's traces: ZEEK_TRACES=DIR from tests/zeek/extract.sh"]
fn conn_state_and_history_match_zeeks_baselines() {
    let dir =
        std::env::var_os("ZEEK_TRACES").expect("ZEEK_TRACES: run tests/zeek/extract.sh DIR first");
    let extra: Vec<String> = std::env::var("ZEEK_FLOWS_ARGS")
        .map(|a| a.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let own = score(Path::new(&dir), &extra);
    report("rstscope's rules", &own);
    let mut split_args = extra.clone();
    split_args.push("--zeek-split");
    let split = score(Path::new(&dir), &split_args);
    report("--zeek-split", &split);
    assert!(
        own.matched >= MIN_MATCHED,
        "{} < {MIN_MATCHED}",
        own.matched
    );
    assert_eq!(
        split.split, 0,
        "--zeek-split splits every tuple as Zeek does"
    );
    assert!(
        split.matched >= MIN_MATCHED_ZEEK_SPLIT,
        "--zeek-split: {} < {MIN_MATCHED_ZEEK_SPLIT}",
        split.matched
    );
}
