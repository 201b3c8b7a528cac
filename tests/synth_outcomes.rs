//! Cross-check against the benchmark's scripted generator (`bench/synth.rs`):
//! every connection follows a script chosen from the outcome table, so the
//! outcome counts, the wire variants our evidence names, and the RST count
//! must equal what the generator wrote — over thousands of connections with
//! IPv6, sequence wrap-around, DNS noise and a snap length.

#[path = "../bench/synth.rs"]
mod synth;

use std::collections::BTreeMap;

use rstscope::diagnose::Outcome;
use rstscope::pipeline;
use rstscope::track::TrackerConfig;
use rstscope::wire::Health;

fn run(seed: u64, snaplen: Option<u32>) {
    run_shape(seed, snaplen, false);
}

/// `random`: packets interleaved at random over 1 400 servers, with SACK
/// options, the benchmark's real-capture shape.
fn run_shape(seed: u64, snaplen: Option<u32>, random: bool) {
    let cfg = synth::Config {
        seed,
        snaplen,
        connections: Some(3000),
        concurrent: 300,
        max_response: 64 << 10,
        random_interleave: random,
        servers: if random { 1400 } else { 16 },
        sack: random,
        ..synth::Config::default()
    };
    let (summary, bytes) = synth::Generator::new(cfg, Vec::new())
        .run()
        .expect("generate");
    let path = std::env::temp_dir().join(format!(
        "rstscope-synth-{}-{seed}-{}-{random}.pcap",
        std::process::id(),
        snaplen.unwrap_or(0)
    ));
    std::fs::write(&path, &bytes).expect("write capture");

    let mut health = Health::default();
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let mut variants: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut rsts = 0u64;
    let result = pipeline::analyse_connections(
        &[path.to_string_lossy().into_owned()],
        &mut health,
        TrackerConfig::default(),
        &mut |_, f| {
            *outcomes.entry(f.outcome.name().to_string()).or_default() += 1;
            rsts += u64::from(f.rst_count.unwrap_or(0));
            let e = f.evidence.as_str();
            let v = match f.outcome {
                Outcome::PostHandshakeRst if e.starts_with("ACKed, then RST later") => {
                    Some("post-handshake-rst/acked-then-rst-burst")
                }
                Outcome::PostHandshakeRst if e.starts_with("RST instead of ACK") => {
                    Some("post-handshake-rst/rst-instead-of-ack")
                }
                Outcome::PostHandshakeRst if e.starts_with("SYN-ACK retransmissions") => {
                    Some("post-handshake-rst/synack-retransmits")
                }
                Outcome::HalfClosed
                    if e.contains("the server ACKed it") || e.contains("the server did not") =>
                {
                    Some("half-closed/server-in-close-wait")
                }
                Outcome::HalfClosed => Some("half-closed/client-in-close-wait"),
                Outcome::RstAfterHalfClose if e.contains("server kept writing") => {
                    Some("rst-after-half-close/client-closed-server-wrote")
                }
                Outcome::RstAfterHalfClose if e.contains("stale keep-alive") => {
                    Some("rst-after-half-close/stale-keepalive-reuse")
                }
                _ => None,
            };
            if let Some(v) = v {
                *variants.entry(v).or_default() += 1;
            }
        },
    );
    let _ = std::fs::remove_file(&path);
    result.expect("analyse");

    let want: BTreeMap<String, u64> = summary
        .outcomes
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (k.to_string(), *n))
        .collect();
    assert_eq!(outcomes, want, "outcomes (seed {seed})");
    assert_eq!(rsts, summary.rst_segments, "RST segments (seed {seed})");
    for v in [
        "post-handshake-rst/acked-then-rst-burst",
        "post-handshake-rst/rst-instead-of-ack",
        "post-handshake-rst/synack-retransmits",
        "half-closed/server-in-close-wait",
        "half-closed/client-in-close-wait",
        "rst-after-half-close/client-closed-server-wrote",
        "rst-after-half-close/stale-keepalive-reuse",
    ] {
        assert_eq!(
            variants.get(v).copied().unwrap_or(0),
            summary.variants.get(v).copied().unwrap_or(0),
            "variant {v} (seed {seed})"
        );
    }
    assert!(variants.values().sum::<u64>() > 0);
    assert_eq!(
        health.acked_unseen_segments, 0,
        "no capture loss in a generated file"
    );
}

#[test]
fn scripted_outcomes_and_variants_are_recognised() {
    run(1, None);
    run(7, Some(96));
}

#[test]
fn scripted_outcomes_hold_when_packets_are_interleaved_at_random() {
    run_shape(4, None, true);
    run_shape(3, Some(96), true);
}
