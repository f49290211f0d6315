//! Unit tests of the config tree, remediation, rollback, future and scoped remediation.

use super::*;

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn lineages(text: &str, p: &Platform) -> std::collections::BTreeSet<Vec<String>> {
    ConfigTree::parse(text, p).unwrap().root.lineages()
}

/// The full remediation, checked against `expected`, and its future against `intended`.
fn check(running: &str, intended: &str, p: &Platform, expected: &[&str]) {
    let rem = remediation(running, intended, p).unwrap();
    assert_eq!(rem, lines(expected));
    let fut = future(running, &rem, p).unwrap();
    assert_eq!(lineages(&fut, p), lineages(intended, p), "future:\n{fut}");
    let back = rollback(running, intended, p).unwrap();
    let restored = future(&fut, &back, p).unwrap();
    assert_eq!(
        lineages(&restored, p),
        lineages(running, p),
        "rollback:\n{restored}"
    );
}

#[test]
fn parses_by_indentation_skipping_comments_and_banners() {
    let text = "Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\nfrr defaults traditional\n!\nhostname r1\n\nrouter bgp 1\n neighbor a remote-as 2\n !\n address-family ipv4 unicast\n  network 10.0.0.0/8\n exit-address-family\nexit\nend\n";
    let t = ConfigTree::parse(text, &FRR).unwrap();
    assert_eq!(
        t.root.lines(1),
        lines(&[
            "hostname r1",
            "router bgp 1",
            " neighbor a remote-as 2",
            " address-family ipv4 unicast",
            "  network 10.0.0.0/8",
        ])
    );
}

#[test]
fn inconsistent_indentation_names_the_line() {
    let err = ConfigTree::parse("router bgp 1\n   neighbor a\n  neighbor b\n", &EOS).unwrap_err();
    assert_eq!(
        err,
        ConfigTreeError::InconsistentIndent {
            line: 3,
            found: 2,
            expected: 3
        }
    );
    assert!(err.to_string().contains("config line 3"));
    let err = ConfigTree::parse("interface a\n\tshutdown\n", &EOS).unwrap_err();
    assert_eq!(err, ConfigTreeError::TabIndent { line: 2 });
}

#[test]
fn adds_and_removes_top_level_lines() {
    check(
        "ip routing\nntp server 1.1.1.1\n",
        "ip routing\nntp server 2.2.2.2\n",
        &EOS,
        &["no ntp server 1.1.1.1", "ntp server 2.2.2.2"],
    );
}

#[test]
fn changes_inside_a_section_enter_it() {
    check(
        "interface Ethernet1\n   shutdown\n   mtu 9000\n",
        "interface Ethernet1\n   mtu 9000\n   spanning-tree portfast\n",
        &EOS,
        &[
            "interface Ethernet1",
            "   no shutdown",
            "   spanning-tree portfast",
        ],
    );
}

#[test]
fn nested_sections_exit_where_the_platform_needs_it() {
    let running = "router bgp 65000\n neighbor 10.0.0.2 remote-as 65001\n address-family ipv4 unicast\n  neighbor 10.0.0.2 activate\n exit-address-family\nexit\n";
    let intended = "router bgp 65000\n neighbor 10.0.0.2 remote-as 65001\n neighbor 10.0.0.3 remote-as 65003\n address-family ipv4 unicast\n  neighbor 10.0.0.2 activate\n  neighbor 10.0.0.3 activate\n exit-address-family\n";
    check(
        running,
        intended,
        &FRR,
        &[
            "router bgp 65000",
            " neighbor 10.0.0.3 remote-as 65003",
            " address-family ipv4 unicast",
            "  neighbor 10.0.0.3 activate",
            " exit-address-family",
        ],
    );
}

#[test]
fn a_section_that_goes_away_is_negated_whole() {
    check(
        "interface Ethernet2\n   description x\n   shutdown\nhostname a\n",
        "hostname a\n",
        &EOS,
        &["no interface Ethernet2"],
    );
}

#[test]
fn idempotent_settings_are_set_anew() {
    check(
        "hostname a\ninterface Ethernet1\n   description old\n   switchport access vlan 10\nrouter bgp 1\n   router-id 1.1.1.1\n   neighbor 10.0.0.2 description x\n",
        "hostname b\ninterface Ethernet1\n   description new\n   switchport access vlan 20\nrouter bgp 1\n   router-id 2.2.2.2\n   neighbor 10.0.0.2 description y\n",
        &EOS,
        &[
            "hostname b",
            "interface Ethernet1",
            "   description new",
            "   switchport access vlan 20",
            "router bgp 1",
            "   router-id 2.2.2.2",
            "   neighbor 10.0.0.2 description y",
        ],
    );
}

#[test]
fn a_no_line_is_negated_by_dropping_its_no() {
    let rem = remediation("no ip routing\nhostname a\n", "hostname a\n", &EOS).unwrap();
    assert_eq!(rem, lines(&["ip routing"]));
    // The device then shows the positive line: an intended config that has
    // neither line does not say which one the device prints.
    let fut = future("no ip routing\nhostname a\n", &rem, &EOS).unwrap();
    assert_eq!(fut, "hostname a\nip routing\n");
    let running = "interface Ethernet1\n   no switchport\n";
    let rem = remediation(running, "interface Ethernet1\n   switchport\n", &EOS).unwrap();
    assert_eq!(rem, lines(&["interface Ethernet1", "   switchport"]));
    let fut = future(running, &rem, &EOS).unwrap();
    assert_eq!(fut, "interface Ethernet1\n   switchport\n");
}

#[test]
fn objects_go_before_their_users_and_their_negations_after() {
    let running =
        "ip prefix-list OLD seq 5 permit 10.0.0.0/8\nrouter bgp 1\n neighbor a route-map OLD in\n";
    let intended = "router bgp 1\n neighbor a route-map NEW in\nroute-map NEW permit 10\n match ip address prefix-list NEW\nip prefix-list NEW seq 5 permit 10.0.0.0/8\n";
    check(
        running,
        intended,
        &FRR,
        &[
            "ip prefix-list NEW seq 5 permit 10.0.0.0/8",
            "route-map NEW permit 10",
            " match ip address prefix-list NEW",
            "router bgp 1",
            " no neighbor a route-map OLD in",
            " neighbor a route-map NEW in",
            "no ip prefix-list OLD seq 5 permit 10.0.0.0/8",
        ],
    );
}

#[test]
fn no_change_gives_no_commands() {
    let cfg = "hostname a\nrouter bgp 1\n   address-family ipv4\n      network 10.0.0.0/8\n";
    assert!(remediation(cfg, cfg, &EOS).unwrap().is_empty());
}

#[test]
fn scoped_remediation_never_touches_foreign_lines() {
    // The device has lines no service rendered: ntp, Ethernet9, a foreign
    // description line under a section naas also configures.
    let running = "ntp server 9.9.9.9\ninterface Ethernet9\n   shutdown\ninterface Ethernet1\n   description web\n   switchport access vlan 10\n   storm-control broadcast level 1\ninterface Ethernet2\n   switchport access vlan 10\nvlan 10\n   name web\n";
    let old = "vlan 10\n   name web\ninterface Ethernet1\n   description web\n   switchport access vlan 10\ninterface Ethernet2\n   switchport access vlan 10\n";
    let new = "vlan 20\n   name app\ninterface Ethernet1\n   switchport access vlan 20\n";
    let rem = remediation_scoped(running, old, new, &EOS).unwrap();
    assert_eq!(
        rem,
        lines(&[
            "vlan 20",
            "   name app",
            "interface Ethernet1",
            "   no description web",
            "   switchport access vlan 20",
            "no interface Ethernet2",
            "no vlan 10",
        ])
    );
    for foreign in ["ntp", "Ethernet9", "storm-control"] {
        assert!(
            rem.iter().all(|l| !l.contains(foreign)),
            "{foreign} touched: {rem:?}"
        );
    }
    // Lines naas applied before but already gone from the device stay gone.
    let rem = remediation_scoped("hostname a\n", old, "", &EOS).unwrap();
    assert!(rem.is_empty(), "{rem:?}");
}

#[test]
fn defaults_frr_never_shows_are_sent_once_then_taken_as_in_effect() {
    let intended = "interface swp1\n description web\n no shutdown\nrouter bgp 65001\n neighbor 192.0.2.1 remote-as 65010\n address-family ipv4 unicast\n  neighbor 192.0.2.1 activate\n exit-address-family\n";
    // First push: everything is sent.
    let rem = remediation_scoped("", "", intended, &FRR).unwrap();
    assert!(rem.contains(&" no shutdown".to_string()), "{rem:?}");
    assert!(
        rem.contains(&"  neighbor 192.0.2.1 activate".to_string()),
        "{rem:?}"
    );
    // FRR shows neither the default `no shutdown` nor an address family
    // holding only the default activation: nothing to send again.
    let running = "interface swp1\n description web\nexit\nrouter bgp 65001\n neighbor 192.0.2.1 remote-as 65010\nexit\n";
    let rem = remediation_scoped(running, intended, intended, &FRR).unwrap();
    assert!(rem.is_empty(), "{rem:?}");
    // A change sends only the change.
    let changed = intended.replace("description web", "description app");
    let rem = remediation_scoped(running, intended, &changed, &FRR).unwrap();
    assert_eq!(rem, lines(&["interface swp1", " description app"]));
    // Shut down by hand: the default is sent again.
    let shut = running.replace(" description web\n", " description web\n shutdown\n");
    let rem = remediation_scoped(&shut, intended, intended, &FRR).unwrap();
    assert_eq!(rem, lines(&["interface swp1", " no shutdown"]));
    // On EOS the same lines are shown, so never taken as in effect.
    let rem = remediation_scoped(
        "",
        "interface Ethernet1\n   no shutdown\n",
        "interface Ethernet1\n   no shutdown\n",
        &EOS,
    )
    .unwrap();
    assert!(!rem.is_empty(), "{rem:?}");
}

#[test]
fn a_bgp_neighbour_is_created_before_and_deleted_after_its_other_lines() {
    // Removing a neighbour from a BGP instance that keeps a foreign one.
    let running = "router bgp 65001\n neighbor 10.0.0.9 remote-as 65009\n neighbor 192.0.2.1 remote-as 65010\n neighbor 192.0.2.1 description transit-a\n";
    let old = "router bgp 65001\n neighbor 192.0.2.1 remote-as 65010\n neighbor 192.0.2.1 description transit-a\n";
    let rem = remediation_scoped(running, old, "", &FRR).unwrap();
    assert_eq!(
        rem,
        lines(&[
            "router bgp 65001",
            " no neighbor 192.0.2.1 description transit-a",
            " no neighbor 192.0.2.1 remote-as 65010",
        ])
    );
    // And back (a rollback): the remote AS first.
    let rem = remediation(
        "router bgp 65001\n neighbor 10.0.0.9 remote-as 65009\n",
        running,
        &FRR,
    )
    .unwrap();
    assert_eq!(
        rem,
        lines(&[
            "router bgp 65001",
            " neighbor 192.0.2.1 remote-as 65010",
            " neighbor 192.0.2.1 description transit-a",
        ])
    );
}

#[test]
fn platforms_are_found_by_name_and_rules_match_lineages() {
    assert_eq!(Platform::by_name("frr").unwrap().name, "frr");
    assert!(Platform::by_name("junos").is_none());
    assert_eq!(
        EOS.idempotent_key(&["router bgp 1", "neighbor 10.0.0.1 description x"]),
        EOS.idempotent_key(&["router bgp 1", "neighbor 10.0.0.1 description y"])
    );
    assert_ne!(
        EOS.idempotent_key(&["router bgp 1", "neighbor 10.0.0.1 description x"]),
        EOS.idempotent_key(&["router bgp 1", "neighbor 10.0.0.2 description x"])
    );
    assert_eq!(
        FRR.exit_for(&["router bgp 1", "address-family ipv4 unicast"]),
        Some("exit-address-family")
    );
    assert_eq!(FRR.exit_for(&["router bgp 1"]), None);
}

#[test]
fn large_configs_diff_in_linear_time() {
    let mut running = String::new();
    let mut intended = String::new();
    for i in 0..10_000 {
        running.push_str(&format!("interface Ethernet{i}\n   description port {i}\n"));
        intended.push_str(&format!(
            "interface Ethernet{i}\n   description port {}\n",
            i + (i % 2)
        ));
    }
    let start = std::time::Instant::now();
    let rem = remediation(&running, &intended, &EOS).unwrap();
    assert_eq!(rem.len(), 10_000);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}
