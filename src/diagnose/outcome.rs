//! The outcome table of `resets.md`: exactly one outcome per connection.

use serde::Serialize;

use crate::track::{Connection, Side};

/// Why a connection ended (or did not). Exactly one per connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Clean,
    Refused,
    Unanswered,
    HandshakeRst,
    HalfOpen,
    PostHandshakeRst,
    ServerAbort,
    ClientAbort,
    RstAfterHalfClose,
    HalfClosed,
    RstAfterClose,
    Open,
}

impl Outcome {
    pub const ALL: [Outcome; 12] = [
        Outcome::Clean,
        Outcome::Refused,
        Outcome::Unanswered,
        Outcome::HandshakeRst,
        Outcome::HalfOpen,
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
            Outcome::HalfOpen => "half-open",
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

/// The outcome table of `resets.md`, decided on the first RST's snapshot.
pub fn outcome_of(conn: &Connection) -> Outcome {
    let hs = &conn.handshake();
    match &conn.first_rst() {
        Some(r) => {
            if r.client_fin_before() && r.server_fin_before() {
                Outcome::RstAfterClose
            } else if r.client_fin_before() || r.server_fin_before() {
                Outcome::RstAfterHalfClose
            } else if r.synack_before() && r.handshake_done().is_none() {
                Outcome::HandshakeRst
            } else if r.syn_before()
                && !r.synack_before()
                && r.server_segments_before() == u64::from(conn.stale_acks())
            {
                if r.by() == Side::Server {
                    Outcome::Refused
                } else {
                    // The client gave up on its own SYN: no answer ever came.
                    Outcome::Unanswered
                }
            } else if r.by() == Side::Server {
                // Server payload the client ACKed counts as sent even when
                // the capture missed it.
                if r.server_bytes_before() == 0
                    && !r.server_sent_unseen()
                    && r.handshake_done().is_some()
                {
                    Outcome::PostHandshakeRst
                } else {
                    Outcome::ServerAbort
                }
            } else {
                Outcome::ClientAbort
            }
        }
        None => {
            let (cf, sf) = (conn.client().fin().is_some(), conn.server().fin().is_some());
            if cf && sf {
                Outcome::Clean
            } else if cf || sf {
                Outcome::HalfClosed
            } else if hs.syn().is_some() && hs.synack().is_none() && !conn.server().seen() {
                Outcome::Unanswered
            } else if hs.synack().is_some()
                && hs.ack().is_none()
                && conn.client().packets() == u64::from(hs.syn_count())
            {
                // SYN-ACK answered by nothing at all: a spoofed source, a
                // client that died, or an ACK the capture lost.
                Outcome::HalfOpen
            } else {
                Outcome::Open
            }
        }
    }
}
