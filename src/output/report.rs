//! The post-mortem report for a person: what the capture was, then what
//! went wrong in it (the findings), the outcomes and the servers.

use std::io::{self, Write};

use crate::diagnose::human;
use crate::wire::{Health, SkipReason, StepDirection, Translated};

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
            "  file        {}: {}{}, link type {}, {}",
            f.file,
            f.format,
            f.compression
                .as_deref()
                .map(|c| format!(", {c}-compressed"))
                .unwrap_or_default(),
            if f.link_types.is_empty() {
                "none".to_string()
            } else {
                f.link_types.join(" + ")
            },
            plural(f.packets, "packet")
        )?;
        if let Some(at) = f.cut_off_at {
            writeln!(
                out,
                "  cut off     {}: file ends mid-record at byte {at}; every packet before it was analysed",
                f.file
            )?;
        }
    }
    if health.files_reordered {
        writeln!(
            out,
            "  order       the files were read in order of their first packet's time, not in the order given"
        )?;
    }
    if health.files_interleaved > 0 {
        writeln!(
            out,
            "  merged      {} {} overlapped in time with another; packets were merged by timestamp, as mergecap does",
            health.files_interleaved,
            if health.files_interleaved == 1 { "file" } else { "files" }
        )?;
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
    let encaps = health.encapsulations();
    if !encaps.is_empty() {
        let list: Vec<String> = encaps
            .iter()
            .map(|(e, n)| format!("{} {n}", e.name()))
            .collect();
        writeln!(
            out,
            "  encapsulated {} (packets per encapsulation, decoded down to the inner TCP)",
            list.join(", ")
        )?;
    }
    if health.duplicate_copies > 0 {
        writeln!(
            out,
            "  duplicate copies {} segments seen again on another interface or one hop later (-i any on a forwarding host): analysed once",
            health.duplicate_copies
        )?;
    }
    if health.translated_connections > 0 {
        let pairs: Vec<String> = health
            .translations
            .iter()
            .map(|t| match t {
                Translated::Server(first, after) => format!("server {first} translated to {after}"),
                Translated::Client(first, after) => format!("client {first} translated to {after}"),
                Translated::Tunnel(first, after) => {
                    let words = |t| match crate::wire::describe_tunnel(t) {
                        w if w.is_empty() => "bare".to_string(),
                        w => format!("inside {w}"),
                    };
                    format!("{} seen again {}", words(*first), words(*after))
                }
            })
            .collect();
        let more = if pairs.is_empty() {
            String::new()
        } else {
            format!(" ({})", pairs.join("; "))
        };
        writeln!(
            out,
            "  translation {} seen again after address translation or in another tunnel{more}: analysed once, as first seen",
            super::finished::plural(health.translated_connections, "connection")
        )?;
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
            "  clock       {} {} a timestamp earlier than the packet before {}",
            plural(health.timestamps_backwards, "packet"),
            if health.timestamps_backwards == 1 {
                "has"
            } else {
                "have"
            },
            if health.timestamps_backwards == 1 {
                "it"
            } else {
                "them"
            }
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
    if let Some(signal) = &health.interrupted {
        writeln!(
            out,
            "  interrupted {signal}: reading stopped early; everything here is for the {} packets read before it, and connections still open were finished as at the end of a capture",
            health.packets_read
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
use crate::wire::Timestamp;

use super::findings::{finding_json, server_rows, write_findings, ReportJson};
pub use super::finished::{outcome_meaning, plural, FinishedReport, ReportLimits};
use super::html::{write_page, ServersShown};
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

    /// Starts the time axis at `first_segment`, the capture's first TCP
    /// segment (before any [`ConnectionReport::add`]); without it the axis
    /// starts at the first connection added.
    pub fn anchor(&mut self, first_segment: Timestamp) {
        self.engine.anchor(first_segment);
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
    let doc = ReportJson {
        health,
        rep: report,
        filter: None,
        whole: true,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// What a filtered report says about its filters (`--server`, `--port`,
/// `--outcome`) and how many connections they matched.
pub struct FilterSummary {
    /// As typed: `--server 10.0.0.1:80 --outcome refused`.
    pub given: String,
    pub matched: u64,
    pub connections: u64,
}

impl FilterSummary {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "given": self.given,
            "matched": self.matched,
            "connections": self.connections,
        })
    }
}

/// The filter line after the capture block, so that nobody takes a
/// filtered report for the whole capture, or an empty one for a quiet one.
pub fn write_filter_summary(out: &mut dyn Write, f: &FilterSummary) -> io::Result<()> {
    let of = plural(f.connections, "connection");
    if f.matched == 0 {
        writeln!(out, "  filter      {}: matched none of the {of}", f.given)
    } else {
        writeln!(
            out,
            "  filter      {}: matched {} of the {of}",
            f.given, f.matched
        )
    }
}

/// [`write_json`] with the filters the report was made with (`"filter"`:
/// `given`, `matched`, `connections`; null without filters).
pub fn write_json_filtered(
    out: &mut dyn Write,
    health: &Health,
    report: &FinishedReport,
    filter: Option<&FilterSummary>,
) -> io::Result<()> {
    let doc = ReportJson {
        health,
        rep: report,
        filter: Some(filter.map_or(serde_json::Value::Null, FilterSummary::to_json)),
        whole: true,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// `report --format html`: the page is drawn from the JSON report's own
/// bytes, read back, so it shows exactly what `--format json` says. The
/// findings and the servers table's rows are read back one at a time, and
/// the page keeps only the servers it shows: a port scan's 200 000 rows
/// and the targets its findings name never exist as JSON values at once.
pub fn write_html(
    out: &mut dyn Write,
    health: &Health,
    report: &FinishedReport,
    filter: Option<&FilterSummary>,
) -> io::Result<()> {
    let d = &report.diagnosis;
    let doc = ReportJson {
        health,
        rep: report,
        filter: Some(filter.map_or(serde_json::Value::Null, FilterSummary::to_json)),
        whole: false,
    };
    let json = serde_json::to_vec_pretty(&doc)?;
    let mut doc: serde_json::Value = serde_json::from_slice(&json).map_err(io::Error::other)?;
    drop(json);
    let mut servers = ServersShown::default();
    let mut bytes = Vec::new();
    for (i, r) in server_rows(d).enumerate() {
        bytes.clear();
        serde_json::to_writer_pretty(&mut bytes, &r)?;
        servers.add(i, serde_json::from_slice(&bytes).map_err(io::Error::other)?);
    }
    let mut finding = |i: usize| -> io::Result<serde_json::Value> {
        bytes.clear();
        serde_json::to_writer_pretty(&mut bytes, &finding_json(&d.findings[i]))?;
        serde_json::from_slice(&bytes).map_err(io::Error::other)
    };
    write_page(out, &mut doc, servers, d.findings.len(), &mut finding)
}

/// Outcome counts added over several captures (`report --each`): the
/// findings stay with each capture, where their times mean something.
#[derive(Clone, Debug, Default)]
pub struct OutcomeTotals {
    pub captures: u64,
    pub total: u64,
    pub by_outcome: [u64; Outcome::ALL.len()],
}

impl OutcomeTotals {
    pub fn add(&mut self, r: &FinishedReport) {
        self.captures += 1;
        self.total += r.total;
        for (mine, theirs) in self.by_outcome.iter_mut().zip(r.by_outcome.iter()) {
            *mine += theirs;
        }
    }

    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "Outcomes ({})", plural(self.total, "connection"))?;
        for (o, n) in Outcome::ALL.iter().zip(self.by_outcome.iter()) {
            if *n > 0 {
                writeln!(out, "  {:<22}{n:>8}  {}", o.name(), outcome_meaning(*o))?;
            }
        }
        Ok(())
    }

    pub fn to_json(&self) -> serde_json::Value {
        let outcomes: serde_json::Map<String, serde_json::Value> = Outcome::ALL
            .iter()
            .zip(self.by_outcome.iter())
            .map(|(o, n)| (o.name().to_string(), serde_json::Value::from(*n)))
            .collect();
        serde_json::json!({
            "captures": self.captures,
            "connections": self.total,
            "outcomes": outcomes,
        })
    }
}

impl Sink for ConnectionReport {
    fn connection(&mut self, conn: &Connection, flow: &Flow) -> io::Result<Next> {
        self.add(conn, flow);
        Ok(Next::Continue)
    }

    fn capture_start(&mut self, first_segment: Timestamp) {
        self.anchor(first_segment);
    }
}
