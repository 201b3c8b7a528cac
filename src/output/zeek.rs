//! `flows --format zeek`: a conn.log in Zeek's ASCII (TSV) format that
//! `zeek-cut` reads, Zeek's fields first, rstscope's own after them.
//!
//! Values follow Zeek's ASCII writer: `-` for an unset field, `(empty)` for
//! an empty string, `T`/`F`, epoch seconds with six decimals for times and
//! intervals, and `\xNN` for tabs, newlines, backslashes and other control
//! bytes. As Zeek's `set_conn()` does, `duration`, `orig_bytes` and
//! `resp_bytes` are unset when the connection lasted no time, `history` when
//! it is empty, `local_orig`/`local_resp` always (no `Site::local_nets`).
//! `#open` and `#close` carry the earliest and latest capture time written
//! (not the wall clock), so the same capture gives the same bytes.

use std::io::{self, Write};

use crate::diagnose::Flow;
use crate::wire::Timestamp;

/// Zeek's conn.log fields, then rstscope's, with their Zeek types.
pub const ZEEK_FIELDS: [(&str, &str); 41] = [
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("service", "string"),
    ("duration", "interval"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "string"),
    ("local_orig", "bool"),
    ("local_resp", "bool"),
    ("missed_bytes", "count"),
    ("history", "string"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("community_id", "string"),
    ("outcome", "string"),
    ("rst_by", "string"),
    ("rst_reply_to", "string"),
    ("rst_count", "count"),
    ("rst_ts", "time"),
    ("rst_after_handshake", "interval"),
    ("rst_latency", "interval"),
    ("idle_before_rst", "interval"),
    ("rst_in_window", "bool"),
    ("rst_ttl_delta", "int"),
    ("rst_suspect", "string"),
    ("handshake_seen", "bool"),
    ("handshake_rtt", "interval"),
    ("syn_retransmits", "count"),
    ("synack_retransmits", "count"),
    ("fin_by", "string"),
    ("roles_inferred", "bool"),
    ("tcp_stream", "count"),
    ("frames", "string"),
    ("evidence", "string"),
];

const UNSET: &str = "-";

/// Zeek's string escaping: the separator, line breaks, the backslash and
/// other control bytes as `\xNN`; `(empty)` for "", `\x2d` for a lone "-".
fn string(s: &str) -> String {
    if s.is_empty() {
        return "(empty)".to_string();
    }
    if s == UNSET {
        return "\\x2d".to_string();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\\' || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn secs(x: f64) -> String {
    format!("{x:.6}")
}

fn bool_(b: bool) -> &'static str {
    if b {
        "T"
    } else {
        "F"
    }
}

fn opt<T>(x: &Option<T>, f: impl Fn(&T) -> String) -> String {
    x.as_ref().map(f).unwrap_or_else(|| UNSET.to_string())
}

/// Zeek-style connection uid: "C" and 17 base62 digits of a hash of the
/// Community ID, the first timestamp and the first frame, so the same
/// connection gets the same uid on every run.
pub fn uid(flow: &Flow) -> String {
    use sha1::Digest as _;
    let mut h = sha1::Sha1::new();
    h.update(flow.community_id.as_bytes());
    h.update(flow.first_time.0.to_be_bytes());
    h.update(flow.frames[0].to_be_bytes());
    let d: [u8; 20] = h.finalize().into();
    let mut n = u128::from_be_bytes([
        0, 0, 0, 0, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11],
    ]);
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = [b'0'; 17];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 62) as usize];
        n /= 62;
    }
    format!("C{}", String::from_utf8_lossy(&out))
}

/// One conn.log line's values, aligned with [`ZEEK_FIELDS`].
pub fn record(f: &Flow) -> Vec<String> {
    let lasted = f.duration > 0.0;
    // Zeek's originator, which is our server when Zeek flipped the roles.
    let client = (&f.client, f.client_port, f.bytes_c2s, f.packets_c2s);
    let server = (&f.server, f.server_port, f.bytes_s2c, f.packets_s2c);
    let (o, r) = if f.zeek_orig_is_server {
        (server, client)
    } else {
        (client, server)
    };
    vec![
        f.first_time.epoch_seconds(),
        uid(f),
        o.0.clone(),
        o.1.to_string(),
        r.0.clone(),
        r.1.to_string(),
        "tcp".to_string(),
        UNSET.to_string(),
        if lasted {
            secs(f.duration)
        } else {
            UNSET.into()
        },
        if lasted {
            o.2.to_string()
        } else {
            UNSET.into()
        },
        if lasted {
            r.2.to_string()
        } else {
            UNSET.into()
        },
        f.zeek_state.to_string(),
        UNSET.to_string(),
        UNSET.to_string(),
        f.missed_bytes.to_string(),
        if f.history.is_empty() {
            UNSET.to_string()
        } else {
            string(&f.history)
        },
        o.3.to_string(),
        // IP-level byte counts are not kept by the tracker.
        UNSET.to_string(),
        r.3.to_string(),
        UNSET.to_string(),
        string(&f.community_id),
        string(f.outcome.name()),
        opt(&f.rst_by, |s| string(s.name())),
        opt(&f.rst_reply_to, |r| string(r.name())),
        opt(&f.rst_count, |n| n.to_string()),
        opt(&f.rst_time, |t| t.epoch_seconds()),
        opt(&f.rst_after_handshake, |x| secs(*x)),
        opt(&f.rst_latency, |x| secs(*x)),
        opt(&f.idle_before_rst, |x| secs(*x)),
        opt(&f.rst_in_window, |b| bool_(*b).to_string()),
        opt(&f.rst_ttl_delta, |d| d.to_string()),
        opt(&f.rst_suspect, |s| string(s)),
        bool_(f.handshake_seen).to_string(),
        opt(&f.handshake_rtt, |x| secs(*x)),
        f.syn_retransmits.to_string(),
        f.synack_retransmits.to_string(),
        string(f.fin_by.name()),
        bool_(f.roles_inferred).to_string(),
        f.tcp_stream.to_string(),
        format!("{}-{}", f.frames[0], f.frames[1]),
        string(&f.evidence),
    ]
}

/// Zeek's `#open`/`#close` stamp: `YYYY-MM-DD-HH-MM-SS` (UTC).
fn stamp(t: Option<Timestamp>) -> String {
    let r = t.unwrap_or(Timestamp(0)).rfc3339();
    r.get(..19)
        .unwrap_or("1970-01-01T00:00:00")
        .replace(['T', ':'], "-")
}

/// Streaming conn.log writer. The header waits for the first row (its
/// `#open` is that row's time); the footer is written by [`ZeekLog::finish`].
pub struct ZeekLog<W: Write> {
    out: W,
    header_written: bool,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

impl<W: Write> ZeekLog<W> {
    pub fn new(out: W) -> Self {
        ZeekLog {
            out,
            header_written: false,
            first: None,
            last: None,
        }
    }

    fn header(&mut self) -> io::Result<()> {
        if self.header_written {
            return Ok(());
        }
        self.header_written = true;
        let names: Vec<&str> = ZEEK_FIELDS.iter().map(|f| f.0).collect();
        let types: Vec<&str> = ZEEK_FIELDS.iter().map(|f| f.1).collect();
        write!(
            self.out,
            "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n\
             #path\tconn\n#open\t{}\n#fields\t{}\n#types\t{}\n",
            stamp(self.first),
            names.join("\t"),
            types.join("\t")
        )
    }

    pub fn write(&mut self, flow: &Flow) -> io::Result<()> {
        if self.first.is_none() {
            self.first = Some(flow.first_time);
        }
        self.header()?;
        let end = flow.last_time.max(flow.first_time);
        self.last = Some(self.last.map_or(end, |l| l.max(end)));
        writeln!(self.out, "{}", record(flow).join("\t"))
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.header()?;
        writeln!(self.out, "#close\t{}", stamp(self.last.or(self.first)))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_zeek_does() {
        assert_eq!(string(""), "(empty)");
        assert_eq!(string("-"), "\\x2d");
        assert_eq!(string("a\tb\nc\\"), "a\\x09b\\x0ac\\x5c");
        assert_eq!(string("ShADdFf"), "ShADdFf");
    }

    #[test]
    fn times_are_epoch_with_microseconds() {
        assert_eq!(
            Timestamp(1_700_000_000_000_100_900).epoch_seconds(),
            "1700000000.000100"
        );
        assert_eq!(
            stamp(Some(Timestamp(1_709_210_096_789_012_345))),
            "2024-02-29-12-34-56"
        );
        assert_eq!(stamp(None), "1970-01-01-00-00-00");
    }
}
