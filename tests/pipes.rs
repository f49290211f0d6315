//! A closed stdout (`naas … | head`) ends every printing subcommand quietly with status 0, as standard Unix tools do.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

/// Every printing subcommand that needs no registry, with its arguments.
fn printing_commands(cache: &Path, scratch: &Path) -> Vec<Vec<String>> {
    let ports = common::plugin_path("access_ports").display().to_string();
    let bgp = common::plugin_path("bgp_peering").display().to_string();
    let cache = cache.display().to_string();
    let render = |extra: &[&str]| {
        let mut v: Vec<String> = [
            "--cache-dir",
            &cache,
            "render",
            "-p",
            &ports,
            "-p",
            &bgp,
            "-f",
            "examples/access-ports.yaml",
            "-f",
            "examples/bgp-peering.yaml",
            "--devices",
            "examples/devices.yaml",
        ]
        .map(String::from)
        .to_vec();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let mut cmds = vec![
        render(&[]),
        render(&["-o", "json"]),
        render(&["-o", "yaml"]),
    ];
    for format in ["text", "json", "yaml"] {
        cmds.push(
            [
                "--cache-dir",
                &cache,
                "describe",
                "-p",
                &ports,
                "-p",
                &bgp,
                "-o",
                format,
            ]
            .map(String::from)
            .to_vec(),
        );
    }
    cmds.push(
        [
            "--cache-dir",
            &cache,
            "plugin",
            "test",
            &ports,
            &common::data("conformance/access-ports")
                .display()
                .to_string(),
        ]
        .map(String::from)
        .to_vec(),
    );
    cmds.push(
        [
            "plugin",
            "new",
            "--lang",
            "rust",
            "pipe-check",
            "--dir",
            &scratch.join("scaffold").display().to_string(),
        ]
        .map(String::from)
        .to_vec(),
    );
    cmds
}

#[test]
fn every_printing_subcommand_stops_quietly_when_stdout_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    for args in printing_commands(&cache, dir.path()) {
        // A pipe whose reader is already gone: the first write fails with
        // EPIPE, every time, whatever the size of the output.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let _ = std::fs::remove_dir_all(dir.path().join("scaffold"));
        let out = Command::new(env!("CARGO_BIN_EXE_naas"))
            .args(&args)
            .current_dir(common::repo_root())
            .env_remove("NAAS_LOG")
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "naas {}: {:?}: {stderr}",
            args.join(" "),
            out.status
        );
        assert!(
            stderr.is_empty(),
            "naas {}: printed {stderr:?}",
            args.join(" ")
        );
    }
}

#[test]
fn piped_into_head_every_printing_subcommand_succeeds_many_times() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let naas = env!("CARGO_BIN_EXE_naas");
    for args in printing_commands(&cache, dir.path()) {
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        // As the README's example script runs it: pipefail makes any
        // non-zero status of naas fail the pipeline.
        let script = format!(
            "set -o pipefail; for i in $(seq 20); do rm -rf '{scratch}/scaffold'; \
             '{naas}' {args} | head -n 1 >/dev/null || exit $?; done",
            scratch = dir.path().display(),
            args = quoted.join(" ")
        );
        let out = Command::new("bash")
            .args(["-c", &script])
            .current_dir(common::repo_root())
            .env_remove("NAAS_LOG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "naas {} | head -n 1: {:?}: {stderr}",
            args.join(" "),
            out.status
        );
        assert!(
            stderr.is_empty(),
            "naas {} | head -n 1 printed {stderr:?}",
            args.join(" ")
        );
    }
}
