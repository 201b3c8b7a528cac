//! The facts of one connection that the capture-wide findings group by:
//! the outcome's wire variant, when each side closed, how long the server
//! sat in CLOSE_WAIT. Decided here, from the tracker's facts, so that the
//! findings only ever read rows.

use std::net::IpAddr;

use crate::track::{Connection, ReplyTo, Side};
use crate::wire::Timestamp;

use super::outcome::Outcome;

/// A server FIN this long after the client's is a server that sat in
/// CLOSE_WAIT, not one closing in step (an application closes within
/// milliseconds of reading EOF).
pub const CLOSE_WAIT_LATE_NS: i64 = 1_000_000_000;

/// A server still in CLOSE_WAIT when the capture (or the tracker) stopped
/// watching counts however long it had been: the outcome already says it
/// never closed (`half-closed`).
pub const CLOSE_WAIT_OPEN_NS: i64 = 0;

/// How long after the handshake's final ACK a RST still answers it: the
/// kernel that resets on a full accept queue does so as the ACK arrives,
/// so a capture sees it within two round trips; this much more allows for
/// a loaded host. Later, something else reset the connection: a process
/// exiting with connections in its queue resets them one after another,
/// each some microseconds after the one before, however long ago their
/// ACKs came.
pub const HANDSHAKE_ACK_REPLY_SLACK_NS: i64 = 250_000;

/// The wire variant of a connection's outcome that names its cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    #[default]
    None,
    /// `post-handshake-rst`: the client's data answered by RST, never ACKed.
    RstInsteadOfAck,
    /// `post-handshake-rst`: the request was ACKed, the RST came later.
    AckedThenReset,
    /// `post-handshake-rst`: the RST answered the handshake's final ACK.
    ResetOnHandshakeAck,
    /// `post-handshake-rst`: SYN-ACKs resent after the client's ACK.
    SynackRetransmits,
    /// The client closed, the server ACKed its FIN and never answered the
    /// request before it (blocked handler).
    RequestUnanswered,
    /// The client closed after the server's reply; the server never closed.
    AnsweredNotClosed,
    /// The server closed an idle connection, the client wrote on it later
    /// and the server's kernel answered RST.
    StaleKeepalive,
    /// The client sent a request, got no reply and closed (the server
    /// closed promptly after, or answered later and got the client's
    /// RST): the client gave up waiting.
    ClientGaveUp,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::None => "",
            Variant::RstInsteadOfAck => "rst-instead-of-ack",
            Variant::AckedThenReset => "acked-then-reset",
            Variant::ResetOnHandshakeAck => "reset-on-handshake-ack",
            Variant::SynackRetransmits => "synack-retransmits",
            Variant::RequestUnanswered => "request-unanswered",
            Variant::AnsweredNotClosed => "answered-not-closed",
            Variant::StaleKeepalive => "request-after-idle-close",
            Variant::ClientGaveUp => "client-gave-up",
        }
    }
}

/// What the findings need beyond the spec's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnFacts {
    pub variant: Variant,
    pub client_fin: Option<Timestamp>,
    pub server_fin: Option<Timestamp>,
    /// Ns the server sat in CLOSE_WAIT: from the client's FIN (which it
    /// ACKed) to its own FIN, or to the end of observation.
    pub close_wait_ns: Option<i64>,
    /// When the client ended an established connection (its FIN, sent
    /// first, or its RST), for client shutdown bursts.
    pub client_ended: Option<Timestamp>,
    /// When the server ended, unprompted, a connection it had not answered
    /// (its RST, or its FIN sent first), for listener-closed bursts.
    pub server_ended: Option<Timestamp>,
    /// The client's last request got no server payload after it.
    pub request_unanswered: bool,
    /// ACKs covering sequence space never captured.
    pub gaps: u32,
    /// Segments that resent payload or a FIN after the server had sent
    /// payload (up to 255): the path lost packets of a connection the
    /// server had accepted.
    pub resent: u8,
    /// The two addresses `client` and `server` are the text of, so that the
    /// findings need not parse them back.
    pub client_ip: IpAddr,
    pub server_ip: IpAddr,
}

/// Gathers the facts of `conn`, whose outcome is `outcome`.
pub(super) fn facts_of(conn: &Connection, outcome: Outcome) -> ConnFacts {
    let c = conn.client();
    let s = conn.server();
    let r = conn.first_rst();
    let client_fin = c.fin().map(|f| f.ts());
    let server_fin = s.fin().map(|f| f.ts());
    let request_unanswered = c.unique_bytes() > 0 && c.bytes_since_peer_payload() > 0;
    let client_first = match (c.fin(), s.fin()) {
        (Some(a), Some(b)) => a.ord() < b.ord(),
        (Some(_), None) => true,
        _ => false,
    };
    let established =
        conn.handshake().ack().is_some() || (conn.roles_inferred() && c.seen() && s.seen());

    let mut variant = Variant::None;
    if outcome == Outcome::PostHandshakeRst {
        if let Some(r) = r {
            let req = r.client_bytes_before();
            variant = if r.synack_after_ack_before() > 0 {
                Variant::SynackRetransmits
            } else if req > 0 && !r.server_acked_client_data() {
                Variant::RstInsteadOfAck
            } else if req == 0
                && r.reply_to() == ReplyTo::Ack
                && r.latency().is_some_and(|l| {
                    let rtt = conn.handshake_rtt_ns().unwrap_or(0);
                    l <= rtt
                        .saturating_mul(2)
                        .saturating_add(HANDSHAKE_ACK_REPLY_SLACK_NS)
                })
            {
                Variant::ResetOnHandshakeAck
            } else {
                Variant::AckedThenReset
            };
        }
    }

    // CLOSE_WAIT: the client closed first, the server ACKed the FIN, and it
    // did not close for a long time (or at all) without a RST in between.
    let mut close_wait_ns = None;
    if client_first && r.is_none() {
        if let Some(cf) = c.fin() {
            let acked = s.highest_ack_rel().is_some_and(|a| a >= c.next_rel());
            let until = server_fin.unwrap_or(conn.observed_until());
            let stuck = until.0.saturating_sub(cf.ts().0);
            let long = if server_fin.is_some() {
                CLOSE_WAIT_LATE_NS
            } else {
                CLOSE_WAIT_OPEN_NS
            };
            if acked && stuck >= long {
                close_wait_ns = Some(stuck);
                variant = if request_unanswered {
                    Variant::RequestUnanswered
                } else {
                    Variant::AnsweredNotClosed
                };
            } else if server_fin.is_some() && request_unanswered && established {
                variant = Variant::ClientGaveUp;
            }
        }
    }
    if outcome == Outcome::RstAfterHalfClose {
        if let Some(r) = r {
            if r.server_fin_before()
                && !r.client_fin_before()
                && r.by() == Side::Server
                && r.reply_to() == ReplyTo::Data
            {
                variant = Variant::StaleKeepalive;
            } else if r.by() == Side::Client && r.client_fin_before() && established {
                // The client sent its request, got nothing and closed; the
                // server's answer came after the FIN and the client's
                // kernel reset it: the client gave up waiting too.
                let before_fin = match (conn.response_at(), client_fin) {
                    (Some(a), Some(f)) => a.0 < f.0,
                    _ => false,
                };
                if c.unique_bytes() > 0 && !before_fin {
                    variant = Variant::ClientGaveUp;
                }
            }
        }
    }

    let client_ended = if !established {
        None
    } else {
        match r {
            Some(r)
                if r.by() == Side::Client && !r.client_fin_before() && !r.server_fin_before() =>
            {
                Some(r.ts())
            }
            _ if client_first => client_fin,
            _ => None,
        }
    };
    // A RST after the handshake's ACK too late to answer it is the server
    // ending the connection unprompted, as one after its own last segment.
    // One answering an ACK of a resent SYN-ACK is a full queue's.
    let late_after_ack = r.is_some_and(|r| {
        r.reply_to() == ReplyTo::Ack
            && r.client_bytes_before() == 0
            && variant == Variant::AckedThenReset
    });
    let server_ended = match r {
        Some(r)
            if r.by() == Side::Server
                && (r.reply_to() == ReplyTo::None || late_after_ack)
                && matches!(outcome, Outcome::PostHandshakeRst) =>
        {
            Some(r.ts())
        }
        None if established && !client_first && server_fin.is_some() && request_unanswered => {
            server_fin
        }
        _ => None,
    };
    ConnFacts {
        variant,
        client_fin,
        server_fin,
        close_wait_ns,
        client_ended,
        server_ended,
        request_unanswered,
        gaps: conn.gaps(),
        resent: conn.resent_after_answer(),
        client_ip: c.addr().ip(),
        server_ip: s.addr().ip(),
    }
}
