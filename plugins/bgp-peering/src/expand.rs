//! The canonical (expanded) `BgpPeering` spec: defaults filled, neighbours sorted, stable key order.

use serde::Serialize;

use crate::prefix_list::PrefixList;
use crate::spec::BgpSpec;

/// The expanded spec; field order here is the key order of the JSON.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Expanded<'a> {
    device: &'a str,
    local_asn: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    router_id: Option<String>,
    neighbors: Vec<Neighbor<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix_list: Option<List<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Neighbor<'a> {
    address: String,
    remote_asn: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct List<'a> {
    name: &'a str,
    direction: &'static str,
    entries: Vec<Entry>,
}

#[derive(Debug, Serialize)]
struct Entry {
    seq: u32,
    prefix: String,
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ge: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    le: Option<u8>,
}

fn list(l: &PrefixList) -> List<'_> {
    List {
        name: &l.name,
        direction: l.direction.as_str(),
        entries: l
            .entries
            .iter()
            .map(|e| Entry {
                seq: e.seq,
                prefix: e.prefix.to_string(),
                action: e.action.as_str(),
                ge: e.ge,
                le: e.le,
            })
            .collect(),
    }
}

/// Writes the expanded spec as compact JSON. Parsing the result and writing
/// it again gives the same bytes.
#[must_use]
pub fn to_json(spec: &BgpSpec) -> String {
    let expanded = Expanded {
        device: &spec.device,
        local_asn: spec.local_asn,
        router_id: spec.router_id.map(|a| a.to_string()),
        neighbors: spec
            .neighbors
            .iter()
            .map(|n| Neighbor {
                address: n.address.to_string(),
                remote_asn: n.remote_asn,
                description: n.description.as_deref(),
            })
            .collect(),
        prefix_list: spec.prefix_list.as_ref().map(list),
    };
    serde_json::to_string(&expanded).unwrap_or_else(|_| String::from("{}"))
}
