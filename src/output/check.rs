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

/// What a found connection looked like, for matching listed connections.
#[derive(Clone, Debug)]
struct Found {
    outcome: Outcome,
    rst_by: Option<String>,
    timeline: String,
}

/// Collects what the gate needs while connections stream past; memory is
/// bounded by the expectation file and a few examples per outcome.
pub struct Check {
    expect: Option<Expectation>,
    fail_on: Vec<Outcome>,
    bless: bool,
    counts: BTreeMap<Outcome, u64>,
    /// Found connections for each listed (client, server), in capture order.
    listed: BTreeMap<(String, String), Vec<Found>>,
    /// Example timelines per outcome (for count differences and --fail-on).
    examples: BTreeMap<Outcome, Vec<(String, String)>>,
    blessed: Vec<ExpectedConnection>,
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
            counts: BTreeMap::new(),
            listed,
            examples: BTreeMap::new(),
            blessed: Vec::new(),
        }
    }

    pub fn add(&mut self, conn: &Connection, flow: &Flow) {
        *self.counts.entry(flow.outcome).or_default() += 1;
        let key = (flow.client_endpoint(), flow.server_endpoint());
        let rst_by = flow.rst_by.map(|s| s.name().to_string());
        let render = || timeline::render(conn, &flow.marks, "    ");
        if let Some(found) = self.listed.get_mut(&key) {
            found.push(Found {
                outcome: flow.outcome,
                rst_by: rst_by.clone(),
                timeline: render(),
            });
        }
        let examples = self.examples.entry(flow.outcome).or_default();
        if examples.len() < EXAMPLES_PER_OUTCOME {
            let title = format!("{} -> {} {}", key.0, key.1, flow.outcome.name());
            examples.push((title, render()));
        }
        if self.bless
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

    /// The expectation file `--bless` writes: every outcome count, and the
    /// connections that are not `clean` (the ones a team reviews).
    pub fn blessed(&self) -> Expectation {
        Expectation {
            outcomes: self
                .counts
                .iter()
                .map(|(o, n)| (o.name().to_string(), *n))
                .collect(),
            connections: self.blessed.clone(),
        }
    }

    /// Writes the verdict; returns whether the check passed.
    pub fn write_verdict(&self, out: &mut dyn Write) -> io::Result<bool> {
        let mut passed = true;
        let mut differing: Vec<Outcome> = Vec::new();
        // Connections already shown with their timeline are not repeated as examples.
        let mut shown: Vec<String> = Vec::new();
        if let Some(expect) = &self.expect {
            let mut rows: Vec<(Outcome, u64, u64)> = Vec::new();
            for o in Outcome::ALL {
                let want = expect.outcomes.get(o.name()).copied().unwrap_or(0);
                let got = self.counts.get(&o).copied().unwrap_or(0);
                if want != 0 || got != 0 {
                    rows.push((o, want, got));
                }
                if want != got {
                    differing.push(o);
                }
            }
            writeln!(out, "{:<22} {:>8} {:>8}", "outcome", "expected", "found")?;
            for (o, want, got) in &rows {
                let mark = if want == got { "" } else { "  <- differs" };
                writeln!(out, "{:<22} {:>8} {:>8}{mark}", o.name(), want, got)?;
            }
            passed &= differing.is_empty();

            let mut wrong_conns = Vec::new();
            for c in &expect.connections {
                let found = &self.listed[&(c.client.clone(), c.server.clone())];
                let ok = found.iter().any(|f| {
                    f.outcome.name() == c.outcome && (c.rst_by.is_none() || f.rst_by == c.rst_by)
                });
                if !ok {
                    wrong_conns.push((c, found));
                }
            }
            if !wrong_conns.is_empty() {
                passed = false;
                writeln!(out)?;
                writeln!(out, "Connections that differ from the expectation:")?;
                for (c, found) in wrong_conns {
                    let want_rst = c
                        .rst_by
                        .as_deref()
                        .map(|b| format!(", rst_by {b}"))
                        .unwrap_or_default();
                    if found.is_empty() {
                        writeln!(
                            out,
                            "  {} -> {}: expected {}{want_rst}, not in the capture",
                            c.client, c.server, c.outcome
                        )?;
                    }
                    for f in found {
                        let got_rst = f
                            .rst_by
                            .as_deref()
                            .map(|b| format!(", rst_by {b}"))
                            .unwrap_or_default();
                        writeln!(
                            out,
                            "  {} -> {}: expected {}{want_rst}, found {}{got_rst}",
                            c.client,
                            c.server,
                            c.outcome,
                            f.outcome.name()
                        )?;
                        write!(out, "{}", f.timeline)?;
                    }
                    shown.push(format!("{} -> {} ", c.client, c.server));
                }
            }
        }
        let failing: Vec<(Outcome, u64)> = self
            .fail_on
            .iter()
            .filter_map(|o| self.counts.get(o).filter(|n| **n > 0).map(|n| (*o, *n)))
            .collect();
        if !failing.is_empty() {
            passed = false;
            writeln!(out)?;
            for (o, n) in &failing {
                writeln!(out, "--fail-on {}: {n} connection(s)", o.name())?;
                differing.push(*o);
            }
        }
        if !passed {
            differing.sort();
            differing.dedup();
            let mut header = false;
            for o in differing {
                for (title, text) in self.examples.get(&o).into_iter().flatten() {
                    if shown.iter().any(|s| title.starts_with(s.as_str())) {
                        continue;
                    }
                    if !header {
                        writeln!(out)?;
                        writeln!(out, "Example timelines of the outcomes that differ:")?;
                        header = true;
                    }
                    writeln!(out, "  {title}")?;
                    write!(out, "{text}")?;
                }
            }
        }
        writeln!(out)?;
        writeln!(out, "check {}", if passed { "passed" } else { "FAILED" })?;
        Ok(passed)
    }
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
        assert!(text.ends_with("check FAILED\n"));
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
            .contains("--fail-on post-handshake-rst: 2 connection(s)"));
    }
}
