//! The content-addressed blob store under `<cache>/oci/`: blobs by sha256, written atomically, checked on every read; plus a tag→digest index.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{Error, OciResult};
use crate::digest::Digest;

/// Blobs (manifests, configs, layers) stored as
/// `<root>/blobs/sha256/<hex>`, and `<root>/index.json` mapping
/// `registry/repository:tag` to the manifest digest last seen for it.
///
/// # Guarantees
/// A blob file only ever holds content whose sha256 is its name: writes go
/// to a temporary file in the same directory and are renamed into place,
/// and [`BlobStore::get`] re-hashes what it reads, discarding (and
/// reporting as absent) a file that does not match.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

impl BlobStore {
    /// Uses (and creates) `root`, e.g. `<cache>/oci`.
    ///
    /// # Errors
    /// [`Error::Cache`] when the directories cannot be created.
    pub fn open(root: impl Into<PathBuf>) -> OciResult<Self> {
        let root = root.into();
        let blobs = root.join("blobs/sha256");
        crate::fsutil::create_private_dir(&blobs)
            .map_err(|e| cache_err(&blobs, format!("cannot create: {e}")))?;
        Ok(Self { root })
    }

    /// The store's root directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob `digest` lives (whether or not it is there).
    #[must_use]
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.hex())
    }

    /// Whether the blob file exists (not verified).
    #[must_use]
    pub fn contains(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Reads and verifies blob `digest`; `None` when absent or corrupt (a
    /// corrupt file is removed, so that it is fetched again).
    ///
    /// # Errors
    /// [`Error::Cache`] when the file exists but cannot be read.
    pub fn get(&self, digest: &Digest) -> OciResult<Option<Vec<u8>>> {
        let path = self.blob_path(digest);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(cache_err(&path, format!("cannot read: {e}"))),
        };
        let actual = Digest::of(&bytes);
        if &actual != digest {
            tracing::warn!(path = %path.display(), %actual, "discarding a corrupt cached blob");
            let _ = fs::remove_file(&path);
            return Ok(None);
        }
        Ok(Some(bytes))
    }

    /// Stores `bytes` as blob `digest`, atomically. The caller has verified
    /// that `digest` is their sha256.
    ///
    /// # Errors
    /// [`Error::Cache`] when the file cannot be written.
    pub fn put(&self, digest: &Digest, bytes: &[u8]) -> OciResult<()> {
        let path = self.blob_path(digest);
        write_atomic(&path, bytes)
    }

    /// The manifest digest last recorded for `tag_key` (`registry/repo:tag`).
    #[must_use]
    pub fn tag(&self, tag_key: &str) -> Option<Digest> {
        self.read_index()
            .tags
            .get(tag_key)
            .and_then(|d| Digest::parse(d).ok())
    }

    /// Records that `tag_key` pointed to `digest`.
    ///
    /// # Errors
    /// [`Error::Cache`] when the index cannot be written.
    pub fn set_tag(&self, tag_key: &str, digest: &Digest) -> OciResult<()> {
        let mut index = self.read_index();
        if index.tags.get(tag_key).map(String::as_str) == Some(&digest.to_string()) {
            return Ok(());
        }
        index.tags.insert(tag_key.to_string(), digest.to_string());
        let path = self.root.join("index.json");
        let json = serde_json::to_vec_pretty(&index)
            .map_err(|e| cache_err(&path, format!("cannot encode the index: {e}")))?;
        write_atomic(&path, &json)
    }

    /// The index, or an empty one when missing or unreadable (it is only a
    /// hint: blobs are verified by digest).
    fn read_index(&self) -> Index {
        let path = self.root.join("index.json");
        match fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), "ignoring an unreadable tag index: {e}");
                Index::default()
            }),
            Err(_) => Index::default(),
        }
    }
}

/// A temporary file in the target's directory, renamed into place.
fn write_atomic(path: &Path, bytes: &[u8]) -> OciResult<()> {
    crate::fsutil::write_atomic(path, bytes)
        .map_err(|e| cache_err(path, format!("cannot write: {e}")))
}

fn cache_err(path: &Path, detail: String) -> Error {
    Error::Cache {
        path: path.to_path_buf(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_and_corrupt_ones_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path().join("oci")).unwrap();
        let d = Digest::of(b"hello");
        assert_eq!(store.get(&d).unwrap(), None);
        store.put(&d, b"hello").unwrap();
        assert!(
            store
                .blob_path(&d)
                .ends_with(format!("oci/blobs/sha256/{}", d.hex()))
        );
        assert_eq!(store.get(&d).unwrap().as_deref(), Some(&b"hello"[..]));
        fs::write(store.blob_path(&d), b"hellO").unwrap();
        assert_eq!(
            store.get(&d).unwrap(),
            None,
            "a corrupt blob must not be served"
        );
        assert!(!store.contains(&d), "and it is removed");
        // Only the blob itself is left in the directory: no stray temporary files.
        store.put(&d, b"hello").unwrap();
        let n = fs::read_dir(dir.path().join("oci/blobs/sha256"))
            .unwrap()
            .count();
        assert_eq!(n, 1);
    }

    #[test]
    fn tags_are_remembered_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let d = Digest::of(b"m");
        BlobStore::open(dir.path())
            .unwrap()
            .set_tag("r:1/x:v1", &d)
            .unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        assert_eq!(store.tag("r:1/x:v1"), Some(d));
        assert_eq!(store.tag("r:1/x:v2"), None);
        fs::write(dir.path().join("index.json"), b"{garbage").unwrap();
        assert_eq!(store.tag("r:1/x:v1"), None);
    }
}
