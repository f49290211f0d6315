//! Criterion benchmarks: one service through the pipeline (Wasm vs native), instantiation, compile vs cached load.

#[path = "../../tests/common/mod.rs"]
mod common;
mod fixture;

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use naas::digest::Digest;
use naas::pipeline::evaluate;
use naas::runtime::ArtifactCache;
use naas_plugin_sdk::testing::TestHost;

fn evaluation(c: &mut Criterion) {
    let plugin = common::load("access_ports");
    let (service, ctx) = fixture::service_and_context();
    let mut g = c.benchmark_group("access_ports_service");
    g.bench_function("wasm_fresh_store_full_pipeline", |b| {
        b.iter(|| black_box(evaluate(&plugin, &service, &ctx).unwrap()));
    });
    let host = TestHost::new();
    let (ns, nc) = fixture::native_inputs(&service, &ctx);
    g.bench_function("native_rust_same_logic", |b| {
        b.iter(|| black_box(fixture::native_pipeline(&host, &ns, &nc)));
    });
    g.bench_function("instantiate_only", |b| {
        b.iter(|| black_box(plugin.session().unwrap()));
    });
    g.finish();
}

fn loading(c: &mut Criterion) {
    let rt = common::runtime();
    let path = common::plugin_path("access_ports");
    let bytes = std::fs::read(&path).unwrap();
    let digest = Digest::of(&bytes);
    let mut g = c.benchmark_group("load_access_ports");
    g.sample_size(10);
    g.bench_function("compile_cold", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let cache = ArtifactCache::open(dir.path()).unwrap();
                black_box(
                    cache
                        .load_or_compile(rt.engine(), "bench", &digest, &bytes)
                        .unwrap(),
                )
            },
            BatchSize::PerIteration,
        );
    });
    let dir = tempfile::tempdir().unwrap();
    let cache = ArtifactCache::open(dir.path()).unwrap();
    cache
        .load_or_compile(rt.engine(), "bench", &digest, &bytes)
        .unwrap();
    g.bench_function("from_cache_deserialize_file", |b| {
        b.iter(|| {
            black_box(
                cache
                    .load_or_compile(rt.engine(), "bench", &digest, &bytes)
                    .unwrap(),
            )
        });
    });
    g.finish();
}

criterion_group!(benches, evaluation, loading);
criterion_main!(benches);
