//! The findings of `diagnosis.md`, in the JSON's order: what went wrong,
//! where, when, the numbers behind it, the likely cause, what to check, a
//! chart over time and the example connections. A JSON without findings
//! (before the diagnosis existed) gets the troubled groups of its per-server
//! table instead, with the whole capture's chart when there is a time series.

use std::io::{self, Write};

use maud::{html, Markup, PreEscaped};
use serde_json::Value;

use super::time::parse_ns;
use super::{
    benign, chart, endpoint, key, ladder, outcome_badge, ptr, shown, value_text, with_code,
};

pub fn section(doc: &Value) -> Markup {
    html! {
        section #findings data-section="findings" {
            h2 { "Findings" }
            @match doc.get("findings").and_then(Value::as_array) {
                Some(list) if list.is_empty() => {
                    p.none data-findings="0" { "No problem found: no finding in this capture." }
                    (overall_chart(doc))
                }
                Some(list) => {
                    ol.findings data-findings=(list.len()) {
                        @for (i, f) in list.iter().enumerate() { li { (finding(doc, i, f)) } }
                    }
                }
                None => {
                    (without_findings(doc))
                    (overall_chart(doc))
                }
            }
        }
    }
}

fn overall_chart(doc: &Value) -> Markup {
    html! {
        @if let Some(c) = chart::timeseries(doc, &|_| true, None, "Resets and failed attempts over time, all servers") {
            (c)
        }
    }
}

fn finding(doc: &Value, i: usize, f: &Value) -> Markup {
    let p = |k: &str| ptr(&[&"findings", &i, &k]);
    let kind = f["kind"].as_str().unwrap_or("finding");
    let server = f["server"].as_str().unwrap_or("");
    let servers: Vec<&str> = f["servers"]
        .as_array()
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let window = f["window"]["start"]
        .as_str()
        .and_then(parse_ns)
        .zip(f["window"]["end"].as_str().and_then(parse_ns));
    let pick = |s: &str| s == server || servers.contains(&s);
    html! {
        article.finding #(format!("finding-{i}")) data-finding=(i) data-kind=(kind) {
            h3 {
                span.kind { (shown(doc, &p("kind"))) }
                @if !server.is_empty() { " on " (shown(doc, &p("server"))) }
                @if f["client"].is_string() { " from client " (shown(doc, &p("client"))) }
            }
            @if servers.len() > 1 || (servers.len() == 1 && servers[0] != server) {
                p.servers { "Servers: "
                    @for (j, _) in servers.iter().enumerate() {
                        @if j > 0 { ", " }
                        (shown(doc, &ptr(&[&"findings", &i, &"servers", &j])))
                    }
                }
            }
            dl.numbers {
                dt { "affected connections" } dd { (shown(doc, &p("count"))) }
                @if f["connections"].is_number() {
                    dt { "connections of the server in the window" } dd { (shown(doc, &p("connections"))) }
                }
                @if f["window"].is_object() {
                    dt { "window" } dd {
                        (shown(doc, &ptr(&[&"findings", &i, &"window", &"start"]))) " – "
                        (shown(doc, &ptr(&[&"findings", &i, &"window", &"end"])))
                    }
                    @if f["window"]["peak_per_s"].is_number() {
                        dt { "peak" } dd {
                            (shown(doc, &ptr(&[&"findings", &i, &"window", &"peak_per_s"]))) " per second"
                            @if f["window"]["peak_at"].is_string() {
                                " at " (shown(doc, &ptr(&[&"findings", &i, &"window", &"peak_at"])))
                            }
                        }
                    }
                }
            }
            (pairs(doc, i, "variants", "variant", &f["variants"]))
            (pairs(doc, i, "facts", "fact", &f["facts"]))
            @if let Some(cause) = f["cause"].as_str() {
                p.cause { strong { "Likely cause: " } span data-json=(p("cause")) { (cause) } }
            }
            @if let Some(checks) = f["check"].as_array() {
                div.check { strong { "What to check:" }
                    ul { @for (j, c) in checks.iter().enumerate() {
                        li data-json-text=(ptr(&[&"findings", &i, &"check", &j])) { (with_code(&value_text(c))) }
                    } }
                }
            }
            @if let Some(c) = chart::timeseries(doc, &pick, window, &format!("{kind} on {server} over time")) {
                (c)
            } @else {
                p.note { "No time series in this report." }
            }
            (examples(doc, i, f))
        }
    }
}

/// A small table of name → value (variants with their counts, facts).
fn pairs(doc: &Value, i: usize, field: &str, what: &str, v: &Value) -> Markup {
    html! {
        @if let Some(m) = v.as_object().filter(|m| !m.is_empty()) {
            table.pairs data-table=(field) {
                thead { tr { th { (what) } th.num { "value" } } }
                tbody {
                    @for (k, x) in m {
                        tr {
                            td { (k) }
                            td.num {
                                @if x.is_object() || x.is_array() { (x.to_string()) }
                                @else { (shown(doc, &ptr(&[&"findings", &i, &field, &key(k)]))) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A finding's example connections: drawn here when the finding carries
/// their segments, else linked to the same connection among the report's
/// examples.
fn examples(doc: &Value, i: usize, f: &Value) -> Markup {
    let Some(list) = f["examples"].as_array().filter(|l| !l.is_empty()) else {
        return html! {};
    };
    html! {
        div.examples {
            strong { "Examples:" }
            ul {
                @for (j, e) in list.iter().enumerate() {
                    @let client = e["client"].as_str().map(|c| with_port(c, &e["client_port"]));
                    @let server = e["server"].as_str().map(|s| with_port(s, &e["server_port"]));
                    li data-example=(j) {
                        (client.clone().unwrap_or_default()) " → " (server.clone().unwrap_or_default())
                        @if let Some(t) = e["first_time"].as_str() { ", " (t) }
                        @if e["segments"].is_array() {
                            (ladder::figure(&ptr(&[&"findings", &i, &"examples", &j]), e))
                        } @else if let Some(k) = find_example(doc, client.as_deref(), server.as_deref()) {
                            " (" a href=(format!("#ex-{k}")) { "ladder diagram" } ")"
                        }
                    }
                }
            }
        }
    }
}

/// [`section`] of a report whose `count` findings are given one at a time
/// by `finding(i)`, each written as soon as it is drawn.
pub fn write_section(
    out: &mut dyn Write,
    doc: &mut Value,
    count: usize,
    finding: &mut dyn FnMut(usize) -> io::Result<Value>,
) -> io::Result<()> {
    if count == 0 {
        doc["findings"] = Value::Array(Vec::new());
        return out.write_all(section(doc).into_string().as_bytes());
    }
    const HERE: &str = "<!--rstscope finding-->";
    let frame = html! {
        section #findings data-section="findings" {
            h2 { "Findings" }
            ol.findings data-findings=(count) { (PreEscaped(HERE)) }
        }
    }
    .into_string();
    let (head, tail) = frame
        .split_once(HERE)
        .ok_or_else(|| io::Error::other("the findings lost their place"))?;
    out.write_all(head.as_bytes())?;
    // The finding sits at its own index (its pointers name it), the others
    // are null while it is drawn.
    doc["findings"] = Value::Array(vec![Value::Null; count]);
    for i in 0..count {
        doc["findings"][i] = finding(i)?;
        let li = html! { li { (self::finding(doc, i, &doc["findings"][i])) } };
        out.write_all(li.into_string().as_bytes())?;
        doc["findings"][i] = Value::Null;
    }
    out.write_all(tail.as_bytes())
}

/// An endpoint written whole (`[::1]:54028`) or as an address and a port.
fn with_port(addr: &str, port: &Value) -> String {
    if port.is_null() {
        addr.to_string()
    } else {
        endpoint(addr, port)
    }
}

fn find_example(doc: &Value, client: Option<&str>, server: Option<&str>) -> Option<usize> {
    doc["examples"].as_array()?.iter().position(|e| {
        let c = endpoint(e["client"].as_str().unwrap_or(""), &e["client_port"]);
        let s = endpoint(e["server"].as_str().unwrap_or(""), &e["server_port"]);
        Some(c.as_str()) == client && server.is_none_or(|x| x == s)
    })
}

/// Before findings existed: each (server, troubled outcome) with its count,
/// most troubled servers first, linking to its example ladders.
fn without_findings(doc: &Value) -> Markup {
    let mut groups: Vec<(u64, usize, &str, String)> = Vec::new();
    for (i, s) in doc["servers"].as_array().into_iter().flatten().enumerate() {
        let name = s["server"].as_str().unwrap_or("");
        for (o, n) in s["outcomes"].as_object().into_iter().flatten() {
            let n = n.as_u64().unwrap_or(0);
            if n > 0 && !benign(o) && o != "rst-after-close" {
                groups.push((n, i, name, o.clone()));
            }
        }
    }
    groups.sort_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(b.2)).then(a.3.cmp(&b.3)));
    let more = groups.len().saturating_sub(chart::MAX_SERVERS);
    groups.truncate(chart::MAX_SERVERS);
    html! {
        @if groups.is_empty() {
            p.none data-findings="0" { "No problem found: every connection closed cleanly or is still open." }
        } @else {
            ul.groups data-groups=(groups.len()) {
                @for (_, i, name, o) in &groups {
                    li {
                        (outcome_badge(o)) " on " strong { (name) } ": "
                        (shown(doc, &ptr(&[&"servers", i, &"outcomes", &key(o)])))
                        @if doc.pointer(&ptr(&[&"servers", i, &"outcomes", &key(o)])).and_then(Value::as_u64) == Some(1) {
                            " connection"
                        } @else { " connections" }
                        @if let Some(k) = first_example(doc, name, o) {
                            " (" a href=(format!("#ex-{k}")) { "examples" } ")"
                        }
                    }
                }
            }
            @if more > 0 { p.note { (more) " smaller groups are in the servers table." } }
        }
    }
}

fn first_example(doc: &Value, server: &str, outcome: &str) -> Option<usize> {
    doc["examples"].as_array()?.iter().position(|e| {
        e["outcome"].as_str() == Some(outcome)
            && endpoint(e["server"].as_str().unwrap_or(""), &e["server_port"]) == server
    })
}
