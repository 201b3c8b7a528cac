use super::roles::src_is_server;

use super::testwire::*;
use super::*;
use crate::wire::{Segment, Timestamp};

#[test]
fn roles_from_syn_and_handshake() {
    let mut w = Wire::new();
    w.handshake().c(P | A, 1, 1, 10).s(A, 1, 11, 0);
    let c = w.one();
    assert_eq!(c.client().addr(), w.c);
    assert!(!c.roles_inferred);
    assert!(c.handshake_seen());
    assert_eq!(c.client().bytes, 10);
    assert_eq!(c.handshake.syn_count, 1);
}

#[test]
fn synack_sender_is_server_when_syn_missing() {
    let mut w = Wire::new();
    w.s(S | A, 0, 1, 0).c(A, 1, 1, 0).c(P | A, 1, 1, 5);
    let c = w.one();
    assert_eq!(c.server().addr(), w.s);
    assert_eq!(c.client().addr(), w.c);
    assert!(!c.roles_inferred);
    assert!(!c.handshake_seen());
    assert!(c.handshake.ack.is_some());
}

#[test]
fn roles_inferred_by_port_midstream() {
    let mut w = Wire::between("10.0.0.1:50000", "10.0.0.2:8080");
    // First segment is the server's data.
    w.s(P | A, 100, 50, 20).c(A, 50, 120, 0);
    let c = w.one();
    assert!(c.roles_inferred);
    assert_eq!(c.server().addr(), w.s);
    // Relative numbering as if the SYN had just preceded the first byte.
    let e = c.timeline_entries();
    assert_eq!(e[0].rel_seq, 1);
    assert_eq!(e[1].rel_ack, Some(21));
}

#[test]
fn port_heuristic() {
    assert!(src_is_server(443, 50000, (0, 0)));
    assert!(!src_is_server(50000, 443, (9, 0)));
    assert!(src_is_server(8080, 50000, (0, 0)));
    assert!(src_is_server(5000, 6000, (0, 0)));
    assert!(src_is_server(40000, 40001, (0, 0)));
    // Both ephemeral: the endpoint more peers talk to is the server.
    assert!(!src_is_server(40000, 40001, (1, 5)));
}

#[test]
fn midstream_server_is_the_endpoint_more_peers_talk_to() {
    let mut segs = Vec::new();
    for i in 0..3u16 {
        let mut w = Wire::between(&format!("10.0.0.{}:50000", i + 1), "10.0.0.9:45000");
        w.c(S, 0, 0, 0);
        segs.extend(w.segs);
    }
    // Mid-stream: the first segment comes from 10.0.0.9:45000, whose port
    // is higher than the peer's and both are ephemeral.
    let mut w = Wire::between("10.0.0.7:40000", "10.0.0.9:45000");
    w.s(P | A, 1, 1, 10);
    segs.extend(w.segs);
    let v = track_with(&segs, TrackerConfig::default());
    let mid = v
        .iter()
        .find(|c| c.roles_inferred)
        .expect("mid-stream connection");
    assert_eq!(mid.server().addr(), w.s);
}

#[test]
fn syn_retransmission_same_isn_is_one_connection() {
    let mut w = Wire::new();
    w.c(S, 0, 0, 0).c(S, 0, 0, 0).c(S, 0, 0, 0);
    let c = w.one();
    assert_eq!(c.handshake.syn_count, 3);
    assert_eq!(c.history(), "S");
    assert_eq!(c.zeek_state(), "S0");
}

#[test]
fn port_reuse_starts_new_generation() {
    let mut w = Wire::new();
    w.handshake()
        .c(F | A, 1, 1, 0)
        .s(F | A, 1, 2, 0)
        .c(A, 2, 2, 0);
    w.c_isn = 900_000;
    w.s_isn = 7_000_000;
    w.handshake().c(R, 1, 0, 0);
    let v = w.track();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].segments(), 6);
    assert_eq!(v[1].segments(), 4);
    assert_eq!(v[1].rst_count, 1);
    assert_eq!(v[0].zeek_state(), "SF");
}

#[test]
fn new_isn_on_open_connection_starts_a_new_generation() {
    let mut w = Wire::new();
    w.handshake().c(P | A, 1, 1, 5);
    w.c_isn = 77;
    w.c(S, 0, 0, 0);
    let v = w.track();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].end_reason, EndReason::NewGeneration);
    assert_eq!(v[0].segments(), 4);
    assert_eq!(v[1].segments(), 1);
}

#[test]
fn same_isn_syn_after_bare_rsts_stays_one_connection() {
    let mut w = Wire::new();
    // Bare RSTs (no ACK) do not reset a SYN-SENT client: it retransmits.
    for dt in [0, 1_000_000, 2_000_000, 4_000_000, 8_000_000] {
        w.seg(true, S, 0, 0, 0, dt).s(R, 0, 0, 0);
    }
    let c = w.one();
    assert_eq!(c.handshake.syn_count, 5);
    assert_eq!(c.rst_count, 5);
    assert_eq!(c.state, State::SynSent);
}

#[test]
fn refusal_with_ack_of_the_syn_ends_the_attempt() {
    let mut w = Wire::new();
    w.c(S, 0, 0, 0).s(R | A, 0, 1, 0);
    let c = w.one();
    assert_eq!(c.state, State::Reset);
    assert_eq!(c.end_reason, EndReason::Reset);
}

#[test]
fn states_follow_the_handshake_and_the_close() {
    let mut w = Wire::new();
    w.handshake().c(F | A, 1, 1, 0);
    let half = w.one();
    assert_eq!(half.state, State::HalfClosed(Side::Client));
    assert_eq!(half.end_reason, EndReason::EndOfCapture);
    w.s(F | A, 1, 2, 0).c(A, 2, 2, 0);
    let closed = w.one();
    assert_eq!(closed.state, State::Closed);
    assert_eq!(closed.end_reason, EndReason::Closed);
}

#[test]
fn one_way_acks_extend_past_2_gib() {
    // Only the client's ACKs of a 3 GiB download: the server's space is
    // known from them alone.
    let mut w = Wire::new();
    w.c(S, 0, 0, 0);
    let step = 65_536u32;
    for i in 1..=49_152u32 {
        w.c(A, 1, 1u32.wrapping_add(i.wrapping_mul(step)), 0);
    }
    let c = w.one();
    // The SYN-ACK was not captured: the first ACK seen is relative 1.
    assert_eq!(c.client().highest_ack_rel(), Some(1 + 49_151 * 65_536));
}

#[test]
fn relative_seq_survives_wrap() {
    let mut w = Wire::new();
    w.c_isn = u32::MAX - 10;
    w.handshake();
    // 3 segments of 10 bytes across the 2^32 boundary.
    w.c(P | A, 1, 1, 10).c(P | A, 11, 1, 10).c(P | A, 21, 1, 10);
    w.s(A, 1, 31, 0);
    let c = w.one();
    let e = c.timeline_entries();
    assert_eq!(e[5].rel_seq, 21);
    assert_eq!(c.client().next_rel, 31);
    assert_eq!(c.server().highest_ack_rel(), Some(31));
    assert_eq!(c.gaps(), 0);
    assert_eq!(c.history(), "ShADa");
}

#[test]
fn rst_in_window_across_wrap() {
    let mut w = Wire::new();
    w.s_isn = u32::MAX - 2;
    w.handshake().c(P | A, 1, 1, 10).s(A, 1, 11, 0);
    // Server RST with seq 1 (== client's RCV.NXT), across the wrap.
    w.s(R, 1, 0, 0);
    let c = w.one();
    let r = c.first_rst.expect("rst");
    assert_eq!(r.in_window, Some(true));
    assert_eq!(r.by, Side::Server);

    let mut w = Wire::new();
    w.s_isn = u32::MAX - 2;
    w.handshake().c(P | A, 1, 1, 10);
    // Far outside the client's window (512 << 7 = 65536).
    w.s(R, 1 + 70_000, 0, 0);
    let r = w.one().first_rst.expect("rst");
    assert_eq!(r.in_window, Some(false));
}

#[test]
fn bounded_timeline_keeps_first_rst() {
    let mut w = Wire::new();
    w.handshake();
    let mut seq = 1;
    for _ in 0..20 {
        w.c(P | A, seq, 1, 10);
        seq += 10;
    }
    w.s(R, 1, 0, 0);
    for _ in 0..40 {
        w.c(P | A, seq, 1, 10);
        seq += 10;
    }
    let c = w.one();
    let tl = &c.timeline;
    assert_eq!(tl.head_len(), 16);
    assert_eq!(tl.tail_len(), 16);
    let kept = c.timeline_entries();
    assert!(kept.iter().any(|e| e.flags.rst()), "first RST kept");
    // The data segment the RST answered is kept too.
    assert!(kept.iter().any(|e| e.ord == 22));
    assert_eq!(kept.len(), tl.kept());
    assert_eq!(c.first_rst.as_ref().map(|r| r.sender_kept_sending), Some(0));
}

/// `flows` keeps no timeline: nothing is kept or allocated, every segment
/// is counted as left out, and the connection's facts are those of a
/// tracker that keeps one.
#[test]
fn without_timelines_keeps_no_segment_and_the_same_facts() {
    let mut w = Wire::new();
    w.handshake()
        .c(P | A, 1, 1, 10)
        .s(P | A, 1, 11, 20)
        .c(F | A, 11, 21, 0);
    w.s(R, 21, 0, 0);
    let kept = w.one();
    let none = track_with(&w.segs, TrackerConfig::default().without_timelines());
    let [none] = <[Connection; 1]>::try_from(none).expect("one connection");
    assert!(none.timeline_entries().is_empty());
    assert_eq!(none.timeline.room(), 0);
    assert_eq!(none.timeline.kept(), 0);
    assert_eq!(none.segments(), 7);
    assert_eq!(none.segments(), kept.segments());
    assert_eq!(none.state, kept.state);
    assert_eq!(none.first_rst, kept.first_rst);
    assert_eq!(none.handshake, kept.handshake);
    assert_eq!(kept.timeline_entries().len(), 7);
}

#[test]
fn gap_detected_when_ack_covers_unseen_data() {
    let mut w = Wire::new();
    w.handshake().c(P | A, 1, 1, 10);
    // Client's second segment (11..21) not captured; server ACKs 21.
    w.s(A, 1, 21, 0);
    let c = w.one();
    assert_eq!(c.client().gaps(), 1);
    assert!(c.history().contains('G'));
}

#[test]
fn ended_connections_expire_after_grace_and_memory_is_freed() {
    let mut segs = Vec::new();
    for i in 0..200u16 {
        let mut w = Wire::between(&format!("10.0.0.1:{}", 40000 + i), "10.0.0.2:80");
        w.t += i64::from(i) * 1_000_000_000;
        w.handshake()
            .c(F | A, 1, 1, 0)
            .s(F | A, 1, 2, 0)
            .c(A, 2, 2, 0);
        segs.extend(w.segs);
    }
    let mut t = Tracker::new(TrackerConfig::default());
    let mut n = 0;
    for s in &segs {
        t.push(s, &mut |_| n += 1);
    }
    assert!(t.open_connections() < 20, "open {}", t.open_connections());
    let stats = t.finish(&mut |_| n += 1);
    assert_eq!(n, 200);
    assert!(stats.peak_open < 20);
}

#[test]
fn memory_follows_open_connections_not_capture_length() {
    // 100k short connections at 1000 per second of capture time: the
    // open set stays near grace x rate, whatever the capture's length.
    let mut t = Tracker::new(TrackerConfig::default());
    let mut done = 0u64;
    for i in 0..100_000u32 {
        let port = 1024 + (i % 60_000) as u16;
        let mut w = Wire::between(&format!("10.0.{}.1:{port}", i / 60_000), "10.0.0.2:80");
        w.t += i64::from(i) * 1_000_000;
        w.c_isn = i.wrapping_mul(7919);
        w.handshake()
            .c(F | A, 1, 1, 0)
            .s(F | A, 1, 2, 0)
            .c(A, 2, 2, 0);
        for s in &w.segs {
            t.push(s, &mut |_| done += 1);
        }
    }
    let stats = t.finish(&mut |_| done += 1);
    assert_eq!(done, 100_000);
    assert!(stats.peak_open < 10_000, "peak {}", stats.peak_open);
}

#[test]
fn ended_connection_is_freed_when_its_grace_runs_out() {
    // Handshake RTT 200 us: grace = 300 ms + 4 x 200 us.
    let mut w = Wire::new();
    w.handshake()
        .c(F | A, 1, 1, 0)
        .s(F | A, 1, 2, 0)
        .c(A, 2, 2, 0);
    let mut other = Wire::between("10.0.0.3:40000", "10.0.0.2:80");
    other.t = w.t;
    // A retransmitted FIN 250 ms later is still part of the connection.
    other.seg(true, S, 0, 0, 0, 250_000);
    w.seg(false, F | A, 1, 2, 0, 250_000);
    let mut late = w.segs.pop().expect("segment");
    // 300.7 ms after the last segment: not yet.
    other.seg(true, S, 0, 0, 0, 300_700);
    let mut t = Tracker::new(TrackerConfig::default());
    let mut done = Vec::new();
    let feed = |t: &mut Tracker, s: &Segment, done: &mut Vec<Connection>| {
        t.push(s, &mut |c| done.push(c));
    };
    for s in &w.segs {
        feed(&mut t, s, &mut done);
    }
    feed(&mut t, &other.segs[0], &mut done);
    assert!(done.is_empty());
    // The FIN retransmission, at the same time as other.segs[0].
    late.ts = other.segs[0].ts;
    feed(&mut t, &late, &mut done);
    feed(&mut t, &other.segs[1], &mut done);
    assert!(done.is_empty(), "still within the grace");
    // The late FIN doubled the grace (its sender is backing off): 601.6 ms
    // from the last segment.
    let mut after = other.segs[1];
    after.ts = Timestamp(late.ts.0 + 301_000_000);
    feed(&mut t, &after, &mut done);
    assert!(done.is_empty(), "within the grace a late FIN doubled");
    after.ts = Timestamp(late.ts.0 + 602_000_000);
    feed(&mut t, &after, &mut done);
    assert_eq!(done.len(), 1, "finished without waiting for a sweep");
    assert_eq!(done[0].segments(), 7);
    assert_eq!(done[0].ep[1].packets, 3);
    assert_eq!(t.open_connections(), 1);
}

#[test]
fn ended_without_rtt_keeps_the_full_grace() {
    // Refused: no handshake RTT, so the 2 s grace applies.
    let mut w = Wire::new();
    w.c(S, 0, 0, 0).s(R | A, 0, 1, 0);
    w.seg(true, S, 0, 0, 0, 1_500_000);
    let c = w.one();
    assert_eq!(c.segments(), 3);
    assert_eq!(c.handshake.syn_count, 2);
}

#[test]
fn max_open_finishes_the_longest_idle_early() {
    let cfg = TrackerConfig {
        max_open: 100,
        ..TrackerConfig::default()
    };
    let mut t = Tracker::new(cfg);
    let mut out = Vec::new();
    let mut most = 0;
    for i in 0..1000u16 {
        let mut w = Wire::between(&format!("10.0.0.1:{}", 20000 + i), "10.0.0.2:80");
        w.t += i64::from(i) * 1_000_000;
        w.frame = u64::from(i);
        w.c(S, 0, 0, 0);
        t.push(&w.segs[0], &mut |c| out.push(c));
        most = most.max(t.open_connections());
    }
    assert!(most <= 100, "open {most}");
    let stats = t.finish(&mut |c| out.push(c));
    assert_eq!(stats.finished_early, 900);
    assert_eq!(out.len(), 1000);
    // The longest idle went first: the first 900 SYNs, in order.
    let ports: Vec<u16> = out
        .iter()
        .take(900)
        .map(|c| c.client().addr().port())
        .collect();
    let want: Vec<u16> = (0..900).map(|i| 20000 + i).collect();
    assert_eq!(ports, want);
    assert!(out.iter().all(|c| c.segments() == 1));
}

#[test]
fn max_open_passes_over_connections_that_became_active() {
    let cfg = TrackerConfig {
        max_open: 32,
        ..TrackerConfig::default()
    };
    let mut t = Tracker::new(cfg);
    let mut out = Vec::new();
    let mut busy = Wire::between("10.0.0.9:1111", "10.0.0.2:80");
    busy.handshake();
    for s in &busy.segs {
        t.push(s, &mut |c| out.push(c));
    }
    for i in 0..200u16 {
        let mut w = Wire::between(&format!("10.0.0.1:{}", 20000 + i), "10.0.0.2:80");
        w.t = busy.t + i64::from(i) * 1_000_000;
        w.c(S, 0, 0, 0);
        t.push(&w.segs[0], &mut |c| out.push(c));
        // The busy connection keeps talking, so it is never the idlest.
        busy.t = w.t;
        busy.c(P | A, 1 + u32::from(i), 1, 1);
        let s = *busy.segs.last().expect("segment");
        t.push(&s, &mut |c| out.push(c));
    }
    assert!(t.open_connections() <= 32);
    let stats = t.finish(&mut |c| out.push(c));
    let b: Vec<&Connection> = out.iter().filter(|c| c.client().addr() == busy.c).collect();
    assert_eq!(b.len(), 1, "the active connection was never finished early");
    assert_eq!(b[0].segments(), 203);
    assert_eq!(stats.finished_early, 200 + 1 - 32);
}

#[test]
fn finish_order_is_by_first_frame() {
    let mut a = Wire::between("10.0.0.1:40001", "10.0.0.2:80");
    let mut b = Wire::between("10.0.0.9:40001", "10.0.0.2:80");
    a.c(S, 0, 0, 0);
    b.c(S, 0, 0, 0);
    b.segs[0].frame = 1;
    a.segs[0].frame = 2;
    let segs = vec![a.segs[0], b.segs[0]];
    let v = track_with(&segs, TrackerConfig::default());
    assert_eq!(v[0].first_frame, 1);
    assert_eq!(v[1].first_frame, 2);
}

#[test]
fn history_letters() {
    let mut w = Wire::new();
    w.handshake()
        .c(P | A, 1, 1, 10)
        .s(P | A, 1, 11, 20)
        .c(F | A, 11, 21, 0)
        .s(F | A, 21, 12, 0)
        .c(A, 12, 22, 0);
    let c = w.one();
    assert_eq!(c.history(), "ShADdFf");
    assert_eq!(c.zeek_state(), "SF");
}

#[test]
fn retransmissions_use_zeek_log_scale() {
    let mut w = Wire::new();
    w.handshake().c(P | A, 1, 1, 10);
    for _ in 0..10 {
        w.c(P | A, 1, 1, 10);
    }
    let c = w.one();
    // 'T' once at the first and once at the 10th retransmission.
    assert_eq!(c.history().matches('T').count(), 2);
}

#[test]
fn zeek_marks_a_first_segment_from_the_server_with_a_caret() {
    // Capture starts with the server's SYN-ACK (Zeek's SHR ^hdaf case).
    let mut w = Wire::new();
    w.s(S | A, 0, 1, 0)
        .s(P | A, 1, 1, 10)
        .s(A, 11, 1, 0)
        .s(F | A, 11, 1, 0);
    let c = w.one();
    assert_eq!(c.history(), "^hdaf");
    assert_eq!(c.zeek_state(), "SHR");
    // A connection that starts with the client's SYN has none.
    let mut w = Wire::new();
    w.handshake();
    assert!(!w.one().history().contains('^'));
}

#[test]
fn a_segment_that_fills_the_hole_it_was_reordered_from_counts_its_bytes() {
    // The server's second segment arrives after its third (reordered on
    // the way, or resent after a loss before the capture point), then
    // `resent` more times across the capture point.
    let reordered = |resent: usize| {
        let mut w = Wire::new();
        w.handshake()
            .c(P | A, 1, 1, 9)
            .s(A, 1, 10, 1448)
            .s(A, 2897, 10, 1448)
            .s(A, 1449, 10, 1448);
        for _ in 0..resent {
            w.s(A, 1449, 10, 1448);
        }
        w.c(A, 10, 4345, 0);
        w.one()
    };
    let c = reordered(0);
    assert_eq!(c.server().unique_bytes, 3 * 1448);
    assert_eq!(c.server().retransmits(), 1);
    // Bytes sent again count once.
    let c = reordered(1);
    assert_eq!(c.server().unique_bytes, 3 * 1448);
    assert_eq!(c.server().retransmits(), 2);
}

/// A request of 9 bytes answered with 100, the server's FIN, then the
/// client's: the close whose last ACK the tests below lose or keep.
fn answered_then_both_fins() -> Wire {
    let mut w = Wire::new();
    w.handshake()
        .c(P | A, 1, 1, 9)
        .s(P | A, 1, 10, 100)
        .s(F | A, 101, 10, 0)
        .c(F | A, 10, 102, 0);
    w
}

#[test]
fn a_fin_retransmitted_with_backoff_after_the_close_stays_in_its_connection() {
    // The client's last ACK and its FIN's ACKs are lost past the capture
    // point: its FIN comes again 200, 400 and 800 ms later (Linux backoff),
    // the server's kernel ACKing each one.
    let mut w = answered_then_both_fins();
    for back_off_ms in [200, 400, 800] {
        w.seg(true, F | A, 10, 102, 0, back_off_ms * 1000)
            .s(A, 102, 11, 0);
    }
    let c = w.one();
    assert_eq!(c.client().packets, 7);
    assert_eq!(c.fins_after_end, 3);
}

/// `main`'s segments with another connection's ACKs every 100 ms for
/// `secs` seconds after them, so that analysis time moves on while `main`
/// is silent; frames renumbered in time order. Gives the segment index at
/// which each connection was finished (or `usize::MAX` at the end).
fn finished_while_time_moves(main: &Wire, secs: i64) -> Vec<(Connection, usize)> {
    let mut other = Wire::between("10.0.0.3:5000", "10.0.0.2:80");
    other.t = main.t;
    other.handshake();
    for _ in 0..secs * 10 {
        other.seg(true, A, 1, 1, 0, 100_000);
    }
    let mut segs: Vec<Segment> = main.segs.iter().chain(&other.segs).cloned().collect();
    segs.sort_by_key(|s| s.ts);
    for (i, s) in segs.iter_mut().enumerate() {
        s.frame = i as u64 + 1;
    }
    let mut out = Vec::new();
    let mut t = Tracker::new(TrackerConfig::default());
    for (i, seg) in segs.iter().enumerate() {
        t.push(seg, &mut |c| out.push((c, i)));
    }
    t.finish(&mut |c| out.push((c, usize::MAX)));
    out.retain(|(c, _)| c.client().addr() == main.c);
    out
}

#[test]
fn a_fin_lost_after_the_capture_point_is_awaited_past_the_grace() {
    // Captured at the client: its FIN never reaches the server, which
    // never ACKs it; the client's kernel sends it again 2 s later (its
    // timeout backed off), and the server ACKs that one.
    let mut w = answered_then_both_fins();
    w.seg(true, F | A, 10, 102, 0, 2_000_000).s(A, 102, 11, 0);
    let rows = finished_while_time_moves(&w, 5);
    assert_eq!(
        rows.len(),
        1,
        "one connection, not a second half-closed one"
    );
    let c = &rows[0].0;
    assert_eq!(c.client().packets, 5);
    assert_eq!(c.server().packets, 4);
    assert_eq!(c.state, State::Closed);
    // Once the FIN is ACKed the wait is the grace again.
    assert_ne!(
        rows[0].1,
        usize::MAX,
        "finished before the end of the capture"
    );
}

#[test]
fn a_clean_close_waits_only_its_grace() {
    let mut w = answered_then_both_fins();
    w.s(A, 102, 11, 0);
    let main_segments = w.segs.len();
    let rows = finished_while_time_moves(&w, 5);
    assert_eq!(rows.len(), 1);
    // The filler's handshake takes 3 segments; its ACKs come every 100 ms,
    // and the grace is 300 ms plus 4 round trips of 200 us.
    let at = rows[0].1;
    assert!(
        at < main_segments + 3 + 6,
        "finished at segment {at}, a second or more after the close"
    );
}

/// A tracked connection is one 768-byte allocation (mimalloc's size class
/// below 896): with 100 000 open, one byte over it costs 128 per
/// connection.
#[test]
fn a_connection_fits_in_768_bytes() {
    let size = std::mem::size_of::<super::connection::Connection>();
    assert!(size <= 768, "Connection is {size} bytes");
}

/// Pushing reused batches (IPv4 and IPv6 tuples taking turns at the same
/// positions, so the keys' boxes are refilled and dropped) finishes the
/// same connections, in the same order and with the same counts, as
/// pushing one segment at a time.
#[test]
fn batches_track_as_single_pushes_do() {
    let pairs = [
        ("10.0.0.1:40000", "10.0.0.2:80"),
        ("[2001:db8::1]:40001", "[2001:db8::2]:443"),
        ("10.0.0.3:40002", "10.0.0.2:80"),
        ("[2001:db8::3]:40003", "[2001:db8::2]:443"),
    ];
    let mut wires: Vec<Wire> = pairs.iter().map(|(c, s)| Wire::between(c, s)).collect();
    for (i, w) in wires.iter_mut().enumerate() {
        w.handshake();
        for k in 0..(3 + i as u32) {
            w.c(P | A, 1 + k * 10, 1, 10).s(A, 1, 11 + k * 10, 0);
        }
        if i % 2 == 0 {
            w.c(F | A, 1 + (3 + i as u32) * 10, 1, 0);
        } else {
            w.s(R, 1, 0, 0);
        }
    }
    // Round-robin interleaving, renumbered in capture order.
    let mut segs = Vec::new();
    let longest = wires.iter().map(|w| w.segs.len()).max().unwrap_or(0);
    for k in 0..longest {
        for w in &wires {
            if let Some(s) = w.segs.get(k) {
                segs.push(*s);
            }
        }
    }
    for (n, s) in segs.iter_mut().enumerate() {
        s.frame = n as u64 + 1;
        s.ts = Timestamp(1_700_000_000_000_000_000 + n as i64 * 1000);
    }
    let facts = |v: &[Connection]| -> Vec<(u64, u64, State, u64, u64)> {
        v.iter()
            .map(|c| {
                let f = (c.first_frame, c.segments(), c.state);
                (f.0, f.1, f.2, c.client().bytes, c.server().packets)
            })
            .collect()
    };
    let single = track_with(&segs, TrackerConfig::default());
    assert_eq!(single.len(), 4);
    // Fetching ahead from the first entry, and never.
    for from in [0, usize::MAX] {
        let mut batched = Vec::new();
        let mut t = Tracker::new(TrackerConfig {
            look_ahead_from: from,
            ..TrackerConfig::default()
        });
        let mut batch = SegmentBatch::with_capacity(5);
        for chunk in segs.chunks(5) {
            batch.clear();
            for s in chunk {
                batch.push(*s);
            }
            t.push_batch(&batch, &mut |c| batched.push(c));
        }
        t.finish(&mut |c| batched.push(c));
        assert_eq!(facts(&batched), facts(&single), "fetching from {from}");
    }
}

/// The census counts each table entry once, by what it is, and the
/// timeline entries its connections keep.
#[test]
fn census_counts_open_ended_and_attempts() {
    let mut open = Wire::between("10.0.0.1:40000", "10.0.0.2:80");
    open.handshake().c(P | A, 1, 1, 10);
    let mut ended = Wire::between("10.0.0.3:40000", "10.0.0.2:80");
    ended.handshake().s(R, 1, 0, 0);
    let mut half = Wire::between("10.0.0.4:40000", "10.0.0.2:80");
    half.handshake().c(F | A, 1, 1, 0);
    let mut attempt = Wire::between("10.0.0.5:40000", "10.0.0.2:80");
    attempt.c(S, 0, 0, 0);
    // Both FINs, the last one not yet acknowledged.
    let mut closing = Wire::between("10.0.0.6:40000", "10.0.0.2:80");
    closing.handshake().c(F | A, 1, 1, 0).s(F | A, 1, 2, 0);
    let mut t = Tracker::new(TrackerConfig::default());
    for w in [&open, &ended, &half, &attempt, &closing] {
        for s in &w.segs {
            t.push(s, &mut |_| panic!("nothing finishes within the grace"));
        }
    }
    let c = t.census();
    assert_eq!(
        (c.tracked(), c.open, c.half_closed, c.ended, c.attempts),
        (5, 2, 1, 2, 1)
    );
    assert_eq!(c.awaiting_fin_ack, 1);
    assert_eq!(c.timeline_entries, 4 + 4 + 4 + 5);
    assert!(c.timeline_room >= c.timeline_bytes && c.timeline_bytes > 0);
    assert_eq!(c.bytes()[0].1, 4 * std::mem::size_of::<Connection>());
    // The side tables count too: the ended connections' grace deadlines
    // at least.
    assert_eq!(c.bytes()[4], ("bookkeeping", c.bookkeeping));
    assert!(c.bookkeeping >= 2 * std::mem::size_of::<super::due::Deadline>());
}
