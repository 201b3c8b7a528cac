//! The capture block: what was read, before any diagnosis is trusted. Drawn
//! from the JSON's `capture` object generically, so counters added to it
//! later show up without a change here.

use maud::{html, Markup};
use serde_json::Value;

use super::{key, ptr, shown, value_text};

/// Counters that are zero say nothing; these are always shown.
const ALWAYS: [&str; 4] = ["first_time", "last_time", "packets_read", "tcp_segments"];

fn label(k: &str) -> String {
    k.replace('_', " ")
}

pub fn section(doc: &Value) -> Markup {
    let capture = &doc["capture"];
    let files = capture["files"].as_array();
    html! {
        section #capture data-section="capture" {
            h2 { "Capture" }
            @if let Some(files) = files {
                table.files data-table="files" {
                    thead { tr {
                        th { "file" } th { "format" } th { "link types" }
                        th.num { "packets" } th.num { "bytes" } th { "first" } th { "last" } th { "cut off at byte" }
                    } }
                    tbody {
                        @for (i, f) in files.iter().enumerate() {
                            @let p = |k: &str| ptr(&[&"capture", &"files", &i, &k]);
                            tr {
                                td { (shown(doc, &p("file"))) }
                                td { (shown(doc, &p("format"))) }
                                td {
                                    @if let Some(l) = f["link_types"].as_array() {
                                        @for (j, _) in l.iter().enumerate() {
                                            @if j > 0 { " + " }
                                            (shown(doc, &ptr(&[&"capture", &"files", &i, &"link_types", &j])))
                                        }
                                    }
                                }
                                td.num { (shown(doc, &p("packets"))) }
                                td.num { (shown(doc, &p("bytes"))) }
                                td { (shown(doc, &p("first_time"))) }
                                td { (shown(doc, &p("last_time"))) }
                                td.num {
                                    @if f["cut_off_at"].is_null() { "—" } @else { (shown(doc, &p("cut_off_at"))) }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(obj) = capture.as_object() {
                table.kv data-table="capture" {
                    tbody {
                        @for (k, v) in obj {
                            @if k != "files" { (row(doc, &[key(k)], v)) }
                        }
                    }
                }
            }
        }
    }
}

/// One counter (or, for an object of counters such as `skipped`, one row per
/// non-zero member). Zero counters other than [`ALWAYS`] are left out.
fn row(doc: &Value, path: &[String], v: &Value) -> Markup {
    let name = path.last().map(String::as_str).unwrap_or("");
    let pointer = format!("/capture/{}", path.join("/"));
    let zero = v.as_u64() == Some(0) || v.is_null() || v.as_array().is_some_and(Vec::is_empty);
    html! {
        @match v {
            Value::Object(m) => {
                @for (k, inner) in m {
                    @if inner.as_u64() != Some(0) {
                        tr { th { (label(name)) ": " (k) } td.num { (shown(doc, &format!("{pointer}/{}", key(k)))) } }
                    }
                }
            }
            Value::Array(a) => {
                @if !a.is_empty() {
                    tr { th { (label(name)) } td {
                        @for (j, x) in a.iter().enumerate() {
                            @if j > 0 { ", " }
                            @if x.is_object() || x.is_array() { (value_text(x)) }
                            @else { (shown(doc, &format!("{pointer}/{j}"))) }
                        }
                    } }
                }
            }
            _ => {
                @if !zero || ALWAYS.contains(&name) {
                    tr { th { (label(name)) } td.num { (shown(doc, &pointer)) } }
                }
            }
        }
    }
}
