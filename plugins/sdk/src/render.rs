//! Helpers for a plugin's `render`: the unsupported-platform violation and one template rendered through the host.

use crate::plugin::Host;
use crate::types::{Device, Violation};

/// The violation (on `spec.device`) for a device whose platform `plugin`
/// cannot configure, listing the `platforms` it can.
#[must_use]
pub fn unsupported_platform(plugin: &str, device: &Device, platforms: &[&str]) -> Violation {
    Violation::new(
        "spec.device",
        format!(
            "device {} has platform {:?}, which {plugin} cannot configure; supported platforms: {}",
            device.name,
            device.platform,
            platforms.join(", ")
        ),
    )
}

/// Renders the template `name` (built-in text `template`) with `vars` for
/// `device` through the host's `render-named-template`: the deployment's
/// override of `name` when there is one.
///
/// # Errors
/// The host's error, as a violation on `spec` naming the template and device.
pub fn render_template(
    host: &dyn Host,
    name: &str,
    template: &str,
    vars: &serde_json::Value,
    device: &Device,
) -> Result<String, Vec<Violation>> {
    host.render_named_template(name, template, vars)
        .map_err(|e| {
            vec![Violation::new(
                "spec",
                format!(
                    "the host could not render template {name} for device {}: {e}",
                    device.name
                ),
            )]
        })
}
