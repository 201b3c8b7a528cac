//! The post-mortem report for a person: what the capture was, then (later
//! stages) what happened to its connections.

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
// Connection sections (issue 3): outcome counts, a table per server, and
// annotated example timelines per (server, outcome). Aggregation is
// streaming: counts plus at most N examples per (server, outcome), never
// every flow.

use std::collections::BTreeMap;

use crate::diagnose::{Flow, Outcome};
use crate::output::sink::{Next, Sink};
use crate::track::{Connection, Timeline};
use crate::wire::Timestamp;

/// What each outcome means, in the words of `resets.md`.
pub fn outcome_meaning(o: Outcome) -> &'static str {
    match o {
        Outcome::Clean => "orderly close: both sides sent FIN, no RST before both FINs",
        Outcome::Refused => "SYN answered by RST, never a SYN-ACK: nothing listened on that port",
        Outcome::Unanswered => "SYN (and its retransmissions) with no reply at all",
        Outcome::HandshakeRst => "RST after the SYN-ACK but before the handshake completed",
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

/// One kept example: its facts and its kept segments. The timeline text
/// and the JSON segments are made from them only when the report is
/// written: with a thousand servers there are thousands of examples, and
/// rendered they cost twenty times the segments.
#[derive(Clone, Debug)]
pub struct Example {
    pub flow: Flow,
    pub kept: Timeline,
    pub first_time: Timestamp,
    pub segments: u64,
}

impl Example {
    /// The annotated timeline, as the text report prints it.
    pub fn timeline(&self) -> String {
        crate::output::timeline::render_kept(
            &self.kept,
            self.first_time,
            self.segments,
            &self.flow.marks,
            "      ",
        )
    }

    /// The kept segments as values, for the JSON report's ladder diagrams.
    pub fn segments_json(&self) -> Vec<serde_json::Value> {
        crate::output::report_rows::segments_json_kept(
            &self.kept,
            self.first_time,
            &self.flow.marks,
        )
    }
}

/// Per (server, outcome): how many, over what time, and a few examples.
#[derive(Clone, Debug, Default)]
pub struct Group {
    pub count: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    pub examples: Vec<Example>,
}

/// Streaming aggregate of classified connections for the text report.
#[derive(Clone, Debug, Default)]
pub struct ConnectionReport {
    examples_per_group: usize,
    pub total: u64,
    pub by_outcome: BTreeMap<Outcome, u64>,
    /// Server endpoint → outcome → group.
    pub servers: BTreeMap<String, BTreeMap<Outcome, Group>>,
    /// The most troubled connections, for the JSON report's `table`.
    pub table: crate::output::report_rows::TopConnections,
}

impl ConnectionReport {
    /// `examples` timelines are kept per (server, outcome) (`--timelines N`).
    pub fn new(examples: usize) -> Self {
        ConnectionReport {
            examples_per_group: examples,
            ..ConnectionReport::default()
        }
    }

    pub fn add(&mut self, conn: &Connection, flow: &Flow) {
        self.total += 1;
        self.table.add(flow);
        *self.by_outcome.entry(flow.outcome).or_default() += 1;
        let g = self
            .servers
            .entry(flow.server_endpoint())
            .or_default()
            .entry(flow.outcome)
            .or_default();
        g.count += 1;
        // When it happened: the RST if any, else when the connection started.
        let at = flow.rst_time.unwrap_or(flow.first_time);
        g.first = Some(g.first.map_or(at, |t| t.min(at)));
        g.last = Some(g.last.map_or(at, |t| t.max(at)));
        let wants_example = !matches!(flow.outcome, Outcome::Clean | Outcome::Open);
        if wants_example && g.examples.len() < self.examples_per_group {
            g.examples.push(Example {
                flow: flow.clone(),
                kept: conn.timeline.clone(),
                first_time: conn.first_time,
                segments: conn.segments,
            });
        }
    }

    /// The same aggregate for `report --format json`: outcome counts (every
    /// outcome listed, zeros included, so tools need no defaults) and the
    /// per-server table. Examples are left to `flows`/`timeline`.
    pub fn to_json(&self) -> serde_json::Value {
        let outcomes: serde_json::Map<String, serde_json::Value> = Outcome::ALL
            .iter()
            .map(|o| {
                (
                    o.name().to_string(),
                    self.by_outcome.get(o).copied().unwrap_or(0).into(),
                )
            })
            .collect();
        let servers: Vec<serde_json::Value> = self
            .servers
            .iter()
            .map(|(server, groups)| {
                let by: serde_json::Map<String, serde_json::Value> = groups
                    .iter()
                    .map(|(o, g)| (o.name().to_string(), g.count.into()))
                    .collect();
                serde_json::json!({
                    "server": server,
                    "connections": groups.values().map(|g| g.count).sum::<u64>(),
                    "outcomes": by,
                })
            })
            .collect();
        serde_json::json!({
            "connections": self.total,
            "outcomes": outcomes,
            "servers": servers,
        })
    }

    /// Outcome counts, the per-server table, then the examples.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out)?;
        writeln!(out, "Outcomes ({} connections)", self.total)?;
        for o in Outcome::ALL {
            if let Some(n) = self.by_outcome.get(&o) {
                writeln!(out, "  {:<22}{n:>8}  {}", o.name(), outcome_meaning(o))?;
            }
        }

        // Servers with problems first, then by name: the reader looks for
        // the port in trouble.
        let mut servers: Vec<(&String, &BTreeMap<Outcome, Group>)> = self.servers.iter().collect();
        let trouble = |m: &BTreeMap<Outcome, Group>| -> u64 {
            m.iter()
                .filter(|(o, _)| !matches!(o, Outcome::Clean | Outcome::Open))
                .map(|(_, g)| g.count)
                .sum()
        };
        servers.sort_by(|a, b| trouble(b.1).cmp(&trouble(a.1)).then(a.0.cmp(b.0)));

        writeln!(out)?;
        writeln!(out, "Servers")?;
        writeln!(out, "  {:<40}{:>8}  outcomes", "server", "conns")?;
        for (server, groups) in &servers {
            let n: u64 = groups.values().map(|g| g.count).sum();
            let list: Vec<String> = Outcome::ALL
                .iter()
                .filter_map(|o| groups.get(o).map(|g| format!("{} {}", g.count, o.name())))
                .collect();
            writeln!(out, "  {server:<40}{n:>8}  {}", list.join(", "))?;
        }

        for (server, groups) in &servers {
            for o in Outcome::ALL {
                let Some(g) = groups.get(&o) else { continue };
                if g.examples.is_empty() {
                    continue;
                }
                writeln!(out)?;
                let span = match (g.first, g.last) {
                    (Some(a), Some(b)) if g.count > 1 => format!(
                        ", between {} and {} ({})",
                        a.rfc3339(),
                        b.rfc3339(),
                        human(b.0.saturating_sub(a.0))
                    ),
                    (Some(a), _) => format!(", at {}", a.rfc3339()),
                    _ => String::new(),
                };
                writeln!(
                    out,
                    "{} on {server}: {} connection{}{span}",
                    o.name(),
                    g.count,
                    if g.count == 1 { "" } else { "s" }
                )?;
                writeln!(out, "  Meaning: {}.", outcome_meaning(o))?;
                if let Some(hint) = g
                    .examples
                    .iter()
                    .map(|e| e.flow.hint.as_str())
                    .find(|h| !h.is_empty())
                {
                    writeln!(out, "  Check: {hint}")?;
                }
                for e in &g.examples {
                    let f = &e.flow;
                    writeln!(out)?;
                    let rst = match (f.rst_by, f.rst_time) {
                        (Some(by), Some(t)) => {
                            format!(", reset by {} at {}", by.name(), t.rfc3339())
                        }
                        _ => format!(", started {}", f.first_time.rfc3339()),
                    };
                    writeln!(
                        out,
                        "  {} -> {}{rst}",
                        f.client_endpoint(),
                        f.server_endpoint()
                    )?;
                    writeln!(out, "    {}", f.evidence)?;
                    writeln!(out, "    {}", crate::output::timeline::keys_line(f))?;
                    if let Some(s) = &f.rst_suspect {
                        writeln!(out, "    Suspicious RST: {s}.")?;
                    }
                    out.write_all(e.timeline().as_bytes())?;
                }
                if g.count > g.examples.len() as u64 {
                    writeln!(
                        out,
                        "  ({} more; `rstscope timeline --server {server} --outcome {}` shows them)",
                        g.count - g.examples.len() as u64,
                        o.name()
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// `report --format json`: the capture summary and health, outcome counts,
/// the per-server table, and the example connections with their facts and
/// timelines (the same ones the text report shows; `flows` has them all).
pub fn write_json(
    out: &mut dyn Write,
    health: &Health,
    connections: &ConnectionReport,
) -> io::Result<()> {
    let mut doc = connections.to_json();
    let examples: Vec<serde_json::Value> = connections
        .servers
        .values()
        .flat_map(|groups| groups.values())
        .flat_map(|g| &g.examples)
        .map(|e| {
            let mut v = serde_json::to_value(&e.flow).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert(
                    "timeline".into(),
                    e.timeline()
                        .lines()
                        .map(str::trim)
                        .collect::<Vec<_>>()
                        .into(),
                );
                obj.insert("segments".into(), e.segments_json().into());
            }
            v
        })
        .collect();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("capture".into(), health.to_json());
        obj.insert("examples".into(), examples.into());
        obj.insert("table".into(), connections.table.to_json());
    }
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

impl Sink for ConnectionReport {
    fn connection(&mut self, conn: &Connection, flow: &Flow) -> io::Result<Next> {
        self.add(conn, flow);
        Ok(Next::Continue)
    }
}
