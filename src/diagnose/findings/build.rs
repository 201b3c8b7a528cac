//! From the tallies to ranked findings: per server, which connections
//! count in which finding, the windows, the facts, the examples; then the
//! same pattern on many servers of one port folded into one finding.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::diagnose::SuspectSign;
use crate::wire::Timestamp;

use super::class::{Class, CLASSES, SLOW_RESPONSE_NS};
use super::key::ServerKey;
use super::series::Grid;
use super::server::{ServerTable, Slot};
use super::spread::Spreader;
use super::tally::{Burst, Detail, Example, Tally};
use super::words::{cause, checks};
use super::{
    Diagnosis, Finding, Findings, Kind, Window, CLIENT_MIN, LISTENER_GAP_NS, LISTENER_MIN,
};

/// A flood: at least this many failed attempts, from at least this many
/// distinct sources, and this many times the completed handshakes.
const FLOOD_ATTEMPTS: u64 = 100;
const FLOOD_SOURCES: u64 = 50;
const FLOOD_RATIO: u64 = 10;
/// Path loss explains a server's retried handshakes when at least this
/// many of its answered connections resent segments later, and its
/// handshakes were retried at most `PATH_LOSS_RATIO` times as often (a
/// handshake has three segments to lose, an answered connection a request,
/// a response and two FINs at least).
const PATH_LOSS_MIN: u64 = 2;
const PATH_LOSS_RATIO: u64 = 3;

/// Connections of some classes of one server, per bucket when kept.
struct Part {
    class: Class,
    count: u64,
    /// Over the grid's buckets; empty when the server has no detail.
    series: Vec<u32>,
}

struct Ctx<'a> {
    grid: &'a Grid,
    lo: i64,
    hi: i64,
}

impl Ctx<'_> {
    fn bucket_s(&self) -> f64 {
        self.grid.size_ns as f64 / 1e9
    }
}

pub(super) fn build(f: Findings) -> Diagnosis {
    let Findings {
        grid,
        servers,
        details,
        clients,
        suspect_examples,
        loss_examples,
        ports,
        ..
    } = f;
    let (lo, hi) = grid.range();
    let ctx = Ctx {
        grid: &grid,
        lo,
        hi,
    };
    let mut findings = Vec::new();

    // Client shutdown bursts first: they explain the client aborts in them.
    let mut explained: BTreeMap<ServerKey, u64> = BTreeMap::new();
    let mut hosts: Vec<_> = clients.into_iter().collect();
    hosts.sort_by_key(|a| a.0);
    for (ip, h) in hosts {
        let b = h.bursts.largest();
        if b.count < CLIENT_MIN {
            continue;
        }
        let cur = b == h.bursts.cur;
        let (server, mixed, examples) = if cur {
            (h.cur_server, h.cur_mixed, h.cur_examples)
        } else {
            (h.best_server, h.best_mixed, h.best_examples)
        };
        let server = match (server, mixed) {
            (Some(s), false) => {
                *explained.entry(s).or_default() += u64::from(b.by[1]);
                s.name()
            }
            _ => "*".to_string(),
        };
        let mut variants = BTreeMap::new();
        variants.insert("fin", u64::from(b.by[0]));
        variants.insert("rst", u64::from(b.by[1]));
        let mut facts = Map::new();
        facts.insert("burst_ms".into(), json!(ms(b.end() - b.start)));
        let mut fd = burst_finding(Kind::ClientShutdown, server, b, variants, facts, examples);
        fd.client = Some(ip.to_string());
        findings.push(fd);
    }

    // Servers in the order of their names, as people read them: out of the
    // hash table (freed) into 40 bytes a server.
    let mut servers: Vec<(ServerKey, Slot)> = servers.into_iter().collect();
    servers.sort_by_cached_key(|(k, _)| k.name());
    // Each server's findings are folded per port as they are made, so a
    // scan of many targets never holds a finding per target.
    let mut spreader = Spreader::default();
    for f in findings.drain(..) {
        spreader.add(f);
    }
    let mut one = Vec::new();
    for (key, slot) in &servers {
        let t = slot.tally();
        let d = t.detail.checked_sub(1).map(|i| &details[i as usize]);
        let ex = explained.get(key).copied().unwrap_or(0);
        server_findings(&ctx, &key.name(), &t, d, ex, &suspect_examples, &mut one);
        for f in one.drain(..) {
            spreader.add(f);
        }
    }

    // Capture loss: one finding over the capture.
    let lossy: Vec<(String, u32)> = servers
        .iter()
        .filter(|(_, s)| s.lossy() > 0)
        .map(|(k, s)| (k.name(), s.lossy()))
        .collect();
    if !lossy.is_empty() {
        let count: u64 = lossy.iter().map(|(_, n)| u64::from(*n)).sum();
        let e = loss_examples.first();
        let at = e.map_or(Timestamp(grid.start_of(lo)), |e| e.flow.first_time);
        let end = Timestamp(grid.start_of(hi + 1));
        let mut facts = Map::new();
        facts.insert("connections_with_gaps".into(), json!(count));
        spreader.add(Finding {
            kind: Kind::CaptureLoss,
            server: if lossy.len() == 1 {
                lossy[0].0.clone()
            } else {
                "*".into()
            },
            servers: lossy.iter().map(|(s, _)| s.clone()).collect(),
            client: None,
            count,
            connections: count,
            window: Window {
                start: at,
                end,
                peak_at: at,
                peak_per_s: 0.0,
            },
            variants: BTreeMap::from([("acked-unseen", count)]),
            facts,
            cause: cause(Kind::CaptureLoss).into(),
            check: checks(Kind::CaptureLoss),
            examples: loss_examples,
            series: Vec::new(),
            outcome: None,
        });
    }

    let mut findings = spreader.finish(&grid, (lo, hi), &ports);
    // The rarest variant first: it is the one that names the cause (the
    // one RST among a pool's FINs, the RST instead of ACK among resets).
    for f in &mut findings {
        let n = |e: &Example| f.variants.get(e.variant).copied().unwrap_or(0);
        let mut ex = std::mem::take(&mut f.examples);
        ex.sort_by_key(|e| n(e));
        f.examples = ex;
    }
    findings.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(b.window.peak_per_s.total_cmp(&a.window.peak_per_s))
            .then(a.kind.cmp(&b.kind))
            .then(a.server.cmp(&b.server))
    });

    Diagnosis {
        findings,
        bucket_ns: grid.size_ns,
        start: (!grid.is_empty()).then(|| Timestamp(grid.start_of(lo))),
        buckets: grid.len(),
        servers: ServerTable::new(servers),
    }
}

fn ms(ns: i64) -> f64 {
    (ns as f64 / 1e3).round() / 1e3
}

fn secs(ns: i64) -> f64 {
    (ns as f64 / 1e3).round() / 1e6
}

fn burst_finding(
    kind: Kind,
    server: String,
    b: Burst,
    variants: BTreeMap<&'static str, u64>,
    facts: Map<String, Value>,
    examples: Vec<Example>,
) -> Finding {
    let span_s = ((b.end() - b.start) as f64 / 1e9).max(1e-3);
    Finding {
        kind,
        servers: if server.starts_with('*') {
            Vec::new()
        } else {
            vec![server.clone()]
        },
        server,
        client: None,
        count: u64::from(b.count),
        connections: u64::from(b.count),
        window: Window {
            start: Timestamp(b.start),
            end: Timestamp(b.end()),
            peak_at: Timestamp(b.start),
            peak_per_s: (f64::from(b.count) / span_s * 10.0).round() / 10.0,
        },
        variants,
        facts,
        cause: cause(kind).into(),
        check: checks(kind),
        examples,
        series: Vec::new(),
        outcome: None,
    }
}

/// The server's listener burst (`largest` as the tally has it), and
/// whether its handshakes reset on their ACK (`on_ack` of them) came as
/// its listener closed and joined it.
///
/// A handshake whose ACK arrives as the listener closes finds no listener,
/// and the kernel resets it on that ACK: the reply a full queue with
/// `tcp_abort_on_overflow` sends too. They are the listener closing when
/// every one of them falls within its burst of resets, or beside its
/// first refused SYN when it served no handshake after (the listener
/// gone), a burst's gap either side; they then join the burst, or make one
/// of their own.
fn listener_burst(
    ctx: &Ctx<'_>,
    t: &Tally,
    d: Option<&Detail>,
    largest: Burst,
    on_ack: u64,
) -> (Burst, bool) {
    let Some(d) = d.filter(|_| on_ack > 0) else {
        return (largest, false);
    };
    let (first, last) = d.span[Class::ResetOnHandshakeAck.idx()];
    let near = |lo: i64, hi: i64| {
        first >= lo.saturating_sub(LISTENER_GAP_NS) && last <= hi.saturating_add(LISTENER_GAP_NS)
    };
    let refused = d.span[Class::Refused.idx()].0;
    let gone = t.classes[Class::Refused.idx()] > 0
        && t.last_served_ms <= ctx.grid.ms(refused.saturating_add(LISTENER_GAP_NS));
    let closing = (largest.count >= LISTENER_MIN && near(largest.start, largest.end()))
        || (gone && near(refused, refused));
    if !closing {
        return (largest, false);
    }
    let mut burst = if largest.count >= LISTENER_MIN {
        largest
    } else {
        Burst {
            start: first,
            ..Burst::default()
        }
    };
    let (start, end) = (burst.start.min(first), burst.end().max(last));
    let moved = u32::try_from(on_ack).unwrap_or(u32::MAX);
    burst.start = start;
    burst.span = u32::try_from(end.saturating_sub(start)).unwrap_or(u32::MAX);
    burst.count = burst.count.saturating_add(moved);
    burst.by[0] = burst.by[0].saturating_add(moved);
    (burst, true)
}

/// Every finding of one server.
fn server_findings(
    ctx: &Ctx<'_>,
    key: &str,
    t: &Tally,
    d: Option<&Detail>,
    explained_aborts: u64,
    suspects: &[Example],
    out: &mut Vec<Finding>,
) {
    let n = |c: Class| u64::from(t.classes[c.idx()]);
    let whole = |c: Class| Part {
        class: c,
        count: n(c),
        series: d.map_or(Vec::new(), |d| d.classes[c.idx()].over(ctx.lo, ctx.hi)),
    };
    let served = u64::from(t.served);
    let failed = n(Class::Unanswered) + n(Class::SynDropped) + n(Class::HalfOpen);

    if failed >= FLOOD_ATTEMPTS
        && t.distinct_sources() >= FLOOD_SOURCES
        && failed >= FLOOD_RATIO * served.max(1)
    {
        // The SYNs dropped and answered when retried are its collateral.
        let parts = vec![
            whole(Class::Unanswered),
            whole(Class::SynDropped),
            whole(Class::SynDroppedThenAnswered),
            whole(Class::HalfOpen),
        ];
        let mut facts = Map::new();
        facts.insert(
            "distinct_sources_estimate".into(),
            json!(t.distinct_sources()),
        );
        facts.insert("served_handshakes".into(), json!(served));
        push(ctx, out, Kind::SynFlood, key, t, d, parts, facts);
    } else {
        // Unanswered SYNs were told apart as they came: dropped while the
        // server served others (a full queue), or to a server serving
        // nothing (the network).
        let queued = whole(Class::SynDropped);
        let retried = whole(Class::SynDroppedThenAnswered);
        let dropped = whole(Class::Unanswered);
        let retries = queued.count + retried.count + n(Class::SynackRetransmits);
        let largest = t.listener.largest();
        let on_ack = n(Class::ResetOnHandshakeAck);
        let (burst, closing) = listener_burst(ctx, t, d, largest, on_ack);
        let on_ack = if closing { 0 } else { on_ack };
        let signs = retries + on_ack;
        // A full queue drops handshakes while the connections it let
        // through flow: when those lose segments as often, the path drops
        // packets, SYNs among them, and the queue is not to blame (a RST
        // to the handshake's ACK is the kernel's, never the path's).
        let attempts = t.outcomes.iter().map(|&c| u64::from(c)).sum::<u64>();
        let resent = u64::from(t.resent);
        let path_loss = resent >= PATH_LOSS_MIN
            && on_ack == 0
            && retries.saturating_mul(served) <= PATH_LOSS_RATIO * resent * attempts;
        let queue = served > 0 && signs > 0 && !path_loss;
        // The listener burst takes the resets that came in it.
        let in_burst = if largest.count >= LISTENER_MIN {
            u64::from(largest.by[0])
        } else {
            0
        };
        let mut phr = Vec::new();
        let mut aq = if path_loss {
            Vec::new()
        } else {
            vec![queued, retried]
        };
        for c in [
            Class::SynackRetransmits,
            Class::ResetOnHandshakeAck,
            Class::RstInsteadOfAck,
        ] {
            if closing && c == Class::ResetOnHandshakeAck {
                if burst.count < LISTENER_MIN {
                    phr.push(whole(c));
                }
                continue;
            }
            if queue {
                aq.push(whole(c));
            } else {
                phr.push(whole(c));
            }
        }
        let mut atr = whole(Class::AckedThenReset);
        atr.count = atr.count.saturating_sub(in_burst);
        phr.push(atr);
        let mut facts = Map::new();
        rtt_facts(ctx, d, &aq, &mut facts);
        push(ctx, out, Kind::AcceptQueueFull, key, t, d, aq, facts);
        let mut facts = Map::new();
        rtt_facts(ctx, d, &phr, &mut facts);
        push(ctx, out, Kind::NotAccepting, key, t, d, phr, facts);
        push(
            ctx,
            out,
            Kind::Unreachable,
            key,
            t,
            d,
            vec![dropped],
            Map::new(),
        );
        if burst.count >= LISTENER_MIN {
            let mut variants = BTreeMap::new();
            variants.insert("rst", u64::from(burst.by[0]));
            variants.insert("fin", u64::from(burst.by[1]));
            let mut facts = Map::new();
            facts.insert("burst_ms".into(), json!(ms(burst.end() - burst.start)));
            let ex = d
                .and_then(|d| {
                    if largest.count < LISTENER_MIN {
                        let on_ack = Class::ResetOnHandshakeAck.variant();
                        d.examples.iter().find(|e| e.variant == on_ack).cloned()
                    } else if largest == t.listener.cur {
                        d.burst_example.clone()
                    } else {
                        d.best_burst_example.clone()
                    }
                })
                .into_iter()
                .collect();
            out.push(burst_finding(
                Kind::ListenerClosed,
                key.to_string(),
                burst,
                variants,
                facts,
                ex,
            ));
        }
    }

    let mut facts = Map::new();
    if let Some(d) = d {
        if let Some(med) = d.stuck_median() {
            facts.insert("stuck_min_s".into(), json!(secs(d.stuck_min)));
            facts.insert("stuck_median_s".into(), json!(secs(med)));
            facts.insert("stuck_max_s".into(), json!(secs(d.stuck_max)));
        }
        let r = d.released.largest();
        if r.count >= LISTENER_MIN {
            facts.insert("released_together".into(), json!(r.count));
            facts.insert("released_at".into(), json!(Timestamp(r.start).rfc3339()));
            facts.insert("released_within_ms".into(), json!(ms(r.end() - r.start)));
        }
    }
    let cw = vec![
        whole(Class::RequestUnanswered),
        whole(Class::AnsweredNotClosed),
    ];
    push(ctx, out, Kind::CloseWaitPileup, key, t, d, cw, facts);

    // Slow replies count only against a server whose usual reply is fast.
    let baseline = d.and_then(|d| d.response_median_log2());
    let slow_ok = baseline.is_some_and(|k| (1u64 << k) * 10 * 1000 <= SLOW_RESPONSE_NS as u64);
    let mut facts = Map::new();
    if let Some(k) = baseline {
        facts.insert(
            "usual_response_ms".into(),
            json!(((1u64 << k) as f64 / 1e3)),
        );
    }
    let mut slow = vec![whole(Class::ClientGaveUp)];
    if slow_ok {
        slow.push(whole(Class::SlowResponse));
    }
    push(ctx, out, Kind::SlowServer, key, t, d, slow, facts);

    push(
        ctx,
        out,
        Kind::Refused,
        key,
        t,
        d,
        vec![whole(Class::Refused)],
        Map::new(),
    );
    push(
        ctx,
        out,
        Kind::ServerAbort,
        key,
        t,
        d,
        vec![whole(Class::ServerAbort)],
        Map::new(),
    );
    let mut ca = whole(Class::ClientAbort);
    ca.count = ca.count.saturating_sub(explained_aborts);
    push(ctx, out, Kind::ClientAbort, key, t, d, vec![ca], Map::new());
    let stale = vec![whole(Class::StaleKeepalive)];
    push(ctx, out, Kind::StaleKeepalive, key, t, d, stale, Map::new());

    let suspect: u32 = t.suspect.iter().fold(0u32, |a, &b| a.saturating_add(b));
    if suspect > 0 {
        let ex: Vec<Example> = suspects
            .iter()
            .filter(|e| e.flow.server_endpoint() == key)
            .take(1)
            .cloned()
            .collect();
        let at = ex
            .first()
            .and_then(|e| e.flow.rst_time)
            .unwrap_or(Timestamp(ctx.grid.ns(t.first_ms)));
        let variants = SuspectSign::ALL
            .iter()
            .filter(|s| t.suspect[s.idx()] > 0)
            .map(|s| (s.name(), u64::from(t.suspect[s.idx()])))
            .collect();
        out.push(Finding {
            kind: Kind::InjectedReset,
            server: key.to_string(),
            servers: vec![key.to_string()],
            client: None,
            count: u64::from(suspect),
            connections: u64::from(suspect),
            // The server's trouble window: its injected resets, and the
            // other trouble they came with.
            window: Window {
                start: at.min(Timestamp(ctx.grid.ns(t.first_ms))),
                end: Timestamp(ctx.grid.ns(t.last_ms).max(at.0)),
                peak_at: at,
                peak_per_s: 0.0,
            },
            variants,
            facts: Map::new(),
            cause: cause(Kind::InjectedReset).into(),
            check: checks(Kind::InjectedReset),
            examples: ex,
            series: Vec::new(),
            outcome: None,
        });
    }
}

/// Handshake RTT of the served handshakes before and during the parts'
/// window: a rising handshake time before the resets is evidence.
fn rtt_facts(ctx: &Ctx<'_>, d: Option<&Detail>, parts: &[Part], facts: &mut Map<String, Value>) {
    let Some(d) = d else { return };
    let Some((a, b)) = nonzero_range(parts) else {
        return;
    };
    let served = d.served.over(ctx.lo, ctx.hi);
    let rtt = d.rtt_us.over(ctx.lo, ctx.hi);
    let mean = |r: std::ops::Range<usize>| -> Option<f64> {
        let n: u64 = served[r.clone()].iter().map(|&c| u64::from(c)).sum();
        let s: u64 = rtt[r].iter().map(|&c| u64::from(c)).sum();
        (n > 0).then(|| (s as f64 / n as f64 / 1e3 * 1000.0).round() / 1000.0)
    };
    let during: u64 = served[a..=b].iter().map(|&c| u64::from(c)).sum();
    facts.insert("served_handshakes_in_window".into(), json!(during));
    if let Some(m) = mean(0..a) {
        facts.insert("handshake_rtt_before_ms".into(), json!(m));
    }
    if let Some(m) = mean(a..b + 1) {
        facts.insert("handshake_rtt_during_ms".into(), json!(m));
    }
}

fn nonzero_range(parts: &[Part]) -> Option<(usize, usize)> {
    let len = parts.iter().map(|p| p.series.len()).max()?;
    let nz = |k: usize| {
        parts
            .iter()
            .any(|p| p.series.get(k).is_some_and(|&c| c > 0))
    };
    let a = (0..len).find(|&k| nz(k))?;
    let b = (0..len).rev().find(|&k| nz(k))?;
    Some((a, b))
}

/// A finding of `kind` on one server from its parts (nothing when they
/// hold no connection).
#[allow(clippy::too_many_arguments)]
fn push(
    ctx: &Ctx<'_>,
    out: &mut Vec<Finding>,
    kind: Kind,
    key: &str,
    t: &Tally,
    d: Option<&Detail>,
    parts: Vec<Part>,
    facts: Map<String, Value>,
) {
    let count: u64 = parts.iter().map(|p| p.count).sum();
    if count == 0 {
        return;
    }
    let mut variants = BTreeMap::new();
    for p in &parts {
        if p.count > 0 {
            *variants.entry(p.class.variant()).or_insert(0) += p.count;
        }
    }
    let mut series = vec![0u32; (ctx.hi - ctx.lo + 1).max(0) as usize];
    let mut have_series = false;
    for p in &parts {
        if p.count == 0 || p.series.is_empty() {
            continue;
        }
        have_series = true;
        for (s, c) in series.iter_mut().zip(&p.series) {
            *s = s.saturating_add(*c);
        }
    }
    let (window, connections) = match (d, have_series.then(|| nonzero_range(&parts)).flatten()) {
        (Some(d), Some((a, b))) => {
            let (mut start, mut end) = (i64::MAX, i64::MIN);
            for p in parts.iter().filter(|p| p.count > 0) {
                let (s, e) = d.span[p.class.idx()];
                start = start.min(s);
                end = end.max(e);
            }
            let bs = |k: usize| ctx.grid.start_of(ctx.lo + k as i64);
            // The classes' spans, recorded with the series: a stuck
            // connection's reaches from its start to its release, beyond
            // the bucket it is charted in.
            end = end.max(start);
            let (pk, pc) =
                series.iter().enumerate().fold(
                    (0, 0),
                    |best, (k, &c)| if c > best.1 { (k, c) } else { best },
                );
            let all = d.all.over(ctx.lo, ctx.hi);
            let conns: u64 = all[a..=b].iter().map(|&c| u64::from(c)).sum();
            (
                Window {
                    start: Timestamp(start),
                    end: Timestamp(end),
                    peak_at: Timestamp(bs(pk)),
                    peak_per_s: (f64::from(pc) / ctx.bucket_s() * 10.0).round() / 10.0,
                },
                conns.max(count),
            )
        }
        _ => {
            let (first, last) = (ctx.grid.ns(t.first_ms), ctx.grid.ns(t.last_ms));
            let span = (last.saturating_sub(first) as f64 / 1e9).max(1.0);
            (
                Window {
                    start: Timestamp(first),
                    end: Timestamp(last),
                    peak_at: Timestamp(first),
                    peak_per_s: (count as f64 / span * 10.0).round() / 10.0,
                },
                t.outcomes
                    .iter()
                    .map(|&c| u64::from(c))
                    .sum::<u64>()
                    .max(count),
            )
        }
    };
    // One example a variant: two classes listed under one variant name (a
    // SYN dropped, and one dropped then answered on a retransmission) find
    // the same kept connection.
    let mut examples: Vec<Example> = Vec::new();
    for p in parts.iter().filter(|p| p.count > 0) {
        let v = p.class.variant();
        if examples.iter().any(|e| e.variant == v) {
            continue;
        }
        if let Some(e) = d.and_then(|d| d.examples.iter().find(|e| e.variant == v)) {
            examples.push(e.clone());
        }
    }
    let outcome = examples.first().map(|e| e.flow.outcome);
    out.push(Finding {
        kind,
        server: key.to_string(),
        servers: vec![key.to_string()],
        client: None,
        count,
        connections,
        window,
        variants,
        facts,
        cause: cause(kind).into(),
        check: checks(kind),
        examples,
        series: if have_series { series } else { Vec::new() },
        outcome,
    });
}

#[allow(dead_code)]
const _: () = assert!(CLASSES == Class::ALL.len());
