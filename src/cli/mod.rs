//! The command line: argument definitions and the dispatch from a command to
//! the library. Everything that does work lives in the pipeline modules.

use std::cell::Cell;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod each;

use crate::capture::CaptureError;
use crate::diagnose::Flow;
use crate::output::check::{Check, Expectation, MatchMode};
use crate::output::file::Output;
use crate::output::flows::{FlowFilter, FlowFormat, FlowWriter, Reorder};
use crate::output::progress::Progress;
use crate::output::report::{self, ConnectionReport, ReportLimits};
use crate::output::sink::{Next, Sink};
use crate::output::timeline;
use crate::pipeline;
use crate::pipeline::interrupt;
use crate::track::{Connection, TrackerConfig};
use crate::wire::{Health, Timestamp};

#[derive(Debug, Parser)]
#[command(
    name = "rstscope",
    version = env!("RSTSCOPE_LONG_VERSION"),
    about = "Explain every TCP \"connection reset by peer\" in a pcap/pcapng capture",
    long_about = "Reads tcpdump/Wireshark captures (pcap, pcapng, or - for standard input), \
rebuilds every TCP connection and explains how each one ended: who sent the RST, when, \
in reply to what, and what that usually means on the server.",
    after_help = "Examples:\n  rstscope incident.pcap\n  rstscope flows --format csv -o flows.csv incident.pcap\n  tcpdump -i any -w - port 2133 | rstscope report -",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// `rstscope CAPTURE...` with no command is `rstscope report CAPTURE...`.
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Post-mortem report for a person (text; --format json for tools)
    #[command(
        after_help = "Examples:\n  rstscope report --findings 20 --timelines 5 incident.pcap\n  rstscope report --format html -o incident.html incident.pcap"
    )]
    Report(ReportArgs),
    /// One row per connection, every field of the spec (CSV by default)
    #[command(after_help = "Example:\n  rstscope flows --format csv -o flows.csv incident.pcap")]
    Flows(FlowsArgs),
    /// Annotated per-connection timelines in tcpdump's notation
    #[command(
        after_help = "Example:\n  rstscope timeline --outcome post-handshake-rst --limit 5 incident.pcap"
    )]
    Timeline(TimelineArgs),
    /// CI gate: compare outcomes with an expectation file, or fail on outcomes
    #[command(
        after_help = "Example:\n  rstscope check --expect fixtures/incident.expect.json fixtures/incident.pcap"
    )]
    Check(CheckArgs),
    /// Shell completions on standard output (bash, zsh, fish, elvish, powershell)
    #[command(
        after_help = "Example:\n  rstscope completions bash > ~/.local/share/bash-completion/completions/rstscope"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff) on standard output
    #[command(after_help = "Example:\n  rstscope man > rstscope.1 && man ./rstscope.1")]
    Man,
}

/// Inputs and filters every command takes.
#[derive(Debug, Args, Clone, Default)]
pub struct Common {
    /// Capture files (pcap or pcapng), read in order as one capture; `-` is standard input
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<String>,

    /// Only connections whose server is ADDR or ADDR:PORT
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub server: Option<String>,

    /// Only connections with PORT on either side
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,

    /// Only connections with these outcomes (comma-separated)
    #[arg(long, value_name = "OUTCOME[,OUTCOME]", value_delimiter = ',')]
    pub outcome: Vec<String>,

    /// No progress bar and no warnings on standard error
    #[arg(long, short)]
    pub quiet: bool,

    /// The captures are independent (one per host), not one rotated capture:
    /// each is analysed on its own, in parallel; rows carry `capture`
    #[arg(long)]
    pub each: bool,

    /// Most connections tracked at once; beyond it the longest-idle ones are
    /// finished early and counted in the capture block (bounds memory on SYN floods)
    #[arg(
        long,
        value_name = "N",
        default_value_t = crate::track::DEFAULT_MAX_OPEN,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub max_connections: usize,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum ReportFormat {
    #[default]
    Text,
    Json,
    /// One self-contained page (charts, ladder diagrams, a sortable table)
    /// drawn from the JSON report
    Html,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum TimelineFormat {
    #[default]
    Text,
    /// An array: every field of each connection plus its timeline as lines
    Json,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ReportArgs {
    #[command(flatten)]
    pub common: Common,

    /// Output format
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Example timelines printed in full, in the order of the findings
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub timelines: usize,

    /// Findings shown in the text report (JSON lists them all)
    #[arg(long, value_name = "N", default_value_t = crate::output::finished::FINDINGS_SHOWN)]
    pub findings: usize,

    /// Write to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct FlowsArgs {
    #[command(flatten)]
    pub common: Common,

    /// Output format. CSV: times UTC as `YYYY-MM-DD HH:MM:SS.ffffff` (read as
    /// dates by spreadsheets) plus first_ts/rst_ts epoch seconds; CSV and JSON
    /// rows in first_time order, NDJSON as connections finish
    #[arg(long, value_enum, default_value_t = FlowFormat::Csv)]
    pub format: FlowFormat,

    /// Write to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<String>,

    /// Split connections into records where Zeek does, for a line-by-line
    /// comparison with Zeek's conn.log: a new record at a SYN after either
    /// side's FIN or RST (whatever its ISN), 5 s after an unanswered SYN,
    /// 5 s after a connection closed or was reset, and after 300 s without
    /// a packet. Every format; the outcome columns then describe each record
    #[arg(long)]
    pub zeek_split: bool,
}

#[derive(Debug, Args, Clone)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub common: Common,

    /// Only the connection with this client (or server) endpoint, ADDR:PORT
    #[arg(long, value_name = "ADDR:PORT")]
    pub conn: Vec<String>,

    /// At most N connections
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Output format
    #[arg(long, value_enum, default_value_t = TimelineFormat::Text)]
    pub format: TimelineFormat,

    /// Write to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: Common,

    /// Expectation file (JSON) the capture must match
    #[arg(long, value_name = "FILE.json")]
    pub expect: Option<String>,

    /// Fail when any connection has one of these outcomes
    #[arg(long, value_name = "OUTCOME[,OUTCOME]", value_delimiter = ',')]
    pub fail_on: Vec<String>,

    /// Write the expectation file from the capture instead of checking
    #[arg(long, requires = "expect")]
    pub bless: bool,

    /// How strictly to match (and what --bless writes): exact = counts and the
    /// listed connections; counts = outcome counts only; server = counts per
    /// server, no client ports (a new recording of the same scenario passes)
    #[arg(long = "match", value_enum, default_value_t = MatchMode::Exact)]
    pub match_mode: MatchMode,

    /// Accept a capture cut off mid-record or without any TCP (fails otherwise)
    #[arg(long)]
    pub allow_partial: bool,

    /// Verdict format: text, json, or junit (JUnit XML for CI test reports)
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,

    /// Write the verdict to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    #[default]
    Text,
    Json,
    Junit,
}

/// Runs the command line and returns the process exit status: 0 analysed,
/// 1 a check failed, 2 usage or unreadable capture.
pub fn run() -> ExitCode {
    suggest_mistyped_command();
    let cli = Cli::parse();
    if let Err(e) = interrupt::install() {
        eprintln!("rstscope: warning: cannot handle SIGINT/SIGTERM: {e}");
    }
    let result = match &cli.command {
        Some(Command::Report(args)) => report_command(args),
        None => report_command(&cli.report),
        Some(Command::Flows(args)) => flows_command(args),
        Some(Command::Timeline(args)) => timeline_command(args),
        Some(Command::Check(args)) => check_command(args),
        Some(Command::Completions { shell }) => completions_command(*shell),
        Some(Command::Man) => man_command(),
    };
    match result {
        Ok(code) => match interrupt::received() {
            Some(sig) => {
                eprintln!(
                    "rstscope: interrupted by {}: the output covers what was read before it",
                    interrupt::name(sig)
                );
                ExitCode::from(interrupt::exit_status(sig))
            }
            None => code,
        },
        Err(Failure::Capture(e)) => {
            eprintln!("rstscope: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Usage(msg)) | Err(Failure::File(msg)) => {
            eprintln!("rstscope: {msg}");
            ExitCode::from(2)
        }
        // A reader that went away (`rstscope flows ... | head`) is not a failure.
        Err(Failure::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failure::Io(e)) => {
            eprintln!("rstscope: cannot write output: {e}");
            ExitCode::from(2)
        }
    }
}

/// Why a command did not finish.
#[derive(Debug)]
pub enum Failure {
    Capture(CaptureError),
    Usage(String),
    Io(io::Error),
    /// An I/O error on a named file (`-o`, an expectation file): the message
    /// names the path.
    File(String),
}

impl From<CaptureError> for Failure {
    fn from(e: CaptureError) -> Self {
        Failure::Capture(e)
    }
}

impl From<each::EachError> for Failure {
    fn from(e: each::EachError) -> Self {
        match e {
            each::EachError::Capture(e) => Failure::Capture(e),
            each::EachError::Io(e) => Failure::Io(e),
        }
    }
}

/// The tracker settings the shared options ask for.
fn tracker_config(common: &Common) -> TrackerConfig {
    TrackerConfig {
        max_open: common.max_connections,
        ..TrackerConfig::default()
    }
}

fn each_job<'a>(common: &'a Common, filter: &'a FlowFilter) -> each::Job<'a> {
    each::Job {
        captures: &common.captures,
        config: tracker_config(common),
        filter,
        quiet: common.quiet,
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

/// Runs the pipeline over the captures, handing each connection that passes
/// the shared filters to `on_connection`. Returns the capture health and
/// how many connections there were and passed the filters.
fn analyse(
    common: &Common,
    filter: &FlowFilter,
    sink: &mut dyn Sink,
) -> Result<(Health, Matched), Failure> {
    analyse_watermarked(
        common,
        tracker_config(common),
        filter,
        &Cell::new(None),
        sink,
    )
}

/// A closure as a [`Sink`].
struct FnSink<F>(F);

impl<F: FnMut(&Connection, &Flow) -> io::Result<Next>> Sink for FnSink<F> {
    fn connection(&mut self, conn: &Connection, flow: &Flow) -> io::Result<Next> {
        (self.0)(conn, flow)
    }
}

/// Connections finished, and those of them the filters let through.
#[derive(Clone, Copy, Debug, Default)]
struct Matched {
    connections: u64,
    matched: u64,
}

/// As [`analyse`], keeping `watermark` at the tracker's (see
/// [`pipeline::analyse_watermarked`]).
fn analyse_watermarked(
    common: &Common,
    config: TrackerConfig,
    filter: &FlowFilter,
    watermark: &Cell<Option<Timestamp>>,
    sink: &mut dyn Sink,
) -> Result<(Health, Matched), Failure> {
    let mut health = Health::default();
    let mut counted = Matched::default();
    let progress = Progress::for_terminal(common.quiet, pipeline::total_bytes(&common.captures));
    // The first write error (a closed pipe, a full disk) is kept and
    // returned once reading stops.
    let mut write_error: Option<io::Error> = None;
    let first_segment = Cell::new(None);
    let read = pipeline::analyse_watermarked(
        &common.captures,
        &mut health,
        config,
        progress,
        watermark,
        &first_segment,
        &mut |conn, flow| {
            if let Some(t) = first_segment.take() {
                sink.capture_start(t);
            }
            counted.connections += 1;
            if !filter.matches(flow) {
                return Next::Continue;
            }
            counted.matched += 1;
            match sink.connection(conn, flow) {
                Ok(next) => next,
                Err(e) => {
                    write_error = Some(e);
                    Next::Stop
                }
            }
        },
    );
    if let Some(e) = write_error {
        return Err(Failure::Io(e));
    }
    read?;
    warn_cut_off(&health, common.quiet);
    Ok((health, counted))
}

/// Filters that let nothing through leave an empty output: say so on
/// standard error, where it is seen even when the output goes to a file.
fn warn_matched_none(common: &Common, conns: &[String], counted: Matched) {
    if common.quiet || counted.matched > 0 {
        return;
    }
    if let Some(given) = filters_given(common, conns) {
        eprintln!(
            "rstscope: warning: {given} matched none of the {}",
            report::plural(counted.connections, "connection")
        );
    }
}

/// The filters given, as typed (`--server 10.0.0.1:80 --outcome refused`),
/// or None when there are none.
fn filters_given(common: &Common, conns: &[String]) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(s) = &common.server {
        parts.push(format!("--server {s}"));
    }
    if let Some(p) = common.port {
        parts.push(format!("--port {p}"));
    }
    if !common.outcome.is_empty() {
        parts.push(format!("--outcome {}", common.outcome.join(",")));
    }
    for c in conns {
        parts.push(format!("--conn {c}"));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn filter_of(common: &Common) -> Result<FlowFilter, Failure> {
    FlowFilter::new(common.server.as_deref(), common.port, &common.outcome).map_err(Failure::Usage)
}

fn report_command(args: &ReportArgs) -> Result<ExitCode, Failure> {
    let filter = filter_of(&args.common)?;
    if args.common.each {
        let mut out = create_output(args.output.as_deref())?;
        let given = filters_given(&args.common, &[]);
        let json = match args.format {
            ReportFormat::Text => false,
            ReportFormat::Json => true,
            ReportFormat::Html => {
                return Err(Failure::Usage(
                    "report --each --format html: not supported; use text or json".into(),
                ))
            }
        };
        each::report(
            &each_job(&args.common, &filter),
            ReportLimits {
                findings: args.findings,
                timelines: args.timelines,
                ..ReportLimits::default()
            },
            json,
            given.as_deref(),
            &mut out,
        )?;
        commit(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut connections = ConnectionReport::with_limits(ReportLimits {
        findings: args.findings,
        timelines: args.timelines,
        ..ReportLimits::default()
    });
    let (health, counted) = analyse(&args.common, &filter, &mut connections)?;
    let finished = connections.finish();
    let filtered = filters_given(&args.common, &[]).map(|given| report::FilterSummary {
        given,
        matched: counted.matched,
        connections: counted.connections,
    });
    let mut out = create_output(args.output.as_deref())?;
    match args.format {
        ReportFormat::Text => {
            report::write_capture_summary(&mut out, &health)?;
            if let Some(f) = &filtered {
                report::write_filter_summary(&mut out, f)?;
            }
            finished.write(&mut out)?;
        }
        ReportFormat::Json => {
            report::write_json_filtered(&mut out, &health, &finished, filtered.as_ref())?
        }
        ReportFormat::Html => report::write_html(&mut out, &health, &finished, filtered.as_ref())?,
    }
    commit(out)?;
    Ok(ExitCode::SUCCESS)
}

fn flows_command(args: &FlowsArgs) -> Result<ExitCode, Failure> {
    let filter = filter_of(&args.common)?;
    let format = args.format;
    if args.common.each {
        if format == FlowFormat::Zeek {
            return Err(Failure::Usage(
                "flows --each --format zeek: a conn.log has no capture column; use csv, json or ndjson".into(),
            ));
        }
        let mut out = create_output(args.output.as_deref())?;
        let mut job = each_job(&args.common, &filter);
        job.config.zeek_split = args.zeek_split;
        job.config = job.config.without_timelines();
        each::flows(&job, format, &mut out)?;
        commit(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut writer = FlowWriter::new(create_output(args.output.as_deref())?, format)?;
    // CSV and JSON rows in time order; NDJSON as each connection finishes,
    // for consumers that follow a live stream.
    let mut order = (format != FlowFormat::Ndjson).then(Reorder::default);
    let watermark = Cell::new(Some(Timestamp(i64::MIN)));
    let mut sink = FnSink(|_conn: &Connection, flow: &Flow| {
        let Some(order) = order.as_mut() else {
            writer.write(flow)?;
            if args.output.is_none() {
                writer.flush()?;
            }
            return Ok(Next::Continue);
        };
        order.push(flow, writer.held(flow)?)?;
        while let Some(row) = order.pop_ready(watermark.get())? {
            writer.write_held(&row)?;
        }
        Ok(Next::Continue)
    });
    let config = TrackerConfig {
        zeek_split: args.zeek_split,
        ..tracker_config(&args.common)
    }
    .without_timelines();
    let analysed = analyse_watermarked(&args.common, config, &filter, &watermark, &mut sink);
    // Rows of the connections read before a bad record go out too, in
    // order, before the error.
    if let Some(order) = order.as_mut() {
        while let Some(row) = order.pop_any()? {
            writer.write_held(&row)?;
        }
    }
    let (_, counted) = analysed?;
    if let Some(order) = order.as_mut() {
        if order.released_early > 0 && !args.common.quiet {
            eprintln!(
                "rstscope: warning: {} rows were written before older connections still open (more than {} rows waited); those are not in first_time order",
                order.released_early,
                crate::output::flows::REORDER_LIMIT
            );
        }
    }
    commit(writer.finish()?)?;
    warn_matched_none(&args.common, &[], counted);
    Ok(ExitCode::SUCCESS)
}

fn timeline_command(args: &TimelineArgs) -> Result<ExitCode, Failure> {
    not_each(&args.common, "timeline")?;
    let filter = filter_of(&args.common)?
        .with_conns(&args.conn)
        .map_err(Failure::Usage)?;
    let mut out = create_output(args.output.as_deref())?;
    let mut shown = 0usize;
    let json = args.format == TimelineFormat::Json;
    if json {
        out.write_all(b"[")?;
    }
    let limit = args.limit;
    let mut sink = FnSink(|conn: &Connection, flow: &Flow| {
        if limit.is_some_and(|l| shown >= l) {
            return Ok(Next::Stop);
        }
        shown += 1;
        if json {
            // The row in the spec's field order, then its timeline.
            let row = serde_json::to_string(flow).map_err(io::Error::other)?;
            let lines: Vec<String> = timeline::render(conn, &flow.marks, "")
                .lines()
                .map(str::to_string)
                .collect();
            let lines = serde_json::to_string(&lines).map_err(io::Error::other)?;
            out.write_all(if shown == 1 { b"\n" } else { b",\n" })?;
            let open = row.strip_suffix('}').unwrap_or(&row);
            write!(out, "{open},\"timeline\":{lines}}}")?;
        } else {
            let rst = match (flow.rst_by, flow.rst_time) {
                (Some(by), Some(t)) => format!(", reset by {} at {}", by.name(), t.rfc3339()),
                _ => format!(", started {}", flow.first_time.rfc3339()),
            };
            writeln!(
                out,
                "{} -> {}  {}{rst}",
                flow.client_endpoint(),
                flow.server_endpoint(),
                flow.outcome
            )?;
            writeln!(out, "  {}", flow.evidence)?;
            writeln!(out, "  {}", timeline::keys_line(flow))?;
            out.write_all(timeline::render(conn, &flow.marks, "  ").as_bytes())?;
            writeln!(out)?;
        }
        // At the limit the read stops: nothing more would be shown.
        Ok(if limit.is_some_and(|l| shown >= l) {
            Next::Stop
        } else {
            Next::Continue
        })
    });
    let (_, counted) = analyse(&args.common, &filter, &mut sink)?;
    if json {
        out.write_all(b"\n]\n")?;
    }
    commit(out)?;
    warn_matched_none(&args.common, &args.conn, counted);
    Ok(ExitCode::SUCCESS)
}

/// `--each` is for the fleet views (`report`, `flows`); a timeline or a
/// gate is asked of one capture at a time.
fn not_each(common: &Common, command: &str) -> Result<(), Failure> {
    if common.each {
        return Err(Failure::Usage(format!(
            "{command} --each: not supported; run {command} on each capture, or use report/flows --each"
        )));
    }
    Ok(())
}

fn check_command(args: &CheckArgs) -> Result<ExitCode, Failure> {
    not_each(&args.common, "check")?;
    if args.expect.is_none() && args.fail_on.is_empty() {
        return Err(Failure::Usage(
            "check needs --expect FILE.json and/or --fail-on OUTCOME[,OUTCOME]".into(),
        ));
    }
    let filter = filter_of(&args.common)?;
    let fail_on = FlowFilter::new(None, None, &args.fail_on)
        .map_err(|e| Failure::Usage(e.replace("--outcome", "--fail-on")))?
        .outcomes;
    let expect = match (&args.expect, args.bless) {
        (Some(path), false) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::Usage(format!("{path}: cannot read: {e}")))?;
            Some(Expectation::parse(&text).map_err(|e| Failure::Usage(format!("{path}: {e}")))?)
        }
        _ => None,
    };
    let captures: Vec<String> = args
        .common
        .captures
        .iter()
        .map(|c| crate::capture::display_name(c))
        .collect();
    let mut check = Check::new(expect, fail_on, args.bless).named(
        args.match_mode,
        &captures.join(" "),
        args.expect.as_deref(),
    );
    let (health, _) = analyse(&args.common, &filter, &mut check)?;
    check.capture_health(&health, args.allow_partial);
    if args.bless {
        let path = args.expect.as_deref().unwrap_or_default();
        let mut out = create_output(Some(path))?;
        serde_json::to_writer_pretty(&mut out, &check.blessed()).map_err(io::Error::other)?;
        writeln!(out)?;
        commit(out)?;
        if !args.common.quiet {
            eprintln!("rstscope: wrote {path}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = create_output(args.output.as_deref())?;
    let verdict = check.verdict();
    match args.format {
        CheckFormat::Text => verdict.write_text(&mut out)?,
        CheckFormat::Json => verdict.write_json(&mut out)?,
        CheckFormat::Junit => verdict.write_junit(&mut out)?,
    }
    commit(out)?;
    let passed = verdict.passed;
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A cut-off file is not an error, but the user must hear of it even when
/// the report goes to a file.
fn warn_cut_off(health: &Health, quiet: bool) {
    if quiet {
        return;
    }
    for f in &health.files {
        if let Some(at) = f.cut_off_at {
            eprintln!(
                "rstscope: warning: {}: file ends mid-record at byte {at}; analysed the {} complete packets before it",
                f.file, f.packets
            );
        }
    }
}

/// Opens where results go; an unfinished `-o` file is removed even when a
/// second Ctrl-C ends the process.
fn create_output(path: Option<&str>) -> Result<Output, Failure> {
    let out = Output::create(path)
        .map_err(|e| Failure::File(format!("{}: cannot create: {e}", path.unwrap_or("-"))))?;
    if let Some(temp) = out.temp_path() {
        interrupt::remove_on_abort(temp);
    }
    Ok(out)
}

/// Moves a finished output into place; from then on there is nothing to
/// remove on abort. Standard output's errors stay plain I/O errors, so a
/// closed pipe is still recognised as one.
fn commit(out: Output) -> Result<(), Failure> {
    let dest = out.dest_path().map(|p| p.display().to_string());
    let done = out.commit();
    interrupt::forget_output();
    match (done, dest) {
        (Ok(()), _) => Ok(()),
        (Err(e), Some(dest)) => Err(Failure::File(format!("{dest}: cannot write: {e}"))),
        (Err(e), None) => Err(Failure::Io(e)),
    }
}

/// `rstscope CAPTURE` means `rstscope report CAPTURE`, so a mistyped command
/// (`rstscope reprot f.pcap`) would be taken for a capture path. When the
/// first argument is neither an existing path nor `-` nor an option, clap
/// parses the arguments as commands alone, and its "a similar command
/// exists" error is shown if it has one.
fn suggest_mistyped_command() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let Some(first) = args.get(1).and_then(|a| a.to_str()) else {
        return;
    };
    if first == "-" || first.starts_with('-') || std::path::Path::new(first).exists() {
        return;
    }
    let full = <Cli as clap::CommandFactory>::command();
    let commands_only = clap::Command::new("rstscope")
        .subcommands(full.get_subcommands().cloned())
        .subcommand_required(true);
    if let Err(e) = commands_only.try_get_matches_from(&args) {
        let suggestion = e.get(clap::error::ContextKind::SuggestedSubcommand);
        if e.kind() == clap::error::ErrorKind::InvalidSubcommand && suggestion.is_some() {
            e.exit();
        }
    }
}

fn completions_command(shell: clap_complete::Shell) -> Result<ExitCode, Failure> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut out = io::stdout().lock();
    clap_complete::generate(shell, &mut cmd, "rstscope", &mut out);
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn man_command() -> Result<ExitCode, Failure> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let mut out = io::stdout().lock();
    clap_mangen::Man::new(cmd).render(&mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
