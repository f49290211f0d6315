//! Per-evaluation Store state: the empty WASI context, the memory limiter and the host imports.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::Limits;
use super::bindings::{LogLevel, naas::plugin::host::Host};
use crate::template::{TemplateEngine, TemplateInstance, TemplateOverrides};

/// Longest log message kept from a plugin; the rest is cut.
pub const MAX_LOG_MESSAGE: usize = 4096;
/// Log lines one evaluation may write; later ones are dropped.
pub const MAX_LOG_LINES: u32 = 256;
/// Bytes of a plugin's stderr kept to explain a crash (e.g. a Rust panic message).
const STDERR_CAPACITY: usize = 8192;

/// Caps linear-memory growth and remembers whether the cap was hit, so a
/// failed call can be reported as "memory limit" rather than a generic trap.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    limit: usize,
    pub(crate) hit: bool,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a million is far beyond any plugin.
        Ok(desired <= 1_000_000)
    }
}

/// Everything one Store owns. Built fresh for every evaluation, dropped after.
pub(crate) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    stderr: MemoryOutputPipe,
    templates: Arc<TemplateEngine>,
    /// The template sandbox of this evaluation, made on the first
    /// `render-template` and dropped after any failure.
    template: Option<TemplateInstance>,
    /// The deployment's texts for the plugin's named templates.
    overrides: Arc<TemplateOverrides>,
    /// The first override that failed to render, with where it lives: the
    /// evaluation fails on it whatever the plugin makes of the error.
    pub(crate) override_failure: Option<String>,
    limits: Limits,
    /// When the current call's deadline runs out: templates rendered on its
    /// behalf get only what is left.
    call_deadline: Instant,
    plugin: Arc<str>,
    /// The service being evaluated (`Kind namespace/name`), for log lines.
    pub(crate) service: String,
    log_lines: u32,
}

impl State {
    /// A state granting nothing: no files, env, args, network; stdout dropped,
    /// stderr kept (bounded) to explain crashes. Clocks and random work.
    pub(crate) fn new(
        plugin: Arc<str>,
        templates: Arc<TemplateEngine>,
        overrides: Arc<TemplateOverrides>,
        limits: Limits,
    ) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                limit: limits.memory_bytes,
                hit: false,
            },
            stderr,
            templates,
            template: None,
            overrides,
            override_failure: None,
            limits,
            call_deadline: Instant::now() + limits.timeout,
            plugin,
            service: String::new(),
            log_lines: 0,
        }
    }

    /// Starts the deadline of a new call (instantiate, validate, expand...).
    pub(crate) fn start_call(&mut self) {
        self.call_deadline = Instant::now() + self.limits.timeout;
    }

    /// What the plugin wrote to stderr so far, as lossy UTF-8, trimmed.
    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents())
            .trim()
            .to_string()
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl Host for State {
    fn log(&mut self, level: LogLevel, message: String) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            if self.log_lines == MAX_LOG_LINES + 1 {
                tracing::warn!(plugin = %self.plugin, service = %self.service, "plugin log limit of {MAX_LOG_LINES} lines reached; dropping further lines");
            }
            return;
        }
        let message = truncate(&message, MAX_LOG_MESSAGE);
        let (plugin, service) = (&*self.plugin, self.service.as_str());
        match level {
            LogLevel::Trace => tracing::trace!(plugin, service, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin, service, "{message}"),
            LogLevel::Info => tracing::info!(plugin, service, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin, service, "{message}"),
            LogLevel::Error => tracing::error!(plugin, service, "{message}"),
        }
    }

    fn render_template(&mut self, template: String, vars: String) -> Result<String, String> {
        self.render(&template, &vars)
    }

    fn render_named_template(
        &mut self,
        name: String,
        default: String,
        vars: String,
    ) -> Result<String, String> {
        let Some(text) = self.overrides.get(&name).map(str::to_owned) else {
            return self.render(&default, &vars);
        };
        self.render(&text, &vars).map_err(|e| {
            let message = format!("template override {}: {e}", self.overrides.locate(&name));
            self.override_failure.get_or_insert_with(|| message.clone());
            message
        })
    }
}

impl State {
    /// Renders `template` in this evaluation's template sandbox.
    fn render(&mut self, template: &str, vars: &str) -> Result<String, String> {
        let mut instance = match self.template.take() {
            Some(i) => i,
            None => self
                .templates
                .instantiate(self.limits.memory_bytes)
                .map_err(|e| e.to_string())?,
        };
        let out = instance.render(
            template,
            vars,
            self.limits.max_output_bytes,
            self.call_deadline,
            self.limits.timeout,
        );
        // A failed render may have left the sandbox spent: start afresh next time.
        if out.is_ok() {
            self.template = Some(instance);
        }
        out.map_err(|e| e.to_string())
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
