//! Runs the operator in-process for the e2e suite and the operator benchmark: the driver given (in-memory or real devices), the tests' compiled-plugin cache.

use std::path::Path;
use std::sync::Arc;

use kube::Client;
use naas::driver::Driver;
use naas::operator::{self, OperatorConfig};
use naas::runtime::{Runtime, RuntimeConfig};

/// Starts `naas operator` (namespace `naas-system`) on `client`, pushing
/// through `driver`, with its scratch and OCI cache under `dir`.
pub fn start_operator(
    client: &Client,
    driver: Arc<dyn Driver>,
    dir: &Path,
) -> tokio::task::JoinHandle<Result<(), operator::Error>> {
    start_operator_with(client, driver, dir, None)
}

/// [`start_operator`], serving the admission webhook as `webhook` says.
pub fn start_operator_with(
    client: &Client,
    driver: Arc<dyn Driver>,
    dir: &Path,
    webhook: Option<operator::WebhookConfig>,
) -> tokio::task::JoinHandle<Result<(), operator::Error>> {
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: Some(crate::common::target_dir().join("naas-test-cache")),
        ..RuntimeConfig::default()
    })
    .unwrap();
    tokio::spawn(operator::run(
        client.clone(),
        OperatorConfig {
            namespace: "naas-system".into(),
            runtime,
            oci_cache: Some(dir.join("oci")),
            scratch_dir: dir.join("scratch"),
            driver,
            webhook,
        },
    ))
}

/// Pushes the component at `component` to `image` on the plain-HTTP
/// registry `host`, through `naas plugin push`, as a vendor does.
pub fn push_plugin(host: &str, component: &Path, image: &str) {
    let push = std::process::Command::new(env!("CARGO_BIN_EXE_naas"))
        .args(["--insecure-registry", host, "plugin", "push"])
        .arg(component)
        .arg(image)
        .output()
        .unwrap();
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
}

/// The cluster's admin kubeconfig and a client for it.
pub async fn connect(cluster: &crate::control_plane::Cluster) -> (std::path::PathBuf, Client) {
    let kubeconfig = cluster.kubeconfig().to_path_buf();
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&kubeconfig).unwrap(),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    (kubeconfig, Client::try_from(config).unwrap())
}
