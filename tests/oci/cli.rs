//! The `naas plugin push|pull|inspect`, `describe` and `render` commands against real registries, and interoperability with the oras client.

use base64::Engine as _;
use naas::digest::Digest;

use super::*;

#[test]
fn push_then_pull_round_trip_is_byte_identical_and_inspect_shows_the_artifact() {
    let reg = Registry::shared();
    let (h, cache, pull_cache) = (
        reg.host(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let file = common::plugin_path("access_ports");
    let r = format!("{h}/naas/roundtrip:1.0");
    let push = format!("--insecure-registry {h} plugin push {} {r}", file.display());
    let digest = stdout_of(naas(cache.path(), &push, &[])).trim().to_string();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );

    let pulled = pull_cache.path().join("pulled.wasm");
    let pull = format!(
        "--insecure-registry {h} plugin pull {r} -o {}",
        pulled.display()
    );
    let said = stdout_of(naas(pull_cache.path(), &pull, &[]));
    assert!(said.contains(&format!("{r}@{digest}")), "{said}");
    assert_eq!(
        std::fs::read(&pulled).unwrap(),
        std::fs::read(&file).unwrap()
    );

    let inspect =
        format!("--insecure-registry {h} plugin inspect {h}/naas/roundtrip@{digest} -o json");
    let v: serde_json::Value =
        serde_json::from_str(&stdout_of(naas(pull_cache.path(), &inspect, &[]))).unwrap();
    let layer = Digest::of(&std::fs::read(&file).unwrap()).to_string();
    assert_eq!(v["manifest"]["digest"], digest.as_str());
    assert_eq!(v["source"], "cache", "pulled before: nothing to download");
    assert_eq!(
        v["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(v["layers"][0]["mediaType"], "application/wasm");
    assert_eq!(v["layers"][0]["digest"], layer.as_str());
    let config = &v["configDocument"];
    assert_eq!(
        (config["architecture"].as_str(), config["os"].as_str()),
        (Some("wasm"), Some("wasip2"))
    );
    assert_eq!(config["layerDigests"][0], layer.as_str());
    let names = |k: &str| -> Vec<String> {
        let list = config["component"][k].as_array().unwrap();
        list.iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        names("imports").contains(&"naas:plugin/host@0.1.1".to_string()),
        "{config}"
    );
    assert_eq!(
        names("exports"),
        ["describe", "validate", "expand", "render"]
    );
    assert_eq!(v["plugin"]["name"], "access-ports");
    assert_eq!(
        v["manifest"]["annotations"]["org.opencontainers.image.version"],
        v["plugin"]["version"]
    );

    // `describe --plugin` takes the reference too.
    let described = stdout_of(naas(
        pull_cache.path(),
        &format!("--insecure-registry {h} describe --plugin {r}"),
        &[],
    ));
    assert!(
        described.contains(&format!("Digest:      {layer}")),
        "{described}"
    );

    // So does the conformance kit: the pushed plugin passes its fixture set.
    let fixtures = common::data("conformance/access-ports");
    let report = stdout_of(naas(
        pull_cache.path(),
        &format!(
            "--insecure-registry {h} plugin test {r} {}",
            fixtures.display()
        ),
        &[],
    ));
    assert!(
        report.contains("PASS eos-range") && report.contains(" 0 failed"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naas_pushes_are_pulled_by_oras_and_oras_pushes_are_rendered_by_naas() {
    let reg = Registry::shared();
    let (h, cache, dir) = (
        reg.host(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let component = std::fs::read(common::plugin_path("access_ports")).unwrap();
    push(
        &fetcher(&h, cache.path()),
        &format!("{h}/naas/interop-a:1"),
        component.clone(),
    )
    .await;
    let files = oras(&[
        "pull",
        &format!("{h}/naas/interop-a:1"),
        dir.path().to_str().unwrap(),
    ]);
    let pulled = files.lines().next().expect("oras wrote a file");
    assert!(
        pulled.ends_with("plugin.wasm"),
        "the layer's title names the file: {pulled}"
    );
    assert_eq!(
        std::fs::read(pulled).unwrap(),
        component,
        "oras got the very bytes"
    );

    let bgp = common::plugin_path("bgp_peering");
    let config = write(
        dir.path(),
        "config.json",
        r#"{"architecture":"wasm","os":"wasip2","layerDigests":[]}"#,
    );
    let (layer_type, config_type) = ("application/wasm", "application/vnd.wasm.config.v0+json");
    oras(&[
        "push",
        &format!("{h}/naas/interop-b:1"),
        bgp.to_str().unwrap(),
        layer_type,
        &config,
        config_type,
    ]);
    let render = format!(
        "--insecure-registry {h} render --plugin {h}/naas/interop-b:1 -o json \
         -f examples/bgp-peering.yaml --devices examples/devices.yaml"
    );
    let v: serde_json::Value =
        serde_json::from_str(&stdout_of(naas(cache.path(), &render, &[]))).unwrap();
    assert_eq!(v[0]["configs"][0]["device"], "border1");
    assert!(
        v[0]["configs"][0]["text"]
            .as_str()
            .unwrap()
            .contains("router bgp 65001")
    );
}

#[test]
fn basic_auth_over_tls_works_and_a_wrong_password_is_refused_clearly() {
    let reg = Registry::start_secure("vendor", "s3cret");
    let (h, dir, cache) = (
        reg.host(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let ca = reg.ca_file().unwrap().display().to_string();
    let docker_config = |pass: &str| {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("vendor:{pass}"));
        write(
            dir.path(),
            &format!("{pass}.json"),
            format!(r#"{{"auths": {{"{h}": {{"auth": "{auth}"}}}}}}"#),
        )
    };
    let (good, bad) = (docker_config("s3cret"), docker_config("wrong"));
    let r = format!("{h}/vendor/access-ports:1");
    let file = common::plugin_path("access_ports");
    let push = format!(
        "--registry-config {good} --ca-file {ca} plugin push {} {r}",
        file.display()
    );
    stdout_of(naas(cache.path(), &push, &[]));

    let out = dir.path().join("pulled.wasm");
    let pull = format!("--ca-file {ca} plugin pull {r} -o {}", out.display());
    stdout_of(naas(
        cache.path(),
        &pull,
        &[("NAAS_REGISTRY_CONFIG", good.as_str())],
    ));
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&file).unwrap());

    let stderr = failure_of(&format!("--registry-config {bad} {pull}"));
    assert!(
        stderr.contains(&format!("registry {h} refused access")),
        "{stderr}"
    );
    assert!(stderr.contains("--registry-config"), "{stderr}");

    let stderr = failure_of(&format!("--registry-config {good} plugin pull {r}"));
    assert!(
        stderr.contains("TLS with registry") && stderr.contains("--ca-file"),
        "{stderr}"
    );
}

#[test]
fn naas_plugin_pull_refuses_a_plain_http_token_realm_until_insecure_registry_names_it() {
    let tokens = registry::token_server::TokenServer::start_plain_http("vendor", "t0ken-pass");
    let reg = Registry::start_token_auth(&tokens);
    let (h, t, dir) = (reg.host(), tokens.host(), tempfile::tempdir().unwrap());
    let (realm, good) = (
        tokens.realm(),
        docker_config(dir.path(), &h, "vendor", "t0ken-pass"),
    );
    let r = format!("{h}/vendor/cli-realm:1");
    let file = common::plugin_path("access_ports");
    let out = dir.path().join("pulled.wasm");
    let pull = format!(
        "--registry-config {good} --insecure-registry {h} plugin pull {r} -o {}",
        out.display()
    );

    // Refused before anything is sent to the realm, saying what to do.
    let stderr = failure_of(&pull);
    assert!(
        stderr.contains(&format!(
            "registry {h} names the plain-HTTP token realm {realm}"
        )) && stderr.contains(&format!("--insecure-registry {t}")),
        "{stderr}"
    );
    assert!(!out.exists());
    assert_eq!(tokens.requests(), 0, "the refused realm got a request");

    // With the token server's host:port allowed, push and pull work.
    let cache = tempfile::tempdir().unwrap();
    let push = format!(
        "--registry-config {good} --insecure-registry {h} --insecure-registry {t} plugin push {} {r}",
        file.display()
    );
    let digest = stdout_of(naas(cache.path(), &push, &[])).trim().to_string();
    let pull_cache = tempfile::tempdir().unwrap();
    let said = stdout_of(naas(
        pull_cache.path(),
        &format!("--insecure-registry {t} {pull}"),
        &[],
    ));
    assert!(said.contains(&digest), "{said}");
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&file).unwrap());
    assert!(
        !tokens.issued().is_empty(),
        "the allowed realm issued the tokens"
    );
}
