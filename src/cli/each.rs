//! `--each`: the captures are independent (one per host), not a rotation.
//! Each is analysed on its own (its own connections, its own capture
//! block), on the available cores at once, and the output is put together
//! in the order the captures were given, so it is the same on any machine:
//! rows carry `capture`, the report has a section per capture and one
//! across them.
//!
//! Only library pieces are used here (the command line's own helpers stay
//! in `mod.rs`, which calls this file), so the folder has no import circle.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use crate::capture::{self, CaptureError};
use crate::output::flows::{self, FlowFilter, FlowFormat, Reorder, TaggedWriter};
use crate::output::progress::Progress;
use crate::output::report::{self, ConnectionReport, FilterSummary, OutcomeTotals, ReportLimits};
use crate::output::sink::Next;
use crate::pipeline;
use crate::track::{Connection, TrackerConfig};
use crate::wire::{Health, Timestamp};

/// Why an `--each` run did not finish.
#[derive(Debug)]
pub enum EachError {
    Capture(CaptureError),
    Io(io::Error),
}

impl From<io::Error> for EachError {
    fn from(e: io::Error) -> Self {
        EachError::Io(e)
    }
}

/// What every capture is analysed with.
pub struct Job<'a> {
    pub captures: &'a [String],
    pub config: TrackerConfig,
    pub filter: &'a FlowFilter,
    pub quiet: bool,
}

/// One capture's run: its health, and connections seen and matched.
struct One {
    health: Health,
    connections: u64,
    matched: u64,
}

fn analyse_one(
    job: &Job<'_>,
    input: &str,
    watermark: &Cell<Option<Timestamp>>,
    first_segment: &Cell<Option<Timestamp>>,
    on_flow: &mut dyn FnMut(&Connection, &crate::diagnose::Flow) -> io::Result<()>,
) -> Result<One, EachError> {
    let mut health = Health::default();
    let (mut connections, mut matched) = (0, 0);
    let mut write_error = None;
    let read = pipeline::analyse_watermarked(
        &[input.to_string()],
        &mut health,
        job.config.clone(),
        Progress::hidden(),
        watermark,
        first_segment,
        &mut |conn, flow| {
            connections += 1;
            if !job.filter.matches(flow) {
                return Next::Continue;
            }
            matched += 1;
            match on_flow(conn, flow) {
                Ok(()) => Next::Continue,
                Err(e) => {
                    write_error = Some(e);
                    Next::Stop
                }
            }
        },
    );
    if let Some(e) = write_error {
        return Err(EachError::Io(e));
    }
    read.map_err(EachError::Capture)?;
    if !job.quiet {
        for f in &health.files {
            if let Some(at) = f.cut_off_at {
                eprintln!(
                    "rstscope: warning: {}: file ends mid-record at byte {at}; analysed the {} complete packets before it",
                    f.file, f.packets
                );
            }
        }
    }
    Ok(One {
        health,
        connections,
        matched,
    })
}

/// Per-capture parts of the output, removed when done (or on failure).
struct Parts(PathBuf);

impl Parts {
    fn new() -> io::Result<Parts> {
        let dir = std::env::temp_dir().join(format!("rstscope-each-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Parts(dir))
    }
    fn part(&self, i: usize) -> PathBuf {
        self.0.join(format!("{i}.part"))
    }
}

impl Drop for Parts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `flows --each`: every row with its `capture` first. CSV and JSON rows
/// are in `first_time` order within each capture, captures in the order
/// given; NDJSON rows as each capture's connections finish. Each capture's
/// rows go to a temporary part file while the captures are analysed at
/// once, so memory stays bounded, and are then copied out in order.
pub fn flows(job: &Job<'_>, format: FlowFormat, out: &mut dyn Write) -> Result<(), EachError> {
    let parts = Parts::new()?;
    let results = pipeline::parallel_map(job.captures.len(), &|i| -> Result<(), EachError> {
        let input = &job.captures[i];
        let file = BufWriter::new(File::create(parts.part(i))?);
        let mut writer = TaggedWriter::new(file, format, &capture::display_name(input));
        let mut order = (format != FlowFormat::Ndjson).then(Reorder::default);
        let watermark = Cell::new(Some(Timestamp(i64::MIN)));
        let analysed = analyse_one(
            job,
            input,
            &watermark,
            &Cell::new(None),
            &mut |_conn, flow| {
                let Some(order) = order.as_mut() else {
                    return writer.write(flow);
                };
                order.push(flow, Box::new(flow.clone()))?;
                while let Some(row) = order.pop_ready(watermark.get())? {
                    writer.write(&row)?;
                }
                Ok(())
            },
        );
        // Rows read before a bad record go out too, before the error.
        if let Some(order) = order.as_mut() {
            while let Some(row) = order.pop_any()? {
                writer.write(&row)?;
            }
        }
        analysed?;
        writer.finish()?.flush()?;
        Ok(())
    });
    for r in results {
        r?;
    }
    match format {
        FlowFormat::Csv => {
            let mut header = csv::Writer::from_writer(&mut *out);
            header
                .write_record(flows::tagged_csv_header())
                .map_err(|e| io::Error::other(e.to_string()))?;
            header.flush()?;
            drop(header);
            for i in 0..job.captures.len() {
                io::copy(&mut File::open(parts.part(i))?, out)?;
            }
        }
        // Zeek's conn.log has no capture column: the command line refuses
        // `--each --format zeek`, so this is only for completeness.
        FlowFormat::Ndjson | FlowFormat::Zeek => {
            for i in 0..job.captures.len() {
                io::copy(&mut File::open(parts.part(i))?, out)?;
            }
        }
        FlowFormat::Json => {
            out.write_all(b"[")?;
            let mut first = true;
            for i in 0..job.captures.len() {
                for line in BufReader::new(File::open(parts.part(i))?).lines() {
                    out.write_all(if first { b"\n" } else { b",\n" })?;
                    out.write_all(line?.as_bytes())?;
                    first = false;
                }
            }
            out.write_all(b"\n]\n")?;
        }
    }
    Ok(())
}

/// `report --each`: a section per capture (its capture block, filter line,
/// outcomes, servers and examples, as `report` on that capture alone), then
/// the outcomes and servers across all of them. JSON: `{"captures": [...,
/// each a report with its "file"], "across": {...}}`, every example carrying
/// its `capture`.
pub fn report(
    job: &Job<'_>,
    limits: ReportLimits,
    json: bool,
    filters: Option<&str>,
    out: &mut dyn Write,
) -> Result<(), EachError> {
    let results = pipeline::parallel_map(job.captures.len(), &|i| {
        let mut rep = ConnectionReport::with_limits(limits);
        let watermark = Cell::new(None);
        let first_segment = Cell::new(None);
        analyse_one(
            job,
            &job.captures[i],
            &watermark,
            &first_segment,
            &mut |conn, flow| {
                if let Some(t) = first_segment.take() {
                    rep.anchor(t);
                }
                rep.add(conn, flow);
                Ok(())
            },
        )
        .map(|one| (one, rep.finish()))
    });
    let mut done = Vec::with_capacity(results.len());
    for r in results {
        done.push(r?);
    }
    let mut across = OutcomeTotals::default();
    for (_, rep) in &done {
        across.add(rep);
    }
    let summary = |one: &One| {
        filters.map(|given| FilterSummary {
            given: given.to_string(),
            matched: one.matched,
            connections: one.connections,
        })
    };
    if json {
        let mut captures = Vec::new();
        for (i, (one, rep)) in done.iter().enumerate() {
            let name = capture::display_name(&job.captures[i]);
            let mut buf = Vec::new();
            report::write_json_filtered(&mut buf, &one.health, rep, summary(one).as_ref())?;
            let mut doc: serde_json::Value =
                serde_json::from_slice(&buf).map_err(io::Error::other)?;
            // Every finding (and its examples) names its capture.
            if let Some(findings) = doc["findings"].as_array_mut() {
                for f in findings.iter_mut() {
                    if let Some(examples) = f["examples"].as_array_mut() {
                        for e in examples.iter_mut().filter_map(|e| e.as_object_mut()) {
                            e.insert("capture".into(), name.clone().into());
                        }
                    }
                    if let Some(obj) = f.as_object_mut() {
                        obj.insert("capture".into(), name.clone().into());
                    }
                }
            }
            // `capture` is the capture block, as in a report on one capture.
            if let Some(obj) = doc.as_object_mut() {
                obj.insert("file".into(), name.into());
            }
            captures.push(doc);
        }
        let all = across.to_json();
        let doc = serde_json::json!({ "captures": captures, "across": all });
        serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
        writeln!(out)?;
        return Ok(());
    }
    for (i, (one, rep)) in done.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "=== {} ===", capture::display_name(&job.captures[i]))?;
        report::write_capture_summary(out, &one.health)?;
        if let Some(f) = summary(one) {
            report::write_filter_summary(out, &f)?;
        }
        rep.write(out)?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "=== across {} ===",
        report::plural(done.len() as u64, "capture")
    )?;
    across.write(out)?;
    Ok(())
}
