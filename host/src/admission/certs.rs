//! `naas webhook certs`: a CA and the webhook's serving certificate, kept in a `kubernetes.io/tls` Secret, with the CA patched into the webhook configurations' `caBundle` (for clusters without cert-manager).

use chrono::Datelike;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::json;

/// The field manager of the writes `naas webhook certs` makes.
const MANAGER: &str = "naas-webhook-certs";

/// Why the certificates could not be made or installed.
#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    /// Generating a key or a certificate failed.
    #[error("generating the webhook certificates: {0}")]
    Generate(#[from] rcgen::Error),
    /// An API call failed.
    #[error("{what}: {source}")]
    Api {
        /// What was being done.
        what: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The Secret exists but is not a serving certificate naas can use.
    #[error(
        "Secret {namespace}/{name} exists without tls.crt, tls.key and ca.crt; delete it or pass --renew"
    )]
    Incomplete {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
}

/// A CA and a serving certificate signed by it, PEM encoded.
#[derive(Debug, Clone)]
pub struct ServingCerts {
    /// The CA certificate (the `caBundle`).
    pub ca: String,
    /// The serving certificate.
    pub cert: String,
    /// The serving certificate's private key (PKCS#8).
    pub key: String,
}

/// The DNS names of Service `service` in `namespace`, as the API server
/// calls a webhook's service client config.
#[must_use]
pub fn service_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
        format!("{service}.{namespace}"),
        service.to_string(),
    ]
}

/// A new CA and a serving certificate for `hosts` (DNS names or IP
/// addresses), both valid from yesterday for `days` days.
///
/// # Errors
/// A host that is not a DNS name or an IP address.
pub fn generate(hosts: &[String], days: u32) -> Result<ServingCerts, CertsError> {
    let today = chrono::Utc::now().date_naive();
    let at = |d: chrono::NaiveDate| {
        rcgen::date_time_ymd(
            d.year(),
            u8::try_from(d.month()).unwrap_or(1),
            u8::try_from(d.day()).unwrap_or(1),
        )
    };
    let from = at(today - chrono::Days::new(1));
    let until = at(today + chrono::Days::new(u64::from(days)));
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "naas webhook CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (ca.not_before, ca.not_after) = (from, until);
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(hosts.to_vec())?;
    leaf.distinguished_name.push(
        DnType::CommonName,
        hosts.first().cloned().unwrap_or_else(|| "naas".into()),
    );
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    (leaf.not_before, leaf.not_after) = (from, until);
    let leaf_key = KeyPair::generate()?;
    let cert = leaf.signed_by(&leaf_key, &issuer)?;
    Ok(ServingCerts {
        ca: ca_cert.pem(),
        cert: cert.pem(),
        key: leaf_key.serialize_pem(),
    })
}

/// Where the certificates go.
#[derive(Debug, Clone)]
pub struct Install {
    /// The Secret's namespace (the operator's).
    pub namespace: String,
    /// The Secret (`kubernetes.io/tls`: `tls.crt`, `tls.key`, `ca.crt`).
    pub secret: String,
    /// The Validating/MutatingWebhookConfiguration (both of this name) whose
    /// webhooks get the CA as `caBundle`.
    pub configuration: String,
}

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// Whether a new certificate was written (else the Secret's was kept).
    pub written: bool,
    /// `Kind/name` of each configuration patched.
    pub patched: Vec<String>,
}

/// Stores `make()`'s certificates in the Secret, unless it already holds a
/// complete one and `renew` is false, then sets every webhook's `caBundle`
/// in the configurations to the Secret's CA. Idempotent.
///
/// # Errors
/// An API error, or a Secret that is there but incomplete (without `renew`).
pub async fn install(
    client: &kube::Client,
    to: &Install,
    renew: bool,
    make: impl FnOnce() -> Result<ServingCerts, CertsError>,
) -> Result<Installed, CertsError> {
    let api_error = |what: String| move |source| CertsError::Api { what, source };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &to.namespace);
    let existing = secrets
        .get_opt(&to.secret)
        .await
        .map_err(api_error(format!(
            "reading Secret {}/{}",
            to.namespace, to.secret
        )))?;
    let held = existing.as_ref().and_then(|s| {
        let data = s.data.as_ref()?;
        let text = |k: &str| {
            data.get(k)
                .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        };
        Some(ServingCerts {
            ca: text("ca.crt")?,
            cert: text("tls.crt")?,
            key: text("tls.key")?,
        })
    });
    let (certs, written) = match held {
        Some(c) if !renew => (c, false),
        None if existing.is_some() && !renew => {
            return Err(CertsError::Incomplete {
                namespace: to.namespace.clone(),
                name: to.secret.clone(),
            });
        }
        _ => (make()?, true),
    };
    if written {
        let bytes = |s: &str| ByteString(s.as_bytes().to_vec());
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": to.secret, "namespace": to.namespace},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": bytes(&certs.cert), "tls.key": bytes(&certs.key), "ca.crt": bytes(&certs.ca)},
        });
        secrets
            .patch(
                &to.secret,
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&secret),
            )
            .await
            .map_err(api_error(format!(
                "writing Secret {}/{}",
                to.namespace, to.secret
            )))?;
    }
    let mut patched = Vec::new();
    let bundle = ByteString(certs.ca.into_bytes());
    for kind in [
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ] {
        let api = super::configurations(client, kind);
        let what = format!("{kind} {}", to.configuration);
        let Some(current) = api
            .get_opt(&to.configuration)
            .await
            .map_err(api_error(format!("reading {what}")))?
        else {
            continue;
        };
        let hooks = current.data["webhooks"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let ops: Vec<serde_json::Value> = hooks
            .iter()
            .enumerate()
            .flat_map(|(i, h)| {
                [
                    json!({"op": "test", "path": format!("/webhooks/{i}/name"), "value": h["name"]}),
                    json!({"op": "add", "path": format!("/webhooks/{i}/clientConfig/caBundle"), "value": bundle}),
                ]
            })
            .collect();
        if ops.is_empty() {
            continue;
        }
        let patch: json_patch::Patch = serde_json::from_value(serde_json::Value::Array(ops))
            .map_err(|e| CertsError::Api {
                what: format!("building the caBundle patch of {what}"),
                source: kube::Error::SerdeError(e),
            })?;
        api.patch(
            &to.configuration,
            &PatchParams::default(),
            &Patch::<()>::Json(patch),
        )
        .await
        .map_err(api_error(format!("setting the caBundle of {what}")))?;
        patched.push(format!("{kind}/{}", to.configuration));
    }
    Ok(Installed { written, patched })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::pem::PemObject;

    #[test]
    fn the_serving_certificate_names_the_service_and_chains_to_the_ca() {
        let names = service_names("naas", "naas-system");
        assert_eq!(names[0], "naas.naas-system.svc");
        let mut hosts = names.clone();
        hosts.push("127.0.0.1".into());
        let c = generate(&hosts, 365).unwrap();
        assert!(c.ca.starts_with("-----BEGIN CERTIFICATE-----"), "{}", c.ca);
        assert!(
            c.key.starts_with("-----BEGIN PRIVATE KEY-----"),
            "{}",
            c.key
        );
        // rustls accepts it for those names, trusting only the CA.
        let mut roots = rustls::RootCertStore::empty();
        for ca in rustls::pki_types::CertificateDer::pem_slice_iter(c.ca.as_bytes()) {
            roots.add(ca.unwrap()).unwrap();
        }
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            std::sync::Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .unwrap();
        let leaf: Vec<_> = rustls::pki_types::CertificateDer::pem_slice_iter(c.cert.as_bytes())
            .map(Result::unwrap)
            .collect();
        for host in ["naas.naas-system.svc", "127.0.0.1"] {
            let name = rustls::pki_types::ServerName::try_from(host).unwrap();
            verifier
                .verify_server_cert(
                    &leaf[0],
                    &[],
                    &name,
                    &[],
                    rustls::pki_types::UnixTime::now(),
                )
                .unwrap_or_else(|e| panic!("{host}: {e}"));
        }
        let other = rustls::pki_types::ServerName::try_from("evil.example").unwrap();
        assert!(
            verifier
                .verify_server_cert(
                    &leaf[0],
                    &[],
                    &other,
                    &[],
                    rustls::pki_types::UnixTime::now()
                )
                .is_err()
        );
    }
}
