//! The sandbox holds where users run it: hostile plugins and amplifying templates through the `naas` binary (exit status, message, peak memory, time), and concurrent evaluations inside a multi-threaded tokio runtime.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use naas::inventory::Inventory;
use naas::pipeline::PipelineError;
use naas::plugin_set::PluginSet;
use naas::runtime::{Context, Error, Limits, Runtime, RuntimeConfig, Service};

/// A `Hostile` service manifest named `name`, with `spec`.
fn hostile_manifest(dir: &Path, name: &str, spec: &serde_json::Value) -> String {
    let doc = serde_json::json!({
        "apiVersion": "network.naas.io/v1alpha1",
        "kind": "Hostile",
        "metadata": {"name": name, "namespace": "tenant-a"},
        "spec": spec,
    });
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, doc.to_string()).unwrap();
    path.display().to_string()
}

/// `naas render` of one hostile service, measured.
fn render_hostile(cache: &Path, manifest: &str, extra: &[&str]) -> common::Measured {
    let hostile = common::plugin_path("hostile").display().to_string();
    let mut args = vec![
        "--cache-dir",
        cache.to_str().unwrap(),
        "render",
        "--plugin",
        &hostile,
        "-f",
        manifest,
        "--devices",
        "examples/devices.yaml",
    ];
    args.extend_from_slice(extra);
    common::run_measured(env!("CARGO_BIN_EXE_naas"), &args)
}

/// The host survived: exit status 1 (a failed service), not a crash, and no
/// panic of the host's own.
fn assert_contained(case: &str, m: &common::Measured) {
    assert_eq!(
        m.status.code(),
        Some(1),
        "{case}: expected exit status 1, got {:?}; stderr: {}",
        m.status,
        m.stderr
    );
    for crash in [
        "thread 'main' panicked",
        "Cannot start a runtime",
        "tokio-runtime-worker",
    ] {
        assert!(
            !m.stderr.contains(crash),
            "{case}: the host crashed: {}",
            m.stderr
        );
    }
    assert!(
        m.stdout.is_empty(),
        "{case}: no config may be printed: {}",
        m.stdout
    );
}

#[test]
fn every_hostile_case_through_the_binary_fails_cleanly_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    // Only the loop depends on the deadline; the others get one far above
    // their cost, so a busy machine cannot turn their error into a timeout.
    let generous: &[&str] = &["--timeout", "60s"];
    let cases: &[(&str, &[&str], &str)] = &[
        ("panic", generous, "hostile plugin panicked on purpose"),
        ("memory", generous, "exceeded its memory limit of 64 MiB"),
        (
            "loop",
            &["--timeout", "300ms"],
            "did not finish within 300ms",
        ),
        ("oversize", generous, "more than the limit of 4194304 bytes"),
        ("template-bomb", generous, "ran out of fuel"),
        ("fs", generous, "probe: read=/etc/passwd:"),
    ];
    for (name, extra, expected) in cases {
        let manifest = hostile_manifest(dir.path(), name, &serde_json::json!({}));
        let m = render_hostile(&cache, &manifest, extra);
        assert_contained(name, &m);
        assert!(m.stderr.contains(expected), "{name}: {}", m.stderr);
        assert!(
            m.stderr.contains(&format!("Hostile tenant-a/{name}")),
            "{name}: the error names the service: {}",
            m.stderr
        );
    }
    // The guest's stderr still explains the panic.
    let manifest = hostile_manifest(dir.path(), "panic", &serde_json::json!({}));
    let m = render_hostile(&cache, &manifest, generous);
    assert!(m.stderr.contains("plugin stderr:"), "{}", m.stderr);
    // The files probe found nothing: no file, no directory, no env, no args.
    let manifest = hostile_manifest(dir.path(), "fs", &serde_json::json!({}));
    let m = render_hostile(&cache, &manifest, generous);
    assert!(!m.stderr.contains("/etc/passwd: OK"), "{}", m.stderr);
    assert!(m.stderr.contains("env=0; args=0"), "{}", m.stderr);
    // A log flood is cut, and the call completes.
    let manifest = hostile_manifest(dir.path(), "log-flood", &serde_json::json!({}));
    let m = render_hostile(&cache, &manifest, generous);
    assert!(m.status.success(), "{}", m.stderr);
    assert!(m.stdout.contains("ok"), "{}", m.stdout);
}

/// Templates of under a hundred characters that try to make the host
/// allocate gigabytes or spin: repetition, doubling in a loop, join,
/// replace, indent, format, list growth, nested JSON, recursion, output
/// loops, pure CPU.
const AMPLIFIERS: &[(&str, &str)] = &[
    ("repeat", "{{ 'x' * 2000000000 }}"),
    ("repeat-nested", "{{ ('x' * 100000000) * 100 }}"),
    (
        "double-in-loop",
        "{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    ),
    ("join", "{{ range(100000)|join('x' * 100000) }}"),
    ("replace", "{{ ('a' * 100000)|replace('a', 'b' * 100000) }}"),
    ("indent", "{{ ('\n' * 100000)|indent(100000) }}"),
    (
        "format",
        "{{ '%s%s%s%s'|format('x'*100000000,'x'*100000000,'x'*100000000,'x'*100000000) }}",
    ),
    (
        "list-doubling",
        "{% set ns = namespace(l=[1,2,3,4,5,6,7,8]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|length }}",
    ),
    (
        "output-loop",
        "{% set x = 'x' * 1000000 %}{% for i in range(100000) %}{{ x }}{% endfor %}",
    ),
    (
        "nested-json",
        "{% set ns = namespace(d={'a':'x'*1000000}) %}{% for i in range(30) %}{% set ns.d = {'a': ns.d, 'b': ns.d} %}{% endfor %}{{ ns.d|tojson|length }}",
    ),
    (
        "recursion",
        "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    ),
    (
        "cpu",
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ (i ~ j)|upper|lower|length }}{% endfor %}{% endfor %}",
    ),
];

/// Peak memory any amplifier may cost the whole `naas` process.
const MAX_RSS_KIB: u64 = 256 << 10;

#[test]
fn amplifying_templates_are_bounded_in_memory_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let deadline = Duration::from_secs(1);
    // Warm the compiled cache so that the measured runs compile nothing.
    let warm = hostile_manifest(dir.path(), "benign", &serde_json::json!({}));
    assert!(
        render_hostile(&cache, &warm, &["--timeout", "60s"])
            .status
            .success()
    );
    let mut report = Vec::new();
    for (case, template) in AMPLIFIERS {
        let manifest = hostile_manifest(
            dir.path(),
            "template",
            &serde_json::json!({ "template": template }),
        );
        let m = render_hostile(&cache, &manifest, &["--timeout", "1s"]);
        assert_contained(case, &m);
        let stopped_by = [
            "memory limit",
            "ran out of fuel",
            "deadline",
            "did not finish within",
            "larger than the limit",
            "recursion limit",
        ];
        assert!(
            stopped_by.iter().any(|s| m.stderr.contains(s)),
            "{case}: stopped for an unexpected reason: {}",
            m.stderr
        );
        assert!(
            m.max_rss_kib < MAX_RSS_KIB,
            "{case}: the process peaked at {} MiB",
            m.max_rss_kib >> 10
        );
        assert!(
            m.elapsed < deadline + Duration::from_secs(1),
            "{case}: took {:?} with a deadline of {deadline:?}",
            m.elapsed
        );
        report.push(format!(
            "{case}: {} MiB, {:?}",
            m.max_rss_kib >> 10,
            m.elapsed
        ));
    }
    eprintln!("amplifiers (peak RSS, time):\n  {}", report.join("\n  "));
}

#[test]
fn a_template_that_renders_fine_still_renders_in_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = hostile_manifest(
        dir.path(),
        "template",
        &serde_json::json!({
            "template": "{% for p in ports %}\ndescription {{ p | xml }}\n{% endfor %}\n",
            "vars": {"ports": ["Ethernet1", "a<b"]},
        }),
    );
    let m = render_hostile(&dir.path().join("cache"), &manifest, &["--timeout", "60s"]);
    assert!(m.status.success(), "{}", m.stderr);
    assert!(
        m.stdout
            .contains("description Ethernet1\ndescription a&lt;b\n"),
        "{}",
        m.stdout
    );
}

fn service(kind: &str, name: &str, spec: serde_json::Value) -> Service {
    Service {
        api_version: "network.naas.io/v1alpha1".into(),
        kind: kind.into(),
        namespace: "tenant-a".into(),
        name: name.into(),
        generation: 1,
        labels: vec![],
        spec: spec.to_string(),
    }
}

fn context() -> Arc<Context> {
    let inventory = Inventory::load(&common::repo_root().join("examples/devices.yaml")).unwrap();
    Arc::new(inventory.context_for("tenant-a", &serde_json::json!({})))
}

/// A runtime of this test's own, sharing the compiled cache of the tests.
fn runtime(max_concurrent_calls: usize) -> Runtime {
    Runtime::new(&RuntimeConfig {
        cache_dir: Some(common::target_dir().join("naas-test-cache")),
        max_concurrent_calls,
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inside_tokio_hostile_evaluations_are_errors_and_do_not_stall_the_others() {
    let rt = runtime(4);
    let slow = Limits {
        timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let hostile = rt
        .load_file_async(common::plugin_path("hostile"), slow)
        .await
        .unwrap();
    let ports = rt
        .load_file_async(common::plugin_path("access_ports"), Limits::default())
        .await
        .unwrap();
    let set = Arc::new(PluginSet::new([hostile, ports]).unwrap());
    let ctx = context();

    // A plugin that spins for its whole (long) deadline...
    let looping = {
        let (set, rt, ctx) = (set.clone(), rt.clone(), ctx.clone());
        tokio::spawn(async move {
            let s = service("Hostile", "loop", serde_json::json!({}));
            set.evaluate(rt.executor(), s, ctx).await
        })
    };
    // ...does not hold up the others: each of these finishes while it spins.
    let spec = serde_json::json!({"device": "leaf1", "ports": "Ethernet1-4", "vlan": 120});
    let started = Instant::now();
    let good: Vec<_> = (0..40)
        .map(|i| {
            let (set, rt, ctx) = (set.clone(), rt.clone(), ctx.clone());
            let s = service("AccessPorts", &format!("web-{i}"), spec.clone());
            tokio::spawn(async move { set.evaluate(rt.executor(), s, ctx).await })
        })
        .collect();
    for g in good {
        let e = g.await.unwrap().expect("a good service renders");
        assert_eq!(e.configs[0].device, "leaf1");
    }
    assert!(
        !looping.is_finished(),
        "the good services finished only after the looping one ({:?})",
        started.elapsed()
    );

    // A panic and an out-of-memory plugin are errors, not a crashed runtime.
    for (name, expected) in [
        ("panic", "hostile plugin panicked on purpose"),
        ("memory", "exceeded its memory limit"),
    ] {
        let s = service("Hostile", name, serde_json::json!({}));
        let e = set
            .evaluate(rt.executor(), s, ctx.clone())
            .await
            .unwrap_err();
        assert!(e.to_string().contains(expected), "{name}: {e}");
    }
    let looped = looping.await.unwrap().unwrap_err();
    assert!(
        matches!(
            looped,
            PipelineError::Plugin {
                source: Error::Timeout { .. },
                ..
            }
        ),
        "{looped}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_current_thread_runtime_evaluates_hostile_plugins_too() {
    let rt = runtime(2);
    let hostile = rt
        .load_file_async(common::plugin_path("hostile"), Limits::default())
        .await
        .unwrap();
    let set = PluginSet::new([hostile]).unwrap();
    let s = service("Hostile", "panic", serde_json::json!({}));
    let e = set.evaluate(rt.executor(), s, context()).await.unwrap_err();
    assert!(e.to_string().contains("plugin stderr:"), "{e}");
    let s = service("Hostile", "benign", serde_json::json!({}));
    let ok = set.evaluate(rt.executor(), s, context()).await.unwrap();
    assert_eq!(ok.configs[0].text, "ok");
}

#[test]
fn hostile_components_at_load_fail_cleanly_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let mut truncated = std::fs::read(common::plugin_path("access_ports")).unwrap();
    truncated.truncate(truncated.len() / 2);
    let wrong_world = wat::parse_str(
        r#"(component
             (core module $m (func (export "f") (result i32) i32.const 1))
             (core instance $i (instantiate $m))
             (func (export "hello") (result u32) (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    let ungranted =
        wat::parse_str(r#"(component (import "wasi:http/outgoing-handler@0.2.0" (instance (export "run" (func)))))"#)
            .unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "garbage",
            b"this is not wasm at all".to_vec(),
            "magic bytes",
        ),
        (
            "core-module",
            wat::parse_str("(module)").unwrap(),
            "core Wasm module",
        ),
        ("truncated", truncated, "failed to compile"),
        (
            "wrong-world",
            wrong_world,
            "does not implement the world naas:plugin/plugin",
        ),
        ("ungranted", ungranted, "wasi:http/outgoing-handler@0.2.0"),
    ];
    for (name, bytes, expected) in cases {
        let file = dir.path().join(format!("{name}.wasm"));
        std::fs::write(&file, bytes).unwrap();
        let m = common::run_measured(
            env!("CARGO_BIN_EXE_naas"),
            &[
                "--cache-dir",
                dir.path().join("cache").to_str().unwrap(),
                "describe",
                "--plugin",
                file.to_str().unwrap(),
            ],
        );
        assert_contained(name, &m);
        assert!(m.stderr.contains(expected), "{name}: {}", m.stderr);
        assert!(
            m.stderr.contains(&format!("{name}.wasm")),
            "{name}: the error names the file: {}",
            m.stderr
        );
    }
}

/// Calls of `export` on the plugin loaded from `path`, from the process's metrics.
fn calls(path: &Path, export: &str) -> u64 {
    let plugin = format!("plugin=\"{}\"", path.display());
    let export = format!("export=\"{export}\"");
    naas::metrics::global()
        .encode()
        .lines()
        .find(|l| {
            l.starts_with("naas_plugin_call_duration_seconds_count")
                && l.contains(&plugin)
                && l.contains(&export)
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// The operator's memo: the same service in the same context is evaluated
/// once; a change of any input is evaluated anew; a refusal is never kept.
/// An already expanded spec is validated once, not twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memo_reuses_an_evaluation_only_for_the_same_inputs() {
    // A file of this test's own, so that no other test's calls are counted.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("memo-access-ports.wasm");
    std::fs::copy(common::plugin_path("access_ports"), &path).unwrap();
    let rt = runtime(2);
    let plugin = rt
        .load_file_async(path.clone(), Limits::default())
        .await
        .unwrap();
    let memo = Arc::new(naas::evaluations::Evaluations::new(16));
    let set = PluginSet::new([plugin]).unwrap().with_memo(memo.clone());
    let ctx = context();
    let counts = || ["validate", "expand", "render"].map(|e| calls(&path, e));
    // Evaluates `s` in `ctx`: its result, and the validate, expand and render calls it made.
    let run = |s: Service, ctx: Arc<Context>| {
        let (set, rt) = (set.clone(), rt.clone());
        async move {
            let before = counts();
            let result = set.evaluate(rt.executor(), s, ctx).await;
            let after = counts();
            (result, [0, 1, 2].map(|i| after[i] - before[i]))
        }
    };
    let spec = serde_json::json!({"device": "leaf1", "ports": "Ethernet1-2", "vlan": 120});

    // Expanded: validated before and after expand.
    let (first, made) = run(service("AccessPorts", "web", spec.clone()), ctx.clone()).await;
    let first = first.unwrap();
    assert_eq!(made, [2, 1, 1]);

    // The same inputs: no plugin call, the same evaluation.
    let reused = naas::metrics::global().evaluations_reused();
    let (again, made) = run(service("AccessPorts", "web", spec.clone()), ctx.clone()).await;
    let again = again.unwrap();
    assert_eq!(made, [0, 0, 0]);
    assert_eq!(naas::metrics::global().evaluations_reused(), reused + 1);
    assert_eq!(again.configs, first.configs);
    assert_eq!(again.service.spec, first.service.spec);

    // The expanded spec (as admission stores it): validated once.
    let expanded: serde_json::Value = serde_json::from_str(&first.service.spec).unwrap();
    let (_, made) = run(service("AccessPorts", "web", expanded), ctx.clone()).await;
    assert_eq!(made, [1, 1, 1]);

    // Another generation, another context: evaluated anew.
    let mut newer = service("AccessPorts", "web", spec.clone());
    newer.generation = 2;
    let (result, made) = run(newer, ctx.clone()).await;
    assert!(result.is_ok() && made == [2, 1, 1], "{made:?}");
    let mut other = (*ctx).clone();
    other.variables = serde_json::json!({"site": "ams"}).to_string();
    let (result, made) = run(service("AccessPorts", "web", spec.clone()), Arc::new(other)).await;
    assert!(result.is_ok() && made == [2, 1, 1], "{made:?}");

    // A refusal is evaluated each time.
    let bad = serde_json::json!({"device": "leaf1", "ports": "Ethernet1", "vlan": 5000});
    for _ in 0..2 {
        let (e, made) = run(service("AccessPorts", "bad", bad.clone()), ctx.clone()).await;
        let e = e.unwrap_err();
        assert!(matches!(e, PipelineError::Invalid { .. }), "{e}");
        assert_eq!(made, [1, 0, 0]);
    }
    assert_eq!(memo.len(), 4, "the four successful evaluations");
}
