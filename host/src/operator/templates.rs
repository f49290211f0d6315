//! The plugin a service reconcile evaluates with: the Plugin serving its kind, with the overrides of its templates ConfigMap.

use std::sync::Arc;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;

use super::{Context, Error};
use crate::plugin_set::PluginSet;
use crate::template::{OverrideSource, TemplateOverrides};

impl Context {
    /// The plugin set serving `kind` (its Plugin's templates ConfigMap
    /// applied), and the Plugin's manifest digest; `None` when no Ready
    /// Plugin serves the kind.
    ///
    /// # Errors
    /// [`Error::Object`] when the templates ConfigMap is missing or over the
    /// limits, naming it.
    pub(super) async fn plugin_for(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<(PluginSet, String)>, Error> {
        let Some(loaded) = self.loaded_for(api_version, kind) else {
            return Ok(None);
        };
        let plugin = match &loaded.templates {
            None => loaded.plugin.clone(),
            Some(r) => {
                let ns = r
                    .namespace
                    .clone()
                    .unwrap_or_else(|| self.namespace.clone());
                // Read afresh, not from a watch cache: the watch event that
                // triggered this reconcile may be ahead of the cache.
                let cm = Api::<ConfigMap>::namespaced(self.client.clone(), &ns)
                    .get_opt(&r.name)
                    .await
                    .map_err(|e| Error::Kube(format!("reading ConfigMap {ns}/{}: {e}", r.name)))?;
                let cm = cm.ok_or_else(|| {
                    Error::Object(format!(
                        "the Plugin's templates ConfigMap {ns}/{} does not exist; create it, or remove spec.templates",
                        r.name
                    ))
                })?;
                let source = OverrideSource::ConfigMap {
                    namespace: ns,
                    name: r.name.clone(),
                };
                let overrides = TemplateOverrides::new(source, cm.data.unwrap_or_default())
                    .map_err(|e| Error::Object(e.to_string()))?;
                Arc::new(loaded.plugin.with_templates(overrides))
            }
        };
        let set = PluginSet::new([plugin])
            .map_err(|e| Error::Plugin(e.to_string()))?
            .with_memo(self.evaluations.clone());
        Ok(Some((set, loaded.manifest_digest)))
    }
}
