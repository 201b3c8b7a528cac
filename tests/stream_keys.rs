//! The keys that lead back to the packets, against **tshark** on the same
//! files: every connection's `tcp_stream`, `frames` and `community_id`, and
//! the frame number of every RST (read from the timelines, whose lines carry
//! frame numbers), on every fixture (`fixtures/facts.tsv`) and every corpus
//! capture (`tests/corpus_facts.tsv`, the corpus files staying in
//! `../shared/corpus`). Both notes files are written by
//! `fixtures/tshark_facts.py` (columns in `fixtures/README.md`).
//!
//! rstscope may split one tshark stream into several connections (it ends a
//! connection after its grace or timeout, tshark never does): those
//! connections carry the same `tcp_stream`, and together they cover the
//! stream's frames exactly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rstscope::pipeline::analyse_connections;
use rstscope::track::TrackerConfig;
use rstscope::wire::Health;

#[path = "support/tsv.rs"]
mod notes;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn corpus_dir() -> PathBuf {
    std::env::var("RSTSCOPE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("../shared/corpus"))
}

/// Rows of a notes file (lines starting with '#' are notes).
fn tsv(path: &Path) -> Vec<BTreeMap<String, String>> {
    notes::rows(path)
}

/// What rstscope says of one connection.
struct Conn {
    tcp_stream: u64,
    frames: [u64; 2],
    community_id: String,
    rst_frames: Vec<u64>,
    rst_count: u32,
}

fn analyse(path: &Path) -> Vec<Conn> {
    let mut health = Health::default();
    let mut out = Vec::new();
    let name = path.to_string_lossy().into_owned();
    let result = analyse_connections(
        std::slice::from_ref(&name),
        &mut health,
        TrackerConfig::default(),
        &mut |conn, flow| {
            out.push(Conn {
                tcp_stream: flow.tcp_stream,
                frames: flow.frames,
                community_id: flow.community_id.clone(),
                rst_frames: conn
                    .timeline_entries()
                    .iter()
                    .filter(|e| e.flags().rst())
                    .map(|e| e.frame())
                    .collect(),
                rst_count: conn.rst_count(),
            });
        },
    );
    // The corpus has one file corrupt part-way: what precedes it counts.
    if let Err(e) = result {
        assert!(
            name.contains("corrupt"),
            "{name}: {e} (only the corrupt corpus file may fail)"
        );
    }
    out
}

/// Checks every capture named in `rows`, found in `dir`; returns failures.
fn check(rows: &[BTreeMap<String, String>], dir: &Path) -> (Vec<String>, usize) {
    let mut by_file: BTreeMap<&str, Vec<&BTreeMap<String, String>>> = BTreeMap::new();
    for r in rows {
        by_file.entry(r["file"].as_str()).or_default().push(r);
    }
    let mut failures = Vec::new();
    let mut rsts = 0;
    for (file, streams) in by_file {
        let path = dir.join(file);
        assert!(path.exists(), "{} missing", path.display());
        let conns = analyse(&path);
        let mut mine: BTreeMap<u64, Vec<&Conn>> = BTreeMap::new();
        for c in &conns {
            mine.entry(c.tcp_stream).or_default().push(c);
            if c.rst_frames.len() != c.rst_count as usize {
                failures.push(format!(
                    "{file} tcp.stream {}: {} RSTs, {} kept in the timeline",
                    c.tcp_stream,
                    c.rst_count,
                    c.rst_frames.len()
                ));
            }
        }
        for r in &streams {
            let n: u64 = r["tcp_stream"].parse().expect("tcp_stream");
            let want_rst: Vec<u64> = r["rst_frames"]
                .split(',')
                .filter(|x| !x.is_empty())
                .map(|x| x.parse().expect("frame"))
                .collect();
            rsts += want_rst.len();
            let Some(cs) = mine.remove(&n) else {
                failures.push(format!(
                    "{file}: tshark's tcp.stream {n} ({} -> {}) is no connection's tcp_stream",
                    r["client"], r["server"]
                ));
                continue;
            };
            let first = cs.iter().map(|c| c.frames[0]).min().unwrap_or(0);
            let last = cs.iter().map(|c| c.frames[1]).max().unwrap_or(0);
            let want = (r["first_frame"].as_str(), r["last_frame"].as_str());
            if (first.to_string().as_str(), last.to_string().as_str()) != want {
                failures.push(format!(
                    "{file} tcp.stream {n}: frames {first}-{last}, tshark {}-{}",
                    want.0, want.1
                ));
            }
            let mut got_rst: Vec<u64> = cs.iter().flat_map(|c| c.rst_frames.clone()).collect();
            got_rst.sort_unstable();
            if got_rst != want_rst {
                failures.push(format!(
                    "{file} tcp.stream {n}: RST frames {got_rst:?}, tshark {want_rst:?}"
                ));
            }
            for c in &cs {
                if c.community_id != r["community_id"] {
                    failures.push(format!(
                        "{file} tcp.stream {n}: community_id {}, tshark {}",
                        c.community_id, r["community_id"]
                    ));
                }
            }
        }
        for (n, cs) in mine {
            failures.push(format!(
                "{file}: {} connection(s) with tcp_stream {n}, which tshark does not have (frames {:?})",
                cs.len(),
                cs.iter().map(|c| c.frames).collect::<Vec<_>>()
            ));
        }
    }
    (failures, rsts)
}

#[test]
fn fixtures_have_tsharks_streams_frames_and_community_ids() {
    let rows = tsv(&root().join("fixtures/facts.tsv"));
    assert!(rows.len() >= 80, "facts.tsv has {} rows", rows.len());
    let (failures, rsts) = check(&rows, &root().join("fixtures"));
    // Every RST tshark counted was checked: the sum of facts.tsv's
    // rst_count column.
    let want: usize = rows
        .iter()
        .map(|r| r["rst_count"].parse::<usize>().unwrap_or(0))
        .sum();
    assert!(want >= 25, "facts.tsv counts {want} RSTs");
    assert_eq!(rsts, want, "RST frames checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn corpus_has_tsharks_streams_frames_and_community_ids() {
    let rows = tsv(&root().join("tests/corpus_facts.tsv"));
    assert!(
        rows.len() >= 100,
        "corpus_facts.tsv has {} rows",
        rows.len()
    );
    let (failures, rsts) = check(&rows, &corpus_dir());
    // Sum of corpus_facts.tsv's rst_count column.
    assert_eq!(rsts, 65, "RST frames checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
