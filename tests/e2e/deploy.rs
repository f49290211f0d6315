//! `kubectl apply -k deploy/` on the real API server with Talos' Pod Security defaults: no warning, the Deployment gets its ReplicaSet and Pods; `kubectl auth can-i` for a tenant and for the operator's ServiceAccount; the webhooks stay inert until their rules are set, and a re-apply keeps those rules.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde_json::json;

use crate::control_plane::Cluster;
use crate::{eventually, harness, kubectl};

const TENANT: &str = "system:serviceaccount:tenant-a:alice";
const VIEWER: &str = "system:serviceaccount:tenant-a:bob";
const OPERATOR: &str = "system:serviceaccount:naas-system:naas";

/// `(verb, resource, flags, answer)` rows for `kubectl auth can-i`.
type Rows = [(&'static str, &'static str, &'static str, bool)];

/// naas-tenant-edit, bound to alice in tenant-a.
#[rustfmt::skip]
const TENANT_CAN: &Rows = &[
    ("create", "accessports.network.naas.io", "-n tenant-a", true),
    ("delete", "accessports.network.naas.io", "-n tenant-a", true),
    ("list", "accessports.network.naas.io", "-n tenant-a", true),
    ("create", "accessports.network.naas.io", "-n tenant-b", false),
    ("list", "accessports.network.naas.io", "-A", false),
    ("get", "secrets", "-n tenant-a", false),
    ("get", "secrets", "-n naas-system", false),
    ("get", "devices.naas.io", "", false),
    ("list", "devices.naas.io", "", false),
    ("delete", "plugins.naas.io", "", false),
    ("create", "configmaps", "-n tenant-a", false),
];

/// naas-tenant-view, bound to bob in tenant-a.
#[rustfmt::skip]
const VIEWER_CAN: &Rows = &[
    ("get", "accessports.network.naas.io", "-n tenant-a", true),
    ("list", "accessports.network.naas.io", "-n tenant-a", true),
    ("create", "accessports.network.naas.io", "-n tenant-a", false),
    ("get", "secrets", "-n tenant-a", false),
];

/// The operator's ServiceAccount: what its code uses (tests/deploy.rs has
/// the full table), and what it must not do.
#[rustfmt::skip]
const OPERATOR_CAN: &Rows = &[
    ("list", "plugins.naas.io", "", true),
    ("watch", "plugins.naas.io", "", true),
    ("patch", "plugins.naas.io", "", true),
    ("patch", "plugins.naas.io", "--subresource=status", true),
    ("watch", "devices.naas.io", "", true),
    ("patch", "devices.naas.io", "--subresource=status", true),
    ("create", "customresourcedefinitions.apiextensions.k8s.io", "", true),
    ("patch", "customresourcedefinitions.apiextensions.k8s.io", "", true),
    ("delete", "customresourcedefinitions.apiextensions.k8s.io", "", true),
    ("create", "events.events.k8s.io", "-n tenant-a", true),
    ("patch", "events.events.k8s.io", "-n default", true),
    ("watch", "configmaps", "-A", true),
    ("get", "configmaps", "-n tenant-a", true),
    ("create", "configmaps", "-n naas-system", true),
    ("update", "configmaps", "-n naas-system", true),
    ("get", "secrets", "-n naas-system", true),
    ("watch", "secrets", "-n naas-system", true),
    ("get", "leases.coordination.k8s.io", "-n naas-system", true),
    ("create", "leases.coordination.k8s.io", "-n naas-system", true),
    ("update", "leases.coordination.k8s.io", "-n naas-system", true),
    ("watch", "validatingwebhookconfigurations.admissionregistration.k8s.io/naas", "", true),
    ("patch", "mutatingwebhookconfigurations.admissionregistration.k8s.io/naas", "", true),
    ("list", "accessports.network.naas.io", "-A", true),
    ("patch", "accessports.network.naas.io", "-n tenant-a", true),
    ("patch", "accessports.network.naas.io", "-n tenant-a --subresource=status", true),
    // Refused.
    ("get", "secrets", "-n tenant-a", false),
    ("list", "secrets", "-A", false),
    ("update", "secrets", "-n naas-system", false),
    ("delete", "secrets", "-n naas-system", false),
    ("create", "devices.naas.io", "", false),
    ("update", "devices.naas.io", "", false),
    ("delete", "plugins.naas.io", "", false),
    ("update", "customresourcedefinitions.apiextensions.k8s.io", "", false),
    ("create", "configmaps", "-n tenant-a", false),
    ("delete", "configmaps", "-n naas-system", false),
    ("update", "leases.coordination.k8s.io", "-n tenant-a", false),
    ("delete", "leases.coordination.k8s.io", "-n naas-system", false),
    ("patch", "validatingwebhookconfigurations.admissionregistration.k8s.io/other", "", false),
    ("watch", "validatingwebhookconfigurations.admissionregistration.k8s.io", "", false),
    ("create", "validatingwebhookconfigurations.admissionregistration.k8s.io", "", false),
    ("create", "accessports.network.naas.io", "-n tenant-a", false),
    ("delete", "accessports.network.naas.io", "-n tenant-a", false),
    ("create", "pods", "-n naas-system", false),
    ("impersonate", "serviceaccounts", "-A", false),
];

/// Runs kubectl with `args` and asserts it succeeded; returns (stdout, stderr).
fn ok_args(kubeconfig: &Path, args: &[&str]) -> (String, String) {
    let out = kubectl(kubeconfig, args);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "kubectl {args:?}: {stderr}");
    (stdout, stderr)
}

/// [`ok_args`] with the arguments of `line`, split at spaces.
fn ok(kubeconfig: &Path, line: &str) -> (String, String) {
    ok_args(kubeconfig, &line.split_whitespace().collect::<Vec<_>>())
}

/// `kubectl auth can-i VERB RESOURCE FLAGS --as USER`: whether it says yes.
fn can_i(kubeconfig: &Path, user: &str, verb: &str, resource: &str, flags: &str) -> bool {
    let mut args = vec!["auth", "can-i", verb, resource, "--as", user];
    args.extend(flags.split_whitespace());
    let out = kubectl(kubeconfig, &args);
    let answer = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        answer == "yes" || answer == "no",
        "kubectl {args:?}: {answer} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    answer == "yes"
}

/// Asks every row for `user`, reporting all the wrong answers at once.
fn expect(kubeconfig: &Path, user: &str, rows: &Rows) {
    let wrong: Vec<String> = rows
        .iter()
        .filter(|(verb, res, flags, want)| can_i(kubeconfig, user, verb, res, flags) != *want)
        .map(|(verb, res, flags, want)| format!("{verb} {res} {flags}: expected {want}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "{user}, wrong answers:\n{}",
        wrong.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_k_deploy_passes_talos_pod_security_and_rbac_is_least_privilege() {
    let Some(cluster) = Cluster::find() else {
        return;
    };
    if matches!(cluster, Cluster::External(_)) {
        eprintln!("e2e: deploy/ installs cluster-wide objects; not run on NAAS_E2E_KUBECONFIG");
        return;
    }
    let (kubeconfig, client) = harness::connect(&cluster).await;
    let kc = kubeconfig.as_path();
    let within = Duration::from_secs(90);

    // Installed as a platform team does: not one warning (PodSecurity's
    // "would violate" included).
    let (stdout, stderr) = ok(kc, "apply -k deploy/");
    assert!(
        stderr.trim().is_empty(),
        "kubectl apply -k deploy/ warned:\n{stderr}"
    );
    for created in [
        "namespace/naas-system",
        "deployment.apps/naas",
        "poddisruptionbudget.policy/naas",
    ] {
        assert!(stdout.contains(created), "{stdout}");
    }
    if !cluster.deletes_namespaces() {
        eprintln!(
            "\n*** E2E deploy: no kube-controller-manager: ReplicaSets, Pods and aggregated roles not checked ***\n"
        );
        return;
    }

    // kube-controller-manager makes the ReplicaSet and its Pods, which the
    // namespace's `enforce: restricted` admits (no nodes: they stay Pending).
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "naas-system");
    let selector = ListParams::default().labels("app.kubernetes.io/name=naas");
    eventually("the Deployment's ReplicaSet", within, || async {
        let rs = sets.list(&selector).await.ok()?.items.into_iter().next()?;
        let owners = rs.metadata.owner_references.unwrap_or_default();
        owners
            .iter()
            .any(|o| o.kind == "Deployment" && o.name == "naas")
            .then_some(())
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "naas-system");
    let listed = eventually("the Deployment's two Pods", within, || async {
        let l = pods.list(&selector).await.ok()?;
        let names: Vec<_> = l.items.iter().map(|p| p.metadata.name.clone()).collect();
        crate::seen(&json!(names));
        (l.items.len() == 2).then_some(l.items)
    })
    .await;
    for p in listed {
        assert_eq!(
            p.spec.unwrap().service_account_name.as_deref(),
            Some("naas")
        );
        assert_eq!(p.status.and_then(|s| s.phase).as_deref(), Some("Pending"));
    }

    // A tenant: naas-tenant-edit bound to alice in tenant-a, naas-tenant-view to bob.
    harness::create_namespaces(&client, &["tenant-a", "tenant-b"]).await;
    ok(kc, "create serviceaccount alice -n tenant-a");
    ok(kc, "create serviceaccount bob -n tenant-a");
    ok(
        kc,
        "create rolebinding alice-naas -n tenant-a --clusterrole=naas-tenant-edit --serviceaccount=tenant-a:alice",
    );
    ok(
        kc,
        "create rolebinding bob-naas -n tenant-a --clusterrole=naas-tenant-view --serviceaccount=tenant-a:bob",
    );
    // A service kind as a Plugin serves it (schema aside), so that can-i
    // resolves the resource.
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "accessports.network.naas.io"},
        "spec": {"group": "network.naas.io", "scope": "Namespaced",
                 "names": {"kind": "AccessPorts", "plural": "accessports"},
                 "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                               "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]},
    });
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, v: &serde_json::Value| {
        let f = dir.path().join(name);
        std::fs::write(&f, v.to_string()).unwrap();
        f.display().to_string()
    };
    ok(kc, &format!("apply -f {}", write("crd.json", &crd)));
    ok(
        kc,
        "wait --for=condition=Established --timeout=60s crd/accessports.network.naas.io",
    );
    // The aggregation controller fills the aggregated roles.
    for (user, verb, flags) in [
        (TENANT, "create", "-n tenant-a"),
        (VIEWER, "get", "-n tenant-a"),
        (OPERATOR, "watch", "-A"),
    ] {
        eventually(
            &format!("the roles of {user} aggregated"),
            within,
            || async { can_i(kc, user, verb, "accessports.network.naas.io", flags).then_some(()) },
        )
        .await;
    }
    expect(kc, TENANT, TENANT_CAN);
    expect(kc, VIEWER, VIEWER_CAN);
    expect(kc, OPERATOR, OPERATOR_CAN);

    // The webhooks, shipped without rules, match nothing: a service is
    // stored although Service naas has no ready endpoint.
    let service = |name: &str| {
        json!({"apiVersion": "network.naas.io/v1alpha1", "kind": "AccessPorts",
               "metadata": {"name": name, "namespace": "tenant-a"},
               "spec": {"device": "leaf1", "ports": "Ethernet1", "vlan": 120}})
    };
    ok(
        kc,
        &format!(
            "apply -f {} --as {TENANT}",
            write("inert.json", &service("inert"))
        ),
    );

    // The operator sets their rules, as itself (operator/registration.rs:
    // a JSON patch testing the webhook's name).
    let rules = json!([
        {"op": "test", "path": "/webhooks/0/name", "value": "NAME"},
        {"op": "add", "path": "/webhooks/0/rules", "value": [{
            "apiGroups": ["network.naas.io"], "apiVersions": ["v1alpha1"], "scope": "Namespaced",
            "operations": ["CREATE", "UPDATE"], "resources": ["accessports"]}]},
    ]);
    for (kind, hook) in [
        ("validatingwebhookconfiguration", "validate.naas.io"),
        ("mutatingwebhookconfiguration", "mutate.naas.io"),
    ] {
        let patch = rules.to_string().replace("NAME", hook);
        ok_args(
            kc,
            &[
                "patch",
                kind,
                "naas",
                "--type=json",
                "-p",
                &patch,
                "--as",
                OPERATOR,
            ],
        );
    }
    // A platform team applies deploy/ again, client- then server-side: the
    // operator's rules stay.
    for apply in ["apply -k deploy/", "apply --server-side -k deploy/"] {
        let (_, stderr) = ok(kc, apply);
        assert!(stderr.trim().is_empty(), "{apply}: {stderr}");
    }
    for kind in [
        "validatingwebhookconfiguration",
        "mutatingwebhookconfiguration",
    ] {
        let (rules, _) = ok(
            kc,
            &format!("get {kind} naas -o jsonpath={{.webhooks[0].rules[0].resources[0]}}"),
        );
        assert_eq!(
            rules, "accessports",
            "{kind}: a re-apply reset the operator's rules"
        );
    }
    // Now they apply, fail closed, and call Service naas (no endpoint yet).
    let held = write("held.json", &service("held"));
    let out = kubectl(kc, &["apply", "-f", &held, "--as", TENANT]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "stored without its webhook: {stderr}"
    );
    assert!(
        stderr.contains("naas.io") && stderr.contains("naas-system"),
        "{stderr}"
    );
    drop(cluster);
}
