//! How long the table keeps a connection: the grace an ended one waits
//! for late segments, the idle and attempt timeouts, the deadlines the
//! table's queues hold, and the reason it gives when it lets go.

use crate::wire::{Segment, Timestamp};

use super::config::{ns, TrackerConfig};
use super::connection::Connection;
use super::end::EndReason;
use super::stream::StreamBook;

/// Longest grace for a connection whose FIN keeps coming after the end:
/// Linux gives up on an orphaned FIN after 8 backed-off retransmissions,
/// about 50 s from a 200 ms timeout.
const FIN_BACKOFF_MAX_NS: i64 = 60_000_000_000;

/// How long an ended connection waits for late segments: a few of its round
/// trips plus one retransmission timeout, at most `grace`; doubled for each
/// FIN that came after the end (the sender backs off while its FIN's ACK is
/// lost), up to [`FIN_BACKOFF_MAX_NS`]; that long at once while a FIN is
/// unacknowledged in a capture that shows its peer's ACKs, since its first
/// retransmission may come seconds later (its ACK then brings the wait back
/// to the grace).
pub(super) fn grace_ns(cfg: &TrackerConfig, c: &Connection) -> i64 {
    if c.awaits_fin_retransmission() {
        return FIN_BACKOFF_MAX_NS.max(ns(cfg.grace));
    }
    rtt_grace_ns(cfg, c)
}

/// The grace from the round trip and the FINs after the end alone: what
/// an ended connection waits before the first look at its FINs' ACKs (the
/// last ACK of a clean close comes a round trip after the end).
pub(super) fn rtt_grace_ns(cfg: &TrackerConfig, c: &Connection) -> i64 {
    let max = ns(cfg.grace);
    let grace = match c.handshake_rtt_ns() {
        Some(rtt) => ns(cfg.grace_floor)
            .saturating_add(rtt.saturating_mul(i64::from(cfg.grace_rtts)))
            .min(max),
        None => max,
    };
    grace
        .saturating_mul(1i64 << c.fins_after_end.min(16))
        .min(FIN_BACKOFF_MAX_NS.max(max))
}

/// Analysis time at which the connection ended (its latest segment's while
/// it has not).
pub(super) fn ended_ns(c: &Connection) -> i64 {
    c.ended_at.get().map_or(c.last_at.0, |t| t.0)
}

/// When an ended connection's grace runs out if nothing more arrives.
pub(super) fn deadline(cfg: &TrackerConfig, c: &Connection) -> i64 {
    ended_ns(c)
        .max(c.last_at.0)
        .saturating_add(grace_ns(cfg, c))
}

/// When to look at an ended connection first: after its round-trip grace,
/// when the FINs' ACKs have had their time to come.
pub(super) fn first_look(cfg: &TrackerConfig, c: &Connection) -> i64 {
    ended_ns(c)
        .max(c.last_at.0)
        .saturating_add(rtt_grace_ns(cfg, c))
}

/// What a segment asks of the table's queues.
pub(super) enum Queue {
    /// It ended the connection: its first look, first frame and end time.
    Ended(i64, u64, i64),
    /// It acknowledged the FIN an ended connection was waiting on: look
    /// again at this time (first frame), not when the long wait runs out.
    Sooner(i64, u64),
}

/// Feeds one segment to its connection, and says what the queues need.
pub(super) fn feed(
    conn: &mut Connection,
    seg: &Segment,
    at: Timestamp,
    cfg: &TrackerConfig,
    streams: &mut StreamBook,
    segments: u64,
) -> Option<Queue> {
    let was_ended = conn.ended();
    let was_awaiting = was_ended && conn.awaits_fin_retransmission();
    streams.on_segment(&mut conn.stream, seg);
    conn.push(seg, at, cfg);
    if was_ended {
        return (was_awaiting && !conn.awaits_fin_retransmission())
            .then(|| Queue::Sooner(first_look(cfg, conn), conn.first_frame));
    }
    if !conn.ended() {
        return None;
    }
    conn.note_ended_at_segment(segments);
    Some(Queue::Ended(
        first_look(cfg, conn),
        conn.first_frame,
        ended_ns(conn),
    ))
}

/// Whether a connection is past its grace (ended) or its idle or attempt
/// timeout (not ended), at analysis time `now`; a function of the
/// configuration alone so the per-segment path can call it while it holds
/// the connection mutably.
pub(super) fn conn_expired(cfg: &TrackerConfig, c: &Connection, now: Timestamp) -> bool {
    let idle = now.0.saturating_sub(c.last_at.0);
    if let Some(end) = c.ended_at.get() {
        let grace = grace_ns(cfg, c);
        return now.0.saturating_sub(end.0) >= grace && idle >= grace;
    }
    idle >= ns(idle_limit(cfg, c))
}

/// A connection attempt the responder never answered (or one side only)
/// waits `attempt_timeout`; an established one `idle_timeout`.
pub(super) fn idle_limit(cfg: &TrackerConfig, c: &Connection) -> std::time::Duration {
    if !c.ep[1].seen() || !c.ep[0].seen() {
        cfg.attempt_timeout
    } else {
        cfg.idle_timeout
    }
}

/// Why an expired connection is finished: it had ended, or it went idle.
pub(super) fn expiry_reason(c: &Connection) -> EndReason {
    if !c.ended() {
        EndReason::IdleTimeout
    } else if c.rst_count > 0 {
        EndReason::Reset
    } else {
        EndReason::Closed
    }
}

/// At the end of the capture: ended ones say how, the rest are still open.
pub(super) fn final_reason(c: &Connection) -> EndReason {
    if c.ended() {
        expiry_reason(c)
    } else {
        EndReason::EndOfCapture
    }
}
