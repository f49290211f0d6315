//! The canonical (expanded) `AccessPorts` spec: explicit ports, defaults filled, stable key order.

use serde::Serialize;
use serde_json::Value;

use crate::spec::AccessSpec;
use crate::vlans;

/// The expanded spec; field order here is the key order of the JSON.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Expanded<'a> {
    device: &'a str,
    ports: Vec<&'a str>,
    vlan: u16,
    mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    trunk_allowed_vlans: Option<Vec<Value>>,
    description: &'a str,
    enabled: bool,
}

/// Writes the expanded spec as compact JSON. Parsing the result and writing
/// it again gives the same bytes.
#[must_use]
pub fn to_json(spec: &AccessSpec) -> String {
    let expanded = Expanded {
        device: &spec.device,
        ports: spec.ports.iter().map(|p| p.name.as_str()).collect(),
        vlan: spec.vlan,
        mode: spec.mode.as_str(),
        trunk_allowed_vlans: spec.trunk_allowed.as_deref().map(vlans::to_json),
        description: &spec.description,
        enabled: spec.enabled,
    };
    serde_json::to_string(&expanded).unwrap_or_else(|_| String::from("{}"))
}
