//! `naas render`: run the pipeline over service manifests and print each device's configuration.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use serde::Serialize;

use super::{Cli, CliError, Output, PluginArgs, print_failure};
use crate::inventory::{Inventory, load_variables};
use crate::manifest::read_services;
use futures_util::future::join_all;

use crate::pipeline::{Evaluation, service_id};

/// The services to evaluate and what they are evaluated with: the flags
/// `naas render`, `naas diff` and `naas push` share.
#[derive(Debug, Clone, Args)]
pub struct ServiceArgs {
    /// The plugin and its limits.
    #[command(flatten)]
    pub plugin: PluginArgs,
    /// Service manifests (multi-document YAML; `-` for stdin). Repeatable.
    #[arg(short = 'f', long = "filename", required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The device inventory: devices, platforms, facts and per-tenant grants.
    #[arg(long, value_name = "FILE")]
    pub devices: Option<PathBuf>,
    /// Variables for the plugin (a YAML or JSON mapping).
    #[arg(long, value_name = "FILE")]
    pub vars: Option<PathBuf>,
    /// Namespace (tenant) of services that do not name one.
    #[arg(short, long, default_value = "default")]
    pub namespace: String,
    /// Fail on a document whose kind no plugin serves (by default it is
    /// skipped, with a line on stderr).
    #[arg(long)]
    pub strict: bool,
}

/// Arguments of `naas render`.
#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// The services and the plugins.
    #[command(flatten)]
    pub services: ServiceArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// One rendered service, as printed with `-o json|yaml`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RenderedService<'a> {
    api_version: &'a str,
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
    /// The expanded spec.
    spec: serde_json::Value,
    configs: Vec<RenderedConfig<'a>>,
}

#[derive(Debug, Serialize)]
struct RenderedConfig<'a> {
    device: &'a str,
    format: &'a str,
    text: &'a str,
}

pub(super) async fn run(
    cli: &Cli,
    args: &RenderArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let (_, evaluations) = evaluate(cli, &args.services, err).await?;
    write_evaluations(out, &evaluations, args.output)
}

/// Reads the manifests, the inventory and the variables, loads the
/// plugins and evaluates every served service: all or nothing (each
/// failure is printed to `err`). Returns the inventory and the evaluations
/// in manifest order.
pub(super) async fn evaluate(
    cli: &Cli,
    args: &ServiceArgs,
    err: &mut dyn Write,
) -> Result<(Inventory, Vec<Evaluation>), CliError> {
    let mut services = Vec::new();
    for f in &args.files {
        services.extend(read_services(f, &args.namespace)?);
    }
    if services.is_empty() {
        let names: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
        return Err(CliError::NoServices(names.join(", ")));
    }
    let inventory = match &args.devices {
        Some(path) => Inventory::load(path)?,
        None => Inventory::default(),
    };
    let variables = match &args.vars {
        Some(path) => load_variables(path)?,
        None => serde_json::Value::Object(serde_json::Map::new()),
    };
    let runtime = cli.runtime()?;
    let plugins = args.plugin.load(cli, &runtime).await?;

    // Documents of kinds no plugin serves (a ConfigMap in kustomize output...)
    // are skipped with a note, or refused with --strict.
    let (served, unserved): (Vec<_>, Vec<_>) = services
        .into_iter()
        .partition(|s| plugins.plugin_for(&s.api_version, &s.kind).is_some());
    for s in &unserved {
        let note = format!(
            "{} {}/{} ({}): no plugin serves this kind",
            s.api_version, s.kind, s.name, s.namespace
        );
        if args.strict {
            return Err(CliError::Unserved(format!("{note} (--strict)")));
        }
        let _ = writeln!(err, "skipping {note}");
    }
    if served.is_empty() {
        let names: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
        return Err(CliError::NoServices(names.join(", ")));
    }

    // All or nothing: print configs only when every service rendered.
    let total = served.len();
    let runs = served.into_iter().map(|service| {
        let context = Arc::new(inventory.context_for(&service.namespace, &variables));
        plugins.evaluate(runtime.executor(), service, context)
    });
    let mut evaluations = Vec::with_capacity(total);
    let mut failed = 0;
    for result in join_all(runs).await {
        match result {
            Ok(e) => evaluations.push(e),
            Err(e) => {
                failed += 1;
                print_failure(err, &e);
            }
        }
    }
    if failed > 0 {
        return Err(CliError::ServicesFailed { failed, total });
    }
    Ok((inventory, evaluations))
}

fn write_evaluations(
    out: &mut dyn Write,
    evaluations: &[Evaluation],
    format: Output,
) -> Result<(), CliError> {
    if format == Output::Text {
        for e in evaluations {
            for c in &e.configs {
                writeln!(
                    out,
                    "# {} -> {} ({})",
                    service_id(&e.service),
                    c.device,
                    c.format
                )?;
                out.write_all(c.text.as_bytes())?;
                if !c.text.ends_with('\n') {
                    writeln!(out)?;
                }
            }
        }
        return Ok(());
    }
    let rendered: Vec<RenderedService<'_>> = evaluations
        .iter()
        .map(|e| RenderedService {
            api_version: &e.service.api_version,
            kind: &e.service.kind,
            namespace: &e.service.namespace,
            name: &e.service.name,
            spec: serde_json::from_str(&e.service.spec).unwrap_or(serde_json::Value::Null),
            configs: e
                .configs
                .iter()
                .map(|c| RenderedConfig {
                    device: &c.device,
                    format: c.format.as_str(),
                    text: &c.text,
                })
                .collect(),
        })
        .collect();
    super::describe::write_structured(out, &rendered, format)
}
