//! The e2e scenario's template overrides: a Plugin's templates ConfigMap changes what its services push; a broken override is `Ready=False` naming the key and line.

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use naas::driver::MemoryDriver;
use naas::operator::Plugin;
use serde_json::json;

use crate::{eventually, ready_of};

const SITE: &str = "! site template {{ service.name }}\n{% for p in ports %}\ninterface {{ p }}\n   description site:{{ description }}\n   switchport access vlan {{ vlan }}\n{% endfor %}\n";
const BROKEN: &str = "! site template {{ service.name }}\n{% for p in ports %}\ninterface {{ p }}\n   description {{ no_such_variable }}\n{% endfor %}\n";

/// Sets `eos.j2` of ConfigMap naas-system/access-ports-templates.
async fn set_override(client: &Client, text: &str) {
    let cm = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "access-ports-templates", "namespace": "naas-system"},
        "data": {"eos.j2": text},
    });
    Api::<ConfigMap>::namespaced(client.clone(), "naas-system")
        .patch(
            "access-ports-templates",
            &PatchParams::apply("e2e-test").force(),
            &Patch::Apply(&cm),
        )
        .await
        .unwrap();
}

/// Points Plugin access-ports at the templates ConfigMap (`Some`) or at none.
async fn use_templates(plugins: &Api<Plugin>, templates: Option<&str>) {
    let patch = json!({"spec": {"templates": templates.map(|n| json!({"name": n}))}});
    plugins
        .patch(
            "access-ports",
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .unwrap();
}

/// Service `web` (leaf1, Ethernet1-2, "web servers") exists and is Ready.
pub async fn overrides_from_a_configmap(
    client: &Client,
    plugins: &Api<Plugin>,
    services: &Api<DynamicObject>,
    driver: &MemoryDriver,
    within: Duration,
) {
    // The override, then the Plugin naming it: the service re-renders with it.
    set_override(client, SITE).await;
    use_templates(plugins, Some("access-ports-templates")).await;
    eventually("leaf1 configured by the override", within, || async {
        driver
            .running("leaf1")
            .contains("description site:web servers\n")
            .then_some(())
    })
    .await;
    let running = driver.running("leaf1");
    assert!(
        running.contains("! site template web\ninterface Ethernet1\n"),
        "{running}"
    );

    // A broken override: Ready=False, reason TemplateError, naming the
    // ConfigMap, its key and the line; the device keeps its config.
    let pushes = driver.pushes().len();
    set_override(client, BROKEN).await;
    let (_, reason, message) = eventually("service web TemplateError", within, || async {
        let s = services.get("web").await.ok()?.data["status"].clone();
        ready_of(&s).filter(|r| r.0 == "False")
    })
    .await;
    assert_eq!(reason, "TemplateError", "{message}");
    assert!(
        message.contains(
            "template override ConfigMap naas-system/access-ports-templates, key eos.j2: line 4: undefined value"
        ),
        "{message}"
    );
    assert_eq!(driver.pushes().len(), pushes, "nothing pushed");
    assert_eq!(driver.running("leaf1"), running);

    // Fixed by dropping the override: the built-in template comes back.
    use_templates(plugins, None).await;
    eventually(
        "service web Ready with the built-in template",
        within,
        || async {
            let s = services.get("web").await.ok()?.data["status"].clone();
            let ready = ready_of(&s)?.0 == "True";
            let builtin = driver
                .running("leaf1")
                .contains("description web servers\n");
            (ready && builtin).then_some(())
        },
    )
    .await;
}
