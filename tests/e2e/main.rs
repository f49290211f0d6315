//! The operator against a real Kubernetes API (etcd + kube-apiserver started here, or `NAAS_E2E_KUBECONFIG`): CRDs, a Plugin from a real registry, Devices, services reconciled through the pipeline into the in-memory driver.

mod coalesce;
#[path = "../common/mod.rs"]
mod common;
mod control_plane;
mod deploy;
mod drift;
mod forbidden;
mod frr;
mod harness;
mod leader;
#[path = "../../drivers/tests/peers/mod.rs"]
mod peers;
#[path = "../common/registry.rs"]
mod registry_support;
mod templates;
mod walkthrough;
mod webhook;

use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use naas::driver::MemoryDriver;
use naas::operator::{Device, Plugin};
use serde_json::json;

use control_plane::Cluster;
use harness::kubectl;

/// Polls `check` until it returns `Some`, for at most `within` (far above
/// the normal few seconds); `state` says what was seen, for the failure.
async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() > deadline {
            let seen = LAST_SEEN.lock().unwrap().clone();
            panic!("timed out after {within:?} waiting for {what}; last seen: {seen}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What the last poll saw, for failure messages.
static LAST_SEEN: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

fn seen(v: &serde_json::Value) -> &serde_json::Value {
    *LAST_SEEN.lock().unwrap() = v.to_string();
    v
}

/// How long RBAC changes may take to reach the authorizer.
fn within_rbac() -> Duration {
    Duration::from_secs(30)
}

fn ready_of(status: &serde_json::Value) -> Option<(String, String, String)> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_string(),
                c["reason"].as_str().unwrap_or_default().to_string(),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
}

/// Deletes `name` and waits until it is gone (its finalizers have run).
async fn delete_and_wait<K>(api: &Api<K>, name: &str, within: Duration)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.delete(name, &DeleteParams::default()).await.unwrap();
    eventually(&format!("{name} deleted"), within, || async {
        api.get_opt(name).await.ok()?.is_none().then_some(())
    })
    .await;
}

/// Applies AccessPorts `name` in tenant-a, as a tenant would (server-side apply).
async fn apply_ports(
    api: &Api<DynamicObject>,
    name: &str,
    spec: serde_json::Value,
    annotations: serde_json::Value,
) {
    let doc = json!({
        "apiVersion": "network.naas.io/v1alpha1", "kind": "AccessPorts",
        "metadata": {"name": name, "namespace": "tenant-a", "annotations": annotations},
        "spec": spec,
    });
    api.patch(
        name,
        &PatchParams::apply("e2e-test").force(),
        &Patch::Apply(&doc),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operator_serves_plugin_kinds_and_reconciles_services() {
    forbidden::init_logs();
    let Some(cluster) = Cluster::find() else {
        return;
    };
    // The host CRDs, as a platform team installs them.
    let (kubeconfig, client) = harness::connect_with_crds(&cluster).await;

    // The plugin, pushed to a real registry.
    let registry = registry_support::Registry::start();
    let host = registry.host();
    let image = format!("{host}/naas/access-ports:0.1.0");
    harness::push_plugin(&host, &common::plugin_path("access_ports"), &image);

    // Namespaces, the device credentials, Devices and the Plugin.
    harness::create_namespaces(&client, &["naas-system", "tenant-a", "tenant-b"]).await;
    harness::create_credentials(&client, "leaf-credentials", "naas", "not-a-real-password").await;
    // The operator runs as its ServiceAccount with deploy/'s RBAC (as
    // `kubectl --as`): the whole scenario below passes with exactly those
    // permissions (a 403 anywhere fails a step).
    let out = kubectl(
        &kubeconfig,
        &[
            "apply",
            "-f",
            "deploy/serviceaccount.yaml",
            "-f",
            "deploy/rbac/operator.yaml",
            "-f",
            "deploy/rbac/group-network.naas.io.yaml",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let operator_client =
        harness::connect_as(&cluster, "system:serviceaccount:naas-system:naas").await;
    // The authorizer has the new bindings (it reads them from a watch).
    eventually("the operator's RBAC in force", within_rbac(), || async {
        let out = kubectl(
            &kubeconfig,
            &[
                "auth",
                "can-i",
                "list",
                "plugins.naas.io",
                "--as",
                "system:serviceaccount:naas-system:naas",
            ],
        );
        out.status.success().then_some(())
    })
    .await;
    let devices: Api<Device> = Api::all(client.clone());
    for (name, platform, tenants) in [
        (
            "leaf1",
            "eos",
            json!([{"namespace": "tenant-a", "ports": ["Ethernet1-8"]}, {"namespace": "tenant-b", "ports": ["Ethernet9-16"]}]),
        ),
        (
            "leaf2",
            "frr",
            json!([{"namespace": "tenant-a", "ports": ["swp1-4"]}]),
        ),
    ] {
        let d: Device = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"address": "192.0.2.10", "platform": platform, "credentialsSecretRef": {"name": "leaf-credentials"},
                     "insecureSkipHostKeyVerification": true, "tenants": tenants},
        }))
        .unwrap();
        devices.create(&PostParams::default(), &d).await.unwrap();
    }
    let plugins: Api<Plugin> = Api::all(client.clone());
    let p: Plugin = serde_json::from_value(json!({
        "metadata": {"name": "access-ports"},
        "spec": {"image": image, "insecureRegistry": true},
    }))
    .unwrap();
    plugins.create(&PostParams::default(), &p).await.unwrap();

    // The operator, in this process, with the in-memory driver.
    let driver = MemoryDriver::new();
    let cache = tempfile::tempdir().unwrap();
    let op = harness::start_operator(
        &operator_client,
        std::sync::Arc::new(driver.clone()),
        cache.path(),
    );

    // Plugin Ready, its kind served as an Established CRD.
    let within = Duration::from_secs(90);
    let status = eventually("Plugin access-ports Ready", within, || async {
        let p = plugins.get("access-ports").await.ok()?;
        let s = serde_json::to_value(p.status?).ok()?;
        (ready_of(&s)?.0 == "True").then_some(s)
    })
    .await;
    assert_eq!(status["kinds"][0], "AccessPorts.network.naas.io/v1alpha1");
    assert_eq!(status["info"]["name"], "access-ports");
    assert!(status["digest"].as_str().unwrap().starts_with("sha256:"));
    let out = kubectl(
        &kubeconfig,
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/accessports.network.naas.io",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The plugin's field docs reach `kubectl explain`.
    let explain = eventually("kubectl explain accessports.spec", within, || async {
        let out = kubectl(&kubeconfig, &["explain", "accessports.spec"]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    })
    .await;
    assert!(explain.contains("vlan"), "{explain}");

    // A service, applied as a tenant would.
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("network.naas.io", "v1alpha1", "AccessPorts"),
        "accessports",
    );
    let services: Api<DynamicObject> = Api::namespaced_with(client.clone(), "tenant-a", &ar);
    apply_ports(&services, "web", json!({"device": "leaf1", "ports": "Ethernet1-2", "vlan": 120, "description": "web servers"}), json!({})).await;
    let status = eventually("service web Ready", within, || async {
        let o = services.get("web").await.ok()?;
        let s = seen(&serde_json::to_value(&o).ok()?)["status"].clone();
        (ready_of(&s)?.0 == "True").then_some(s)
    })
    .await;
    assert_eq!(status["devices"][0]["name"], "leaf1");
    assert_eq!(status["devices"][0]["result"], "Committed");
    assert!(
        status["devices"][0]["pluginDigest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let running = driver.running("leaf1");
    assert!(
        running.contains("interface Ethernet1\n") && running.contains("switchport access vlan 120"),
        "{running}"
    );
    assert!(!running.contains("interface Ethernet3\n"), "{running}");
    let get = kubectl(&kubeconfig, &["get", "naas", "-A"]);
    assert!(
        String::from_utf8_lossy(&get.stdout).contains("web"),
        "{}",
        String::from_utf8_lossy(&get.stdout)
    );

    // The plugin's schema is enforced by the API server itself.
    let refused = services
        .patch(
            "vlan",
            &PatchParams::apply("e2e-test"),
            &Patch::Apply(&json!({
                "apiVersion": "network.naas.io/v1alpha1", "kind": "AccessPorts",
                "metadata": {"name": "vlan", "namespace": "tenant-a"},
                "spec": {"device": "leaf1", "ports": "Ethernet3", "vlan": 4095},
            })),
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("spec.vlan"), "{refused}");

    // A service the plugin refuses: Ready=False, reason Invalid, the violation with its field path.
    apply_ports(
        &services,
        "bad",
        json!({"device": "leaf1", "ports": "Ethernet10", "vlan": 300}),
        json!({}),
    )
    .await;
    let (_, reason, message) = eventually("service bad refused", within, || async {
        let s = services.get("bad").await.ok()?.data["status"].clone();
        ready_of(&s).filter(|r| r.0 == "False")
    })
    .await;
    assert_eq!(reason, "Invalid");
    assert!(
        message.contains("spec.ports") && message.contains("Ethernet10"),
        "{message}"
    );

    // A dry run: the plan in status, nothing pushed.
    let pushes = driver.pushes().len();
    apply_ports(
        &services,
        "try",
        json!({"device": "leaf1", "ports": "Ethernet5", "vlan": 130}),
        json!({"naas.io/dry-run": "true"}),
    )
    .await;
    let plan = eventually("dry-run plan", within, || async {
        let s = services.get("try").await.ok()?.data["status"].clone();
        (ready_of(&s)?.1 == "DryRun").then(|| s["plan"].clone())
    })
    .await;
    assert!(
        plan["leaf1"]["diff"]
            .as_str()
            .unwrap()
            .contains("+interface Ethernet5"),
        "{plan}"
    );
    assert_eq!(driver.pushes().len(), pushes, "a dry run pushes nothing");

    // Template overrides from the Plugin's templates ConfigMap.
    templates::overrides_from_a_configmap(&client, &plugins, &services, &driver, within).await;

    // Drift: a line naas applied, removed by hand, is reported, then healed.
    drift::reported_then_healed(&client, &services, &driver, within).await;

    // Deleting a service runs cleanup: exactly its lines leave the device.
    apply_ports(
        &services,
        "db",
        json!({"device": "leaf1", "ports": "Ethernet7", "vlan": 140}),
        json!({}),
    )
    .await;
    eventually("service db pushed", within, || async {
        driver
            .running("leaf1")
            .contains("interface Ethernet7\n")
            .then_some(())
    })
    .await;
    delete_and_wait(&services, "db", within).await;
    let running = driver.running("leaf1");
    assert!(!running.contains("interface Ethernet7\n"), "{running}");
    assert!(
        running.contains("interface Ethernet1\n"),
        "the other service stays: {running}"
    );

    // The operator restarted: it converges, and pushes nothing twice.
    op.abort();
    let _ = op.await;
    let pushes = driver.pushes().len();
    let op = harness::start_operator(
        &operator_client,
        std::sync::Arc::new(driver.clone()),
        cache.path(),
    );
    apply_ports(
        &services,
        "after-restart",
        json!({"device": "leaf1", "ports": "Ethernet8", "vlan": 150}),
        json!({}),
    )
    .await;
    eventually("service after-restart Ready", within, || async {
        let s = services.get("after-restart").await.ok()?.data["status"].clone();
        (ready_of(&s)?.0 == "True").then_some(())
    })
    .await;
    assert_eq!(
        driver.pushes().len(),
        pushes + 1,
        "only the new service's change was pushed"
    );
    let running = driver.running("leaf1");
    assert_eq!(
        running.matches("interface Ethernet1\n").count(),
        1,
        "{running}"
    );

    // Services on one device share its pushes; a failing device fails only its own.
    coalesce::services_on_one_device_share_a_push(&client, &services, &driver, within).await;

    // A Plugin moved to a new digest (the same kind, built in Python)
    // re-renders its services, which record the new plugin digest.
    let image_py = format!("{host}/naas/access-ports:0.2.0-py");
    harness::push_plugin(&host, &common::polyglot_path("access_ports_py"), &image_py);
    let old_digest = plugins
        .get("access-ports")
        .await
        .unwrap()
        .status
        .unwrap()
        .digest
        .unwrap();
    plugins
        .patch(
            "access-ports",
            &PatchParams::apply("e2e-test").force(),
            &Patch::Apply(&json!({
                "apiVersion": "naas.io/v1alpha1", "kind": "Plugin",
                "metadata": {"name": "access-ports"},
                "spec": {"image": image_py, "insecureRegistry": true},
            })),
        )
        .await
        .unwrap();
    let new_digest = eventually("Plugin on its new digest", within, || async {
        let d = plugins.get("access-ports").await.ok()?.status?.digest?;
        (d != old_digest).then_some(d)
    })
    .await;
    eventually(
        "service web re-rendered by the new plugin",
        within,
        || async {
            let o = services.get("web").await.ok()?;
            let s = seen(&serde_json::to_value(&o).ok()?)["status"].clone();
            (s["devices"][0]["pluginDigest"] == new_digest.as_str()).then_some(())
        },
    )
    .await;

    // A Device grant removed: the service fails its tenant check.
    devices
        .patch("leaf1", &PatchParams::apply("e2e-test").force(), &Patch::Apply(&json!({
            "apiVersion": "naas.io/v1alpha1", "kind": "Device",
            "metadata": {"name": "leaf1"},
            "spec": {"address": "192.0.2.10", "platform": "eos", "credentialsSecretRef": {"name": "leaf-credentials"},
                     "insecureSkipHostKeyVerification": true,
                     "tenants": [{"namespace": "tenant-b", "ports": ["Ethernet9-16"]}]},
        })))
        .await
        .unwrap();
    let (_, reason, message) = eventually(
        "service web refused after the grant went",
        within,
        || async {
            let s = services.get("web").await.ok()?.data["status"].clone();
            ready_of(&s).filter(|r| r.0 == "False")
        },
    )
    .await;
    assert_eq!(reason, "Invalid", "{message}");
    assert!(message.contains("leaf1"), "{message}");

    // Two operators with leader election (this one stopped meanwhile).
    op.abort();
    let _ = op.await;
    leader::a_second_operator_takes_over(&client, &services, within).await;
    leader::shutdown_finishes_the_push_in_flight(&client, &services, within).await;
    leader::an_early_shutdown_ends_the_operator(&client, within).await;
    let op = harness::start_operator(
        &operator_client,
        std::sync::Arc::new(driver.clone()),
        cache.path(),
    );

    // Deleting a namespace with services in it completes: the namespace
    // controller deletes them, and each one's cleanup removes its config.
    if cluster.deletes_namespaces() {
        let namespaces: Api<Namespace> = Api::all(client.clone());
        delete_and_wait(&namespaces, "tenant-a", Duration::from_secs(180)).await;
        let running = driver.running("leaf1");
        assert!(
            !running.contains("interface Ethernet"),
            "tenant-a's lines are gone: {running}"
        );
    } else {
        eprintln!("e2e: no kube-controller-manager, namespace deletion not checked");
    }

    // The operator as users run it: the `naas` binary, on the same cluster.
    op.abort();
    let _ = op.await;
    // All of the above ran as the operator's ServiceAccount: not one refusal.
    let refusals = forbidden::refusals();
    assert!(
        refusals.is_empty(),
        "the API refused the operator: {refusals:#?}"
    );
    let mut naas = Command::new(env!("CARGO_BIN_EXE_naas"))
        .arg("--cache-dir")
        .arg(common::target_dir().join("naas-test-cache"))
        .args([
            "operator",
            "--namespace",
            "naas-system",
            "--driver",
            "memory",
        ])
        .env("KUBECONFIG", &kubeconfig)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let tenant_b: Api<DynamicObject> = Api::namespaced_with(client.clone(), "tenant-b", &ar);
    let doc = json!({
        "apiVersion": "network.naas.io/v1alpha1", "kind": "AccessPorts",
        "metadata": {"name": "from-binary", "namespace": "tenant-b"},
        "spec": {"device": "leaf1", "ports": "Ethernet9", "vlan": 160},
    });
    tenant_b
        .patch(
            "from-binary",
            &PatchParams::apply("e2e-test"),
            &Patch::Apply(&doc),
        )
        .await
        .unwrap();
    let ready = eventually(
        "service from-binary Ready (naas operator binary)",
        within,
        || async {
            let s = tenant_b.get("from-binary").await.ok()?.data["status"].clone();
            ready_of(&s).filter(|r| r.0 == "True")
        },
    )
    .await;
    assert_eq!(ready.1, "Applied");
    // What it pushed is recorded in the cluster, per device and service.
    let record =
        Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(client.clone(), "naas-system")
            .get("naas-applied-leaf1")
            .await
            .unwrap();
    // Compressed, under one key.
    assert!(
        record
            .binary_data
            .as_ref()
            .is_some_and(|b| b.contains_key(naas::operator::RECORD_KEY)),
        "{record:?}"
    );
    let fragment = naas::operator::fragments_of(&record)
        .unwrap()
        .remove("AccessPorts.tenant-b.from-binary")
        .unwrap_or_default();
    assert!(fragment.contains("interface Ethernet9\n"), "{fragment}");

    // A CRD naas did not create is never taken over: the Plugin is not Ready.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let foreign: CustomResourceDefinition = serde_json::from_value(json!({
        "metadata": {"name": "hostiles.network.naas.io"},
        "spec": {"group": "network.naas.io", "scope": "Namespaced",
                 "names": {"kind": "Hostile", "plural": "hostiles"},
                 "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]},
    }))
    .unwrap();
    crds.create(&PostParams::default(), &foreign).await.unwrap();
    let hostile_image = format!("{host}/naas/hostile:0.1.0");
    let component = common::plugin_path("hostile");
    harness::install_plugin(&client, &host, &component, &hostile_image, "hostile").await;
    let (_, reason, message) = eventually("Plugin hostile refused", within, || async {
        let s = serde_json::to_value(plugins.get("hostile").await.ok()?.status?).ok()?;
        ready_of(&s).filter(|r| r.0 == "False")
    })
    .await;
    assert_eq!(reason, "KindRejected", "{message}");
    assert!(
        message.contains("hostiles.network.naas.io") && message.contains("not created by naas"),
        "{message}"
    );

    // A schema the API server rejects: Ready=False with the server's message.
    delete_and_wait(&crds, "hostiles.network.naas.io", within).await;
    let touch = json!({"metadata": {"labels": {"naas.io/e2e": "retry"}}});
    plugins
        .patch("hostile", &PatchParams::default(), &Patch::Merge(&touch))
        .await
        .unwrap();
    let (_, reason, message) = eventually("Plugin hostile schema refused", within, || async {
        let s = serde_json::to_value(plugins.get("hostile").await.ok()?.status?).ok()?;
        ready_of(&s).filter(|r| r.0 == "False" && r.2.contains("nonstructurals"))
    })
    .await;
    assert_eq!(reason, "KindRejected", "{message}");
    assert!(
        message.contains("properties[loose].type") && message.contains("must not be empty"),
        "the API server's own message: {message}"
    );
    assert!(
        crds.get_opt("nonstructurals.network.naas.io")
            .await
            .unwrap()
            .is_none()
    );

    // Deleting a Plugin never deletes a CRD that still has objects.
    delete_and_wait(&plugins, "access-ports", within).await;
    assert!(
        crds.get_opt("accessports.network.naas.io")
            .await
            .unwrap()
            .is_some(),
        "the CRD still has a service: it stays"
    );
    // Plugin hostile's own CRD (made once the foreign one was gone) has no
    // objects: it goes with the Plugin.
    delete_and_wait(&plugins, "hostile", within).await;
    eventually("CRD hostiles deleted", within, || async {
        crds.get_opt("hostiles.network.naas.io")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;

    // Stopped by PID, as a pod is: SIGTERM.
    let _ = Command::new("kill").arg(naas.id().to_string()).status();
    let status = naas.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(naas.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        status.code().is_none() || status.code() == Some(0) || status.code() == Some(143),
        "{status:?}: {stderr}"
    );

    // Two `naas operator` processes with leader election.
    leader::two_binaries_fail_over(&client, &kubeconfig, within).await;
    drop(cluster);
}
