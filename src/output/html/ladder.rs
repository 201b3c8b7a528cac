//! Ladder diagrams, as Wireshark's flow graph draws them: the client and the
//! server as two vertical lines, one arrow per kept segment with its flags
//! and relative seq/ack, time on the left, and the deciding segments marked
//! in red with their notes numbered below.

use maud::{html, Markup};
use serde_json::Value;

use super::{endpoint, outcome_badge_at, ptr, shown, value_text};

/// Ladders drawn at most: each is a few kilobytes, and the report's example
/// list grows with the number of servers.
pub const MAX_LADDERS: usize = 24;

const W: f64 = 760.0;
const CLIENT_X: f64 = 150.0;
const SERVER_X: f64 = 600.0;
const HEAD: f64 = 40.0;
const ROW: f64 = 30.0;

pub fn section(doc: &Value) -> Markup {
    let examples = doc["examples"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let more = examples.len().saturating_sub(MAX_LADDERS);
    html! {
        section #examples data-section="examples" {
            h2 { "Example connections" }
            @if examples.is_empty() { p { "No example connections: nothing went wrong." } }
            @for (i, e) in examples.iter().take(MAX_LADDERS).enumerate() {
                @let base = ptr(&[&"examples", &i]);
                article.example #(format!("ex-{i}")) data-example=(i) {
                    h3 {
                        (outcome_badge_at(e["outcome"].as_str().unwrap_or(""), &format!("{base}/outcome")))
                        " " (endpoint(e["client"].as_str().unwrap_or(""), &e["client_port"]))
                        " → " (endpoint(e["server"].as_str().unwrap_or(""), &e["server_port"]))
                    }
                    p.facts {
                        @if e["rst_by"].is_string() {
                            "reset by " (shown(doc, &format!("{base}/rst_by")))
                            " at " (shown(doc, &format!("{base}/rst_time")))
                        } @else {
                            "started " (shown(doc, &format!("{base}/first_time")))
                        }
                    }
                    @if let Some(ev) = e["evidence"].as_str() { p.evidence data-json=(format!("{base}/evidence")) { (ev) } }
                    @if let Some(s) = e["rst_suspect"].as_str() {
                        p.suspect { "Suspicious RST: " span data-json=(format!("{base}/rst_suspect")) { (s) } }
                    }
                    (figure(&base, e))
                }
            }
            @if more > 0 {
                p.note data-more-examples=(more) {
                    (more) " more example connections are in "
                    code { "rstscope report --format json" } " and " code { "rstscope timeline" } "."
                }
            }
        }
    }
}

/// One row of the ladder: a segment, or the segments the bounded timeline
/// did not keep.
enum Row<'a> {
    Seg(usize, &'a Value),
    Gap(u64),
}

/// The ladder of the connection at `base` (a JSON pointer) whose kept
/// segments are `e.segments`; the text timeline when it has none.
pub fn figure(base: &str, e: &Value) -> Markup {
    let Some(segs) = e["segments"].as_array() else {
        return html! {
            @if let Some(lines) = e["timeline"].as_array() {
                pre.timeline { @for l in lines { (value_text(l)) "\n" } }
            }
        };
    };
    let mut rows = Vec::new();
    let mut expect = 0u64;
    for (k, s) in segs.iter().enumerate() {
        let ord = s["ord"].as_u64().unwrap_or(expect);
        if ord > expect {
            rows.push(Row::Gap(ord - expect));
        }
        expect = ord.saturating_add(1);
        rows.push(Row::Seg(k, s));
    }
    let total = e["packets_c2s"].as_u64().unwrap_or(0) + e["packets_s2c"].as_u64().unwrap_or(0);
    if total > expect && !segs.is_empty() {
        rows.push(Row::Gap(total - expect));
    }
    let height = HEAD + rows.len() as f64 * ROW + 10.0;
    let client = endpoint(e["client"].as_str().unwrap_or("client"), &e["client_port"]);
    let server = endpoint(e["server"].as_str().unwrap_or("server"), &e["server_port"]);
    // Notes of the deciding segments, numbered in the order they appear.
    let mut notes: Vec<(usize, String)> = Vec::new();
    for (k, s) in segs.iter().enumerate() {
        for n in s["notes"].as_array().into_iter().flatten() {
            notes.push((k, value_text(n)));
        }
    }
    let number_of = |k: usize| notes.iter().position(|(j, _)| *j == k).map(|p| p + 1);
    html! {
        figure.ladder data-chart="ladder" data-json-base=(base) data-segments=(segs.len()) {
            svg viewBox=(format!("0 0 {W} {height}")) role="img"
                aria-label=(format!("ladder diagram of {client} to {server}")) {
                text.end x=(CLIENT_X) y="16" text-anchor="middle" { "client " (client) }
                text.end x=(SERVER_X) y="16" text-anchor="middle" { "server " (server) }
                line.life x1=(CLIENT_X) y1="24" x2=(CLIENT_X) y2=(height - 4.0) {}
                line.life x1=(SERVER_X) y1="24" x2=(SERVER_X) y2=(height - 4.0) {}
                @for (r, row) in rows.iter().enumerate() {
                    @let y = HEAD + r as f64 * ROW + 18.0;
                    @match row {
                        Row::Gap(n) => {
                            text.gap x=((CLIENT_X + SERVER_X) / 2.0) y=(y) text-anchor="middle" data-gap=(n) {
                                "… " (n) " segments not kept …"
                            }
                        }
                        Row::Seg(k, s) => { (arrow(&format!("{base}/segments/{k}"), s, y, number_of(*k))) }
                    }
                }
            }
            @if !notes.is_empty() {
                ol.notes {
                    @for (k, n) in &notes {
                        li data-note-seg=(k) { (n) }
                    }
                }
            }
        }
    }
}

fn arrow(p: &str, s: &Value, y: f64, mark: Option<usize>) -> Markup {
    let from_client = s["from"].as_str() != Some("server");
    let (x1, x2) = if from_client {
        (CLIENT_X, SERVER_X)
    } else {
        (SERVER_X, CLIENT_X)
    };
    let flags = s["flags"].as_str().unwrap_or("");
    let len = s["len"].as_u64().unwrap_or(0);
    let kind = if flags.contains('R') {
        "rst"
    } else if flags.contains('S') {
        "syn"
    } else if flags.contains('F') {
        "fin"
    } else if len > 0 {
        "data"
    } else {
        "ack"
    };
    let dir = if from_client { 1.0 } else { -1.0 };
    let tip = x2 - dir * 1.0;
    let head = format!(
        "{tip},{y} {},{} {},{}",
        tip - dir * 9.0,
        y - 4.0,
        tip - dir * 9.0,
        y + 4.0
    );
    let seq_end = s["seq"].as_i64().map(|q| q + len as i64);
    html! {
        g.seg.(kind).marked[mark.is_some()].key[s["key"].as_bool() == Some(true)]
            data-seg=(p.rsplit('/').next().unwrap_or("")) data-base=(p) {
            text.time x=(CLIENT_X - 12.0) y=(y + 4.0) {
                // Microseconds, as the text timeline prints them.
                "+" tspan data-k="t" { (format!("{:.6}", s["t"].as_f64().unwrap_or(0.0))) }
            }
            line x1=(x1) y1=(y) x2=(tip - dir * 8.0) y2=(y) {}
            polygon points=(head) {}
            text.label x=((CLIENT_X + SERVER_X) / 2.0) y=(y - 5.0) {
                tspan.flags { "[" tspan data-k="flags" { (value_text(&s["flags"])) } "]" }
                @if s["seq"].is_i64() {
                    " seq " tspan data-k="seq" { (value_text(&s["seq"])) }
                    @if len > 0 { @if let Some(end) = seq_end { ":" (end) } }
                }
                @if s["ack"].is_i64() { " ack " tspan data-k="ack" { (value_text(&s["ack"])) } }
                @if flags.contains('S') || (s["win"].as_u64() == Some(0) && !flags.contains('R')) {
                    " win " tspan data-k="win" { (value_text(&s["win"])) }
                }
                @if len > 0 { " len " tspan data-k="len" { (value_text(&s["len"])) } }
            }
            @if let Some(n) = mark {
                circle cx=(SERVER_X + 22.0) cy=(y) r="9" {}
                text.mark x=(SERVER_X + 22.0) y=(y + 4.0) { (n) }
            }
            @if mark.is_some() {
                title { @for n in s["notes"].as_array().into_iter().flatten() { (value_text(n)) " " } }
            }
        }
    }
}
