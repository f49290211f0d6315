//! Keeps the admission webhook configurations in step with the served kinds: the `rules` of the service webhooks list exactly the kinds the loaded Plugins serve.
//!
//! The platform team creates the ValidatingWebhookConfiguration and the
//! MutatingWebhookConfiguration (`deploy/webhooks.yaml`: client config, CA
//! bundle, failurePolicy, namespaceSelector, timeouts); the operator owns
//! one field of their service webhooks, `rules`, and writes it with a JSON
//! patch that first tests the webhook's name, only when it differs.

use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use super::Context;

/// The service webhooks whose `rules` the operator owns: in the
/// ValidatingWebhookConfiguration and the MutatingWebhookConfiguration.
pub const SERVICE_WEBHOOKS: [(&str, &str); 2] = [
    ("ValidatingWebhookConfiguration", "validate.naas.io"),
    ("MutatingWebhookConfiguration", "mutate.naas.io"),
];

/// The rules matching the kinds served now, sorted (stable patches).
pub(super) fn rules(ctx: &Context) -> Value {
    let mut kinds: Vec<(String, String, String)> = ctx
        .served_kinds()
        .into_iter()
        .map(|k| (k.group, k.version, k.plural))
        .collect();
    kinds.sort();
    kinds.dedup();
    Value::Array(
        kinds
            .into_iter()
            .map(|(group, version, plural)| {
                json!({
                    "apiGroups": [group],
                    "apiVersions": [version],
                    "resources": [plural],
                    "operations": ["CREATE", "UPDATE"],
                    "scope": "Namespaced",
                })
            })
            .collect(),
    )
}

/// Sets the rules of the service webhooks of the configurations named
/// `name` to the served kinds. A configuration that does not exist is
/// skipped (admission is optional); a failure is logged, and retried at
/// the next change or Plugin reconcile.
pub(super) async fn sync(ctx: &Context, name: &str) {
    let wanted = rules(ctx);
    for (kind, webhook) in SERVICE_WEBHOOKS {
        let api = crate::admission::configurations(&ctx.client, kind);
        let current = match api.get_opt(name).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                tracing::debug!("no {kind} {name}: admission rules not kept");
                continue;
            }
            Err(e) => {
                tracing::warn!("reading {kind} {name}: {e}");
                continue;
            }
        };
        let hooks = current.data["webhooks"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some(i) = hooks.iter().position(|h| h["name"] == webhook) else {
            tracing::warn!("{kind} {name} has no webhook {webhook}: its rules are not kept");
            continue;
        };
        let have = hooks[i]
            .get("rules")
            .cloned()
            .unwrap_or(Value::Array(Vec::new()));
        if same_rules(&have, &wanted) {
            continue;
        }
        let patch: json_patch::Patch = match serde_json::from_value(json!([
            {"op": "test", "path": format!("/webhooks/{i}/name"), "value": webhook},
            {"op": "add", "path": format!("/webhooks/{i}/rules"), "value": wanted},
        ])) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("building the rules patch: {e}");
                continue;
            }
        };
        match api
            .patch(name, &PatchParams::default(), &Patch::<()>::Json(patch))
            .await
        {
            Ok(_) => tracing::info!("{kind} {name}: {webhook} now matches {wanted}"),
            Err(e) => tracing::warn!("setting the rules of {kind} {name}: {e}"),
        }
    }
}

/// Re-applies the rules whenever either configuration `name` changes
/// (created by the platform team after the Plugins were loaded, edited,
/// re-created), until `ctx.stop`.
pub(super) async fn follow(ctx: std::sync::Arc<Context>, name: String) {
    use futures_util::StreamExt;
    use k8s_openapi::api::admissionregistration::v1::{
        MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
    };
    use kube::runtime::{WatchStreamExt, watcher};
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let validating = watcher(
        Api::<ValidatingWebhookConfiguration>::all(ctx.client.clone()),
        config.clone(),
    )
    .default_backoff()
    .applied_objects()
    .map(|r| r.map(|_| ()));
    let mutating = watcher(
        Api::<MutatingWebhookConfiguration>::all(ctx.client.clone()),
        config,
    )
    .default_backoff()
    .applied_objects()
    .map(|r| r.map(|_| ()));
    let mut changes = futures_util::stream::select(validating, mutating)
        .take_until(ctx.stop.clone().cancelled_owned())
        .boxed();
    while let Some(change) = changes.next().await {
        match change {
            Ok(()) => sync(&ctx, &name).await,
            Err(e) => tracing::debug!("watching the webhook configurations {name}: {e}"),
        }
    }
}

/// Whether two rule lists match the same requests (the API server fills
/// defaults such as `scope`, so compare what we set).
fn same_rules(have: &Value, want: &Value) -> bool {
    let key = |r: &Value| {
        [
            "apiGroups",
            "apiVersions",
            "resources",
            "operations",
            "scope",
        ]
        .map(|f| r.get(f).cloned().unwrap_or(Value::Null))
    };
    let (Some(have), Some(want)) = (have.as_array(), want.as_array()) else {
        return false;
    };
    have.len() == want.len() && have.iter().zip(want).all(|(h, w)| key(h) == key(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_compare_by_the_fields_naas_sets() {
        let want = json!([{"apiGroups": ["g"], "apiVersions": ["v1"], "resources": ["xs"], "operations": ["CREATE", "UPDATE"], "scope": "Namespaced"}]);
        let mut have = want.clone();
        have[0]["extra"] = json!("filled by the server");
        assert!(same_rules(&have, &want));
        have[0]["resources"] = json!(["ys"]);
        assert!(!same_rules(&have, &want));
        assert!(!same_rules(&json!([]), &want));
        assert!(same_rules(&json!([]), &json!([])));
    }
}
