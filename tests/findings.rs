//! The findings and the suspicion of resets on captures whose story is known
//! from outside rstscope: the adversarial generator's own scenario (a spoofed
//! SYN flood: random sources, one SYN-ACK in 8, never an ACK), and every
//! fixture and corpus capture, whose RSTs all came from a kernel (fixtures:
//! Linux on loopback, fixtures/README.md; corpus: the projects' own test
//! captures of ordinary traffic, with no middlebox between the hosts).

#[path = "../bench/adversarial_gen.rs"]
mod adversarial_gen;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn rstscope(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .args(args)
        .output()
        .expect("run rstscope");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn spoofed_syn_flood_is_half_open_and_a_syn_flood_first() {
    let path = std::env::temp_dir().join(format!("rstscope-sf-{}.pcap", std::process::id()));
    let mut bytes = Vec::new();
    adversarial_gen::write_scenario("syn-flood", 4000, 7, &mut bytes)
        .expect("known scenario")
        .expect("in memory");
    std::fs::write(&path, &bytes).expect("write capture");
    let p = path.to_string_lossy().into_owned();
    let v = rstscope(&["report", "--format", "json", &p]);
    let _ = std::fs::remove_file(&path);
    // The generator answers one attempt in 8 with a SYN-ACK and none with
    // an ACK: those are half-open, never open.
    assert_eq!(v["outcomes"]["half-open"], 4000 / 8);
    assert_eq!(v["outcomes"]["open"], 0);
    let first = &v["findings"][0];
    assert_eq!(first["kind"], "syn-flood", "{first}");
    assert_eq!(first["server"], "192.0.2.10:443");
    assert_eq!(first["variants"]["half-open"], 4000 / 8);
    let kinds: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(!kinds.contains(&"unreachable"), "{kinds:?}");
    assert!(!kinds.contains(&"accept-queue-full"), "{kinds:?}");
}

fn captures_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        (name.ends_with(".pcap") || name.ends_with(".pcapng")) && !name.starts_with("bad-")
    });
    v.sort();
    v
}

/// Captures whose RSTs were crafted, not sent by a kernel, with why.
const CRAFTED: &[(&str, &str)] = &[
    (
        "middlebox-reset.pcap",
        "a router's iptables REJECT --reject-with tcp-reset forged every RST \
         (fixtures/README.md); they must be suspect, see the next test",
    ),
    (
        "sv__security-4710-01.pcap",
        "Suricata's RST-evasion test: the client sends RST, then its request \
         and FIN on the same connection; no kernel sends after its own RST",
    ),
    (
        "tcpdump__mptcp-tcprst.pcap",
        "tcpdump's MPTCP printer test: two hand-made RSTs 172 us apart (TTL \
         255, IP ID 0) with no other segment of any connection",
    ),
];

#[test]
fn no_kernel_rst_in_any_fixture_or_corpus_capture_is_suspect() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::env::var("RSTSCOPE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("../shared/corpus"));
    let mut files = captures_in(&root.join("fixtures"));
    files.extend(captures_in(&corpus));
    assert!(files.len() > 20, "{} captures", files.len());
    let mut rsts = 0;
    for f in &files {
        let p = f.to_string_lossy().into_owned();
        let out = Command::new(env!("CARGO_BIN_EXE_rstscope"))
            .args(["flows", "--quiet", "--format", "json", &p])
            .output()
            .expect("run rstscope");
        if out.status.code() != Some(0) {
            // Unreadable corpus files are tests/corpus.rs's business.
            continue;
        }
        let rows: Value = serde_json::from_slice(&out.stdout).expect("json");
        for r in rows.as_array().unwrap() {
            if r["rst_by"].is_null() {
                continue;
            }
            let name = f.file_name().unwrap_or_default().to_string_lossy();
            if CRAFTED.iter().any(|(n, _)| *n == name) {
                continue;
            }
            rsts += 1;
            assert!(
                r["rst_suspect"].is_null(),
                "{p}: {}:{} -> {}:{}: {}",
                r["client"],
                r["client_port"],
                r["server"],
                r["server_port"],
                r["rst_suspect"]
            );
        }
    }
    assert!(rsts > 50, "only {rsts} connections with a RST checked");
}

#[test]
fn every_middlebox_rst_is_suspect() {
    // The router's iptables rule counted 5 forged RSTs (fixtures/README.md,
    // middlebox-reset.log.json); each reached the client one hop nearer
    // than the server's own segments.
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/middlebox-reset.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .args(["flows", "--quiet", "--format", "json"])
        .arg(&p)
        .output()
        .expect("run rstscope");
    assert_eq!(out.status.code(), Some(0));
    let rows: Value = serde_json::from_slice(&out.stdout).expect("json");
    let reset: Vec<&Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["rst_by"].is_null())
        .collect();
    assert_eq!(reset.len(), 5, "forged RSTs");
    for r in reset {
        let why = r["rst_suspect"].as_str().unwrap_or_default();
        assert!(
            why.contains("TTL"),
            "{}:{}: {why:?}",
            r["client"],
            r["client_port"]
        );
    }
}

/// (kind, server, count, variants) of one finding.
type Expected = (
    &'static str,
    &'static str,
    u64,
    &'static [(&'static str, u64)],
);

/// What each fixture's programs did (fixtures/README.md, written from the
/// sockets' own view when they were made), as findings: kind, server,
/// count, variants, in rank order.
const FIXTURE_FINDINGS: &[(&str, &[Expected])] = &[
    (
        // Three queued requests reset at once when the listener closed; the
        // fourth client's SYN was dropped by the full queue, then refused.
        "post-handshake-rst.pcap",
        &[
            ("listener-closed", "127.0.0.1:21331", 3, &[("rst", 3)]),
            ("refused", "127.0.0.1:21331", 1, &[("refused", 1)]),
        ],
    ),
    (
        // tcp_abort_on_overflow=1: two connections reset by the overflow
        // (one answering data, one the handshake ACK), then four queued ones
        // reset when the listener closed.
        "post-handshake-rst-overflow.pcap",
        &[
            ("listener-closed", "127.0.0.1:21332", 4, &[("rst", 4)]),
            (
                "accept-queue-full",
                "127.0.0.1:21332",
                2,
                &[("reset-on-handshake-ack", 1), ("rst-instead-of-ack", 1)],
            ),
        ],
    ),
    (
        // A pool of ten closed at once: nine FIN, the one with unread data RST.
        "client-pool.pcap",
        &[(
            "client-shutdown",
            "127.0.0.1:21334",
            10,
            &[("fin", 9), ("rst", 1)],
        )],
    ),
    (
        // The server read the request and EOF and never answered or closed.
        "half-closed.pcap",
        &[(
            "close-wait-pileup",
            "127.0.0.1:21337",
            1,
            &[("request-unanswered", 1)],
        )],
    ),
    ("clean.pcap", &[]),
];

#[test]
fn fixture_findings_match_what_their_programs_did() {
    for (file, expected) in FIXTURE_FINDINGS {
        let p = format!("{}/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
        let v = rstscope(&["report", "--format", "json", &p]);
        let found = v["findings"].as_array().unwrap();
        let summary: Vec<String> = found
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} {}",
                    f["kind"], f["server"], f["count"], f["variants"]
                )
            })
            .collect();
        assert_eq!(found.len(), expected.len(), "{file}: {summary:#?}");
        for (f, (kind, server, count, variants)) in found.iter().zip(expected.iter()) {
            assert_eq!(f["kind"], *kind, "{file}: {summary:#?}");
            assert_eq!(f["server"], *server, "{file}");
            assert_eq!(f["count"], *count, "{file} {kind}");
            let vs = f["variants"].as_object().unwrap();
            let nonzero = vs.values().filter(|n| n.as_u64() != Some(0)).count();
            assert_eq!(nonzero, variants.len(), "{file} {kind}: {vs:?}");
            for (name, n) in *variants {
                assert_eq!(vs[*name], *n, "{file} {kind} {name}");
            }
            for key in ["start", "end", "peak_at"] {
                assert!(f["window"][key].as_str().unwrap().ends_with('Z'));
            }
        }
    }
}
