//! Services of plugin-served kinds: one dynamic controller per kind; reconcile = finalizer(apply through the pipeline and the driver, cleanup).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::{ObjectRef, Store, store::Writer};
use kube::runtime::utils::PredicateConfig;
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use super::{Context, DRY_RUN_ANNOTATION, Device, Error, FIELD_MANAGER, FINALIZER, conditions};
use crate::digest::Digest;
use crate::pipeline::{Evaluation, PipelineError};
use crate::runtime::Service;

/// Runs the controller of one service kind until `stop` fires or the
/// process ends. Re-reconciles everything when `replay` ticks (a plugin
/// moved to a new digest) and services whose Devices changed.
pub(super) async fn run(
    ctx: Arc<Context>,
    ar: ApiResource,
    replay: tokio::sync::watch::Receiver<u64>,
) {
    let api: Api<DynamicObject> = Api::all_with(ctx.client.clone(), &ar);
    // The services themselves, minus the updates that only touch status (our
    // own status writes would each cost one more, no-op, reconcile).
    let writer = Writer::<DynamicObject>::new(ar.clone());
    let reader = writer.as_reader();
    let changes = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(reconcile_relevant, PredicateConfig::default());
    let controller = Controller::for_stream_with(changes, reader, ar.clone());
    let kind = ar.clone();
    let store = controller.store();
    let refs = move |services: Vec<Arc<DynamicObject>>| {
        let ar = ar.clone();
        services
            .into_iter()
            .map(move |s| ObjectRef::from_obj_with(&*s, ar.clone()))
            .collect::<Vec<_>>()
    };
    let client = ctx.client.clone();
    let operator_ns = ctx.namespace.clone();
    // A Device change (a grant added or removed, an address...) touches the
    // services of the namespaces it grants and the services pushed to it.
    let on_device = {
        let (store, refs) = (store.clone(), refs.clone());
        move |device: Device| refs(services_of_device(&store, &device))
    };
    // A credentials Secret (in the operator's namespace) touches the
    // services of the Devices that use it.
    let on_secret = {
        let (store, refs, ctx) = (store.clone(), refs.clone(), ctx.clone());
        move |secret: Secret| {
            let name = secret.name_any();
            let users: Vec<_> = ctx
                .devices
                .snapshot()
                .into_iter()
                .filter(|d| d.spec.credentials_secret_ref.name == name)
                .flat_map(|d| services_of_device(&store, &d))
                .collect();
            refs(users)
        }
    };
    // A namespace's `naas-variables` ConfigMap touches that namespace's
    // services; a Plugin's variables or templates ConfigMap touches all of its kind.
    let on_tenant_variables = {
        let (store, refs) = (store.clone(), refs.clone());
        move |cm: ConfigMap| {
            let ns = cm.namespace();
            refs(
                store
                    .state()
                    .into_iter()
                    .filter(|s| s.namespace() == ns)
                    .collect(),
            )
        }
    };
    let on_plugin_variables = {
        let (store, refs, ctx, kind) = (store.clone(), refs.clone(), ctx.clone(), kind.clone());
        move |cm: ConfigMap| {
            let used = ctx.config_map_refs(&kind.kind).iter().any(|r| {
                r.name == cm.name_any()
                    && r.namespace.as_deref().unwrap_or(&ctx.namespace)
                        == cm.namespace().unwrap_or_default()
            });
            refs(if used { store.state() } else { Vec::new() })
        }
    };
    let replay = tokio_stream_of(replay);
    controller
        .watches(
            Api::<Device>::all(client.clone()),
            watcher::Config::default(),
            on_device,
        )
        .watches(
            Api::<Secret>::namespaced(client.clone(), &operator_ns),
            watcher::Config::default(),
            on_secret,
        )
        .watches(
            Api::<ConfigMap>::all(client.clone()),
            watcher::Config::default()
                .fields(&format!("metadata.name={}", super::NAMESPACE_VARIABLES)),
            on_tenant_variables,
        )
        .watches(
            Api::<ConfigMap>::namespaced(client, &operator_ns),
            super::not_applied_records(),
            on_plugin_variables,
        )
        .reconcile_all_on(replay)
        // Bounded: each reconcile makes a few API calls, and a burst of a
        // thousand services must not open a thousand connections at once.
        .with_config(kube::runtime::controller::Config::default().concurrency(CONCURRENCY))
        // On shutdown or lost leadership: start nothing new, finish what runs.
        .graceful_shutdown_on(ctx.stop.clone().cancelled_owned())
        .run(
            move |obj, ctx| reconcile(obj, ctx, kind.clone()),
            error_policy,
            ctx,
        )
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!("service reconcile: {e}");
            }
        })
        .await;
}

/// What of a service makes it worth a reconcile: its spec (generation),
/// other finalizers, deletion, labels and the dry-run annotation; not its
/// status, nor naas's own finalizer (added in the reconcile that goes on to
/// apply; one removed by hand is back at the next reconcile).
fn reconcile_relevant(s: &DynamicObject) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let meta = s.meta();
    meta.generation.hash(&mut h);
    for f in s.finalizers().iter().filter(|f| *f != FINALIZER) {
        f.hash(&mut h);
    }
    meta.deletion_timestamp.is_some().hash(&mut h);
    meta.labels.hash(&mut h);
    s.annotations().get(DRY_RUN_ANNOTATION).hash(&mut h);
    Some(h.finish())
}

/// The services of `store` that `device` grants (by namespace) or that were pushed to it.
fn services_of_device(store: &Store<DynamicObject>, device: &Device) -> Vec<Arc<DynamicObject>> {
    let name = device.name_any();
    let granted: Vec<String> = device
        .spec
        .tenants
        .iter()
        .map(|t| t.namespace.clone())
        .collect();
    store
        .state()
        .into_iter()
        .filter(|s| {
            s.namespace().is_some_and(|ns| granted.contains(&ns))
                || pushed_devices(s).contains(&name)
        })
        .collect()
}

fn tokio_stream_of(
    rx: tokio::sync::watch::Receiver<u64>,
) -> impl futures_util::Stream<Item = ()> + Send {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.changed().await.ok()?;
        Some(((), rx))
    })
}

/// Reconciles of one kind running at once.
const CONCURRENCY: u16 = 64;

/// The devices a service's status says it was pushed to.
fn pushed_devices(s: &DynamicObject) -> Vec<String> {
    s.data["status"]["devices"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

async fn reconcile(
    obj: Arc<DynamicObject>,
    ctx: Arc<Context>,
    ar: ApiResource,
) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &ns, &ar);
    let key = failure_key(&obj);
    crate::metrics::global().reconciled(&ar.kind);
    let _busy = ctx.busy();
    let obj = with_finalizer(&api, obj).await?;
    let action = finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Finalizer::Apply(o) => apply(&o, &ar, &ctx).await,
            Finalizer::Cleanup(o) => cleanup(&o, &ar, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)))?;
    ctx.succeeded(&key);
    Ok(action)
}

/// The service with the finalizer, added here (one reconcile) rather than
/// by [`finalizer`] (which adds it and waits for the next reconcile), when
/// the mutating webhook did not add it at creation.
async fn with_finalizer(
    api: &Api<DynamicObject>,
    obj: Arc<DynamicObject>,
) -> Result<Arc<DynamicObject>, Error> {
    if obj.meta().deletion_timestamp.is_some() || obj.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(obj);
    }
    let mut finalizers = obj.finalizers().to_vec();
    finalizers.push(FINALIZER.to_string());
    // The resourceVersion makes it conditional, as the finalizer helper's patch is.
    let patch =
        json!({"metadata": {"finalizers": finalizers, "resourceVersion": obj.resource_version()}});
    let patched = api
        .patch(
            &obj.name_any(),
            &PatchParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PatchParams::default()
            },
            &Patch::Merge(&patch),
        )
        .await
        .map_err(|e| {
            Error::Kube(format!(
                "adding the finalizer to {}/{}: {e}",
                obj.namespace().unwrap_or_default(),
                obj.name_any()
            ))
        })?;
    Ok(Arc::new(patched))
}

fn error_policy(obj: Arc<DynamicObject>, error: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(service = %obj.name_any(), "reconcile failed: {error}");
    let kind = obj.types.as_ref().map_or("", |t| t.kind.as_str());
    crate::metrics::global().failed(kind, error.class());
    Action::requeue(ctx.backoff(&failure_key(&obj)))
}

fn failure_key(obj: &DynamicObject) -> String {
    let kind = obj.types.as_ref().map_or("", |t| t.kind.as_str());
    format!(
        "{kind}/{}/{}",
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

/// The pipeline's view of a service object.
fn to_service(obj: &DynamicObject, ar: &ApiResource) -> Service {
    crate::manifest::service_of_object(obj, &ar.api_version, &ar.kind)
}

/// The key a service's config is kept under, per device.
fn owner_key(s: &Service) -> String {
    crate::applied::service_key(&s.kind, &s.namespace, &s.name)
}

async fn apply(obj: &DynamicObject, ar: &ApiResource, ctx: &Context) -> Result<Action, Error> {
    let service = to_service(obj, ar);
    let generation = obj.meta().generation;
    let previous = previous_conditions(obj);
    // A missing variables or templates ConfigMap says so in status; its
    // creation triggers the next try (the ConfigMaps are watched).
    let inputs = match ctx.plugin_for(&ar.api_version, &ar.kind).await {
        Ok(Some(p)) => ctx.context_for(&service).await.map(|c| Some((p, c))),
        other => other.map(|_| None),
    };
    let inputs = match inputs {
        Ok(i) => i,
        Err(e) => {
            let c = conditions::ready(false, "ConfigMissing", e.to_string(), generation, &previous);
            write_status(ctx, obj, ar, json!({"conditions": [c]})).await?;
            return Err(e);
        }
    };
    let Some(((plugins, plugin_digest), context)) = inputs else {
        let c = conditions::ready(
            false,
            "NoPlugin",
            format!("no Ready Plugin serves {} {}", ar.api_version, ar.kind),
            generation,
            &previous,
        );
        write_status(ctx, obj, ar, json!({"conditions": [c]})).await?;
        return Ok(Action::requeue(Duration::from_secs(30)));
    };
    let context = Arc::new(context);
    let evaluated = plugins
        .evaluate(ctx.runtime.executor(), service.clone(), context)
        .await;
    let evaluation = match evaluated {
        Ok(e) => e,
        Err(PipelineError::Invalid { violations, .. }) => {
            let list: Vec<Value> = violations
                .iter()
                .map(|v| json!({"field": v.field, "message": v.message}))
                .collect();
            let message = violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            let c = conditions::ready(false, "Invalid", message.clone(), generation, &previous);
            write_status(ctx, obj, ar, json!({"conditions": [c], "violations": list})).await?;
            ctx.event_ref(&obj.object_ref(ar), EventType::Warning, "Invalid", &message)
                .await;
            // Not retried: a change of the service triggers the next try.
            return Ok(Action::await_change());
        }
        Err(e @ (PipelineError::TemplateOverride { .. } | PipelineError::NotGranted { .. })) => {
            let reason = match e {
                PipelineError::NotGranted { .. } => "NotGranted",
                _ => "TemplateError",
            };
            let message = e.to_string();
            let c = conditions::ready(false, reason, message.clone(), generation, &previous);
            write_status(ctx, obj, ar, json!({"conditions": [c]})).await?;
            ctx.event_ref(&obj.object_ref(ar), EventType::Warning, reason, &message)
                .await;
            // Not retried: a change of the templates ConfigMap or of a
            // Device's grants (both watched), or of the service, triggers
            // the next try.
            return Ok(Action::await_change());
        }
        Err(e) => {
            let c = conditions::ready(false, "PluginFailed", e.to_string(), generation, &previous);
            write_status(ctx, obj, ar, json!({"conditions": [c]})).await?;
            return Err(Error::Pipeline(e.to_string()));
        }
    };
    let key = owner_key(&service);
    // No port another service holds (Device grants may have changed since
    // admission, or admission may not run at all).
    let held = ctx.applied.held(ctx, &evaluation.configs).await?;
    let taken = crate::claims::conflicts(&key, &evaluation.configs, &held);
    if !taken.is_empty() {
        let message = crate::claims::describe(&taken);
        let c = conditions::ready(false, "PortHeld", message.clone(), generation, &previous);
        write_status(ctx, obj, ar, json!({"conditions": [c]})).await?;
        ctx.event_ref(
            &obj.object_ref(ar),
            EventType::Warning,
            "PortHeld",
            &message,
        )
        .await;
        // The holder may go away: look again later.
        return Ok(Action::requeue(Duration::from_secs(60)));
    }
    if obj
        .annotations()
        .get(DRY_RUN_ANNOTATION)
        .is_some_and(|v| v == "true")
    {
        let plan = ctx.applied.plan(ctx, &key, &evaluation).await?;
        let c = conditions::ready(
            true,
            "DryRun",
            "planned; nothing was pushed (naas.io/dry-run)",
            generation,
            &previous,
        );
        write_status(ctx, obj, ar, json!({"conditions": [c], "plan": plan})).await?;
        return Ok(Action::await_change());
    }
    let pushed = ctx
        .applied
        .push(ctx, &key, Some(&evaluation), &pushed_devices(obj))
        .await;
    let devices = device_status(&evaluation, &plugin_digest, &pushed);
    match pushed {
        Ok(changed) => {
            let message = format!("{} device(s) configured", evaluation.configs.len());
            let c = conditions::ready(true, "Applied", message.clone(), generation, &previous);
            write_status(ctx, obj, ar, json!({"conditions": [c], "devices": devices, "deviceCount": evaluation.configs.len()})).await?;
            if changed {
                ctx.event_ref(&obj.object_ref(ar), EventType::Normal, "Applied", &message)
                    .await;
            }
            Ok(Action::requeue(Duration::from_secs(3600)))
        }
        Err(e) => {
            let c = conditions::ready(false, "PushFailed", e.to_string(), generation, &previous);
            write_status(ctx, obj, ar, json!({"conditions": [c], "devices": devices})).await?;
            ctx.event_ref(
                &obj.object_ref(ar),
                EventType::Warning,
                "PushFailed",
                &e.to_string(),
            )
            .await;
            Err(e)
        }
    }
}

async fn cleanup(obj: &DynamicObject, ar: &ApiResource, ctx: &Context) -> Result<Action, Error> {
    let service = to_service(obj, ar);
    let key = owner_key(&service);
    match ctx
        .applied
        .push(ctx, &key, None, &pushed_devices(obj))
        .await
    {
        Ok(_) => {
            ctx.event_ref(
                &obj.object_ref(ar),
                EventType::Normal,
                "Removed",
                "its config was removed from every device",
            )
            .await;
            Ok(Action::await_change())
        }
        Err(e) => {
            ctx.event_ref(
                &obj.object_ref(ar),
                EventType::Warning,
                "CleanupFailed",
                &format!("{e}; the finalizer stays until the device can be reached"),
            )
            .await;
            Err(e)
        }
    }
}

/// Per device: result, config digest and the plugin digest that rendered it.
fn device_status(e: &Evaluation, plugin_digest: &str, pushed: &Result<bool, Error>) -> Vec<Value> {
    e.configs
        .iter()
        .map(|c| {
            json!({
                "name": c.device,
                "result": match pushed { Ok(_) => "Committed".to_string(), Err(err) => format!("Failed: {err}") },
                "configDigest": Digest::of(c.text.as_bytes()).to_string(),
                "pluginDigest": plugin_digest,
            })
        })
        .collect()
}

fn previous_conditions(
    obj: &DynamicObject,
) -> Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    serde_json::from_value(obj.data["status"]["conditions"].clone()).unwrap_or_default()
}

/// Writes the status by server-side apply (one field manager), only when it changed.
async fn write_status(
    ctx: &Context,
    obj: &DynamicObject,
    ar: &ApiResource,
    status: Value,
) -> Result<(), Error> {
    let ready = &status["conditions"][0];
    if ready["status"] == "False" {
        let reason = ready["reason"].as_str().unwrap_or("Unknown");
        crate::metrics::global().failed(&ar.kind, reason);
    }
    let current = &obj.data["status"];
    let unchanged = status
        .as_object()
        .is_some_and(|m| m.iter().all(|(k, v)| &current[k] == v))
        && current
            .as_object()
            .is_some_and(|c| c.keys().all(|k| status.get(k).is_some()));
    if unchanged {
        return Ok(());
    }
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), &obj.namespace().unwrap_or_default(), ar);
    let patch = json!({"apiVersion": ar.api_version, "kind": ar.kind, "status": status});
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(|e| {
        Error::Kube(format!(
            "writing the status of {}/{}: {e}",
            obj.namespace().unwrap_or_default(),
            obj.name_any()
        ))
    })?;
    Ok(())
}

/// What `apply` last pushed per device, for the dry-run plan's diff.
pub(super) type Plan = BTreeMap<String, Value>;
