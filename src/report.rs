//! The post-mortem report for a person: what the capture was, then (later
//! stages) what happened to its connections.

use std::io::{self, Write};

use crate::health::{Health, SkipReason};

/// The capture summary and health block, always printed first: a reader must
/// know what was analysed before trusting any diagnosis.
pub fn write_capture_summary(out: &mut dyn Write, health: &Health) -> io::Result<()> {
    writeln!(out, "Capture")?;
    for f in &health.files {
        writeln!(
            out,
            "  file        {}: {}, link type {}, {} packets",
            f.file,
            f.format,
            if f.link_types.is_empty() {
                "none".to_string()
            } else {
                f.link_types.join(" + ")
            },
            f.packets
        )?;
        if let Some(at) = f.cut_off_at {
            writeln!(
                out,
                "  cut off     {}: file ends mid-record at byte {at}; every packet before it was analysed",
                f.file
            )?;
        }
    }
    match (health.first_time(), health.last_time()) {
        (Some(first), Some(last)) => writeln!(
            out,
            "  time span   {} .. {} ({:.6} s)",
            first.rfc3339(),
            last.rfc3339(),
            last.since(first)
        )?,
        _ => writeln!(out, "  time span   (no packets)")?,
    }
    writeln!(
        out,
        "  packets     {} read, {} TCP segments analysed, {} skipped",
        health.packets_read,
        health.tcp_segments,
        health.skipped_total()
    )?;
    for reason in SkipReason::ALL {
        let n = health.skipped(reason);
        if n > 0 {
            let extra = if reason == SkipReason::UnsupportedLinkType {
                let names: Vec<String> = health
                    .unsupported_link_types
                    .iter()
                    .map(|l| crate::capture::LinkType(*l).name())
                    .collect();
                format!(" ({})", names.join(", "))
            } else {
                String::new()
            };
            writeln!(out, "  skipped     {n:>8}  {}{extra}", reason.describe())?;
        }
    }
    if health.snap_cut_segments > 0 {
        writeln!(
            out,
            "  snap length {} segments were cut by the snap length (captured headers used; payload lengths from the IP header)",
            health.snap_cut_segments
        )?;
    }
    if health.timestamps_backwards > 0 {
        writeln!(
            out,
            "  clock       {} packets have a timestamp earlier than the packet before them",
            health.timestamps_backwards
        )?;
    }
    if health.acked_unseen_segments > 0 {
        writeln!(
            out,
            "  capture loss {} times a peer ACKed data the capture never saw: the capture dropped packets",
            health.acked_unseen_segments
        )?;
    }
    Ok(())
}
