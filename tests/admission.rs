//! The admission endpoints over real HTTPS (rustls, an openssl-made CA): AdmissionReview fixtures for create, update, delete, dryRun, malformed and oversized bodies, unknown kinds, plugin timeouts, the tenant matrix, and the host's own Plugin and Device checks.

mod common;
#[path = "admission/objects.rs"]
mod objects;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use naas::admission::{Admission, FixedResolver, TlsFiles, serve};
use naas::inventory::Inventory;
use naas::plugin_set::PluginSet;
use naas::runtime::{Limits, Runtime, RuntimeConfig};
use serde_json::{Value, json};

/// The operator's namespace, the only one Secret references may name.
const OPERATOR_NAMESPACE: &str = "naas-system";

struct Webhook {
    url: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Webhook {
    async fn post(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// The response of a review, asserting HTTP 200.
    async fn review(&self, path: &str, review: &Value) -> Value {
        let r = self.post(path, review.to_string().into_bytes()).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        v["response"].clone()
    }
}

async fn start() -> Webhook {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    common::tls_certificates(dir.path());
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: Some(common::target_dir().join("naas-test-cache")),
        ..RuntimeConfig::default()
    })
    .unwrap();
    let limits = Limits {
        timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let mut plugins = Vec::new();
    for name in ["access_ports", "hostile"] {
        plugins.push(
            runtime
                .load_file_async(common::plugin_path(name), limits)
                .await
                .unwrap(),
        );
    }
    let inventory = Inventory::load(&common::repo_root().join("examples/devices.yaml")).unwrap();
    // Service web of tenant-a holds Ethernet3 on leaf1.
    let resolver = FixedResolver::new(PluginSet::new(plugins).unwrap(), inventory, json!({}))
        .holding(
            "leaf1",
            "AccessPorts.tenant-a.web",
            "interface Ethernet3\n   switchport access vlan 30\n",
        );
    let admission = Admission::new(
        Arc::new(resolver),
        runtime.executor().clone(),
        Duration::from_secs(5),
        OPERATOR_NAMESPACE,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let tls = TlsFiles {
        cert: dir.path().join("tls.crt"),
        key: dir.path().join("tls.key"),
    };
    tokio::spawn(serve(admission, listener, tls));
    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(dir.path().join("ca.crt")).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    Webhook {
        url,
        client,
        _dir: dir,
    }
}

/// An AdmissionReview for AccessPorts `name` in `namespace`.
fn review(operation: &str, namespace: &str, name: &str, spec: Value, old: Option<Value>) -> Value {
    let object = |spec: Value| {
        json!({
            "apiVersion": "network.naas.io/v1alpha1", "kind": "AccessPorts",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec,
        })
    };
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "0d3c8a1e-1111-2222-3333-444455556666",
            "kind": {"group": "network.naas.io", "version": "v1alpha1", "kind": "AccessPorts"},
            "resource": {"group": "network.naas.io", "version": "v1alpha1", "resource": "accessports"},
            "name": name, "namespace": namespace, "operation": operation,
            "userInfo": {"username": "tenant"},
            "object": if operation == "DELETE" { Value::Null } else { object(spec) },
            "oldObject": old.map(object).unwrap_or(Value::Null),
            "dryRun": false,
        },
    })
}

fn patch_of(response: &Value) -> Option<Value> {
    let b64 = response["patch"].as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    Some(serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_over_https_allow_deny_and_patch_exactly() {
    let w = start().await;
    let spec = json!({"device": "leaf1", "ports": "Ethernet1-2", "vlan": 120});

    // Create: allowed; the mutation expands the range, records the plugin
    // and adds the operator's finalizer.
    let r = w
        .review(
            "/validate",
            &review("CREATE", "tenant-a", "web", spec.clone(), None),
        )
        .await;
    assert_eq!(r["uid"], "0d3c8a1e-1111-2222-3333-444455556666");
    assert_eq!(r["allowed"], true, "{r}");
    let r = w
        .review(
            "/mutate",
            &review("CREATE", "tenant-a", "web", spec.clone(), None),
        )
        .await;
    assert_eq!(r["allowed"], true, "{r}");
    assert_eq!(r["patchType"], "JSONPatch");
    let patch = patch_of(&r).expect("a patch");
    let ops = patch.as_array().unwrap();
    assert!(
        ops.iter().all(|op| {
            let path = op["path"].as_str().unwrap();
            path.starts_with("/spec")
                || path.starts_with("/metadata/annotations")
                || path.starts_with("/metadata/finalizers")
        }),
        "only spec, the annotation and the finalizer: {patch}"
    );
    let mut patched =
        review("CREATE", "tenant-a", "web", spec.clone(), None)["request"]["object"].clone();
    json_patch::patch(
        &mut patched,
        &serde_json::from_value::<json_patch::Patch>(patch).unwrap(),
    )
    .unwrap();
    assert_eq!(
        patched["spec"]["ports"],
        json!(["Ethernet1", "Ethernet2"]),
        "{patched}"
    );
    assert!(
        patched["metadata"]["annotations"]["naas.io/expanded-by"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(
        patched["metadata"]["finalizers"],
        json!([naas::operator::FINALIZER]),
        "{patched}"
    );
    // Created already expanded, with another finalizer: only naas's is added.
    let mut expanded = review("CREATE", "tenant-a", "web", patched["spec"].clone(), None);
    expanded["request"]["object"]["metadata"]["finalizers"] = json!(["example.com/keep"]);
    let r = w.review("/mutate", &expanded).await;
    let mut object = expanded["request"]["object"].clone();
    json_patch::patch(
        &mut object,
        &serde_json::from_value::<json_patch::Patch>(patch_of(&r).expect("a patch")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        object["metadata"]["finalizers"],
        json!(["example.com/keep", naas::operator::FINALIZER]),
        "{r}"
    );
    assert_eq!(object["spec"], patched["spec"], "{r}");

    // Update whose spec is already expanded: no patch (nor a finalizer
    // removed by hand put back). dryRun: the same answer.
    let r = w
        .review(
            "/mutate",
            &review(
                "UPDATE",
                "tenant-a",
                "web",
                patched["spec"].clone(),
                Some(spec.clone()),
            ),
        )
        .await;
    assert_eq!(r["allowed"], true, "{r}");
    assert!(r.get("patch").is_none(), "{r}");
    let mut dry = review("CREATE", "tenant-a", "web", spec.clone(), None);
    dry["request"]["dryRun"] = json!(true);
    assert_eq!(w.review("/validate", &dry).await["allowed"], true);

    // Delete: allowed without a plugin call.
    let r = w
        .review(
            "/validate",
            &review("DELETE", "tenant-a", "web", Value::Null, None),
        )
        .await;
    assert_eq!(r["allowed"], true, "{r}");

    // Invalid: denied with every violation and its field path.
    let bad = json!({"device": "leaf1", "ports": "Ethernet1", "vlan": 5000});
    let r = w
        .review("/validate", &review("CREATE", "tenant-a", "bad", bad, None))
        .await;
    assert_eq!(r["allowed"], false);
    let message = r["status"]["message"].as_str().unwrap();
    assert!(message.contains("spec.vlan"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_only_reach_their_own_devices_and_ports() {
    let w = start().await;
    let cases = [
        (
            "tenant-a",
            json!({"device": "leaf1", "ports": "Ethernet1-2", "vlan": 10}),
            None,
        ),
        (
            "tenant-b",
            json!({"device": "leaf1", "ports": "Ethernet9", "vlan": 10}),
            None,
        ),
        (
            "tenant-a",
            json!({"device": "leaf1", "ports": "Ethernet9", "vlan": 10}),
            Some("Ethernet9"),
        ),
        (
            "tenant-b",
            json!({"device": "leaf2", "ports": "swp1", "vlan": 10}),
            Some("leaf2"),
        ),
        (
            "tenant-a",
            json!({"device": "leaf1", "ports": "Ethernet3-4", "vlan": 10}),
            Some("port Ethernet3 on device leaf1 is held by AccessPorts tenant-a/web"),
        ),
    ];
    for (tenant, spec, refused) in cases {
        let r = w
            .review(
                "/validate",
                &review("CREATE", tenant, "svc", spec.clone(), None),
            )
            .await;
        match refused {
            None => assert_eq!(r["allowed"], true, "{tenant} {spec}: {r}"),
            Some(what) => {
                assert_eq!(r["allowed"], false, "{tenant} {spec}: {r}");
                let message = r["status"]["message"].as_str().unwrap();
                assert!(message.contains(what), "{tenant} {spec}: {message}");
            }
        }
    }
    // An update that leaves the spec as it is (the operator's finalizer)
    // is allowed without a plugin call, even when the spec would now be
    // refused: a service must stay deletable after its grant shrank.
    let refused = json!({"device": "leaf1", "ports": "Ethernet9", "vlan": 10});
    let r = w
        .review(
            "/validate",
            &review(
                "UPDATE",
                "tenant-a",
                "old",
                refused.clone(),
                Some(refused.clone()),
            ),
        )
        .await;
    assert_eq!(r["allowed"], true, "{r}");
    let r = w
        .review(
            "/mutate",
            &review("UPDATE", "tenant-a", "old", refused.clone(), Some(refused)),
        )
        .await;
    assert_eq!(
        (r["allowed"].clone(), r.get("patch").cloned()),
        (json!(true), None),
        "{r}"
    );
    // The holder itself may change its config on that port.
    let r = w
        .review(
            "/validate",
            &review(
                "UPDATE",
                "tenant-a",
                "web",
                json!({"device": "leaf1", "ports": "Ethernet3", "vlan": 31}),
                None,
            ),
        )
        .await;
    assert_eq!(r["allowed"], true, "{r}");
    // The host's own check, whatever the plugin says: a port outside the grant.
    let mut r = review("CREATE", "tenant-a", "ungranted-port", json!({}), None);
    r["request"]["kind"]["kind"] = json!("Hostile");
    let r = w.review("/validate", &r).await;
    assert_eq!(r["allowed"], false, "{r}");
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("rendered interface(s) Ethernet99 on device leaf1"),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_and_failing_plugins_get_clear_answers() {
    let w = start().await;
    // Malformed JSON: 400 saying why.
    let r = w.post("/validate", b"{not json".to_vec()).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("not an AdmissionReview"));
    // Oversized: 413, before the host reads it all.
    let r = w
        .post(
            "/validate",
            vec![b' '; naas::admission::MAX_REVIEW_BYTES + 1],
        )
        .await;
    assert_eq!(r.status(), 413);
    // A kind no plugin serves.
    let mut unknown = review("CREATE", "tenant-a", "x", json!({}), None);
    unknown["request"]["kind"]["kind"] = json!("Firewall");
    let r = w.review("/validate", &unknown).await;
    assert_eq!(r["allowed"], false);
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("no Ready Plugin serves network.naas.io/v1alpha1 Firewall"),
        "{r}"
    );
    // A plugin that spins: denied within its 500 ms deadline, naming it.
    let mut spin = review("CREATE", "tenant-a", "loop", json!({}), None);
    spin["request"]["kind"]["kind"] = json!("Hostile");
    let started = std::time::Instant::now();
    let r = w.review("/validate", &spin).await;
    assert_eq!(r["allowed"], false);
    let message = r["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("hostile") && message.contains("500ms"),
        "{message}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "bounded by the plugin deadline"
    );
    // The server still answers.
    let health = w
        .client
        .get(format!("{}/healthz", w.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
}
