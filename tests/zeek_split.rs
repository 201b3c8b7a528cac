//! `flows --zeek-split`: one small capture per rule of Zeek's connection
//! splitting, with the records Zeek writes for it (number, packets,
//! conn_state, history, by Zeek's `TCPSessionAdapter::IsReuse` and its
//! attempt, close and inactivity timers), and the records rstscope writes
//! by its own rules without the option.

mod support;

use support::bin::{run_ok, TempCapture};
use support::captures::{Flow, Wire, BASE_NS, MS, S};
use support::{ACK, FIN, PSH, RST};

/// (packets, conn_state, history) of each conn.log record, in `ts` order.
fn records(cap: &TempCapture, zeek_split: bool) -> Vec<(u64, String, String)> {
    let mut args = vec!["flows", "--format", "zeek", "--quiet"];
    if zeek_split {
        args.push("--zeek-split");
    }
    args.push(cap.arg());
    let text = String::from_utf8(run_ok(&args)).expect("utf-8");
    let mut fields: Vec<&str> = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            fields = f.split('\t').collect();
        }
        if line.starts_with('#') {
            continue;
        }
        let c: Vec<&str> = line.split('\t').collect();
        let get = |n: &str| c[fields.iter().position(|f| *f == n).expect(n)];
        let pkts = |n: &str| get(n).parse::<u64>().expect(n);
        rows.push((
            get("ts").parse::<f64>().expect("ts"),
            (
                pkts("orig_pkts") + pkts("resp_pkts"),
                get("conn_state").to_string(),
                get("history").to_string(),
            ),
        ));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    rows.into_iter().map(|r| r.1).collect()
}

fn rec(pkts: u64, state: &str, history: &str) -> (u64, String, String) {
    (pkts, state.to_string(), history.to_string())
}

/// Handshake at `t`, then the client's FIN, the server's FIN and the
/// client's last ACK 1 ms apart; returns the time of the last.
fn handshake_and_close(w: &mut Wire, f: &mut Flow, t: u64) -> u64 {
    f.handshake(w, t);
    w.put(t + MS, f.c(FIN | ACK, 0));
    w.put(t + 2 * MS, f.s(FIN | ACK, 0));
    w.put(t + 3 * MS, f.c(ACK, 0));
    t + 3 * MS
}

#[test]
fn a_syn_after_a_close_starts_a_record_even_with_the_same_isn() {
    let mut w = Wire::pcap();
    let mut f = Flow::default_pair(1000, 5000);
    let t = handshake_and_close(&mut w, &mut f, BASE_NS);
    // 50 ms later (within rstscope's grace) the same ISN again, another
    // server ISN, and a client RST.
    let mut g = Flow::default_pair(1000, 9000);
    g.handshake(&mut w, t + 50 * MS);
    w.put(t + 51 * MS, g.c(RST | ACK, 0));
    let cap = TempCapture::new("zsplit-syn-after-fin", &w.bytes());
    // rstscope: a SYN with the ISN already seen is a retransmission; the
    // server's new ISN is a second `h`, the client's RST comes after its
    // FIN (Zeek keeps a closed side closed).
    assert_eq!(records(&cap, false), vec![rec(10, "SF", "ShAFfhR")]);
    // Zeek: a SYN once either side has closed is a new connection.
    assert_eq!(
        records(&cap, true),
        vec![rec(6, "SF", "ShAFf"), rec(4, "RSTO", "ShAR")]
    );
}

#[test]
fn a_syn_after_a_rst_starts_a_record_even_with_the_same_isn() {
    let mut w = Wire::pcap();
    let mut f = Flow::default_pair(1000, 5000);
    f.handshake(&mut w, BASE_NS);
    w.put(BASE_NS + MS, f.c(RST | ACK, 0));
    let mut g = Flow::default_pair(1000, 9000);
    handshake_and_close(&mut w, &mut g, BASE_NS + 50 * MS);
    let cap = TempCapture::new("zsplit-syn-after-rst", &w.bytes());
    assert_eq!(records(&cap, false), vec![rec(10, "RSTO", "ShARhFf")]);
    assert_eq!(
        records(&cap, true),
        vec![rec(4, "RSTO", "ShAR"), rec(6, "SF", "ShAFf")]
    );
}

#[test]
fn an_unanswered_syn_is_a_new_record_5s_after_the_first() {
    // Linux's SYN retransmissions, same ISN: 0, 1, 3, 7 and 15 s.
    let mut w = Wire::pcap();
    let f = Flow::default_pair(1000, 5000);
    for s in [0, 1, 3, 7, 15] {
        w.put(BASE_NS + s * S, f.syn());
    }
    let cap = TempCapture::new("zsplit-attempt", &w.bytes());
    assert_eq!(records(&cap, false), vec![rec(5, "S0", "S")]);
    // Zeek's attempt timer removes the connection 5 s after its first SYN
    // (at 5 s, then at 12 s).
    assert_eq!(
        records(&cap, true),
        vec![rec(3, "S0", "S"), rec(1, "S0", "S"), rec(1, "S0", "S")]
    );
}

#[test]
fn a_closed_connection_keeps_late_packets_for_5s() {
    let mut w = Wire::pcap();
    let mut f = Flow::default_pair(1000, 5000);
    let t = handshake_and_close(&mut w, &mut f, BASE_NS);
    // The client's last ACK again, 4 s and 6 s after the server's FIN.
    w.put(t + 4 * S, f.c(ACK, 0));
    w.put(t + 6 * S, f.c(ACK, 0));
    let cap = TempCapture::new("zsplit-close-delay", &w.bytes());
    // rstscope keeps an ended connection a few round trips: both late
    // ACKs are a connection seen mid-stream.
    assert_eq!(
        records(&cap, false),
        vec![rec(6, "SF", "ShAFf"), rec(2, "OTH", "A")]
    );
    // Zeek's delete timer, 5 s after the close completed: the first late
    // ACK still belongs to the connection.
    assert_eq!(
        records(&cap, true),
        vec![rec(7, "SF", "ShAFf"), rec(1, "OTH", "A")]
    );
}

#[test]
fn a_connection_silent_for_300s_is_two_records() {
    let mut w = Wire::pcap();
    let mut f = Flow::default_pair(1000, 5000);
    f.handshake(&mut w, BASE_NS);
    w.put(BASE_NS + MS, f.c(PSH | ACK, 10));
    w.put(BASE_NS + 2 * MS, f.s(ACK, 0));
    let t = BASE_NS + 301 * S;
    w.put(t, f.c(PSH | ACK, 10));
    w.put(t + MS, f.s(ACK, 0));
    w.put(t + 2 * MS, f.c(FIN | ACK, 0));
    w.put(t + 3 * MS, f.s(FIN | ACK, 0));
    w.put(t + 4 * MS, f.c(ACK, 0));
    let cap = TempCapture::new("zsplit-inactivity", &w.bytes());
    // rstscope waits an hour for an idle connection.
    assert_eq!(records(&cap, false), vec![rec(10, "SF", "ShADaFf")]);
    // Zeek's tcp_inactivity_timeout: the rest is a connection seen
    // mid-stream.
    assert_eq!(
        records(&cap, true),
        vec![rec(5, "S1", "ShADa"), rec(5, "SF", "DaFfA")]
    );
}

#[test]
fn every_flows_format_takes_the_option() {
    let mut w = Wire::pcap();
    let f = Flow::default_pair(1000, 5000);
    for s in [0, 1, 3, 7, 15] {
        w.put(BASE_NS + s * S, f.syn());
    }
    let cap = TempCapture::new("zsplit-csv", &w.bytes());
    let csv = run_ok(&["flows", "--format", "csv", "--zeek-split", cap.arg()]);
    let rows = String::from_utf8(csv).expect("utf-8").lines().count();
    assert_eq!(rows, 1 + 3, "a header and three rows");
    let json = run_ok(&["flows", "--format", "ndjson", "--zeek-split", cap.arg()]);
    assert_eq!(String::from_utf8(json).expect("utf-8").lines().count(), 3);
}
