//! The evidence sentence, the host hint and the timeline marks of a
//! connection, from its outcome and its facts.

use crate::track::{Connection, EndReason, ReplyTo, Side};

use super::durations;
use super::outcome::Outcome;
use super::words::{bytes, bytes_adj, context, delay, human, rel, rst_note, watched_until};

/// An annotation for the segment at position `ord` of the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    pub ord: u64,
    pub note: String,
}

const HINT_POST_HANDSHAKE: &str = "On the server host: compare the process's descriptors with its limit (`ls /proc/PID/fd | wc -l` against `ulimit -n`), check the listen backlog (`ss -lnt`: Recv-Q against Send-Q on the port), and look for whatever slows the accept loop (a saturated database pool, for one).";

fn mark(marks: &mut Vec<Mark>, ord: Option<u64>, note: impl Into<String>) {
    if let Some(ord) = ord {
        marks.push(Mark {
            ord,
            note: note.into(),
        });
    }
}

fn mark_fins(conn: &Connection, marks: &mut Vec<Mark>) {
    for side in [Side::Client, Side::Server] {
        if let Some(f) = conn.side(side).fin() {
            let note = match side {
                Side::Client => "client closes (FIN)",
                Side::Server => "server closes (FIN)",
            };
            mark(marks, Some(f.ord()), note);
        }
    }
}

/// The evidence sentence and the host-side hint, plus timeline marks.
pub(super) fn explain(
    conn: &Connection,
    outcome: Outcome,
    marks: &mut Vec<Mark>,
) -> (String, String) {
    let hs = &conn.handshake();
    let c = conn.client();
    let s = conn.server();
    let r = conn.first_rst();
    let server = s.addr();
    if let Some(r) = r {
        mark(marks, Some(r.ord()), rst_note(r));
    }
    match (outcome, r) {
        (Outcome::Clean, _) => {
            mark_fins(conn, marks);
            let first = match (c.fin(), s.fin()) {
                (Some(a), Some(b)) if b.ord() < a.ord() => "server",
                _ => "client",
            };
            let tail = match r {
                Some(r) => format!(
                    "; a RST from the {} came only after both FINs",
                    r.by().name()
                ),
                None => String::new(),
            };
            (
                format!("Orderly close: both sides sent FIN, the {first} first, and no RST came before the second FIN{tail}."),
                String::new(),
            )
        }
        (Outcome::Refused, Some(r)) => {
            mark(marks, hs.syn_ord(), "connection attempt");
            let retries = hs.syn_count().saturating_sub(1);
            let retry = if retries > 0 {
                format!(
                    " (after {retries} SYN retransmission{})",
                    if retries == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            };
            (
                format!(
                    "The client's SYN was answered by RST{retry} {} later, never by a SYN-ACK: nothing listened on port {}.",
                    delay(r),
                    server.port()
                ),
                format!("Nothing accepted connections on {server} at that moment: check that the service runs and is bound to that address and port (`ss -lnt`), or look for a firewall REJECT rule."),
            )
        }
        (Outcome::Unanswered, r) => {
            mark(marks, hs.syn_ord(), "connection attempt");
            let span = conn.last_time().0.saturating_sub(conn.first_time().0);
            let gave_up = if r.is_some() {
                ", then the client gave up with a RST"
            } else {
                ""
            };
            (
                format!(
                    "The client sent {} SYN{} over {} and never got any reply{gave_up}.",
                    hs.syn_count(),
                    if hs.syn_count() == 1 { "" } else { "s" },
                    human(span)
                ),
                format!("Nothing answered at all: a firewall dropping SYNs, a wrong address, or a host that is down; check routes and filters between the client and {server}."),
            )
        }
        (Outcome::HandshakeRst, Some(r)) => {
            mark(marks, hs.synack_ord(), "SYN-ACK");
            (
                format!(
                    "The {} reset the connection after the SYN-ACK, before the handshake completed ({}).",
                    r.by().name(),
                    context(r)
                ),
                "A handshake aborted half-way: a client that timed out or gave up, a SYN-ACK the client did not expect (stale or spoofed SYN), or a middlebox in between.".to_string(),
            )
        }
        (Outcome::PostHandshakeRst, Some(r)) => {
            mark(marks, hs.ack_ord(), "handshake complete");
            let after = durations::rst_after_handshake(r)
                .map(human)
                .unwrap_or_else(|| "an unknown time (timestamps out of order)".to_string());
            let req = r.client_bytes_before();
            let ev = if r.synack_after_ack_before() > 0 {
                format!(
                    "SYN-ACK retransmissions before the RST: the client completed the handshake{}, but the server retransmitted its SYN-ACK {} time{} as if the client's ACK never arrived, then reset {after} after the handshake: its accept queue was full.",
                    if req > 0 { format!(" and sent a {}-byte request", req) } else { String::new() },
                    r.synack_after_ack_before(),
                    if r.synack_after_ack_before() == 1 { "" } else { "s" },
                )
            } else if req > 0 && !r.server_acked_client_data() {
                if let Some(m) = marks.first_mut() {
                    m.note.push_str("; it never ACKed the data");
                }
                format!(
                    "RST instead of ACK: the server completed the handshake, then answered the client's {} request with RST {} later without ever ACKing it: the listener aborted the connection (accept-queue overflow with tcp_abort_on_overflow=1), or the handshake's final ACK was dropped.",
                    bytes_adj(req),
                    delay(r)
                )
            } else if req == 0 && r.reply_to() == ReplyTo::Ack {
                format!(
                    "RST instead of ACK: the server answered the handshake's final ACK itself with RST {} later: the listener aborted the connection (accept-queue overflow with tcp_abort_on_overflow=1).",
                    delay(r)
                )
            } else if req > 0 {
                format!(
                    "ACKed, then RST later: the server's kernel ACKed the client's {} request but nothing ever answered it; the server reset {after} after the handshake, {}: the connection sat un-accepted in the listen queue until the listener closed (process exit or restart), or the process could not accept it (descriptors exhausted) and closed it unread.",
                    bytes_adj(req),
                    context(r)
                )
            } else {
                format!(
                    "The server completed the handshake and reset the connection {after} later without sending any data or FIN ({}): the application never served it.",
                    context(r)
                )
            };
            (ev, HINT_POST_HANDSHAKE.to_string())
        }
        (Outcome::ServerAbort, Some(r)) => (
            if r.server_sent_unseen() {
                format!(
                    "The server reset the established connection ({}) after sending payload the capture missed (the client ACKed {} of it), before either side sent FIN.",
                    context(r),
                    bytes(c.highest_ack_rel().unwrap_or(1).saturating_sub(1).max(0) as u64)
                )
            } else {
                format!(
                    "The server reset the established connection ({}) after sending {} of payload, before either side sent FIN.",
                    context(r),
                    bytes(r.server_bytes_before())
                )
            },
            "The server's application aborted the connection: close() with unread data, SO_LINGER 0, a crash, or a proxy or application timeout; look at the server's logs at that moment.".to_string(),
        ),
        (Outcome::ClientAbort, Some(r)) => {
            let unread = if r.client_bytes_before() == 0 {
                format!(
                    "the client had sent no request; the server had sent {}",
                    bytes(r.server_bytes_before())
                )
            } else if r.server_bytes_after_client_data() > 0 && r.server_bytes_unacked() > 0 {
                format!(
                    "the server had sent {} after the client's last request, {} of it never ACKed: data the client likely never read",
                    bytes(r.server_bytes_after_client_data()),
                    bytes(r.server_bytes_unacked())
                )
            } else if r.server_bytes_after_client_data() > 0 {
                format!(
                    "the server had sent {} after the client's last request and the client's kernel ACKed all of it (whether the application read it the wire cannot tell)",
                    bytes(r.server_bytes_after_client_data())
                )
            } else {
                "the server had sent no data after the client's last request".to_string()
            };
            (
                format!(
                    "The client reset the established connection ({}) before either side sent FIN; {unread}.",
                    context(r)
                ),
                "The client closed abortively: close() with unread data in its receive buffer, SO_LINGER 0, or a process that died (crash, kill, pool shutdown). The server's next read returned \"connection reset by peer\".".to_string(),
            )
        }
        (Outcome::RstAfterHalfClose, Some(r)) => {
            mark_fins(conn, marks);
            let closer = if r.client_fin_before() { Side::Client } else { Side::Server };
            let fin_ts = conn.side(closer).fin().map(|f| f.ts()).unwrap_or(conn.first_time());
            let since = human(r.ts().0.saturating_sub(fin_ts.0));
            let story = if closer == Side::Client && r.by() == Side::Client && r.reply_to() == ReplyTo::Data {
                " the server kept writing after the client closed, and the client's kernel answered with RST"
            } else if closer == Side::Server && r.by() == Side::Server && r.reply_to() == ReplyTo::Data {
                " the server had closed the connection and the client still sent data on it (stale keep-alive reuse); the server's kernel answered with RST"
            } else {
                ""
            };
            (
                format!(
                    "The {} sent FIN at {} and the {} had not closed; {since} later the {} reset ({}){}{story}.",
                    closer.name(),
                    rel(conn, fin_ts),
                    closer.peer().name(),
                    r.by().name(),
                    context(r),
                    if story.is_empty() { "" } else { ":" },
                ),
                "Either the side that closed received data it would never read (it closed while the peer kept writing), or a keep-alive connection was reused after the peer closed it: make the client's idle timeout shorter than the server's.".to_string(),
            )
        }
        (Outcome::HalfClosed, _) => {
            mark_fins(conn, marks);
            let closer = if c.fin().is_some() { Side::Client } else { Side::Server };
            let stuck = closer.peer();
            let fin = conn.side(closer).fin();
            let fin_ts = fin.map(|f| f.ts()).unwrap_or(conn.first_time());
            let fin_at = fin.map_or(conn.observed_until(), |f| f.at());
            let acked = conn
                .side(stuck)
                .highest_ack_rel()
                .is_some_and(|a| a >= conn.side(closer).next_rel());
            // Analysis time: never negative, whatever the wire's clocks did.
            let stuck_for = human(conn.observed_until().0.saturating_sub(fin_at.0));
            (
                format!(
                    "The {} sent FIN at {}; the {} {} and never closed: it sat in CLOSE_WAIT for {stuck_for}, {}.",
                    closer.name(),
                    rel(conn, fin_ts),
                    stuck.name(),
                    if acked { "ACKed it" } else { "did not ACK it" },
                    watched_until(conn.end_reason()),
                ),
                format!(
                    "On the {} host: `ss -tan state close-wait` lists sockets stuck like this one and `ss -tanp state close-wait` names the process; a count that keeps growing is a descriptor leak: the application read EOF and never called close(){}.",
                    stuck.name(),
                    if stuck == Side::Server { "" } else { " (or the client keeps a half-closed pool connection)" }
                ),
            )
        }
        (Outcome::RstAfterClose, Some(r)) => {
            mark_fins(conn, marks);
            (
                format!(
                    "Both sides had sent FIN, then the {} sent a RST ({}): usually benign.",
                    r.by().name(),
                    context(r)
                ),
                String::new(),
            )
        }
        (Outcome::HalfOpen, _) => {
            mark(marks, hs.synack_ord(), "SYN-ACK, never answered");
            (
                format!(
                    "The server answered the client's SYN with {} SYN-ACK{}, and the client never answered (no ACK, RST or FIN) for {}: a spoofed source (SYN flood), a client that died, or an ACK the capture lost.",
                    hs.synack_count(),
                    if hs.synack_count() == 1 { "" } else { "s" },
                    human(conn.observed_until().0.saturating_sub(hs.synack().map_or(conn.first_time().0, |t| t.0)))
                ),
                "Many of these from many sources at once are a SYN flood: check SYN cookies (`nstat -az TcpExtSyncookiesSent`), `net.ipv4.tcp_max_syn_backlog` and upstream filtering.".to_string(),
            )
        }
        (Outcome::Open, _) => {
            let ev = if hs.synack().is_some() && hs.ack().is_none() && c.fin().is_none() && c.bytes() == 0 {
                "The server answered with a SYN-ACK but the client never completed the handshake; no FIN or RST was seen.".to_string()
            } else {
                let seen = if conn.handshake_seen() { "Established" } else { "Seen mid-connection (handshake not captured)" };
                let quiet = human(conn.observed_until().0.saturating_sub(conn.last_at().0));
                match conn.end_reason() {
                    EndReason::IdleTimeout => format!(
                        "{seen}, then silent: no FIN and no RST; the tracker finished it after {quiet} without a segment (idle timeout)."
                    ),
                    EndReason::Evicted => format!(
                        "{seen}, no FIN and no RST when the tracker had to finish it early (--max-connections, last segment {quiet} before); later segments of it form a row that continues this one."
                    ),
                    EndReason::NewGeneration => format!(
                        "{seen}, no FIN and no RST before a new connection reused its ports (a new SYN with another ISN)."
                    ),
                    _ => format!(
                        "{seen} and still open at the end of the capture: no FIN and no RST; last segment {quiet} before the end."
                    ),
                }
            };
            (ev, String::new())
        }
        // Outcomes that need a RST always have one; keep a sentence anyway.
        (o, None) => (format!("Classified {o}."), String::new()),
    }
}
