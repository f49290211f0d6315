//! A [`Resolver`] over a fixed plugin set and inventory: `naas webhook` without a cluster, and the admission tests.

use async_trait::async_trait;
use serde_json::Value;

use super::Resolver;
use crate::inventory::Inventory;
use crate::plugin_set::PluginSet;
use crate::runtime::{Context, Service};

/// Plugins and devices given once (files, tests).
pub struct FixedResolver {
    plugins: PluginSet,
    inventory: Inventory,
    variables: Value,
}

impl FixedResolver {
    /// Serves `plugins` with the devices and grants of `inventory` and `variables`.
    #[must_use]
    pub fn new(plugins: PluginSet, inventory: Inventory, variables: Value) -> Self {
        Self {
            plugins,
            inventory,
            variables,
        }
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
}
