//! Content digests (`sha256:<hex>`) that name plugins and their compiled artifacts.

use std::fmt;

use sha2::{Digest as _, Sha256};

/// A sha256 digest, displayed as `sha256:<64 hex digits>` like OCI digests.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// The sha256 of `bytes`.
    #[must_use]
    pub fn of(bytes: &[u8]) -> Self {
        Self(hex::encode(Sha256::digest(bytes)))
    }

    /// Parses `sha256:<64 lower-case hex digits>`.
    ///
    /// # Errors
    /// When the text is not such a digest; the message says what was expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        let hex = text
            .strip_prefix("sha256:")
            .ok_or_else(|| format!("digest {text:?} must start with \"sha256:\""))?;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(format!(
                "digest {text:?} must be sha256: followed by 64 lower-case hex digits"
            ));
        }
        Ok(Self(hex.to_string()))
    }

    /// The 64 hex digits, without the algorithm.
    #[must_use]
    pub fn hex(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_empty_input_is_the_well_known_one() {
        assert_eq!(
            Digest::of(b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn parse_round_trips_and_refuses_garbage() {
        let d = Digest::of(b"x");
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        assert!(Digest::parse("md5:abc").unwrap_err().contains("sha256:"));
        assert!(Digest::parse("sha256:ABC").unwrap_err().contains("64"));
    }
}
