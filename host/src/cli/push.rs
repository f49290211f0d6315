//! `naas push` and `naas diff`: render services, then push them to the devices of the inventory as one transaction (or show what would be sent), recording what was applied in a state directory.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::render::{ServiceArgs, evaluate};
use super::{Cli, CliError};
use crate::driver::DeviceDriver;
use crate::push::{self, Desired, DeviceReport, Mode};
use crate::state::StateStore;

/// Arguments of `naas push` and `naas diff`.
#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// The services and the plugins (`--devices` is required: it says how
    /// to reach each device).
    #[command(flatten)]
    pub services: ServiceArgs,
    /// Where what naas applied to each device is recorded (one JSON file
    /// per device); keep one per set of devices.
    #[arg(
        long = "state",
        env = "NAAS_STATE_DIR",
        default_value = ".naas/state",
        value_name = "DIR"
    )]
    pub state: PathBuf,
    /// The manifests are the complete set: remove from the devices every
    /// service recorded in the state directory that is not in them.
    #[arg(long)]
    pub prune: bool,
}

pub(super) async fn run(
    cli: &Cli,
    args: &PushArgs,
    mode: Mode,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    if args.services.devices.is_none() {
        return Err(CliError::Usage(
            "naas push and naas diff need --devices FILE: how to reach each device".into(),
        ));
    }
    let (inventory, evaluations) = evaluate(cli, &args.services, err).await?;
    let desired = Desired::from_evaluations(&evaluations)?;
    let store = StateStore::new(&args.state);
    let driver = DeviceDriver::default();
    let reports = push::run(&driver, &inventory, &store, &desired, args.prune, mode).await?;
    write_reports(out, &reports, mode)
}

fn write_reports(
    out: &mut dyn Write,
    reports: &[DeviceReport],
    mode: Mode,
) -> Result<(), CliError> {
    let mut changed = 0;
    for r in reports {
        let services: Vec<String> = r
            .services
            .iter()
            .map(|(key, change)| format!("{key} {change}"))
            .collect();
        let services = if services.is_empty() {
            String::new()
        } else {
            format!(" ({})", services.join(", "))
        };
        if r.diff.is_empty() {
            writeln!(out, "# {}: no change{services}", r.device)?;
            continue;
        }
        changed += 1;
        let verb = match mode {
            Mode::Diff => "would send",
            Mode::Push => "sent",
        };
        writeln!(out, "# {}: {verb}{services}", r.device)?;
        out.write_all(r.diff.as_bytes())?;
        if !r.diff.ends_with('\n') {
            writeln!(out)?;
        }
    }
    let unchanged = reports.len() - changed;
    match mode {
        Mode::Diff => writeln!(
            out,
            "# {changed} device(s) would change, {unchanged} unchanged; nothing was pushed"
        )?,
        Mode::Push => writeln!(out, "# {changed} device(s) changed, {unchanged} unchanged")?,
    }
    Ok(())
}
