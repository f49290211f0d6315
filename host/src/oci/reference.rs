//! Plugin references: `registry/repository[:tag][@sha256:…]`, with an optional separately pinned digest.

use std::fmt;

use oci_client::Reference;

use super::error::{Error, OciResult};
use crate::digest::Digest;

/// A plugin's place in a registry, and the manifest digest it is pinned to.
///
/// The registry must be named explicitly (`ghcr.io/vendor/plugin:1.0`,
/// `127.0.0.1:5000/naas/access-ports:1.0`): a plugin is never looked up on a
/// default registry. An `oci://` prefix is accepted and dropped.
///
/// # Pinning
/// A digest is the trust anchor: content that does not hash to it is
/// refused.
/// - In the reference (`repo@sha256:…`, `repo:tag@sha256:…`), the digest
///   wins and the tag is only a label, as with Docker and Kubernetes: once
///   the pinned manifest is cached, nothing is asked of the registry.
/// - Given separately, the digest is what the tag must point to: the
///   registry is asked where the tag points, and a mismatch is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRef {
    reference: Reference,
    pinned: Option<Digest>,
    check_tag: bool,
}

impl PluginRef {
    /// Parses `text`, pinned to `digest` when given.
    ///
    /// # Errors
    /// [`Error::InvalidReference`] when the text is not a reference with an
    /// explicit registry, a digest is not `sha256:<64 hex>`, or the reference
    /// and `digest` name two different digests.
    pub fn parse(text: &str, digest: Option<&str>) -> OciResult<Self> {
        let invalid = |detail: String| Error::InvalidReference {
            reference: text.to_string(),
            detail,
        };
        let stripped = text.strip_prefix("oci://").unwrap_or(text);
        if !has_explicit_registry(stripped) {
            return Err(invalid(
                "name the registry explicitly, e.g. ghcr.io/vendor/plugin:1.0 or \
                 127.0.0.1:5000/naas/access-ports:1.0"
                    .into(),
            ));
        }
        let reference: Reference = stripped.parse().map_err(|e| {
            invalid(format!(
                "{e}; expected registry/repository[:tag][@sha256:<hex>]"
            ))
        })?;
        let in_ref = reference
            .digest()
            .map(Digest::parse)
            .transpose()
            .map_err(invalid)?;
        let separate = digest.map(Digest::parse).transpose().map_err(invalid)?;
        let check_tag = in_ref.is_none() && separate.is_some();
        let pinned = match (in_ref, separate) {
            (Some(a), Some(b)) if a != b => {
                return Err(invalid(format!(
                    "the reference is pinned to {a} but the digest argument says {b}"
                )));
            }
            (a, b) => a.or(b),
        };
        Ok(Self {
            reference,
            pinned,
            check_tag,
        })
    }

    /// Whether `text` looks like a reference rather than a file path: it
    /// starts with a registry host (`host.domain/…`, `host:port/…`,
    /// `localhost/…`) or `oci://`.
    #[must_use]
    pub fn looks_like_reference(text: &str) -> bool {
        text.starts_with("oci://") || has_explicit_registry(text)
    }

    /// The registry, `host[:port]`, as credentials and `--insecure-registry` name it.
    #[must_use]
    pub fn registry(&self) -> &str {
        self.reference.resolve_registry()
    }

    /// The repository, e.g. `naas/access-ports`.
    #[must_use]
    pub fn repository(&self) -> &str {
        self.reference.repository()
    }

    /// The tag, if any.
    #[must_use]
    pub fn tag(&self) -> Option<&str> {
        self.reference.tag()
    }

    /// The manifest digest this reference is pinned to, if any.
    #[must_use]
    pub fn pinned(&self) -> Option<&Digest> {
        self.pinned.as_ref()
    }

    /// Whether the tag must be checked against the pin with the registry
    /// (the digest was given separately).
    #[must_use]
    pub fn checks_tag(&self) -> bool {
        self.check_tag
    }

    /// The same reference pinned to `digest` in the reference (keeping the
    /// tag as a label).
    #[must_use]
    pub fn with_digest(&self, digest: &Digest) -> Self {
        let (registry, repository) = (
            self.reference.registry().to_string(),
            self.reference.repository().to_string(),
        );
        let reference = match self.tag() {
            Some(t) => {
                Reference::with_tag_and_digest(registry, repository, t.into(), digest.to_string())
            }
            None => Reference::with_digest(registry, repository, digest.to_string()),
        };
        Self {
            reference,
            pinned: Some(digest.clone()),
            check_tag: false,
        }
    }

    /// The key of this reference's tag in the cache index:
    /// `registry/repository:tag`, or `None` without a tag.
    #[must_use]
    pub fn tag_key(&self) -> Option<String> {
        self.tag()
            .map(|t| format!("{}/{}:{t}", self.registry(), self.repository()))
    }

    /// The `oci-client` reference to ask the registry for: by digest when
    /// pinned, by tag otherwise.
    pub(super) fn client_ref(&self) -> Reference {
        match &self.pinned {
            Some(d) => Reference::with_digest(
                self.reference.registry().to_string(),
                self.reference.repository().to_string(),
                d.to_string(),
            ),
            None => self.reference.clone(),
        }
    }

    /// The `oci-client` reference by tag (ignoring any digest).
    pub(super) fn tag_ref(&self) -> Reference {
        Reference::with_tag(
            self.reference.registry().to_string(),
            self.reference.repository().to_string(),
            self.tag().unwrap_or("latest").to_string(),
        )
    }
}

impl fmt::Display for PluginRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry(), self.repository())?;
        if let Some(t) = self.tag() {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.pinned {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Docker's rule: the first path component names a registry when it has a
/// dot or a port, or is `localhost`, and there is a repository after it.
fn has_explicit_registry(text: &str) -> bool {
    match text.split_once('/') {
        Some((host, rest)) => {
            !rest.is_empty()
                && !host.is_empty()
                && host != "."
                && host != ".."
                && (host.contains('.') || host.contains(':') || host == "localhost")
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn parses_tags_digests_and_separate_pins() {
        let r = PluginRef::parse("127.0.0.1:5000/naas/access-ports:1.0", None).unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "naas/access-ports");
        assert_eq!(r.tag(), Some("1.0"));
        assert!(r.pinned().is_none());
        assert_eq!(r.to_string(), "127.0.0.1:5000/naas/access-ports:1.0");

        let r = PluginRef::parse(&format!("oci://ghcr.io/v/p@{D1}"), None).unwrap();
        assert_eq!(r.pinned().unwrap().to_string(), D1);
        assert_eq!(r.tag(), None);
        assert_eq!(r.client_ref().to_string(), format!("ghcr.io/v/p@{D1}"));

        let r = PluginRef::parse("ghcr.io/v/p:2", Some(D2)).unwrap();
        assert!(r.checks_tag());
        assert!(
            !PluginRef::parse(&format!("ghcr.io/v/p:2@{D2}"), Some(D2))
                .unwrap()
                .checks_tag()
        );
        assert_eq!(r.to_string(), format!("ghcr.io/v/p:2@{D2}"));
        assert_eq!(r.tag_key().unwrap(), "ghcr.io/v/p:2");
        assert_eq!(r.tag_ref().to_string(), "ghcr.io/v/p:2");
    }

    #[test]
    fn refuses_conflicting_pins_and_missing_registries() {
        let e = PluginRef::parse(&format!("ghcr.io/v/p@{D1}"), Some(D2)).unwrap_err();
        assert!(e.to_string().contains("digest argument says"), "{e}");
        let e = PluginRef::parse("naas/access-ports:1.0", None).unwrap_err();
        assert!(
            e.to_string().contains("name the registry explicitly"),
            "{e}"
        );
        let e = PluginRef::parse("ghcr.io/v/P:1", None).unwrap_err();
        assert!(e.to_string().contains("registry/repository"), "{e}");
        assert!(PluginRef::parse("ghcr.io/v/p", Some("md5:x")).is_err());
    }

    #[test]
    fn tells_references_from_paths() {
        assert!(PluginRef::looks_like_reference("localhost:5000/x:1"));
        assert!(PluginRef::looks_like_reference("ghcr.io/v/p"));
        assert!(!PluginRef::looks_like_reference("target/x.wasm"));
        assert!(!PluginRef::looks_like_reference("./x.wasm"));
        assert!(!PluginRef::looks_like_reference("/abs/x.wasm"));
        assert!(!PluginRef::looks_like_reference("x.wasm"));
    }

    #[test]
    fn with_digest_keeps_the_tag_for_display() {
        let d = Digest::parse(D1).unwrap();
        let r = PluginRef::parse("ghcr.io/v/p:1", None)
            .unwrap()
            .with_digest(&d);
        assert_eq!(r.to_string(), format!("ghcr.io/v/p:1@{D1}"));
        let r = PluginRef::parse(&format!("ghcr.io/v/p@{D2}"), None)
            .unwrap()
            .with_digest(&d);
        assert_eq!(r.to_string(), format!("ghcr.io/v/p@{D1}"));
    }
}
