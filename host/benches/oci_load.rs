//! OCI load report: cold load (pull + verify + compile) and warm load (verified cache, nothing downloaded or compiled) of the Rust plugins from a local registry, against the targets.
//!
//! `cargo bench -p naas --bench oci_load` prints the table (targets: cold
//! ≤ 1 s, warm ≤ 10 ms). Under `cargo test` (no `--bench` argument) it runs
//! each row once or twice as a smoke test. A counting proxy in front of the
//! registry checks that warm loads make no request at all.

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/common/registry.rs"]
mod registry;
#[allow(dead_code)] // `sample` is for the other report benches
mod stats;

use std::time::{Duration, Instant};

use naas::oci::{Fetcher, PluginRef, PushRequest, RegistryOptions, Source};
use naas::runtime::{Limits, LoadOutcome, Runtime, RuntimeConfig};
use registry::{CountingProxy, Registry};
use stats::pct;

const COLD_TARGET: Duration = Duration::from_secs(1);
const WARM_TARGET: Duration = Duration::from_millis(10);

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
    let (n_cold, n_warm) = if full { (10, 200) } else { (1, 2) };
    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    let reg = Registry::start();
    let proxy = CountingProxy::start(reg.addr());
    let p = proxy.host();

    println!(
        "naas OCI load ({n_cold} cold and {n_warm} warm samples per plugin; local registry on {p})"
    );
    println!(
        "{:<14} {:>8}  {:>22}  {:>22}",
        "plugin", "KiB", "cold p50 / max (ms)", "warm p50 / p99 (ms)"
    );
    for name in ["access_ports", "bgp_peering"] {
        let bytes = std::fs::read(common::plugin_path(name)).expect("plugin");
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
        let mut cold: Vec<Duration> = (0..n_cold)
            .map(|_| {
                let cache = tempfile::tempdir().expect("temp dir");
                let (f, rt) = (fetcher(&p, cache.path()), runtime(cache.path()));
                let (d, source, outcome) = load(&tokio, &f, &rt, &by_tag);
                assert_eq!((source, outcome), (Source::Registry, LoadOutcome::Compiled));
                d
            })
            .collect();
        cold.sort();

        // Warm: a restart on a warm cache (new fetcher and runtime, built
        // outside the timing), digest-pinned: verify and load, no request.
        let cache = tempfile::tempdir().expect("temp dir");
        load(
            &tokio,
            &fetcher(&p, cache.path()),
            &runtime(cache.path()),
            &pinned,
        );
        let before = proxy.connections();
        let mut warm: Vec<Duration> = (0..n_warm)
            .map(|_| {
                let (f, rt) = (fetcher(&p, cache.path()), runtime(cache.path()));
                let (d, source, outcome) = load(&tokio, &f, &rt, &pinned);
                assert_eq!((source, outcome), (Source::Cache, LoadOutcome::FromCache));
                d
            })
            .collect();
        warm.sort();
        assert_eq!(
            proxy.connections(),
            before,
            "a warm load made a registry request"
        );

        let (c50, cmax, w50, w99) = (
            pct(&cold, 0.5),
            pct(&cold, 1.0),
            pct(&warm, 0.5),
            pct(&warm, 0.99),
        );
        println!(
            "{name:<14} {:>8}  {:>9.1} / {:>9.1}  {:>9.2} / {:>9.2}   cold {}, warm {}",
            size / 1024,
            ms(c50),
            ms(cmax),
            ms(w50),
            ms(w99),
            verdict(cmax, COLD_TARGET),
            verdict(w99, WARM_TARGET),
        );
    }
    println!(
        "targets: cold ≤ {} ms, warm ≤ {} ms; warm loads made 0 registry requests",
        COLD_TARGET.as_millis(),
        WARM_TARGET.as_millis()
    );
}
