//! The findings as people and tools read them: the first screen of the
//! text report (one line and one chart per finding), the servers table,
//! each finding's detail with its examples, and the JSON document.

use std::io::{self, Write};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Value};

use crate::diagnose::findings::{sparkline, Diagnosis, Example, Finding, Kind};
use crate::diagnose::{human, Outcome};
use crate::wire::{Health, Timestamp};

use super::finished::{outcome_meaning, plural as counted, FinishedReport};

/// Longest an example timeline is printed in the text report; longer ones
/// keep their head and tail.
const TIMELINE_LINES: usize = 24;
/// One-line examples per finding in the text report (JSON has them all).
const EXAMPLES_SHOWN: usize = 2;

/// `HH:MM:SS.mmm` of a capture time (UTC).
fn hms(t: Timestamp) -> String {
    t.rfc3339().get(11..23).unwrap_or_default().to_string()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn headline(f: &Finding) -> String {
    let on = match (&f.client, f.kind) {
        (Some(c), Kind::ClientShutdown) => format!("client {c} (to {})", f.server),
        _ => f.server.clone(),
    };
    let of = if f.connections > f.count {
        format!(" of {}", f.connections)
    } else {
        String::new()
    };
    let when = if f.window.end.0.saturating_sub(f.window.start.0) < 1_000_000 && f.count > 1 {
        format!(
            "at {} UTC (within {})",
            hms(f.window.start),
            human(f.window.end.0.saturating_sub(f.window.start.0))
        )
    } else if f.count == 1 || f.window.end == f.window.start {
        format!("at {} UTC", hms(f.window.start))
    } else {
        format!("{} .. {} UTC", hms(f.window.start), hms(f.window.end))
    };
    format!(
        "{} on {on}: {}{of}, {when}",
        f.kind.name(),
        plural(f.count, "connection", "connections"),
    )
}

/// The finding's chart over the capture's buckets, between the first and
/// last bucket's times.
fn chart(rep: &FinishedReport, f: &Finding) -> Option<String> {
    let d = &rep.diagnosis;
    let start = d.start?;
    if d.buckets == 0 {
        return None;
    }
    let mut counts = f.series.clone();
    if counts.is_empty() {
        // No series kept for it (a burst, or a server with little trouble):
        // mark its window.
        counts = vec![0; d.buckets];
        let at = |t: Timestamp| {
            ((t.0.saturating_sub(start.0) / d.bucket_ns.max(1)).max(0) as usize).min(d.buckets - 1)
        };
        for c in &mut counts[at(f.window.start)..=at(f.window.end).max(at(f.window.start))] {
            *c = 1;
        }
    }
    let end = Timestamp(
        start
            .0
            .saturating_add(d.bucket_ns.saturating_mul(d.buckets as i64)),
    );
    let peak = if f.window.peak_per_s > 0.0 {
        format!(
            "  peak {}/s at {}",
            trim_num(f.window.peak_per_s),
            hms(f.window.peak_at)
        )
    } else {
        String::new()
    };
    Some(format!(
        "{} |{}| {} UTC{peak}",
        hms(start),
        sparkline(&counts),
        hms(end)
    ))
}

/// A cause's first sentence (up to ". "), for the findings list.
fn first_sentence(cause: &str) -> Option<&str> {
    let c = cause.trim();
    if c.is_empty() {
        return None;
    }
    Some(match c.find(". ") {
        Some(i) => &c[..=i],
        None => c,
    })
}

fn trim_num(x: f64) -> String {
    if x >= 100.0 || x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

fn variants_line(f: &Finding) -> String {
    f.variants
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(v, n)| format!("{v} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn facts_line(f: &Finding) -> String {
    f.facts
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k} {s}"),
            v => format!("{k} {v}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn example_line(e: &Example) -> String {
    let f = &e.flow;
    let at = match f.rst_time {
        Some(t) => format!("reset at {}", hms(t)),
        None => format!("started {}", hms(f.first_time)),
    };
    format!(
        "{}: {} -> {} {at}: {}",
        e.variant,
        f.client_endpoint(),
        f.server_endpoint(),
        f.evidence
    )
}

/// The text report after the capture block.
pub fn write_findings(out: &mut dyn Write, rep: &FinishedReport) -> io::Result<()> {
    let d = &rep.diagnosis;
    let shown = &d.findings[..d.findings.len().min(rep.limits.findings)];
    writeln!(out)?;
    if d.findings.is_empty() {
        writeln!(
            out,
            "No problem found: {}, none reset, refused, unanswered or stuck.",
            counted(rep.total, "connection")
        )?;
    } else {
        writeln!(
            out,
            "Findings ({} of {}, most connections first; times UTC)",
            shown.len(),
            d.findings.len()
        )?;
        for (i, f) in shown.iter().enumerate() {
            writeln!(out, "  {:>2}. {}", i + 1, headline(f))?;
            // The likely cause in plain words, so the first screen tells
            // the story before any detail.
            if let Some(why) = first_sentence(&f.cause) {
                writeln!(out, "      {why}")?;
            }
            if let Some(c) = chart(rep, f) {
                writeln!(out, "      {c}")?;
            }
        }
        if d.findings.len() > shown.len() {
            writeln!(
                out,
                "  ({} more findings; --findings N shows them, --format json lists all)",
                d.findings.len() - shown.len()
            )?;
        }
    }

    writeln!(out)?;
    writeln!(out, "Outcomes ({})", counted(rep.total, "connection"))?;
    for (o, n) in Outcome::ALL.iter().zip(rep.by_outcome.iter()) {
        if *n > 0 {
            writeln!(out, "  {:<22}{n:>8}  {}", o.name(), outcome_meaning(*o))?;
        }
    }

    if !d.servers.is_empty() {
        writeln!(out)?;
        writeln!(out, "Servers (most trouble first)")?;
        writeln!(out, "  {:<40}{:>8}  outcomes", "server", "conns")?;
        for s in d.servers.rows().take(rep.limits.servers) {
            let list: Vec<String> = s
                .outcomes
                .iter()
                .map(|(o, n)| format!("{n} {}", o.name()))
                .collect();
            writeln!(
                out,
                "  {:<40}{:>8}  {}",
                s.server,
                s.connections,
                list.join(", ")
            )?;
        }
        if d.servers.len() > rep.limits.servers {
            writeln!(
                out,
                "  ({} more servers; --format json lists them all)",
                d.servers.len() - rep.limits.servers
            )?;
        }
    }

    let mut timelines = rep.limits.timelines;
    for (i, f) in shown.iter().enumerate() {
        writeln!(out)?;
        writeln!(out, "{}. {}", i + 1, headline(f))?;
        writeln!(
            out,
            "  window    {} .. {}",
            f.window.start.rfc3339(),
            f.window.end.rfc3339()
        )?;
        if f.servers.len() > 1 {
            writeln!(out, "  servers   {} ({})", f.servers.len(), f.server)?;
        }
        let v = variants_line(f);
        if !v.is_empty() {
            writeln!(out, "  variants  {v}")?;
        }
        let facts = facts_line(f);
        if !facts.is_empty() {
            writeln!(out, "  facts     {facts}")?;
        }
        writeln!(out, "  cause     {}", f.cause)?;
        writeln!(out, "  check     {}", f.check.join("; "))?;
        for e in f.examples.iter().take(EXAMPLES_SHOWN) {
            writeln!(out, "  example   {}", example_line(e))?;
            if let Some(s) = &e.flow.rst_suspect {
                writeln!(out, "            suspicious RST: {s}")?;
            }
            if timelines > 0 {
                timelines -= 1;
                write_timeline(out, e)?;
            }
        }
    }
    Ok(())
}

fn write_timeline(out: &mut dyn Write, e: &Example) -> io::Result<()> {
    let lines: Vec<&str> = e.timeline.text.lines().collect();
    if lines.len() <= TIMELINE_LINES {
        for l in lines {
            writeln!(out, "{l}")?;
        }
        return Ok(());
    }
    let half = TIMELINE_LINES / 2;
    for l in &lines[..half] {
        writeln!(out, "{l}")?;
    }
    writeln!(
        out,
        "      ... {} lines; `rstscope timeline --conn {}` shows them all ...",
        lines.len() - 2 * half,
        e.flow.client_endpoint()
    )?;
    for l in &lines[lines.len() - half..] {
        writeln!(out, "{l}")?;
    }
    Ok(())
}

fn example_json(e: &Example) -> Value {
    let f = &e.flow;
    json!({
        "variant": e.variant,
        "client": f.client_endpoint(),
        "server": f.server_endpoint(),
        "first_time": f.first_time.rfc3339(),
        "outcome": f.outcome.name(),
        "rst_time": f.rst_time.map(|t| t.rfc3339()),
        "evidence": f.evidence,
        "timeline": e.timeline.text.lines().map(str::trim).collect::<Vec<_>>(),
        "segments": e.timeline.segments,
    })
}

/// One finding of the JSON document.
pub fn finding_json(f: &Finding) -> Value {
    let mut v = json!({
        "kind": f.kind.name(),
        "server": f.server,
        "servers": f.servers,
        "count": f.count,
        "connections": f.connections,
        "window": f.window,
        "variants": f.variants,
        "facts": f.facts,
        "cause": f.cause,
        "check": f.check,
        "examples": f.examples.iter().map(example_json).collect::<Vec<_>>(),
    });
    if let (Some(c), Some(obj)) = (&f.client, v.as_object_mut()) {
        obj.insert("client".into(), json!(c));
    }
    v
}

/// A sequence made by an iterator while it is written, never collected.
struct Streamed<F>(F);

impl<F, I> Serialize for Streamed<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

/// One row of the JSON servers table: keys in byte order, as a
/// `serde_json::Value` object writes them.
#[derive(Serialize)]
pub struct ServerRowJson {
    connections: u64,
    outcomes: OutcomeCounts,
    server: String,
}

/// Outcome counts as a JSON object, keyed by outcome name in byte order.
struct OutcomeCounts(Vec<(&'static str, u64)>);

impl Serialize for OutcomeCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(o, n)| (o, n)))
    }
}

/// The servers table's rows as the JSON writes them, most trouble first,
/// each made when it is read.
pub fn server_rows(d: &Diagnosis) -> impl Iterator<Item = ServerRowJson> + '_ {
    d.servers.rows().map(|s| {
        let mut by: Vec<(&'static str, u64)> =
            s.outcomes.iter().map(|(o, n)| (o.name(), *n)).collect();
        by.sort_unstable_by_key(|(o, _)| *o);
        ServerRowJson {
            connections: s.connections,
            outcomes: OutcomeCounts(by),
            server: s.server,
        }
    })
}

fn timeseries_json(d: &Diagnosis) -> Value {
    let series: Vec<Value> = d
        .findings
        .iter()
        .filter(|f| !f.series.is_empty())
        .map(|f| {
            json!({
                "server": f.server,
                "kind": f.kind.name(),
                "outcome": f.outcome.map(|o| o.name()),
                "counts": f.series,
            })
        })
        .collect();
    json!({
        "bucket_s": d.bucket_ns as f64 / 1e9,
        "start": d.start.map(|t| t.rfc3339()),
        "series": series,
    })
}

/// The whole `report --format json` document, written while it is
/// serialized: the findings and the servers table's rows are made one at a
/// time, so the document never exists whole in memory (a port scan's
/// table has a row per target). Keys in byte order, as a
/// `serde_json::Value` object writes them.
pub struct ReportJson<'a> {
    pub health: &'a Health,
    pub rep: &'a FinishedReport,
    /// `Some` writes the `filter` key (null without filters).
    pub filter: Option<Value>,
    /// False leaves the `findings` and `servers` keys out, for a reader
    /// that takes them one by one ([`finding_json`], [`server_rows`]).
    pub whole: bool,
}

impl Serialize for ReportJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rep = self.rep;
        let d = &rep.diagnosis;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("capture", &self.health.to_json())?;
        m.serialize_entry("connections", &rep.total)?;
        if let Some(f) = &self.filter {
            m.serialize_entry("filter", f)?;
        }
        if self.whole {
            m.serialize_entry(
                "findings",
                &Streamed(|| d.findings.iter().map(finding_json)),
            )?;
        }
        m.serialize_entry("outcomes", &rep.outcomes_json())?;
        if self.whole {
            m.serialize_entry("servers", &Streamed(|| server_rows(d)))?;
        }
        m.serialize_entry("table", &rep.table.to_json())?;
        m.serialize_entry("timeseries", &timeseries_json(d))?;
        m.serialize_entry("version", &1)?;
        m.end()
    }
}
