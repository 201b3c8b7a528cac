//! Running the built binary on a capture written to a temporary file, and
//! reading its JSON back field by field (`serde_json::Value`, not a closed
//! struct: fields are being added to the rows and the capture block).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_rstscope");

/// A capture in the temporary directory, removed when dropped.
pub struct TempCapture {
    pub path: PathBuf,
}

impl TempCapture {
    pub fn new(name: &str, bytes: &[u8]) -> TempCapture {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "rstscope-{name}-{}-{}.pcap",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, bytes).expect("write the capture");
        TempCapture { path }
    }

    pub fn arg(&self) -> &str {
        self.path.to_str().expect("utf-8 temp path")
    }
}

impl Drop for TempCapture {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

pub fn rstscope(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run rstscope")
}

/// Runs and insists on exit status 0; returns standard output.
pub fn run_ok(args: &[&str]) -> Vec<u8> {
    let out = rstscope(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "rstscope {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `flows --format json [extra] FILE`: the rows.
pub fn flows(file: &TempCapture, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["flows", "--format", "json"];
    args.extend_from_slice(extra);
    args.push(file.arg());
    let v: Value = serde_json::from_slice(&run_ok(&args)).expect("flows: a JSON array");
    v.as_array().expect("flows: a JSON array").clone()
}

/// `report --format json [extra] FILE`: the whole document.
pub fn report_json(file: &TempCapture, extra: &[&str]) -> Value {
    let mut args = vec!["report", "--format", "json"];
    args.extend_from_slice(extra);
    args.push(file.arg());
    serde_json::from_slice(&run_ok(&args)).expect("report: JSON")
}

/// The `capture` block of `report --format json`.
pub fn capture_block(file: &TempCapture, extra: &[&str]) -> Value {
    report_json(file, extra)["capture"].clone()
}

/// Standard output of `COMMAND FILE` as text.
pub fn text(command: &str, file: &TempCapture) -> String {
    String::from_utf8_lossy(&run_ok(&[command, file.arg()])).into_owned()
}

/// A field that must be present (null or not).
pub fn field<'a>(row: &'a Value, key: &str) -> &'a Value {
    row.get(key)
        .unwrap_or_else(|| panic!("no field `{key}` in {row}"))
}

pub fn str_field<'a>(row: &'a Value, key: &str) -> &'a str {
    field(row, key)
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {row}"))
}

pub fn u64_field(row: &Value, key: &str) -> u64 {
    field(row, key)
        .as_u64()
        .unwrap_or_else(|| panic!("`{key}` is not a count in {row}"))
}

pub fn bool_field(row: &Value, key: &str) -> bool {
    field(row, key)
        .as_bool()
        .unwrap_or_else(|| panic!("`{key}` is not a boolean in {row}"))
}

/// A number of seconds that is either unknown (null) or not negative.
pub fn seconds_or_null(row: &Value, key: &str) -> Option<f64> {
    let v = field(row, key);
    if v.is_null() {
        return None;
    }
    let x = v
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number in {row}"));
    assert!(x >= 0.0, "`{key}` is negative ({x}) in {row}");
    Some(x)
}

/// Rows of one client port, in `first_time` order.
pub fn rows_of_port(rows: &[Value], port: u64) -> Vec<Value> {
    let mut v: Vec<Value> = rows
        .iter()
        .filter(|r| r["client_port"] == port)
        .cloned()
        .collect();
    v.sort_by(|a, b| str_field(a, "first_time").cmp(str_field(b, "first_time")));
    v
}

const TIME: &str = "/usr/bin/time";

fn need_time() {
    assert!(
        Path::new(TIME).exists(),
        "{TIME} (GNU time) is needed to measure the child's peak RSS and CPU time; install it (apt-get install time)"
    );
}

/// Runs `sh -c SCRIPT` where `$TIME` is GNU time writing `FORMAT` to a
/// file; returns that file's last line.
pub fn timed(script: &str, format: &str) -> String {
    need_time();
    let out_file = std::env::temp_dir().join(format!(
        "rstscope-time-{}-{:?}.txt",
        std::process::id(),
        std::thread::current().id()
    ));
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env(
            "TIME_CMD",
            format!("{TIME} -f {format} -o {}", out_file.display()),
        )
        .env("BIN", BIN)
        .status()
        .expect("run sh");
    assert!(status.success(), "sh -c {script:?}: {status}");
    let text = std::fs::read_to_string(&out_file).expect("time's output");
    let _ = std::fs::remove_file(&out_file);
    text.lines().last().unwrap_or("").trim().to_string()
}

/// Peak RSS in KiB of `rstscope ARGS > /dev/null`.
pub fn peak_rss_kib(args: &[&str]) -> u64 {
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!("$TIME_CMD \"$BIN\" {} >/dev/null", quoted.join(" "));
    let m = timed(&script, "%M");
    m.parse()
        .unwrap_or_else(|_| panic!("time -f %M gave {m:?}"))
}

/// User + system CPU seconds of the `$TIME_CMD`-prefixed command in SCRIPT.
pub fn cpu_seconds(script: &str) -> f64 {
    let t = timed(script, "%U+%S");
    let (u, s) = t
        .split_once('+')
        .unwrap_or_else(|| panic!("time gave {t:?}"));
    u.parse::<f64>().unwrap() + s.parse::<f64>().unwrap()
}

/// Independent expectations of one test, all checked before it fails, so
/// that a failure lists every value that is wrong, not only the first.
#[derive(Default)]
pub struct Checks {
    failures: Vec<String>,
}

impl Checks {
    pub fn new() -> Checks {
        Checks::default()
    }

    /// `what` holds (true) or the failure says `msg`.
    pub fn that(&mut self, ok: bool, msg: impl FnOnce() -> String) -> bool {
        if !ok {
            self.failures.push(msg());
        }
        ok
    }

    /// `row[key] == expected`; a missing key is a failure too.
    pub fn field(&mut self, row: &Value, key: &str, expected: Value) -> bool {
        match row.get(key) {
            None => self.that(false, || format!("no field `{key}` (expected {expected})")),
            Some(v) => self.that(*v == expected, || {
                format!("`{key}` is {v}, expected {expected}")
            }),
        }
    }

    /// A field that must be present: `None` (and a failure) when missing.
    pub fn get<'a>(&mut self, row: &'a Value, key: &str) -> Option<&'a Value> {
        let v = row.get(key);
        self.that(v.is_some(), || format!("no field `{key}`"));
        v
    }

    /// Fails the test with every failure recorded; `context` (the row, the
    /// capture block) is printed after them.
    pub fn done(self, context: &str) {
        assert!(
            self.failures.is_empty(),
            "{} failed expectation(s):\n  - {}\n{context}",
            self.failures.len(),
            self.failures.join("\n  - ")
        );
    }
}
