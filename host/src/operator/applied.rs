//! What naas applied, per device and per service, kept in ConfigMaps (`naas-applied-<device>` in the operator's namespace), and the push of each device's naas config as one transaction across devices.
//!
//! A device's naas config is the union of the configs its services
//! rendered, in the order of their keys (`Kind.namespace.name`); the record
//! shape, the union and the transaction are [`crate::applied`]'s, shared
//! with `naas push`. Keeping
//! each service's part in the cluster means that after an operator restart,
//! or a plugin upgrade, deleting a service still removes exactly what was
//! applied for it. A push prepares every changed device (open, load the new
//! config, diff), then commits them all; when one commit fails, the devices
//! already committed are rolled back, and nothing is recorded. Services
//! waiting for the same devices are pushed together, one transaction and
//! one record write for all (group commit), each service keeping its own
//! result.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use serde_json::json;

use super::records::{self, APPLIED_LABEL, Record};
use super::services::Plan;
use super::{Context, Error};
use crate::applied::{self, DeviceUpdate, Fragments};
use crate::driver::transaction::TransactionError;
use crate::driver::{DriverError, Secret as Credential, Target};
use crate::pipeline::Evaluation;

/// Devices pushed to this recently are busy: a push to them waits
/// [`LINGER`] for more services to join it.
const BUSY_WITHIN: Duration = Duration::from_millis(250);

/// How long a push to busy devices waits for more services (group commit).
const LINGER: Duration = Duration::from_millis(100);

/// The applied-config store and the per-device locks (one push per device at a time).
#[derive(Debug, Default)]
pub struct AppliedConfigs {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Changes waiting for their devices' locks, by those devices (in name
    /// order): the next holder of the locks pushes them all at once.
    waiting: Mutex<HashMap<Vec<String>, Vec<Request>>>,
    next_request: AtomicU64,
    /// When each set of devices was last pushed to.
    last_push: Mutex<HashMap<Vec<String>, Instant>>,
    /// The records this operator last read or wrote, by device. The operator
    /// (the leader) is their only writer; a write against a stale copy fails
    /// on its resourceVersion, drops the copy, and the retry reads afresh.
    records: Mutex<HashMap<String, Record>>,
}

/// A service's change waiting for its devices' locks.
#[derive(Debug)]
struct Request {
    id: u64,
    key: String,
    /// Per device: the service's config there (`None`: remove it).
    wanted: BTreeMap<String, Option<String>>,
    done: tokio::sync::oneshot::Sender<Result<bool, Error>>,
}

/// Withdraws a change still waiting when its `push` is dropped.
struct Withdraw<'a> {
    configs: &'a AppliedConfigs,
    devices: &'a Vec<String>,
    id: u64,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        let mut waiting = self.configs.waiting();
        if let Some(queue) = waiting.get_mut(self.devices) {
            queue.retain(|r| r.id != self.id);
            if queue.is_empty() {
                waiting.remove(self.devices);
            }
        }
    }
}

/// Why a push failed, and whether its changes may succeed one by one
/// (a device refused a config or its commit; not a device out of reach).
struct Failure {
    error: Error,
    alone: bool,
}

impl Failure {
    fn of(error: Error) -> Self {
        Self {
            error,
            alone: false,
        }
    }
}

/// The same error, for every change of a failed push.
fn again(e: &Error) -> Error {
    match e {
        Error::Push { device, detail } => Error::Push {
            device: device.clone(),
            detail: detail.clone(),
        },
        e => Error::Kube(e.to_string()),
    }
}

fn abandoned() -> Error {
    Error::Kube("the push of this change was abandoned".into())
}

/// One device's part of a push.
struct DevicePush {
    device: String,
    /// What naas applied to it before this push.
    before: Fragments,
    fragments: Fragments,
    /// The device's removed config after this push.
    removed: String,
    resource_version: Option<String>,
}

impl AppliedConfigs {
    pub(super) fn lock_of(&self, device: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(device.to_string())
            .or_default()
            .clone()
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<String>, Vec<Request>>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets (`Some`) or removes (`None`) the configs of service `key`, on
    /// the devices it renders for now and every device it was applied to
    /// before, and pushes the devices whose naas config changed. Returns
    /// whether any device changed for it.
    ///
    /// Services waiting for the same devices are pushed together (group
    /// commit): whoever gets the devices' locks pushes every change then
    /// waiting for exactly those devices as one transaction and writes
    /// each record once. When that transaction fails on a config a device
    /// refused, each change is pushed again on its own, so that only the
    /// services at fault fail.
    ///
    /// # Errors
    /// A device that cannot be reached or refuses the config (the other
    /// devices are rolled back), or an API error.
    pub async fn push(
        &self,
        ctx: &Context,
        key: &str,
        evaluation: Option<&Evaluation>,
        previous: &[String],
    ) -> Result<bool, Error> {
        // The devices it was pushed to (from its status), and when it is
        // deleted every device that holds its config, whatever the status says.
        let mut wanted: BTreeMap<String, Option<String>> =
            previous.iter().map(|d| (d.clone(), None)).collect();
        if evaluation.is_none() {
            for (device, (fragments, ..)) in self.stored(ctx).await? {
                if fragments.contains_key(key) {
                    wanted.insert(device, None);
                }
            }
        }
        if let Some(e) = evaluation {
            for c in &e.configs {
                wanted.insert(c.device.clone(), Some(c.text.clone()));
            }
        }
        if wanted.is_empty() {
            return Ok(false);
        }
        let devices: Vec<String> = wanted.keys().cloned().collect();
        let (done, mut result) = tokio::sync::oneshot::channel();
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        self.waiting()
            .entry(devices.clone())
            .or_default()
            .push(Request {
                id,
                key: key.to_string(),
                wanted,
                done,
            });
        // Dropped before its turn (the reconcile was cancelled): not pushed.
        let _withdraw = Withdraw {
            configs: self,
            devices: &devices,
            id,
        };
        // Lock the devices in name order (no deadlock between services),
        // unless another holder pushes this change meanwhile.
        let locks: Vec<_> = devices.iter().map(|d| self.lock_of(d)).collect();
        let lock_all = async {
            let mut guards = Vec::with_capacity(locks.len());
            for l in &locks {
                guards.push(l.lock().await);
            }
            guards
        };
        let guards = tokio::select! {
            biased;
            r = &mut result => return r.unwrap_or_else(|_| Err(abandoned())),
            g = lock_all => g,
        };
        // Devices pushed to a moment ago are busy: give the services on
        // their way to them a moment to join this push.
        let busy = self
            .last_push
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&devices)
            .is_some_and(|t| t.elapsed() < BUSY_WITHIN);
        if busy {
            tokio::time::sleep(LINGER).await;
        }
        let batch = self.waiting().remove(&devices).unwrap_or_default();
        if !batch.is_empty() {
            self.push_batch(ctx, batch).await;
            self.last_push
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(devices.clone(), Instant::now());
        }
        drop(guards);
        result.await.unwrap_or_else(|_| Err(abandoned()))
    }

    /// Pushes `batch` (changes for the same devices, whose locks are held)
    /// and tells each change its result.
    async fn push_batch(&self, ctx: &Context, batch: Vec<Request>) {
        if batch.len() > 1 {
            tracing::debug!(
                devices = ?batch[0].wanted.keys().collect::<Vec<_>>(),
                services = batch.len(),
                "one push for several services"
            );
        }
        let changes: Vec<_> = batch.iter().map(|r| (r.key.as_str(), &r.wanted)).collect();
        match self.push_locked(ctx, &changes).await {
            Ok(changed) => {
                for (r, c) in batch.into_iter().zip(changed) {
                    let _ = r.done.send(Ok(c));
                }
            }
            Err(f) if f.alone && batch.len() > 1 => {
                tracing::debug!(
                    "a push of {} services failed ({}); pushing them one by one",
                    batch.len(),
                    f.error
                );
                for r in batch {
                    let result = self
                        .push_locked(ctx, &[(r.key.as_str(), &r.wanted)])
                        .await
                        .map(|c| c[0])
                        .map_err(|f| f.error);
                    let _ = r.done.send(result);
                }
            }
            Err(f) => {
                for r in batch {
                    let _ = r.done.send(Err(again(&f.error)));
                }
            }
        }
    }

    /// Applies `changes` (service key, config per device) in order to the
    /// records of their devices, pushes the devices whose naas config
    /// changed as one transaction, and records them. The devices' locks
    /// are held. Returns, per change, whether a device changed for it.
    async fn push_locked(
        &self,
        ctx: &Context,
        changes: &[(&str, &BTreeMap<String, Option<String>>)],
    ) -> Result<Vec<bool>, Failure> {
        let devices: std::collections::BTreeSet<&String> =
            changes.iter().flat_map(|(_, w)| w.keys()).collect();
        // The devices each change altered.
        let mut altered = vec![Vec::new(); changes.len()];
        let mut pushes = Vec::new();
        for device in devices {
            // The record as this operator last wrote it, or read afresh.
            let (mut fragments, rv, removed) = match self.cached(device) {
                Some(r) => r,
                None => records::record_of(ctx, device).await.map_err(Failure::of)?,
            };
            let before = fragments.clone();
            for (i, (key, wanted)) in changes.iter().enumerate() {
                let changed = match wanted.get(device) {
                    None => false,
                    Some(Some(t)) => {
                        fragments.insert((*key).to_string(), t.clone()).as_ref() != Some(t)
                    }
                    Some(None) => fragments.remove(*key).is_some(),
                };
                if changed {
                    altered[i].push(device.clone());
                }
            }
            if fragments != before {
                pushes.push(DevicePush {
                    device: device.clone(),
                    removed: applied::next_removed(&removed, &before, &fragments),
                    before,
                    fragments,
                    resource_version: rv,
                });
            }
        }
        if pushes.is_empty() {
            return Ok(vec![false; changes.len()]);
        }
        let committed = commit_all(ctx, &pushes).await?;
        let written = futures_util::future::join_all(pushes.iter().map(|p| {
            records::write(
                ctx,
                &p.device,
                &p.fragments,
                &p.removed,
                p.resource_version.as_deref(),
            )
        }))
        .await;
        let mut failed = None;
        for (p, w) in pushes.iter().zip(written) {
            match w {
                Ok(rv) => self.remember(
                    &p.device,
                    Some((p.fragments.clone(), rv, p.removed.clone())),
                ),
                Err(e) => {
                    self.remember(&p.device, None);
                    failed.get_or_insert(e);
                }
            }
        }
        if let Some(e) = failed {
            return Err(Failure::of(e));
        }
        Ok(altered
            .iter()
            .map(|a| a.iter().any(|d| committed.contains(d)))
            .collect())
    }

    /// What naas applied, per service, on each device `configs` go to,
    /// with the device's platform: for the check that no two services
    /// claim one port ([`crate::claims`]).
    ///
    /// # Errors
    /// An API error reading a record.
    pub(super) async fn held(
        &self,
        ctx: &Context,
        configs: &[crate::runtime::DeviceConfig],
    ) -> Result<BTreeMap<String, (String, Fragments)>, Error> {
        let mut held = BTreeMap::new();
        for c in configs {
            let Some(device) = ctx.devices.get(&c.device, None).await else {
                continue;
            };
            let (fragments, ..) = match self.cached(&c.device) {
                Some(r) => r,
                None => records::record_of(ctx, &c.device).await?,
            };
            held.insert(c.device.clone(), (device.spec.platform.clone(), fragments));
        }
        Ok(held)
    }

    fn cached(&self, device: &str) -> Option<Record> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(device)
            .cloned()
    }

    fn remember(&self, device: &str, record: Option<Record>) {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        match record {
            Some(r) => records.insert(device.to_string(), r),
            None => records.remove(device),
        };
    }

    /// Per device: the config that would be pushed and its diff against
    /// what naas applied, without pushing.
    ///
    /// # Errors
    /// An API error reading what was applied.
    pub async fn plan(&self, ctx: &Context, key: &str, e: &Evaluation) -> Result<Plan, Error> {
        let mut plan = Plan::new();
        for c in &e.configs {
            let (before, ..) = records::record_of(ctx, &c.device).await?;
            let mut after = before.clone();
            after.insert(key.to_string(), c.text.clone());
            let diff = applied::planned_diff(&before, &after);
            plan.insert(c.device.clone(), json!({"config": c.text, "diff": diff}));
        }
        Ok(plan)
    }

    /// Every device's applied configs (by service key) and the ConfigMap's resourceVersion.
    async fn stored(&self, ctx: &Context) -> Result<BTreeMap<String, Record>, Error> {
        let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
        let list = api
            .list(&ListParams::default().labels(&format!("{APPLIED_LABEL}=true")))
            .await
            .map_err(|e| {
                Error::Kube(format!("listing applied configs in {}: {e}", ctx.namespace))
            })?;
        list.items
            .iter()
            .filter_map(|cm| Some((records::device_of(cm)?, cm)))
            .map(|(device, cm)| Ok((device, records::record_in(cm)?)))
            .collect()
    }
}

/// Pushes every device's new naas config as one transaction (see
/// [`applied::commit`]): all devices commit, or none keeps a change.
/// Returns the devices whose config changed.
async fn commit_all(ctx: &Context, pushes: &[DevicePush]) -> Result<Vec<String>, Failure> {
    let mut updates = Vec::with_capacity(pushes.len());
    for p in pushes {
        updates.push(DeviceUpdate {
            target: target(ctx, &p.device).await.map_err(Failure::of)?,
            before: p.before.clone(),
            after: p.fragments.clone(),
        });
    }
    let outcomes = applied::commit(ctx.driver.as_ref(), &updates)
        .await
        .map_err(|e| {
            let (TransactionError::Prepare { source }
            | TransactionError::Commit { source, .. }
            | TransactionError::Confirm { source, .. }) = &e;
            Failure {
                alone: matches!(
                    source,
                    DriverError::ConfigRejected { .. } | DriverError::CommitFailed { .. }
                ),
                error: Error::Push {
                    device: e.device().to_string(),
                    detail: e.to_string(),
                },
            }
        })?;
    Ok(outcomes
        .into_iter()
        .filter(|o| o.committed)
        .map(|o| o.device)
        .collect())
}

/// How to reach `device`: its Device and the credentials in its Secret.
pub(super) async fn target(ctx: &Context, device: &str) -> Result<Target, Error> {
    let d = ctx
        .all_devices()
        .await
        .into_iter()
        .find(|d| d.name_any() == device)
        .ok_or_else(|| Error::Push {
            device: device.into(),
            detail: "the Device does not exist".into(),
        })?;
    let r = &d.spec.credentials_secret_ref;
    let ns = r.namespace.clone().unwrap_or_else(|| ctx.namespace.clone());
    let secret = ctx.secret(&ns, &r.name).await?.ok_or_else(|| Error::Push {
        device: device.into(),
        detail: format!("its credentials Secret {ns}/{} does not exist", r.name),
    })?;
    let field = |k: &str| {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(k))
            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
    };
    let credential = match (field("password"), field("privateKey")) {
        (_, Some(key)) => Credential::PrivateKey(key),
        (Some(p), None) => Credential::Password(p),
        (None, None) => {
            return Err(Error::Push {
                device: device.into(),
                detail: format!("Secret {ns}/{} has neither password nor privateKey", r.name),
            });
        }
    };
    Ok(Target {
        device: device.into(),
        address: d.spec.address.clone(),
        port: d.spec.port,
        platform: d.spec.platform.clone(),
        username: field("username").unwrap_or_default(),
        secret: credential,
        host_key: d.spec.host_key.clone(),
    })
}
