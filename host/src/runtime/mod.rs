//! The sandboxed Wasm runtime: one Engine, compiled components cached by digest, a fresh Store per evaluation.

mod bindings;
mod cache;
mod error;
mod executor;
mod plugin;
mod state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use bindings::{
    ConfigFormat, Context, Device, DeviceConfig, LogLevel, PluginInfo, Service, ServiceKind,
    Violation,
};
pub use cache::{ArtifactCache, LoadOutcome};
pub use error::{Error, RuntimeResult};
pub use executor::Executor;
pub use plugin::{Plugin, Session};

use crate::digest::Digest;
use crate::template::TemplateEngine;
use state::State;

/// How often the epoch advances; deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);
/// The largest memory limit a plugin may be given.
pub const MAX_MEMORY_LIMIT: usize = 1 << 30;

/// Per-plugin sandbox limits, applied to every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget of one call (validate, expand, render...).
    pub timeout: Duration,
    /// Largest linear memory the plugin may grow to, in bytes.
    pub memory_bytes: usize,
    /// Most bytes one call may return (and one template rendering may produce).
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(1),
            memory_bytes: 64 << 20,
            max_output_bytes: 4 << 20,
        }
    }
}

impl Limits {
    fn check(&self) -> RuntimeResult<()> {
        if self.memory_bytes > MAX_MEMORY_LIMIT || self.memory_bytes < (1 << 20) {
            return Err(Error::Limits(format!(
                "memory limit {} bytes is outside 1 MiB..={} MiB",
                self.memory_bytes,
                MAX_MEMORY_LIMIT >> 20
            )));
        }
        if self.timeout < EPOCH_TICK {
            return Err(Error::Limits(format!(
                "timeout {:?} is shorter than the epoch tick {EPOCH_TICK:?}",
                self.timeout
            )));
        }
        Ok(())
    }

    /// The epoch deadline, in ticks, for one call.
    fn ticks(&self) -> u64 {
        let ticks = self.timeout.as_nanos().div_ceil(EPOCH_TICK.as_nanos());
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }
}

/// Where and how the runtime works.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Directory of compiled artifacts; `None` compiles in memory every time.
    pub cache_dir: Option<PathBuf>,
    /// Most plugin calls (evaluations, loads) running at once on the blocking
    /// pool; `0` means twice the number of CPUs (at least 2): each call
    /// hands over to a blocking thread and back, and with one call per CPU
    /// the CPUs idle during those hand-overs (the admission benchmark:
    /// ~4,400 reviews/s at one per CPU, ~5,700 at two, on 2 cores).
    pub max_concurrent_calls: usize,
}

/// The Wasm runtime: one [`Engine`] (pooling allocator, epoch interruption),
/// one linker granting WASI-with-nothing plus the `host` imports, the
/// compiled-artifact cache, and the pre-instantiated plugins by digest.
///
/// Cheap to clone: clones share everything.
///
/// # Guarantees
/// A component is compiled at most once per digest for the life of the
/// runtime, and at most once per digest and engine version with a cache
/// directory. Every evaluation gets a fresh Store.
///
/// # Caveats
/// Loading a plugin and calling it block the calling thread (compiling,
/// running guest code, and WASI's synchronous bindings, which drive a tokio
/// runtime of their own when a guest writes to stderr). From async code use
/// the `*_async` methods and [`crate::pipeline::evaluate_async`], which run
/// the work on tokio's blocking pool through the runtime's [`Executor`];
/// calling the blocking methods on an async worker thread panics inside WASI.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<State>,
    cache: Option<ArtifactCache>,
    /// One slot per digest: the map's lock is held only to find the slot, and
    /// the slot's lock while that digest compiles, so loads of one digest
    /// happen once and never wait for another digest's compile.
    loaded: Mutex<HashMap<Digest, Arc<PreSlot>>>,
    templates: Arc<TemplateEngine>,
    executor: Executor,
    _ticker: EpochTicker,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("cache", &self.inner.cache)
            .field("executor", &self.inner.executor)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Builds the engine and linker and starts the epoch ticker.
    ///
    /// # Errors
    /// When the engine cannot be configured or the cache directory created.
    pub fn new(config: &RuntimeConfig) -> RuntimeResult<Self> {
        let mut pool = PoolingAllocationConfig::default();
        pool.max_memory_size(MAX_MEMORY_LIMIT)
            .total_component_instances(1000)
            .total_memories(1000)
            .total_tables(1000)
            .table_elements(100_000)
            // Reused pool slots keep their first pages resident and are reset
            // with memset (only the touched pages, where the kernel supports
            // PAGEMAP_SCAN), so a fresh Store does not page-fault its heap in
            // again: instantiation + one call costs tens of µs, not hundreds.
            .linear_memory_keep_resident(4 << 20)
            .table_keep_resident(64 << 10)
            .pagemap_scan(wasmtime::Enabled::Auto);
        let mut cfg = Config::new();
        cfg.wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&cfg).map_err(|e| Error::Engine(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        // WASI is linked so that components built by componentize-py or jco
        // (which import wasi:*) load, but each Store's WasiCtx grants nothing.
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| Error::Engine(format!("cannot link WASI: {e:#}")))?;
        bindings::naas::plugin::host::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| Error::Engine(format!("cannot link host imports: {e:#}")))?;
        let cache = config
            .cache_dir
            .as_ref()
            .map(ArtifactCache::open)
            .transpose()?;
        let ticker = EpochTicker::start(&engine)
            .map_err(|e| Error::Engine(format!("cannot start the epoch thread: {e}")))?;
        let templates = Arc::new(TemplateEngine::new(&engine, cache.clone()));
        // Compile (or load) the template sandbox now, beside whatever plugin
        // compiles next: a cold start pays the longer of the two, not both.
        // Plugin loads wait for it (`prepare`), so no call's deadline does.
        let warm = templates.clone();
        std::thread::Builder::new()
            .name("naas-templates".into())
            .spawn(move || {
                if let Err(e) = warm.prepare() {
                    tracing::warn!("the template sandbox could not be prepared: {e}");
                }
            })
            .map_err(|e| Error::Engine(format!("cannot start a thread: {e}")))?;
        let concurrency = match config.max_concurrent_calls {
            0 => std::thread::available_parallelism().map_or(2, |n| (2 * n.get()).max(2)),
            n => n,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache,
                loaded: Mutex::new(HashMap::new()),
                templates,
                executor: Executor::new(concurrency),
                _ticker: ticker,
            }),
        })
    }

    /// The engine, for callers that measure or precompile.
    #[must_use]
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The compiled-artifact cache, if any.
    #[must_use]
    pub fn cache(&self) -> Option<&ArtifactCache> {
        self.inner.cache.as_ref()
    }

    /// The bounded pool that runs plugin work for async callers.
    #[must_use]
    pub fn executor(&self) -> &Executor {
        &self.inner.executor
    }

    /// Like [`Runtime::load_file`], on the blocking pool.
    ///
    /// # Errors
    /// As [`Runtime::load_file`]; [`Error::HostPanic`] if the host panicked.
    pub async fn load_file_async(
        &self,
        path: PathBuf,
        limits: Limits,
    ) -> RuntimeResult<Arc<Plugin>> {
        let rt = self.clone();
        self.executor()
            .run(move || rt.load_file(&path, limits).map(Arc::new))
            .await?
    }

    /// Like [`Runtime::load_verified`], on the blocking pool.
    ///
    /// # Errors
    /// As [`Runtime::load_verified`]; [`Error::HostPanic`] if the host panicked.
    pub async fn load_verified_async(
        &self,
        name: String,
        bytes: Arc<[u8]>,
        digest: Digest,
        limits: Limits,
    ) -> RuntimeResult<Arc<Plugin>> {
        let rt = self.clone();
        self.executor()
            .run(move || {
                rt.load_verified(&name, &bytes, digest, limits)
                    .map(Arc::new)
            })
            .await?
    }

    /// Loads a plugin from a component file.
    ///
    /// # Errors
    /// See [`Runtime::load_bytes`]; also when the file cannot be read.
    pub fn load_file(&self, path: &Path, limits: Limits) -> RuntimeResult<Plugin> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.load_bytes(&path.display().to_string(), &bytes, limits)
    }

    /// Loads a plugin from component bytes: checks it is a component,
    /// compiles it (or loads it from the cache), links it against the host
    /// and calls `describe`.
    ///
    /// # Errors
    /// Not a component, compile failure, a missing import or export (wrong
    /// world, ungranted capability), or an invalid `describe`.
    pub fn load_bytes(&self, name: &str, bytes: &[u8], limits: Limits) -> RuntimeResult<Plugin> {
        self.load_verified(name, bytes, Digest::of(bytes), limits)
    }

    /// Like [`Runtime::load_bytes`], for bytes whose sha256 the caller has
    /// already verified (the OCI fetcher does), so that they are not hashed
    /// twice.
    ///
    /// The caller guarantees `digest == Digest::of(bytes)`: the compiled
    /// cache is keyed by it, so a wrong digest would file (or find) the
    /// wrong compiled artifact.
    ///
    /// # Errors
    /// As [`Runtime::load_bytes`].
    pub fn load_verified(
        &self,
        name: &str,
        bytes: &[u8],
        digest: Digest,
        limits: Limits,
    ) -> RuntimeResult<Plugin> {
        limits.check()?;
        let (pre, outcome) = self.pre_for(name, &digest, bytes)?;
        // Ready before any call, so no call's deadline pays for it.
        self.inner
            .templates
            .prepare()
            .map_err(|e| Error::Engine(e.to_string()))?;
        Plugin::new(
            name,
            digest,
            pre,
            outcome,
            limits,
            self.inner.templates.clone(),
        )
    }

    fn pre_for(
        &self,
        name: &str,
        digest: &Digest,
        bytes: &[u8],
    ) -> RuntimeResult<(bindings::PluginPre<State>, LoadOutcome)> {
        let inner = &*self.inner;
        let slot = {
            let mut loaded = inner.loaded.lock().unwrap_or_else(PoisonError::into_inner);
            loaded.entry(digest.clone()).or_default().clone()
        };
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pre) = slot.as_ref() {
            return Ok((pre.clone(), LoadOutcome::FromCache));
        }
        check_component_header(name, bytes)?;
        let engine = &inner.engine;
        let (component, outcome) = match &inner.cache {
            Some(cache) => cache.load_or_compile(engine, name, digest, bytes)?,
            None => {
                let compile_err = |e: wasmtime::Error| Error::Compile {
                    plugin: name.to_string(),
                    detail: format!("{e:#}"),
                };
                let started = std::time::Instant::now();
                let c = Component::new(engine, bytes).map_err(compile_err)?;
                tracing::info!(plugin = name, elapsed = ?started.elapsed(), "compiled plugin");
                (c, LoadOutcome::Compiled)
            }
        };
        let link = |e: wasmtime::Error| Error::Link {
            plugin: name.to_string(),
            detail: format!("{e:#}"),
        };
        let instance_pre = inner.linker.instantiate_pre(&component).map_err(|e| {
            Error::Link {
                plugin: name.to_string(),
                detail: format!(
                    "{e:#}; a plugin may import only naas:plugin/host and wasi:* (which grants nothing)"
                ),
            }
        })?;
        let pre = bindings::PluginPre::new(instance_pre).map_err(|e| {
            link(e.context("the component does not implement the world naas:plugin/plugin@0.1.1"))
        })?;
        *slot = Some(pre.clone());
        Ok((pre, outcome))
    }
}

/// The pre-instantiated plugin of one digest, once loaded.
type PreSlot = Mutex<Option<bindings::PluginPre<State>>>;

/// Refuses anything that is not a Wasm component, with a hint for core modules.
fn check_component_header(plugin: &str, bytes: &[u8]) -> RuntimeResult<()> {
    let err = |reason: &str| {
        Err(Error::NotAComponent {
            plugin: plugin.to_string(),
            reason: reason.to_string(),
        })
    };
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return err("the file does not start with the Wasm magic bytes (\\0asm)");
    }
    match (bytes[6], bytes[7]) {
        (1, 0) => Ok(()),
        (0, 0) => err(
            "it is a core Wasm module; build it for wasm32-wasip2 (or wrap it with `wasm-tools component new`)",
        ),
        _ => err("unknown Wasm encoding layer"),
    }
}

/// Increments the engine's epoch every [`EPOCH_TICK`] on a thread of its own,
/// so that every Store's epoch deadline is measured in wall-clock time. It
/// runs as long as the engine lives: a loaded plugin keeps the engine, so
/// its deadlines hold even after the [`Runtime`] that loaded it is dropped.
struct EpochTicker;

impl EpochTicker {
    fn start(engine: &Engine) -> std::io::Result<Self> {
        let engine = engine.weak();
        std::thread::Builder::new()
            .name("naas-epoch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    match engine.upgrade() {
                        Some(e) => e.increment_epoch(),
                        None => break,
                    }
                }
            })?;
        Ok(Self)
    }
}
