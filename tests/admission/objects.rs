//! Plugin and Device reviews over HTTPS: every field checked, each violation naming its field path, the host's own parsers.

use serde_json::{Value, json};

use crate::{OPERATOR_NAMESPACE, start};

/// An AdmissionReview of the host's own `kind` (Plugin or Device) `name` with `spec`.
fn host_review(operation: &str, kind: &str, name: &str, spec: Value) -> Value {
    let object = json!({
        "apiVersion": "naas.io/v1alpha1", "kind": kind,
        "metadata": {"name": name}, "spec": spec,
    });
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "7e2b9c40-aaaa-bbbb-cccc-ddddeeeeffff",
            "kind": {"group": "naas.io", "version": "v1alpha1", "kind": kind},
            "resource": {"group": "naas.io", "version": "v1alpha1", "resource": format!("{}s", kind.to_lowercase())},
            "name": name, "operation": operation,
            "userInfo": {"username": "admin"},
            "object": object, "oldObject": if operation == "UPDATE" { object.clone() } else { Value::Null },
            "dryRun": false,
        },
    })
}

const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILPQUGlbDvJP2JkrhkFP0gS5M3yIlzqlo4RUsc9NQdTt";
const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAarXFZe1HZKoF4fcPgZ7JiKqSADfHEaEOU/BwkOX9wouankuh7CvsPeZ0I0q5wx9LVZxn35BWtcwUsaX8yv0s4= lab";
const RSA: &str = concat!(
    "ssh-rsa ",
    "AAAAB3NzaC1yc2EAAAADAQABAAABgQCynK8/O9K60tgDmH4PcagUDvHF+Hd2g/0kqMC18KgSx8VjfWVJ",
    "2/VrzZikn/ryKZlBslcP9kGD7ThFl/exbChpjEOwid9S3PEfjxVDB0nDqiLu7khJuWun3xTn9H9nb7wq",
    "Itp9fwUxK/lSsrLl46q9ZI/RlVdCviDllHlze3OnpMDBXJ0gXqIpU3UnXZDMwZQQ4vGDAj1WDo1HIDMJ",
    "/LZCiKrz49gzCQMiuYrNC+awTin1ZSSCmsxLXurMwnRoD8xojjRQD9B5OQfR9uNAMCjbXHXSy266CeiF",
    "kpsOk02FVq1TRBsuhxAmHFbHKZ6mm0F6FxHG572pqDNKhwUjgednRADjqQtbprmL4VD7QL0rGa4oQl3I",
    "F9VhbS2USCDhI8eQDviTsARCY+jhIxxGmr8CVCJEDURRFfshKZzL/Rqnc2Yl+yWZiS/BrqVIm8c7MrWP",
    "h0GYShi9KIlN1kcRSX2ZYv0wTZ9nLJdXf540C7e5yFqcDULRYcB0tNRihq89g88=",
);

fn good_plugin() -> Value {
    json!({
        "image": "registry.example:5000/net/access-ports:0.1.0",
        "digest": format!("sha256:{}", "ab".repeat(32)),
        "pullSecretRef": {"name": "registry-pull"},
        "caConfigMapRef": {"name": "registry-ca", "namespace": OPERATOR_NAMESPACE},
        "variables": [{"name": "site-vars", "namespace": "tenant-a"}],
        "templates": {"name": "access-ports-templates"},
        "limits": {"timeout": "500ms", "memoryMib": 64, "maxOutputBytes": 1_048_576},
    })
}

fn good_device() -> Value {
    json!({
        "address": "192.0.2.10", "port": 22, "platform": "eos", "driver": "cli",
        "credentialsSecretRef": {"name": "leaf1-login", "namespace": OPERATOR_NAMESPACE},
        "hostKey": ED25519,
        "tenants": [{"namespace": "tenant-a", "ports": ["Ethernet1-8", "Ethernet10,Ethernet12"]}],
        "driftCheckInterval": "10m",
    })
}

/// `base` with the JSON pointer `path` set to `value` (`Value::Null` removes it).
fn with(base: &Value, path: &str, value: Value) -> Value {
    let mut v = base.clone();
    let (parent, key) = path.rsplit_once('/').unwrap();
    let parent = v.pointer_mut(parent).unwrap().as_object_mut().unwrap();
    if value.is_null() {
        parent.remove(key);
    } else {
        parent.insert(key.to_string(), value);
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_and_devices_are_checked_field_by_field() {
    let w = start().await;
    let denial = |r: &Value| -> String {
        assert_eq!(r["allowed"], false, "{r}");
        r["status"]["message"].as_str().unwrap().to_string()
    };

    // Good objects: allowed by validate, and by mutate without a patch.
    for (kind, spec) in [("Plugin", good_plugin()), ("Device", good_device())] {
        for path in ["/validate", "/mutate"] {
            let r = w
                .review(path, &host_review("CREATE", kind, "good", spec.clone()))
                .await;
            assert_eq!(r["allowed"], true, "{kind} {path}: {r}");
            assert!(r.get("patch").is_none(), "{r}");
        }
    }
    // Every key type the drivers take, and a lab Device without a key.
    let lab = with(
        &with(&good_device(), "/hostKey", Value::Null),
        "/insecureSkipHostKeyVerification",
        json!(true),
    );
    let netconf = with(
        &with(&good_device(), "/platform", json!("netconf")),
        "/driver",
        json!("netconf"),
    );
    for spec in [
        with(&good_device(), "/hostKey", json!(ECDSA)),
        with(&good_device(), "/hostKey", json!(RSA)),
        with(&good_device(), "/address", json!("leaf1.lab.example")),
        with(&good_device(), "/address", json!("2001:db8::10")),
        lab,
        netconf,
    ] {
        let r = w
            .review(
                "/validate",
                &host_review("CREATE", "Device", "d", spec.clone()),
            )
            .await;
        assert_eq!(r["allowed"], true, "{spec}: {r}");
    }

    // Each bad field: denied, the message naming the field.
    let plugin_cases = [
        ("/image", json!("access-ports:0.1.0"), "spec.image"),
        ("/image", json!("registry.example/Net//x:"), "spec.image"),
        ("/digest", json!("sha256:ABC"), "spec.digest"),
        (
            "/digest",
            json!(format!("md5:{}", "a".repeat(64))),
            "spec.digest",
        ),
        (
            "/image",
            json!(format!(
                "registry.example/net/ap@sha256:{}",
                "cd".repeat(32)
            )),
            "spec.digest",
        ),
        (
            "/pullSecretRef",
            json!({"name": "pull", "namespace": "tenant-a"}),
            "spec.pullSecretRef.namespace",
        ),
        (
            "/pullSecretRef",
            json!({"name": "Pull_Secret"}),
            "spec.pullSecretRef.name",
        ),
        (
            "/caConfigMapRef",
            json!({"name": "ca", "namespace": "Bad NS"}),
            "spec.caConfigMapRef.namespace",
        ),
        (
            "/variables",
            json!([{"name": "ok"}, {"name": ""}]),
            "spec.variables[1].name",
        ),
        ("/templates", json!({"name": "-tpl"}), "spec.templates.name"),
        ("/limits", json!({"timeout": "0s"}), "spec.limits.timeout"),
        ("/limits", json!({"timeout": "soon"}), "spec.limits.timeout"),
        ("/limits", json!({"memoryMib": 0}), "spec.limits.memoryMib"),
        (
            "/limits",
            json!({"maxOutputBytes": 0}),
            "spec.limits.maxOutputBytes",
        ),
    ];
    for (path, value, field) in plugin_cases {
        let spec = with(&good_plugin(), path, value);
        let r = w
            .review(
                "/validate",
                &host_review("CREATE", "Plugin", "p", spec.clone()),
            )
            .await;
        let message = denial(&r);
        assert!(message.contains(&format!("{field}:")), "{spec}: {message}");
        assert!(message.starts_with("Plugin p is invalid:"), "{message}");
    }
    let device_cases = [
        ("/hostKey", Value::Null, "spec.hostKey: is required"),
        ("/hostKey", json!("AAAAC3NzaC1lZDI1NTE5"), "spec.hostKey"),
        ("/hostKey", json!("ssh-ed25519"), "spec.hostKey"),
        (
            "/hostKey",
            json!("192.0.2.10 ssh-ed25519 AAAAC3Nz"),
            "spec.hostKey",
        ),
        (
            "/tenants",
            json!([{"namespace": "tenant-a", "ports": ["Ethernet8-1"]}]),
            "spec.tenants[0].ports[0]",
        ),
        (
            "/tenants",
            json!([{"namespace": "a", "ports": []}, {"namespace": "b", "ports": ["Ethernet1", "Ethernet1-"]}]),
            "spec.tenants[1].ports[1]",
        ),
        (
            "/tenants",
            json!([{"namespace": "Tenant_A"}]),
            "spec.tenants[0].namespace",
        ),
        (
            "/credentialsSecretRef",
            json!({"name": "login", "namespace": "tenant-a"}),
            "spec.credentialsSecretRef.namespace",
        ),
        (
            "/credentialsSecretRef",
            json!({"name": ""}),
            "spec.credentialsSecretRef.name",
        ),
        ("/driver", json!("netconf"), "spec.driver"),
        ("/platform", json!(""), "spec.platform"),
        ("/address", json!("192.0.2.10:22"), "spec.address"),
        ("/address", json!(""), "spec.address"),
        ("/port", json!(0), "spec.port"),
        (
            "/driftCheckInterval",
            json!("0m"),
            "spec.driftCheckInterval",
        ),
        (
            "/driftCheckInterval",
            json!("often"),
            "spec.driftCheckInterval",
        ),
    ];
    for (path, value, field) in device_cases {
        let spec = with(&good_device(), path, value);
        let r = w
            .review(
                "/validate",
                &host_review("CREATE", "Device", "leaf1", spec.clone()),
            )
            .await;
        let message = denial(&r);
        assert!(message.contains(field), "{spec}: {message}");
        assert!(message.starts_with("Device leaf1 is invalid:"), "{message}");
    }

    // A key that looks right to a glance but that the SSH driver refuses
    // (truncated): the webhook refuses it too.
    let truncated = &ED25519[..40];
    assert!(naas::driver::ssh::fingerprint(truncated).is_err());
    let spec = with(&good_device(), "/hostKey", json!(truncated));
    let message = denial(
        &w.review("/validate", &host_review("CREATE", "Device", "leaf1", spec))
            .await,
    );
    assert!(message.contains("spec.hostKey: "), "{message}");
    assert!(message.contains("not an OpenSSH public key"), "{message}");

    // Every violation at once, one per line.
    let mut spec = with(&good_device(), "/hostKey", json!("ssh-ed25519 AAAA"));
    spec = with(&spec, "/port", json!(0));
    spec = with(&spec, "/driver", json!("netconf"));
    spec = with(
        &spec,
        "/credentialsSecretRef",
        json!({"name": "x", "namespace": "kube-system"}),
    );
    spec = with(
        &spec,
        "/tenants",
        json!([{"namespace": "tenant-a", "ports": ["Ethernet1-x"]}]),
    );
    let message = denial(
        &w.review("/validate", &host_review("CREATE", "Device", "leaf1", spec))
            .await,
    );
    for field in [
        "spec.port:",
        "spec.driver ",
        "spec.credentialsSecretRef.namespace:",
        "spec.hostKey:",
        "spec.tenants[0].ports[0]:",
    ] {
        assert!(
            message.contains(&format!("\n  {field}")),
            "{field}: {message}"
        );
    }
    let mut spec = with(&good_plugin(), "/image", json!("no-registry"));
    spec = with(&spec, "/digest", json!("sha256:1234"));
    spec = with(
        &spec,
        "/pullSecretRef",
        json!({"name": "pull", "namespace": "default"}),
    );
    let message = denial(
        &w.review("/validate", &host_review("CREATE", "Plugin", "p", spec))
            .await,
    );
    for field in [
        "spec.image:",
        "spec.digest:",
        "spec.pullSecretRef.namespace:",
    ] {
        assert!(message.contains(field), "{field}: {message}");
    }

    // A stored invalid object can still lose its finalizers (spec unchanged)
    // and get status; an unknown kind of the group is refused.
    let bad = with(&good_device(), "/port", json!(0));
    let r = w
        .review(
            "/validate",
            &host_review("UPDATE", "Device", "old", bad.clone()),
        )
        .await;
    assert_eq!(r["allowed"], true, "{r}");
    let mut status = host_review("CREATE", "Device", "old", bad);
    status["request"]["subResource"] = json!("status");
    assert_eq!(w.review("/validate", &status).await["allowed"], true);
    let message = denial(
        &w.review(
            "/validate",
            &host_review("CREATE", "Router", "r", json!({})),
        )
        .await,
    );
    assert!(message.contains("only Plugin and Device"), "{message}");
}
