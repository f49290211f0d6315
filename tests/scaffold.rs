//! `naas plugin new` scaffolds build and pass `naas plugin test` out of the box, in every language.

mod common;

use std::path::Path;
use std::process::Command;

fn naas(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_naas"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("running naas")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Scaffolds `lang`, runs its `build.sh` (whose last stdout line is the
/// component path) and checks the component against the scaffold's fixtures.
fn scaffold_builds_and_passes(lang: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = naas(
        &["plugin", "new", "--lang", lang, "port-banner"],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let project = tmp.path().join("port-banner");
    for f in [
        "wit/plugin.wit",
        "fixtures/context.yaml",
        "fixtures/basic/expected.yaml",
        "build.sh",
        "README.md",
    ] {
        assert!(project.join(f).is_file(), "{lang}: {f} missing");
    }
    let build = Command::new("bash")
        .arg("build.sh")
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", common::target_dir())
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "{lang} build failed:\n{}\n{}",
        text(&build.stdout),
        text(&build.stderr)
    );
    let stdout = text(&build.stdout);
    let component = stdout
        .lines()
        .last()
        .expect("build.sh prints the component path")
        .trim();
    let component = project.join(component);
    assert!(component.is_file(), "{}", component.display());
    let cache = tmp.path().join("cache");
    let test = naas(
        &[
            "--cache-dir",
            cache.to_str().unwrap(),
            "plugin",
            "test",
            component.to_str().unwrap(),
            "fixtures",
        ],
        &project,
    );
    let report = text(&test.stdout);
    assert!(
        test.status.success(),
        "{lang}: {report}\n{}",
        text(&test.stderr)
    );
    assert!(
        report.contains("PASS basic") && report.contains("PASS not-granted"),
        "{report}"
    );
    assert!(
        report.contains("port-banner: 2 passed, 0 failed"),
        "{report}"
    );
}

#[test]
fn rust_scaffold_builds_and_passes_its_fixtures() {
    scaffold_builds_and_passes("rust");
}

#[test]
fn python_scaffold_builds_and_passes_its_fixtures() {
    scaffold_builds_and_passes("python");
}

#[test]
fn js_scaffold_builds_and_passes_its_fixtures() {
    scaffold_builds_and_passes("js");
}

#[test]
fn scaffolding_into_a_non_empty_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("x")).unwrap();
    std::fs::write(tmp.path().join("x/keep"), "").unwrap();
    let out = naas(&["plugin", "new", "--lang", "rust", "x"], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("already exists and is not empty"),
        "{}",
        text(&out.stderr)
    );
}
