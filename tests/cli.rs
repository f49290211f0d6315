//! End-to-end tests of the `naas` binary: render and describe on the bundled examples, errors, and the compiled cache.

mod common;

use common::naas;

use std::process::Command;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn plugin(name: &str) -> String {
    common::plugin_path(name).display().to_string()
}

#[test]
fn render_prints_every_device_config_of_the_examples() {
    let cache = tempfile::tempdir().unwrap();
    let out = naas(
        cache.path(),
        &[
            "render",
            "--plugin",
            &plugin("access_ports"),
            "-f",
            "examples/access-ports.yaml",
            "--devices",
            "examples/devices.yaml",
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert!(
        stdout.contains("# AccessPorts tenant-a/web-servers -> leaf1 (cli)"),
        "{stdout}"
    );
    for port in [
        "Ethernet1",
        "Ethernet2",
        "Ethernet3",
        "Ethernet4",
        "Ethernet7",
    ] {
        assert!(
            stdout.contains(&format!("interface {port}\n")),
            "{port} missing: {stdout}"
        );
    }
    assert!(!stdout.contains("interface Ethernet5\n"), "{stdout}");
    assert!(stdout.contains("-> leaf3 (netconf-xml)"), "{stdout}");
    assert!(
        stdout.contains("storage &lt;array&gt; &amp; backup"),
        "XML must be escaped: {stdout}"
    );
}

#[test]
fn render_json_output_carries_the_expanded_spec() {
    let cache = tempfile::tempdir().unwrap();
    let out = naas(
        cache.path(),
        &[
            "render",
            "--plugin",
            &plugin("bgp_peering"),
            "-o",
            "json",
            "-f",
            "examples/bgp-peering.yaml",
            "--devices",
            "examples/devices.yaml",
        ],
    );
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["kind"], "BgpPeering");
    assert_eq!(v[0]["configs"][0]["device"], "border1");
    assert_eq!(v[0]["configs"][0]["format"], "cli");
    assert!(
        v[0]["configs"][0]["text"]
            .as_str()
            .unwrap()
            .contains("router bgp 65001")
    );
}

#[test]
fn invalid_services_exit_non_zero_listing_every_violation_and_print_no_config() {
    let cache = tempfile::tempdir().unwrap();
    let out = naas(
        cache.path(),
        &[
            "render",
            "--plugin",
            &plugin("access_ports"),
            "-f",
            "examples/access-ports.yaml",
            "-f",
            "tests/data/conformance/access-ports/invalid-vlan-and-ports/service.yaml",
            "-f",
            "tests/data/conformance/access-ports/invalid-not-granted/service.yaml",
            "--devices",
            "tests/data/devices.yaml",
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "nothing may be printed when a service fails"
    );
    assert!(
        stderr.contains("AccessPorts tenant-a/bad is invalid"),
        "{stderr}"
    );
    assert!(stderr.contains("spec.vlan:"), "{stderr}");
    assert!(stderr.contains("spec.ports[1]:"), "{stderr}");
    assert!(
        stderr.contains("Ethernet10 on leaf1 is not granted to tenant tenant-b"),
        "{stderr}"
    );
    assert!(stderr.contains("2 of 5 services failed"), "{stderr}");
}

#[test]
fn describe_prints_kinds_and_schema() {
    let cache = tempfile::tempdir().unwrap();
    let out = naas(
        cache.path(),
        &["describe", "--plugin", &plugin("access_ports")],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert!(stdout.contains("Name:        access-ports"), "{stdout}");
    assert!(
        stdout.contains("network.naas.io/v1alpha1 AccessPorts (plural accessports)"),
        "{stdout}"
    );
    assert!(stdout.contains("Digest:      sha256:"), "{stdout}");
    let out = naas(
        cache.path(),
        &[
            "describe",
            "--plugin",
            &plugin("access_ports"),
            "-o",
            "yaml",
        ],
    );
    let v: serde_json::Value = serde_yaml_ng::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["kinds"][0]["specSchema"]["properties"]["vlan"]["minimum"],
        1
    );
}

#[test]
fn a_second_start_compiles_nothing() {
    let cache = tempfile::tempdir().unwrap();
    let args = ["-v", "describe", "--plugin", &plugin("bgp_peering")];
    let first = naas(cache.path(), &args);
    assert!(first.status.success());
    assert!(
        text(&first.stderr).contains("compiled plugin"),
        "{}",
        text(&first.stderr)
    );
    let artifacts: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".cwasm"))
        .collect();
    assert_eq!(
        artifacts.len(),
        2,
        "one compiled artifact per digest: the plugin and the template sandbox: {artifacts:?}"
    );
    let second = naas(cache.path(), &args);
    assert!(second.status.success());
    assert!(
        !text(&second.stderr).contains("compiled plugin"),
        "{}",
        text(&second.stderr)
    );
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn bad_inputs_name_the_file() {
    let cache = tempfile::tempdir().unwrap();
    let out = naas(
        cache.path(),
        &[
            "render",
            "--plugin",
            "no/such/plugin.wasm",
            "-f",
            "examples/access-ports.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot read plugin no/such/plugin.wasm"),
        "{}",
        text(&out.stderr)
    );

    let broken = cache.path().join("broken.yaml");
    std::fs::write(&broken, "spec: [unclosed\n").unwrap();
    let out = naas(
        cache.path(),
        &[
            "render",
            "--plugin",
            &plugin("access_ports"),
            "-f",
            broken.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("broken.yaml: document 1: invalid YAML"),
        "{stderr}"
    );

    let out = naas(
        cache.path(),
        &[
            "render",
            "--plugin",
            &plugin("access_ports"),
            "-f",
            "Cargo.toml",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("Cargo.toml: document 1: (document) must be a mapping"),
        "{}",
        text(&out.stderr)
    );

    let out = naas(
        cache.path(),
        &[
            "render",
            "--plugin",
            &plugin("access_ports"),
            "-f",
            "examples/access-ports.yaml",
            "--devices",
            "examples/bgp-peering.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("examples/bgp-peering.yaml: unknown field `apiVersion`"),
        "{}",
        text(&out.stderr)
    );
}

/// Regression: with debug logging, log lines written from compiler threads
/// while the main thread held the stderr lock deadlocked `naas`.
#[test]
fn verbose_logging_during_a_cold_compile_finishes_and_tags_plugin_logs_with_the_service() {
    let cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_naas"))
        .args([
            "--cache-dir",
            cache.path().to_str().unwrap(),
            "-vv",
            "render",
        ])
        .args(["--plugin", &plugin("access_ports")])
        .args([
            "-f",
            "examples/access-ports.yaml",
            "--devices",
            "examples/devices.yaml",
        ])
        .current_dir(common::repo_root())
        .env_remove("NAAS_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("naas -vv render did not finish within 60 s (deadlock?)");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let log = reader.join().unwrap();
    assert!(status.success(), "{log}");
    assert!(log.contains("compiled plugin"), "{log}");
    assert!(
        log.contains("rendered 5 port(s) for leaf1 with eos.j2")
            && log.contains("service=\"AccessPorts tenant-a/web-servers\""),
        "{log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes when stderr is not a terminal"
    );
}

#[test]
fn each_document_goes_to_the_plugin_of_its_kind_and_other_kinds_are_skipped() {
    let cache = tempfile::tempdir().unwrap();
    let args = [
        "render",
        "-p",
        &plugin("access_ports"),
        "-p",
        &plugin("bgp_peering"),
        "-f",
        "tests/data/mixed-manifests.yaml",
        "--devices",
        "examples/devices.yaml",
    ];
    let out = naas(cache.path(), &args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("# AccessPorts tenant-a/web-servers -> leaf1 (cli)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("# BgpPeering tenant-a/upstream -> border1 (cli)"),
        "{stdout}"
    );
    assert!(stdout.contains("router bgp 65001"), "{stdout}");
    assert_eq!(
        stderr.trim(),
        "skipping v1 ConfigMap/tenant-vars (tenant-a): no plugin serves this kind",
        "exactly one line names the skipped document"
    );

    let mut strict = args.to_vec();
    strict.push("--strict");
    let out = naas(cache.path(), &strict);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr
            .contains("v1 ConfigMap/tenant-vars (tenant-a): no plugin serves this kind (--strict)"),
        "{stderr}"
    );
}

#[test]
fn two_plugins_declaring_one_kind_is_an_error_naming_both() {
    let cache = tempfile::tempdir().unwrap();
    let copy = cache.path().join("access-ports-copy.wasm");
    std::fs::copy(common::plugin_path("access_ports"), &copy).unwrap();
    let out = naas(
        cache.path(),
        &[
            "render",
            "-p",
            &plugin("access_ports"),
            "-p",
            copy.to_str().unwrap(),
            "-f",
            "examples/access-ports.yaml",
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("network.naas.io/v1alpha1 AccessPorts is declared by two plugins"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&plugin("access_ports")) && stderr.contains("access-ports-copy.wasm"),
        "both plugins are named: {stderr}"
    );
}

#[test]
fn describe_with_several_plugins_lists_each() {
    let cache = tempfile::tempdir().unwrap();
    let out = naas(
        cache.path(),
        &[
            "describe",
            "-o",
            "json",
            "-p",
            &plugin("access_ports"),
            "-p",
            &plugin("bgp_peering"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kinds"][0]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["AccessPorts", "BgpPeering"]);
}

#[test]
fn the_committed_crds_are_what_naas_crds_generates() {
    let cache = tempfile::tempdir().unwrap();
    let out_dir = cache.path().join("crds");
    let out = naas(cache.path(), &["crds", "--out", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let committed = common::repo_root().join("crds");
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["devices.naas.io.yaml", "plugins.naas.io.yaml"]);
    for name in names {
        assert_eq!(
            std::fs::read_to_string(out_dir.join(&name)).unwrap(),
            std::fs::read_to_string(committed.join(&name)).unwrap_or_default(),
            "crds/{name} differs from the code: run `naas crds --out crds` and commit"
        );
    }
    // And printed, as one multi-document stream.
    let printed = text(&naas(cache.path(), &["crds"]).stdout);
    assert_eq!(printed.matches("kind: CustomResourceDefinition").count(), 2);
}
