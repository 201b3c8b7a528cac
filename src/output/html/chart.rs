//! Hand-written SVG charts: resets and failed attempts over time (one
//! stacked bar per bucket of the JSON's `timeseries`, the incident window
//! shaded) and one bar of outcomes per server. Each bar segment carries the
//! JSON pointer of the count it draws.

use maud::{html, Markup};
use serde_json::Value;

use super::time::{date, parse_ns, tick_label};
use super::{outcome_badge, outcome_colour, outcome_order, ptr};

/// Series drawn in one chart at most (the largest ones): a `*:PORT` finding
/// over thousands of servers must still give a page of bounded size.
const MAX_SERIES: usize = 12;
/// Servers given a bar at most, the most troubled first.
pub const MAX_SERVERS: usize = 40;

const W: f64 = 720.0;
const H: f64 = 200.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 36.0;

/// One bar segment: bucket, count, and the count stacked below it.
type Bar = (usize, u64, u64);

pub fn f1(x: f64) -> String {
    format!("{x:.1}")
}

/// The over-time chart of the series whose server `pick` accepts, with
/// `window` (start, end in ns) shaded. `None` when the JSON has no time
/// series.
pub fn timeseries(
    doc: &Value,
    pick: &dyn Fn(&str) -> bool,
    window: Option<(i64, i64)>,
    label: &str,
) -> Option<Markup> {
    let ts = doc.get("timeseries")?;
    let bucket_ns = (ts["bucket_s"].as_f64()? * 1e9).round() as i64;
    let start = parse_ns(ts["start"].as_str()?)?;
    if bucket_ns <= 0 {
        return None;
    }
    let all = ts["series"].as_array()?;
    let total = |s: &Value| -> u64 {
        s["counts"]
            .as_array()
            .map(|c| c.iter().filter_map(Value::as_u64).sum())
            .unwrap_or(0)
    };
    let mut picked: Vec<(usize, &Value)> = all
        .iter()
        .enumerate()
        .filter(|(_, s)| s["server"].as_str().is_some_and(pick))
        .collect();
    let left_out = picked.len().saturating_sub(MAX_SERIES);
    picked.sort_by_key(|(i, s)| (std::cmp::Reverse(total(s)), *i));
    picked.truncate(MAX_SERIES);
    // Stack order: by outcome (failures nearest the axis), then as listed.
    picked.sort_by_key(|(i, s)| (outcome_order(s["outcome"].as_str().unwrap_or("")), *i));
    // The capture's axis: every series shares it, so a finding with no
    // series of its own (a client host's burst) still shows its window
    // where it happened.
    let buckets = all
        .iter()
        .filter_map(|s| s["counts"].as_array().map(Vec::len))
        .max()
        .unwrap_or(0);
    let mut height = vec![0u64; buckets];
    for (_, s) in &picked {
        for (b, c) in s["counts"].as_array().into_iter().flatten().enumerate() {
            height[b] += c.as_u64().unwrap_or(0);
        }
    }
    let peak = height.iter().copied().max().unwrap_or(0).max(1);
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let bw = pw / buckets.max(1) as f64;
    let span = bucket_ns.saturating_mul(buckets as i64);
    let x_of = |ns: i64| LEFT + (ns.saturating_sub(start)) as f64 / bucket_ns as f64 * bw;
    let y_of = |n: u64| TOP + ph - n as f64 / peak as f64 * ph;
    let ticks = buckets.div_ceil(6).max(1);
    let mut outcomes: Vec<&str> = picked
        .iter()
        .filter_map(|(_, s)| s["outcome"].as_str())
        .collect();
    outcomes.dedup();
    // Each bar segment with the count stacked below it.
    let mut stack = vec![0u64; buckets];
    let mut bars: Vec<(usize, Vec<Bar>)> = Vec::new();
    for (i, s) in &picked {
        let mut mine = Vec::new();
        for (b, c) in s["counts"].as_array().into_iter().flatten().enumerate() {
            let n = c.as_u64().unwrap_or(0);
            if n > 0 {
                mine.push((b, n, stack[b]));
                stack[b] += n;
            }
        }
        bars.push((*i, mine));
    }
    Some(html! {
        figure.chart data-chart="timeseries" data-series=(picked.len()) {
            svg viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(label) {
                @if let Some((ws, we)) = window {
                    @let x0 = x_of(ws).clamp(LEFT, W - RIGHT);
                    @let x1 = (x_of(we) + bw).clamp(LEFT, W - RIGHT);
                    rect.window data-window="1" x=(f1(x0)) y=(TOP) width=(f1((x1 - x0).max(2.0))) height=(ph) {
                        title { "incident window" }
                    }
                }
                line.axis x1=(LEFT) y1=(TOP + ph) x2=(W - RIGHT) y2=(TOP + ph) {}
                line.axis x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(TOP + ph) {}
                text.tick x=(LEFT - 4.0) y=(TOP + ph) text-anchor="end" { "0" }
                text.tick x=(LEFT - 4.0) y=(TOP + 8.0) text-anchor="end" { (peak) }
                // One group per series, its bars naming their counts relative
                // to it: ten findings of twelve series of sixty bars must
                // stay small.
                @for (i, bars) in &bars {
                    @let outcome = all[*i]["outcome"].as_str().unwrap_or("");
                    g data-base=(ptr(&[&"timeseries", &"series", i])) data-outcome=(outcome)
                        data-server=(all[*i]["server"].as_str().unwrap_or("")) fill=(outcome_colour(outcome)) {
                        @for &(b, n, below) in bars {
                            rect data-k=(format!("counts/{b}")) data-value=(n)
                                x=(f1(LEFT + b as f64 * bw)) y=(f1(y_of(below + n)))
                                width=(f1((bw - 1.0).max(0.5))) height=(f1(y_of(below) - y_of(below + n))) {}
                        }
                    }
                }
                @for b in (0..=buckets).step_by(ticks) {
                    @let x = LEFT + b as f64 * bw;
                    line.axis x1=(f1(x)) y1=(TOP + ph) x2=(f1(x)) y2=(TOP + ph + 4.0) {}
                    // The last label ends at the axis' end rather than past it.
                    text.tick x=(f1(x)) y=(TOP + ph + 16.0)
                        text-anchor=(if x > W - RIGHT - 40.0 { "end" } else { "middle" }) {
                        (tick_label(start + b as i64 * bucket_ns, span))
                    }
                }
                text.tick x=(W - RIGHT) y=(H - 4.0) text-anchor="end" {
                    "UTC " (date(start)) ", " (ts["bucket_s"].as_f64().unwrap_or(0.0)) " s per bar"
                }
            }
            figcaption {
                (label) ": "
                @for o in &outcomes { (outcome_badge(o)) " " }
                @if window.is_some() { span.windowkey {} " incident window" }
                @if left_out > 0 { " (" (left_out) " smaller series not drawn)" }
            }
        }
    })
}
