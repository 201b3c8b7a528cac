//! Drives the pipeline over one or more capture files: bytes → packets →
//! segments, keeping the capture-health account as it goes. Several files
//! are one capture split by rotation, so frame numbers and time run on.

use std::io::Read;

use crate::capture::{self, Packet};
use crate::classify::{classify, Flow};
use crate::connection::{Connection, Tracker, TrackerConfig, TrackerStats};
use crate::decode;
use crate::error::CaptureError;
use crate::health::{Health, SkipReason};
use crate::progress::Progress;
use crate::segment::{Segment, Timestamp};

/// Reads captures one after another as one capture.
#[derive(Default)]
pub struct SegmentReader {
    pub health: Health,
    pub progress: Progress,
    frame: u64,
    last_ts: Option<Timestamp>,
    /// Bytes of the files already read, for the progress position.
    bytes_before: u64,
}

impl SegmentReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one capture from `reader` (named `name` in messages), handing
    /// each TCP segment to `on_segment`. On error, `health` keeps the account
    /// of what was read before it.
    pub fn read(
        &mut self,
        name: &str,
        reader: impl Read,
        on_segment: &mut dyn FnMut(&Segment),
    ) -> Result<(), CaptureError> {
        let Self {
            health,
            progress,
            frame,
            last_ts,
            bytes_before,
        } = self;
        let base = *bytes_before;
        let mut on_packet = |packet: &Packet<'_>, offset: u64| {
            progress.packet(base + offset);
            *frame += 1;
            health.packets_read += 1;
            if last_ts.is_some_and(|t| packet.ts < t) {
                health.timestamps_backwards += 1;
            }
            *last_ts = Some(packet.ts);
            match decode::decode(packet, *frame) {
                Ok(segment) => {
                    health.tcp_segments += 1;
                    if segment.snap_cut {
                        health.snap_cut_segments += 1;
                    }
                    on_segment(&segment);
                }
                Err(reason) => {
                    health.skip(reason);
                    if reason == SkipReason::UnsupportedLinkType
                        && !health.unsupported_link_types.contains(&packet.link.0)
                    {
                        health.unsupported_link_types.push(packet.link.0);
                    }
                }
            }
        };
        let summary = capture::read_capture(name, reader, &mut on_packet)?;
        self.bytes_before += summary.bytes;
        self.health.files.push(summary);
        Ok(())
    }
}

/// Reads every capture in `inputs` (paths, `-` for standard input) in order.
pub fn read_segments(
    inputs: &[String],
    health: &mut Health,
    on_segment: &mut dyn FnMut(&Segment),
) -> Result<(), CaptureError> {
    read_segments_with_progress(inputs, health, Progress::hidden(), on_segment)
}

/// As [`read_segments`], moving `progress` as bytes are read.
pub fn read_segments_with_progress(
    inputs: &[String],
    health: &mut Health,
    progress: Progress,
    on_segment: &mut dyn FnMut(&Segment),
) -> Result<(), CaptureError> {
    let mut reader = SegmentReader {
        progress,
        ..SegmentReader::default()
    };
    let mut result = Ok(());
    for input in inputs {
        let opened = capture::open(input);
        result = opened
            .and_then(|(file, _size)| reader.read(&capture::display_name(input), file, on_segment));
        if result.is_err() {
            break;
        }
    }
    reader.progress.finish();
    *health = reader.health;
    result
}

/// The whole pipeline: captures → segments → connections → outcomes. Each
/// finished connection is classified and handed to `on_connection` with its
/// flow, then freed. The connection-level health count (ACKs covering
/// sequence space never captured) is added to `health`.
pub fn analyse_connections(
    inputs: &[String],
    health: &mut Health,
    config: TrackerConfig,
    on_connection: &mut dyn FnMut(&Connection, &Flow),
) -> Result<TrackerStats, CaptureError> {
    analyse_with_progress(inputs, health, config, Progress::hidden(), on_connection)
}

/// As [`analyse_connections`], moving `progress` (bytes read, connections
/// and resets finished so far).
pub fn analyse_with_progress(
    inputs: &[String],
    health: &mut Health,
    config: TrackerConfig,
    progress: Progress,
    on_connection: &mut dyn FnMut(&Connection, &Flow),
) -> Result<TrackerStats, CaptureError> {
    let mut tracker = Tracker::new(config);
    let (mut connections, mut resets) = (0u64, 0u64);
    let counter = progress.clone();
    let mut emit = |c: Connection| {
        let flow = classify(&c);
        connections += 1;
        if flow.rst_by.is_some() {
            resets += 1;
        }
        counter.counts(connections, resets);
        on_connection(&c, &flow);
    };
    let read = read_segments_with_progress(inputs, health, progress, &mut |seg| {
        tracker.push(seg, &mut emit)
    });
    // Connections read before an unreadable file are still finished, so the
    // caller may report them.
    let stats = tracker.finish(&mut emit);
    health.acked_unseen_segments = health
        .acked_unseen_segments
        .saturating_add(stats.acked_unseen);
    read.map(|()| stats)
}

/// Total size of the inputs when all are regular files (for the progress bar).
pub fn total_bytes(inputs: &[String]) -> Option<u64> {
    inputs
        .iter()
        .map(|p| {
            if p == "-" {
                None
            } else {
                std::fs::metadata(p).ok().map(|m| m.len())
            }
        })
        .sum()
}
