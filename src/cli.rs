//! The command line: argument definitions and the dispatch from a command to
//! the library. Everything that does work lives in the pipeline modules.

use std::io;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::analysis;
use crate::error::CaptureError;
use crate::health::Health;
use crate::output::Output;
use crate::progress::Progress;
use crate::report;

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
    #[command(after_help = "Example:\n  rstscope report --timelines 5 incident.pcap")]
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
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum ReportFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum FlowsFormat {
    #[default]
    Csv,
    Json,
    Ndjson,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ReportArgs {
    #[command(flatten)]
    pub common: Common,

    /// Output format
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Example timelines per server and outcome
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub timelines: usize,

    /// Write to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct FlowsArgs {
    #[command(flatten)]
    pub common: Common,

    /// Output format
    #[arg(long, value_enum, default_value_t = FlowsFormat::Csv)]
    pub format: FlowsFormat,

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
    let result = match cli.command {
        Some(Command::Report(args)) => report_command(&args),
        None => report_command(&cli.report),
        Some(Command::Flows(_)) | Some(Command::Timeline(_)) | Some(Command::Check(_)) => {
            Err(Failure::Usage("this command is not implemented yet".into()))
        }
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

fn report_command(args: &ReportArgs) -> Result<ExitCode, Failure> {
    let mut health = Health::default();
    let captures = &args.common.captures;
    let progress = Progress::for_terminal(args.common.quiet, analysis::total_bytes(captures));
    analysis::read_segments_with_progress(captures, &mut health, progress, &mut |_segment| {})?;
    warn_cut_off(&health, args.common.quiet);
    let mut out = Output::create(args.output.as_deref())?;
    report::write_capture_summary(&mut out, &health)?;
    out.commit()?;
    Ok(ExitCode::SUCCESS)
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
