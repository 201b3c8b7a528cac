use std::process::ExitCode;

fn main() -> ExitCode {
    rstscope::cli::run()
}
