//! Expansion of BgpPeering specs: defaults, sorted neighbours, sequence numbers, idempotency.

mod common;

use common::{example, expand};
use serde_json::{Value, json};

fn twice(spec: &Value) -> String {
    let once = expand(spec).unwrap();
    let again = expand(&serde_json::from_str(&once).unwrap()).unwrap();
    assert_eq!(once, again, "expand is not idempotent");
    once
}

#[test]
fn fills_defaults_sorts_neighbors_and_numbers_entries() {
    let out: Value = serde_json::from_str(&twice(&example())).unwrap();
    assert_eq!(
        out,
        json!({
            "device": "border1",
            "localAsn": 65001,
            "routerId": "192.0.2.1",
            "neighbors": [
                {"address": "198.51.100.2", "remoteAsn": 65002, "description": "transit A"},
                {"address": "2001:db8::2", "remoteAsn": 65002}
            ],
            "prefixList": {
                "name": "TENANT-A-TRANSIT",
                "direction": "out",
                "entries": [
                    {"seq": 10, "prefix": "203.0.113.0/24", "action": "permit"},
                    {"seq": 20, "prefix": "10.0.0.0/8", "action": "deny", "ge": 8, "le": 32},
                    {"seq": 30, "prefix": "2001:db8:100::/48", "action": "permit", "le": 64}
                ]
            }
        })
    );
}

#[test]
fn output_has_a_stable_key_order() {
    let out = twice(
        &json!({"neighbors": [{"remoteAsn": 2, "address": "10.0.0.2"}], "localAsn": 1, "device": "border1"}),
    );
    assert_eq!(
        out,
        r#"{"device":"border1","localAsn":1,"neighbors":[{"address":"10.0.0.2","remoteAsn":2}]}"#
    );
}

#[test]
fn keeps_given_names_directions_and_seqs_and_canonicalises_addresses() {
    let out: Value = serde_json::from_str(&twice(&json!({
        "device": "spine1", "localAsn": 65001,
        "neighbors": [{"address": "2001:DB8:0:0::9", "remoteAsn": 65009}, {"address": "10.0.0.9", "remoteAsn": 65009}],
        "prefixList": {"name": "edge-out", "direction": "in", "entries": [
            {"seq": 5, "prefix": "10.0.0.0/8"}, {"seq": 7, "prefix": "2001:DB8::/32"}
        ]}
    })))
    .unwrap();
    assert_eq!(out["neighbors"][0]["address"], "10.0.0.9");
    assert_eq!(out["neighbors"][1]["address"], "2001:db8::9");
    assert_eq!(out["prefixList"]["name"], "edge-out");
    assert_eq!(out["prefixList"]["direction"], "in");
    assert_eq!(
        out["prefixList"]["entries"][1],
        json!({"seq": 7, "prefix": "2001:db8::/32", "action": "permit"})
    );
}

#[test]
fn refuses_invalid_specs() {
    let err =
        expand(&json!({"device": "border1", "localAsn": 65001, "neighbors": []})).unwrap_err();
    assert_eq!(common::fields(&err), ["spec.neighbors"]);
}
