//! `rstscope flows`: one row per connection, streamed as CSV, a JSON array
//! or NDJSON to any writer. Rows are written as they come, never collected;
//! [`Reorder`] puts them in time order with a bounded buffer.

pub use super::reorder::{Reorder, Spillable, REORDER_LIMIT, SPILL_BYTES};

use std::io::{self, Write};

use crate::diagnose::{Flow, FIELDS};
use crate::track::Connection;
use crate::wire::Timestamp;

use super::sink::{Next, Sink};

/// The CSV columns: the spec's fields, then the two timestamps again as
/// epoch seconds for tools that would rather not parse dates.
pub const CSV_FIELDS: [&str; FIELDS.len() + 2] = {
    let mut all = [""; FIELDS.len() + 2];
    let mut i = 0;
    while i < FIELDS.len() {
        all[i] = FIELDS[i];
        i += 1;
    }
    all[FIELDS.len()] = "first_ts";
    all[FIELDS.len() + 1] = "rst_ts";
    all
};

/// Where a row's fields are formatted: each one in `scratch`, handed to
/// `field` and forgotten, so a row costs no allocation per field.
struct FieldWriter<'a, F> {
    scratch: &'a mut String,
    field: F,
}

impl<F: FnMut(&str) -> io::Result<()>> FieldWriter<'_, F> {
    fn text(&mut self, s: &str) -> io::Result<()> {
        (self.field)(s)
    }

    /// `true` or `false`, as `bool` displays.
    fn flag(&mut self, b: bool) -> io::Result<()> {
        (self.field)(if b { "true" } else { "false" })
    }

    /// An integer, by itoa: the row's most common field, and `fmt`'s
    /// machinery costs several times the digits.
    fn int(&mut self, n: impl itoa::Integer) -> io::Result<()> {
        let mut digits = itoa::Buffer::new();
        (self.field)(digits.format(n))
    }

    /// Frames as `first-last`.
    fn frames(&mut self, f: &[u64; 2]) -> io::Result<()> {
        self.scratch.clear();
        crate::diagnose::write_frames(f, self.scratch);
        (self.field)(self.scratch)
    }

    /// Seconds with six decimals.
    fn secs(&mut self, x: f64) -> io::Result<()> {
        self.scratch.clear();
        write_micros(x, self.scratch);
        (self.field)(self.scratch)
    }

    fn time(&mut self, t: Timestamp) -> io::Result<()> {
        self.scratch.clear();
        t.write_spreadsheet(self.scratch);
        (self.field)(self.scratch)
    }

    fn epoch(&mut self, t: Timestamp) -> io::Result<()> {
        self.scratch.clear();
        t.write_epoch_seconds(self.scratch);
        (self.field)(self.scratch)
    }

    /// `put` of the value, or an empty field for a fact the wire did not
    /// establish.
    fn opt<T>(
        &mut self,
        x: &Option<T>,
        put: impl FnOnce(&mut Self, &T) -> io::Result<()>,
    ) -> io::Result<()> {
        match x {
            Some(v) => put(self, v),
            None => (self.field)(""),
        }
    }
}

/// Appends `x` with six decimals, the text of `format!("{x:.6}")`. The
/// formatting machinery expands the float's exact decimal value, about a
/// thousand instructions for each of a row's durations; for a duration
/// under 2^20 s it is enough to round `x * 1e6`, which is within 2e-4 of
/// the exact product, to the nearest integer, unless its fraction lies
/// that close to a half (then the machinery decides).
fn write_micros(x: f64, out: &mut String) {
    let m = x * 1e6;
    let frac = m - m.floor();
    if x.is_sign_positive() && x < 1_048_576.0 && (frac - 0.5).abs() > 1e-3 {
        let us = m.round() as u64;
        let mut digits = itoa::Buffer::new();
        out.push_str(digits.format(us / 1_000_000));
        out.push('.');
        let part = digits.format(us % 1_000_000);
        for _ in part.len()..6 {
            out.push('0');
        }
        out.push_str(part);
        return;
    }
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = write!(out, "{x:.6}");
}

/// Hands each field of `flow`'s CSV row to `field`, in [`CSV_FIELDS`]'
/// order: timestamps for spreadsheets, durations in seconds with six
/// decimals, empty for a fact the wire did not establish, 0 for a count
/// known to be zero (`rst_count` without RST).
fn each_csv_field(
    flow: &Flow,
    scratch: &mut String,
    field: impl FnMut(&str) -> io::Result<()>,
) -> io::Result<()> {
    let w = &mut FieldWriter { scratch, field };
    w.text(&flow.client)?;
    w.int(flow.client_port)?;
    w.text(&flow.server)?;
    w.int(flow.server_port)?;
    w.time(flow.first_time)?;
    w.time(flow.last_time)?;
    w.secs(flow.duration)?;
    w.int(flow.packets_c2s)?;
    w.int(flow.packets_s2c)?;
    w.int(flow.bytes_c2s)?;
    w.int(flow.bytes_s2c)?;
    w.int(flow.retransmits_c2s)?;
    w.int(flow.retransmits_s2c)?;
    w.opt(&flow.response_time, |w, x| w.secs(*x))?;
    w.flag(flow.handshake_seen)?;
    w.opt(&flow.handshake_rtt, |w, x| w.secs(*x))?;
    w.int(flow.syn_retransmits)?;
    w.int(flow.synack_retransmits)?;
    w.text(flow.fin_by.name())?;
    w.flag(flow.roles_inferred)?;
    w.text(flow.end_reason.name())?;
    w.text(flow.outcome.name())?;
    w.text(flow.zeek_state)?;
    w.text(&flow.history)?;
    w.frames(&flow.frames)?;
    w.int(flow.tcp_stream)?;
    w.text(&flow.community_id)?;
    w.opt(&flow.rst_by, |w, s| w.text(s.name()))?;
    w.int(flow.rst_count.unwrap_or(0))?;
    w.opt(&flow.rst_time, |w, t| w.time(*t))?;
    w.opt(&flow.rst_after_handshake, |w, x| w.secs(*x))?;
    w.opt(&flow.rst_reply_to, |w, r| w.text(r.name()))?;
    w.opt(&flow.rst_latency, |w, x| w.secs(*x))?;
    w.opt(&flow.idle_before_rst, |w, x| w.secs(*x))?;
    w.opt(&flow.rst_in_window, |w, b| w.flag(*b))?;
    w.opt(&flow.rst_ttl_delta, |w, d| w.int(*d))?;
    w.text(flow.rst_suspect.as_deref().unwrap_or_default())?;
    w.text(&flow.evidence)?;
    w.text(&flow.tunnel)?;
    w.epoch(flow.first_time)?;
    w.opt(&flow.rst_time, |w, t| w.epoch(*t))
}

/// One CSV row, aligned with [`CSV_FIELDS`] (see [`each_csv_field`]).
pub fn csv_record(flow: &Flow) -> Vec<String> {
    let mut fields = Vec::with_capacity(CSV_FIELDS.len());
    let mut scratch = String::new();
    // Collecting into a Vec cannot fail.
    let _ = each_csv_field(flow, &mut scratch, |f| {
        fields.push(f.to_string());
        Ok(())
    });
    fields
}

/// The bytes [`CsvRows`]' encoder writes to. csv's writer lends its inner
/// writer only immutably, hence the cell: the bytes of one record are read
/// and cleared through it.
#[derive(Default)]
struct RowBytes(std::cell::RefCell<Vec<u8>>);

impl Write for RowBytes {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.get_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Encodes CSV records one by one with one reused encoder, so a row costs
/// one allocation (its own bytes) instead of one per field.
struct CsvRows {
    out: csv::Writer<RowBytes>,
    scratch: String,
}

impl CsvRows {
    fn new() -> Self {
        CsvRows {
            out: csv::WriterBuilder::new()
                .quote_style(csv::QuoteStyle::Necessary)
                .from_writer(RowBytes::default()),
            scratch: String::new(),
        }
    }

    /// Hands `flow`'s record to `then`, encoded as [`encode_csv`] would
    /// encode [`csv_record`]'s fields.
    fn encode<T>(
        &mut self,
        flow: &Flow,
        then: impl FnOnce(&[u8]) -> io::Result<T>,
    ) -> io::Result<T> {
        let out = &mut self.out;
        each_csv_field(flow, &mut self.scratch, |f| {
            out.write_field(f).map_err(csv_err)
        })?;
        out.write_record(None::<&[u8]>).map_err(csv_err)?;
        out.flush()?;
        let mut bytes = out.get_ref().0.borrow_mut();
        let done = then(&bytes);
        bytes.clear();
        done
    }
}

/// Rows of one capture among several independent ones (`--each`), each
/// tagged with its capture: CSV records without a header, the capture
/// first; JSON and NDJSON one object per line, `capture` first. The caller
/// puts the captures' parts together (header, array brackets).
pub enum TaggedWriter<W: Write> {
    Csv(Box<csv::Writer<W>>, String),
    Lines(W, String),
}

/// The CSV header with `--each`: `capture`, then [`CSV_FIELDS`].
pub fn tagged_csv_header() -> Vec<&'static str> {
    std::iter::once("capture").chain(CSV_FIELDS).collect()
}

impl<W: Write> TaggedWriter<W> {
    pub fn new(out: W, format: FlowFormat, capture: &str) -> Self {
        match format {
            FlowFormat::Csv => TaggedWriter::Csv(
                Box::new(
                    csv::WriterBuilder::new()
                        .has_headers(false)
                        .quote_style(csv::QuoteStyle::Necessary)
                        .from_writer(out),
                ),
                capture.to_string(),
            ),
            // Zeek's conn.log has no place for a capture column: the command
            // line refuses `--each --format zeek`; its rows go as JSON lines.
            FlowFormat::Json | FlowFormat::Ndjson | FlowFormat::Zeek => {
                // The capture as a JSON string, once.
                let tag = serde_json::to_string(capture).unwrap_or_else(|_| "\"\"".into());
                TaggedWriter::Lines(out, tag)
            }
        }
    }

    pub fn write(&mut self, flow: &Flow) -> io::Result<()> {
        match self {
            TaggedWriter::Csv(w, capture) => {
                w.write_field(capture.as_str()).map_err(csv_err)?;
                let mut scratch = String::new();
                each_csv_field(flow, &mut scratch, |f| w.write_field(f).map_err(csv_err))?;
                w.write_record(None::<&[u8]>).map_err(csv_err)
            }
            TaggedWriter::Lines(out, tag) => {
                let row = serde_json::to_string(flow)?;
                let fields = row.strip_prefix('{').unwrap_or(&row);
                writeln!(out, "{{\"capture\":{tag},{fields}")
            }
        }
    }

    pub fn finish(self) -> io::Result<W> {
        match self {
            TaggedWriter::Csv(w, _) => (*w)
                .into_inner()
                .map_err(|e| io::Error::new(e.error().kind(), e.to_string())),
            TaggedWriter::Lines(mut out, _) => {
                out.flush()?;
                Ok(out)
            }
        }
    }
}

/// A row as [`FlowWriter::held`] keeps it until its turn.
pub enum HeldRow {
    /// A CSV record, encoded.
    Csv(Box<[u8]>),
    Flow(Box<Flow>),
}

impl Spillable for HeldRow {
    fn bytes(&self) -> Option<&[u8]> {
        match self {
            HeldRow::Csv(b) => Some(b),
            HeldRow::Flow(_) => None,
        }
    }
    fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        Some(HeldRow::Csv(bytes.into_boxed_slice()))
    }
}

/// `flows --format`: parsed by clap from `csv`, `json`, `ndjson`, `zeek`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FlowFormat {
    #[default]
    Csv,
    Json,
    Ndjson,
    /// Zeek's conn.log (TSV), for zeek-cut.
    Zeek,
}

enum Encoder<W: Write> {
    /// CSV records are encoded one by one ([`CsvRows`]; the header by
    /// [`encode_csv`]) and copied to `out`, so that a record encoded
    /// earlier ([`HeldRow::Csv`]) goes out the same way.
    Csv(W, Box<CsvRows>),
    Json {
        out: W,
        rows: u64,
    },
    Ndjson(W),
    Zeek(super::zeek::ZeekLog<W>),
}

/// Streaming writer of [`Flow`]s. Call [`FlowWriter::finish`] at the end (the
/// JSON array needs its closing bracket, CSV its buffer flushed).
pub struct FlowWriter<W: Write> {
    sink: Encoder<W>,
    /// Flush after every row (NDJSON to a pipe: readers see each
    /// connection as it finishes).
    flush_each: bool,
}

/// One CSV record, encoded on its own: the encoder keeps no state between
/// records but their field count, the same for every row.
fn encode_csv<I, F>(record: I) -> io::Result<Vec<u8>>
where
    I: IntoIterator<Item = F>,
    F: AsRef<[u8]>,
{
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Necessary)
        .buffer_capacity(1024)
        .from_writer(Vec::new());
    w.write_record(record).map_err(csv_err)?;
    w.into_inner()
        .map_err(|e| io::Error::new(e.error().kind(), e.to_string()))
}

/// csv wraps I/O errors; give them back as they were, so a closed pipe is
/// still recognised as one.
fn csv_err(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => io::Error::other(format!("{other:?}")),
    }
}

impl<W: Write> FlowWriter<W> {
    /// Starts the output: the CSV header row is written at once so that an
    /// empty capture still gives a valid file.
    pub fn new(out: W, format: FlowFormat) -> io::Result<Self> {
        let sink = match format {
            FlowFormat::Csv => {
                let mut out = out;
                out.write_all(&encode_csv(CSV_FIELDS)?)?;
                Encoder::Csv(out, Box::new(CsvRows::new()))
            }
            FlowFormat::Json => {
                let mut out = out;
                out.write_all(b"[")?;
                Encoder::Json { out, rows: 0 }
            }
            FlowFormat::Ndjson => Encoder::Ndjson(out),
            FlowFormat::Zeek => Encoder::Zeek(super::zeek::ZeekLog::new(out)),
        };
        Ok(FlowWriter {
            sink,
            flush_each: false,
        })
    }

    /// Flushes after every row from now on.
    pub fn flush_each_row(mut self, yes: bool) -> Self {
        self.flush_each = yes;
        self
    }

    /// What to hold of `flow` until its turn: for CSV its record, encoded
    /// now exactly as [`FlowWriter::write`] would.
    pub fn held(&mut self, flow: &Flow) -> io::Result<HeldRow> {
        match &mut self.sink {
            Encoder::Csv(_, rows) => rows.encode(flow, |b| Ok(HeldRow::Csv(b.into()))),
            _ => Ok(HeldRow::Flow(Box::new(flow.clone()))),
        }
    }

    /// Writes a row kept by [`FlowWriter::held`].
    pub fn write_held(&mut self, row: &HeldRow) -> io::Result<()> {
        match (row, &mut self.sink) {
            (HeldRow::Csv(bytes), Encoder::Csv(out, _)) => out.write_all(bytes),
            (HeldRow::Flow(flow), _) => self.write(flow),
            (HeldRow::Csv(_), _) => Err(io::Error::other("a CSV row held for another format")),
        }
    }

    pub fn write(&mut self, flow: &Flow) -> io::Result<()> {
        match &mut self.sink {
            Encoder::Csv(out, rows) => rows.encode(flow, |b| out.write_all(b)),
            Encoder::Json { out, rows } => {
                out.write_all(if *rows == 0 { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut *out, flow)?;
                *rows += 1;
                Ok(())
            }
            Encoder::Ndjson(out) => {
                serde_json::to_writer(&mut *out, flow)?;
                out.write_all(b"\n")
            }
            Encoder::Zeek(z) => z.write(flow),
        }
    }

    /// Pushes buffered rows out, so a consumer of NDJSON sees each
    /// connection as it finishes rather than at the end of the capture.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Encoder::Csv(out, _) => out.flush(),
            Encoder::Json { out, .. } => out.flush(),
            Encoder::Ndjson(out) => out.flush(),
            Encoder::Zeek(z) => z.flush(),
        }
    }

    /// Closes the output and gives the writer back.
    pub fn finish(self) -> io::Result<W> {
        match self.sink {
            Encoder::Csv(mut out, _) => {
                out.flush()?;
                Ok(out)
            }
            Encoder::Json { mut out, .. } => {
                out.write_all(b"\n]\n")?;
                out.flush()?;
                Ok(out)
            }
            Encoder::Ndjson(mut out) => {
                out.flush()?;
                Ok(out)
            }
            Encoder::Zeek(z) => z.finish(),
        }
    }
}

impl<W: Write> Sink for FlowWriter<W> {
    fn connection(&mut self, _conn: &Connection, flow: &Flow) -> io::Result<Next> {
        self.write(flow)?;
        // NDJSON consumers see each connection as it finishes.
        if self.flush_each {
            self.flush()?;
        }
        Ok(Next::Continue)
    }
}

/// The filters every command shares: `--server ADDR[:PORT]`, `--port PORT`,
/// `--outcome OUTCOME[,OUTCOME]`. Empty filters match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowFilter {
    /// Server address, with or without port (`10.0.0.2`, `10.0.0.2:80`,
    /// `[::1]:80`, `::1`).
    pub server: Option<(std::net::IpAddr, Option<u16>)>,
    pub port: Option<u16>,
    pub outcomes: Vec<crate::diagnose::Outcome>,
    /// `timeline --conn ADDR:PORT`: connections with this client (or
    /// server) endpoint.
    pub conns: Vec<std::net::SocketAddr>,
}

impl FlowFilter {
    /// Parses the command-line values; the error names the bad value.
    pub fn new(
        server: Option<&str>,
        port: Option<u16>,
        outcomes: &[String],
    ) -> Result<Self, String> {
        let server = match server {
            None => None,
            Some(s) => Some(parse_server(s).ok_or_else(|| {
                format!("--server {s:?}: expected ADDR or ADDR:PORT (IPv6 as [ADDR]:PORT)")
            })?),
        };
        let mut parsed = Vec::new();
        for o in outcomes.iter().flat_map(|o| o.split(',')) {
            let o = o.trim();
            if o.is_empty() {
                continue;
            }
            parsed.push(crate::diagnose::Outcome::parse(o).ok_or_else(|| {
                let all: Vec<&str> = crate::diagnose::Outcome::ALL
                    .iter()
                    .map(|o| o.name())
                    .collect();
                format!(
                    "--outcome {o:?}: not an outcome (one of {})",
                    all.join(", ")
                )
            })?);
        }
        Ok(FlowFilter {
            server,
            port,
            outcomes: parsed,
            conns: Vec::new(),
        })
    }

    /// Adds `--conn ADDR:PORT` selections.
    pub fn with_conns(mut self, conns: &[String]) -> Result<Self, String> {
        for c in conns {
            self.conns.push(
                c.parse().map_err(|_| {
                    format!("--conn {c:?}: expected ADDR:PORT (IPv6 as [ADDR]:PORT)")
                })?,
            );
        }
        Ok(self)
    }

    pub fn matches(&self, flow: &Flow) -> bool {
        if let Some((addr, port)) = self.server {
            if flow.server.parse::<std::net::IpAddr>().ok() != Some(addr) {
                return false;
            }
            if port.is_some_and(|p| p != flow.server_port) {
                return false;
            }
        }
        if let Some(p) = self.port {
            if flow.client_port != p && flow.server_port != p {
                return false;
            }
        }
        if !self.conns.is_empty() {
            let ep = |addr: &str, port: u16| {
                addr.parse::<std::net::IpAddr>()
                    .ok()
                    .map(|ip| std::net::SocketAddr::new(ip, port))
            };
            let c = ep(&flow.client, flow.client_port);
            let s = ep(&flow.server, flow.server_port);
            if !self.conns.iter().any(|x| Some(*x) == c || Some(*x) == s) {
                return false;
            }
        }
        self.outcomes.is_empty() || self.outcomes.contains(&flow.outcome)
    }
}

fn parse_server(s: &str) -> Option<(std::net::IpAddr, Option<u16>)> {
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        return Some((sa.ip(), Some(sa.port())));
    }
    let bare = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    bare.parse().ok().map(|ip| (ip, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::classify;
    use crate::track::testwire::{Wire, A, F, P, R};

    /// The same text as `{:.6}`: for durations made from nanosecond
    /// counts at every scale, values half a microsecond apart, and the
    /// values the fast way leaves to the formatting machinery.
    #[test]
    fn micros_are_what_fmt_writes() {
        let mut values = vec![
            0.0,
            -0.0,
            -1.5,
            1.0,
            0.5,
            0.0000005,
            0.0000015,
            0.0000025,
            2.5e-6,
            1.2345675,
            999_999.9999995,
            1_048_575.999_999_5,
            1_048_576.0,
            1e7,
            1e300,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        for scale in [1_000u64, 1_000_000, 1_000_000_000, 100_000_000_000, 1 << 50] {
            for _ in 0..2_000 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                values.push((state % scale) as f64 / 1e9);
            }
            for k in 0..200u64 {
                values.push((k * 1_000 + 500) as f64 / 1e9);
            }
        }
        for x in values {
            let mut fast = String::new();
            write_micros(x, &mut fast);
            assert_eq!(fast, format!("{x:.6}"), "{x:e}");
        }
    }

    fn flows() -> Vec<Flow> {
        let mut a = Wire::new();
        a.handshake().c(P | A, 1, 1, 87).s(R, 1, 0, 0);
        let mut b = Wire::between("[2001:db8::1]:40000", "[2001:db8::2]:443");
        b.handshake()
            .c(F | A, 1, 1, 0)
            .s(F | A, 1, 2, 0)
            .c(A, 2, 2, 0);
        vec![classify(&a.one()), classify(&b.one())]
    }

    #[test]
    fn csv_has_header_and_quotes_evidence() {
        let mut w = FlowWriter::new(Vec::new(), FlowFormat::Csv).expect("writer");
        for f in flows() {
            w.write(&f).expect("row");
        }
        let out = String::from_utf8(w.finish().expect("finish")).expect("utf8");
        let mut r = csv::Reader::from_reader(out.as_bytes());
        let header: Vec<String> = r
            .headers()
            .expect("header")
            .iter()
            .map(String::from)
            .collect();
        assert_eq!(header, CSV_FIELDS);
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.expect("record")).collect();
        assert_eq!(rows.len(), 2);
        let col = |name: &str| CSV_FIELDS.iter().position(|f| *f == name).expect("column");
        assert_eq!(&rows[0][col("outcome")], "post-handshake-rst");
        assert_eq!(&rows[0][col("frames")], "1-5");
        assert_eq!(&rows[0][col("tcp_stream")], "0");
        // Python hashlib over the spec's byte layout gives this ID.
        assert_eq!(
            &rows[0][col("community_id")],
            "1:3k1SoWXs/FltHw2aBCgUTgbDQF4="
        );
        assert_eq!(&rows[0][col("rst_by")], "server");
        assert_eq!(&rows[0][col("first_time")], "2023-11-14 22:13:20.000100");
        assert_eq!(&rows[0][col("first_ts")], "1700000000.000100");
        assert_eq!(&rows[0][col("duration")], "0.000400");
        assert_eq!(&rows[1][col("client")], "2001:db8::1");
        assert_eq!(&rows[1][col("outcome")], "clean");
        assert_eq!(&rows[1][col("rst_by")], "", "no RST: reset facts empty");
        assert_eq!(&rows[1][col("rst_count")], "0", "no RST: a count of 0");
        assert_eq!(&rows[1][col("rst_time")], "", "no RST: its time is empty");
        assert_eq!(
            &rows[1][col("rst_ts")],
            "",
            "no RST: its epoch time is empty"
        );
        // The evidence sentence contains commas and survives quoting.
        assert!(rows[0][col("evidence")].contains("RST instead of ACK"));
    }

    #[test]
    fn a_held_csv_row_is_written_as_the_row_itself() {
        let fl = flows();
        let mut direct = FlowWriter::new(Vec::new(), FlowFormat::Csv).expect("writer");
        let mut held = FlowWriter::new(Vec::new(), FlowFormat::Csv).expect("writer");
        let rows: Vec<HeldRow> = fl.iter().map(|f| held.held(f).expect("held")).collect();
        for (f, row) in fl.iter().zip(&rows) {
            direct.write(f).expect("write");
            held.write_held(row).expect("write held");
        }
        let (direct, held) = (direct.finish().expect("csv"), held.finish().expect("csv"));
        assert_eq!(
            String::from_utf8_lossy(&held),
            String::from_utf8_lossy(&direct)
        );
        assert_eq!(direct.iter().filter(|&&b| b == b'\n').count(), fl.len() + 1);
    }

    #[test]
    fn filters() {
        let fl = flows();
        let all = FlowFilter::default();
        assert!(fl.iter().all(|f| all.matches(f)));
        let by_server = FlowFilter::new(Some("10.0.0.2:80"), None, &[]).expect("filter");
        assert_eq!(fl.iter().filter(|f| by_server.matches(f)).count(), 1);
        let v6 = FlowFilter::new(Some("[2001:db8::2]"), None, &[]).expect("filter");
        assert_eq!(fl.iter().filter(|f| v6.matches(f)).count(), 1);
        let port = FlowFilter::new(None, Some(40000), &[]).expect("filter");
        assert_eq!(fl.iter().filter(|f| port.matches(f)).count(), 2);
        let out = FlowFilter::new(None, None, &["clean,refused".to_string()]).expect("filter");
        assert_eq!(fl.iter().filter(|f| out.matches(f)).count(), 1);
        assert!(FlowFilter::new(None, None, &["nope".to_string()]).is_err());
        assert!(FlowFilter::new(Some("host:80"), None, &[]).is_err());
        let conn = FlowFilter::default()
            .with_conns(&["[2001:db8::1]:40000".to_string()])
            .expect("filter");
        assert_eq!(fl.iter().filter(|f| conn.matches(f)).count(), 1);
        assert!(FlowFilter::default()
            .with_conns(&["x".to_string()])
            .is_err());
    }

    #[test]
    fn json_and_ndjson() {
        let mut w = FlowWriter::new(Vec::new(), FlowFormat::Json).expect("writer");
        for f in flows() {
            w.write(&f).expect("row");
        }
        let out = w.finish().expect("finish");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid json");
        assert_eq!(v.as_array().map(|a| a.len()), Some(2));
        assert_eq!(v[1]["rst_by"], serde_json::Value::Null);

        let empty = FlowWriter::new(Vec::new(), FlowFormat::Json)
            .expect("writer")
            .finish()
            .expect("finish");
        let v: serde_json::Value = serde_json::from_slice(&empty).expect("valid json");
        assert_eq!(v.as_array().map(|a| a.len()), Some(0));

        let mut w = FlowWriter::new(Vec::new(), FlowFormat::Ndjson).expect("writer");
        for f in flows() {
            w.write(&f).expect("row");
        }
        let out = String::from_utf8(w.finish().expect("finish")).expect("utf8");
        assert_eq!(out.lines().count(), 2);
        for l in out.lines() {
            let _: serde_json::Value = serde_json::from_str(l).expect("line is json");
        }
    }
}
