//! The operator's caches as the admission webhook's [`Resolver`]: admission sees the same Plugins, template overrides, Devices and variables as the reconcilers.

use async_trait::async_trait;

use super::Context;
use crate::admission::Resolver;
use crate::plugin_set::PluginSet;
use crate::runtime::{Context as PluginContext, Service};

#[async_trait]
impl Resolver for Context {
    async fn plugins(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<(PluginSet, String)>, String> {
        self.plugin_for(api_version, kind)
            .await
            .map_err(|e| e.to_string())
    }

    async fn context(&self, service: &Service) -> Result<PluginContext, String> {
        self.context_for(service).await.map_err(|e| e.to_string())
    }

    async fn held(
        &self,
        configs: &[crate::runtime::DeviceConfig],
    ) -> Result<std::collections::BTreeMap<String, (String, crate::applied::Fragments)>, String>
    {
        self.applied
            .held(self, configs)
            .await
            .map_err(|e| e.to_string())
    }
}
