//! Which finding a single connection could count in, and the moment that
//! places it on the time axis. The capture-wide decision (is an unanswered
//! SYN a full accept queue or a network drop?) is made later, per server.

use crate::diagnose::{Flow, Outcome, Variant};

/// Response time from which a reply counts as slow, if the server's own
/// usual response time is far below it.
pub const SLOW_RESPONSE_NS: i64 = 1_000_000_000;

/// The per-connection candidates; each connection is in at most one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    Unanswered,
    /// Unanswered while the server served other handshakes.
    SynDropped,
    /// The first SYN went unanswered while the server served other
    /// handshakes, a retransmitted one was answered: dropped too.
    SynDroppedThenAnswered,
    HalfOpen,
    Refused,
    RstInsteadOfAck,
    AckedThenReset,
    ResetOnHandshakeAck,
    SynackRetransmits,
    RequestUnanswered,
    AnsweredNotClosed,
    SlowResponse,
    ClientGaveUp,
    ServerAbort,
    ClientAbort,
    StaleKeepalive,
}

pub const CLASSES: usize = 16;

impl Class {
    pub const ALL: [Class; CLASSES] = [
        Class::Unanswered,
        Class::SynDropped,
        Class::SynDroppedThenAnswered,
        Class::HalfOpen,
        Class::Refused,
        Class::RstInsteadOfAck,
        Class::AckedThenReset,
        Class::ResetOnHandshakeAck,
        Class::SynackRetransmits,
        Class::RequestUnanswered,
        Class::AnsweredNotClosed,
        Class::SlowResponse,
        Class::ClientGaveUp,
        Class::ServerAbort,
        Class::ClientAbort,
        Class::StaleKeepalive,
    ];

    pub fn idx(self) -> usize {
        self as usize
    }

    /// The variant name a finding lists it under.
    pub fn variant(self) -> &'static str {
        match self {
            Class::Unanswered => "syn-unanswered",
            Class::SynDropped | Class::SynDroppedThenAnswered => "syn-dropped",
            Class::HalfOpen => "half-open",
            Class::Refused => "refused",
            Class::RstInsteadOfAck => Variant::RstInsteadOfAck.name(),
            Class::AckedThenReset => Variant::AckedThenReset.name(),
            Class::ResetOnHandshakeAck => Variant::ResetOnHandshakeAck.name(),
            Class::SynackRetransmits => Variant::SynackRetransmits.name(),
            Class::RequestUnanswered => Variant::RequestUnanswered.name(),
            Class::AnsweredNotClosed => Variant::AnsweredNotClosed.name(),
            Class::SlowResponse => "slow-response",
            Class::ClientGaveUp => Variant::ClientGaveUp.name(),
            Class::ServerAbort => "server-abort",
            Class::ClientAbort => "client-abort",
            Class::StaleKeepalive => Variant::StaleKeepalive.name(),
        }
    }
}

/// The candidate class of a connection, if any.
pub fn class_of(flow: &Flow) -> Option<Class> {
    let v = flow.facts.variant;
    Some(match flow.outcome {
        Outcome::Unanswered => Class::Unanswered,
        Outcome::HalfOpen => Class::HalfOpen,
        Outcome::Refused => Class::Refused,
        Outcome::PostHandshakeRst => match v {
            Variant::RstInsteadOfAck => Class::RstInsteadOfAck,
            Variant::ResetOnHandshakeAck => Class::ResetOnHandshakeAck,
            Variant::SynackRetransmits => Class::SynackRetransmits,
            _ => Class::AckedThenReset,
        },
        Outcome::ServerAbort => Class::ServerAbort,
        Outcome::ClientAbort => Class::ClientAbort,
        Outcome::RstAfterHalfClose if v == Variant::StaleKeepalive => Class::StaleKeepalive,
        _ => match v {
            Variant::RequestUnanswered => Class::RequestUnanswered,
            Variant::AnsweredNotClosed => Class::AnsweredNotClosed,
            Variant::ClientGaveUp => Class::ClientGaveUp,
            _ if flow
                .response_time
                .is_some_and(|r| r * 1e9 >= SLOW_RESPONSE_NS as f64) =>
            {
                Class::SlowResponse
            }
            _ => return None,
        },
    })
}

/// Whether `flow`, of candidate `class`, had its first SYN unanswered and
/// a retransmission answered, with nothing after the handshake that names
/// another cause: it is a dropped SYN when its server served others then.
/// What the client did about the late handshake (gave up before the
/// reply, or waited: slow, clean) follows from the drop; a RST, a stuck
/// server or a RST-based variant tells more and keeps its class.
pub fn late_syn(flow: &Flow, class: Option<Class>) -> bool {
    flow.syn_retransmits > 0
        && flow.handshake_seen
        && matches!(
            class,
            None | Some(Class::ClientGaveUp | Class::SlowResponse)
        )
}

/// Candidate classes that rest on who sent the first RST: when that RST
/// looks injected (`rst_suspect`), the connection counts in
/// `injected-reset` instead.
pub fn rests_on_rst(class: Class) -> bool {
    matches!(
        class,
        Class::RstInsteadOfAck
            | Class::AckedThenReset
            | Class::ResetOnHandshakeAck
            | Class::SynackRetransmits
            | Class::ServerAbort
            | Class::ClientAbort
            | Class::StaleKeepalive
    )
}

/// When the connection's trouble happened (ns): the RST for resets, the
/// client's FIN for a server stuck after it, the first SYN for attempts
/// (a dropped first SYN included).
pub fn event_time(flow: &Flow, class: Option<Class>) -> i64 {
    let first = flow.first_time.0;
    match class {
        Some(Class::RequestUnanswered | Class::AnsweredNotClosed | Class::ClientGaveUp) => {
            flow.facts.client_fin.map_or(first, |t| t.0)
        }
        Some(Class::SynDroppedThenAnswered) => first,
        _ => flow.rst_time.map_or(first, |t| t.0),
    }
}

/// The stretch of time a connection of `class` was affected (ns), for the
/// finding's window: a stuck connection from its start (the request the
/// server held) to the server's FIN or the end of observation; any other
/// only at its [`event_time`] `t`.
pub fn affected_span(flow: &Flow, class: Class, t: i64) -> (i64, i64) {
    match class {
        Class::RequestUnanswered | Class::AnsweredNotClosed => {
            let until = flow.facts.server_fin.unwrap_or(flow.last_time).0;
            (flow.first_time.0.min(t), until.max(t))
        }
        _ => (t, t),
    }
}
