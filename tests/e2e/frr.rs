//! The operator pushing to a real FRR over real SSH (`naas operator`'s default driver): services configure it, a change sends only the difference, and an operator killed mid-push converges with no duplicate line.

use std::sync::Arc;
use std::time::Duration;

use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use naas::driver::DeviceDriver;
use naas::operator::Device;
use serde_json::json;

use crate::control_plane::Cluster;
use crate::peers::frr::{FrrDevice, device_available};
use crate::peers::sshd::{PASSWORD, USER};
use crate::{common, eventually, harness, ready_of, registry_support, seen};

/// How often `line` appears in `config`.
fn count(config: &str, line: &str) -> usize {
    config.lines().filter(|l| *l == line).count()
}

/// Applies a service as a tenant would, once its kind is served (the
/// Plugin loads and its CRD is established first).
async fn apply(api: &Api<DynamicObject>, kind: &str, name: &str, spec: serde_json::Value) {
    let doc = json!({
        "apiVersion": "network.naas.io/v1alpha1", "kind": kind,
        "metadata": {"name": name, "namespace": "tenant-a"}, "spec": spec,
    });
    eventually(
        &format!("{kind} {name} applied"),
        Duration::from_secs(120),
        || async {
            api.patch(
                name,
                &PatchParams::apply("e2e-test").force(),
                &Patch::Apply(&doc),
            )
            .await
            .ok()
            .map(|_| ())
        },
    )
    .await;
}

async fn ready(api: &Api<DynamicObject>, name: &str, within: Duration) -> serde_json::Value {
    eventually(&format!("service {name} Ready"), within, || async {
        let o = api.get(name).await.ok()?;
        let s = seen(&serde_json::to_value(&o).ok()?)["status"].clone();
        (ready_of(&s)?.0 == "True").then_some(s)
    })
    .await
}

fn api_of(client: &kube::Client, kind: &str, plural: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("network.naas.io", "v1alpha1", kind),
        plural,
    );
    Api::namespaced_with(client.clone(), "tenant-a", &ar)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operator_configures_a_real_frr_over_ssh() {
    let Some(cluster) = Cluster::find() else {
        return;
    };
    if !device_available() {
        eprintln!(
            "*** SKIPPED: FRR or OpenSSH missing (apt-get install -y frr openssh-server; scripts/test.sh installs them) ***"
        );
        return;
    }
    let (_, client) = harness::connect_with_crds(&cluster).await;
    let registry = registry_support::Registry::start();
    let host = registry.host();
    for name in ["access-ports", "bgp-peering"] {
        let image = format!("{host}/net/{name}:0.1.0");
        let component = common::plugin_path(&name.replace('-', "_"));
        harness::install_plugin(&client, &host, &component, &image, name).await;
    }
    harness::create_namespaces(&client, &["naas-system", "tenant-a"]).await;

    // A real router: FRR in its own network namespace behind OpenSSH.
    let dev = FrrDevice::start();
    dev.frr
        .configure(&["interface swp9", " description by hand"]);
    harness::create_credentials(&client, "frr-credentials", USER, PASSWORD).await;
    let d: Device = serde_json::from_value(json!({
        "metadata": {"name": "rtr1"},
        "spec": {"address": "127.0.0.1", "port": dev.sshd.port(), "platform": "frr",
                 "credentialsSecretRef": {"name": "frr-credentials"}, "hostKey": dev.sshd.host_key,
                 "tenants": [{"namespace": "tenant-a", "ports": ["swp1-4"]}]},
    }))
    .unwrap();
    Api::<Device>::all(client.clone())
        .create(&PostParams::default(), &d)
        .await
        .unwrap();

    let cache = tempfile::tempdir().unwrap();
    let op = harness::start_operator(&client, Arc::new(DeviceDriver::default()), cache.path());
    let within = Duration::from_secs(120);
    let ports = api_of(&client, "AccessPorts", "accessports");
    let bgp = api_of(&client, "BgpPeering", "bgppeerings");

    // Two services on one device.
    apply(
        &ports,
        "AccessPorts",
        "ports",
        json!({"device": "rtr1", "ports": "swp1-2", "vlan": 10, "description": "web"}),
    )
    .await;
    apply(
        &bgp,
        "BgpPeering",
        "peer",
        json!({"device": "rtr1", "localAsn": 65001,
        "neighbors": [{"address": "192.0.2.1", "remoteAsn": 65010, "description": "transit-a"}]}),
    )
    .await;
    let status = ready(&ports, "ports", within).await;
    assert_eq!(status["devices"][0]["result"], "Committed", "{status}");
    ready(&bgp, "peer", within).await;
    let running = dev.frr.running();
    for (line, times) in [
        ("interface swp1", 1),
        (" description web", 2),
        ("interface swp2", 1),
        ("router bgp 65001", 1),
        (" neighbor 192.0.2.1 remote-as 65010", 1),
        (" neighbor 192.0.2.1 description transit-a", 1),
    ] {
        assert_eq!(count(&running, line), times, "{line:?} in\n{running}");
    }

    // A change: only the difference; the other service and the hand-made line stay.
    apply(
        &ports,
        "AccessPorts",
        "ports",
        json!({"device": "rtr1", "ports": "swp1-2", "vlan": 10, "description": "web-v2"}),
    )
    .await;
    eventually("description web-v2 on rtr1", within, || async {
        dev.frr
            .running()
            .contains(" description web-v2")
            .then_some(())
    })
    .await;
    let running = dev.frr.running();
    assert_eq!(count(&running, " description web"), 0, "{running}");
    assert_eq!(count(&running, " description web-v2"), 2, "{running}");
    assert_eq!(count(&running, " description by hand"), 1, "{running}");
    assert_eq!(count(&running, "router bgp 65001"), 1, "{running}");

    // Killed mid-push: the router's daemons freeze while the operator types
    // a change, the operator dies, the daemons resume, a new operator starts.
    for pid in dev.frr.pids() {
        unsafe { libc::kill(*pid, libc::SIGSTOP) };
    }
    apply(
        &ports,
        "AccessPorts",
        "ports",
        json!({"device": "rtr1", "ports": "swp1-3", "vlan": 10, "description": "web-v3"}),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    op.abort();
    let _ = op.await;
    for pid in dev.frr.pids() {
        unsafe { libc::kill(*pid, libc::SIGCONT) };
    }
    let op = harness::start_operator(&client, Arc::new(DeviceDriver::default()), cache.path());
    eventually("rtr1 converged on web-v3", within, || async {
        let r = dev.frr.running();
        (count(&r, " description web-v3") == 3 && count(&r, "interface swp3") == 1).then_some(())
    })
    .await;
    ready(&ports, "ports", within).await;
    let running = dev.frr.running();
    for line in [
        "interface swp1",
        "interface swp2",
        "interface swp3",
        "router bgp 65001",
        "interface swp9",
    ] {
        assert_eq!(count(&running, line), 1, "{line:?} once in\n{running}");
    }
    assert_eq!(count(&running, " description web-v2"), 0, "{running}");

    // Deleting one service removes exactly its lines.
    let _ = ports.delete("ports", &Default::default()).await;
    eventually("service ports gone from rtr1", within, || async {
        let r = dev.frr.running();
        (!r.contains("web-v3") && ports.get_opt("ports").await.ok()?.is_none()).then_some(())
    })
    .await;
    let running = dev.frr.running();
    assert_eq!(
        count(&running, " neighbor 192.0.2.1 remote-as 65010"),
        1,
        "{running}"
    );
    assert_eq!(count(&running, " description by hand"), 1, "{running}");
    op.abort();
    drop(cluster);
}
