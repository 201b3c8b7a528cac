//! Durations, sizes and reset contexts in the words of the evidence.

use crate::track::{Connection, EndReason, ReplyTo, RstFact};

use super::durations;
use crate::wire::Timestamp;

pub(super) fn secs(ns: i64) -> f64 {
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

pub(super) fn rel(conn: &Connection, t: Timestamp) -> String {
    format!("+{:.6} s", secs(t.0.saturating_sub(conn.first_time().0)))
}

/// "33-byte", as an adjective.
pub(super) fn bytes_adj(n: u64) -> String {
    format!("{n}-byte")
}

pub(super) fn bytes(n: u64) -> String {
    if n == 1 {
        "1 byte".to_string()
    } else {
        format!("{n} bytes")
    }
}

/// A RST later than this after the peer's segment is described as "after"
/// it rather than "in reply to" it: a kernel answers in microseconds. Only
/// the wording changes; `rst_reply_to` stays the plain wire fact.
pub(super) const REPLY_WORDING_NS: i64 = 1_000_000;

/// How the RST relates to the peer's last segment, in words: "in reply to
/// data", "50.3 ms after the client's ACK", or "unprompted" when the RST's
/// sender had spoken last.
pub(super) fn context(r: &RstFact) -> String {
    let (kind, with_article) = match r.reply_to() {
        ReplyTo::Data => ("data", "data"),
        ReplyTo::Fin => ("FIN", "a FIN"),
        ReplyTo::Ack => ("ACK", "an ACK"),
        ReplyTo::Syn => ("SYN", "the SYN"),
        ReplyTo::SynAck => ("SYN-ACK", "the SYN-ACK"),
        ReplyTo::None => return "unprompted".to_string(),
    };
    match durations::latency(r) {
        Some(l) if l >= REPLY_WORDING_NS => {
            format!("{} after the {}'s {kind}", human(l), r.by().peer().name())
        }
        _ => format!("in reply to {with_article}"),
    }
}

pub(super) fn rst_note(r: &RstFact) -> String {
    let mut note = format!("{} reset {}", r.by().name(), context(r));
    match durations::latency(r) {
        Some(l) if r.reply_to() == ReplyTo::None => note.push_str(&format!(
            ", {} after the {}'s last segment",
            human(l),
            r.by().peer().name()
        )),
        Some(l) if l < REPLY_WORDING_NS => note.push_str(&format!(", {} later", human(l))),
        Some(_) => {}
        None if durations::out_of_order(r) => note.push_str(OUT_OF_ORDER),
        None => {}
    }
    note
}

/// Said where a duration is unknown because the timestamps disagree.
pub(super) const OUT_OF_ORDER: &str = " (timestamps out of order: the delay is unknown)";

/// The RST's delay after the peer's last segment, for a sentence: "27 us",
/// or "an unknown time (timestamps out of order)".
pub(super) fn delay(r: &RstFact) -> String {
    match durations::latency(r) {
        Some(l) => human(l),
        None => "an unknown time (timestamps out of order)".to_string(),
    }
}

/// How the tracker's watch of the connection ended, for sentences that
/// say how long something lasted: "until the end of the capture", or why
/// the tracker stopped watching earlier.
pub(super) fn watched_until(reason: EndReason) -> &'static str {
    match reason {
        EndReason::IdleTimeout => "until it had been silent past the idle timeout",
        EndReason::Evicted => {
            "until the tracker had to finish it early (--max-connections), so at least that long"
        }
        EndReason::NewGeneration => "until a new connection reused its ports",
        _ => "until the end of the capture",
    }
}

/// An address as `IpAddr`'s `Display` writes it. IPv4's four numbers are
/// written with itoa: through the formatting machinery they cost ten times
/// as much, twice for every connection.
pub(super) fn ip_text(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v) => {
            let mut text = String::with_capacity(15);
            let mut n = itoa::Buffer::new();
            for (i, octet) in v.octets().into_iter().enumerate() {
                if i > 0 {
                    text.push('.');
                }
                text.push_str(n.format(octet));
            }
            text
        }
        std::net::IpAddr::V6(v) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same text as `Display`, at every octet width and both ends.
    #[test]
    fn ip_text_is_what_display_writes() {
        for a in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.0.1",
            "1.22.133.4",
            "192.168.100.200",
            "::1",
            "fe80::1:2",
            "::ffff:10.0.0.1",
        ] {
            let ip: std::net::IpAddr = a.parse().expect("address");
            assert_eq!(ip_text(ip), ip.to_string());
            assert_eq!(ip_text(ip), a);
        }
    }
}
