//! Ports held by services: two services may not claim the same port on the same device; the second is refused, naming the service that holds it.
//!
//! What a service holds is what naas applied for it (the per-device
//! records of `crate::applied`), read with the drivers' interface parsers
//! (`interface <name>` sections of CLI text, ietf-interfaces `<name>`
//! elements of NETCONF XML), as the tenant check reads rendered configs.
//! Admission and the operator's reconcile both run this check.

use std::collections::BTreeMap;

use crate::applied::Fragments;
use crate::driver::interfaces;
use crate::runtime::{ConfigFormat, DeviceConfig};

/// A port a service asks for that another service holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The device.
    pub device: String,
    /// The port, as the new config names it.
    pub port: String,
    /// The holder, `Kind namespace/name`.
    pub holder: String,
}

/// Every port claimed twice: for each device config `service` (its key,
/// `Kind.namespace.name`) renders, the interfaces it touches that another
/// service's applied config on that device touches too. `held` maps a
/// device to its platform and its applied fragments. Configs or fragments
/// that cannot be read claim nothing here (the tenant check refuses
/// unreadable rendered configs).
#[must_use]
pub fn conflicts(
    service: &str,
    configs: &[DeviceConfig],
    held: &BTreeMap<String, (String, Fragments)>,
) -> Vec<Conflict> {
    let mut found = Vec::new();
    for config in configs {
        let Some((platform, fragments)) = held.get(&config.device) else {
            continue;
        };
        let wanted = match config.format {
            ConfigFormat::Cli => interfaces::of_cli(&config.text, platform),
            ConfigFormat::NetconfXml => interfaces::of_xml(&config.text),
            ConfigFormat::Json => Ok(Vec::new()),
        }
        .unwrap_or_default();
        if wanted.is_empty() {
            continue;
        }
        for (other, text) in fragments.iter().filter(|(k, _)| k.as_str() != service) {
            let theirs = if platform == "netconf" {
                interfaces::of_xml(text)
            } else {
                interfaces::of_cli(text, platform)
            }
            .unwrap_or_default();
            for port in &wanted {
                if theirs.iter().any(|t| t.eq_ignore_ascii_case(port)) {
                    found.push(Conflict {
                        device: config.device.clone(),
                        port: port.clone(),
                        holder: holder_name(other),
                    });
                }
            }
        }
    }
    found
}

/// `Kind namespace/name` of a service key `Kind.namespace.name`.
fn holder_name(key: &str) -> String {
    let mut parts = key.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(kind), Some(ns), Some(name)) => format!("{kind} {ns}/{name}"),
        _ => key.to_string(),
    }
}

/// One line naming every conflict, for a denial or a condition.
#[must_use]
pub fn describe(conflicts: &[Conflict]) -> String {
    conflicts
        .iter()
        .map(|c| {
            format!(
                "port {} on device {} is held by {}",
                c.port, c.device, c.holder
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(device: &str, text: &str) -> DeviceConfig {
        DeviceConfig {
            device: device.into(),
            format: ConfigFormat::Cli,
            text: text.into(),
        }
    }

    #[test]
    fn a_port_held_by_another_service_is_a_conflict_naming_it() {
        let held = BTreeMap::from([(
            "leaf1".to_string(),
            (
                "eos".to_string(),
                Fragments::from([
                    (
                        "AccessPorts.tenant-a.web".to_string(),
                        "interface Ethernet1\n   switchport access vlan 10\n".to_string(),
                    ),
                    (
                        "AccessPorts.tenant-a.db".to_string(),
                        "interface Ethernet3\n   shutdown\n".to_string(),
                    ),
                ]),
            ),
        )]);
        let mine = [cli(
            "leaf1",
            "interface ethernet1\n   no shutdown\ninterface Ethernet2\n   no shutdown\n",
        )];
        let found = conflicts("AccessPorts.tenant-a.new", &mine, &held);
        assert_eq!(
            found,
            [Conflict {
                device: "leaf1".into(),
                port: "ethernet1".into(),
                holder: "AccessPorts tenant-a/web".into(),
            }]
        );
        assert_eq!(
            describe(&found),
            "port ethernet1 on device leaf1 is held by AccessPorts tenant-a/web"
        );
        // Its own applied config is no conflict (an update of the same service).
        assert!(
            conflicts(
                "AccessPorts.tenant-a.web",
                &[cli("leaf1", "interface Ethernet1\n")],
                &held
            )
            .is_empty()
        );
        // Another device: nothing held there.
        assert!(conflicts("X.t.n", &[cli("leaf2", "interface Ethernet1\n")], &held).is_empty());
    }
}
