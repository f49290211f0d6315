//! What a service's evaluation is given: the Plugin's ConfigMaps, and the context from the Devices granted to its namespace and the variables.

use std::sync::{Arc, PoisonError};

use kube::ResourceExt;

use super::{Context, Error, LoadedPlugin, NAMESPACE_VARIABLES, ObjectRef};
use crate::inventory::{Grant, Inventory, InventoryDevice};
use crate::runtime::{Context as PluginContext, Service};

/// An inventory of the Devices, with the Devices' (uid, generation) it was built from.
pub(super) type BuiltInventory = (Vec<(String, i64)>, Arc<Inventory>);

impl Context {
    /// The ConfigMaps (variables and templates) of the Plugin serving `kind`.
    pub(super) fn config_map_refs(&self, kind: &str) -> Vec<ObjectRef> {
        self.refs_of(kind, |p| {
            p.variables.iter().chain(&p.templates).cloned().collect()
        })
    }

    /// The variables ConfigMaps of the Plugin serving `kind`.
    pub(super) fn variables_refs(&self, kind: &str) -> Vec<ObjectRef> {
        self.refs_of(kind, |p| p.variables.clone())
    }

    /// What `refs` picks of the Plugin serving `kind` (none without one).
    fn refs_of(
        &self,
        kind: &str,
        refs: impl Fn(&LoadedPlugin) -> Vec<ObjectRef>,
    ) -> Vec<ObjectRef> {
        self.plugins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .find(|p| p.plugin.info().kinds.iter().any(|k| k.kind == kind))
            .map(refs)
            .unwrap_or_default()
    }

    /// The context the plugin sees for `service`: the Devices granted to
    /// its namespace, and variables from the Plugin's ConfigMaps then the
    /// namespace's `naas-variables` ConfigMap (later wins, key by key).
    pub(super) async fn context_for(&self, service: &Service) -> Result<PluginContext, Error> {
        let inventory = self.inventory().await?;
        let mut variables = serde_json::Map::new();
        let refs = self.variables_refs(&service.kind);
        let namespace_vars = ObjectRef {
            name: NAMESPACE_VARIABLES.into(),
            namespace: Some(service.namespace.clone()),
        };
        for (i, r) in refs
            .iter()
            .chain(std::iter::once(&namespace_vars))
            .enumerate()
        {
            let ns = r
                .namespace
                .clone()
                .unwrap_or_else(|| self.namespace.clone());
            let cm = self.config_map(&ns, &r.name).await?;
            match cm {
                Some(cm) => {
                    for (k, v) in cm.data.unwrap_or_default() {
                        // A value that parses as YAML (numbers, lists...) is data; else a string.
                        let value =
                            serde_yaml_ng::from_str(&v).unwrap_or(serde_json::Value::String(v));
                        variables.insert(k, value);
                    }
                }
                None if i < refs.len() => {
                    return Err(Error::Object(format!(
                        "the Plugin's variables ConfigMap {ns}/{} does not exist",
                        r.name
                    )));
                }
                None => {}
            }
        }
        Ok(inventory.context_for(&service.namespace, &serde_json::Value::Object(variables)))
    }

    /// Every Device as an inventory with its grants expanded, rebuilt only
    /// when a Device comes, goes or changes its spec (expanding and sorting
    /// every grant's ports on each evaluation cost more than the plugin call).
    async fn inventory(&self) -> Result<Arc<Inventory>, Error> {
        let devices = self.all_devices().await;
        let mut key: Vec<(String, i64)> = devices
            .iter()
            .map(|d| {
                (
                    d.uid().unwrap_or_else(|| d.name_any()),
                    d.metadata.generation.unwrap_or_default(),
                )
            })
            .collect();
        key.sort();
        if let Some((built_from, inventory)) = &*self
            .inventory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            && *built_from == key
        {
            return Ok(inventory.clone());
        }
        let inventory = Arc::new(
            Inventory {
                devices: devices
                    .iter()
                    .map(|d| InventoryDevice {
                        name: d.name_any(),
                        platform: d.spec.platform.clone(),
                        facts: d.spec.facts.clone(),
                        grants: d
                            .spec
                            .tenants
                            .iter()
                            .map(|t| Grant {
                                tenant: t.namespace.clone(),
                                ports: t.ports.clone(),
                            })
                            .collect(),
                        ..InventoryDevice::default()
                    })
                    .collect(),
                file: "Devices".into(),
            }
            .checked("Devices")
            .map_err(|e| Error::Object(e.to_string()))?,
        );
        *self
            .inventory
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((key, inventory.clone()));
        Ok(inventory)
    }
}
