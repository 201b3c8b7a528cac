//! The servers table: one bar of outcomes per server, the most troubled
//! first. The page shows at most [`MAX_SERVERS`] rows, so it keeps no more
//! than that while the rows stream past: a port scan's JSON has a row per
//! target, the page forty.

use std::cmp::Ordering;

use maud::{html, Markup};
use serde_json::Value;

use super::chart::{f1, MAX_SERVERS};
use super::{benign, key, outcome_colour, outcome_order, ptr, value_text};

/// The rows of the JSON's `servers` the page shows, each with its index
/// there (the JSON pointers name it), and how many rows there were.
#[derive(Default)]
pub struct ServersShown {
    kept: Vec<(usize, Value)>,
    rows: usize,
}

fn trouble(s: &Value) -> u64 {
    s["outcomes"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(o, _)| !benign(o))
                .filter_map(|(_, n)| n.as_u64())
                .sum()
        })
        .unwrap_or(0)
}

/// Most trouble first, then by name, then as the JSON lists them.
fn order(a: &(usize, Value), b: &(usize, Value)) -> Ordering {
    trouble(&b.1)
        .cmp(&trouble(&a.1))
        .then_with(|| a.1["server"].as_str().cmp(&b.1["server"].as_str()))
        .then(a.0.cmp(&b.0))
}

impl ServersShown {
    /// The rows of a whole JSON document's `servers`.
    pub fn of(doc: &Value) -> Self {
        let mut shown = ServersShown::default();
        for (i, s) in doc["servers"].as_array().into_iter().flatten().enumerate() {
            shown.add(i, s.clone());
        }
        shown
    }

    /// Row `i` of the JSON's `servers`; rows without outcomes are not drawn.
    pub fn add(&mut self, i: usize, row: Value) {
        if !row["outcomes"].is_object() {
            return;
        }
        self.rows += 1;
        self.kept.push((i, row));
        if self.kept.len() >= 2 * MAX_SERVERS {
            self.keep_top();
        }
    }

    fn keep_top(&mut self) {
        self.kept.sort_by(order);
        self.kept.truncate(MAX_SERVERS);
    }
}

/// Per server, one bar of its outcomes (each server's bar is its own
/// total), most troubled servers first.
pub fn section(mut servers: ServersShown) -> Markup {
    servers.keep_top();
    let more = servers.rows.saturating_sub(MAX_SERVERS);
    html! {
        section #servers data-section="servers" {
            h2 { "Servers" }
            @if servers.kept.is_empty() { p { "No servers." } }
            @else {
                table.servers data-table="servers" {
                    thead { tr { th { "server" } th { "outcomes" } th.num { "connections" } th { "counts" } } }
                    tbody {
                        @for (i, s) in &servers.kept {
                            (server_row(*i, s))
                        }
                    }
                }
                @if more > 0 {
                    p.note data-more-servers=(more) {
                        (more) " more servers with less trouble are not shown; "
                        code { "rstscope flows" } " lists every connection."
                    }
                }
            }
        }
    }
}

/// `v` with the pointer it has in the JSON document (see the module
/// comment of `html`).
fn shown_at(v: Option<&Value>, pointer: &str) -> Markup {
    html! { span.v data-json=(pointer) { (value_text(v.unwrap_or(&Value::Null))) } }
}

fn server_row(i: usize, s: &Value) -> Markup {
    const BW: f64 = 300.0;
    const BH: f64 = 16.0;
    let by = s["outcomes"].as_object();
    let mut outcomes: Vec<(&String, u64)> = by
        .map(|m| {
            m.iter()
                .map(|(o, n)| (o, n.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    outcomes.sort_by_key(|(o, _)| outcome_order(o));
    let sum: u64 = outcomes.iter().map(|(_, n)| n).sum::<u64>().max(1);
    let mut x = 0.0;
    let segments: Vec<(&String, u64, f64, f64)> = outcomes
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(o, n)| {
            let w = *n as f64 / sum as f64 * BW;
            x += w;
            (*o, *n, x - w, w)
        })
        .collect();
    let count = |o: &str| by.and_then(|m| m.get(o));
    html! {
        tr data-server=(s["server"].as_str().unwrap_or("")) {
            td { (shown_at(s.get("server"), &ptr(&[&"servers", &i, &"server"]))) }
            td {
                svg.bar data-chart="server-outcomes" viewBox=(format!("0 0 {BW} {BH}")) width=(BW) height=(BH)
                    preserveAspectRatio="none" role="img"
                    aria-label=(format!("outcomes of {}", s["server"].as_str().unwrap_or(""))) {
                    @for &(o, n, x, w) in &segments {
                            rect data-json=(ptr(&[&"servers", &i, &"outcomes", &key(o)])) data-value=(n)
                                data-outcome=(o) x=(f1(x)) y="0" width=(f1(w.max(1.0))) height=(BH)
                                fill=(outcome_colour(o)) {
                                title { (n) " " (o) }
                            }
                    }
                }
            }
            td.num { (shown_at(s.get("connections"), &ptr(&[&"servers", &i, &"connections"]))) }
            td.counts {
                @for (j, (o, _)) in outcomes.iter().filter(|(_, n)| *n > 0).enumerate() {
                    @if j > 0 { ", " }
                    (shown_at(count(o), &ptr(&[&"servers", &i, &"outcomes", &key(o)]))) " " (o)
                }
            }
        }
    }
}
