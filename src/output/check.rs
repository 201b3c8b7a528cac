//! `rstscope check`: the CI gate. Compares a capture's outcomes with an
//! expectation file (`--expect`), fails on named outcomes (`--fail-on`), or
//! writes the expectation file from the capture (`--bless`).

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::diagnose::{Flow, Outcome};
use crate::output::timeline;
use crate::track::Connection;

use super::sink::{Next, Sink};

/// Timelines kept per outcome for connections that explain a count difference.
const EXAMPLES_PER_OUTCOME: usize = 3;

/// `--bless` lists at most this many connections; the counts cover the rest.
const BLESS_MAX_CONNECTIONS: usize = 1000;

/// The expectation file (`interface.md`, "check expectation file").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// Exact count per outcome; an outcome not listed must not occur.
    #[serde(default)]
    pub outcomes: BTreeMap<String, u64>,
    /// Connections that must be in the capture with these facts.
    #[serde(default)]
    pub connections: Vec<ExpectedConnection>,
    /// Exact count per outcome for each server (`ADDR:PORT`), for
    /// `--match server`; written by `--bless --match server`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub servers: BTreeMap<String, BTreeMap<String, u64>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedConnection {
    pub client: String,
    pub server: String,
    pub outcome: String,
    /// `client` or `server`: who sent the first RST. Optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rst_by: Option<String>,
}

impl Expectation {
    /// Parses and validates the outcome names, so a typo is a usage error
    /// rather than a check that can never pass.
    pub fn parse(text: &str) -> Result<Expectation, String> {
        let e: Expectation = serde_json::from_str(text).map_err(|e| e.to_string())?;
        for name in e
            .outcomes
            .keys()
            .chain(e.connections.iter().map(|c| &c.outcome))
            .chain(e.servers.values().flat_map(|m| m.keys()))
        {
            if Outcome::parse(name).is_none() {
                return Err(format!("unknown outcome '{name}'"));
            }
        }
        for c in &e.connections {
            if let Some(by) = &c.rst_by {
                if by != "client" && by != "server" {
                    return Err(format!("rst_by must be client or server, not '{by}'"));
                }
            }
        }
        Ok(e)
    }
}

/// How strictly a capture must match its expectation file (`--match`), and
/// what `--bless` writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum MatchMode {
    /// Outcome counts and the listed connections (client ports included).
    #[default]
    Exact,
    /// Outcome counts only.
    Counts,
    /// Outcome counts, overall and per server: no client ports, so a fresh
    /// recording of the same scenario (new ephemeral ports) still passes.
    Server,
}

impl MatchMode {
    pub fn name(self) -> &'static str {
        match self {
            MatchMode::Exact => "exact",
            MatchMode::Counts => "counts",
            MatchMode::Server => "server",
        }
    }
}

/// What a found connection looked like, for matching listed connections.
#[derive(Clone, Debug)]
struct Found {
    outcome: Outcome,
    rst_by: Option<String>,
    timeline: String,
}

/// An example connection kept for the timelines of a failed check.
#[derive(Clone, Debug)]
struct Example {
    server: String,
    outcome: Outcome,
    title: String,
    timeline: String,
}

/// One thing the check compared: a line of the verdict, a JUnit test case.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// What was compared, e.g. `outcome client-abort`.
    pub name: String,
    pub passed: bool,
    /// Expected against found, in words.
    pub message: String,
    /// The connection's annotated timeline, where one explains the finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<String>,
}

/// The verdict: every finding, and the timelines of connections that changed.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub capture: String,
    pub expect: Option<String>,
    #[serde(rename = "match")]
    pub mode: &'static str,
    pub passed: bool,
    pub findings: Vec<Finding>,
    /// Counts found (and expected), for the table of the text verdict.
    #[serde(skip)]
    rows: Vec<(Outcome, u64, u64)>,
    /// (title, timeline) of connections with a differing outcome that are
    /// not accounted for by the expectation (new or changed ones).
    pub changed: Vec<(String, String)>,
}

/// Collects what the gate needs while connections stream past; memory is
/// bounded by the expectation file, the servers, and a few examples per
/// outcome and server.
pub struct Check {
    expect: Option<Expectation>,
    fail_on: Vec<Outcome>,
    bless: bool,
    mode: MatchMode,
    capture: String,
    expect_path: Option<String>,
    counts: BTreeMap<Outcome, u64>,
    by_server: BTreeMap<String, BTreeMap<Outcome, u64>>,
    /// Found connections for each listed (client, server), in capture order.
    listed: BTreeMap<(String, String), Vec<Found>>,
    /// Example timelines per (outcome, server), for count differences and
    /// --fail-on; never of a connection the expectation lists as it is.
    examples: BTreeMap<(Outcome, String), Vec<Example>>,
    blessed: Vec<ExpectedConnection>,
    /// A capture cut mid-record or without TCP, unless allowed.
    partial: Vec<String>,
}

impl Check {
    pub fn new(expect: Option<Expectation>, fail_on: Vec<Outcome>, bless: bool) -> Check {
        let listed = expect
            .iter()
            .flat_map(|e| &e.connections)
            .map(|c| ((c.client.clone(), c.server.clone()), Vec::new()))
            .collect();
        Check {
            expect,
            fail_on,
            bless,
            mode: MatchMode::Exact,
            capture: String::new(),
            expect_path: None,
            counts: BTreeMap::new(),
            by_server: BTreeMap::new(),
            listed,
            examples: BTreeMap::new(),
            blessed: Vec::new(),
            partial: Vec::new(),
        }
    }

    /// How strictly to match, and the names every result line carries.
    pub fn named(mut self, mode: MatchMode, capture: &str, expect_path: Option<&str>) -> Check {
        self.mode = mode;
        self.capture = capture.to_string();
        self.expect_path = expect_path.map(str::to_string);
        if mode != MatchMode::Exact {
            self.listed.clear();
        }
        self
    }

    /// A capture cut mid-record, or without a single TCP segment, cannot
    /// vouch for its outcomes: it fails the check unless `allow` is set.
    pub fn capture_health(&mut self, health: &crate::wire::Health, allow: bool) {
        if allow {
            return;
        }
        for f in &health.files {
            if let Some(at) = f.cut_off_at {
                self.partial.push(format!(
                    "{} ends mid-record at byte {at} (--allow-partial accepts it)",
                    f.file
                ));
            }
        }
        if health.tcp_segments == 0 && health.interrupted.is_none() {
            self.partial.push(format!(
                "no TCP segment in {} packets read (--allow-partial accepts it)",
                health.packets_read
            ));
        }
    }

    pub fn add(&mut self, conn: &Connection, flow: &Flow) {
        *self.counts.entry(flow.outcome).or_default() += 1;
        let key = (flow.client_endpoint(), flow.server_endpoint());
        *self
            .by_server
            .entry(key.1.clone())
            .or_default()
            .entry(flow.outcome)
            .or_default() += 1;
        let rst_by = flow.rst_by.map(|s| s.name().to_string());
        let render = || timeline::render(conn, &flow.marks, "    ");
        if let Some(found) = self.listed.get_mut(&key) {
            found.push(Found {
                outcome: flow.outcome,
                rst_by: rst_by.clone(),
                timeline: render(),
            });
        }
        // A connection the expectation lists with this very outcome did
        // not change: it is never an example of a difference.
        let as_expected = self.mode == MatchMode::Exact
            && self.listed.contains_key(&key)
            && self.expect.as_ref().is_some_and(|e| {
                e.connections.iter().any(|c| {
                    c.client == key.0
                        && c.server == key.1
                        && c.outcome == flow.outcome.name()
                        && (c.rst_by.is_none() || c.rst_by == rst_by)
                })
            });
        // A blessed file lists every connection that is not clean: one it
        // does not list and that is clean is as expected (a clean one that
        // went missing shows as the connection that changed instead).
        let as_expected = as_expected
            || (self.mode == MatchMode::Exact
                && flow.outcome == Outcome::Clean
                && self
                    .expect
                    .as_ref()
                    .is_some_and(|e| !e.connections.is_empty())
                && !self.listed.contains_key(&key));
        let examples = self
            .examples
            .entry((flow.outcome, key.1.clone()))
            .or_default();
        if !as_expected && examples.len() < EXAMPLES_PER_OUTCOME {
            examples.push(Example {
                server: key.1.clone(),
                outcome: flow.outcome,
                title: format!("{} -> {} {}", key.0, key.1, flow.outcome.name()),
                timeline: render(),
            });
        }
        if self.bless
            && self.mode == MatchMode::Exact
            && flow.outcome != Outcome::Clean
            && self.blessed.len() < BLESS_MAX_CONNECTIONS
        {
            self.blessed.push(ExpectedConnection {
                client: key.0,
                server: key.1,
                outcome: flow.outcome.name().to_string(),
                rst_by,
            });
        }
    }

    /// The expectation file `--bless` writes: every outcome count, and by
    /// `--match`: the connections that are not `clean` (exact), nothing
    /// more (counts), or the counts per server (server).
    pub fn blessed(&self) -> Expectation {
        let names = |m: &BTreeMap<Outcome, u64>| -> BTreeMap<String, u64> {
            m.iter().map(|(o, n)| (o.name().to_string(), *n)).collect()
        };
        Expectation {
            outcomes: names(&self.counts),
            connections: self.blessed.clone(),
            servers: if self.mode == MatchMode::Server {
                self.by_server
                    .iter()
                    .map(|(s, m)| (s.clone(), names(m)))
                    .collect()
            } else {
                BTreeMap::new()
            },
        }
    }

    /// Compares everything; the findings name what failed.
    pub fn verdict(&self) -> Verdict {
        let mut findings = Vec::new();
        let mut rows = Vec::new();
        // (outcome, Some(server)) whose count differs; None = overall.
        let mut differing: Vec<(Outcome, Option<String>)> = Vec::new();
        for why in &self.partial {
            findings.push(Finding {
                name: "capture complete".into(),
                passed: false,
                message: why.clone(),
                timeline: None,
            });
        }
        if let Some(expect) = &self.expect {
            for o in Outcome::ALL {
                let want = expect.outcomes.get(o.name()).copied().unwrap_or(0);
                let got = self.counts.get(&o).copied().unwrap_or(0);
                if want != 0 || got != 0 {
                    rows.push((o, want, got));
                    findings.push(Finding {
                        name: format!("outcome {}", o.name()),
                        passed: want == got,
                        message: format!("{}: expected {want}, found {got}", o.name()),
                        timeline: None,
                    });
                }
                if want != got {
                    differing.push((o, None));
                }
            }
            if self.mode == MatchMode::Server {
                self.compare_servers(expect, &mut findings, &mut differing);
            }
            if self.mode == MatchMode::Exact {
                self.compare_connections(expect, &mut findings);
            }
        }
        for o in &self.fail_on {
            let n = self.counts.get(o).copied().unwrap_or(0);
            findings.push(Finding {
                name: format!("--fail-on {}", o.name()),
                passed: n == 0,
                message: format!("--fail-on {}: {}", o.name(), plural(n, "connection")),
                timeline: None,
            });
            if n > 0 {
                differing.push((*o, None));
            }
        }
        let passed = findings.iter().all(|f| f.passed);
        let mut changed = Vec::new();
        if !passed {
            let shown: Vec<String> = findings
                .iter()
                .filter(|f| f.timeline.is_some())
                .map(|f| f.name.clone())
                .collect();
            for ((o, server), examples) in &self.examples {
                let differs = differing
                    .iter()
                    .any(|(d, s)| d == o && s.as_ref().is_none_or(|s| s == server));
                if !differs {
                    continue;
                }
                for e in examples {
                    let conn = e.title.rsplit_once(' ').map_or(&*e.title, |(c, _)| c);
                    if shown.iter().any(|s| s.ends_with(conn)) || changed.len() >= 20 {
                        continue;
                    }
                    debug_assert_eq!((e.outcome, &e.server), (*o, server));
                    changed.push((e.title.clone(), e.timeline.clone()));
                }
            }
        }
        Verdict {
            capture: self.capture.clone(),
            expect: self.expect_path.clone(),
            mode: self.mode.name(),
            passed,
            findings,
            rows,
            changed,
        }
    }

    fn compare_servers(
        &self,
        expect: &Expectation,
        findings: &mut Vec<Finding>,
        differing: &mut Vec<(Outcome, Option<String>)>,
    ) {
        let servers: std::collections::BTreeSet<&String> =
            expect.servers.keys().chain(self.by_server.keys()).collect();
        for server in servers {
            for o in Outcome::ALL {
                let want = expect
                    .servers
                    .get(server)
                    .and_then(|m| m.get(o.name()))
                    .copied()
                    .unwrap_or(0);
                let got = self
                    .by_server
                    .get(server)
                    .and_then(|m| m.get(&o))
                    .copied()
                    .unwrap_or(0);
                if want == 0 && got == 0 {
                    continue;
                }
                findings.push(Finding {
                    name: format!("server {server} {}", o.name()),
                    passed: want == got,
                    message: format!("server {server} {}: expected {want}, found {got}", o.name()),
                    timeline: None,
                });
                if want != got {
                    differing.push((o, Some(server.clone())));
                }
            }
        }
    }

    fn compare_connections(&self, expect: &Expectation, findings: &mut Vec<Finding>) {
        for c in &expect.connections {
            let found = &self.listed[&(c.client.clone(), c.server.clone())];
            let ok = found.iter().any(|f| {
                f.outcome.name() == c.outcome && (c.rst_by.is_none() || f.rst_by == c.rst_by)
            });
            let want_rst = c
                .rst_by
                .as_deref()
                .map(|b| format!(", rst_by {b}"))
                .unwrap_or_default();
            let name = format!("connection {} -> {}", c.client, c.server);
            if ok {
                findings.push(Finding {
                    name,
                    passed: true,
                    message: format!("{} -> {}: {}{want_rst}", c.client, c.server, c.outcome),
                    timeline: None,
                });
                continue;
            }
            if found.is_empty() {
                findings.push(Finding {
                    name: name.clone(),
                    passed: false,
                    message: format!(
                        "{} -> {}: expected {}{want_rst}, not in the capture",
                        c.client, c.server, c.outcome
                    ),
                    timeline: None,
                });
            }
            for f in found {
                let got_rst = f
                    .rst_by
                    .as_deref()
                    .map(|b| format!(", rst_by {b}"))
                    .unwrap_or_default();
                findings.push(Finding {
                    name: name.clone(),
                    passed: false,
                    message: format!(
                        "{} -> {}: expected {}{want_rst}, found {}{got_rst}",
                        c.client,
                        c.server,
                        c.outcome,
                        f.outcome.name()
                    ),
                    timeline: Some(f.timeline.clone()),
                });
            }
        }
    }

    /// Writes the verdict as text; returns whether the check passed.
    pub fn write_verdict(&self, out: &mut dyn Write) -> io::Result<bool> {
        let v = self.verdict();
        v.write_text(out)?;
        Ok(v.passed)
    }
}

/// `1 connection`, `2 connections`.
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

impl Verdict {
    /// `CAPTURE against FILE`, the names every result line starts with.
    fn names(&self) -> String {
        match &self.expect {
            Some(e) => format!("{} against {e}", self.capture),
            None => self.capture.clone(),
        }
    }

    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let names = self.names();
        if !self.rows.is_empty() {
            writeln!(out, "{:<22} {:>8} {:>8}", "outcome", "expected", "found")?;
            for (o, want, got) in &self.rows {
                let mark = if want == got { "" } else { "  <- differs" };
                writeln!(out, "{:<22} {:>8} {:>8}{mark}", o.name(), want, got)?;
            }
        }
        let failed: Vec<&Finding> = self.findings.iter().filter(|f| !f.passed).collect();
        if !failed.is_empty() {
            writeln!(out)?;
        }
        for f in &failed {
            writeln!(out, "{names}: {}", f.message)?;
            if let Some(t) = &f.timeline {
                write!(out, "{t}")?;
            }
        }
        if !self.changed.is_empty() {
            writeln!(out)?;
            writeln!(out, "{names}: timelines of connections that changed:")?;
            for (title, text) in &self.changed {
                writeln!(out, "  {title}")?;
                write!(out, "{text}")?;
            }
        }
        writeln!(out)?;
        let mode = if self.expect.is_some() {
            format!(" (match {})", self.mode)
        } else {
            String::new()
        };
        if self.passed {
            writeln!(out, "check passed: {names}{mode}")
        } else {
            writeln!(
                out,
                "check FAILED: {names}{mode}: {}",
                plural(failed.len() as u64, "difference")
            )
        }
    }

    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        writeln!(out)
    }

    /// A JUnit XML report (the schema Jenkins, GitLab and GitHub test
    /// reporters read): one test suite per check, one test case per finding.
    pub fn write_junit(&self, out: &mut dyn Write) -> io::Result<()> {
        let failures = self.findings.iter().filter(|f| !f.passed).count();
        let suite = xml(&self.names());
        writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            out,
            r#"<testsuites name="rstscope check" tests="{}" failures="{failures}">"#,
            self.findings.len()
        )?;
        writeln!(
            out,
            r#"  <testsuite name="{suite}" tests="{}" failures="{failures}" errors="0">"#,
            self.findings.len()
        )?;
        writeln!(out, "    <properties>")?;
        writeln!(
            out,
            r#"      <property name="capture" value="{}"/>"#,
            xml(&self.capture)
        )?;
        if let Some(e) = &self.expect {
            writeln!(out, r#"      <property name="expect" value="{}"/>"#, xml(e))?;
        }
        writeln!(
            out,
            r#"      <property name="match" value="{}"/>"#,
            self.mode
        )?;
        writeln!(out, "    </properties>")?;
        for f in &self.findings {
            let case = format!(
                r#"    <testcase classname="{suite}" name="{}""#,
                xml(&f.name)
            );
            if f.passed {
                writeln!(out, "{case}/>")?;
                continue;
            }
            writeln!(out, "{case}>")?;
            let body = f.timeline.as_deref().unwrap_or("");
            writeln!(
                out,
                r#"      <failure message="{}">{}</failure>"#,
                xml(&format!("{}: {}", self.names(), f.message)),
                xml(body)
            )?;
            writeln!(out, "    </testcase>")?;
        }
        if !self.changed.is_empty() {
            let text: String = self
                .changed
                .iter()
                .map(|(title, t)| format!("{title}\n{t}"))
                .collect();
            writeln!(out, "    <system-out>{}</system-out>", xml(&text))?;
        }
        writeln!(out, "  </testsuite>")?;
        writeln!(out, "</testsuites>")
    }
}

/// Text as XML character data or an attribute value.
fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => o.push(c),
        }
    }
    o
}

impl Sink for Check {
    fn connection(&mut self, conn: &Connection, flow: &Flow) -> io::Result<Next> {
        self.add(conn, flow);
        Ok(Next::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectation_rejects_unknown_outcomes_and_fields() {
        assert!(Expectation::parse(r#"{"outcomes": {"clean": 1}}"#).is_ok());
        let e = Expectation::parse(r#"{"outcomes": {"clen": 1}}"#).unwrap_err();
        assert!(e.contains("unknown outcome 'clen'"), "{e}");
        let e = Expectation::parse(r#"{"outcome": {"clean": 1}}"#).unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
        let e = Expectation::parse(
            r#"{"connections": [{"client": "a:1", "server": "b:2", "outcome": "clean", "rst_by": "peer"}]}"#,
        )
        .unwrap_err();
        assert!(e.contains("rst_by"), "{e}");
    }

    #[test]
    fn counts_must_match_exactly_and_unlisted_outcomes_are_zero() {
        let expect = Expectation::parse(r#"{"outcomes": {"clean": 2}}"#).unwrap();
        let mut check = Check::new(Some(expect), vec![], false);
        check.counts.insert(Outcome::Clean, 2);
        let mut out = Vec::new();
        assert!(check.write_verdict(&mut out).unwrap());
        check.counts.insert(Outcome::ClientAbort, 1);
        let mut out = Vec::new();
        assert!(!check.write_verdict(&mut out).unwrap());
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("client-abort                  0        1  <- differs"),
            "{text}"
        );
        assert!(text.contains("check FAILED"), "{text}");
    }

    #[test]
    fn fail_on_fails_only_when_the_outcome_occurs() {
        let mut check = Check::new(None, vec![Outcome::PostHandshakeRst], false);
        check.counts.insert(Outcome::Clean, 5);
        assert!(check.write_verdict(&mut Vec::new()).unwrap());
        check.counts.insert(Outcome::PostHandshakeRst, 2);
        let mut out = Vec::new();
        assert!(!check.write_verdict(&mut out).unwrap());
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("--fail-on post-handshake-rst: 2 connections"));
    }
}
