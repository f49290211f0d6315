//! Template overrides through the `naas` binary (`render --templates DIR`) in all three languages, and plugins built against `naas:plugin@0.1.0`.

mod common;

use common::naas;

use std::path::{Path, PathBuf};
use std::process::Output;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The Rust, Python and JavaScript AccessPorts plugins.
fn access_ports_plugins() -> Vec<(&'static str, PathBuf)> {
    vec![
        ("rust", common::plugin_path("access_ports")),
        ("python", common::polyglot_path("access_ports_py")),
        ("javascript", common::polyglot_path("access_ports_js")),
    ]
}

/// `naas render` of the bundled examples with `plugin` and `extra` flags.
fn render(cache: &Path, plugin: &Path, extra: &[&str]) -> Output {
    let plugin = plugin.display().to_string();
    let mut args = vec![
        "render",
        "--plugin",
        &plugin,
        "-f",
        "examples/access-ports.yaml",
        "--devices",
        "examples/devices.yaml",
    ];
    args.extend_from_slice(extra);
    naas(cache, &args)
}

/// A templates directory with `access-ports/eos.j2` holding `eos`.
fn overrides(eos: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("access-ports")).unwrap();
    std::fs::write(dir.path().join("access-ports/eos.j2"), eos).unwrap();
    dir
}

const OVERRIDE: &str = concat!(
    "! site template for {{ service.namespace }}/{{ service.name }}\n",
    "{% for p in ports %}\n",
    "interface {{ p }}\n",
    "   switchport access vlan {{ vlan }}\n",
    "{% endfor %}\n",
);

#[test]
fn an_override_replaces_the_named_template_in_every_language_and_only_that_one() {
    let cache = tempfile::tempdir().unwrap();
    let dir = overrides(OVERRIDE);
    let flag = dir.path().display().to_string();
    for (lang, plugin) in access_ports_plugins() {
        let plain = render(cache.path(), &plugin, &[]);
        assert!(plain.status.success(), "{lang}: {}", text(&plain.stderr));
        let out = render(cache.path(), &plugin, &["--templates", &flag]);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{lang}: {}", text(&out.stderr));
        // leaf1 (eos) takes the override...
        assert!(
            stdout.contains(concat!(
                "# AccessPorts tenant-a/web-servers -> leaf1 (cli)\n",
                "! site template for tenant-a/web-servers\n",
                "interface Ethernet1\n   switchport access vlan 120\n",
            )),
            "{lang}: {stdout}"
        );
        assert!(
            !stdout.contains("description web servers"),
            "{lang}: {stdout}"
        );
        // ...leaf2 (frr) and leaf3 (netconf) keep the built-in templates.
        let tail = |s: &str| s[s.find("-> leaf2").unwrap()..].to_string();
        assert_eq!(tail(&stdout), tail(&text(&plain.stdout)), "{lang}");
    }
}

#[test]
fn a_broken_override_fails_the_service_naming_the_file_and_line_in_every_language() {
    let cache = tempfile::tempdir().unwrap();
    let dir = overrides(
        "! ok\n{% for p in ports %}\ninterface {{ p }}\n   description {{ no_such_var }}\n{% endfor %}\n",
    );
    let flag = dir.path().display().to_string();
    let file = dir.path().join("access-ports/eos.j2").display().to_string();
    for (lang, plugin) in access_ports_plugins() {
        let out = render(cache.path(), &plugin, &["--templates", &flag]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{lang}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "AccessPorts tenant-a/web-servers: the template override file {file}: line 4: undefined value"
            )),
            "{lang}: {stderr}"
        );
        assert!(
            stderr.contains("1 of 3 services failed"),
            "{lang}: {stderr}"
        );
        assert!(
            !text(&out.stdout).contains("-> leaf1"),
            "{lang}: no config for the failed service"
        );
    }
}

#[test]
fn a_syntax_error_in_an_override_names_its_line() {
    let cache = tempfile::tempdir().unwrap();
    let dir = overrides("! ok\n\n{% for p in ports %\n");
    let out = render(
        cache.path(),
        &common::plugin_path("access_ports"),
        &["--templates", &dir.path().display().to_string()],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("eos.j2: line 3: syntax error"), "{stderr}");
}

#[test]
fn an_oversized_override_is_refused_before_it_is_read() {
    let cache = tempfile::tempdir().unwrap();
    let dir = overrides(&"x".repeat(naas::template::MAX_TEMPLATE_BYTES + 1));
    let out = render(
        cache.path(),
        &common::plugin_path("access_ports"),
        &["--templates", &dir.path().display().to_string()],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("eos.j2: 1048577 bytes, more than the limit"),
        "{stderr}"
    );
}

/// Rewrites `from` to `to` (same length) everywhere in `bytes`; returns how many.
fn rewrite(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

#[test]
fn a_plugin_importing_host_0_1_0_still_loads_and_renders() {
    // A plugin built before 0.1.1 imports `naas:plugin/host@0.1.0`: the same
    // component with its import renamed stands for one. The host serves
    // 0.1.1, which semver-matches it.
    let mut bytes = std::fs::read(common::plugin_path("access_ports")).unwrap();
    let renamed = rewrite(
        &mut bytes,
        b"naas:plugin/host@0.1.1",
        b"naas:plugin/host@0.1.0",
    );
    assert!(renamed > 0, "the component names its host import");
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.wasm");
    std::fs::write(&old, &bytes).unwrap();
    let world = naas::oci::ComponentWorld::of_component(&bytes).unwrap();
    assert!(
        world.imports.iter().any(|i| i == "naas:plugin/host@0.1.0"),
        "{:?}",
        world.imports
    );

    let cache = tempfile::tempdir().unwrap();
    let new = render(cache.path(), &common::plugin_path("access_ports"), &[]);
    let out = render(cache.path(), &old, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), text(&new.stdout));
}
