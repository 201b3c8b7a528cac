//! gencap: writes a large, realistic, deterministic TCP capture for the
//! benchmark (`bench/run.sh`). Same arguments, same bytes, on any machine.
//!
//! ```text
//! cargo run --release --example gencap -- --out bench/data/full-1g.pcap --size 1G
//! cargo run --release --example gencap -- --out h.pcap --packets 10M --snaplen 96
//! cargo run --release --example gencap -- --out c.pcap --connections 2M --concurrent 100000 --snaplen 96
//! ```
//!
//! The summary (packets, connections, outcome of every connection) goes to
//! standard error as `key=value` lines, and to `--summary FILE` if asked.

#[path = "synth.rs"]
mod synth;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use synth::{Config, Generator};

#[derive(Debug, Parser)]
#[command(
    name = "gencap",
    about = "Write a deterministic synthetic TCP capture (pcap, Ethernet, microseconds)",
    after_help = "Sizes take K/M/G (binary: 1G = 2^30 bytes); counts take K/M (decimal: 10M = 10 000 000).\n\
Once --size, --packets or --connections is reached no new connection starts and the \
ones in flight finish, so the file ends slightly past the budget and every connection \
has the outcome it was scripted for."
)]
struct Args {
    /// Capture to write
    #[arg(long, value_name = "FILE")]
    out: String,
    /// Stop starting connections once the file reaches this size (e.g. 1G)
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    size: Option<u64>,
    /// Stop starting connections once the file holds this many packets (e.g. 10M)
    #[arg(long, value_name = "N", value_parser = parse_count)]
    packets: Option<u64>,
    /// Start at most this many connections (e.g. 2M)
    #[arg(long, value_name = "N", value_parser = parse_count)]
    connections: Option<u64>,
    /// Connections open at once
    #[arg(long, value_name = "N", value_parser = parse_count, default_value = "1000")]
    concurrent: u64,
    /// Seed of the generator
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Cut records to this many bytes (headers only, like `tcpdump -s 96`)
    #[arg(long, value_name = "BYTES")]
    snaplen: Option<u32>,
    /// Most request/response exchanges per connection
    #[arg(long, value_name = "N", default_value_t = 3)]
    exchanges: u64,
    /// Largest response body
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "1M")]
    max_response: u64,
    /// Share of connections over IPv6
    #[arg(long, value_name = "FRACTION", default_value_t = 0.12)]
    ipv6_share: f64,
    /// Server endpoints (address and port)
    #[arg(long, value_name = "N", default_value_t = 16)]
    servers: usize,
    /// Packet order: `time` (each connection's script in time, flights in
    /// runs) or `random` (each packet from a random connection that is due)
    #[arg(long, value_name = "ORDER", default_value = "time", value_parser = ["time", "random"])]
    interleave: String,
    /// Client ACKs carry a SACK option too
    #[arg(long)]
    sack: bool,
    /// Also write the summary to FILE
    #[arg(long, value_name = "FILE")]
    summary: Option<String>,
}

fn parse_with(s: &str, unit: u64) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => unit,
                'M' => unit * unit,
                'G' => unit * unit * unit,
                _ => return Err(format!("unknown suffix in {s:?}: use K, M or G")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: f64 = num.parse().map_err(|_| format!("not a number: {s:?}"))?;
    if n < 0.0 {
        return Err(format!("negative: {s:?}"));
    }
    Ok((n * mult as f64).round() as u64)
}

fn parse_size(s: &str) -> Result<u64, String> {
    parse_with(s, 1024)
}

fn parse_count(s: &str) -> Result<u64, String> {
    parse_with(s, 1000)
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.size.is_none() && args.packets.is_none() && args.connections.is_none() {
        eprintln!("gencap: give --size, --packets or --connections");
        return ExitCode::from(2);
    }
    if let Some(s) = args.snaplen {
        if s < 64 {
            eprintln!("gencap: --snaplen must be at least 64 (Ethernet + IP + TCP headers)");
            return ExitCode::from(2);
        }
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gencap: {}: {e}", args.out);
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> io::Result<()> {
    let cfg = Config {
        seed: args.seed,
        snaplen: args.snaplen,
        concurrent: args.concurrent,
        connections: args.connections,
        max_bytes: args.size,
        max_packets: args.packets,
        exchanges: args.exchanges,
        max_response: args.max_response,
        ipv6_share: args.ipv6_share,
        servers: args.servers,
        random_interleave: args.interleave == "random",
        sack: args.sack,
        ..Config::default()
    };
    let started = Instant::now();
    let file = File::create(&args.out)?;
    let out = BufWriter::with_capacity(1 << 20, file);
    let (summary, out) = Generator::new(cfg, out).run()?;
    // Flushes the last buffer; errors (disk full) surface here.
    out.into_inner().map_err(|e| e.into_error())?;
    let mut text = Vec::new();
    writeln!(text, "file={}", args.out)?;
    writeln!(
        text,
        "args=--seed {} --concurrent {}{}{}{}{} --exchanges {} --max-response {} --servers {} --interleave {}{}",
        args.seed,
        args.concurrent,
        opt(" --size", args.size),
        opt(" --packets", args.packets),
        opt(" --connections", args.connections),
        opt(" --snaplen", args.snaplen.map(u64::from)),
        args.exchanges,
        args.max_response,
        args.servers,
        args.interleave,
        if args.sack { " --sack" } else { "" }
    )?;
    summary.write_to(&mut text)?;
    let packets = summary.packets.max(1) as f64;
    writeln!(
        text,
        "avg_wire_bytes={:.1}",
        summary.wire_bytes as f64 / packets
    )?;
    writeln!(
        text,
        "avg_record_bytes={:.1}",
        summary.bytes.saturating_sub(24) as f64 / packets - 16.0
    )?;
    writeln!(
        text,
        "generated_in_s={:.2}",
        started.elapsed().as_secs_f64()
    )?;
    io::stderr().write_all(&text)?;
    if let Some(path) = &args.summary {
        std::fs::write(path, &text)?;
    }
    Ok(())
}

fn opt(flag: &str, v: Option<u64>) -> String {
    v.map(|v| format!("{flag} {v}")).unwrap_or_default()
}
