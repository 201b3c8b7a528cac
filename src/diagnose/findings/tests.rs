//! The findings from synthetic connections whose story the test knows.

use super::*;
use crate::diagnose::classify;
use crate::track::testwire::{Wire, A, F, P, R, S};

const T0: i64 = 1_700_000_000_000_000_000;
const MS: i64 = 1_000_000;

/// A connection from `client` to `server` starting `at_ms` after T0.
fn wire(client: &str, server: &str, at_ms: i64) -> Wire {
    let mut w = Wire::between(client, server);
    w.t = T0 + at_ms * MS;
    w
}

fn feed(engine: &mut Findings, w: &Wire) {
    for c in w.track() {
        let f = classify(&c);
        engine.add(&f, &mut || Rendered {
            text: "      timeline\n".to_string(),
            segments: Vec::new(),
        });
    }
}

fn clean(w: &mut Wire) {
    w.handshake()
        .c(P | A, 1, 1, 100)
        .s(P | A, 1, 101, 200)
        .c(F | A, 101, 201, 0)
        .s(F | A, 201, 102, 0)
        .c(A, 102, 202, 0);
}

/// `n` clean connections to `server`, 10 ms apart from T0, from ports
/// `base` up.
fn serve(e: &mut Findings, server: &str, base: i64, n: i64) {
    for i in 0..n {
        let mut w = wire(&format!("10.0.0.1:{}", base + i), server, i * 10);
        clean(&mut w);
        feed(e, &w);
    }
}

/// The findings' kinds and counts, for a failed assertion's message.
fn kinds(d: &Diagnosis) -> Vec<(Kind, u64)> {
    d.findings.iter().map(|f| (f.kind, f.count)).collect()
}

fn unanswered(w: &mut Wire) {
    w.c(S, 0, 0, 0)
        .seg(true, S, 0, 0, 0, 1_000_000)
        .seg(true, S, 0, 0, 0, 2_000_000);
}

fn find(d: &Diagnosis, kind: Kind, server: &str) -> Finding {
    d.findings
        .iter()
        .find(|f| f.kind == kind && f.server == server)
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no {kind:?} on {server}: {:?}",
                d.findings
                    .iter()
                    .map(|f| (f.kind, &f.server, f.count))
                    .collect::<Vec<_>>()
            )
        })
}

/// 10.0.0.2:80 serves 20 clients 10 ms apart and, after every `nth` of
/// them, leaves a client's SYNs unanswered.
fn serving_while_dropping(nth: i64) -> Findings {
    let mut e = Findings::new();
    for i in 0..20 {
        let mut w = wire(&format!("10.0.0.1:{}", 40_000 + i), "10.0.0.2:80", i * 10);
        clean(&mut w);
        feed(&mut e, &w);
        if i % nth == 0 {
            let mut w = wire(
                &format!("10.0.0.1:{}", 50_000 + i),
                "10.0.0.2:80",
                i * 10 + 5,
            );
            unanswered(&mut w);
            feed(&mut e, &w);
        }
    }
    e
}

#[test]
fn unanswered_syns_while_serving_others_are_a_full_accept_queue() {
    let mut e = serving_while_dropping(2);
    // Another server that answered nothing at all.
    for i in 0..4 {
        let mut w = wire(&format!("10.0.0.1:{}", 60_000 + i), "10.0.0.9:80", i * 10);
        unanswered(&mut w);
        feed(&mut e, &w);
    }
    let d = e.finish();
    let aq = find(&d, Kind::AcceptQueueFull, "10.0.0.2:80");
    assert_eq!(aq.count, 10);
    assert_eq!(aq.variants.get("syn-dropped"), Some(&10));
    // Served between the first and the last dropped SYN (5 .. 185 ms).
    assert_eq!(aq.facts["served_handshakes_in_window"], 18);
    assert_eq!(aq.connections, 28);
    assert_eq!(aq.window.start, Timestamp(T0 + 5 * MS + 100_000));
    assert!(!d
        .findings
        .iter()
        .any(|f| f.kind == Kind::Unreachable && f.server == "10.0.0.2:80"));
    let un = find(&d, Kind::Unreachable, "10.0.0.9:80");
    assert_eq!(un.count, 4);
    assert_eq!(d.findings[0].kind, Kind::AcceptQueueFull);
    assert_eq!(aq.examples.len(), 1);
    assert_eq!(aq.examples[0].variant, "syn-dropped");
}

#[test]
fn syns_dropped_and_dropped_then_answered_show_one_example() {
    let mut e = serving_while_dropping(5);
    // Its first SYN dropped, its retransmission a second later answered.
    let mut w = wire("10.0.0.1:55000", "10.0.0.2:80", 190);
    w.c(S, 0, 0, 0).seg(true, S, 0, 0, 0, 1_000_000);
    w.s(S | A, 0, 1, 0)
        .c(A, 1, 1, 0)
        .c(P | A, 1, 1, 100)
        .s(P | A, 1, 101, 200)
        .c(F | A, 101, 201, 0)
        .s(F | A, 201, 102, 0)
        .c(A, 102, 202, 0);
    feed(&mut e, &w);
    let d = e.finish();
    let aq = find(&d, Kind::AcceptQueueFull, "10.0.0.2:80");
    assert_eq!(aq.variants.get("syn-dropped"), Some(&5));
    let shown: Vec<_> = aq.examples.iter().map(|x| x.variant).collect();
    assert_eq!(shown, ["syn-dropped"]);
}

/// 10.0.0.2:80 serves 20 clients 10 ms apart, of which every fifth
/// resends a segment (`resend`), and leaves 4 other clients' SYNs
/// unanswered in between.
fn serving_dropping_resending(resend: fn(&mut Wire)) -> Diagnosis {
    let mut e = Findings::new();
    for i in 0..20 {
        let mut w = wire(&format!("10.0.0.1:{}", 40_000 + i), "10.0.0.2:80", i * 10);
        if i % 5 == 0 {
            resend(&mut w);
            feed(&mut e, &w);
            let mut w = wire(
                &format!("10.0.0.1:{}", 50_000 + i),
                "10.0.0.2:80",
                i * 10 + 5,
            );
            unanswered(&mut w);
            feed(&mut e, &w);
        } else {
            clean(&mut w);
            feed(&mut e, &w);
        }
    }
    e.finish()
}

#[test]
fn syns_lost_as_often_as_answered_connections_lose_segments_are_path_loss() {
    // The client's FIN resent 200 ms later: its first was lost after the
    // server had answered, so the path loses packets.
    let d = serving_dropping_resending(|w| {
        w.handshake()
            .c(P | A, 1, 1, 100)
            .s(P | A, 1, 101, 200)
            .c(F | A, 101, 201, 0)
            .seg(true, F | A, 101, 201, 0, 200_000)
            .s(F | A, 201, 102, 0)
            .c(A, 102, 202, 0);
    });
    assert!(
        !d.findings.iter().any(|f| f.kind == Kind::AcceptQueueFull),
        "{:?}",
        kinds(&d)
    );
}

#[test]
fn a_request_resent_before_any_answer_is_no_sign_of_path_loss() {
    // A full queue dropped the handshake's ACK and the request with it;
    // the request resent once the queue had room was answered.
    let d = serving_dropping_resending(|w| {
        w.handshake()
            .c(P | A, 1, 1, 100)
            .seg(true, P | A, 1, 1, 100, 200_000)
            .s(P | A, 1, 101, 200)
            .c(F | A, 101, 201, 0)
            .s(F | A, 201, 102, 0)
            .c(A, 102, 202, 0);
    });
    let aq = find(&d, Kind::AcceptQueueFull, "10.0.0.2:80");
    assert_eq!(aq.variants.get("syn-dropped"), Some(&4));
}

#[test]
fn spoofed_syns_from_many_sources_are_a_syn_flood() {
    let mut e = Findings::new();
    for i in 0..400u32 {
        let client = format!("198.51.{}.{}:{}", i / 200, i % 200 + 1, 1024 + i);
        let mut w = wire(&client, "192.0.2.10:443", i64::from(i));
        w.c(S, 0, 0, 0);
        if i % 4 == 0 {
            w.s(S | A, 0, 1, 0).s(S | A, 0, 1, 0);
        }
        feed(&mut e, &w);
    }
    let d = e.finish();
    let f = &d.findings[0];
    assert_eq!(f.kind, Kind::SynFlood);
    assert_eq!(f.count, 400);
    assert_eq!(f.variants.get("half-open"), Some(&100));
    assert_eq!(f.variants.get("syn-unanswered"), Some(&300));
    assert_eq!(f.variants.get("syn-dropped"), None);
    assert!(f.facts["distinct_sources_estimate"].as_u64().unwrap_or(0) >= 50);
    assert!(d.findings.iter().all(|f| f.kind != Kind::Unreachable));
}

#[test]
fn close_wait_request_unanswered_then_released_by_a_restart() {
    let mut e = Findings::new();
    for i in 0..6 {
        let mut w = wire(
            &format!("10.0.0.1:{}", 40_000 + i),
            "10.0.0.2:8080",
            i * 100,
        );
        w.handshake().c(P | A, 1, 1, 97).s(A, 1, 98, 0);
        // The client gives up at +5 s; the server ACKs its FIN ...
        w.seg(true, F | A, 98, 1, 0, 5_000_000).s(A, 1, 99, 0);
        // ... and closes when it restarts, all at the same moment.
        let restart = T0 + 30_000 * MS;
        let dt = (restart - w.t) / 1000 + i;
        w.seg(false, F | A, 1, 99, 0, dt).c(A, 99, 2, 0);
        feed(&mut e, &w);
    }
    let d = e.finish();
    let f = find(&d, Kind::CloseWaitPileup, "10.0.0.2:8080");
    assert_eq!(f.count, 6);
    assert_eq!(f.variants.get("request-unanswered"), Some(&6));
    assert_eq!(f.facts["released_together"], 6);
    assert_eq!(f.facts["released_within_ms"], 0.005);
    let min = f.facts["stuck_min_s"].as_f64().unwrap_or(0.0);
    assert!(min > 24.0 && min < 25.0, "{min}");
}

#[test]
fn a_client_pool_shutting_down_is_one_burst_not_client_aborts() {
    let mut e = Findings::new();
    for i in 0..20 {
        let mut w = wire(&format!("10.0.0.7:{}", 40_000 + i), "10.0.0.2:9090", 0);
        w.handshake()
            .c(P | A, 1, 1, 10)
            .s(P | A, 1, 11, 30)
            .c(A, 11, 31, 0);
        // All close within 8 ms, three seconds in.
        let dt = 3_000_000 + i * 400;
        if i == 7 {
            w.s(P | A, 31, 11, 100);
            w.seg(true, R | A, 11, 131, 0, dt);
        } else {
            w.seg(true, F | A, 11, 31, 0, dt)
                .s(F | A, 31, 12, 0)
                .c(A, 12, 32, 0);
        }
        feed(&mut e, &w);
    }
    let d = e.finish();
    let f = &d.findings[0];
    assert_eq!(f.kind, Kind::ClientShutdown);
    assert_eq!(f.client.as_deref(), Some("10.0.0.7"));
    assert_eq!(f.server, "10.0.0.2:9090");
    assert_eq!(f.count, 20);
    assert_eq!(f.variants.get("fin"), Some(&19));
    assert_eq!(f.variants.get("rst"), Some(&1));
    assert!(f.window.end.0 - f.window.start.0 <= 8 * MS);
    assert!(
        d.findings.iter().all(|f| f.kind != Kind::ClientAbort),
        "the RST is explained by the shutdown"
    );
}

#[test]
fn listener_reset_burst_and_rst_instead_of_ack_are_told_apart() {
    let mut e = Findings::new();
    // Six requests ACKed, then reset within a millisecond: the listener closed.
    for i in 0..6 {
        let mut w = wire(&format!("10.0.0.1:{}", 40_000 + i), "10.0.0.2:2133", i * 10);
        w.handshake().c(P | A, 1, 1, 33).s(A, 1, 34, 0);
        let dt = (T0 + 900 * MS - w.t) / 1000 + i * 50;
        w.seg(false, R | A, 1, 34, 0, dt);
        feed(&mut e, &w);
    }
    // Two data segments answered by RST on another port, never ACKed.
    for i in 0..2 {
        let mut w = wire(&format!("10.0.0.1:{}", 41_000 + i), "10.0.0.2:2140", i * 10);
        w.handshake().c(P | A, 1, 1, 87).s(R, 1, 0, 0);
        feed(&mut e, &w);
    }
    let d = e.finish();
    let l = find(&d, Kind::ListenerClosed, "10.0.0.2:2133");
    assert_eq!(l.count, 6);
    assert_eq!(l.variants.get("rst"), Some(&6));
    assert!(d
        .findings
        .iter()
        .all(|f| !(f.kind == Kind::NotAccepting && f.server == "10.0.0.2:2133")));
    let n = find(&d, Kind::NotAccepting, "10.0.0.2:2140");
    assert_eq!(n.variants.get("rst-instead-of-ack"), Some(&2));
    assert_eq!(n.examples[0].variant, "rst-instead-of-ack");
}

/// 10.0.0.2:2133 serves five clients, then its process dies at 900 ms:
/// the kernel resets the eight requests waiting in its queue, four, then
/// after a 4 ms pause (the CPU given to others) four more; one handshake
/// whose SYN-ACK went out just before gets its ACK reset at `on_ack_ms`.
fn killed_under_load(on_ack_ms: i64) -> Diagnosis {
    let mut e = Findings::new();
    serve(&mut e, "10.0.0.2:2133", 30_000, 5);
    for i in 0..8 {
        let mut w = wire(
            &format!("10.0.0.1:{}", 40_000 + i),
            "10.0.0.2:2133",
            100 + i * 10,
        );
        w.handshake().c(P | A, 1, 1, 33).s(A, 1, 34, 0);
        let at = T0
            + 900 * MS
            + if i < 4 {
                i * 50_000
            } else {
                4 * MS + i * 50_000
            };
        w.seg(false, R | A, 1, 34, 0, (at - w.t) / 1000);
        feed(&mut e, &w);
    }
    let mut w = wire("10.0.0.1:45000", "10.0.0.2:2133", on_ack_ms);
    w.handshake().seg(false, R, 1, 0, 0, 30);
    feed(&mut e, &w);
    e.finish()
}

#[test]
fn a_listener_reset_with_a_pause_and_a_handshake_reset_as_it_closed_is_one_burst() {
    let d = killed_under_load(902);
    let l = find(&d, Kind::ListenerClosed, "10.0.0.2:2133");
    assert_eq!(l.count, 9);
    assert_eq!(l.variants.get("rst"), Some(&9));
    assert!(
        d.findings
            .iter()
            .all(|f| !matches!(f.kind, Kind::AcceptQueueFull | Kind::NotAccepting)),
        "{:?}",
        kinds(&d)
    );
}

#[test]
fn a_handshake_reset_on_its_ack_away_from_the_listener_burst_is_a_full_queue() {
    let d = killed_under_load(500);
    assert_eq!(find(&d, Kind::ListenerClosed, "10.0.0.2:2133").count, 8);
    let q = find(&d, Kind::AcceptQueueFull, "10.0.0.2:2133");
    assert_eq!(q.variants.get("reset-on-handshake-ack"), Some(&1));
}

/// 10.0.0.2:2133 serves five clients; three handshakes get their ACK
/// reset at 900 ms, and SYNs are refused from `refused_ms` on.
fn handshakes_reset_then_refused(refused_ms: i64) -> Diagnosis {
    let mut e = Findings::new();
    serve(&mut e, "10.0.0.2:2133", 30_000, 5);
    for i in 0..3 {
        let mut w = wire(&format!("10.0.0.1:{}", 40_000 + i), "10.0.0.2:2133", 900);
        w.t += i * 20_000;
        w.handshake().seg(false, R, 1, 0, 0, 30);
        feed(&mut e, &w);
    }
    for i in 0..4 {
        let mut w = wire(
            &format!("10.0.0.1:{}", 50_000 + i),
            "10.0.0.2:2133",
            refused_ms + i,
        );
        w.c(S, 0, 0, 0).s(R | A, 0, 1, 0);
        feed(&mut e, &w);
    }
    e.finish()
}

#[test]
fn handshakes_reset_on_their_ack_as_the_listener_went_away_are_its_closing() {
    // The process died with nothing queued but three handshakes whose ACK
    // found no listener, and the next SYNs were refused.
    let d = handshakes_reset_then_refused(901);
    let l = find(&d, Kind::ListenerClosed, "10.0.0.2:2133");
    assert_eq!(l.variants.get("rst"), Some(&3));
    assert_eq!(l.examples.len(), 1);
    assert!(d.findings.iter().all(|f| f.kind != Kind::AcceptQueueFull));
    // Refusals a second later are another event: the resets stay a queue's.
    let d = handshakes_reset_then_refused(1_900);
    let q = find(&d, Kind::AcceptQueueFull, "10.0.0.2:2133");
    assert_eq!(q.variants.get("reset-on-handshake-ack"), Some(&3));
    assert!(d.findings.iter().all(|f| f.kind != Kind::ListenerClosed));
}

#[test]
fn a_clean_capture_has_no_findings() {
    let mut e = Findings::new();
    for i in 0..5 {
        let mut w = wire(&format!("10.0.0.1:{}", 40_000 + i), "10.0.0.2:80", i);
        clean(&mut w);
        feed(&mut e, &w);
    }
    let d = e.finish();
    assert!(d.findings.is_empty(), "{:?}", d.findings);
    assert_eq!(d.servers.len(), 1);
    assert_eq!(d.servers.rows().next().map(|r| r.connections), Some(5));
}

#[test]
fn memory_per_server_stays_small() {
    // What a server with a few connections costs in the table and out of
    // line (the allocator rounds 88 bytes up to a 96-byte chunk), and the
    // whole tally of one with hundreds.
    let slot = std::mem::size_of::<(key::ServerKey, server::Slot)>();
    let few = std::mem::size_of::<server::Few>();
    assert!(slot + few + 8 <= 200, "{slot} + {few}");
    assert!(
        std::mem::size_of::<tally::Tally>() <= 208,
        "{}",
        std::mem::size_of::<tally::Tally>()
    );
}
