//! `naas plugin …`: the plugin author's and vendor's commands.

use std::io::Write;

use clap::Subcommand;

use super::{Cli, CliError};

/// Subcommands of `naas plugin`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Check a plugin against a conformance fixture set (service, context,
    /// expected output or violations), with a diff per failing fixture.
    Test(super::conformance::TestArgs),
    /// Create a plugin project that builds and passes its own fixtures.
    New(NewArgs),
    /// Push a Wasm component to an OCI registry as a Wasm artifact; prints
    /// the manifest digest.
    Push(super::registry::PushArgs),
    /// Pull a plugin from an OCI registry (verified, cached) into a file.
    Pull(super::registry::PullArgs),
    /// Show a plugin's manifest, digests, media types and describe().
    Inspect(super::registry::InspectArgs),
}

/// Arguments of `naas plugin new`.
#[derive(Debug, Clone, clap::Args)]
pub struct NewArgs {
    /// The plugin name: lower-case words and dashes, e.g. `vlan-service`
    /// (the kind becomes `VlanService`).
    pub name: String,
    /// The language to write the plugin in.
    #[arg(long, value_enum)]
    pub lang: crate::scaffold::Lang,
    /// Where to create the project (default: ./<name>).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
}

pub(super) async fn run(
    cli: &Cli,
    cmd: &PluginCommand,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match cmd {
        PluginCommand::Test(args) => super::conformance::run(cli, args, out).await,
        PluginCommand::Push(args) => super::registry::push(cli, args, out).await,
        PluginCommand::Pull(args) => super::registry::pull(cli, args, out).await,
        PluginCommand::Inspect(args) => super::registry::inspect(cli, args, out).await,
        PluginCommand::New(args) => {
            let dir = args.dir.clone().unwrap_or_else(|| args.name.clone().into());
            let files = crate::scaffold::scaffold(args.lang, &args.name, &dir)?;
            writeln!(out, "created {} ({} files)", dir.display(), files.len())?;
            writeln!(
                out,
                "next: cd {} && ./build.sh, then naas plugin test <component> fixtures",
                dir.display()
            )?;
            Ok(())
        }
    }
}
