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
//! already committed are rolled back, and nothing is recorded.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use serde_json::json;

use super::services::Plan;
use super::{Context, Error};
use crate::applied::{self, DeviceUpdate, Fragments};
use crate::driver::{Secret as Credential, Target};
use crate::pipeline::Evaluation;

/// Label on every applied-config ConfigMap.
pub const APPLIED_LABEL: &str = "naas.io/applied-config";

/// The applied-config store and the per-device locks (one push per device at a time).
#[derive(Debug, Default)]
pub struct AppliedConfigs {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The records this operator last read or wrote, by device. The operator
    /// (the leader) is their only writer; a write against a stale copy fails
    /// on its resourceVersion, drops the copy, and the retry reads afresh.
    records: Mutex<HashMap<String, Record>>,
}

/// One device's applied configs by service key, and its resourceVersion
/// (`None`: no ConfigMap yet).
type Record = (Fragments, Option<String>);

/// One device's part of a push.
struct DevicePush {
    device: String,
    /// What naas applied to it before this push.
    before: Fragments,
    fragments: Fragments,
    exists: bool,
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

    /// Sets (`Some`) or removes (`None`) the configs of service `key`, on
    /// the devices it renders for now and every device it was applied to
    /// before, and pushes the devices whose naas config changed. Returns
    /// whether any device changed.
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
            for (device, (fragments, _)) in self.stored(ctx).await? {
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
        // Lock the devices in name order (no deadlock between services).
        let locks: Vec<_> = wanted.keys().map(|d| self.lock_of(d)).collect();
        let mut _guards = Vec::with_capacity(locks.len());
        for l in &locks {
            _guards.push(l.lock().await);
        }
        // Read those devices' records under the locks: another service may
        // have pushed meanwhile.
        let mut pushes = Vec::new();
        for (device, text) in &wanted {
            let cached = self.cached(device);
            let (mut fragments, rv) = match cached {
                Some(r) => r,
                None => record_of(ctx, device).await?,
            };
            let before = fragments.clone();
            match text {
                Some(t) => fragments.insert(key.to_string(), t.clone()),
                None => fragments.remove(key),
            };
            if fragments != before {
                pushes.push(DevicePush {
                    device: device.clone(),
                    before,
                    fragments,
                    exists: rv.is_some(),
                    resource_version: rv,
                });
            }
        }
        if pushes.is_empty() {
            return Ok(false);
        }
        let changed = commit_all(ctx, &pushes).await?;
        for p in &pushes {
            match record(ctx, p).await {
                Ok(rv) => self.remember(&p.device, Some((p.fragments.clone(), rv))),
                Err(e) => {
                    self.remember(&p.device, None);
                    return Err(e);
                }
            }
        }
        Ok(changed)
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
            let (before, _) = record_of(ctx, &c.device).await?;
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
        Ok(list
            .items
            .into_iter()
            .filter_map(|cm| {
                let device = cm.annotations().get("naas.io/device")?.clone();
                let rv = cm.resource_version();
                Some((device, (cm.data.unwrap_or_default(), rv)))
            })
            .collect())
    }
}

/// One device's applied configs and its ConfigMap's resourceVersion (`None`: no record yet).
pub(super) async fn record_of(ctx: &Context, device: &str) -> Result<Record, Error> {
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    let cm = api
        .get_opt(&format!("naas-applied-{device}"))
        .await
        .map_err(|e| Error::Kube(format!("reading the config applied to {device}: {e}")))?;
    Ok(cm.map_or_else(Default::default, |cm| {
        let rv = cm.resource_version();
        (cm.data.unwrap_or_default(), rv)
    }))
}

/// Pushes every device's new naas config as one transaction (see
/// [`applied::commit`]): all devices commit, or none keeps a change.
/// Returns whether any device's config changed.
async fn commit_all(ctx: &Context, pushes: &[DevicePush]) -> Result<bool, Error> {
    let mut updates = Vec::with_capacity(pushes.len());
    for p in pushes {
        updates.push(DeviceUpdate {
            target: target(ctx, &p.device).await?,
            before: p.before.clone(),
            after: p.fragments.clone(),
        });
    }
    let outcomes = applied::commit(ctx.driver.as_ref(), &updates)
        .await
        .map_err(|e| Error::Push {
            device: e.device().to_string(),
            detail: e.to_string(),
        })?;
    Ok(outcomes.iter().any(|o| o.committed))
}

/// Records what was applied on a device (creates or replaces its ConfigMap).
/// Returns the record's new resourceVersion.
async fn record(ctx: &Context, p: &DevicePush) -> Result<Option<String>, Error> {
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(format!("naas-applied-{}", p.device)),
            namespace: Some(ctx.namespace.clone()),
            labels: Some([(APPLIED_LABEL.to_string(), "true".to_string())].into()),
            annotations: Some([("naas.io/device".to_string(), p.device.clone())].into()),
            resource_version: p.resource_version.clone(),
            ..ObjectMeta::default()
        },
        data: Some(p.fragments.clone()),
        ..ConfigMap::default()
    };
    let name = cm.name_any();
    let result = if p.exists {
        api.replace(&name, &PostParams::default(), &cm).await
    } else {
        api.create(&PostParams::default(), &cm).await
    };
    result
        .map(|cm| cm.resource_version())
        .map_err(|e| Error::Kube(format!("recording the config applied to {}: {e}", p.device)))
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
