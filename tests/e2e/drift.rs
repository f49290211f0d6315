//! The e2e scenario's drift checks: a line naas applied, removed from the device by hand, is reported in Device status, then healed with `driftPolicy: heal`.

use std::time::Duration;

use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use naas::driver::MemoryDriver;
use naas::operator::Device;
use serde_json::json;

use crate::{apply_ports, delete_and_wait, eventually};

/// The `InSync` condition of Device `name`: (status, reason, message), and its drift lines.
async fn in_sync(devices: &Api<Device>, name: &str) -> Option<(String, String, Vec<String>)> {
    let status = devices.get(name).await.ok()?.status?;
    let c = status.conditions.iter().find(|c| c.type_ == "InSync")?;
    Some((c.status.clone(), c.reason.clone(), status.drift.clone()))
}

async fn patch_spec(devices: &Api<Device>, spec: serde_json::Value) {
    devices
        .patch(
            "leaf1",
            &PatchParams::default(),
            &Patch::Merge(&json!({ "spec": spec })),
        )
        .await
        .unwrap();
}

/// leaf1 holds service web's config (`switchport access vlan 120`).
pub async fn reported_then_healed(
    client: &Client,
    services: &Api<DynamicObject>,
    driver: &MemoryDriver,
    within: Duration,
) {
    let devices: Api<Device> = Api::all(client.clone());
    patch_spec(&devices, json!({"driftCheckInterval": "1s"})).await;
    eventually("leaf1 InSync", within, || async {
        in_sync(&devices, "leaf1")
            .await
            .filter(|s| s.0 == "True")
            .map(|_| ())
    })
    .await;

    // Someone removes a line naas applied.
    let applied = driver.running("leaf1");
    let edited: String = applied
        .lines()
        .filter(|l| !l.contains("switchport access vlan 120"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(edited, applied);
    driver.set_running("leaf1", &edited);
    let (_, reason, lines) = eventually("leaf1 drift reported", within, || async {
        in_sync(&devices, "leaf1").await.filter(|s| s.0 == "False")
    })
    .await;
    assert_eq!(reason, "Drifted");
    assert!(
        lines.contains(&"missing: interface Ethernet1 > switchport access vlan 120".to_string()),
        "{lines:?}"
    );
    assert_eq!(
        driver.running("leaf1"),
        edited,
        "report only: nothing pushed"
    );

    // driftPolicy heal: naas's config goes back, and only it.
    patch_spec(&devices, json!({"driftPolicy": "heal"})).await;
    eventually("leaf1 healed", within, || async {
        let s = in_sync(&devices, "leaf1").await?;
        (s.0 == "True" && driver.running("leaf1") == applied).then_some(())
    })
    .await;
    patch_spec(&devices, json!({"driftPolicy": null})).await;
    a_removed_line_that_comes_back_is_reported(&devices, services, driver, within).await;
    patch_spec(&devices, json!({"driftCheckInterval": null})).await;
}

/// A line naas removed (an old description, replaced by a new one) put
/// back on the device by hand is reported as `returned:`, with the new
/// line `missing:` (the removed lines are kept in the device's applied
/// record, annotation `naas.io/removed`).
async fn a_removed_line_that_comes_back_is_reported(
    devices: &Api<Device>,
    services: &Api<DynamicObject>,
    driver: &MemoryDriver,
    within: Duration,
) {
    for description in ["old-desc", "new-desc"] {
        apply_ports(
            services,
            "drifty",
            json!({"device": "leaf1", "ports": "Ethernet4", "vlan": 150, "description": description}),
            json!({}),
        )
        .await;
        eventually(
            &format!("drifty pushed with {description}"),
            within,
            || async {
                driver
                    .running("leaf1")
                    .contains(&format!("description {description}"))
                    .then_some(())
            },
        )
        .await;
    }
    let applied = driver.running("leaf1");
    assert!(!applied.contains("old-desc"), "{applied}");
    driver.set_running(
        "leaf1",
        &applied.replace("description new-desc", "description old-desc"),
    );
    let (_, reason, lines) = eventually("the old description reported", within, || async {
        in_sync(devices, "leaf1")
            .await
            .filter(|s| s.0 == "False" && s.2.iter().any(|l| l.starts_with("returned:")))
    })
    .await;
    assert_eq!(reason, "Drifted");
    assert!(
        lines.contains(&"returned: interface Ethernet4 > description old-desc".to_string())
            && lines.contains(&"missing: interface Ethernet4 > description new-desc".to_string()),
        "{lines:?}"
    );
    driver.set_running("leaf1", &applied);
    delete_and_wait(services, "drifty", within).await;
}
