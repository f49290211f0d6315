//! `naas plugin push|pull|inspect` and the registry flags: plugins shipped as Wasm OCI artifacts.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use serde::Serialize;

use super::describe::write_structured;
use super::{Cli, CliError, Output};
use crate::digest::Digest;
use crate::oci::{
    DockerConfig, Fetched, Fetcher, PluginRef, PushRequest, RegistryOptions, RetryPolicy,
};
use crate::runtime::{Limits, Plugin, Runtime};

/// How to reach registries (global flags).
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Registry credentials: a docker config JSON ({"auths": {"HOST:PORT":
    /// {"auth": "base64(user:pass)"}}}, as in a kubernetes.io/dockerconfigjson
    /// Secret). Default: ~/.docker/config.json when it exists.
    #[arg(long, global = true, env = "NAAS_REGISTRY_CONFIG", value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
    /// A PEM CA bundle trusted for registries' HTTPS, besides the system's.
    /// Repeatable.
    #[arg(long = "ca-file", global = true, value_name = "FILE")]
    pub ca_files: Vec<PathBuf>,
    /// Reach this registry (or a token realm on this host) over plain HTTP
    /// instead of HTTPS. Repeatable.
    #[arg(long = "insecure-registry", global = true, value_name = "HOST:PORT")]
    pub insecure_registries: Vec<String>,
    /// Largest plugin accepted from a registry (bytes, or with Ki, Mi, Gi).
    #[arg(long, global = true, default_value = "64Mi", value_parser = parse_size, value_name = "SIZE")]
    pub max_plugin_size: u64,
    /// Tries per registry request on transient failures, with exponential backoff.
    #[arg(long, global = true, default_value_t = 3, value_name = "N")]
    pub registry_retries: u32,
}

/// Arguments of `naas plugin push`.
#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// The Wasm component to push.
    #[arg(value_name = "COMPONENT")]
    pub component: PathBuf,
    /// Where to push it: REGISTRY/REPOSITORY:TAG.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// An extra manifest annotation. Repeatable.
    #[arg(long = "annotation", short = 'a', value_name = "KEY=VALUE", value_parser = parse_annotation)]
    pub annotations: Vec<(String, String)>,
}

/// Arguments of `naas plugin pull`.
#[derive(Debug, Clone, Args)]
pub struct PullArgs {
    /// The plugin: REGISTRY/REPOSITORY[:TAG][@sha256:…].
    #[arg(value_name = "REF")]
    pub reference: String,
    /// The manifest digest the reference must point to (sha256:…).
    #[arg(long, value_name = "DIGEST")]
    pub digest: Option<String>,
    /// Where to write the component. Default: <repository name>.wasm.
    #[arg(short, long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Arguments of `naas plugin inspect`.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// The plugin: REGISTRY/REPOSITORY[:TAG][@sha256:…].
    #[arg(value_name = "REF")]
    pub reference: String,
    /// The manifest digest the reference must point to (sha256:…).
    #[arg(long, value_name = "DIGEST")]
    pub digest: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

impl Cli {
    /// The OCI fetcher these flags ask for: credentials, CA bundles,
    /// plain-HTTP registries, size cap, retries, and its cache under
    /// `<cache>/oci` (none with `--no-cache`).
    ///
    /// # Errors
    /// When the registry config or a CA bundle is unusable, or the cache
    /// cannot be created.
    pub fn fetcher(&self) -> Result<Fetcher, CliError> {
        let r = &self.registry;
        let opts = RegistryOptions {
            credentials: DockerConfig::discover(r.registry_config.as_deref())?,
            ca_files: r.ca_files.clone(),
            insecure_registries: r.insecure_registries.clone(),
            max_blob_size: r.max_plugin_size,
            retry: RetryPolicy {
                attempts: r.registry_retries.max(1),
                ..RetryPolicy::default()
            },
            ..RegistryOptions::default()
        };
        let root = if self.no_cache {
            None
        } else {
            self.cache_dir
                .clone()
                .or_else(super::default_cache_dir)
                .map(|d| d.join("oci"))
        };
        Ok(Fetcher::new(opts, root.as_deref())?)
    }
}

/// Fetches `reference` (pinned to `digest` if given) and loads it into
/// `runtime` without hashing the component again.
pub(super) async fn load_plugin(
    cli: &Cli,
    reference: &str,
    digest: Option<&str>,
    runtime: &Runtime,
    limits: Limits,
) -> Result<(Fetched, Arc<Plugin>), CliError> {
    let r = PluginRef::parse(reference, digest)?;
    let fetched = cli.fetcher()?.fetch(&r).await?;
    let plugin = runtime
        .load_verified_async(
            fetched.reference.to_string(),
            fetched.component.clone(),
            fetched.component_digest.clone(),
            limits,
        )
        .await?;
    Ok((fetched, plugin))
}

/// `naas plugin push`: validates the plugin (it must load and describe
/// itself), pushes it, and prints the manifest digest.
pub(super) async fn push(cli: &Cli, args: &PushArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let r = PluginRef::parse(&args.reference, None)?;
    let bytes = std::fs::read(&args.component).map_err(|source| crate::oci::Error::Read {
        path: args.component.clone(),
        source,
    })?;
    let runtime = cli.runtime()?;
    let name = args.component.display().to_string();
    let plugin = {
        let (bytes, digest) = (Arc::<[u8]>::from(bytes.as_slice()), Digest::of(&bytes));
        runtime
            .load_verified_async(name, bytes, digest, Limits::default())
            .await?
    };
    let info = plugin.info();
    let mut annotations = BTreeMap::from([
        (
            "org.opencontainers.image.title".to_string(),
            info.name.clone(),
        ),
        (
            "org.opencontainers.image.version".to_string(),
            info.version.clone(),
        ),
        (
            "org.opencontainers.image.vendor".to_string(),
            info.vendor.clone(),
        ),
        (
            "org.opencontainers.image.description".to_string(),
            info.description.clone(),
        ),
    ]);
    annotations.extend(args.annotations.iter().cloned());
    let pushed = cli
        .fetcher()?
        .push(&PushRequest {
            reference: r,
            component: bytes,
            title: args
                .component
                .file_name()
                .map(|f| f.to_string_lossy().into_owned()),
            annotations,
            created: None,
        })
        .await?;
    writeln!(out, "{}", pushed.manifest_digest)?;
    Ok(())
}

/// `naas plugin pull`: fetches, verifies, caches, and writes the component.
pub(super) async fn pull(cli: &Cli, args: &PullArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let r = PluginRef::parse(&args.reference, args.digest.as_deref())?;
    let fetched = cli.fetcher()?.fetch(&r).await?;
    let path = match &args.output {
        Some(p) => p.clone(),
        None => {
            let name = r.repository().rsplit('/').next().unwrap_or("plugin");
            PathBuf::from(format!("{name}.wasm"))
        }
    };
    write_file(&path, &fetched.component)?;
    writeln!(out, "Pulled {}", fetched.reference)?;
    writeln!(
        out,
        "Wrote {} ({} bytes, {})",
        path.display(),
        fetched.component.len(),
        fetched.component_digest
    )?;
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes)
        .map_err(|e| CliError::Output(format!("cannot write {}: {e}", path.display())))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Inspected {
    reference: String,
    source: &'static str,
    manifest: InspectedManifest,
    config: InspectedBlob,
    config_document: Option<serde_json::Value>,
    layers: Vec<InspectedBlob>,
    plugin: InspectedPlugin,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InspectedManifest {
    digest: String,
    media_type: Option<String>,
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InspectedBlob {
    media_type: String,
    digest: String,
    size: i64,
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InspectedPlugin {
    name: String,
    version: String,
    vendor: String,
    description: String,
    platforms: Vec<String>,
    kinds: Vec<String>,
}

/// `naas plugin inspect`: the manifest, its blobs, the config document, and
/// the plugin's `describe()` (loaded through the runtime).
pub(super) async fn inspect(
    cli: &Cli,
    args: &InspectArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let runtime = cli.runtime()?;
    let (f, plugin) = load_plugin(
        cli,
        &args.reference,
        args.digest.as_deref(),
        &runtime,
        Limits::default(),
    )
    .await?;
    let blob = |d: &oci_client::manifest::OciDescriptor| InspectedBlob {
        media_type: d.media_type.clone(),
        digest: d.digest.clone(),
        size: d.size,
        annotations: d.annotations.clone().unwrap_or_default(),
    };
    let info = plugin.info();
    let inspected = Inspected {
        reference: f.reference.to_string(),
        source: match f.source {
            crate::oci::Source::Cache => "cache",
            crate::oci::Source::Registry => "registry",
        },
        manifest: InspectedManifest {
            digest: f.manifest_digest.to_string(),
            media_type: f.manifest.media_type.clone(),
            annotations: f.manifest.annotations.clone().unwrap_or_default(),
        },
        config: blob(&f.manifest.config),
        config_document: serde_json::from_slice(&f.config).ok(),
        layers: f.manifest.layers.iter().map(blob).collect(),
        plugin: InspectedPlugin {
            name: info.name.clone(),
            version: info.version.clone(),
            vendor: info.vendor.clone(),
            description: info.description.clone(),
            platforms: info.platforms.clone(),
            kinds: info
                .kinds
                .iter()
                .map(|k| format!("{}/{} {}", k.group, k.version, k.kind))
                .collect(),
        },
    };
    if args.output != Output::Text {
        return write_structured(out, &inspected, args.output);
    }
    print_text(out, &inspected, f.wasm_config().as_ref())
}

fn print_text(
    out: &mut dyn Write,
    i: &Inspected,
    config: Option<&crate::oci::WasmConfig>,
) -> Result<(), CliError> {
    let m = &i.manifest;
    writeln!(out, "Reference:   {}", i.reference)?;
    writeln!(out, "Source:      {}", i.source)?;
    writeln!(
        out,
        "Manifest:    {} ({})",
        m.digest,
        m.media_type.as_deref().unwrap_or("no media type")
    )?;
    for (k, v) in &m.annotations {
        writeln!(out, "  {k}: {v}")?;
    }
    writeln!(
        out,
        "Config:      {} {} ({} bytes)",
        i.config.digest, i.config.media_type, i.config.size
    )?;
    if let Some(c) = config {
        writeln!(
            out,
            "  created: {}  os/arch: {}/{}",
            c.created, c.os, c.architecture
        )?;
        if let Some(w) = &c.component {
            writeln!(out, "  imports: {}", w.imports.join(", "))?;
            writeln!(out, "  exports: {}", w.exports.join(", "))?;
        }
    }
    writeln!(out, "Layers:")?;
    for l in &i.layers {
        let title = l.annotations.get(crate::oci::TITLE_ANNOTATION);
        let title = title.map(|t| format!(" {t}")).unwrap_or_default();
        writeln!(
            out,
            "  {} {} ({} bytes){title}",
            l.digest, l.media_type, l.size
        )?;
    }
    let p = &i.plugin;
    writeln!(out, "Plugin:      {} {} ({})", p.name, p.version, p.vendor)?;
    writeln!(out, "  {}", p.description)?;
    writeln!(out, "  platforms: {}", p.platforms.join(", "))?;
    writeln!(out, "  kinds:     {}", p.kinds.join(", "))?;
    Ok(())
}

/// Parses `1048576`, `500Ki`, `64Mi` or `1Gi`.
///
/// # Errors
/// When the text is not a whole number with an optional Ki, Mi or Gi suffix.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = text.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 1048576, 500Ki or 64Mi"))?;
    let shift = match unit {
        "" => 0,
        "Ki" => 10,
        "Mi" => 20,
        "Gi" => 30,
        _ => {
            return Err(format!(
                "{text:?}: the unit must be Ki, Mi or Gi, e.g. 64Mi"
            ));
        }
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

fn parse_annotation(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
        assert_eq!(parse_size("64Mi").unwrap(), 64 << 20);
        assert_eq!(parse_size("2Ki").unwrap(), 2048);
        assert!(parse_size("64MB").unwrap_err().contains("Ki, Mi or Gi"));
        assert!(parse_size("big").unwrap_err().contains("not a size"));
        assert!(
            parse_size("99999999999Gi")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn annotations_are_key_value() {
        assert_eq!(
            parse_annotation("a=b=c").unwrap(),
            ("a".into(), "b=c".into())
        );
        assert!(parse_annotation("=x").is_err());
        assert!(parse_annotation("x").is_err());
    }
}
