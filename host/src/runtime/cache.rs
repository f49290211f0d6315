//! On-disk cache of compiled components, keyed by the component's sha256 digest and the engine's compatibility hash, each artifact checked against a recorded checksum before it is loaded.
//!
//! # Threat model
//! Loading an artifact maps native code that Cranelift produced, and
//! wasmtime trusts those bytes: a damaged file can crash the process with
//! `SIGILL` or `SIGSEGV`, beyond any error handling. The cache directory is
//! private to the host (mode 0700), and in a pod it may be a volume that
//! survives restarts, so a damaged file would become a crash loop.
//!
//! Every artifact is therefore written with a sidecar checksum
//! (`<artifact>.sum`): the sha256 of a domain tag, the component's digest,
//! the engine's compatibility hash and the artifact's bytes. It is verified
//! before every load. A flipped byte, a truncated or empty file, a missing
//! sum, or an artifact copied over another digest's file name (with or
//! without its sum) fails the check; the host warns, deletes both files,
//! recompiles and goes on.
//!
//! The checksum guards against corruption and mix-ups, not against an
//! attacker who can already write the host's private directory: such an
//! attacker can write a matching sum too (and could as well replace the
//! binary).

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
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

/// A directory of compiled artifacts: `<sha256 hex>-<engine hash>.cwasm`,
/// each with its checksum in `<…>.cwasm.sum`.
///
/// # Guarantees
/// An artifact is handed to wasmtime only after its checksum matched,
/// for this digest and this engine.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
}

/// Tags the checksum so that it cannot be confused with any other sha256.
const SUM_DOMAIN: &[u8] = b"naas compiled artifact v1\n";

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
        self.dir.join(format!(
            "{}-{:016x}.cwasm",
            digest.hex(),
            engine_hash(engine)
        ))
    }

    /// Where the checksum of the artifact at `artifact` lives.
    #[must_use]
    pub fn sum_path(artifact: &Path) -> PathBuf {
        let mut name = artifact.as_os_str().to_owned();
        name.push(".sum");
        PathBuf::from(name)
    }

    /// Loads the compiled component for `digest`, compiling `bytes` and
    /// storing the artifact when it is not cached yet, or is damaged.
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
        self.load_or_compile_with(
            engine,
            plugin,
            digest,
            || engine.precompile_component(bytes),
            // SAFETY: the checksum of the artifact, bound to this digest and
            // this engine, matched before `load` is called.
            |path| unsafe { Component::deserialize_file(engine, path) },
        )
    }

    /// Loads the compiled artifact for `digest` with `load` once its checksum
    /// matched; otherwise (absent, damaged, mixed up) compiles with
    /// `compile`, stores the artifact and its checksum, and loads that.
    ///
    /// # Errors
    /// When compiling fails, or the artifact cannot be written or read back.
    pub fn load_or_compile_with<T>(
        &self,
        engine: &Engine,
        plugin: &str,
        digest: &Digest,
        compile: impl FnOnce() -> wasmtime::Result<Vec<u8>>,
        load: impl Fn(&Path) -> wasmtime::Result<T>,
    ) -> RuntimeResult<(T, LoadOutcome)> {
        let path = self.artifact_path(engine, digest);
        let sum = checksum_key(digest, engine);
        if path.exists() {
            match verify(&path, &sum)
                .map_err(wasmtime::Error::msg)
                .and_then(|()| load(&path))
            {
                Ok(c) => return Ok((c, LoadOutcome::FromCache)),
                Err(e) => {
                    tracing::warn!(
                        plugin,
                        path = %path.display(),
                        "discarding a damaged compiled artifact and compiling again: {e:#}"
                    );
                    let _ = fs::remove_file(Self::sum_path(&path));
                    let _ = fs::remove_file(&path);
                }
            }
        }
        let started = std::time::Instant::now();
        let artifact = compile().map_err(|e| Error::Compile {
            plugin: plugin.to_string(),
            detail: format!("{e:#}"),
        })?;
        tracing::info!(plugin, elapsed = ?started.elapsed(), "compiled plugin");
        self.store(&path, &artifact, &sum)?;
        let loaded = load(&path).map_err(|e| Error::Cache {
            path: path.clone(),
            detail: format!("cannot load the artifact just written: {e:#}"),
        })?;
        Ok((loaded, LoadOutcome::Compiled))
    }

    /// Writes the artifact, then its checksum, each atomically (a temporary
    /// file in the same directory, then rename): a crash in between leaves
    /// an artifact without a sum, which is recompiled.
    fn store(&self, path: &Path, artifact: &[u8], key: &Sha256) -> RuntimeResult<()> {
        let write = |p: &Path, bytes: &[u8]| {
            crate::fsutil::write_atomic(p, bytes).map_err(|e| Error::Cache {
                path: p.to_path_buf(),
                detail: format!("cannot write the compiled artifact: {e}"),
            })
        };
        let mut h = key.clone();
        h.update(artifact);
        write(path, artifact)?;
        write(&Self::sum_path(path), hex::encode(h.finalize()).as_bytes())
    }
}

/// The engine's compatibility hash, as it appears in file names and checksums.
fn engine_hash(engine: &Engine) -> u64 {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    h.finish()
}

/// The hasher state every checksum of `digest`'s artifact for `engine` starts from.
fn checksum_key(digest: &Digest, engine: &Engine) -> Sha256 {
    let mut h = Sha256::new();
    h.update(SUM_DOMAIN);
    h.update(digest.hex().as_bytes());
    h.update(format!("\n{:016x}\n", engine_hash(engine)).as_bytes());
    h
}

/// Checks the artifact at `path` against its recorded checksum.
fn verify(path: &Path, key: &Sha256) -> Result<(), String> {
    let sum_path = ArtifactCache::sum_path(path);
    let recorded = fs::read_to_string(&sum_path)
        .map_err(|e| format!("no readable checksum at {}: {e}", sum_path.display()))?;
    let mut file = fs::File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let mut h = key.clone();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("cannot read it: {e}"))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    if hex::encode(h.finalize()) != recorded.trim() {
        return Err(
            "its checksum does not match (damaged, truncated, or another digest's artifact)".into(),
        );
    }
    Ok(())
}
