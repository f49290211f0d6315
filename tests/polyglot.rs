//! The AccessPorts plugin in Rust, Python and JavaScript: every fixture passes and the three answer byte for byte alike.
//!
//! The Python and JavaScript components are built by `scripts/build-polyglot.sh`
//! (`scripts/test.sh` runs it) into `$CARGO_TARGET_DIR/polyglot/`. Besides the
//! conformance fixtures, a set of awkward services (bad JSON, odd numbers,
//! Unicode, wrong types, huge ranges) checks that the ports reproduce the Rust
//! plugin's every message, not just the ones the fixtures show.

mod common;

use std::process::Command;

use naas::conformance::{Verdict, actual, check, load_fixtures};
use naas::oci::ComponentWorld;
use naas::pipeline::{PipelineError, evaluate};
use naas::runtime::{Context, Device, Limits, Plugin, Service};

/// The three AccessPorts plugins: (language, loaded plugin).
fn plugins() -> Vec<(&'static str, Plugin)> {
    let load = |path: std::path::PathBuf| {
        common::runtime()
            .load_file(&path, Limits::default())
            .unwrap_or_else(|e| panic!("loading {}: {e}", path.display()))
    };
    vec![
        ("rust", common::load("access_ports")),
        ("python", load(common::polyglot_path("access_ports_py"))),
        ("javascript", load(common::polyglot_path("access_ports_js"))),
    ]
}

#[test]
fn every_access_ports_plugin_passes_every_fixture() {
    let fixtures = load_fixtures(&common::data("conformance/access-ports")).unwrap();
    let mut failures = Vec::new();
    for (lang, plugin) in plugins() {
        for f in &fixtures {
            match check(&plugin, f) {
                Verdict::Pass => {}
                Verdict::Fail(diff) => failures.push(format!("{lang} {}:\n{diff}", f.name)),
                Verdict::Missing => failures.push(format!("{lang} {}: no expected.yaml", f.name)),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_three_plugins_answer_every_fixture_identically() {
    let fixtures = load_fixtures(&common::data("conformance/access-ports")).unwrap();
    let plugins = plugins();
    let (_, rust) = &plugins[0];
    for f in &fixtures {
        let want = actual(rust, f).unwrap_or_else(|e| panic!("rust {}: {e}", f.name));
        for (lang, plugin) in &plugins[1..] {
            let got = actual(plugin, f).unwrap_or_else(|e| panic!("{lang} {}: {e}", f.name));
            assert_eq!(got, want, "{lang} differs from rust on fixture {}", f.name);
        }
    }
}

#[test]
fn describe_is_the_same_in_every_language() {
    let plugins = plugins();
    let want = plugins[0].1.info();
    for (lang, plugin) in &plugins[1..] {
        assert_eq!(plugin.info(), want, "{lang}: describe() differs from rust");
    }
}

#[test]
fn the_components_import_only_the_host_and_wasi() {
    for (name, only_host) in [("access_ports_py", false), ("access_ports_js", true)] {
        let bytes = std::fs::read(common::polyglot_path(name)).unwrap();
        let world = ComponentWorld::of_component(&bytes).unwrap();
        for import in &world.imports {
            let host = import.starts_with("naas:plugin/");
            assert!(
                host || (!only_host && import.starts_with("wasi:")),
                "{name} imports {import}"
            );
        }
        assert!(
            world.imports.iter().any(|i| i == "naas:plugin/host@0.1.1"),
            "{name}: {world:?}"
        );
    }
}

/// What the tenant of the awkward services sees: odd port names, an
/// unsupported platform spelled with quotes and a control character.
fn context() -> Context {
    let device = |name: &str, platform: &str, ports: Vec<String>| Device {
        name: name.into(),
        platform: platform.into(),
        facts: "{}".into(),
        ports,
    };
    let mut leaf1: Vec<String> = (1..=48).map(|n| format!("Ethernet{n}")).collect();
    leaf1.extend((1..=4).map(|n| format!("Ethernet1/{n}")));
    let odd = [
        "Eth01",
        "Eth1",
        "Éthernet1",
        "E\u{301}th1",
        "ge-0/0/1",
        "Port-Channel1",
        "Port-Channel2",
    ];
    leaf1.extend(odd.map(String::from));
    Context {
        tenant: "tenant-a".into(),
        devices: vec![
            device("border2", "eos", vec![]),
            device("leaf1", "eos", leaf1),
            device("leaf2", "frr", (1..=8).map(|n| format!("swp{n}")).collect()),
            device(
                "leaf3",
                "netconf",
                (1..=8).map(|n| format!("Ethernet1/{n}")).collect(),
            ),
            device("old1", "j\u{fc}n\"os\u{7}", vec!["ge-0/0/1".into()]),
        ],
        variables: "{}".into(),
    }
}

/// Specs (JSON text) that exercise every parsing and checking path.
#[rustfmt::skip]
fn awkward_specs() -> Vec<String> {
    let base = r#""device":"leaf1","ports":"Ethernet1-2","vlan":10"#;
    let with = |extra: &str| format!("{{{base},{extra}}}");
    let mut specs: Vec<String> = [
        "", " ", "{", "}", "[]", "null", "true", "1.5", "-0", "\"leaf1\"", "{\"a\":1,}", "{,}",
        "{\"a\" 1}", "{1:2}", "[1 2]", "{\"device\":\"leaf1\"} x", "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\t\"}", "{\"a\":tru}", "{\"a\":01}",
        "{\"a\":1.}", "{\"a\":1e}", "{\"a\":1e400}", "{\n  \"a\": [1,\n 2,,]}", "{}",
        r#"{"device":"leaf1","ports":"Ethernet1-2","vlan":10,"vlan":"x"}"#,
        r#"{"vlan":"x","device":"leaf1","ports":"Ethernet1-2","vlan":10}"#,
        r#"{"device":" ","ports":[],"vlan":null}"#,
        r#"{"device":"\u00a0","ports":{},"vlan":[1]}"#,
        r#"{"device":"\ufeff","ports":true,"vlan":{"a":1}}"#,
        r#"{"device":5,"ports":[1,null,true,{},[],1.5e300,"Ethernet1"],"vlan":10}"#,
        r#"{"device":"nope","ports":"Ethernet1","vlan":10}"#,
        r#"{"device":"old1","ports":"ge-0/0/1,ge-0/0/2","vlan":10}"#,
        r#"{"device":"border2","ports":"Ethernet1","vlan":10}"#,
        r#"{"device":"leaf3","ports":"Ethernet1/8-9","vlan":10,"description":"<a> & 'b' \"c\""}"#,
        r#"{"device":"leaf2","ports":"swp1-2","vlan":10,"mode":"trunk","enabled":false}"#,
    ]
    .map(String::from)
    .to_vec();
    let nested = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    specs.push(format!(r#"{{"device":"leaf1","ports":{nested},"vlan":10}}"#));
    for vlan in [
        "10.0", "1e2", "-0", "-5", "0", "4094", "4095", "18446744073709551616", "1e16", "0.00001",
        "123456789.123456789e-30", "true", "\"10\"", "null",
    ] {
        specs.push(format!(r#"{{"device":"leaf1","ports":"Ethernet1","vlan":{vlan}}}"#));
    }
    for ports in [
        "Eth01,Eth1", "Eth1,Eth01,Eth1", "Ethernet10,Ethernet2,Ethernet1-2", "Ethernet1-4096",
        "Ethernet1-4097", "Ethernet0-4095", "Ethernet5-00007", "Ethernet99999999999999999999-1",
        "Ethernet18446744073709551615", "Ethernet18446744073709551614-18446744073709551615",
        "ge-0/0/1", "ge-0/0/1-4", "ge-", "Port-Channel1-2", "Port-Channel2,Port-Channel1", "1-4",
        "", " ", ",", "Ethernet 1", "Ethernet1,,Ethernet2", "Ethernet1-", "Ethernet1-x", "-1",
        "Éthernet1", "E\u{301}th1", "Ethernet1\u{a0}", "\u{3000}Ethernet1", "Ethernet1\u{feff}",
        "Ethernet1-4095,Ethernet5000-5001", "Ethernet1/1-4,Ethernet1/2", "Ethernet٣",
    ] {
        specs.push(format!(r#"{{"device":"leaf1","ports":{},"vlan":10}}"#, json(ports)));
        specs.push(format!(r#"{{"device":"leaf1","ports":[{},"Ethernet3"],"vlan":10}}"#, json(ports)));
    }
    for key in [
        "zz", "\u{301}", "a\"b", "😀", "\u{7f}", "Ａ", "é", "\u{200b}", "\u{e000}", "\u{10ffff}",
        "\u{85}", "\u{a0}", "\\", "'", "\u{0}", "Device", "ports ",
    ] {
        specs.push(with(&format!("{}:1", json(key))));
    }
    let long = "é".repeat(240);
    for description in [
        long.as_str(), &format!("{long}x"), "tab\there", "nel\u{85}", "del\u{7f}", "😀 ok",
        "line\nbreak", "\u{0}", "a\u{301}", "< & > \" '",
    ] {
        specs.push(with(&format!("\"description\":{}", json(description))));
    }
    let many = "x".repeat(50);
    for value in ["1.5e300", "12345678901234567890123456789012345678901234567890", &json(&many)] {
        specs.push(with(&format!("\"description\":{value},\"enabled\":{value}")));
    }
    for allowed in [
        r#"["1-4094"]"#, r#"[" 100 - 200 "]"#, r#"["100-99"]"#, r#"["00100"]"#, r#"["100000"]"#,
        r#"[4094,"4095"]"#, r#"[1.0]"#, r#"[-1]"#, r#""100""#, r#"[]"#, r#"["1,2,3-5",2,6]"#,
        r#"["1-2-3"]"#, r#"[" "]"#, r#"[""]"#, r#"["٣"]"#, r#"[null,true,{}]"#, r#"[10,11,13,12]"#,
        "null",
    ] {
        specs.push(with(&format!(r#""mode":"trunk","trunkAllowedVlans":{allowed}"#)));
        specs.push(with(&format!(r#""trunkAllowedVlans":{allowed}"#)));
    }
    for mode in [r#""Trunk""#, "1", "null", r#""access""#, r#""trunk""#] {
        specs.push(with(&format!("\"mode\":{mode}")));
    }
    for enabled in [r#""yes""#, "0", "null", "false"] {
        specs.push(with(&format!("\"enabled\":{enabled}")));
    }
    specs
}

fn json(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// One plugin's whole answer to a spec: the pipeline's result, and `expand`
/// called directly on the spec as written.
fn answer(plugin: &Plugin, spec: &str) -> String {
    let service = Service {
        api_version: "network.naas.io/v1alpha1".into(),
        kind: "AccessPorts".into(),
        namespace: "tenant-a".into(),
        name: "odd".into(),
        generation: 1,
        labels: vec![],
        spec: spec.into(),
    };
    let ctx = context();
    let pipeline = match evaluate(plugin, &service, &ctx) {
        Ok(e) => format!("OK {}\n{:#?}", e.service.spec, e.configs),
        Err(PipelineError::Invalid {
            stage, violations, ..
        }) => {
            format!("INVALID ({stage}) {violations:#?}")
        }
        Err(e) => format!("FAILED {e}"),
    };
    let mut session = plugin.session().unwrap();
    let expand = session.expand(&service, &ctx).map_err(|e| e.to_string());
    format!("{pipeline}\nexpand: {expand:#?}")
}

#[test]
fn the_three_plugins_answer_awkward_services_identically() {
    let plugins = plugins();
    let specs = awkward_specs();
    let (mut differences, mut rendered, mut refused) = (Vec::new(), 0, 0);
    for spec in &specs {
        let want = answer(&plugins[0].1, spec);
        assert!(!want.contains("FAILED"), "rust failed on {spec}: {want}");
        rendered += usize::from(want.starts_with("OK"));
        refused += usize::from(want.starts_with("INVALID"));
        for (lang, plugin) in &plugins[1..] {
            let got = answer(plugin, spec);
            if got != want {
                differences.push(format!("spec {spec}\n--- rust\n{want}\n--- {lang}\n{got}"));
            }
        }
    }
    // The set must exercise both outcomes, or agreeing would prove little.
    assert!(
        rendered >= 10 && refused >= 100,
        "{rendered} rendered, {refused} refused"
    );
    assert!(
        differences.is_empty(),
        "{} of {} specs differ:\n{}",
        differences.len(),
        specs.len(),
        differences.join("\n\n")
    );
}

#[test]
fn naas_plugin_test_passes_the_python_plugin() {
    let py = common::polyglot_path("access_ports_py");
    let cache = common::runtime()
        .cache()
        .expect("the test runtime has a cache")
        .dir();
    let out = Command::new(env!("CARGO_BIN_EXE_naas"))
        .args(["--cache-dir", cache.to_str().unwrap(), "plugin", "test"])
        .arg(&py)
        .arg("tests/data/conformance/access-ports")
        .current_dir(common::repo_root())
        .env_remove("NAAS_LOG")
        .output()
        .expect("running naas");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    let fixtures = load_fixtures(&common::data("conformance/access-ports")).unwrap();
    for f in &fixtures {
        assert!(
            stdout.contains(&format!("PASS {}\n", f.name)),
            "{}: {stdout}",
            f.name
        );
    }
    assert!(
        stdout.contains(&format!("{} passed, 0 failed", fixtures.len())),
        "{stdout}"
    );
}
