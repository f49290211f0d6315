//! OCI load report: cold load (pull + verify + compile) and warm load (verified cache, nothing downloaded or compiled) of the Rust plugins and the Python and JavaScript AccessPorts components from a local registry, against the targets.
//!
//! `cargo bench -p naas --bench oci_load` prints the table (targets: Rust
//! cold ≤ 1 s and warm ≤ 10 ms; the 12–18 MB Python/JavaScript components
//! warm ≤ 50 ms, their cold load is reported without a target). Under
//! `cargo test` (no `--bench` argument) it runs each row once or twice as a
//! smoke test. A counting proxy in front of the registry checks that warm
//! loads make no request at all. The Python and JavaScript components come
//! from `scripts/build-polyglot.sh`.

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/common/registry.rs"]
mod registry;
#[allow(dead_code)] // `sample` is for the other report benches
mod stats;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use naas::oci::{Fetcher, PluginRef, PushRequest, RegistryOptions, Source};
use naas::runtime::{Limits, LoadOutcome, Runtime, RuntimeConfig};
use registry::{CountingProxy, Registry};
use stats::pct;

/// One plugin measured, and what it is held to.
struct Row {
    name: &'static str,
    path: PathBuf,
    /// Cold load (pull + verify + compile), if there is a target for it.
    cold_target: Option<Duration>,
    /// Warm load (verified cache + compiled artifact, no request).
    warm_target: Duration,
    /// Samples: (cold, warm) in the full run, and under `cargo test`.
    full: (usize, usize),
    smoke: (usize, usize),
}

fn rows() -> Vec<Row> {
    let rust = |name| Row {
        name,
        path: common::plugin_path(name),
        cold_target: Some(Duration::from_secs(1)),
        warm_target: Duration::from_millis(10),
        full: (10, 200),
        smoke: (1, 2),
    };
    // Compiling 12-18 MB takes seconds on 2 cores: fewer cold samples.
    let polyglot = |name| Row {
        name,
        path: common::polyglot_path(name),
        cold_target: None,
        warm_target: Duration::from_millis(50),
        full: (3, 50),
        smoke: (1, 1),
    };
    vec![
        rust("access_ports"),
        rust("bgp_peering"),
        polyglot("access_ports_py"),
        polyglot("access_ports_js"),
    ]
}

fn fetcher(host: &str, cache: &std::path::Path) -> Fetcher {
    let opts = RegistryOptions {
        insecure_registries: vec![host.to_string()],
        ..RegistryOptions::default()
    };
    Fetcher::new(opts, Some(&cache.join("oci"))).expect("fetcher")
}

fn runtime(cache: &std::path::Path) -> Runtime {
    Runtime::new(&RuntimeConfig {
        cache_dir: Some(cache.join("compiled")),
        ..RuntimeConfig::default()
    })
    .expect("runtime")
}

/// Fetches `r` and loads it into `rt`; returns the time taken and how.
fn load(
    tokio: &tokio::runtime::Runtime,
    f: &Fetcher,
    rt: &Runtime,
    r: &PluginRef,
) -> (Duration, Source, LoadOutcome) {
    let t = Instant::now();
    let got = tokio.block_on(f.fetch(r)).expect("fetch");
    let plugin = rt
        .load_verified(
            "bench",
            &got.component,
            got.component_digest.clone(),
            Limits::default(),
        )
        .expect("load");
    (t.elapsed(), got.source, plugin.load_outcome())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn verdict(d: Duration, target: Duration) -> &'static str {
    if d <= target { "ok" } else { "OVER TARGET" }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    let reg = Registry::start();
    let proxy = CountingProxy::start(reg.addr());
    let p = proxy.host();

    println!(
        "naas OCI load ({} samples; local registry on {p}; times in ms)",
        if full { "full" } else { "smoke" }
    );
    println!(
        "{:<16} {:>8} {:>9}  {:>21}  {:>19}  verdicts",
        "plugin", "KiB", "cold/warm", "cold p50 / max", "warm p50 / p99"
    );
    for row in rows() {
        let (n_cold, n_warm) = if full { row.full } else { row.smoke };
        let name = row.name;
        let bytes = std::fs::read(&row.path).expect("plugin");
        let size = bytes.len();
        let setup = tempfile::tempdir().expect("temp dir");
        let req = PushRequest {
            reference: PluginRef::parse(&format!("{}/naas/{name}:bench", reg.host()), None)
                .expect("ref"),
            component: bytes,
            title: Some(format!("{name}.wasm")),
            annotations: Default::default(),
            created: None,
        };
        let pushed = tokio
            .block_on(fetcher(&reg.host(), setup.path()).push(&req))
            .expect("push");
        let by_tag = PluginRef::parse(&format!("{p}/naas/{name}:bench"), None).expect("ref");
        let pinned = PluginRef::parse(&format!("{p}/naas/{name}@{}", pushed.manifest_digest), None)
            .expect("ref");

        // Cold: an empty cache every time: resolve, download, verify, compile.
        // The last cache is kept for the warm loads.
        let mut warm_cache = None;
        let mut cold: Vec<Duration> = (0..n_cold)
            .map(|_| {
                let cache = tempfile::tempdir().expect("temp dir");
                let (f, rt) = (fetcher(&p, cache.path()), runtime(cache.path()));
                let (d, source, outcome) = load(&tokio, &f, &rt, &by_tag);
                assert_eq!(
                    (source, outcome),
                    (Source::Registry, LoadOutcome::Compiled),
                    "{name}: a cold load downloads and compiles"
                );
                warm_cache = Some(cache);
                d
            })
            .collect();
        cold.sort();

        // Warm: a restart on a warm cache (new fetcher and runtime, built
        // outside the timing), digest-pinned: re-hash the cached manifest
        // and blobs, load the compiled artifact, and make no request.
        let cache = warm_cache.expect("at least one cold load");
        let before = (proxy.connections(), proxy.requests().len());
        let mut warm: Vec<Duration> = (0..n_warm)
            .map(|_| {
                let (f, rt) = (fetcher(&p, cache.path()), runtime(cache.path()));
                let (d, source, outcome) = load(&tokio, &f, &rt, &pinned);
                assert_eq!(
                    (source, outcome),
                    (Source::Cache, LoadOutcome::FromCache),
                    "{name}: a warm load downloads and compiles nothing"
                );
                d
            })
            .collect();
        warm.sort();
        assert_eq!(
            (proxy.connections(), proxy.requests().len()),
            before,
            "{name}: a warm load made a registry request: {:?}",
            &proxy.requests()[before.1..]
        );

        let (c50, cmax, w50, w99) = (
            pct(&cold, 0.5),
            pct(&cold, 1.0),
            pct(&warm, 0.5),
            pct(&warm, 0.99),
        );
        let cold_verdict = match row.cold_target {
            Some(t) => format!("cold {} (≤ {} ms)", verdict(cmax, t), t.as_millis()),
            None => "cold: no target".to_string(),
        };
        println!(
            "{name:<16} {:>8} {:>9}  {:>9.1} / {:>9.1}  {:>8.2} / {:>8.2}  {cold_verdict}, warm {} (≤ {} ms)",
            size / 1024,
            format!("{n_cold}/{n_warm}"),
            ms(c50),
            ms(cmax),
            ms(w50),
            ms(w99),
            verdict(w99, row.warm_target),
            row.warm_target.as_millis(),
        );
    }
    println!("warm loads made 0 registry requests (counted by a proxy in front of the registry)");
}
