//! Rendering BgpPeering through the host's templates, for FRR and EOS.

mod common;

use common::{example, render};
use naas_plugin_sdk::{ConfigFormat, Plugin};
use serde_json::json;

#[test]
fn renders_frr_vtysh_config() {
    let out = render(&example()).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].device.as_str(), out[0].format),
        ("border1", ConfigFormat::Cli)
    );
    assert_eq!(
        out[0].text,
        "! naas BgpPeering tenant-a/transit
ip prefix-list TENANT-A-TRANSIT seq 10 permit 203.0.113.0/24
ip prefix-list TENANT-A-TRANSIT seq 20 deny 10.0.0.0/8 ge 8 le 32
ipv6 prefix-list TENANT-A-TRANSIT seq 30 permit 2001:db8:100::/48 le 64
router bgp 65001
 bgp router-id 192.0.2.1
 neighbor 198.51.100.2 remote-as 65002
 neighbor 198.51.100.2 description transit A
 neighbor 2001:db8::2 remote-as 65002
 !
 address-family ipv4 unicast
  neighbor 198.51.100.2 activate
  neighbor 198.51.100.2 prefix-list TENANT-A-TRANSIT out
 exit-address-family
 !
 address-family ipv6 unicast
  neighbor 2001:db8::2 activate
  neighbor 2001:db8::2 prefix-list TENANT-A-TRANSIT out
 exit-address-family
exit
"
    );
}

#[test]
fn renders_frr_without_prefix_list_or_router_id() {
    let out = render(&json!({"device": "border1", "localAsn": 65001, "neighbors": [{"address": "10.0.0.2", "remoteAsn": 65002}]})).unwrap();
    assert_eq!(
        out[0].text,
        "! naas BgpPeering tenant-a/transit
router bgp 65001
 neighbor 10.0.0.2 remote-as 65002
 !
 address-family ipv4 unicast
  neighbor 10.0.0.2 activate
 exit-address-family
exit
"
    );
}

#[test]
fn renders_eos_config() {
    let mut spec = example();
    spec["device"] = json!("spine1");
    spec["prefixList"]["direction"] = json!("in");
    let out = render(&spec).unwrap();
    assert_eq!(out[0].device, "spine1");
    assert_eq!(
        out[0].text,
        "! naas BgpPeering tenant-a/transit
ip prefix-list TENANT-A-TRANSIT seq 10 permit 203.0.113.0/24
ip prefix-list TENANT-A-TRANSIT seq 20 deny 10.0.0.0/8 ge 8 le 32
ipv6 prefix-list TENANT-A-TRANSIT
   seq 30 permit 2001:db8:100::/48 le 64
   exit
!
router bgp 65001
   router-id 192.0.2.1
   neighbor 198.51.100.2 remote-as 65002
   neighbor 198.51.100.2 description transit A
   neighbor 2001:db8::2 remote-as 65002
   !
   address-family ipv4
      neighbor 198.51.100.2 activate
      neighbor 198.51.100.2 prefix-list TENANT-A-TRANSIT in
      exit
   !
   address-family ipv6
      neighbor 2001:db8::2 activate
      neighbor 2001:db8::2 prefix-list TENANT-A-TRANSIT in
      exit
   exit
!
"
    );
}

#[test]
fn render_is_deterministic_and_refuses_other_platforms() {
    assert_eq!(render(&example()).unwrap(), render(&example()).unwrap());
    let mut spec = example();
    spec["device"] = json!("nc1");
    let err = bgp_peering::BgpPeering::render(
        &common::service(&spec),
        &common::context(),
        &naas_plugin_sdk::testing::TestHost::new(),
    )
    .unwrap_err();
    assert_eq!(common::fields(&err), ["spec.device"]);
}

#[test]
fn describe_has_schema_and_platforms() {
    let info = bgp_peering::BgpPeering::describe();
    assert_eq!(
        (info.name.as_str(), info.vendor.as_str()),
        ("bgp-peering", "naas")
    );
    assert_eq!(info.platforms, ["frr", "eos"]);
    let kind = &info.kinds[0];
    assert_eq!(
        (kind.kind.as_str(), kind.plural.as_str()),
        ("BgpPeering", "bgppeerings")
    );
    let schema: serde_json::Value = serde_json::from_str(&kind.spec_schema).unwrap();
    assert_eq!(
        schema["required"],
        json!(["device", "localAsn", "neighbors"])
    );
    assert_eq!(
        schema["properties"]["localAsn"]["maximum"],
        json!(4_294_967_295_u64)
    );
    for field in bgp_peering::spec::FIELDS {
        assert!(
            schema["properties"][field]["description"].is_string(),
            "{field}"
        );
    }
}

#[test]
fn denies_a_family_without_entries_explicitly() {
    let mut spec = example();
    spec["prefixList"] = json!({"name": "V4-ONLY", "entries": [{"prefix": "203.0.113.0/24"}]});
    let text = &render(&spec).unwrap()[0].text;
    assert!(
        text.contains(
            "! the prefix list has no IPv6 entry: every IPv6 route is denied\n\
             ip prefix-list V4-ONLY seq 10 permit 203.0.113.0/24\n\
             ipv6 prefix-list V4-ONLY seq 10 deny ::/0 le 128\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  neighbor 2001:db8::2 prefix-list V4-ONLY out\n"),
        "{text}"
    );
}
