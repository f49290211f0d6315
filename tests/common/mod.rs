//! Shared helpers for the integration tests: locating the built plugins and the fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use naas::runtime::{Limits, Plugin, Runtime, RuntimeConfig};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// Where `cargo` put build outputs (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                repo_root().join(d)
            }
        }
        None => repo_root().join("target"),
    }
}

/// The component built by `scripts/build-plugins.sh` for crate `name`
/// (e.g. `access_ports`).
pub fn plugin_path(name: &str) -> PathBuf {
    let path = target_dir()
        .join("wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run scripts/build-plugins.sh (scripts/test.sh does) before the tests",
        path.display()
    );
    path
}

/// A component built by `scripts/build-polyglot.sh` (`access_ports_py`,
/// `access_ports_js`).
pub fn polyglot_path(name: &str) -> PathBuf {
    let path = target_dir().join("polyglot").join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run scripts/build-polyglot.sh (scripts/test.sh does) before the tests",
        path.display()
    );
    path
}

/// A fixture under `tests/data/`.
pub fn data(rel: &str) -> PathBuf {
    repo_root().join("tests/data").join(rel)
}

/// One runtime per test binary. Its compiled-artifact cache lives beside the
/// build outputs and survives runs: artifacts are keyed by component digest
/// and engine hash, so a rebuilt plugin or engine never reuses a stale one,
/// and the 12-18 MB Python/JS components are compiled once per machine, not
/// once per test binary. (Tests of compiling itself use their own temp dirs.)
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        Runtime::new(&RuntimeConfig {
            cache_dir: Some(target_dir().join("naas-test-cache")),
        })
        .expect("runtime")
    })
}

/// Loads a built plugin with default limits into the shared runtime.
pub fn load(name: &str) -> Plugin {
    runtime()
        .load_file(&plugin_path(name), Limits::default())
        .unwrap_or_else(|e| panic!("loading {name}: {e}"))
}
