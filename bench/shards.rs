//! What splitting the tracker over threads could buy, measured before it
//! is built: the reading thread deals each segment to one of N trackers
//! by a hash of its endpoints (both directions of a tuple to the same
//! one), in batches, as `rstscope` hands batches to its one tracking
//! thread. Each tracker is a whole `Tracker` over its share of the tuples,
//! so the figures are a bound: the tracker's order-dependent state (the
//! stream numbers, the endpoints' connection counts, the open limit, the
//! peak) is not merged, and the outputs are not built.
//!
//!     cargo run --release --example shards -- --shards 2 FILE...
//!
//! With `--flows`, tracks as `rstscope flows` does (no timelines); with
//! `--look-ahead-from N`, fetches ahead from N table entries instead of
//! the default (0: always; a huge N: never).

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;

use rstscope::track::{SegmentBatch, Tracker, TrackerConfig};
use rstscope::wire::Segment;

/// Segments handed to a tracker at once, as the pipeline does.
const BATCH: usize = 4096;
/// Batches in flight to each tracker.
const IN_FLIGHT: usize = 4;

/// The same for both directions of a tuple.
fn shard_of(seg: &Segment, shards: usize) -> usize {
    let end = |a: &std::net::SocketAddr| {
        let ip = match a.ip() {
            std::net::IpAddr::V4(v4) => u64::from(u32::from(v4)),
            std::net::IpAddr::V6(v6) => {
                let x = u128::from(v6);
                (x as u64) ^ ((x >> 64) as u64)
            }
        };
        ip.rotate_left(16) ^ u64::from(a.port())
    };
    let x = end(&seg.src) ^ end(&seg.dst);
    let m = u128::from(x ^ 0x243F_6A88_85A3_08D3) * 0x9E37_79B9_7F4A_7C15;
    (((m >> 64) as u64 ^ m as u64) % shards as u64) as usize
}

struct Shard {
    full: SyncSender<SegmentBatch>,
    empty: Receiver<SegmentBatch>,
    filling: SegmentBatch,
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let flows = args.iter().any(|a| a == "--flows");
    args.retain(|a| a != "--flows");
    let mut shards = 1usize;
    if let Some(i) = args.iter().position(|a| a == "--shards") {
        shards = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| {
                eprintln!("shards: --shards takes a positive number");
                std::process::exit(2)
            });
        args.drain(i..i + 2);
    }
    let mut config = if flows {
        TrackerConfig::default().without_timelines()
    } else {
        TrackerConfig::default()
    };
    if let Some(i) = args.iter().position(|a| a == "--look-ahead-from") {
        config.look_ahead_from =
            args.get(i + 1)
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| {
                    eprintln!("shards: --look-ahead-from takes a number of table entries");
                    std::process::exit(2)
                });
        args.drain(i..i + 2);
    }
    let totals = thread::scope(|scope| {
        let mut lanes = Vec::new();
        let mut workers = Vec::new();
        for _ in 0..shards {
            let (full_tx, full_rx) = sync_channel::<SegmentBatch>(IN_FLIGHT);
            let (empty_tx, empty_rx) = sync_channel::<SegmentBatch>(IN_FLIGHT + 1);
            for _ in 0..IN_FLIGHT {
                empty_tx.send(SegmentBatch::with_capacity(BATCH)).unwrap();
            }
            let config = config.clone();
            workers.push(scope.spawn(move || {
                let mut tracker = Tracker::new(config);
                let mut finished = 0u64;
                for mut batch in full_rx {
                    tracker.push_batch(&batch, &mut |_| finished += 1);
                    batch.clear();
                    // The reader may be gone at the end: nothing to recycle for.
                    let _ = empty_tx.send(batch);
                }
                let stats = tracker.finish(&mut |_| finished += 1);
                (stats.segments(), finished, stats.peak_open())
            }));
            lanes.push(Shard {
                full: full_tx,
                empty: empty_rx,
                filling: SegmentBatch::with_capacity(BATCH),
            });
        }
        let mut health = rstscope::wire::Health::default();
        let result = rstscope::pipeline::read_segments(&args, &mut health, &mut |s| {
            let lane = &mut lanes[shard_of(s, shards)];
            lane.filling.push(*s);
            if lane.filling.len() == BATCH {
                let next = lane.empty.recv().expect("a tracker stopped");
                let full = std::mem::replace(&mut lane.filling, next);
                lane.full.send(full).expect("a tracker stopped");
            }
        });
        if let Err(e) = result {
            eprintln!("shards: {e}");
            std::process::exit(2);
        }
        for lane in lanes {
            lane.full.send(lane.filling).expect("a tracker stopped");
        }
        workers
            .into_iter()
            .map(|w| w.join().expect("a tracker panicked"))
            .collect::<Vec<_>>()
    });
    for (i, (segments, finished, peak)) in totals.iter().enumerate() {
        println!("shard {i}: {segments} segments, {finished} connections, peak {peak} open");
    }
    let segments: u64 = totals.iter().map(|t| t.0).sum();
    let finished: u64 = totals.iter().map(|t| t.1).sum();
    println!("{shards} shard(s): {segments} segments, {finished} connections");
}
