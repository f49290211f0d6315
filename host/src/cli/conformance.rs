//! `naas plugin test`: run a conformance fixture set against a plugin and report pass or fail per fixture.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{Cli, CliError};
use crate::conformance::{Verdict, bless, check, load_fixtures};
use crate::runtime::Limits;

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
    let limits = Limits {
        timeout: args.timeout,
        ..Limits::default()
    };
    let plugin = super::load_plugin(cli, &runtime, &args.plugin, limits).await?;
    let total = fixtures.len();
    // Plugin calls block: the whole set runs on the runtime's blocking pool.
    let (p, update) = (plugin.clone(), args.update);
    let verdicts = runtime
        .executor()
        .run(move || {
            fixtures
                .into_iter()
                .map(|f| {
                    let verdict = if update {
                        bless(&p, &f).map(|()| None)
                    } else {
                        Ok(Some(check(&p, &f)))
                    };
                    (f.name, verdict)
                })
                .collect::<Vec<_>>()
        })
        .await?;
    let (mut passed, mut failed) = (0, 0);
    for (name, verdict) in verdicts {
        match verdict? {
            None => {
                writeln!(out, "UPDATED {name}")?;
                passed += 1;
            }
            Some(Verdict::Pass) => {
                passed += 1;
                writeln!(out, "PASS {name}")?;
            }
            Some(Verdict::Fail(diff)) => {
                failed += 1;
                writeln!(out, "FAIL {name}")?;
                for line in diff.lines() {
                    writeln!(out, "    {line}")?;
                }
            }
            Some(Verdict::Missing) => {
                failed += 1;
                writeln!(
                    out,
                    "FAIL {name}: no expected.yaml; record it with --update and review it"
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
        return Err(CliError::FixturesFailed { failed, total });
    }
    Ok(())
}
