//! The report's aggregate once every connection was seen, and the limits
//! of what it shows: what both the text and the JSON writers read.

use crate::diagnose::findings::Diagnosis;
use crate::diagnose::Outcome;

use super::report_rows::TopConnections;

/// Findings shown in the text report by default (`--findings N`).
pub const FINDINGS_SHOWN: usize = 10;
/// Servers in the text report's table by default.
pub const SERVERS_SHOWN: usize = 20;

/// What each outcome means, in the words of `resets.md`.
pub fn outcome_meaning(o: Outcome) -> &'static str {
    match o {
        Outcome::Clean => "orderly close: both sides sent FIN, no RST before both FINs",
        Outcome::Refused => "SYN answered by RST, never a SYN-ACK: nothing listened on that port",
        Outcome::Unanswered => "SYN (and its retransmissions) with no reply at all",
        Outcome::HandshakeRst => "RST after the SYN-ACK but before the handshake completed",
        Outcome::HalfOpen => "SYN answered by SYN-ACK, then nothing from the client: a spoofed SYN flood, a client that died, or a lost ACK",
        Outcome::PostHandshakeRst => {
            "handshake completed, then the server reset before it ever sent payload or FIN: the application never served the connection"
        }
        Outcome::ServerAbort => "the server reset an established connection after it had sent payload",
        Outcome::ClientAbort => "the client reset an established connection before any FIN",
        Outcome::RstAfterHalfClose => "one side had sent FIN, the other had not, then a RST",
        Outcome::HalfClosed => {
            "one side sent FIN, the other never closed before the end of the capture (it sits in CLOSE_WAIT)"
        }
        Outcome::RstAfterClose => "both sides had sent FIN, then a RST (usually benign)",
        Outcome::Open => "established, still open at the end of the capture",
    }
}

/// How much of the report to show.
#[derive(Clone, Copy, Debug)]
pub struct ReportLimits {
    /// Findings shown in the text report (`--findings N`).
    pub findings: usize,
    /// Example timelines printed in full (`--timelines N`).
    pub timelines: usize,
    /// Servers in the text report's table.
    pub servers: usize,
}

impl Default for ReportLimits {
    fn default() -> Self {
        ReportLimits {
            findings: FINDINGS_SHOWN,
            timelines: 3,
            servers: SERVERS_SHOWN,
        }
    }
}

/// The aggregate once every connection was seen.
pub struct FinishedReport {
    pub limits: ReportLimits,
    pub total: u64,
    pub by_outcome: [u64; Outcome::ALL.len()],
    pub diagnosis: Diagnosis,
    pub table: TopConnections,
}

impl FinishedReport {
    /// Outcome counts with every outcome listed, zeros included.
    pub fn outcomes_json(&self) -> serde_json::Value {
        Outcome::ALL
            .iter()
            .zip(self.by_outcome.iter())
            .map(|(o, n)| (o.name().to_string(), serde_json::Value::from(*n)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// `1 connection`, `2 connections`.
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
