//! `rstscope flows`: one row per connection, streamed as CSV, a JSON array
//! or NDJSON to any writer. Rows are written as they come, never collected.

use std::io::{self, Write};

use crate::diagnose::{Flow, FIELDS};
use crate::track::Connection;

use super::sink::{Next, Sink};

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
    Csv(Box<csv::Writer<W>>),
    Json { out: W, rows: u64 },
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
                let mut w = csv::WriterBuilder::new()
                    .quote_style(csv::QuoteStyle::Necessary)
                    .from_writer(out);
                w.write_record(FIELDS).map_err(csv_err)?;
                Encoder::Csv(Box::new(w))
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

    pub fn write(&mut self, flow: &Flow) -> io::Result<()> {
        match &mut self.sink {
            Encoder::Csv(w) => w.write_record(flow.csv_record()).map_err(csv_err),
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
            Encoder::Csv(w) => w.flush(),
            Encoder::Json { out, .. } => out.flush(),
            Encoder::Ndjson(out) => out.flush(),
            Encoder::Zeek(z) => z.flush(),
        }
    }

    /// Closes the output and gives the writer back.
    pub fn finish(self) -> io::Result<W> {
        match self.sink {
            Encoder::Csv(w) => (*w)
                .into_inner()
                .map_err(|e| io::Error::new(e.error().kind(), e.to_string())),
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
        assert_eq!(header, FIELDS);
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.expect("record")).collect();
        assert_eq!(rows.len(), 2);
        let col = |name: &str| FIELDS.iter().position(|f| *f == name).expect("column");
        assert_eq!(&rows[0][col("outcome")], "post-handshake-rst");
        assert_eq!(&rows[0][col("frames")], "1-5");
        assert_eq!(&rows[0][col("tcp_stream")], "0");
        // Python hashlib over the spec's byte layout gives this ID.
        assert_eq!(
            &rows[0][col("community_id")],
            "1:3k1SoWXs/FltHw2aBCgUTgbDQF4="
        );
        assert_eq!(&rows[0][col("rst_by")], "server");
        assert_eq!(&rows[0][col("first_time")], "2023-11-14T22:13:20.000100Z");
        assert_eq!(&rows[0][col("duration")], "0.000400");
        assert_eq!(&rows[1][col("client")], "2001:db8::1");
        assert_eq!(&rows[1][col("outcome")], "clean");
        assert_eq!(&rows[1][col("rst_by")], "", "no RST: reset facts empty");
        assert_eq!(&rows[1][col("rst_count")], "", "no RST: reset facts empty");
        // The evidence sentence contains commas and survives quoting.
        assert!(rows[0][col("evidence")].contains("RST instead of ACK"));
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
