//! Mapping registry transport failures to [`Error`]s a user can act on, and telling transient ones from final ones.

use oci_client::errors::{OciDistributionError, OciErrorCode};

use super::error::Error;
use super::reference::PluginRef;

/// One failed try, and whether another may succeed.
pub(super) struct Failure {
    pub(super) error: Error,
    pub(super) transient: bool,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self {
            error,
            transient: false,
        }
    }
}

/// Maps an `oci-client` error about `what` (of `r`) to one a user can act on,
/// and says whether retrying may help.
pub(super) fn classify(r: &PluginRef, what: &str, e: OciDistributionError) -> Failure {
    let registry = r.registry().to_string();
    let reference = r.to_string();
    let auth = |status: &'static str, detail: String| {
        Failure::from(Error::Auth {
            registry: registry.clone(),
            reference: reference.clone(),
            status,
            detail,
        })
    };
    let not_found = || {
        Failure::from(Error::NotFound {
            reference: reference.clone(),
            what: what.to_string(),
            registry: registry.clone(),
        })
    };
    let registry_err = |detail: String, transient: bool| Failure {
        error: Error::Registry {
            registry: registry.clone(),
            reference: reference.clone(),
            detail,
        },
        transient,
    };
    match e {
        OciDistributionError::UnauthorizedError { .. } => {
            auth("401 Unauthorized", "authentication required".into())
        }
        OciDistributionError::AuthenticationFailure(m) => auth("401 Unauthorized", m),
        OciDistributionError::RegistryError { envelope, .. } => {
            let detail = envelope
                .errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            match envelope.errors.first().map(|e| &e.code) {
                Some(OciErrorCode::Unauthorized) => auth("401 Unauthorized", detail),
                Some(OciErrorCode::Denied) => auth("403 Forbidden", detail),
                Some(
                    OciErrorCode::ManifestUnknown
                    | OciErrorCode::NameUnknown
                    | OciErrorCode::BlobUnknown
                    | OciErrorCode::NotFound,
                ) => not_found(),
                Some(OciErrorCode::Toomanyrequests) => registry_err(detail, true),
                _ => registry_err(detail, false),
            }
        }
        OciDistributionError::ServerError { code, message, .. } => match code {
            401 => auth("401 Unauthorized", message),
            403 => auth("403 Forbidden", message),
            404 => not_found(),
            400 if message.contains("HTTPS server") => Failure::from(Error::Tls {
                registry,
                detail: "the registry speaks HTTPS, not plain HTTP".into(),
                hint: "remove it from --insecure-registry (and pass --ca-file if its certificate is private)",
            }),
            c => registry_err(
                format!("HTTP {c}: {}", message.trim()),
                c == 429 || c >= 500,
            ),
        },
        OciDistributionError::DigestError(oci_client::errors::DigestError::VerificationError {
            expected,
            actual,
        }) => Failure::from(Error::DigestMismatch {
            reference,
            what: what.to_string(),
            expected,
            actual,
        }),
        OciDistributionError::RequestError(e) => match e.status().map(|s| s.as_u16()) {
            Some(401) => auth("401 Unauthorized", chain(&e)),
            Some(403) => auth("403 Forbidden", chain(&e)),
            Some(404) => not_found(),
            _ => match tls_error(&e) {
                Some((detail, hint)) => Failure::from(Error::Tls {
                    registry,
                    detail,
                    hint,
                }),
                None => Failure {
                    error: unreachable(r, chain(&e)),
                    transient: true,
                },
            },
        },
        other => registry_err(chain(&other), false),
    }
}

pub(super) fn unreachable(r: &PluginRef, detail: String) -> Error {
    Error::Unreachable {
        registry: r.registry().into(),
        reference: r.to_string(),
        attempts: 1,
        detail,
    }
}

/// A TLS failure in `e`'s source chain, with what to try.
fn tls_error(e: &(dyn std::error::Error + 'static)) -> Option<(String, &'static str)> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            let hint = match tls {
                rustls::Error::InvalidCertificate(_) => {
                    "pass --ca-file with the CA that signed the registry's certificate"
                }
                rustls::Error::InvalidMessage(_) => {
                    "if the registry serves plain HTTP, pass --insecure-registry HOST:PORT"
                }
                _ => {
                    "check --ca-file, or pass --insecure-registry HOST:PORT if the registry \
                     serves plain HTTP"
                }
            };
            return Some((tls.to_string(), hint));
        }
        // io::Error::source skips the error it wraps: step into it instead.
        cur = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

/// An error and its sources, `a: b: c`, without repeats.
pub(super) fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}
