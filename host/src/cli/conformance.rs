//! `naas plugin test`: run a conformance fixture set against a plugin and report pass or fail per fixture.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{Cli, CliError, PluginArgs};
use crate::conformance::{Verdict, bless, check, load_fixtures};

/// Arguments of `naas plugin test`.
#[derive(Debug, Clone, Args)]
pub struct TestArgs {
    /// The plugin: a component file or an OCI reference.
    #[arg(value_name = "COMPONENT|REF")]
    pub plugin: String,
    /// The fixture set: a directory of fixture directories.
    #[arg(value_name = "FIXTURES-DIR")]
    pub fixtures: PathBuf,
    /// Write each fixture's expected.yaml from the plugin's current answers
    /// (review the diff before committing).
    #[arg(long)]
    pub update: bool,
    /// Deadline of each plugin call.
    #[arg(long, default_value = "1s", value_parser = super::parse_duration)]
    pub timeout: Duration,
}

pub(super) async fn run(cli: &Cli, args: &TestArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let fixtures = load_fixtures(&args.fixtures)?;
    let runtime = cli.runtime()?;
    let plugin = PluginArgs {
        plugin: args.plugin.clone(),
        timeout: args.timeout,
        memory_limit: 64,
        max_output: 4 << 20,
    }
    .load(cli, &runtime)
    .await?;
    let (mut passed, mut failed) = (0, 0);
    for f in &fixtures {
        if args.update {
            bless(&plugin, f)?;
            writeln!(out, "UPDATED {}", f.name)?;
            passed += 1;
            continue;
        }
        match check(&plugin, f) {
            Verdict::Pass => {
                passed += 1;
                writeln!(out, "PASS {}", f.name)?;
            }
            Verdict::Fail(diff) => {
                failed += 1;
                writeln!(out, "FAIL {}", f.name)?;
                for line in diff.lines() {
                    writeln!(out, "    {line}")?;
                }
            }
            Verdict::Missing => {
                failed += 1;
                writeln!(
                    out,
                    "FAIL {}: no expected.yaml; record it with --update and review it",
                    f.name
                )?;
            }
        }
    }
    writeln!(
        out,
        "{}: {passed} passed, {failed} failed",
        plugin.info().name
    )?;
    if failed > 0 {
        return Err(CliError::FixturesFailed {
            failed,
            total: fixtures.len(),
        });
    }
    Ok(())
}
