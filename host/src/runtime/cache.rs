//! On-disk cache of compiled components, keyed by the component's sha256 digest and the engine's compatibility hash.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::error::{Error, RuntimeResult};
use crate::digest::Digest;

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadOutcome {
    /// Compiled now (and stored in the cache when there is one).
    Compiled,
    /// Loaded from a compiled artifact in the cache: nothing was compiled.
    FromCache,
}

/// A directory of compiled artifacts: `<sha256 hex>-<engine hash>.cwasm`.
///
/// # Caveats
/// Loading an artifact runs native code produced by Cranelift; the directory
/// must be writable only by the host (it is created with mode 0700).
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    /// Uses (and creates, if needed) `dir`.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn open(dir: impl Into<PathBuf>) -> RuntimeResult<Self> {
        let dir = dir.into();
        crate::fsutil::create_private_dir(&dir).map_err(|e| Error::Cache {
            path: dir.clone(),
            detail: format!("cannot create the directory: {e}; pass another --cache-dir"),
        })?;
        Ok(Self { dir })
    }

    /// The cache directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the artifact of `digest` compiled by `engine` lives.
    #[must_use]
    pub fn artifact_path(&self, engine: &Engine, digest: &Digest) -> PathBuf {
        let mut h = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        self.dir
            .join(format!("{}-{:016x}.cwasm", digest.hex(), h.finish()))
    }

    /// Loads the compiled component for `digest`, compiling `bytes` and storing
    /// the artifact when it is not cached yet (or is unreadable).
    ///
    /// # Errors
    /// When compiling fails, or the artifact cannot be written or read back.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        plugin: &str,
        digest: &Digest,
        bytes: &[u8],
    ) -> RuntimeResult<(Component, LoadOutcome)> {
        let path = self.artifact_path(engine, digest);
        if path.is_file() {
            // SAFETY: the artifact was written by `store` below from a
            // compilation with this engine's settings (the file name carries
            // the compatibility hash), in a directory only we can write.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(c) => return Ok((c, LoadOutcome::FromCache)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "discarding unusable compiled artifact: {e:#}");
                    let _ = fs::remove_file(&path);
                }
            }
        }
        let artifact = super::compile(engine, plugin, bytes)?;
        self.store(&path, &artifact)?;
        // SAFETY: as above; we just wrote this file.
        let component =
            unsafe { Component::deserialize_file(engine, &path) }.map_err(|e| Error::Cache {
                path: path.clone(),
                detail: format!("cannot load the artifact just written: {e:#}"),
            })?;
        Ok((component, LoadOutcome::Compiled))
    }

    /// Writes atomically: a temporary file in the same directory, then rename.
    fn store(&self, path: &Path, artifact: &[u8]) -> RuntimeResult<()> {
        crate::fsutil::write_atomic(path, artifact).map_err(|e| Error::Cache {
            path: path.to_path_buf(),
            detail: format!("cannot write the compiled artifact: {e}"),
        })
    }
}
