//! Admission on the real API server: the operator serves the webhook, registered with a `url` client config on loopback; `kubectl apply` of an invalid service is refused with the plugin's message, and a range is expanded in the stored object.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use naas::admission::TlsFiles;
use naas::driver::MemoryDriver;
use naas::operator::{Device, Plugin, WebhookConfig};
use serde_json::json;

use crate::control_plane::{Cluster, free_port};
use crate::{common, eventually, harness, kubectl, ready_of, registry_support};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubectl_apply_is_validated_and_expanded_by_the_webhook() {
    let Some(cluster) = Cluster::find() else {
        return;
    };
    let (kubeconfig, client) = harness::connect_with_crds(&cluster).await;
    let registry = registry_support::Registry::start();
    let host = registry.host();
    let image = format!("{host}/net/access-ports:0.1.0");
    harness::create_namespaces(&client, &["naas-system", "tenant-a", "tenant-b"]).await;
    harness::create_credentials(&client, "creds", "naas", "not-a-real-password").await;
    let d: Device = serde_json::from_value(json!({
        "metadata": {"name": "leaf1"},
        "spec": {"address": "192.0.2.10", "platform": "eos", "credentialsSecretRef": {"name": "creds"},
                 "insecureSkipHostKeyVerification": true,
                 "tenants": [{"namespace": "tenant-a", "ports": ["Ethernet1-8"]},
                             {"namespace": "tenant-b", "ports": ["Ethernet9-16"]}]},
    }))
    .unwrap();
    Api::<Device>::all(client.clone())
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    let component = common::plugin_path("access_ports");
    harness::install_plugin(&client, &host, &component, &image, "access-ports").await;
    let plugins: Api<Plugin> = Api::all(client.clone());

    // Registered as a platform team does (url client config), without
    // rules (the operator sets them to the served kinds) and without a CA
    // bundle (`naas webhook certs` sets it).
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let hook = |path: &str| {
        json!({
            "name": format!("{}.naas.io", &path[1..]),
            "clientConfig": {"url": format!("https://127.0.0.1:{port}{path}")},
            "failurePolicy": "Fail", "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "matchPolicy": "Equivalent", "timeoutSeconds": 10,
        })
    };
    let configs = dir.path().join("webhooks.yaml");
    // Plugins and Devices are checked too (static rules: the host's own kinds).
    let mut objects = hook("/validate");
    objects["name"] = json!("objects.naas.io");
    objects["rules"] = json!([{"apiGroups": ["naas.io"], "apiVersions": ["v1alpha1"],
                               "resources": ["plugins", "devices"], "operations": ["CREATE", "UPDATE"],
                               "scope": "Cluster"}]);
    std::fs::write(&configs, format!(
        "{}\n---\n{}\n",
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
               "metadata": {"name": "naas"}, "webhooks": [hook("/validate"), objects]}),
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
               "metadata": {"name": "naas"}, "webhooks": [hook("/mutate")]}),
    )).unwrap();
    let out = kubectl(&kubeconfig, &["apply", "-f", configs.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let certs = dir.path().join("certs");
    let stdout = webhook_certs(
        &kubeconfig,
        &["--host", "127.0.0.1", "--out", certs.to_str().unwrap()],
    );
    assert!(
        stdout.contains("Secret naas-system/naas-webhook-tls: new CA")
            && stdout.contains("ValidatingWebhookConfiguration/naas: caBundle set")
            && stdout.contains("MutatingWebhookConfiguration/naas: caBundle set"),
        "{stdout}"
    );
    let ca = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(certs.join("ca.crt")).unwrap());
    let out = kubectl(
        &kubeconfig,
        &[
            "get",
            "validatingwebhookconfiguration",
            "naas",
            "-o",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for i in 0..2 {
        assert_eq!(
            v["webhooks"][i]["clientConfig"]["caBundle"],
            json!(ca),
            "{v}"
        );
    }
    // Again: the Secret's certificate is kept (idempotent).
    let again = webhook_certs(&kubeconfig, &[]);
    assert!(again.contains("kept"), "{again}");

    // The operator, serving the webhook on loopback with that certificate.
    let webhook = WebhookConfig {
        listen: format!("127.0.0.1:{port}").parse().unwrap(),
        tls: TlsFiles {
            cert: certs.join("tls.crt"),
            key: certs.join("tls.key"),
        },
        deadline: Duration::from_secs(5),
    };
    let op = harness::start_operator_with(
        &client,
        Arc::new(MemoryDriver::new()),
        dir.path(),
        Some(webhook),
    );
    let within = Duration::from_secs(90);
    eventually("Plugin access-ports Ready", within, || async {
        let s = serde_json::to_value(plugins.get("access-ports").await.ok()?.status?).ok()?;
        (ready_of(&s)?.0 == "True").then_some(())
    })
    .await;

    for kind in [
        "validatingwebhookconfiguration",
        "mutatingwebhookconfiguration",
    ] {
        eventually(&format!("{kind} naas rules set"), within, || async {
            let out = kubectl(&kubeconfig, &["get", kind, "naas", "-o", "json"]);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            (v["webhooks"][0]["rules"]
                == json!([{"apiGroups": ["network.naas.io"], "apiVersions": ["v1alpha1"],
                           "resources": ["accessports"], "operations": ["CREATE", "UPDATE"],
                           "scope": "Namespaced"}]))
            .then_some(())
        })
        .await;
    }

    // An invalid service is refused at `kubectl apply`, with the plugin's message.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        json!({"apiVersion": "network.naas.io/v1alpha1", "kind": "AccessPorts",
        "metadata": {"name": "bad", "namespace": "tenant-a"},
        "spec": {"device": "leaf1", "ports": "Ethernet10", "vlan": 300}})
        .to_string(),
    )
    .unwrap();
    let stderr = eventually("kubectl apply refused by the webhook", within, || async {
        let out = kubectl(&kubeconfig, &["apply", "-f", bad.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        // The mutating webhook runs the same pipeline first, and refuses it.
        (!out.status.success() && stderr.contains(".naas.io\" denied the request"))
            .then_some(stderr)
    })
    .await;
    assert!(
        stderr.contains("spec.ports") && stderr.contains("Ethernet10"),
        "{stderr}"
    );

    // A range is expanded in the stored object, with the plugin's digest.
    let good = dir.path().join("good.yaml");
    std::fs::write(
        &good,
        json!({"apiVersion": "network.naas.io/v1alpha1", "kind": "AccessPorts",
        "metadata": {"name": "web", "namespace": "tenant-a"},
        "spec": {"device": "leaf1", "ports": "Ethernet1-2", "vlan": 120}})
        .to_string(),
    )
    .unwrap();
    let out = kubectl(&kubeconfig, &["apply", "-f", good.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("network.naas.io", "v1alpha1", "AccessPorts"),
        "accessports",
    );
    let stored = Api::<DynamicObject>::namespaced_with(client.clone(), "tenant-a", &ar)
        .get("web")
        .await
        .unwrap();
    assert_eq!(
        stored.data["spec"]["ports"],
        json!(["Ethernet1", "Ethernet2"]),
        "{:?}",
        stored.data
    );
    let by = stored
        .metadata
        .annotations
        .unwrap_or_default()
        .remove("naas.io/expanded-by")
        .unwrap_or_default();
    assert!(by.starts_with("sha256:"), "{by}");
    // The finalizer came with the creation (the mutating webhook added it;
    // the API server records no owner for an admission mutation): once the
    // service is Ready, no write of the operator's owns it.
    let services = Api::<DynamicObject>::namespaced_with(client.clone(), "tenant-a", &ar);
    let stored = eventually("service web Ready", within, || async {
        let s = services.get("web").await.ok()?;
        (ready_of(&s.data["status"])?.0 == "True").then_some(s)
    })
    .await;
    let owners: Vec<_> = stored
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| {
            m.fields_v1
                .as_ref()
                .is_some_and(|f| f.0["f:metadata"].get("f:finalizers").is_some())
        })
        .map(|m| m.manager.clone().unwrap_or_default())
        .collect();
    assert!(
        owners.is_empty(),
        "{owners:?} own the finalizer: {:?}",
        stored.metadata.managed_fields
    );
    assert_eq!(
        stored.metadata.finalizers,
        Some(vec![naas::operator::FINALIZER.to_string()])
    );
    tenant_is_held_to_its_ports(&kubeconfig, dir.path(), within).await;

    // A grant that shrinks under a service: the service (db, Ethernet5) can
    // still be deleted; the operator's finalizer removal is a metadata-only
    // update the webhook lets through without judging the spec again.
    Api::<Device>::all(client.clone())
        .patch(
            "leaf1",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"tenants": [
                {"namespace": "tenant-a", "ports": ["Ethernet1-4"]},
                {"namespace": "tenant-b", "ports": ["Ethernet9-16"]}]}})),
        )
        .await
        .unwrap();
    crate::delete_and_wait(&services, "db", within).await;

    // A Device with a host key the SSH driver would refuse: refused at apply.
    let device = dir.path().join("device.json");
    std::fs::write(
        &device,
        json!({"apiVersion": "naas.io/v1alpha1", "kind": "Device", "metadata": {"name": "leaf9"},
               "spec": {"address": "192.0.2.19", "platform": "eos", "credentialsSecretRef": {"name": "creds"},
                        "hostKey": "ssh-ed25519 not-base64"}})
        .to_string(),
    )
    .unwrap();
    let out = kubectl(&kubeconfig, &["apply", "-f", device.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("objects.naas.io")
            && stderr.contains("spec.hostKey"),
        "{stderr}"
    );

    let _ = Api::<DynamicObject>::namespaced_with(client.clone(), "tenant-a", &ar)
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"finalizers": null}})),
        )
        .await;
    op.abort();
    drop(cluster);
}

/// A tenant's ServiceAccount bound to `naas-tenant-edit` only (deploy/'s
/// tenant roles): `kubectl apply` of a service on another tenant's port is
/// denied by the webhook; of a port another service holds, denied naming
/// the holder; in another tenant's namespace, forbidden by RBAC.
async fn tenant_is_held_to_its_ports(
    kubeconfig: &std::path::Path,
    dir: &std::path::Path,
    within: Duration,
) {
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(kubectl(
        kubeconfig,
        &[
            "apply",
            "-f",
            "deploy/rbac/tenant.yaml",
            "-f",
            "deploy/rbac/group-network.naas.io.yaml",
        ],
    ));
    ok(kubectl(
        kubeconfig,
        &["-n", "tenant-a", "create", "serviceaccount", "alice"],
    ));
    ok(kubectl(
        kubeconfig,
        &[
            "-n",
            "tenant-a",
            "create",
            "rolebinding",
            "alice-edit",
            "--clusterrole=naas-tenant-edit",
            "--serviceaccount=tenant-a:alice",
        ],
    ));
    let alice = "system:serviceaccount:tenant-a:alice";
    eventually("alice's role in force", within, || async {
        let out = kubectl(
            kubeconfig,
            &[
                "auth",
                "can-i",
                "create",
                "accessports.network.naas.io",
                "-n",
                "tenant-a",
                "--as",
                alice,
            ],
        );
        out.status.success().then_some(())
    })
    .await;
    let as_alice = |name: &str, namespace: &str, ports: &str| {
        let file = dir.join(format!("{name}.json"));
        std::fs::write(
            &file,
            json!({"apiVersion": "network.naas.io/v1alpha1", "kind": "AccessPorts",
                   "metadata": {"name": name, "namespace": namespace},
                   "spec": {"device": "leaf1", "ports": ports, "vlan": 130}})
            .to_string(),
        )
        .unwrap();
        let out = kubectl(
            kubeconfig,
            &["apply", "--as", alice, "-f", file.to_str().unwrap()],
        );
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Tenant B's port on a shared device: the tenant denial.
    let (applied, stderr) = as_alice("steal", "tenant-a", "Ethernet9");
    assert!(
        !applied && stderr.contains("denied the request"),
        "{stderr}"
    );
    assert!(stderr.contains("Ethernet9"), "{stderr}");
    // Tenant B's namespace: RBAC says no before any webhook runs.
    let (applied, stderr) = as_alice("elsewhere", "tenant-b", "Ethernet10");
    assert!(!applied && stderr.contains("forbidden"), "{stderr}");
    // Its own free port: allowed.
    let (applied, stderr) = as_alice("db", "tenant-a", "Ethernet5");
    assert!(applied, "{stderr}");
    // A port service web holds (once pushed and recorded): denied, naming web.
    eventually("service web Ready (its ports recorded)", within, || async {
        let out = kubectl(
            kubeconfig,
            &["-n", "tenant-a", "get", "accessports", "web", "-o", "json"],
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        (crate::ready_of(&v["status"])?.0 == "True").then_some(())
    })
    .await;
    let (applied, stderr) = as_alice("web-too", "tenant-a", "Ethernet2");
    assert!(!applied, "{stderr}");
    assert!(
        stderr.contains("port Ethernet2 on device leaf1 is held by AccessPorts tenant-a/web"),
        "{stderr}"
    );
}

/// `naas webhook certs ARGS` on the test cluster: its stdout.
fn webhook_certs(kubeconfig: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_naas"))
        .args(["webhook", "certs", "--namespace", "naas-system"])
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
