//! A connection's kept segments in the spec's timeline notation, close to
//! what `tcpdump` prints with relative sequence numbers:
//!
//! ```text
//! +0.000000  C>S [S]    seq 0 win 64240
//! +0.000312  C>S [P.]   seq 1:88 ack 1 len 87
//! +0.000339  S>C [R]    seq 1                      <- server reset in reply to data, 27 us later
//! ```

use std::fmt::Write as _;

use crate::classify::Mark;
use crate::connection::{Connection, Side, TimelineEntry};

/// Column where annotations start, so arrows line up.
const NOTE_COLUMN: usize = 48;

/// One line per kept segment, `... N segments not kept ...` where the bounded
/// timeline left some out, and `<- note` on marked segments. Lines end in
/// `\n`; `indent` is prefixed to each.
pub fn render(conn: &Connection, marks: &[Mark], indent: &str) -> String {
    let mut out = String::new();
    let mut expect = 0u64;
    for e in conn.timeline.entries() {
        if e.ord > expect {
            let _ = writeln!(out, "{indent}... {} segments not kept ...", e.ord - expect);
        }
        expect = e.ord.saturating_add(1);
        let line = entry_line(conn, &e);
        let notes: Vec<&str> = marks
            .iter()
            .filter(|m| m.ord == e.ord)
            .map(|m| m.note.as_str())
            .collect();
        if notes.is_empty() {
            let _ = writeln!(out, "{indent}{line}");
        } else {
            let _ = writeln!(
                out,
                "{indent}{line:<width$} <- {}",
                notes.join("; "),
                width = NOTE_COLUMN
            );
        }
    }
    if conn.segments > expect {
        let _ = writeln!(
            out,
            "{indent}... {} segments not kept ...",
            conn.segments - expect
        );
    }
    out
}

/// One segment as tcpdump would describe it: `seq A:B` with payload, `seq A`
/// for SYN, FIN and RST without payload, no seq on a bare ACK; `ack N` only
/// when the ACK flag is set; `win N` on SYNs (unscaled, so meaningful) and
/// on zero windows; `len N` with payload.
pub fn entry_line(conn: &Connection, e: &TimelineEntry) -> String {
    let t = e.ts.0.saturating_sub(conn.first_time.0);
    let dir = match e.from {
        Side::Client => "C>S",
        Side::Server => "S>C",
    };
    let flags = format!("[{}]", e.flags);
    let mut line = format!("+{:.6}  {dir} {flags:<6}", t as f64 / 1e9);
    let f = e.flags;
    let mut parts: Vec<String> = Vec::new();
    if e.len > 0 {
        // Data starts after the SYN's sequence number when both are present.
        let start = e.rel_seq.saturating_add(i64::from(f.syn()));
        parts.push(format!(
            "seq {start}:{}",
            start.saturating_add(i64::from(e.len))
        ));
    } else if f.syn() || f.fin() || f.rst() {
        parts.push(format!("seq {}", e.rel_seq));
    }
    if f.ack() {
        if let Some(a) = e.rel_ack {
            parts.push(format!("ack {a}"));
        }
    }
    if f.syn() || (e.window == 0 && !f.rst()) {
        parts.push(format!("win {}", e.window));
    }
    if e.len > 0 {
        parts.push(format!("len {}", e.len));
    }
    line.push(' ');
    line.push_str(&parts.join(" "));
    line.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::classify;
    use crate::connection::tests::{Wire, A, P, R, S};

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
        assert_eq!(lines[0], "+0.000000  C>S [S]    seq 0 win 64240");
        assert_eq!(lines[1], "+0.000041  S>C [S.]   seq 0 ack 1 win 65483");
        assert_eq!(
            lines[2],
            "+0.000060  C>S [.]    ack 1                      <- handshake complete"
        );
        assert_eq!(lines[3], "+0.000312  C>S [P.]   seq 1:88 ack 1 len 87");
        assert!(
            lines[4].starts_with("+0.000339  S>C [R]    seq 1                      <- server reset in reply to data, 27 us later; it never ACKed the data"),
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
        let kept = text.lines().filter(|l| l.starts_with("  +")).count() as u64;
        let skipped: u64 = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("... "))
            .filter_map(|l| l.split(' ').next())
            .filter_map(|n| n.parse::<u64>().ok())
            .sum();
        assert_eq!(kept + skipped, conn.segments);
        assert!(text.contains("[R]"));
    }
}
