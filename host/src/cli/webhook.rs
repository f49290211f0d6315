//! `naas webhook certs`: make the admission webhook's CA and serving certificate Secret and patch the CA into the webhook configurations.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::CliError;
use crate::admission::certs::{self, Install};

/// `naas webhook …`.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Make a CA and the webhook's serving certificate, store them in a
    /// `kubernetes.io/tls` Secret (kept if it exists, unless --renew), and
    /// set the CA as `caBundle` of the webhook configurations. For clusters
    /// without cert-manager.
    Certs(CertsArgs),
}

/// Arguments of `naas webhook certs`.
#[derive(Debug, Clone, Args)]
pub struct CertsArgs {
    /// The operator's namespace (the Secret's and the Service's).
    #[arg(long, env = "NAAS_NAMESPACE", default_value = "naas-system")]
    pub namespace: String,
    /// The Service the API server calls the webhook through.
    #[arg(long, default_value = "naas")]
    pub service: String,
    /// The Secret to write (mounted by the Deployment as the serving cert).
    #[arg(long, default_value = "naas-webhook-tls")]
    pub secret: String,
    /// The Validating/MutatingWebhookConfiguration (both of this name) to set `caBundle` in.
    #[arg(long, default_value = "naas")]
    pub configuration: String,
    /// Another name or IP address the certificate is for (repeatable; the
    /// Service's DNS names are always in).
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,
    /// How long the certificates are valid.
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// Make new certificates even when the Secret holds some.
    #[arg(long)]
    pub renew: bool,
    /// Also write `tls.crt`, `tls.key` and `ca.crt` here (for an operator
    /// run outside the cluster).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub(super) async fn run(cmd: &WebhookCommand, out: &mut dyn Write) -> Result<(), CliError> {
    let WebhookCommand::Certs(args) = cmd;
    let client = kube::Client::try_default().await.map_err(|e| {
        CliError::Output(format!(
            "cannot reach the Kubernetes API (KUBECONFIG or in-cluster config): {e}"
        ))
    })?;
    let mut hosts = certs::service_names(&args.service, &args.namespace);
    hosts.extend(args.hosts.iter().cloned());
    let to = Install {
        namespace: args.namespace.clone(),
        secret: args.secret.clone(),
        configuration: args.configuration.clone(),
    };
    let mut made = None;
    let installed = certs::install(&client, &to, args.renew, || {
        let c = certs::generate(&hosts, args.days)?;
        made = Some(c.clone());
        Ok(c)
    })
    .await
    .map_err(|e| CliError::Output(e.to_string()))?;
    let secret = format!("Secret {}/{}", args.namespace, args.secret);
    if installed.written {
        writeln!(
            out,
            "{secret}: new CA and serving certificate for {}",
            hosts.join(", ")
        )?;
    } else {
        writeln!(
            out,
            "{secret}: kept (it holds a certificate; --renew makes new ones)"
        )?;
    }
    for p in &installed.patched {
        writeln!(out, "{p}: caBundle set")?;
    }
    if installed.patched.is_empty() {
        writeln!(
            out,
            "no webhook configuration {} yet: run this again after `kubectl apply -k deploy/`",
            args.configuration
        )?;
    }
    if let Some(dir) = &args.out {
        let Some(c) = made else {
            return Err(CliError::Output(format!(
                "--out: the certificates in {secret} were kept, not made here; pass --renew to make and write new ones"
            )));
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::Output(format!("cannot create {}: {e}", dir.display())))?;
        for (name, text) in [("tls.crt", &c.cert), ("tls.key", &c.key), ("ca.crt", &c.ca)] {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .map_err(|e| CliError::Output(format!("cannot write {}: {e}", path.display())))?;
        }
        writeln!(out, "wrote tls.crt, tls.key, ca.crt to {}", dir.display())?;
    }
    Ok(())
}
