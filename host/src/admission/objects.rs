//! Admission of the host's own kinds (`naas.io/v1alpha1` Plugin and Device): every violation, each with its field path, before the object is stored.
//!
//! The checks call the parsers the host itself uses later, so admission
//! accepts exactly what the operator and the drivers accept: image references
//! through [`PluginRef::parse`], digests through [`Digest::parse`], host keys
//! through the SSH drivers' own key parser ([`crate::driver::ssh::fingerprint`]),
//! tenant ports through the inventory's range syntax
//! ([`naas_plugin_sdk::expand_list`]), durations through
//! [`crate::cli::parse_duration`], and the driver/platform rule through
//! [`DeviceSpec::driver_mismatch`].

use std::net::IpAddr;

use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, Operation};
use serde::de::DeserializeOwned;

use crate::digest::Digest;
use crate::oci::PluginRef;
use crate::operator::{DeviceSpec, GROUP, ObjectRef, PluginSpec, VERSION};

/// Reviews a Plugin or Device: `Ok` to allow, `Err` with every violation to deny.
///
/// Mutation never patches host objects. A status update, and an update that
/// leaves `spec` as it was (finalizers, labels), are allowed without checks,
/// so that an object stored before admission existed can still be finished
/// and deleted.
pub(super) fn review(
    request: &AdmissionRequest<DynamicObject>,
    object: &DynamicObject,
    operator_namespace: &str,
    mutate: bool,
) -> Result<(), String> {
    let kind = &request.kind;
    if kind.version != VERSION || !matches!(kind.kind.as_str(), "Plugin" | "Device") {
        return Err(format!(
            "{} {}: the host serves only Plugin and Device in {GROUP}/{VERSION}, not {}/{} {}",
            kind.kind, request.name, kind.group, kind.version, kind.kind
        ));
    }
    if mutate || request.sub_resource.is_some() {
        return Ok(());
    }
    let spec = object.data.get("spec");
    if request.operation == Operation::Update
        && request
            .old_object
            .as_ref()
            .is_some_and(|old| old.data.get("spec") == spec)
    {
        return Ok(());
    }
    let name = object
        .metadata
        .name
        .clone()
        .unwrap_or_else(|| request.name.clone());
    let violations = if kind.kind == "Plugin" {
        parse::<PluginSpec>(spec).map(|s| plugin_violations(&s, operator_namespace))
    } else {
        parse::<DeviceSpec>(spec).map(|s| device_violations(&s, operator_namespace))
    }
    .unwrap_or_else(|e| vec![e]);
    if violations.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} {name} is invalid:{}",
        kind.kind,
        violations
            .iter()
            .map(|v| format!("\n  {v}"))
            .collect::<String>()
    ))
}

/// The object's `spec` as `T`, or the one violation saying why it is not.
fn parse<T: DeserializeOwned>(spec: Option<&serde_json::Value>) -> Result<T, String> {
    let spec = spec.ok_or("spec: is required")?;
    T::deserialize(spec).map_err(|e| format!("spec: {e}"))
}

/// Every problem of a Plugin's spec, each starting with its field path.
///
/// # Guarantees
/// `spec.image` (with `spec.digest`) is what [`PluginRef::parse`] accepts;
/// `spec.pullSecretRef` stays in `operator_namespace`; ConfigMap references
/// are well-formed names; the limits parse and are positive.
#[must_use]
pub fn plugin_violations(spec: &PluginSpec, operator_namespace: &str) -> Vec<String> {
    let mut v = Vec::new();
    let image = PluginRef::parse(&spec.image, None);
    if let Err(e) = &image {
        v.push(format!("spec.image: {e}"));
    }
    if let Some(d) = &spec.digest {
        match Digest::parse(d) {
            Err(e) => v.push(format!("spec.digest: {e}")),
            // Both parse alone: the pair may still name two digests.
            Ok(_) if image.is_ok() => {
                if let Err(e) = PluginRef::parse(&spec.image, Some(d)) {
                    v.push(format!("spec.digest: {e}"));
                }
            }
            Ok(_) => {}
        }
    }
    if let Some(r) = &spec.pull_secret_ref {
        secret_ref(&mut v, "spec.pullSecretRef", r, operator_namespace);
    }
    if let Some(r) = &spec.ca_config_map_ref {
        config_map_ref(&mut v, "spec.caConfigMapRef", r);
    }
    for (i, r) in spec.variables.iter().enumerate() {
        config_map_ref(&mut v, &format!("spec.variables[{i}]"), r);
    }
    if let Some(r) = &spec.templates {
        config_map_ref(&mut v, "spec.templates", r);
    }
    match crate::cli::parse_duration(&spec.limits.timeout) {
        Err(e) => v.push(format!("spec.limits.timeout: {e}")),
        Ok(d) if d.is_zero() => v.push(format!(
            "spec.limits.timeout: {:?} must be positive, e.g. 500ms",
            spec.limits.timeout
        )),
        Ok(_) => {}
    }
    if spec.limits.memory_mib == 0 {
        v.push("spec.limits.memoryMib: must be positive (MiB), e.g. 64".into());
    }
    if spec.limits.max_output_bytes == 0 {
        v.push("spec.limits.maxOutputBytes: must be positive, e.g. 4194304".into());
    }
    v
}

/// Every problem of a Device's spec, each starting with its field path.
///
/// # Guarantees
/// `spec.hostKey` is a key line the SSH drivers accept (required unless
/// `spec.insecureSkipHostKeyVerification`); every `spec.tenants[i].ports[j]`
/// expands with the inventory's range syntax; `spec.credentialsSecretRef`
/// stays in `operator_namespace`; the driver fits the platform; the address,
/// port and drift interval are usable.
#[must_use]
pub fn device_violations(spec: &DeviceSpec, operator_namespace: &str) -> Vec<String> {
    let mut v = Vec::new();
    if let Err(e) = address(&spec.address) {
        v.push(format!("spec.address: {e}"));
    }
    if spec.port == 0 {
        v.push("spec.port: must be 1-65535 (the SSH port, default 22)".into());
    }
    if spec.platform.trim().is_empty() {
        v.push("spec.platform: is required (eos, frr, ios, junos or netconf)".into());
    }
    v.extend(spec.driver_mismatch());
    secret_ref(
        &mut v,
        "spec.credentialsSecretRef",
        &spec.credentials_secret_ref,
        operator_namespace,
    );
    match &spec.host_key {
        Some(line) => {
            if let Err(e) = crate::driver::ssh::fingerprint(line) {
                v.push(format!(
                    "spec.hostKey: {e}; give the line `ssh-keyscan -t ed25519 ADDRESS` prints, without the address"
                ));
            }
        }
        None if !spec.insecure_skip_host_key_verification => v.push(
            "spec.hostKey: is required (an OpenSSH public key such as `ssh-ed25519 AAAA…`) unless spec.insecureSkipHostKeyVerification is true".into(),
        ),
        None => {}
    }
    for (i, t) in spec.tenants.iter().enumerate() {
        if let Err(e) = dns_label(&t.namespace) {
            v.push(format!("spec.tenants[{i}].namespace: {e}"));
        }
        for (j, p) in t.ports.iter().enumerate() {
            if let Err(e) = naas_plugin_sdk::expand_list(p) {
                v.push(format!("spec.tenants[{i}].ports[{j}]: {e}"));
            }
        }
    }
    if let Some(text) = &spec.drift_check_interval {
        match crate::cli::parse_duration(text) {
            Err(e) => v.push(format!("spec.driftCheckInterval: {e}")),
            Ok(d) if d.is_zero() => v.push(format!(
                "spec.driftCheckInterval: {text:?} must be positive, e.g. 10m (or leave it out: no drift checks)"
            )),
            Ok(_) => {}
        }
    }
    v
}

/// A Secret reference: a well-formed name, in the operator's namespace.
fn secret_ref(v: &mut Vec<String>, field: &str, r: &ObjectRef, operator_namespace: &str) {
    if let Err(e) = dns_subdomain(&r.name) {
        v.push(format!("{field}.name: {e}"));
    }
    if let Some(ns) = &r.namespace
        && ns != operator_namespace
    {
        v.push(format!(
            "{field}.namespace: {ns:?}: Secrets are read only from the operator's namespace {operator_namespace:?}; put the Secret there and leave namespace out"
        ));
    }
}

/// A ConfigMap reference: a well-formed name and namespace.
fn config_map_ref(v: &mut Vec<String>, field: &str, r: &ObjectRef) {
    if let Err(e) = dns_subdomain(&r.name) {
        v.push(format!("{field}.name: {e}"));
    }
    if let Some(ns) = &r.namespace
        && let Err(e) = dns_label(ns)
    {
        v.push(format!("{field}.namespace: {e}"));
    }
}

/// An object name: a DNS-1123 subdomain (lower case, digits, `-`, `.`).
fn dns_subdomain(name: &str) -> Result<(), String> {
    let ok = name.len() <= 253 && name.split('.').all(|l| dns_segment(l, 253));
    ok.then_some(()).ok_or_else(|| {
        format!(
            "{name:?} is not an object name (lower-case letters, digits, '-' and '.', at most 253)"
        )
    })
}

/// A namespace: a DNS-1123 label (lower case, digits, `-`, at most 63).
fn dns_label(name: &str) -> Result<(), String> {
    dns_segment(name, 63).then_some(()).ok_or_else(|| {
        format!("{name:?} is not a namespace name (lower-case letters, digits and '-', at most 63)")
    })
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most `max` long.
fn dns_segment(text: &str, max: usize) -> bool {
    let b = text.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// A management address: an IP address (IPv6 with or without brackets) or a host name.
fn address(text: &str) -> Result<(), String> {
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    if bare.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let host_name = !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        });
    if host_name {
        return Ok(());
    }
    let hint = if text.contains(':') && !text.contains("::") {
        "; the port goes in spec.port"
    } else {
        ""
    };
    Err(format!(
        "{text:?} is neither an IP address nor a host name{hint}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_ips_or_host_names() {
        for ok in [
            "192.0.2.1",
            "2001:db8::1",
            "[2001:db8::1]",
            "leaf1",
            "r1.lab.example",
        ] {
            assert!(address(ok).is_ok(), "{ok}");
        }
        for bad in ["", "ssh://r1", "r1 ", "192.0.2.1:22", "-r1", "a..b"] {
            assert!(address(bad).is_err(), "{bad:?}");
        }
        assert!(address("r1:22").unwrap_err().contains("spec.port"));
    }

    #[test]
    fn names_follow_dns_1123() {
        assert!(dns_subdomain("naas-pull.v1").is_ok());
        assert!(dns_subdomain("Pull").is_err());
        assert!(dns_subdomain(&"a".repeat(70)).is_ok());
        assert!(dns_subdomain("a..b").is_err());
        assert!(dns_label("naas-system").is_ok());
        assert!(dns_label("naas.system").is_err());
        assert!(dns_label("").is_err());
    }
}
