//! Micro-benchmarks of the pipeline's stages, in packets per second, on an
//! in-memory capture from the benchmark's generator (so no disk, no page cache):
//!
//! - `read`: pcap bytes → packets (capture.rs);
//! - `read+decode`: → TCP segments (decode.rs), full payload and headers only;
//! - `track`: segments (decoded beforehand) → connections (connection.rs);
//! - `track+classify`: → outcomes and every reset fact (classify.rs).
//!
//! `cargo bench --bench pipeline` (criterion prints "thrpt: … Melem/s",
//! one element being one packet).

#[path = "synth.rs"]
mod synth;

use std::hint::black_box;
use std::io::Cursor;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use rstscope::capture::{read_capture, Packet};
use rstscope::decode::decode;
use rstscope::diagnose::classify;
use rstscope::track::{Tracker, TrackerConfig};
use rstscope::wire::Segment;

/// About 40 000 packets: big enough to amortise the file header, small
/// enough to stay in the CPU caches' neighbourhood like a streamed buffer.
fn capture(snaplen: Option<u32>) -> (Vec<u8>, u64) {
    let cfg = synth::Config {
        seed: 11,
        snaplen,
        concurrent: 500,
        connections: Some(2000),
        ..synth::Config::default()
    };
    let (summary, bytes) = synth::Generator::new(cfg, Vec::new())
        .run()
        .expect("writing to memory cannot fail");
    (bytes, summary.packets)
}

fn stages(c: &mut Criterion) {
    for (name, snaplen) in [("full", None), ("headers96", Some(96))] {
        let (bytes, packets) = capture(snaplen);
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(packets));
        g.bench_function("read", |b| {
            b.iter(|| {
                let mut n = 0u64;
                let mut on_packet = |p: &Packet<'_>, _offset: u64| {
                    n += u64::from(p.orig_len);
                };
                read_capture("bench", Cursor::new(&bytes[..]), &mut on_packet).unwrap();
                black_box(n)
            })
        });
        g.bench_function("read+decode", |b| {
            b.iter(|| {
                let mut frame = 0u64;
                let mut n = 0u64;
                let mut on_packet = |p: &Packet<'_>, _offset: u64| {
                    frame += 1;
                    if let Ok(s) = decode(p, frame) {
                        n += u64::from(s.payload_len);
                    }
                };
                read_capture("bench", Cursor::new(&bytes[..]), &mut on_packet).unwrap();
                black_box(n)
            })
        });

        // Tracking alone: the segments are decoded once, outside the timing.
        let mut segments: Vec<Segment> = Vec::new();
        let mut frame = 0u64;
        read_capture("bench", Cursor::new(&bytes[..]), &mut |p, _| {
            frame += 1;
            if let Ok(s) = decode(p, frame) {
                segments.push(s);
            }
        })
        .unwrap();
        g.throughput(Throughput::Elements(segments.len() as u64));
        g.bench_function("track", |b| {
            b.iter(|| {
                let mut tracker = Tracker::new(TrackerConfig::default());
                let mut n = 0u64;
                let mut emit = |c: rstscope::track::Connection| n += c.segments();
                for s in &segments {
                    tracker.push(s, &mut emit);
                }
                tracker.finish(&mut emit);
                black_box(n)
            })
        });
        g.bench_function("track+classify", |b| {
            b.iter(|| {
                let mut tracker = Tracker::new(TrackerConfig::default());
                let mut n = 0u64;
                let mut emit = |c: rstscope::track::Connection| {
                    n += u64::from(classify(&c).rst_count.unwrap_or(0));
                };
                for s in &segments {
                    tracker.push(s, &mut emit);
                }
                tracker.finish(&mut emit);
                black_box(n)
            })
        });
        g.finish();
    }
}

criterion_group!(benches, stages);
criterion_main!(benches);
