//! Runtime loading: one compile per digest, even under concurrent loads, and cached artifacts reused across runtimes.

mod common;

use naas::runtime::{Limits, LoadOutcome, Runtime, RuntimeConfig};

#[test]
fn concurrent_loads_of_one_digest_compile_once() {
    let rt = Runtime::new(&RuntimeConfig::default()).unwrap();
    let bytes = std::fs::read(common::plugin_path("bgp_peering")).unwrap();
    let outcomes: Vec<LoadOutcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let (rt, bytes) = (&rt, &bytes);
                s.spawn(move || {
                    rt.load_bytes(&format!("copy-{i}"), bytes, Limits::default())
                        .unwrap()
                        .load_outcome()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let compiled = outcomes
        .iter()
        .filter(|o| **o == LoadOutcome::Compiled)
        .count();
    assert_eq!(compiled, 1, "{outcomes:?}");
}

#[test]
fn a_new_runtime_reuses_the_compiled_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let config = RuntimeConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..RuntimeConfig::default()
    };
    let path = common::plugin_path("access_ports");
    let first = Runtime::new(&config)
        .unwrap()
        .load_file(&path, Limits::default())
        .unwrap();
    assert_eq!(first.load_outcome(), LoadOutcome::Compiled);
    let second = Runtime::new(&config)
        .unwrap()
        .load_file(&path, Limits::default())
        .unwrap();
    assert_eq!(second.load_outcome(), LoadOutcome::FromCache);
    assert_eq!(first.digest(), second.digest());
    assert_eq!(first.info(), second.info());
}

#[test]
fn limits_out_of_range_are_refused_before_loading() {
    let path = common::plugin_path("access_ports");
    let tiny = Limits {
        memory_bytes: 1024,
        ..Limits::default()
    };
    let e = common::runtime().load_file(&path, tiny).unwrap_err();
    assert!(
        e.to_string().contains("memory limit 1024 bytes is outside"),
        "{e}"
    );
}
