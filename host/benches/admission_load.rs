//! Admission load: keep-alive HTTPS connections on loopback posting AccessPorts reviews to `/validate` for a fixed time (reviews/s, p50/p99/p99.9, errors), next to one in-process `Admission::validate` and one plugin pipeline measured in the same run.
//!
//! `cargo bench -p naas --bench admission_load` prints the table (5 s per
//! row; `NAAS_BENCH_SECS` and `NAAS_BENCH_CONNECTIONS` change them). Under `cargo test` (no `--bench`
//! argument) it runs a fraction of a second per row as a smoke test. The
//! client is a minimal HTTP/1.1 client over rustls, one task per
//! connection, each posting the next review as soon as it has the answer;
//! it runs on a runtime of its own thread, next to the server's, so on this
//! 2-core machine client and server share the cores. Target (issue 11):
//! ≥ 5,000 reviews/s with p99 ≤ 5 ms.

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
use naas::runtime::{Limits, Runtime, RuntimeConfig};
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

/// One load row: `n` connections for `secs`; returns reviews/s, sorted latencies and errors.
fn load(
    addr: std::net::SocketAddr,
    connector: &tokio_rustls::TlsConnector,
    body: &Arc<Vec<u8>>,
    n: usize,
    secs: f64,
) -> (f64, Vec<Duration>, usize, Duration) {
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
    let per_review = cpu / u32::try_from(latencies.len().max(1)).unwrap_or(u32::MAX);
    (latencies.len() as f64 / elapsed, latencies, errors, per_review)
}

/// CPU time used by this whole process (server, client, plugin threads) so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.unsigned_abs()) + Duration::from_micros(t.tv_usec.unsigned_abs())
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let secs: f64 = std::env::var("NAAS_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full { 5.0 } else { 0.3 });
    let n_inproc = if full { 20_000 } else { 50 };
    let _ = rustls::crypto::ring::default_provider().install_default();

    let server = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    common::tls_certificates(dir.path());
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
    let resolver = FixedResolver::new(plugins.clone(), inventory.clone(), json!({}));
    let admission = Admission::new(
        Arc::new(resolver),
        runtime.executor().clone(),
        Duration::from_secs(5),
        "naas-system",
    );
    let listener = server
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let tls = TlsFiles {
        cert: dir.path().join("tls.crt"),
        key: dir.path().join("tls.key"),
    };
    server.spawn(serve(admission.clone(), listener, tls));

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(dir.path().join("ca.crt")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let body = Arc::new(review_body());

    // In process, no HTTP: the whole review, then the plugin pipeline alone.
    let first = server.block_on(admission.validate(&body)).unwrap();
    let first = serde_json::to_value(first).unwrap();
    assert_eq!(first["response"]["allowed"], true, "the bench review must be allowed: {first}");
    let inproc = sample(n_inproc, || {
        black_box(server.block_on(admission.validate(&body)).unwrap());
    });
    let review: Value = serde_json::from_slice(&body).unwrap();
    let object: kube::core::DynamicObject =
        serde_json::from_value(review["request"]["object"].clone()).unwrap();
    let service = service_of_object(&object, "network.naas.io/v1alpha1", "AccessPorts");
    let context = Arc::new(inventory.context_for("tenant-a", &json!({})));
    let pipeline = sample(n_inproc, || {
        let evaluation =
            plugins.evaluate(runtime.executor(), service.clone(), context.clone());
        black_box(server.block_on(evaluation).unwrap());
    });

    println!(
        "naas admission load: AccessPorts reviews to /validate over HTTPS (rustls, HTTP/1.1 keep-alive) on loopback, {secs} s per row, {} cores",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    println!(
        "{:>11} {:>11} {:>9} {:>9} {:>9} {:>7} {:>14}",
        "connections", "reviews/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "CPU/review µs"
    );
    let mut best = (0.0, Duration::ZERO, 0);
    let mut single_p50 = Duration::ZERO;
    let rows: Vec<usize> = std::env::var("NAAS_BENCH_CONNECTIONS").map_or_else(
        |_| CONNECTIONS.to_vec(),
        |v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
    );
    for n in rows {
        let (rate, lat, errors, cpu) = load(addr, &connector, &body, n, secs);
        if lat.is_empty() {
            println!("{n:>11} {rate:>11.0}   no answers ({errors} errors)");
            continue;
        }
        println!(
            "{n:>11} {rate:>11.0} {:>9.2} {:>9.2} {:>9.2} {errors:>7} {:>14.0}",
            ms(pct(&lat, 0.5)),
            ms(pct(&lat, 0.99)),
            ms(pct(&lat, 0.999)),
            us(cpu)
        );
        if n == 1 {
            single_p50 = pct(&lat, 0.5);
        }
        if rate > best.0 {
            best = (rate, pct(&lat, 0.99), n);
        }
    }
    println!(
        "in process, no HTTP: Admission::validate        p50 {:>8.1} µs   p99 {:>8.1} µs",
        us(pct(&inproc, 0.5)),
        us(pct(&inproc, 0.99))
    );
    println!(
        "  of which the plugin pipeline (PluginSet::evaluate) p50 {:>5.1} µs   p99 {:>8.1} µs",
        us(pct(&pipeline, 0.5)),
        us(pct(&pipeline, 0.99))
    );
    println!(
        "ratios (p50): HTTPS review (1 connection) / in-process review {:.2}x   in-process review / pipeline {:.2}x",
        us(single_p50) / us(pct(&inproc, 0.5)),
        us(pct(&inproc, 0.5)) / us(pct(&pipeline, 0.5)),
    );
    let met = best.0 >= 5000.0 && best.1 <= Duration::from_millis(5);
    println!(
        "target ≥ 5000 reviews/s with p99 ≤ 5 ms: {} (best row: {} connections, {:.0} reviews/s, p99 {:.2} ms)",
        if met { "met" } else { "MISSED" },
        best.2,
        best.0,
        ms(best.1)
    );
}
