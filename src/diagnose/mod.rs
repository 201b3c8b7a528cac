//! Connections → rows: the outcome, the reset facts, suspicion and the
//! evidence sentence of every connection, as `resets.md` defines them.
//!
//! Owns: every judgement about a connection. Reads the tracker's facts and
//! never changes them.
//!
//! May import: `wire`, `track`.
//!
//! Inside: `durations`, `words`, `keys` → `outcome`, `suspect` →
//! `evidence`, `facts` → `flow` → `findings`; only [`classify`] here puts
//! a row together, and [`findings`] aggregates rows (never connections)
//! into the capture's findings.

mod durations;
mod evidence;
mod facts;
pub mod findings;
mod flow;
mod keys;
mod outcome;
mod suspect;
mod words;

pub use evidence::Mark;
pub use facts::{ConnFacts, Variant};
pub use flow::{frames_str, write_frames, Flow, FIELDS};
pub use keys::{community_id, PROTO_TCP};
pub use outcome::{outcome_of, FinBy, Outcome};
pub use suspect::{suspect_sign, SuspectSign, SUSPECT_IDLE_NS, SUSPECT_TTL_DELTA};
pub use words::human;

use crate::track::{Connection, Side};

use evidence::explain;
use facts::facts_of;
use suspect::suspect;
use words::{ip_text, secs};

/// Decides the outcome of a connection and gathers its facts.
pub fn classify(conn: &Connection) -> Flow {
    let c = conn.client();
    let s = conn.server();
    let hs = &conn.handshake();
    let outcome = outcome_of(conn);
    let fin_by = match (c.fin().is_some(), s.fin().is_some()) {
        (true, true) => FinBy::Both,
        (true, false) => FinBy::Client,
        (false, true) => FinBy::Server,
        (false, false) => FinBy::None,
    };
    let r = conn.first_rst();
    let mut marks = Vec::new();
    let (mut evidence, hint) = explain(conn, outcome, &mut marks);
    if conn.continues_evicted() {
        evidence.insert_str(
            0,
            "This row continues a connection the tracker had to finish early (--max-connections): counts start where that row stopped. ",
        );
    }
    Flow {
        client: ip_text(c.addr().ip()),
        client_port: c.addr().port(),
        server: ip_text(s.addr().ip()),
        server_port: s.addr().port(),
        first_time: conn.first_time(),
        last_time: conn.last_time(),
        duration: secs(conn.last_time().0.saturating_sub(conn.first_time().0)),
        packets_c2s: c.packets(),
        packets_s2c: s.packets(),
        bytes_c2s: c.unique_bytes(),
        bytes_s2c: s.unique_bytes(),
        retransmits_c2s: c.retransmits(),
        retransmits_s2c: s.retransmits(),
        response_time: match (c.first_payload_ts(), conn.response_at()) {
            (Some(a), Some(b)) => Some(secs(b.0.saturating_sub(a.0))),
            _ => None,
        },
        handshake_seen: conn.handshake_seen(),
        handshake_rtt: conn.handshake_rtt_ns().map(secs),
        syn_retransmits: hs.syn_count().saturating_sub(1),
        synack_retransmits: hs.synack_count().saturating_sub(1),
        fin_by,
        roles_inferred: conn.roles_inferred(),
        end_reason: conn.end_reason(),
        outcome,
        zeek_state: conn.zeek_state(),
        history: conn.history().to_string(),
        frames: [conn.first_frame(), conn.last_frame()],
        tcp_stream: conn.stream().tcp_stream(),
        community_id: community_id(c.addr(), s.addr(), PROTO_TCP, 0),
        rst_by: r.map(|r| r.by()),
        rst_count: r.map(|_| conn.rst_count()),
        rst_time: r.map(|r| r.ts()),
        rst_after_handshake: r.and_then(durations::rst_after_handshake).map(secs),
        rst_reply_to: r.map(|r| r.reply_to()),
        rst_latency: r.and_then(durations::latency).map(secs),
        idle_before_rst: r.and_then(durations::idle_before).map(secs),
        rst_in_window: r.and_then(|r| r.in_window()),
        rst_ttl_delta: r.and_then(|r| r.ttl_delta()),
        rst_suspect: r.and_then(suspect),
        evidence,
        tunnel: crate::wire::describe_tunnel(conn.tunnel()),
        first_frame: conn.first_frame(),
        missed_bytes: conn.zeek_missed_bytes(),
        zeek_orig_is_server: conn.zeek_orig() == Side::Server,
        hint,
        marks,
        facts: facts_of(conn, outcome),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::testwire::{watch_longer, Wire, A, F, P, R, S};
    use crate::track::ReplyTo;

    fn flow(w: &Wire) -> Flow {
        classify(&w.one())
    }

    /// After the handshake: a 10-byte request, a 20-byte answer, FINs
    /// both ways, the client's first.
    fn exchange_and_close(w: &mut Wire) {
        w.c(P | A, 1, 1, 10)
            .s(P | A, 1, 11, 20)
            .c(F | A, 11, 21, 0)
            .s(F | A, 21, 12, 0)
            .c(A, 12, 22, 0);
    }

    #[test]
    fn clean() {
        let mut w = Wire::new();
        w.handshake();
        exchange_and_close(&mut w);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::Clean);
        assert_eq!(f.fin_by, FinBy::Both);
        assert_eq!(f.zeek_state, "SF");
        assert_eq!(f.rst_by, None);
        assert_eq!(f.rst_count, None);
        assert!(f.handshake_seen);
        assert_eq!(f.handshake_rtt, Some(0.0002));
    }

    #[test]
    fn refused() {
        let mut w = Wire::new();
        w.c(S, 0, 0, 0).s(R | A, 0, 1, 0);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::Refused);
        assert_eq!(f.rst_by, Some(Side::Server));
        assert_eq!(f.rst_reply_to, Some(ReplyTo::Syn));
        assert_eq!(f.zeek_state, "REJ");
        assert_eq!(f.history, "Sr");
        assert_eq!(f.rst_in_window, Some(true));
        assert!(
            f.evidence.contains("nothing listened on port 80"),
            "{}",
            f.evidence
        );
    }

    #[test]
    fn unanswered() {
        let mut w = Wire::new();
        w.c(S, 0, 0, 0)
            .seg(true, S, 0, 0, 0, 1_000_000)
            .seg(true, S, 0, 0, 0, 2_000_000);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::Unanswered);
        assert_eq!(f.syn_retransmits, 2);
        assert_eq!(f.zeek_state, "S0");
        assert!(f.evidence.contains("3 SYNs"), "{}", f.evidence);
    }

    #[test]
    fn unanswered_then_client_rst_is_rstos0() {
        let mut w = Wire::new();
        w.c(S, 0, 0, 0).c(R, 1, 0, 0);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::Unanswered);
        assert_eq!(f.zeek_state, "RSTOS0");
    }

    #[test]
    fn synack_lost_by_the_capture_is_not_refused() {
        // SYN captured, SYN-ACK dropped by the capture, then an exchange.
        let mut w = Wire::new();
        w.c(S, 0, 0, 0)
            .c(A, 1, 1, 0)
            .c(P | A, 1, 1, 10)
            .s(P | A, 1, 11, 100)
            .s(R | A, 101, 11, 0);
        assert_eq!(flow(&w).outcome, Outcome::ServerAbort);
    }

    #[test]
    fn handshake_rst() {
        let mut w = Wire::new();
        w.c(S, 0, 0, 0).s(S | A, 0, 1, 0).c(R, 1, 0, 0);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::HandshakeRst);
        assert_eq!(f.rst_by, Some(Side::Client));
        assert_eq!(f.rst_reply_to, Some(ReplyTo::SynAck));
        assert_eq!(f.zeek_state, "RSTO");
    }

    #[test]
    fn post_handshake_rst_instead_of_ack() {
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 87).s(R, 1, 0, 0);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::PostHandshakeRst);
        assert_eq!(f.rst_reply_to, Some(ReplyTo::Data));
        assert!(
            f.evidence.starts_with("RST instead of ACK"),
            "{}",
            f.evidence
        );
        assert!(f.hint.contains("ulimit -n"));
        assert_eq!(f.zeek_state, "RSTR");
        assert!(f.marks.iter().any(|m| m.note.contains("never ACKed")));
    }

    #[test]
    fn post_handshake_rst_answering_handshake_ack() {
        let mut w = Wire::new();
        w.handshake().s(R, 1, 0, 0);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::PostHandshakeRst);
        assert_eq!(f.rst_reply_to, Some(ReplyTo::Ack));
        assert!(f.evidence.contains("final ACK"), "{}", f.evidence);
    }

    #[test]
    fn post_handshake_rst_synack_retransmissions() {
        let mut w = Wire::new();
        w.handshake()
            .c(P | A, 1, 1, 50)
            .s(S | A, 0, 1, 0)
            .s(S | A, 0, 1, 0)
            .s(R, 1, 0, 0);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::PostHandshakeRst);
        assert_eq!(f.synack_retransmits, 2);
        assert!(
            f.evidence.starts_with("SYN-ACK retransmissions"),
            "{}",
            f.evidence
        );
    }

    #[test]
    fn post_handshake_rst_acked_then_rst_later() {
        let mut w = Wire::new();
        w.handshake()
            .c(P | A, 1, 1, 50)
            .s(A, 1, 51, 0)
            .seg(false, R | A, 1, 51, 0, 2_000_000);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::PostHandshakeRst);
        assert_eq!(f.rst_reply_to, Some(ReplyTo::None));
        assert!(
            f.evidence.starts_with("ACKed, then RST later"),
            "{}",
            f.evidence
        );
    }

    #[test]
    fn server_abort() {
        let mut w = Wire::new();
        w.handshake()
            .c(P | A, 1, 1, 10)
            .s(P | A, 1, 11, 100)
            .s(R | A, 101, 11, 0);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::ServerAbort);
        assert_eq!(f.zeek_state, "RSTR");
    }

    #[test]
    fn client_abort_with_unread_data() {
        let mut w = Wire::new();
        w.handshake()
            .c(P | A, 1, 1, 10)
            .s(P | A, 1, 11, 4000)
            .s(P | A, 4001, 11, 4192)
            .c(A, 11, 8193, 0)
            .c(R | A, 11, 8193, 0);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::ClientAbort);
        assert_eq!(f.rst_by, Some(Side::Client));
        assert_eq!(f.rst_reply_to, Some(ReplyTo::None));
        assert!(
            f.evidence
                .contains("8192 bytes after the client's last request"),
            "{}",
            f.evidence
        );
        assert_eq!(f.zeek_state, "RSTO");
        assert!(f.rst_suspect.is_none());
    }

    #[test]
    fn rst_after_half_close_server_kept_writing() {
        let mut w = Wire::new();
        w.handshake()
            .c(F | A, 1, 1, 0)
            .s(P | A, 1, 2, 100)
            .c(R, 2, 0, 0);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::RstAfterHalfClose);
        assert!(f.evidence.contains("server kept writing"), "{}", f.evidence);
    }

    #[test]
    fn half_closed_names_stuck_side_and_duration() {
        let mut w = Wire::new();
        w.handshake().c(F | A, 1, 1, 0).s(A, 1, 2, 0);
        let mut conns = w.track();
        let mut conn = conns.remove(0);
        watch_longer(&mut conn, 60_000_000_000);
        let f = classify(&conn);
        assert_eq!(f.outcome, Outcome::HalfClosed);
        assert_eq!(f.fin_by, FinBy::Client);
        assert!(f.evidence.contains("the server ACKed it"), "{}", f.evidence);
        assert!(f.evidence.contains("CLOSE_WAIT for 60.0"), "{}", f.evidence);
        assert_eq!(f.zeek_state, "S2");
    }

    #[test]
    fn rst_after_close() {
        let mut w = Wire::new();
        w.handshake()
            .c(F | A, 1, 1, 0)
            .s(F | A, 1, 2, 0)
            .c(R, 2, 0, 0);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::RstAfterClose);
        assert_eq!(f.zeek_state, "SF");
    }

    #[test]
    fn open_and_midstream() {
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 10);
        assert_eq!(flow(&w).outcome, Outcome::Open);
        assert_eq!(flow(&w).zeek_state, "S1");

        let mut w = Wire::new();
        w.c(P | A, 1, 1, 10).s(P | A, 1, 11, 10);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::Open);
        assert!(f.roles_inferred);
        assert_eq!(f.zeek_state, "OTH");

        // Mid-connection client abort: classified without the handshake.
        let mut w = Wire::new();
        w.s(P | A, 1, 1, 10).c(R | A, 1, 11, 0);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::ClientAbort);
        assert!(!f.handshake_seen);
    }

    #[test]
    fn suspicious_rst_by_ttl_and_kept_sending() {
        let mut w = Wire::new();
        w.handshake()
            .c(P | A, 1, 1, 10)
            .s(A, 1, 11, 0)
            .c(P | A, 11, 1, 10);
        w.s(R, 1, 0, 0);
        w.last().ttl = 49;
        w.s(P | A, 1, 21, 100);
        let f = flow(&w);
        assert_eq!(f.rst_ttl_delta, Some(-15));
        let why = f.rst_suspect.expect("suspect");
        assert!(why.contains("TTL 49"), "{why}");
        assert!(why.contains("kept sending"), "{why}");
        // The outcome is unchanged.
        assert_eq!(f.outcome, Outcome::PostHandshakeRst);
    }

    #[test]
    fn suspicious_rst_burst_and_idle() {
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 10).s(A, 1, 11, 0);
        w.seg(false, R, 1, 0, 0, 40_000_000);
        w.seg(false, R, 1461, 0, 0, 10);
        w.seg(false, R, 2921, 0, 0, 10);
        let f = flow(&w);
        assert_eq!(f.rst_count, Some(3));
        let why = f.rst_suspect.expect("suspect");
        assert!(why.contains("burst of 3"), "{why}");
        assert!(why.contains("silence"), "{why}");
    }

    #[test]
    fn a_kernel_answering_segments_in_flight_after_its_reset_is_no_burst() {
        // The client closed with unread data while the server streamed:
        // its RST, then a bare RST at the server's ACK for each server
        // segment it had received but not yet processed, back to back.
        let mut w = Wire::new();
        w.handshake()
            .c(P | A, 1, 1, 10)
            .s(A, 1, 11, 0)
            .s(P | A, 1, 11, 1448)
            .s(P | A, 1449, 11, 1448)
            .c(R | A, 11, 1449, 0);
        w.seg(true, R, 11, 0, 0, 20);
        w.seg(false, A, 2897, 11, 1448, 3);
        w.seg(true, R, 11, 0, 0, 3);
        let f = flow(&w);
        assert_eq!(f.rst_count, Some(3));
        assert_eq!(f.rst_suspect, None);
        // Spread over the sequence space instead, they are one.
        let mut w = Wire::new();
        w.handshake()
            .c(P | A, 1, 1, 10)
            .s(A, 1, 11, 0)
            .s(P | A, 1, 11, 1448)
            .c(R | A, 11, 1449, 0);
        w.seg(true, R, 1471, 0, 0, 20);
        let why = flow(&w).rst_suspect.expect("suspect");
        assert!(why.contains("burst of 2"), "{why}");
    }

    #[test]
    fn json_has_the_fields_in_order() {
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 87).s(R, 1, 0, 0);
        let f = flow(&w);
        let v = serde_json::to_value(&f).expect("json");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut sorted = FIELDS.to_vec();
        sorted.sort_unstable();
        let mut got = keys.clone();
        got.sort_unstable();
        assert_eq!(got, sorted);
        let json = serde_json::to_string(&f).expect("json");
        let mut last = 0;
        for name in FIELDS {
            let at = json.find(&format!("\"{name}\":")).expect("field");
            assert!(at >= last, "{name} out of order");
            last = at;
        }
        assert!(json.contains("\"outcome\":\"post-handshake-rst\""));
        assert!(json.contains("\"rst_reply_to\":\"data\""));
        assert!(
            json.contains("\"first_time\":\"2023-11-14T22:13:20.000100Z\""),
            "{json}"
        );
    }

    #[test]
    fn resent_request_counts_once_and_as_retransmissions() {
        // A 97-byte request sent 9 times (8 retransmissions), then answered.
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 97);
        for _ in 0..8 {
            w.seg(true, P | A, 1, 1, 97, 200_000);
        }
        w.s(A, 1, 98, 0)
            .seg(false, P | A, 1, 98, 300, 20_000)
            .c(A, 98, 301, 0)
            .c(R | A, 98, 301, 0);
        let f = flow(&w);
        assert_eq!(f.bytes_c2s, 97);
        assert_eq!(f.retransmits_c2s, 8);
        assert_eq!(f.bytes_s2c, 300);
        assert_eq!(f.retransmits_s2c, 0);
        assert_eq!(f.packets_c2s, 13);
        // First request byte to first response byte: 8 x 200 ms + 0.1 + 20 ms.
        assert_eq!(f.response_time, Some(1.6201));
        // The client ACKed all 300 bytes: not "likely never read".
        assert_eq!(f.outcome, Outcome::ClientAbort);
        assert!(!f.evidence.contains("likely never read"), "{}", f.evidence);
        assert!(f.evidence.contains("ACKed all of it"), "{}", f.evidence);
    }

    #[test]
    fn keepalive_probe_is_not_a_retransmission() {
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 10).s(A, 1, 11, 0);
        w.seg(true, A, 10, 1, 1, 60_000_000);
        let f = flow(&w);
        assert_eq!(f.retransmits_c2s, 0);
        assert_eq!(f.bytes_c2s, 10);
    }

    #[test]
    fn synack_never_answered_is_half_open() {
        let mut w = Wire::new();
        w.c(S, 0, 0, 0)
            .s(S | A, 0, 1, 0)
            .seg(false, S | A, 0, 1, 0, 1_000_000)
            .seg(false, S | A, 0, 1, 0, 2_000_000);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::HalfOpen);
        assert_eq!(f.synack_retransmits, 2);
        assert!(f.evidence.contains("3 SYN-ACKs"), "{}", f.evidence);
        // A SYN retransmission from the client is still no answer.
        let mut w = Wire::new();
        w.c(S, 0, 0, 0).s(S | A, 0, 1, 0).c(S, 0, 0, 0);
        assert_eq!(flow(&w).outcome, Outcome::HalfOpen);
        // An ACK is an answer.
        let mut w = Wire::new();
        w.handshake();
        assert_eq!(flow(&w).outcome, Outcome::Open);
    }

    #[test]
    fn server_reply_the_capture_missed_counts_as_sent() {
        // The client ACKs 500 server bytes the capture never saw.
        let mut w = Wire::new();
        w.handshake()
            .c(P | A, 1, 1, 50)
            .s(A, 1, 51, 0)
            .c(A, 51, 501, 0)
            .s(R | A, 501, 51, 0);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::ServerAbort);
        assert!(f.evidence.contains("the capture missed"), "{}", f.evidence);
        assert!(f.evidence.contains("ACKed 500 bytes"), "{}", f.evidence);
    }

    #[test]
    fn rst_one_hop_off_a_constant_ttl_is_suspect_and_idle_is_before_the_answered_segment() {
        // 4.5 s of silence, then the client writes and a middlebox one hop
        // nearer answers for the server 40 us later.
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 10).s(P | A, 1, 11, 20);
        w.seg(true, P | A, 11, 21, 10, 4_500_000);
        w.seg(false, R, 21, 0, 0, 40);
        w.last().ttl = 65;
        let f = flow(&w);
        assert_eq!(f.rst_ttl_delta, Some(1));
        assert_eq!(f.idle_before_rst, Some(4.5));
        let why = f.rst_suspect.expect("suspect");
        assert!(why.contains("TTL 65 differs by +1"), "{why}");
        // The same RST with the sender's own TTL is the kernel's.
        w.last().ttl = 64;
        assert_eq!(flow(&w).rst_suspect, None);
    }

    #[test]
    fn fin_sent_before_the_rst_but_captured_after_is_not_kept_sending() {
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 10).s(P | A, 1, 11, 20);
        // The server's RST at seq 22 overtakes its FIN at seq 21.
        w.s(R | A, 22, 11, 0).s(F | A, 21, 11, 0);
        let f = flow(&w);
        assert_eq!(f.rst_suspect, None, "{:?}", f.rst_suspect);
    }

    /// The server still holds an older connection on the tuple: it answers
    /// the SYN with a challenge ACK for that one, the client resets it, and
    /// the SYN's retry meets what the server does now.
    fn challenge_ack_dance(w: &mut Wire) {
        let stale = 0x4000_0000;
        w.c(S, 0, 0, 0)
            .seg(false, A, 777_000, stale, 0, 40)
            .seg(true, R, stale, 0, 0, 20)
            .seg(true, S, 0, 0, 0, 1_000_000);
    }

    #[test]
    fn a_reset_answering_a_challenge_ack_leaves_the_attempt_to_be_refused() {
        let mut w = Wire::new();
        challenge_ack_dance(&mut w);
        w.s(R | A, 0, 1, 0);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::Refused);
        assert_eq!(f.rst_by, Some(Side::Server));
        assert_eq!(f.rst_reply_to, Some(ReplyTo::Syn));
        assert_eq!(f.rst_count, Some(2));
    }

    #[test]
    fn a_reset_answering_a_challenge_ack_does_not_reset_the_connection_after_it() {
        let mut w = Wire::new();
        challenge_ack_dance(&mut w);
        w.s(S | A, 0, 1, 0).c(A, 1, 1, 0);
        exchange_and_close(&mut w);
        let f = flow(&w);
        assert_eq!(f.outcome, Outcome::Clean);
        assert_eq!(f.rst_by, None);
        assert_eq!(f.syn_retransmits, 1);
    }

    #[test]
    fn a_reset_long_after_the_handshake_ack_is_the_server_ending_it() {
        // Handshake round trip 200 us; the RST comes 50 ms after the ACK.
        let mut w = Wire::new();
        w.handshake().seg(false, R | A, 1, 1, 0, 50_000);
        let f = flow(&w);
        assert_eq!(f.facts.variant, Variant::AckedThenReset);
        assert_eq!(f.facts.server_ended, Some(w.last().ts));
        // Within two round trips it answers the ACK: a full accept queue.
        let mut w = Wire::new();
        w.handshake().seg(false, R | A, 1, 1, 0, 300);
        let f = flow(&w);
        assert_eq!(f.facts.variant, Variant::ResetOnHandshakeAck);
        assert_eq!(f.facts.server_ended, None);
    }

    #[test]
    fn a_full_queue_resetting_a_retried_handshake_is_not_the_server_ending_it() {
        // The queue dropped the ACK; the server resent its SYN-ACK a second
        // later and reset the ACK that answered it, long after the first.
        let mut w = Wire::new();
        w.handshake()
            .seg(false, S | A, 0, 1, 0, 1_000_000)
            .c(A, 1, 1, 0)
            .seg(false, R, 1, 0, 0, 30);
        let f = flow(&w);
        assert_eq!(f.facts.variant, Variant::SynackRetransmits);
        assert_eq!(f.facts.server_ended, None);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(27_000), "27 us");
        assert_eq!(human(3_200_000), "3.2 ms");
        assert_eq!(human(1_250_000_000), "1.250 s");
        assert_eq!(human(725_000_000_000), "12 min 5 s");
    }
}
