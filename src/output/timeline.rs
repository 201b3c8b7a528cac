//! A connection's kept segments in the spec's timeline notation, close to
//! what `tcpdump` prints with relative sequence numbers:
//!
//! ```text
//! 17  +0.000000  C>S [S]    seq 0 win 64240
//! 20  +0.000312  C>S [P.]   seq 1:88 ack 1 len 87
//! 21  +0.000339  S>C [R]    seq 1                      <- server reset in reply to data, 27 us later
//! ```
//!
//! Each line starts with the segment's frame number (as Wireshark numbers
//! the merged capture), right-aligned to the widest of the connection, so
//! `frame.number == 21` finds the same packet.

use std::fmt::Write as _;

use crate::diagnose::{frames_str, Flow, Mark};
use crate::track::{Connection, Side, TimelineEntry};

/// Column where annotations start, so arrows line up.
const NOTE_COLUMN: usize = 48;

/// One line per kept segment, `... N segments not kept ...` where the bounded
/// timeline left some out, and `<- note` on marked segments. Lines end in
/// `\n`; `indent` is prefixed to each.
pub fn render(conn: &Connection, marks: &[Mark], indent: &str) -> String {
    let mut out = String::new();
    let mut expect = 0u64;
    let entries = conn.timeline_entries();
    let width = entries
        .iter()
        .map(|e| e.frame().to_string().len())
        .max()
        .unwrap_or(1);
    for e in entries {
        if e.ord() > expect {
            let _ = writeln!(
                out,
                "{indent}... {} segments not kept ...",
                e.ord() - expect
            );
        }
        expect = e.ord().saturating_add(1);
        let line = entry_line(conn, &e);
        let notes: Vec<&str> = marks
            .iter()
            .filter(|m| m.ord == e.ord())
            .map(|m| m.note.as_str())
            .collect();
        let frame = e.frame();
        if notes.is_empty() {
            let _ = writeln!(out, "{indent}{frame:>width$}  {line}");
        } else {
            let _ = writeln!(
                out,
                "{indent}{frame:>width$}  {line:<note$} <- {}",
                notes.join("; "),
                note = NOTE_COLUMN
            );
        }
    }
    if conn.segments() > expect {
        let _ = writeln!(
            out,
            "{indent}... {} segments not kept ...",
            conn.segments() - expect
        );
    }
    out
}

/// The connection's keys for other tools, as one line: the Wireshark
/// display filter that opens it, its frames and its Community ID.
pub fn keys_line(flow: &Flow) -> String {
    format!(
        "tcp.stream eq {}, frames {}, community_id {}",
        flow.tcp_stream,
        frames_str(&flow.frames),
        flow.community_id
    )
}

/// One segment as tcpdump would describe it: `seq A:B` with payload, `seq A`
/// for SYN, FIN and RST without payload, no seq on a bare ACK; `ack N` only
/// when the ACK flag is set; `win N` on SYNs (unscaled, so meaningful) and
/// on zero windows; `len N` with payload.
pub fn entry_line(conn: &Connection, e: &TimelineEntry) -> String {
    let t = e.ts().0.saturating_sub(conn.first_time().0);
    let dir = match e.from() {
        Side::Client => "C>S",
        Side::Server => "S>C",
    };
    let flags = format!("[{}]", e.flags());
    // A segment stamped before the connection's first one (timestamps out
    // of order) shows as `-0.000100`, never `+-0.000100`.
    let sign = if t < 0 { '-' } else { '+' };
    let mut line = format!(
        "{sign}{:.6}  {dir} {flags:<6}",
        t.unsigned_abs() as f64 / 1e9
    );
    let f = e.flags();
    let mut parts: Vec<String> = Vec::new();
    if e.len() > 0 {
        // Data starts after the SYN's sequence number when both are present.
        let start = e.rel_seq().saturating_add(i64::from(f.syn()));
        parts.push(format!(
            "seq {start}:{}",
            start.saturating_add(i64::from(e.len()))
        ));
    } else if f.syn() || f.fin() || f.rst() {
        parts.push(format!("seq {}", e.rel_seq()));
    }
    if f.ack() {
        if let Some(a) = e.rel_ack() {
            parts.push(format!("ack {a}"));
        }
    }
    if f.syn() || (e.window() == 0 && !f.rst()) {
        parts.push(format!("win {}", e.window()));
    }
    if e.len() > 0 {
        parts.push(format!("len {}", e.len()));
    }
    line.push(' ');
    line.push_str(&parts.join(" "));
    line.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::classify;
    use crate::track::testwire::{Wire, A, P, R, S};

    #[test]
    fn spec_example() {
        let mut w = Wire::new();
        w.seg(true, S, 0, 0, 0, 0)
            .seg(false, S | A, 0, 1, 0, 41)
            .seg(true, A, 1, 1, 0, 19)
            .seg(true, P | A, 1, 1, 87, 252)
            .seg(false, R, 1, 0, 0, 27);
        w.segs[0].window = 64240;
        w.segs[1].window = 65483;
        let conn = w.one();
        let flow = classify(&conn);
        let text = render(&conn, &flow.marks, "");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "1  +0.000000  C>S [S]    seq 0 win 64240");
        assert_eq!(lines[1], "2  +0.000041  S>C [S.]   seq 0 ack 1 win 65483");
        assert_eq!(
            lines[2],
            "3  +0.000060  C>S [.]    ack 1                      <- handshake complete"
        );
        assert_eq!(lines[3], "4  +0.000312  C>S [P.]   seq 1:88 ack 1 len 87");
        assert!(
            lines[4].starts_with("5  +0.000339  S>C [R]    seq 1                      <- server reset in reply to data, 27 us later; it never ACKed the data"),
            "{}",
            lines[4]
        );
    }

    #[test]
    fn left_out_segments_are_counted() {
        let mut w = Wire::new();
        w.handshake();
        let mut seq = 1;
        for _ in 0..50 {
            w.c(P | A, seq, 1, 10);
            seq += 10;
        }
        w.s(R, 1, 0, 0);
        let conn = w.one();
        let flow = classify(&conn);
        let text = render(&conn, &flow.marks, "  ");
        assert!(text.contains("  ... "), "{text}");
        let kept = text
            .lines()
            .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
            .count() as u64;
        // Frame numbers run 1..=54 here: two digits, right-aligned.
        assert!(text.starts_with("   1  +0.000000  C>S [S]"), "{text}");
        assert!(text.contains("  54  +"), "{text}");
        let skipped: u64 = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("... "))
            .filter_map(|l| l.split(' ').next())
            .filter_map(|n| n.parse::<u64>().ok())
            .sum();
        assert_eq!(kept + skipped, conn.segments());
        assert!(text.contains("[R]"));
    }
}

#[cfg(test)]
mod proptests {
    use std::net::SocketAddr;

    use crate::track::testwire::track_with;
    use crate::track::TrackerConfig;
    use crate::wire::{Flags, Segment, Timestamp};
    use proptest::prelude::*;

    fn arb_segment() -> impl Strategy<Value = (bool, u8, u32, u32, u32, u16, i64, u8, Option<u8>)> {
        (
            any::<bool>(),
            any::<u8>(),
            prop_oneof![any::<u32>(), 0u32..64, (u32::MAX - 64)..=u32::MAX],
            prop_oneof![any::<u32>(), 0u32..64, (u32::MAX - 64)..=u32::MAX],
            prop_oneof![Just(0u32), 1u32..2000, Just(u32::MAX)],
            any::<u16>(),
            prop_oneof![-1_000_000_000i64..1_000_000_000, Just(i64::MAX / 4)],
            any::<u8>(),
            proptest::option::of(any::<u8>()),
        )
    }

    proptest! {
        /// Any sequence of segments on a few tuples: tracking, classification
        /// and rendering never panic, and every RST is counted exactly once.
        #[test]
        fn never_panics_and_counts_every_rst(
            segs in proptest::collection::vec((0u8..3, arb_segment()), 0..80)
        ) {
            let c: SocketAddr = "10.0.0.1:40000".parse().expect("addr");
            let s: SocketAddr = "10.0.0.2:80".parse().expect("addr");
            let mut t = 0i64;
            let mut input = Vec::new();
            for (i, (tuple, (c2s, flags, seq, ack, len, win, dt, ttl, ws))) in segs.into_iter().enumerate() {
                t = t.saturating_add(dt);
                let frame = i as u64 + 1;
                let c = SocketAddr::new(c.ip(), c.port() + u16::from(tuple));
                let (src, dst) = if c2s { (c, s) } else { (s, c) };
                input.push(Segment {
                    frame, ts: Timestamp(t), src, dst, seq, ack, flags: Flags(flags),
                    window: win, wscale: ws, payload_len: len, ttl, snap_cut: false, nat_copy: false, tunnel: 0, outer_flow: 0,
                });
            }
            let cfg = TrackerConfig { timeline_head: 3, timeline_tail: 3, timeline_key: 2, ..TrackerConfig::default() };
            let conns = track_with(&input, cfg);
            let rsts: u64 = conns.iter().map(|c| u64::from(c.rst_count())).sum();
            let want = input.iter().filter(|s| s.flags.rst()).count() as u64;
            prop_assert_eq!(rsts, want);
            let segs: u64 = conns.iter().map(|c| c.segments()).sum();
            prop_assert_eq!(segs, input.len() as u64);
            for conn in &conns {
                let flow = crate::diagnose::classify(conn);
                let text = super::render(conn, &flow.marks, "");
                prop_assert!(!flow.evidence.is_empty());
                let _ = text;
                prop_assert_eq!(crate::output::flows::csv_record(&flow).len(), crate::output::flows::CSV_FIELDS.len());
            }
        }
    }
}
