//! Rendering an expanded `BgpPeering` spec through the host's templates, for FRR and EOS.

use serde_json::{Value, json};

use naas_plugin_sdk::render::{render_template, unsupported_platform};
use naas_plugin_sdk::{ConfigFormat, Device, DeviceConfig, Host, LogLevel, Service, Violation};

use crate::prefix_list::{Entry, PrefixList};
use crate::spec::BgpSpec;

/// FRR vtysh configuration (`configure terminal`).
pub const FRR_TEMPLATE: &str = include_str!("../templates/frr.j2");
/// Arista EOS CLI.
pub const EOS_TEMPLATE: &str = include_str!("../templates/eos.j2");

/// The template for a platform, if supported.
#[must_use]
pub fn template_for(platform: &str) -> Option<(&'static str, &'static str)> {
    match platform {
        "frr" => Some(("frr.j2", FRR_TEMPLATE)),
        "eos" => Some(("eos.j2", EOS_TEMPLATE)),
        _ => None,
    }
}

fn entries(list: &[Entry], v4: bool) -> Vec<Value> {
    list.iter()
        .filter(|e| e.prefix.addr.is_ipv4() == v4)
        .map(|e| {
            json!({
                "seq": e.seq,
                "action": e.action.as_str(),
                "prefix": e.prefix.to_string(),
                "ge": e.ge,
                "le": e.le,
            })
        })
        .collect()
}

/// The entries of one family; when neighbours of that family exist but the
/// list has no entry for it, one explicit `deny` of everything, so that the
/// implicit deny of a prefix list holds on every platform (a missing list
/// permits everything on some).
fn family(spec: &BgpSpec, list: &PrefixList, v4: bool, notes: &mut Vec<String>) -> Vec<Value> {
    let found = entries(&list.entries, v4);
    let used = spec.neighbors.iter().any(|n| n.address.is_ipv4() == v4);
    if !found.is_empty() || !used {
        return found;
    }
    let (name, any, max) = if v4 {
        ("IPv4", "0.0.0.0/0", 32)
    } else {
        ("IPv6", "::/0", 128)
    };
    notes.push(format!(
        "the prefix list has no {name} entry: every {name} route is denied"
    ));
    vec![json!({ "seq": 10, "action": "deny", "prefix": any, "ge": null, "le": max })]
}

fn prefix_list(spec: &BgpSpec, list: &PrefixList) -> Value {
    let mut notes = Vec::new();
    let ipv4 = family(spec, list, true, &mut notes);
    let ipv6 = family(spec, list, false, &mut notes);
    json!({
        "name": list.name,
        "direction": list.direction.as_str(),
        "ipv4": ipv4,
        "ipv6": ipv6,
        "notes": notes,
    })
}

/// The variables given to every template.
#[must_use]
pub fn vars(service: &Service, spec: &BgpSpec, device: &Device) -> Value {
    let families: Vec<Value> = [("ipv4", true), ("ipv6", false)]
        .into_iter()
        .filter_map(|(name, v4)| {
            let addresses: Vec<String> = spec
                .neighbors
                .iter()
                .filter(|n| n.address.is_ipv4() == v4)
                .map(|n| n.address.to_string())
                .collect();
            (!addresses.is_empty()).then(|| json!({ "name": name, "neighbors": addresses }))
        })
        .collect();
    json!({
        "service": { "namespace": service.namespace, "name": service.name },
        "device": { "name": device.name, "platform": device.platform },
        "local_asn": spec.local_asn,
        "router_id": spec.router_id.map(|a| a.to_string()),
        "neighbors": spec.neighbors.iter().map(|n| json!({
            "address": n.address.to_string(),
            "remote_asn": n.remote_asn,
            "description": n.description.as_deref().unwrap_or_default(),
        })).collect::<Vec<_>>(),
        "address_families": families,
        "prefix_list": spec.prefix_list.as_ref().map(|l| prefix_list(spec, l)),
    })
}

/// Renders the configuration of `device` for `spec`.
///
/// # Errors
/// The platform is not supported, or the host could not render the template.
pub fn render(
    service: &Service,
    spec: &BgpSpec,
    device: &Device,
    host: &dyn Host,
) -> Result<Vec<DeviceConfig>, Vec<Violation>> {
    let Some((name, template)) = template_for(&device.platform) else {
        return Err(vec![unsupported_platform(
            "bgp-peering",
            device,
            &crate::PLATFORMS,
        )]);
    };
    let text = render_template(host, name, template, &vars(service, spec, device), device)?;
    host.log(
        LogLevel::Debug,
        &format!(
            "rendered {} neighbor(s) for {} with {name}",
            spec.neighbors.len(),
            device.name
        ),
    );
    Ok(vec![DeviceConfig {
        device: device.name.clone(),
        format: ConfigFormat::Cli,
        text,
    }])
}
