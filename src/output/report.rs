//! The post-mortem report for a person: what the capture was, then what
//! went wrong in it (the findings), the outcomes and the servers.

use std::io::{self, Write};

use crate::diagnose::human;
use crate::wire::{Health, SkipReason, StepDirection};

/// Seconds for people, as the evidence writes durations.
fn human_secs(s: f64) -> String {
    human((s * 1e9).min(i64::MAX as f64) as i64)
}

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
                    // Unsupported types have no name of ours: tcpdump's
                    // numeric form, which `tcpdump -L` users recognise.
                    .map(|l| format!("LINKTYPE_{l}"))
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
    for s in &health.clock_steps {
        let way = match s.step.direction {
            StepDirection::Back => "back",
            StepDirection::Forward => "forward",
        };
        writeln!(
            out,
            "  clock       clock stepped {way} {} at packet {} in {}: analysis time ignores the jump, so it neither ends nor splits connections",
            human_secs(s.step.seconds),
            s.step.frame,
            s.file
        )?;
    }
    let unlisted = health
        .clock_steps_total
        .saturating_sub(health.clock_steps.len() as u64);
    if unlisted > 0 {
        writeln!(out, "  clock       {unlisted} more clock steps not listed")?;
    }
    if health.acked_unseen_segments > 0 {
        writeln!(
            out,
            "  capture loss {} times a peer ACKed data the capture never saw: the capture dropped packets",
            health.acked_unseen_segments
        )?;
    }
    if health.connections_finished_early > 0 {
        writeln!(
            out,
            "  limit       {} connections were finished early, longest idle first, to stay within --max-connections open at once; later segments of theirs started new connections",
            health.connections_finished_early
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// What happened: the findings first, then outcome counts and the servers
// table. Aggregation streams: the findings engine keeps a fixed tally per
// server and examples only for the servers it may print.

use crate::diagnose::findings::{Findings, Rendered};
use crate::diagnose::{Flow, Outcome};
use crate::output::sink::{Next, Sink};
use crate::track::Connection;

use super::findings::write_findings;
pub use super::finished::{outcome_meaning, FinishedReport, ReportLimits};
use super::report_rows::{segments_json, TopConnections};

/// Streaming aggregate of classified connections for the report.
pub struct ConnectionReport {
    pub limits: ReportLimits,
    pub total: u64,
    pub by_outcome: [u64; Outcome::ALL.len()],
    engine: Findings,
    /// The most troubled connections, for the JSON report's `table`.
    table: TopConnections,
}

impl ConnectionReport {
    /// `timelines` example timelines are printed in full (`--timelines N`).
    pub fn new(timelines: usize) -> Self {
        Self::with_limits(ReportLimits {
            timelines,
            ..ReportLimits::default()
        })
    }

    pub fn with_limits(limits: ReportLimits) -> Self {
        ConnectionReport {
            limits,
            total: 0,
            by_outcome: [0; Outcome::ALL.len()],
            engine: Findings::new(),
            table: TopConnections::default(),
        }
    }

    pub fn add(&mut self, conn: &Connection, flow: &Flow) {
        self.total += 1;
        if let Some(i) = Outcome::ALL.iter().position(|o| *o == flow.outcome) {
            self.by_outcome[i] += 1;
        }
        self.table.add(flow);
        self.engine.add(flow, &mut || Rendered {
            text: crate::output::timeline::render(conn, &flow.marks, "      "),
            segments: segments_json(conn, &flow.marks),
        });
    }

    pub fn finish(self) -> FinishedReport {
        FinishedReport {
            limits: self.limits,
            total: self.total,
            by_outcome: self.by_outcome,
            diagnosis: self.engine.finish(),
            table: self.table,
        }
    }

    /// Finishes and writes the text report's sections after the capture block.
    pub fn write(self, out: &mut dyn Write) -> io::Result<()> {
        self.finish().write(out)
    }
}

impl FinishedReport {
    /// The findings, outcome counts, the servers table, then the detail of
    /// each finding shown.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        write_findings(out, self)
    }
}

/// `report --format json`: `version`, `capture`, `outcomes`, `findings`,
/// `timeseries` and `servers` as `diagnosis.md` shows them.
pub fn write_json(out: &mut dyn Write, health: &Health, report: &FinishedReport) -> io::Result<()> {
    let doc = super::findings::json(health, report);
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

impl Sink for ConnectionReport {
    fn connection(&mut self, conn: &Connection, flow: &Flow) -> io::Result<Next> {
        self.add(conn, flow);
        Ok(Next::Continue)
    }
}
