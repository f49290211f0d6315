//! Builds the template sandbox (crate `naas-template-engine`) as a core Wasm
//! module for `wasm32-unknown-unknown` and hands its path to the host, which
//! embeds it (`include_bytes!`) and runs every plugin template inside it.
//!
//! A nested Cargo run (a release build) with a target directory of its own (so it never
//! waits on the lock of the build that runs this script), in release mode,
//! offline-friendly (`--locked`; the outer build already fetched the crates).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";
const CRATE: &str = "naas-template-engine";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest_dir.parent().expect("host/ sits in the workspace");
    let engine = workspace.join("template-engine");
    for watched in [engine.join("src"), engine.join("Cargo.toml")] {
        println!("cargo:rerun-if-changed={}", watched.display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.lock").display()
    );

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    let target_dir = shared_target_dir(&out_dir).join("template-engine");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            TARGET,
            "-p",
            CRATE,
        ])
        // One optimised, stripped unit: ~20% less code for Cranelift to
        // compile when a host starts with a cold cache.
        .args(["--config", "profile.release.lto=true"])
        .args(["--config", "profile.release.codegen-units=1"])
        .args(["--config", "profile.release.strip=true"])
        .arg("--target-dir")
        .arg(&target_dir);
    // What the outer build set for itself must not leak into the Wasm build:
    // clippy's wrapper, host rustflags, the outer target.
    for var in [
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().unwrap_or_else(|e| {
        panic!("cannot run cargo to build the template sandbox: {e}");
    });
    if !status.success() {
        panic!(
            "building the template sandbox ({CRATE} for {TARGET}) failed (see above); \
             if the target is missing: rustup target add {TARGET}"
        );
    }
    let wasm = target_dir
        .join(TARGET)
        .join("release")
        .join(format!("{}.wasm", CRATE.replace('-', "_")));
    assert!(
        wasm.is_file(),
        "the template sandbox was not built at {}",
        wasm.display()
    );
    println!(
        "cargo:rustc-env=NAAS_TEMPLATE_ENGINE_WASM={}",
        wasm.display()
    );
}

/// The outer build's target directory (`OUT_DIR` is
/// `<target>/<profile>/build/<pkg>-<hash>/out`), so that every profile and
/// clippy share one build of the sandbox.
fn shared_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .nth(4)
        .map_or_else(|| out_dir.to_path_buf(), Path::to_path_buf)
}
