//! Hostile components are contained with a clear error, and the host keeps serving the next call.

mod common;

use std::time::Duration;

use naas::inventory::Inventory;
use naas::pipeline::{PipelineError, evaluate};
use naas::runtime::{Error, Limits, Plugin, Service};

fn service(name: &str) -> Service {
    Service {
        api_version: "network.naas.io/v1alpha1".into(),
        kind: "Hostile".into(),
        namespace: "tenant-a".into(),
        name: name.into(),
        generation: 1,
        labels: vec![],
        spec: "{}".into(),
    }
}

fn hostile(limits: Limits) -> Plugin {
    common::runtime()
        .load_file(&common::plugin_path("hostile"), limits)
        .expect("the hostile plugin loads: it only misbehaves when called")
}

/// For the one test about the deadline itself.
fn fast_limits() -> Limits {
    Limits {
        timeout: Duration::from_millis(200),
        ..Limits::default()
    }
}

/// For every other case: a deadline far above its normal cost (well under a
/// second), so a busy machine cannot turn the expected error into a timeout.
fn generous_limits() -> Limits {
    Limits {
        timeout: Duration::from_secs(60),
        ..Limits::default()
    }
}

/// Evaluates `name` and returns the runtime error it must cause.
fn runtime_error(plugin: &Plugin, name: &str) -> Error {
    let ctx = context();
    match evaluate(plugin, &service(name), &ctx) {
        Err(PipelineError::Plugin { source, .. }) => source,
        other => panic!("{name}: expected a runtime error, got {other:?}"),
    }
}

fn context() -> naas::runtime::Context {
    Inventory::parse(
        "devices: [{name: leaf1, platform: eos, grants: [{tenant: tenant-a}]}]",
        "x",
    )
    .unwrap()
    .context_for("tenant-a", &serde_json::json!({}))
}

/// The plugin still answers a well-behaved call after a hostile one.
fn assert_still_serves(plugin: &Plugin) {
    let e = evaluate(plugin, &service("benign"), &context())
        .unwrap_or_else(|e| panic!("the next call failed: {e}"));
    assert_eq!(e.configs.len(), 1);
    assert_eq!(e.configs[0].text, "ok");
}

#[test]
fn infinite_loop_hits_the_deadline() {
    let p = hostile(fast_limits());
    let e = runtime_error(&p, "loop");
    assert!(
        matches!(
            e,
            Error::Timeout {
                call: "validate",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("did not finish within 200ms"), "{e}");
    assert_still_serves(&p);
}

#[test]
fn memory_bomb_hits_the_limit() {
    let p = hostile(Limits {
        memory_bytes: 16 << 20,
        ..generous_limits()
    });
    let e = runtime_error(&p, "memory");
    assert!(matches!(e, Error::MemoryLimit { limit_mib: 16, .. }), "{e}");
    assert_still_serves(&p);
}

#[test]
fn panic_is_a_trap_with_the_panic_message() {
    let p = hostile(generous_limits());
    let e = runtime_error(&p, "panic");
    assert!(
        matches!(
            e,
            Error::Trap {
                call: "validate",
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("hostile plugin panicked on purpose"),
        "{e}"
    );
    assert_still_serves(&p);
}

#[test]
fn oversize_output_is_refused() {
    let p = hostile(Limits {
        max_output_bytes: 1 << 20,
        ..generous_limits()
    });
    let e = runtime_error(&p, "oversize");
    assert!(
        matches!(
            e,
            Error::OutputTooLarge {
                call: "render",
                limit: 1_048_576,
                ..
            }
        ),
        "{e}"
    );
    assert_still_serves(&p);
}

#[test]
fn no_files_env_or_args_are_granted() {
    let p = hostile(generous_limits());
    let err = evaluate(&p, &service("fs"), &context()).unwrap_err();
    let v = err
        .violations()
        .expect("the probe reports through a violation");
    let msg = &v[0].message;
    assert!(
        !msg.contains("read=/etc/passwd: OK"),
        "file read allowed: {msg}"
    );
    assert!(
        !msg.contains("readdir=/: OK"),
        "directory listing allowed: {msg}"
    );
    assert!(msg.contains("env=0") && msg.contains("args=0"), "{msg}");
}

#[test]
fn template_bomb_is_stopped_by_the_host() {
    let p = hostile(generous_limits());
    let err = evaluate(&p, &service("template-bomb"), &context()).unwrap_err();
    let v = err
        .violations()
        .expect("the host's template error reaches the plugin");
    assert!(v[0].message.contains("fuel"), "{v:?}");
    assert_still_serves(&p);
}

#[test]
fn log_flood_is_bounded_and_the_call_completes() {
    let p = hostile(generous_limits());
    let e = evaluate(&p, &service("log-flood"), &context())
        .unwrap_or_else(|e| panic!("log flood must not fail the call: {e}"));
    assert_eq!(e.configs[0].text, "ok");
}

fn load_bytes(bytes: &[u8]) -> Error {
    common::runtime()
        .load_bytes("test-component", bytes, Limits::default())
        .expect_err("must be refused")
}

#[test]
fn invalid_bytes_are_not_a_component() {
    let e = load_bytes(b"this is not wasm at all");
    assert!(matches!(e, Error::NotAComponent { .. }), "{e}");
    assert!(e.to_string().contains("magic bytes"), "{e}");
}

#[test]
fn a_core_module_gets_a_hint() {
    let core = wat::parse_str("(module)").unwrap();
    let e = load_bytes(&core);
    assert!(
        e.to_string()
            .contains("core Wasm module; build it for wasm32-wasip2"),
        "{e}"
    );
}

#[test]
fn a_truncated_component_fails_to_compile() {
    let mut bytes = std::fs::read(common::plugin_path("access_ports")).unwrap();
    bytes.truncate(bytes.len() / 2);
    let e = load_bytes(&bytes);
    assert!(matches!(e, Error::Compile { .. }), "{e}");
}

#[test]
fn a_component_of_the_wrong_world_is_refused() {
    let other = wat::parse_str(
        r#"(component
             (core module $m (func (export "f") (result i32) i32.const 1))
             (core instance $i (instantiate $m))
             (func (export "hello") (result u32) (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    let e = load_bytes(&other);
    assert!(matches!(e, Error::Link { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("does not implement the world naas:plugin/plugin"),
        "{e}"
    );
}

#[test]
fn a_component_importing_an_ungranted_capability_is_refused() {
    for import in ["wasi:http/outgoing-handler@0.2.0", "naas:evil/exec@0.1.0"] {
        let c = wat::parse_str(format!(
            r#"(component (import "{import}" (instance (export "run" (func)))))"#
        ))
        .unwrap();
        let e = load_bytes(&c);
        assert!(matches!(e, Error::Link { .. }), "{e}");
        assert!(e.to_string().contains(import), "{e}");
    }
}
