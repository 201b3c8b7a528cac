//! adversarial: writes hostile captures for robustness runs (issue 6), as a
//! stream, so a multi-million-attempt SYN flood needs no memory.
//!
//! ```text
//! cargo run --release --example adversarial -- syn-flood --count 5M --out bench/data/syn-flood-5m.pcap
//! cargo run --release --example adversarial -- all --count 10K --out bench/data/adversarial
//! /usr/bin/time -v target/release/rstscope report bench/data/syn-flood-5m.pcap
//! ```
//!
//! `all` writes every scenario as `DIR/SCENARIO.pcap` (`.pcapng` for the
//! lying block lengths). What was written goes to standard error as
//! `key=value` lines.

#[path = "adversarial_gen.rs"]
mod adversarial_gen;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "adversarial",
    about = "Write hostile captures: syn-flood, rst-storm, tuple-reuse, bad-header-lengths, ipv6-ext-chains, time-backwards, pcapng-lying-lengths, or all",
    after_help = "Counts take K/M (decimal): 5M = 5 000 000. --count is SYN-flood attempts, RSTs, \
reuses of the tuple, packets, or pcapng sections, by scenario."
)]
struct Args {
    /// Scenario name, or `all` (then --out is a directory)
    scenario: String,
    /// File to write (a directory for `all`)
    #[arg(long, value_name = "PATH")]
    out: String,
    /// Units of work (attempts, RSTs, reuses, packets, sections)
    #[arg(long, value_name = "N", value_parser = parse_count, default_value = "10K")]
    count: u64,
    /// Seed of the generator
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn parse_count(s: &str) -> Result<u64, String> {
    let (digits, mult) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1_000),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1_000_000),
        _ => (s, 1),
    };
    digits
        .parse::<u64>()
        .map(|n| n.saturating_mul(mult))
        .map_err(|e| format!("{s}: {e}"))
}

fn write_one(scenario: &str, path: &Path, count: u64, seed: u64) -> Result<(), String> {
    let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let written = adversarial_gen::write_scenario(scenario, count, seed, &mut w)
        .ok_or_else(|| format!("unknown scenario {scenario}"))?
        .and_then(|w2| w.flush().map(|()| w2))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!(
        "scenario={scenario} file={} packets={} attempts={} bytes={}",
        path.display(),
        written.packets,
        written.attempts,
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = if args.scenario == "all" {
        let dir = Path::new(&args.out);
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))
            .and_then(|()| {
                adversarial_gen::SCENARIOS.iter().try_for_each(|s| {
                    let ext = if *s == "pcapng-lying-lengths" {
                        "pcapng"
                    } else {
                        "pcap"
                    };
                    write_one(s, &dir.join(format!("{s}.{ext}")), args.count, args.seed)
                })
            })
    } else {
        write_one(&args.scenario, Path::new(&args.out), args.count, args.seed)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("adversarial: {e}");
            ExitCode::from(2)
        }
    }
}
