//! `rst_suspect`: signs that a RST did not come from the peer's kernel.

use crate::track::RstFact;

use super::words::human;

/// Thresholds for `rst_suspect`.
pub const SUSPECT_TTL_DELTA: i16 = 3;
pub const SUSPECT_IDLE_NS: i64 = 30_000_000_000;

/// `rst_suspect`: why this RST may not come from the peer's kernel.
pub(super) fn suspect(r: &RstFact) -> Option<String> {
    let mut why = Vec::new();
    if let Some(d) = r.ttl_delta {
        if d.abs() >= SUSPECT_TTL_DELTA {
            why.push(format!(
                "TTL {} differs by {d:+} from the sender's other segments",
                r.ttl
            ));
        }
    }
    if let Some(idle) = super::facts::idle_before(r) {
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
