//! Leader election on the real API server: two operators share one Lease; one leads, the other takes over when it dies (within the lease time) or releases, and no service is pushed twice; the `naas` binary's `/metrics`, `/healthz` and `/readyz`.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::Client;
use kube::api::{Api, DynamicObject, PostParams};
use naas::driver::MemoryDriver;
use naas::operator::{Device, LeaseConfig, OperatorConfig};
use serde_json::json;

use crate::{apply_ports, common, eventually, ready_of};

/// Lease timings short enough for a test, with client-go's proportions.
const LEASE: Duration = Duration::from_secs(4);
const RENEW: Duration = Duration::from_secs(3);
const RETRY: Duration = Duration::from_millis(500);

fn lease_config(name: &str, identity: &str) -> LeaseConfig {
    LeaseConfig {
        lease_duration: LEASE,
        renew_deadline: RENEW,
        retry_period: RETRY,
        ..LeaseConfig::new(name, "naas-system", identity)
    }
}

/// The Lease's holder and transitions.
async fn holder(leases: &Api<Lease>, name: &str) -> Option<(String, i32)> {
    let spec = leases.get_opt(name).await.ok()??.spec?;
    Some((
        spec.holder_identity.filter(|h| !h.is_empty())?,
        spec.lease_transitions.unwrap_or(0),
    ))
}

/// Two in-process operators with leader election pushing through one
/// in-memory "device": the leader pushes a service; killed (its task
/// aborted: no release, as a crash), the other leads after the lease
/// expires, pushes the next service and not the first one again; stopped
/// gracefully, the leader releases the Lease and a new candidate takes it
/// at once.
pub async fn a_second_operator_takes_over(
    client: &Client,
    services: &Api<DynamicObject>,
    within: Duration,
) {
    let driver = MemoryDriver::new();
    let leases: Api<Lease> = Api::namespaced(client.clone(), "naas-system");
    let dir = tempfile::tempdir().unwrap();
    let start = |identity: &str, ops: Option<SocketAddr>| {
        let shutdown = tokio_util::sync::CancellationToken::new();
        let config = OperatorConfig {
            leader_election: Some(lease_config("e2e-leader", identity)),
            shutdown: shutdown.clone(),
            ops_listen: ops,
            ..crate::harness::config(Arc::new(driver.clone()), &dir.path().join(identity))
        };
        (
            tokio::spawn(naas::operator::run(client.clone(), config)),
            shutdown,
        )
    };
    let devices = create_device(client, "leaf-leader", "192.0.2.30").await;
    let (a, _) = start("a", None);
    let first = eventually("operator a leads", within, || holder(&leases, "e2e-leader")).await;
    assert_eq!(first.0, "a");
    let ops_b = free_addr();
    let (b, b_stop) = start("b", Some(ops_b));
    // The follower loads the accepted Plugin too (admission answers on every replica).
    eventually("b /readyz 200", within, || async move {
        tokio::task::spawn_blocking(move || get(ops_b, "/readyz"))
            .await
            .ok()?
            .filter(|(code, _)| *code == 200)
    })
    .await;

    apply_ports(
        services,
        "leader-1",
        json!({"device": "leaf-leader", "ports": "Ethernet5", "vlan": 301}),
        json!({}),
    )
    .await;
    eventually("leader-1 Ready", within, || async {
        let s = services.get("leader-1").await.ok()?.data["status"].clone();
        ready_of(&s).filter(|r| r.0 == "True")
    })
    .await;
    let pushes = || {
        driver
            .pushes()
            .iter()
            .filter(|p| p.device == "leaf-leader")
            .count()
    };
    assert_eq!(pushes(), 1, "one push, by the leader");
    assert_eq!(
        holder(&leases, "e2e-leader").await.unwrap().0,
        "a",
        "b only waits"
    );

    // The leader dies: b leads once the Lease expires, not before.
    a.abort();
    let killed = Instant::now();
    apply_ports(
        services,
        "leader-2",
        json!({"device": "leaf-leader", "ports": "Ethernet6", "vlan": 302}),
        json!({}),
    )
    .await;
    let (next, transitions) = eventually("operator b leads", within, || async {
        holder(&leases, "e2e-leader").await.filter(|h| h.0 == "b")
    })
    .await;
    let took = killed.elapsed();
    eprintln!("e2e: operator b took the Lease {took:?} after a died (lease {LEASE:?})");
    assert_eq!((next.as_str(), transitions), ("b", first.1 + 1));
    assert!(
        took >= LEASE - RETRY,
        "b waited for the lease to expire: {took:?}"
    );
    eventually("leader-2 Ready", within, || async {
        let s = services.get("leader-2").await.ok()?.data["status"].clone();
        ready_of(&s).filter(|r| r.0 == "True")
    })
    .await;
    let running = driver.running("leaf-leader");
    assert_eq!(
        pushes(),
        2,
        "b pushed leader-2 only, not leader-1 again: {running}"
    );
    assert_eq!(
        running.matches("interface Ethernet5\n").count(),
        1,
        "{running}"
    );
    assert!(running.contains("interface Ethernet6\n"), "{running}");

    // A graceful stop releases the Lease: a new candidate takes it at once.
    let (c, c_stop) = start("c", None);
    b_stop.cancel();
    let stopped = Instant::now();
    let result = tokio::time::timeout(within, b).await.unwrap().unwrap();
    assert!(result.is_ok(), "b stopped cleanly: {result:?}");
    eventually("operator c leads", within, || async {
        holder(&leases, "e2e-leader").await.filter(|h| h.0 == "c")
    })
    .await;
    eprintln!(
        "e2e: operator c took the released Lease {:?} after b was stopped",
        stopped.elapsed()
    );
    assert_eq!(pushes(), 2, "nothing pushed again by the new leader");
    for name in ["leader-1", "leader-2"] {
        crate::delete_and_wait(services, name, within).await;
    }
    assert!(
        !driver.running("leaf-leader").contains("interface"),
        "c cleaned up: {}",
        driver.running("leaf-leader")
    );
    devices
        .delete("leaf-leader", &Default::default())
        .await
        .unwrap();
    c_stop.cancel();
    let _ = tokio::time::timeout(within, c).await;
}

/// A shutdown while a push is in flight (a slow device): the operator
/// starts nothing new, lets that reconcile finish (the device gets the whole
/// config, the service its status), and only then returns.
pub async fn shutdown_finishes_the_push_in_flight(
    client: &Client,
    services: &Api<DynamicObject>,
    within: Duration,
) {
    let driver = MemoryDriver::new();
    driver.set_fault("leaf-slow", Some(naas::driver::Fault::Slow));
    let devices = create_device(client, "leaf-slow", "192.0.2.31").await;
    let dir = tempfile::tempdir().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let op = tokio::spawn(naas::operator::run(
        client.clone(),
        OperatorConfig {
            shutdown: shutdown.clone(),
            ..crate::harness::config(Arc::new(driver.clone()), dir.path())
        },
    ));
    apply_ports(
        services,
        "in-flight",
        json!({"device": "leaf-slow", "ports": "Ethernet7", "vlan": 170}),
        json!({}),
    )
    .await;
    eventually("the push to leaf-slow started", within, || async {
        (driver.opens("leaf-slow") > 0).then_some(())
    })
    .await;
    shutdown.cancel();
    let result = tokio::time::timeout(within, op).await.unwrap().unwrap();
    assert!(result.is_ok(), "{result:?}");
    let running = driver.running("leaf-slow");
    assert!(
        running.contains("interface Ethernet7\n") && running.contains("switchport access vlan 170"),
        "the push in flight finished: {running}"
    );
    let status = services.get("in-flight").await.unwrap().data["status"].clone();
    assert_eq!(
        ready_of(&status).map(|r| r.1),
        Some("Applied".to_string()),
        "{status}"
    );
    // Clean up with an operator that runs on.
    let op = crate::harness::start_operator(client, Arc::new(driver.clone()), dir.path());
    crate::delete_and_wait(services, "in-flight", within).await;
    devices
        .delete("leaf-slow", &Default::default())
        .await
        .unwrap();
    op.abort();
}

/// A shutdown that comes before the controllers have listed anything
/// (SIGTERM right after start, or right after taking the Lease) still ends
/// the operator: kube-runtime's controllers wait for their first list
/// before they stop, so the operator stops once no reconcile runs.
pub async fn an_early_shutdown_ends_the_operator(client: &Client, within: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    shutdown.cancel();
    let config = OperatorConfig {
        shutdown,
        ..crate::harness::config(Arc::new(MemoryDriver::new()), dir.path())
    };
    let result = tokio::time::timeout(within, naas::operator::run(client.clone(), config))
        .await
        .expect("the operator ends when told to stop at once");
    assert!(result.is_ok(), "{result:?}");
}

/// Creates Device `name` (EOS, at `address`) granting tenant-a Ethernet1-8.
async fn create_device(client: &Client, name: &str, address: &str) -> Api<Device> {
    let devices: Api<Device> = Api::all(client.clone());
    let d: Device = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"address": address, "platform": "eos", "credentialsSecretRef": {"name": "leaf-credentials"},
                 "insecureSkipHostKeyVerification": true,
                 "tenants": [{"namespace": "tenant-a", "ports": ["Ethernet1-8"]}]},
    }))
    .unwrap();
    devices.create(&PostParams::default(), &d).await.unwrap();
    devices
}

/// A free loopback address.
fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], crate::control_plane::free_port()))
}

/// `GET path` on `addr`: the status code and body, `None` when nothing answers.
fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let code = answer.split_whitespace().nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((code, body))
}

/// `naas operator --leader-election --ops-listen …` as users run it.
fn operator_binary(kubeconfig: &std::path::Path, identity: &str, ops: SocketAddr) -> Child {
    Command::new(env!("CARGO_BIN_EXE_naas"))
        .arg("--cache-dir")
        .arg(common::target_dir().join("naas-test-cache"))
        .args([
            "--log-format",
            "json",
            "-v",
            "operator",
            "--driver",
            "memory",
        ])
        .args(["--leader-election", "--lease-name", "e2e-binary"])
        .args(["--lease-identity", identity])
        .args([
            "--lease-duration",
            "4s",
            "--renew-deadline",
            "3s",
            "--retry-period",
            "500ms",
        ])
        .args(["--ops-listen", &ops.to_string()])
        .env("KUBECONFIG", kubeconfig)
        .env_remove("NAAS_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn leads(metrics: &str) -> bool {
    metrics.lines().any(|l| l == "naas_leader 1")
}

/// Two `naas operator` processes: both ready (plugins loaded on the
/// follower too), exactly one leads by `/metrics`; the leader killed
/// (SIGKILL), the other leads; SIGTERM stops it cleanly, releasing the
/// Lease, with JSON log lines.
pub async fn two_binaries_fail_over(
    client: &Client,
    kubeconfig: &std::path::Path,
    within: Duration,
) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "naas-system");
    let (ops_x, ops_y) = (free_addr(), free_addr());
    let mut x = operator_binary(kubeconfig, "x", ops_x);
    let first = eventually("x leads", within, || holder(&leases, "e2e-binary")).await;
    assert_eq!(first.0, "x");
    let mut y = operator_binary(kubeconfig, "y", ops_y);
    for (name, ops) in [("x", ops_x), ("y", ops_y)] {
        eventually(&format!("{name} /readyz 200"), within, || async move {
            get(ops, "/readyz").filter(|(code, _)| *code == 200)
        })
        .await;
        assert_eq!(get(ops, "/healthz").unwrap(), (200, "ok".into()));
    }
    let (_, mx) = get(ops_x, "/metrics").unwrap();
    let (_, my) = get(ops_y, "/metrics").unwrap();
    assert!(
        leads(&mx) && !leads(&my),
        "x leads, y waits:\n{mx}\n---\n{my}"
    );
    assert!(
        mx.contains("naas_reconciles_total{kind=\"Device\"}"),
        "{mx}"
    );

    let _ = Command::new("kill")
        .args(["-KILL", &x.id().to_string()])
        .status();
    let _ = x.wait();
    eventually("y leads (/metrics)", within, || async move {
        get(ops_y, "/metrics").filter(|(_, m)| leads(m))
    })
    .await;
    assert_eq!(holder(&leases, "e2e-binary").await.unwrap().0, "y");

    let _ = Command::new("kill").arg(y.id().to_string()).status();
    let status = y.wait().unwrap();
    let mut stderr = String::new();
    y.stderr
        .as_mut()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        status.success(),
        "SIGTERM: a clean exit: {status:?}\n{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with('{') && l.contains("\"level\"")),
        "JSON log lines: {stderr}"
    );
    let spec = leases.get("e2e-binary").await.unwrap().spec.unwrap();
    assert!(
        spec.holder_identity
            .as_deref()
            .unwrap_or_default()
            .is_empty(),
        "the Lease was released: {spec:?}\n{stderr}"
    );
}
