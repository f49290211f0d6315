//! Starting the operator: the mirrors, the Plugin loader, admission and the operations endpoints on every replica; the controllers on the leader only, stopped gracefully.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Client;
use kube::api::Api;
use kube::runtime::controller::Controller;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::watcher;

use super::mirror::Mirror;
use super::{
    AppliedConfigs, Context, Device, Elector, Error, NAMESPACE_VARIABLES, OperatorConfig, Plugin,
    devices, loader, not_applied_records, ops, plugins, registration,
};

/// Runs the operator until the process ends: the Plugin and Device
/// controllers, and the service controllers they start.
///
/// # Errors
/// When the API cannot be reached at start.
pub async fn run(client: Client, config: OperatorConfig) -> Result<(), Error> {
    std::fs::create_dir_all(&config.scratch_dir).map_err(|e| {
        Error::Object(format!(
            "cannot create {}: {e}",
            config.scratch_dir.display()
        ))
    })?;
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "naas".into(),
            instance: std::env::var("POD_NAME").ok(),
        },
    );
    // What reconciles read, mirrored instead of fetched each time.
    let (devices, devices_feed) = Mirror::start(
        Api::<Device>::all(client.clone()),
        watcher::Config::default(),
    );
    let (secrets, secrets_feed) = Mirror::start(
        Api::<Secret>::namespaced(client.clone(), &config.namespace),
        watcher::Config::default(),
    );
    // Not the applied-config records: they are read when needed, and
    // written once per push (every write would reach every watch).
    let (config_maps, config_maps_feed) = Mirror::start(
        Api::<ConfigMap>::namespaced(client.clone(), &config.namespace),
        not_applied_records(),
    );
    let (tenant_variables, tenant_variables_feed) = Mirror::start(
        Api::<ConfigMap>::all(client.clone()),
        watcher::Config::default().fields(&format!("metadata.name={NAMESPACE_VARIABLES}")),
    );
    let mirrors = async {
        tokio::join!(
            devices_feed,
            secrets_feed,
            config_maps_feed,
            tenant_variables_feed
        );
    };
    let ctx = Arc::new_cyclic(|me| Context {
        client: client.clone(),
        namespace: config.namespace,
        runtime: config.runtime,
        oci_cache: config.oci_cache,
        scratch_dir: config.scratch_dir,
        driver: config.driver,
        recorder,
        applied: AppliedConfigs::default(),
        plugins: Mutex::new(BTreeMap::new()),
        kinds: Mutex::new(HashMap::new()),
        devices,
        secrets,
        config_maps,
        tenant_variables,
        failures: Mutex::new(HashMap::new()),
        plugins_listed: std::sync::atomic::AtomicBool::new(false),
        stop: config.shutdown.child_token(),
        webhook_configuration: config.webhook_configuration,
        in_flight: std::sync::atomic::AtomicUsize::new(0),
        idle: tokio::sync::Notify::new(),
        evaluations: Arc::new(crate::evaluations::Evaluations::new(
            super::KEPT_EVALUATIONS,
        )),
        inventory: Mutex::new(None),
        me: me.clone(),
    });
    // Every replica mirrors, loads the accepted Plugins, answers admission
    // and serves its operations endpoints; only the leader reconciles.
    let mut background = tokio::task::JoinSet::new();
    background.spawn(mirrors);
    background.spawn(loader::run(ctx.clone()));
    if let Some(listen) = config.ops_listen {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            Error::Object(format!(
                "cannot listen on {listen} for /metrics and probes: {e}"
            ))
        })?;
        background.spawn(ops::serve(ctx.clone(), listener));
    }
    if let Some(w) = config.webhook {
        let listener = tokio::net::TcpListener::bind(w.listen).await.map_err(|e| {
            Error::Object(format!(
                "cannot listen on {} for the webhook: {e}",
                w.listen
            ))
        })?;
        let admission = crate::admission::Admission::new(
            ctx.clone(),
            ctx.runtime.executor().clone(),
            w.deadline,
            &ctx.namespace,
        );
        background.spawn(async move {
            if let Err(e) = crate::admission::serve(admission, listener, w.tls).await {
                tracing::error!("the admission webhook stopped: {e}");
            }
        });
    }
    let mut elector = config
        .leader_election
        .map(|l| Elector::new(client.clone(), l))
        .transpose()?;
    if let Some(e) = elector.as_mut() {
        tracing::info!("waiting for leadership as {}", e.identity());
        tokio::select! {
            () = e.acquire() => tracing::info!("leading as {}", e.identity()),
            () = ctx.stop.cancelled() => return Ok(()),
        }
    }
    crate::metrics::global().set_leader(true);
    let outcome = lead(&ctx, elector.as_mut()).await;
    crate::metrics::global().set_leader(false);
    match outcome {
        None => {
            if let Some(Err(e)) = match elector.as_mut() {
                Some(e) => Some(e.release().await),
                None => None,
            } {
                tracing::warn!("releasing the Lease: {e}");
            }
            Ok(())
        }
        Some(why) => Err(Error::LeadershipLost(why)),
    }
}

/// Runs the Plugin, Device and kind controllers until `ctx.stop` is
/// cancelled and the reconciles in flight have finished (`None`), or until
/// leadership is lost (`Some(why)`): then they get what is left of the
/// lease's margin to finish, and are abandoned, so that this replica has
/// stopped before another one can lead.
async fn lead(ctx: &Arc<Context>, elector: Option<&mut Elector>) -> Option<String> {
    let client = ctx.client.clone();
    let stopped = || ctx.stop.clone().cancelled_owned();
    let plugins = Controller::new(
        Api::<Plugin>::all(client.clone()),
        watcher::Config::default(),
    )
    .graceful_shutdown_on(stopped())
    .run(plugins::reconcile, plugins::error_policy, ctx.clone())
    .for_each(|_| async {});
    let devices = Controller::new(Api::<Device>::all(client), watcher::Config::default())
        .graceful_shutdown_on(stopped())
        .run(devices::reconcile, devices::error_policy, ctx.clone())
        .for_each(|_| async {});
    // The kinds' controllers are tasks of their own: stop them with the
    // operator, so that no controller outlives it.
    let _stop_kinds = StopKinds(ctx.clone());
    let registration = async {
        if let Some(name) = ctx.webhook_configuration.clone() {
            registration::follow(ctx.clone(), name).await;
        }
    };
    let controllers = async {
        tokio::join!(plugins, devices, registration);
        ctx.finish_kinds().await;
    };
    // A controller told to stop before its first list never ends
    // (kube-runtime waits for its store first): once stopping, no reconcile
    // running is enough.
    let work = async {
        tokio::select! {
            () = controllers => {}
            () = async {
                ctx.stop.cancelled().await;
                ctx.until_idle().await;
            } => {}
        }
    };
    tokio::pin!(work);
    let Some(elector) = elector else {
        work.await;
        return None;
    };
    // Keep renewing while the work finishes, even after a shutdown request.
    let margin = elector.margin();
    tokio::select! {
        () = &mut work => None,
        why = elector.hold() => {
            tracing::error!("lost leadership: {why}; stopping");
            ctx.stop.cancel();
            if tokio::time::timeout(margin, &mut work).await.is_err() {
                tracing::warn!("abandoning the reconciles still running");
            }
            Some(why)
        }
    }
}

/// Aborts every kind controller when the operator stops (or its future is dropped).
struct StopKinds(Arc<Context>);

impl Context {
    /// Waits for every kind controller to finish (they stop with `stop`).
    async fn finish_kinds(&self) {
        let tasks: Vec<_> = self
            .kinds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .map(|(_, k)| k.task)
            .collect();
        for t in tasks {
            let _ = t.await;
        }
    }
}

impl Drop for StopKinds {
    fn drop(&mut self) {
        let mut kinds = self.0.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        for (_, k) in kinds.drain() {
            k.task.abort();
        }
    }
}
