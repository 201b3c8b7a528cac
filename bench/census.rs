//! The tracker alone, with a census of its table near the moment it
//! tracked the most: how many connections were open, ended in their grace
//! or SYN-only attempts, and the bytes of each part, so memory per open
//! connection can be read by part.
//!
//!     cargo run --release --example census -- FILE...
//!
//! With `--flows`, tracks as `rstscope flows` does (no timelines).

use rstscope::track::{connection_layout, Census, SegmentBatch, Tracker, TrackerConfig};

/// Segments handed to the tracker at once, as the pipeline does.
const BATCH: usize = 4096;
/// Segments between two censuses (a census walks the whole table): a
/// multiple of the batch, so each census follows a whole batch.
const EVERY: u64 = 16 * BATCH as u64;

fn main() {
    let mut inputs: Vec<String> = std::env::args().skip(1).collect();
    let flows = inputs.iter().any(|a| a == "--flows");
    inputs.retain(|a| a != "--flows");
    let config = if flows {
        TrackerConfig::default().without_timelines()
    } else {
        TrackerConfig::default()
    };
    let mut tracker = Tracker::new(config);
    let mut health = rstscope::wire::Health::default();
    let mut batch = SegmentBatch::with_capacity(BATCH);
    let (mut finished, mut seen) = (0u64, 0u64);
    let mut peak = Census::default();
    let mut at_segment = 0u64;
    let result = rstscope::pipeline::read_segments(&inputs, &mut health, &mut |s| {
        batch.push(*s);
        seen += 1;
        if batch.len() == BATCH {
            tracker.push_batch(&batch, &mut |_| finished += 1);
            batch.clear();
        }
        if seen % EVERY == 0 {
            let c = tracker.census();
            if c.tracked() > peak.tracked() {
                peak = c;
                at_segment = seen;
            }
        }
    });
    if let Err(e) = result {
        eprintln!("census: {e}");
        std::process::exit(2);
    }
    tracker.push_batch(&batch, &mut |_| finished += 1);
    let stats = tracker.finish(&mut |_| finished += 1);
    println!(
        "{} segments, {} connections, peak {} tracked; census at segment {at_segment}: {peak}",
        stats.segments(),
        finished,
        stats.peak_open(),
    );
    let layout: Vec<String> = connection_layout()
        .iter()
        .map(|(name, bytes)| format!("{name} {bytes}"))
        .collect();
    println!("bytes: {}", layout.join(", "));
}
