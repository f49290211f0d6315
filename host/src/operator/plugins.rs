//! The Plugin controller: pull and load the plugin, serve its kinds as CRDs (with its schema), start their service controllers, report status.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use super::{
    Context, Error, FIELD_MANAGER, FINALIZER, LoadedPlugin, Plugin, PluginInfoStatus, PluginStatus,
    conditions,
};
use crate::oci::{DockerConfig, Fetcher, PluginRef, RegistryOptions};
use crate::runtime::{Limits, ServiceKind};

/// Label on the CRDs the host creates: the Plugin that serves the kind.
pub const PLUGIN_LABEL: &str = "naas.io/plugin";

/// Reconciles one Plugin.
pub(super) async fn reconcile(obj: Arc<Plugin>, ctx: Arc<Context>) -> Result<Action, Error> {
    let api: Api<Plugin> = Api::all(ctx.client.clone());
    let key = format!("Plugin/{}", obj.name_any());
    crate::metrics::global().reconciled("Plugin");
    let _busy = ctx.busy();
    let action = finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Finalizer::Apply(p) => apply(&p, &ctx).await,
            Finalizer::Cleanup(p) => cleanup(&p, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)))?;
    ctx.succeeded(&key);
    Ok(action)
}

/// Retries a failed Plugin with a growing delay.
pub(super) fn error_policy(obj: Arc<Plugin>, error: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(plugin = %obj.name_any(), "reconcile failed: {error}");
    crate::metrics::global().failed("Plugin", error.class());
    Action::requeue(ctx.backoff(&format!("Plugin/{}", obj.name_any())))
}

async fn apply(p: &Plugin, ctx: &Context) -> Result<Action, Error> {
    let name = p.name_any();
    let generation = p.meta().generation;
    let previous = p.status.clone().unwrap_or_default();
    let fail = |reason: &str, message: String| {
        let c = conditions::ready(false, reason, message, generation, &previous.conditions);
        PluginStatus {
            conditions: vec![c],
            ..previous.clone()
        }
    };
    let loaded = match load(p, ctx).await {
        Ok(l) => l,
        Err(e) => {
            write_status(ctx, p, &fail("PullFailed", e.to_string())).await?;
            ctx.event(p, EventType::Warning, "PullFailed", &e.to_string())
                .await;
            return Err(e);
        }
    };
    let kinds = loaded.plugin.info().kinds.clone();
    for k in &kinds {
        if let Err(e) = ensure_crd(ctx, &name, k).await {
            write_status(ctx, p, &fail("KindRejected", e.to_string())).await?;
            ctx.event(p, EventType::Warning, "KindRejected", &e.to_string())
                .await;
            return Ok(Action::requeue(Duration::from_secs(60)));
        }
    }
    let info = loaded.plugin.info();
    let status = PluginStatus {
        digest: Some(loaded.manifest_digest.clone()),
        component_digest: Some(loaded.plugin.digest().to_string()),
        info: Some(PluginInfoStatus {
            name: info.name.clone(),
            version: info.version.clone(),
            vendor: info.vendor.clone(),
            platforms: info.platforms.clone(),
        }),
        kinds: kinds
            .iter()
            .map(|k| format!("{}.{}/{}", k.kind, k.group, k.version))
            .collect(),
        conditions: vec![conditions::ready(
            true,
            "Loaded",
            format!(
                "{} {} serves {}",
                info.name,
                info.version,
                kinds
                    .iter()
                    .map(|k| k.kind.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            generation,
            &previous.conditions,
        )],
    };
    let moved = ctx.install_plugin(&name, loaded, true);
    ctx.register_kinds().await;
    if moved {
        ctx.event(
            p,
            EventType::Normal,
            "Loaded",
            &status.conditions[0].message,
        )
        .await;
    }
    write_status(ctx, p, &status).await?;
    Ok(Action::requeue(Duration::from_secs(600)))
}

async fn cleanup(p: &Plugin, ctx: &Context) -> Result<Action, Error> {
    let name = p.name_any();
    ctx.remove_plugin(&name);
    ctx.register_kinds().await;
    // A CRD that still has objects is kept: deleting it would delete them.
    let crds: Api<CustomResourceDefinition> = Api::all(ctx.client.clone());
    let owned = crds
        .list(&ListParams::default().labels(&format!("{PLUGIN_LABEL}={name}")))
        .await
        .map_err(|e| Error::Kube(format!("listing the CRDs of Plugin {name}: {e}")))?;
    for crd in owned {
        let Some(v) = crd.spec.versions.first() else {
            continue;
        };
        let ar = kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk(&crd.spec.group, &v.name, &crd.spec.names.kind),
            &crd.spec.names.plural,
        );
        let objects: Api<kube::api::DynamicObject> = Api::all_with(ctx.client.clone(), &ar);
        let left = objects
            .list_metadata(&ListParams::default().limit(1))
            .await
            .map(|l| l.items.len())
            .unwrap_or(1);
        if left == 0 {
            let _ = crds.delete(&crd.name_any(), &DeleteParams::default()).await;
        } else {
            ctx.event(
                p,
                EventType::Warning,
                "KindKept",
                &format!(
                    "CRD {} still has objects; it was not deleted",
                    crd.name_any()
                ),
            )
            .await;
        }
    }
    Ok(Action::await_change())
}

/// Pulls (verified, cached) and loads the plugin a Plugin names.
pub(super) async fn load(p: &Plugin, ctx: &Context) -> Result<LoadedPlugin, Error> {
    let spec = &p.spec;
    let r = PluginRef::parse(&spec.image, spec.digest.as_deref())
        .map_err(|e| Error::Plugin(e.to_string()))?;
    let mut opts = RegistryOptions::default();
    if let Some(s) = &spec.pull_secret_ref {
        let ns = s.namespace.clone().unwrap_or_else(|| ctx.namespace.clone());
        let secret = Api::<Secret>::namespaced(ctx.client.clone(), &ns)
            .get(&s.name)
            .await
            .map_err(|e| Error::Plugin(format!("pull Secret {ns}/{}: {e}", s.name)))?;
        let json = secret
            .data
            .as_ref()
            .and_then(|d| d.get(".dockerconfigjson"))
            .ok_or_else(|| {
                Error::Plugin(format!(
                    "pull Secret {ns}/{} has no .dockerconfigjson key",
                    s.name
                ))
            })?;
        opts.credentials = DockerConfig::parse(&json.0)
            .map_err(|e| Error::Plugin(format!("pull Secret {ns}/{}: {e}", s.name)))?;
    }
    if spec.insecure_registry {
        opts.insecure_registries.push(r.registry().to_string());
    }
    if let Some(c) = &spec.ca_config_map_ref {
        let ns = c.namespace.clone().unwrap_or_else(|| ctx.namespace.clone());
        let cm = Api::<ConfigMap>::namespaced(ctx.client.clone(), &ns)
            .get(&c.name)
            .await
            .map_err(|e| Error::Plugin(format!("CA ConfigMap {ns}/{}: {e}", c.name)))?;
        let pem = cm
            .data
            .as_ref()
            .and_then(|d| d.get("ca.crt"))
            .ok_or_else(|| {
                Error::Plugin(format!("CA ConfigMap {ns}/{} has no ca.crt key", c.name))
            })?;
        let path = ctx.scratch_dir.join(format!("ca-{}.pem", p.name_any()));
        std::fs::write(&path, pem)
            .map_err(|e| Error::Plugin(format!("writing {}: {e}", path.display())))?;
        opts.ca_files.push(path);
    }
    let fetcher =
        Fetcher::new(opts, ctx.oci_cache.as_deref()).map_err(|e| Error::Plugin(e.to_string()))?;
    let fetched = fetcher
        .fetch(&r)
        .await
        .map_err(|e| Error::Plugin(e.to_string()))?;
    let limits = Limits {
        timeout: crate::cli::parse_duration(&spec.limits.timeout)
            .map_err(|e| Error::Plugin(format!("spec.limits.timeout: {e}")))?,
        memory_bytes: usize::try_from(spec.limits.memory_mib).unwrap_or(64) << 20,
        max_output_bytes: usize::try_from(spec.limits.max_output_bytes).unwrap_or(usize::MAX),
    };
    let plugin = ctx
        .runtime
        .load_verified_async(
            fetched.reference.to_string(),
            fetched.component.clone(),
            fetched.component_digest.clone(),
            limits,
        )
        .await
        .map_err(|e| Error::Plugin(e.to_string()))?;
    Ok(LoadedPlugin {
        plugin,
        manifest_digest: fetched.manifest_digest.to_string(),
        variables: spec.variables.clone(),
        templates: spec.templates.clone(),
    })
}

/// The CRD the host serves for a plugin's kind.
#[must_use]
pub fn service_crd(plugin: &str, k: &ServiceKind) -> Value {
    let schema: Value =
        serde_json::from_str(&k.spec_schema).unwrap_or_else(|_| json!({"type": "object"}));
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": format!("{}.{}", k.plural, k.group),
            "labels": {PLUGIN_LABEL: plugin, "app.kubernetes.io/managed-by": "naas", "naas.io/service-kind": "true"},
        },
        "spec": {
            "group": k.group,
            "scope": "Namespaced",
            "names": {
                "kind": k.kind,
                "plural": k.plural,
                "singular": k.kind.to_lowercase(),
                "categories": ["naas"],
            },
            "versions": [{
                "name": k.version,
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": schema,
                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    },
                }},
                "additionalPrinterColumns": [
                    {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                    {"name": "Devices", "type": "integer", "jsonPath": ".status.deviceCount"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
            }],
        },
    })
}

/// Creates or updates the CRD of kind `k`, refusing one the host did not create.
async fn ensure_crd(ctx: &Context, plugin: &str, k: &ServiceKind) -> Result<(), Error> {
    let crds: Api<CustomResourceDefinition> = Api::all(ctx.client.clone());
    let name = format!("{}.{}", k.plural, k.group);
    if let Some(existing) = crds
        .get_opt(&name)
        .await
        .map_err(|e| Error::Kube(format!("reading CRD {name}: {e}")))?
    {
        match existing.labels().get(PLUGIN_LABEL) {
            Some(owner) if owner == plugin => {}
            Some(owner) => {
                return Err(Error::Plugin(format!(
                    "CRD {name} is served by Plugin {owner}; one kind has one plugin"
                )));
            }
            None => {
                return Err(Error::Plugin(format!(
                    "CRD {name} exists and was not created by naas; the host will not take it over"
                )));
            }
        }
    }
    let crd = service_crd(plugin, k);
    crds.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&crd),
    )
    .await
    .map_err(|e| Error::Plugin(format!("the API server refused CRD {name}: {e}")))?;
    // Serve the kind only once the API server does: a controller started
    // earlier meets 404s and backs off, delaying the first services.
    for _ in 0..300 {
        let established = crds
            .get_opt(&name)
            .await
            .ok()
            .flatten()
            .and_then(|c| c.status)
            .and_then(|s| s.conditions)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
        if established {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(Error::Plugin(format!(
        "CRD {name} was not Established within 30 s"
    )))
}

async fn write_status(ctx: &Context, p: &Plugin, status: &PluginStatus) -> Result<(), Error> {
    if p.status.as_ref() == Some(status) {
        return Ok(());
    }
    ctx.apply_status(p, status).await
}
