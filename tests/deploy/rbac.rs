//! The RBAC of deploy/: the operator's ServiceAccount is granted exactly what its code does to the API (a table kept next to the code facts), tenants reach services and nothing else.

use serde_json::Value;

use crate::{of_kind, one, rendered, strs};

/// Where a need comes from: cluster-wide, or the operator's namespace only.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scope {
    Cluster,
    OperatorNs,
}

/// One thing the operator does to the API: group, resource (`*` for every
/// kind of a service group and their status), verbs, scope, resource name.
struct Need {
    group: &'static str,
    resource: &'static str,
    verbs: &'static [&'static str],
    scope: Scope,
    name: Option<&'static str>,
    /// Where the code does it.
    code: &'static str,
}

const fn need(
    group: &'static str,
    resource: &'static str,
    verbs: &'static [&'static str],
    scope: Scope,
    code: &'static str,
) -> Need {
    Need {
        group,
        resource,
        verbs,
        scope,
        name: None,
        code,
    }
}

/// What host/src does to the API, verb by verb (kept next to the code facts;
/// deploy/rbac/*.yaml must grant exactly this).
#[rustfmt::skip]
const OPERATOR_USES: &[Need] = &[
    need("naas.io", "plugins", &["list", "watch"], Scope::Cluster, "operator/mod.rs run: Controller::new(Api::<Plugin>::all); loader.rs watcher"),
    need("naas.io", "plugins", &["patch"], Scope::Cluster, "operator/plugins.rs reconcile: finalizer() JSON-patches metadata.finalizers"),
    need("naas.io", "plugins/status", &["patch"], Scope::Cluster, "operator/mod.rs Context::apply_status: patch_status (server-side apply)"),
    need("naas.io", "devices", &["list", "watch"], Scope::Cluster, "operator/mod.rs run: Controller::new + Mirror::start(Api::<Device>::all); services.rs watches"),
    need("naas.io", "devices/status", &["patch"], Scope::Cluster, "operator/devices.rs reconcile: Context::apply_status"),
    need("apiextensions.k8s.io", "customresourcedefinitions", &["get"], Scope::Cluster, "operator/plugins.rs ensure_crd: get_opt (owner check, Established wait)"),
    need("apiextensions.k8s.io", "customresourcedefinitions", &["create", "patch"], Scope::Cluster, "operator/plugins.rs ensure_crd: server-side apply (authorised as create when new)"),
    need("apiextensions.k8s.io", "customresourcedefinitions", &["list", "delete"], Scope::Cluster, "operator/plugins.rs cleanup: list by naas.io/plugin, delete when no objects"),
    need("events.k8s.io", "events", &["create", "patch"], Scope::Cluster, "operator/mod.rs Context::event_ref: Recorder::publish (create; merge patch of a series)"),
    need("", "configmaps", &["list", "watch"], Scope::Cluster, "operator/mod.rs run: Mirror::start(Api::<ConfigMap>::all, naas-variables); services.rs watches"),
    need("", "configmaps", &["get"], Scope::Cluster, "operator/mod.rs config_map, templates.rs plugin_for, plugins.rs load (CA): any namespace"),
    need("", "configmaps", &["create", "update"], Scope::OperatorNs, "operator/applied.rs record: create / replace naas-applied-<device>"),
    need("", "secrets", &["list", "watch"], Scope::OperatorNs, "operator/mod.rs run: Mirror::start(Api::<Secret>::namespaced); services.rs watches"),
    need("", "secrets", &["get"], Scope::OperatorNs, "operator/plugins.rs load: the pull Secret"),
    need("coordination.k8s.io", "leases", &["get", "create", "update"], Scope::OperatorNs, "operator/leader.rs: get_opt, create, replace of Lease naas-operator"),
    Need { name: Some("naas"), ..need("admissionregistration.k8s.io", "validatingwebhookconfigurations", &["get", "list", "watch", "patch"], Scope::Cluster, "operator/registration.rs follow (watch, field selector metadata.name), sync (get_opt, JSON patch of rules)") },
    Need { name: Some("naas"), ..need("admissionregistration.k8s.io", "mutatingwebhookconfigurations", &["get", "list", "watch", "patch"], Scope::Cluster, "operator/registration.rs follow (watch, field selector metadata.name), sync (get_opt, JSON patch of rules)") },
    need("network.naas.io", "*", &["list", "watch"], Scope::Cluster, "operator/services.rs run: watcher(Api::all_with); plugins.rs cleanup: list_metadata"),
    need("network.naas.io", "*", &["patch"], Scope::Cluster, "operator/services.rs with_finalizer (merge), finalizer() (JSON), write_status (*/status, apply)"),
];

/// The rules of ClusterRole `name`, its aggregation resolved as the
/// cluster's aggregation controller does (by label selector).
fn cluster_role_rules(docs: &[Value], name: &str) -> Vec<Value> {
    let role = one(docs, "ClusterRole", name);
    let mut rules: Vec<Value> = role["rules"].as_array().cloned().unwrap_or_default();
    for selector in role["aggregationRule"]["clusterRoleSelectors"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let labels = selector["matchLabels"].as_object().expect("matchLabels");
        for r in of_kind(docs, "ClusterRole") {
            if labels.iter().all(|(k, v)| &r["metadata"]["labels"][k] == v) {
                rules.extend(r["rules"].as_array().cloned().unwrap_or_default());
            }
        }
    }
    rules
}

/// The rules granted to ServiceAccount naas-system/naas: cluster-wide, and in
/// naas-system only.
fn operator_rules(docs: &[Value]) -> (Vec<Value>, Vec<Value>) {
    let is_operator = |b: &Value| {
        b["subjects"].as_array().into_iter().flatten().any(|s| {
            s["kind"] == "ServiceAccount" && s["name"] == "naas" && s["namespace"] == "naas-system"
        })
    };
    let rules_of = |b: &Value, ns: Option<&str>| match b["roleRef"]["kind"].as_str() {
        Some("ClusterRole") => cluster_role_rules(docs, b["roleRef"]["name"].as_str().unwrap()),
        _ => {
            let role = of_kind(docs, "Role")
                .find(|r| {
                    r["metadata"]["name"] == b["roleRef"]["name"]
                        && r["metadata"]["namespace"].as_str() == ns
                })
                .expect("the RoleBinding's Role");
            role["rules"].as_array().cloned().unwrap_or_default()
        }
    };
    let cluster = of_kind(docs, "ClusterRoleBinding")
        .filter(|b| is_operator(b))
        .flat_map(|b| rules_of(b, None))
        .collect();
    let namespaced = of_kind(docs, "RoleBinding")
        .filter(|b| is_operator(b))
        .inspect(|b| assert_eq!(b["metadata"]["namespace"], "naas-system", "{b}"))
        .flat_map(|b| rules_of(b, b["metadata"]["namespace"].as_str()))
        .collect();
    (cluster, namespaced)
}

/// Whether `rules` allow `verb` on `group`/`resource` (named `name`), as RBAC decides.
fn allows(rules: &[Value], group: &str, resource: &str, verb: &str, name: Option<&str>) -> bool {
    rules.iter().any(|r| {
        let has = |field: &str, want: &str| strs(&r[field]).iter().any(|x| *x == want || *x == "*");
        let names = strs(&r["resourceNames"]);
        has("apiGroups", group)
            && has("resources", resource)
            && has("verbs", verb)
            && (names.is_empty() || name.is_some_and(|n| names.contains(&n)))
    })
}

#[test]
fn the_operator_is_granted_exactly_the_verbs_its_code_uses() {
    let Some(docs) = rendered() else { return };
    let (cluster, namespaced) = operator_rules(docs);
    // Everything it uses is allowed, in the scope it uses it.
    for n in OPERATOR_USES {
        let rules = if n.scope == Scope::Cluster {
            &cluster
        } else {
            &namespaced
        };
        for v in n.verbs {
            assert!(
                allows(rules, n.group, n.resource, v, n.name),
                "{v} {}.{} ({:?}) is not granted; the code: {}",
                n.resource,
                n.group,
                n.scope,
                n.code
            );
        }
    }
    // Nothing else: every verb of every rule is one the code uses there.
    for (rules, scope) in [(&cluster, Scope::Cluster), (&namespaced, Scope::OperatorNs)] {
        for r in rules.iter() {
            for g in strs(&r["apiGroups"]) {
                for res in strs(&r["resources"]) {
                    for v in strs(&r["verbs"]) {
                        let used = OPERATOR_USES.iter().any(|n| {
                            n.group == g
                                && n.resource == res
                                && n.verbs.contains(&v)
                                && n.scope == scope
                                && n.name.is_none() == r["resourceNames"].is_null()
                        });
                        assert!(
                            used,
                            "{scope:?} rule grants {v} {res}.{g:?}, which no code uses: {r}"
                        );
                    }
                }
            }
        }
    }
    // Secrets: read-only, in a Role of naas-system, nowhere else.
    for r in of_kind(docs, "ClusterRole")
        .flat_map(|c| c["rules"].as_array().cloned().unwrap_or_default())
    {
        assert!(
            !allows(std::slice::from_ref(&r), "", "secrets", "get", Some("any")),
            "a ClusterRole reaches Secrets: {r}"
        );
    }
    for role in of_kind(docs, "Role") {
        for r in role["rules"].as_array().unwrap() {
            if allows(std::slice::from_ref(r), "", "secrets", "get", Some("any")) {
                assert_eq!(role["metadata"]["namespace"], "naas-system");
                assert_eq!(strs(&r["verbs"]), ["get", "list", "watch"], "{r}");
            }
        }
    }
}

#[test]
fn tenant_roles_reach_services_and_nothing_else() {
    let Some(docs) = rendered() else { return };
    let edit = cluster_role_rules(docs, "naas-tenant-edit");
    let view = cluster_role_rules(docs, "naas-tenant-view");
    for verb in [
        "get", "list", "watch", "create", "update", "patch", "delete",
    ] {
        for kind in ["accessports", "bgppeerings"] {
            assert!(
                allows(&edit, "network.naas.io", kind, verb, None),
                "edit: {verb} {kind}"
            );
            let read = ["get", "list", "watch"].contains(&verb);
            assert_eq!(
                allows(&view, "network.naas.io", kind, verb, None),
                read,
                "view: {verb} {kind}"
            );
        }
    }
    #[rustfmt::skip]
    let refused = [("", "secrets"), ("naas.io", "devices"), ("naas.io", "plugins"), ("", "configmaps")];
    for rules in [&edit, &view] {
        for ((group, resource), verb) in refused
            .iter()
            .flat_map(|r| ["get", "list", "create", "delete"].map(|v| (r, v)))
        {
            assert!(
                !allows(rules, group, resource, verb, Some("any")),
                "a tenant may {verb} {resource}"
            );
        }
        // Only service groups: none of Kubernetes' own, not naas.io.
        for g in rules.iter().flat_map(|r| strs(&r["apiGroups"])) {
            assert!(
                g.contains('.') && g != "naas.io" && !g.ends_with(".k8s.io"),
                "tenant rule on group {g:?}"
            );
        }
    }
}
