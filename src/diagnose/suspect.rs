//! `rst_suspect`: signs that a RST did not come from the peer's kernel.

use crate::track::RstFact;

use super::words::human;

/// Thresholds for `rst_suspect`.
pub const SUSPECT_TTL_DELTA: i16 = 3;
pub const SUSPECT_IDLE_NS: i64 = 30_000_000_000;

/// The kind of sign behind an `rst_suspect` reason, as `injected-reset`
/// counts it: the RST's own header (its TTL differs from the sender's), or
/// its behaviour (a burst of RSTs, the sender going on after it; silence
/// is only ever named beside one of those).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuspectSign {
    Ttl,
    Behaviour,
}

impl SuspectSign {
    pub const ALL: [SuspectSign; 2] = [SuspectSign::Ttl, SuspectSign::Behaviour];

    pub fn idx(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            SuspectSign::Ttl => "ttl",
            SuspectSign::Behaviour => "behaviour",
        }
    }
}

/// The sign of a reason [`suspect`] wrote (its wording is matched here,
/// next to where it is written: the TTL comes first when it is one).
pub fn suspect_sign(why: &str) -> SuspectSign {
    if why.starts_with("TTL ") {
        SuspectSign::Ttl
    } else {
        SuspectSign::Behaviour
    }
}

/// `rst_suspect`: why this RST may not come from the peer's kernel.
pub(super) fn suspect(r: &RstFact) -> Option<String> {
    let mut why = Vec::new();
    match (r.sender_ttl_range(), r.ttl_delta()) {
        // A kernel sends every segment of a connection with one TTL: when
        // the sender's others agreed, any difference means another sender
        // (a middlebox one hop nearer or further).
        (Some((lo, hi)), Some(d)) if lo == hi && r.ttl() != lo => why.push(format!(
            "TTL {} differs by {d:+} from the sender's other segments (all {lo})",
            r.ttl()
        )),
        (Some((lo, hi)), Some(d))
            if lo != hi
                && (i16::from(r.ttl()) <= i16::from(lo) - SUSPECT_TTL_DELTA
                    || i16::from(r.ttl()) >= i16::from(hi) + SUSPECT_TTL_DELTA) =>
        {
            why.push(format!(
                "TTL {} differs by {d:+} from the sender's other segments ({lo} to {hi})",
                r.ttl()
            ))
        }
        _ => {}
    }
    // Silence alone is no sign: an application timing out, or a kernel
    // answering a write on a connection it closed long ago, sends its RST
    // after silence too. It only supports another sign.
    if let Some(idle) = super::durations::idle_before(r)
        .filter(|_| !why.is_empty() || r.burst() > 0 || r.sender_kept_sending() > 0)
    {
        if idle >= SUSPECT_IDLE_NS {
            why.push(format!(
                "came after {} of silence (a middlebox idle timeout?)",
                human(idle)
            ));
        }
    }
    if r.burst() > 0 {
        why.push(format!(
            "burst of {} RSTs back to back with nearby sequence numbers",
            r.burst().saturating_add(1)
        ));
    }
    if r.sender_kept_sending() > 0 {
        why.push(format!(
            "the {} kept sending ({} segments) after it",
            r.by().name(),
            r.sender_kept_sending()
        ));
    }
    if why.is_empty() {
        None
    } else {
        Some(why.join("; "))
    }
}
