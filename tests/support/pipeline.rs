//! The whole pipeline over a capture held in memory: bytes → capture
//! reader → decoder → connection tracker → classifier → flows (CSV, JSON,
//! NDJSON, kept in memory and read back: whatever the input, they must be
//! valid with one row per connection), the report (text and JSON) and the
//! timelines into `io::sink()`. Shared by `tests/robustness.rs` and the fuzz
//! target (`fuzz/fuzz_targets/pipeline.rs` includes this file by path), so
//! both run exactly the same code.
#![allow(dead_code)]

use std::io::{self, Write};

use rstscope::capture::CaptureError;
use rstscope::diagnose;
use rstscope::output::flows::{FlowFormat, FlowWriter};
use rstscope::output::report::{self, ConnectionReport};
use rstscope::output::timeline;
use rstscope::pipeline::SegmentReader;
use rstscope::track::{Connection, Tracker, TrackerConfig};
use rstscope::wire::Health;

/// What one run gave.
pub struct Run {
    pub result: Result<(), CaptureError>,
    pub health: Health,
    /// Connections the tracker handed over (all of them are classified and
    /// written).
    pub connections: u64,
}

/// Every output format at once. The flows are kept in memory and read back
/// at the end: whatever the input, they must be valid CSV, JSON and NDJSON
/// with one row per connection.
struct Outputs {
    csv: FlowWriter<Vec<u8>>,
    json: FlowWriter<Vec<u8>>,
    ndjson: FlowWriter<Vec<u8>>,
    report: ConnectionReport,
    connections: u64,
    /// Parse the flows back at the end (costly in a debug build).
    read_back: bool,
}

impl Outputs {
    fn new(read_back: bool) -> Outputs {
        Outputs {
            csv: FlowWriter::new(Vec::new(), FlowFormat::Csv).expect("csv header into memory"),
            json: FlowWriter::new(Vec::new(), FlowFormat::Json).expect("json into memory"),
            ndjson: FlowWriter::new(Vec::new(), FlowFormat::Ndjson).expect("ndjson into memory"),
            report: ConnectionReport::new(3),
            connections: 0,
            read_back,
        }
    }

    fn take(&mut self, conn: Connection) {
        let flow = diagnose::classify(&conn);
        self.csv.write(&flow).expect("csv row into a sink");
        self.json.write(&flow).expect("json row into a sink");
        self.ndjson.write(&flow).expect("ndjson row into a sink");
        let text = timeline::render(&conn, &flow.marks, "  ");
        io::sink().write_all(text.as_bytes()).expect("sink");
        self.report.add(&conn, &flow);
        self.connections += 1;
    }

    fn finish(self, health: &Health) -> u64 {
        let n = self.connections as usize;
        let csv = self.csv.finish().expect("csv finish");
        let json = self.json.finish().expect("json finish");
        let ndjson = self.ndjson.finish().expect("ndjson finish");
        if self.read_back {
            let mut rows = 0;
            for record in csv::Reader::from_reader(csv.as_slice()).records() {
                record.expect("flows CSV reads back");
                rows += 1;
            }
            assert_eq!(rows, n, "one CSV row per connection");
            let array: serde_json::Value =
                serde_json::from_slice(&json).expect("flows JSON reads back");
            assert_eq!(
                array.as_array().map(Vec::len),
                Some(n),
                "one JSON object per connection"
            );
            let mut lines = 0;
            for line in ndjson.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                serde_json::from_slice::<serde_json::Value>(line).expect("NDJSON line reads back");
                lines += 1;
            }
            assert_eq!(lines, n, "one NDJSON line per connection");
        }
        let mut out = io::sink();
        report::write_capture_summary(&mut out, health).expect("summary into a sink");
        let finished = self.report.finish();
        finished.write(&mut out).expect("report into a sink");
        report::write_json(&mut out, health, &finished).expect("report json into a sink");
        self.connections
    }
}

/// Runs the whole pipeline over `files` (each `(name, bytes)`), read in
/// order as one capture split by rotation, with the default tracker settings.
pub fn run_files(files: &[(&str, &[u8])]) -> Run {
    run_files_with(files, TrackerConfig::default())
}

pub fn run_files_with(files: &[(&str, &[u8])], config: TrackerConfig) -> Run {
    run_all(files, config, true)
}

/// One capture through the whole pipeline without reading the flows back:
/// for the tests that run it tens of thousands of times.
pub fn run_quick(name: &str, bytes: &[u8]) -> Run {
    run_all(&[(name, bytes)], TrackerConfig::default(), false)
}

fn run_all(files: &[(&str, &[u8])], config: TrackerConfig, read_back: bool) -> Run {
    let mut reader = SegmentReader::new();
    let mut tracker = Tracker::new(config);
    let mut outputs = Outputs::new(read_back);
    let mut result = Ok(());
    for (name, bytes) in files {
        let mut emit = |c: Connection| outputs.take(c);
        result = reader.read(name, *bytes, &mut |seg| tracker.push(seg, &mut emit));
        if result.is_err() {
            break;
        }
    }
    // Connections read before an unreadable file are still finished.
    tracker.finish(&mut |c| outputs.take(c));
    let health = reader.health;
    let connections = outputs.finish(&health);
    Run {
        result,
        health,
        connections,
    }
}

/// One capture through the whole pipeline.
pub fn run(name: &str, bytes: &[u8]) -> Run {
    run_files(&[(name, bytes)])
}
