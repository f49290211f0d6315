//! Latency report: p50/p99 of one service evaluation (Wasm and native), instantiation, and compile vs cached load, with ratios measured in the same run.
//!
//! `cargo bench -p naas --bench latency` prints the table. Under `cargo test`
//! (no `--bench` argument) it runs a few iterations as a smoke test.

#[path = "../../tests/common/mod.rs"]
mod common;
mod fixture;
mod stats;

use std::hint::black_box;
use std::time::{Duration, Instant};

use stats::{pct, sample};

use naas::digest::Digest;
use naas::pipeline::evaluate;
use naas::runtime::{ArtifactCache, LoadOutcome};
use naas_plugin_sdk::testing::TestHost;

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn row(name: &str, d: &[Duration]) {
    println!(
        "{name:<44} p50 {:>9.1} µs   p99 {:>9.1} µs",
        us(pct(d, 0.5)),
        us(pct(d, 0.99))
    );
}

/// One device template of 48 ports, rendered natively (the old host path)
/// and in the template sandbox (fresh instance, then reused).
fn template_costs(
    rt: &naas::runtime::Runtime,
    n: usize,
) -> (Vec<Duration>, Vec<Duration>, Vec<Duration>) {
    use std::sync::Arc;
    let template = "{% for p in ports %}\ninterface {{ p }}\n   description {{ description }}\n   switchport access vlan {{ vlan }}\n   no shutdown\n{% endfor %}\n";
    let ports: Vec<String> = (1..=48).map(|i| format!("Ethernet{i}")).collect();
    let vars = serde_json::json!({"ports": ports, "vlan": 120, "description": "web servers"});
    let vars_text = vars.to_string();
    let env = naas_template_engine::environment();
    let native = sample(n, || {
        let t = env.template_from_str(template).unwrap();
        black_box(
            t.render(minijinja::Value::from(minijinja::value::Serde(&vars)))
                .unwrap(),
        );
    });
    let engine = Arc::new(naas::template::TemplateEngine::new(
        rt.engine(),
        rt.cache().cloned(),
    ));
    let far = Instant::now() + Duration::from_secs(3600);
    let limit = Duration::from_secs(1);
    let fresh = sample(n, || {
        let mut i = engine.instantiate(64 << 20).unwrap();
        black_box(i.render(template, &vars_text, 4 << 20, far, limit).unwrap());
    });
    let mut i = engine.instantiate(64 << 20).unwrap();
    let again = sample(n, || {
        black_box(i.render(template, &vars_text, 4 << 20, far, limit).unwrap());
    });
    (native, fresh, again)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (n, n_compile) = if full { (20_000, 20) } else { (20, 2) };

    let plugin = common::load("access_ports");
    let (service, ctx) = fixture::service_and_context();
    let wasm = sample(n, || {
        black_box(evaluate(&plugin, &service, &ctx).unwrap());
    });
    let inst = sample(n, || {
        black_box(plugin.session().unwrap());
    });
    // Per-stage costs inside one fresh Store (after instantiation).
    let mut stages: [Vec<Duration>; 3] = Default::default();
    for _ in 0..n {
        let mut session = plugin.session().unwrap();
        let t = Instant::now();
        session.validate(&service, &ctx).unwrap().unwrap();
        stages[0].push(t.elapsed());
        let t = Instant::now();
        let spec = session.expand(&service, &ctx).unwrap().unwrap();
        stages[1].push(t.elapsed());
        let expanded = naas::runtime::Service {
            spec,
            ..service.clone()
        };
        session.validate(&expanded, &ctx).unwrap().unwrap();
        let t = Instant::now();
        black_box(session.render(&expanded, &ctx).unwrap().unwrap());
        stages[2].push(t.elapsed());
    }
    for s in &mut stages {
        s.sort();
    }
    let host = TestHost::new();
    let (ns, nc) = fixture::native_inputs(&service, &ctx);
    let native = sample(n, || {
        black_box(fixture::native_pipeline(&host, &ns, &nc));
    });

    let rt = common::runtime();
    let bytes = std::fs::read(common::plugin_path("access_ports")).unwrap();
    let digest = Digest::of(&bytes);
    let compile = sample(n_compile, || {
        let dir = tempfile::tempdir().unwrap();
        let cache = ArtifactCache::open(dir.path()).unwrap();
        let (_, o) = cache
            .load_or_compile(rt.engine(), "bench", &digest, &bytes)
            .unwrap();
        assert_eq!(o, LoadOutcome::Compiled);
    });
    let dir = tempfile::tempdir().unwrap();
    let cache = ArtifactCache::open(dir.path()).unwrap();
    cache
        .load_or_compile(rt.engine(), "bench", &digest, &bytes)
        .unwrap();
    let cached = sample(n_compile * 10, || {
        let (_, o) = cache
            .load_or_compile(rt.engine(), "bench", &digest, &bytes)
            .unwrap();
        assert_eq!(o, LoadOutcome::FromCache);
    });
    let artifact = cache.artifact_path(rt.engine(), &digest);
    let raw = sample(n_compile * 10, || {
        // SAFETY: written by this engine just above (the bench's baseline).
        black_box(unsafe {
            wasmtime::component::Component::deserialize_file(rt.engine(), &artifact).unwrap()
        });
    });
    let (tpl_native, tpl_fresh, tpl_again) = template_costs(rt, n);

    println!(
        "naas latency ({} samples per row; component {} KiB)",
        n,
        bytes.len() / 1024
    );
    row("AccessPorts service, Wasm (fresh Store)", &wasm);
    row("  of which instantiation (fresh Store)", &inst);
    row("  validate call", &stages[0]);
    row("  expand call", &stages[1]);
    row("  render call (templates on the host)", &stages[2]);
    row("AccessPorts service, native Rust", &native);
    row("compile component (cold, into cache)", &compile);
    row("load compiled component (checksum + deserialize)", &cached);
    row("  without the checksum (deserialize_file only)", &raw);
    row("template, native minijinja (trusted baseline)", &tpl_native);
    row("template, sandbox: fresh instance + render", &tpl_fresh);
    row("template, sandbox: next render, same instance", &tpl_again);
    println!(
        "ratios (p50): checksummed/raw load {:.2}x   sandboxed/native template {:.1}x (fresh {:.1}x)",
        us(pct(&cached, 0.5)) / us(pct(&raw, 0.5)),
        us(pct(&tpl_again, 0.5)) / us(pct(&tpl_native, 0.5)),
        us(pct(&tpl_fresh, 0.5)) / us(pct(&tpl_native, 0.5)),
    );
    println!(
        "ratios (p50): wasm/native {:.1}x   compile/cached-load {:.0}x",
        us(pct(&wasm, 0.5)) / us(pct(&native, 0.5)),
        us(pct(&compile, 0.5)) / us(pct(&cached, 0.5)),
    );
}
