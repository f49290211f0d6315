//! The template sandbox behind `render-template`: minijinja compiled to a core Wasm module, run under the plugin's memory limit and deadline.
//!
//! Templates run on the host's behalf but are written by the plugin, and a
//! template can amplify memory much faster than minijinja's fuel counts
//! instructions (`{% set s = s ~ s %}` in a loop doubles a string per step).
//! So the host never renders a template natively: it runs the dialect of
//! [`naas_template_engine`] inside a Wasm instance of its own, with
//!
//! * a linear-memory limit (the plugin's memory limit),
//! * an epoch deadline: what is left of the plugin call's own deadline, so
//!   all templates of one call together cannot outlast it by more than one
//!   epoch tick,
//! * an output cap enforced while the output is written,
//! * minijinja's fuel, as before.
//!
//! One instance serves one plugin evaluation (its parsed templates are
//! reused across calls) and is dropped when a render fails.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use wasmtime::{Engine, Instance, InstancePre, Linker, Memory, Module, Store, TypedFunc};

use crate::digest::Digest;
use crate::runtime::{ArtifactCache, EPOCH_TICK};
use naas_template_engine::abi;

mod overrides;

pub use naas_template_engine::DEFAULT_FUEL;
pub use overrides::{
    MAX_TEMPLATE_BYTES, MAX_TEMPLATES, OverrideError, OverrideSource, TemplateOverrides,
};

/// The template module, built from `template-engine/` by `host/build.rs`.
static MODULE: &[u8] = include_bytes!(env!("NAAS_TEMPLATE_ENGINE_WASM"));

/// Why a template could not be rendered. The message is what the plugin
/// receives as the error of `render-template`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TemplateError {
    /// The variables were not a JSON document.
    #[error("{0}")]
    Vars(String),
    /// Syntax error, undefined variable, fuel exhausted...
    #[error("{0}")]
    Render(String),
    /// The output grew past the cap.
    #[error("rendered template is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The template needed more memory than the plugin may use.
    #[error(
        "template rendering exceeded the plugin's memory limit of {limit_mib} MiB and was stopped"
    )]
    Memory {
        /// The limit in MiB.
        limit_mib: usize,
    },
    /// The plugin call's deadline ran out while (or before) rendering.
    #[error("template rendering was stopped: the plugin call's deadline of {timeout:?} ran out")]
    Deadline {
        /// The plugin's per-call deadline.
        timeout: Duration,
    },
    /// The sandbox itself failed (it trapped, or answered out of bounds).
    #[error("the template sandbox failed: {0}")]
    Sandbox(String),
}

/// The compiled template module of one [`Engine`], loaded on first use
/// (a plugin that renders no template never pays for it).
pub struct TemplateEngine {
    engine: Engine,
    cache: Option<ArtifactCache>,
    pre: OnceLock<Result<InstancePre<Limiter>, String>>,
}

impl std::fmt::Debug for TemplateEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateEngine").finish_non_exhaustive()
    }
}

impl TemplateEngine {
    /// A template engine for `engine`, keeping its compiled module in `cache`.
    #[must_use]
    pub fn new(engine: &Engine, cache: Option<ArtifactCache>) -> Self {
        Self {
            engine: engine.clone(),
            cache,
            pre: OnceLock::new(),
        }
    }

    /// Compiles (or loads from the cache) the template module now, so that
    /// no plugin call pays for it: the runtime does this when it loads a
    /// plugin, outside any call's deadline.
    ///
    /// # Errors
    /// When the module cannot be compiled or loaded.
    pub fn prepare(&self) -> Result<(), TemplateError> {
        self.pre().map(|_| ())
    }

    fn pre(&self) -> Result<&InstancePre<Limiter>, TemplateError> {
        self.pre
            .get_or_init(|| self.load().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| TemplateError::Sandbox(e.clone()))
    }

    fn load(&self) -> wasmtime::Result<InstancePre<Limiter>> {
        let module = match &self.cache {
            Some(cache) => {
                let digest = Digest::of(MODULE);
                cache
                    .load_or_compile_with(
                        &self.engine,
                        "template sandbox",
                        &digest,
                        || self.engine.precompile_module(MODULE),
                        // SAFETY: the cache verified the artifact's checksum,
                        // bound to this module's digest and this engine.
                        |path| unsafe { Module::deserialize_file(&self.engine, path) },
                    )
                    .map_err(wasmtime::Error::msg)?
                    .0
            }
            None => Module::new(&self.engine, MODULE)?,
        };
        Linker::new(&self.engine).instantiate_pre(&module)
    }

    /// A fresh instance limited to `memory_bytes` of linear memory.
    ///
    /// # Errors
    /// When the module cannot be loaded or instantiated.
    pub fn instantiate(
        self: &Arc<Self>,
        memory_bytes: usize,
    ) -> Result<TemplateInstance, TemplateError> {
        let pre = self.pre()?;
        let mut store = Store::new(
            &self.engine,
            Limiter {
                limit: memory_bytes,
                hit: false,
            },
        );
        store.limiter(|l| l);
        // Instantiation runs no code but the data segments; one tick is plenty.
        store.set_epoch_deadline(100);
        let sandbox = |e: wasmtime::Error| TemplateError::Sandbox(format!("{e:#}"));
        let instance = pre.instantiate(&mut store).map_err(sandbox)?;
        let memory = instance
            .get_memory(&mut store, abi::MEMORY)
            .ok_or_else(|| TemplateError::Sandbox("the module exports no memory".into()))?;
        let alloc = instance
            .get_typed_func(&mut store, abi::ALLOC)
            .map_err(sandbox)?;
        let render = instance
            .get_typed_func(&mut store, abi::RENDER)
            .map_err(sandbox)?;
        Ok(TemplateInstance {
            store,
            _instance: instance,
            memory,
            alloc,
            render,
            memory_bytes,
        })
    }
}

/// Caps the sandbox's linear memory and remembers whether the cap was hit.
pub struct Limiter {
    limit: usize,
    hit: bool,
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _: usize,
        desired: usize,
        _: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.hit |= desired > self.limit;
        Ok(desired <= self.limit)
    }

    fn table_growing(
        &mut self,
        _: usize,
        desired: usize,
        _: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 10_000)
    }
}

/// One sandbox instance; renders templates until one fails.
pub struct TemplateInstance {
    store: Store<Limiter>,
    _instance: Instance,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    render: TypedFunc<(u32, u32, u32, u32, u32), u32>,
    memory_bytes: usize,
}

impl TemplateInstance {
    /// Renders `template` with `vars_json`, producing at most `max_output`
    /// bytes, and stopping at `deadline` (`timeout` is the plugin's per-call
    /// deadline, for the message).
    ///
    /// # Errors
    /// See [`TemplateError`]. After [`TemplateError::Memory`],
    /// [`TemplateError::Deadline`] or [`TemplateError::Sandbox`] the instance
    /// is spent: drop it.
    pub fn render(
        &mut self,
        template: &str,
        vars_json: &str,
        max_output: usize,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<String, TemplateError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(TemplateError::Deadline { timeout });
        }
        let ticks = left.as_nanos().div_ceil(EPOCH_TICK.as_nanos());
        self.store
            .set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        let answer = self.call(template, vars_json, max_output);
        answer.map_err(|e| self.classify(e, timeout))?
    }

    fn call(
        &mut self,
        template: &str,
        vars: &str,
        max_output: usize,
    ) -> wasmtime::Result<Result<String, TemplateError>> {
        let tpl = self.put(template.as_bytes())?;
        let vars_at = self.put(vars.as_bytes())?;
        let max = u32::try_from(max_output).unwrap_or(u32::MAX);
        let at = self.render.call(
            &mut self.store,
            (tpl, len32(template)?, vars_at, len32(vars)?, max),
        )?;
        let mut words = [0u8; 12];
        self.memory.read(&self.store, at as usize, &mut words)?;
        let word =
            |i: usize| u32::from_le_bytes([words[i], words[i + 1], words[i + 2], words[i + 3]]);
        let (code, ptr, len) = (word(0), word(4) as usize, word(8) as usize);
        // Bounded before the host allocates: the text lies in the module's
        // memory (checked by `read`) and an OK answer is at most max_output.
        if code == abi::OK && len > max_output {
            return Ok(Err(TemplateError::TooLarge { limit: max_output }));
        }
        if code != abi::OK && len > 64 << 10 {
            wasmtime::bail!("the sandbox returned an error message of {len} bytes");
        }
        let mut text = vec![0u8; len];
        self.memory.read(&self.store, ptr, &mut text)?;
        let text = String::from_utf8(text)
            .map_err(|_| wasmtime::Error::msg("the sandbox returned text that is not UTF-8"))?;
        Ok(match code {
            abi::OK => Ok(text),
            abi::TOO_LARGE => Err(TemplateError::TooLarge { limit: max_output }),
            abi::BAD_VARS => Err(TemplateError::Vars(text)),
            _ => Err(TemplateError::Render(text)),
        })
    }

    /// Copies `bytes` into a buffer the module allocates.
    fn put(&mut self, bytes: &[u8]) -> wasmtime::Result<u32> {
        let at = self.alloc.call(&mut self.store, len32(bytes)?)?;
        self.memory.write(&mut self.store, at as usize, bytes)?;
        Ok(at)
    }

    fn classify(&self, e: wasmtime::Error, timeout: Duration) -> TemplateError {
        if matches!(
            e.downcast_ref::<wasmtime::Trap>(),
            Some(wasmtime::Trap::Interrupt)
        ) {
            return TemplateError::Deadline { timeout };
        }
        if self.store.data().hit {
            return TemplateError::Memory {
                limit_mib: self.memory_bytes >> 20,
            };
        }
        TemplateError::Sandbox(format!("{e:#}"))
    }
}

fn len32(bytes: impl AsRef<[u8]>) -> wasmtime::Result<u32> {
    u32::try_from(bytes.as_ref().len())
        .map_err(|_| wasmtime::Error::msg("the template or its variables exceed 4 GiB"))
}
