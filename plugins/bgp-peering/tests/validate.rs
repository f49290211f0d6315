//! Validation of BgpPeering specs: every violation, with field paths and clear messages.

mod common;

use common::{example, fields, lines, validate};
use serde_json::json;

#[test]
fn accepts_the_example_and_a_minimal_spec() {
    validate(&example()).unwrap();
    validate(&json!({"device": "spine1", "localAsn": 4_294_967_295_u64, "neighbors": [{"address": "10.0.0.1", "remoteAsn": 1}]}))
        .unwrap();
}

#[test]
fn refuses_ungranted_device_and_unsupported_platform() {
    let mut spec = example();
    spec["device"] = json!("border9");
    assert_eq!(
        lines(&validate(&spec).unwrap_err()),
        ["spec.device: device border9 is not granted to tenant tenant-a"]
    );
    spec["device"] = json!("nc1");
    let err = validate(&spec).unwrap_err();
    assert!(
        err[0].message.contains("supported platforms: frr, eos"),
        "{}",
        err[0]
    );
}

#[test]
fn refuses_bad_asns_addresses_and_router_id() {
    let err = validate(&json!({
        "device": "border1",
        "localAsn": 0,
        "routerId": "2001:db8::1",
        "neighbors": [
            {"address": "10.0.0.300", "remoteAsn": 4_294_967_296_u64},
            {"address": "fe80::1", "remoteAsn": "65000"},
            {"remoteAsn": 65000, "password": "x"}
        ]
    }))
    .unwrap_err();
    assert_eq!(
        fields(&err),
        [
            "spec.localAsn",
            "spec.routerId",
            "spec.neighbors[0].address",
            "spec.neighbors[0].remoteAsn",
            "spec.neighbors[1].address",
            "spec.neighbors[1].remoteAsn",
            "spec.neighbors[2].password",
            "spec.neighbors[2].address"
        ],
        "{err:#?}"
    );
    let text = lines(&err).join("\n");
    assert!(
        text.contains(
            "spec.localAsn must be a whole number from 1 to 4294967295, got the number 0"
        ),
        "{text}"
    );
    assert!(
        text.contains("\"10.0.0.300\" is not an IPv4 or IPv6 address"),
        "{text}"
    );
    assert!(text.contains("fe80::1 cannot be a BGP neighbor"), "{text}");
}

#[test]
fn refuses_duplicate_neighbors_even_if_spelled_differently() {
    let err = validate(&json!({
        "device": "border1", "localAsn": 65001,
        "neighbors": [
            {"address": "2001:db8::2", "remoteAsn": 65002},
            {"address": "10.0.0.1", "remoteAsn": 65002},
            {"address": "2001:DB8:0::2", "remoteAsn": 65003}
        ]
    }))
    .unwrap_err();
    assert_eq!(
        lines(&err),
        [
            "spec.neighbors[2].address: duplicate neighbor 2001:db8::2: already at spec.neighbors[0]; remove one"
        ]
    );
}

#[test]
fn checks_prefix_bounds_and_host_bits() {
    let mut spec = example();
    spec["prefixList"] = json!({
        "name": "bad name",
        "direction": "both",
        "entries": [
            {"prefix": "10.0.0.1/8"},
            {"prefix": "10.0.0.0/16", "ge": 8},
            {"prefix": "10.0.0.0/16", "ge": 24, "le": 20},
            {"prefix": "10.0.0.0/16", "le": 33},
            {"prefix": "2001:db8::/32", "ge": 129, "action": "allow"},
            {"prefix": "2001:db8::/32", "ge": 48, "le": 128}
        ]
    });
    let err = validate(&spec).unwrap_err();
    assert_eq!(
        fields(&err),
        [
            "spec.prefixList.name",
            "spec.prefixList.direction",
            "spec.prefixList.entries[0].prefix",
            "spec.prefixList.entries[1].ge",
            "spec.prefixList.entries[2].le",
            "spec.prefixList.entries[3].le",
            "spec.prefixList.entries[4].action",
            "spec.prefixList.entries[4].ge"
        ],
        "{err:#?}"
    );
    let text = lines(&err).join("\n");
    assert!(text.contains("write the network 10.0.0.0/8"), "{text}");
    assert!(
        text.contains("(8) must be from the prefix length 16 of 10.0.0.0/16 to 32"),
        "{text}"
    );
    assert!(
        text.contains("(20) must not be less than ge (24)"),
        "{text}"
    );
    assert!(
        text.contains("(33) must be from the prefix length 16 of 10.0.0.0/16 to 32"),
        "{text}"
    );
}

#[test]
fn seq_is_all_or_nothing_and_increasing() {
    let mut spec = example();
    spec["prefixList"] =
        json!({"entries": [{"prefix": "10.0.0.0/8", "seq": 5}, {"prefix": "::/0"}]});
    let err = validate(&spec).unwrap_err();
    assert!(err[0].message.contains("every entry or on none"), "{err:?}");
    spec["prefixList"] =
        json!({"entries": [{"prefix": "10.0.0.0/8", "seq": 5}, {"prefix": "::/0", "seq": 5}]});
    assert_eq!(
        fields(&validate(&spec).unwrap_err()),
        ["spec.prefixList.entries[1].seq"]
    );
}

#[test]
fn refuses_wrong_types_without_panicking() {
    for spec in [
        json!(null),
        json!(42),
        json!({}),
        json!({"device": ["x"], "localAsn": -1, "neighbors": {}, "prefixList": []}),
        json!({"device": "border1", "localAsn": 1.5, "neighbors": [], "routerId": 7}),
        json!({"device": "border1", "localAsn": 1, "neighbors": [1, null, "x"]}),
        json!({"device": "border1", "localAsn": 1, "neighbors": [{"address": "10.0.0.1", "remoteAsn": 2}],
               "prefixList": {"entries": [7, {"prefix": 3}, {"prefix": "1.2.3.0/24", "ge": "x"}]}}),
        json!({"device": "border1", "localAsn": 1, "neighbors": [{"address": "10.0.0.1", "remoteAsn": 2}],
               "prefixList": {"entries": []}}),
        json!({"device": "border1", "localAsn": 1, "neighbors": [{"address": "10.0.0.1", "remoteAsn": 2}],
               "prefixList": {}}),
    ] {
        let err = validate(&spec).unwrap_err();
        assert!(
            !err.is_empty() && err.iter().all(|v| v.field.starts_with("spec")),
            "{err:?}"
        );
    }
}

#[test]
fn checks_the_device_even_when_other_fields_are_wrong() {
    let err = validate(&json!({"device": "nc1", "localAsn": 0, "neighbors": [{"address": "10.0.0.1", "remoteAsn": 2}]}))
        .unwrap_err();
    assert_eq!(fields(&err), ["spec.localAsn", "spec.device"]);
}

#[test]
fn finds_duplicates_among_neighbors_with_other_errors() {
    let err = validate(&json!({
        "device": "border1", "localAsn": 65001,
        "neighbors": [{"address": "192.0.2.1", "remoteAsn": 0}, {"address": "192.0.2.1", "remoteAsn": 65002}]
    }))
    .unwrap_err();
    assert_eq!(
        fields(&err),
        ["spec.neighbors[0].remoteAsn", "spec.neighbors[1].address"]
    );
}
