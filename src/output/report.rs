//! The post-mortem report for a person: what the capture was, then what
//! went wrong in it (the findings), the outcomes and the servers.

use std::io::{self, Write};

use crate::wire::{Health, SkipReason};

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

use crate::diagnose::findings::{Diagnosis, Findings};
use crate::diagnose::{Flow, Outcome};
use crate::track::Connection;

use super::findings::{write_findings, FINDINGS_SHOWN, SERVERS_SHOWN};

/// What each outcome means, in the words of `resets.md`.
pub fn outcome_meaning(o: Outcome) -> &'static str {
    match o {
        Outcome::Clean => "orderly close: both sides sent FIN, no RST before both FINs",
        Outcome::Refused => "SYN answered by RST, never a SYN-ACK: nothing listened on that port",
        Outcome::Unanswered => "SYN (and its retransmissions) with no reply at all",
        Outcome::HandshakeRst => "RST after the SYN-ACK but before the handshake completed",
        Outcome::HalfOpen => "SYN answered by SYN-ACK, then nothing from the client: a spoofed SYN flood, a client that died, or a lost ACK",
        Outcome::PostHandshakeRst => {
            "handshake completed, then the server reset before it ever sent payload or FIN: the application never served the connection"
        }
        Outcome::ServerAbort => "the server reset an established connection after it had sent payload",
        Outcome::ClientAbort => "the client reset an established connection before any FIN",
        Outcome::RstAfterHalfClose => "one side had sent FIN, the other had not, then a RST",
        Outcome::HalfClosed => {
            "one side sent FIN, the other never closed before the end of the capture (it sits in CLOSE_WAIT)"
        }
        Outcome::RstAfterClose => "both sides had sent FIN, then a RST (usually benign)",
        Outcome::Open => "established, still open at the end of the capture",
    }
}

/// How much of the report to show.
#[derive(Clone, Copy, Debug)]
pub struct ReportLimits {
    /// Findings shown in the text report (`--findings N`).
    pub findings: usize,
    /// Example timelines printed in full (`--timelines N`).
    pub timelines: usize,
    /// Servers in the text report's table.
    pub servers: usize,
}

impl Default for ReportLimits {
    fn default() -> Self {
        ReportLimits {
            findings: FINDINGS_SHOWN,
            timelines: 3,
            servers: SERVERS_SHOWN,
        }
    }
}

/// Streaming aggregate of classified connections for the report.
pub struct ConnectionReport {
    pub limits: ReportLimits,
    pub total: u64,
    pub by_outcome: [u64; Outcome::ALL.len()],
    engine: Findings,
}

/// The aggregate once every connection was seen.
pub struct FinishedReport {
    pub limits: ReportLimits,
    pub total: u64,
    pub by_outcome: [u64; Outcome::ALL.len()],
    pub diagnosis: Diagnosis,
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
        }
    }

    pub fn add(&mut self, conn: &Connection, flow: &Flow) {
        self.total += 1;
        if let Some(i) = Outcome::ALL.iter().position(|o| *o == flow.outcome) {
            self.by_outcome[i] += 1;
        }
        self.engine.add(flow, &mut || {
            crate::output::timeline::render(conn, &flow.marks, "      ")
        });
    }

    pub fn finish(self) -> FinishedReport {
        FinishedReport {
            limits: self.limits,
            total: self.total,
            by_outcome: self.by_outcome,
            diagnosis: self.engine.finish(),
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

    /// Outcome counts with every outcome listed, zeros included.
    pub fn outcomes_json(&self) -> serde_json::Value {
        Outcome::ALL
            .iter()
            .zip(self.by_outcome.iter())
            .map(|(o, n)| (o.name().to_string(), serde_json::Value::from(*n)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// `report --format json`: `version`, `capture`, `outcomes`, `findings`,
/// `timeseries` and `servers` as `diagnosis.md` shows them.
pub fn write_json(out: &mut dyn Write, health: &Health, report: &FinishedReport) -> io::Result<()> {
    let doc = super::findings::json(health, report);
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
