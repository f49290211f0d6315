//! Plugins from a real OCI registry (Debian's docker-registry on 127.0.0.1): push/pull round trips, oras interop, basic auth over TLS, bearer tokens from a token server, tampering, pinning, warm restarts and clear errors.

#[path = "oci/cli.rs"]
mod cli;
mod common;
#[path = "common/registry.rs"]
mod registry;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use naas::oci::{
    DockerConfig, Error, Fetched, Fetcher, PluginRef, PushRequest, Pushed, RegistryOptions,
    RetryPolicy, Source,
};
use naas::runtime::{Limits, LoadOutcome, Runtime, RuntimeConfig};
use registry::token_server::TokenServer;
use registry::{CountingProxy, Registry};

fn options(insecure: &str) -> RegistryOptions {
    RegistryOptions {
        insecure_registries: vec![insecure.to_string()],
        retry: RetryPolicy {
            attempts: 3,
            initial_backoff: Duration::from_millis(10),
        },
        ..RegistryOptions::default()
    }
}

fn fetcher(insecure: &str, cache: &Path) -> Fetcher {
    Fetcher::new(options(insecure), Some(&cache.join("oci"))).expect("fetcher")
}

fn oci_ref(text: &str) -> PluginRef {
    PluginRef::parse(text, None).unwrap()
}

async fn fetch(f: &Fetcher, text: &str) -> Result<Fetched, Error> {
    f.fetch(&oci_ref(text)).await
}

/// A built plugin plus a custom section naming `tag`: a valid component
/// whose digest (and so blob in the shared registry) belongs to one test.
fn unique_component(plugin: &str, tag: &str) -> Vec<u8> {
    let mut bytes = std::fs::read(common::plugin_path(plugin)).expect("plugin");
    let mut section = vec![9u8];
    section.extend_from_slice(b"naas-test");
    section.extend_from_slice(tag.as_bytes());
    assert!(section.len() < 128, "one-byte LEB128 size");
    bytes.extend_from_slice(&[0, section.len() as u8]);
    bytes.extend_from_slice(&section);
    bytes
}

async fn push(f: &Fetcher, reference: &str, component: Vec<u8>) -> Pushed {
    let req = PushRequest {
        reference: oci_ref(reference),
        component,
        title: Some("plugin.wasm".into()),
        annotations: Default::default(),
        created: None,
    };
    f.push(&req)
        .await
        .unwrap_or_else(|e| panic!("push {reference}: {e}"))
}

/// Runs `naas --cache-dir CACHE ARGS...` (ARGS split on spaces) in the repo root.
fn naas(cache: &Path, args: &str, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_naas"))
        .args(["--cache-dir", cache.to_str().unwrap()])
        .args(args.split_whitespace())
        .current_dir(common::repo_root())
        .env_remove("NAAS_LOG")
        .env_remove("NAAS_REGISTRY_CONFIG")
        .envs(env.iter().copied())
        .output()
        .expect("running naas")
}

fn stdout_of(out: Output) -> String {
    let (o, e) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "naas failed: {e}");
    o
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `naas` with an empty cache (so the registry must be asked), expects
/// it to fail with exit code 1, and returns its stderr.
fn failure_of(args: &str) -> String {
    let fresh = tempfile::tempdir().unwrap();
    let out = naas(fresh.path(), args, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    stderr
}

/// Runs tests/data/oci/oras_client.py (the PyPI oras client).
fn oras(args: &[&str]) -> String {
    let ok = Command::new("python3").args(["-c", "import oras"]).output();
    assert!(
        ok.is_ok_and(|o| o.status.success()),
        "python3 with the oras package is missing: run scripts/test.sh (scripts/lib.sh: need_pip oras)"
    );
    let out = Command::new("python3")
        .arg(common::data("oci/oras_client.py"))
        .args(args)
        .output()
        .expect("running oras_client.py");
    assert!(out.status.success(), "oras {args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_media_types_load() {
    let reg = Registry::shared();
    let (h, cache, dir) = (
        reg.host(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let wasm = write(
        dir.path(),
        "legacy.wasm",
        unique_component("access_ports", "legacy"),
    );
    let config = write(dir.path(), "config.json", "{}");
    let (layer_type, config_type) = (
        "application/vnd.wasm.content.layer.v1+wasm",
        "application/vnd.wasm.config.v1+json",
    );
    oras(&[
        "push",
        &format!("{h}/naas/legacy:1"),
        &wasm,
        layer_type,
        &config,
        config_type,
    ]);
    let got = fetch(&fetcher(&h, cache.path()), &format!("{h}/naas/legacy:1"))
        .await
        .unwrap();
    assert_eq!(got.layer.media_type, layer_type);
    let plugin = common::runtime()
        .load_verified(
            "legacy",
            &got.component,
            got.component_digest.clone(),
            Limits::default(),
        )
        .unwrap();
    assert_eq!(plugin.info().name, "access-ports");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_wasm_artifacts_are_refused_naming_the_media_types() {
    let reg = Registry::shared();
    let (h, cache, dir) = (
        reg.host(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let file = write(dir.path(), "rootfs.tar", "not a plugin");
    let config = write(dir.path(), "config.json", "{}");
    let (layer_type, config_type) = (
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.config.v1+json",
    );
    oras(&[
        "push",
        &format!("{h}/naas/image:1"),
        &file,
        layer_type,
        &config,
        config_type,
    ]);
    let e = fetch(&fetcher(&h, cache.path()), &format!("{h}/naas/image:1"))
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::NotWasm { .. }), "{msg}");
    assert!(
        msg.contains(layer_type) && msg.contains(config_type) && msg.contains("application/wasm"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_blobs_and_manifests_are_refused_and_not_cached() {
    let reg = Registry::shared();
    let (h, cache) = (reg.host(), tempfile::tempdir().unwrap());
    let f = fetcher(&h, cache.path());
    let pushed = push(
        &f,
        &format!("{h}/naas/tampered:1"),
        unique_component("access_ports", "t1"),
    )
    .await;
    let data = reg.blob_data(&pushed.layer_digest.to_string());
    let mut bytes = std::fs::read(&data).expect("the layer in the registry's storage");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&data, bytes).unwrap();

    let e = fetch(&f, &format!("{h}/naas/tampered:1"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::DigestMismatch { .. }), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("expected {}", pushed.layer_digest)),
        "{e}"
    );
    let store = f.store().unwrap();
    assert!(
        !store.contains(&pushed.layer_digest),
        "the tampered layer is not cached"
    );
    assert!(!store.contains(&pushed.manifest_digest), "nor its manifest");

    // A manifest altered in storage does not match the digest it is pinned to.
    let pushed = push(
        &f,
        &format!("{h}/naas/tampered:2"),
        unique_component("access_ports", "t2"),
    )
    .await;
    let data = reg.blob_data(&pushed.manifest_digest.to_string());
    let manifest = std::fs::read_to_string(&data)
        .unwrap()
        .replace("plugin.wasm", "plugin.wasX");
    std::fs::write(&data, manifest).unwrap();
    let e = fetch(&f, &format!("{h}/naas/tampered@{}", pushed.manifest_digest))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::DigestMismatch { .. }), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("expected {}", pushed.manifest_digest)),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_restart_makes_no_registry_request_and_compiles_nothing() {
    let reg = Registry::shared();
    let (h, cache) = (reg.host(), tempfile::tempdir().unwrap());
    let component = unique_component("access_ports", "warm");
    push(
        &fetcher(&h, cache.path()),
        &format!("{h}/naas/warm:1"),
        component,
    )
    .await;
    let proxy = CountingProxy::start(reg.addr());
    let p = proxy.host();
    let compiled_cache = cache.path().join("compiled");
    let runtime = || {
        Runtime::new(&RuntimeConfig {
            cache_dir: Some(compiled_cache.clone()),
            ..RuntimeConfig::default()
        })
        .unwrap()
    };
    let load = |rt: &Runtime, got: &Fetched| {
        rt.load_verified(
            "warm",
            &got.component,
            got.component_digest.clone(),
            Limits::default(),
        )
        .unwrap()
    };

    // First start: pulled through the proxy, and compiled.
    let got = fetch(&fetcher(&p, cache.path()), &format!("{p}/naas/warm:1"))
        .await
        .unwrap();
    assert_eq!(got.source, Source::Registry);
    assert_eq!(load(&runtime(), &got).load_outcome(), LoadOutcome::Compiled);
    let cold = proxy.requests().len();
    assert!(
        cold >= 3,
        "manifest, config and layer were downloaded: {:?}",
        proxy.requests()
    );
    let pinned = got.reference.to_string();
    assert!(pinned.contains("@sha256:"), "{pinned}");

    // Restart: a new fetcher and runtime on the same cache, digest-pinned.
    let connections = proxy.connections();
    let f = fetcher(&p, cache.path());
    let got = fetch(&f, &pinned).await.unwrap();
    assert_eq!(got.source, Source::Cache);
    let plugin = load(&runtime(), &got);
    assert_eq!(
        plugin.load_outcome(),
        LoadOutcome::FromCache,
        "nothing compiled"
    );
    assert_eq!(plugin.info().name, "access-ports");
    assert_eq!(
        proxy.connections(),
        connections,
        "no registry request: {:?}",
        proxy.requests()
    );

    // By tag, the registry is asked where the tag points, and nothing more.
    assert_eq!(
        fetch(&f, &format!("{p}/naas/warm:1")).await.unwrap().source,
        Source::Cache
    );
    let new = proxy.requests().split_off(cold);
    assert!(
        !new.is_empty() && new.iter().all(|r| !r.contains("/blobs/")),
        "{new:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pulls_of_one_digest_download_it_once() {
    let reg = Registry::shared();
    let (h, cache) = (reg.host(), tempfile::tempdir().unwrap());
    let component = unique_component("bgp_peering", "flight");
    let pushed = push(
        &fetcher(&h, cache.path()),
        &format!("{h}/naas/flight:1"),
        component,
    )
    .await;
    let proxy = CountingProxy::start(reg.addr());
    let f = Arc::new(fetcher(&proxy.host(), cache.path()));
    let r = oci_ref(&format!(
        "{}/naas/flight@{}",
        proxy.host(),
        pushed.manifest_digest
    ));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (f, r) = (f.clone(), r.clone());
            tokio::spawn(async move { f.fetch(&r).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(
            t.await.unwrap().unwrap().component_digest,
            pushed.layer_digest
        );
    }
    let layer = pushed.layer_digest.to_string();
    let requests = proxy.requests();
    let gets = requests
        .iter()
        .filter(|l| l.starts_with("GET") && l.contains(&layer))
        .count();
    assert_eq!(gets, 1, "{requests:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_digest_mismatch_unknown_tag_and_oversize_are_refused_clearly() {
    let reg = Registry::shared();
    let (h, cache) = (reg.host(), tempfile::tempdir().unwrap());
    let f = fetcher(&h, cache.path());
    let v1 = push(
        &f,
        &format!("{h}/naas/pinned:1"),
        unique_component("access_ports", "p1"),
    )
    .await;
    let v2 = push(
        &f,
        &format!("{h}/naas/pinned:2"),
        unique_component("access_ports", "p2"),
    )
    .await;
    let d1 = v1.manifest_digest.to_string();
    let pinned = |text: &str| PluginRef::parse(text, Some(&d1)).unwrap();

    // A digest given apart from the tag is what the tag must point to...
    let e = f
        .fetch(&pinned(&format!("{h}/naas/pinned:2")))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::DigestMismatch { .. }), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("expected {d1}, got {}", v2.manifest_digest)),
        "{e}"
    );
    let ok = f
        .fetch(&pinned(&format!("{h}/naas/pinned:1")))
        .await
        .unwrap();
    assert_eq!(ok.manifest_digest, v1.manifest_digest);
    // ...while in the reference, as with Docker, the digest wins over the tag.
    let got = fetch(&f, &format!("{h}/naas/pinned:2@{d1}")).await.unwrap();
    assert_eq!(got.manifest_digest, v1.manifest_digest);
    // The separate digest is checked even with its manifest cached.
    let out = cache.path().join("out.wasm");
    let pull = format!(
        "--insecure-registry {h} plugin pull {h}/naas/pinned:2 --digest {d1} -o {}",
        out.display()
    );
    let refused = naas(cache.path(), &pull, &[]);
    assert!(
        text(&refused.stderr).contains("digest mismatch"),
        "{}",
        text(&refused.stderr)
    );
    assert!(!out.exists());

    let e = fetch(&f, &format!("{h}/naas/pinned:nope"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("tag \"nope\" not found in registry {h}")),
        "{e}"
    );

    let capped = RegistryOptions {
        max_blob_size: 64 << 10,
        ..options(&h)
    };
    let e = fetch(
        &Fetcher::new(capped, None).unwrap(),
        &format!("{h}/naas/pinned:1"),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::TooLarge { limit: 65536, .. }), "{e}");
    assert!(e.to_string().contains("--max-plugin-size"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_registry_is_reported_after_bounded_retries() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let host = closed.to_string();
    let cache = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let e = fetch(&fetcher(&host, cache.path()), &format!("{host}/naas/x:1"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unreachable { attempts: 3, .. }), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("cannot reach registry {host}")),
        "{e}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// A docker config JSON for `host` with `user:password`, written into `dir`.
fn docker_config(dir: &Path, host: &str, user: &str, password: &str) -> String {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    write(
        dir,
        &format!("{user}-{password}.json"),
        format!(r#"{{"auths": {{"{host}": {{"auth": "{auth}"}}}}}}"#),
    )
}

#[test]
fn bearer_tokens_from_the_realm_push_and_pull_and_a_wrong_password_is_refused_clearly() {
    // The token server over HTTPS, with a certificate from its own CA.
    let tokens = TokenServer::start("vendor", "t0ken-pass");
    let reg = Registry::start_token_auth(&tokens);
    let (h, dir) = (reg.host(), tempfile::tempdir().unwrap());
    let ca = tokens.ca_file().display().to_string();
    assert!(tokens.realm().starts_with("https://"), "{}", tokens.realm());

    // The registry sends anonymous clients to the token server.
    let challenge = reg.anonymous_v2().to_ascii_lowercase();
    assert!(
        challenge.starts_with("http/1.1 401")
            && challenge.contains(&format!(
                "www-authenticate: bearer realm=\"{}\",service=\"{}\"",
                tokens.realm(),
                registry::token_server::SERVICE
            )),
        "the registry must answer 401 with a bearer challenge naming the token realm: {challenge}"
    );

    let (good, bad) = (
        docker_config(dir.path(), &h, "vendor", "t0ken-pass"),
        docker_config(dir.path(), &h, "vendor", "wrong"),
    );
    let r = format!("{h}/vendor/access-ports:1");
    let file = common::plugin_path("access_ports");
    let scope = |actions: &str| format!("repository:vendor/access-ports:{actions}");
    let scopes = |issued: &[registry::token_server::Issued]| -> Vec<String> {
        issued.iter().flat_map(|i| i.scopes.clone()).collect()
    };

    let push_cache = tempfile::tempdir().unwrap();
    let push = format!(
        "--registry-config {good} --insecure-registry {h} --ca-file {ca} plugin push {} {r}",
        file.display()
    );
    let digest = stdout_of(naas(push_cache.path(), &push, &[]))
        .trim()
        .to_string();
    let after_push = tokens.issued();
    assert!(
        scopes(&after_push).contains(&scope("pull,push")),
        "the push must have been authorised by a pull,push token from the realm; issued: \
         {after_push:?}"
    );
    assert!(
        after_push.iter().all(|i| i.user == "vendor"),
        "{after_push:?}"
    );

    // A pull from an empty cache gets its own token, read from the config
    // named by the environment.
    let (pull_cache, out) = (tempfile::tempdir().unwrap(), dir.path().join("pulled.wasm"));
    let pull = format!(
        "--insecure-registry {h} --ca-file {ca} plugin pull {r} -o {}",
        out.display()
    );
    let said = stdout_of(naas(
        pull_cache.path(),
        &pull,
        &[("NAAS_REGISTRY_CONFIG", good.as_str())],
    ));
    assert!(said.contains(&digest), "{said}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&file).unwrap(),
        "the pulled component is the pushed one"
    );
    let pulled_with = tokens.issued().split_off(after_push.len());
    assert!(
        !pulled_with.is_empty() && scopes(&pulled_with).iter().all(|s| *s == scope("pull")),
        "the pull must have fetched pull-only tokens from the realm; issued: {pulled_with:?}"
    );
    assert_eq!(tokens.refused(), 0, "good credentials were never refused");

    // The wrong password: the token server refuses it, no token is issued,
    // and naas says which registry refused and where credentials come from.
    let issued = tokens.issued().len();
    let stderr = failure_of(&format!("--registry-config {bad} {pull}"));
    assert!(
        stderr.contains(&format!("registry {h} refused access to {r}"))
            && stderr.contains("401 Unauthorized")
            && stderr.contains("--registry-config"),
        "a wrong password must give naas's auth error: {stderr}"
    );
    assert!(
        tokens.refused() >= 1,
        "the token server saw the wrong password"
    );
    assert_eq!(
        tokens.issued().len(),
        issued,
        "no token for a wrong password"
    );
}

/// Library options for a plain-HTTP registry `h` with `credentials`, plus
/// `--insecure-registry` entries `more`.
fn token_options(h: &str, credentials: &str, more: &[&str]) -> RegistryOptions {
    let mut opts = options(h);
    opts.credentials = DockerConfig::from_file(Path::new(credentials)).unwrap();
    opts.insecure_registries
        .extend(more.iter().map(|m| m.to_string()));
    opts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_http_token_realm_gets_no_request_unless_insecure_registry_allows_it() {
    let tokens = TokenServer::start_plain_http("vendor", "t0ken-pass");
    let reg = Registry::start_token_auth(&tokens);
    let (h, t, dir) = (reg.host(), tokens.host(), tempfile::tempdir().unwrap());
    let realm = tokens.realm();
    assert_eq!(realm, format!("http://{t}/token"));
    assert!(
        reg.anonymous_v2()
            .to_ascii_lowercase()
            .contains(&format!("bearer realm=\"{realm}\"")),
        "the registry must name the plain-HTTP realm"
    );
    let good = docker_config(dir.path(), &h, "vendor", "t0ken-pass");
    let r = format!("{h}/vendor/realm:1");
    let component = unique_component("access_ports", "realm");
    let request = PushRequest {
        reference: oci_ref(&r),
        component: component.clone(),
        title: Some("plugin.wasm".into()),
        annotations: Default::default(),
        created: None,
    };

    // --insecure-registry names the registry only: a pull and a push are
    // refused, naming the realm and what to do, before the realm is asked.
    let refused = |e: Error| {
        let msg = e.to_string();
        assert!(
            matches!(&e, Error::InsecureTokenRealm { realm: named, .. } if *named == realm),
            "{msg}"
        );
        assert!(
            msg.contains(&format!(
                "registry {h} names the plain-HTTP token realm {realm}"
            )) && msg.contains("https:// realm")
                && msg.contains(&format!("--insecure-registry {t}")),
            "{msg}"
        );
    };
    let f = Fetcher::new(token_options(&h, &good, &[]), None).unwrap();
    refused(fetch(&f, &r).await.unwrap_err());
    refused(f.push(&request).await.unwrap_err());
    // Another port of the realm's host is no permission either.
    let other_port = Fetcher::new(token_options(&h, &good, &["127.0.0.1"]), None).unwrap();
    refused(fetch(&other_port, &r).await.unwrap_err());
    assert_eq!(
        tokens.requests(),
        0,
        "no request (so no credentials) may reach a refused realm"
    );

    // Allowing the token server's host:port lets the token flow run.
    let f = Fetcher::new(token_options(&h, &good, &[&t]), None).unwrap();
    let pushed = f.push(&request).await.unwrap();
    let got = fetch(&f, &r).await.unwrap();
    assert_eq!(got.manifest_digest, pushed.manifest_digest);
    assert_eq!(&got.component[..], &component[..]);
    assert!(
        tokens.requests() > 0 && !tokens.issued().is_empty(),
        "the allowed realm issued the tokens"
    );
    assert!(tokens.issued().iter().all(|i| i.user == "vendor"));
}
