//! Parsing and checking an `AccessPorts` spec, collecting every violation with its field path.

use serde_json::{Map, Value};

use naas_plugin_sdk::spec::{Fields, Violations, check_line, describe, parse_spec};
use naas_plugin_sdk::{Context, Device, Violation, expand_list, natural_cmp};

use crate::PLATFORMS;
use crate::vlans::{self, VLAN_MAX, VLAN_MIN, VlanRanges};

/// The fields an `AccessPorts` spec may have.
pub const FIELDS: [&str; 7] = [
    "device",
    "ports",
    "vlan",
    "description",
    "mode",
    "trunkAllowedVlans",
    "enabled",
];
/// The longest description (EOS's limit).
pub const MAX_DESCRIPTION: usize = 240;
/// The most ports one service may configure.
pub const MAX_PORTS: usize = 4096;

/// How the ports carry the VLAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Untagged, in `vlan`.
    Access,
    /// Tagged; `vlan` is the native (untagged) VLAN.
    Trunk,
}

impl Mode {
    /// The spelling in the spec.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Trunk => "trunk",
        }
    }
}

/// One port of the service and the field it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Port name, e.g. `Ethernet3`.
    pub name: String,
    /// Where it was written: `spec.ports` or `spec.ports[i]`.
    pub field: String,
}

/// A parsed `AccessPorts` spec, with defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessSpec {
    /// Device name.
    pub device: String,
    /// Ports, sorted naturally, without duplicates.
    pub ports: Vec<Port>,
    /// Access VLAN, or native VLAN in trunk mode.
    pub vlan: u16,
    /// Interface description (may be empty).
    pub description: String,
    /// Access or trunk.
    pub mode: Mode,
    /// VLANs allowed on a trunk (`Some` exactly in trunk mode).
    pub trunk_allowed: Option<VlanRanges>,
    /// Administrative state.
    pub enabled: bool,
}

/// Parses `spec.ports`; returns the valid ports even when some items are bad.
fn parse_ports(value: &Value, errs: &mut Violations) -> Vec<Port> {
    let items: Vec<(String, &str)> = match value {
        Value::String(s) => vec![("spec.ports".to_string(), s.as_str())],
        Value::Array(list) if list.is_empty() => {
            errs.push(
                "spec.ports",
                "spec.ports must list at least one port, e.g. \"Ethernet1-4\"",
            );
            return Vec::new();
        }
        Value::Array(list) => {
            let mut items = Vec::with_capacity(list.len());
            for (i, item) in list.iter().enumerate() {
                match item.as_str() {
                    Some(s) => items.push((format!("spec.ports[{i}]"), s)),
                    None => errs.push(
                        format!("spec.ports[{i}]"),
                        format!(
                            "spec.ports[{i}] must be a port name or range such as \"Ethernet1-4\", got {}",
                            describe(item)
                        ),
                    ),
                }
            }
            items
        }
        other => {
            errs.push(
                "spec.ports",
                format!(
                    "spec.ports must be a string such as \"Ethernet1-4,Ethernet7\" or a list of such strings, got {}",
                    describe(other)
                ),
            );
            return Vec::new();
        }
    };
    let mut ports = Vec::new();
    for (field, text) in items {
        match expand_list(text) {
            Ok(names) => ports.extend(names.into_iter().map(|name| Port {
                name,
                field: field.clone(),
            })),
            Err(e) => errs.push(field, format!("{e}")),
        }
        if ports.len() > MAX_PORTS {
            errs.push(
                "spec.ports",
                format!("spec.ports names more than {MAX_PORTS} ports; split the service"),
            );
            return Vec::new();
        }
    }
    ports.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    ports.dedup_by(|later, first| later.name == first.name);
    ports
}

/// The fields of a spec that could be read, and the violations found.
struct Parts<'a> {
    device: Option<&'a str>,
    ports: Vec<Port>,
    vlan: Option<u16>,
    description: &'a str,
    mode: Mode,
    allowed: Option<VlanRanges>,
    enabled: bool,
    errs: Violations,
}

impl Parts<'_> {
    /// The spec, when nothing was wrong.
    fn build(self) -> Result<AccessSpec, Vec<Violation>> {
        match (self.device, self.vlan) {
            (Some(device), Some(vlan)) if self.errs.is_empty() && !self.ports.is_empty() => {
                let trunk_allowed = match self.mode {
                    Mode::Trunk => Some(self.allowed.unwrap_or_else(|| vec![(vlan, vlan)])),
                    Mode::Access => None,
                };
                Ok(AccessSpec {
                    device: device.to_string(),
                    ports: self.ports,
                    vlan,
                    description: self.description.to_string(),
                    mode: self.mode,
                    trunk_allowed,
                    enabled: self.enabled,
                })
            }
            _ => {
                let mut errs = self.errs.into_vec();
                if errs.is_empty() {
                    errs.push(Violation::new("spec", "spec is incomplete"));
                }
                Err(errs)
            }
        }
    }
}

fn parse_parts(map: &Map<String, Value>) -> Parts<'_> {
    let f = Fields::new(map, "spec");
    let mut errs = Violations::new();
    f.reject_unknown(&FIELDS, &mut errs);

    let device = f.required_string(
        "device",
        "the name of a device granted to the tenant, e.g. leaf1",
        &mut errs,
    );
    let ports = match f.get("ports") {
        Some(v) => parse_ports(v, &mut errs),
        None => {
            errs.push(
                "spec.ports",
                "spec.ports is required: set it to ports such as \"Ethernet1-4,Ethernet7\"",
            );
            Vec::new()
        }
    };
    let vlan = f
        .required_integer("vlan", VLAN_MIN.into(), VLAN_MAX.into(), &mut errs)
        .and_then(|v| u16::try_from(v).ok());
    let description = f.string("description", &mut errs).unwrap_or_default();
    check_line("spec.description", description, MAX_DESCRIPTION, &mut errs);
    let mode = match f.choice("mode", &["access", "trunk"], &mut errs) {
        Some("trunk") => Mode::Trunk,
        _ => Mode::Access,
    };
    let allowed = f
        .array("trunkAllowedVlans", &mut errs)
        .and_then(|items| vlans::parse_list("spec.trunkAllowedVlans", items, &mut errs));
    if mode == Mode::Access && f.get("trunkAllowedVlans").is_some() {
        errs.push(
            "spec.trunkAllowedVlans",
            "spec.trunkAllowedVlans is only allowed with mode trunk; remove it or set spec.mode to \"trunk\"",
        );
    }
    let enabled = f.boolean("enabled", &mut errs).unwrap_or(true);
    Parts {
        device,
        ports,
        vlan,
        description,
        mode,
        allowed,
        enabled,
        errs,
    }
}

/// Parses `spec` (JSON text) without looking at the context.
///
/// # Errors
/// Every violation found: unknown fields, wrong types, missing fields, bad
/// ports or VLANs, a bad description.
pub fn parse(spec: &str) -> Result<AccessSpec, Vec<Violation>> {
    let map = parse_spec(spec)?;
    parse_parts(&map).build()
}

/// Checks the device and ports against the tenant's grants, recording
/// violations; returns the device when it is granted.
///
/// The device must be granted and of a supported platform; every port must
/// be granted on it (one violation per port).
pub fn check_grants<'c>(
    device: &str,
    ports: &[Port],
    context: &'c Context,
    errs: &mut Violations,
) -> Option<&'c Device> {
    let tenant = &context.tenant;
    let Some(found) = context.device(device) else {
        errs.push(
            "spec.device",
            format!("device {device} is not granted to tenant {tenant}"),
        );
        return None;
    };
    if !PLATFORMS.contains(&found.platform.as_str()) {
        errs.extend([naas_plugin_sdk::render::unsupported_platform(
            "access-ports",
            found,
            &PLATFORMS,
        )]);
    }
    for port in ports {
        if !found.has_port(&port.name) {
            errs.push(
                port.field.clone(),
                format!(
                    "{} on {} is not granted to tenant {tenant}",
                    port.name, found.name
                ),
            );
        }
    }
    Some(found)
}

/// Parses `spec` and checks it against the context, reporting every
/// violation: the grants are checked even when other fields are wrong.
///
/// # Errors
/// Every violation of [`parse`] and of [`check_grants`].
pub fn check<'c>(
    spec: &str,
    context: &'c Context,
) -> Result<(AccessSpec, &'c Device), Vec<Violation>> {
    let map = parse_spec(spec)?;
    let mut parts = parse_parts(&map);
    let device = match parts.device {
        Some(name) => check_grants(name, &parts.ports, context, &mut parts.errs),
        None => None,
    };
    let spec = parts.build()?;
    device
        .map(|d| (spec, d))
        .ok_or_else(|| vec![Violation::new("spec.device", "device not found")])
}
