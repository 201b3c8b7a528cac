//! Two additions to `report --format json` that pictures need: each example
//! connection's kept segments as structured values (a ladder diagram cannot
//! be drawn from tcpdump-style text without parsing it back), and a bounded
//! table of connections ranked by trouble (the HTML report's sortable table).
//! Both are new keys; nothing already in the JSON changes.

use serde_json::{json, Value};

use crate::diagnose::{Flow, Mark, Outcome};
use crate::track::{Connection, Side};

/// Rows the connections table keeps by default: enough to hold every
/// troubled connection of a typical incident, few enough that the HTML
/// report stays well under 2 MB whatever the capture.
pub const TABLE_ROWS: usize = 500;

/// The kept segments of `conn`, one object each, in capture order, with the
/// notes of the deciding segments. `ord` is the segment's position in the
/// connection, so a reader sees where segments were not kept.
pub fn segments_json(conn: &Connection, marks: &[Mark]) -> Vec<Value> {
    conn.timeline_entries()
        .iter()
        .map(|e| {
            let f = e.flags();
            // The same sequence conventions as the text timeline: data starts
            // after the SYN's own number; bare ACKs carry no seq.
            let seq = if e.len() > 0 {
                Some(e.rel_seq().saturating_add(i64::from(f.syn())))
            } else if f.syn() || f.fin() || f.rst() {
                Some(e.rel_seq())
            } else {
                None
            };
            let notes: Vec<&str> = marks
                .iter()
                .filter(|m| m.ord == e.ord())
                .map(|m| m.note.as_str())
                .collect();
            json!({
                "ord": e.ord(),
                "time": e.ts().rfc3339(),
                "t": e.ts().0.saturating_sub(conn.first_time().0) as f64 / 1e9,
                "from": match e.from() { Side::Client => "client", Side::Server => "server" },
                "flags": f.to_string(),
                "seq": seq,
                "ack": e.rel_ack(),
                "len": e.len(),
                "win": e.window(),
                "key": e.key(),
                "notes": notes,
            })
        })
        .collect()
}

/// How much trouble an outcome is, most first: the server failing its
/// clients, then clients and half-closes, then the benign ones.
fn trouble_rank(o: Outcome) -> u8 {
    match o {
        Outcome::PostHandshakeRst
        | Outcome::HandshakeRst
        | Outcome::Refused
        | Outcome::Unanswered
        | Outcome::ServerAbort
        | Outcome::HalfOpen => 0,
        Outcome::ClientAbort | Outcome::RstAfterHalfClose | Outcome::HalfClosed => 1,
        Outcome::RstAfterClose => 2,
        Outcome::Open => 3,
        Outcome::Clean => 4,
    }
}

/// The spec fields a table row carries (names as in `flows`).
const ROW_FIELDS: [&str; 16] = [
    "client",
    "client_port",
    "server",
    "server_port",
    "first_time",
    "duration",
    "packets_c2s",
    "packets_s2c",
    "bytes_c2s",
    "bytes_s2c",
    "outcome",
    "rst_by",
    "rst_time",
    "rst_reply_to",
    "rst_suspect",
    "evidence",
];

/// The `limit` most troubled connections, in (trouble, first frame) order.
/// Memory is bounded by twice the limit: rows beyond it are dropped as they
/// come. Rows are kept as flows and written as JSON only by
/// [`TopConnections::to_json`]: most rows kept for a while are dropped by
/// a later trim, and turning every one into JSON as it came took a quarter
/// of the output thread.
#[derive(Clone, Debug)]
pub struct TopConnections {
    limit: usize,
    total: u64,
    rows: Vec<((u8, u64), Flow)>,
    /// The worst key kept at the last trim: anything not better is dropped
    /// as it comes.
    cutoff: Option<(u8, u64)>,
}

impl Default for TopConnections {
    fn default() -> Self {
        TopConnections::new(TABLE_ROWS)
    }
}

/// The table's fields of `flow`, as the flow's own JSON writes them.
fn row_json(flow: &Flow) -> Value {
    let full = serde_json::to_value(flow).unwrap_or_default();
    let row: serde_json::Map<String, Value> = ROW_FIELDS
        .iter()
        .filter_map(|k| full.get(*k).map(|v| ((*k).to_string(), v.clone())))
        .collect();
    Value::Object(row)
}

impl TopConnections {
    pub fn new(limit: usize) -> Self {
        TopConnections {
            limit,
            total: 0,
            rows: Vec::new(),
            cutoff: None,
        }
    }

    pub fn add(&mut self, flow: &Flow) {
        self.total += 1;
        let key = (trouble_rank(flow.outcome), flow.first_frame);
        if self.limit == 0 || self.cutoff.is_some_and(|c| key >= c) {
            return;
        }
        self.rows.push((key, flow.clone()));
        if self.rows.len() >= self.limit.saturating_mul(2) {
            self.rows.sort_by_key(|r| r.0);
            self.rows.truncate(self.limit);
            self.cutoff = self.rows.last().map(|r| r.0);
        }
    }

    /// `{"total", "limit", "rows"}`: rows most troubled first.
    pub fn to_json(&self) -> Value {
        let mut rows: Vec<&((u8, u64), Flow)> = self.rows.iter().collect();
        rows.sort_by_key(|r| r.0);
        rows.truncate(self.limit);
        json!({
            "total": self.total,
            "limit": self.limit,
            "rows": rows.into_iter().map(|r| row_json(&r.1)).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::classify;
    use crate::track::testwire::{Wire, A, P, R, S};

    #[test]
    fn segments_carry_direction_flags_numbers_and_marks() {
        let mut w = Wire::new();
        w.seg(true, S, 0, 0, 0, 0)
            .seg(false, S | A, 0, 1, 0, 41)
            .seg(true, A, 1, 1, 0, 19)
            .seg(true, P | A, 1, 1, 87, 252)
            .seg(false, R, 1, 0, 0, 27);
        let conn = w.one();
        let flow = classify(&conn);
        let segs = segments_json(&conn, &flow.marks);
        assert_eq!(segs.len(), 5);
        assert_eq!(segs[0]["from"], "client");
        assert_eq!(segs[0]["flags"], "S");
        assert_eq!(segs[0]["seq"], 0);
        assert_eq!(segs[1]["flags"], "S.");
        assert_eq!(segs[1]["ack"], 1);
        assert_eq!(segs[2]["seq"], Value::Null);
        assert_eq!(segs[2]["notes"][0], "handshake complete");
        assert_eq!(segs[3]["seq"], 1);
        assert_eq!(segs[3]["len"], 87);
        assert_eq!(segs[4]["from"], "server");
        assert_eq!(segs[4]["flags"], "R");
        assert!(segs[4]["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("reset")));
    }

    #[test]
    fn table_keeps_the_most_troubled_in_bounded_memory() {
        let mut top = TopConnections::new(3);
        let mut w = Wire::new();
        w.handshake();
        w.s(R, 1, 0, 0);
        let reset = classify(&w.one());
        let mut w = Wire::new();
        w.handshake();
        let open = classify(&w.one());
        for i in 0..20u64 {
            let mut f = if i % 5 == 0 {
                reset.clone()
            } else {
                open.clone()
            };
            f.first_frame = i;
            top.add(&f);
            assert!(top.rows.len() <= 6);
        }
        let v = top.to_json();
        assert_eq!(v["total"], 20);
        let rows = v["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), 3);
        for r in rows {
            assert_eq!(r["outcome"], "post-handshake-rst");
        }
    }
}
