//! The `naas` binary: wiring only; everything lives in the library.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use naas::cli::{Cli, LogFormat, run};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    naas::oci::install_crypto_provider();
    let cli = Cli::parse();
    let default = match cli.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("NAAS_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
    }
    // stderr is not locked for the whole run: log lines come from other
    // threads too (e.g. parallel compilation) and would wait on that lock.
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr());
    match run(&cli, &mut out, &mut err).await {
        Ok(()) => ExitCode::SUCCESS,
        // `naas … | head`: the reader has what it wanted.
        Err(e) if e.is_output_closed() => ExitCode::SUCCESS,
        Err(e) => {
            // Every error message carries its own context (file, plugin,
            // service); per-service errors were printed as they happened.
            // Not eprintln!: it panics when stderr is closed.
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(1)
        }
    }
}
