//! Expansion of AccessPorts specs: explicit ports, defaults, stable output, idempotency.

mod common;

use common::expand;
use serde_json::{Value, json};

fn twice(spec: &Value) -> String {
    let once = expand(spec).unwrap();
    let again = expand(&serde_json::from_str(&once).unwrap()).unwrap();
    assert_eq!(once, again, "expand is not idempotent");
    once
}

#[test]
fn expands_ranges_and_fills_defaults() {
    assert_eq!(
        twice(&json!({"device": "leaf1", "ports": "Ethernet10,Ethernet2,Ethernet1-3", "vlan": 10})),
        r#"{"device":"leaf1","ports":["Ethernet1","Ethernet2","Ethernet3","Ethernet10"],"vlan":10,"mode":"access","description":"","enabled":true}"#
    );
}

#[test]
fn canonicalises_trunk_vlans() {
    assert_eq!(
        twice(&json!({
            "enabled": false, "description": "db", "trunkAllowedVlans": [300, "100-105", 106, "200"],
            "mode": "trunk", "vlan": 100, "ports": ["Ethernet1/2", "Ethernet1/1-2"], "device": "leaf1"
        })),
        r#"{"device":"leaf1","ports":["Ethernet1/1","Ethernet1/2"],"vlan":100,"mode":"trunk","trunkAllowedVlans":["100-106",200,300],"description":"db","enabled":false}"#
    );
}

#[test]
fn trunk_defaults_to_the_native_vlan() {
    let out: Value = serde_json::from_str(&twice(&json!({
        "device": "leaf1", "ports": "Ethernet1", "vlan": 42, "mode": "trunk"
    })))
    .unwrap();
    assert_eq!(out["trunkAllowedVlans"], json!([42]));
}

#[test]
fn is_idempotent_on_many_inputs() {
    for ports in [
        json!("Ethernet1"),
        json!(["Ethernet4", "Ethernet4", "Ethernet1-4"]),
        json!("Ethernet1/1-4,Ethernet1/3"),
    ] {
        twice(
            &json!({"device": "leaf1", "ports": ports, "vlan": 1, "description": "a \"quoted\" <x>"}),
        );
    }
}

#[test]
fn refuses_invalid_specs() {
    let err = expand(&json!({"device": "leaf1", "ports": "Ethernet", "vlan": 10})).unwrap_err();
    assert_eq!(err[0].field, "spec.ports");
}
