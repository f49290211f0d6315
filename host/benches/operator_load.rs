//! Operator throughput on a real API server: N AccessPorts services applied, time until all are Ready, against the API server's own floor (N bare creates + N status patches with the same client) measured in the same run; and the process's resident memory.
//!
//! `cargo bench -p naas --bench operator_load` (N = 100 and 1000). Under
//! `cargo test` it runs N = 10 once, as a smoke test. Needs the e2e control
//! plane (see tests/e2e); without one it says so and does nothing.

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/e2e/control_plane.rs"]
mod control_plane;
#[path = "../../tests/e2e/harness.rs"]
mod harness;
#[path = "../../tests/common/registry.rs"]
mod registry_support;

use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
};
use kube::runtime::WatchStreamExt;
use kube::{Client, CustomResourceExt};
use naas::driver::MemoryDriver;
use naas::operator::{Device, Plugin};
use serde_json::json;

/// Requests in flight at once, for the floor and for applying services.
const CONCURRENCY: usize = 8;

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds used so far by this process's children (etcd and
/// kube-apiserver when the bench started them), from /proc.
fn control_plane_cpu() -> f64 {
    let tick = 100.0; // USER_HZ on Linux
    let me = std::process::id();
    let children: Vec<String> = std::fs::read_dir(format!("/proc/{me}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| c.split_whitespace().map(String::from).collect::<Vec<_>>())
        .collect();
    children
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| {
            // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
            let rest = stat.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
        })
        .sum::<f64>()
        / tick
}

async fn create_all(api: &Api<DynamicObject>, docs: Vec<serde_json::Value>) {
    stream::iter(docs)
        .for_each_concurrent(CONCURRENCY, |doc| async move {
            let obj: DynamicObject = serde_json::from_value(doc).unwrap();
            api.create(&PostParams::default(), &obj).await.unwrap();
        })
        .await;
}

/// The API server's floor: N creates, then N status merge-patches.
async fn floor(client: &Client, n: usize, round: usize) -> Duration {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("bench.naas.io", "v1", "Floor"),
        "floors",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "bench", &ar);
    let docs = (0..n)
        .map(|i| json!({"apiVersion": "bench.naas.io/v1", "kind": "Floor", "metadata": {"name": format!("f{round}-{i}")}, "spec": {"i": i}}))
        .collect();
    let started = Instant::now();
    create_all(&api, docs).await;
    stream::iter(0..n)
        .for_each_concurrent(CONCURRENCY, |i| {
            let api = api.clone();
            async move {
                let patch = json!({"status": {"ready": true}});
                api.patch_status(
                    &format!("f{round}-{i}"),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
                .unwrap();
            }
        })
        .await;
    started.elapsed()
}

fn is_ready(s: &DynamicObject) -> bool {
    s.data["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// Returns once `want` services are Ready, as a watch sees them (a watch,
/// not a poll: listing every service every 100 ms would load the API
/// server and this process more than the operator does at N = 1000).
async fn ready_count(api: Api<DynamicObject>, want: usize) {
    let mut ready = std::collections::HashSet::new();
    let mut changes = std::pin::pin!(
        kube::runtime::watcher(api, kube::runtime::watcher::Config::default()).default_backoff()
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1800);
    while ready.len() < want {
        let event = tokio::time::timeout_at(deadline, changes.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {want} services Ready", ready.len()));
        let objects = match event {
            Some(Ok(
                kube::runtime::watcher::Event::Apply(o)
                | kube::runtime::watcher::Event::InitApply(o),
            )) => vec![o],
            Some(Ok(_)) => Vec::new(),
            Some(Err(e)) => panic!("watching services: {e}"),
            None => panic!("the watch ended"),
        };
        for s in objects {
            let name = s.metadata.name.clone().unwrap_or_default();
            if is_ready(&s) {
                ready.insert(name);
            } else {
                ready.remove(&name);
            }
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NAAS_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .try_init();
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if full { &[100, 1000] } else { &[10] };
    let Some(cluster) = control_plane::Cluster::find() else {
        return;
    };
    naas::oci::install_crypto_provider();
    let (_, client) = harness::connect(&cluster).await;

    // The host CRDs and a CRD for the floor.
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> = Api::all(client.clone());
    let floor_crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "floors.bench.naas.io"},
        "spec": {"group": "bench.naas.io", "scope": "Namespaced", "names": {"kind": "Floor", "plural": "floors"},
                 "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]},
    });
    for crd in [
        serde_json::to_value(Plugin::crd()).unwrap(),
        serde_json::to_value(Device::crd()).unwrap(),
        floor_crd,
    ] {
        let name = crd["metadata"]["name"].as_str().unwrap().to_string();
        crds.patch(
            &name,
            &PatchParams::apply("bench").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap();
    }
    harness::create_namespaces(&client, &["naas-system", "bench", "tenant-a"]).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // CRDs established

    let registry = registry_support::Registry::start();
    let image = format!("{}/naas/access-ports:bench", registry.host());
    harness::create_credentials(&client, "creds", "u", "p").await;
    let devices: Api<Device> = Api::all(client.clone());
    for d in 0..10 {
        let dev: Device = serde_json::from_value(json!({"metadata": {"name": format!("leaf{d}")}, "spec": {
            "address": "192.0.2.1", "platform": "eos", "credentialsSecretRef": {"name": "creds"},
            "insecureSkipHostKeyVerification": true, "tenants": [{"namespace": "tenant-a", "ports": ["Ethernet1-120"]}]}}))
        .unwrap();
        devices.create(&PostParams::default(), &dev).await.unwrap();
    }
    let component = common::plugin_path("access_ports");
    harness::install_plugin(
        &client,
        &registry.host(),
        &component,
        &image,
        "access-ports",
    )
    .await;

    let cache = tempfile::tempdir().unwrap();
    let op = harness::start_operator(
        &client,
        std::sync::Arc::new(MemoryDriver::new()),
        cache.path(),
    );
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("network.naas.io", "v1alpha1", "AccessPorts"),
        "accessports",
    );
    let services: Api<DynamicObject> = Api::namespaced_with(client.clone(), "tenant-a", &ar);
    // Wait for the plugin's kind to be served.
    let deadline = Instant::now() + Duration::from_secs(120);
    while services
        .list(&ListParams::default().limit(1))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the AccessPorts kind was never served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // One service through, so that the measured runs start warm.
    create_all(
        &services,
        vec![
            json!({"apiVersion": "network.naas.io/v1alpha1", "kind": "AccessPorts",
        "metadata": {"name": "warm-up", "namespace": "tenant-a"},
        "spec": {"device": "leaf0", "ports": "Ethernet120", "vlan": 99}}),
        ],
    )
    .await;
    while !services.get("warm-up").await.is_ok_and(|s| is_ready(&s)) {
        assert!(
            Instant::now() < deadline,
            "the warm-up service never became Ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    println!("naas operator load ({CONCURRENCY} requests in flight; 10 devices; in-memory driver)");
    let mut offset = 0;
    for (round, &n) in sizes.iter().enumerate() {
        let cpu = control_plane_cpu();
        let floor_time = floor(&client, n, round).await;
        let floor_cpu = control_plane_cpu() - cpu;
        let docs = (0..n)
            .map(|i| {
                let id = offset + i;
                json!({"apiVersion": "network.naas.io/v1alpha1", "kind": "AccessPorts",
                       "metadata": {"name": format!("svc-{id}"), "namespace": "tenant-a"},
                       "spec": {"device": format!("leaf{}", id % 10), "ports": format!("Ethernet{}", id / 10 + 1), "vlan": 100 + id % 1000}})
            })
            .collect();
        // offset + n measured services, and the warm-up one.
        let all_ready = tokio::spawn(ready_count(services.clone(), offset + n + 1));
        let started = Instant::now();
        let cpu = control_plane_cpu();
        create_all(&services, docs).await;
        all_ready.await.unwrap();
        let took = started.elapsed();
        let services_cpu = control_plane_cpu() - cpu;
        let (svc_rate, floor_rate) = (
            n as f64 / took.as_secs_f64(),
            n as f64 / floor_time.as_secs_f64(),
        );
        println!(
            "N={n:>5}: all Ready in {:>7.2} s = {svc_rate:>7.1} services/s; API floor (create + status patch) {floor_rate:>7.1}/s; ratio {:.0}%; RSS {:.0} MiB",
            took.as_secs_f64(),
            100.0 * svc_rate / floor_rate,
            rss_mib()
        );
        println!(
            "         control plane CPU: {:.2} ms per service, {:.2} ms per floor create + patch",
            1000.0 * services_cpu / n as f64,
            1000.0 * floor_cpu / n as f64
        );
        offset += n;
    }
    op.abort();
    drop(cluster);
}
