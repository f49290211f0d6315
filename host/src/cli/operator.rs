//! `naas operator` (run the controllers against a cluster) and `naas crds` (print or write the host's CRDs).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use kube::CustomResourceExt;

use super::{Cli, CliError};
use crate::driver::{DeviceDriver, MemoryDriver};
use crate::operator::{self, Device, LeaseConfig, OperatorConfig, Plugin};

/// Arguments of `naas crds`.
#[derive(Debug, Clone, Args)]
pub struct CrdsArgs {
    /// Write one file per CRD into this directory instead of printing them.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Which driver pushes configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DriverChoice {
    /// Real devices over SSH: the CLI driver (frr, eos, ios, junos) or
    /// NETCONF (platform `netconf`), host keys verified.
    Devices,
    /// Keep device configs in memory (examples, tests): nothing leaves the host.
    Memory,
}

/// Arguments of `naas operator`.
#[derive(Debug, Clone, Args)]
pub struct OperatorArgs {
    /// The operator's namespace: device credentials, applied configs.
    #[arg(long, env = "NAAS_NAMESPACE", default_value = "naas-system")]
    pub namespace: String,
    /// The driver that pushes configs to devices.
    #[arg(long, value_enum, default_value_t = DriverChoice::Devices)]
    pub driver: DriverChoice,
    /// Also serve the admission webhook (HTTPS `/validate`, `/mutate`) on
    /// this address, e.g. `0.0.0.0:8443`; needs `--webhook-cert` and `--webhook-key`.
    #[arg(long, value_name = "ADDR", requires_all = ["webhook_cert", "webhook_key"])]
    pub webhook_listen: Option<std::net::SocketAddr>,
    /// The webhook's serving certificate (PEM; reloaded when it changes).
    #[arg(long, value_name = "FILE")]
    pub webhook_cert: Option<PathBuf>,
    /// The webhook's private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub webhook_key: Option<PathBuf>,
    /// Bound on one admission review's plugin work; keep it under the
    /// webhook configuration's timeoutSeconds.
    #[arg(long, default_value = "5s", value_parser = super::parse_duration)]
    pub webhook_deadline: std::time::Duration,
    /// The ValidatingWebhookConfiguration and MutatingWebhookConfiguration
    /// (both of this name) whose service webhooks (`validate.naas.io`,
    /// `mutate.naas.io`) get their rules set to the served kinds; `""` to
    /// leave them alone.
    #[arg(long, default_value = "naas", value_name = "NAME")]
    pub webhook_configuration: String,
    /// Serve `/metrics`, `/healthz` and `/readyz` over plain HTTP on this
    /// address, e.g. `0.0.0.0:8080`.
    #[arg(long, value_name = "ADDR")]
    pub ops_listen: Option<std::net::SocketAddr>,
    /// Reconcile only while holding the Lease `--lease-name` in the
    /// operator's namespace (run several replicas; one leads). Admission
    /// and the operations endpoints serve on every replica.
    #[arg(long)]
    pub leader_election: bool,
    /// The Lease of leader election.
    #[arg(long, default_value = "naas-operator")]
    pub lease_name: String,
    /// This replica's identity in the Lease. Default: $POD_NAME, else host name and pid.
    #[arg(long)]
    pub lease_identity: Option<String>,
    /// How long the Lease lasts without renewal before another replica takes it.
    #[arg(long, default_value = "15s", value_parser = super::parse_duration)]
    pub lease_duration: std::time::Duration,
    /// How long the leader keeps leading without renewing (under `--lease-duration`).
    #[arg(long, default_value = "10s", value_parser = super::parse_duration)]
    pub renew_deadline: std::time::Duration,
    /// How often candidates try to take the Lease and the leader renews it.
    #[arg(long, default_value = "2s", value_parser = super::parse_duration)]
    pub retry_period: std::time::Duration,
    /// After SIGTERM or SIGINT, how long reconciles in flight (pushes) may
    /// take to finish before they are abandoned (keep it under the Pod's
    /// terminationGracePeriodSeconds).
    #[arg(long, default_value = "25s", value_parser = super::parse_duration)]
    pub shutdown_timeout: std::time::Duration,
}

/// The host's CRDs as (file name, YAML).
///
/// # Errors
/// When a CRD cannot be serialised (never, in practice).
pub fn crds() -> Result<Vec<(String, String)>, CliError> {
    [Plugin::crd(), Device::crd()]
        .into_iter()
        .map(|crd| {
            let name = format!("{}.yaml", crd.metadata.name.clone().unwrap_or_default());
            serde_yaml_ng::to_string(&crd)
                .map(|y| (name, y))
                .map_err(|e| CliError::Output(e.to_string()))
        })
        .collect()
}

pub(super) fn run_crds(args: &CrdsArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let crds = crds()?;
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::Output(format!("cannot create {}: {e}", dir.display())))?;
            for (name, yaml) in crds {
                let path = dir.join(&name);
                std::fs::write(&path, yaml).map_err(|e| {
                    CliError::Output(format!("cannot write {}: {e}", path.display()))
                })?;
                writeln!(out, "{}", path.display())?;
            }
        }
        None => {
            for (_, yaml) in crds {
                write!(out, "---\n{yaml}")?;
            }
        }
    }
    Ok(())
}

pub(super) async fn run_operator(cli: &Cli, args: &OperatorArgs) -> Result<(), CliError> {
    let client = kube::Client::try_default().await.map_err(|e| {
        CliError::Output(format!(
            "cannot reach the Kubernetes API (KUBECONFIG or in-cluster config): {e}"
        ))
    })?;
    let runtime = cli.runtime()?;
    let cache = if cli.no_cache {
        None
    } else {
        cli.cache_dir.clone().or_else(super::default_cache_dir)
    };
    let scratch = std::env::temp_dir().join(format!("naas-operator-{}", std::process::id()));
    let driver: Arc<dyn crate::driver::Driver> = match args.driver {
        DriverChoice::Devices => Arc::new(DeviceDriver::default()),
        DriverChoice::Memory => Arc::new(MemoryDriver::new()),
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let leader_election = args.leader_election.then(|| LeaseConfig {
        retry_period: args.retry_period,
        renew_deadline: args.renew_deadline,
        lease_duration: args.lease_duration,
        ..LeaseConfig::new(
            &args.lease_name,
            &args.namespace,
            &args
                .lease_identity
                .clone()
                .unwrap_or_else(operator::default_identity),
        )
    });
    let run = operator::run(
        client,
        OperatorConfig {
            namespace: args.namespace.clone(),
            runtime,
            oci_cache: cache.map(|c| c.join("oci")),
            scratch_dir: scratch,
            driver,
            webhook: args.webhook_listen.map(|listen| operator::WebhookConfig {
                listen,
                tls: crate::admission::TlsFiles {
                    cert: args.webhook_cert.clone().unwrap_or_default(),
                    key: args.webhook_key.clone().unwrap_or_default(),
                },
                deadline: args.webhook_deadline,
            }),
            ops_listen: args.ops_listen,
            webhook_configuration: Some(args.webhook_configuration.clone())
                .filter(|n| !n.is_empty()),
            leader_election,
            shutdown: shutdown.clone(),
        },
    );
    tokio::pin!(run);
    let abandon = async {
        shutdown.cancelled().await;
        tokio::time::sleep(args.shutdown_timeout).await;
    };
    tokio::select! {
        r = &mut run => r.map_err(|e| CliError::Output(e.to_string())),
        () = abandon => {
            tracing::warn!(
                "reconciles still running after --shutdown-timeout {:?}: abandoned",
                args.shutdown_timeout
            );
            Ok(())
        }
    }
}

/// Cancels `token` on SIGTERM (a Pod being stopped) or SIGINT (Ctrl-C).
async fn cancel_on_signal(token: tokio_util::sync::CancellationToken) {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("stopping: no new reconcile starts; those in flight finish");
    token.cancel();
}
