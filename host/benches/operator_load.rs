//! Operator throughput on a real API server: N AccessPorts services applied, time until all are Ready, against the API server's own floor (N bare creates + N status patches with the same client) measured in the same run; and the process's resident memory.
//!
//! `cargo bench -p naas --bench operator_load` (N = 100 and 1000). Under
//! `cargo test` it runs N = 10 once, as a smoke test. Needs the e2e control
//! plane (see tests/e2e); without one it says so and does nothing.

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/e2e/control_plane.rs"]
mod control_plane;
#[allow(dead_code)] // start_operator: the bench serves the webhook too
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

/// CPU seconds used so far by this process's children (etcd,
/// kube-apiserver and kube-controller-manager when the bench started
/// them), by command name, from /proc.
fn control_plane_cpu() -> std::collections::BTreeMap<String, f64> {
    let tick = 100.0; // USER_HZ on Linux
    let me = std::process::id();
    let children: Vec<String> = std::fs::read_dir(format!("/proc/{me}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| c.split_whitespace().map(String::from).collect::<Vec<_>>())
        .collect();
    let mut by_name = std::collections::BTreeMap::new();
    for stat in children
        .iter()
        .map(String::as_str)
        .chain(["self"])
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
    {
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let name = head.split_once('(').map_or("", |(_, n)| n);
        // This process: the operator and the bench's own client.
        let name = if name.starts_with("operator_load") {
            "operator+bench"
        } else {
            name
        }
        .to_string();
        // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
        let f: Vec<&str> = rest.split_whitespace().collect();
        let cpu = [11, 12]
            .iter()
            .filter_map(|&i| f.get(i)?.parse::<f64>().ok())
            .sum::<f64>();
        *by_name.entry(name).or_insert(0.0) += cpu / tick;
    }
    by_name
}

/// CPU milliseconds per item between two [`control_plane_cpu`]: the total, and by process.
fn cpu_per(
    before: &std::collections::BTreeMap<String, f64>,
    after: &std::collections::BTreeMap<String, f64>,
    n: usize,
) -> (f64, String) {
    let per: Vec<(String, f64)> = after
        .iter()
        .map(|(k, v)| {
            let ms = 1000.0 * (v - before.get(k).copied().unwrap_or(0.0)) / n as f64;
            (k.clone(), ms)
        })
        .collect();
    let total = per.iter().map(|(_, ms)| ms).sum();
    let parts = per
        .iter()
        .filter(|(_, ms)| *ms >= 0.005)
        .map(|(k, ms)| format!("{k} {ms:.2}"))
        .collect::<Vec<_>>()
        .join(", ");
    (total, parts)
}

/// The API server's request counts so far, by verb and resource (with
/// subresource), from its own `/metrics` (`apiserver_request_total`).
async fn api_requests(client: &Client) -> std::collections::BTreeMap<String, f64> {
    let request = axum::http::Request::get("/metrics")
        .body(Vec::new())
        .unwrap();
    let text = client.request_text(request).await.unwrap_or_default();
    let mut counts = std::collections::BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
    {
        let Some((labels, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let label = |name: &str| {
            labels
                .split(&format!("{name}=\""))
                .nth(1)
                .and_then(|v| v.split('"').next())
                .unwrap_or("")
                .to_string()
        };
        let (verb, resource, sub) = (label("verb"), label("resource"), label("subresource"));
        if verb == "WATCH" || verb == "CONNECT" {
            continue;
        }
        let key = if sub.is_empty() {
            format!("{verb} {resource}")
        } else {
            format!("{verb} {resource}/{sub}")
        };
        *counts.entry(key).or_insert(0.0) += value.parse::<f64>().unwrap_or(0.0);
    }
    counts
}

/// What changed between two [`api_requests`], per service.
fn requests_per(
    before: &std::collections::BTreeMap<String, f64>,
    after: &std::collections::BTreeMap<String, f64>,
    n: usize,
) -> String {
    after
        .iter()
        .filter_map(|(k, v)| {
            let d = v - before.get(k).copied().unwrap_or(0.0);
            (d / n as f64 >= 0.01).then(|| format!("{k} {:.2}", d / n as f64))
        })
        .collect::<Vec<_>>()
        .join(", ")
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

/// Applies `n` services (names `svc-{offset}`…) in `services`' namespace,
/// spread over `devices`, and prints the time until all are Ready next to
/// the floor, CPU per service by process, and API requests per service.
struct Round<'a> {
    client: &'a Client,
    services: &'a Api<DynamicObject>,
    namespace: &'a str,
    devices: std::ops::Range<usize>,
}

impl Round<'_> {
    async fn run(&self, n: usize, offset: usize, already_ready: usize, floor_round: usize) {
        let cpu = control_plane_cpu();
        let floor_time = floor(self.client, n, floor_round).await;
        let floor_cpu = cpu_per(&cpu, &control_plane_cpu(), n);
        let width = self.devices.len();
        let docs = (0..n)
            .map(|i| {
                let id = offset + i;
                json!({"apiVersion": "network.naas.io/v1alpha1", "kind": "AccessPorts",
                       "metadata": {"name": format!("svc-{id}"), "namespace": self.namespace},
                       "spec": {"device": format!("leaf{}", self.devices.start + id % width),
                                "ports": format!("Ethernet{}", id / width + 1), "vlan": 100 + id % 1000}})
            })
            .collect();
        let all_ready = tokio::spawn(ready_count(self.services.clone(), already_ready + n));
        let started = Instant::now();
        let cpu = control_plane_cpu();
        let requests = api_requests(self.client).await;
        let reused = naas::metrics::global().evaluations_reused();
        create_all(self.services, docs).await;
        all_ready.await.unwrap();
        let took = started.elapsed();
        let services_cpu = cpu_per(&cpu, &control_plane_cpu(), n);
        let per_service = requests_per(&requests, &api_requests(self.client).await, n);
        let reused = naas::metrics::global().evaluations_reused() - reused;
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
            "         CPU: {:.2} ms per service ({}); {:.2} ms per floor create + patch ({})",
            services_cpu.0, services_cpu.1, floor_cpu.0, floor_cpu.1
        );
        println!("         API requests per service: {per_service}");
        println!(
            "         evaluations the operator reused from its webhook: {:.2} per service",
            reused as f64 / n as f64
        );
    }
}

/// Registers the admission webhooks as deploy/ does (configurations
/// `naas`, webhooks without rules: the operator sets them), served on
/// `port` with the CA in `dir`, and waits until the operator set the rules.
async fn register_webhooks(client: &Client, port: u16, dir: &std::path::Path) {
    use base64::Engine;
    use k8s_openapi::api::admissionregistration::v1::{
        MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
    };
    let ca = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(dir.join("ca.crt")).unwrap());
    let hook = |path: &str| {
        json!({
            "name": format!("{}.naas.io", &path[1..]),
            "clientConfig": {"url": format!("https://127.0.0.1:{port}{path}"), "caBundle": ca},
            "failurePolicy": "Fail", "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "matchPolicy": "Equivalent", "timeoutSeconds": 10,
        })
    };
    let validating: ValidatingWebhookConfiguration = serde_json::from_value(
        json!({"metadata": {"name": "naas"}, "webhooks": [hook("/validate")]}),
    )
    .unwrap();
    let mutating: MutatingWebhookConfiguration = serde_json::from_value(
        json!({"metadata": {"name": "naas"}, "webhooks": [hook("/mutate")]}),
    )
    .unwrap();
    let vapi: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let mapi: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    vapi.create(&PostParams::default(), &validating)
        .await
        .unwrap();
    mapi.create(&PostParams::default(), &mutating)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = vapi.get("naas").await.unwrap();
        let m = mapi.get("naas").await.unwrap();
        let has_rules = |rules: Option<&Vec<_>>| rules.is_some_and(|r| !r.is_empty());
        if v.webhooks
            .iter()
            .flatten()
            .all(|w| has_rules(w.rules.as_ref()))
            && m.webhooks
                .iter()
                .flatten()
                .all(|w| has_rules(w.rules.as_ref()))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the operator never set the webhooks' rules"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates one service and waits until it is Ready (connections open,
/// caches warm), so that the measured runs start warm.
async fn warm_up(services: &Api<DynamicObject>, namespace: &str, device: &str) {
    create_all(
        services,
        vec![
            json!({"apiVersion": "network.naas.io/v1alpha1", "kind": "AccessPorts",
            "metadata": {"name": "warm-up", "namespace": namespace},
            "spec": {"device": device, "ports": "Ethernet120", "vlan": 99}}),
        ],
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !services.get("warm-up").await.is_ok_and(|s| is_ready(&s)) {
        assert!(
            Instant::now() < deadline,
            "the warm-up service in {namespace} never became Ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
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
    harness::create_namespaces(&client, &["naas-system", "bench", "tenant-a", "tenant-b"]).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // CRDs established

    let registry = registry_support::Registry::start();
    let image = format!("{}/naas/access-ports:bench", registry.host());
    harness::create_credentials(&client, "creds", "u", "p").await;
    // Ten devices per phase, so that each phase starts with empty records.
    let devices: Api<Device> = Api::all(client.clone());
    for d in 0..20 {
        let tenant = if d < 10 { "tenant-a" } else { "tenant-b" };
        let dev: Device = serde_json::from_value(json!({"metadata": {"name": format!("leaf{d}")}, "spec": {
            "address": "192.0.2.1", "platform": "eos", "credentialsSecretRef": {"name": "creds"},
            "insecureSkipHostKeyVerification": true, "tenants": [{"namespace": tenant, "ports": ["Ethernet1-120"]}]}}))
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

    // The operator, serving its admission webhook (registered for the second phase).
    let dir = tempfile::tempdir().unwrap();
    common::tls_certificates(dir.path());
    let port = control_plane::free_port();
    let webhook = naas::operator::WebhookConfig {
        listen: format!("127.0.0.1:{port}").parse().unwrap(),
        tls: naas::admission::TlsFiles {
            cert: dir.path().join("tls.crt"),
            key: dir.path().join("tls.key"),
        },
        deadline: Duration::from_secs(5),
    };
    let op = harness::start_operator_with(
        &client,
        std::sync::Arc::new(MemoryDriver::new()),
        dir.path(),
        Some(webhook),
    );
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("network.naas.io", "v1alpha1", "AccessPorts"),
        "accessports",
    );
    let in_a: Api<DynamicObject> = Api::namespaced_with(client.clone(), "tenant-a", &ar);
    let in_b: Api<DynamicObject> = Api::namespaced_with(client.clone(), "tenant-b", &ar);
    // Wait for the plugin's kind to be served.
    let deadline = Instant::now() + Duration::from_secs(120);
    while in_a.list(&ListParams::default().limit(1)).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the AccessPorts kind was never served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    println!("naas operator load ({CONCURRENCY} requests in flight; 10 devices; in-memory driver)");
    let phases = [
        (
            "the operator alone (no admission webhooks)",
            "tenant-a",
            &in_a,
            0..10,
        ),
        (
            "with its admission webhooks, as deploy/ installs them (validate + mutate; the finalizer added at creation)",
            "tenant-b",
            &in_b,
            10..20,
        ),
    ];
    let mut floor_round = 0;
    for (p, (label, namespace, services, devices)) in phases.into_iter().enumerate() {
        if p == 1 {
            register_webhooks(&client, port, dir.path()).await;
        }
        println!("{label}:");
        warm_up(services, namespace, &format!("leaf{}", devices.start)).await;
        let round = Round {
            client: &client,
            services,
            namespace,
            devices,
        };
        let mut offset = 0;
        for &n in sizes {
            // offset + n measured services, and the warm-up one.
            round.run(n, offset, offset + 1, floor_round).await;
            offset += n;
            floor_round += 1;
        }
    }
    op.abort();
    drop(cluster);
}
