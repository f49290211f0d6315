//! Validation of AccessPorts specs: every violation, with field paths and clear messages.

mod common;

use common::{base, lines, validate};
use serde_json::json;

#[test]
fn accepts_minimal_and_full_specs() {
    validate(&base()).unwrap();
    validate(&json!({
        "device": "leaf1",
        "ports": ["Ethernet1-4", "Ethernet1/1-2"],
        "vlan": 4094,
        "description": "web servers",
        "mode": "trunk",
        "trunkAllowedVlans": [100, "200-210"],
        "enabled": false
    }))
    .unwrap();
}

#[test]
fn names_ungranted_ports_by_list_index() {
    let mut ctx = common::context("tenant-b");
    ctx.devices[0].ports = naas_plugin_sdk::expand_list("Ethernet1-10").unwrap();
    let spec = json!({"device": "leaf1", "ports": ["Ethernet1-2", "Ethernet9", "Ethernet10-11"], "vlan": 10});
    let err = <access_ports::AccessPorts as naas_plugin_sdk::Plugin>::validate(
        &common::service(&spec),
        &ctx,
        &naas_plugin_sdk::testing::TestHost::new(),
    )
    .unwrap_err();
    assert_eq!(
        lines(&err),
        ["spec.ports[2]: Ethernet11 on leaf1 is not granted to tenant tenant-b"]
    );
}

#[test]
fn names_ungranted_ports_of_a_single_string() {
    let err =
        validate(&json!({"device": "leaf1", "ports": "Ethernet9-12", "vlan": 10})).unwrap_err();
    assert_eq!(
        lines(&err),
        [
            "spec.ports: Ethernet11 on leaf1 is not granted to tenant tenant-a",
            "spec.ports: Ethernet12 on leaf1 is not granted to tenant tenant-a"
        ]
    );
}

#[test]
fn refuses_ungranted_device() {
    let err = validate(&json!({"device": "leaf9", "ports": "Ethernet1", "vlan": 10})).unwrap_err();
    assert_eq!(
        lines(&err),
        ["spec.device: device leaf9 is not granted to tenant tenant-a"]
    );
}

#[test]
fn refuses_unsupported_platform_naming_supported_ones() {
    let err = validate(&json!({"device": "old1", "ports": "xe-0/0/1", "vlan": 10})).unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].field, "spec.device");
    assert!(err[0].message.contains("\"junos\""), "{}", err[0]);
    assert!(err[0].message.contains("eos, frr, netconf"), "{}", err[0]);
}

#[test]
fn reports_every_violation_at_once() {
    let err = validate(&json!({
        "ports": ["Ethernet1", 7, "Ethernet4-1", ""],
        "vlan": 4095,
        "description": "two\nlines",
        "mode": "hybrid",
        "enabled": "yes",
        "speed": "10g"
    }))
    .unwrap_err();
    let fields: Vec<_> = err.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "spec.speed",
            "spec.device",
            "spec.ports[1]",
            "spec.ports[2]",
            "spec.ports[3]",
            "spec.vlan",
            "spec.description",
            "spec.mode",
            "spec.enabled"
        ],
        "{err:#?}"
    );
    let text = lines(&err).join("\n");
    assert!(text.contains("unknown field \"speed\""), "{text}");
    assert!(text.contains("spec.device is required"), "{text}");
    assert!(text.contains("reversed"), "{text}");
    assert!(
        text.contains("from 1 to 4094, got the number 4095"),
        "{text}"
    );
    assert!(
        text.contains("one of access, trunk, got the string \"hybrid\""),
        "{text}"
    );
    assert!(text.contains("true or false"), "{text}");
}

#[test]
fn refuses_wrong_types_without_panicking() {
    for spec in [
        json!(null),
        json!([]),
        json!("x"),
        json!({"device": 1, "ports": {"a": 1}, "vlan": "10"}),
        json!({"device": "leaf1", "ports": [], "vlan": 1.5}),
        json!({"device": "leaf1", "ports": null, "vlan": -3}),
        json!({"device": "leaf1", "ports": "Ethernet1-99999999999999999999", "vlan": 1}),
        json!({"device": "leaf1", "ports": "Ethernet1", "vlan": 1, "trunkAllowedVlans": "1-3"}),
    ] {
        let err = validate(&spec).unwrap_err();
        assert!(err.iter().all(|v| v.field.starts_with("spec")), "{err:?}");
    }
}

#[test]
fn refuses_trunk_vlans_in_access_mode_and_bad_items() {
    let err = validate(&json!({
        "device": "leaf1", "ports": "Ethernet1", "vlan": 10, "trunkAllowedVlans": [10]
    }))
    .unwrap_err();
    assert_eq!(err[0].field, "spec.trunkAllowedVlans");
    assert!(err[0].message.contains("only allowed with mode trunk"));

    let err = validate(&json!({
        "device": "leaf1", "ports": "Ethernet1", "vlan": 10, "mode": "trunk",
        "trunkAllowedVlans": [10, "30-20", 5000]
    }))
    .unwrap_err();
    let fields: Vec<_> = err.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(
        fields,
        ["spec.trunkAllowedVlans[1]", "spec.trunkAllowedVlans[2]"]
    );
}

#[test]
fn refuses_long_description() {
    let mut spec = base();
    spec["description"] = json!("x".repeat(241));
    let err = validate(&spec).unwrap_err();
    assert_eq!(err[0].field, "spec.description");
    spec["description"] = json!("x".repeat(240));
    validate(&spec).unwrap();
}

#[test]
fn accepts_its_own_expansion() {
    let expanded: serde_json::Value = serde_json::from_str(
        &common::expand(&json!({"device": "leaf1", "ports": "Ethernet3,Ethernet1-2", "vlan": 7, "mode": "trunk"})).unwrap(),
    )
    .unwrap();
    validate(&expanded).unwrap();
}

#[test]
fn checks_grants_even_when_other_fields_are_wrong() {
    let err = validate(&json!({"device": "old1", "ports": "ge-0/0/1-2", "vlan": 20})).unwrap_err();
    assert_eq!(
        err.iter().map(|v| v.field.as_str()).collect::<Vec<_>>(),
        ["spec.ports", "spec.device"],
        "{err:#?}"
    );
    let err = validate(
        &json!({"device": "leaf1", "ports": ["Ethernet9-11", "Ethernet4-1"], "vlan": 5000}),
    )
    .unwrap_err();
    assert_eq!(
        lines(&err),
        [
            "spec.ports[1]: invalid port \"Ethernet4-1\": range is reversed (4 > 1); write the lower bound first",
            "spec.vlan: spec.vlan must be a whole number from 1 to 4094, got the number 5000",
            "spec.ports[0]: Ethernet11 on leaf1 is not granted to tenant tenant-a"
        ]
    );
}
