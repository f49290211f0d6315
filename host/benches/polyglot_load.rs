//! The AccessPorts plugin in Rust, Python and JavaScript: cold load (compile), warm load (cached artifact), per-service cost and memory.
//!
//! `cargo bench -p naas --bench polyglot_load` prints the table. Under
//! `cargo test` (no `--bench` argument) it runs each row a few times as a smoke
//! test. The Python and JavaScript components come from
//! `scripts/build-polyglot.sh`.

#[path = "../../tests/common/mod.rs"]
mod common;
mod fixture;
mod stats;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use stats::{pct, sample};

use naas::digest::Digest;
use naas::pipeline::evaluate;
use naas::runtime::{ArtifactCache, Limits, LoadOutcome, Plugin};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The smallest memory limit (in 64 KiB pages) under which one service
/// evaluates: the largest linear memory the plugin grows to.
fn memory_needed(path: &std::path::Path) -> usize {
    const PAGE: usize = 64 << 10;
    let (service, ctx) = fixture::service_and_context();
    let works = |pages: usize| {
        let limits = Limits {
            memory_bytes: pages * PAGE,
            ..Limits::default()
        };
        common::runtime()
            .load_file(path, limits)
            .is_ok_and(|p| evaluate(&p, &service, &ctx).is_ok())
    };
    let (mut lo, mut hi) = (16, Limits::default().memory_bytes / PAGE); // 1 MiB fails for all three
    assert!(
        works(hi),
        "{} does not run in the default limits",
        path.display()
    );
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if works(mid) { hi = mid } else { lo = mid }
    }
    hi * PAGE
}

struct Row {
    lang: &'static str,
    kib: usize,
    cold: Vec<Duration>,
    warm: Vec<Duration>,
    instantiate: Vec<Duration>,
    eval: Vec<Duration>,
    memory: usize,
}

fn measure(lang: &'static str, path: PathBuf, n_load: usize, n_eval: usize) -> Row {
    let rt = common::runtime();
    let bytes = std::fs::read(&path).unwrap();
    let digest = Digest::of(&bytes);
    // Each cold load compiles into an empty cache; the last one is kept for
    // the warm loads and handed to the runtime, so nothing compiles twice.
    let mut last = None;
    let cold = sample(n_load, || {
        let dir = tempfile::tempdir().unwrap();
        let cache = ArtifactCache::open(dir.path()).unwrap();
        let (_, o) = cache
            .load_or_compile(rt.engine(), lang, &digest, &bytes)
            .unwrap();
        assert_eq!(o, LoadOutcome::Compiled);
        last = Some(dir);
    });
    let dir = last.expect("at least one cold load");
    let cache = ArtifactCache::open(dir.path()).unwrap();
    let artifact = cache.artifact_path(rt.engine(), &digest);
    let rt_cache = rt.cache().expect("the bench runtime has a cache");
    std::fs::copy(&artifact, rt_cache.artifact_path(rt.engine(), &digest)).unwrap();
    let warm = sample(n_load * 10, || {
        let (c, o) = cache
            .load_or_compile(rt.engine(), lang, &digest, &bytes)
            .unwrap();
        assert_eq!(o, LoadOutcome::FromCache);
        black_box(c);
    });
    let plugin: Plugin = rt.load_file(&path, Limits::default()).unwrap();
    assert_eq!(plugin.load_outcome(), LoadOutcome::FromCache);
    let (service, ctx) = fixture::service_and_context();
    let instantiate = sample(n_eval, || {
        black_box(plugin.session().unwrap());
    });
    let eval = sample(n_eval, || {
        black_box(evaluate(&plugin, &service, &ctx).unwrap());
    });
    Row {
        lang,
        kib: bytes.len() / 1024,
        cold,
        warm,
        instantiate,
        eval,
        memory: memory_needed(&path),
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (n_load, n_eval) = if full { (5, 2_000) } else { (1, 5) };
    let rows = [
        measure("rust", common::plugin_path("access_ports"), n_load, n_eval),
        measure(
            "python",
            common::polyglot_path("access_ports_py"),
            n_load,
            n_eval,
        ),
        measure(
            "javascript",
            common::polyglot_path("access_ports_js"),
            n_load,
            n_eval,
        ),
    ];
    println!(
        "AccessPorts in three languages ({n_load} cold / {} warm loads, {n_eval} services each; times in ms)",
        n_load * 10
    );
    println!(
        "{:<11} {:>9} {:>10} {:>10} {:>12} {:>9} {:>9} {:>11}",
        "plugin",
        "size KiB",
        "cold p50",
        "warm p50",
        "instance p50",
        "eval p50",
        "eval p99",
        "memory MiB"
    );
    for r in &rows {
        println!(
            "{:<11} {:>9} {:>10.1} {:>10.2} {:>12.3} {:>9.3} {:>9.3} {:>11.2}",
            r.lang,
            r.kib,
            ms(pct(&r.cold, 0.5)),
            ms(pct(&r.warm, 0.5)),
            ms(pct(&r.instantiate, 0.5)),
            ms(pct(&r.eval, 0.5)),
            ms(pct(&r.eval, 0.99)),
            r.memory as f64 / f64::from(1 << 20),
        );
    }
    let base = &rows[0];
    for r in &rows[1..] {
        println!(
            "{} / rust (p50): cold {:.0}x, warm {:.0}x, eval {:.0}x",
            r.lang,
            ms(pct(&r.cold, 0.5)) / ms(pct(&base.cold, 0.5)),
            ms(pct(&r.warm, 0.5)) / ms(pct(&base.warm, 0.5)),
            ms(pct(&r.eval, 0.5)) / ms(pct(&base.eval, 0.5)),
        );
    }
}
