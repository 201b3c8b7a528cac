//! Connections → outcomes: one [`Outcome`] per connection, the reset facts,
//! Zeek's vocabulary and a sentence of evidence, as `resets.md` defines them.

use serde::{Serialize, Serializer};

use crate::connection::{Connection, ReplyTo, RstFact, Side};
use crate::segment::Timestamp;

/// Why a connection ended (or did not). Exactly one per connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Clean,
    Refused,
    Unanswered,
    HandshakeRst,
    PostHandshakeRst,
    ServerAbort,
    ClientAbort,
    RstAfterHalfClose,
    HalfClosed,
    RstAfterClose,
    Open,
}

impl Outcome {
    pub const ALL: [Outcome; 11] = [
        Outcome::Clean,
        Outcome::Refused,
        Outcome::Unanswered,
        Outcome::HandshakeRst,
        Outcome::PostHandshakeRst,
        Outcome::ServerAbort,
        Outcome::ClientAbort,
        Outcome::RstAfterHalfClose,
        Outcome::HalfClosed,
        Outcome::RstAfterClose,
        Outcome::Open,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Clean => "clean",
            Outcome::Refused => "refused",
            Outcome::Unanswered => "unanswered",
            Outcome::HandshakeRst => "handshake-rst",
            Outcome::PostHandshakeRst => "post-handshake-rst",
            Outcome::ServerAbort => "server-abort",
            Outcome::ClientAbort => "client-abort",
            Outcome::RstAfterHalfClose => "rst-after-half-close",
            Outcome::HalfClosed => "half-closed",
            Outcome::RstAfterClose => "rst-after-close",
            Outcome::Open => "open",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.name() == s)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FinBy {
    Client,
    Server,
    Both,
    None,
}

impl FinBy {
    pub fn name(self) -> &'static str {
        match self {
            FinBy::Client => "client",
            FinBy::Server => "server",
            FinBy::Both => "both",
            FinBy::None => "none",
        }
    }
}

/// An annotation for the segment at position `ord` of the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    pub ord: u64,
    pub note: String,
}

/// Every field of the spec, in the spec's order and spelling. Fields marked
/// `serde(skip)` are for the text report only.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Flow {
    pub client: String,
    pub client_port: u16,
    pub server: String,
    pub server_port: u16,
    #[serde(serialize_with = "ser_ts")]
    pub first_time: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub last_time: Timestamp,
    #[serde(serialize_with = "ser_secs")]
    pub duration: f64,
    pub packets_c2s: u64,
    pub packets_s2c: u64,
    pub bytes_c2s: u64,
    pub bytes_s2c: u64,
    pub handshake_seen: bool,
    #[serde(serialize_with = "ser_opt_secs")]
    pub handshake_rtt: Option<f64>,
    pub syn_retransmits: u32,
    pub synack_retransmits: u32,
    pub fin_by: FinBy,
    pub roles_inferred: bool,
    pub outcome: Outcome,
    pub zeek_state: &'static str,
    pub history: String,
    pub rst_by: Option<Side>,
    pub rst_count: Option<u32>,
    #[serde(serialize_with = "ser_opt_ts")]
    pub rst_time: Option<Timestamp>,
    #[serde(serialize_with = "ser_opt_secs")]
    pub rst_after_handshake: Option<f64>,
    pub rst_reply_to: Option<ReplyTo>,
    #[serde(serialize_with = "ser_opt_secs")]
    pub rst_latency: Option<f64>,
    #[serde(serialize_with = "ser_opt_secs")]
    pub idle_before_rst: Option<f64>,
    pub rst_in_window: Option<bool>,
    pub rst_ttl_delta: Option<i16>,
    pub rst_suspect: Option<String>,
    pub evidence: String,

    /// Frame number of the connection's first segment (for ordering and
    /// selection; not a spec column).
    #[serde(skip)]
    pub first_frame: u64,
    /// What to check on the host, in plain words (text report only).
    #[serde(skip)]
    pub hint: String,
    /// Annotations for the deciding segments of the timeline.
    #[serde(skip)]
    pub marks: Vec<Mark>,
}

/// The spec's field names, in order: the CSV header.
pub const FIELDS: [&str; 31] = [
    "client",
    "client_port",
    "server",
    "server_port",
    "first_time",
    "last_time",
    "duration",
    "packets_c2s",
    "packets_s2c",
    "bytes_c2s",
    "bytes_s2c",
    "handshake_seen",
    "handshake_rtt",
    "syn_retransmits",
    "synack_retransmits",
    "fin_by",
    "roles_inferred",
    "outcome",
    "zeek_state",
    "history",
    "rst_by",
    "rst_count",
    "rst_time",
    "rst_after_handshake",
    "rst_reply_to",
    "rst_latency",
    "idle_before_rst",
    "rst_in_window",
    "rst_ttl_delta",
    "rst_suspect",
    "evidence",
];

fn round_us(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn ser_ts<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.rfc3339())
}

fn ser_opt_ts<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.rfc3339()),
        None => s.serialize_none(),
    }
}

fn ser_secs<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(round_us(*x))
}

fn ser_opt_secs<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match x {
        Some(x) => s.serialize_f64(round_us(*x)),
        None => s.serialize_none(),
    }
}

fn secs_str(x: f64) -> String {
    format!("{x:.6}")
}

fn opt<T>(x: &Option<T>, f: impl Fn(&T) -> String) -> String {
    x.as_ref().map(f).unwrap_or_default()
}

impl Flow {
    /// One CSV row, aligned with [`FIELDS`]: timestamps RFC 3339 UTC with
    /// microseconds, durations in seconds with six decimals, empty for none.
    pub fn csv_record(&self) -> Vec<String> {
        vec![
            self.client.clone(),
            self.client_port.to_string(),
            self.server.clone(),
            self.server_port.to_string(),
            self.first_time.rfc3339(),
            self.last_time.rfc3339(),
            secs_str(self.duration),
            self.packets_c2s.to_string(),
            self.packets_s2c.to_string(),
            self.bytes_c2s.to_string(),
            self.bytes_s2c.to_string(),
            self.handshake_seen.to_string(),
            opt(&self.handshake_rtt, |x| secs_str(*x)),
            self.syn_retransmits.to_string(),
            self.synack_retransmits.to_string(),
            self.fin_by.name().to_string(),
            self.roles_inferred.to_string(),
            self.outcome.name().to_string(),
            self.zeek_state.to_string(),
            self.history.clone(),
            opt(&self.rst_by, |s| s.name().to_string()),
            opt(&self.rst_count, |n| n.to_string()),
            opt(&self.rst_time, |t| t.rfc3339()),
            opt(&self.rst_after_handshake, |x| secs_str(*x)),
            opt(&self.rst_reply_to, |r| r.name().to_string()),
            opt(&self.rst_latency, |x| secs_str(*x)),
            opt(&self.idle_before_rst, |x| secs_str(*x)),
            opt(&self.rst_in_window, |b| b.to_string()),
            opt(&self.rst_ttl_delta, |d| d.to_string()),
            self.rst_suspect.clone().unwrap_or_default(),
            self.evidence.clone(),
        ]
    }

    /// `client:port` and `server:port` as people write them (IPv6 in brackets).
    pub fn client_endpoint(&self) -> String {
        endpoint(&self.client, self.client_port)
    }
    pub fn server_endpoint(&self) -> String {
        endpoint(&self.server, self.server_port)
    }
}

fn endpoint(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

/// Thresholds for `rst_suspect`.
pub const SUSPECT_TTL_DELTA: i16 = 3;
pub const SUSPECT_IDLE_NS: i64 = 30_000_000_000;

fn secs(ns: i64) -> f64 {
    ns as f64 / 1e9
}

/// A duration for people: `27 us`, `3.2 ms`, `1.250 s`, `12 min 5 s`.
pub fn human(ns: i64) -> String {
    let a = ns.unsigned_abs();
    let sign = if ns < 0 { "-" } else { "" };
    if a < 1_000_000 {
        format!("{sign}{} us", a / 1000)
    } else if a < 1_000_000_000 {
        format!("{sign}{:.1} ms", a as f64 / 1e6)
    } else if a < 120_000_000_000 {
        format!("{sign}{:.3} s", a as f64 / 1e9)
    } else {
        let s = a / 1_000_000_000;
        format!("{sign}{} min {} s", s / 60, s % 60)
    }
}

fn rel(conn: &Connection, t: Timestamp) -> String {
    format!("+{:.6} s", secs(t.0.saturating_sub(conn.first_time.0)))
}

/// "33-byte", as an adjective.
fn bytes_adj(n: u64) -> String {
    format!("{n}-byte")
}

fn bytes(n: u64) -> String {
    if n == 1 {
        "1 byte".to_string()
    } else {
        format!("{n} bytes")
    }
}

/// A RST later than this after the peer's segment is described as "after"
/// it rather than "in reply to" it: a kernel answers in microseconds. Only
/// the wording changes; `rst_reply_to` stays the plain wire fact.
const REPLY_WORDING_NS: i64 = 1_000_000;

/// How the RST relates to the peer's last segment, in words: "in reply to
/// data", "50.3 ms after the client's ACK", or "unprompted" when the RST's
/// sender had spoken last.
fn context(r: &RstFact) -> String {
    let (kind, with_article) = match r.reply_to {
        ReplyTo::Data => ("data", "data"),
        ReplyTo::Fin => ("FIN", "a FIN"),
        ReplyTo::Ack => ("ACK", "an ACK"),
        ReplyTo::Syn => ("SYN", "the SYN"),
        ReplyTo::SynAck => ("SYN-ACK", "the SYN-ACK"),
        ReplyTo::None => return "unprompted".to_string(),
    };
    match r.latency {
        Some(l) if l >= REPLY_WORDING_NS => {
            format!("{} after the {}'s {kind}", human(l), r.by.peer().name())
        }
        _ => format!("in reply to {with_article}"),
    }
}

/// Decides the outcome of a connection and gathers its facts.
pub fn classify(conn: &Connection) -> Flow {
    let c = conn.client();
    let s = conn.server();
    let hs = &conn.handshake;
    let outcome = outcome_of(conn);
    let fin_by = match (c.fin.is_some(), s.fin.is_some()) {
        (true, true) => FinBy::Both,
        (true, false) => FinBy::Client,
        (false, true) => FinBy::Server,
        (false, false) => FinBy::None,
    };
    let r = conn.first_rst.as_deref();
    let mut marks = Vec::new();
    let (evidence, hint) = explain(conn, outcome, &mut marks);
    Flow {
        client: c.addr.ip().to_string(),
        client_port: c.addr.port(),
        server: s.addr.ip().to_string(),
        server_port: s.addr.port(),
        first_time: conn.first_time,
        last_time: conn.last_time,
        duration: secs(conn.last_time.0.saturating_sub(conn.first_time.0)),
        packets_c2s: c.packets,
        packets_s2c: s.packets,
        bytes_c2s: c.bytes,
        bytes_s2c: s.bytes,
        handshake_seen: conn.handshake_seen(),
        handshake_rtt: match (hs.syn_answered, hs.ack) {
            (Some(a), Some(b)) if conn.handshake_seen() => Some(secs(b.0.saturating_sub(a.0))),
            _ => None,
        },
        syn_retransmits: hs.syn_count.saturating_sub(1),
        synack_retransmits: hs.synack_count.saturating_sub(1),
        fin_by,
        roles_inferred: conn.roles_inferred,
        outcome,
        zeek_state: conn.zeek_state(),
        history: conn.history.clone(),
        rst_by: r.map(|r| r.by),
        rst_count: r.map(|_| conn.rst_count),
        rst_time: r.map(|r| r.ts),
        rst_after_handshake: r
            .and_then(|r| r.handshake_done.map(|h| secs(r.ts.0.saturating_sub(h.0)))),
        rst_reply_to: r.map(|r| r.reply_to),
        rst_latency: r.and_then(|r| r.latency.map(secs)),
        idle_before_rst: r.and_then(|r| r.idle_before.map(secs)),
        rst_in_window: r.and_then(|r| r.in_window),
        rst_ttl_delta: r.and_then(|r| r.ttl_delta),
        rst_suspect: r.and_then(suspect),
        evidence,
        first_frame: conn.first_frame,
        hint,
        marks,
    }
}

/// The outcome table of `resets.md`, decided on the first RST's snapshot.
pub fn outcome_of(conn: &Connection) -> Outcome {
    let hs = &conn.handshake;
    match &conn.first_rst {
        Some(r) => {
            if r.client_fin_before && r.server_fin_before {
                Outcome::RstAfterClose
            } else if r.client_fin_before || r.server_fin_before {
                Outcome::RstAfterHalfClose
            } else if r.synack_before && r.handshake_done.is_none() {
                Outcome::HandshakeRst
            } else if r.syn_before && !r.synack_before && r.server_segments_before == 0 {
                if r.by == Side::Server {
                    Outcome::Refused
                } else {
                    // The client gave up on its own SYN: no answer ever came.
                    Outcome::Unanswered
                }
            } else if r.by == Side::Server {
                if r.server_bytes_before == 0 && r.handshake_done.is_some() {
                    Outcome::PostHandshakeRst
                } else {
                    Outcome::ServerAbort
                }
            } else {
                Outcome::ClientAbort
            }
        }
        None => {
            let (cf, sf) = (conn.client().fin.is_some(), conn.server().fin.is_some());
            if cf && sf {
                Outcome::Clean
            } else if cf || sf {
                Outcome::HalfClosed
            } else if hs.syn.is_some() && hs.synack.is_none() && !conn.server().seen() {
                Outcome::Unanswered
            } else {
                Outcome::Open
            }
        }
    }
}

/// `rst_suspect`: why this RST may not come from the peer's kernel.
fn suspect(r: &RstFact) -> Option<String> {
    let mut why = Vec::new();
    if let Some(d) = r.ttl_delta {
        if d.abs() >= SUSPECT_TTL_DELTA {
            why.push(format!(
                "TTL {} differs by {d:+} from the sender's other segments",
                r.ttl
            ));
        }
    }
    if let Some(idle) = r.idle_before {
        if idle >= SUSPECT_IDLE_NS {
            why.push(format!(
                "came after {} of silence (a middlebox idle timeout?)",
                human(idle)
            ));
        }
    }
    if r.burst > 0 {
        why.push(format!(
            "burst of {} RSTs back to back with nearby sequence numbers",
            r.burst.saturating_add(1)
        ));
    }
    if r.sender_kept_sending > 0 {
        why.push(format!(
            "the {} kept sending ({} segments) after it",
            r.by.name(),
            r.sender_kept_sending
        ));
    }
    if why.is_empty() {
        None
    } else {
        Some(why.join("; "))
    }
}

const HINT_POST_HANDSHAKE: &str = "On the server host: compare the process's descriptors with its limit (`ls /proc/PID/fd | wc -l` against `ulimit -n`), check the listen backlog (`ss -lnt`: Recv-Q against Send-Q on the port), and look for whatever slows the accept loop (a saturated database pool, for one).";

fn rst_note(r: &RstFact) -> String {
    let mut note = format!("{} reset {}", r.by.name(), context(r));
    match r.latency {
        Some(l) if r.reply_to == ReplyTo::None => note.push_str(&format!(
            ", {} after the {}'s last segment",
            human(l),
            r.by.peer().name()
        )),
        Some(l) if l < REPLY_WORDING_NS => note.push_str(&format!(", {} later", human(l))),
        _ => {}
    }
    note
}

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
        if let Some(f) = conn.side(side).fin {
            mark(marks, Some(f.ord), format!("{} closes (FIN)", side.name()));
        }
    }
}

/// The evidence sentence and the host-side hint, plus timeline marks.
fn explain(conn: &Connection, outcome: Outcome, marks: &mut Vec<Mark>) -> (String, String) {
    let hs = &conn.handshake;
    let c = conn.client();
    let s = conn.server();
    let r = conn.first_rst.as_deref();
    let server = s.addr;
    if let Some(r) = r {
        mark(marks, Some(r.ord), rst_note(r));
    }
    match (outcome, r) {
        (Outcome::Clean, _) => {
            mark_fins(conn, marks);
            let first = match (c.fin, s.fin) {
                (Some(a), Some(b)) if b.ord < a.ord => "server",
                _ => "client",
            };
            let tail = match r {
                Some(r) => format!(
                    "; a RST from the {} came only after both FINs",
                    r.by.name()
                ),
                None => String::new(),
            };
            (
                format!("Orderly close: both sides sent FIN, the {first} first, and no RST came before the second FIN{tail}."),
                String::new(),
            )
        }
        (Outcome::Refused, Some(r)) => {
            mark(marks, hs.syn_ord, "connection attempt");
            let retries = hs.syn_count.saturating_sub(1);
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
                    human(r.latency.unwrap_or(0)),
                    server.port()
                ),
                format!("Nothing accepted connections on {server} at that moment: check that the service runs and is bound to that address and port (`ss -lnt`), or look for a firewall REJECT rule."),
            )
        }
        (Outcome::Unanswered, r) => {
            mark(marks, hs.syn_ord, "connection attempt");
            let span = conn.last_time.0.saturating_sub(conn.first_time.0);
            let gave_up = if r.is_some() {
                ", then the client gave up with a RST"
            } else {
                ""
            };
            (
                format!(
                    "The client sent {} SYN{} over {} and never got any reply{gave_up}.",
                    hs.syn_count,
                    if hs.syn_count == 1 { "" } else { "s" },
                    human(span)
                ),
                format!("Nothing answered at all: a firewall dropping SYNs, a wrong address, or a host that is down; check routes and filters between the client and {server}."),
            )
        }
        (Outcome::HandshakeRst, Some(r)) => {
            mark(marks, hs.synack_ord, "SYN-ACK");
            (
                format!(
                    "The {} reset the connection after the SYN-ACK, before the handshake completed ({}).",
                    r.by.name(),
                    context(r)
                ),
                "A handshake aborted half-way: a client that timed out or gave up, a SYN-ACK the client did not expect (stale or spoofed SYN), or a middlebox in between.".to_string(),
            )
        }
        (Outcome::PostHandshakeRst, Some(r)) => {
            mark(marks, hs.ack_ord, "handshake complete");
            let after = r
                .handshake_done
                .map(|h| human(r.ts.0.saturating_sub(h.0)))
                .unwrap_or_else(|| "?".to_string());
            let req = r.client_bytes_before;
            let ev = if r.synack_after_ack_before > 0 {
                format!(
                    "SYN-ACK retransmissions before the RST: the client completed the handshake{}, but the server retransmitted its SYN-ACK {} time{} as if the client's ACK never arrived, then reset {after} after the handshake: its accept queue was full.",
                    if req > 0 { format!(" and sent a {}-byte request", req) } else { String::new() },
                    r.synack_after_ack_before,
                    if r.synack_after_ack_before == 1 { "" } else { "s" },
                )
            } else if req > 0 && !r.server_acked_client_data {
                if let Some(m) = marks.first_mut() {
                    m.note.push_str("; it never ACKed the data");
                }
                format!(
                    "RST instead of ACK: the server completed the handshake, then answered the client's {} request with RST {} later without ever ACKing it: the listener aborted the connection (accept-queue overflow with tcp_abort_on_overflow=1), or the handshake's final ACK was dropped.",
                    bytes_adj(req),
                    human(r.latency.unwrap_or(0))
                )
            } else if req == 0 && r.reply_to == ReplyTo::Ack {
                format!(
                    "RST instead of ACK: the server answered the handshake's final ACK itself with RST {} later: the listener aborted the connection (accept-queue overflow with tcp_abort_on_overflow=1).",
                    human(r.latency.unwrap_or(0))
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
            format!(
                "The server reset the established connection ({}) after sending {} of payload, before either side sent FIN.",
                context(r),
                bytes(r.server_bytes_before)
            ),
            "The server's application aborted the connection: close() with unread data, SO_LINGER 0, a crash, or a proxy or application timeout; look at the server's logs at that moment.".to_string(),
        ),
        (Outcome::ClientAbort, Some(r)) => {
            let unread = if r.client_bytes_before == 0 {
                format!(
                    "the client had sent no request; the server had sent {}",
                    bytes(r.server_bytes_before)
                )
            } else if r.server_bytes_after_client_data > 0 {
                format!(
                    "the server had sent {} after the client's last request, data the client likely never read",
                    bytes(r.server_bytes_after_client_data)
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
            let closer = if r.client_fin_before { Side::Client } else { Side::Server };
            let fin_ts = conn.side(closer).fin.map(|f| f.ts).unwrap_or(conn.first_time);
            let since = human(r.ts.0.saturating_sub(fin_ts.0));
            let story = if closer == Side::Client && r.by == Side::Client && r.reply_to == ReplyTo::Data {
                " the server kept writing after the client closed, and the client's kernel answered with RST"
            } else if closer == Side::Server && r.by == Side::Server && r.reply_to == ReplyTo::Data {
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
                    r.by.name(),
                    context(r),
                    if story.is_empty() { "" } else { ":" },
                ),
                "Either the side that closed received data it would never read (it closed while the peer kept writing), or a keep-alive connection was reused after the peer closed it: make the client's idle timeout shorter than the server's.".to_string(),
            )
        }
        (Outcome::HalfClosed, _) => {
            mark_fins(conn, marks);
            let closer = if c.fin.is_some() { Side::Client } else { Side::Server };
            let stuck = closer.peer();
            let fin = conn.side(closer).fin;
            let fin_ts = fin.map(|f| f.ts).unwrap_or(conn.first_time);
            let acked = conn
                .side(stuck)
                .highest_ack_rel
                .is_some_and(|a| a >= conn.side(closer).next_rel);
            let stuck_for = human(conn.observed_until.0.saturating_sub(fin_ts.0));
            (
                format!(
                    "The {} sent FIN at {}; the {} {} and never closed: it sat in CLOSE_WAIT for {stuck_for}, until the end of the capture.",
                    closer.name(),
                    rel(conn, fin_ts),
                    stuck.name(),
                    if acked { "ACKed it" } else { "did not ACK it" },
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
                    r.by.name(),
                    context(r)
                ),
                String::new(),
            )
        }
        (Outcome::Open, _) => {
            let ev = if hs.synack.is_some() && hs.ack.is_none() && c.fin.is_none() && c.bytes == 0 {
                "The server answered with a SYN-ACK but the client never completed the handshake; no FIN or RST was seen.".to_string()
            } else {
                format!(
                    "{} and still open at the end of the capture: no FIN and no RST; last segment {} before the end.",
                    if conn.handshake_seen() { "Established" } else { "Seen mid-connection (handshake not captured)" },
                    human(conn.observed_until.0.saturating_sub(conn.last_time.0))
                )
            };
            (ev, String::new())
        }
        // Outcomes that need a RST always have one; keep a sentence anyway.
        (o, None) => (format!("Classified {o}."), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::tests::{Wire, A, F, P, R, S};

    fn flow(w: &Wire) -> Flow {
        classify(&w.one())
    }

    #[test]
    fn clean() {
        let mut w = Wire::new();
        w.handshake()
            .c(P | A, 1, 1, 10)
            .s(P | A, 1, 11, 20)
            .c(F | A, 11, 21, 0)
            .s(F | A, 21, 12, 0)
            .c(A, 12, 22, 0);
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
        conn.observed_until = Timestamp(conn.observed_until.0 + 60_000_000_000);
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
    fn csv_record_matches_fields_and_json_order() {
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 87).s(R, 1, 0, 0);
        let f = flow(&w);
        assert_eq!(f.csv_record().len(), FIELDS.len());
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
    fn human_durations() {
        assert_eq!(human(27_000), "27 us");
        assert_eq!(human(3_200_000), "3.2 ms");
        assert_eq!(human(1_250_000_000), "1.250 s");
        assert_eq!(human(725_000_000_000), "12 min 5 s");
    }
}
