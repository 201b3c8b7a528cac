//! `report --format html`: one self-contained page for a post-mortem, drawn
//! from the very JSON value `report --format json` writes (never a second
//! analysis), so the two can never disagree.
//!
//! Every element that shows a number or word of the JSON carries
//! `data-json="<JSON pointer>"` and, as its only text, that value (numbers as
//! Rust prints them): a test can hold the page to the JSON by pointer. Keys
//! the JSON does not have yet (`findings`, `timeseries`) are simply not drawn.
//!
//! Templates are maud's, which escapes every value it interpolates; only the
//! page's own stylesheet and script are inserted raw. Charts are hand-written
//! SVG, a few elements each. The Content-Security-Policy forbids every fetch,
//! so a page that tried one would fail visibly rather than leak.

mod capture;
mod chart;
mod findings;
mod ladder;
mod servers;
mod table;
mod time;

use std::fmt::Display;
use std::io::{self, Write};

use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::Value;

pub use servers::ServersShown;

/// Nothing may be fetched: styles and scripts are inline, images data: URLs.
pub const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

const STYLE: &str = include_str!("style.css");
/// Runs first: counts Content-Security-Policy violations into the DOM, so a
/// headless browser's dump shows whether the page tried to fetch anything.
const GUARD: &str = include_str!("guard.js");
/// Sorting and filtering of the connections table; the page reads the same
/// without it.
const SCRIPT: &str = include_str!("table.js");

/// The whole page for a `report --format json` value.
pub fn render(doc: &Value) -> String {
    page(doc, ServersShown::of(doc), findings::section(doc))
}

/// Where the findings go in a page written in parts: a comment, which no
/// escaped value can contain.
const FINDINGS_HERE: &str = "<!--rstscope findings-->";

/// The page for a `report --format json` value without its `findings` and
/// `servers`, which are given one at a time: `servers` was read row by row,
/// and `finding(i)` gives finding `i` of `count`. The findings are written
/// as they are drawn, so the page never holds them all: the same bytes as
/// [`render`] of the whole value.
pub fn write_page(
    out: &mut dyn Write,
    doc: &mut Value,
    servers: ServersShown,
    count: usize,
    finding: &mut dyn FnMut(usize) -> io::Result<Value>,
) -> io::Result<()> {
    let page = page(doc, servers, PreEscaped(FINDINGS_HERE.to_string()));
    let (head, tail) = page
        .split_once(FINDINGS_HERE)
        .ok_or_else(|| io::Error::other("the page lost its findings' place"))?;
    out.write_all(head.as_bytes())?;
    findings::write_section(out, doc, count, finding)?;
    out.write_all(tail.as_bytes())
}

fn page(doc: &Value, servers: ServersShown, findings: Markup) -> String {
    let files: Vec<&str> = doc["capture"]["files"]
        .as_array()
        .map(|fs| fs.iter().filter_map(|f| f["file"].as_str()).collect())
        .unwrap_or_default();
    let title = if files.is_empty() {
        "rstscope report".to_string()
    } else {
        format!("rstscope report: {}", files.join(", "))
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(CSP);
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content=(concat!("rstscope ", env!("CARGO_PKG_VERSION")));
                title { (title) }
                script { (PreEscaped(GUARD)) }
                style { (PreEscaped(STYLE)) (PreEscaped(badge_style())) }
            }
            body data-rstscope-report="1" {
                header {
                    h1 { (title) }
                    (summary_line(doc))
                    nav {
                        a href="#capture" { "Capture" } " · "
                        a href="#findings" { "Findings" } " · "
                        a href="#servers" { "Servers" } " · "
                        a href="#examples" { "Example connections" } " · "
                        a href="#connections" { "Connections" }
                    }
                }
                (capture::section(doc))
                (findings)
                (servers::section(servers))
                (ladder::section(doc))
                (table::section(doc))
                footer {
                    "Written by rstscope " (env!("CARGO_PKG_VERSION"))
                    " from the same data as "
                    code { "rstscope report --format json" }
                    ". Times are UTC."
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
    .into_string()
}

/// Connections in the capture and the outcome counts, in one line.
fn summary_line(doc: &Value) -> Markup {
    let outcomes = doc["outcomes"].as_object();
    html! {
        p.lead {
            @if doc["connections"].is_u64() {
                (shown(doc, "/connections")) " connections"
            }
            @if let Some(outcomes) = outcomes {
                @for (name, n) in outcomes.iter().filter(|(_, n)| n.as_u64().unwrap_or(0) > 0) {
                    @let _ = n;
                    " · "
                    (outcome_badge(name))
                    " "
                    (shown(doc, &ptr(&[&"outcomes", &key(name)])))
                }
            }
        }
    }
}

/// A JSON pointer from its parts (already escaped where they are keys).
fn ptr(parts: &[&dyn Display]) -> String {
    let mut s = String::new();
    for p in parts {
        s.push('/');
        s.push_str(&p.to_string());
    }
    s
}

/// A key as one JSON pointer token (RFC 6901: `~` and `/` escaped).
fn key(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

/// A JSON value as the page shows it: strings as they are, integers in
/// decimal, other numbers as Rust prints an `f64` (shortest round trip, no
/// exponent), `null` as an empty string.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => u.to_string(),
            (None, Some(i), _) => i.to_string(),
            (None, None, Some(f)) => f.to_string(),
            _ => n.to_string(),
        },
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The value at `pointer`, shown with its pointer (see the module comment).
fn shown(doc: &Value, pointer: &str) -> Markup {
    let v = doc.pointer(pointer).unwrap_or(&Value::Null);
    html! { span.v data-json=(pointer) { (value_text(v)) } }
}

/// Colours per outcome, so every chart and badge agrees. Outcomes the page
/// does not know yet get a neutral grey.
fn outcome_colour(outcome: &str) -> &'static str {
    match outcome {
        "clean" => "#7cb342",
        "open" => "#b0bec5",
        "refused" => "#e53935",
        "unanswered" => "#fb8c00",
        "handshake-rst" => "#d81b60",
        "post-handshake-rst" => "#8b1a1a",
        "server-abort" => "#8e24aa",
        "client-abort" => "#1e88e5",
        "rst-after-half-close" => "#00897b",
        "half-closed" => "#fdd835",
        "rst-after-close" => "#78909c",
        _ => "#9e9e9e",
    }
}

/// Drawing order of outcomes in stacks and legends: the server's failures
/// first (nearest the axis), benign ones last.
fn outcome_order(outcome: &str) -> usize {
    OUTCOMES
        .iter()
        .position(|o| *o == outcome)
        .unwrap_or(OUTCOMES.len())
}

/// The outcomes of `resets.md`, in drawing order.
const OUTCOMES: [&str; 11] = [
    "post-handshake-rst",
    "handshake-rst",
    "refused",
    "unanswered",
    "server-abort",
    "client-abort",
    "rst-after-half-close",
    "half-closed",
    "rst-after-close",
    "open",
    "clean",
];

/// Outcomes that are no trouble, for ranking servers and connections.
fn benign(outcome: &str) -> bool {
    matches!(outcome, "clean" | "open")
}

fn outcome_badge(outcome: &str) -> Markup {
    badge(outcome, None, None)
}

/// A badge whose word is the JSON value at `pointer`.
fn outcome_badge_at(outcome: &str, pointer: &str) -> Markup {
    badge(outcome, Some(pointer), None)
}

/// A badge whose word is field `k` of the enclosing `data-base`.
fn badge_rel(outcome: &str, k: &str) -> Markup {
    badge(outcome, None, Some(k))
}

/// Known outcomes are coloured by class (rules in [`badge_style`]), others
/// grey: a class per badge keeps a 500-row table small.
fn badge(outcome: &str, pointer: Option<&str>, k: Option<&str>) -> Markup {
    html! {
        span.badge.(format!("o-{outcome}")) {
            span.sw {}
            span data-json=[pointer] data-k=[k] { (outcome) }
        }
    }
}

/// The badge colour rules, from the same table the charts use.
fn badge_style() -> String {
    let mut css = String::new();
    for o in OUTCOMES {
        let c = outcome_colour(o);
        css.push_str(&format!(
            ".o-{o}{{border-color:{c}}}.o-{o} .sw{{background:{c}}}\n"
        ));
    }
    css
}

/// `addr:port`, bracketing IPv6 addresses as the text report does.
fn endpoint(addr: &str, port: &Value) -> String {
    let port = value_text(port);
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

/// Text with `code` spans where the words are in backticks (the check
/// lists quote commands that way).
fn with_code(text: &str) -> Markup {
    html! {
        @for (i, part) in text.split('`').enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

#[cfg(test)]
mod tests;
