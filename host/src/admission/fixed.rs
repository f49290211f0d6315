//! A [`Resolver`] over a fixed plugin set and inventory: `naas webhook` without a cluster, and the admission tests.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

use super::Resolver;
use crate::applied::Fragments;
use crate::inventory::Inventory;
use crate::plugin_set::PluginSet;
use crate::runtime::{Context, DeviceConfig, Service};

/// Plugins and devices given once (files, tests).
pub struct FixedResolver {
    plugins: PluginSet,
    inventory: Inventory,
    variables: Value,
    /// Per device: its platform and what each service holds there.
    held: BTreeMap<String, (String, Fragments)>,
}

impl FixedResolver {
    /// Serves `plugins` with the devices and grants of `inventory` and `variables`.
    #[must_use]
    pub fn new(plugins: PluginSet, inventory: Inventory, variables: Value) -> Self {
        Self {
            plugins,
            inventory,
            variables,
            held: BTreeMap::new(),
        }
    }

    /// Says that, on `device`, service `key` (`Kind.namespace.name`) holds
    /// `config` (as naas applied it): the ports it configures are taken.
    #[must_use]
    pub fn holding(mut self, device: &str, key: &str, config: &str) -> Self {
        let platform = self
            .inventory
            .devices
            .iter()
            .find(|d| d.name == device)
            .map(|d| d.platform.clone())
            .unwrap_or_default();
        let entry = self
            .held
            .entry(device.to_string())
            .or_insert_with(|| (platform, Fragments::new()));
        entry.1.insert(key.to_string(), config.to_string());
        self
    }
}

#[async_trait]
impl Resolver for FixedResolver {
    async fn plugins(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<(PluginSet, String)>, String> {
        Ok(self
            .plugins
            .plugin_for(api_version, kind)
            .map(|p| (self.plugins.clone(), p.digest().to_string())))
    }

    async fn context(&self, service: &Service) -> Result<Context, String> {
        Ok(self
            .inventory
            .context_for(&service.namespace, &self.variables))
    }

    async fn held(
        &self,
        configs: &[DeviceConfig],
    ) -> Result<BTreeMap<String, (String, Fragments)>, String> {
        Ok(configs
            .iter()
            .filter_map(|c| Some((c.device.clone(), self.held.get(&c.device)?.clone())))
            .collect())
    }
}
