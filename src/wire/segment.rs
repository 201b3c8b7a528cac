//! The unit every later stage works on: one decoded TCP segment, plus the
//! time and sequence arithmetic shared by tracking and classification.

use std::fmt;
use std::net::SocketAddr;

use jiff::fmt::temporal::DateTimePrinter;

/// Capture time in nanoseconds since the Unix epoch. An `i64` of nanoseconds
/// covers 1678..2262, which is every capture anyone will bring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_parts(secs: i64, nanos: i64) -> Self {
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }

    pub fn secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Seconds from `earlier` to `self` (negative when `self` is earlier).
    pub fn since(self, earlier: Timestamp) -> f64 {
        self.0.saturating_sub(earlier.0) as f64 / 1e9
    }

    /// Seconds since the epoch with six decimals (microseconds, as
    /// elsewhere): Zeek's `ts` and the CSV's `first_ts`.
    pub fn epoch_seconds(self) -> String {
        let mut s = String::new();
        self.write_epoch_seconds(&mut s);
        s
    }

    /// [`Timestamp::epoch_seconds`], appended to `out`.
    pub fn write_epoch_seconds(self, out: &mut String) {
        use std::fmt::Write as _;
        let secs = self.0.div_euclid(1_000_000_000);
        let micros = self.0.rem_euclid(1_000_000_000) / 1000;
        // Writing to a String cannot fail.
        let _ = write!(out, "{secs}.{micros:06}");
    }

    /// RFC 3339, UTC, microseconds: what spreadsheets sort correctly.
    pub fn rfc3339(self) -> String {
        let mut s = String::with_capacity(27);
        self.write_rfc3339(&mut s);
        s
    }

    /// [`Timestamp::rfc3339`], appended to `out`.
    pub fn write_rfc3339(self, out: &mut String) {
        const PRINTER: DateTimePrinter = DateTimePrinter::new().precision(Some(6));
        // Writing to a String cannot fail.
        let _ = PRINTER.print_timestamp(&self.jiff(), out);
    }

    /// `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, appended to `out`: what
    /// LibreOffice, Excel and pandas read as a date and time (an RFC 3339
    /// `T`/`Z` makes it text in Calc).
    pub fn write_spreadsheet(self, out: &mut String) {
        const PRINTER: DateTimePrinter = DateTimePrinter::new().separator(b' ').precision(Some(6));
        let civil = jiff::tz::TimeZone::UTC.to_datetime(self.jiff());
        // Writing to a String cannot fail.
        let _ = PRINTER.print_datetime(&civil, out);
    }

    /// As jiff's timestamp: every `i64` of nanoseconds is within its range
    /// (years -9999..=9999), so the fallback is never taken.
    fn jiff(self) -> jiff::Timestamp {
        jiff::Timestamp::from_nanosecond(i128::from(self.0)).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

/// Serialised as RFC 3339 text: JSON readers and spreadsheets parse it.
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

/// TCP header flags, in the bit positions of the header's flags byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u8);

impl Flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
}

/// tcpdump's letters, in tcpdump's order: `S F P R U E W .` (e.g. `S.`, `P.`, `R`).
impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, letter) in [
            (Self::SYN, 'S'),
            (Self::FIN, 'F'),
            (Self::PSH, 'P'),
            (Self::RST, 'R'),
            (Self::URG, 'U'),
            (Self::ECE, 'E'),
            (Self::CWR, 'W'),
            (Self::ACK, '.'),
        ] {
            if self.has(bit) {
                write!(f, "{letter}")?;
            }
        }
        if self.0 == 0 {
            write!(f, "none")?;
        }
        Ok(())
    }
}

/// One TCP segment as the wire showed it. Plain data, `Copy`, no borrowed
/// bytes: the payload itself is never needed past decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// 1-based position of the packet in the capture, as Wireshark numbers frames.
    pub frame: u64,
    pub ts: Timestamp,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: Flags,
    pub window: u16,
    /// Window scale option (SYN and SYN-ACK only).
    pub wscale: Option<u8>,
    /// TCP payload length from the IP header, not from the captured bytes.
    pub payload_len: u32,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The snap length cut this segment's payload (headers are complete).
    pub snap_cut: bool,
    /// A pure SYN as it looked after address translation (NAT), on the
    /// tuple the translation made: its connection is analysed under the
    /// addresses it was first seen with (`decode::Translations`), and this
    /// copy reaches the tracker only because tshark counts the translated
    /// tuple as a conversation of its own, which moves every later
    /// `tcp.stream` number on.
    pub nat_copy: bool,

    /// The tunnel path the segment arrived in (0: none); part of the
    /// connection's identity. Words for it: `wire::describe_tunnel`.
    pub tunnel: super::tunnel::TunnelId,
    /// The outer UDP flows of its UDP tunnels (GTP-U, Teredo, VXLAN...),
    /// the same for both directions of one flow, as a fingerprint (0:
    /// none). Not part of the identity: a connection whose segments
    /// alternate between two such flows (GTP-U uplink and downlink on
    /// different ports) is one connection, whose tunnel Zeek sees change.
    pub outer_flow: u32,
}

impl Segment {
    /// Sequence space the segment occupies: payload plus one for SYN and FIN.
    pub fn seq_len(&self) -> u32 {
        self.payload_len
            .wrapping_add(u32::from(self.flags.syn()))
            .wrapping_add(u32::from(self.flags.fin()))
    }
}

/// Sequence-number comparison modulo 2^32 (RFC 793 / RFC 1982): `a` is before
/// `b` when `b - a`, taken as signed 32-bit, is positive.
pub fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

pub fn seq_le(a: u32, b: u32) -> bool {
    a == b || seq_lt(a, b)
}

/// Signed distance from `base` to `x` in sequence space.
pub fn seq_diff(x: u32, base: u32) -> i64 {
    i64::from(x.wrapping_sub(base) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_utc_with_microseconds() {
        assert_eq!(
            Timestamp::from_parts(0, 0).rfc3339(),
            "1970-01-01T00:00:00.000000Z"
        );
        // 2024-02-29T12:34:56.789012Z, a leap day
        assert_eq!(
            Timestamp::from_parts(1_709_210_096, 789_012_345).rfc3339(),
            "2024-02-29T12:34:56.789012Z"
        );
        // Microseconds are truncated, never rounded up into the next second.
        assert_eq!(
            Timestamp::from_parts(1_709_210_096, 999_999_999).rfc3339(),
            "2024-02-29T12:34:56.999999Z"
        );
        // Before the epoch the fraction still counts forward from the second.
        assert_eq!(Timestamp(-1).rfc3339(), "1969-12-31T23:59:59.999999Z");
        // The ends of an i64 of nanoseconds (numpy's datetime64[ns] limits).
        assert_eq!(Timestamp(i64::MAX).rfc3339(), "2262-04-11T23:47:16.854775Z");
        assert_eq!(Timestamp(i64::MIN).rfc3339(), "1677-09-21T00:12:43.145224Z");
    }

    #[test]
    fn spreadsheet_time_and_epoch_seconds() {
        let t = Timestamp::from_parts(1_709_210_096, 789_012_345);
        let mut s = String::from("x");
        t.write_spreadsheet(&mut s);
        assert_eq!(s, "x2024-02-29 12:34:56.789012");
        assert_eq!(t.epoch_seconds(), "1709210096.789012");
    }

    #[test]
    fn flags_print_as_tcpdump_does() {
        assert_eq!(Flags(Flags::SYN).to_string(), "S");
        assert_eq!(Flags(Flags::SYN | Flags::ACK).to_string(), "S.");
        assert_eq!(Flags(Flags::PSH | Flags::ACK).to_string(), "P.");
        assert_eq!(
            Flags(Flags::FIN | Flags::PSH | Flags::ACK).to_string(),
            "FP."
        );
        assert_eq!(Flags(Flags::RST).to_string(), "R");
        assert_eq!(Flags(Flags::RST | Flags::ACK).to_string(), "R.");
        assert_eq!(Flags(Flags::ACK).to_string(), ".");
    }

    #[test]
    fn sequence_comparison_survives_wrap() {
        assert!(seq_lt(0xffff_fff0, 0x10));
        assert!(!seq_lt(0x10, 0xffff_fff0));
        assert!(seq_le(5, 5));
        assert_eq!(seq_diff(0x10, 0xffff_fff0), 0x20);
        assert_eq!(seq_diff(0xffff_fff0, 0x10), -0x20);
    }
}
