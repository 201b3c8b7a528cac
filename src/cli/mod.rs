//! The command line: argument definitions and the dispatch from a command to
//! the library. Everything that does work lives in the pipeline modules.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::capture::CaptureError;
use crate::diagnose::Flow;
use crate::output::check::{Check, Expectation};
use crate::output::file::Output;
use crate::output::flows::{FlowFilter, FlowFormat, FlowWriter};
use crate::output::progress::Progress;
use crate::output::report::{self, ConnectionReport, ReportLimits};
use crate::output::sink::{Next, Sink};
use crate::output::timeline;
use crate::pipeline;
use crate::track::{Connection, TrackerConfig};
use crate::wire::Health;

#[derive(Debug, Parser)]
#[command(
    name = "rstscope",
    version,
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

    /// Output format
    #[arg(long, value_enum, default_value_t = FlowFormat::Csv)]
    pub format: FlowFormat,

    /// Write to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<String>,
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
}

/// Runs the command line and returns the process exit status: 0 analysed,
/// 1 a check failed, 2 usage or unreadable capture.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Report(args)) => report_command(args),
        None => report_command(&cli.report),
        Some(Command::Flows(args)) => flows_command(args),
        Some(Command::Timeline(args)) => timeline_command(args),
        Some(Command::Check(args)) => check_command(args),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Capture(e)) => {
            eprintln!("rstscope: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Usage(msg)) => {
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
}

impl From<CaptureError> for Failure {
    fn from(e: CaptureError) -> Self {
        Failure::Capture(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

/// Runs the pipeline over the captures, handing each connection that passes
/// the shared filters to `sink`. Returns the capture health. A sink that
/// stops, or fails to write, ends the read.
fn analyse(common: &Common, filter: &FlowFilter, sink: &mut dyn Sink) -> Result<Health, Failure> {
    let mut health = Health::default();
    let progress = Progress::for_terminal(common.quiet, pipeline::total_bytes(&common.captures));
    // The first write error (a closed pipe, a full disk) is kept and
    // returned once reading stops.
    let mut write_error: Option<io::Error> = None;
    let read = pipeline::analyse_with_progress(
        &common.captures,
        &mut health,
        TrackerConfig {
            max_open: common.max_connections,
            ..TrackerConfig::default()
        },
        progress,
        &mut |conn, flow| {
            if !filter.matches(flow) {
                return Next::Continue;
            }
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
    Ok(health)
}

/// The timeline command's output: each connection with its evidence and
/// annotated timeline, up to `--limit` (then the read stops).
struct TimelineSink<W: Write> {
    out: W,
    limit: Option<usize>,
    shown: usize,
}

impl<W: Write> Sink for TimelineSink<W> {
    fn connection(&mut self, conn: &Connection, flow: &Flow) -> io::Result<Next> {
        if self.limit.is_some_and(|l| self.shown >= l) {
            return Ok(Next::Stop);
        }
        self.shown += 1;
        let out = &mut self.out;
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
        Ok(if self.limit.is_some_and(|l| self.shown >= l) {
            Next::Stop
        } else {
            Next::Continue
        })
    }
}

fn filter_of(common: &Common) -> Result<FlowFilter, Failure> {
    FlowFilter::new(common.server.as_deref(), common.port, &common.outcome).map_err(Failure::Usage)
}

fn report_command(args: &ReportArgs) -> Result<ExitCode, Failure> {
    let filter = filter_of(&args.common)?;
    let mut connections = ConnectionReport::with_limits(ReportLimits {
        findings: args.findings,
        timelines: args.timelines,
        ..ReportLimits::default()
    });
    let health = analyse(&args.common, &filter, &mut connections)?;
    let finished = connections.finish();
    let mut out = Output::create(args.output.as_deref())?;
    match args.format {
        ReportFormat::Text => {
            report::write_capture_summary(&mut out, &health)?;
            finished.write(&mut out)?;
        }
        ReportFormat::Json => report::write_json(&mut out, &health, &finished)?,
        ReportFormat::Html => {
            // The page is drawn from the JSON report's own bytes, read back,
            // so it shows exactly what `--format json` says.
            let mut json = Vec::new();
            report::write_json(&mut json, &health, &finished)?;
            let doc: serde_json::Value = serde_json::from_slice(&json).map_err(io::Error::other)?;
            out.write_all(crate::output::html::render(&doc).as_bytes())?;
        }
    }
    out.commit()?;
    Ok(ExitCode::SUCCESS)
}

fn flows_command(args: &FlowsArgs) -> Result<ExitCode, Failure> {
    let filter = filter_of(&args.common)?;
    let format = args.format;
    let mut writer = FlowWriter::new(Output::create(args.output.as_deref())?, format)?
        .flush_each_row(format == FlowFormat::Ndjson && args.output.is_none());
    analyse(&args.common, &filter, &mut writer)?;
    writer.finish()?.commit()?;
    Ok(ExitCode::SUCCESS)
}

fn timeline_command(args: &TimelineArgs) -> Result<ExitCode, Failure> {
    let filter = filter_of(&args.common)?
        .with_conns(&args.conn)
        .map_err(Failure::Usage)?;
    let mut sink = TimelineSink {
        out: Output::create(None)?,
        limit: args.limit,
        shown: 0,
    };
    analyse(&args.common, &filter, &mut sink)?;
    let out = sink.out;
    out.commit()?;
    Ok(ExitCode::SUCCESS)
}

fn check_command(args: &CheckArgs) -> Result<ExitCode, Failure> {
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
    let mut check = Check::new(expect, fail_on, args.bless);
    analyse(&args.common, &filter, &mut check)?;
    if args.bless {
        let path = args.expect.as_deref().unwrap_or_default();
        let mut out = Output::create(Some(path))?;
        serde_json::to_writer_pretty(&mut out, &check.blessed()).map_err(io::Error::other)?;
        writeln!(out)?;
        out.commit()?;
        if !args.common.quiet {
            eprintln!("rstscope: wrote {path}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = Output::create(None)?;
    let passed = check.write_verdict(&mut out)?;
    out.commit()?;
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
