//! Rendering AccessPorts through the host's templates, for every platform.

mod common;

use common::render;
use naas_plugin_sdk::ConfigFormat;
use serde_json::json;

#[test]
fn renders_eos_access_ports() {
    let out = render(&json!({"device": "leaf1", "ports": "Ethernet2,Ethernet1", "vlan": 10, "description": "web"})).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].device, "leaf1");
    assert_eq!(out[0].format, ConfigFormat::Cli);
    assert_eq!(
        out[0].text,
        "! naas AccessPorts tenant-a/web
interface Ethernet1
   description web
   switchport mode access
   switchport access vlan 10
   no shutdown
!
interface Ethernet2
   description web
   switchport mode access
   switchport access vlan 10
   no shutdown
!
"
    );
}

#[test]
fn renders_eos_trunk_shut_down() {
    let out = render(&json!({
        "device": "leaf1", "ports": "Ethernet1/1", "vlan": 100, "mode": "trunk",
        "trunkAllowedVlans": ["100-102", 200], "enabled": false
    }))
    .unwrap();
    assert_eq!(
        out[0].text,
        "! naas AccessPorts tenant-a/web
interface Ethernet1/1
   no description
   switchport mode trunk
   switchport trunk native vlan 100
   switchport trunk allowed vlan 100-102,200
   shutdown
!
"
    );
}

#[test]
fn renders_frr_interfaces() {
    let out =
        render(&json!({"device": "leaf2", "ports": "swp1-2", "vlan": 10, "description": "uplink"}))
            .unwrap();
    assert_eq!(out[0].format, ConfigFormat::Cli);
    assert_eq!(
        out[0].text,
        "! naas AccessPorts tenant-a/web
! vlan 10 is not managed by FRR
interface swp1
 description uplink
 no shutdown
exit
interface swp2
 description uplink
 no shutdown
exit
"
    );
    let out = render(
        &json!({"device": "leaf2", "ports": "swp3", "vlan": 10, "enabled": false, "mode": "trunk"}),
    )
    .unwrap();
    assert!(
        out[0]
            .text
            .contains("! trunk mode (allowed vlans 10) is not managed by FRR\n")
    );
    assert!(
        out[0]
            .text
            .contains("interface swp3\n no description\n shutdown\nexit\n")
    );
}

#[test]
fn renders_netconf_xml_escaped() {
    let out = render(&json!({"device": "nc1", "ports": "GigabitEthernet0/0/1", "vlan": 10, "description": "a&b <c>", "enabled": false})).unwrap();
    assert_eq!(out[0].device, "nc1");
    assert_eq!(out[0].format, ConfigFormat::NetconfXml);
    let text = &out[0].text;
    assert!(
        text.starts_with(
            "<interfaces xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\">\n  <interface>\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("<description>a&amp;b &lt;c&gt;</description>"),
        "{text}"
    );
    assert!(text.contains("<type xmlns:ianaift=\"urn:ietf:params:xml:ns:yang:iana-if-type\">ianaift:ethernetCsmacd</type>"), "{text}");
    assert!(text.contains("<enabled>false</enabled>"), "{text}");
    assert!(text.ends_with("  </interface>\n</interfaces>\n"), "{text}");
    assert_eq!(text.matches("<interface>").count(), 1);
}

#[test]
fn render_is_deterministic() {
    let spec = json!({"device": "leaf1", "ports": ["Ethernet1-4"], "vlan": 10});
    assert_eq!(render(&spec).unwrap(), render(&spec).unwrap());
}

#[test]
fn render_refuses_unsupported_platform_and_ungranted_ports() {
    let err = render(&json!({"device": "old1", "ports": "xe-0/0/1", "vlan": 10})).unwrap_err();
    assert_eq!(err[0].field, "spec.device");
    let err = render(&json!({"device": "leaf2", "ports": "swp5", "vlan": 10})).unwrap_err();
    assert_eq!(
        common::lines(&err),
        ["spec.ports[0]: swp5 on leaf2 is not granted to tenant tenant-a"]
    );
}

#[test]
fn describe_has_schema_and_platforms() {
    use naas_plugin_sdk::Plugin;
    let info = access_ports::AccessPorts::describe();
    assert_eq!(
        (
            info.name.as_str(),
            info.version.as_str(),
            info.vendor.as_str()
        ),
        ("access-ports", "0.1.0", "naas")
    );
    assert_eq!(info.platforms, ["eos", "frr", "netconf"]);
    let kind = &info.kinds[0];
    assert_eq!(
        (
            kind.group.as_str(),
            kind.version.as_str(),
            kind.kind.as_str(),
            kind.plural.as_str()
        ),
        ("network.naas.io", "v1alpha1", "AccessPorts", "accessports")
    );
    let schema: serde_json::Value = serde_json::from_str(&kind.spec_schema).unwrap();
    assert_eq!(schema["required"], json!(["device", "ports", "vlan"]));
    assert_eq!(schema["properties"]["vlan"]["maximum"], json!(4094));
    assert_eq!(
        schema["properties"]["mode"]["enum"],
        json!(["access", "trunk"])
    );
    for field in access_ports::spec::FIELDS {
        assert!(
            schema["properties"][field]["description"].is_string(),
            "{field}"
        );
    }
}
