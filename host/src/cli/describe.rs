//! `naas describe`: print what a plugin is, the service kinds it handles and their schemas.

use std::io::Write;

use clap::Args;
use serde::Serialize;

use super::{Cli, CliError, Output, PluginArgs};
use crate::runtime::Plugin;

/// Arguments of `naas describe`.
#[derive(Debug, Clone, Args)]
pub struct DescribeArgs {
    /// The plugin and its limits.
    #[command(flatten)]
    pub plugin: PluginArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Described<'a> {
    name: &'a str,
    version: &'a str,
    vendor: &'a str,
    description: &'a str,
    digest: String,
    platforms: &'a [String],
    kinds: Vec<DescribedKind<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribedKind<'a> {
    api_version: String,
    kind: &'a str,
    plural: &'a str,
    spec_schema: serde_json::Value,
}

pub(super) async fn run(
    cli: &Cli,
    args: &DescribeArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let runtime = cli.runtime()?;
    let set = args.plugin.load(cli, &runtime).await?;
    let described: Vec<Described<'_>> = set.plugins().iter().map(|p| describe(p)).collect();
    match (args.output, described.as_slice()) {
        (Output::Text, _) => {
            for (i, d) in described.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                write_text(out, d)?;
            }
            Ok(())
        }
        // One plugin is one object, several a list (as `kubectl get -o json`).
        (format, [one]) => write_structured(out, one, format),
        (format, many) => write_structured(out, &many, format),
    }
}

fn describe(plugin: &Plugin) -> Described<'_> {
    let info = plugin.info();
    Described {
        name: &info.name,
        version: &info.version,
        vendor: &info.vendor,
        description: &info.description,
        digest: plugin.digest().to_string(),
        platforms: &info.platforms,
        kinds: info
            .kinds
            .iter()
            .map(|k| DescribedKind {
                api_version: format!("{}/{}", k.group, k.version),
                kind: &k.kind,
                plural: &k.plural,
                // check_info made sure the schema is a JSON object.
                spec_schema: serde_json::from_str(&k.spec_schema).unwrap_or_default(),
            })
            .collect(),
    }
}

fn write_text(out: &mut dyn Write, described: &Described<'_>) -> Result<(), CliError> {
    writeln!(out, "Name:        {}", described.name)?;
    writeln!(out, "Version:     {}", described.version)?;
    writeln!(out, "Vendor:      {}", described.vendor)?;
    writeln!(out, "Description: {}", described.description)?;
    writeln!(out, "Digest:      {}", described.digest)?;
    writeln!(out, "Platforms:   {}", described.platforms.join(", "))?;
    writeln!(out, "Kinds:")?;
    for k in &described.kinds {
        writeln!(out, "  {} {} (plural {})", k.api_version, k.kind, k.plural)?;
        let schema = serde_json::to_string_pretty(&k.spec_schema)
            .map_err(|e| CliError::Output(e.to_string()))?;
        for line in schema.lines() {
            writeln!(out, "    {line}")?;
        }
    }
    Ok(())
}

/// Writes `value` as JSON or YAML.
pub(super) fn write_structured<T: Serialize>(
    out: &mut dyn Write,
    value: &T,
    format: Output,
) -> Result<(), CliError> {
    let text = match format {
        Output::Yaml => {
            serde_yaml_ng::to_string(value).map_err(|e| CliError::Output(e.to_string()))?
        }
        _ => {
            let mut s =
                serde_json::to_string_pretty(value).map_err(|e| CliError::Output(e.to_string()))?;
            s.push('\n');
            s
        }
    };
    out.write_all(text.as_bytes())?;
    Ok(())
}
