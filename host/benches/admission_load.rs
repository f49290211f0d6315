//! Admission load: keep-alive HTTPS connections on loopback posting AccessPorts reviews to `/validate` for a fixed time (reviews/s, p50/p99/p99.9, errors, CPU per review), next to what the same machine does without HTTP, measured in the same run.
//!
//! `cargo bench -p naas --bench admission_load` prints one table (5 s per
//! row; `NAAS_BENCH_SECS` and `NAAS_BENCH_CONNECTIONS=1,8,32` change them).
//! Under `cargo test --benches` (no `--bench` argument) it runs a fraction
//! of a second per row as a smoke test. Rows:
//! - HTTPS, AccessPorts, N connections: the real server (`admission::serve`,
//!   rustls, a per-run openssl CA) with the AccessPorts plugin and a
//!   [`FixedResolver`]; the client is a minimal HTTP/1.1 client over rustls,
//!   one task per keep-alive connection posting the next review as soon as
//!   it has the answer, on a runtime and thread of its own (so on this
//!   2-core machine client and server share the cores, as a co-located API
//!   server would);
//! - the 8-connection row again against a second server whose executor
//!   allows twice as many plugin calls at once as the default (two per
//!   CPU, `--plugin-concurrency`): what the executor's bound costs;
//! - HTTPS, Device: host-object reviews, no plugin call: the floor of TLS,
//!   HTTP and JSON;
//! - in process: `Admission::validate` from 8 tasks, then the plugin
//!   pipeline through the runtime's executor, then the pipeline alone on one
//!   thread per core: the ceilings each layer leaves;
//! - one at a time: p50/p99 of the same three, and their ratios.
//!
//! Target (issue 11): ≥ 5,000 reviews/s with p99 ≤ 5 ms.

#[path = "../../tests/common/mod.rs"]
mod common;
mod stats;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use naas::admission::{Admission, FixedResolver, TlsFiles, serve};
use naas::inventory::Inventory;
use naas::manifest::service_of_object;
use naas::plugin_set::PluginSet;
use naas::runtime::{Executor, Limits, Runtime, RuntimeConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use stats::{pct, sample};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The devices the service may use: leaf1's Ethernet1-48 for tenant-a.
const DEVICES: &str = "
devices:
  - name: leaf1
    platform: eos
    grants: [{tenant: tenant-a, ports: [Ethernet1-48]}]
";

/// Connection counts, one row each (`NAAS_BENCH_CONNECTIONS=1,8` changes them).
const CONNECTIONS: [usize; 3] = [1, 8, 32];

/// A valid AccessPorts create review (five ports, EOS), as the API server sends it.
fn review_body() -> Vec<u8> {
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "0d3c8a1e-1111-2222-3333-444455556666",
            "kind": {"group": "network.naas.io", "version": "v1alpha1", "kind": "AccessPorts"},
            "resource": {"group": "network.naas.io", "version": "v1alpha1", "resource": "accessports"},
            "name": "web", "namespace": "tenant-a", "operation": "CREATE",
            "userInfo": {"username": "tenant-a-deployer", "groups": ["system:authenticated"]},
            "object": {
                "apiVersion": "network.naas.io/v1alpha1", "kind": "AccessPorts",
                "metadata": {"name": "web", "namespace": "tenant-a", "generation": 1,
                             "uid": "9a0b1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d"},
                "spec": {"device": "leaf1", "ports": "Ethernet1-4,Ethernet7", "vlan": 120,
                         "description": "web servers"},
            },
            "oldObject": null, "dryRun": false,
        },
    })
    .to_string()
    .into_bytes()
}

/// A valid Device create review: the host checks it, no plugin runs.
fn device_body() -> Vec<u8> {
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "7e2b9c40-aaaa-bbbb-cccc-ddddeeeeffff",
            "kind": {"group": "naas.io", "version": "v1alpha1", "kind": "Device"},
            "resource": {"group": "naas.io", "version": "v1alpha1", "resource": "devices"},
            "name": "leaf1", "operation": "CREATE",
            "userInfo": {"username": "admin"},
            "object": {
                "apiVersion": "naas.io/v1alpha1", "kind": "Device",
                "metadata": {"name": "leaf1"},
                "spec": {"address": "192.0.2.10", "platform": "eos",
                         "credentialsSecretRef": {"name": "leaf1-login"},
                         "hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILPQUGlbDvJP2JkrhkFP0gS5M3yIlzqlo4RUsc9NQdTt",
                         "tenants": [{"namespace": "tenant-a", "ports": ["Ethernet1-48"]}]},
            },
            "oldObject": null, "dryRun": false,
        },
    })
    .to_string()
    .into_bytes()
}

/// What one connection saw.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: usize,
}

/// Posts `body` to `/validate` over one keep-alive connection until `until`;
/// reconnects after an error.
async fn connection(
    addr: std::net::SocketAddr,
    connector: tokio_rustls::TlsConnector,
    body: Arc<Vec<u8>>,
    until: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let request = [
        format!(
            "POST /validate HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes(),
        body.to_vec(),
    ]
    .concat();
    let mut buf = Vec::with_capacity(8192);
    while Instant::now() < until {
        let Ok(tcp) = tokio::net::TcpStream::connect(addr).await else {
            tally.errors += 1;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let Ok(mut tls) = connector.connect(name, tcp).await else {
            tally.errors += 1;
            continue;
        };
        while Instant::now() < until {
            let started = Instant::now();
            let ok = async {
                tls.write_all(&request).await.ok()?;
                read_response(&mut tls, &mut buf).await
            }
            .await;
            match ok {
                Some(true) => tally.latencies.push(started.elapsed()),
                Some(false) => tally.errors += 1,
                None => {
                    tally.errors += 1;
                    break;
                }
            }
        }
    }
    tally
}

/// Reads one response; `Some(allowed)` for a 200 with a body, `None` when
/// the connection broke.
async fn read_response<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Option<bool> {
    buf.clear();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let status_ok = head.starts_with("HTTP/1.1 200");
    let length: usize = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse().ok())?
    })?;
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = &buf[head_end..head_end + length];
    let needle = b"\"allowed\":true";
    let allowed = body.windows(needle.len()).any(|w| w == needle);
    Some(status_ok && allowed)
}

/// What one load row measured.
struct Row {
    connections: usize,
    rate: f64,
    /// Sorted.
    latencies: Vec<Duration>,
    errors: usize,
    cpu_per_review: Duration,
}

impl Row {
    fn print(&self, name: &str) {
        if self.latencies.is_empty() {
            println!("{name:<38} no answers ({} errors)", self.errors);
            return;
        }
        let p = |q| ms(pct(&self.latencies, q));
        println!(
            "{name:<38} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>6} {:>13.0}",
            self.rate,
            p(0.5),
            p(0.99),
            p(0.999),
            self.errors,
            us(self.cpu_per_review)
        );
    }
}

/// One load row: `n` connections posting `body` for `secs`.
fn load(
    addr: std::net::SocketAddr,
    connector: &tokio_rustls::TlsConnector,
    body: &Arc<Vec<u8>>,
    n: usize,
    secs: f64,
) -> Row {
    // The client's own runtime and thread: it competes with the server for
    // the machine's cores as a separate client would.
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (started, cpu) = (Instant::now(), cpu_time());
    let until = started + Duration::from_secs_f64(secs);
    let tallies = client.block_on(async {
        let tasks: Vec<_> = (0..n)
            .map(|_| tokio::spawn(connection(addr, connector.clone(), body.clone(), until)))
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.unwrap());
        }
        all
    });
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_time() - cpu;
    let errors = tallies.iter().map(|t| t.errors).sum();
    let mut latencies: Vec<Duration> = tallies.into_iter().flat_map(|t| t.latencies).collect();
    latencies.sort();
    Row {
        connections: n,
        rate: latencies.len() as f64 / elapsed,
        cpu_per_review: cpu / u32::try_from(latencies.len().max(1)).unwrap_or(u32::MAX),
        latencies,
        errors,
    }
}

/// CPU time used by this whole process (server, client, plugin threads) so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.unsigned_abs())
            + Duration::from_micros(t.tv_usec.unsigned_abs())
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Calls per second and CPU per call of `run`, which calls until the
/// deadline it is given and returns how many calls it made.
fn throughput(secs: f64, run: impl FnOnce(Instant) -> usize) -> (f64, Duration) {
    let (started, cpu) = (Instant::now(), cpu_time());
    let calls = run(started + Duration::from_secs_f64(secs)).max(1);
    let (elapsed, cpu) = (started.elapsed(), cpu_time() - cpu);
    (
        calls as f64 / elapsed.as_secs_f64(),
        cpu / u32::try_from(calls).unwrap_or(u32::MAX),
    )
}

/// `tasks` tasks on `rt`, each awaiting `call()` until `until`; the number of calls.
fn concurrently<F, Fut>(
    rt: &tokio::runtime::Runtime,
    tasks: usize,
    until: Instant,
    call: F,
) -> usize
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    rt.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let call = call.clone();
                tokio::spawn(async move {
                    let mut n = 0;
                    while Instant::now() < until {
                        call().await;
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let mut total = 0;
        for h in handles {
            total += h.await.unwrap();
        }
        total
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Serves `admission` with the certificate in `dir` on a fresh loopback port of `server`.
fn serve_on(
    server: &tokio::runtime::Runtime,
    admission: Admission,
    dir: &std::path::Path,
) -> std::net::SocketAddr {
    let listener = server
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let tls = TlsFiles {
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
    };
    server.spawn(serve(admission, listener, tls));
    addr
}

/// A client trusting the CA in `dir`, speaking HTTP/1.1.
fn client(dir: &std::path::Path) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(dir.join("ca.crt")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Prints a row of calls/s and CPU per call.
fn ceiling(name: &str, (rate, cpu): (f64, Duration)) {
    let blank = "";
    println!(
        "{name:<38} {rate:>9.0} {blank:>8} {blank:>8} {blank:>8} {blank:>6} {:>13.0}",
        us(cpu)
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let secs: f64 = std::env::var("NAAS_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full { 5.0 } else { 0.3 });
    let n_inproc = if full { 20_000 } else { 50 };
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let _ = rustls::crypto::ring::default_provider().install_default();

    let server = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    common::tls_certificates(dir.path());
    // The runtime as `naas operator` makes it: two plugin calls per CPU at once.
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: Some(common::target_dir().join("naas-test-cache")),
        ..RuntimeConfig::default()
    })
    .unwrap();
    let plugin = runtime
        .load_file(&common::plugin_path("access_ports"), Limits::default())
        .unwrap();
    let plugins = PluginSet::new(vec![Arc::new(plugin)]).unwrap();
    let inventory = Inventory::parse(DEVICES, "bench").unwrap();
    let resolver = Arc::new(FixedResolver::new(
        plugins.clone(),
        inventory.clone(),
        json!({}),
    ));
    let admission_with = |executor: Executor| {
        Admission::new(
            resolver.clone(),
            executor,
            Duration::from_secs(5),
            "naas-system",
        )
    };
    let admission = admission_with(runtime.executor().clone());
    let addr = serve_on(&server, admission.clone(), dir.path());
    // The same, with twice as many plugin calls at once as the default
    // (`--plugin-concurrency`): how much is left to the executor's bound.
    let wide = runtime.executor().size() * 2;
    let addr_wide = serve_on(&server, admission_with(Executor::new(wide)), dir.path());
    let connector = client(dir.path());
    let body = Arc::new(review_body());

    // One at a time, in process, no HTTP: the whole review, the plugin
    // pipeline through the executor (as admission runs it), and the
    // pipeline on this thread.
    let first = server.block_on(admission.validate(&body)).unwrap();
    let first = serde_json::to_value(first).unwrap();
    assert_eq!(
        first["response"]["allowed"], true,
        "the bench review must be allowed: {first}"
    );
    let inproc = sample(n_inproc, || {
        black_box(server.block_on(admission.validate(&body)).unwrap());
    });
    let review: Value = serde_json::from_slice(&body).unwrap();
    let object: kube::core::DynamicObject =
        serde_json::from_value(review["request"]["object"].clone()).unwrap();
    let (api_version, kind) = ("network.naas.io/v1alpha1", "AccessPorts");
    let service = service_of_object(&object, api_version, kind);
    let context = Arc::new(inventory.context_for("tenant-a", &json!({})));
    let executor = sample(n_inproc, || {
        let evaluation = plugins.evaluate(runtime.executor(), service.clone(), context.clone());
        black_box(server.block_on(evaluation).unwrap());
    });
    let plugin = plugins.plugin_for(api_version, kind).unwrap();
    let direct = sample(n_inproc, || {
        black_box(naas::pipeline::evaluate(plugin, &service, &context).unwrap());
    });

    println!(
        "naas admission load: AccessPorts reviews to /validate over HTTPS (rustls, HTTP/1.1 keep-alive) on loopback, {secs} s per row, {cores} cores, {} plugin calls at once",
        runtime.executor().size()
    );
    println!(
        "{:<38} {:>9} {:>8} {:>8} {:>8} {:>6} {:>13}",
        "", "reviews/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "CPU/review µs"
    );
    let rows: Vec<usize> = std::env::var("NAAS_BENCH_CONNECTIONS").map_or_else(
        |_| CONNECTIONS.to_vec(),
        |v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
    );
    let mut best: Option<Row> = None;
    let mut single_p50 = Duration::ZERO;
    for n in rows {
        let row = load(addr, &connector, &body, n, secs);
        row.print(&format!("HTTPS: AccessPorts, {n} connection(s)"));
        if n == 1 && !row.latencies.is_empty() {
            single_p50 = pct(&row.latencies, 0.5);
        }
        if best.as_ref().is_none_or(|b| row.rate > b.rate) {
            best = Some(row);
        }
    }
    load(addr_wide, &connector, &body, 8, secs)
        .print(&format!("  8 connections, {wide} calls at once"));
    // The floor of the HTTPS + JSON path: Device reviews need no plugin.
    load(addr, &connector, &Arc::new(device_body()), 8, secs)
        .print("HTTPS: Device (no plugin), 8 conn.");

    // Ceilings without HTTP: how many reviews the same machine does when
    // the transport, then also admission, then also the executor are left out.
    let tasks = 8;
    let (a, b) = (Arc::new(admission.clone()), body.clone());
    ceiling(
        &format!("in process: validate, {tasks} tasks"),
        throughput(secs, |until| {
            concurrently(&server, tasks, until, move || {
                let (a, b) = (a.clone(), b.clone());
                async move {
                    black_box(a.validate(&b).await.unwrap());
                }
            })
        }),
    );
    let (set, exec, svc, ctx) = (
        Arc::new(plugins.clone()),
        runtime.executor().clone(),
        service.clone(),
        context.clone(),
    );
    ceiling(
        &format!("  pipeline via executor, {tasks} tasks"),
        throughput(secs, |until| {
            concurrently(&server, tasks, until, move || {
                let (set, exec, svc, ctx) = (set.clone(), exec.clone(), svc.clone(), ctx.clone());
                async move {
                    black_box(set.evaluate(&exec, svc, ctx).await.unwrap());
                }
            })
        }),
    );
    ceiling(
        &format!("  pipeline alone, {cores} threads"),
        throughput(secs, |until| {
            std::thread::scope(|scope| {
                let workers: Vec<_> = (0..cores)
                    .map(|_| {
                        scope.spawn(|| {
                            let mut n = 0;
                            while Instant::now() < until {
                                black_box(
                                    naas::pipeline::evaluate(plugin, &service, &context).unwrap(),
                                );
                                n += 1;
                            }
                            n
                        })
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).sum()
            })
        }),
    );

    let line = |name: &str, d: &[Duration]| {
        println!(
            "{name:<52} p50 {:>7.1} µs   p99 {:>7.1} µs",
            us(pct(d, 0.5)),
            us(pct(d, 0.99))
        );
    };
    println!("one at a time, in process ({n_inproc} samples each):");
    line("  Admission::validate (the whole review)", &inproc);
    line("  plugin pipeline through the executor", &executor);
    line("  plugin pipeline on the calling thread", &direct);
    println!(
        "ratios (p50): HTTPS review (1 connection) / in-process review {:.2}x   review / pipeline {:.2}x   executor hop {:.2}x",
        us(single_p50) / us(pct(&inproc, 0.5)),
        us(pct(&inproc, 0.5)) / us(pct(&executor, 0.5)),
        us(pct(&executor, 0.5)) / us(pct(&direct, 0.5)),
    );
    if let Some(b) = best.filter(|b| !b.latencies.is_empty()) {
        let p99 = pct(&b.latencies, 0.99);
        let met = b.rate >= 5000.0 && p99 <= Duration::from_millis(5);
        println!(
            "target ≥ 5000 reviews/s with p99 ≤ 5 ms, as naas operator runs: {} (best row: {} connections, {:.0} reviews/s, p99 {:.2} ms)",
            if met { "met" } else { "MISSED" },
            b.connections,
            b.rate,
            ms(p99)
        );
    }
}
