//! Golden tests of the Rust plugins through the conformance kit: valid and invalid services, idempotent expand, stable output.
//!
//! The fixture sets are `tests/data/conformance/<plugin>/`. After an intended
//! change, regenerate the expected files explicitly with
//! `NAAS_BLESS=1 cargo test -p naas --test golden` (or
//! `naas plugin test <component> <dir> --update`) and review the diff.

mod common;

use naas::conformance::{Expected, Verdict, actual, bless, check, load_fixtures};
use naas::inventory::Inventory;
use naas::pipeline::{PipelineError, evaluate};
use naas::runtime::Service;

fn check_set(crate_name: &str, set: &str) {
    let plugin = common::load(crate_name);
    let dir = common::data("conformance").join(set);
    let fixtures = load_fixtures(&dir).unwrap_or_else(|e| panic!("{e}"));
    let bless_mode = std::env::var_os("NAAS_BLESS").is_some();
    let (mut valid, mut invalid, mut failures) = (0, 0, Vec::new());
    for f in &fixtures {
        if bless_mode {
            bless(&plugin, f).unwrap();
        }
        match actual(&plugin, f) {
            Ok(Expected::Rendered { .. }) => valid += 1,
            Ok(Expected::Violations { .. }) => invalid += 1,
            Err(e) => failures.push(format!("{}: plugin failure: {e}", f.name)),
        }
        match check(&plugin, f) {
            Verdict::Pass => {}
            Verdict::Fail(diff) => failures.push(format!("{}: output differs\n{diff}", f.name)),
            Verdict::Missing => failures.push(format!(
                "{}: no expected.yaml; run NAAS_BLESS=1 cargo test -p naas --test golden and review it",
                f.name
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        valid >= 3 && invalid >= 3,
        "{set}: the fixture set needs valid and invalid services ({valid} valid, {invalid} invalid)"
    );
}

#[test]
fn access_ports_conformance() {
    check_set("access_ports", "access-ports");
}

#[test]
fn bgp_peering_conformance() {
    check_set("bgp_peering", "bgp-peering");
}

#[test]
fn describe_gives_kinds_schemas_and_platforms() {
    let ap = common::load("access_ports");
    let info = ap.info();
    assert_eq!(info.kinds.len(), 1);
    assert_eq!(info.kinds[0].kind, "AccessPorts");
    assert_eq!(info.kinds[0].plural, "accessports");
    let schema: serde_json::Value = serde_json::from_str(&info.kinds[0].spec_schema).unwrap();
    assert_eq!(schema["properties"]["vlan"]["maximum"], 4094);
    for p in ["eos", "frr", "netconf"] {
        assert!(
            info.platforms.iter().any(|x| x == p),
            "missing platform {p}"
        );
    }
    let bgp = common::load("bgp_peering");
    assert_eq!(bgp.info().kinds[0].kind, "BgpPeering");
}

#[test]
fn a_service_of_another_kind_is_refused_by_name() {
    let ap = common::load("access_ports");
    let svc = Service {
        api_version: "network.naas.io/v1alpha1".into(),
        kind: "BgpPeering".into(),
        namespace: "tenant-a".into(),
        name: "x".into(),
        generation: 1,
        labels: vec![],
        spec: "{}".into(),
    };
    let ctx = Inventory::default().context_for("tenant-a", &serde_json::json!({}));
    let e = evaluate(&ap, &svc, &ctx).unwrap_err();
    assert!(matches!(e, PipelineError::UnsupportedKind { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("handles network.naas.io/v1alpha1 AccessPorts"),
        "{e}"
    );
}
