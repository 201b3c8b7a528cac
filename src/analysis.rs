//! Drives the pipeline over one or more capture files: bytes → packets →
//! segments, keeping the capture-health account as it goes. Several files
//! are one capture split by rotation, so frame numbers and time run on.

use crate::capture::{self, Packet};
use crate::decode;
use crate::error::CaptureError;
use crate::health::Health;
use crate::segment::{Segment, Timestamp};

/// Reads every capture in order and hands each TCP segment to `on_segment`.
/// On error, `health` still holds the account of what was read before it.
pub fn read_segments(
    inputs: &[String],
    health: &mut Health,
    on_segment: &mut dyn FnMut(&Segment),
) -> Result<(), CaptureError> {
    let mut frame: u64 = 0;
    let mut last_ts: Option<Timestamp> = None;
    for input in inputs {
        let name = capture::display_name(input);
        let (reader, _size) = capture::open(input)?;
        let mut on_packet = |packet: &Packet<'_>, _offset: u64| {
            frame += 1;
            health.packets_read += 1;
            if last_ts.is_some_and(|t| packet.ts < t) {
                health.timestamps_backwards += 1;
            }
            last_ts = Some(packet.ts);
            match decode::decode(packet, frame) {
                Ok(segment) => {
                    health.tcp_segments += 1;
                    if segment.snap_cut {
                        health.snap_cut_segments += 1;
                    }
                    on_segment(&segment);
                }
                Err(reason) => {
                    health.skip(reason);
                    if reason == crate::health::SkipReason::UnsupportedLinkType
                        && !health.unsupported_link_types.contains(&packet.link.0)
                    {
                        health.unsupported_link_types.push(packet.link.0);
                    }
                }
            }
        };
        let summary = capture::read_capture(&name, reader, &mut on_packet)?;
        health.files.push(summary);
    }
    Ok(())
}
