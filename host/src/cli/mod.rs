//! The `naas` command line: argument definitions and dispatch to the library.

mod conformance;
mod describe;
mod operator;
mod plugin;
mod push;
mod registry;
mod render;
mod webhook;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::inventory::InventoryError;
use crate::manifest::ManifestError;
use crate::pipeline::PipelineError;
use crate::plugin_set::{PluginSet, PluginSetError};
use crate::runtime::{self, Limits, Plugin, Runtime, RuntimeConfig};
use crate::template::TemplateOverrides;

/// Network-as-a-Service on Kubernetes with WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "naas", version, about, propagate_version = true)]
pub struct Cli {
    /// Directory of compiled plugins, reused across runs.
    /// Default: $XDG_CACHE_HOME/naas or ~/.cache/naas.
    #[arg(long, global = true, env = "NAAS_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile plugins in memory and keep nothing on disk.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Most plugin calls running at once (0: twice the number of CPUs).
    #[arg(
        long,
        global = true,
        env = "NAAS_PLUGIN_CONCURRENCY",
        default_value_t = 0,
        value_name = "N"
    )]
    pub plugin_concurrency: usize,
    /// Log lines as text or as JSON objects (one per line, for log collectors).
    #[arg(long, global = true, env = "NAAS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// How to reach plugin registries.
    #[command(flatten)]
    pub registry: registry::RegistryArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line: timestamp, level, target, fields, message.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate, expand and render services with a plugin, without a cluster.
    Render(render::RenderArgs),
    /// Show, per device, what `naas push` would send; push nothing.
    Diff(push::PushArgs),
    /// Render services and push them to the devices as one transaction.
    Push(push::PushArgs),
    /// Print a plugin's info, service kinds and their schemas.
    Describe(describe::DescribeArgs),
    /// Work with plugins: push, pull, inspect, test, scaffold.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Run the operator against the cluster of the current kubeconfig.
    Operator(operator::OperatorArgs),
    /// Print the host's CRDs (Plugin, Device), or write them to a directory.
    Crds(operator::CrdsArgs),
    /// Set up the admission webhook: its certificates.
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
}

/// Output formats, as in `kubectl -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people.
    Text,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// Which plugins to load and under which limits.
#[derive(Debug, Clone, Args)]
pub struct PluginArgs {
    /// A plugin: a Wasm component file, or an OCI reference
    /// (`REGISTRY/REPOSITORY:TAG[@sha256:…]`) pulled through the verified
    /// cache. Repeatable: each service goes to the plugin declaring its kind.
    #[arg(long = "plugin", short = 'p', value_name = "FILE|REF", required = true)]
    pub plugins: Vec<String>,
    /// Deadline of each plugin call, e.g. `500ms`, `2s`.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Memory limit of the plugin, in MiB.
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    pub memory_limit: usize,
    /// Most bytes one plugin call may return.
    #[arg(long, default_value_t = 4 << 20, value_name = "BYTES")]
    pub max_output: usize,
    /// Template overrides: `DIR/<plugin name>/<template name>` replaces that
    /// plugin's built-in template of that name (the layout of a Plugin's
    /// templates ConfigMap, one directory per plugin).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

impl PluginArgs {
    /// Loads every `--plugin` into `runtime` and indexes them by kind. The
    /// one place a command turns `--plugin` into plugins.
    ///
    /// # Errors
    /// When a plugin cannot be read, pulled, compiled, linked or described,
    /// or two plugins declare the same kind.
    pub async fn load(&self, cli: &Cli, runtime: &Runtime) -> Result<PluginSet, CliError> {
        let mut plugins = Vec::with_capacity(self.plugins.len());
        for p in &self.plugins {
            let plugin = load_plugin(cli, runtime, p, self.limits()).await?;
            plugins.push(match &self.templates {
                Some(dir) => {
                    let dir = dir.join(&plugin.info().name);
                    Arc::new(plugin.with_templates(TemplateOverrides::from_dir(&dir)?))
                }
                None => plugin,
            });
        }
        Ok(PluginSet::new(plugins)?)
    }

    /// The limits these flags ask for.
    #[must_use]
    pub fn limits(&self) -> Limits {
        Limits {
            timeout: self.timeout,
            memory_bytes: self.memory_limit.saturating_mul(1 << 20),
            max_output_bytes: self.max_output,
        }
    }
}

/// Loads one plugin, on the runtime's blocking pool. A path that exists is a
/// file; otherwise a reference naming a registry is pulled (see
/// [`Cli::fetcher`]) and loaded without hashing the component twice.
///
/// # Errors
/// When the plugin cannot be read, pulled, compiled, linked or described.
pub async fn load_plugin(
    cli: &Cli,
    runtime: &Runtime,
    plugin: &str,
    limits: Limits,
) -> Result<Arc<Plugin>, CliError> {
    let path = Path::new(plugin);
    if path.exists() || !crate::oci::PluginRef::looks_like_reference(plugin) {
        return Ok(runtime.load_file_async(path.to_path_buf(), limits).await?);
    }
    let (_, plugin) = registry::load_plugin(cli, plugin, None, runtime, limits).await?;
    Ok(plugin)
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A manifest could not be read.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The devices or variables file could not be read.
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// The plugin could not be loaded.
    #[error(transparent)]
    Runtime(#[from] runtime::Error),
    /// The plugins cannot be served together.
    #[error(transparent)]
    PluginSet(#[from] PluginSetError),
    /// `--templates` could not be read.
    #[error(transparent)]
    Templates(#[from] crate::template::OverrideError),
    /// With `--strict`, a document of a kind no plugin serves.
    #[error("{0}")]
    Unserved(String),
    /// A registry operation (pull, push, verify, cache) failed.
    #[error(transparent)]
    Oci(#[from] crate::oci::Error),
    /// Some services failed; each error was already printed.
    #[error("{failed} of {total} services failed")]
    ServicesFailed {
        /// How many failed.
        failed: usize,
        /// How many were given.
        total: usize,
    },
    /// A conformance fixture set could not be read.
    #[error(transparent)]
    Conformance(#[from] crate::conformance::ConformanceError),
    /// A plugin project could not be scaffolded.
    #[error(transparent)]
    Scaffold(#[from] crate::scaffold::ScaffoldError),
    /// Some conformance fixtures failed; each was already reported.
    #[error("{failed} of {total} fixtures failed")]
    FixturesFailed {
        /// How many failed.
        failed: usize,
        /// How many there are.
        total: usize,
    },
    /// The input held no service.
    #[error(
        "{0}: no service found (expected YAML documents with apiVersion, kind, metadata and spec)"
    )]
    NoServices(String),
    /// A push or diff failed (naming the device and the reason).
    #[error(transparent)]
    Push(#[from] crate::push::PushError),
    /// The arguments do not make a valid command.
    #[error("{0}")]
    Usage(String),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Output(String),
    /// Whoever reads the output closed it (`naas … | head`). Not a failure:
    /// like standard Unix tools, the binary stops quietly with status 0.
    #[error("the output was closed by its reader")]
    OutputClosed,
}

impl CliError {
    /// Whether the command should end quietly and successfully (the reader
    /// of its output went away), rather than report an error.
    #[must_use]
    pub fn is_output_closed(&self) -> bool {
        matches!(self, CliError::OutputClosed)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return CliError::OutputClosed;
        }
        CliError::Output(e.to_string())
    }
}

/// Runs a parsed command, writing results to `out` and per-service errors to `err`.
///
/// # Errors
/// See [`CliError`].
pub async fn run(cli: &Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), CliError> {
    match &cli.command {
        Command::Render(args) => render::run(cli, args, out, err).await,
        Command::Diff(args) => push::run(cli, args, crate::push::Mode::Diff, out, err).await,
        Command::Push(args) => push::run(cli, args, crate::push::Mode::Push, out, err).await,
        Command::Describe(args) => describe::run(cli, args, out).await,
        Command::Plugin(cmd) => plugin::run(cli, cmd, out).await,
        Command::Operator(args) => operator::run_operator(cli, args).await,
        Command::Crds(args) => operator::run_crds(args, out),
        Command::Webhook(cmd) => webhook::run(cmd, out).await,
    }
}

impl Cli {
    /// The runtime this invocation asks for (cache directory or none).
    ///
    /// # Errors
    /// When the engine or the cache directory cannot be set up.
    pub fn runtime(&self) -> Result<Runtime, runtime::Error> {
        let cache_dir = if self.no_cache {
            None
        } else {
            self.cache_dir.clone().or_else(default_cache_dir)
        };
        Runtime::new(&RuntimeConfig {
            cache_dir,
            max_concurrent_calls: self.plugin_concurrency,
        })
    }
}

fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("naas"))
}

/// Parses `250ms`, `2s` or `1m`.
///
/// # Errors
/// When the text is not a whole number followed by `ms`, `s` or `m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = text.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms, 2s or 1m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("{text:?}: the unit must be ms, s or m, e.g. 500ms")),
    }
}

/// Prints a pipeline error the way a user reads it. A closed stderr is no
/// reason to stop: the command fails with its own error all the same.
pub(crate) fn print_failure(err: &mut dyn Write, e: &PipelineError) {
    let _ = writeln!(err, "error: {e}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_refuse_garbage() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("2").unwrap_err().contains("unit"));
        assert!(
            parse_duration("fast")
                .unwrap_err()
                .contains("not a duration")
        );
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
