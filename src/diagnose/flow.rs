//! The `Flow` row: every field of `resets.md` for one connection.

use serde::{Serialize, Serializer};

use crate::track::{EndReason, ReplyTo, Side};
use crate::wire::Timestamp;

use super::evidence::Mark;
use super::facts::ConnFacts;
use super::outcome::{FinBy, Outcome};

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
    pub retransmits_c2s: u32,
    pub retransmits_s2c: u32,
    #[serde(serialize_with = "ser_opt_secs")]
    pub response_time: Option<f64>,
    pub handshake_seen: bool,
    #[serde(serialize_with = "ser_opt_secs")]
    pub handshake_rtt: Option<f64>,
    pub syn_retransmits: u32,
    pub synack_retransmits: u32,
    pub fin_by: FinBy,
    pub roles_inferred: bool,
    pub end_reason: EndReason,
    pub outcome: Outcome,
    pub zeek_state: &'static str,
    pub history: String,

    /// Keys back to the packets and to other tools: first and last frame
    /// number (1-based over the whole capture), tshark's `tcp.stream`, and
    /// Community ID v1 (seed 0).
    #[serde(serialize_with = "ser_frames")]
    pub frames: [u64; 2],
    pub tcp_stream: u64,
    pub community_id: String,

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

    /// The tunnel path the connection arrived in (`vxlan vni=42
    /// 10.0.0.1>10.0.0.2`, nested ones joined by ` / `), empty for none.
    pub tunnel: String,

    /// Frame number of the connection's first segment (for ordering and
    /// selection; not a spec column).
    #[serde(skip)]
    pub first_frame: u64,
    /// Sequence space ACKed but never captured, both sides (Zeek's
    /// `missed_bytes`; the conn.log only).
    #[serde(skip)]
    pub missed_bytes: u64,
    /// Zeek's originator is our server (Zeek flipped the roles, or kept the
    /// first packet's sender): `zeek_state` and `history` are written from
    /// its side, and the conn.log's `id.orig_*` are the server's.
    #[serde(skip)]
    pub zeek_orig_is_server: bool,
    /// What to check on the host, in plain words (text report only).
    #[serde(skip)]
    pub hint: String,
    /// Annotations for the deciding segments of the timeline.
    #[serde(skip)]
    pub marks: Vec<Mark>,
    /// What the findings need beyond the spec's fields (not a column).
    #[serde(skip)]
    pub facts: ConnFacts,
}

/// The spec's field names, in order: the CSV header.
pub const FIELDS: [&str; 39] = [
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
    "retransmits_c2s",
    "retransmits_s2c",
    "response_time",
    "handshake_seen",
    "handshake_rtt",
    "syn_retransmits",
    "synack_retransmits",
    "fin_by",
    "roles_inferred",
    "end_reason",
    "outcome",
    "zeek_state",
    "history",
    "frames",
    "tcp_stream",
    "community_id",
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
    "tunnel",
];

fn round_us(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// JSON: `[first, last]`.
fn ser_frames<S: Serializer>(f: &[u64; 2], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(2))?;
    seq.serialize_element(&f[0])?;
    seq.serialize_element(&f[1])?;
    seq.end()
}

/// CSV and text: `first-last`.
pub fn frames_str(f: &[u64; 2]) -> String {
    let mut s = String::new();
    write_frames(f, &mut s);
    s
}

/// [`frames_str`], appended to `out`.
pub fn write_frames(f: &[u64; 2], out: &mut String) {
    let (mut first, mut last) = (itoa::Buffer::new(), itoa::Buffer::new());
    out.push_str(first.format(f[0]));
    out.push('-');
    out.push_str(last.format(f[1]));
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

impl Flow {
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
