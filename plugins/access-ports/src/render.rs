//! Rendering an expanded `AccessPorts` spec through the host's templates, one dialect per platform.

use serde_json::json;

use naas_plugin_sdk::render::{render_template, unsupported_platform};
use naas_plugin_sdk::{ConfigFormat, Device, DeviceConfig, Host, LogLevel, Service, Violation};

use crate::spec::AccessSpec;
use crate::vlans;

/// Arista EOS CLI.
pub const EOS_TEMPLATE: &str = include_str!("../templates/eos.j2");
/// FRR vtysh configuration.
pub const FRR_TEMPLATE: &str = include_str!("../templates/frr.j2");
/// ietf-interfaces XML, the content of a NETCONF `<config>`.
pub const NETCONF_TEMPLATE: &str = include_str!("../templates/netconf.j2");

/// The template and format for a platform, if supported.
#[must_use]
pub fn template_for(platform: &str) -> Option<(&'static str, &'static str, ConfigFormat)> {
    match platform {
        "eos" => Some(("eos.j2", EOS_TEMPLATE, ConfigFormat::Cli)),
        "frr" => Some(("frr.j2", FRR_TEMPLATE, ConfigFormat::Cli)),
        "netconf" => Some(("netconf.j2", NETCONF_TEMPLATE, ConfigFormat::NetconfXml)),
        _ => None,
    }
}

/// The variables given to every template.
#[must_use]
pub fn vars(service: &Service, spec: &AccessSpec, device: &Device) -> serde_json::Value {
    json!({
        "service": { "namespace": service.namespace, "name": service.name },
        "device": { "name": device.name, "platform": device.platform },
        "ports": spec.ports.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        "vlan": spec.vlan,
        "mode": spec.mode.as_str(),
        "allowed_vlans": spec.trunk_allowed.as_deref().map(vlans::to_cli).unwrap_or_default(),
        "description": spec.description,
        "enabled": spec.enabled,
    })
}

/// Renders the configuration of `device` for `spec`.
///
/// # Errors
/// The platform is not supported, or the host could not render the template.
pub fn render(
    service: &Service,
    spec: &AccessSpec,
    device: &Device,
    host: &dyn Host,
) -> Result<Vec<DeviceConfig>, Vec<Violation>> {
    let Some((name, template, format)) = template_for(&device.platform) else {
        return Err(vec![unsupported_platform(
            "access-ports",
            device,
            &crate::PLATFORMS,
        )]);
    };
    let text = render_template(host, name, template, &vars(service, spec, device), device)?;
    host.log(
        LogLevel::Debug,
        &format!(
            "rendered {} port(s) for {} with {name}",
            spec.ports.len(),
            device.name
        ),
    );
    Ok(vec![DeviceConfig {
        device: device.name.clone(),
        format,
        text,
    }])
}
