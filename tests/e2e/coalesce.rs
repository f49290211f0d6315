//! The e2e scenario's group commit: services waiting for the same device are pushed together (fewer pushes than services, each one Ready and recorded), and a device that fails fails only its own services.

use std::time::Duration;

use futures_util::future::join_all;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, DynamicObject, PostParams};
use naas::driver::{Fault, MemoryDriver};
use naas::operator::Device;
use serde_json::json;

use crate::{apply_ports, delete_and_wait, eventually, ready_of};

/// Services on the slow device, and on the unreachable one.
const ON_SLOW: usize = 12;
const ON_DOWN: usize = 3;

/// Devices `slow` (every push takes a while, so services queue for it)
/// and `down` (unreachable), both granting tenant-a Ethernet1-48; services
/// on both at once; then everything removed again.
pub async fn services_on_one_device_share_a_push(
    client: &Client,
    services: &Api<DynamicObject>,
    driver: &MemoryDriver,
    within: Duration,
) {
    let devices: Api<Device> = Api::all(client.clone());
    driver.set_fault("slow", Some(Fault::Slow));
    driver.set_fault("down", Some(Fault::Unreachable));
    for name in ["slow", "down"] {
        let d: Device = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"address": "192.0.2.20", "platform": "eos", "credentialsSecretRef": {"name": "leaf-credentials"},
                     "insecureSkipHostKeyVerification": true,
                     "tenants": [{"namespace": "tenant-a", "ports": ["Ethernet1-48"]}]},
        }))
        .unwrap();
        devices.create(&PostParams::default(), &d).await.unwrap();
    }
    let pushed_to = |device: &str| {
        driver
            .pushes()
            .iter()
            .filter(|p| p.device == device)
            .count()
    };
    let names: Vec<(String, &str)> = (0..ON_SLOW)
        .map(|i| (format!("group-{i}"), "slow"))
        .chain((0..ON_DOWN).map(|i| (format!("down-{i}"), "down")))
        .collect();
    join_all(names.iter().enumerate().map(|(i, (name, device))| {
        apply_ports(
            services,
            name,
            json!({"device": device, "ports": format!("Ethernet{}", i + 1), "vlan": 200 + i}),
            json!({}),
        )
    }))
    .await;

    for (name, device) in &names {
        let ready = eventually(&format!("service {name} settled"), within, || async {
            let s = services.get(name).await.ok()?.data["status"].clone();
            ready_of(&s).filter(|r| r.1 == "Applied" || r.1 == "PushFailed")
        })
        .await;
        if *device == "slow" {
            assert_eq!((ready.0.as_str(), ready.1.as_str()), ("True", "Applied"));
        } else {
            assert_eq!(ready.1, "PushFailed", "{}", ready.2);
            assert!(ready.2.contains("device down"), "{}", ready.2);
        }
    }
    let pushes = pushed_to("slow");
    assert!(
        pushes < ON_SLOW,
        "{ON_SLOW} services on one device took {pushes} pushes"
    );
    // The device's record holds each service's part; the device has all.
    let record = naas::operator::fragments_of(
        &Api::<ConfigMap>::namespaced(client.clone(), "naas-system")
            .get("naas-applied-slow")
            .await
            .unwrap(),
    )
    .unwrap();
    let running = driver.running("slow");
    for (i, (name, device)) in names.iter().enumerate() {
        let fragment = record.get(&format!("AccessPorts.tenant-a.{name}"));
        let interface = format!("interface Ethernet{}\n", i + 1);
        if *device == "slow" {
            assert!(
                fragment.is_some_and(|f| f.contains(&interface)),
                "{name}: {record:?}"
            );
            assert!(running.contains(&interface), "{name}: {running}");
        } else {
            assert!(fragment.is_none(), "{name}: {record:?}");
            assert!(!running.contains(&interface), "{name}: {running}");
        }
    }
    assert!(driver.running("down").is_empty());

    // Gone again: the services (their cleanup), then the devices.
    driver.set_fault("slow", None);
    join_all(
        names
            .iter()
            .map(|(name, _)| delete_and_wait(services, name, within)),
    )
    .await;
    assert!(!driver.running("slow").contains("interface Ethernet"));
    driver.set_fault("down", None);
    for name in ["slow", "down"] {
        delete_and_wait(&devices, name, within).await;
    }
}
