//! Durations between two wire timestamps, as the reset facts report them.
//!
//! When the capture's timestamps are out of order the difference comes out
//! negative: the wire disagrees with itself, so the fact is unknown (empty),
//! and the evidence says why, instead of printing "RST -100 us later".

use crate::track::RstFact;

/// `b - a` in ns when the wire puts `b` after `a`.
pub(super) fn elapsed(ns: i64) -> Option<i64> {
    (ns >= 0).then_some(ns)
}

/// Handshake completion to the RST.
pub(super) fn rst_after_handshake(r: &RstFact) -> Option<i64> {
    r.handshake_done()
        .and_then(|h| elapsed(r.ts().0.saturating_sub(h.0)))
}

/// The peer's last segment to the RST.
pub(super) fn latency(r: &RstFact) -> Option<i64> {
    r.latency().and_then(elapsed)
}

/// Silence on the connection before the RST: before the segment the RST
/// answered when it answered one (a middlebox's idle timeout shows there),
/// else before the RST itself.
pub(super) fn idle_before(r: &RstFact) -> Option<i64> {
    r.idle_before_answered()
        .or(r.idle_before())
        .and_then(elapsed)
}

/// A duration the RST's timestamps should give but do not: they are out
/// of order with the segments before it.
pub(super) fn out_of_order(r: &RstFact) -> bool {
    let negative = |x: Option<i64>| x.is_some_and(|v| v < 0);
    negative(r.latency())
        || negative(r.idle_before_answered().or(r.idle_before()))
        || r.handshake_done().is_some() && rst_after_handshake(r).is_none()
}
