//! The one evaluation pipeline (validate → expand → validate → render) shared by the CLI, the operator and admission.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use crate::driver::interfaces;
use crate::runtime::{
    self, ConfigFormat, Context, DeviceConfig, Executor, Plugin, Service, Violation,
};

/// Interfaces a plugin rendered outside the tenant's grant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "plugin {plugin} rendered interface(s) {} on device {device}, which tenant {tenant} was not granted (granted there: {granted}); a plugin may only configure the ports granted to the service's namespace",
    .interfaces.join(", ")
)]
pub struct Refusal {
    /// The plugin.
    pub plugin: String,
    /// The device.
    pub device: String,
    /// The tenant (namespace).
    pub tenant: String,
    /// The interfaces outside the grant.
    pub interfaces: Vec<String>,
    /// The ports granted, comma-separated (or `none`).
    pub granted: String,
}

/// Where in the pipeline a service was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `validate` on the service as submitted.
    Validate,
    /// `expand`.
    Expand,
    /// `validate` on the expanded service.
    ValidateExpanded,
    /// `render`.
    Render,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Validate => "validate",
            Stage::Expand => "expand",
            Stage::ValidateExpanded => "validate after expand",
            Stage::Render => "render",
        })
    }
}

/// Why a service could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The plugin does not handle this kind.
    #[error(
        "{service}: plugin {plugin} does not handle {api_version} {kind}; it handles {handled}"
    )]
    UnsupportedKind {
        /// `Kind namespace/name`.
        service: String,
        /// The plugin.
        plugin: String,
        /// The service's apiVersion.
        api_version: String,
        /// The service's kind.
        kind: String,
        /// What the plugin handles, comma-separated.
        handled: String,
    },
    /// No plugin serves the service's kind.
    #[error("{service}: no plugin serves {api_version} {kind}")]
    NoPlugin {
        /// `Kind namespace/name`.
        service: String,
        /// The service's apiVersion.
        api_version: String,
        /// The service's kind.
        kind: String,
    },
    /// The plugin refused the service: a user error, with every violation.
    #[error("{service} is invalid ({stage}):{}", list(.violations))]
    Invalid {
        /// `Kind namespace/name`.
        service: String,
        /// Where it was refused.
        stage: Stage,
        /// Every violation, each naming its field.
        violations: Vec<Violation>,
    },
    /// The plugin failed (trap, timeout, memory...): not the user's fault.
    #[error("{service}: {source}")]
    Plugin {
        /// `Kind namespace/name`.
        service: String,
        /// The runtime error.
        source: runtime::Error,
    },
    /// The rendered config touches interfaces not granted to the tenant:
    /// the host's own check of every config, whatever the plugin validated.
    #[error("{service}: {refusal}")]
    NotGranted {
        /// `Kind namespace/name`.
        service: String,
        /// What was refused.
        refusal: Box<Refusal>,
    },
    /// A template override of the deployment failed to render.
    #[error(
        "{service}: the {detail}; fix the override, or remove it to use the plugin's built-in template"
    )]
    TemplateOverride {
        /// `Kind namespace/name`.
        service: String,
        /// Where the override lives (ConfigMap and key, or file), the line and the error.
        detail: String,
    },
    /// The plugin answered something the contract forbids.
    #[error("{service}: plugin {plugin} broke the plugin contract in {stage}: {detail}")]
    Contract {
        /// `Kind namespace/name`.
        service: String,
        /// The plugin.
        plugin: String,
        /// The export that misbehaved.
        stage: Stage,
        /// What it did wrong.
        detail: String,
    },
}

impl PipelineError {
    /// The violations, when the service itself was refused.
    #[must_use]
    pub fn violations(&self) -> Option<&[Violation]> {
        match self {
            PipelineError::Invalid { violations, .. } => Some(violations),
            _ => None,
        }
    }
}

fn list(violations: &[Violation]) -> String {
    violations.iter().map(|v| format!("\n  {v}")).collect()
}

/// A service after the pipeline: expanded, with its per-device configuration.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The service with its expanded `spec`.
    pub service: Service,
    /// One configuration per device the service touches, sorted by device.
    pub configs: Vec<DeviceConfig>,
}

/// `Kind namespace/name`, the way errors name a service.
#[must_use]
pub fn service_id(s: &Service) -> String {
    format!("{} {}/{}", s.kind, s.namespace, s.name)
}

/// Runs validate → expand → validate → render for one service in one fresh
/// sandbox. The second validate is skipped when expand returned the spec
/// unchanged (it was already expanded): it would be the first call again.
///
/// # Guarantees
/// Either every stage succeeds, or nothing is returned but the error. Rendered
/// configs only name devices of `context` (the tenant's devices), at most once.
///
/// # Errors
/// [`PipelineError::Invalid`] when the plugin refuses the service; other
/// variants when the plugin fails or breaks the contract.
pub fn evaluate(
    plugin: &Plugin,
    service: &Service,
    context: &Context,
) -> Result<Evaluation, PipelineError> {
    let id = service_id(service);
    check_kind(plugin, service, &id)?;
    let runtime_err = |source| PipelineError::Plugin {
        service: id.clone(),
        source,
    };
    let invalid = |stage, violations| PipelineError::Invalid {
        service: id.clone(),
        stage,
        violations,
    };
    let contract = |stage, detail: String| PipelineError::Contract {
        service: id.clone(),
        plugin: plugin.name().to_string(),
        stage,
        detail,
    };
    let mut session = plugin.session().map_err(runtime_err)?;
    session.set_service(&id);

    session
        .validate(service, context)
        .map_err(runtime_err)?
        .map_err(|v| invalid(Stage::Validate, v))?;

    let spec = session
        .expand(service, context)
        .map_err(runtime_err)?
        .map_err(|v| invalid(Stage::Expand, v))?;
    let parsed = match serde_json::from_str::<serde_json::Value>(&spec) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        _ => {
            return Err(contract(
                Stage::Expand,
                "the expanded spec is not a JSON object".into(),
            ));
        }
    };
    // A spec expand left as it was (one already expanded at admission) was
    // just validated: a plugin has no clock, randomness or I/O, so the same
    // service and context get the same answer.
    let unchanged = serde_json::from_str::<serde_json::Value>(&service.spec)
        .is_ok_and(|original| original == parsed);
    let expanded = Service {
        spec,
        ..service.clone()
    };

    if !unchanged {
        session
            .validate(&expanded, context)
            .map_err(runtime_err)?
            .map_err(|v| invalid(Stage::ValidateExpanded, v))?;
    }

    let rendered = session.render(&expanded, context);
    // An override that failed fails the service, whatever the plugin made of it.
    if let Some(detail) = session.override_failure() {
        return Err(PipelineError::TemplateOverride {
            service: id.clone(),
            detail: detail.to_string(),
        });
    }
    let mut configs = rendered
        .map_err(runtime_err)?
        .map_err(|v| invalid(Stage::Render, v))?;
    let granted: BTreeSet<&str> = context.devices.iter().map(|d| d.name.as_str()).collect();
    let mut seen = BTreeSet::new();
    for c in &configs {
        if !granted.contains(c.device.as_str()) {
            return Err(contract(
                Stage::Render,
                format!(
                    "it rendered config for device {}, which is not granted to tenant {}",
                    c.device, context.tenant
                ),
            ));
        }
        if !seen.insert(c.device.as_str()) {
            return Err(contract(
                Stage::Render,
                format!("it rendered two configs for device {}", c.device),
            ));
        }
    }
    for c in &configs {
        check_interfaces(plugin, context, c, &id)?;
    }
    configs.sort_by(|a, b| a.device.cmp(&b.device));
    Ok(Evaluation {
        service: expanded,
        configs,
    })
}

/// Runs [`evaluate`] on the runtime's blocking pool: the way async code (the
/// CLI, the operator, the admission webhook) evaluates a service. Many may
/// run at once; the executor bounds how many call plugins at a time.
///
/// # Errors
/// As [`evaluate`]; a panic of the host while evaluating is
/// [`PipelineError::Plugin`] with [`runtime::Error::HostPanic`], and the
/// process goes on.
pub async fn evaluate_async(
    executor: &Executor,
    plugin: Arc<Plugin>,
    service: Service,
    context: Arc<Context>,
) -> Result<Evaluation, PipelineError> {
    let id = service_id(&service);
    executor
        .run(move || evaluate(&plugin, &service, &context))
        .await
        .map_err(|source| PipelineError::Plugin {
            service: id,
            source,
        })?
}

/// The host's tenant check of one rendered config: every interface it
/// touches (read with the drivers' parsers) must be granted to the tenant
/// on that device. Names compare without case; anything else, such as an
/// abbreviation of a granted port, is refused.
fn check_interfaces(
    plugin: &Plugin,
    context: &Context,
    config: &DeviceConfig,
    id: &str,
) -> Result<(), PipelineError> {
    let Some(device) = context.devices.iter().find(|d| d.name == config.device) else {
        return Ok(());
    };
    let touched = match config.format {
        ConfigFormat::Cli => interfaces::of_cli(&config.text, &device.platform),
        ConfigFormat::NetconfXml => interfaces::of_xml(&config.text),
        // No interface model to read in free-form JSON.
        ConfigFormat::Json => Ok(Vec::new()),
    }
    .map_err(|e| PipelineError::Contract {
        service: id.to_string(),
        plugin: plugin.name().to_string(),
        stage: Stage::Render,
        detail: format!(
            "its config for device {} cannot be read: {e}",
            config.device
        ),
    })?;
    let granted: BTreeSet<String> = device.ports.iter().map(|p| p.to_lowercase()).collect();
    let refused: Vec<String> = touched
        .into_iter()
        .filter(|i| !granted.contains(&i.to_lowercase()))
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    Err(PipelineError::NotGranted {
        service: id.to_string(),
        refusal: Box::new(Refusal {
            plugin: plugin.name().to_string(),
            device: config.device.clone(),
            tenant: context.tenant.clone(),
            interfaces: refused,
            granted: if device.ports.is_empty() {
                "none".into()
            } else {
                device.ports.join(", ")
            },
        }),
    })
}

fn check_kind(plugin: &Plugin, service: &Service, id: &str) -> Result<(), PipelineError> {
    let kinds = &plugin.info().kinds;
    let handled = kinds.iter().any(|k| {
        k.kind == service.kind && service.api_version == format!("{}/{}", k.group, k.version)
    });
    if handled {
        return Ok(());
    }
    Err(PipelineError::UnsupportedKind {
        service: id.to_string(),
        plugin: plugin.name().to_string(),
        api_version: service.api_version.clone(),
        kind: service.kind.clone(),
        handled: kinds
            .iter()
            .map(|k| format!("{}/{} {}", k.group, k.version, k.kind))
            .collect::<Vec<_>>()
            .join(", "),
    })
}
