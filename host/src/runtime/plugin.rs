//! A loaded plugin (pre-instantiated, described) and the per-service Session that calls it under limits.

use std::sync::Arc;

use wasmtime::Store;

use super::bindings::{self, Context, DeviceConfig, PluginInfo, Service, Violation};
use super::error::{Error, RuntimeResult};
use super::state::State;
use super::{Limits, LoadOutcome};
use crate::digest::Digest;
use crate::template::{TemplateEngine, TemplateOverrides};

/// A plugin ready to evaluate services: its compiled, linked component, its
/// `describe()` answer and its limits. Cheap to share behind an `Arc`.
pub struct Plugin {
    name: Arc<str>,
    digest: Digest,
    info: PluginInfo,
    pre: bindings::PluginPre<State>,
    limits: Limits,
    templates: Arc<TemplateEngine>,
    overrides: Arc<TemplateOverrides>,
    outcome: LoadOutcome,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("digest", &self.digest)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    pub(super) fn new(
        name: &str,
        digest: Digest,
        pre: bindings::PluginPre<State>,
        outcome: LoadOutcome,
        limits: Limits,
        templates: Arc<TemplateEngine>,
    ) -> RuntimeResult<Self> {
        let mut plugin = Self {
            name: name.into(),
            digest,
            info: PluginInfo {
                name: String::new(),
                version: String::new(),
                vendor: String::new(),
                description: String::new(),
                kinds: Vec::new(),
                platforms: Vec::new(),
            },
            pre,
            limits,
            templates,
            overrides: Arc::default(),
            outcome,
        };
        let mut session = plugin.session()?;
        let info = session.call(
            "describe",
            |p, s| p.call_describe(s),
            |i: &PluginInfo| {
                i.kinds
                    .iter()
                    .map(|k| k.spec_schema.len() + 64)
                    .sum::<usize>()
                    + i.description.len()
            },
        )?;
        check_info(&plugin.name, &info)?;
        plugin.info = info;
        Ok(plugin)
    }

    /// Where the plugin came from (a file path or an OCI reference).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sha256 of the component's bytes.
    #[must_use]
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// What the plugin said about itself.
    #[must_use]
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// The limits applied to every call.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Whether loading compiled the component or found it compiled.
    #[must_use]
    pub fn load_outcome(&self) -> LoadOutcome {
        self.outcome
    }

    /// This plugin with the deployment's template overrides (the same
    /// compiled component; cheap).
    #[must_use]
    pub fn with_templates(&self, overrides: TemplateOverrides) -> Self {
        Self {
            name: self.name.clone(),
            digest: self.digest.clone(),
            info: self.info.clone(),
            pre: self.pre.clone(),
            limits: self.limits,
            templates: self.templates.clone(),
            overrides: Arc::new(overrides),
            outcome: self.outcome,
        }
    }

    /// The deployment's template overrides (empty when none).
    #[must_use]
    pub fn template_overrides(&self) -> &TemplateOverrides {
        &self.overrides
    }

    /// A fresh Store and instance for one service evaluation.
    ///
    /// # Errors
    /// When instantiation traps, times out or exceeds the memory limit.
    pub fn session(&self) -> RuntimeResult<Session<'_>> {
        let state = State::new(
            self.name.clone(),
            self.templates.clone(),
            self.overrides.clone(),
            self.limits,
        );
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(self.limits.ticks());
        let instance = match self.pre.instantiate(&mut store) {
            Ok(i) => i,
            Err(e) => return Err(classify(self, &store, "instantiate", e)),
        };
        Ok(Session {
            plugin: self,
            store,
            instance,
        })
    }
}

/// One Store and instance serving the calls of one service evaluation.
///
/// # Caveats
/// After a call fails the instance must not be used again: drop the session.
pub struct Session<'p> {
    plugin: &'p Plugin,
    store: Store<State>,
    instance: bindings::Plugin,
}

impl Session<'_> {
    /// Names the service this session evaluates (`Kind namespace/name`), so
    /// the plugin's log lines say which service they are about.
    pub fn set_service(&mut self, service: &str) {
        self.store.data_mut().service = service.to_string();
    }

    /// The first template override that failed to render in this session,
    /// naming where it lives and the line.
    #[must_use]
    pub fn override_failure(&self) -> Option<&str> {
        self.store.data().override_failure.as_deref()
    }

    /// Calls `validate`.
    ///
    /// # Errors
    /// A trap, timeout, memory limit or oversize answer.
    pub fn validate(
        &mut self,
        service: &Service,
        context: &Context,
    ) -> RuntimeResult<Result<(), Vec<Violation>>> {
        self.call(
            "validate",
            |p, s| p.call_validate(s, service, context),
            |r| r.as_ref().err().map_or(0, |v| violations_len(v)),
        )
    }

    /// Calls `expand`; the `Ok` text is the expanded spec as JSON.
    ///
    /// # Errors
    /// A trap, timeout, memory limit or oversize answer.
    pub fn expand(
        &mut self,
        service: &Service,
        context: &Context,
    ) -> RuntimeResult<Result<String, Vec<Violation>>> {
        self.call(
            "expand",
            |p, s| p.call_expand(s, service, context),
            |r| r.as_ref().map_or_else(|v| violations_len(v), String::len),
        )
    }

    /// Calls `render`.
    ///
    /// # Errors
    /// A trap, timeout, memory limit or oversize answer.
    pub fn render(
        &mut self,
        service: &Service,
        context: &Context,
    ) -> RuntimeResult<Result<Vec<DeviceConfig>, Vec<Violation>>> {
        self.call(
            "render",
            |p, s| p.call_render(s, service, context),
            |r| {
                r.as_ref().map_or_else(
                    |v| violations_len(v),
                    |c| c.iter().map(|d| d.device.len() + d.text.len()).sum(),
                )
            },
        )
    }

    /// Runs one export under a fresh deadline, then checks the answer's size.
    fn call<R>(
        &mut self,
        call: &'static str,
        f: impl FnOnce(&bindings::Plugin, &mut Store<State>) -> wasmtime::Result<R>,
        size: impl FnOnce(&R) -> usize,
    ) -> RuntimeResult<R> {
        self.store.set_epoch_deadline(self.plugin.limits.ticks());
        self.store.data_mut().start_call();
        let started = std::time::Instant::now();
        let answer = f(&self.instance, &mut self.store);
        crate::metrics::global().plugin_call(&self.plugin.name, call, started.elapsed());
        match answer {
            Ok(r) => {
                let bytes = size(&r);
                let limit = self.plugin.limits.max_output_bytes;
                if bytes > limit {
                    return Err(Error::OutputTooLarge {
                        plugin: self.plugin.name.to_string(),
                        call,
                        bytes,
                        limit,
                    });
                }
                Ok(r)
            }
            Err(e) => Err(classify(self.plugin, &self.store, call, e)),
        }
    }
}

fn violations_len(v: &[Violation]) -> usize {
    v.iter().map(|v| v.field.len() + v.message.len()).sum()
}

/// Turns a failed call into the error a user can act on.
fn classify(
    plugin: &Plugin,
    store: &Store<State>,
    call: &'static str,
    e: wasmtime::Error,
) -> Error {
    let name = plugin.name.to_string();
    if matches!(
        e.downcast_ref::<wasmtime::Trap>(),
        Some(wasmtime::Trap::Interrupt)
    ) {
        return Error::Timeout {
            plugin: name,
            call,
            timeout: plugin.limits.timeout,
        };
    }
    if store.data().limiter.hit {
        return Error::MemoryLimit {
            plugin: name,
            call,
            limit_mib: plugin.limits.memory_bytes >> 20,
        };
    }
    let stderr = store.data().stderr();
    let trap = e
        .downcast_ref::<wasmtime::Trap>()
        .map_or_else(|| format!("{e:#}"), ToString::to_string);
    let detail = if stderr.is_empty() {
        trap
    } else {
        format!("{trap}; plugin stderr: {stderr}")
    };
    Error::Trap {
        plugin: name,
        call,
        detail,
    }
}

/// Checks what `describe` returned before anything relies on it.
fn check_info(plugin: &str, info: &PluginInfo) -> RuntimeResult<()> {
    let bad = |detail: String| {
        Err(Error::BadDescribe {
            plugin: plugin.to_string(),
            detail,
        })
    };
    if info.name.trim().is_empty() {
        return bad("name is empty".into());
    }
    if info.kinds.is_empty() {
        return bad("it handles no service kinds".into());
    }
    for (i, k) in info.kinds.iter().enumerate() {
        let at = format!("kinds[{i}] ({})", k.kind);
        if k.group.is_empty() || k.version.is_empty() || k.kind.is_empty() {
            return bad(format!("{at}: group, version and kind must be set"));
        }
        if !k.kind.starts_with(|c: char| c.is_ascii_uppercase())
            || !k.kind.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return bad(format!("{at}: kind must be CamelCase, e.g. AccessPorts"));
        }
        if k.plural.is_empty()
            || !k
                .plural
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        {
            return bad(format!(
                "{at}: plural must be lower-case letters and digits"
            ));
        }
        match serde_json::from_str::<serde_json::Value>(&k.spec_schema) {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(_) => return bad(format!("{at}: spec-schema is not a JSON object")),
            Err(e) => return bad(format!("{at}: spec-schema is not valid JSON: {e}")),
        }
    }
    Ok(())
}
