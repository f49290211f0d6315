//! The operator: Plugin, Device and plugin-served service kinds reconciled on a Kubernetes API with kube-runtime controllers.
//!
//! One controller per kind: [`Plugin`] (pull, load, serve its kinds as
//! CRDs), [`Device`] (check it, report), and one dynamic controller per
//! service kind a Ready Plugin declares, started and stopped as Plugins come
//! and go. Services are evaluated by the one pipeline through the shared
//! [`PluginSet`] and pushed through a [`Driver`].

mod applied;
mod conditions;
mod devices;
mod drift;
mod inputs;
mod leader;
mod loader;
mod mirror;
mod ops;
mod plugins;
mod records;
mod registration;
mod resources;
mod services;
mod start;
mod templates;
mod webhook;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ApiResource, GroupVersionKind};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};

pub use applied::AppliedConfigs;
pub use leader::{Elector, LeaderError, LeaseConfig, default_identity};
use mirror::Mirror;
pub use plugins::{PLUGIN_LABEL, service_crd};
pub use records::{APPLIED_LABEL, RECORD_KEY, fragments_of};
pub use resources::*;
pub use start::run;

use crate::driver::Driver;
use crate::runtime::{Plugin as LoadedComponent, Runtime};

/// The one field manager of every server-side apply the host makes.
pub const FIELD_MANAGER: &str = "naas";
/// The finalizer on Plugins and services.
pub const FINALIZER: &str = "naas.io/cleanup";
/// Annotation that makes a service a dry run: the plan goes to status, nothing is pushed.
pub const DRY_RUN_ANNOTATION: &str = "naas.io/dry-run";
/// Name of a namespace's ConfigMap of variables (wins over the Plugin's).
pub const NAMESPACE_VARIABLES: &str = "naas-variables";

/// Why a reconcile failed. Messages name the object and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API call failed.
    #[error("{0}")]
    Kube(String),
    /// The plugin could not be pulled or loaded.
    #[error("{0}")]
    Plugin(String),
    /// The pipeline failed (not a user error).
    #[error("{0}")]
    Pipeline(String),
    /// The object is malformed.
    #[error("{0}")]
    Object(String),
    /// A device refused or failed a push.
    #[error("push to device {device} failed: {detail}")]
    Push {
        /// The device.
        device: String,
        /// Why.
        detail: String,
    },
    /// A driver operation failed.
    #[error(transparent)]
    Driver(crate::driver::DriverError),
    /// Adding or removing the finalizer, or the apply/cleanup inside it.
    #[error("{0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
    /// Leader election could not start.
    #[error(transparent)]
    Leader(#[from] LeaderError),
    /// This replica stopped leading; it stopped reconciling (restart it to
    /// stand as a candidate again).
    #[error("lost leadership: {0}; stopped reconciling")]
    LeadershipLost(String),
}

impl Error {
    /// A short class for metrics: `Kube`, `Plugin`, `Pipeline`, `Object`, `Push`, `Driver`, `Finalizer`.
    #[must_use]
    pub fn class(&self) -> &'static str {
        match self {
            Self::Kube(_) => "Kube",
            Self::Plugin(_) => "Plugin",
            Self::Pipeline(_) => "Pipeline",
            Self::Object(_) => "Object",
            Self::Push { .. } => "Push",
            Self::Driver(_) => "Driver",
            Self::Leader(_) | Self::LeadershipLost(_) => "Leader",
            Self::Finalizer(e) => match &**e {
                kube::runtime::finalizer::Error::ApplyFailed(e)
                | kube::runtime::finalizer::Error::CleanupFailed(e) => e.class(),
                _ => "Finalizer",
            },
        }
    }
}

/// A Plugin loaded into the runtime.
#[derive(Debug, Clone)]
pub struct LoadedPlugin {
    /// The plugin.
    pub plugin: Arc<LoadedComponent>,
    /// The OCI manifest digest.
    pub manifest_digest: String,
    /// Its variables ConfigMaps.
    pub variables: Vec<ObjectRef>,
    /// Its template overrides ConfigMap.
    pub templates: Option<ObjectRef>,
}

/// How to run the operator.
pub struct OperatorConfig {
    /// The operator's namespace (Secrets, applied configs).
    pub namespace: String,
    /// The runtime plugins are loaded into.
    pub runtime: Runtime,
    /// Where pulled plugins are cached (`None`: no cache).
    pub oci_cache: Option<PathBuf>,
    /// Where CA bundles from ConfigMaps are written.
    pub scratch_dir: PathBuf,
    /// The driver that pushes configs.
    pub driver: Arc<dyn Driver>,
    /// Serve the admission webhook too (`None`: not here).
    pub webhook: Option<WebhookConfig>,
    /// Serve `/metrics`, `/healthz` and `/readyz` over plain HTTP here.
    pub ops_listen: Option<std::net::SocketAddr>,
    /// The Validating/MutatingWebhookConfiguration (both of this name)
    /// whose service webhooks' rules the operator keeps in step with the
    /// served kinds (`None`: leave them alone).
    pub webhook_configuration: Option<String>,
    /// Reconcile only while holding this Lease (`None`: always; one replica only).
    pub leader_election: Option<LeaseConfig>,
    /// Cancelled to stop: no new reconcile starts, running ones finish,
    /// the Lease is released, and [`run`] returns.
    pub shutdown: tokio_util::sync::CancellationToken,
}

/// Where and how `naas operator` serves the admission endpoints.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Address to listen on (HTTPS).
    pub listen: std::net::SocketAddr,
    /// The serving certificate and key.
    pub tls: crate::admission::TlsFiles,
    /// Bound on one review's plugin work (under the webhook's timeoutSeconds).
    pub deadline: Duration,
}

/// What every reconcile shares.
pub struct Context {
    client: Client,
    namespace: String,
    runtime: Runtime,
    oci_cache: Option<PathBuf>,
    scratch_dir: PathBuf,
    driver: Arc<dyn Driver>,
    recorder: Recorder,
    applied: AppliedConfigs,
    plugins: Mutex<BTreeMap<String, LoadedPlugin>>,
    /// One running controller per served kind, with its replay trigger.
    kinds: Mutex<HashMap<GroupVersionKind, KindController>>,
    /// Every Device.
    devices: Mirror<Device>,
    /// Secrets of the operator's namespace (device credentials).
    secrets: Mirror<Secret>,
    /// ConfigMaps of the operator's namespace (Plugin variables).
    config_maps: Mirror<ConfigMap>,
    /// Every namespace's `naas-variables` ConfigMap.
    tenant_variables: Mirror<ConfigMap>,
    /// Failures in a row per object (`Kind/namespace/name`), for backoff.
    failures: Mutex<HashMap<String, u32>>,
    /// Whether the Plugins listed at start have all been loaded (or tried).
    plugins_listed: std::sync::atomic::AtomicBool,
    /// Cancelled when the controllers must stop (shutdown, lost leadership).
    stop: tokio_util::sync::CancellationToken,
    /// The webhook configurations whose rules follow the served kinds.
    webhook_configuration: Option<String>,
    /// Reconciles running now, and a wake-up when one ends (shutdown waits
    /// for them, not for controllers that never got going).
    in_flight: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
    /// Evaluations shared by reconciles and admission reviews.
    evaluations: Arc<crate::evaluations::Evaluations>,
    /// The Devices as an inventory (grants expanded), with what it was built from.
    inventory: Mutex<Option<inputs::BuiltInventory>>,
    me: std::sync::Weak<Context>,
}

/// Evaluations the operator keeps for reuse (about a kilobyte each).
const KEPT_EVALUATIONS: usize = 4096;

/// A running reconcile (see [`Context::busy`]).
struct Busy<'a>(&'a Context);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        self.0.idle.notify_waiters();
    }
}

struct KindController {
    replay: tokio::sync::watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Context {
    /// How long to wait before retrying `key` after one more failure in a
    /// row: 2 s, doubling, at most 5 minutes.
    fn backoff(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let n = failures.entry(key.to_string()).or_default();
        *n = n.saturating_add(1);
        Duration::from_secs(2u64.saturating_mul(1 << (*n - 1).min(8))).min(Duration::from_secs(300))
    }

    /// Forgets `key`'s failures after a successful reconcile.
    fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// Why this replica is not ready yet: caches not synced, or the Plugins
    /// present at start not loaded yet.
    fn readiness(&self) -> Result<(), String> {
        let mirrors = [
            ("Devices", self.devices.is_listed()),
            ("Secrets", self.secrets.is_listed()),
            ("ConfigMaps", self.config_maps.is_listed()),
            (
                "naas-variables ConfigMaps",
                self.tenant_variables.is_listed(),
            ),
        ];
        if let Some((what, _)) = mirrors.iter().find(|(_, listed)| !listed) {
            return Err(format!("{what} not listed yet"));
        }
        if !self
            .plugins_listed
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return Err("Plugins not loaded yet".into());
        }
        Ok(())
    }

    /// Counts a reconcile as running until the guard drops.
    fn busy(&self) -> Busy<'_> {
        self.in_flight
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Busy(self)
    }

    /// Returns once no reconcile runs.
    async fn until_idle(&self) {
        loop {
            let ended = self.idle.notified();
            if self.in_flight.load(std::sync::atomic::Ordering::Acquire) == 0 {
                return;
            }
            ended.await;
        }
    }

    /// Marks the Plugins present at start as loaded (or tried).
    fn plugins_listed(&self) {
        self.plugins_listed
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// The names of the loaded Plugins.
    fn plugin_names(&self) -> std::collections::BTreeSet<String> {
        self.plugins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }

    /// Every kind the loaded Plugins serve.
    fn served_kinds(&self) -> Vec<crate::runtime::ServiceKind> {
        self.plugins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .flat_map(|p| p.plugin.info().kinds.clone())
            .collect()
    }

    /// Sets the admission webhooks' rules to the served kinds (leader only).
    async fn register_kinds(&self) {
        if let Some(name) = &self.webhook_configuration {
            registration::sync(self, name).await;
        }
    }

    /// The manifest digest of the loaded Plugin `name`.
    fn loaded_digest(&self, name: &str) -> Option<String> {
        self.plugins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .map(|p| p.manifest_digest.clone())
    }

    /// The Devices, once the initial list has arrived (so that no service is
    /// judged against a partial inventory).
    async fn all_devices(&self) -> Vec<Arc<Device>> {
        self.devices.all().await
    }

    /// A ConfigMap, from the mirrors when they hold its namespace.
    async fn config_map(&self, ns: &str, name: &str) -> Result<Option<ConfigMap>, Error> {
        if ns == self.namespace {
            return Ok(self
                .config_maps
                .get(name, Some(ns))
                .await
                .map(|c| (*c).clone()));
        }
        if name == NAMESPACE_VARIABLES {
            return Ok(self
                .tenant_variables
                .get(name, Some(ns))
                .await
                .map(|c| (*c).clone()));
        }
        Api::<ConfigMap>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
            .map_err(|e| Error::Kube(format!("reading ConfigMap {ns}/{name}: {e}")))
    }

    /// A Secret, from the mirror when it is in the operator's namespace.
    async fn secret(&self, ns: &str, name: &str) -> Result<Option<Secret>, Error> {
        if ns == self.namespace {
            return Ok(self.secrets.get(name, Some(ns)).await.map(|s| (*s).clone()));
        }
        Api::<Secret>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
            .map_err(|e| Error::Kube(format!("reading Secret {ns}/{name}: {e}")))
    }

    /// Writes the status of a host object (Plugin, Device) by server-side
    /// apply, with the one field manager.
    async fn apply_status<K>(&self, obj: &K, status: &impl serde::Serialize) -> Result<(), Error>
    where
        K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let patch = serde_json::json!({
            "apiVersion": K::api_version(&()),
            "kind": K::kind(&()),
            "status": status,
        });
        Api::<K>::all(self.client.clone())
            .patch_status(
                &obj.name_any(),
                &kube::api::PatchParams::apply(FIELD_MANAGER).force(),
                &kube::api::Patch::Apply(&patch),
            )
            .await
            .map_err(|e| {
                Error::Kube(format!(
                    "writing the status of {} {}: {e}",
                    K::kind(&()),
                    obj.name_any()
                ))
            })?;
        Ok(())
    }

    /// Publishes an Event about `obj` (best effort: a failed Event never fails a reconcile).
    async fn event<K: Resource<DynamicType = impl Default>>(
        &self,
        obj: &K,
        kind: EventType,
        reason: &str,
        note: &str,
    ) {
        self.event_ref(&obj.object_ref(&Default::default()), kind, reason, note)
            .await;
    }

    async fn event_ref(
        &self,
        r: &k8s_openapi::api::core::v1::ObjectReference,
        type_: EventType,
        reason: &str,
        note: &str,
    ) {
        let ev = Event {
            type_,
            reason: reason.into(),
            note: Some(note.chars().take(1024).collect()),
            action: reason.into(),
            secondary: None,
        };
        match self.recorder.publish(&ev, r).await {
            Ok(()) => {}
            // The object's namespace is being deleted: expected, and no one
            // would see the Event.
            Err(kube::Error::Api(s)) if s.message.contains("being terminated") => {
                tracing::debug!("no Event in a namespace being deleted: {}", s.message);
            }
            Err(e) => tracing::warn!("could not publish an Event: {e}"),
        }
    }

    /// The loaded Plugin serving `kind`.
    fn loaded_for(&self, api_version: &str, kind: &str) -> Option<LoadedPlugin> {
        let plugins = self.plugins.lock().unwrap_or_else(PoisonError::into_inner);
        plugins
            .values()
            .find(|p| {
                p.plugin
                    .info()
                    .kinds
                    .iter()
                    .any(|k| k.kind == kind && format!("{}/{}", k.group, k.version) == api_version)
            })
            .cloned()
    }

    /// Installs a loaded Plugin; with `serve` (the leader), starts the
    /// controllers of its kinds, and replays the services of its kinds when
    /// it moved to a new digest. Returns whether anything changed.
    fn install_plugin(&self, name: &str, loaded: LoadedPlugin, serve: bool) -> bool {
        let kinds: Vec<GroupVersionKind> = loaded
            .plugin
            .info()
            .kinds
            .iter()
            .map(|k| GroupVersionKind::gvk(&k.group, &k.version, &k.kind))
            .collect();
        let plurals: Vec<String> = loaded
            .plugin
            .info()
            .kinds
            .iter()
            .map(|k| k.plural.clone())
            .collect();
        let previous = self
            .plugins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_string(), loaded.clone());
        // A new digest, or other variables or templates ConfigMaps, re-renders.
        let moved = previous.as_ref().is_none_or(|p| {
            p.plugin.digest() != loaded.plugin.digest()
                || p.variables != loaded.variables
                || p.templates != loaded.templates
        });
        if !serve {
            return moved;
        }
        let mut running = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        for (gvk, plural) in kinds.into_iter().zip(plurals) {
            match running.get(&gvk) {
                Some(k) if moved => {
                    k.replay.send_modify(|n| *n += 1);
                }
                Some(_) => {}
                None => {
                    let Some(ctx) = self.me.upgrade() else {
                        continue;
                    };
                    let ar = ApiResource::from_gvk_with_plural(&gvk, &plural);
                    let (tx, rx) = tokio::sync::watch::channel(0);
                    let task = tokio::spawn(services::run(ctx, ar, rx));
                    running.insert(gvk, KindController { replay: tx, task });
                }
            }
        }
        moved
    }

    /// Forgets a deleted Plugin and stops its kinds' controllers.
    fn remove_plugin(&self, name: &str) {
        let Some(gone) = self
            .plugins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name)
        else {
            return;
        };
        let mut running = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        for k in &gone.plugin.info().kinds {
            if let Some(c) = running.remove(&GroupVersionKind::gvk(&k.group, &k.version, &k.kind)) {
                c.task.abort();
            }
        }
    }
}

/// The ConfigMaps of the operator's namespace worth watching: all but the
/// applied-config records.
fn not_applied_records() -> watcher::Config {
    watcher::Config::default().labels(&format!("!{APPLIED_LABEL}"))
}
