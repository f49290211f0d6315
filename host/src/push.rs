//! `naas push` and `naas diff` without a cluster: rendered services → per-device records (the state directory) → one transaction through the same code as the operator ([`crate::applied`]).
//!
//! Semantics:
//! - every service in the manifests gets exactly its rendered configs on
//!   the devices it renders for now, and its lines removed from any device
//!   it was applied to before and no longer renders for;
//! - a service recorded in the state directory but absent from the
//!   manifests is left alone, unless `prune` is set: then the manifests are
//!   the complete set, and every other recorded service has exactly its
//!   lines removed (`naas push --prune`);
//! - every device the manifests render for is part of the transaction, so
//!   a line of naas's removed by hand on a device is sent again (a device
//!   in sync shows "no change"); lines naas never applied are never touched;
//! - the state is written only after every device committed; after a
//!   failure, no device keeps a change and the state is unchanged.

use std::collections::{BTreeMap, BTreeSet};

use crate::applied::{self, DeviceUpdate, Fragments, service_key};
use crate::driver::Driver;
use crate::driver::transaction::TransactionError;
use crate::inventory::{Inventory, InventoryError};
use crate::pipeline::Evaluation;
use crate::state::{StateError, StateStore};

/// Why a push or diff failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// A device to reach lacks connection fields, or a credential is unreadable.
    #[error("{0}; nothing was pushed")]
    Inventory(#[from] InventoryError),
    /// The state directory cannot be read.
    #[error("{0}; nothing was pushed")]
    State(#[from] StateError),
    /// Two documents are the same service.
    #[error("service {0} appears twice in the manifests; nothing was pushed")]
    Duplicate(String),
    /// A device could not be prepared or committed; no device keeps a change.
    #[error("{source}; the state directory is unchanged")]
    Transaction {
        /// The transaction's error, naming the device and its reason.
        #[source]
        source: Box<TransactionError>,
    },
    /// Every device committed but the state could not be recorded.
    #[error(
        "the devices were changed but what was applied could not be recorded: {0}; fix the state directory before the next push"
    )]
    Record(StateError),
}

impl PushError {
    /// The device the failure is about, when it is about one.
    #[must_use]
    pub fn device(&self) -> Option<&str> {
        match self {
            PushError::Transaction { source } => Some(source.device()),
            _ => None,
        }
    }
}

/// Push (commit) or only show the diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Show what would be sent; push nothing, record nothing.
    Diff,
    /// Push as one transaction and record what was applied.
    Push,
}

/// What the manifests want: the services they name and, per device, their fragments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// Every service key in the manifests.
    pub services: BTreeSet<String>,
    /// Per device: service key → rendered config.
    pub devices: BTreeMap<String, Fragments>,
}

impl Desired {
    /// From evaluated services.
    ///
    /// # Errors
    /// [`PushError::Duplicate`] when two evaluations are one service.
    pub fn from_evaluations(evaluations: &[Evaluation]) -> Result<Self, PushError> {
        let mut desired = Desired::default();
        for e in evaluations {
            let s = &e.service;
            let key = service_key(&s.kind, &s.namespace, &s.name);
            if !desired.services.insert(key.clone()) {
                return Err(PushError::Duplicate(key));
            }
            for c in &e.configs {
                desired
                    .devices
                    .entry(c.device.clone())
                    .or_default()
                    .insert(key.clone(), c.text.clone());
            }
        }
        Ok(desired)
    }
}

/// One device's planned record: before (as stored) and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The device.
    pub device: String,
    /// What naas applied there, as recorded.
    pub before: Fragments,
    /// What naas's part of it must be.
    pub after: Fragments,
}

/// The devices a push touches and their records before and after (see
/// the module docs), in device order.
#[must_use]
pub fn plan(desired: &Desired, stored: &BTreeMap<String, Fragments>, prune: bool) -> Vec<Planned> {
    let devices: BTreeSet<&String> = desired.devices.keys().chain(stored.keys()).collect();
    let mut planned = Vec::new();
    for device in devices {
        let before = stored.get(device).cloned().unwrap_or_default();
        let mut after: Fragments = before
            .iter()
            .filter(|(k, _)| !prune && !desired.services.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let wanted = desired.devices.get(device);
        if let Some(fragments) = wanted {
            after.extend(fragments.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if wanted.is_some() || after != before {
            planned.push(Planned {
                device: device.clone(),
                before,
                after,
            });
        }
    }
    planned
}

/// What happened on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceReport {
    /// The device.
    pub device: String,
    /// What was (or would be) sent: the driver's diff; empty when nothing.
    pub diff: String,
    /// Whether it was committed.
    pub committed: bool,
    /// Service keys added, changed or removed in its record.
    pub services: Vec<(String, Change)>,
}

/// How one service's part of a device changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Newly applied.
    Added,
    /// Its config changed.
    Changed,
    /// Removed.
    Removed,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Removed => "removed",
        })
    }
}

fn service_changes(p: &Planned) -> Vec<(String, Change)> {
    let keys: BTreeSet<&String> = p.before.keys().chain(p.after.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let change = match (p.before.get(k), p.after.get(k)) {
                (None, Some(_)) => Change::Added,
                (Some(_), None) => Change::Removed,
                (Some(a), Some(b)) if a != b => Change::Changed,
                _ => return None,
            };
            Some((k.clone(), change))
        })
        .collect()
}

/// Plans against `store`, then shows (`Mode::Diff`) or pushes
/// (`Mode::Push`) every touched device through `driver` as one
/// transaction; a push records the new records only when every device
/// committed. Holds the state directory's lock throughout (a diff of a
/// state directory that does not exist creates nothing).
///
/// # Errors
/// See [`PushError`]: connection fields are checked for every device
/// before any is contacted.
pub async fn run(
    driver: &dyn Driver,
    inventory: &Inventory,
    store: &StateStore,
    desired: &Desired,
    prune: bool,
    mode: Mode,
) -> Result<Vec<DeviceReport>, PushError> {
    // A diff of a state directory that does not exist yet creates nothing.
    let _lock = if mode == Mode::Push || store.dir().exists() {
        Some(store.lock()?)
    } else {
        None
    };
    let stored = store.load_all()?;
    let planned = plan(desired, &stored, prune);
    let mut updates = Vec::with_capacity(planned.len());
    for p in &planned {
        updates.push(DeviceUpdate {
            target: inventory.target(&p.device)?,
            before: p.before.clone(),
            after: p.after.clone(),
        });
    }
    let outcomes = match mode {
        Mode::Diff => applied::preview(driver, &updates).await,
        Mode::Push => applied::commit(driver, &updates).await,
    }
    .map_err(|source| PushError::Transaction {
        source: Box::new(source),
    })?;
    if mode == Mode::Push {
        for p in &planned {
            if p.after != p.before {
                store.save(&p.device, &p.after).map_err(PushError::Record)?;
            }
        }
    }
    let changes: BTreeMap<&str, Vec<(String, Change)>> = planned
        .iter()
        .map(|p| (p.device.as_str(), service_changes(p)))
        .collect();
    Ok(outcomes
        .into_iter()
        .map(|o| DeviceReport {
            services: changes.get(o.device.as_str()).cloned().unwrap_or_default(),
            device: o.device,
            diff: o.diff,
            committed: o.committed,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{Fault, MemoryDriver};

    use crate::applied::fragments;

    fn desired(per_device: &[(&str, &[(&str, &str)])]) -> Desired {
        let mut d = Desired::default();
        for (device, pairs) in per_device {
            let f = fragments(pairs);
            d.services.extend(f.keys().cloned());
            d.devices.insert((*device).to_string(), f);
        }
        d
    }

    fn inventory() -> Inventory {
        let mut text = String::from("devices:\n");
        for d in ["r1", "r2", "r3"] {
            text.push_str(&format!(
                "  - {{name: {d}, platform: frr, address: 127.0.0.1, username: u, passwordEnv: PATH, insecureSkipHostKeyVerification: true}}\n"
            ));
        }
        Inventory::parse(&text, "devices.yaml").unwrap()
    }

    #[test]
    fn a_plan_keeps_other_services_unless_pruning_and_follows_moved_services() {
        let stored: BTreeMap<String, Fragments> = [
            (
                "r1".to_string(),
                fragments(&[("A.t.a", "a\n"), ("B.t.b", "b\n")]),
            ),
            ("r2".to_string(), fragments(&[("C.t.c", "c\n")])),
        ]
        .into();
        // A moved from r1 to r3; B and C not in the manifests.
        let want = desired(&[("r3", &[("A.t.a", "a\n")])]);
        let p = plan(&want, &stored, false);
        assert_eq!(
            p.iter().map(|p| p.device.as_str()).collect::<Vec<_>>(),
            ["r1", "r3"],
            "r2 is untouched"
        );
        assert_eq!(p[0].after, fragments(&[("B.t.b", "b\n")]));
        assert_eq!(p[1].after, fragments(&[("A.t.a", "a\n")]));
        let p = plan(&want, &stored, true);
        assert_eq!(p.len(), 3);
        assert!(p[0].after.is_empty() && p[1].after.is_empty(), "{p:?}");
        assert_eq!(service_changes(&p[1]), [("C.t.c".into(), Change::Removed)]);
    }

    #[tokio::test]
    async fn a_push_records_after_success_only() {
        let root = tempfile::tempdir().unwrap();
        let store = StateStore::new(root.path().join("state"));
        let driver = MemoryDriver::new();
        let inv = inventory();
        let want = desired(&[("r1", &[("A.t.a", "a\n")]), ("r2", &[("A.t.b", "b\n")])]);
        let out = run(&driver, &inv, &store, &want, false, Mode::Diff)
            .await
            .unwrap();
        assert!(out.iter().all(|o| !o.committed && !o.diff.is_empty()));
        assert!(
            store.load_all().unwrap().is_empty(),
            "a diff records nothing"
        );
        let out = run(&driver, &inv, &store, &want, false, Mode::Push)
            .await
            .unwrap();
        assert!(out.iter().all(|o| o.committed), "{out:?}");
        assert_eq!(out[0].services, [("A.t.a".into(), Change::Added)]);
        assert_eq!(store.load("r2").unwrap(), fragments(&[("A.t.b", "b\n")]));
        // r2 refuses the next change: nothing recorded, r1 rolled back.
        driver.set_fault("r2", Some(Fault::Commit));
        let next = desired(&[("r1", &[("A.t.a", "a2\n")]), ("r2", &[("A.t.b", "b2\n")])]);
        let e = run(&driver, &inv, &store, &next, false, Mode::Push)
            .await
            .unwrap_err();
        assert_eq!(e.device(), Some("r2"));
        assert!(
            e.to_string().contains("state directory is unchanged"),
            "{e}"
        );
        assert_eq!(driver.running("r1"), "a\n");
        assert_eq!(store.load("r1").unwrap(), fragments(&[("A.t.a", "a\n")]));
        // Pruned: removed from the devices and from the state.
        driver.set_fault("r2", None);
        let out = run(&driver, &inv, &store, &Desired::default(), true, Mode::Push)
            .await
            .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(driver.running("r1"), "");
        assert!(store.load_all().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_device_without_connection_fields_stops_everything_before_contact() {
        let root = tempfile::tempdir().unwrap();
        let store = StateStore::new(root.path());
        let driver = MemoryDriver::new();
        let inv = Inventory::parse(
            "devices: [{name: r1, platform: frr, username: u}]",
            "devices.yaml",
        )
        .unwrap();
        let want = desired(&[("r1", &[("A.t.a", "a\n")])]);
        let e = run(&driver, &inv, &store, &want, false, Mode::Push)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("devices[0].address") && e.contains("r1"), "{e}");
        assert!(driver.pushes().is_empty());
    }
}
