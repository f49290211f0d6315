//! Tenant separation enforced by the host, not trusted to plugins: a rendered config that touches a port outside the tenant's grant is refused, through the `naas` binary.

mod common;

use std::path::Path;

fn hostile(dir: &Path, name: &str, namespace: &str) -> common::Measured {
    let doc = serde_json::json!({
        "apiVersion": "network.naas.io/v1alpha1", "kind": "Hostile",
        "metadata": {"name": name, "namespace": namespace}, "spec": {},
    });
    let manifest = dir.join(format!("{name}.yaml"));
    std::fs::write(&manifest, doc.to_string()).unwrap();
    let cache = dir.join("cache");
    common::run_measured(
        env!("CARGO_BIN_EXE_naas"),
        &[
            "--cache-dir",
            cache.to_str().unwrap(),
            "render",
            "--plugin",
            common::plugin_path("hostile").to_str().unwrap(),
            "-f",
            manifest.to_str().unwrap(),
            "--devices",
            "examples/devices.yaml",
        ],
    )
}

#[test]
fn a_plugin_rendering_a_port_outside_the_grant_is_refused_by_the_host() {
    let dir = tempfile::tempdir().unwrap();
    // The hostile plugin's validate accepts everything: only the host's own
    // check of the rendered config stands between it and tenant-b's ports.
    for (case, interface) in [
        ("ungranted-port", "Ethernet99"),
        ("abbreviated-port", "Et1"),
        ("ungranted-netconf", "Ethernet99"),
    ] {
        let m = hostile(dir.path(), case, "tenant-a");
        assert_eq!(m.status.code(), Some(1), "{case}: {}", m.stderr);
        assert!(
            m.stderr.contains(&format!(
                "Hostile tenant-a/{case}: plugin {} rendered interface(s) {interface} on device leaf1, which tenant tenant-a was not granted (granted there: Ethernet1, Ethernet2,",
                common::plugin_path("hostile").display()
            )),
            "{case}: {}",
            m.stderr
        );
        assert!(
            m.stdout.is_empty(),
            "{case}: no config printed: {}",
            m.stdout
        );
    }
}

#[test]
fn a_port_inside_the_grant_passes_the_same_check() {
    let dir = tempfile::tempdir().unwrap();
    for (namespace, port) in [("tenant-a", "Ethernet1"), ("tenant-b", "Ethernet9")] {
        let m = hostile(dir.path(), "granted-port", namespace);
        assert!(m.status.success(), "{namespace}: {}", m.stderr);
        assert!(
            m.stdout
                .contains(&format!("interface {port}\n description mine\n")),
            "{namespace}: {}",
            m.stdout
        );
    }
}
