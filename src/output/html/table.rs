//! The connections table: the JSON's `table` rows (the most troubled
//! connections, bounded), one row each, with a note of how many more there
//! are. It reads as a plain table; the page's script adds sorting by any
//! column and a filter by words and outcome.

use std::collections::BTreeSet;

use maud::{html, Markup};
use serde_json::Value;

use super::{badge_rel, outcome_order, ptr, shown, value_text};

/// Characters of evidence a row shows: its first clause or two say what
/// happened; the rest is in `flows`, and 500 full sentences would be most of
/// the page.
const EVIDENCE_CHARS: usize = 200;

/// The first [`EVIDENCE_CHARS`] of `text` at a word boundary, when longer.
fn cut(text: &str) -> Option<&str> {
    if text.chars().count() <= EVIDENCE_CHARS {
        return None;
    }
    let end = text
        .char_indices()
        .nth(EVIDENCE_CHARS)
        .map_or(text.len(), |(i, _)| i);
    let head = &text[..end];
    Some(head.rfind(' ').map_or(head, |i| &head[..i]))
}

/// (field, heading, sorts as a number)
const COLUMNS: [(&str, &str, bool); 11] = [
    ("client", "client", false),
    ("server", "server", false),
    ("outcome", "outcome", false),
    ("rst_by", "reset by", false),
    ("rst_reply_to", "in reply to", false),
    ("first_time", "first segment (UTC)", false),
    ("duration", "duration s", true),
    ("packets_c2s", "pkts c→s", true),
    ("packets_s2c", "pkts s→c", true),
    ("bytes_c2s", "bytes c→s", true),
    ("bytes_s2c", "bytes s→c", true),
];

pub fn section(doc: &Value) -> Markup {
    let table = &doc["table"];
    let rows = table["rows"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let total = table["total"].as_u64().unwrap_or(rows.len() as u64);
    let outcomes: BTreeSet<(usize, &str)> = rows
        .iter()
        .filter_map(|r| r["outcome"].as_str())
        .map(|o| (outcome_order(o), o))
        .collect();
    html! {
        section #connections data-section="connections" {
            h2 { "Connections" }
            @if table.is_null() {
                p.note { "This report has no connections table; " code { "rstscope flows" } " lists every connection." }
            } @else {
                p.note {
                    @if total > rows.len() as u64 {
                        "The " (rows.len()) " most troubled of " (shown(doc, "/table/total"))
                        " connections; " code { "rstscope flows" } " lists every one."
                    } @else {
                        "All " (shown(doc, "/table/total")) " connections, most troubled first."
                    }
                }
                div.controls.js-only hidden {
                    label { "Filter " input #conn-filter type="search" placeholder="address, port, words"; }
                    " "
                    label { "Outcome "
                        select #conn-outcome {
                            option value="" { "any" }
                            @for (_, o) in &outcomes { option value=(o) { (o) } }
                        }
                    }
                    " " span #conn-shown { (rows.len()) } " rows shown · click a heading to sort"
                }
                table #connections-table data-table="connections" data-rows=(rows.len()) {
                    thead { tr {
                        th data-type="num" { "#" }
                        @for (_, head, num) in COLUMNS {
                            th.num[num] data-type=(if num { "num" } else { "text" }) { (head) }
                        }
                        th data-type="text" { "evidence" }
                    } }
                    tbody {
                        @for (i, r) in rows.iter().enumerate() { (row(i, r)) }
                    }
                }
            }
        }
    }
}

fn row(i: usize, r: &Value) -> Markup {
    let outcome = r["outcome"].as_str().unwrap_or("");
    // Cells name their field relative to the row's pointer (`data-base`):
    // five hundred rows of full pointers would double the page.
    html! {
        tr data-row=(i) data-outcome=(outcome) data-base=(ptr(&[&"table", &"rows", &i])) {
            td.num { (i + 1) }
            @for (field, _, num) in COLUMNS {
                @match field {
                    "client" | "server" => {
                        @let v6 = r[field].as_str().is_some_and(|a| a.contains(':'));
                        td {
                            @if v6 { "[" }
                            span data-k=(field) { (value_text(&r[field])) }
                            @if v6 { "]" }
                            ":" span data-k=(format!("{field}_port")) { (value_text(&r[format!("{field}_port")])) }
                        }
                    }
                    "outcome" => {
                        td data-sort=(outcome_order(outcome)) { (badge_rel(outcome, field)) }
                    }
                    _ if num => { td.num data-k=(field) { (value_text(&r[field])) } }
                    _ => { td data-k=(field) { (value_text(&r[field])) } }
                }
            }
            td.evidence {
                @let evidence = value_text(&r["evidence"]);
                @match cut(&evidence) {
                    Some(head) => { span data-k-prefix="evidence" { (head) "…" } }
                    None => { span data-k="evidence" { (evidence) } }
                }
                @if r["rst_suspect"].is_string() {
                    " " strong { "Suspicious RST: " } span data-k="rst_suspect" { (value_text(&r["rst_suspect"])) }
                }
            }
        }
    }
}
