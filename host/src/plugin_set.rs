//! The plugins one host serves, indexed by the `(apiVersion, kind)` each declares: every service goes to the one plugin that declares its kind.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::evaluations::{self, Evaluations};
use crate::pipeline::{self, Evaluation, PipelineError};
use crate::runtime::{Context, Executor, Plugin, Service};

/// Why a set of plugins cannot be served together.
#[derive(Debug, thiserror::Error)]
pub enum PluginSetError {
    /// Two plugins (or one plugin twice) declare the same kind.
    #[error(
        "{api_version} {kind} is declared by two plugins: {first} and {second}; \
         serve only one plugin per kind"
    )]
    DuplicateKind {
        /// The kind's apiVersion (`group/version`).
        api_version: String,
        /// The kind.
        kind: String,
        /// The plugin that declared it first.
        first: String,
        /// The other plugin.
        second: String,
    },
}

/// Plugins by the service kinds they declare. The CLI, the operator and the
/// admission webhook all route services through one of these.
///
/// # Guarantees
/// Each `(apiVersion, kind)` has exactly one plugin.
#[derive(Debug, Clone, Default)]
pub struct PluginSet {
    plugins: Vec<Arc<Plugin>>,
    kinds: BTreeMap<(String, String), usize>,
    memo: Option<Arc<Evaluations>>,
}

impl PluginSet {
    /// Indexes `plugins` by the kinds their `describe()` declared.
    ///
    /// # Errors
    /// [`PluginSetError::DuplicateKind`], naming both plugins.
    pub fn new(plugins: impl IntoIterator<Item = Arc<Plugin>>) -> Result<Self, PluginSetError> {
        let plugins: Vec<_> = plugins.into_iter().collect();
        let mut kinds: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (i, p) in plugins.iter().enumerate() {
            for k in &p.info().kinds {
                let key = (format!("{}/{}", k.group, k.version), k.kind.clone());
                if let Some(&first) = kinds.get(&key) {
                    let (api_version, kind) = key;
                    return Err(PluginSetError::DuplicateKind {
                        api_version,
                        kind,
                        first: label(&plugins[first]),
                        second: label(p),
                    });
                }
                kinds.insert(key, i);
            }
        }
        Ok(Self {
            plugins,
            kinds,
            memo: None,
        })
    }

    /// This set, reusing and keeping its successful evaluations in `memo`
    /// (shared by the operator's reconciles and its admission webhook).
    #[must_use]
    pub fn with_memo(mut self, memo: Arc<Evaluations>) -> Self {
        self.memo = Some(memo);
        self
    }

    /// The plugins, in the order given.
    #[must_use]
    pub fn plugins(&self) -> &[Arc<Plugin>] {
        &self.plugins
    }

    /// The plugin that declares `kind` in `api_version`, if any.
    #[must_use]
    pub fn plugin_for(&self, api_version: &str, kind: &str) -> Option<&Arc<Plugin>> {
        self.kinds
            .get(&(api_version.to_string(), kind.to_string()))
            .map(|&i| &self.plugins[i])
    }

    /// Every served `(apiVersion, kind)` with its plugin, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = (&str, &str, &Arc<Plugin>)> {
        self.kinds
            .iter()
            .map(|((v, k), &i)| (v.as_str(), k.as_str(), &self.plugins[i]))
    }

    /// Evaluates `service` with the plugin of its kind, on `executor`
    /// (see [`pipeline::evaluate_async`]), or takes the same evaluation
    /// from the memo ([`PluginSet::with_memo`]).
    ///
    /// # Errors
    /// [`PipelineError::NoPlugin`] when no plugin declares the kind; else as
    /// [`pipeline::evaluate_async`].
    pub async fn evaluate(
        &self,
        executor: &Executor,
        service: Service,
        context: Arc<Context>,
    ) -> Result<Evaluation, PipelineError> {
        let Some(plugin) = self.plugin_for(&service.api_version, &service.kind) else {
            return Err(PipelineError::NoPlugin {
                service: pipeline::service_id(&service),
                api_version: service.api_version.clone(),
                kind: service.kind.clone(),
            });
        };
        let Some(memo) = &self.memo else {
            return pipeline::evaluate_async(executor, plugin.clone(), service, context).await;
        };
        let key = evaluations::key(plugin, &service, &context);
        if let Some(kept) = memo.get(&key) {
            crate::metrics::global().evaluation_reused();
            return Ok(kept);
        }
        let evaluation =
            pipeline::evaluate_async(executor, plugin.clone(), service, context).await?;
        memo.insert(key, evaluation.clone());
        Ok(evaluation)
    }
}

/// `name version (source)`, the way errors name a plugin.
fn label(p: &Plugin) -> String {
    format!("{} {} ({})", p.info().name, p.info().version, p.name())
}
