//! The README's "Run it on a cluster" walk-through on the real API server, with the files of `examples/cluster/`, through kubectl.

use std::time::Duration;

use naas::driver::MemoryDriver;

use crate::control_plane::Cluster;
use crate::{common, eventually, harness, kubectl, registry_support};

/// The README's "Run it on a cluster" walk-through, with the files of
/// `examples/cluster/` (their registry pointed at this run's), through kubectl.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_readme_walkthrough_with_the_bundled_examples() {
    let Some(cluster) = Cluster::find() else {
        return;
    };
    if matches!(cluster, Cluster::External(_)) {
        eprintln!(
            "e2e: the examples walk-through needs a control plane of its own; not run on NAAS_E2E_KUBECONFIG"
        );
        return;
    }
    let (kubeconfig, client) = harness::connect(&cluster).await;
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(kubectl(&kubeconfig, &["apply", "-k", "crds/"]));

    let registry = registry_support::Registry::start();
    let host = registry.host();
    for plugin in ["access_ports", "bgp_peering"] {
        let image = format!("{host}/net/{}:0.1.0", plugin.replace('_', "-"));
        harness::push_plugin(&host, &common::plugin_path(plugin), &image);
    }
    let dir = tempfile::tempdir().unwrap();
    let examples = common::repo_root().join("examples/cluster");
    let plugins_yaml = std::fs::read_to_string(examples.join("10-plugins.yaml"))
        .unwrap()
        .replace(
            "image: registry.example:5000/",
            &format!("insecureRegistry: true\n  image: {host}/"),
        );
    let plugins_file = dir.path().join("10-plugins.yaml");
    std::fs::write(&plugins_file, plugins_yaml).unwrap();
    let example = |f: &str| examples.join(f).display().to_string();
    ok(kubectl(
        &kubeconfig,
        &[
            "apply",
            "-f",
            &example("00-namespaces.yaml"),
            "-f",
            plugins_file.to_str().unwrap(),
            "-f",
            &example("20-devices.yaml"),
        ],
    ));

    let driver = MemoryDriver::new();
    let op = harness::start_operator(&client, std::sync::Arc::new(driver.clone()), dir.path());
    ok(kubectl(
        &kubeconfig,
        &[
            "wait",
            "--for=condition=Ready",
            "plugin",
            "--all",
            "--timeout=120s",
        ],
    ));
    ok(kubectl(
        &kubeconfig,
        &["apply", "-f", &example("30-services.yaml")],
    ));
    let within = Duration::from_secs(90);
    for (plural, name, device, line) in [
        (
            "accessports",
            "web-servers",
            "leaf1",
            "interface Ethernet7\n",
        ),
        ("bgppeerings", "upstream", "border1", "router bgp 65001\n"),
    ] {
        let out = kubectl(
            &kubeconfig,
            &[
                "wait",
                "--for=condition=Ready",
                "-n",
                "tenant-a",
                &format!("{plural}/{name}"),
                "--timeout=90s",
            ],
        );
        ok(out);
        eventually(&format!("{device} configured"), within, || async {
            driver.running(device).contains(line).then_some(())
        })
        .await;
    }
    let listed = ok(kubectl(&kubeconfig, &["get", "naas", "-A"]));
    assert!(
        listed.contains("web-servers") && listed.contains("upstream"),
        "{listed}"
    );
    op.abort();
    drop(cluster);
}
